//! Scatter reads: a driver that reads a split TSDU's value straight into place
//! ([`TransportConnection::plan_scatter`], [`TransportConnection::scatter_bufs`],
//! [`TransportConnection::accept_scatter`]) gets the same events, values and errors as one
//! that feeds every octet through [`TransportConnection::feed`], whatever the peer's
//! segmentation, the read chunking and the read budget, and whether the predictions hold or
//! fail (at every position), with recycled buffers of stale contents.

use guls_transport::*;
use proptest::prelude::*;

mod common;

/// A responder connected to an initiator, with the test splitter installed.
fn connected(size: TpduSize, max_tsdu: usize) -> TransportConnection {
    common::pair(size, max_tsdu).1
}

/// A small deterministic generator (the test's input is its seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// One DT TPKT (`eot`, `data`), with a TPKT length of `data.len() + 7 + len_delta`.
fn dt(out: &mut Vec<u8>, eot: bool, data: &[u8], rng: &mut Rng, odd: bool) {
    let len = (data.len() + 7) as u16;
    let reserved = if odd && rng.chance(20) { 0x55 } else { 0 };
    let code = if odd && rng.chance(10) { 0xF1 } else { 0xF0 };
    let nr = if odd && rng.chance(10) { 0x11 } else { 0 };
    out.extend_from_slice(&[3, reserved]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[2, code, if eot { 0x80 | nr } else { nr }]);
    out.extend_from_slice(data);
}

/// A stream of TSDUs: mostly values with a test header as declared, in full-size DTs, with
/// odd segmentations, wrong declarations, EOT on the wrong DT, odd header octets and the
/// occasional broken TPKT.
fn stream(rng: &mut Rng, size: TpduSize, max_tsdu: usize) -> Vec<u8> {
    let chunk = size.max_dt_user_data();
    let mut out = Vec::new();
    let count = 1 + rng.below(4);
    for _ in 0..count {
        let len = match rng.below(10) {
            0 => rng.below(8),
            1..=3 => rng.below(3000),
            4..=7 => rng.below(70_000),
            _ => rng.below(300_001),
        };
        let mut t: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if len >= 5 {
            t[0] = (1 + rng.below(40)) as u8;
            let declared = match rng.below(10) {
                0 => len + 1,
                1 => len.saturating_sub(1),
                2 => rng.below(max_tsdu + 10),
                _ => len,
            };
            t[1..5].copy_from_slice(&(declared as u32).to_be_bytes());
        }
        let odd = rng.chance(40);
        if !odd {
            let mut pieces = t.chunks(chunk).peekable();
            if pieces.peek().is_none() {
                dt(&mut out, true, &[], rng, false);
            }
            while let Some(p) = pieces.next() {
                dt(&mut out, pieces.peek().is_none(), p, rng, false);
            }
            continue;
        }
        // Odd segmentation: segments of any size up to the chunk, some perturbations.
        let mut at = 0;
        loop {
            let seg = match rng.below(4) {
                0 => rng.below(chunk + 1),
                1 => chunk.saturating_sub(rng.below(3)),
                _ => chunk,
            }
            .min(t.len() - at);
            let last = at + seg == t.len();
            let eot = if rng.chance(3) { !last } else { last };
            dt(&mut out, eot, &t[at..at + seg], rng, true);
            at += seg;
            if eot {
                break;
            }
            if last {
                // EOT withheld on the last segment: an empty EOT DT (or more data).
                if rng.chance(50) {
                    dt(&mut out, true, &[], rng, true);
                } else {
                    let extra: Vec<u8> = (0..rng.below(600)).map(|_| rng.next() as u8).collect();
                    dt(&mut out, true, &extra, rng, true);
                }
                break;
            }
        }
        if rng.chance(5) {
            // A broken or foreign TPKT: a wrong version, a too-short length, an ER/DR.
            match rng.below(4) {
                0 => out.extend_from_slice(&[4, 0, 0, 7, 2, 0xF0, 0x80]),
                1 => out.extend_from_slice(&[3, 0, 0, 5, 2, 0xF0]),
                2 => out.extend_from_slice(&[3, 0, 0, 11, 6, 0x80, 0, 0, 0, 1, 0]),
                _ => {
                    let at = rng.below(out.len());
                    out[at] ^= 1 << rng.below(8);
                }
            }
        }
    }
    out
}

type Outcome = (Vec<TransportEvent>, Option<TransportError>);

/// The reference: the whole stream given to `feed` at once.
fn reference(mut m: TransportConnection, stream: &[u8]) -> Outcome {
    let mut events = Vec::new();
    let mut input = stream;
    loop {
        match m.feed(input) {
            Err(e) => return (events, Some(e)),
            Ok((used, ev)) => {
                input = &input[used..];
                match ev {
                    Some(e) => events.push(e),
                    None => return (events, None),
                }
            }
        }
    }
}

/// Feeds the driver's pending octets; false after an error.
fn feed_all(m: &mut TransportConnection, buf: &mut Vec<u8>, out: &mut Outcome) -> bool {
    let mut pos = 0;
    while pos < buf.len() {
        match m.feed(&buf[pos..]) {
            Err(e) => {
                out.1 = Some(e);
                return false;
            }
            Ok((used, ev)) => {
                pos += used;
                out.0.extend(ev);
            }
        }
    }
    buf.clear();
    true
}

/// A driver that reads in chunks of the sizes `rng` gives, straight into the value when the
/// machine lays a read out, and recycles some of the values it receives.
fn scattered(mut m: TransportConnection, stream: &[u8], rng: &mut Rng, budget: usize) -> Outcome {
    let mut out: Outcome = (Vec::new(), None);
    let mut buf = Vec::new();
    let mut read = ScatterRead::new();
    let mut at = 0;
    loop {
        if !feed_all(&mut m, &mut buf, &mut out) {
            return out;
        }
        // Hand some values back, with stale contents.
        if let Some(TransportEvent::SplitData { body, .. }) = out.0.last()
            && rng.chance(60)
            && m.recycled_len() < MAX_RECYCLED
        {
            let mut b = body.clone();
            b.iter_mut().for_each(|o| *o = 0xEE);
            m.recycle(b);
        }
        if at == stream.len() {
            return out;
        }
        let chunk = match rng.below(4) {
            0 => 1 + rng.below(16),
            1 => 1 + rng.below(9000),
            _ => 1 + rng.below(80_000),
        };
        if m.plan_scatter(budget, &mut read) {
            assert!(read.len() <= budget);
            let mut n = 0;
            {
                // Through a new vector, or a reused array (too short for some layouts: then
                // nothing is put there and the vector is used).
                let count = read.buf_count();
                let mut slots: [std::io::IoSliceMut<'_>; 24] =
                    std::array::from_fn(|_| std::io::IoSliceMut::new(&mut []));
                let bufs: Vec<std::io::IoSliceMut<'_>> = if rng.chance(50) {
                    match m.scatter_bufs_into(&mut read, &mut slots) {
                        Some(k) => {
                            assert_eq!(k, count);
                            slots.into_iter().take(k).collect()
                        }
                        None => {
                            assert!(count > 24);
                            m.scatter_bufs(&mut read)
                        }
                    }
                } else {
                    m.scatter_bufs(&mut read)
                };
                assert_eq!(bufs.len(), count);
                for mut b in bufs {
                    let k = b.len().min(chunk - n).min(stream.len() - at - n);
                    b[..k].copy_from_slice(&stream[at + n..at + n + k]);
                    n += k;
                    if k < b.len() {
                        break;
                    }
                }
            }
            assert!(n > 0);
            let planned_end = at + n;
            at += n;
            out.0.extend(m.accept_scatter(&read, n, &mut buf));
            // A layout that ends with its TSDU may be followed, in the same read, by what
            // comes next, which is given to `feed` after whatever was not accepted.
            if read.ends_tsdu() && n == read.len() && chunk > n {
                let k = (chunk - n).min(300).min(stream.len() - planned_end);
                buf.extend_from_slice(&stream[at..at + k]);
                at += k;
            }
        } else {
            let k = chunk.min(stream.len() - at);
            buf.extend_from_slice(&stream[at..at + k]);
            at += k;
        }
    }
}

fn sizes() -> impl Strategy<Value = TpduSize> {
    prop_oneof![
        Just(TpduSize::S128),
        Just(TpduSize::S1024),
        Just(TpduSize::S8192)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn scatter_reads_give_what_feed_gives(
        seed in 1u64..,
        size in sizes(),
        budget in prop_oneof![8usize..64, 64usize..20_000, Just(65_536usize)],
        big_limit in any::<bool>(),
    ) {
        let max_tsdu = if big_limit { 1 << 20 } else { 100_000 };
        let mut rng = Rng(seed);
        let wire = stream(&mut rng, size, max_tsdu);
        let expected = reference(connected(size, max_tsdu), &wire);
        let got = scattered(connected(size, max_tsdu), &wire, &mut rng, budget);
        prop_assert_eq!(&got, &expected);
        // Byte by byte through `feed` (every DT streamed into its value as it arrives).
        let mut m = connected(size, max_tsdu);
        let mut out: Outcome = (Vec::new(), None);
        for b in wire.chunks(1 + rng.below(3)) {
            let mut v = b.to_vec();
            if !feed_all(&mut m, &mut v, &mut out) {
                break;
            }
        }
        prop_assert_eq!(&out, &expected);
    }
}

/// Full-size DTs read with a large budget: all of a value but the first read's octets is
/// read in place, and the value ends exactly where the layout ends (the next TSDU is not
/// predicted).
#[test]
fn a_value_in_full_size_dts_is_read_in_place() {
    let size = TpduSize::S8192;
    let mut m = connected(size, 1 << 20);
    let mut t: Vec<u8> = (0..65_600u32).map(|i| (i * 7) as u8).collect();
    t[0] = 20;
    t[1..5].copy_from_slice(&65_600u32.to_be_bytes());
    let mut wire = Vec::new();
    encode_data_frames(&t, size, &mut wire);
    let first_tsdu = wire.len();
    encode_data_frames(&t, size, &mut wire);
    // A probe of 300 octets starts the value.
    let (used, ev) = m.feed(&wire[..300]).unwrap();
    assert_eq!((used, ev), (300, None));
    let mut read = ScatterRead::new();
    let mut at = 300;
    let mut events = Vec::new();
    while m.plan_scatter(65_536, &mut read) {
        let mut n = 0;
        for mut b in m.scatter_bufs(&mut read) {
            let k = b.len();
            b.copy_from_slice(&wire[at + n..at + n + k]);
            n += k;
        }
        at += n;
        let mut rest = Vec::new();
        events.extend(m.accept_scatter(&read, n, &mut rest));
        assert!(rest.is_empty(), "every prediction holds");
    }
    assert_eq!(at, first_tsdu);
    assert_eq!(
        events,
        vec![TransportEvent::SplitData {
            head: t[..20].to_vec(),
            body: t[20..].to_vec()
        }]
    );
    assert!(m.next_tsdu_likely_split());
}

/// A recycled buffer is used for the next value and its stale octets never show.
#[test]
fn recycled_buffers_are_reused_and_overwritten() {
    let size = TpduSize::S1024;
    let mut m = connected(size, 1 << 20);
    m.recycle(vec![0xAB; 10_000]);
    m.recycle(Vec::with_capacity(100)); // too small: dropped
    assert_eq!(m.recycled_len(), 1);
    let mut t: Vec<u8> = (0..9_000u32).map(|i| i as u8).collect();
    t[0] = 9;
    t[1..5].copy_from_slice(&9_000u32.to_be_bytes());
    let mut wire = Vec::new();
    encode_data_frames(&t, size, &mut wire);
    let ev = m.on_bytes(&wire).unwrap();
    assert_eq!(m.recycled_len(), 0);
    let [TransportEvent::SplitData { head, body }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(head[..], t[..9]);
    assert_eq!(body[..], t[9..]);
    assert!(body.capacity() >= 10_000, "the recycled buffer");
}
