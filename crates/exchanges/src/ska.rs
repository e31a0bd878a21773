//! The signed key agreement (this project's exchange, ARC.2.1 =
//! 2.25.36238538382872986225690784931241271656.2.1; ARCHITECTURE.md section 4.4).
//!
//! Two items, one round trip (AARQ/AARE): each side sends its certification path, an ephemeral
//! X25519 public key, a 32-octet nonce, a time and a signature over the transcript so far; the
//! responder's item also carries its key-confirmation MAC. Keys come from HKDF-SHA-256 over the
//! X25519 shared secret, salted with the transcript hash. The ASN.1 of the items and the key
//! schedule are in `ASN1.md` (rendered in [`crate::asn1`]).
//!
//! **Initiator key confirmation** is not a third item: the initiator proves it holds the keys
//! with its first protected PDV (the AEAD under the initiator→responder key, which only the
//! holder of the initiator's ephemeral private key can produce), and the responder must treat
//! the association as unconfirmed until that PDV authenticates. A carrier that wants an
//! explicit confirmation can send [`SessionKeys::initiator_confirmation`] and check it with
//! [`SessionKeys::verify_initiator_confirmation`].

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use guls_acse::DistinguishedName;
use guls_ber::{BitString, Class, DecodeResult, ErrorKind, LengthForm, Tag, Writer};
use guls_crypto::{
    ActiveKeyExchange, CryptoProvider, Digest, HashAlgorithm, HashContext, Hkdf, HkdfAlgorithm,
    HmacAlgorithm, KeyExchangeAlgorithm, SecretBytes,
};
use guls_sese::{
    DecodedItem, ErrorDef, ExchangeDefinition, ExchangeRole, Identifier, Item, ItemDef, ItemType,
    Oid, Outcome, Sequencing, Step,
};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::cert;
use crate::credentials::{
    AlgorithmIdentifier, CertificationPath, MAX_CA_PAIRS, PathPart, check_bits, check_dn,
    read_bits, read_dn, same_name, whole,
};
use crate::dirauth::{
    DEFAULT_REPLAY_CAPACITY, DEFAULT_SKEW_SECS, authentication_failure,
    authentication_failure_error, verify_signature,
};
use crate::offload::{self, ExchangeGuard, Offloaded, ParallelChecks};
use crate::time::{self, Clock, secs};
use crate::verify::{
    AuthFailure, DEFAULT_NAME_CACHE, LocalIdentity, NameTexts, PathProblem, PeerName, PeerVerifier,
    ReplayCache, Report, Reports, SharedReplayCache, VerifiedPeer, lock,
};
use guls_crypto::rustls_pki_types::UnixTime;

/// ARC.2.1 = 2.25.36238538382872986225690784931241271656.2.1, the exchange identifier.
pub const SIGNED_KEY_AGREEMENT: Oid = Oid::from_static(&[
    0x69, 0xB6, 0xC3, 0xA4, 0xF8, 0xE2, 0xCE, 0x9A, 0xA0, 0xB9, 0xA4, 0xC4, 0x9B, 0xAC, 0xAD, 0xAF,
    0xE0, 0xC2, 0x68, 0x02, 0x01,
]);

/// DER contents of id-X25519 (1.3.101.110).
const X25519_OID: &[u8] = &[0x2b, 0x65, 0x6e];
/// Nonce length, octets.
pub const NONCE_LEN: usize = 32;
/// Length of each AEAD key derived, octets (AES-256-GCM or ChaCha20-Poly1305).
pub const KEY_LEN: usize = 32;
/// Length of each nonce base (IV) derived, octets.
pub const IV_LEN: usize = 12;
/// Length of the key-confirmation MACs (HMAC-SHA-256), octets.
pub const MAC_LEN: usize = 32;

const LABEL_PREFIX: &[u8] = b"GULS ARC.2.1 v2 ";
const SIG_LABEL_I: &[u8] = b"GULS ARC.2.1 v2 initiator signature\x00";
const SIG_LABEL_R: &[u8] = b"GULS ARC.2.1 v2 responder signature\x00";
const TRANSCRIPT_LABEL: &[u8] = b"GULS ARC.2.1 v2 transcript\x00";
/// Octets of the longer signature label.
const SIG_LABEL_MAX: usize = if SIG_LABEL_I.len() > SIG_LABEL_R.len() {
    SIG_LABEL_I.len()
} else {
    SIG_LABEL_R.len()
};

/// Which side sent an item / holds the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KaRole {
    /// `initiator (0)`.
    Initiator,
    /// `responder (1)`.
    Responder,
}

/// `KeyAgreementTbs` (see `ASN1.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAgreementTbs {
    /// `role [0]`.
    pub role: KaRole,
    /// `certificationPath [1]`.
    pub certification_path: CertificationPath,
    /// `keyExchangeAlgorithm [2]`: the OID contents (X25519 is `2b 65 6e`).
    pub key_exchange_algorithm: Vec<u8>,
    /// `ephemeralPublicKey [3]`.
    pub ephemeral_public_key: Vec<u8>,
    /// `nonce [4]`.
    pub nonce: Vec<u8>,
    /// `time [5]` (GeneralizedTime), seconds since the epoch.
    pub time: u64,
    /// `peerName [6]`: the name of the intended peer.
    pub peer_name: Option<DistinguishedName>,
    /// `signatureAlgorithm [7]`.
    pub signature_algorithm: AlgorithmIdentifier,
}

/// The parts of a `KeyAgreementTbs`, borrowed: what a role encodes and signs without
/// building (and copying its certification path into) a [`KeyAgreementTbs`].
struct TbsParts<'a> {
    role: KaRole,
    certification_path: &'a CertificationPath,
    key_exchange_algorithm: &'a [u8],
    ephemeral_public_key: &'a [u8],
    nonce: &'a [u8],
    time: u64,
    peer_name: Option<&'a DistinguishedName>,
    signature_algorithm: &'a AlgorithmIdentifier,
}

impl TbsParts<'_> {
    /// DER (what [`KeyAgreementTbs::encode`] writes).
    fn encode(&self) -> Vec<u8> {
        let size = self.certification_path.contents_len_hint() + 256;
        let mut w = Writer::from_vec(Vec::with_capacity(size), LengthForm::Definite);
        w.constructed(Tag::SEQUENCE, |w| {
            let role = match self.role {
                KaRole::Initiator => 0,
                KaRole::Responder => 1,
            };
            w.integer(Tag::context(0), role);
            self.certification_path.write(w, Tag::context(1));
            w.primitive(Tag::context(2), self.key_exchange_algorithm);
            w.primitive(Tag::context(3), self.ephemeral_public_key);
            w.primitive(Tag::context(4), self.nonce);
            w.primitive(
                Tag::context(5),
                time::generalized_time(self.time).as_bytes(),
            );
            if let Some(n) = self.peer_name {
                n.encode_der_implicit(w, Tag::context(6));
            }
            self.signature_algorithm.write(w, Tag::context(7));
        });
        w.into_bytes()
    }
}

/// The DER of a `KeyAgreementItem` from its signed octets, signature and confirmation.
fn encode_item(tbs_der: &[u8], signature: &BitString, confirmation: Option<&[u8]>) -> Vec<u8> {
    let size = tbs_der.len() + signature.bytes.len() + confirmation.map_or(0, <[u8]>::len) + 16;
    let mut w = Writer::from_vec(Vec::with_capacity(size), LengthForm::Definite);
    w.constructed(Tag::SEQUENCE, |w| {
        w.raw(tbs_der);
        w.bit_string(Tag::BIT_STRING, signature);
        if let Some(c) = confirmation {
            w.primitive(Tag::context(0), c);
        }
    });
    w.into_bytes()
}

/// Hashes the DER of `BIT STRING signature` (tag, length, unused bits, octets) without
/// copying the signature into it.
fn hash_signature_tlv(ctx: &mut dyn HashContext, (unused_bits, bytes): (u8, &[u8])) {
    let mut header = Vec::with_capacity(12);
    header.push(0x03);
    guls_ber::encode_length(bytes.len() + 1, &mut header);
    header.push(unused_bits);
    ctx.update(&header);
    ctx.update(bytes);
}

/// What an item's signature covers (ASN1.md, section 2): the role's label and the SHA-256 of
/// the signed octets, on the stack. Signing the digest rather than the octets keeps the
/// signature's own hashing (Ed25519 hashes its message twice to sign, once to verify) off
/// the certification path, which is most of the octets.
struct SignedMessage {
    octets: [u8; SIG_LABEL_MAX + 64],
    len: usize,
}

impl SignedMessage {
    fn new(label: &[u8], digest: &Digest) -> Self {
        let digest = digest.as_bytes();
        let mut octets = [0; SIG_LABEL_MAX + 64];
        octets[..label.len()].copy_from_slice(label);
        octets[label.len()..label.len() + digest.len()].copy_from_slice(digest);
        SignedMessage {
            octets,
            len: label.len() + digest.len(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.octets[..self.len]
    }
}

impl KeyAgreementTbs {
    fn parts(&self) -> TbsParts<'_> {
        TbsParts {
            role: self.role,
            certification_path: &self.certification_path,
            key_exchange_algorithm: &self.key_exchange_algorithm,
            ephemeral_public_key: &self.ephemeral_public_key,
            nonce: &self.nonce,
            time: self.time,
            peer_name: self.peer_name.as_ref(),
            signature_algorithm: &self.signature_algorithm,
        }
    }

    /// DER.
    pub fn encode(&self) -> Vec<u8> {
        self.parts().encode()
    }

    fn read(e: &guls_ber::Element<'_>) -> DecodeResult<Self> {
        let (f, certification_path, peer_name, signature_algorithm) = Self::walk(
            e,
            CertificationPath::read,
            read_dn,
            AlgorithmIdentifier::read,
        )?;
        Ok(KeyAgreementTbs {
            role: f.role,
            certification_path,
            key_exchange_algorithm: f.key_exchange_algorithm.to_vec(),
            ephemeral_public_key: f.ephemeral_public_key.to_vec(),
            nonce: f.nonce.to_vec(),
            time: f.time,
            peer_name,
            signature_algorithm,
        })
    }

    /// [`KeyAgreementTbs::read`]'s checks (the same errors for the same input) without
    /// building the value.
    fn check(e: &guls_ber::Element<'_>) -> DecodeResult<()> {
        Self::walk(
            e,
            CertificationPath::check,
            check_dn,
            AlgorithmIdentifier::check,
        )
        .map(|_| ())
    }

    /// Reads the fields in order: the certification path, the peer name and the signature
    /// algorithm through the functions given, the others where they lie.
    #[allow(clippy::type_complexity)]
    fn walk<'a, P, N, A>(
        e: &guls_ber::Element<'a>,
        path: impl FnOnce(&guls_ber::Element<'a>) -> DecodeResult<P>,
        name: impl FnOnce(&guls_ber::Element<'a>) -> DecodeResult<N>,
        algorithm: impl FnOnce(&guls_ber::Element<'a>) -> DecodeResult<A>,
    ) -> DecodeResult<(TbsFields<'a>, P, Option<N>, A)> {
        if e.tag != Tag::SEQUENCE {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "KeyAgreementTbs SEQUENCE",
                found: e.tag.to_string(),
            }));
        }
        let mut r = e.reader()?;
        let role = match r
            .read_tagged(Tag::context(0), "role [0]")?
            .integer("role", 1)?
        {
            0 => KaRole::Initiator,
            1 => KaRole::Responder,
            _ => return Err(r.error(ErrorKind::Invalid("role"))),
        };
        let certification_path =
            path(&r.read_tagged(Tag::context(1).constructed(), "certificationPath [1]")?)?;
        let kx = r.read_tagged(Tag::context(2), "keyExchangeAlgorithm [2]")?;
        Oid::from_content(kx.contents).map_err(|_| kx.error(ErrorKind::Invalid("OID")))?;
        let pk = r.read_tagged(Tag::context(3), "ephemeralPublicKey [3]")?;
        if pk.contents.len() > 133 {
            return Err(pk.error(ErrorKind::LimitExceeded {
                what: "ephemeral public key octets",
                limit: 133,
            }));
        }
        let n = r.read_tagged(Tag::context(4), "nonce [4]")?;
        if n.contents.len() != NONCE_LEN {
            return Err(n.error(ErrorKind::Invalid("nonce length")));
        }
        let t = r.read_tagged(Tag::context(5), "time [5]")?;
        let time = time::parse_generalized_time(t.contents)
            .ok_or_else(|| t.error(ErrorKind::Invalid("time")))?;
        let peer_name = match r.read_optional(Tag::context(6))? {
            Some(x) => Some(name(&x)?),
            None => None,
        };
        let signature_algorithm =
            algorithm(&r.read_tagged(Tag::context(7).constructed(), "signatureAlgorithm [7]")?)?;
        r.finish("KeyAgreementTbs")?;
        let fields = TbsFields {
            role,
            key_exchange_algorithm: kx.contents,
            ephemeral_public_key: pk.contents,
            nonce: n.contents,
            time,
        };
        Ok((fields, certification_path, peer_name, signature_algorithm))
    }
}

/// The plain fields of a received `KeyAgreementTbs`, where they lie.
struct TbsFields<'a> {
    role: KaRole,
    key_exchange_algorithm: &'a [u8],
    ephemeral_public_key: &'a [u8],
    nonce: &'a [u8],
    time: u64,
}

/// `KeyAgreementItem ::= SEQUENCE { toBeSigned KeyAgreementTbs, signature BIT STRING,
/// confirmation [0] IMPLICIT OCTET STRING OPTIONAL }`. The signed octets and the signature
/// TLV are kept exactly as received (the transcript hashes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAgreementItem {
    tbs: KeyAgreementTbs,
    tbs_der: Vec<u8>,
    /// The signature.
    pub signature: BitString,
    /// The responder's key-confirmation MAC.
    pub confirmation: Option<Vec<u8>>,
}

impl KeyAgreementItem {
    /// An item over `tbs` (DER-encoded now).
    pub fn new(tbs: KeyAgreementTbs, signature: BitString, confirmation: Option<Vec<u8>>) -> Self {
        KeyAgreementItem {
            tbs_der: tbs.encode(),
            tbs,
            signature,
            confirmation,
        }
    }

    /// The signed content.
    pub fn tbs(&self) -> &KeyAgreementTbs {
        &self.tbs
    }

    /// The signed octets.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }
}

impl KeyAgreementItem {
    /// Reads the item through `tbs` (which reads or checks the signed content) and `bits`
    /// (which reads or checks the signature) and checks the rest; gives what they gave, the
    /// signed octets and the confirmation where they lie.
    #[allow(clippy::type_complexity)]
    fn walk<'a, T, S>(
        tlv: &'a [u8],
        tbs: impl FnOnce(&guls_ber::Element<'a>) -> DecodeResult<T>,
        bits: impl FnOnce(&guls_ber::Element<'a>) -> DecodeResult<S>,
    ) -> DecodeResult<(T, &'a [u8], S, Option<&'a [u8]>)> {
        let e = whole(tlv, "KeyAgreementItem")?;
        if e.tag != Tag::SEQUENCE {
            return Err(e.error(ErrorKind::Unexpected {
                expected: "KeyAgreementItem SEQUENCE",
                found: e.tag.to_string(),
            }));
        }
        let mut r = e.reader()?;
        let t = r.read_tagged(Tag::SEQUENCE, "toBeSigned")?;
        let value = tbs(&t)?;
        let s = r.read_tagged(Tag::BIT_STRING, "signature BIT STRING")?;
        let signature = bits(&s)?;
        let confirmation = match r.read_optional(Tag::context(0))? {
            Some(c) if !c.tag.constructed && c.tag.class == Class::Context => {
                if c.contents.len() > 64 {
                    return Err(c.error(ErrorKind::LimitExceeded {
                        what: "confirmation octets",
                        limit: 64,
                    }));
                }
                Some(c.contents)
            }
            Some(c) => return Err(c.error(ErrorKind::Invalid("confirmation [0]"))),
            None => None,
        };
        r.finish("KeyAgreementItem")?;
        Ok((value, t.raw, signature, confirmation))
    }
}

impl ItemType for KeyAgreementItem {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let (tbs, tbs_der, signature, confirmation) =
            Self::walk(tlv, KeyAgreementTbs::read, |s| read_bits(s, "signature"))?;
        Ok(KeyAgreementItem {
            tbs,
            tbs_der: tbs_der.to_vec(),
            signature,
            confirmation: confirmation.map(<[u8]>::to_vec),
        })
    }

    /// The checks of [`ItemType::decode`] (the same errors for the same input) without
    /// copying the certificates, names and keys: what the SESE machine runs on the items this
    /// side sends.
    fn validate(tlv: &[u8]) -> DecodeResult<()> {
        Self::walk(tlv, KeyAgreementTbs::check, |s| check_bits(s, "signature")).map(|_| ())
    }

    fn encode(&self) -> Vec<u8> {
        encode_item(&self.tbs_der, &self.signature, self.confirmation.as_deref())
    }
}

/// A received `KeyAgreementItem` as the role machines read it: the item's octets, copied once,
/// and where each part lies in them, instead of a [`KeyAgreementItem`] with a copy of every
/// certificate, key and name. Decoding runs [`KeyAgreementItem`]'s checks (the same walk), so
/// it succeeds exactly when [`KeyAgreementItem::decode`] does, with the same error otherwise,
/// and each part is where the owned decoding took it from.
///
/// ```
/// use guls_exchanges::{KeyAgreementItem, ReceivedKeyAgreement};
/// use guls_sese::ItemType;
///
/// // Truncated: the same located error as the owned decoding.
/// let bad = [0x30, 0x03, 0x30, 0x01];
/// assert_eq!(
///     ReceivedKeyAgreement::decode(&bad).map(|_| ()),
///     KeyAgreementItem::decode(&bad).map(|_| ())
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedKeyAgreement {
    octets: Vec<u8>,
    role: KaRole,
    time: u64,
    tbs: Range<usize>,
    /// The user certificate, then every `forward` certificate (at most [`MAX_CA_PAIRS`]).
    chain: [Range<usize>; 1 + MAX_CA_PAIRS],
    chain_len: usize,
    key_exchange_algorithm: Range<usize>,
    ephemeral_public_key: Range<usize>,
    nonce: Range<usize>,
    /// `peerName [6]`, the whole TLV.
    peer_name: Option<Range<usize>>,
    /// The contents of `signatureAlgorithm [7]`.
    signature_algorithm: Range<usize>,
    signature: ReceivedBits,
    confirmation: Option<Range<usize>>,
}

/// A received BIT STRING: where a primitive encoding's octets lie, or a segmented one joined.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReceivedBits {
    InPlace {
        unused_bits: u8,
        bytes: Range<usize>,
    },
    Joined(BitString),
}

/// Whether a received `peerName` (`[6] IMPLICIT Name`) is `own` ([`same_name`]), given the
/// contents of `own`'s DER: contents equal to them need no decoding (they decode to a name
/// whose DER is `own`'s); others are decoded and compared.
fn is_own_name(
    peer_name: &guls_ber::Element<'_>,
    own: &DistinguishedName,
    own_der_contents: &[u8],
) -> bool {
    peer_name.contents == own_der_contents || read_dn(peer_name).is_ok_and(|n| same_name(&n, own))
}

/// Where `part`, a slice of `whole`, lies in it (clamped to `whole`, so that a slice taken with
/// it never panics).
fn place(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len());
    start..(start + part.len()).min(whole.len())
}

impl ReceivedKeyAgreement {
    /// The item's octets, as received.
    pub fn octets(&self) -> &[u8] {
        &self.octets
    }

    /// `role [0]`.
    pub fn role(&self) -> KaRole {
        self.role
    }

    /// `time [5]`, seconds since the epoch.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// The signed octets: the `KeyAgreementTbs` TLV ([`KeyAgreementItem::tbs_der`]).
    pub fn tbs_der(&self) -> &[u8] {
        &self.octets[self.tbs.clone()]
    }

    /// Calls `f` with the certification path's chain: the user certificate, then every
    /// `forward` certificate ([`CertificationPath::chain_refs`]), on the stack.
    pub fn with_chain<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        let mut chain: [&[u8]; 1 + MAX_CA_PAIRS] = [&[]; 1 + MAX_CA_PAIRS];
        for (c, at) in chain.iter_mut().zip(&self.chain[..self.chain_len]) {
            *c = &self.octets[at.clone()];
        }
        f(&chain[..self.chain_len])
    }

    /// `keyExchangeAlgorithm [2]`: the OID contents.
    pub fn key_exchange_algorithm(&self) -> &[u8] {
        &self.octets[self.key_exchange_algorithm.clone()]
    }

    /// `ephemeralPublicKey [3]`.
    pub fn ephemeral_public_key(&self) -> &[u8] {
        &self.octets[self.ephemeral_public_key.clone()]
    }

    /// `nonce [4]`.
    pub fn nonce(&self) -> &[u8] {
        &self.octets[self.nonce.clone()]
    }

    /// The contents of `peerName [6]` (a DER `Name`'s contents when the sender wrote DER).
    pub fn peer_name_contents(&self) -> Option<&[u8]> {
        self.peer_name_element()
            .map(|e| e.ok().map_or(&[][..], |e| e.contents))
    }

    /// `peerName [6]`, decoded.
    pub fn peer_name(&self) -> Option<DistinguishedName> {
        // Checked when the item was decoded, so it decodes.
        self.peer_name_element()
            .and_then(|e| e.ok())
            .and_then(|e| read_dn(&e).ok())
    }

    /// Whether `peerName` is absent or names `own` ([`same_name`]); `own_der_contents` are the
    /// contents of `own`'s DER.
    fn peer_name_absent_or(&self, own: &DistinguishedName, own_der_contents: &[u8]) -> bool {
        match self.peer_name_element() {
            None => true,
            Some(Ok(e)) => is_own_name(&e, own, own_der_contents),
            Some(Err(_)) => false,
        }
    }

    fn peer_name_element(&self) -> Option<DecodeResult<guls_ber::Element<'_>>> {
        let tlv = &self.octets[self.peer_name.clone()?];
        Some(guls_ber::Reader::new(tlv, guls_ber::Layer::Sese).read())
    }

    /// `signatureAlgorithm [7]`: the `AlgorithmIdentifier`'s contents
    /// ([`AlgorithmIdentifier`]'s form).
    pub fn signature_algorithm(&self) -> &[u8] {
        &self.octets[self.signature_algorithm.clone()]
    }

    /// The signature: its unused bits and octets.
    pub fn signature(&self) -> (u8, &[u8]) {
        match &self.signature {
            ReceivedBits::InPlace { unused_bits, bytes } => {
                (*unused_bits, &self.octets[bytes.clone()])
            }
            ReceivedBits::Joined(b) => (b.unused_bits, &b.bytes),
        }
    }

    /// The responder's key-confirmation MAC.
    pub fn confirmation(&self) -> Option<&[u8]> {
        self.confirmation.clone().map(|c| &self.octets[c])
    }
}

/// What [`ReceivedKeyAgreement::read_tbs`] gives: the plain fields, the chain's places and
/// length, `peerName`'s place and `signatureAlgorithm`'s contents' place.
type TbsPlaces<'a> = (
    TbsFields<'a>,
    ([Range<usize>; 1 + MAX_CA_PAIRS], usize),
    Option<Range<usize>>,
    Range<usize>,
);

impl ReceivedKeyAgreement {
    /// Reads the `KeyAgreementTbs` `e` of the item `tlv` ([`KeyAgreementTbs::read`]'s
    /// checks), giving where its parts lie in `tlv`.
    fn read_tbs<'a>(tlv: &[u8], e: &guls_ber::Element<'a>) -> DecodeResult<TbsPlaces<'a>> {
        let path = |e: &guls_ber::Element<'_>| {
            let mut chain: [Range<usize>; 1 + MAX_CA_PAIRS] = Default::default();
            let mut n = 0;
            CertificationPath::walk(e, |part, cert| {
                if matches!(part, PathPart::User | PathPart::Forward) && n < chain.len() {
                    chain[n] = place(tlv, cert);
                    n += 1;
                }
            })?;
            Ok((chain, n))
        };
        let name = |e: &guls_ber::Element<'_>| check_dn(e).map(|()| place(tlv, e.raw));
        let algorithm = |e: &guls_ber::Element<'_>| {
            AlgorithmIdentifier::check(e).map(|()| place(tlv, e.contents))
        };
        KeyAgreementTbs::walk(e, path, name, algorithm)
    }
}

impl ItemType for ReceivedKeyAgreement {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let bits = |s: &guls_ber::Element<'_>| {
            check_bits(s, "signature")?;
            Ok(match s.primitive_bit_string()? {
                Some((unused_bits, bytes)) => ReceivedBits::InPlace {
                    unused_bits,
                    bytes: place(tlv, bytes),
                },
                None => ReceivedBits::Joined(read_bits(s, "signature")?),
            })
        };
        let (
            (f, (chain, chain_len), peer_name, signature_algorithm),
            tbs_der,
            signature,
            confirmation,
        ) = KeyAgreementItem::walk(tlv, |e| Self::read_tbs(tlv, e), bits)?;
        Ok(ReceivedKeyAgreement {
            octets: tlv.to_vec(),
            role: f.role,
            time: f.time,
            tbs: place(tlv, tbs_der),
            chain,
            chain_len,
            key_exchange_algorithm: place(tlv, f.key_exchange_algorithm),
            ephemeral_public_key: place(tlv, f.ephemeral_public_key),
            nonce: place(tlv, f.nonce),
            peer_name,
            signature_algorithm,
            signature,
            confirmation: confirmation.map(|c| place(tlv, c)),
        })
    }

    /// [`KeyAgreementItem::validate`].
    fn validate(tlv: &[u8]) -> DecodeResult<()> {
        KeyAgreementItem::validate(tlv)
    }

    /// The octets as received (one complete TLV; DER when the sender wrote DER).
    fn encode(&self) -> Vec<u8> {
        self.octets.clone()
    }
}

/// The keys of one direction of the protected association.
#[derive(Clone, Copy)]
pub struct DirectionKeys<'a> {
    /// The 32-octet AEAD key.
    pub key: &'a [u8],
    /// The 12-octet nonce base (XOR the sequence number into its last octets).
    pub iv: &'a [u8],
}

impl fmt::Debug for DirectionKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DirectionKeys(<redacted>)")
    }
}

/// The keys a signed key agreement derived, for the protecting transfer syntax. Zeroized on
/// drop; `Debug` shows only the role and the (public) transcript hash.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SessionKeys {
    /// Every derived secret, one after the other (see the `*_AT` ranges): one buffer
    /// instead of one per key.
    material: SecretBytes,
    #[zeroize(skip)]
    role: KaRole,
    #[zeroize(skip)]
    transcript_hash: Digest,
    #[zeroize(skip)]
    peer_dn_der: Vec<u8>,
}

/// Where each secret lies in [`SessionKeys`]'s material.
const I2R_KEY_AT: std::ops::Range<usize> = 0..KEY_LEN;
const I2R_IV_AT: std::ops::Range<usize> = I2R_KEY_AT.end..I2R_KEY_AT.end + IV_LEN;
const R2I_KEY_AT: std::ops::Range<usize> = I2R_IV_AT.end..I2R_IV_AT.end + KEY_LEN;
const R2I_IV_AT: std::ops::Range<usize> = R2I_KEY_AT.end..R2I_KEY_AT.end + IV_LEN;
const CONFIRMATION_AT: std::ops::Range<usize> = R2I_IV_AT.end..R2I_IV_AT.end + MAC_LEN;
const EXPORTER_AT: std::ops::Range<usize> = CONFIRMATION_AT.end..CONFIRMATION_AT.end + KEY_LEN;

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("role", &self.role)
            .field(
                "transcript_hash",
                &guls_ber::to_hex(self.transcript_hash.as_bytes()),
            )
            .finish_non_exhaustive()
    }
}

impl SessionKeys {
    /// This side's role.
    pub fn role(&self) -> KaRole {
        self.role
    }

    /// The transcript hash TH (public; binds the keys to this exchange).
    pub fn transcript_hash(&self) -> &[u8] {
        self.transcript_hash.as_bytes()
    }

    /// The authenticated peer's subject, DER.
    pub fn peer_dn_der(&self) -> &[u8] {
        &self.peer_dn_der
    }

    /// Initiator → responder keys.
    pub fn initiator_to_responder(&self) -> DirectionKeys<'_> {
        DirectionKeys {
            key: self.secret(I2R_KEY_AT),
            iv: self.secret(I2R_IV_AT),
        }
    }

    /// Responder → initiator keys.
    pub fn responder_to_initiator(&self) -> DirectionKeys<'_> {
        DirectionKeys {
            key: self.secret(R2I_KEY_AT),
            iv: self.secret(R2I_IV_AT),
        }
    }

    /// The keys this side seals with.
    pub fn sending(&self) -> DirectionKeys<'_> {
        match self.role {
            KaRole::Initiator => self.initiator_to_responder(),
            KaRole::Responder => self.responder_to_initiator(),
        }
    }

    /// The keys this side opens with.
    pub fn receiving(&self) -> DirectionKeys<'_> {
        match self.role {
            KaRole::Initiator => self.responder_to_initiator(),
            KaRole::Responder => self.initiator_to_responder(),
        }
    }

    /// The initiator's key-confirmation MAC (for a carrier that sends one explicitly).
    pub fn initiator_confirmation(&self) -> &[u8] {
        self.secret(CONFIRMATION_AT)
    }

    /// Checks an initiator's key-confirmation MAC in constant time.
    pub fn verify_initiator_confirmation(&self, mac: &[u8]) -> bool {
        guls_acse::constant_time_eq(self.initiator_confirmation(), mac)
    }

    /// A 32-octet exporter secret for other uses bound to this exchange.
    pub fn exporter(&self) -> &[u8] {
        self.secret(EXPORTER_AT)
    }

    fn secret(&self, at: std::ops::Range<usize>) -> &[u8] {
        &self.material.as_bytes()[at]
    }
}

/// Configuration of the signed key agreement (cheap to clone; replay cache and reports are
/// shared).
#[derive(Clone)]
pub struct KeyAgreementConfig {
    /// Crypto (X25519, SHA-256, HKDF-SHA-256, HMAC-SHA-256, signatures, randomness).
    pub provider: Arc<CryptoProvider>,
    /// This side's key and certification path.
    pub identity: LocalIdentity,
    /// Path validation.
    pub verifier: Arc<dyn PeerVerifier>,
    /// The intended peer: the initiator puts it in `peerName` and requires the responder's
    /// certified subject to be it; `None` accepts any validated peer.
    pub peer_name: Option<DistinguishedName>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Replay cache (its skew is the accepted clock skew).
    pub replay: SharedReplayCache,
    /// Where the keys and detailed results go.
    pub reports: Reports,
    /// Association binding mixed into the transcript hash (e.g. the DER of the calling and
    /// called AP titles and presentation context ids); both sides must supply the same.
    pub context: Vec<u8>,
    /// How many peer names (certified subjects) to keep decoded, with their text, by their
    /// DER (default [`DEFAULT_NAME_CACHE`]; `0` decodes the name in every exchange).
    pub name_cache: usize,
    /// Whether a step may validate the peer's path on another core while it checks the
    /// signature and does its own part (default [`ParallelChecks::WhenIdle`]). The checks,
    /// their order and their outcome are the same either way.
    pub parallel: ParallelChecks,
}

impl fmt::Debug for KeyAgreementConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyAgreementConfig")
            .field("provider", &self.provider.name)
            .field("identity", &self.identity)
            .field(
                "peer_name",
                &self.peer_name.as_ref().map(ToString::to_string),
            )
            .finish_non_exhaustive()
    }
}

impl KeyAgreementConfig {
    /// A configuration with the default skew and replay capacity and an empty context.
    pub fn new(
        provider: Arc<CryptoProvider>,
        identity: LocalIdentity,
        verifier: Arc<dyn PeerVerifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        KeyAgreementConfig {
            provider,
            identity,
            verifier,
            peer_name: None,
            clock,
            replay: Arc::new(Mutex::new(ReplayCache::new(
                DEFAULT_SKEW_SECS,
                DEFAULT_REPLAY_CAPACITY,
            ))),
            reports: Reports::new(),
            context: Vec::new(),
            name_cache: DEFAULT_NAME_CACHE,
            parallel: ParallelChecks::WhenIdle,
        }
    }

    /// The same configuration expecting `peer`.
    pub fn with_peer_name(mut self, peer: DistinguishedName) -> Self {
        self.peer_name = Some(peer);
        self
    }
}

/// The signed key agreement with role machines. Items: 1 initiatorKeyAgreement, 2
/// responderKeyAgreement (last); both may raise authenticationFailure (local:1,
/// SecurityProblem).
pub fn signed_key_agreement(config: KeyAgreementConfig) -> ExchangeDefinition {
    let failure: ErrorDef = authentication_failure();
    // One configuration shared by every role machine (a role is made per exchange).
    let config = Arc::new(config);
    let names = Arc::new(NameTexts::new(config.name_cache));
    let (ci, cr) = (config.clone(), config);
    let (ni, nr) = (names.clone(), names);
    ExchangeDefinition::new(
        Identifier::Global(SIGNED_KEY_AGREEMENT),
        "signedKeyAgreement",
        Sequencing::Alternating,
    )
    .item(
        ItemDef::decoded::<ReceivedKeyAgreement>(1, "initiatorKeyAgreement").error(failure.clone()),
    )
    .item(ItemDef::decoded::<ReceivedKeyAgreement>(2, "responderKeyAgreement").error(failure))
    .roles(
        move || {
            Box::new(KaRoleMachine::new(
                ci.clone(),
                ni.clone(),
                KaRole::Initiator,
            ))
        },
        move || {
            Box::new(KaRoleMachine::new(
                cr.clone(),
                nr.clone(),
                KaRole::Responder,
            ))
        },
    )
}

struct KaRoleMachine {
    config: Arc<KeyAgreementConfig>,
    names: Arc<NameTexts>,
    role: KaRole,
    ephemeral: Option<Box<dyn ActiveKeyExchange>>,
    item1: Vec<u8>,
    /// Counts this exchange as under way (see [`offload`]).
    _under_way: ExchangeGuard,
}

/// A fresh ephemeral key pair, nonce and time.
type Fresh = (Box<dyn ActiveKeyExchange>, Vec<u8>, u64);

/// The subject and key a peer's certificate claims, and the verdict on its signature with
/// that key (see [`KaRoleMachine::claimed_signature`]).
struct Claimed {
    peer: VerifiedPeer,
    verdict: Result<(), AuthFailure>,
}

/// A checked peer: its certified subject (DER) and name, and what was made meanwhile (see
/// [`KaRoleMachine::check_peer`]).
type Checked<T> = (Vec<u8>, Arc<PeerName>, Option<T>);

/// The responder's item 2, its keys, and its nonce and time (noted as issued when sent).
struct Reply {
    item: Vec<u8>,
    keys: SessionKeys,
    nonce: Vec<u8>,
    time: u64,
}

/// What both sides derive.
struct Derived {
    keys: SessionKeys,
    /// Public: it travels in the responder's item.
    responder_confirmation: Digest,
}

impl KaRoleMachine {
    fn new(config: Arc<KeyAgreementConfig>, names: Arc<NameTexts>, role: KaRole) -> Self {
        KaRoleMachine {
            config,
            names,
            role,
            ephemeral: None,
            item1: Vec::new(),
            _under_way: ExchangeGuard::new(),
        }
    }

    fn fail(&self, failure: AuthFailure) -> Step {
        let problem = failure.security_problem();
        self.config.reports.push(Report::Rejected {
            exchange: "signedKeyAgreement",
            failure,
        });
        Step::Fail(vec![authentication_failure_error(problem)])
    }

    /// A fresh ephemeral key pair, nonce and time (the nonce is noted as issued by
    /// [`Self::note_issued`] once it is sent).
    fn fresh(&self) -> Result<Fresh, AuthFailure> {
        let kx = self
            .config
            .provider
            .kx_group(KeyExchangeAlgorithm::X25519)
            .ok_or(AuthFailure::Internal("no X25519"))?;
        let eph = kx
            .start()
            .map_err(|_| AuthFailure::Internal("key generation failed"))?;
        let mut nonce = vec![0u8; NONCE_LEN];
        self.config
            .provider
            .secure_random
            .fill(&mut nonce)
            .map_err(|_| AuthFailure::Internal("random source failed"))?;
        let now = secs(self.config.clock.now());
        Ok((eph, nonce, now))
    }

    /// Remembers this side's `nonce` as issued at `now` (a peer item carrying it is a
    /// reflection).
    fn note_issued(&self, nonce: &[u8], now: u64) {
        lock(&self.config.replay).note_issued(nonce, now);
    }

    /// The checks before the path: the item comes from the expected role and is not one of
    /// this side's.
    fn check_origin(
        &self,
        item: &ReceivedKeyAgreement,
        expected_role: KaRole,
    ) -> Result<(), AuthFailure> {
        if item.role() != expected_role || lock(&self.config.replay).was_issued(item.nonce()) {
            return Err(AuthFailure::Reflection);
        }
        Ok(())
    }

    /// The peer's path validated at `now` on a helper thread (the caller joins it) when the
    /// configuration takes the parallel course now ([`offload::parallel`]), otherwise `None`.
    fn path_elsewhere(
        &self,
        item: &ReceivedKeyAgreement,
        now: UnixTime,
    ) -> Option<Offloaded<Result<VerifiedPeer, PathProblem>>> {
        if !offload::parallel(self.config.parallel) {
            return None;
        }
        let chain: Vec<Vec<u8>> = item.with_chain(|c| c.iter().map(|d| d.to_vec()).collect());
        let verifier = self.config.verifier.clone();
        Some(offload::offload(move || {
            let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
            verifier.verify_chain(&chain, now)
        }))
    }

    /// The peer's path validated at `now` here.
    fn path_here(
        &self,
        item: &ReceivedKeyAgreement,
        now: UnixTime,
    ) -> Result<VerifiedPeer, PathProblem> {
        item.with_chain(|chain| self.config.verifier.verify_chain(chain, now))
    }

    /// The signature over `signed` checked with the subject and key the peer's end-entity
    /// certificate claims, while its path is validated elsewhere: the verdict counts only if
    /// the validation returns that same key ([`Self::check_validated`]).
    fn claimed_signature(&self, item: &ReceivedKeyAgreement, signed: &[u8]) -> Option<Claimed> {
        let peer = item.with_chain(|c| c.first().and_then(|ee| cert::claimed_peer(ee)))?;
        let verdict = self.item_signature(item, &peer, signed);
        Some(Claimed { peer, verdict })
    }

    /// The item's signature over `signed`, checked with `peer`'s key.
    fn item_signature(
        &self,
        item: &ReceivedKeyAgreement,
        peer: &VerifiedPeer,
        signed: &[u8],
    ) -> Result<(), AuthFailure> {
        verify_signature(
            &self.config.provider,
            peer,
            item.signature_algorithm(),
            None,
            signed,
            item.signature(),
        )
    }

    /// Checks the peer's item (`expected_role`, signature over `signed`): the origin, then
    /// the path and the rest ([`Self::check_validated`]). On the parallel course the path is
    /// validated on a helper while this thread checks the signature with the claimed key and
    /// runs `meanwhile` (given that claim, if read); on the one-thread course `meanwhile`
    /// does not run. Returns the peer's certified subject (DER) and name, and what
    /// `meanwhile` made.
    fn check_peer<T>(
        &mut self,
        item: &ReceivedKeyAgreement,
        expected_role: KaRole,
        signed: &[u8],
        meanwhile: impl FnOnce(&mut Self, Option<&Claimed>) -> T,
    ) -> Result<Checked<T>, AuthFailure> {
        self.check_origin(item, expected_role)?;
        let now = self.config.clock.now();
        let (path, claimed, early) = match self.path_elsewhere(item, now) {
            None => (self.path_here(item, now), None, None),
            Some(path) => {
                let claimed = self.claimed_signature(item, signed);
                let early = meanwhile(self, claimed.as_ref());
                (path.join(), claimed, Some(early))
            }
        };
        let (peer_dn_der, peer_name) = self.check_validated(item, signed, now, path, claimed)?;
        Ok((peer_dn_der, peer_name, early))
    }

    /// Checks the peer's item after its path validation (`path`, the verifier's answer at
    /// `now`), in this order: the path, reflection, the signature over `signed` (`claimed`'s
    /// verdict when its key is the validated one), names, group, time and replay. Returns
    /// the peer's certified subject (DER) and name.
    fn check_validated(
        &self,
        item: &ReceivedKeyAgreement,
        signed: &[u8],
        now: UnixTime,
        path: Result<VerifiedPeer, PathProblem>,
        claimed: Option<Claimed>,
    ) -> Result<(Vec<u8>, Arc<PeerName>), AuthFailure> {
        let peer = path.map_err(AuthFailure::Path)?;
        if peer.public_key == self.config.identity.public_key() {
            return Err(AuthFailure::Reflection);
        }
        match claimed {
            Some(c) if c.peer.public_key == peer.public_key && c.peer.key_type == peer.key_type => {
                c.verdict?
            }
            _ => self.item_signature(item, &peer, signed)?,
        }
        if !self.names_this_side(item) {
            return Err(AuthFailure::WrongName);
        }
        let name = self
            .names
            .decoded(&peer.subject_dn_der)
            .ok_or(AuthFailure::Path(crate::PathProblem::Malformed))?;
        if self
            .config
            .peer_name
            .as_ref()
            .is_some_and(|n| !same_name(n, &name.name))
        {
            return Err(AuthFailure::WrongName);
        }
        if item.key_exchange_algorithm() != X25519_OID
            || item.ephemeral_public_key().len() != KeyExchangeAlgorithm::X25519.public_key_len()
        {
            return Err(AuthFailure::KeyAgreement("unsupported group or key"));
        }
        lock(&self.config.replay).check_and_insert(
            &peer.public_key,
            item.time(),
            item.nonce(),
            secs(now),
        )?;
        Ok((peer.subject_dn_der, name))
    }

    /// Whether the item's `peerName`, if any, is this side's name ([`same_name`]).
    fn names_this_side(&self, item: &ReceivedKeyAgreement) -> bool {
        let own = &self.config.identity;
        item.peer_name_absent_or(own.name(), own.name_der_contents())
    }

    /// The key schedule (ASN1.md, "Key schedule"): `signed_r` is the digest the responder
    /// signed (of item 1 and its `toBeSigned`), `signature_r` its signature.
    fn derive(
        &self,
        ephemeral: Box<dyn ActiveKeyExchange>,
        peer_public: &[u8],
        signed_r: &Digest,
        signature_r: (u8, &[u8]),
        peer_dn_der: Vec<u8>,
    ) -> Result<Derived, AuthFailure> {
        let p = &self.config.provider;
        let hkdf = p
            .hkdf(HkdfAlgorithm::Sha256)
            .ok_or(AuthFailure::Internal("no HKDF-SHA-256"))?;
        let hmac = p
            .hmac(HmacAlgorithm::Sha256)
            .ok_or(AuthFailure::Internal("no HMAC-SHA-256"))?;
        let shared = ephemeral
            .complete(peer_public)
            .map_err(|_| AuthFailure::KeyAgreement("X25519 failed"))?;
        let mut ctx = self.sha256()?.start();
        ctx.update(TRANSCRIPT_LABEL);
        ctx.update(&(self.config.context.len() as u64).to_be_bytes());
        ctx.update(&self.config.context);
        ctx.update(signed_r.as_bytes());
        hash_signature_tlv(ctx.as_mut(), signature_r);
        // Digests live on the stack; the transcript hash is public.
        let th = ctx.finish();
        let prk = hkdf.extract(th.as_bytes(), shared.as_bytes());
        let (fin, mut material) = expand_schedule(hkdf, prk.as_bytes())?;
        let (r_fin, i_fin) = fin.split_at(MAC_LEN);
        let responder_confirmation = hmac
            .with_key(r_fin)
            .sign_concat(&[b"responder", th.as_bytes()]);
        material.as_mut_bytes()[CONFIRMATION_AT].copy_from_slice(
            hmac.with_key(i_fin)
                .sign_concat(&[b"initiator", th.as_bytes()])
                .as_bytes(),
        );
        Ok(Derived {
            keys: SessionKeys {
                material,
                role: self.role,
                transcript_hash: th,
                peer_dn_der,
            },
            responder_confirmation,
        })
    }

    fn sha256(&self) -> Result<&'static dyn guls_crypto::Hash, AuthFailure> {
        self.config
            .provider
            .hash(HashAlgorithm::Sha256)
            .ok_or(AuthFailure::Internal("no SHA-256"))
    }

    /// The SHA-256 of the concatenation of `parts`.
    fn digest(&self, parts: &[&[u8]]) -> Result<Digest, AuthFailure> {
        let mut ctx = self.sha256()?.start();
        for part in parts {
            ctx.update(part);
        }
        Ok(ctx.finish())
    }

    /// The signature over `label` and `digest` ([`SignedMessage`]).
    fn sign(&self, label: &[u8], digest: &Digest) -> Result<BitString, AuthFailure> {
        let message = SignedMessage::new(label, digest);
        self.config
            .identity
            .sign(message.as_bytes())
            .map(BitString::from_bytes)
    }

    /// The DER of this side's `KeyAgreementTbs` (its certification path written where the
    /// identity holds it).
    fn tbs_der(
        &self,
        eph: &dyn ActiveKeyExchange,
        nonce: &[u8],
        now: u64,
        peer_name: Option<&DistinguishedName>,
    ) -> Vec<u8> {
        let id = &self.config.identity;
        let signature_algorithm = AlgorithmIdentifier::of(id.algorithm());
        TbsParts {
            role: self.role,
            certification_path: id.path(),
            key_exchange_algorithm: X25519_OID,
            ephemeral_public_key: eph.public_key(),
            nonce,
            time: now,
            peer_name,
            signature_algorithm: &signature_algorithm,
        }
        .encode()
    }

    fn start_initiator(&mut self) -> Result<Item, AuthFailure> {
        let (eph, nonce, now) = self.fresh()?;
        self.note_issued(&nonce, now);
        let tbs_der = self.tbs_der(eph.as_ref(), &nonce, now, self.config.peer_name.as_ref());
        let signature = self.sign(SIG_LABEL_I, &self.digest(&[&tbs_der])?)?;
        self.item1 = encode_item(&tbs_der, &signature, None);
        self.ephemeral = Some(eph);
        Ok(Item {
            id: 1,
            value: self.item1.clone(),
        })
    }

    /// The peer's item: as the machine decoded it, or decoded here.
    fn received(
        item: &Item,
        decoded: Option<DecodedItem>,
    ) -> Result<ReceivedKeyAgreement, AuthFailure> {
        item.decode_with(decoded)
            .map_err(|_| AuthFailure::KeyAgreement("malformed item"))
    }

    fn respond(
        &mut self,
        item: &Item,
        decoded: Option<DecodedItem>,
    ) -> Result<(Item, Outcome), AuthFailure> {
        let received = Self::received(item, decoded)?;
        let signed = SignedMessage::new(SIG_LABEL_I, &self.digest(&[received.tbs_der()])?);
        let signed = signed.as_bytes();
        // Meanwhile: the reply to the claimed subject (used only if it is the certified one).
        let (peer_dn_der, peer_name, early) =
            self.check_peer(&received, KaRole::Initiator, signed, |this, claimed| {
                claimed.and_then(|c| {
                    let name = this.names.decoded(&c.peer.subject_dn_der)?;
                    let reply = this.prepare_reply(item, &received, &c.peer.subject_dn_der, &name);
                    Some((c.peer.subject_dn_der.clone(), reply))
                })
            })?;
        let reply = match early.flatten() {
            Some((der, reply)) if der == peer_dn_der => reply?,
            _ => self.prepare_reply(item, &received, &peer_dn_der, &peer_name)?,
        };
        self.note_issued(&reply.nonce, reply.time);
        let outcome = self.outcome(&peer_name, &peer_dn_der, &reply.keys);
        self.succeed(peer_dn_der, reply.keys);
        Ok((
            Item {
                id: 2,
                value: reply.item,
            },
            outcome,
        ))
    }

    /// The responder's item 2 answering `item` (1, `received`) from the peer certified as
    /// `peer_dn_der` (`peer_name`), and the keys.
    fn prepare_reply(
        &self,
        item: &Item,
        received: &ReceivedKeyAgreement,
        peer_dn_der: &[u8],
        peer_name: &PeerName,
    ) -> Result<Reply, AuthFailure> {
        let (eph, nonce, time) = self.fresh()?;
        let tbs_der = self.tbs_der(eph.as_ref(), &nonce, time, Some(&peer_name.name));
        let signed = self.digest(&[&item.value, &tbs_der])?;
        let signature = self.sign(SIG_LABEL_R, &signed)?;
        let derived = self.derive(
            eph,
            received.ephemeral_public_key(),
            &signed,
            (signature.unused_bits, &signature.bytes),
            peer_dn_der.to_vec(),
        )?;
        Ok(Reply {
            item: encode_item(
                &tbs_der,
                &signature,
                Some(derived.responder_confirmation.as_bytes()),
            ),
            keys: derived.keys,
            nonce,
            time,
        })
    }

    fn finish(
        &mut self,
        item: &Item,
        decoded: Option<DecodedItem>,
    ) -> Result<Outcome, AuthFailure> {
        let received = Self::received(item, decoded)?;
        let signed_r = self.digest(&[&self.item1, received.tbs_der()])?;
        let signed = SignedMessage::new(SIG_LABEL_R, &signed_r);
        // Meanwhile: the keys.
        let (peer_dn_der, peer_name, early) = self.check_peer(
            &received,
            KaRole::Responder,
            signed.as_bytes(),
            |this, _| this.derive_final(&received, &signed_r),
        )?;
        let mut derived = match early {
            Some(derived) => derived?,
            None => self.derive_final(&received, &signed_r)?,
        };
        derived.keys.peer_dn_der = peer_dn_der.clone();
        let hmac_ok = received.confirmation().is_some_and(|c| {
            guls_acse::constant_time_eq(c, derived.responder_confirmation.as_bytes())
        });
        if !hmac_ok {
            return Err(AuthFailure::BadConfirmation);
        }
        let outcome = self.outcome(&peer_name, &peer_dn_der, &derived.keys);
        self.succeed(peer_dn_der, derived.keys);
        Ok(outcome)
    }

    /// The initiator's keys from the responder's item (`received`, whose signature covers
    /// `signed_r`), with this side's ephemeral key (used up); the peer's subject is the
    /// caller's to set.
    fn derive_final(
        &mut self,
        received: &ReceivedKeyAgreement,
        signed_r: &Digest,
    ) -> Result<Derived, AuthFailure> {
        let eph = self
            .ephemeral
            .take()
            .ok_or(AuthFailure::Internal("no ephemeral key"))?;
        self.derive(
            eph,
            received.ephemeral_public_key(),
            signed_r,
            received.signature(),
            Vec::new(),
        )
    }

    /// The outcome for the peer `name`, decoded from `dn_der` (its certified subject).
    fn outcome(&self, name: &PeerName, dn_der: &[u8], keys: &SessionKeys) -> Outcome {
        let mut o = Outcome::authenticated(name.text.clone());
        o.details
            .insert("peer_dn_der".into(), guls_ber::to_hex(dn_der));
        o.details.insert(
            "transcript_hash".into(),
            guls_ber::to_hex(keys.transcript_hash()),
        );
        o
    }

    fn succeed(&self, peer_dn_der: Vec<u8>, keys: SessionKeys) {
        self.config.reports.push(Report::Authenticated {
            exchange: "signedKeyAgreement",
            peer_dn_der,
        });
        self.config.reports.set_keys(keys);
    }
}

/// The HKDF-Expand outputs of the key schedule from `prk`: the responder's and the
/// initiator's finished keys (one buffer, in that order, on the stack and zeroized on drop),
/// and the session secrets at their `*_AT` ranges (the confirmation range left zero for the
/// caller). The HMAC is keyed with the PRK once for all of them.
#[allow(clippy::type_complexity)]
fn expand_schedule(
    hkdf: &dyn Hkdf,
    prk: &[u8],
) -> Result<(Zeroizing<[u8; 2 * MAC_LEN]>, SecretBytes), AuthFailure> {
    let mut fin = Zeroizing::new([0u8; 2 * MAC_LEN]);
    let mut material = SecretBytes::zeroed(EXPORTER_AT.end);
    let (r_fin, i_fin) = fin.split_at_mut(MAC_LEN);
    let m = material.as_mut_bytes();
    let (i2r_key, rest) = m.split_at_mut(I2R_KEY_AT.end);
    let (i2r_iv, rest) = rest.split_at_mut(I2R_IV_AT.len());
    let (r2i_key, rest) = rest.split_at_mut(R2I_KEY_AT.len());
    let (r2i_iv, rest) = rest.split_at_mut(R2I_IV_AT.len());
    let (_confirmation, exporter) = rest.split_at_mut(CONFIRMATION_AT.len());
    let label = |l: &'static [u8]| -> [&'static [u8]; 2] { [LABEL_PREFIX, l] };
    let labels = SCHEDULE_LABELS.map(label);
    hkdf.expand_each(
        prk,
        &mut [
            (&labels[0][..], r_fin),
            (&labels[1][..], i_fin),
            (&labels[2][..], i2r_key),
            (&labels[3][..], i2r_iv),
            (&labels[4][..], r2i_key),
            (&labels[5][..], r2i_iv),
            (&labels[6][..], exporter),
        ],
    )
    .map_err(|_| AuthFailure::Internal("HKDF expand failed"))?;
    Ok((fin, material))
}

/// The key schedule's HKDF labels (after [`LABEL_PREFIX`]), in [`expand_schedule`]'s order.
const SCHEDULE_LABELS: [&[u8]; 7] = [
    b"responder finished",
    b"initiator finished",
    b"i2r key",
    b"i2r iv",
    b"r2i key",
    b"r2i iv",
    b"exporter",
];

impl ExchangeRole for KaRoleMachine {
    fn start(&mut self) -> Step {
        if self.role != KaRole::Initiator {
            return Step::Fail(Vec::new());
        }
        match self.start_initiator() {
            Ok(item) => Step::Send(item),
            Err(f) => {
                self.config.reports.push(Report::Rejected {
                    exchange: "signedKeyAgreement",
                    failure: f,
                });
                Step::Fail(Vec::new())
            }
        }
    }

    fn on_item(&mut self, item: &Item) -> Step {
        self.on_decoded_item(item, None)
    }

    fn on_decoded_item(&mut self, item: &Item, decoded: Option<DecodedItem>) -> Step {
        match (self.role, item.id) {
            (KaRole::Responder, 1) => match self.respond(item, decoded) {
                Ok((reply, outcome)) => Step::SendLast(reply, outcome),
                Err(f) => self.fail(f),
            },
            (KaRole::Initiator, 2) => match self.finish(item, decoded) {
                Ok(outcome) => Step::Done(outcome),
                Err(f) => self.fail(f),
            },
            _ => self.fail(AuthFailure::KeyAgreement("unexpected item")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guls_acse::{AttributeTypeAndValue, RelativeDistinguishedName};

    /// `is_own_name` (octets first, then decoding) answers as [`same_name`] on the decoded
    /// name: for the DER of the name, for another encoding of it (an RDN's attributes out of
    /// DER order) and for another name.
    #[test]
    fn own_name_by_octets_or_by_value() {
        let atav = |arc: u8, text: &str| {
            AttributeTypeAndValue::printable(Oid::from_content(&[0x55, 0x04, arc]).unwrap(), text)
        };
        let name = |atavs: Vec<AttributeTypeAndValue>| {
            DistinguishedName(vec![RelativeDistinguishedName(atavs)])
        };
        let own = name(vec![atav(3, "server"), atav(10, "guls")]);
        let own_der = own.to_der();
        let own_contents = whole(&own_der, "Name").unwrap().contents.to_vec();
        let implicit = |n: &DistinguishedName| {
            let mut w = guls_ber::Writer::new();
            n.encode_der_implicit(&mut w, Tag::context(6));
            w.into_bytes()
        };
        let unordered = |n: &DistinguishedName| {
            // The RDN's attributes as held, not sorted.
            let mut w = guls_ber::Writer::new();
            w.constructed(Tag::context(6), |w| {
                for rdn in &n.0 {
                    w.constructed(Tag::SET, |w| rdn.0.iter().for_each(|a| a.encode(w)));
                }
            });
            w.into_bytes()
        };
        let reordered = name(vec![atav(10, "guls"), atav(3, "server")]);
        let other = name(vec![atav(3, "client"), atav(10, "guls")]);
        for (tlv, expected) in [
            (implicit(&own), true),
            (implicit(&reordered), true),
            (unordered(&reordered), true),
            (unordered(&own), true),
            (implicit(&other), false),
            (unordered(&other), false),
        ] {
            let e = whole(&tlv, "peerName").unwrap();
            let by_value = read_dn(&e).is_ok_and(|n| same_name(&n, &own));
            assert_eq!(by_value, expected);
            assert_eq!(is_own_name(&e, &own, &own_contents), expected);
        }
        // The DER of the name is recognised by its octets; the other encoding is not, and
        // still is the name.
        assert_eq!(whole(&implicit(&own), "n").unwrap().contents, own_contents);
        let unsorted = unordered(&own);
        assert_ne!(whole(&unsorted, "n").unwrap().contents, own_contents);
    }

    /// `expand_schedule` (one keyed HMAC for every output) gives each secret exactly what a
    /// separate HKDF-Expand with its label gives, at its documented range, with both
    /// providers.
    #[test]
    fn expand_schedule_matches_one_expand_per_label() {
        let providers = [
            guls_crypto::ring::default_provider(),
            guls_crypto::rustcrypto::default_provider(),
        ];
        let prk: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        for p in providers {
            let hkdf = p.hkdf(HkdfAlgorithm::Sha256).expect("HKDF-SHA-256");
            let one = |label: &[u8], len: usize| {
                let mut out = vec![0u8; len];
                hkdf.expand(&prk, &[LABEL_PREFIX, label], &mut out)
                    .expect("expand");
                out
            };
            let (fin, material) = expand_schedule(hkdf, &prk).expect("schedule");
            assert_eq!(&fin[..MAC_LEN], one(b"responder finished", MAC_LEN));
            assert_eq!(&fin[MAC_LEN..], one(b"initiator finished", MAC_LEN));
            let m = material.as_bytes();
            assert_eq!(m[I2R_KEY_AT].to_vec(), one(b"i2r key", KEY_LEN));
            assert_eq!(m[I2R_IV_AT].to_vec(), one(b"i2r iv", IV_LEN));
            assert_eq!(m[R2I_KEY_AT].to_vec(), one(b"r2i key", KEY_LEN));
            assert_eq!(m[R2I_IV_AT].to_vec(), one(b"r2i iv", IV_LEN));
            assert_eq!(m[EXPORTER_AT].to_vec(), one(b"exporter", KEY_LEN));
            assert!(m[CONFIRMATION_AT].iter().all(|&b| b == 0));
        }
    }
}
