//! The ACSE APDUs (X.227bis module ACSE-1, with ISO 8650 Amd.1 authentication fields).
//!
//! Tags follow the module, whose default tagging is EXPLICIT: `[1]`-`[9]` of the AARQ and
//! `[1]`-`[7]` of the AARE wrap their value, the fields marked IMPLICIT in the module do not.

use guls_ber::{DecodeResult, Element, ErrorKind, External, LengthForm, Oid, Tag, Writer};

use crate::auth::AuthenticationValue;
use crate::codec::{
    Seen, decode_user_information, encode_explicit_integer, encode_user_information,
    expect_constructed, explicit_inner, explicit_integer, small_integer,
};
use crate::params::{
    AbortDiagnostic, AbortSource, AcseRequirements, AssociateResult, ProtocolVersion,
    ProviderDiagnostic, ReleaseRequestReason, ReleaseResponseReason, ResultSourceDiagnostic,
    UserDiagnostic,
};
use crate::title::{AeQualifier, ApTitle};

/// `AARQ-apdu ::= [APPLICATION 0] IMPLICIT SEQUENCE` (A-ASSOCIATE request).
///
/// On receipt the fields may come in any order, and elements this edition does not define
/// (such as the X.227bis higher-level-association extensions `[14]`-`[16]`) are skipped
/// (SIA 10.6 for CONNECT-borne data); a field present twice is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aarq {
    /// `protocol-version [0]` (omitted on send when it is the default `{version1}`).
    pub protocol_version: ProtocolVersion,
    /// `application-context-name [1]` (mandatory).
    pub application_context_name: Oid,
    /// `called-AP-title [2]`.
    pub called_ap_title: Option<ApTitle>,
    /// `called-AE-qualifier [3]`.
    pub called_ae_qualifier: Option<AeQualifier>,
    /// `called-AP-invocation-identifier [4]` (at most 4 octets).
    pub called_ap_invocation_id: Option<i64>,
    /// `called-AE-invocation-identifier [5]` (at most 4 octets).
    pub called_ae_invocation_id: Option<i64>,
    /// `calling-AP-title [6]`.
    pub calling_ap_title: Option<ApTitle>,
    /// `calling-AE-qualifier [7]`.
    pub calling_ae_qualifier: Option<AeQualifier>,
    /// `calling-AP-invocation-identifier [8]` (at most 4 octets).
    pub calling_ap_invocation_id: Option<i64>,
    /// `calling-AE-invocation-identifier [9]` (at most 4 octets).
    pub calling_ae_invocation_id: Option<i64>,
    /// `sender-acse-requirements [10] IMPLICIT ACSE-requirements`.
    pub sender_acse_requirements: Option<AcseRequirements>,
    /// `mechanism-name [11] IMPLICIT OBJECT IDENTIFIER`.
    pub mechanism_name: Option<Oid>,
    /// `calling-authentication-value [12] EXPLICIT Authentication-value`.
    pub calling_authentication_value: Option<AuthenticationValue>,
    /// `application-context-name-list [13] IMPLICIT SEQUENCE OF OBJECT IDENTIFIER`; empty means
    /// absent.
    pub application_context_name_list: Vec<Oid>,
    /// `implementation-information [29] IMPLICIT GraphicString`, octets as received.
    pub implementation_information: Option<Vec<u8>>,
    /// `user-information [30] IMPLICIT SEQUENCE OF EXTERNAL`; empty means absent.
    pub user_information: Vec<External>,
}

impl Aarq {
    /// An AARQ with only the application context name.
    pub fn new(application_context_name: Oid) -> Self {
        Aarq {
            protocol_version: ProtocolVersion::default(),
            application_context_name,
            called_ap_title: None,
            called_ae_qualifier: None,
            called_ap_invocation_id: None,
            called_ae_invocation_id: None,
            calling_ap_title: None,
            calling_ae_qualifier: None,
            calling_ap_invocation_id: None,
            calling_ae_invocation_id: None,
            sender_acse_requirements: None,
            mechanism_name: None,
            calling_authentication_value: None,
            application_context_name_list: Vec::new(),
            implementation_information: None,
            user_information: Vec::new(),
        }
    }

    /// The same AARQ carrying a password (mechanism 2.2.3.1): sender-acse-requirements
    /// `{authentication}`, mechanism-name 2.2.3.1 and a `charstring` authentication value.
    pub fn with_password(mut self, password: &[u8]) -> Self {
        self.sender_acse_requirements = Some(AcseRequirements::authentication());
        self.mechanism_name = Some(guls_ber::known::PASSWORD_MECHANISM);
        self.calling_authentication_value = Some(AuthenticationValue::password(password));
        self
    }

    /// The password if the AARQ uses mechanism 2.2.3.1 with a `charstring` value.
    pub fn password(&self) -> Option<&[u8]> {
        if self.mechanism_name.as_ref() != Some(&guls_ber::known::PASSWORD_MECHANISM) {
            return None;
        }
        self.calling_authentication_value.as_ref()?.charstring()
    }

    fn decode(apdu: &Element<'_>) -> DecodeResult<Self> {
        let mut r = apdu.reader()?;
        let mut out = Aarq::new(guls_ber::known::ACSE_ABSTRACT_SYNTAX);
        let mut have_acn = false;
        let mut seen = Seen::default();
        while !r.is_empty() {
            let e = r.read()?;
            if e.tag.class != guls_ber::Class::Context {
                continue;
            }
            match e.tag.number {
                0 => {
                    seen.mark(&e, 0, "protocol-version")?;
                    out.protocol_version =
                        ProtocolVersion::from_bits(&e.bit_string("protocol-version")?);
                }
                1 => {
                    seen.mark(&e, 1, "application-context-name")?;
                    out.application_context_name =
                        explicit_oid(&e, "application-context-name [1]")?;
                    have_acn = true;
                }
                2 => {
                    seen.mark(&e, 2, "called-AP-title")?;
                    out.called_ap_title = Some(explicit_ap_title(&e, "called-AP-title [2]")?);
                }
                3 => {
                    seen.mark(&e, 3, "called-AE-qualifier")?;
                    out.called_ae_qualifier =
                        Some(explicit_ae_qualifier(&e, "called-AE-qualifier [3]")?);
                }
                4 => {
                    seen.mark(&e, 4, "called-AP-invocation-identifier")?;
                    out.called_ap_invocation_id =
                        Some(explicit_integer(&e, "called-AP-invocation-identifier [4]")?);
                }
                5 => {
                    seen.mark(&e, 5, "called-AE-invocation-identifier")?;
                    out.called_ae_invocation_id =
                        Some(explicit_integer(&e, "called-AE-invocation-identifier [5]")?);
                }
                6 => {
                    seen.mark(&e, 6, "calling-AP-title")?;
                    out.calling_ap_title = Some(explicit_ap_title(&e, "calling-AP-title [6]")?);
                }
                7 => {
                    seen.mark(&e, 7, "calling-AE-qualifier")?;
                    out.calling_ae_qualifier =
                        Some(explicit_ae_qualifier(&e, "calling-AE-qualifier [7]")?);
                }
                8 => {
                    seen.mark(&e, 8, "calling-AP-invocation-identifier")?;
                    out.calling_ap_invocation_id = Some(explicit_integer(
                        &e,
                        "calling-AP-invocation-identifier [8]",
                    )?);
                }
                9 => {
                    seen.mark(&e, 9, "calling-AE-invocation-identifier")?;
                    out.calling_ae_invocation_id = Some(explicit_integer(
                        &e,
                        "calling-AE-invocation-identifier [9]",
                    )?);
                }
                10 => {
                    seen.mark(&e, 10, "sender-acse-requirements")?;
                    out.sender_acse_requirements = Some(AcseRequirements::from_bits(
                        &e.bit_string("sender-acse-requirements [10]")?,
                    ));
                }
                11 => {
                    seen.mark(&e, 11, "mechanism-name")?;
                    out.mechanism_name = Some(e.oid("mechanism-name [11]")?);
                }
                12 => {
                    seen.mark(&e, 12, "calling-authentication-value")?;
                    out.calling_authentication_value =
                        Some(explicit_auth(&e, "calling-authentication-value [12]")?);
                }
                13 => {
                    seen.mark(&e, 13, "application-context-name-list")?;
                    out.application_context_name_list =
                        decode_name_list(&e, "application-context-name-list [13]")?;
                }
                29 => {
                    seen.mark(&e, 29, "implementation-information")?;
                    out.implementation_information =
                        Some(e.octets("implementation-information [29]")?.into_owned());
                }
                30 => {
                    seen.mark(&e, 30, "user-information")?;
                    out.user_information = decode_user_information(&e)?;
                }
                _ => {}
            }
        }
        if !have_acn {
            return Err(apdu.error(ErrorKind::Missing("AARQ application-context-name [1]")));
        }
        Ok(out)
    }

    fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::application(0), |w| {
            if self.protocol_version != ProtocolVersion::default() {
                w.primitive(Tag::context(0), &self.protocol_version.contents());
            }
            encode_explicit_oid(w, 1, &self.application_context_name);
            encode_opt_ap_title(w, 2, &self.called_ap_title);
            encode_opt_ae_qualifier(w, 3, &self.called_ae_qualifier);
            encode_opt_integer(w, 4, self.called_ap_invocation_id);
            encode_opt_integer(w, 5, self.called_ae_invocation_id);
            encode_opt_ap_title(w, 6, &self.calling_ap_title);
            encode_opt_ae_qualifier(w, 7, &self.calling_ae_qualifier);
            encode_opt_integer(w, 8, self.calling_ap_invocation_id);
            encode_opt_integer(w, 9, self.calling_ae_invocation_id);
            encode_auth_fields(
                w,
                [10, 11, 12, 13],
                self.sender_acse_requirements,
                &self.mechanism_name,
                &self.calling_authentication_value,
                &self.application_context_name_list,
            );
            encode_tail(w, &self.implementation_information, &self.user_information);
        });
    }
}

/// `AARE-apdu ::= [APPLICATION 1] IMPLICIT SEQUENCE` (A-ASSOCIATE response).
///
/// Decoded with the same leniency as [`Aarq`]. The `result [2]` wrapper is accepted in the
/// definite (`A2 03 02 01 00`) and the indefinite (`A2 80 02 01 00 00 00`) form (RFC 1698 Part C
/// R2), and always sent definite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aare {
    /// `protocol-version [0]` (omitted on send when it is the default `{version1}`).
    pub protocol_version: ProtocolVersion,
    /// `application-context-name [1]` (mandatory).
    pub application_context_name: Oid,
    /// `result [2]` (mandatory).
    pub result: AssociateResult,
    /// `result-source-diagnostic [3]` (mandatory).
    pub result_source_diagnostic: ResultSourceDiagnostic,
    /// `responding-AP-title [4]`.
    pub responding_ap_title: Option<ApTitle>,
    /// `responding-AE-qualifier [5]`.
    pub responding_ae_qualifier: Option<AeQualifier>,
    /// `responding-AP-invocation-identifier [6]` (at most 4 octets).
    pub responding_ap_invocation_id: Option<i64>,
    /// `responding-AE-invocation-identifier [7]` (at most 4 octets).
    pub responding_ae_invocation_id: Option<i64>,
    /// `responder-acse-requirements [8] IMPLICIT ACSE-requirements`.
    pub responder_acse_requirements: Option<AcseRequirements>,
    /// `mechanism-name [9] IMPLICIT OBJECT IDENTIFIER`.
    pub mechanism_name: Option<Oid>,
    /// `responding-authentication-value [10] EXPLICIT Authentication-value`.
    pub responding_authentication_value: Option<AuthenticationValue>,
    /// `application-context-name-list [11] IMPLICIT SEQUENCE OF OBJECT IDENTIFIER`; empty means
    /// absent.
    pub application_context_name_list: Vec<Oid>,
    /// `implementation-information [29] IMPLICIT GraphicString`, octets as received.
    pub implementation_information: Option<Vec<u8>>,
    /// `user-information [30] IMPLICIT SEQUENCE OF EXTERNAL`; empty means absent.
    pub user_information: Vec<External>,
}

impl Aare {
    /// An AARE with the given result and diagnostic and nothing optional.
    pub fn new(
        application_context_name: Oid,
        result: AssociateResult,
        result_source_diagnostic: ResultSourceDiagnostic,
    ) -> Self {
        Aare {
            protocol_version: ProtocolVersion::default(),
            application_context_name,
            result,
            result_source_diagnostic,
            responding_ap_title: None,
            responding_ae_qualifier: None,
            responding_ap_invocation_id: None,
            responding_ae_invocation_id: None,
            responder_acse_requirements: None,
            mechanism_name: None,
            responding_authentication_value: None,
            application_context_name_list: Vec::new(),
            implementation_information: None,
            user_information: Vec::new(),
        }
    }

    /// An acceptance: result accepted, source acse-service-user, diagnostic null.
    pub fn accepted(application_context_name: Oid) -> Self {
        Aare::new(
            application_context_name,
            AssociateResult::Accepted,
            ResultSourceDiagnostic::ServiceUser(UserDiagnostic::Null),
        )
    }

    /// A permanent rejection by the ACSE service-user with the given diagnostic (for instance
    /// [`UserDiagnostic::AuthenticationFailure`]).
    pub fn rejected_by_user(application_context_name: Oid, diagnostic: UserDiagnostic) -> Self {
        Aare::new(
            application_context_name,
            AssociateResult::RejectedPermanent,
            ResultSourceDiagnostic::ServiceUser(diagnostic),
        )
    }

    fn decode(apdu: &Element<'_>) -> DecodeResult<Self> {
        let mut r = apdu.reader()?;
        let mut out = Aare::accepted(guls_ber::known::ACSE_ABSTRACT_SYNTAX);
        let (mut have_acn, mut have_result, mut have_rsd) = (false, false, false);
        let mut seen = Seen::default();
        while !r.is_empty() {
            let e = r.read()?;
            if e.tag.class != guls_ber::Class::Context {
                continue;
            }
            match e.tag.number {
                0 => {
                    seen.mark(&e, 0, "protocol-version")?;
                    out.protocol_version =
                        ProtocolVersion::from_bits(&e.bit_string("protocol-version")?);
                }
                1 => {
                    seen.mark(&e, 1, "application-context-name")?;
                    out.application_context_name =
                        explicit_oid(&e, "application-context-name [1]")?;
                    have_acn = true;
                }
                2 => {
                    seen.mark(&e, 2, "result")?;
                    out.result = AssociateResult::from_i64(explicit_integer(&e, "result [2]")?);
                    have_result = true;
                }
                3 => {
                    seen.mark(&e, 3, "result-source-diagnostic")?;
                    out.result_source_diagnostic = decode_rsd(&e)?;
                    have_rsd = true;
                }
                4 => {
                    seen.mark(&e, 4, "responding-AP-title")?;
                    out.responding_ap_title =
                        Some(explicit_ap_title(&e, "responding-AP-title [4]")?);
                }
                5 => {
                    seen.mark(&e, 5, "responding-AE-qualifier")?;
                    out.responding_ae_qualifier =
                        Some(explicit_ae_qualifier(&e, "responding-AE-qualifier [5]")?);
                }
                6 => {
                    seen.mark(&e, 6, "responding-AP-invocation-identifier")?;
                    out.responding_ap_invocation_id = Some(explicit_integer(
                        &e,
                        "responding-AP-invocation-identifier [6]",
                    )?);
                }
                7 => {
                    seen.mark(&e, 7, "responding-AE-invocation-identifier")?;
                    out.responding_ae_invocation_id = Some(explicit_integer(
                        &e,
                        "responding-AE-invocation-identifier [7]",
                    )?);
                }
                8 => {
                    seen.mark(&e, 8, "responder-acse-requirements")?;
                    out.responder_acse_requirements = Some(AcseRequirements::from_bits(
                        &e.bit_string("responder-acse-requirements [8]")?,
                    ));
                }
                9 => {
                    seen.mark(&e, 9, "mechanism-name")?;
                    out.mechanism_name = Some(e.oid("mechanism-name [9]")?);
                }
                10 => {
                    seen.mark(&e, 10, "responding-authentication-value")?;
                    out.responding_authentication_value =
                        Some(explicit_auth(&e, "responding-authentication-value [10]")?);
                }
                11 => {
                    seen.mark(&e, 11, "application-context-name-list")?;
                    out.application_context_name_list =
                        decode_name_list(&e, "application-context-name-list [11]")?;
                }
                29 => {
                    seen.mark(&e, 29, "implementation-information")?;
                    out.implementation_information =
                        Some(e.octets("implementation-information [29]")?.into_owned());
                }
                30 => {
                    seen.mark(&e, 30, "user-information")?;
                    out.user_information = decode_user_information(&e)?;
                }
                _ => {}
            }
        }
        if !have_acn {
            return Err(apdu.error(ErrorKind::Missing("AARE application-context-name [1]")));
        }
        if !have_result {
            return Err(apdu.error(ErrorKind::Missing("AARE result [2]")));
        }
        if !have_rsd {
            return Err(apdu.error(ErrorKind::Missing("AARE result-source-diagnostic [3]")));
        }
        Ok(out)
    }

    fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::application(1), |w| {
            if self.protocol_version != ProtocolVersion::default() {
                w.primitive(Tag::context(0), &self.protocol_version.contents());
            }
            encode_explicit_oid(w, 1, &self.application_context_name);
            // RFC 1698 6.2 with the R2 fix: the result wrapper is definite in every style.
            w.constructed_definite(Tag::context(2), |w| {
                w.integer(Tag::INTEGER, self.result.value())
            });
            w.constructed(Tag::context(3), |w| match self.result_source_diagnostic {
                ResultSourceDiagnostic::ServiceUser(d) => encode_explicit_integer(w, 1, d.value()),
                ResultSourceDiagnostic::ServiceProvider(d) => {
                    encode_explicit_integer(w, 2, d.value())
                }
            });
            encode_opt_ap_title(w, 4, &self.responding_ap_title);
            encode_opt_ae_qualifier(w, 5, &self.responding_ae_qualifier);
            encode_opt_integer(w, 6, self.responding_ap_invocation_id);
            encode_opt_integer(w, 7, self.responding_ae_invocation_id);
            encode_auth_fields(
                w,
                [8, 9, 10, 11],
                self.responder_acse_requirements,
                &self.mechanism_name,
                &self.responding_authentication_value,
                &self.application_context_name_list,
            );
            encode_tail(w, &self.implementation_information, &self.user_information);
        });
    }
}

/// `RLRQ-apdu ::= [APPLICATION 2] IMPLICIT SEQUENCE` (A-RELEASE request). Unknown elements
/// (the X.227bis extensions `[13]`, `[14]`) are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rlrq {
    /// `reason [0] IMPLICIT Release-request-reason`.
    pub reason: Option<ReleaseRequestReason>,
    /// `user-information [30]`; empty means absent.
    pub user_information: Vec<External>,
}

impl Rlrq {
    /// A release request with reason normal and no user information (`62 03 80 01 00`).
    pub fn normal() -> Self {
        Rlrq {
            reason: Some(ReleaseRequestReason::Normal),
            user_information: Vec::new(),
        }
    }

    fn decode(apdu: &Element<'_>) -> DecodeResult<Self> {
        let mut out = Rlrq::default();
        decode_release_like(apdu, "RLRQ reason [0]", &mut out.user_information, |v| {
            out.reason = Some(ReleaseRequestReason::from_i64(v))
        })?;
        Ok(out)
    }

    fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::application(2), |w| {
            if let Some(r) = self.reason {
                w.integer(Tag::context(0), r.value());
            }
            encode_user_information(w, &self.user_information);
        });
    }
}

/// `RLRE-apdu ::= [APPLICATION 3] IMPLICIT SEQUENCE` (A-RELEASE response). Unknown elements
/// are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rlre {
    /// `reason [0] IMPLICIT Release-response-reason`.
    pub reason: Option<ReleaseResponseReason>,
    /// `user-information [30]`; empty means absent.
    pub user_information: Vec<External>,
}

impl Rlre {
    /// A release response with reason normal and no user information (`63 03 80 01 00`).
    pub fn normal() -> Self {
        Rlre {
            reason: Some(ReleaseResponseReason::Normal),
            user_information: Vec::new(),
        }
    }

    fn decode(apdu: &Element<'_>) -> DecodeResult<Self> {
        let mut out = Rlre::default();
        decode_release_like(apdu, "RLRE reason [0]", &mut out.user_information, |v| {
            out.reason = Some(ReleaseResponseReason::from_i64(v))
        })?;
        Ok(out)
    }

    fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::application(3), |w| {
            if let Some(r) = self.reason {
                w.integer(Tag::context(0), r.value());
            }
            encode_user_information(w, &self.user_information);
        });
    }
}

/// `ABRT-apdu ::= [APPLICATION 4] IMPLICIT SEQUENCE` (A-ABORT). Unknown elements are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abrt {
    /// `abort-source [0] IMPLICIT ABRT-source` (mandatory; 0 and 1 both accepted, R5).
    pub abort_source: AbortSource,
    /// `abort-diagnostic [1] IMPLICIT ABRT-diagnostic` (ENUMERATED).
    pub abort_diagnostic: Option<AbortDiagnostic>,
    /// `user-information [30]`; empty means absent.
    pub user_information: Vec<External>,
}

impl Default for Abrt {
    /// A user-requested abort (source acse-service-user), as RFC 1698 R5 requires.
    fn default() -> Self {
        Abrt::user()
    }
}

impl Abrt {
    /// A user-requested abort: source acse-service-user, no diagnostic (`64 03 80 01 00`).
    pub fn user() -> Self {
        Abrt {
            abort_source: AbortSource::AcseServiceUser,
            abort_diagnostic: None,
            user_information: Vec::new(),
        }
    }

    /// A provider-detected abort with a diagnostic (X.217 9.3.2.4: no user information).
    pub fn provider(diagnostic: AbortDiagnostic) -> Self {
        Abrt {
            abort_source: AbortSource::AcseServiceProvider,
            abort_diagnostic: Some(diagnostic),
            user_information: Vec::new(),
        }
    }

    fn decode(apdu: &Element<'_>) -> DecodeResult<Self> {
        let mut r = apdu.reader()?;
        let mut source = None;
        let mut out = Abrt::user();
        let mut seen = Seen::default();
        while !r.is_empty() {
            let e = r.read()?;
            if e.tag.class != guls_ber::Class::Context {
                continue;
            }
            match e.tag.number {
                0 => {
                    seen.mark(&e, 0, "abort-source")?;
                    source = Some(AbortSource::from_i64(small_integer(
                        &e,
                        "abort-source [0]",
                    )?));
                }
                1 => {
                    seen.mark(&e, 1, "abort-diagnostic")?;
                    out.abort_diagnostic = Some(AbortDiagnostic::from_i64(small_integer(
                        &e,
                        "abort-diagnostic [1]",
                    )?));
                }
                30 => {
                    seen.mark(&e, 30, "user-information")?;
                    out.user_information = decode_user_information(&e)?;
                }
                _ => {}
            }
        }
        out.abort_source =
            source.ok_or_else(|| apdu.error(ErrorKind::Missing("ABRT abort-source [0]")))?;
        Ok(out)
    }

    fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::application(4), |w| {
            w.integer(Tag::context(0), self.abort_source.value());
            if let Some(d) = self.abort_diagnostic {
                w.integer(Tag::context(1), d.value());
            }
            encode_user_information(w, &self.user_information);
        });
    }
}

/// Another APDU of the extensible `ACSE-apdu` CHOICE, kept undecoded: X.227bis A-DT
/// `[APPLICATION 5]`, ACRQ `[APPLICATION 6]`, ACRP `[APPLICATION 7]` (higher-level-association
/// functional unit), or any later `[APPLICATION n]`, n >= 5.
///
/// The contents are checked to be a well-formed series of BER elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherApdu {
    /// The APPLICATION tag number.
    pub tag_number: u32,
    /// The contents octets (without identifier, length or end-of-contents octets).
    pub contents: Vec<u8>,
}

impl OtherApdu {
    /// `a-dt`, `acrq`, `acrp`, or `unknown`.
    pub fn name(&self) -> &'static str {
        match self.tag_number {
            5 => "a-dt",
            6 => "acrq",
            7 => "acrp",
            _ => "unknown",
        }
    }

    fn decode(apdu: &Element<'_>) -> DecodeResult<Self> {
        let mut r = apdu.reader()?;
        while !r.is_empty() {
            r.read()?;
        }
        Ok(OtherApdu {
            tag_number: apdu.tag.number,
            contents: apdu.contents.to_vec(),
        })
    }

    fn encode(&self, w: &mut Writer) {
        w.constructed(Tag::application(self.tag_number), |w| w.raw(&self.contents));
    }
}

/// One ACSE APDU (`ACSE-apdu` CHOICE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Apdu {
    /// A-ASSOCIATE request.
    Aarq(Aarq),
    /// A-ASSOCIATE response.
    Aare(Aare),
    /// A-RELEASE request.
    Rlrq(Rlrq),
    /// A-RELEASE response.
    Rlre(Rlre),
    /// A-ABORT.
    Abrt(Abrt),
    /// A-DT, ACRQ, ACRP or a later APDU, undecoded.
    Other(OtherApdu),
}

impl Apdu {
    /// Decodes exactly one APDU (the value of a PDV's single-ASN1-type); trailing octets are an
    /// error. Offsets in errors count from the start of `data`.
    pub fn decode(data: &[u8]) -> DecodeResult<Apdu> {
        let mut r = guls_ber::Reader::new(data, guls_ber::Layer::Acse);
        let e = r.read()?;
        r.finish("ACSE APDU")?;
        Self::decode_element(&e)
    }

    /// Decodes an APDU from an element already read (for a caller that holds a larger input;
    /// offsets are those of the element's reader).
    pub fn decode_element(e: &Element<'_>) -> DecodeResult<Apdu> {
        const EXPECTED: &str = "an ACSE APDU ([APPLICATION n] constructed)";
        if e.tag.class != guls_ber::Class::Application || !e.tag.constructed {
            return Err(e.error(ErrorKind::Unexpected {
                expected: EXPECTED,
                found: e.tag.to_string(),
            }));
        }
        Ok(match e.tag.number {
            0 => Apdu::Aarq(Aarq::decode(e)?),
            1 => Apdu::Aare(Aare::decode(e)?),
            2 => Apdu::Rlrq(Rlrq::decode(e)?),
            3 => Apdu::Rlre(Rlre::decode(e)?),
            4 => Apdu::Abrt(Abrt::decode(e)?),
            _ => Apdu::Other(OtherApdu::decode(e)?),
        })
    }

    /// The canonical encoding: definite, minimal lengths.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(LengthForm::Definite)
    }

    /// The encoding with constructed elements in the given length form.
    ///
    /// [`LengthForm::Indefinite`] reproduces the RFC 1698 section 6 templates: every
    /// constructed element is `80 ... 00 00` except the AARE `result [2]` wrapper (Part C R2)
    /// and an EXTERNAL's `single-ASN1-type [0]` wrapper, which stay definite.
    pub fn encode_with(&self, form: LengthForm) -> Vec<u8> {
        let mut w = Writer::from_vec(Vec::with_capacity(self.size_hint()), form);
        self.write(&mut w);
        w.into_bytes()
    }

    /// About the encoded length (for sizing the buffer once): the authentication value and
    /// the user information, which dominate, plus room for the other fields.
    fn size_hint(&self) -> usize {
        let (auth, ui) = match self {
            Apdu::Aarq(a) => (a.calling_authentication_value.as_ref(), &a.user_information),
            Apdu::Aare(a) => (
                a.responding_authentication_value.as_ref(),
                &a.user_information,
            ),
            Apdu::Rlrq(a) => (None, &a.user_information),
            Apdu::Rlre(a) => (None, &a.user_information),
            Apdu::Abrt(a) => (None, &a.user_information),
            Apdu::Other(a) => return a.contents.len() + 16,
        };
        let ui: usize = ui.iter().map(|x| x.encoding.data_len() + 48).sum();
        auth.map_or(0, |v| v.len() + 64) + ui + 256
    }

    /// Appends the encoding to a writer (using the writer's length form).
    pub fn write(&self, w: &mut Writer) {
        match self {
            Apdu::Aarq(a) => a.encode(w),
            Apdu::Aare(a) => a.encode(w),
            Apdu::Rlrq(a) => a.encode(w),
            Apdu::Rlre(a) => a.encode(w),
            Apdu::Abrt(a) => a.encode(w),
            Apdu::Other(a) => a.encode(w),
        }
    }

    /// The APDU name: `aarq`, `aare`, `rlrq`, `rlre`, `abrt`, or that of [`OtherApdu::name`].
    pub fn name(&self) -> &'static str {
        match self {
            Apdu::Aarq(_) => "aarq",
            Apdu::Aare(_) => "aare",
            Apdu::Rlrq(_) => "rlrq",
            Apdu::Rlre(_) => "rlre",
            Apdu::Abrt(_) => "abrt",
            Apdu::Other(o) => o.name(),
        }
    }

    /// The APPLICATION tag number.
    pub fn tag_number(&self) -> u32 {
        match self {
            Apdu::Aarq(_) => 0,
            Apdu::Aare(_) => 1,
            Apdu::Rlrq(_) => 2,
            Apdu::Rlre(_) => 3,
            Apdu::Abrt(_) => 4,
            Apdu::Other(o) => o.tag_number,
        }
    }
}

fn decode_release_like(
    apdu: &Element<'_>,
    reason_what: &'static str,
    user_information: &mut Vec<External>,
    mut set_reason: impl FnMut(i64),
) -> DecodeResult<()> {
    let mut r = apdu.reader()?;
    let mut seen = Seen::default();
    while !r.is_empty() {
        let e = r.read()?;
        if e.tag.class != guls_ber::Class::Context {
            continue;
        }
        match e.tag.number {
            0 => {
                seen.mark(&e, 0, "reason")?;
                set_reason(small_integer(&e, reason_what)?);
            }
            30 => {
                seen.mark(&e, 30, "user-information")?;
                *user_information = decode_user_information(&e)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn explicit_oid(e: &Element<'_>, what: &'static str) -> DecodeResult<Oid> {
    expect_constructed(e, what)?;
    let inner = explicit_inner(e, what)?;
    if inner.tag != Tag::OID {
        return Err(inner.error(ErrorKind::Unexpected {
            expected: what,
            found: inner.tag.to_string(),
        }));
    }
    inner.oid(what)
}

fn explicit_ap_title(e: &Element<'_>, what: &'static str) -> DecodeResult<ApTitle> {
    expect_constructed(e, what)?;
    ApTitle::decode(&explicit_inner(e, what)?)
}

fn explicit_ae_qualifier(e: &Element<'_>, what: &'static str) -> DecodeResult<AeQualifier> {
    expect_constructed(e, what)?;
    AeQualifier::decode(&explicit_inner(e, what)?)
}

fn explicit_auth(e: &Element<'_>, what: &'static str) -> DecodeResult<AuthenticationValue> {
    expect_constructed(e, what)?;
    AuthenticationValue::decode(&explicit_inner(e, what)?)
}

fn decode_name_list(e: &Element<'_>, what: &'static str) -> DecodeResult<Vec<Oid>> {
    expect_constructed(e, what)?;
    let mut r = e.reader()?;
    let mut out = Vec::new();
    while !r.is_empty() {
        let x = r.read_tagged(Tag::OID, "application context name OBJECT IDENTIFIER")?;
        out.push(x.oid(what)?);
    }
    Ok(out)
}

fn decode_rsd(e: &Element<'_>) -> DecodeResult<ResultSourceDiagnostic> {
    const WHAT: &str = "result-source-diagnostic [3]";
    expect_constructed(e, WHAT)?;
    let inner = explicit_inner(e, WHAT)?;
    if inner.tag.class == guls_ber::Class::Context {
        match inner.tag.number {
            1 => {
                let v = explicit_integer(&inner, "acse-service-user [1]")?;
                return Ok(ResultSourceDiagnostic::ServiceUser(
                    UserDiagnostic::from_i64(v),
                ));
            }
            2 => {
                let v = explicit_integer(&inner, "acse-service-provider [2]")?;
                return Ok(ResultSourceDiagnostic::ServiceProvider(
                    ProviderDiagnostic::from_i64(v),
                ));
            }
            _ => {}
        }
    }
    Err(inner.error(ErrorKind::Unexpected {
        expected: "acse-service-user [1] or acse-service-provider [2]",
        found: inner.tag.to_string(),
    }))
}

fn encode_explicit_oid(w: &mut Writer, n: u32, oid: &Oid) {
    w.constructed(Tag::context(n), |w| w.oid(Tag::OID, oid));
}

fn encode_opt_ap_title(w: &mut Writer, n: u32, t: &Option<ApTitle>) {
    if let Some(t) = t {
        w.constructed(Tag::context(n), |w| t.encode(w));
    }
}

fn encode_opt_ae_qualifier(w: &mut Writer, n: u32, q: &Option<AeQualifier>) {
    if let Some(q) = q {
        w.constructed(Tag::context(n), |w| q.encode(w));
    }
}

fn encode_opt_integer(w: &mut Writer, n: u32, v: Option<i64>) {
    if let Some(v) = v {
        encode_explicit_integer(w, n, v);
    }
}

/// Writes acse-requirements, mechanism-name, authentication-value and the context name list
/// under the four tag numbers given.
fn encode_auth_fields(
    w: &mut Writer,
    tags: [u32; 4],
    requirements: Option<AcseRequirements>,
    mechanism: &Option<Oid>,
    value: &Option<AuthenticationValue>,
    names: &[Oid],
) {
    if let Some(req) = requirements {
        w.primitive(Tag::context(tags[0]), &req.contents());
    }
    if let Some(m) = mechanism {
        w.oid(Tag::context(tags[1]), m);
    }
    if let Some(v) = value {
        w.constructed(Tag::context(tags[2]), |w| v.encode(w));
    }
    if !names.is_empty() {
        w.constructed(Tag::context(tags[3]), |w| {
            for n in names {
                w.oid(Tag::OID, n);
            }
        });
    }
}

fn encode_tail(w: &mut Writer, implementation: &Option<Vec<u8>>, ui: &[External]) {
    if let Some(i) = implementation {
        w.primitive(Tag::context(29), i);
    }
    encode_user_information(w, ui);
}
