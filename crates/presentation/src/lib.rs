//! guls-presentation: the ISO 8823 (X.226) kernel presentation PPDU codec.
//!
//! Pure functions over bytes: one decoder per PPDU kind (the caller knows the SPDU that carried
//! it) and one encoder per kind, with typed values a protocol machine or a dissector can use
//! directly. [`PresentationMachine`] is the sans-IO kernel protocol machine built on them
//! (context negotiation, the defined context set, ARP on protocol errors); see its
//! documentation.
//!
//! | SPDU | PPDU | decoder | encoder |
//! |---|---|---|---|
//! | CONNECT | CP-type | [`decode_cp`] | [`encode_cp`] |
//! | ACCEPT | CPA-PPDU | [`decode_cpa`] | [`encode_cpa`] |
//! | REFUSE | CPR-PPDU | [`decode_cpr`] | [`encode_cpr`] |
//! | ABORT | ARU-PPDU / ARP-PPDU | [`decode_abort`] | [`encode_abort`] |
//! | DATA TRANSFER | TD (User-data) | [`decode_user_data`] | [`encode_td`] |
//! | FINISH / DISCONNECT | P-RELEASE user data | [`decode_user_data`] | [`encode_release_user_data`] |
//!
//! # Decisions
//!
//! * **Lenient in.** Any BER length form (guls-ber); the mode-selector before or after the
//!   normal-mode parameters; components of the CP/CPA/CPR normal-mode parameters, of result
//!   items and of the ARP/ARU in any order; unknown elements there skipped (OIW SIA 10.6),
//!   among them protocol-options `[11]`, nominated-context `[12]` and extensions `[14]` of the
//!   1994+ edition; unknown bits of the BIT STRINGs ignored. A component that appears twice is
//!   an error. PDV-lists and the context-definition/identifier items are closed structures and
//!   are decoded strictly (except trailing extensions of a context-definition item).
//! * **Integers** of PCI take at most 4 contents octets (SIA 10.4), plus a sign octet.
//! * **Context identifiers.** The codec accepts any such integer, even or out of 1..=32767;
//!   rejecting those is the protocol machine's job ([`is_valid_pcid`]), so a dissector can
//!   still show them.
//! * **P-selectors.** Longer than [`DecodeOptions::max_selector_len`] (default 4, SIA 8.3.4 /
//!   CULR-1) is [`guls_ber::ErrorKind::LimitExceeded`]; [`DecodeOptions::dissector`] lifts the
//!   limit. Encoders write what they are given.
//! * **X.410-1984 mode** is a typed error (`Unexpected`, "normal-mode (1)") in CP and CPA, and
//!   the X.410 SET alternatives of CPR and ARU are `Unexpected` too. A normal-mode CP/CPA
//!   without normal-mode-parameters (libiec61850 #252) is `Missing("normal-mode-parameters")`.
//! * **Several values in one PDV-list** (RFC 1698 6.4, issue R12) are tolerated: each becomes a
//!   [`PdvList`] of its own with the same identifier, which is the SIA 8.5 shape the encoders
//!   send.
//! * **Tags versus the ASN.1 copy in spec/asn1.** That copy drops tags. On the wire (RFC 1698,
//!   libiec61850, ISO 8823 itself) user-data is the untagged User-data CHOICE (`40`/`61`), not
//!   `[11]`; Default-context-name is `SEQUENCE { [0] IMPLICIT OID, [1] IMPLICIT OID }` (the
//!   untagged form is accepted too); the ARU's presentation-context-identifier-list is
//!   `[0] IMPLICIT` (an explicit wrapper is accepted too). The enumerations follow the copy:
//!   provider-reason 0..=7 and event-identifier 0..=32.
//! * **Strict out.** [`EncodeStyle::Canonical`] writes definite minimal lengths, components
//!   in ISO 8823 order, every named bit (SIA 10.6), empty lists as absent.
//!   [`EncodeStyle::Rfc1698`] reproduces the RFC 1698 section 6 templates byte for byte.
//!   Re-encoding a decoded value and decoding it again gives the same value.
#![forbid(unsafe_code)]

mod decode;
mod encode;
mod machine;
mod types;

pub use decode::{
    DEFAULT_MAX_SELECTOR_LEN, DecodeOptions, MAX_PCI_INTEGER_OCTETS, TdValueSplit, decode_abort,
    decode_abort_with, decode_cp, decode_cp_with, decode_cpa, decode_cpa_with, decode_cpr,
    decode_cpr_with, decode_user_data, decode_user_data_with, td_value_split,
};
pub use encode::{
    EncodeStyle, encode_abort, encode_cp, encode_cpa, encode_cpr, encode_release_user_data,
    encode_td,
};
pub use machine::{
    AbortIndication, ConnectConfirm, ConnectFailure, ConnectIndication, ContextDecision,
    DEFAULT_MAX_CONTEXTS, DEFAULT_MAX_PROPOSED_CONTEXTS, DataValue, DefinedContext,
    MIN_MAX_CONTEXTS, PresentationConfig, PresentationError, PresentationMachine,
    PresentationState, Primitive, ProposedContext, ProtocolFailure, RefuseIndication, RefuseReason,
    RejectedContext, ReleaseKind, Role, SupportedSyntax,
};
pub use types::{
    Abort, AbortReason, Arp, Aru, ContextDefinition, ContextIdentifier, ContextResult, Cp, Cpa,
    Cpr, DefaultContextName, EventIdentifier, Pcid, PdvList, PdvValue, PresentationRequirements,
    ProtocolVersion, ProviderReason, ResultReason, ResultValue, UserData, UserSessionRequirements,
    is_valid_pcid,
};
