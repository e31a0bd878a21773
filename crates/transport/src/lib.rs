//! RFC 1006 TPKT framing and ISO 8073 class 0 transport (COTP) TPDU codec for guls.
//!
//! Pure functions, no IO: [`next_frame`] tells a stream reader how long the next TPKT is,
//! [`split_frames`] cuts a captured byte stream into frames, and [`Tpdu`] decodes and encodes
//! the five TPDUs class 0 uses (CR, CC, DT, DR, ER).
//!
//! Every decoder is total: it returns a value or a [`DecodeError`] naming [`Layer::Tpkt`] or
//! [`Layer::Cotp`] and the offset of the offending octet. TPDU size codes are clamped into
//! 7..=13 (128..8192 octets) on receipt and never trusted as shift amounts (libiec61850 #589).
#![forbid(unsafe_code)]

mod cotp;
mod error;
mod machine;
mod tpkt;

pub use cotp::{
    ClassOptions, ConnectTpdu, DataTpdu, DisconnectReason, DisconnectTpdu, ErrorTpdu, RawParameter,
    RejectCause, Tpdu, TpduSize, TransportClass, decode_frame, encode_data_frames, encode_frame,
};
pub use error::EncodeError;
pub use guls_ber::{DecodeError, DecodeResult, ErrorKind, Layer};
pub use machine::{
    ConnectConfirm, ConnectIndication, DEFAULT_MAX_TSDU_SIZE, DisconnectCause, HeadSplit,
    HeadSplitter, MAX_RECYCLED, MAX_RECYCLED_HEAD, MIN_RECYCLED_CAPACITY, ScatterRead,
    TransportCall, TransportConfig, TransportConnection, TransportError, TransportEvent,
    TransportRole, TransportState,
};
pub use tpkt::{
    Frame, Frames, MAX_TPKT_LEN, MAX_TPKT_PAYLOAD, MIN_TPKT_LEN, TPKT_HEADER_LEN, TPKT_VERSION,
    decode_tpkt, encode_tpkt, next_frame, split_frames,
};
