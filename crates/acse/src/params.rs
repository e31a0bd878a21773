//! Typed values of the ACSE parameters: the X.227 / ISO 8650 APDU field values and the X.217
//! service parameters the protocol machine will use.
//!
//! Integer-valued fields are enums with an `Unknown(i64)` fallback, so that an extensible value
//! received from a newer peer still decodes. Build them with `from_i64`, which only produces
//! `Unknown` for numbers that have no name (so equal numbers give equal values).

use guls_ber::{BitString, int_enum};

int_enum! {
    /// `Associate-result` (AARE `result [2]`); X.217 9.1.1.16 Result. Defaults to accepted.
    #[derive(Default)]
    AssociateResult {
        /// accepted (0).
        #[default]
        Accepted = 0 => "accepted",
        /// rejected-permanent (1).
        RejectedPermanent = 1 => "rejected-permanent",
        /// rejected-transient (2).
        RejectedTransient = 2 => "rejected-transient",
    }
}

int_enum! {
    /// The `acse-service-user [1]` arm of `Associate-source-diagnostic` (X.217 9.1.1.18, with
    /// the authentication values of ISO 8650 Amd.1).
    UserDiagnostic {
        /// null (0).
        Null = 0 => "null",
        /// no-reason-given (1).
        NoReasonGiven = 1 => "no-reason-given",
        /// application-context-name-not-supported (2).
        ApplicationContextNameNotSupported = 2 => "application-context-name-not-supported",
        /// calling-AP-title-not-recognized (3).
        CallingApTitleNotRecognized = 3 => "calling-AP-title-not-recognized",
        /// calling-AP-invocation-identifier-not-recognized (4).
        CallingApInvocationIdentifierNotRecognized = 4 => "calling-AP-invocation-identifier-not-recognized",
        /// calling-AE-qualifier-not-recognized (5).
        CallingAeQualifierNotRecognized = 5 => "calling-AE-qualifier-not-recognized",
        /// calling-AE-invocation-identifier-not-recognized (6).
        CallingAeInvocationIdentifierNotRecognized = 6 => "calling-AE-invocation-identifier-not-recognized",
        /// called-AP-title-not-recognized (7).
        CalledApTitleNotRecognized = 7 => "called-AP-title-not-recognized",
        /// called-AP-invocation-identifier-not-recognized (8).
        CalledApInvocationIdentifierNotRecognized = 8 => "called-AP-invocation-identifier-not-recognized",
        /// called-AE-qualifier-not-recognized (9).
        CalledAeQualifierNotRecognized = 9 => "called-AE-qualifier-not-recognized",
        /// called-AE-invocation-identifier-not-recognized (10).
        CalledAeInvocationIdentifierNotRecognized = 10 => "called-AE-invocation-identifier-not-recognized",
        /// authentication-mechanism-name-not-recognized (11).
        AuthenticationMechanismNameNotRecognized = 11 => "authentication-mechanism-name-not-recognized",
        /// authentication-mechanism-name-required (12).
        AuthenticationMechanismNameRequired = 12 => "authentication-mechanism-name-required",
        /// authentication-failure (13).
        AuthenticationFailure = 13 => "authentication-failure",
        /// authentication-required (14).
        AuthenticationRequired = 14 => "authentication-required",
    }
}

int_enum! {
    /// The `acse-service-provider [2]` arm of `Associate-source-diagnostic`.
    ProviderDiagnostic {
        /// null (0).
        Null = 0 => "null",
        /// no-reason-given (1).
        NoReasonGiven = 1 => "no-reason-given",
        /// no-common-acse-version (2).
        NoCommonAcseVersion = 2 => "no-common-acse-version",
    }
}

/// `Associate-source-diagnostic` (AARE `result-source-diagnostic [3]`), a CHOICE whose arm is the
/// X.217 Result Source and whose value is the Diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultSourceDiagnostic {
    /// `acse-service-user [1]`.
    ServiceUser(UserDiagnostic),
    /// `acse-service-provider [2]`.
    ServiceProvider(ProviderDiagnostic),
}

impl Default for ResultSourceDiagnostic {
    /// `acse-service-user: null`, the value sent with an accepted result.
    fn default() -> Self {
        ResultSourceDiagnostic::ServiceUser(UserDiagnostic::Null)
    }
}

impl ResultSourceDiagnostic {
    /// The X.217 Result Source this arm denotes.
    pub fn source(self) -> ResultSource {
        match self {
            ResultSourceDiagnostic::ServiceUser(_) => ResultSource::AcseServiceUser,
            ResultSourceDiagnostic::ServiceProvider(_) => ResultSource::AcseServiceProvider,
        }
    }

    /// The diagnostic number.
    pub fn value(self) -> i64 {
        match self {
            ResultSourceDiagnostic::ServiceUser(d) => d.value(),
            ResultSourceDiagnostic::ServiceProvider(d) => d.value(),
        }
    }

    /// The ASN.1 name of the diagnostic value.
    pub fn name(self) -> &'static str {
        match self {
            ResultSourceDiagnostic::ServiceUser(d) => d.name(),
            ResultSourceDiagnostic::ServiceProvider(d) => d.name(),
        }
    }
}

int_enum! {
    /// `Release-request-reason` (RLRQ `reason [0]`); X.217 9.2.1.1 on the request.
    ReleaseRequestReason {
        /// normal (0).
        Normal = 0 => "normal",
        /// urgent (1).
        Urgent = 1 => "urgent",
        /// user-defined (30).
        UserDefined = 30 => "user-defined",
    }
}

int_enum! {
    /// `Release-response-reason` (RLRE `reason [0]`); X.217 9.2.1.1 on the response.
    ReleaseResponseReason {
        /// normal (0).
        Normal = 0 => "normal",
        /// not-finished (1).
        NotFinished = 1 => "not-finished",
        /// user-defined (30).
        UserDefined = 30 => "user-defined",
    }
}

int_enum! {
    /// `ABRT-source` (ABRT `abort-source [0]`); X.217 9.3.1.1 Abort Source. Both values are
    /// accepted on receipt (RFC 1698 Part C R5); a user-requested abort sends service-user.
    AbortSource {
        /// acse-service-user (0).
        AcseServiceUser = 0 => "acse-service-user",
        /// acse-service-provider (1).
        AcseServiceProvider = 1 => "acse-service-provider",
    }
}

int_enum! {
    /// `ABRT-diagnostic` (ABRT `abort-diagnostic [1]`, ENUMERATED, ISO 8650 Amd.1).
    AbortDiagnostic {
        /// no-reason-given (1).
        NoReasonGiven = 1 => "no-reason-given",
        /// protocol-error (2).
        ProtocolError = 2 => "protocol-error",
        /// authentication-mechanism-name-not-recognized (3).
        AuthenticationMechanismNameNotRecognized = 3 => "authentication-mechanism-name-not-recognized",
        /// authentication-mechanism-name-required (4).
        AuthenticationMechanismNameRequired = 4 => "authentication-mechanism-name-required",
        /// authentication-failure (5).
        AuthenticationFailure = 5 => "authentication-failure",
        /// authentication-required (6).
        AuthenticationRequired = 6 => "authentication-required",
    }
}

/// `protocol-version [0] IMPLICIT BIT STRING {version1(0)} DEFAULT {version1}`.
///
/// Bits other than `version1` are ignored on receipt (SIA 10.6). The field is omitted on send
/// when it equals the default; otherwise it is written with its one named bit (`80 02 07 00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    /// `version1 (0)`.
    pub version1: bool,
}

impl Default for ProtocolVersion {
    fn default() -> Self {
        ProtocolVersion { version1: true }
    }
}

impl ProtocolVersion {
    /// The value of a received bit string.
    pub fn from_bits(bits: &BitString) -> Self {
        ProtocolVersion {
            version1: bits.bit(0),
        }
    }

    /// The bit string sent: exactly the one named bit.
    pub fn to_bits(self) -> BitString {
        let [unused_bits, b] = self.contents();
        BitString {
            unused_bits,
            bytes: vec![b],
        }
    }

    /// The contents octets of [`ProtocolVersion::to_bits`] (unused-bit count, then the
    /// octet), to write without building the bit string.
    pub(crate) fn contents(self) -> [u8; 2] {
        [7, if self.version1 { 0x80 } else { 0x00 }]
    }
}

/// `ACSE-requirements ::= BIT STRING {authentication(0), aSO-context-negotiation(1),
/// higher-level-association(2), nested-association(3)}` (AARQ `sender-acse-requirements [10]`,
/// AARE `responder-acse-requirements [8]`).
///
/// Unknown bits are ignored on receipt, whatever the unused-bit count. On send all four named
/// bits are written and no more (SIA 10.6), so `{authentication}` is `04 80`, the octets
/// libiec61850 sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AcseRequirements {
    /// `authentication (0)`: the authentication functional unit.
    pub authentication: bool,
    /// `application-context-negotiation (1)` (`aSO-context-negotiation` in X.227bis).
    pub application_context_negotiation: bool,
    /// `higher-level-association (2)` (X.227bis).
    pub higher_level_association: bool,
    /// `nested-association (3)` (X.227bis).
    pub nested_association: bool,
}

impl AcseRequirements {
    /// Only the authentication functional unit.
    pub fn authentication() -> Self {
        AcseRequirements {
            authentication: true,
            ..AcseRequirements::default()
        }
    }

    /// The value of a received bit string (unknown bits ignored).
    pub fn from_bits(bits: &BitString) -> Self {
        AcseRequirements {
            authentication: bits.bit(0),
            application_context_negotiation: bits.bit(1),
            higher_level_association: bits.bit(2),
            nested_association: bits.bit(3),
        }
    }

    /// The bit string sent: the four named bits.
    pub fn to_bits(self) -> BitString {
        let [unused_bits, b] = self.contents();
        BitString {
            unused_bits,
            bytes: vec![b],
        }
    }

    /// The contents octets of [`AcseRequirements::to_bits`] (unused-bit count, then the
    /// octet), to write without building the bit string.
    pub(crate) fn contents(self) -> [u8; 2] {
        let mut b = 0u8;
        for (i, set) in [
            self.authentication,
            self.application_context_negotiation,
            self.higher_level_association,
            self.nested_association,
        ]
        .into_iter()
        .enumerate()
        {
            if set {
                b |= 0x80 >> i;
            }
        }
        [4, b]
    }
}

/// X.217 9.1.1.1 Mode of an A-ASSOCIATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// normal mode: ACSE APDUs are exchanged (the default when absent on the request).
    #[default]
    Normal,
    /// X.410-1984 mode: no ACSE semantics are transferred.
    X410_1984,
}

/// X.217 9.1.1.17 Result Source of an A-ASSOCIATE confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultSource {
    /// ACSE service-user (always, when the result is accepted).
    AcseServiceUser,
    /// ACSE service-provider.
    AcseServiceProvider,
    /// presentation service-provider (never carried in an AARE: it comes from the layer below).
    PresentationServiceProvider,
}

/// X.217 9.2.1.3 Result of an A-RELEASE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseResult {
    /// affirmative: the association is released.
    Affirmative,
    /// negative: only with the session negotiated-release functional unit (9.2.2.5).
    Negative,
}

#[cfg(test)]
mod contents_tests {
    use super::*;
    use guls_ber::{Tag, Writer};

    /// The encoders write `contents()` as a primitive: the same octets as the bit string.
    #[test]
    fn contents_are_the_bit_string_octets() {
        for i in 0..16u8 {
            let r = AcseRequirements {
                authentication: i & 1 != 0,
                application_context_negotiation: i & 2 != 0,
                higher_level_association: i & 4 != 0,
                nested_association: i & 8 != 0,
            };
            let (mut a, mut b) = (Writer::new(), Writer::new());
            a.bit_string(Tag::context(10), &r.to_bits());
            b.primitive(Tag::context(10), &r.contents());
            assert_eq!(a.as_bytes(), b.as_bytes());
        }
        for version1 in [false, true] {
            let v = ProtocolVersion { version1 };
            let (mut a, mut b) = (Writer::new(), Writer::new());
            a.bit_string(Tag::context(0), &v.to_bits());
            b.primitive(Tag::context(0), &v.contents());
            assert_eq!(a.as_bytes(), b.as_bytes());
        }
        let auth = AcseRequirements {
            authentication: true,
            ..AcseRequirements::default()
        };
        let mut w = Writer::new();
        w.primitive(Tag::context(10), &auth.contents());
        assert_eq!(w.as_bytes(), [0x8a, 0x02, 0x04, 0x80]);
    }
}
