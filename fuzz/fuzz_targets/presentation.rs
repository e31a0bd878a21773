//! Fuzz target: every ISO 8823 PPDU decoder on arbitrary input. None may panic; every error
//! names the presentation layer and an offset inside the input; every successful decode must
//! re-encode (canonical and RFC 1698 style) to octets that decode to the same value, and the
//! canonical encoding must be a fixed point. The head split reader (`td_value_split`) must
//! agree with the full TD decoder: when it finds one value, the whole input decodes (if it
//! decodes) to one PDV whose value's octets start there and run to the declared end.
#![no_main]

use guls_ber::{DecodeResult, Layer};
use guls_presentation::{
    DecodeOptions, EncodeStyle, decode_abort_with, decode_cp_with, decode_cpa_with,
    decode_cpr_with, decode_user_data_with, encode_abort, encode_cp, encode_cpa, encode_cpr,
    encode_release_user_data, encode_td, td_value_split, PdvValue, UserData,
};
use libfuzzer_sys::fuzz_target;

const STYLES: [EncodeStyle; 2] = [EncodeStyle::Canonical, EncodeStyle::Rfc1698];

fn check<T: PartialEq + std::fmt::Debug>(
    data: &[u8],
    opts: &DecodeOptions,
    decode: impl Fn(&[u8], &DecodeOptions) -> DecodeResult<T>,
    encoders: &[&dyn Fn(&T, EncodeStyle) -> Vec<u8>],
) {
    match decode(data, opts) {
        Err(e) => {
            assert_eq!(e.layer, Layer::Presentation);
            assert!(
                e.offset <= data.len(),
                "error offset {} beyond {}",
                e.offset,
                data.len()
            );
        }
        Ok(v) => {
            for enc in encoders {
                for style in STYLES {
                    let bytes = enc(&v, style);
                    let again = decode(&bytes, opts).expect("re-encoded value decodes");
                    assert_eq!(again, v, "round trip ({style:?})");
                }
                let canon = enc(&v, EncodeStyle::Canonical);
                let again = decode(&canon, opts).expect("canonical decodes");
                assert_eq!(
                    enc(&again, EncodeStyle::Canonical),
                    canon,
                    "canonical fixed point"
                );
            }
        }
    }
}

/// The split reader on every prefix length it may be given agrees with the full decoder.
fn check_split(data: &[u8]) {
    let Some(split) = td_value_split(data) else {
        return;
    };
    assert!(split.value_start <= data.len() && split.value_start < split.total_len + 1);
    if split.total_len != data.len() {
        return;
    }
    if let Ok(UserData::Full(lists)) = decode_user_data_with(data, &DecodeOptions::default()) {
        let [list] = &lists[..] else {
            panic!("the split reader saw one PDV-list, the decoder {}", lists.len());
        };
        let octets = match &list.value {
            PdvValue::SingleAsn1Type(v) | PdvValue::OctetAligned(v) => v,
            other => panic!("the split reader saw one value, the decoder {other:?}"),
        };
        assert_eq!(&data[split.value_start..], &octets[..]);
    }
}

fuzz_target!(|data: &[u8]| {
    check_split(data);
    for opts in [DecodeOptions::default(), DecodeOptions::dissector()] {
        check(data, &opts, decode_cp_with, &[&encode_cp]);
        check(data, &opts, decode_cpa_with, &[&encode_cpa]);
        check(data, &opts, decode_cpr_with, &[&encode_cpr]);
        check(data, &opts, decode_abort_with, &[&encode_abort]);
        check(
            data,
            &opts,
            decode_user_data_with,
            &[&encode_td, &encode_release_user_data],
        );
    }
});
