//! SPDU types and the typed SPDUs.

use crate::error::EncodeError;
use crate::params::{
    ConnectAcceptItem, ConnectionIdentifier, DataOverflow, EnclosureItem, FunctionalUnits,
    ProtocolOptions, ReasonCode, SSelector, SerialNumber, Tokens, TransportDisconnect,
    TsduMaximumSize, VersionNumber, decode_tsdu_max, tsdu_max_bytes,
};
use crate::wire::{
    MAX_LI, Param, RawParameter, err, one_octet, params, put_group, put_param, read_li, set_once,
    truncated,
};
use guls_ber::{DecodeResult, ErrorKind};

/// Parameter identifiers (PI codes) of ISO 8327-1.
pub mod pi {
    /// Called SS-user Reference (in PGI 1).
    pub const CALLED_SS_USER_REFERENCE: u8 = 9;
    /// Calling SS-user Reference (in PGI 1).
    pub const CALLING_SS_USER_REFERENCE: u8 = 10;
    /// Common Reference (in PGI 1).
    pub const COMMON_REFERENCE: u8 = 11;
    /// Additional Reference Information (in PGI 1).
    pub const ADDITIONAL_REFERENCE: u8 = 12;
    /// Sync Type Item.
    pub const SYNC_TYPE_ITEM: u8 = 15;
    /// Token Item.
    pub const TOKEN_ITEM: u8 = 16;
    /// Transport Disconnect.
    pub const TRANSPORT_DISCONNECT: u8 = 17;
    /// Protocol Options (in PGI 5).
    pub const PROTOCOL_OPTIONS: u8 = 19;
    /// Session User Requirements.
    pub const SESSION_USER_REQUIREMENTS: u8 = 20;
    /// TSDU Maximum Size (in PGI 5; top level in OA).
    pub const TSDU_MAXIMUM_SIZE: u8 = 21;
    /// Version Number (in PGI 5; top level in RF and OA).
    pub const VERSION_NUMBER: u8 = 22;
    /// Initial Serial Number (in PGI 5).
    pub const INITIAL_SERIAL_NUMBER: u8 = 23;
    /// Prepare Type.
    pub const PREPARE_TYPE: u8 = 24;
    /// Enclosure Item.
    pub const ENCLOSURE_ITEM: u8 = 25;
    /// Token Setting Item (in PGI 5).
    pub const TOKEN_SETTING_ITEM: u8 = 26;
    /// Resync Type.
    pub const RESYNC_TYPE: u8 = 27;
    /// Activity Identifier.
    pub const ACTIVITY_IDENTIFIER: u8 = 41;
    /// Serial Number.
    pub const SERIAL_NUMBER: u8 = 42;
    /// Reflect Parameter Values (ABORT).
    pub const REFLECT_PARAMETER_VALUES: u8 = 49;
    /// Reason Code.
    pub const REASON_CODE: u8 = 50;
    /// Calling Session Selector.
    pub const CALLING_SESSION_SELECTOR: u8 = 51;
    /// Called Session Selector (CN) / Responding Session Selector (AC).
    pub const CALLED_SESSION_SELECTOR: u8 = 52;
    /// Second Resync Type.
    pub const SECOND_RESYNC_TYPE: u8 = 53;
    /// Second Serial Number.
    pub const SECOND_SERIAL_NUMBER: u8 = 54;
    /// Second Initial Serial Number (in PGI 5).
    pub const SECOND_INITIAL_SERIAL_NUMBER: u8 = 55;
    /// Upper Limit Serial Number (in PGI 5).
    pub const UPPER_LIMIT_SERIAL_NUMBER: u8 = 56;
    /// Large Initial Serial Number (in PGI 5).
    pub const LARGE_INITIAL_SERIAL_NUMBER: u8 = 57;
    /// Large Second Initial Serial Number (in PGI 5).
    pub const LARGE_SECOND_INITIAL_SERIAL_NUMBER: u8 = 58;
    /// Data Overflow (CONNECT).
    pub const DATA_OVERFLOW: u8 = 60;
}

/// Parameter group identifiers (PGI codes) of ISO 8327-1.
pub mod pgi {
    /// Connection Identifier.
    pub const CONNECTION_IDENTIFIER: u8 = 1;
    /// Connect/Accept Item.
    pub const CONNECT_ACCEPT_ITEM: u8 = 5;
    /// Linking Information (ACTIVITY RESUME).
    pub const LINKING_INFORMATION: u8 = 33;
    /// User Data.
    pub const USER_DATA: u8 = 193;
    /// Extended User Data (CONNECT user data of 513 to 10,240 octets).
    pub const EXTENDED_USER_DATA: u8 = 194;
}

/// The most CONNECT user data sent in PGI 193 (OIW SIA 9.3.5; RFC 1698 6.1).
pub const MAX_BASIC_CONNECT_USER_DATA: usize = 512;
/// The most CONNECT user data carried in the CONNECT itself (PGI 194); more needs CDO SPDUs.
pub const MAX_CONNECT_USER_DATA: usize = 10_240;

/// SPDU category (ISO 8327-1 6.3.7): how an SPDU is mapped onto a TSDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Category 0 (GT, PT): alone, or first in a basic concatenation.
    Zero,
    /// Category 1: always alone in its TSDU.
    One,
    /// Category 2: after a category 0 SPDU.
    Two,
}

macro_rules! spdu_types {
    ($( $(#[$doc:meta])* $v:ident = $si:literal, $abbr:literal, $full:literal, $cat:ident; )*) => {
        /// Every SPDU type of ISO 8327-1, with its SPDU identifier (SI).
        ///
        /// Some types share an SI and are told apart by position (GT category 0 / DT category
        /// 2 for SI 1; AB first / AI after a category 0 SPDU for SI 25; AA / AIA for SI 26) or
        /// by the session state (MAP / AE for SI 41, MAA / AEA for SI 42: this codec decodes
        /// MAP and MAA, and a machine that knows an activity is ending reinterprets them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SpduType {
            $( $(#[$doc])* $v, )*
        }

        impl SpduType {
            /// Every SPDU type.
            pub const ALL: &'static [SpduType] = &[$(SpduType::$v),*];

            /// The SPDU identifier (SI) octet.
            pub fn si(self) -> u8 {
                match self { $(SpduType::$v => $si,)* }
            }

            /// The ISO 8327 abbreviation (`CN`, `AC`, ...).
            pub fn name(self) -> &'static str {
                match self { $(SpduType::$v => $abbr,)* }
            }

            /// The full name.
            pub fn full_name(self) -> &'static str {
                match self { $(SpduType::$v => $full,)* }
            }

            /// The SPDU's category.
            pub fn category(self) -> Category {
                match self { $(SpduType::$v => Category::$cat,)* }
            }
        }
    };
}

spdu_types! {
    /// CONNECT.
    Connect = 13, "CN", "CONNECT", One;
    /// ACCEPT.
    Accept = 14, "AC", "ACCEPT", One;
    /// REFUSE.
    Refuse = 12, "RF", "REFUSE", One;
    /// FINISH.
    Finish = 9, "FN", "FINISH", One;
    /// DISCONNECT.
    Disconnect = 10, "DN", "DISCONNECT", One;
    /// NOT FINISHED.
    NotFinished = 8, "NF", "NOT FINISHED", One;
    /// ABORT.
    Abort = 25, "AB", "ABORT", One;
    /// ABORT ACCEPT.
    AbortAccept = 26, "AA", "ABORT ACCEPT", One;
    /// CONNECT DATA OVERFLOW.
    ConnectDataOverflow = 15, "CDO", "CONNECT DATA OVERFLOW", One;
    /// OVERFLOW ACCEPT.
    OverflowAccept = 16, "OA", "OVERFLOW ACCEPT", One;
    /// GIVE TOKENS CONFIRM.
    GiveTokensConfirm = 21, "GTC", "GIVE TOKENS CONFIRM", One;
    /// GIVE TOKENS ACK.
    GiveTokensAck = 22, "GTA", "GIVE TOKENS ACK", One;
    /// PREPARE.
    Prepare = 7, "PR", "PREPARE", One;
    /// EXPEDITED DATA.
    Expedited = 5, "EX", "EXPEDITED DATA", One;
    /// GIVE TOKENS.
    GiveTokens = 1, "GT", "GIVE TOKENS", Zero;
    /// PLEASE TOKENS.
    PleaseTokens = 2, "PT", "PLEASE TOKENS", Zero;
    /// DATA TRANSFER.
    DataTransfer = 1, "DT", "DATA TRANSFER", Two;
    /// TYPED DATA.
    TypedData = 33, "TD", "TYPED DATA", Two;
    /// CAPABILITY DATA.
    CapabilityData = 61, "CD", "CAPABILITY DATA", Two;
    /// CAPABILITY DATA ACK.
    CapabilityDataAck = 62, "CDA", "CAPABILITY DATA ACK", Two;
    /// MINOR SYNC POINT.
    MinorSyncPoint = 49, "MIP", "MINOR SYNC POINT", Two;
    /// MINOR SYNC ACK.
    MinorSyncAck = 50, "MIA", "MINOR SYNC ACK", Two;
    /// MAJOR SYNC POINT.
    MajorSyncPoint = 41, "MAP", "MAJOR SYNC POINT", Two;
    /// MAJOR SYNC ACK.
    MajorSyncAck = 42, "MAA", "MAJOR SYNC ACK", Two;
    /// RESYNCHRONIZE.
    Resynchronize = 53, "RS", "RESYNCHRONIZE", Two;
    /// RESYNCHRONIZE ACK.
    ResynchronizeAck = 34, "RA", "RESYNCHRONIZE ACK", Two;
    /// ACTIVITY START.
    ActivityStart = 45, "AS", "ACTIVITY START", Two;
    /// ACTIVITY RESUME.
    ActivityResume = 29, "AR", "ACTIVITY RESUME", Two;
    /// ACTIVITY INTERRUPT.
    ActivityInterrupt = 25, "AI", "ACTIVITY INTERRUPT", Two;
    /// ACTIVITY INTERRUPT ACK.
    ActivityInterruptAck = 26, "AIA", "ACTIVITY INTERRUPT ACK", Two;
    /// ACTIVITY DISCARD.
    ActivityDiscard = 57, "AD", "ACTIVITY DISCARD", Two;
    /// ACTIVITY DISCARD ACK.
    ActivityDiscardAck = 58, "ADA", "ACTIVITY DISCARD ACK", Two;
    /// ACTIVITY END.
    ActivityEnd = 41, "AE", "ACTIVITY END", Two;
    /// ACTIVITY END ACK.
    ActivityEndAck = 42, "AEA", "ACTIVITY END ACK", Two;
    /// EXCEPTION REPORT.
    ExceptionReport = 0, "ER", "EXCEPTION REPORT", Two;
    /// EXCEPTION DATA.
    ExceptionData = 48, "ED", "EXCEPTION DATA", Two;
}

impl SpduType {
    /// The type an SI denotes as the first SPDU of a TSDU (category 0 or 1; a category 2 type
    /// when only category 2 uses the code). SI 1 gives GT, SI 25 AB, SI 26 AA, SI 41 MAP,
    /// SI 42 MAA. `None` for codes ISO 8327-1 does not assign.
    pub fn first_in_tsdu(si: u8) -> Option<SpduType> {
        use SpduType::*;
        Some(match si {
            13 => Connect,
            14 => Accept,
            12 => Refuse,
            9 => Finish,
            10 => Disconnect,
            8 => NotFinished,
            25 => Abort,
            26 => AbortAccept,
            15 => ConnectDataOverflow,
            16 => OverflowAccept,
            21 => GiveTokensConfirm,
            22 => GiveTokensAck,
            7 => Prepare,
            5 => Expedited,
            1 => GiveTokens,
            2 => PleaseTokens,
            other => return Self::category2(other),
        })
    }

    /// The category 2 type an SI denotes after a category 0 SPDU (SI 1 gives DT, SI 25 AI,
    /// SI 26 AIA, SI 41 MAP, SI 42 MAA). `None` if no category 2 SPDU has that code.
    pub fn category2(si: u8) -> Option<SpduType> {
        use SpduType::*;
        Some(match si {
            1 => DataTransfer,
            33 => TypedData,
            61 => CapabilityData,
            62 => CapabilityDataAck,
            49 => MinorSyncPoint,
            50 => MinorSyncAck,
            41 => MajorSyncPoint,
            42 => MajorSyncAck,
            53 => Resynchronize,
            34 => ResynchronizeAck,
            45 => ActivityStart,
            29 => ActivityResume,
            25 => ActivityInterrupt,
            26 => ActivityInterruptAck,
            57 => ActivityDiscard,
            58 => ActivityDiscardAck,
            0 => ExceptionReport,
            48 => ExceptionData,
            _ => return None,
        })
    }

    /// Whether User Information (not counted in the LI) follows this SPDU: DT and TD.
    pub fn carries_user_information(self) -> bool {
        matches!(self, SpduType::DataTransfer | SpduType::TypedData)
    }

    /// The other types sharing this type's SI, if any.
    pub fn shares_code_with(self) -> Option<SpduType> {
        use SpduType::*;
        Some(match self {
            GiveTokens => DataTransfer,
            DataTransfer => GiveTokens,
            Abort => ActivityInterrupt,
            ActivityInterrupt => Abort,
            AbortAccept => ActivityInterruptAck,
            ActivityInterruptAck => AbortAccept,
            MajorSyncPoint => ActivityEnd,
            ActivityEnd => MajorSyncPoint,
            MajorSyncAck => ActivityEndAck,
            ActivityEndAck => MajorSyncAck,
            _ => return None,
        })
    }
}

/// Which user data parameter carries CONNECT user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserDataPgi {
    /// PGI 193, User Data.
    UserData,
    /// PGI 194, Extended User Data.
    ExtendedUserData,
}

impl UserDataPgi {
    /// The PGI code (193 or 194).
    pub fn code(self) -> u8 {
        match self {
            UserDataPgi::UserData => pgi::USER_DATA,
            UserDataPgi::ExtendedUserData => pgi::EXTENDED_USER_DATA,
        }
    }
}

/// The user data of a CONNECT, in PGI 193 or PGI 194.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConnectUserData {
    /// User Data, PGI 193 (at most 512 octets when sent by [`ConnectUserData::new`]).
    Basic(Vec<u8>),
    /// Extended User Data, PGI 194 (513 to 10,240 octets when sent by
    /// [`ConnectUserData::new`]).
    Extended(Vec<u8>),
}

impl ConnectUserData {
    /// The canonical carrier for `data`: PGI 193 up to 512 octets, PGI 194 up to 10,240;
    /// an error above that (the rest must go in CONNECT DATA OVERFLOW SPDUs).
    pub fn new(data: impl Into<Vec<u8>>) -> Result<Self, EncodeError> {
        let data = data.into();
        match data.len() {
            n if n <= MAX_BASIC_CONNECT_USER_DATA => Ok(Self::Basic(data)),
            n if n <= MAX_CONNECT_USER_DATA => Ok(Self::Extended(data)),
            n => Err(EncodeError::TooLong {
                what: "CONNECT user data",
                len: n,
                max: MAX_CONNECT_USER_DATA,
            }),
        }
    }

    /// The user data octets.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Basic(d) | Self::Extended(d) => d,
        }
    }

    /// The user data octets, taken out.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Basic(d) | Self::Extended(d) => d,
        }
    }

    /// The PGI that carries them.
    pub fn pgi(&self) -> UserDataPgi {
        match self {
            Self::Basic(_) => UserDataPgi::UserData,
            Self::Extended(_) => UserDataPgi::ExtendedUserData,
        }
    }
}

/// Walks the parameters in `[start, end)`, letting `f` claim the ones it knows; returns the
/// others raw.
fn walk(
    data: &[u8],
    start: usize,
    end: usize,
    mut f: impl FnMut(&Param<'_>) -> DecodeResult<bool>,
) -> DecodeResult<Vec<RawParameter>> {
    let mut unknown = Vec::new();
    for p in params(data, start, end) {
        let p = p?;
        if !f(&p)? {
            unknown.push(p.raw());
        }
    }
    Ok(unknown)
}

fn put_unknown(out: &mut Vec<u8>, unknown: &[RawParameter]) -> Result<(), EncodeError> {
    for u in unknown {
        put_param(out, u.code, &u.value)?;
    }
    Ok(())
}

fn put_opt(out: &mut Vec<u8>, code: u8, v: Option<&[u8]>) -> Result<(), EncodeError> {
    match v {
        Some(v) => put_param(out, code, v),
        None => Ok(()),
    }
}

fn put_octet(out: &mut Vec<u8>, code: u8, v: Option<u8>) -> Result<(), EncodeError> {
    match v {
        Some(b) => put_param(out, code, &[b]),
        None => Ok(()),
    }
}

fn requirements(p: &Param<'_>) -> DecodeResult<FunctionalUnits> {
    match p.value {
        &[hi, lo] => Ok(FunctionalUnits(u16::from_be_bytes([hi, lo]))),
        _ => Err(err(
            p.li_offset(),
            ErrorKind::BadLength("session user requirements must be 2 octets"),
        )),
    }
}

/// CONNECT (CN, SI 13).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Connect {
    /// Connection Identifier (PGI 1).
    pub connection_identifier: Option<ConnectionIdentifier>,
    /// Connect/Accept Item (PGI 5).
    pub connect_accept: Option<ConnectAcceptItem>,
    /// Session User Requirements (PI 20); absent means [`FunctionalUnits::DEFAULT`].
    pub requirements: Option<FunctionalUnits>,
    /// Calling Session Selector (PI 51).
    pub calling_ssel: Option<SSelector>,
    /// Called Session Selector (PI 52).
    pub called_ssel: Option<SSelector>,
    /// Data Overflow (PI 60).
    pub data_overflow: Option<DataOverflow>,
    /// User Data (PGI 193) or Extended User Data (PGI 194).
    pub user_data: Option<ConnectUserData>,
    /// Unknown parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl Connect {
    fn decode(data: &[u8], start: usize, end: usize) -> DecodeResult<Self> {
        let mut s = Self::default();
        let unknown = walk(data, start, end, |p| {
            match p.code {
                pgi::CONNECTION_IDENTIFIER => set_once(
                    &mut s.connection_identifier,
                    ConnectionIdentifier::decode(data, p)?,
                    p,
                    "at most one connection identifier",
                )?,
                pgi::CONNECT_ACCEPT_ITEM => set_once(
                    &mut s.connect_accept,
                    ConnectAcceptItem::decode(data, p)?,
                    p,
                    "at most one connect/accept item",
                )?,
                pi::SESSION_USER_REQUIREMENTS => set_once(
                    &mut s.requirements,
                    requirements(p)?,
                    p,
                    "at most one session user requirements",
                )?,
                pi::CALLING_SESSION_SELECTOR => set_once(
                    &mut s.calling_ssel,
                    SSelector::decode(p)?,
                    p,
                    "at most one calling session selector",
                )?,
                pi::CALLED_SESSION_SELECTOR => set_once(
                    &mut s.called_ssel,
                    SSelector::decode(p)?,
                    p,
                    "at most one called session selector",
                )?,
                pi::DATA_OVERFLOW => set_once(
                    &mut s.data_overflow,
                    DataOverflow(one_octet(p, "data overflow must be 1 octet")?),
                    p,
                    "at most one data overflow",
                )?,
                pgi::USER_DATA => set_once(
                    &mut s.user_data,
                    ConnectUserData::Basic(p.value.to_vec()),
                    p,
                    "at most one user data (PGI 193 or 194)",
                )?,
                pgi::EXTENDED_USER_DATA => set_once(
                    &mut s.user_data,
                    ConnectUserData::Extended(p.value.to_vec()),
                    p,
                    "at most one user data (PGI 193 or 194)",
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.unknown = unknown;
        Ok(s)
    }

    fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(c) = &self.connection_identifier {
            put_group(out, pgi::CONNECTION_IDENTIFIER, |out| c.encode_into(out))?;
        }
        if let Some(c) = &self.connect_accept {
            put_group(out, pgi::CONNECT_ACCEPT_ITEM, |out| c.encode_into(out))?;
        }
        if let Some(r) = self.requirements {
            put_param(out, pi::SESSION_USER_REQUIREMENTS, &r.0.to_be_bytes())?;
        }
        put_opt(
            out,
            pi::CALLING_SESSION_SELECTOR,
            self.calling_ssel.as_ref().map(SSelector::as_bytes),
        )?;
        put_opt(
            out,
            pi::CALLED_SESSION_SELECTOR,
            self.called_ssel.as_ref().map(SSelector::as_bytes),
        )?;
        put_octet(out, pi::DATA_OVERFLOW, self.data_overflow.map(|d| d.0))?;
        put_unknown(out, &self.unknown)?;
        if let Some(u) = &self.user_data {
            put_param(out, u.pgi().code(), u.bytes())?;
        }
        Ok(())
    }

    /// The session versions offered (from the Connect/Accept Item; empty when absent).
    pub fn versions(&self) -> Vec<u8> {
        self.connect_accept
            .as_ref()
            .and_then(|c| c.version)
            .map(VersionNumber::versions)
            .unwrap_or_default()
    }

    /// The functional units in force: PI 20, or the ISO 8327 default when absent.
    pub fn effective_requirements(&self) -> FunctionalUnits {
        self.requirements.unwrap_or(FunctionalUnits::DEFAULT)
    }

    /// Names of the functional units proposed (see [`Connect::effective_requirements`]).
    pub fn functional_units(&self) -> Vec<&'static str> {
        self.effective_requirements().names()
    }

    /// The Protocol Options, when present.
    pub fn protocol_options(&self) -> Option<ProtocolOptions> {
        self.connect_accept.as_ref()?.protocol_options
    }

    /// The TSDU maximum sizes, when present.
    pub fn tsdu_maximum_size(&self) -> Option<TsduMaximumSize> {
        self.connect_accept.as_ref()?.tsdu_maximum_size
    }

    /// The Initial Serial Number, when present.
    pub fn initial_serial_number(&self) -> Option<&SerialNumber> {
        self.connect_accept.as_ref()?.initial_serial_number.as_ref()
    }

    /// The user data octets and the PGI that carried them.
    pub fn user_data(&self) -> Option<(&[u8], UserDataPgi)> {
        self.user_data.as_ref().map(|u| (u.bytes(), u.pgi()))
    }
}

/// ACCEPT (AC, SI 14).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Accept {
    /// Connection Identifier (PGI 1).
    pub connection_identifier: Option<ConnectionIdentifier>,
    /// Connect/Accept Item (PGI 5).
    pub connect_accept: Option<ConnectAcceptItem>,
    /// Token Item (PI 16).
    pub token_item: Option<Tokens>,
    /// Session User Requirements (PI 20).
    pub requirements: Option<FunctionalUnits>,
    /// Enclosure Item (PI 25).
    pub enclosure: Option<EnclosureItem>,
    /// Calling Session Selector (PI 51).
    pub calling_ssel: Option<SSelector>,
    /// Responding Session Selector (PI 52).
    pub responding_ssel: Option<SSelector>,
    /// User Data (PGI 193).
    pub user_data: Option<Vec<u8>>,
    /// Unknown parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl Accept {
    fn decode(data: &[u8], start: usize, end: usize) -> DecodeResult<Self> {
        let mut s = Self::default();
        let unknown = walk(data, start, end, |p| {
            match p.code {
                pgi::CONNECTION_IDENTIFIER => set_once(
                    &mut s.connection_identifier,
                    ConnectionIdentifier::decode(data, p)?,
                    p,
                    "at most one connection identifier",
                )?,
                pgi::CONNECT_ACCEPT_ITEM => set_once(
                    &mut s.connect_accept,
                    ConnectAcceptItem::decode(data, p)?,
                    p,
                    "at most one connect/accept item",
                )?,
                pi::TOKEN_ITEM => set_once(
                    &mut s.token_item,
                    Tokens(one_octet(p, "token item must be 1 octet")?),
                    p,
                    "at most one token item",
                )?,
                pi::SESSION_USER_REQUIREMENTS => set_once(
                    &mut s.requirements,
                    requirements(p)?,
                    p,
                    "at most one session user requirements",
                )?,
                pi::ENCLOSURE_ITEM => set_once(
                    &mut s.enclosure,
                    EnclosureItem(one_octet(p, "enclosure item must be 1 octet")?),
                    p,
                    "at most one enclosure item",
                )?,
                pi::CALLING_SESSION_SELECTOR => set_once(
                    &mut s.calling_ssel,
                    SSelector::decode(p)?,
                    p,
                    "at most one calling session selector",
                )?,
                pi::CALLED_SESSION_SELECTOR => set_once(
                    &mut s.responding_ssel,
                    SSelector::decode(p)?,
                    p,
                    "at most one responding session selector",
                )?,
                pgi::USER_DATA => set_once(
                    &mut s.user_data,
                    p.value.to_vec(),
                    p,
                    "at most one user data",
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.unknown = unknown;
        Ok(s)
    }

    fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(c) = &self.connection_identifier {
            put_group(out, pgi::CONNECTION_IDENTIFIER, |out| c.encode_into(out))?;
        }
        if let Some(c) = &self.connect_accept {
            put_group(out, pgi::CONNECT_ACCEPT_ITEM, |out| c.encode_into(out))?;
        }
        put_octet(out, pi::TOKEN_ITEM, self.token_item.map(|t| t.0))?;
        if let Some(r) = self.requirements {
            put_param(out, pi::SESSION_USER_REQUIREMENTS, &r.0.to_be_bytes())?;
        }
        put_octet(out, pi::ENCLOSURE_ITEM, self.enclosure.map(|e| e.0))?;
        put_opt(
            out,
            pi::CALLING_SESSION_SELECTOR,
            self.calling_ssel.as_ref().map(SSelector::as_bytes),
        )?;
        put_opt(
            out,
            pi::CALLED_SESSION_SELECTOR,
            self.responding_ssel.as_ref().map(SSelector::as_bytes),
        )?;
        put_unknown(out, &self.unknown)?;
        put_opt(out, pgi::USER_DATA, self.user_data.as_deref())
    }

    /// The session versions accepted (from the Connect/Accept Item; empty when absent).
    pub fn versions(&self) -> Vec<u8> {
        self.connect_accept
            .as_ref()
            .and_then(|c| c.version)
            .map(VersionNumber::versions)
            .unwrap_or_default()
    }

    /// The functional units in force: PI 20, or the ISO 8327 default when absent.
    pub fn effective_requirements(&self) -> FunctionalUnits {
        self.requirements.unwrap_or(FunctionalUnits::DEFAULT)
    }

    /// Names of the functional units selected (see [`Accept::effective_requirements`]).
    pub fn functional_units(&self) -> Vec<&'static str> {
        self.effective_requirements().names()
    }

    /// The Protocol Options, when present.
    pub fn protocol_options(&self) -> Option<ProtocolOptions> {
        self.connect_accept.as_ref()?.protocol_options
    }

    /// The TSDU maximum sizes, when present.
    pub fn tsdu_maximum_size(&self) -> Option<TsduMaximumSize> {
        self.connect_accept.as_ref()?.tsdu_maximum_size
    }
}

/// REFUSE (RF, SI 12).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Refuse {
    /// Connection Identifier (PGI 1).
    pub connection_identifier: Option<ConnectionIdentifier>,
    /// Transport Disconnect (PI 17).
    pub transport_disconnect: Option<TransportDisconnect>,
    /// Session User Requirements (PI 20).
    pub requirements: Option<FunctionalUnits>,
    /// Version Number (PI 22).
    pub version: Option<VersionNumber>,
    /// Enclosure Item (PI 25).
    pub enclosure: Option<EnclosureItem>,
    /// Reason Code (PI 50).
    pub reason: Option<ReasonCode>,
    /// Unknown parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl Refuse {
    fn decode(data: &[u8], start: usize, end: usize) -> DecodeResult<Self> {
        let mut s = Self::default();
        let unknown = walk(data, start, end, |p| {
            match p.code {
                pgi::CONNECTION_IDENTIFIER => set_once(
                    &mut s.connection_identifier,
                    ConnectionIdentifier::decode(data, p)?,
                    p,
                    "at most one connection identifier",
                )?,
                pi::TRANSPORT_DISCONNECT => set_once(
                    &mut s.transport_disconnect,
                    TransportDisconnect(one_octet(p, "transport disconnect must be 1 octet")?),
                    p,
                    "at most one transport disconnect",
                )?,
                pi::SESSION_USER_REQUIREMENTS => set_once(
                    &mut s.requirements,
                    requirements(p)?,
                    p,
                    "at most one session user requirements",
                )?,
                pi::VERSION_NUMBER => set_once(
                    &mut s.version,
                    VersionNumber(one_octet(p, "version number must be 1 octet")?),
                    p,
                    "at most one version number",
                )?,
                pi::ENCLOSURE_ITEM => set_once(
                    &mut s.enclosure,
                    EnclosureItem(one_octet(p, "enclosure item must be 1 octet")?),
                    p,
                    "at most one enclosure item",
                )?,
                pi::REASON_CODE => set_once(
                    &mut s.reason,
                    ReasonCode::decode(p)?,
                    p,
                    "at most one reason code",
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.unknown = unknown;
        Ok(s)
    }

    fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(c) = &self.connection_identifier {
            put_group(out, pgi::CONNECTION_IDENTIFIER, |out| c.encode_into(out))?;
        }
        put_octet(
            out,
            pi::TRANSPORT_DISCONNECT,
            self.transport_disconnect.map(|t| t.0),
        )?;
        if let Some(r) = self.requirements {
            put_param(out, pi::SESSION_USER_REQUIREMENTS, &r.0.to_be_bytes())?;
        }
        put_octet(out, pi::VERSION_NUMBER, self.version.map(|v| v.0))?;
        put_octet(out, pi::ENCLOSURE_ITEM, self.enclosure.map(|e| e.0))?;
        put_unknown(out, &self.unknown)?;
        if let Some(r) = &self.reason {
            put_param(out, pi::REASON_CODE, &r.bytes())?;
        }
        Ok(())
    }

    /// RFC 1698 6.3: rejected by the SS-user, no reason (`0C 03 32 01 00`).
    pub fn user_no_reason() -> Self {
        Self {
            reason: Some(ReasonCode {
                reason: crate::params::RefuseReason::UserNoReason,
                user_data: Vec::new(),
            }),
            ..Self::default()
        }
    }
}

/// Reason of an ABORT, read from its Transport Disconnect parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbortReason {
    /// Bit 2: user abort.
    UserAbort,
    /// Bit 3: protocol error.
    ProtocolError,
    /// Bit 4: no reason.
    NoReason,
    /// Bit 5: implementation restriction stated in the PICS.
    ImplementationRestriction,
    /// No reason bit set, or no Transport Disconnect parameter.
    Unspecified,
}

impl AbortReason {
    /// A name for display.
    pub fn name(self) -> &'static str {
        match self {
            Self::UserAbort => "user-abort",
            Self::ProtocolError => "protocol-error",
            Self::NoReason => "no-reason",
            Self::ImplementationRestriction => "implementation-restriction",
            Self::Unspecified => "unspecified",
        }
    }
}

macro_rules! simple_spdu {
    (
        $(#[$doc:meta])* $name:ident {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ident = $code:expr, $what:literal; )*
        }
        $( user_data $(#[$udoc:meta])* )?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            $( $(#[$fdoc])* pub $field: Option<$ty>, )*
            $( $(#[$udoc])* pub user_data: Option<Vec<u8>>, )?
            /// Unknown parameters, kept raw.
            pub unknown: Vec<RawParameter>,
        }

        impl $name {
            fn decode(data: &[u8], start: usize, end: usize) -> DecodeResult<Self> {
                #[allow(unused_mut)]
                let mut s = Self::default();
                let unknown = walk(data, start, end, |p| {
                    let known = match p.code {
                        $( c if c == $code => {
                            set_once(
                                &mut s.$field,
                                <$ty as Octet>::from_param(p, concat!($what, " must be 1 octet"))?,
                                p,
                                concat!("at most one ", $what),
                            )?;
                            true
                        } )*
                        $( c if c == pgi::USER_DATA => {
                            let _ = stringify!($($udoc)*);
                            set_once(&mut s.user_data, p.value.to_vec(), p, "at most one user data")?;
                            true
                        } )?
                        _ => false,
                    };
                    Ok(known)
                })?;
                s.unknown = unknown;
                Ok(s)
            }

            fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                $( put_octet(out, $code, self.$field.map(Octet::octet))?; )*
                put_unknown(out, &self.unknown)?;
                $( let _ = stringify!($($udoc)*);
                   put_opt(out, pgi::USER_DATA, self.user_data.as_deref())?; )?
                Ok(())
            }
        }
    };
}

/// A one-octet parameter value.
trait Octet: Sized {
    fn from_param(p: &Param<'_>, what: &'static str) -> DecodeResult<Self>;
    fn octet(self) -> u8;
}

macro_rules! octet_param {
    ($($t:ident),*) => {$(
        impl Octet for $t {
            fn from_param(p: &Param<'_>, what: &'static str) -> DecodeResult<Self> {
                Ok($t(one_octet(p, what)?))
            }
            fn octet(self) -> u8 {
                self.0
            }
        }
    )*};
}
octet_param!(TransportDisconnect, EnclosureItem, Tokens);

simple_spdu! {
    /// FINISH (FN, SI 9).
    Finish {
        /// Transport Disconnect (PI 17); absent means the transport connection is released.
        transport_disconnect: TransportDisconnect = pi::TRANSPORT_DISCONNECT, "transport disconnect";
        /// Enclosure Item (PI 25).
        enclosure: EnclosureItem = pi::ENCLOSURE_ITEM, "enclosure item";
    }
    user_data
    /// User Data (PGI 193).
}

simple_spdu! {
    /// DISCONNECT (DN, SI 10).
    Disconnect {
        /// Enclosure Item (PI 25).
        enclosure: EnclosureItem = pi::ENCLOSURE_ITEM, "enclosure item";
    }
    user_data
    /// User Data (PGI 193).
}

simple_spdu! {
    /// NOT FINISHED (NF, SI 8).
    NotFinished {
        /// Enclosure Item (PI 25).
        enclosure: EnclosureItem = pi::ENCLOSURE_ITEM, "enclosure item";
    }
    user_data
    /// User Data (PGI 193).
}

simple_spdu! {
    /// ABORT ACCEPT (AA, SI 26): no parameters.
    AbortAccept {}
}

simple_spdu! {
    /// GIVE TOKENS (GT, SI 1, category 0). In a basic concatenation it carries no user data.
    GiveTokens {
        /// Token Item (PI 16).
        token_item: Tokens = pi::TOKEN_ITEM, "token item";
        /// Enclosure Item (PI 25).
        enclosure: EnclosureItem = pi::ENCLOSURE_ITEM, "enclosure item";
    }
    user_data
    /// User Data (PGI 193).
}

simple_spdu! {
    /// DATA TRANSFER (DT, SI 1, category 2). Its User Information follows it in the TSDU and
    /// is not counted in its LI (see [`crate::Tsdu::user_information`]).
    DataTransfer {
        /// Enclosure Item (PI 25).
        enclosure: EnclosureItem = pi::ENCLOSURE_ITEM, "enclosure item";
    }
}

simple_spdu! {
    /// CONNECT DATA OVERFLOW (CDO, SI 15).
    ConnectDataOverflow {
        /// Enclosure Item (PI 25).
        enclosure: EnclosureItem = pi::ENCLOSURE_ITEM, "enclosure item";
    }
    user_data
    /// User Data (PGI 193): the next part of the CONNECT user data.
}

/// ABORT (AB, SI 25).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Abort {
    /// Transport Disconnect (PI 17).
    pub transport_disconnect: Option<TransportDisconnect>,
    /// Enclosure Item (PI 25).
    pub enclosure: Option<EnclosureItem>,
    /// Reflect Parameter Values (PI 49), up to 9 octets (kept raw).
    pub reflect_parameter_values: Option<Vec<u8>>,
    /// User Data (PGI 193).
    pub user_data: Option<Vec<u8>>,
    /// Unknown parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl Abort {
    fn decode(data: &[u8], start: usize, end: usize) -> DecodeResult<Self> {
        let mut s = Self::default();
        let unknown = walk(data, start, end, |p| {
            match p.code {
                pi::TRANSPORT_DISCONNECT => set_once(
                    &mut s.transport_disconnect,
                    TransportDisconnect(one_octet(p, "transport disconnect must be 1 octet")?),
                    p,
                    "at most one transport disconnect",
                )?,
                pi::ENCLOSURE_ITEM => set_once(
                    &mut s.enclosure,
                    EnclosureItem(one_octet(p, "enclosure item must be 1 octet")?),
                    p,
                    "at most one enclosure item",
                )?,
                pi::REFLECT_PARAMETER_VALUES => set_once(
                    &mut s.reflect_parameter_values,
                    p.value.to_vec(),
                    p,
                    "at most one reflect parameter values",
                )?,
                pgi::USER_DATA => set_once(
                    &mut s.user_data,
                    p.value.to_vec(),
                    p,
                    "at most one user data",
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.unknown = unknown;
        Ok(s)
    }

    fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_octet(
            out,
            pi::TRANSPORT_DISCONNECT,
            self.transport_disconnect.map(|t| t.0),
        )?;
        put_octet(out, pi::ENCLOSURE_ITEM, self.enclosure.map(|e| e.0))?;
        put_opt(
            out,
            pi::REFLECT_PARAMETER_VALUES,
            self.reflect_parameter_values.as_deref(),
        )?;
        put_unknown(out, &self.unknown)?;
        put_opt(out, pgi::USER_DATA, self.user_data.as_deref())
    }

    /// The abort reason (first reason bit set in the Transport Disconnect parameter).
    pub fn reason(&self) -> AbortReason {
        match self.transport_disconnect {
            Some(t) if t.user_abort() => AbortReason::UserAbort,
            Some(t) if t.protocol_error() => AbortReason::ProtocolError,
            Some(t) if t.no_reason() => AbortReason::NoReason,
            Some(t) if t.implementation_restriction() => AbortReason::ImplementationRestriction,
            _ => AbortReason::Unspecified,
        }
    }
}

/// OVERFLOW ACCEPT (OA, SI 16).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OverflowAccept {
    /// TSDU Maximum Size (PI 21).
    pub tsdu_maximum_size: Option<TsduMaximumSize>,
    /// Version Number (PI 22).
    pub version: Option<VersionNumber>,
    /// Unknown parameters, kept raw.
    pub unknown: Vec<RawParameter>,
}

impl OverflowAccept {
    fn decode(data: &[u8], start: usize, end: usize) -> DecodeResult<Self> {
        let mut s = Self::default();
        let unknown = walk(data, start, end, |p| {
            match p.code {
                pi::TSDU_MAXIMUM_SIZE => set_once(
                    &mut s.tsdu_maximum_size,
                    decode_tsdu_max(p)?,
                    p,
                    "at most one TSDU maximum size",
                )?,
                pi::VERSION_NUMBER => set_once(
                    &mut s.version,
                    VersionNumber(one_octet(p, "version number must be 1 octet")?),
                    p,
                    "at most one version number",
                )?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        s.unknown = unknown;
        Ok(s)
    }

    fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(t) = self.tsdu_maximum_size {
            put_param(out, pi::TSDU_MAXIMUM_SIZE, &tsdu_max_bytes(t))?;
        }
        put_octet(out, pi::VERSION_NUMBER, self.version.map(|v| v.0))?;
        put_unknown(out, &self.unknown)
    }
}

/// An SPDU of a type this codec does not decode field by field: its type and its parameters,
/// raw, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GenericSpdu {
    /// The SPDU type.
    pub spdu_type: SpduType,
    /// Its parameters (PIs and PGIs), raw.
    pub parameters: Vec<RawParameter>,
}

/// One SPDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Spdu {
    /// CONNECT.
    Connect(Connect),
    /// ACCEPT.
    Accept(Accept),
    /// REFUSE.
    Refuse(Refuse),
    /// FINISH.
    Finish(Finish),
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// NOT FINISHED.
    NotFinished(NotFinished),
    /// ABORT.
    Abort(Abort),
    /// ABORT ACCEPT.
    AbortAccept(AbortAccept),
    /// GIVE TOKENS.
    GiveTokens(GiveTokens),
    /// DATA TRANSFER.
    DataTransfer(DataTransfer),
    /// CONNECT DATA OVERFLOW.
    ConnectDataOverflow(ConnectDataOverflow),
    /// OVERFLOW ACCEPT.
    OverflowAccept(OverflowAccept),
    /// Any other SPDU type.
    Other(GenericSpdu),
}

impl Spdu {
    /// The SPDU's type.
    pub fn spdu_type(&self) -> SpduType {
        match self {
            Spdu::Connect(_) => SpduType::Connect,
            Spdu::Accept(_) => SpduType::Accept,
            Spdu::Refuse(_) => SpduType::Refuse,
            Spdu::Finish(_) => SpduType::Finish,
            Spdu::Disconnect(_) => SpduType::Disconnect,
            Spdu::NotFinished(_) => SpduType::NotFinished,
            Spdu::Abort(_) => SpduType::Abort,
            Spdu::AbortAccept(_) => SpduType::AbortAccept,
            Spdu::GiveTokens(_) => SpduType::GiveTokens,
            Spdu::DataTransfer(_) => SpduType::DataTransfer,
            Spdu::ConnectDataOverflow(_) => SpduType::ConnectDataOverflow,
            Spdu::OverflowAccept(_) => SpduType::OverflowAccept,
            Spdu::Other(g) => g.spdu_type,
        }
    }

    /// The ISO 8327 abbreviation of its type.
    pub fn name(&self) -> &'static str {
        self.spdu_type().name()
    }

    /// The SS-user data the SPDU carries in PGI 193 (or 194 for a CONNECT): the presentation
    /// PDU of CN, AC, FN, DN, NF, AB, GT and CDO. `None` for other types and when absent (a
    /// REFUSE's user data is in its [`ReasonCode`]; DT's follows it in the TSDU).
    pub fn user_data(&self) -> Option<&[u8]> {
        match self {
            Spdu::Connect(s) => s.user_data.as_ref().map(ConnectUserData::bytes),
            Spdu::Accept(s) => s.user_data.as_deref(),
            Spdu::Finish(s) => s.user_data.as_deref(),
            Spdu::Disconnect(s) => s.user_data.as_deref(),
            Spdu::NotFinished(s) => s.user_data.as_deref(),
            Spdu::Abort(s) => s.user_data.as_deref(),
            Spdu::GiveTokens(s) => s.user_data.as_deref(),
            Spdu::ConnectDataOverflow(s) => s.user_data.as_deref(),
            _ => None,
        }
    }

    /// Appends the SPDU (SI, shortest LI, parameters in ISO 8327-1 order, unknown parameters
    /// before the user data). DT and TD User Information is not part of the SPDU; append it
    /// after (see [`crate::Tsdu::encode`]).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        // SI, a one-octet LI placeholder, then the parameters written in place; an LI of 255
        // or more widens the placeholder afterwards. Nothing is appended on error.
        let start = out.len();
        out.reserve(self.user_data().map_or(0, <[u8]>::len) + 64);
        out.push(self.spdu_type().si());
        out.push(0);
        if let Err(e) = self.encode_body(out) {
            out.truncate(start);
            return Err(e);
        }
        let len = out.len() - start - 2;
        if len < 255 {
            out[start + 1] = len as u8;
        } else if len <= MAX_LI {
            // Two more LI octets before the parameters: moved up by two within the buffer.
            out[start + 1] = 0xFF;
            out.extend_from_slice(&[0, 0]);
            out.copy_within(start + 2..start + 2 + len, start + 4);
            out[start + 2..start + 4].copy_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.truncate(start);
            return Err(EncodeError::TooLong {
                what: "SPDU parameters",
                len,
                max: MAX_LI,
            });
        }
        Ok(())
    }

    /// Appends the parameters (the SPDU's body, after SI and LI).
    fn encode_body(&self, body: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Spdu::Connect(s) => s.encode_params(body)?,
            Spdu::Accept(s) => s.encode_params(body)?,
            Spdu::Refuse(s) => s.encode_params(body)?,
            Spdu::Finish(s) => s.encode_params(body)?,
            Spdu::Disconnect(s) => s.encode_params(body)?,
            Spdu::NotFinished(s) => s.encode_params(body)?,
            Spdu::Abort(s) => s.encode_params(body)?,
            Spdu::AbortAccept(s) => s.encode_params(body)?,
            Spdu::GiveTokens(s) => s.encode_params(body)?,
            Spdu::DataTransfer(s) => s.encode_params(body)?,
            Spdu::ConnectDataOverflow(s) => s.encode_params(body)?,
            Spdu::OverflowAccept(s) => s.encode_params(body)?,
            Spdu::Other(g) => put_unknown(body, &g.parameters)?,
        }
        Ok(())
    }

    /// The encoding as a new buffer.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

/// Reads the SPDU header at `pos`: returns the parameter region `[start, end)`.
pub(crate) fn spdu_header(data: &[u8], pos: usize) -> DecodeResult<(usize, usize)> {
    if data.len() < pos + 2 {
        return Err(truncated(
            pos,
            "SPDU header",
            2,
            data.len().saturating_sub(pos),
        ));
    }
    let (li, n) = read_li(data, pos + 1, data.len(), "SPDU length indicator")?;
    let start = pos + 1 + n;
    let end = start + li;
    if end > data.len() {
        return Err(truncated(
            pos + 1,
            "SPDU parameters",
            li,
            data.len().saturating_sub(start),
        ));
    }
    Ok((start, end))
}

/// Decodes the SPDU at `pos` as type `ty`; returns it and the offset after it.
pub(crate) fn decode_spdu_at(data: &[u8], pos: usize, ty: SpduType) -> DecodeResult<(Spdu, usize)> {
    let (start, end) = spdu_header(data, pos)?;
    let spdu = match ty {
        SpduType::Connect => Spdu::Connect(Connect::decode(data, start, end)?),
        SpduType::Accept => Spdu::Accept(Accept::decode(data, start, end)?),
        SpduType::Refuse => Spdu::Refuse(Refuse::decode(data, start, end)?),
        SpduType::Finish => Spdu::Finish(Finish::decode(data, start, end)?),
        SpduType::Disconnect => Spdu::Disconnect(Disconnect::decode(data, start, end)?),
        SpduType::NotFinished => Spdu::NotFinished(NotFinished::decode(data, start, end)?),
        SpduType::Abort => Spdu::Abort(Abort::decode(data, start, end)?),
        SpduType::AbortAccept => Spdu::AbortAccept(AbortAccept::decode(data, start, end)?),
        SpduType::GiveTokens => Spdu::GiveTokens(GiveTokens::decode(data, start, end)?),
        SpduType::DataTransfer => Spdu::DataTransfer(DataTransfer::decode(data, start, end)?),
        SpduType::ConnectDataOverflow => {
            Spdu::ConnectDataOverflow(ConnectDataOverflow::decode(data, start, end)?)
        }
        SpduType::OverflowAccept => Spdu::OverflowAccept(OverflowAccept::decode(data, start, end)?),
        other => Spdu::Other(GenericSpdu {
            spdu_type: other,
            parameters: walk(data, start, end, |_| Ok(false))?,
        }),
    };
    Ok((spdu, end))
}
