//! The zero-copy paths give the results of the copying ones: the TD header and trailer of
//! [`PresentationMachine::send_data_header`] around the value are byte-identical to
//! [`PresentationMachine::send_data`] (both encode styles), and
//! [`PresentationMachine::on_data_owned`] gives what [`PresentationMachine::on_data`] gives.

use guls_ber::known;
use guls_presentation::*;
use proptest::prelude::*;

fn connected_pair(style: EncodeStyle) -> (PresentationMachine, PresentationMachine) {
    let mut i = PresentationMachine::new(PresentationConfig {
        proposed_contexts: vec![
            ProposedContext::ber(1, known::ACSE_ABSTRACT_SYNTAX),
            ProposedContext::ber(3, known::MMS_ABSTRACT_SYNTAX),
        ],
        encode_style: style,
        ..PresentationConfig::default()
    })
    .unwrap();
    let mut r = PresentationMachine::new(PresentationConfig {
        supported_syntaxes: vec![
            SupportedSyntax::ber(known::ACSE_ABSTRACT_SYNTAX),
            SupportedSyntax::ber(known::MMS_ABSTRACT_SYNTAX),
        ],
        encode_style: style,
        ..PresentationConfig::default()
    })
    .unwrap();
    let cp = i
        .connect_request(UserData::single_asn1(1, vec![0x60, 0x00]))
        .unwrap();
    r.on_connect_request(&cp).unwrap();
    let cpa = r
        .accept(Some(UserData::single_asn1(1, vec![0x61, 0x00])))
        .unwrap();
    i.on_connect_accept(&cpa).unwrap();
    (i, r)
}

fn style(rfc1698: bool) -> EncodeStyle {
    if rfc1698 {
        EncodeStyle::Rfc1698
    } else {
        EncodeStyle::Canonical
    }
}

/// A value of `len` octets: for single-ASN1-type a valid OCTET STRING TLV (when `len` allows).
fn value(len: usize, single_asn1: bool, seed: u8) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect();
    if single_asn1 && len >= 6 {
        let n = len - 6;
        v[..6].copy_from_slice(&[
            0x04,
            0x84,
            (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ]);
    }
    v
}

/// Two receivers and a TD of one octet-aligned value `bytes`, its octets then `mutate`d.
fn mutated_td(
    bytes: &[u8],
    mutate: &[(usize, u8)],
) -> (PresentationMachine, PresentationMachine, Vec<u8>) {
    let (mut i, r1) = connected_pair(EncodeStyle::Canonical);
    let (_, r2) = connected_pair(EncodeStyle::Canonical);
    let mut td = i
        .send_data(vec![(3, PdvValue::OctetAligned(bytes.to_vec()))])
        .unwrap();
    for &(at, b) in mutate {
        if let Some(x) = td.get_mut(at) {
            *x = b;
        }
    }
    (r1, r2, td)
}

fn pdv(single_asn1: bool, v: Vec<u8>) -> PdvValue {
    if single_asn1 {
        PdvValue::SingleAsn1Type(v)
    } else {
        PdvValue::OctetAligned(v)
    }
}

#[test]
fn header_keeps_the_checks_of_send_data() {
    let (mut i, _) = connected_pair(EncodeStyle::Canonical);
    assert!(matches!(
        i.send_data_header(5, false, 10),
        Err(PresentationError::UndefinedContext(5))
    ));
    let mut idle = PresentationMachine::new(PresentationConfig::default()).unwrap();
    assert!(idle.send_data_header(1, false, 10).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn header_is_byte_identical(
        len in prop_oneof![0usize..300, 0usize..200_000],
        single_asn1: bool,
        rfc1698: bool,
        pcid in prop_oneof![Just(1i64), Just(3i64)],
        seed: u8,
    ) {
        let (mut i, _) = connected_pair(style(rfc1698));
        let v = value(len, single_asn1, seed);
        let (header, trailer) = i.send_data_header(pcid, single_asn1, len).unwrap();
        let mut fast = header;
        fast.extend_from_slice(&v);
        fast.extend_from_slice(trailer);
        prop_assert_eq!(fast, i.send_data(vec![(pcid, pdv(single_asn1, v))]).unwrap());
    }

    #[test]
    fn owned_decode_matches(
        len in prop_oneof![0usize..300, 0usize..100_000],
        single_asn1: bool,
        rfc1698: bool,
        pcid in prop_oneof![Just(1i64), Just(3i64)],
        offset in 0usize..8,
        seed: u8,
        two: bool,
        cut: prop::sample::Index,
    ) {
        // One TD through `on_data`, `on_data_owned`, and `on_data_split` cut where the value
        // starts (the fast path) and anywhere (joined, decoded as usual): the same outcome.
        let (mut i, mut r1) = connected_pair(style(rfc1698));
        let (_, mut r2) = connected_pair(style(rfc1698));
        let (_, mut r3) = connected_pair(style(rfc1698));
        let (_, mut r4) = connected_pair(style(rfc1698));
        let v = value(len, single_asn1, seed);
        let mut values = vec![(pcid, pdv(single_asn1, v))];
        if two {
            values.push((1, PdvValue::OctetAligned(vec![seed; 3])));
        }
        let td = i.send_data(values).unwrap();
        let mut owned = vec![0xEE; offset];
        owned.extend_from_slice(&td);
        let slow = format!("{:?}", r1.on_data(&td));
        let fast = format!("{:?}", r2.on_data_owned(owned, offset));
        prop_assert_eq!(&slow, &fast);
        prop_assert_eq!(r1.state(), r2.state());
        if let Some(s) = td_value_split(&td) {
            prop_assert_eq!(s.total_len, td.len());
            prop_assert_eq!(&split_at(&mut r3, &td, offset, s.value_start), &slow);
        }
        prop_assert_eq!(split_at(&mut r4, &td, offset, cut.index(td.len() + 1)), slow);
        prop_assert_eq!(r1.state(), r4.state());
        // The transport asks on the octets of a first segment received so far: any prefix
        // gives no answer or the whole TD's, and the whole TD's once it holds the head.
        let c = cut.index(td.len() + 1);
        let (whole, part) = (td_value_split(&td), td_value_split(&td[..c]));
        prop_assert!(part.is_none() || part == whole);
        if let Some(s) = whole && c >= s.value_start {
            prop_assert_eq!(part, whole);
        }
    }

    #[test]
    fn owned_decode_matches_on_any_input(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        mutate in prop::collection::vec((0usize..64, any::<u8>()), 0..3),
    ) {
        // Mostly-valid TDs, mutated, and noise: the same outcome either way.
        let (mut r1, mut r2, td) = mutated_td(&bytes, &mutate);
        for input in [&td, &bytes] {
            // Any prefix: no answer or the whole input's.
            let whole = td_value_split(input);
            for c in 0..=input.len() {
                let part = td_value_split(&input[..c]);
                prop_assert!(part.is_none() || part == whole);
            }
        }
        for input in [td, bytes.clone()] {
            let slow = format!("{:?}", r1.on_data(&input));
            let fast = format!("{:?}", r2.on_data_owned(input.clone(), 0));
            prop_assert_eq!(slow, fast);
            prop_assert_eq!(r1.state(), r2.state());
        }
    }
}

/// `on_data_split` on `prefix ++ td` cut at `at` (as a transport head split would give it).
fn split_at(r: &mut PresentationMachine, td: &[u8], offset: usize, at: usize) -> String {
    let mut head = vec![0xEE; offset];
    head.extend_from_slice(&td[..at]);
    format!("{:?}", r.on_data_split(&head, offset, td[at..].to_vec()))
}

#[test]
fn split_value_is_handed_out_in_the_body_allocation() {
    for single_asn1 in [false, true] {
        let (mut i, mut r) = connected_pair(EncodeStyle::Canonical);
        let v = value(70_000, single_asn1, 9);
        let td = i.send_data(vec![(3, pdv(single_asn1, v.clone()))]).unwrap();
        let split = td_value_split(&td[..40]).expect("a single-value TD splits");
        assert_eq!(split.total_len, td.len());
        assert_eq!(&td[split.value_start..], &v[..]);
        let body = td[split.value_start..].to_vec();
        let at = body.as_ptr();
        let values = r.on_data_split(&td[..split.value_start], 0, body).unwrap();
        let [value] = &values[..] else {
            panic!("one value")
        };
        assert_eq!(value.pcid, 3);
        let got = match &value.value {
            PdvValue::OctetAligned(b) if !single_asn1 => b,
            PdvValue::SingleAsn1Type(b) if single_asn1 => b,
            other => panic!("wrong kind {other:?}"),
        };
        assert_eq!(got, &v);
        assert_eq!(got.as_ptr(), at, "the value was copied");
    }
}

#[test]
fn split_reads_only_definite_single_value_headers() {
    let (mut i, _) = connected_pair(EncodeStyle::Canonical);
    let td = i
        .send_data(vec![
            (3, PdvValue::OctetAligned(vec![1; 600])),
            (1, PdvValue::OctetAligned(vec![2; 3])),
        ])
        .unwrap();
    assert_eq!(td_value_split(&td), None, "two values");
    let (mut i, _) = connected_pair(EncodeStyle::Rfc1698);
    let td = i
        .send_data(vec![(3, PdvValue::OctetAligned(vec![1; 600]))])
        .unwrap();
    if td[1] == 0x80 {
        assert_eq!(td_value_split(&td), None, "indefinite length");
    }
    assert_eq!(td_value_split(&[0x61, 0x84]), None);
    assert_eq!(td_value_split(&[]), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn split_decode_matches_on_any_input(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        // Mostly in the headers, where the split reads.
        mutate in prop::collection::vec((prop_oneof![0usize..10, 0usize..64], any::<u8>()), 0..3),
        cut: prop::sample::Index,
    ) {
        let (mut r1, mut r2, td) = mutated_td(&bytes, &mutate);
        for input in [&td, &bytes] {
            // Any prefix: no answer or the whole input's.
            let whole = td_value_split(input);
            for c in 0..=input.len() {
                let part = td_value_split(&input[..c]);
                prop_assert!(part.is_none() || part == whole);
            }
        }
        for input in [td, bytes.clone()] {
            let slow = format!("{:?}", r1.on_data(&input));
            let at = td_value_split(&input)
                .map(|s| s.value_start)
                .filter(|&s| s <= input.len())
                .unwrap_or_else(|| cut.index(input.len() + 1));
            prop_assert_eq!(split_at(&mut r2, &input, 0, at), slow);
            prop_assert_eq!(r1.state(), r2.state());
        }
    }
}

/// A TD of one octet-aligned value whose PDV-list starts with the encoded elements `list_head`
/// (a transfer-syntax-name and a presentation-context-identifier, as given), and the offset
/// of the value's first octet.
fn td_with_list_head(list_head: &[u8], value: &[u8]) -> (Vec<u8>, usize) {
    let mut list = list_head.to_vec();
    list.extend_from_slice(&[0x81, value.len() as u8]);
    let value_in_list = list.len();
    list.extend_from_slice(value);
    let mut td = vec![0x61, (list.len() + 2) as u8, 0x30, list.len() as u8];
    let value_start = td.len() + value_in_list;
    td.extend_from_slice(&list);
    (td, value_start)
}

#[test]
fn split_checks_the_list_head_as_the_full_decoder() {
    let value = [7u8; 20];
    let heads: [(&str, &[u8]); 8] = [
        ("context 3", &[0x02, 0x01, 0x03]),
        (
            "transfer syntax, context 3",
            &[0x06, 0x02, 0x51, 0x01, 0x02, 0x01, 0x03],
        ),
        (
            "unterminated transfer syntax",
            &[0x06, 0x02, 0x51, 0x81, 0x02, 0x01, 0x03],
        ),
        ("empty transfer syntax", &[0x06, 0x00, 0x02, 0x01, 0x03]),
        ("empty identifier", &[0x02, 0x00]),
        (
            "5-octet identifier",
            &[0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x03],
        ),
        ("4-octet identifier", &[0x02, 0x04, 0x00, 0x00, 0x00, 0x03]),
        ("negative identifier", &[0x02, 0x01, 0xFD]),
    ];
    let mut outcomes = Vec::new();
    for (what, head) in heads {
        let (td, value_start) = td_with_list_head(head, &value);
        let (_, mut full) = connected_pair(EncodeStyle::Canonical);
        let (_, mut split) = connected_pair(EncodeStyle::Canonical);
        let slow = format!("{:?}", full.on_data(&td));
        let fast = split_at(&mut split, &td, 0, value_start);
        assert_eq!(fast, slow, "{what}");
        assert_eq!(full.state(), split.state(), "{what}");
        outcomes.push(slow.starts_with("Ok"));
    }
    // The cases are not all alike: the valid ones decode, the others are refused.
    assert_eq!(
        outcomes,
        [true, true, false, false, false, false, true, false]
    );
}
