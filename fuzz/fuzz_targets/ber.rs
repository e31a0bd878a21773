//! Fuzz target: walk arbitrary input with the guls-ber reader, recursively, calling every typed
//! accessor. It must never panic, and every element's slices must be the input octets its
//! offsets name.
#![no_main]

use guls_ber::{Element, External, ExternalEncoding, Layer, Oid, Reader};
use libfuzzer_sys::fuzz_target;

fn check_within(e: &Element<'_>, input: &[u8]) {
    let raw_end = e.offset + e.raw.len();
    assert!(raw_end <= input.len(), "raw beyond input");
    assert_eq!(&input[e.offset..raw_end], e.raw);
    let c_end = e.content_offset + e.contents.len();
    assert!(
        e.content_offset >= e.offset && c_end <= raw_end,
        "contents outside raw"
    );
    assert_eq!(&input[e.content_offset..c_end], e.contents);
}

fn walk(r: &mut Reader<'_>, input: &[u8], budget: &mut usize) {
    while !r.is_empty() && *budget > 0 {
        *budget -= 1;
        let peeked = r.peek_tag();
        let Ok(e) = r.read() else { return };
        assert_eq!(peeked.ok().flatten(), Some(e.tag));
        check_within(&e, input);
        let _ = e.integer("integer", 4);
        let _ = e.unsigned("unsigned", 8);
        let _ = e.boolean("boolean");
        if let Ok(oid) = e.oid("oid") {
            let dotted = oid.to_string();
            let again: Oid = dotted.parse().expect("a decoded OID's dotted form parses");
            assert_eq!(again, oid);
        }
        if let Ok(s) = e.octets("octets") {
            assert!(s.len() <= e.contents.len());
        }
        if let Ok(b) = e.bit_string("bits") {
            assert!(b.bit_len() <= e.contents.len() * 8);
            let _ = b.set_bits();
        }
        let _ = ExternalEncoding::decode(&e);
        let _ = External::decode(&e);
        if let Ok(mut inner) = e.reader() {
            walk(&mut inner, input, budget);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut budget = 100_000;
    walk(&mut Reader::new(data, Layer::Acse), data, &mut budget);
    // Also with a tiny depth limit and an offset base.
    let mut budget = 100_000;
    let mut r = Reader::new(data, Layer::Presentation).with_max_depth(2);
    walk(&mut r, data, &mut budget);
    let _ = Reader::new(data, Layer::Session).with_base(7).read();
});
