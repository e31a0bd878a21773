//! `guls connect`: associates with a responder, sends one value, prints the reply, releases;
//! the exit status says what happened (see [`exit`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use guls_association::{
    AbortSource, AeQualifier, ApTitle, AssociateParams, AssociationError, AssociationEvent,
    Authentication, DataIndication, Initiator, PdvValue, ProviderAbortReason, Rejection,
    ResultSource,
};
use guls_ber::Oid;
use guls_ber::{Layer, Reader};
use guls_policy::InitiatorPolicy;
use guls_policy::exchanges::{ExchangeCarrier, InitiatorExchanges};
use guls_sese::{CarriageError, SecureInitiator};

use crate::exchanges::{BuiltIns, identifier_label};
use crate::guard::{AssociationAudit, Session, SessionKind, abort_reason, audit_tap};
use zeroize::Zeroizing;

use crate::profile::{self, ContextArg, Profile};

/// The exit statuses of `guls connect`.
pub mod exit {
    /// Associated, exchanged and released.
    pub const OK: u8 = 0;
    /// Associated and released, but the exchange failed (the data context was not accepted,
    /// no reply came, the peer released first).
    pub const EXCHANGE_FAILED: u8 = 1;
    /// Usage error (bad arguments, unreadable password file, unset variable, an invalid
    /// initiator policy or an unreadable password source it names).
    pub const USAGE: u8 = 2;
    /// The association was rejected (an AARE with a rejected result, or a refusal by the
    /// peer's presentation or session provider).
    pub const REJECTED: u8 = 3;
    /// The peer closed TCP after the CONNECT without any AARE (libiec61850's way to reject).
    pub const REJECTED_NO_AARE: u8 = 4;
    /// The association was aborted (A-ABORT or A-P-ABORT), during establishment or later.
    pub const ABORTED: u8 = 5;
    /// The connection failed: TCP connect refused or unreachable, or a timeout before the
    /// association was established.
    pub const CONNECTION_FAILED: u8 = 6;
}

/// The value `guls connect` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Text, sent as its UTF-8 octets in an octet-aligned PDV.
    Text(String),
    /// Octets given in hex: a single-ASN1-type PDV when they are exactly one BER TLV, else
    /// octet-aligned.
    Hex(Vec<u8>),
}

impl Payload {
    /// The presentation data value sent.
    pub fn pdv(&self) -> PdvValue {
        match self {
            Payload::Text(t) => PdvValue::OctetAligned(t.as_bytes().to_vec()),
            Payload::Hex(v) if is_one_tlv(v) => PdvValue::SingleAsn1Type(v.clone()),
            Payload::Hex(v) => PdvValue::OctetAligned(v.clone()),
        }
    }
}

/// True when `v` is exactly one well-formed BER TLV.
pub fn is_one_tlv(v: &[u8]) -> bool {
    let mut r = Reader::new(v, Layer::Application);
    r.read().is_ok() && r.finish("value").is_ok()
}

/// What `guls connect` does. The password is never printed.
#[derive(Clone)]
pub struct ConnectOptions {
    /// The responder's address.
    pub addr: String,
    /// The profile.
    pub profile: Profile,
    /// Further presentation contexts proposed; data goes in the first one when given.
    pub contexts: Vec<ContextArg>,
    /// The value to send, if any.
    pub payload: Option<Payload>,
    /// ACSE password authentication (mechanism 2.2.3.1); zeroed on drop.
    pub password: Option<Zeroizing<Vec<u8>>>,
    /// An initiator policy that picks the credential by the peer's address and the called
    /// AP-title (used when `password` is `None`).
    pub policy: Option<InitiatorPolicy>,
    /// Calling AP-title sent in the AARQ.
    pub calling_ap_title: Option<ApTitle>,
    /// Calling AE-qualifier sent in the AARQ.
    pub calling_ae_qualifier: Option<AeQualifier>,
    /// Called AP-title sent in the AARQ (and matched by the initiator policy).
    pub called_ap_title: Option<ApTitle>,
    /// Bound of each step: TCP connect, establishment, the reply, the release.
    pub timeout: Duration,
    /// Security exchanges to offer (`--exchange`; several: simpleNegotiationSE first); when
    /// empty, the initiator policy's `exchanges` for the peer, if any.
    pub exchanges: Vec<Oid>,
    /// Where the first item travels (`--carrier`; default the policy's, else the
    /// authentication fields).
    pub carrier: Option<ExchangeCarrier>,
    /// The exchanges this program can run.
    pub builtins: BuiltIns,
    /// Append the audit records (SESE primitives, exchange end, rejection, abort) here.
    pub audit: Option<PathBuf>,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("addr", &self.addr)
            .field("profile", &self.profile)
            .field("contexts", &self.contexts)
            .field("payload", &self.payload)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("policy", &self.policy)
            .field("calling_ap_title", &self.calling_ap_title)
            .field("calling_ae_qualifier", &self.calling_ae_qualifier)
            .field("called_ap_title", &self.called_ap_title)
            .field("timeout", &self.timeout)
            .field("exchanges", &self.exchanges)
            .field("carrier", &self.carrier)
            .field("builtins", &self.builtins)
            .field("audit", &self.audit)
            .finish()
    }
}

/// The name of an X.217 Result Source as ACSE spells it.
pub fn result_source_name(s: ResultSource) -> &'static str {
    match s {
        ResultSource::AcseServiceUser => "acse-service-user",
        ResultSource::AcseServiceProvider => "acse-service-provider",
        ResultSource::PresentationServiceProvider => "presentation-service-provider",
    }
}

/// One line for a rejection: `rejected-permanent by acse-service-user: authentication-failure
/// (13)`.
pub fn describe_rejection(r: &Rejection) -> String {
    let diag = match r.diagnostic {
        Some(d) => format!("{} ({})", d.name(), d.value()),
        None => "no diagnostic".into(),
    };
    format!(
        "{} by {}: {diag}",
        r.result.name(),
        result_source_name(r.source)
    )
}

fn describe_abort(source: AbortSource, diagnostic: Option<guls_acse::AbortDiagnostic>) -> String {
    let d = match diagnostic {
        Some(d) => format!("{} ({})", d.name(), d.value()),
        None => "no diagnostic".into(),
    };
    format!("A-ABORT by {}: {d}", source.name())
}

fn describe_provider_abort(r: &ProviderAbortReason) -> String {
    format!("A-P-ABORT by the provider, layer {}: {r}", r.layer())
}

/// The exit status of an error, and the line that explains it.
pub fn classify(e: &AssociationError) -> (u8, String) {
    use AssociationError as E;
    match e {
        E::Config(m) => (exit::USAGE, format!("invalid configuration: {m}")),
        E::Io(err) => (exit::CONNECTION_FAILED, format!("connection failed: {err}")),
        E::Timeout(k) => (
            exit::CONNECTION_FAILED,
            format!("connection failed: {k} timeout"),
        ),
        E::Rejected(r) => (
            exit::REJECTED,
            format!("association rejected: {}", describe_rejection(r)),
        ),
        E::RejectedByPeerNoAare => (
            exit::REJECTED_NO_AARE,
            "association rejected: the peer closed TCP after the CONNECT without an AARE".into(),
        ),
        E::Refused { layer, detail } => (
            exit::REJECTED,
            format!("association rejected by the peer's {layer} provider: {detail}"),
        ),
        E::Aborted(a) => (
            exit::ABORTED,
            format!("aborted: {}", describe_abort(a.source, a.diagnostic)),
        ),
        E::ProviderAbort(r) => (
            exit::ABORTED,
            format!("aborted: {}", describe_provider_abort(r)),
        ),
        E::IllegalPrimitive(m) => (exit::ABORTED, format!("aborted: illegal primitive: {m}")),
        E::Closed => (
            exit::ABORTED,
            "aborted: the association ended unexpectedly".into(),
        ),
        E::Shutdown => (exit::ABORTED, "aborted: shut down".into()),
    }
}

/// Prints one received value: its context and encoding, hex, and text when printable.
pub fn print_value(out: &mut dyn Write, label: &str, d: &DataIndication) {
    let (kind, octets) = match &d.value {
        PdvValue::SingleAsn1Type(v) => ("single-ASN1-type", v.as_slice()),
        PdvValue::OctetAligned(v) => ("octet-aligned", v.as_slice()),
        PdvValue::Arbitrary(b) => ("arbitrary", b.bytes.as_slice()),
    };
    let _ = writeln!(
        out,
        "{label}: {} octets, {kind}, pcid {} ({})",
        octets.len(),
        d.pcid,
        profile::oid_label(&d.abstract_syntax)
    );
    let _ = writeln!(out, "  hex:  {}", guls_ber::to_hex(octets));
    if let Some(t) = printable(octets) {
        let _ = writeln!(out, "  text: {t}");
    }
}

/// The text of `v` when it is non-empty UTF-8 without control characters (tab and line
/// breaks allowed).
pub fn printable(v: &[u8]) -> Option<&str> {
    let t = std::str::from_utf8(v).ok()?;
    (!t.is_empty()
        && t.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')))
    .then_some(t)
}

/// Runs `guls connect`; reports go to `out`, failures to `err`; returns the exit status.
pub async fn connect(opts: ConnectOptions, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut config = opts.profile.config();
    profile::add_proposed(&mut config, &opts.contexts);
    config.timeouts.connect = opts.timeout;
    config.timeouts.establishment = opts.timeout;
    config.timeouts.release = opts.timeout;
    if opts.calling_ap_title.is_some() {
        config.acse.calling_ap_title = opts.calling_ap_title.clone();
    }
    if opts.calling_ae_qualifier.is_some() {
        config.acse.calling_ae_qualifier = opts.calling_ae_qualifier.clone();
    }
    if opts.called_ap_title.is_some() {
        config.acse.called_ap_title = opts.called_ap_title.clone();
    }
    // Certificates: --cert/--key/--trust/--crl over the initiator policy's [identity] and
    // [trust].
    let builtins = match opts.builtins.resolve(
        opts.policy.as_ref().and_then(|p| p.trust()),
        opts.policy.as_ref().and_then(|p| p.identity()),
    ) {
        Ok(b) => b,
        Err(m) => {
            let _ = writeln!(err, "guls connect: {m}");
            return exit::USAGE;
        }
    };
    if let Some(auth) = &builtins.auth
        && config.acse.calling_ap_title.is_none()
    {
        // Call with the form 1 AP-title our certificate binds (its subject).
        config.acse.calling_ap_title = Some(auth.ap_title());
    }
    let mut params = AssociateParams::default();
    if opts.profile == Profile::Mms {
        params.user_information = vec![profile::mms_initiate_request()];
    }
    let mut auth_note = "";
    // The security exchanges to offer: --exchange, else the initiator policy's for the peer.
    let mut exchanges = None;
    if !opts.exchanges.is_empty() {
        exchanges = Some(InitiatorExchanges {
            offered: opts.exchanges.clone(),
            carrier: opts.carrier.unwrap_or_default(),
            ..InitiatorExchanges::default()
        });
    } else if let Some(policy) = &opts.policy {
        let addr = tokio::net::lookup_host(opts.addr.as_str())
            .await
            .ok()
            .and_then(|mut it| it.next());
        if let Some(x) = policy.exchanges_for(addr, config.acse.called_ap_title.as_ref()) {
            let mut x = x.clone();
            if let Some(c) = opts.carrier {
                x.carrier = c;
            }
            exchanges = Some(x);
        }
    }
    if let Some(x) = &exchanges
        && let Err(m) = builtins.check(&x.offered)
    {
        let _ = writeln!(err, "guls connect: {m}");
        return exit::USAGE;
    }
    let sink = match &opts.audit {
        None => None,
        Some(path) => match guls_audit::AuditSink::open_append(path) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                let _ = writeln!(err, "guls connect: audit log {}: {e}", path.display());
                return exit::USAGE;
            }
        },
    };
    let audit = AssociationAudit::new(
        opts.audit
            .as_deref()
            .map_or(1, |p| crate::serve::last_association_id(p) + 1),
        sink,
    );
    if exchanges.is_some() {
        // The exchange takes the authentication fields (or user-information).
    } else if let Some(p) = &opts.password {
        params.authentication = Some(Authentication::password(p));
        auth_note = ", password authentication";
    } else if let Some(policy) = &opts.policy {
        // The policy matches the peer by its address: resolve the name for the match.
        let addr = match tokio::net::lookup_host(opts.addr.as_str()).await {
            Ok(mut it) => it.next(),
            Err(e) => {
                let _ = writeln!(err, "guls connect: connection failed: {}: {e}", opts.addr);
                return exit::CONNECTION_FAILED;
            }
        };
        match policy.credential_for(addr, config.acse.called_ap_title.as_ref()) {
            Ok(Some(c)) => {
                params.authentication = Some(c.authentication());
                auth_note = ", password authentication (initiator policy)";
            }
            Ok(None) => auth_note = ", no authentication (initiator policy)",
            Err(e) => {
                let _ = writeln!(err, "guls connect: {e}");
                return exit::USAGE;
            }
        }
    }
    let secure = exchanges.as_ref().map(|x| {
        // The certificate exchanges of this association: the SESE context id the initiator
        // will propose goes into the key agreement's context.
        let sese_pcid = SecureInitiator::new(
            config.clone(),
            guls_sese::CarriageConfig::new(Arc::new(guls_sese::Registry::new())),
        )
        .sese_pcid();
        let b = builtins.for_initiator(
            config.acse.calling_ap_title.as_ref(),
            config.acse.called_ap_title.as_ref(),
            config.acse.called_ae_qualifier.as_ref(),
            Some(sese_pcid),
        );
        let (carriage, first) = b.initiator_config(x, &audit_tap(&audit));
        auth_note = match carriage.carrier {
            guls_sese::Carrier::AuthenticationValue => {
                ", security exchange in the authentication fields"
            }
            guls_sese::Carrier::UserInformation => ", security exchange in user-information",
        };
        (SecureInitiator::new(config.clone(), carriage), first, b)
    });
    if let Some((s, _, _)) = &secure {
        config = s.initiator().config().clone();
    }
    let initiator = Initiator::new(config.clone());
    let contexts: Vec<String> = config
        .proposed_contexts()
        .iter()
        .map(|c| format!("{} {}", c.pcid, profile::oid_label(&c.abstract_syntax)))
        .collect();
    let _ = writeln!(
        out,
        "connecting to {} (profile {}, application context {}, contexts: {}{}{})",
        opts.addr,
        opts.profile,
        profile::oid_label(&config.acse.application_context_name),
        contexts.join(", "),
        auth_note,
        if opts.profile == Profile::Mms {
            ", MMS Initiate-Request"
        } else {
            ""
        }
    );
    let mut assoc = match &secure {
        None => match initiator.connect(opts.addr.as_str(), params).await {
            Ok(a) => Session {
                association: SessionKind::Plain(a),
                audit,
                identity: None,
                rule: String::new(),
                session_keys: None,
                key_id: None,
            },
            Err(e) => {
                let (code, line) = classify(&e);
                let _ = writeln!(err, "guls connect: {line}");
                return code;
            }
        },
        Some((si, first, b)) => {
            let _ = writeln!(out, "security exchange: {}", identifier_label(first));
            match secure_connect(si, first, &opts, params, &audit).await {
                Ok(s) => {
                    let _ = writeln!(
                        out,
                        "security exchange completed{}",
                        s.outcome()
                            .and_then(|o| o.peer_identity.as_deref())
                            .map(|i| format!(" (peer identity {i})"))
                            .unwrap_or_default()
                    );
                    match certificate_checks(&s, b, &audit) {
                        Ok(keys) => {
                            let key_id = keys
                                .as_ref()
                                .zip(b.auth.as_ref())
                                .map(|(k, a)| crate::exchanges::key_id(k, a.provider()));
                            if let Some(k) = &key_id {
                                let _ = writeln!(out, "keys derived (key id {k})");
                            }
                            Session {
                                association: SessionKind::Secure(Box::new(s)),
                                audit,
                                identity: None,
                                rule: String::new(),
                                session_keys: keys,
                                key_id,
                            }
                        }
                        Err(line) => {
                            let _ = s.abort(Vec::new()).await;
                            audit.aborted_locally(&format!("A-ABORT request: {line}"));
                            let _ = writeln!(err, "guls connect: aborted: {line}");
                            return exit::ABORTED;
                        }
                    }
                }
                Err((code, line)) => {
                    // The detail of a rejection this side made (the responder's certificate).
                    let detail = b.assoc.as_ref().and_then(|a| {
                        a.reports.last_failure().map(|f| {
                            guls_policy::verifier::failure_reason(
                                &f,
                                a.verifier.last_error().as_ref(),
                            )
                        })
                    });
                    if let Some(d) = &detail {
                        audit.record(&guls_audit::AuditEvent::authentication_failed(
                            d.as_str(),
                            guls_audit::AuthDiagnostic::Failure,
                        ));
                    }
                    let extra = detail.map(|d| format!(" ({d})")).unwrap_or_default();
                    let _ = writeln!(err, "guls connect: {line}{extra}");
                    return code;
                }
            }
        }
    };
    let dcs: Vec<String> = assoc
        .inner()
        .contexts()
        .iter()
        .map(|c| format!("{} {}", c.pcid, profile::oid_label(&c.abstract_syntax)))
        .collect();
    let _ = writeln!(
        out,
        "association accepted by {} (application context {}; defined context set: {})",
        assoc.inner().peer_addr(),
        profile::oid_label(assoc.inner().application_context_name()),
        dcs.join(", ")
    );
    if opts.profile == Profile::Mms
        && let Some(c) = assoc.inner().associate_confirm()
    {
        if profile::has_mms_initiate_response(&c.user_information) {
            let _ = writeln!(out, "MMS Initiate-Response received in the AARE");
        } else {
            let _ = writeln!(out, "no MMS Initiate-Response in the AARE");
        }
    }

    let mut status = exit::OK;
    if let Some(payload) = &opts.payload {
        let syntax = opts
            .contexts
            .first()
            .map(|c| c.abstract_syntax.clone())
            .unwrap_or_else(|| opts.profile.abstract_syntax());
        match assoc
            .inner()
            .contexts()
            .iter()
            .find(|c| c.abstract_syntax == syntax)
        {
            None => {
                let _ = writeln!(
                    err,
                    "guls connect: the responder did not accept a context for {}; nothing sent",
                    profile::oid_label(&syntax)
                );
                status = exit::EXCHANGE_FAILED;
            }
            Some(ctx) => {
                let pcid = ctx.pcid;
                let pdv = payload.pdv();
                let (kind, n) = match &pdv {
                    PdvValue::SingleAsn1Type(v) => ("single-ASN1-type", v.len()),
                    PdvValue::OctetAligned(v) => ("octet-aligned", v.len()),
                    PdvValue::Arbitrary(b) => ("arbitrary", b.bytes.len()),
                };
                if let Err(e) = assoc.send(pcid, pdv).await {
                    let (code, line) = classify(&e);
                    let _ = writeln!(err, "guls connect: {line}");
                    return code;
                }
                let _ = writeln!(out, "sent {n} octets ({kind}) in pcid {pcid}");
                match tokio::time::timeout(opts.timeout, assoc.recv()).await {
                    Err(_) => {
                        let _ = writeln!(
                            err,
                            "guls connect: no reply within {} s",
                            opts.timeout.as_secs_f64()
                        );
                        status = exit::EXCHANGE_FAILED;
                    }
                    Ok(Ok(AssociationEvent::Data(d))) => print_value(out, "reply", &d),
                    Ok(Ok(AssociationEvent::ReleaseIndication { .. })) => {
                        let _ = writeln!(err, "guls connect: the peer released before replying");
                        let _ = assoc.release_response().await;
                        return exit::EXCHANGE_FAILED;
                    }
                    Ok(Ok(AssociationEvent::AbortIndication {
                        source, diagnostic, ..
                    })) => {
                        let _ = writeln!(
                            err,
                            "guls connect: aborted: {}",
                            describe_abort(source, diagnostic)
                        );
                        return exit::ABORTED;
                    }
                    Ok(Ok(AssociationEvent::ProviderAbort { reason })) => {
                        let _ = writeln!(
                            err,
                            "guls connect: aborted: {}",
                            describe_provider_abort(&reason)
                        );
                        return exit::ABORTED;
                    }
                    Ok(Ok(AssociationEvent::Released)) | Ok(Err(_)) => {
                        let _ = writeln!(
                            err,
                            "guls connect: aborted: the association ended unexpectedly"
                        );
                        return exit::ABORTED;
                    }
                }
            }
        }
    }

    drain(&mut assoc).await;
    let released = assoc.release().await;
    drain(&mut assoc).await;
    match released {
        Ok(outcome) => {
            assoc.audit.released_locally();
            for d in &outcome.data {
                print_value(out, "further value", d);
            }
            let _ = writeln!(
                out,
                "released (A-RELEASE confirm: affirmative, reason {}{})",
                outcome.reason.map(|r| r.name()).unwrap_or("absent"),
                if outcome.collision {
                    ", release collision"
                } else {
                    ""
                }
            );
            status
        }
        Err(e) => {
            let (code, line) = classify(&e);
            let _ = writeln!(err, "guls connect: release failed: {line}");
            code
        }
    }
}

/// After a certificate exchange completed: binds the AARE's responding AP-title (when the
/// responder sent one) to the certificate the exchange validated (a mismatch is recorded as
/// `authentication_failed` with reason `ap-title-mismatch`, and is the `Err` line), and takes
/// the keys of a signed key agreement.
pub(crate) fn certificate_checks(
    s: &guls_sese::SecureAssociation,
    b: &BuiltIns,
    audit: &AssociationAudit,
) -> Result<Option<guls_exchanges::SessionKeys>, String> {
    let Some(a) = &b.assoc else {
        return Ok(None);
    };
    if a.verifier.last_verified().is_some()
        && let Some(c) = s.association().associate_confirm()
        && c.responding_ap_title.is_some()
        && let Err(e) = a.verifier.bind_last(
            c.responding_ap_title.as_ref(),
            c.responding_ae_qualifier.as_ref(),
        )
    {
        audit.record(&guls_audit::AuditEvent::authentication_failed(
            e.name(),
            guls_audit::AuthDiagnostic::Failure,
        ));
        return Err(format!("responding AP-title: {e}"));
    }
    Ok(a.reports.take_session_keys())
}

/// Records the SESE events carriage has queued (without waiting for the network).
async fn drain(assoc: &mut Session) {
    if let SessionKind::Secure(s) = &mut assoc.association {
        while let Ok(Ok(ev)) = tokio::time::timeout(Duration::ZERO, s.recv()).await {
            assoc.audit.secure_event(&ev);
        }
    }
}

/// A-ASSOCIATE with a security exchange, waiting until it completed; the SESE records go to
/// `audit`. Errors are an exit status and the line to print.
async fn secure_connect(
    si: &SecureInitiator,
    first: &guls_sese::Identifier,
    opts: &ConnectOptions,
    params: AssociateParams,
    audit: &AssociationAudit,
) -> Result<guls_sese::SecureAssociation, (u8, String)> {
    let fail = |e: CarriageError| -> (u8, String) {
        match e {
            CarriageError::Association(e) => {
                audit.error(&e);
                classify(&e)
            }
            CarriageError::Rejected {
                rejection,
                failure,
                indications,
            } => {
                for i in &indications {
                    audit.sese_indication(i);
                }
                if let Some(f) = &failure {
                    audit.exchange_event(&guls_sese::ExchangeEvent::Failed {
                        exchange: Some(first.clone()),
                        invocation_id: None,
                        item: failure_item(f, &indications),
                        failure: f.clone(),
                    });
                }
                if let Some(d) = rejection.diagnostic {
                    audit.record(&guls_audit::AuditEvent::association_rejected(
                        rejection.result.name(),
                        result_source_name(rejection.source),
                        Some((d.value(), d.name())),
                    ));
                }
                let extra = failure
                    .as_ref()
                    .map(|f| format!("; {}", guls_sese::carriage::failure_name(f)))
                    .unwrap_or_default();
                (
                    exit::REJECTED,
                    format!(
                        "association rejected: {}{extra}",
                        describe_rejection(&rejection)
                    ),
                )
            }
            CarriageError::Aborted(r) => {
                let r = abort_reason(&r);
                // A no-op when the queued events already recorded the abort.
                audit.aborted_locally(&format!("A-ABORT request: {r}"));
                (exit::ABORTED, format!("aborted: {r}"))
            }
            other => (exit::ABORTED, format!("security exchange: {other}")),
        }
    };
    let mut s = match si.try_connect(opts.addr.as_str(), first, params).await {
        Ok(s) => s,
        Err(e) => {
            // What carriage queued before it gave up (the AARE's item refused by the role:
            // the se-u-abort sent, the failed exchange, the abort), as the responder records it.
            for ev in &e.events {
                audit.secure_event(ev);
            }
            return Err(fail(e.error));
        }
    };
    match tokio::time::timeout(opts.timeout, s.wait_secured()).await {
        Err(_) => {
            let _ = s.abort(Vec::new()).await;
            audit.aborted_locally("A-ABORT request: the security exchange did not complete");
            Err((
                exit::ABORTED,
                "aborted: the security exchange did not complete in time".into(),
            ))
        }
        Ok(Err(e)) => {
            // Record what carriage queued (the failure, the abort) before reporting.
            while let Ok(Ok(ev)) = tokio::time::timeout(Duration::ZERO, s.recv()).await {
                audit.secure_event(&ev);
            }
            Err(fail(e))
        }
        Ok(Ok(())) => {
            while let Ok(Ok(ev)) = tokio::time::timeout(Duration::ZERO, s.recv()).await {
                audit.secure_event(&ev);
            }
            Ok(s)
        }
    }
}

/// The item the abort that ended an exchange named: the peer's abort names it; an abort this
/// side sent answers the last item received (as the endpoint's aborts do).
fn failure_item(
    failure: &guls_sese::Failure,
    indications: &[guls_sese::Indication],
) -> Option<i64> {
    use guls_sese::{Failure, Indication};
    match failure {
        Failure::RejectedByPeer(a) => a.item_identifier,
        Failure::ProviderAbort(p) => p.item_identifier,
        Failure::RejectedLocally(_) | Failure::RoleError(_) => {
            indications.iter().rev().find_map(|i| match i {
                Indication::Transfer(t) => Some(t.item_identifier),
                _ => None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guls_association::{AssociateResult, ResultSourceDiagnostic, UserDiagnostic};

    #[test]
    fn hex_payload_is_single_asn1_only_when_one_tlv() {
        assert_eq!(
            Payload::Hex(vec![0x04, 0x01, 0xaa]).pdv(),
            PdvValue::SingleAsn1Type(vec![0x04, 0x01, 0xaa])
        );
        assert_eq!(
            Payload::Hex(vec![0x04, 0x01, 0xaa, 0x00]).pdv(),
            PdvValue::OctetAligned(vec![0x04, 0x01, 0xaa, 0x00])
        );
        assert_eq!(
            Payload::Hex(vec![0x04, 0x05]).pdv(),
            PdvValue::OctetAligned(vec![0x04, 0x05])
        );
        assert_eq!(
            Payload::Text("hi".into()).pdv(),
            PdvValue::OctetAligned(b"hi".to_vec())
        );
    }

    #[test]
    fn rejection_line_names_result_source_and_diagnostic() {
        let r = Rejection::new(
            AssociateResult::RejectedPermanent,
            ResultSource::AcseServiceUser,
            Some(ResultSourceDiagnostic::ServiceUser(
                UserDiagnostic::AuthenticationFailure,
            )),
        );
        assert_eq!(
            describe_rejection(&r),
            "rejected-permanent by acse-service-user: authentication-failure (13)"
        );
    }

    #[test]
    fn printable_text() {
        assert_eq!(printable(b"hello\n"), Some("hello\n"));
        assert_eq!(printable(&[0x04, 0x01]), None);
        assert_eq!(printable(b""), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let o = ConnectOptions {
            addr: "x".into(),
            profile: Profile::Demo,
            contexts: Vec::new(),
            payload: None,
            password: Some(Zeroizing::new(b"sekrit".to_vec())),
            policy: None,
            calling_ap_title: None,
            calling_ae_qualifier: None,
            called_ap_title: None,
            timeout: Duration::from_secs(1),
            exchanges: Vec::new(),
            carrier: None,
            builtins: BuiltIns::default(),
            audit: None,
        };
        assert!(!format!("{o:?}").contains("sekrit"));
    }
}
