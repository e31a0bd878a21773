//! The zero-copy paths give the octets of the copying ones: the DT framing of
//! [`TransportConnection::data_frames_for`] interleaved with the TSDU is byte-identical to
//! [`TransportConnection::send_tsdu`], and received TPKTs processed in place (whole TPKTs at
//! the head of the input) give the same TSDUs as any other chunking.

use guls_transport::*;
use proptest::prelude::*;

fn cfg(size: TpduSize) -> TransportConfig {
    TransportConfig {
        max_tpdu_size: size,
        ..TransportConfig::default()
    }
}

fn pair(size: TpduSize) -> (TransportConnection, TransportConnection) {
    let mut a = TransportConnection::initiator(cfg(size));
    let mut b = TransportConnection::responder(cfg(size));
    b.on_bytes(&a.connect().unwrap()).unwrap();
    a.on_bytes(&b.accept().unwrap()).unwrap();
    assert_eq!(a.state(), TransportState::Connected);
    (a, b)
}

fn tsdu(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn interleaved(t: &TransportConnection, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (header, range) in t.data_frames_for(data.len()).unwrap() {
        out.extend_from_slice(&header);
        out.extend_from_slice(&data[range]);
    }
    out
}

#[test]
fn framing_edges_are_byte_identical() {
    for code in 7..=13 {
        let size = TpduSize::from_code(code);
        let (a, _) = pair(size);
        let chunk = size.max_dt_user_data();
        for len in [
            0,
            1,
            chunk - 1,
            chunk,
            chunk + 1,
            2 * chunk,
            65_536,
            65_536 + 17,
        ] {
            let data = tsdu(len, 7);
            assert_eq!(
                interleaved(&a, &data),
                a.send_tsdu(&data).unwrap(),
                "size {} len {len}",
                size.octets()
            );
        }
    }
}

#[test]
fn framing_needs_a_connection() {
    let a = TransportConnection::initiator(cfg(TpduSize::S8192));
    assert!(matches!(
        a.data_frames_for(10),
        Err(TransportError::IllegalCall { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn framing_is_byte_identical(len in 0usize..200_000, code in 7u8..=13, seed: u8) {
        let (a, _) = pair(TpduSize::from_code(code));
        let data = tsdu(len, seed);
        prop_assert_eq!(interleaved(&a, &data), a.send_tsdu(&data).unwrap());
    }

    #[test]
    fn in_place_reception_matches_any_chunking(
        lens in prop::collection::vec(0usize..40_000, 1..4),
        code in 7u8..=13,
        cut in 1usize..20_000,
    ) {
        let (a, mut whole) = pair(TpduSize::from_code(code));
        let (_, mut split) = pair(TpduSize::from_code(code));
        let mut wire = Vec::new();
        let tsdus: Vec<Vec<u8>> = lens.iter().map(|&l| tsdu(l, l as u8)).collect();
        for t in &tsdus {
            wire.extend(a.send_tsdu(t).unwrap());
        }
        let expected: Vec<TransportEvent> =
            tsdus.iter().cloned().map(TransportEvent::Data).collect();
        prop_assert_eq!(&whole.on_bytes(&wire).unwrap(), &expected);
        let mut got = Vec::new();
        for piece in wire.chunks(cut) {
            got.extend(split.on_bytes(piece).unwrap());
        }
        prop_assert_eq!(&got, &expected);
        prop_assert_eq!(split.buffered_frame_len(), 0);
        prop_assert_eq!(split.buffered_tsdu_len(), 0);
    }
}
