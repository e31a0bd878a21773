//! Decoding never allocates more than the input can justify: for arbitrary and for crafted
//! inputs (lengths claiming gigabytes, deep nesting, many tiny elements), the bytes allocated
//! while decoding stay within a constant factor of the input size.
//!
//! The whole test binary runs under a counting global allocator, and the single test below
//! measures one decode at a time.

use std::alloc::System;

use guls_acse::Apdu;
use guls_presentation as pres;
use guls_session as ses;
use guls_transport as tp;
use proptest::prelude::*;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated may not exceed `FACTOR` times the input plus `SLACK` (typed values carry
/// fixed-size structs per element: a linear bound is the property; the factor covers a struct
/// per two-octet element).
const FACTOR: usize = 96;
const SLACK: usize = 8192;

fn decode_everything(input: &[u8]) {
    let _ = tp::Tpdu::decode(input);
    let _ = tp::split_frames(input, tp::MAX_TPKT_LEN).count();
    let _ = ses::decode_tsdu(input);
    let _ = pres::decode_cp(input);
    let _ = pres::decode_cpa(input);
    let _ = pres::decode_cpr(input);
    let _ = pres::decode_abort(input);
    let _ = pres::decode_user_data(input);
    let _ = Apdu::decode(input);
}

fn allocated_by(input: &[u8]) -> usize {
    let region = Region::new(GLOBAL);
    decode_everything(input);
    region.change().bytes_allocated
}

fn check(input: &[u8]) {
    let used = allocated_by(input);
    assert!(
        used <= FACTOR * input.len() + SLACK,
        "{used} bytes allocated decoding {} octets: {}",
        input.len(),
        guls_ber::to_hex(&input[..input.len().min(64)])
    );
}

#[test]
fn decoders_allocate_linearly_in_the_input() {
    // Crafted: length fields that claim far more than is present, at every layer.
    let crafted: Vec<Vec<u8>> = vec![
        vec![0x61, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x80],
        vec![0x60, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![0x31, 0x83, 0xff, 0xff, 0xff, 0xa0, 0x03, 0x80, 0x01, 0x01],
        vec![0x0d, 0xff, 0xff, 0xff, 0xc1, 0xff, 0xff, 0xff],
        vec![0x01, 0x00, 0x01, 0x00, 0x61, 0x84, 0xff, 0xff, 0xff, 0xff],
        vec![0x03, 0x00, 0xff, 0xff, 0x02, 0xf0, 0x80],
        // 20,000 nested indefinite-length SEQUENCEs.
        [0x30u8, 0x80].repeat(20_000),
        // A TD with 5,000 two-octet PDV lists' worth of tiny elements.
        {
            let mut v = vec![0x61, 0x82, 0x75, 0x30];
            for _ in 0..3000 {
                v.extend_from_slice(&[0x30, 0x08, 0x02, 0x01, 0x03, 0xa0, 0x03, 0x02, 0x01, 0x00]);
            }
            v
        },
    ];
    for input in &crafted {
        check(input);
    }
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..2048), |input| {
            check(&input);
            Ok(())
        })
        .unwrap();
}
