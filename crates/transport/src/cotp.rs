//! ISO 8073 class 0 TPDUs: CR, CC, DT, DR and ER.
//!
//! Layout of every TPDU: `LI` (length of the header after the LI octet, at most 254), the code
//! octet, a fixed part, a variable part of parameters (`code`, `length`, `value`), then user
//! data up to the end of the TPDU.

use crate::error::EncodeError;
use crate::tpkt::{MAX_TPKT_PAYLOAD, TPKT_HEADER_LEN, TPKT_VERSION, decode_tpkt, tpkt_total};
use guls_ber::{DecodeError, DecodeResult, ErrorKind, Layer};

/// TPDU code of CONNECTION REQUEST (high nibble; the low nibble is the credit).
const CODE_CR: u8 = 0xE0;
/// TPDU code of CONNECTION CONFIRM.
const CODE_CC: u8 = 0xD0;
/// TPDU code of DATA.
const CODE_DT: u8 = 0xF0;
/// TPDU code of DISCONNECT REQUEST.
const CODE_DR: u8 = 0x80;
/// TPDU code of ERROR.
const CODE_ER: u8 = 0x70;

/// Parameter code: TPDU size.
const P_TPDU_SIZE: u8 = 0xC0;
/// Parameter code: preferred maximum TPDU size.
const P_PREFERRED_SIZE: u8 = 0xF0;
/// Parameter code: calling transport selector (CR/CC); invalid TPDU (ER).
const P_CALLING_TSEL: u8 = 0xC1;
/// Parameter code: called transport selector.
const P_CALLED_TSEL: u8 = 0xC2;
/// Parameter code: additional information (DR).
const P_ADDITIONAL_INFO: u8 = 0xE0;
/// Parameter code: invalid TPDU (ER).
const P_INVALID_TPDU: u8 = 0xC1;

/// Largest header length indicator (255 is reserved).
const MAX_LI: usize = 254;

fn err(offset: usize, kind: ErrorKind) -> DecodeError {
    DecodeError::new(Layer::Cotp, offset, kind)
}

fn dup(offset: usize, expected: &'static str, code: u8) -> DecodeError {
    err(
        offset,
        ErrorKind::Unexpected {
            expected,
            found: format!("a second parameter {code:#04x}"),
        },
    )
}

/// Negotiated maximum TPDU size (parameter `C0`): code 7..=13, meaning 2^code octets
/// (128..8192).
///
/// Received codes outside 7..=13 are clamped into that range ([`TpduSize::from_code`]); the
/// code is never used as a shift amount before clamping (libiec61850 #589, `c0 01 a2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TpduSize(u8);

impl TpduSize {
    /// 128 octets (code 7), the class 0 default when no size is proposed.
    pub const S128: TpduSize = TpduSize(7);
    /// 256 octets (code 8).
    pub const S256: TpduSize = TpduSize(8);
    /// 512 octets (code 9).
    pub const S512: TpduSize = TpduSize(9);
    /// 1024 octets (code 10).
    pub const S1024: TpduSize = TpduSize(10);
    /// 2048 octets (code 11), the largest ISO 8073 allows in class 0.
    pub const S2048: TpduSize = TpduSize(11);
    /// 4096 octets (code 12).
    pub const S4096: TpduSize = TpduSize(12);
    /// 8192 octets (code 13), proposed by libiec61850 even in class 0 (accepted leniently).
    pub const S8192: TpduSize = TpduSize(13);
    /// The size assumed when a CR carries no TPDU size parameter.
    pub const DEFAULT: TpduSize = TpduSize::S128;
    /// Octets of DT header (LI, code, EOT/NR) in class 0.
    pub const DT_HEADER_LEN: usize = 3;

    /// The size for a received code, clamped into 7..=13.
    pub fn from_code(code: u8) -> TpduSize {
        TpduSize(code.clamp(7, 13))
    }

    /// The largest size not above `octets` (at least 128).
    pub fn at_most(octets: usize) -> TpduSize {
        let mut code = 7u8;
        while code < 13 && (1usize << (code + 1)) <= octets {
            code += 1;
        }
        TpduSize(code)
    }

    /// The code sent in the parameter (7..=13).
    pub fn code(self) -> u8 {
        self.0
    }

    /// The size in octets (128..=8192).
    pub fn octets(self) -> usize {
        1usize << self.0
    }

    /// The most TSDU octets one DT TPDU of this size carries (size minus the 3-octet DT header).
    pub fn max_dt_user_data(self) -> usize {
        self.octets() - Self::DT_HEADER_LEN
    }
}

/// Protocol class proposed in a CR or selected in a CC (high nibble of the class octet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportClass {
    /// Class 0, simple class (the one RFC 1006 uses).
    Class0,
    /// Class 1, basic error recovery.
    Class1,
    /// Class 2, multiplexing.
    Class2,
    /// Class 3, error recovery and multiplexing.
    Class3,
    /// Class 4, error detection and recovery.
    Class4,
}

impl TransportClass {
    /// The class number 0..=4.
    pub fn number(self) -> u8 {
        match self {
            TransportClass::Class0 => 0,
            TransportClass::Class1 => 1,
            TransportClass::Class2 => 2,
            TransportClass::Class3 => 3,
            TransportClass::Class4 => 4,
        }
    }

    fn from_number(n: u8) -> Option<Self> {
        Some(match n {
            0 => TransportClass::Class0,
            1 => TransportClass::Class1,
            2 => TransportClass::Class2,
            3 => TransportClass::Class3,
            4 => TransportClass::Class4,
            _ => return None,
        })
    }
}

/// Option bits of the class octet (low nibble). Bits 3 and 4 are reserved and ignored on
/// receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClassOptions {
    /// Bit 2: use of extended formats in classes 2, 3 and 4.
    pub extended_formats: bool,
    /// Bit 1: use of explicit flow control in class 2.
    pub explicit_flow_control: bool,
}

impl ClassOptions {
    fn from_bits(b: u8) -> Self {
        ClassOptions {
            extended_formats: b & 0x02 != 0,
            explicit_flow_control: b & 0x01 != 0,
        }
    }

    fn bits(self) -> u8 {
        (u8::from(self.extended_formats) << 1) | u8::from(self.explicit_flow_control)
    }
}

/// A parameter of the variable part this codec does not interpret (kept raw for display).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawParameter {
    /// Parameter code.
    pub code: u8,
    /// Parameter value.
    pub value: Vec<u8>,
}

/// CONNECTION REQUEST (CR, `E0`) or CONNECTION CONFIRM (CC, `D0`) TPDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectTpdu {
    /// Initial credit (CDT, low nibble of the code octet; always 0 in class 0).
    pub credit: u8,
    /// DST-REF (0 in a CR).
    pub dst_ref: u16,
    /// SRC-REF.
    pub src_ref: u16,
    /// Preferred (CR) or selected (CC) protocol class.
    pub class: TransportClass,
    /// Option bits of the class octet.
    pub options: ClassOptions,
    /// TPDU size (`C0`), clamped into 7..=13 on receipt.
    pub tpdu_size: Option<TpduSize>,
    /// Preferred maximum TPDU size (`F0`), in units of 128 octets.
    pub preferred_max_tpdu_size: Option<u32>,
    /// Calling transport selector (`C1`).
    pub calling_tsel: Option<Vec<u8>>,
    /// Called (or responding) transport selector (`C2`).
    pub called_tsel: Option<Vec<u8>>,
    /// Other parameters (version, protection, checksum, additional options, ...), kept raw.
    pub other_parameters: Vec<RawParameter>,
    /// User data after the header (not permitted in class 0; kept if received).
    pub user_data: Vec<u8>,
}

impl ConnectTpdu {
    /// A class 0 CR or CC with no parameters.
    pub fn class0(dst_ref: u16, src_ref: u16) -> Self {
        ConnectTpdu {
            credit: 0,
            dst_ref,
            src_ref,
            class: TransportClass::Class0,
            options: ClassOptions::default(),
            tpdu_size: None,
            preferred_max_tpdu_size: None,
            calling_tsel: None,
            called_tsel: None,
            other_parameters: Vec::new(),
            user_data: Vec::new(),
        }
    }

    /// The TPDU size in force: the `C0` value, or 128 octets when absent.
    pub fn effective_tpdu_size(&self) -> TpduSize {
        self.tpdu_size.unwrap_or(TpduSize::DEFAULT)
    }

    /// The preferred maximum TPDU size in octets, when proposed.
    pub fn preferred_max_tpdu_octets(&self) -> Option<u64> {
        self.preferred_max_tpdu_size.map(|u| u64::from(u) * 128)
    }
}

/// DATA TPDU (DT, `F0`), class 0 normal format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataTpdu {
    /// End of TSDU mark (bit 8 of the third octet).
    pub eot: bool,
    /// TPDU-NR, 7 bits (0 in class 0).
    pub nr: u8,
    /// Variable part (none in class 0; class 4 checksum and the like are kept raw).
    pub other_parameters: Vec<RawParameter>,
    /// The TSDU segment.
    pub user_data: Vec<u8>,
}

impl DataTpdu {
    /// A class 0 DT carrying `user_data`, with the EOT mark as given.
    pub fn new(eot: bool, user_data: Vec<u8>) -> Self {
        DataTpdu {
            eot,
            nr: 0,
            other_parameters: Vec::new(),
            user_data,
        }
    }
}

/// Reason of a DISCONNECT REQUEST (ISO 8073 13.5.3 e).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// 0: reason not specified.
    NotSpecified,
    /// 1: congestion at TSAP.
    Congestion,
    /// 2: session entity not attached to TSAP.
    SessionEntityNotAttached,
    /// 3: address unknown.
    AddressUnknown,
    /// 128: normal disconnect initiated by the session entity.
    Normal,
    /// 129: remote transport entity congestion at connect request time.
    RemoteCongestion,
    /// 130: connection negotiation failed (proposed classes not supported).
    NegotiationFailed,
    /// 131: duplicate source reference detected for the same pair of NSAPs.
    DuplicateReference,
    /// 132: mismatched references.
    MismatchedReferences,
    /// 133: protocol error.
    ProtocolError,
    /// 135: reference overflow.
    ReferenceOverflow,
    /// 136: connection request refused on this network connection.
    Refused,
    /// 138: header or parameter length invalid.
    HeaderOrParameterLengthInvalid,
    /// Any other value.
    Other(u8),
}

impl DisconnectReason {
    /// The reason for a received octet.
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => Self::NotSpecified,
            1 => Self::Congestion,
            2 => Self::SessionEntityNotAttached,
            3 => Self::AddressUnknown,
            128 => Self::Normal,
            129 => Self::RemoteCongestion,
            130 => Self::NegotiationFailed,
            131 => Self::DuplicateReference,
            132 => Self::MismatchedReferences,
            133 => Self::ProtocolError,
            135 => Self::ReferenceOverflow,
            136 => Self::Refused,
            138 => Self::HeaderOrParameterLengthInvalid,
            other => Self::Other(other),
        }
    }

    /// The octet sent.
    pub fn code(self) -> u8 {
        match self {
            Self::NotSpecified => 0,
            Self::Congestion => 1,
            Self::SessionEntityNotAttached => 2,
            Self::AddressUnknown => 3,
            Self::Normal => 128,
            Self::RemoteCongestion => 129,
            Self::NegotiationFailed => 130,
            Self::DuplicateReference => 131,
            Self::MismatchedReferences => 132,
            Self::ProtocolError => 133,
            Self::ReferenceOverflow => 135,
            Self::Refused => 136,
            Self::HeaderOrParameterLengthInvalid => 138,
            Self::Other(c) => c,
        }
    }

    /// A short description for display.
    pub fn description(self) -> &'static str {
        match self {
            Self::NotSpecified => "reason not specified",
            Self::Congestion => "congestion at TSAP",
            Self::SessionEntityNotAttached => "session entity not attached to TSAP",
            Self::AddressUnknown => "address unknown",
            Self::Normal => "normal disconnect initiated by session entity",
            Self::RemoteCongestion => "remote transport entity congestion at connect time",
            Self::NegotiationFailed => "connection negotiation failed",
            Self::DuplicateReference => "duplicate source reference",
            Self::MismatchedReferences => "mismatched references",
            Self::ProtocolError => "protocol error",
            Self::ReferenceOverflow => "reference overflow",
            Self::Refused => "connection request refused on this network connection",
            Self::HeaderOrParameterLengthInvalid => "header or parameter length invalid",
            Self::Other(_) => "unknown reason",
        }
    }
}

/// DISCONNECT REQUEST TPDU (DR, `80`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisconnectTpdu {
    /// DST-REF.
    pub dst_ref: u16,
    /// SRC-REF.
    pub src_ref: u16,
    /// Reason.
    pub reason: DisconnectReason,
    /// Additional information (`E0`), when present.
    pub additional_information: Option<Vec<u8>>,
    /// Other parameters (checksum, ...), kept raw.
    pub other_parameters: Vec<RawParameter>,
    /// User data (not permitted in class 0; kept if received).
    pub user_data: Vec<u8>,
}

/// Reject cause of an ERROR TPDU (ISO 8073 13.12.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectCause {
    /// 0: reason not specified.
    NotSpecified,
    /// 1: invalid parameter code.
    InvalidParameterCode,
    /// 2: invalid TPDU type.
    InvalidTpduType,
    /// 3: invalid parameter value.
    InvalidParameterValue,
    /// Any other value.
    Other(u8),
}

impl RejectCause {
    /// The cause for a received octet.
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => Self::NotSpecified,
            1 => Self::InvalidParameterCode,
            2 => Self::InvalidTpduType,
            3 => Self::InvalidParameterValue,
            other => Self::Other(other),
        }
    }

    /// The octet sent.
    pub fn code(self) -> u8 {
        match self {
            Self::NotSpecified => 0,
            Self::InvalidParameterCode => 1,
            Self::InvalidTpduType => 2,
            Self::InvalidParameterValue => 3,
            Self::Other(c) => c,
        }
    }
}

/// ERROR TPDU (ER, `70`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorTpdu {
    /// DST-REF.
    pub dst_ref: u16,
    /// Reject cause.
    pub cause: RejectCause,
    /// Invalid TPDU parameter (`C1`): the octets of the rejected TPDU header.
    pub invalid_tpdu: Option<Vec<u8>>,
    /// Other parameters (checksum, ...), kept raw.
    pub other_parameters: Vec<RawParameter>,
}

/// A class 0 TPDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tpdu {
    /// CONNECTION REQUEST.
    Cr(ConnectTpdu),
    /// CONNECTION CONFIRM.
    Cc(ConnectTpdu),
    /// DATA.
    Dt(DataTpdu),
    /// DISCONNECT REQUEST.
    Dr(DisconnectTpdu),
    /// ERROR.
    Er(ErrorTpdu),
}

/// Name of a TPDU code this codec does not handle, for the error message.
fn unsupported_name(code: u8) -> &'static str {
    match code & 0xF0 {
        0x10 => "ED",
        0x20 => "EA",
        0x50 => "RJ",
        0x60 => "AK",
        0xC0 => "DC",
        _ => "undefined",
    }
}

/// Walks the variable part `[start, end)` of a TPDU header.
fn parameters(
    data: &[u8],
    start: usize,
    end: usize,
) -> impl Iterator<Item = DecodeResult<(usize, u8, &[u8])>> {
    let mut pos = start;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= end {
            return None;
        }
        let at = pos;
        let (Some(&code), Some(&len)) = (data.get(at), data.get(at + 1)) else {
            failed = true;
            return Some(Err(err(
                at,
                ErrorKind::Truncated {
                    what: "TPDU parameter header",
                    needed: 2,
                    available: end - at,
                },
            )));
        };
        if at + 2 > end {
            failed = true;
            return Some(Err(err(
                at,
                ErrorKind::Truncated {
                    what: "TPDU parameter header",
                    needed: 2,
                    available: end - at,
                },
            )));
        }
        let vstart = at + 2;
        let vend = vstart + usize::from(len);
        if vend > end {
            failed = true;
            return Some(Err(err(
                at + 1,
                ErrorKind::Truncated {
                    what: "TPDU parameter value",
                    needed: usize::from(len),
                    available: end - vstart,
                },
            )));
        }
        pos = vend;
        Some(Ok((at, code, data.get(vstart..vend).unwrap_or_default())))
    })
}

fn u16_at(data: &[u8], at: usize) -> u16 {
    match data.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

impl Tpdu {
    /// The TPDU's abbreviation (`CR`, `CC`, `DT`, `DR`, `ER`).
    pub fn name(&self) -> &'static str {
        match self {
            Tpdu::Cr(_) => "CR",
            Tpdu::Cc(_) => "CC",
            Tpdu::Dt(_) => "DT",
            Tpdu::Dr(_) => "DR",
            Tpdu::Er(_) => "ER",
        }
    }

    /// Decodes one TPDU (the whole payload of one TPKT). Offsets in errors count from the LI.
    pub fn decode(data: &[u8]) -> DecodeResult<Tpdu> {
        let (Some(&li), Some(&code)) = (data.first(), data.get(1)) else {
            return Err(err(
                0,
                ErrorKind::Truncated {
                    what: "TPDU header",
                    needed: 2,
                    available: data.len(),
                },
            ));
        };
        let (name, fixed) = match code & 0xF0 {
            CODE_CR => ("CR TPDU", 6),
            CODE_CC => ("CC TPDU", 6),
            CODE_DT => ("DT TPDU", 2),
            CODE_DR => ("DR TPDU", 6),
            CODE_ER => ("ER TPDU", 4),
            _ => {
                return Err(err(
                    1,
                    ErrorKind::Unexpected {
                        expected: "CR, CC, DT, DR or ER TPDU code",
                        found: format!("{code:#04x} ({})", unsupported_name(code)),
                    },
                ));
            }
        };
        let li = usize::from(li);
        if li > MAX_LI {
            return Err(err(0, ErrorKind::BadLength("TPDU LI 255 is reserved")));
        }
        if li < fixed {
            return Err(err(
                0,
                ErrorKind::Truncated {
                    what: name,
                    needed: fixed,
                    available: li,
                },
            ));
        }
        let header_end = 1 + li;
        if header_end > data.len() {
            return Err(err(
                0,
                ErrorKind::Truncated {
                    what: name,
                    needed: header_end,
                    available: data.len(),
                },
            ));
        }
        let var_start = 1 + fixed;
        let rest = data.get(header_end..).unwrap_or_default();
        match code & 0xF0 {
            CODE_CR | CODE_CC => {
                let class_octet = data.get(6).copied().unwrap_or(0);
                let class = TransportClass::from_number(class_octet >> 4).ok_or_else(|| {
                    err(
                        6,
                        ErrorKind::Unexpected {
                            expected: "protocol class 0..4",
                            found: format!("class {}", class_octet >> 4),
                        },
                    )
                })?;
                let mut t = ConnectTpdu {
                    credit: code & 0x0F,
                    dst_ref: u16_at(data, 2),
                    src_ref: u16_at(data, 4),
                    class,
                    options: ClassOptions::from_bits(class_octet & 0x0F),
                    tpdu_size: None,
                    preferred_max_tpdu_size: None,
                    calling_tsel: None,
                    called_tsel: None,
                    other_parameters: Vec::new(),
                    user_data: rest.to_vec(),
                };
                for p in parameters(data, var_start, header_end) {
                    let (at, pcode, value) = p?;
                    match pcode {
                        P_TPDU_SIZE => {
                            if t.tpdu_size.is_some() {
                                return Err(dup(at, "at most one TPDU size parameter", pcode));
                            }
                            let &[c] = value else {
                                return Err(err(
                                    at + 1,
                                    ErrorKind::BadLength("TPDU size parameter must be 1 octet"),
                                ));
                            };
                            t.tpdu_size = Some(TpduSize::from_code(c));
                        }
                        P_PREFERRED_SIZE => {
                            if t.preferred_max_tpdu_size.is_some() {
                                return Err(dup(
                                    at,
                                    "at most one preferred maximum TPDU size",
                                    pcode,
                                ));
                            }
                            if value.is_empty() || value.len() > 4 {
                                return Err(err(
                                    at + 1,
                                    ErrorKind::BadLength(
                                        "preferred maximum TPDU size must be 1 to 4 octets",
                                    ),
                                ));
                            }
                            let v = value.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
                            t.preferred_max_tpdu_size = Some(v);
                        }
                        P_CALLING_TSEL => {
                            if t.calling_tsel.is_some() {
                                return Err(dup(at, "at most one calling T-selector", pcode));
                            }
                            t.calling_tsel = Some(value.to_vec());
                        }
                        P_CALLED_TSEL => {
                            if t.called_tsel.is_some() {
                                return Err(dup(at, "at most one called T-selector", pcode));
                            }
                            t.called_tsel = Some(value.to_vec());
                        }
                        _ => t.other_parameters.push(RawParameter {
                            code: pcode,
                            value: value.to_vec(),
                        }),
                    }
                }
                Ok(if code & 0xF0 == CODE_CR {
                    Tpdu::Cr(t)
                } else {
                    Tpdu::Cc(t)
                })
            }
            CODE_DT => {
                let b = data.get(2).copied().unwrap_or(0);
                let other_parameters = parameters(data, var_start, header_end)
                    .map(|p| {
                        p.map(|(_, code, value)| RawParameter {
                            code,
                            value: value.to_vec(),
                        })
                    })
                    .collect::<DecodeResult<Vec<_>>>()?;
                Ok(Tpdu::Dt(DataTpdu {
                    eot: b & 0x80 != 0,
                    nr: b & 0x7F,
                    other_parameters,
                    user_data: rest.to_vec(),
                }))
            }
            CODE_DR => {
                let mut t = DisconnectTpdu {
                    dst_ref: u16_at(data, 2),
                    src_ref: u16_at(data, 4),
                    reason: DisconnectReason::from_code(data.get(6).copied().unwrap_or(0)),
                    additional_information: None,
                    other_parameters: Vec::new(),
                    user_data: rest.to_vec(),
                };
                for p in parameters(data, var_start, header_end) {
                    let (at, pcode, value) = p?;
                    if pcode == P_ADDITIONAL_INFO {
                        if t.additional_information.is_some() {
                            return Err(dup(at, "at most one additional information", pcode));
                        }
                        t.additional_information = Some(value.to_vec());
                    } else {
                        t.other_parameters.push(RawParameter {
                            code: pcode,
                            value: value.to_vec(),
                        });
                    }
                }
                Ok(Tpdu::Dr(t))
            }
            _ => {
                if !rest.is_empty() {
                    return Err(err(
                        header_end,
                        ErrorKind::Trailing {
                            what: "ER TPDU",
                            count: rest.len(),
                        },
                    ));
                }
                let mut t = ErrorTpdu {
                    dst_ref: u16_at(data, 2),
                    cause: RejectCause::from_code(data.get(4).copied().unwrap_or(0)),
                    invalid_tpdu: None,
                    other_parameters: Vec::new(),
                };
                for p in parameters(data, var_start, header_end) {
                    let (at, pcode, value) = p?;
                    if pcode == P_INVALID_TPDU {
                        if t.invalid_tpdu.is_some() {
                            return Err(dup(at, "at most one invalid TPDU parameter", pcode));
                        }
                        t.invalid_tpdu = Some(value.to_vec());
                    } else {
                        t.other_parameters.push(RawParameter {
                            code: pcode,
                            value: value.to_vec(),
                        });
                    }
                }
                Ok(Tpdu::Er(t))
            }
        }
    }

    /// Appends the canonical encoding of the TPDU (parameters in the order `C0`, `F0`, `C2`,
    /// `C1`, then the others as stored — the order libiec61850 and other stacks send).
    ///
    /// Fails when the header would exceed 254 octets, a parameter value exceeds 255 octets, or
    /// a field is out of range (credit above 15, TPDU-NR above 127).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.encode_in_place(out);
        if result.is_err() {
            // Nothing of a TPDU that cannot be encoded is left in `out`.
            out.truncate(start);
        }
        result
    }

    /// At least the octets [`Tpdu::encode`] appends (exactly, but for CR and CC, where
    /// the preferred size's parameter is counted at its largest): reserved at once.
    fn encoded_len_bound(&self) -> usize {
        let param = |v: &[u8]| 2 + v.len();
        let sel = |s: &Option<Vec<u8>>| s.as_deref().map_or(0, param);
        let (fixed, params, extra, user_data): (usize, usize, &[RawParameter], &[u8]) = match self {
            Tpdu::Cr(t) | Tpdu::Cc(t) => (
                7,
                t.tpdu_size.map_or(0, |_| 3)
                    + t.preferred_max_tpdu_size.map_or(0, |_| 6)
                    + sel(&t.called_tsel)
                    + sel(&t.calling_tsel),
                &t.other_parameters,
                &t.user_data,
            ),
            Tpdu::Dt(t) => (3, 0, &t.other_parameters, &t.user_data),
            Tpdu::Dr(t) => (
                7,
                sel(&t.additional_information),
                &t.other_parameters,
                &t.user_data,
            ),
            Tpdu::Er(t) => (5, sel(&t.invalid_tpdu), &t.other_parameters, &[]),
        };
        fixed + params + extra.iter().map(|p| param(&p.value)).sum::<usize>() + user_data.len()
    }

    /// [`Tpdu::encode`], the header written straight into `out` (no temporary buffer);
    /// on an error `out` holds a partial TPDU, which the caller removes.
    fn encode_in_place(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let li_at = out.len();
        out.reserve(self.encoded_len_bound());
        let h = out;
        h.push(0); // LI, filled in below
        let (params_extra, user_data): (&[RawParameter], &[u8]) = match self {
            Tpdu::Cr(t) | Tpdu::Cc(t) => {
                if t.credit > 0x0F {
                    return Err(EncodeError::Invalid("credit above 15"));
                }
                let code = if matches!(self, Tpdu::Cr(_)) {
                    CODE_CR
                } else {
                    CODE_CC
                };
                h.push(code | t.credit);
                h.extend_from_slice(&t.dst_ref.to_be_bytes());
                h.extend_from_slice(&t.src_ref.to_be_bytes());
                h.push((t.class.number() << 4) | t.options.bits());
                if let Some(size) = t.tpdu_size {
                    put_param(h, P_TPDU_SIZE, &[size.code()])?;
                }
                if let Some(units) = t.preferred_max_tpdu_size {
                    let bytes = units.to_be_bytes();
                    let skip = (units.leading_zeros() / 8).min(3) as usize;
                    put_param(h, P_PREFERRED_SIZE, bytes.get(skip..).unwrap_or(&bytes))?;
                }
                if let Some(sel) = &t.called_tsel {
                    put_param(h, P_CALLED_TSEL, sel)?;
                }
                if let Some(sel) = &t.calling_tsel {
                    put_param(h, P_CALLING_TSEL, sel)?;
                }
                (&t.other_parameters, &t.user_data)
            }
            Tpdu::Dt(t) => {
                if t.nr > 0x7F {
                    return Err(EncodeError::Invalid("TPDU-NR above 127"));
                }
                h.push(CODE_DT);
                h.push((u8::from(t.eot) << 7) | t.nr);
                (&t.other_parameters, &t.user_data)
            }
            Tpdu::Dr(t) => {
                h.push(CODE_DR);
                h.extend_from_slice(&t.dst_ref.to_be_bytes());
                h.extend_from_slice(&t.src_ref.to_be_bytes());
                h.push(t.reason.code());
                if let Some(info) = &t.additional_information {
                    put_param(h, P_ADDITIONAL_INFO, info)?;
                }
                (&t.other_parameters, &t.user_data)
            }
            Tpdu::Er(t) => {
                h.push(CODE_ER);
                h.extend_from_slice(&t.dst_ref.to_be_bytes());
                h.push(t.cause.code());
                if let Some(bad) = &t.invalid_tpdu {
                    put_param(h, P_INVALID_TPDU, bad)?;
                }
                (&t.other_parameters, &[])
            }
        };
        for p in params_extra {
            put_param(h, p.code, &p.value)?;
        }
        let li = h.len() - li_at - 1;
        if li > MAX_LI {
            return Err(EncodeError::TooLong {
                what: "TPDU header",
                len: li,
                max: MAX_LI,
            });
        }
        if let Some(first) = h.get_mut(li_at) {
            *first = li as u8;
        }
        h.extend_from_slice(user_data);
        Ok(())
    }
}

fn put_param(h: &mut Vec<u8>, code: u8, value: &[u8]) -> Result<(), EncodeError> {
    let len = u8::try_from(value.len()).map_err(|_| EncodeError::TooLong {
        what: "TPDU parameter value",
        len: value.len(),
        max: 255,
    })?;
    h.push(code);
    h.push(len);
    h.extend_from_slice(value);
    Ok(())
}

/// Decodes one complete TPKT and the TPDU it carries; offsets count from the TPKT header.
pub fn decode_frame(frame: &[u8]) -> DecodeResult<Tpdu> {
    let payload = decode_tpkt(frame)?;
    Tpdu::decode(payload).map_err(|e| e.shifted(crate::tpkt::TPKT_HEADER_LEN))
}

/// Appends one TPKT carrying `tpdu`.
pub fn encode_frame(tpdu: &Tpdu, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    // The TPDU is encoded after a placeholder TPKT header, which is then filled in: the
    // checks and octets of `encode_tpkt`, without a temporary buffer and its copy.
    let start = out.len();
    out.reserve(TPKT_HEADER_LEN + tpdu.encoded_len_bound());
    out.extend_from_slice(&[TPKT_VERSION, 0, 0, 0]);
    let total = tpdu
        .encode(out)
        .and_then(|()| tpkt_total(out.len() - start - TPKT_HEADER_LEN));
    match total {
        Ok(total) => {
            if let Some(len) = out.get_mut(start + 2..start + TPKT_HEADER_LEN) {
                len.copy_from_slice(&total.to_be_bytes());
            }
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Octets of a DT TPKT header: the TPKT header and the class 0 DT header.
pub(crate) const DT_FRAME_HEADER_LEN: usize = 4 + TpduSize::DT_HEADER_LEN;

/// The headers of the DT TPKTs [`encode_data_frames`] gives for a TSDU of `tsdu_len` octets,
/// each with the range of the TSDU its TPKT carries: writing each header followed by its
/// range of the TSDU gives exactly the octets of [`encode_data_frames`]. An empty TSDU gives
/// one header with an empty range.
pub(crate) fn data_frame_layout(
    tsdu_len: usize,
    size: TpduSize,
) -> impl Iterator<Item = ([u8; DT_FRAME_HEADER_LEN], std::ops::Range<usize>)> {
    let chunk = size
        .max_dt_user_data()
        .min(MAX_TPKT_PAYLOAD - TpduSize::DT_HEADER_LEN);
    let count = tsdu_len.div_ceil(chunk).max(1);
    (0..count).map(move |i| {
        let start = i * chunk;
        let end = (start + chunk).min(tsdu_len);
        let eot = end == tsdu_len;
        let total = ((DT_FRAME_HEADER_LEN + end - start) as u16).to_be_bytes();
        let header = [
            3,
            0,
            total[0],
            total[1],
            2,
            CODE_DT,
            if eot { 0x80 } else { 0 },
        ];
        (header, start..end)
    })
}

/// The EOT flag and user data of a TPDU (the payload of one TPKT) when it is a class 0 DT
/// without a variable part, the shape every class 0 sender uses: what [`Tpdu::decode`]
/// gives for it, without copying the user data. `None` for anything else.
pub(crate) fn plain_dt(tpdu: &[u8]) -> Option<(bool, &[u8])> {
    match tpdu {
        [2, code, b, user_data @ ..] if code & 0xF0 == CODE_DT => Some((b & 0x80 != 0, user_data)),
        _ => None,
    }
}

/// Appends a TSDU as a series of TPKTs, each holding one class 0 DT TPDU of at most `size`
/// octets; EOT is set on the last. An empty TSDU yields one DT with EOT and no data.
pub fn encode_data_frames(tsdu: &[u8], size: TpduSize, out: &mut Vec<u8>) {
    let chunk = size
        .max_dt_user_data()
        .min(MAX_TPKT_PAYLOAD - TpduSize::DT_HEADER_LEN);
    // Every TPKT at once: 4 + 3 header octets per DT, then the TSDU.
    out.reserve(tsdu.len() + tsdu.len().div_ceil(chunk).max(1) * (4 + TpduSize::DT_HEADER_LEN));
    let mut pieces = tsdu.chunks(chunk).peekable();
    if pieces.peek().is_none() {
        out.extend_from_slice(&[3, 0, 0, 7, 2, CODE_DT, 0x80]);
        return;
    }
    while let Some(piece) = pieces.next() {
        let eot = pieces.peek().is_none();
        let total = (4 + TpduSize::DT_HEADER_LEN + piece.len()) as u16;
        out.extend_from_slice(&[3, 0]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&[2, CODE_DT, if eot { 0x80 } else { 0 }]);
        out.extend_from_slice(piece);
    }
}
