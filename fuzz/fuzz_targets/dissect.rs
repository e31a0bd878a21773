//! `guls decode`'s whole pipeline: TPKT streams, single TSDUs, and pcap/pcapng captures (the
//! input is also tried with a pcap header in front, so the capture reader gets exercised), once
//! more with SESE contexts named (`--sese-pcid`) so that the SESE dissection gets exercised.
#![no_main]

use guls::dissect::{DecodeFrom, DissectOptions, OutputFormat, dissect_input, dissect_input_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for from in [DecodeFrom::Tpkt, DecodeFrom::Session] {
        if let Ok(report) = dissect_input(data, from) {
            let _ = report.render(OutputFormat::Json);
            let _ = report.render(OutputFormat::Text);
        }
    }
    let sese = DissectOptions {
        sese_pcids: vec![3, 5],
    };
    for from in [DecodeFrom::Tpkt, DecodeFrom::Session] {
        if let Ok(report) = dissect_input_with(data, from, &sese) {
            let _ = report.render(OutputFormat::Json);
        }
    }
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&101u32.to_le_bytes());
    pcap.extend_from_slice(data);
    let _ = dissect_input(&pcap, DecodeFrom::Tpkt);
});
