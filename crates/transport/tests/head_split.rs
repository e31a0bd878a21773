//! The head split: with a [`HeadSplitter`] installed, a TSDU whose first segment it
//! recognises arrives as [`TransportEvent::SplitData`] (header and value in buffers of their
//! own) exactly when the octets that arrive agree with what the header declared, and whole
//! otherwise; either way the octets are the TSDU's, in any chunking, under the same limits.

use guls_transport::*;
use proptest::prelude::*;

mod common;
use common::pair;

/// A TSDU of `len` octets whose test header says `head_len` and `declared`.
fn tsdu(len: usize, head_len: u8, declared: u32) -> Vec<u8> {
    let mut t: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(13)).collect();
    if len >= 5 {
        t[0] = head_len;
        t[1..5].copy_from_slice(&declared.to_be_bytes());
    }
    t
}

fn receive(b: &mut TransportConnection, wire: &[u8], chunk: usize) -> Vec<TransportEvent> {
    let mut events = Vec::new();
    for c in wire.chunks(chunk.max(1)) {
        events.extend(b.on_bytes(c).unwrap());
    }
    events
}

#[test]
fn a_declared_tsdu_arrives_split_and_any_other_whole() {
    let (a, mut b) = pair(TpduSize::S1024, 1 << 20);
    // Several DTs, as declared.
    let t = tsdu(70_000, 20, 70_000);
    let ev = receive(&mut b, &a.send_tsdu(&t).unwrap(), 4096);
    assert_eq!(
        ev,
        vec![TransportEvent::SplitData {
            head: t[..20].to_vec(),
            body: t[20..].to_vec()
        }]
    );
    // One DT, as declared.
    let t = tsdu(900, 10, 900);
    let ev = receive(&mut b, &a.send_tsdu(&t).unwrap(), 100);
    assert_eq!(
        ev,
        vec![TransportEvent::SplitData {
            head: t[..10].to_vec(),
            body: t[10..].to_vec()
        }]
    );
    for (len, head, declared, why) in [
        (70_000, 20, 69_999, "shorter than declared"),
        (70_000, 20, 70_001, "longer than declared"),
        (900, 10, 901, "one DT, not as declared"),
        (5_000, 0, 5_000, "empty head"),
        (600, 100, 600, "value under 512 octets"),
        (5_000, 20, 2_000_000, "declared beyond the TSDU limit"),
    ] {
        let t = tsdu(len, head, declared);
        let ev = receive(&mut b, &a.send_tsdu(&t).unwrap(), 3000);
        assert_eq!(ev, vec![TransportEvent::Data(t)], "{why}");
    }
    // A head longer than the first segment (125 octets of user data in a 128-octet TPDU).
    let (a, mut b) = pair(TpduSize::S128, 1 << 20);
    let t = tsdu(5_000, 200, 5_000);
    let ev = receive(&mut b, &a.send_tsdu(&t).unwrap(), 3000);
    assert_eq!(
        ev,
        vec![TransportEvent::Data(t)],
        "head beyond the first segment"
    );
}

#[test]
fn limits_hold_while_split() {
    let (a, mut b) = pair(TpduSize::S1024, 10_000);
    let t = tsdu(12_000, 16, 9_000);
    let wire = a.send_tsdu(&t).unwrap();
    let mut held = 0;
    let mut failed = None;
    for c in wire.chunks(1024) {
        match b.on_bytes(c) {
            Ok(ev) => {
                assert!(ev.is_empty());
                held = held.max(b.buffered_tsdu_len());
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    assert!(held > 0 && held <= 10_000, "{held}");
    assert_eq!(failed, Some(TransportError::TsduTooLarge { limit: 10_000 }));
    assert_eq!(b.state(), TransportState::Closed);
    assert_eq!(b.buffered_tsdu_len(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn split_or_whole_the_octets_are_the_tsdus(
        len in prop_oneof![0usize..700, 0usize..40_000],
        head in any::<u8>(),
        off_by in prop_oneof![Just(0i64), -3i64..3],
        code in 7u8..=13,
        chunk in 1usize..9000,
        count in 1usize..3,
    ) {
        let (a, mut b) = pair(TpduSize::from_code(code), 1 << 20);
        let declared = (len as i64 + off_by).max(0) as u32;
        let t = tsdu(len, head, declared);
        let mut wire = Vec::new();
        for _ in 0..count {
            wire.extend(a.send_tsdu(&t).unwrap());
        }
        let events = receive(&mut b, &wire, chunk);
        prop_assert_eq!(events.len(), count);
        let first_len = t.len().min(TpduSize::from_code(code).max_dt_user_data());
        let should_split = len >= 5
            && head >= 1
            && usize::from(head) <= first_len
            && declared as usize == len
            && len - usize::from(head) >= 512;
        for ev in events {
            match ev {
                TransportEvent::SplitData { head: h, body } => {
                    prop_assert!(should_split);
                    prop_assert_eq!(h.len(), usize::from(head));
                    prop_assert_eq!([h, body].concat(), t.clone());
                }
                TransportEvent::Data(d) => {
                    prop_assert!(!should_split);
                    prop_assert_eq!(&d, &t);
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
        prop_assert_eq!(b.buffered_tsdu_len(), 0);
    }
}

#[test]
fn a_recycled_head_gathers_the_next_heads_with_the_same_events() {
    let (a, mut b) = pair(TpduSize::S1024, 1 << 20);
    for (len, head_len, chunk) in [(70_000, 20, 4096), (900, 10, 100), (5_000, 30, 7)] {
        let t = tsdu(len, head_len as u8, len as u32);
        let mut ev = receive(&mut b, &a.send_tsdu(&t).unwrap(), chunk);
        let Some(TransportEvent::SplitData { head, body }) = ev.pop() else {
            panic!("one split TSDU");
        };
        assert!(ev.is_empty());
        assert_eq!((&head[..], &body[..]), (&t[..head_len], &t[head_len..]));
        b.recycle_head(head);
    }
    // A head larger than what is kept is dropped; the next split is unchanged.
    b.recycle_head(Vec::with_capacity(MAX_RECYCLED_HEAD + 1));
    let t = tsdu(2_000, 12, 2_000);
    let ev = receive(&mut b, &a.send_tsdu(&t).unwrap(), 300);
    assert_eq!(
        ev,
        vec![TransportEvent::SplitData {
            head: t[..12].to_vec(),
            body: t[12..].to_vec()
        }]
    );
}
