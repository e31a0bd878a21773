//! guls-sese: the Security Exchange Service Element of X.831/X.832 (ISO/IEC 11586-2/-3).
//!
//! * [`SeseApdu`]: the SESE APDUs of X.832's module SeseAPDUs (automatic tags), decoded
//!   leniently with typed, located errors ([`guls_ber::Layer::Sese`]) and encoded canonically.
//!   Items and error parameters are open types, kept as raw TLV until the registry types them.
//! * Exchanges as data ([`ExchangeDefinition`], [`ItemDef`], [`ErrorDef`], mirroring X.830's
//!   SECURITY-EXCHANGE, SEC-EXCHG-ITEM and SE-ERROR classes) and the [`Registry`] of a build,
//!   whose exchanges make up the SESE abstract syntax [`Registry::abstract_syntax`] (ARC.1.1).
//! * [`SeseMachine`]: the sans-IO protocol machine (SE-TRANSFER, SE-U-ABORT, SE-P-ABORT), which
//!   enforces start/end flags, invocation ids, alternation and every X.832 problem code for
//!   every exchange; see the [`machine`] module docs for the rules.
//! * [`Endpoint`]: a machine plus the [`ExchangeRole`]s of the registered exchanges, so that a
//!   new exchange writes only its own logic (see `examples/hmac_challenge.rs`).
//! * [`negotiation`]: simpleNegotiationSE (X.830 Annex C) and [`negotiate`].
//! * [`carriage`]: SESE over a guls association ([`SecureInitiator`], [`SecureResponder`],
//!   [`SecureAssociation`]): the first items in the ACSE authentication fields (or
//!   user-information) of AARQ and AARE, the rest in P-DATA of the SESE context, application
//!   data held back until the required exchange completed.
//!
//! **Carriage hook.** Nothing but [`carriage`] does IO. Every APDU to send is an
//! [`OutgoingApdu`] whose
//! `bytes` are one value of the SESE abstract syntax (a PDV of the SESE presentation context,
//! transfer syntax BER); every APDU received is passed as bytes to [`SeseMachine::receive`] or
//! [`Endpoint::receive`]. The association layer carries them in the ACSE authentication value,
//! ACSE user-information or P-DATA (ARCHITECTURE.md section 4.2).
//!
//! ```
//! use std::sync::Arc;
//! use guls_sese::{Identifier, Indication, Registry, SeseConfig, SeseMachine, SeseApdu};
//!
//! let mut machine = SeseMachine::new(Arc::new(Registry::new()), SeseConfig::default());
//! // An se-transfer starting an exchange this build does not know (local:99) ...
//! let apdu = guls_sese::ber::parse_hex("a0 0f a0 03 80 01 63 81 01 01 a2 02 05 00 84 01 ff")
//!     .unwrap();
//! let received = machine.receive(&apdu);
//! // ... is answered with se-p-abort transfer.unrecognizedSecurityExchange.
//! assert_eq!(received.reply.unwrap().bytes, [0xa2, 0x05, 0xa2, 0x03, 0x81, 0x01, 0x01]);
//! assert!(matches!(received.indication, Indication::PAbort(p)
//!     if p.problem.name() == "transfer.unrecognizedSecurityExchange"));
//! # let _ = (Identifier::Local(0), SeseApdu::decode(&apdu));
//! ```
#![forbid(unsafe_code)]

// The example exchange is written against `guls_sese::`, as any other crate would write it;
// this name lets the same file compile inside this crate too.
#[cfg(feature = "hmac-challenge")]
extern crate self as guls_sese;

/// The pre-shared-key challenge-response exchange (ARC.9.1, experimental) of
/// `examples/hmac_challenge.rs`, compiled from that very file (feature `hmac-challenge`): a
/// new exchange written through this crate's public API alone.
#[cfg(feature = "hmac-challenge")]
#[allow(dead_code)] // the example's own `main`
#[path = "../examples/hmac_challenge.rs"]
pub mod hmac_challenge;

mod apdu;
pub mod carriage;
mod endpoint;
mod exchange;
pub mod machine;
pub mod negotiation;
mod types;

pub use apdu::{
    AbortProblem, GeneralProblem, Identifier, InvocationId, ProblemCode, SeError, SePAbort,
    SeTransfer, SeUAbort, SeseApdu, TransferProblem,
};
pub use carriage::{
    AbortPolicy, CarriageAbort, CarriageConfig, CarriageError, Carrier, ConnectError,
    SecureAssociation, SecureEvent, SecureIncoming, SecureInitiator, SecureResponder, Verdict,
};
pub use endpoint::{Endpoint, EndpointOutput, ExchangeEvent, Failure, InitiateError};
pub use exchange::{
    DecodedItem, ErrorDef, ExchangeDefinition, ExchangeRole, Item, ItemDef, ItemType, Outcome,
    Registry, RegistryError, RoleFactory, Sequencing, Step, Validator,
};
pub use machine::{
    AbortSource, Indication, InvocationIdSet, OutgoingApdu, PAbortIndication, Received,
    RequestError, SeseConfig, SeseMachine,
};
pub use negotiation::{NegotiationSei, SIMPLE_NEGOTIATION_SE, negotiate};
pub use types::{Integer, OctetString, Utf8String};

/// The BER toolkit item types are written with (re-exported so that exchanges defined outside
/// this crate need no other dependency).
pub use guls_ber as ber;
pub use guls_ber::{DecodeError, DecodeResult, Oid};
