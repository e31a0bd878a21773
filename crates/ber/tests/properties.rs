//! Property tests: writer/reader round trips, reader robustness, OID dotted round trips.

use guls_ber::{
    Class, Element, External, ExternalEncoding, Layer, Oid, Reader, Tag, Writer, decode_integer,
    integer_contents,
};
use proptest::prelude::*;

/// An element tree the writer can produce.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Prim(Tag, Vec<u8>),
    Cons(Tag, bool, Vec<Node>),
}

fn tag_strategy() -> impl Strategy<Value = Tag> {
    (0u8..4, 0u32..16384, any::<bool>())
        .prop_filter("universal 0 is end-of-contents", |(c, n, _)| {
            !(*c == 0 && *n == 0)
        })
        .prop_map(|(c, number, constructed)| Tag {
            class: match c {
                0 => Class::Universal,
                1 => Class::Application,
                2 => Class::Context,
                _ => Class::Private,
            },
            constructed,
            number,
        })
}

fn node_strategy() -> impl Strategy<Value = Node> {
    let leaf = (tag_strategy(), prop::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(t, c)| Node::Prim(t.primitive(), c));
    leaf.prop_recursive(5, 64, 6, |inner| {
        (
            tag_strategy(),
            any::<bool>(),
            prop::collection::vec(inner, 0..6),
        )
            .prop_map(|(t, ind, kids)| Node::Cons(t.constructed(), ind, kids))
    })
}

fn write_node(w: &mut Writer, n: &Node) {
    match n {
        Node::Prim(t, c) => w.primitive(*t, c),
        Node::Cons(t, true, kids) => w.constructed_indefinite(*t, |w| {
            kids.iter().for_each(|k| write_node(w, k));
        }),
        Node::Cons(t, false, kids) => w.constructed_definite(*t, |w| {
            kids.iter().for_each(|k| write_node(w, k));
        }),
    }
}

fn read_nodes(r: &mut Reader<'_>, input: &[u8]) -> Vec<Node> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let e = r.read().expect("writer output must decode");
        check_within(&e, input);
        out.push(if e.tag.constructed {
            let mut inner = e.reader().expect("constructed");
            Node::Cons(e.tag, e.indefinite, read_nodes(&mut inner, input))
        } else {
            Node::Prim(e.tag, e.contents.to_vec())
        });
    }
    out
}

/// The element's slices are exactly the octets of the input its offsets name.
fn check_within(e: &Element<'_>, input: &[u8]) {
    let raw_end = e.offset + e.raw.len();
    assert!(raw_end <= input.len());
    assert_eq!(&input[e.offset..raw_end], e.raw);
    let c_end = e.content_offset + e.contents.len();
    assert!(e.content_offset >= e.offset && c_end <= raw_end);
    assert_eq!(&input[e.content_offset..c_end], e.contents);
}

/// Walks everything readable and exercises every typed accessor; must never panic.
fn walk(r: &mut Reader<'_>, input: &[u8], budget: &mut usize) {
    while !r.is_empty() && *budget > 0 {
        *budget -= 1;
        let _ = r.peek_tag();
        let Ok(e) = r.read() else { return };
        check_within(&e, input);
        let _ = e.integer("i", 4);
        let _ = e.unsigned("u", 8);
        let _ = e.boolean("b");
        let _ = e.oid("o").map(|o| o.to_string());
        if let Ok(s) = e.octets("s") {
            assert!(s.len() <= e.contents.len());
        }
        let _ = e.bit_string("bs").map(|b| b.set_bits());
        let _ = ExternalEncoding::decode(&e);
        let _ = External::decode(&e);
        if let Ok(mut inner) = e.reader() {
            walk(&mut inner, input, budget);
        }
    }
}

fn any_arcs() -> impl Strategy<Value = Vec<u128>> {
    (0u128..3)
        .prop_flat_map(|a| {
            let second = if a < 2 {
                (0u128..40).boxed()
            } else {
                (0u128..=u128::MAX - 80).boxed()
            };
            (
                Just(a),
                second,
                prop::collection::vec(
                    prop_oneof![0u128..128, any::<u128>(), Just(u128::MAX)],
                    0..5,
                ),
            )
        })
        .prop_map(|(a, b, rest)| {
            let mut v = vec![a, b];
            v.extend(rest);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn writer_reader_round_trip(nodes in prop::collection::vec(node_strategy(), 1..4)) {
        let mut w = Writer::new();
        for n in &nodes {
            write_node(&mut w, n);
        }
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes, Layer::Application).with_max_depth(64);
        let back = read_nodes(&mut r, &bytes);
        prop_assert_eq!(back, nodes);
    }

    #[test]
    fn reader_never_panics_on_random_input(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut budget = 10_000;
        walk(&mut Reader::new(&data, Layer::Acse), &data, &mut budget);
    }

    #[test]
    fn reader_never_panics_on_mutated_encodings(
        node in node_strategy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut w = Writer::new();
        write_node(&mut w, &node);
        let mut data = w.into_bytes();
        for (i, b) in edits {
            let i = i.index(data.len());
            data[i] = b;
        }
        let keep = cut.index(data.len() + 1);
        data.truncate(keep.max(data.len().saturating_sub(8)));
        let mut budget = 10_000;
        walk(&mut Reader::new(&data, Layer::Acse).with_max_depth(8), &data, &mut budget);
    }

    #[test]
    fn oid_dotted_round_trip(arcs in any_arcs()) {
        let oid = Oid::from_arcs(&arcs).unwrap();
        prop_assert_eq!(oid.arcs(), arcs.clone());
        let dotted = oid.to_string();
        let joined: Vec<String> = arcs.iter().map(ToString::to_string).collect();
        prop_assert_eq!(&dotted, &joined.join("."));
        let parsed: Oid = dotted.parse().unwrap();
        prop_assert_eq!(&parsed, &oid);
        let from_bytes = Oid::from_content(oid.as_bytes()).unwrap();
        prop_assert_eq!(from_bytes.to_string(), dotted);
    }

    #[test]
    fn oid_contents_never_panic(data in prop::collection::vec(any::<u8>(), 0..160)) {
        if let Ok(o) = Oid::from_content(&data) {
            // Valid contents round trip through the dotted form.
            let again: Oid = o.to_string().parse().unwrap();
            prop_assert_eq!(again.as_bytes(), &data[..]);
        }
    }

    #[test]
    fn integer_round_trip(v in any::<i64>()) {
        let (c, n) = integer_contents(v);
        prop_assert_eq!(decode_integer(&c[..n], 8), Ok(v));
        // Minimal: dropping the first octet changes the value or is impossible.
        if n > 1 {
            prop_assert_ne!(decode_integer(&c[1..n], 8), Ok(v));
        }
        if n <= 4 {
            prop_assert_eq!(decode_integer(&c[..n], 4), Ok(v));
        } else {
            prop_assert!(decode_integer(&c[..n], 4).is_err() || (n == 5 && c[0] == 0));
        }
    }
}
