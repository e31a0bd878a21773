//! Shared helpers for the association tests.
#![allow(dead_code)]

use std::time::Duration;

use guls_association::{Association, AssociationConfig, AssociationEvent, Oid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Safety net for every await in the tests (never a timing assertion).
pub const NET: Duration = Duration::from_secs(20);

pub fn app_context() -> Oid {
    Oid::from_arcs(&[1, 3, 9999, 4, 1]).unwrap()
}

pub fn app_syntax() -> Oid {
    Oid::from_arcs(&[1, 3, 9999, 4, 2]).unwrap()
}

pub fn demo_config() -> AssociationConfig {
    let mut c = AssociationConfig::single(app_context(), app_syntax());
    c.timeouts.establishment = Duration::from_secs(10);
    c.timeouts.release = Duration::from_secs(5);
    c
}

pub fn hex(s: &str) -> Vec<u8> {
    guls_ber::parse_hex(s).unwrap()
}

/// Reads one TPKT (header + payload).
pub async fn read_tpkt(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut h = [0u8; 4];
    s.read_exact(&mut h).await?;
    let len = u16::from_be_bytes([h[2], h[3]]) as usize;
    let mut v = h.to_vec();
    v.resize(len, 0);
    s.read_exact(&mut v[4..]).await?;
    Ok(v)
}

/// Reads TPKTs until a DT with EOT; returns the reassembled TSDU.
pub async fn read_tsdu(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut tsdu = Vec::new();
    loop {
        let f = read_tpkt(s).await?;
        assert_eq!(
            f[5],
            0xf0,
            "expected a DT TPDU, got {:02x?}",
            &f[..f.len().min(8)]
        );
        tsdu.extend_from_slice(&f[7..]);
        if f[6] & 0x80 != 0 {
            return Ok(tsdu);
        }
    }
}

/// One DT TPKT with EOT carrying `tsdu`.
pub fn dt(tsdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    guls_transport::encode_data_frames(tsdu, guls_transport::TpduSize::S8192, &mut out);
    out
}

/// Reads until EOF (or error); true when the peer closed.
pub async fn wait_closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 4096];
    loop {
        match tokio::time::timeout(NET, s.read(&mut b)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// The golden libiec61850 client lines (PEERS.md section 6).
pub const GOLDEN_CR: &str = "0300001611e00000000100c0010dc2020001c1020001";
pub const GOLDEN_CN: &str = "030000d402f0800dcb0506130100160102140200023302000134020001c1b53181b2a003800101a281aa810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161773075020101a070606ea107060528ca220203a20706052901876701a30302010ca606060429018767a70302010c8a0204808b03520301ac0e800c757365723140746573747077be2f282d020103a028a826800300fde881010582010583010aa416800101810305f100820c03ee1c00000408000079ef18";
pub const GOLDEN_IDENTIFY: &str = "0300001b02f08001000100610e300c020103a007a0050201018200";
pub const GOLDEN_CONCLUDE: &str = "0300001602f0800100010061093007020103a0028b00";
pub const GOLDEN_FN: &str = "0300001902f0800910c10e610c300a020101a0056203800100";

/// Writes the raw bytes.
pub async fn send(s: &mut TcpStream, bytes: &[u8]) {
    s.write_all(bytes).await.unwrap();
}

/// The responder side of a release: the indication, the response, then `Released`.
pub async fn answer_release(mut a: Association) {
    let ev = tokio::time::timeout(NET, a.recv()).await.unwrap().unwrap();
    assert!(
        matches!(ev, AssociationEvent::ReleaseIndication { .. }),
        "{ev:?}"
    );
    a.release_response(Vec::new()).await.unwrap();
    let ev = tokio::time::timeout(NET, a.recv()).await.unwrap().unwrap();
    assert_eq!(ev, AssociationEvent::Released);
}
