//! Typed values of the ISO 8823 kernel PPDUs.

use guls_ber::{BitString, ExternalEncoding, Oid};

/// A presentation context identifier as received (two's complement, at most 4 contents octets).
///
/// The codec does not check parity or range; see [`is_valid_pcid`].
pub type Pcid = i64;

/// True when `pcid` is one this stack may propose: odd and in 1..=32767 (RFC 1698 3.3,
/// OIW SIA 8.3.2). The codec never rejects other values; the protocol machine does.
pub fn is_valid_pcid(pcid: Pcid) -> bool {
    (1..=32767).contains(&pcid) && pcid % 2 == 1
}

use guls_ber::int_enum;

int_enum! {
    /// `Result` of a presentation context definition (and of the default context).
    ResultValue {
        /// acceptance (0).
        Acceptance = 0 => "acceptance",
        /// user-rejection (1).
        UserRejection = 1 => "user-rejection",
        /// provider-rejection (2).
        ProviderRejection = 2 => "provider-rejection",
    }
}

int_enum! {
    /// `provider-reason [2]` of a Result-list item.
    ResultReason {
        /// reason-not-specified (0).
        ReasonNotSpecified = 0 => "reason-not-specified",
        /// abstract-syntax-not-supported (1).
        AbstractSyntaxNotSupported = 1 => "abstract-syntax-not-supported",
        /// proposed-transfer-syntaxes-not-supported (2).
        ProposedTransferSyntaxesNotSupported = 2 => "proposed-transfer-syntaxes-not-supported",
        /// local-limit-on-DCS-exceeded (3).
        LocalLimitOnDcsExceeded = 3 => "local-limit-on-DCS-exceeded",
    }
}

int_enum! {
    /// `Provider-reason` of the CPR-PPDU (`[10]`).
    ProviderReason {
        /// reason-not-specified (0).
        ReasonNotSpecified = 0 => "reason-not-specified",
        /// temporary-congestion (1).
        TemporaryCongestion = 1 => "temporary-congestion",
        /// local-limit-exceeded (2).
        LocalLimitExceeded = 2 => "local-limit-exceeded",
        /// called-presentation-address-unknown (3).
        CalledPresentationAddressUnknown = 3 => "called-presentation-address-unknown",
        /// protocol-version-not-supported (4).
        ProtocolVersionNotSupported = 4 => "protocol-version-not-supported",
        /// default-context-not-supported (5).
        DefaultContextNotSupported = 5 => "default-context-not-supported",
        /// user-data-not-readable (6).
        UserDataNotReadable = 6 => "user-data-not-readable",
        /// no-PSAP-available (7).
        NoPsapAvailable = 7 => "no-PSAP-available",
    }
}

int_enum! {
    /// `Abort-reason` of the ARP-PPDU (`provider-reason [0]`).
    AbortReason {
        /// reason-not-specified (0).
        ReasonNotSpecified = 0 => "reason-not-specified",
        /// unrecognized-ppdu (1).
        UnrecognizedPpdu = 1 => "unrecognized-ppdu",
        /// unexpected-ppdu (2).
        UnexpectedPpdu = 2 => "unexpected-ppdu",
        /// unexpected-session-service-primitive (3).
        UnexpectedSessionServicePrimitive = 3 => "unexpected-session-service-primitive",
        /// unrecognized-ppdu-parameter (4).
        UnrecognizedPpduParameter = 4 => "unrecognized-ppdu-parameter",
        /// unexpected-ppdu-parameter (5).
        UnexpectedPpduParameter = 5 => "unexpected-ppdu-parameter",
        /// invalid-ppdu-parameter-value (6).
        InvalidPpduParameterValue = 6 => "invalid-ppdu-parameter-value",
    }
}

int_enum! {
    /// `Event-identifier` of the ARP-PPDU (`[1]`), as named in ISO 8823.
    EventIdentifier {
        /// cp-PPDU (0).
        CpPpdu = 0 => "cp-PPDU",
        /// cpa-PPDU (1).
        CpaPpdu = 1 => "cpa-PPDU",
        /// cpr-PPDU (2).
        CprPpdu = 2 => "cpr-PPDU",
        /// aru-PPDU (3).
        AruPpdu = 3 => "aru-PPDU",
        /// arp-PPDU (4).
        ArpPpdu = 4 => "arp-PPDU",
        /// ac-PPDU (5).
        AcPpdu = 5 => "ac-PPDU",
        /// aca-PPDU (6).
        AcaPpdu = 6 => "aca-PPDU",
        /// td-PPDU (7).
        TdPpdu = 7 => "td-PPDU",
        /// ttd-PPDU (8).
        TtdPpdu = 8 => "ttd-PPDU",
        /// te-PPDU (9).
        TePpdu = 9 => "te-PPDU",
        /// tc-PPDU (10).
        TcPpdu = 10 => "tc-PPDU",
        /// tcc-PPDU (11).
        TccPpdu = 11 => "tcc-PPDU",
        /// rs-PPDU (12).
        RsPpdu = 12 => "rs-PPDU",
        /// rsa-PPDU (13).
        RsaPpdu = 13 => "rsa-PPDU",
        /// s-release-indication (14).
        SReleaseIndication = 14 => "s-release-indication",
        /// s-release-confirm (15).
        SReleaseConfirm = 15 => "s-release-confirm",
        /// s-token-give-indication (16).
        STokenGiveIndication = 16 => "s-token-give-indication",
        /// s-token-please-indication (17).
        STokenPleaseIndication = 17 => "s-token-please-indication",
        /// s-control-give-indication (18).
        SControlGiveIndication = 18 => "s-control-give-indication",
        /// s-sync-minor-indication (19).
        SSyncMinorIndication = 19 => "s-sync-minor-indication",
        /// s-sync-minor-confirm (20).
        SSyncMinorConfirm = 20 => "s-sync-minor-confirm",
        /// s-sync-major-indication (21).
        SSyncMajorIndication = 21 => "s-sync-major-indication",
        /// s-sync-major-confirm (22).
        SSyncMajorConfirm = 22 => "s-sync-major-confirm",
        /// s-p-exception-report-indication (23).
        SPExceptionReportIndication = 23 => "s-p-exception-report-indication",
        /// s-u-exception-report-indication (24).
        SUExceptionReportIndication = 24 => "s-u-exception-report-indication",
        /// s-activity-start-indication (25).
        SActivityStartIndication = 25 => "s-activity-start-indication",
        /// s-activity-resume-indication (26).
        SActivityResumeIndication = 26 => "s-activity-resume-indication",
        /// s-activity-interrupt-indication (27).
        SActivityInterruptIndication = 27 => "s-activity-interrupt-indication",
        /// s-activity-interrupt-confirm (28).
        SActivityInterruptConfirm = 28 => "s-activity-interrupt-confirm",
        /// s-activity-discard-indication (29).
        SActivityDiscardIndication = 29 => "s-activity-discard-indication",
        /// s-activity-discard-confirm (30).
        SActivityDiscardConfirm = 30 => "s-activity-discard-confirm",
        /// s-activity-end-indication (31).
        SActivityEndIndication = 31 => "s-activity-end-indication",
        /// s-activity-end-confirm (32).
        SActivityEndConfirm = 32 => "s-activity-end-confirm",
    }
}

/// `Protocol-version ::= BIT STRING { version-1 (0) }`; unknown bits are ignored on receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProtocolVersion {
    /// version-1 (bit 0).
    pub version_1: bool,
}

impl ProtocolVersion {
    /// `{ version-1 }`, the only version defined.
    pub const VERSION_1: ProtocolVersion = ProtocolVersion { version_1: true };

    /// The named bits of a received BIT STRING.
    pub fn from_bits(b: &BitString) -> Self {
        ProtocolVersion {
            version_1: b.bit(0),
        }
    }

    /// The BIT STRING with every named bit encoded (OIW SIA 10.6).
    pub fn to_bits(self) -> BitString {
        named_bits(&[self.version_1])
    }
}

/// `Presentation-requirements ::= BIT STRING { context-management (0), restoration (1) }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PresentationRequirements {
    /// context-management (bit 0).
    pub context_management: bool,
    /// restoration (bit 1).
    pub restoration: bool,
}

impl PresentationRequirements {
    /// The named bits of a received BIT STRING; unknown bits are ignored.
    pub fn from_bits(b: &BitString) -> Self {
        PresentationRequirements {
            context_management: b.bit(0),
            restoration: b.bit(1),
        }
    }

    /// The BIT STRING with every named bit encoded (OIW SIA 10.6).
    pub fn to_bits(self) -> BitString {
        named_bits(&[self.context_management, self.restoration])
    }
}

/// `User-session-requirements` (the session functional units), bits 0..=10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UserSessionRequirements {
    /// half-duplex (0).
    pub half_duplex: bool,
    /// duplex (1).
    pub duplex: bool,
    /// expedited-data (2).
    pub expedited_data: bool,
    /// minor-synchronize (3).
    pub minor_synchronize: bool,
    /// major-synchronize (4).
    pub major_synchronize: bool,
    /// resynchronize (5).
    pub resynchronize: bool,
    /// activity-management (6).
    pub activity_management: bool,
    /// negotiated-release (7).
    pub negotiated_release: bool,
    /// capability-data (8).
    pub capability_data: bool,
    /// exceptions (9).
    pub exceptions: bool,
    /// typed-data (10).
    pub typed_data: bool,
}

impl UserSessionRequirements {
    /// Duplex only, what the kernel stack proposes (RFC 1698 6.1).
    pub const DUPLEX: UserSessionRequirements = UserSessionRequirements {
        half_duplex: false,
        duplex: true,
        expedited_data: false,
        minor_synchronize: false,
        major_synchronize: false,
        resynchronize: false,
        activity_management: false,
        negotiated_release: false,
        capability_data: false,
        exceptions: false,
        typed_data: false,
    };

    /// The named bits of a received BIT STRING; unknown bits are ignored.
    pub fn from_bits(b: &BitString) -> Self {
        UserSessionRequirements {
            half_duplex: b.bit(0),
            duplex: b.bit(1),
            expedited_data: b.bit(2),
            minor_synchronize: b.bit(3),
            major_synchronize: b.bit(4),
            resynchronize: b.bit(5),
            activity_management: b.bit(6),
            negotiated_release: b.bit(7),
            capability_data: b.bit(8),
            exceptions: b.bit(9),
            typed_data: b.bit(10),
        }
    }

    /// The BIT STRING with every named bit encoded (OIW SIA 10.6).
    pub fn to_bits(self) -> BitString {
        named_bits(&[
            self.half_duplex,
            self.duplex,
            self.expedited_data,
            self.minor_synchronize,
            self.major_synchronize,
            self.resynchronize,
            self.activity_management,
            self.negotiated_release,
            self.capability_data,
            self.exceptions,
            self.typed_data,
        ])
    }
}

/// A BIT STRING of exactly `bits.len()` bits (all named bits, trailing zeros included).
fn named_bits(bits: &[bool]) -> BitString {
    let mut bytes = vec![0u8; bits.len().div_ceil(8)];
    for (i, &b) in bits.iter().enumerate() {
        if b {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
    }
    BitString {
        unused_bits: (bytes.len() * 8 - bits.len()) as u8,
        bytes,
    }
}

/// One item of a Presentation-context-definition-list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextDefinition {
    /// The presentation context identifier.
    pub id: Pcid,
    /// The abstract syntax name.
    pub abstract_syntax: Oid,
    /// The proposed transfer syntaxes, in the order sent.
    pub transfer_syntaxes: Vec<Oid>,
}

/// `Default-context-name` (`[6]` of the CP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultContextName {
    /// `abstract-syntax-name [0]`.
    pub abstract_syntax: Oid,
    /// `transfer-syntax-name [1]`.
    pub transfer_syntax: Oid,
}

/// One item of a Presentation-context-definition-result-list (matched by position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextResult {
    /// `[0]` the result.
    pub result: ResultValue,
    /// `[1]` the accepted transfer syntax.
    pub transfer_syntax: Option<Oid>,
    /// `[2]` the provider's reason for a rejection.
    pub provider_reason: Option<ResultReason>,
}

impl ContextResult {
    /// An acceptance with the chosen transfer syntax.
    pub fn accept(transfer_syntax: Oid) -> Self {
        ContextResult {
            result: ResultValue::Acceptance,
            transfer_syntax: Some(transfer_syntax),
            provider_reason: None,
        }
    }

    /// A provider rejection with the given reason (RFC 1698 6.2: `80 01 02 82 01 00`).
    pub fn provider_rejection(reason: ResultReason) -> Self {
        ContextResult {
            result: ResultValue::ProviderRejection,
            transfer_syntax: None,
            provider_reason: Some(reason),
        }
    }
}

/// One item of a Presentation-context-identifier-list (ARU-PPDU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextIdentifier {
    /// The presentation context identifier.
    pub id: Pcid,
    /// Its transfer syntax.
    pub transfer_syntax: Oid,
}

/// The presentation data values of one PDV-list: the same CHOICE as EXTERNAL's encoding
/// (`single-ASN1-type [0]` keeping the value's raw TLV, `octet-aligned [1]`, `arbitrary [2]`).
pub type PdvValue = ExternalEncoding;

/// One PDV-list of fully-encoded data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdvList {
    /// The transfer syntax (present only in the CP when several were proposed, OIW SIA 8.6).
    pub transfer_syntax: Option<Oid>,
    /// The presentation context identifier.
    pub pcid: Pcid,
    /// The value(s).
    pub value: PdvValue,
}

impl PdvList {
    /// A PDV-list carrying one BER-encoded ASN.1 value (its complete TLV).
    pub fn single_asn1(pcid: Pcid, value: Vec<u8>) -> Self {
        PdvList {
            transfer_syntax: None,
            pcid,
            value: PdvValue::SingleAsn1Type(value),
        }
    }

    /// A PDV-list carrying octet-aligned data.
    pub fn octet_aligned(pcid: Pcid, value: Vec<u8>) -> Self {
        PdvList {
            transfer_syntax: None,
            pcid,
            value: PdvValue::OctetAligned(value),
        }
    }

    /// `single-asn1-type`, `octet-aligned` or `arbitrary`.
    pub fn encoding_name(&self) -> &'static str {
        self.value.name()
    }

    /// The carried octets (the value's TLV, the octet string, or the bit string's octets).
    pub fn value_bytes(&self) -> &[u8] {
        match &self.value {
            PdvValue::SingleAsn1Type(v) | PdvValue::OctetAligned(v) => v,
            PdvValue::Arbitrary(b) => &b.bytes,
        }
    }
}

/// `User-data`: the user data of CP, CPA, CPR and ARU, the TD PPDU, and the P-RELEASE user
/// data carried in FINISH / DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserData {
    /// `simply-encoded-data [APPLICATION 0] IMPLICIT OCTET STRING`.
    Simple(Vec<u8>),
    /// `fully-encoded-data [APPLICATION 1] IMPLICIT SEQUENCE OF PDV-list`.
    Full(Vec<PdvList>),
}

impl UserData {
    /// Fully-encoded data holding one single-ASN1-type PDV in context `pcid`.
    pub fn single_asn1(pcid: Pcid, value: Vec<u8>) -> Self {
        UserData::Full(vec![PdvList::single_asn1(pcid, value)])
    }

    /// The PDV-lists (empty for simply-encoded data).
    pub fn pdv_lists(&self) -> &[PdvList] {
        match self {
            UserData::Simple(_) => &[],
            UserData::Full(l) => l,
        }
    }
}

/// The CP-type PPDU (P-CONNECT request), normal mode.
///
/// Empty lists are sent as absent and an absent list decodes as empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cp {
    /// `[0]` protocol-version (`None` = absent, i.e. the DEFAULT version-1).
    pub protocol_version: Option<ProtocolVersion>,
    /// `[1]` calling-presentation-selector.
    pub calling_selector: Option<Vec<u8>>,
    /// `[2]` called-presentation-selector.
    pub called_selector: Option<Vec<u8>>,
    /// `[4]` presentation-context-definition-list.
    pub contexts: Vec<ContextDefinition>,
    /// `[6]` default-context-name.
    pub default_context: Option<DefaultContextName>,
    /// `[8]` presentation-requirements.
    pub presentation_requirements: Option<PresentationRequirements>,
    /// `[9]` user-session-requirements.
    pub user_session_requirements: Option<UserSessionRequirements>,
    /// user-data (carries the AARQ).
    pub user_data: Option<UserData>,
}

/// The CPA-PPDU (P-CONNECT accept), normal mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cpa {
    /// `[0]` protocol-version.
    pub protocol_version: Option<ProtocolVersion>,
    /// `[3]` responding-presentation-selector.
    pub responding_selector: Option<Vec<u8>>,
    /// `[5]` presentation-context-definition-result-list, in definition-list order.
    pub results: Vec<ContextResult>,
    /// `[8]` presentation-requirements.
    pub presentation_requirements: Option<PresentationRequirements>,
    /// `[9]` user-session-requirements.
    pub user_session_requirements: Option<UserSessionRequirements>,
    /// user-data (carries the AARE).
    pub user_data: Option<UserData>,
}

/// The CPR-PPDU (P-CONNECT reject), normal mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cpr {
    /// `[0]` protocol-version.
    pub protocol_version: Option<ProtocolVersion>,
    /// `[3]` responding-presentation-selector.
    pub responding_selector: Option<Vec<u8>>,
    /// `[5]` presentation-context-definition-result-list.
    pub results: Vec<ContextResult>,
    /// `[7]` default-context-result.
    pub default_context_result: Option<ResultValue>,
    /// `[10]` provider-reason.
    pub provider_reason: Option<ProviderReason>,
    /// user-data (carries the AARE).
    pub user_data: Option<UserData>,
}

/// The ARU-PPDU (P-U-ABORT), normal mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aru {
    /// `[0]` presentation-context-identifier-list.
    pub contexts: Vec<ContextIdentifier>,
    /// user-data (carries the ABRT).
    pub user_data: Option<UserData>,
}

/// The ARP-PPDU (P-P-ABORT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arp {
    /// `provider-reason [0]`.
    pub abort_reason: Option<AbortReason>,
    /// `event-identifier [1]`.
    pub event_identifier: Option<EventIdentifier>,
}

/// The Abort-type carried in the session ABORT SPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// User abort (`[0]`, tag A0).
    Aru(Aru),
    /// Provider abort (SEQUENCE, tag 30).
    Arp(Arp),
}

impl Abort {
    /// `"ARU"` or `"ARP"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Abort::Aru(_) => "ARU",
            Abort::Arp(_) => "ARP",
        }
    }
}
