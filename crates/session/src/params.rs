//! Typed values of the session parameters (ISO 8327-1 clause 8.3).

use crate::error::EncodeError;
use crate::spdu::pi;
use crate::wire::{Param, RawParameter, err, one_octet, params, put_param, set_once};
use guls_ber::{DecodeResult, ErrorKind};

/// The most octets an S-selector may hold (ISO 8327; OIW SIA 9.3.8).
pub const MAX_SSELECTOR_LEN: usize = 16;

/// Session functional units: the Session User Requirements parameter (PI 20), a 16-bit mask.
///
/// Unknown bits are kept (and sent back only if the caller leaves them set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FunctionalUnits(pub u16);

const FU_NAMES: [(u16, &str); 13] = [
    (0x0001, "half-duplex"),
    (0x0002, "duplex"),
    (0x0004, "expedited"),
    (0x0008, "minor-sync"),
    (0x0010, "major-sync"),
    (0x0020, "resynchronize"),
    (0x0040, "activity-management"),
    (0x0080, "negotiated-release"),
    (0x0100, "capability-data"),
    (0x0200, "exceptions"),
    (0x0400, "typed-data"),
    (0x0800, "symmetric-sync"),
    (0x1000, "data-separation"),
];

impl FunctionalUnits {
    /// Bit 1: half-duplex.
    pub const HALF_DUPLEX: Self = Self(0x0001);
    /// Bit 2: duplex (the one RFC 1698 requires).
    pub const DUPLEX: Self = Self(0x0002);
    /// Bit 3: expedited data.
    pub const EXPEDITED: Self = Self(0x0004);
    /// Bit 4: minor synchronize.
    pub const MINOR_SYNC: Self = Self(0x0008);
    /// Bit 5: major synchronize.
    pub const MAJOR_SYNC: Self = Self(0x0010);
    /// Bit 6: resynchronize.
    pub const RESYNCHRONIZE: Self = Self(0x0020);
    /// Bit 7: activity management.
    pub const ACTIVITY_MANAGEMENT: Self = Self(0x0040);
    /// Bit 8: negotiated release.
    pub const NEGOTIATED_RELEASE: Self = Self(0x0080);
    /// Bit 9: capability data exchange.
    pub const CAPABILITY_DATA: Self = Self(0x0100);
    /// Bit 10: exceptions.
    pub const EXCEPTIONS: Self = Self(0x0200);
    /// Bit 11: typed data.
    pub const TYPED_DATA: Self = Self(0x0400);
    /// Bit 12: symmetric synchronize.
    pub const SYMMETRIC_SYNC: Self = Self(0x0800);
    /// Bit 13: data separation.
    pub const DATA_SEPARATION: Self = Self(0x1000);
    /// Every functional unit ISO 8327-1 defines (bits 1 to 13).
    pub const ALL: Self = Self(0x1FFF);
    /// The value meant when PI 20 is absent: half-duplex, minor synchronize, activity
    /// management, capability data and exceptions.
    pub const DEFAULT: Self = Self(0x0349);

    /// The raw mask.
    pub fn bits(self) -> u16 {
        self.0
    }

    /// Whether every unit of `other` is present.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Units present in both (the negotiation a responder performs).
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Names of the functional units present, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        FU_NAMES
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// Bits set that ISO 8327-1 does not define.
    pub fn unknown_bits(self) -> u16 {
        self.0 & !Self::ALL.0
    }
}

impl std::ops::BitOr for FunctionalUnits {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Version Number (PI 22): bit 1 = version 1, bit 2 = version 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionNumber(pub u8);

impl VersionNumber {
    /// Version 1 only.
    pub const V1: Self = Self(0x01);
    /// Version 2 only (what RFC 1698 sends).
    pub const V2: Self = Self(0x02);
    /// Versions 1 and 2.
    pub const V1_AND_V2: Self = Self(0x03);

    /// The version numbers offered (bit n set means version n), ascending.
    pub fn versions(self) -> Vec<u8> {
        (0..8u8)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(|i| i + 1)
            .collect()
    }

    /// Whether version `v` (1..=8) is offered.
    pub fn offers(self, v: u8) -> bool {
        (1..=8).contains(&v) && self.0 & (1 << (v - 1)) != 0
    }

    /// The value offering the given versions (numbers outside 1..=8 are ignored).
    pub fn from_versions(versions: &[u8]) -> Self {
        Self(
            versions
                .iter()
                .filter(|v| (1..=8).contains(*v))
                .fold(0, |a, v| a | (1 << (v - 1))),
        )
    }
}

/// Protocol Options (PI 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProtocolOptions(pub u8);

impl ProtocolOptions {
    /// Bit 1: able to receive extended concatenated SPDUs.
    pub fn extended_concatenation(self) -> bool {
        self.0 & 0x01 != 0
    }
}

/// TSDU Maximum Size (PI 21): two 16-bit sizes; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TsduMaximumSize {
    /// Largest TSDU in the direction initiator to responder (first two octets).
    pub initiator_to_responder: u16,
    /// Largest TSDU in the direction responder to initiator (last two octets).
    pub responder_to_initiator: u16,
}

impl TsduMaximumSize {
    fn decode(p: &Param<'_>) -> DecodeResult<Self> {
        match p.value {
            &[a, b, c, d] => Ok(Self {
                initiator_to_responder: u16::from_be_bytes([a, b]),
                responder_to_initiator: u16::from_be_bytes([c, d]),
            }),
            _ => Err(err(
                p.li_offset(),
                ErrorKind::BadLength("TSDU maximum size must be 4 octets"),
            )),
        }
    }

    fn bytes(self) -> [u8; 4] {
        let [a, b] = self.initiator_to_responder.to_be_bytes();
        let [c, d] = self.responder_to_initiator.to_be_bytes();
        [a, b, c, d]
    }
}

/// A serial number parameter (Initial Serial Number PI 23, Second Initial Serial Number PI
/// 55, Upper Limit Serial Number PI 56, Large Initial / Large Second Initial Serial Number PI
/// 57 / 58): decimal digits in IA5, most significant first. Kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SerialNumber(pub Vec<u8>);

impl SerialNumber {
    /// The encoding of `n` (decimal digits, no leading zeros).
    pub fn from_value(n: u128) -> Self {
        Self(n.to_string().into_bytes())
    }

    /// The numeric value, when the octets are 1 to 38 decimal digits.
    pub fn value(&self) -> Option<u128> {
        if self.0.is_empty() || self.0.len() > 38 || !self.0.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0.iter().try_fold(0u128, |a, d| {
            a.checked_mul(10)?.checked_add(u128::from(d - b'0'))
        })
    }
}

/// Which side initially holds a token (two bits of the Token Setting Item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenAssignment {
    /// `00`: the initiator's side.
    Initiator,
    /// `01`: the responder's side.
    Responder,
    /// `10`: the called SS-user's choice.
    CalledChoice,
    /// `11`: reserved.
    Reserved,
}

impl TokenAssignment {
    fn from_bits(b: u8) -> Self {
        match b & 0x03 {
            0 => Self::Initiator,
            1 => Self::Responder,
            2 => Self::CalledChoice,
            _ => Self::Reserved,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Self::Initiator => 0,
            Self::Responder => 1,
            Self::CalledChoice => 2,
            Self::Reserved => 3,
        }
    }

    /// A name for display.
    pub fn name(self) -> &'static str {
        match self {
            Self::Initiator => "initiator",
            Self::Responder => "responder",
            Self::CalledChoice => "called-choice",
            Self::Reserved => "reserved",
        }
    }
}

/// Token Setting Item (PI 26): the initial position of the four tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenSetting {
    /// Release token (bits 8-7).
    pub release: TokenAssignment,
    /// Major/activity token (bits 6-5).
    pub major_activity: TokenAssignment,
    /// Synchronize-minor token (bits 4-3).
    pub minor_sync: TokenAssignment,
    /// Data token (bits 2-1).
    pub data: TokenAssignment,
}

impl TokenSetting {
    /// The setting encoded in one octet.
    pub fn from_octet(b: u8) -> Self {
        Self {
            release: TokenAssignment::from_bits(b >> 6),
            major_activity: TokenAssignment::from_bits(b >> 4),
            minor_sync: TokenAssignment::from_bits(b >> 2),
            data: TokenAssignment::from_bits(b),
        }
    }

    /// The octet sent.
    pub fn octet(self) -> u8 {
        (self.release.bits() << 6)
            | (self.major_activity.bits() << 4)
            | (self.minor_sync.bits() << 2)
            | self.data.bits()
    }
}

/// Token Item (PI 16): which tokens are given or requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tokens(pub u8);

impl Tokens {
    /// Bit 1: data token.
    pub const DATA: u8 = 0x01;
    /// Bit 3: synchronize-minor token.
    pub const MINOR_SYNC: u8 = 0x04;
    /// Bit 5: major/activity token.
    pub const MAJOR_ACTIVITY: u8 = 0x10;
    /// Bit 7: release token.
    pub const RELEASE: u8 = 0x40;

    /// Names of the tokens present.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Self::DATA, "data"),
            (Self::MINOR_SYNC, "minor-sync"),
            (Self::MAJOR_ACTIVITY, "major-activity"),
            (Self::RELEASE, "release"),
        ]
        .iter()
        .filter(|(b, _)| self.0 & b != 0)
        .map(|(_, n)| *n)
        .collect()
    }
}

/// Transport Disconnect (PI 17) of FINISH, ABORT and REFUSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransportDisconnect(pub u8);

impl TransportDisconnect {
    /// `03`: release the transport connection, user abort (RFC 1698 6.7).
    pub const RELEASE_USER_ABORT: Self = Self(0x03);
    /// `09`: release the transport connection, no reason (RFC 1698 6.8).
    pub const RELEASE_NO_REASON: Self = Self(0x09);
    /// `01`: release the transport connection (FINISH).
    pub const RELEASE: Self = Self(0x01);
    /// `00`: keep the transport connection (FINISH).
    pub const KEEP: Self = Self(0x00);

    /// Bit 1: the transport connection is released (otherwise kept for reuse).
    pub fn released(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// Bit 2: user abort.
    pub fn user_abort(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// Bit 3: protocol error.
    pub fn protocol_error(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// Bit 4: no reason.
    pub fn no_reason(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// Bit 5: implementation restriction stated in the PICS.
    pub fn implementation_restriction(self) -> bool {
        self.0 & 0x10 != 0
    }

    /// Names of the meanings set, starting with the transport connection's fate.
    pub fn names(self) -> Vec<&'static str> {
        let mut v = vec![if self.released() {
            "transport-connection-released"
        } else {
            "transport-connection-kept"
        }];
        for (set, name) in [
            (self.user_abort(), "user-abort"),
            (self.protocol_error(), "protocol-error"),
            (self.no_reason(), "no-reason"),
            (
                self.implementation_restriction(),
                "implementation-restriction",
            ),
        ] {
            if set {
                v.push(name);
            }
        }
        v
    }
}

/// Enclosure Item (PI 25): where this SPDU sits in a segmented SSDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EnclosureItem(pub u8);

impl EnclosureItem {
    /// Bit 1: beginning of SSDU.
    pub fn beginning(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// Bit 2: end of SSDU.
    pub fn end(self) -> bool {
        self.0 & 0x02 != 0
    }
}

/// Data Overflow (PI 60) of a CONNECT: bit 1 = more user data follows in CDO SPDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataOverflow(pub u8);

impl DataOverflow {
    /// Bit 1: more connect user data will follow.
    pub fn more_data(self) -> bool {
        self.0 & 0x01 != 0
    }
}

/// The first octet of a REFUSE's Reason Code (PI 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefuseReason {
    /// 0: rejection by the called SS-user, no reason.
    UserNoReason,
    /// 1: rejection by the called SS-user due to temporary congestion.
    UserCongestion,
    /// 2: rejection by the called SS-user; the reason is in the user data that follows.
    UserDataFollows,
    /// 0x81: session selector unknown.
    SelectorUnknown,
    /// 0x82: SS-user not attached to SSAP.
    UserNotAttached,
    /// 0x83: SPM congestion at connect time.
    SpmCongestion,
    /// 0x84: proposed protocol versions not supported.
    VersionsNotSupported,
    /// 0x85: rejection by the SPM, no reason.
    SpmNoReason,
    /// 0x86: rejection by the SPM, implementation restriction stated in the PICS.
    ImplementationRestriction,
    /// Any other value.
    Other(u8),
}

impl RefuseReason {
    /// The reason for a received octet.
    pub fn from_code(c: u8) -> Self {
        match c {
            0 => Self::UserNoReason,
            1 => Self::UserCongestion,
            2 => Self::UserDataFollows,
            0x81 => Self::SelectorUnknown,
            0x82 => Self::UserNotAttached,
            0x83 => Self::SpmCongestion,
            0x84 => Self::VersionsNotSupported,
            0x85 => Self::SpmNoReason,
            0x86 => Self::ImplementationRestriction,
            o => Self::Other(o),
        }
    }

    /// The octet sent.
    pub fn code(self) -> u8 {
        match self {
            Self::UserNoReason => 0,
            Self::UserCongestion => 1,
            Self::UserDataFollows => 2,
            Self::SelectorUnknown => 0x81,
            Self::UserNotAttached => 0x82,
            Self::SpmCongestion => 0x83,
            Self::VersionsNotSupported => 0x84,
            Self::SpmNoReason => 0x85,
            Self::ImplementationRestriction => 0x86,
            Self::Other(o) => o,
        }
    }

    /// A short description for display.
    pub fn description(self) -> &'static str {
        match self {
            Self::UserNoReason => "rejected by SS-user, no reason",
            Self::UserCongestion => "rejected by SS-user, congestion",
            Self::UserDataFollows => "rejected by SS-user, reason in user data",
            Self::SelectorUnknown => "session selector unknown",
            Self::UserNotAttached => "SS-user not attached to SSAP",
            Self::SpmCongestion => "SPM congestion at connect time",
            Self::VersionsNotSupported => "proposed protocol versions not supported",
            Self::SpmNoReason => "rejected by the SPM, no reason",
            Self::ImplementationRestriction => "rejected by the SPM, implementation restriction",
            Self::Other(_) => "unknown reason",
        }
    }
}

/// Reason Code (PI 50): the reason octet, then (for reason 2) the SS-user's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReasonCode {
    /// The reason.
    pub reason: RefuseReason,
    /// Octets after the reason octet (user data carried by S-REFUSE).
    pub user_data: Vec<u8>,
}

impl ReasonCode {
    pub(crate) fn decode(p: &Param<'_>) -> DecodeResult<Self> {
        match p.value.split_first() {
            Some((&r, rest)) => Ok(Self {
                reason: RefuseReason::from_code(r),
                user_data: rest.to_vec(),
            }),
            None => Err(err(
                p.li_offset(),
                ErrorKind::BadLength("reason code needs at least 1 octet"),
            )),
        }
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(1 + self.user_data.len());
        v.push(self.reason.code());
        v.extend_from_slice(&self.user_data);
        v
    }
}

/// A session selector (PI 51 calling, PI 52 called / responding): at most 16 octets.
///
/// Held inline (selectors are short), so that decoding, copying and comparing one never
/// allocates.
#[derive(Clone, Default)]
pub struct SSelector {
    len: u8,
    bytes: [u8; MAX_SSELECTOR_LEN],
}

impl SSelector {
    /// A selector, or an error when longer than [`MAX_SSELECTOR_LEN`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, EncodeError> {
        Self::try_from(bytes.into().as_slice())
    }

    /// The selector octets.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The selector of `value`, which the caller has checked to be at most
    /// [`MAX_SSELECTOR_LEN`] octets long.
    fn inline(value: &[u8]) -> Option<Self> {
        let mut bytes = [0; MAX_SSELECTOR_LEN];
        bytes.get_mut(..value.len())?.copy_from_slice(value);
        Some(Self {
            len: u8::try_from(value.len()).ok()?,
            bytes,
        })
    }

    pub(crate) fn decode(p: &Param<'_>) -> DecodeResult<Self> {
        Self::inline(p.value).ok_or_else(|| {
            err(
                p.li_offset(),
                ErrorKind::LimitExceeded {
                    what: "S-selector length",
                    limit: MAX_SSELECTOR_LEN,
                },
            )
        })
    }
}

impl TryFrom<&[u8]> for SSelector {
    type Error = EncodeError;

    /// [`SSelector::new`] without taking a vector.
    fn try_from(bytes: &[u8]) -> Result<Self, EncodeError> {
        Self::inline(bytes).ok_or(EncodeError::TooLong {
            what: "S-selector",
            len: bytes.len(),
            max: MAX_SSELECTOR_LEN,
        })
    }
}

// Equality, hashing and `Debug` are those of the octets (as when they were a `Vec<u8>`).
impl PartialEq for SSelector {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SSelector {}

impl std::hash::Hash for SSelector {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl std::fmt::Debug for SSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SSelector").field(&self.as_bytes()).finish()
    }
}

/// Connection Identifier (PGI 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConnectionIdentifier {
    /// Called SS-user Reference (PI 9; AC, RF).
    pub called_ss_user_reference: Option<Vec<u8>>,
    /// Calling SS-user Reference (PI 10; CN, AC, RF).
    pub calling_ss_user_reference: Option<Vec<u8>>,
    /// Common Reference (PI 11).
    pub common_reference: Option<Vec<u8>>,
    /// Additional Reference Information (PI 12).
    pub additional_reference: Option<Vec<u8>>,
    /// Unknown sub-parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl ConnectionIdentifier {
    pub(crate) fn decode(data: &[u8], group: &Param<'_>) -> DecodeResult<Self> {
        let mut c = Self::default();
        let end = group.value_offset + group.value.len();
        for p in params(data, group.value_offset, end) {
            let p = p?;
            let v = p.value.to_vec();
            match p.code {
                pi::CALLED_SS_USER_REFERENCE => set_once(
                    &mut c.called_ss_user_reference,
                    v,
                    &p,
                    "at most one called SS-user reference",
                )?,
                pi::CALLING_SS_USER_REFERENCE => set_once(
                    &mut c.calling_ss_user_reference,
                    v,
                    &p,
                    "at most one calling SS-user reference",
                )?,
                pi::COMMON_REFERENCE => set_once(
                    &mut c.common_reference,
                    v,
                    &p,
                    "at most one common reference",
                )?,
                pi::ADDITIONAL_REFERENCE => set_once(
                    &mut c.additional_reference,
                    v,
                    &p,
                    "at most one additional reference information",
                )?,
                _ => c.unknown.push(p.raw()),
            }
        }
        Ok(c)
    }

    /// Appends the group's parameters (its value) to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for (code, v) in [
            (pi::CALLED_SS_USER_REFERENCE, &self.called_ss_user_reference),
            (
                pi::CALLING_SS_USER_REFERENCE,
                &self.calling_ss_user_reference,
            ),
            (pi::COMMON_REFERENCE, &self.common_reference),
            (pi::ADDITIONAL_REFERENCE, &self.additional_reference),
        ] {
            if let Some(v) = v {
                put_param(out, code, v)?;
            }
        }
        for u in &self.unknown {
            put_param(out, u.code, &u.value)?;
        }
        Ok(())
    }
}

/// Connect/Accept Item (PGI 5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConnectAcceptItem {
    /// Protocol Options (PI 19).
    pub protocol_options: Option<ProtocolOptions>,
    /// TSDU Maximum Size (PI 21).
    pub tsdu_maximum_size: Option<TsduMaximumSize>,
    /// Version Number (PI 22).
    pub version: Option<VersionNumber>,
    /// Initial Serial Number (PI 23).
    pub initial_serial_number: Option<SerialNumber>,
    /// Token Setting Item (PI 26).
    pub token_setting: Option<TokenSetting>,
    /// Second Initial Serial Number (PI 55).
    pub second_initial_serial_number: Option<SerialNumber>,
    /// Upper Limit Serial Number (PI 56).
    pub upper_limit_serial_number: Option<SerialNumber>,
    /// Large Initial Serial Number (PI 57).
    pub large_initial_serial_number: Option<SerialNumber>,
    /// Large Second Initial Serial Number (PI 58).
    pub large_second_initial_serial_number: Option<SerialNumber>,
    /// Unknown sub-parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl ConnectAcceptItem {
    /// What RFC 1698 sends: protocol options 0, version 2 (`05 06 13 01 00 16 01 02`).
    pub fn rfc1698() -> Self {
        Self {
            protocol_options: Some(ProtocolOptions(0)),
            version: Some(VersionNumber::V2),
            ..Self::default()
        }
    }

    pub(crate) fn decode(data: &[u8], group: &Param<'_>) -> DecodeResult<Self> {
        let mut c = Self::default();
        let end = group.value_offset + group.value.len();
        for p in params(data, group.value_offset, end) {
            let p = p?;
            let serial = || SerialNumber(p.value.to_vec());
            match p.code {
                pi::PROTOCOL_OPTIONS => {
                    let v = ProtocolOptions(one_octet(&p, "protocol options must be 1 octet")?);
                    set_once(
                        &mut c.protocol_options,
                        v,
                        &p,
                        "at most one protocol options",
                    )?
                }
                pi::TSDU_MAXIMUM_SIZE => set_once(
                    &mut c.tsdu_maximum_size,
                    TsduMaximumSize::decode(&p)?,
                    &p,
                    "at most one TSDU maximum size",
                )?,
                pi::VERSION_NUMBER => {
                    let v = VersionNumber(one_octet(&p, "version number must be 1 octet")?);
                    set_once(&mut c.version, v, &p, "at most one version number")?
                }
                pi::INITIAL_SERIAL_NUMBER => set_once(
                    &mut c.initial_serial_number,
                    serial(),
                    &p,
                    "at most one initial serial number",
                )?,
                pi::TOKEN_SETTING_ITEM => {
                    let v = TokenSetting::from_octet(one_octet(
                        &p,
                        "token setting item must be 1 octet",
                    )?);
                    set_once(
                        &mut c.token_setting,
                        v,
                        &p,
                        "at most one token setting item",
                    )?
                }
                pi::SECOND_INITIAL_SERIAL_NUMBER => set_once(
                    &mut c.second_initial_serial_number,
                    serial(),
                    &p,
                    "at most one second initial serial number",
                )?,
                pi::UPPER_LIMIT_SERIAL_NUMBER => set_once(
                    &mut c.upper_limit_serial_number,
                    serial(),
                    &p,
                    "at most one upper limit serial number",
                )?,
                pi::LARGE_INITIAL_SERIAL_NUMBER => set_once(
                    &mut c.large_initial_serial_number,
                    serial(),
                    &p,
                    "at most one large initial serial number",
                )?,
                pi::LARGE_SECOND_INITIAL_SERIAL_NUMBER => set_once(
                    &mut c.large_second_initial_serial_number,
                    serial(),
                    &p,
                    "at most one large second initial serial number",
                )?,
                _ => c.unknown.push(p.raw()),
            }
        }
        Ok(c)
    }

    /// Appends the group's parameters (its value) to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(o) = self.protocol_options {
            put_param(out, pi::PROTOCOL_OPTIONS, &[o.0])?;
        }
        if let Some(t) = self.tsdu_maximum_size {
            put_param(out, pi::TSDU_MAXIMUM_SIZE, &t.bytes())?;
        }
        if let Some(v) = self.version {
            put_param(out, pi::VERSION_NUMBER, &[v.0])?;
        }
        if let Some(s) = &self.initial_serial_number {
            put_param(out, pi::INITIAL_SERIAL_NUMBER, &s.0)?;
        }
        if let Some(t) = self.token_setting {
            put_param(out, pi::TOKEN_SETTING_ITEM, &[t.octet()])?;
        }
        for (code, s) in [
            (
                pi::SECOND_INITIAL_SERIAL_NUMBER,
                &self.second_initial_serial_number,
            ),
            (
                pi::UPPER_LIMIT_SERIAL_NUMBER,
                &self.upper_limit_serial_number,
            ),
            (
                pi::LARGE_INITIAL_SERIAL_NUMBER,
                &self.large_initial_serial_number,
            ),
            (
                pi::LARGE_SECOND_INITIAL_SERIAL_NUMBER,
                &self.large_second_initial_serial_number,
            ),
        ] {
            if let Some(s) = s {
                put_param(out, code, &s.0)?;
            }
        }
        for u in &self.unknown {
            put_param(out, u.code, &u.value)?;
        }
        Ok(())
    }
}

pub(crate) fn decode_tsdu_max(p: &Param<'_>) -> DecodeResult<TsduMaximumSize> {
    TsduMaximumSize::decode(p)
}

pub(crate) fn tsdu_max_bytes(t: TsduMaximumSize) -> [u8; 4] {
    t.bytes()
}
