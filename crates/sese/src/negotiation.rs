//! simpleNegotiationSE (X.830 Annex C, module GulsSecurityExchanges): the initiator offers
//! security exchange identifiers (`offeredIds`, item 1), the responder answers with those it
//! accepts (`acceptedIds`, item 2, the last item). Both items are
//! `Negotiation-SEI ::= SEQUENCE OF OBJECT IDENTIFIER`; the exchange defines no errors.
//!
//! Profile: the responder accepts exactly one identifier, the first offered one it finds
//! acceptable ([`negotiate`]), or none (an empty list); the initiator takes the first accepted
//! identifier that it offered. The exchange is alternating.
//!
//! # simpleNegotiationSE never negotiates itself
//!
//! Annex C defines the exchange to agree on *which other* security exchange runs next; agreeing
//! on simpleNegotiationSE would only start another negotiation (and, between two such peers,
//! another, forever). So neither role ever lets its own identifier through: the offerer strips
//! it from `offeredIds` (and fails when an `acceptedIds` names it, as it was not offered), and
//! the responder never accepts it ([`negotiate`] skips it). A peer that offers it (alone or
//! among others) is answered as if it had not: with an empty `acceptedIds` ("nothing
//! acceptable") when nothing else fits. That answer, rather than an SE-U-ABORT, is the one
//! the exchange defines: `Negotiation-SEI` has no errors, and an empty `acceptedIds` is its
//! normal way of saying no, which carriage then treats as any failed negotiation
//! ([`crate::CarriageAbort::NoCommonExchange`], or diagnostic 13 in the AARE).

use guls_ber::{DecodeResult, ErrorKind, Layer, Oid, Reader, Tag, Writer};

use crate::apdu::Identifier;
use crate::exchange::{
    ExchangeDefinition, ExchangeRole, Item, ItemDef, ItemType, Outcome, Sequencing, Step,
};

/// simpleNegotiationSE {securityExchanges simple-negotiation-se(3)} = 2.20.4.3.
pub const SIMPLE_NEGOTIATION_SE: Oid = Oid::from_static(&[0x64, 0x04, 0x03]);
/// Item identifier of `offeredIds`.
pub const OFFERED_IDS: i64 = 1;
/// Item identifier of `acceptedIds`.
pub const ACCEPTED_IDS: i64 = 2;

/// `Negotiation-SEI ::= SEQUENCE OF OBJECT IDENTIFIER`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiationSei(pub Vec<Oid>);

impl ItemType for NegotiationSei {
    fn decode(tlv: &[u8]) -> DecodeResult<Self> {
        let mut r = Reader::new(tlv, Layer::Sese);
        let seq = r.read_tagged(
            Tag::SEQUENCE,
            "Negotiation-SEI SEQUENCE OF OBJECT IDENTIFIER",
        )?;
        r.finish("Negotiation-SEI")?;
        let mut inner = seq.reader()?;
        let mut out = Vec::new();
        while !inner.is_empty() {
            let e = inner.read_tagged(Tag::OID, "OBJECT IDENTIFIER in Negotiation-SEI")?;
            if out.len() >= 64 {
                return Err(e.error(ErrorKind::LimitExceeded {
                    what: "identifiers in Negotiation-SEI",
                    limit: 64,
                }));
            }
            out.push(e.oid("OBJECT IDENTIFIER in Negotiation-SEI")?);
        }
        Ok(NegotiationSei(out))
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.constructed(Tag::SEQUENCE, |w| {
            for o in &self.0 {
                w.oid(Tag::OID, o);
            }
        });
        w.into_bytes()
    }
}

/// The exchange to run: the first identifier in `offered` (the initiator's order of
/// preference) that is in `acceptable`, never [`SIMPLE_NEGOTIATION_SE`] itself (see the module
/// docs), even when both lists hold it.
pub fn negotiate(offered: &[Oid], acceptable: &[Oid]) -> Option<Oid> {
    offered
        .iter()
        .find(|o| **o != SIMPLE_NEGOTIATION_SE && acceptable.contains(o))
        .cloned()
}

/// The simpleNegotiationSE definition without role machines (to drive it by hand).
pub fn simple_negotiation_definition() -> ExchangeDefinition {
    ExchangeDefinition::new(
        Identifier::Global(SIMPLE_NEGOTIATION_SE),
        "simpleNegotiationSE",
        Sequencing::Alternating,
    )
    .item(ItemDef::new::<NegotiationSei>(OFFERED_IDS, "offeredIds"))
    .item(ItemDef::new::<NegotiationSei>(ACCEPTED_IDS, "acceptedIds"))
}

/// simpleNegotiationSE with role machines: as initiator it offers `offered`; as responder it
/// accepts one of `acceptable`. [`Outcome::negotiated`] is the agreed exchange (`None` when
/// nothing offered was acceptable). [`SIMPLE_NEGOTIATION_SE`] in either list is ignored: it is
/// never offered nor accepted (see the module docs).
pub fn simple_negotiation_se(offered: Vec<Oid>, acceptable: Vec<Oid>) -> ExchangeDefinition {
    let offered: Vec<Oid> = offered
        .into_iter()
        .filter(|o| *o != SIMPLE_NEGOTIATION_SE)
        .collect();
    simple_negotiation_definition().roles(
        move || {
            Box::new(Offerer {
                offered: offered.clone(),
            })
        },
        move || {
            Box::new(Chooser {
                acceptable: acceptable.clone(),
            })
        },
    )
}

struct Offerer {
    offered: Vec<Oid>,
}

impl ExchangeRole for Offerer {
    fn start(&mut self) -> Step {
        Step::Send(Item::new(
            OFFERED_IDS,
            &NegotiationSei(self.offered.clone()),
        ))
    }

    fn on_item(&mut self, item: &Item) -> Step {
        if item.id != ACCEPTED_IDS {
            return Step::Fail(Vec::new());
        }
        let Ok(NegotiationSei(accepted)) = item.decode() else {
            return Step::Fail(Vec::new());
        };
        // Never offered, so an acceptedIds naming simpleNegotiationSE fails here too.
        if accepted.iter().any(|a| !self.offered.contains(a)) {
            return Step::Fail(Vec::new());
        }
        Step::Done(Outcome {
            negotiated: accepted.first().cloned(),
            ..Outcome::default()
        })
    }
}

struct Chooser {
    acceptable: Vec<Oid>,
}

impl ExchangeRole for Chooser {
    fn on_item(&mut self, item: &Item) -> Step {
        if item.id != OFFERED_IDS {
            return Step::Fail(Vec::new());
        }
        let Ok(NegotiationSei(offered)) = item.decode() else {
            return Step::Fail(Vec::new());
        };
        let chosen = negotiate(&offered, &self.acceptable);
        let reply = NegotiationSei(chosen.iter().cloned().collect());
        Step::SendLast(
            Item::new(ACCEPTED_IDS, &reply),
            Outcome {
                negotiated: chosen,
                ..Outcome::default()
            },
        )
    }
}
