//! ISO 8327-1 (X.225) session SPDU codec for guls.
//!
//! Pure functions, no IO. [`decode_tsdu`] splits a TSDU into its SPDUs (basic concatenation:
//! a category 0 SPDU followed by a category 2 SPDU, or one category 1 SPDU) and the User
//! Information that follows a DATA TRANSFER or TYPED DATA SPDU. [`Spdu::encode`] and
//! [`encode_data_tsdu`] build TSDUs.
//!
//! Fully typed (decoded and encoded field by field): CN, AC, RF, FN, DN, NF, AB, AA, GT, DT,
//! CDO and OA. Every other SPDU type is recognised by name ([`SpduType`]) and decodes into a
//! [`GenericSpdu`] (type plus raw parameters).
//!
//! Receiving is lenient where RFC 1698 and the OIW agreements require it: 1- and 3-octet
//! length indicators anywhere, parameters in any order, unknown PI/PGI codes skipped (kept raw
//! for display), unknown bits kept. Sending is canonical: shortest LIs (255 and above in the
//! 3-octet form), parameters in the order of ISO 8327-1, PGI 193 / 194 chosen by size for
//! CONNECT user data ([`ConnectUserData::new`]).
//!
//! Every error is a [`DecodeError`] naming [`Layer::Session`] and the offset in the TSDU.
#![forbid(unsafe_code)]

mod error;
mod machine;
mod params;
mod spdu;
mod tsdu;
mod wire;

pub use error::EncodeError;
pub use guls_ber::{DecodeError, DecodeResult, ErrorKind, Layer};
pub use machine::{
    AbortIndication, AbortOrigin, ConnectConfirm, ConnectIndication, ConnectRejection, DATA_PREFIX,
    DEFAULT_MAX_CONNECT_USER_DATA, ProtocolError, RefuseIndication, SessionConfig, SessionError,
    SessionEvent, SessionMachine, SessionPrimitive, SessionRole, SessionState,
};
pub use params::{
    ConnectAcceptItem, ConnectionIdentifier, DataOverflow, EnclosureItem, FunctionalUnits,
    MAX_SSELECTOR_LEN, ProtocolOptions, ReasonCode, RefuseReason, SSelector, SerialNumber,
    TokenAssignment, TokenSetting, Tokens, TransportDisconnect, TsduMaximumSize, VersionNumber,
};
pub use spdu::{
    Abort, AbortAccept, AbortReason, Accept, Category, Connect, ConnectDataOverflow,
    ConnectUserData, DataTransfer, Disconnect, Finish, GenericSpdu, GiveTokens,
    MAX_BASIC_CONNECT_USER_DATA, MAX_CONNECT_USER_DATA, NotFinished, OverflowAccept, Refuse, Spdu,
    SpduType, UserDataPgi, pgi, pi,
};
pub use tsdu::{PositionedSpdu, Tsdu, decode_tsdu, encode_data_tsdu, encode_spdu};
pub use wire::RawParameter;
