//! Credentials / KeyAgreementItem codecs: exact tags, round trips and never-panic (proptest).
use guls_acse::{AttributeTypeAndValue, DistinguishedName, RelativeDistinguishedName};
use guls_ber::{BitString, Oid};
use guls_crypto::{SecretBytes, SignatureAlgorithm};
use guls_exchanges::{
    AlgorithmIdentifier, CertificatePair, CertificationPath, Credentials, KaRole, KeyAgreementItem,
    KeyAgreementTbs, Password, ReceivedKeyAgreement, SecurityProblem, SimpleCredentials,
    StrongCredentials, Time, Token, TokenContent, Validity,
};
use guls_sese::ItemType;
use proptest::prelude::*;

fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName(vec![RelativeDistinguishedName(vec![
        AttributeTypeAndValue::printable(Oid::from_static(&[0x55, 0x04, 0x03]), cn),
    ])])
}

fn fake_cert(n: u8, len: usize) -> Vec<u8> {
    let mut w = guls_ber::Writer::new();
    w.constructed(guls_ber::Tag::SEQUENCE, |w| {
        w.primitive(guls_ber::Tag::OCTET_STRING, &vec![n; len])
    });
    w.into_bytes()
}

#[test]
fn strong_credentials_tags() {
    let content = TokenContent {
        algorithm: AlgorithmIdentifier::of(SignatureAlgorithm::Ed25519),
        name: dn("b"),
        time: 1_700_000_000,
        random: BitString::from_bytes(vec![1, 2]),
        response: Some(BitString::from_bytes(vec![3])),
        extensions: vec![],
    };
    let token = Token::new(
        content,
        AlgorithmIdentifier::of(SignatureAlgorithm::Ed25519),
        BitString::from_bytes(vec![9; 4]),
    );
    let creds = Credentials::Strong(StrongCredentials {
        certification_path: Some(CertificationPath::from_chain(&[
            fake_cert(1, 1),
            fake_cert(2, 1),
        ])),
        bind_token: token.clone(),
        name: Some(dn("a")),
        extensions: vec![],
    });
    let der = creds.encode();
    let expected_tbs = "30 2d a0 05 06 03 2b 65 70 a1 0c 31 0a 30 08 06 03 55 04 03 13 01 62 \
         82 0d 32 33 31 31 31 34 32 32 31 33 32 30 5a 83 03 00 01 02 84 02 00 03";
    let hex = |s: &str| guls_ber::parse_hex(s).unwrap();
    assert_eq!(token.tbs_der(), hex(expected_tbs));
    let mut expected =
        hex("a1 5f a0 10 30 03 04 01 01 30 09 30 07 a0 05 30 03 04 01 02 a1 3d 30 2d");
    expected.extend(&hex(expected_tbs)[2..]);
    expected.extend(hex("30 05 06 03 2b 65 70 03 05 00 09 09 09 09"));
    expected.extend(hex("a2 0c 31 0a 30 08 06 03 55 04 03 13 01 61"));
    assert_eq!(guls_ber::to_hex(&der), guls_ber::to_hex(&expected));
    assert_eq!(Credentials::decode(&der).unwrap(), creds);
    // SET members in another order decode the same.
    let mut reordered = hex("a1 5f");
    reordered.extend(hex("a2 0c 31 0a 30 08 06 03 55 04 03 13 01 61"));
    reordered.extend(&der[2..der.len() - 14]);
    assert_eq!(Credentials::decode(&reordered).unwrap(), creds);
}

#[test]
fn simple_credentials_tags() {
    let creds = Credentials::Simple(SimpleCredentials {
        name: dn("a"),
        validity: Some(Validity {
            time1: Some(Time::Utc(1_700_000_000)),
            time2: None,
            random1: Some(BitString::from_bytes(vec![5])),
            random2: None,
        }),
        password: Some(Password::Unprotected(SecretBytes::from(&b"pw"[..]))),
    });
    let der = creds.encode();
    assert_eq!(
        guls_ber::to_hex(&der),
        "a02b a00c 310a 3008 0603550403 130161 \
         a115 a00f 170d3233313131343232313332305a 82020005 \
         a204 04027077"
            .replace(' ', "")
    );
    assert_eq!(Credentials::decode(&der).unwrap(), creds);
    assert!(!format!("{creds:?}").contains("pw\""));
}

#[test]
fn security_problem_codec() {
    for v in 1..=9 {
        let p = SecurityProblem::from_value(v);
        assert_eq!(p.encode(), [0x02, 0x01, v as u8]);
        assert_eq!(SecurityProblem::decode(&p.encode()).unwrap(), p);
    }
    assert!(SecurityProblem::decode(&[0x04, 0x01, 0x01]).is_err());
}

#[test]
fn limits() {
    // Too many CA pairs.
    let path = CertificationPath::from_chain(&vec![fake_cert(1, 2); 12]);
    let mut w = guls_ber::Writer::new();
    path.write(&mut w, guls_ber::Tag::context(0));
    let mut creds = vec![0xa1, 0x82];
    let inner = w.into_bytes();
    creds.extend((inner.len() as u16).to_be_bytes());
    creds.extend(inner);
    let err = Credentials::decode(&creds).unwrap_err();
    assert!(err.to_string().contains("CA certificate pairs"), "{err}");
    // Oversized.
    let big = Credentials::ExternalProcedure(
        vec![0x04, 0x83, 0x01, 0x11, 0x70]
            .into_iter()
            .chain(std::iter::repeat_n(0, 70_000))
            .collect(),
    );
    assert!(Credentials::decode(&big.encode()).is_err());
}

fn arb_bits() -> impl Strategy<Value = BitString> {
    (proptest::collection::vec(any::<u8>(), 0..40), 0u8..8).prop_map(|(bytes, unused)| BitString {
        unused_bits: if bytes.is_empty() { 0 } else { unused },
        bytes,
    })
}

fn arb_dn() -> impl Strategy<Value = DistinguishedName> {
    proptest::collection::vec("[a-zA-Z0-9 ]{0,12}", 0..4)
        .prop_map(|cns| DistinguishedName(cns.iter().map(|c| dn(c).0.remove(0)).collect()))
}

fn arb_alg() -> impl Strategy<Value = AlgorithmIdentifier> {
    proptest::sample::select(SignatureAlgorithm::ALL.to_vec()).prop_map(AlgorithmIdentifier::of)
}

fn arb_cert() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), 0usize..300).prop_map(|(n, l)| fake_cert(n, l))
}

fn arb_path() -> impl Strategy<Value = CertificationPath> {
    (
        arb_cert(),
        proptest::option::of(proptest::collection::vec(
            (
                proptest::option::of(arb_cert()),
                proptest::option::of(arb_cert()),
            )
                .prop_map(|(forward, reverse)| CertificatePair { forward, reverse }),
            0..4,
        )),
    )
        .prop_map(|(user_certificate, ca_certificates)| CertificationPath {
            user_certificate,
            ca_certificates,
        })
}

fn arb_time() -> impl Strategy<Value = Time> {
    prop_oneof![
        (0u64..=2_524_607_999).prop_map(Time::Utc),
        (0u64..=253_402_300_799).prop_map(Time::Generalized),
    ]
}

fn arb_credentials() -> impl Strategy<Value = Credentials> {
    let token = (
        arb_alg(),
        arb_dn(),
        0u64..=4_000_000_000,
        arb_bits(),
        proptest::option::of(arb_bits()),
        arb_alg(),
        arb_bits(),
    )
        .prop_map(|(algorithm, name, time, random, response, alg, sig)| {
            Token::new(
                TokenContent {
                    algorithm,
                    name,
                    time,
                    random,
                    response,
                    extensions: vec![],
                },
                alg,
                sig,
            )
        });
    let strong = (
        proptest::option::of(arb_path()),
        token,
        proptest::option::of(arb_dn()),
    )
        .prop_map(|(certification_path, bind_token, name)| {
            Credentials::Strong(StrongCredentials {
                certification_path,
                bind_token,
                name,
                extensions: vec![],
            })
        });
    let validity = (
        proptest::option::of(arb_time()),
        proptest::option::of(arb_time()),
        proptest::option::of(arb_bits()),
        proptest::option::of(arb_bits()),
    )
        .prop_map(|(time1, time2, random1, random2)| Validity {
            time1,
            time2,
            random1,
            random2,
        });
    let password = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20)
            .prop_map(|p| Password::Unprotected(SecretBytes::new(p))),
        (arb_alg(), arb_bits())
            .prop_map(|(algorithm, value)| Password::Protected { algorithm, value }),
    ];
    let simple = (
        arb_dn(),
        proptest::option::of(validity),
        proptest::option::of(password),
    )
        .prop_map(|(name, validity, password)| {
            Credentials::Simple(SimpleCredentials {
                name,
                validity,
                password,
            })
        });
    prop_oneof![
        strong,
        simple,
        proptest::collection::vec(any::<u8>(), 0..10)
            .prop_map(|b| Credentials::ExternalProcedure(OctetWrap(b).tlv())),
        proptest::collection::vec(any::<u8>(), 0..10)
            .prop_map(|b| Credentials::Spkm(OctetWrap(b).tlv())),
    ]
}

fn arb_ka_item() -> impl Strategy<Value = KeyAgreementItem> {
    (
        any::<bool>(),
        arb_path(),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 32..=32),
        0u64..=253_402_300_799,
        proptest::option::of(arb_dn()),
        arb_alg(),
        arb_bits(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
    )
        .prop_map(
            |(initiator, path, key, nonce, time, peer_name, alg, signature, confirmation)| {
                let tbs = KeyAgreementTbs {
                    role: if initiator {
                        KaRole::Initiator
                    } else {
                        KaRole::Responder
                    },
                    certification_path: path,
                    key_exchange_algorithm: vec![0x2b, 0x65, 0x6e],
                    ephemeral_public_key: key,
                    nonce,
                    time,
                    peer_name,
                    signature_algorithm: alg,
                };
                KeyAgreementItem::new(tbs, signature, confirmation)
            },
        )
}

/// Every part of `view` is the owned decoding's (`item`, decoded from the same octets).
fn same_parts(view: &ReceivedKeyAgreement, item: &KeyAgreementItem, octets: &[u8]) {
    let tbs = item.tbs();
    assert_eq!(view.octets(), octets);
    assert_eq!(view.role(), tbs.role);
    assert_eq!(view.time(), tbs.time);
    assert_eq!(view.tbs_der(), item.tbs_der());
    let chain: Vec<Vec<u8>> = view.with_chain(|c| c.iter().map(|c| c.to_vec()).collect());
    assert_eq!(chain, tbs.certification_path.chain());
    assert_eq!(view.key_exchange_algorithm(), tbs.key_exchange_algorithm);
    assert_eq!(view.ephemeral_public_key(), tbs.ephemeral_public_key);
    assert_eq!(view.nonce(), tbs.nonce);
    assert_eq!(view.peer_name(), tbs.peer_name);
    assert_eq!(view.peer_name_contents().is_some(), tbs.peer_name.is_some());
    if let Some(n) = &tbs.peer_name {
        // DER in, DER contents out.
        let der = n.to_der();
        let contents = guls_ber::Reader::new(&der, guls_ber::Layer::Sese)
            .read()
            .unwrap()
            .contents
            .to_vec();
        if octets == item.encode() {
            assert_eq!(view.peer_name_contents(), Some(&contents[..]));
        }
    }
    assert_eq!(view.signature_algorithm(), tbs.signature_algorithm.0);
    assert_eq!(
        view.signature(),
        (item.signature.unused_bits, &item.signature.bytes[..])
    );
    assert_eq!(view.confirmation(), item.confirmation.as_deref());
}

/// The item with its signature BIT STRING encoded constructed (two segments), when it is
/// long enough to split.
fn segmented_signature(item: &KeyAgreementItem) -> Option<Vec<u8>> {
    let bits = &item.signature;
    if bits.bytes.len() < 2 || bits.unused_bits != 0 {
        return None;
    }
    let (a, b) = bits.bytes.split_at(1);
    let mut w = guls_ber::Writer::new();
    w.constructed(guls_ber::Tag::SEQUENCE, |w| {
        w.raw(item.tbs_der());
        w.constructed(guls_ber::Tag::BIT_STRING, |w| {
            w.bit_string(
                guls_ber::Tag::BIT_STRING,
                &BitString::from_bytes(a.to_vec()),
            );
            w.bit_string(
                guls_ber::Tag::BIT_STRING,
                &BitString::from_bytes(b.to_vec()),
            );
        });
        if let Some(c) = &item.confirmation {
            w.primitive(guls_ber::Tag::context(0), c);
        }
    });
    Some(w.into_bytes())
}

struct OctetWrap(Vec<u8>);

impl OctetWrap {
    fn tlv(self) -> Vec<u8> {
        let mut w = guls_ber::Writer::new();
        w.primitive(guls_ber::Tag::OCTET_STRING, &self.0);
        w.into_bytes()
    }
}

proptest! {
    #[test]
    fn credentials_round_trip(c in arb_credentials()) {
        let der = c.encode();
        let back = Credentials::decode(&der).unwrap();
        prop_assert_eq!(&back, &c);
        prop_assert_eq!(back.encode(), der);
    }

    #[test]
    fn credentials_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Credentials::decode(&bytes);
        let _ = KeyAgreementItem::decode(&bytes);
        let _ = ReceivedKeyAgreement::decode(&bytes);
        let _ = SecurityProblem::decode(&bytes);
    }

    #[test]
    fn credentials_validate_is_decode(
        c in arb_credentials(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // The check the SESE machine runs on sent items accepts and refuses exactly what
        // decoding does, with the same error.
        let mut der = c.encode();
        prop_assert_eq!(Credentials::validate(&der), Ok(()));
        for (i, v) in edits {
            let at = i.index(der.len());
            der[at] = v;
        }
        for bytes in [&der[..], &der[..cut.index(der.len() + 1)]] {
            prop_assert_eq!(
                Credentials::validate(bytes),
                Credentials::decode(bytes).map(|_| ())
            );
        }
    }

    #[test]
    fn key_agreement_validate_is_decode(
        item in arb_ka_item(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // The check the SESE machine runs on sent items accepts and refuses exactly what
        // decoding does, with the same error.
        let mut der = item.encode();
        let back = KeyAgreementItem::decode(&der);
        prop_assert_eq!(back.as_ref(), Ok(&item));
        prop_assert_eq!(KeyAgreementItem::validate(&der), Ok(()));
        for (i, v) in edits {
            let at = i.index(der.len());
            der[at] = v;
        }
        for bytes in [&der[..], &der[..cut.index(der.len() + 1)]] {
            prop_assert_eq!(
                KeyAgreementItem::validate(bytes),
                KeyAgreementItem::decode(bytes).map(|_| ())
            );
        }
    }

    #[test]
    fn received_key_agreement_is_the_owned_decoding(
        item in arb_ka_item(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        junk in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        // What the role machines read (the item's octets and where each part lies) is what
        // the owned decoding gives, and both refuse the same inputs with the same error.
        let der = item.encode();
        let mut inputs = vec![der.clone()];
        inputs.extend(segmented_signature(&item));
        let mut edited = der.clone();
        for (i, v) in edits {
            let at = i.index(edited.len());
            edited[at] = v;
        }
        inputs.push(edited.clone());
        inputs.push(edited[..cut.index(edited.len() + 1)].to_vec());
        inputs.push(der[..cut.index(der.len() + 1)].to_vec());
        inputs.push(junk);
        for (n, bytes) in inputs.iter().enumerate() {
            let view = ReceivedKeyAgreement::decode(bytes);
            let owned = KeyAgreementItem::decode(bytes);
            // (The item's signature is a primitive BIT STRING: the segmented one is refused.)
            if n == 0 {
                prop_assert!(view.is_ok(), "{:?}", view);
            }
            prop_assert_eq!(view.as_ref().map(|_| ()), owned.as_ref().map(|_| ()));
            prop_assert_eq!(
                ReceivedKeyAgreement::validate(bytes),
                owned.as_ref().map(|_| ()).map_err(Clone::clone)
            );
            if let (Ok(v), Ok(o)) = (&view, &owned) {
                same_parts(v, o, bytes);
                prop_assert_eq!(v.encode(), bytes.clone());
            }
        }
    }

    #[test]
    fn mutated_credentials_never_panic(
        c in arb_credentials(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut der = c.encode();
        for (i, v) in edits {
            let at = i.index(der.len());
            der[at] = v;
        }
        let _ = Credentials::decode(&der);
        let _ = Credentials::decode(&der[..cut.index(der.len() + 1)]);
    }
}
