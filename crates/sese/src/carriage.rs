//! Carriage of SESE APDUs over a guls association (ARCHITECTURE.md section 4.2): the first
//! items in the ACSE authentication fields (or user-information) of the AARQ and AARE, the rest
//! as P-DATA values of the SESE presentation context, with application data held back until
//! the required exchange has completed.
//!
//! # Wire shape
//!
//! The initiator proposes, besides the application's contexts, the SESE presentation context
//! (abstract syntax [`Registry::abstract_syntax`], ARC.1.1, transfer syntax BER) and runs the
//! initiator role of the exchange; its first APDU (an se-transfer with startFlag) goes in the
//! AARQ as
//!
//! ```text
//! 8A 02 04 80                        sender-acse-requirements {authentication}
//! 8B LL <exchange OID>               mechanism-name = the exchange's global identifier
//! AC LL A2 LL                        calling-authentication-value [12] { external [2]
//!    02 01 <SESE pcid>                 indirect-reference = the SESE presentation context
//!    A0 LL <SESEapdus value> }         single-ASN1-type = the APDU
//! ```
//!
//! or, with [`Carrier::UserInformation`] (for peers without the authentication functional
//! unit), as an EXTERNAL of the same shape (`28 LL 02 01 <pcid> A0 LL <apdu>`) in the AARQ
//! user-information. The responder answers in the AARE in the carrier the item came in:
//! `responder-acse-requirements {authentication}`, `mechanism-name` and
//! `responding-authentication-value` (`AA LL A2 …`), or user-information. Later items travel as
//! single-ASN1-type P-DATA values of the SESE context, starting right after establishment.
//!
//! # Responder decisions
//!
//! | AARQ | answer |
//! |---|---|
//! | an authentication value without mechanism name | rejected-permanent, diagnostic 12 |
//! | a mechanism name that is no registered exchange | rejected-permanent, diagnostic 11 |
//! | no SESE item while [`CarriageConfig::required`] | rejected-permanent, diagnostic 14 |
//! | the exchange fails on the first item (the role rejects it, or the SESE machine finds a problem; an item naming another exchange than the mechanism name is `transfer.unrecognizedSecurityExchange`, a value that is no SESE APDU in the SESE context `general.invalidAPDU`) | rejected-permanent, diagnostic 13, the se-u-abort / se-p-abort in the responding authentication value (or user-information) |
//! | the exchange completes or continues | accepted, the reply item in the AARE |
//!
//! # Holding application data back
//!
//! Until the required exchange has completed ([`SecureAssociation::is_secured`]),
//! [`SecureAssociation::send`] refuses application data with
//! [`CarriageError::ExchangePending`], and application data received from the peer aborts the
//! association ([`CarriageAbort::EarlyData`]). When a simpleNegotiationSE exchange is the
//! required one, the exchange it agrees on becomes the required one: the initiator starts it
//! at once in P-DATA; nothing agreed is [`CarriageAbort::NoCommonExchange`] (the responder
//! rejects with diagnostic 13 when the negotiation ran in the AARQ). A negotiation never
//! agrees on simpleNegotiationSE itself ([`crate::negotiation`]); should a role registered
//! under its identifier claim to, carriage takes that as nothing agreed, so one negotiation
//! never starts another.
//!
//! # Failures and aborts
//!
//! An SE-U-ABORT or SE-P-ABORT ends the exchange. Whether the association is then aborted is
//! [`CarriageConfig::abort_on_failure`] ([`AbortPolicy::WhenRequired`] by default: when the
//! failed exchange was the required one, i.e. application data is still held back). When the
//! association is aborted, the SESE APDU that ends the exchange travels in the ABRT
//! user-information (an SE-U-/SE-P-ABORT coinciding with A-ABORT); otherwise in P-DATA.
//! Mid-association exchanges (re-authentication) are started with
//! [`SecureAssociation::start_exchange`], with invocation ids when the [`SeseConfig`] allows
//! them.
//!
//! Nothing here logs an item value: the `tracing` lines (target `guls::sese`) name exchanges,
//! invocation ids, problem codes and diagnostics only.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use guls_association::{
    AcceptParams, AcseRequirements, AssociateIndication, AssociateParams, Association,
    AssociationConfig, AssociationError, AssociationEvent, Authentication, AuthenticationValue,
    ContextProposal, ContextRef, DataIndication, DeferredConnectError, External, ExternalEncoding,
    IncomingAssociation, Initiator, Pcid, PdvValue, RejectParams, Rejection, ReleaseOutcome,
    SupportedSyntax, UserDiagnostic,
};
use tokio::net::ToSocketAddrs;

use crate::apdu::{Identifier, InvocationId, ProblemCode, SePAbort, SeseApdu, TransferProblem};
use crate::endpoint::{Endpoint, EndpointOutput, ExchangeEvent, Failure, InitiateError};
use crate::exchange::{ExchangeRole, Outcome, Registry};
use crate::machine::{Indication, SeseConfig};
use crate::negotiation::SIMPLE_NEGOTIATION_SE;

const TARGET: &str = "guls::sese";

/// Where the first SESE APDUs of an association travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Carrier {
    /// ACSE authentication fields: mechanism name = the exchange, authentication value
    /// `external` (the profile's default).
    #[default]
    AuthenticationValue,
    /// ACSE user-information (an EXTERNAL in the SESE context), for peers without the
    /// authentication functional unit. Always accepted on receipt.
    UserInformation,
}

/// Whether a failed exchange (SE-U-ABORT or SE-P-ABORT) also aborts the association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AbortPolicy {
    /// When the failed exchange was the required one (application data still held back).
    #[default]
    WhenRequired,
    /// Always, also when a mid-association exchange fails.
    Always,
    /// Never: the exchange ends, the association stays (data stays held back until another
    /// exchange completes, see [`SecureAssociation::start_exchange`]).
    Never,
}

/// Carriage settings shared by [`SecureInitiator`] and [`SecureResponder`].
#[derive(Debug, Clone)]
pub struct CarriageConfig {
    /// The exchanges of this build (the SESE abstract syntax).
    pub registry: Arc<Registry>,
    /// SESE machine settings (invocation ids, limits).
    pub sese: SeseConfig,
    /// Where the initiator sends its first item.
    pub carrier: Carrier,
    /// Responder: whether an exchange must complete before application data (without one
    /// the AARQ is rejected with diagnostic 14). The initiator always requires the exchange
    /// it starts in [`SecureInitiator::connect`].
    pub required: bool,
    /// What a failed exchange does to the association.
    pub abort_on_failure: AbortPolicy,
}

impl CarriageConfig {
    /// The profile's defaults for `registry`: authentication-field carriage, an exchange
    /// required, abort when the required exchange fails.
    pub fn new(registry: Arc<Registry>) -> Self {
        CarriageConfig {
            registry,
            sese: SeseConfig::default(),
            carrier: Carrier::AuthenticationValue,
            required: true,
            abort_on_failure: AbortPolicy::WhenRequired,
        }
    }
}

/// Why carriage aborted an association (A-ABORT sent by this side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarriageAbort {
    /// Application data arrived before the required exchange completed.
    EarlyData {
        /// The data's presentation context.
        pcid: Pcid,
    },
    /// An exchange failed and [`CarriageConfig::abort_on_failure`] says to abort.
    ExchangeFailed {
        /// The exchange, when known.
        exchange: Option<Identifier>,
        /// Why it failed.
        failure: Failure,
    },
    /// A negotiation agreed on no exchange, or on one this side cannot run.
    NoCommonExchange,
}

impl std::fmt::Display for CarriageAbort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CarriageAbort::EarlyData { pcid } => write!(
                f,
                "application data (context {pcid}) received before the required security \
                 exchange completed"
            ),
            CarriageAbort::ExchangeFailed { exchange, failure } => {
                let name = exchange
                    .as_ref()
                    .map_or_else(|| "?".to_string(), |e| e.to_string());
                write!(
                    f,
                    "security exchange {name} failed: {}",
                    failure_name(failure)
                )
            }
            CarriageAbort::NoCommonExchange => {
                f.write_str("the negotiation agreed on no security exchange this side can run")
            }
        }
    }
}

/// A short description of a failure for logs and errors (never item values).
pub fn failure_name(f: &Failure) -> String {
    match f {
        Failure::RejectedLocally(errors) => format!("rejected here ({} errors)", errors.len()),
        Failure::RejectedByPeer(_) => "se-u-abort from the peer".into(),
        Failure::ProviderAbort(p) => format!("se-p-abort {}", p.problem.name()),
        Failure::RoleError(e) => format!("role error: {e}"),
    }
}

/// Errors of carriage.
#[derive(Debug, thiserror::Error)]
pub enum CarriageError {
    /// The association layer failed.
    #[error(transparent)]
    Association(#[from] AssociationError),
    /// The exchange could not start.
    #[error(transparent)]
    Initiate(#[from] InitiateError),
    /// The mechanism name needs a global (OID) exchange identifier.
    #[error("exchange {0} has a local identifier: it cannot be a mechanism name")]
    LocalIdentifier(Identifier),
    /// The peer did not accept the SESE presentation context.
    #[error("the peer did not accept the SESE presentation context")]
    NoSeseContext,
    /// The peer rejected the association (A-ASSOCIATE confirm, rejected), with the SESE APDU
    /// its AARE carried, if any.
    #[error("association rejected ({}){}",
        .rejection.diagnostic.map(|d| d.name()).unwrap_or("no diagnostic"),
        .failure.as_ref().map(|f| format!(": {}", failure_name(f))).unwrap_or_default())]
    Rejected {
        /// The rejection as the association layer reported it.
        rejection: Box<Rejection>,
        /// How the exchange ended, when the AARE carried an SE-U-ABORT or SE-P-ABORT.
        failure: Option<Failure>,
        /// The SESE indications of the AARE's APDU.
        indications: Vec<Indication>,
    },
    /// This responder rejected the association because of the exchange (the AARE was sent).
    #[error("association rejected here: {}", .0.name())]
    RejectedHere(UserDiagnostic),
    /// Application data before the required exchange completed: not sent.
    #[error("application data held back: the required security exchange has not completed")]
    ExchangePending,
    /// The SESE presentation context carries only SESE APDUs sent by carriage.
    #[error("the SESE presentation context is reserved for the security exchanges")]
    SeseContextReserved,
    /// Carriage aborted the association.
    #[error("association aborted: {0}")]
    Aborted(CarriageAbort),
}

/// Why [`SecureInitiator::try_connect`] failed, with what carriage produced before.
#[derive(Debug)]
pub struct ConnectError {
    /// The error [`SecureInitiator::connect`] returns.
    pub error: CarriageError,
    /// The events carriage queued on the association before the error, in order (empty when
    /// no association was established; a rejection carries its own in
    /// [`CarriageError::Rejected`]).
    pub events: Vec<SecureEvent>,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl From<ConnectError> for CarriageError {
    fn from(e: ConnectError) -> Self {
        e.error
    }
}

/// The SESE presentation context proposal: ARC.1.1 with BER.
pub fn sese_context() -> ContextProposal {
    ContextProposal::ber(Registry::abstract_syntax())
}

/// The SESE syntax a responder accepts: ARC.1.1 with BER.
pub fn sese_syntax() -> SupportedSyntax {
    SupportedSyntax::ber(Registry::abstract_syntax())
}

/// The SESE APDU in an EXTERNAL of presentation context `pcid`, where it is.
fn external_apdu(x: &External, pcid: Option<Pcid>) -> Option<&[u8]> {
    let pcid = pcid?;
    if x.indirect_reference != Some(pcid) {
        return None;
    }
    match &x.encoding {
        ExternalEncoding::SingleAsn1Type(v) | ExternalEncoding::OctetAligned(v) => Some(v),
        // Not a BER value: handed on as nothing, which the machine answers with
        // general.invalidAPDU.
        ExternalEncoding::Arbitrary(_) => Some(&[]),
    }
}

/// The SESE APDU in an authentication value (`external` in the SESE context).
fn auth_apdu(v: Option<&AuthenticationValue>, pcid: Option<Pcid>) -> Option<&[u8]> {
    match v? {
        AuthenticationValue::External(x) => external_apdu(x.external(), pcid),
        _ => None,
    }
}

/// The first SESE APDU in a user-information list.
fn user_info_apdu(ui: &[External], pcid: Option<Pcid>) -> Option<&[u8]> {
    ui.iter().find_map(|x| external_apdu(x, pcid))
}

fn sese_pcid_of(contexts: &[guls_association::DefinedContext]) -> Option<Pcid> {
    let syntax = Registry::abstract_syntax();
    contexts
        .iter()
        .find(|c| c.abstract_syntax == syntax)
        .map(|c| c.pcid)
}

fn is_negotiation(id: &Identifier) -> bool {
    id.as_global() == Some(&SIMPLE_NEGOTIATION_SE)
}

/// The exchange a completed negotiation agreed on, as carriage follows it up: a negotiation
/// that "agreed" on simpleNegotiationSE itself agreed on nothing. The shipped roles never
/// agree on it ([`crate::negotiation`]); this guards roles registered under the negotiation's
/// identifier by the application, so that a negotiation never starts another one (which,
/// between two such peers, would loop forever).
fn negotiated(outcome: &Outcome) -> Option<Identifier> {
    outcome
        .negotiated
        .as_ref()
        .filter(|x| **x != SIMPLE_NEGOTIATION_SE)
        .map(|x| Identifier::Global(x.clone()))
}

// ------------------------------------------------------------------------------ initiator

/// Opens associations secured by a security exchange.
#[derive(Debug, Clone)]
pub struct SecureInitiator {
    initiator: Initiator,
    carriage: Arc<CarriageConfig>,
    sese_pcid: Pcid,
}

impl SecureInitiator {
    /// An initiator proposing `config`'s contexts plus the SESE context (appended when
    /// missing).
    pub fn new(mut config: AssociationConfig, carriage: CarriageConfig) -> Self {
        let syntax = Registry::abstract_syntax();
        if !config
            .presentation
            .contexts
            .iter()
            .any(|c| c.abstract_syntax == syntax)
        {
            config.presentation.contexts.push(sese_context());
        }
        let sese_pcid = config
            .proposed_contexts()
            .iter()
            .find(|c| c.abstract_syntax == syntax)
            .map_or(1, |c| c.pcid);
        SecureInitiator {
            initiator: Initiator::new(config),
            carriage: Arc::new(carriage),
            sese_pcid,
        }
    }

    /// The presentation context identifier proposed for the SESE context.
    pub fn sese_pcid(&self) -> Pcid {
        self.sese_pcid
    }

    /// The association initiator (with the SESE context in its configuration).
    pub fn initiator(&self) -> &Initiator {
        &self.initiator
    }

    /// The carriage settings.
    pub fn carriage(&self) -> &CarriageConfig {
        &self.carriage
    }

    /// What starting `exchange` can check without running its role (no crypto, no network):
    /// a global identifier when it is to be the mechanism name, and a registered exchange
    /// with role machines. Returns a fresh endpoint and the initiator role to start.
    fn prepare(
        &self,
        exchange: &Identifier,
    ) -> Result<(Endpoint, Box<dyn ExchangeRole>), CarriageError> {
        let endpoint = Endpoint::new(self.carriage.registry.clone(), self.carriage.sese);
        if self.carriage.carrier == Carrier::AuthenticationValue && exchange.as_global().is_none() {
            return Err(CarriageError::LocalIdentifier(exchange.clone()));
        }
        let role = endpoint.initiator_role(exchange)?;
        Ok((endpoint, role))
    }

    /// Starts `role` (from [`SecureInitiator::prepare`]) on `endpoint`, which runs its first
    /// step (a key pair, a signature), and puts its first APDU into `params` in the
    /// configured carrier; returns what starting produced.
    fn begin(
        &self,
        exchange: &Identifier,
        endpoint: &mut Endpoint,
        role: Box<dyn ExchangeRole>,
        params: &mut AssociateParams,
    ) -> Result<EndpointOutput, CarriageError> {
        let mut first = endpoint.initiate_with(exchange, InvocationId::Absent, role)?;
        let apdus = std::mem::take(&mut first.send);
        for apdu in apdus {
            let x = External::single_asn1(self.sese_pcid, apdu.bytes);
            match (self.carriage.carrier, exchange.as_global()) {
                (Carrier::AuthenticationValue, Some(oid)) if params.authentication.is_none() => {
                    params.authentication = Some(Authentication::external(oid.clone(), x));
                }
                _ => params.user_information.push(x),
            }
        }
        Ok(first)
    }

    /// The A-ASSOCIATE request that [`SecureInitiator::connect`] would send for `exchange`
    /// (the AARQ with the first SESE APDU), for inspection and tests.
    pub fn associate_request(
        &self,
        exchange: &Identifier,
        mut params: AssociateParams,
    ) -> Result<guls_acse::AssociateRequest, CarriageError> {
        let (mut endpoint, role) = self.prepare(exchange)?;
        self.begin(exchange, &mut endpoint, role, &mut params)?;
        Ok(self.initiator.associate_request(params))
    }

    /// A-ASSOCIATE with `exchange` as the required security exchange: its first item goes in
    /// the AARQ, the AARE's reply is fed to the initiator role, and further items continue in
    /// P-DATA. Returns once the association is established; the exchange may still be
    /// running (see [`SecureAssociation::wait_secured`]).
    ///
    /// A rejection is [`CarriageError::Rejected`] with the SESE APDU of the AARE decoded; an
    /// exchange that fails in the AARE while the association was accepted aborts it (per
    /// [`CarriageConfig::abort_on_failure`]) and is [`CarriageError::Aborted`];
    /// [`SecureInitiator::try_connect`] also hands back the events queued on the way.
    ///
    /// The first item is made while the transport connection is set up (see
    /// [`Initiator::connect_request_with`]): the role's first step (a key pair, a signature)
    /// runs once the transport CR is written, while the peer answers it. What needs no role
    /// code fails before any TCP connection: [`CarriageError::LocalIdentifier`], and an
    /// exchange that is not registered or has no role machines; a role that cannot start
    /// ([`InitiateError::NoFirstItem`], say) closes the connection after the CR.
    pub async fn connect(
        &self,
        addr: impl ToSocketAddrs,
        exchange: &Identifier,
        params: AssociateParams,
    ) -> Result<SecureAssociation, CarriageError> {
        self.try_connect(addr, exchange, params)
            .await
            .map_err(|e| e.error)
    }

    /// [`SecureInitiator::connect`], handing back with its error the events carriage queued
    /// before it gave up: when the exchange fails on the AARE's item while the association was
    /// accepted (the initiator role refuses item 2, say), the SESE indications, the failed
    /// exchange and the abort ([`SecureEvent::Aborted`]) that [`CarriageError::Aborted`] alone
    /// would lose, for the application's audit.
    pub async fn try_connect(
        &self,
        addr: impl ToSocketAddrs,
        exchange: &Identifier,
        params: AssociateParams,
    ) -> Result<SecureAssociation, ConnectError> {
        let mut pending = None;
        match self
            .connect_inner(addr, exchange, params, &mut pending)
            .await
        {
            Ok(s) => Ok(s),
            Err(error) => Err(ConnectError {
                error,
                events: pending.map(|s| s.queue.into()).unwrap_or_default(),
            }),
        }
    }

    /// [`SecureInitiator::connect`]; an association set up before an error is left in
    /// `pending` (for its queued events).
    async fn connect_inner(
        &self,
        addr: impl ToSocketAddrs,
        exchange: &Identifier,
        mut params: AssociateParams,
        pending: &mut Option<SecureAssociation>,
    ) -> Result<SecureAssociation, CarriageError> {
        // What cannot depend on the network fails before any TCP connection; the role's
        // first step (its crypto) runs while the transport CR/CC round trip is under way.
        let (mut endpoint, role) = self.prepare(exchange)?;
        tracing::info!(target: TARGET, %exchange, carrier = ?self.carriage.carrier,
            "A-ASSOCIATE with a security exchange");
        let mut first = None;
        let result = self
            .initiator
            .connect_request_with(addr, || {
                first = Some(self.begin(exchange, &mut endpoint, role, &mut params)?);
                Ok::<_, CarriageError>(self.initiator.associate_request(params))
            })
            .await;
        let assoc = match result {
            Ok(a) => a,
            Err(DeferredConnectError::Build(e)) => return Err(e),
            Err(DeferredConnectError::Association(AssociationError::Rejected(rejection))) => {
                let pcid = Some(self.sese_pcid);
                let apdu = auth_apdu(rejection.authentication_value.as_ref(), pcid)
                    .or_else(|| user_info_apdu(&rejection.user_information, pcid));
                let (mut failure, mut indications) = (None, Vec::new());
                if let Some(bytes) = apdu {
                    let out = endpoint.receive(bytes);
                    indications = out.indications;
                    failure = out.events.into_iter().find_map(|e| match e {
                        ExchangeEvent::Failed { failure, .. } => Some(failure),
                        ExchangeEvent::Completed { .. } => None,
                    });
                }
                tracing::info!(target: TARGET, %exchange,
                    diagnostic = rejection.diagnostic.map(|d| d.name()).unwrap_or("-"),
                    failure = failure.as_ref().map(failure_name).unwrap_or_default(),
                    "association rejected");
                return Err(CarriageError::Rejected {
                    rejection,
                    failure,
                    indications,
                });
            }
            Err(DeferredConnectError::Association(e)) => return Err(e.into()),
        };
        if sese_pcid_of(assoc.contexts()) != Some(self.sese_pcid) {
            let _ = assoc.abort(Vec::new()).await;
            return Err(CarriageError::NoSeseContext);
        }
        let reply = assoc.associate_confirm().and_then(|c| {
            auth_apdu(c.authentication_value.as_ref(), Some(self.sese_pcid))
                .or_else(|| user_info_apdu(&c.user_information, Some(self.sese_pcid)))
                .map(<[u8]>::to_vec)
        });
        let mut secure = SecureAssociation::new(
            assoc,
            endpoint,
            self.sese_pcid,
            self.carriage.clone(),
            Gate::Running(InvocationId::Absent),
            true,
        );
        // `first` is set: the association exists, so the request was built.
        match settle(&mut secure, first.unwrap_or_default(), reply).await {
            Ok(()) => Ok(secure),
            Err(e) => {
                *pending = Some(secure);
                Err(e)
            }
        }
    }
}

/// Runs the initiator's first output and the AARE's item (if any) through an association
/// just accepted; an error when either ended it.
async fn settle(
    secure: &mut SecureAssociation,
    first: EndpointOutput,
    reply: Option<Vec<u8>>,
) -> Result<(), CarriageError> {
    secure.handle(first).await?;
    if let Some(bytes) = reply {
        let out = secure.endpoint_mut().receive(&bytes);
        secure.handle(out).await?;
    }
    match &secure.aborted {
        Some(reason) => Err(CarriageError::Aborted(reason.clone())),
        None => Ok(()),
    }
}

// ------------------------------------------------------------------------------ responder

/// Answers A-ASSOCIATE indications that carry security exchanges.
#[derive(Debug, Clone)]
pub struct SecureResponder {
    carriage: Arc<CarriageConfig>,
}

/// What the responder will answer, decided from the AARQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No SESE item and none required: a plain association (nothing held back).
    NoExchange,
    /// The exchange completed, or continues in P-DATA: accept.
    Proceed,
    /// Reject with this diagnostic (11, 12, 13 or 14).
    Reject(UserDiagnostic),
}

/// An A-ASSOCIATE indication whose SESE item has been run through the responder role.
#[derive(Debug)]
pub struct SecureIncoming {
    // Boxed: the indication holds the connection (a few KiB), and this value moves into
    // every future that answers it.
    incoming: Box<IncomingAssociation>,
    endpoint: Endpoint,
    carriage: Arc<CarriageConfig>,
    sese_pcid: Option<Pcid>,
    carrier: Option<Carrier>,
    exchange: Option<Identifier>,
    reply: Option<Vec<u8>>,
    verdict: Verdict,
    gate: Gate,
    events: Vec<ExchangeEvent>,
    indications: Vec<Indication>,
}

impl SecureResponder {
    /// A responder with these settings.
    pub fn new(carriage: CarriageConfig) -> Self {
        SecureResponder {
            carriage: Arc::new(carriage),
        }
    }

    /// `config` with the SESE syntax among the supported ones (for
    /// [`guls_association::Responder::bind`]).
    pub fn configure(mut config: AssociationConfig) -> AssociationConfig {
        let syntax = Registry::abstract_syntax();
        if !config
            .presentation
            .supported
            .iter()
            .any(|s| s.abstract_syntax == syntax)
        {
            config.presentation.supported.push(sese_syntax());
        }
        config
    }

    /// The carriage settings.
    pub fn carriage(&self) -> &CarriageConfig {
        &self.carriage
    }

    /// Finds the SESE item of the AARQ, runs the responder role on it and decides (see the
    /// module docs); nothing is sent yet.
    pub fn examine(&self, incoming: IncomingAssociation) -> SecureIncoming {
        let mut endpoint = Endpoint::new(self.carriage.registry.clone(), self.carriage.sese);
        let sese_pcid = sese_pcid_of(&incoming.contexts());
        let mut s = SecureIncoming {
            incoming: Box::new(incoming),
            endpoint: Endpoint::new(self.carriage.registry.clone(), self.carriage.sese),
            carriage: self.carriage.clone(),
            sese_pcid,
            carrier: None,
            exchange: None,
            reply: None,
            verdict: Verdict::NoExchange,
            gate: Gate::Open,
            events: Vec::new(),
            indications: Vec::new(),
        };
        let ind = s.incoming.indication();
        let mechanism = ind.mechanism_name.clone();
        let (apdu, carrier) = match (&mechanism, &ind.authentication_value) {
            (None, Some(_)) => {
                s.verdict = Verdict::Reject(UserDiagnostic::AuthenticationMechanismNameRequired);
                return s.log();
            }
            (Some(m), value) => {
                let id = Identifier::Global(m.clone());
                if self.carriage.registry.get(&id).is_none() {
                    s.verdict =
                        Verdict::Reject(UserDiagnostic::AuthenticationMechanismNameNotRecognized);
                    return s.log();
                }
                s.exchange = Some(id);
                // A mechanism without a SESE value in the SESE context: no APDU, which the
                // machine answers with general.invalidAPDU.
                let apdu = auth_apdu(value.as_ref(), sese_pcid).unwrap_or_default();
                (apdu, Carrier::AuthenticationValue)
            }
            (None, None) => match user_info_apdu(&ind.user_information, sese_pcid) {
                Some(apdu) => (apdu, Carrier::UserInformation),
                None if self.carriage.required => {
                    s.verdict = Verdict::Reject(UserDiagnostic::AuthenticationRequired);
                    return s.log();
                }
                None => return s.log(),
            },
        };
        s.carrier = Some(carrier);
        let decoded = SeseApdu::decode(apdu);
        let mut out = match (&mechanism, decoded) {
            // The item names another exchange than the mechanism name.
            (Some(m), Ok(SeseApdu::Transfer(t))) if t.se_identifier.as_global() != Some(m) => {
                let problem = ProblemCode::Transfer(TransferProblem::UnrecognizedSecurityExchange);
                let p = SePAbort {
                    invocation_id: None,
                    item_identifier: None,
                    problem,
                };
                let mut out = EndpointOutput::default();
                out.send
                    .push(crate::machine::OutgoingApdu::new(SeseApdu::PAbort(p)));
                let pind = crate::machine::PAbortIndication {
                    invocation_id: None,
                    item_identifier: None,
                    problem,
                    source: crate::machine::AbortSource::Local,
                    reason: Some(format!(
                        "the item names exchange {} but the mechanism name is {m}",
                        t.se_identifier
                    )),
                };
                out.events.push(ExchangeEvent::Failed {
                    exchange: Some(Identifier::Global(m.clone())),
                    invocation_id: None,
                    item: None,
                    failure: Failure::ProviderAbort(pind.clone()),
                });
                out.indications.push(Indication::PAbort(pind));
                out
            }
            // Decoded once, here; what does not decode the machine reports (invalid APDU).
            (_, Ok(a)) => endpoint.receive_apdu(a),
            (_, Err(_)) => endpoint.receive(apdu),
        };
        if let Some(Indication::Transfer(t)) = out.indications.first() {
            s.exchange = Some(t.se_identifier.clone());
            s.gate = Gate::Running(t.invocation_id);
        }
        s.reply = std::mem::take(&mut out.send)
            .into_iter()
            .next()
            .map(|a| a.bytes);
        s.verdict = Verdict::Proceed;
        for ev in &out.events {
            match ev {
                ExchangeEvent::Failed { .. } => {
                    s.verdict = Verdict::Reject(UserDiagnostic::AuthenticationFailure);
                }
                ExchangeEvent::Completed {
                    exchange, outcome, ..
                } if is_negotiation(exchange) => match negotiated(outcome) {
                    Some(x) => s.gate = Gate::Negotiated(x),
                    None if self.carriage.required => {
                        s.verdict = Verdict::Reject(UserDiagnostic::AuthenticationFailure);
                    }
                    None => s.gate = Gate::Open,
                },
                ExchangeEvent::Completed { .. } => s.gate = Gate::Open,
            }
        }
        if !matches!(s.verdict, Verdict::Proceed) {
            s.gate = Gate::Open;
        }
        s.events = out.events;
        s.indications = out.indications;
        s.endpoint = endpoint;
        s.log()
    }
}

impl SecureIncoming {
    fn log(self) -> Self {
        tracing::info!(target: TARGET, peer = %self.incoming.peer_addr(),
            exchange = self.exchange.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            carrier = ?self.carrier, verdict = ?self.verdict, "AARQ examined");
        self
    }

    /// The A-ASSOCIATE indication.
    pub fn indication(&self) -> &AssociateIndication {
        self.incoming.indication()
    }

    /// The association indication itself (contexts, addresses).
    pub fn incoming(&self) -> &IncomingAssociation {
        &self.incoming
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.incoming.peer_addr()
    }

    /// What [`SecureIncoming::finish`] will answer.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// The exchange the AARQ started (or its mechanism name named).
    pub fn exchange(&self) -> Option<&Identifier> {
        self.exchange.as_ref()
    }

    /// Where the SESE item came (and the reply goes).
    pub fn carrier(&self) -> Option<Carrier> {
        self.carrier
    }

    /// The SESE presentation context, when the peer proposed it and it is accepted.
    pub fn sese_pcid(&self) -> Option<Pcid> {
        self.sese_pcid
    }

    /// What the exchange established, when it completed in the AARQ.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.events.iter().find_map(|e| match e {
            ExchangeEvent::Completed { outcome, .. } => Some(outcome),
            ExchangeEvent::Failed { .. } => None,
        })
    }

    /// The exchange events of the AARQ's item.
    pub fn events(&self) -> &[ExchangeEvent] {
        &self.events
    }

    /// The SESE indications of the AARQ's item.
    pub fn indications(&self) -> &[Indication] {
        &self.indications
    }

    fn take_reply_external(&mut self) -> Option<External> {
        Some(External::single_asn1(self.sese_pcid?, self.reply.take()?))
    }

    /// Answers as the [`Verdict`] says: accepts with `params` plus the reply item (in the
    /// carrier the item came in), or rejects with the diagnostic (and, for 13, the
    /// se-u-abort / se-p-abort) and returns [`CarriageError::RejectedHere`].
    pub async fn finish(
        mut self,
        mut params: AcceptParams,
    ) -> Result<SecureAssociation, CarriageError> {
        let auth_fu = self.incoming.indication().proposes_authentication();
        let reply = self.take_reply_external();
        if let Verdict::Reject(diagnostic) = self.verdict {
            let mut rp = RejectParams::new(diagnostic);
            if let Some(x) = reply {
                match (self.carrier, &self.exchange) {
                    (Some(Carrier::AuthenticationValue), Some(Identifier::Global(m)))
                        if auth_fu =>
                    {
                        rp.authentication = Some(Authentication::external(m.clone(), x));
                    }
                    _ => rp.user_information.push(x),
                }
            }
            tracing::info!(target: TARGET, peer = %self.incoming.peer_addr(),
                diagnostic = diagnostic.name(), "association rejected by carriage");
            self.incoming.reject_with(rp).await?;
            return Err(CarriageError::RejectedHere(diagnostic));
        }
        let carrier_auth = self.carrier == Some(Carrier::AuthenticationValue) && auth_fu;
        match (reply, carrier_auth, &self.exchange) {
            (Some(x), true, Some(Identifier::Global(m))) => {
                params.authentication = Some(Authentication::external(m.clone(), x));
            }
            (Some(x), _, _) => params.user_information.push(x),
            (None, true, _) => params.acse_requirements = Some(AcseRequirements::authentication()),
            (None, false, _) => {}
        }
        // Without a SESE context nothing was found, so nothing is held back and no SESE value
        // can arrive: 0 names no context.
        let pcid = self.sese_pcid.unwrap_or(0);
        let assoc = self.incoming.accept(params).await?;
        let mut secure =
            SecureAssociation::new(assoc, self.endpoint, pcid, self.carriage, self.gate, false);
        // The incoming side ends here: its events are moved out, not cloned.
        secure.outcome = std::mem::take(&mut self.events)
            .into_iter()
            .find_map(|e| match e {
                ExchangeEvent::Completed {
                    exchange, outcome, ..
                } if !is_negotiation(&exchange) => Some(outcome),
                _ => None,
            });
        Ok(secure)
    }

    /// Rejects for a reason of the application (the exchange is abandoned; no SESE APDU is
    /// sent).
    pub async fn reject(
        self,
        diagnostic: UserDiagnostic,
        user_information: Vec<External>,
    ) -> Result<(), CarriageError> {
        self.incoming.reject(diagnostic, user_information).await?;
        Ok(())
    }
}

// ------------------------------------------------------------------------------ association

/// The state of the required exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gate {
    /// Completed (or none required): application data flows.
    Open,
    /// The required exchange runs under this invocation id.
    Running(InvocationId),
    /// A negotiation agreed on this exchange, which has not started yet.
    Negotiated(Identifier),
}

/// What [`SecureAssociation::recv`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecureEvent {
    /// Application data (never before the required exchange completed).
    Data(DataIndication),
    /// A SESE indication (SE-TRANSFER, SE-U-ABORT, SE-P-ABORT, local or from the peer).
    Sese(Indication),
    /// An exchange completed or failed.
    Exchange(ExchangeEvent),
    /// Any other association event (release, abort indications, provider abort).
    Association(AssociationEvent),
    /// Carriage aborted the association (the last event).
    Aborted(CarriageAbort),
}

/// An association whose application data is gated by a security exchange.
#[derive(Debug)]
pub struct SecureAssociation {
    assoc: Association,
    /// In a mutex only so that the handle is `Sync` (role machines are only `Send`); always
    /// reached through `get_mut`, never locked.
    endpoint: std::sync::Mutex<Endpoint>,
    sese_pcid: Pcid,
    carriage: Arc<CarriageConfig>,
    gate: Gate,
    initiator: bool,
    queue: VecDeque<SecureEvent>,
    outcome: Option<Outcome>,
    aborted: Option<CarriageAbort>,
}

impl SecureAssociation {
    fn new(
        assoc: Association,
        endpoint: Endpoint,
        sese_pcid: Pcid,
        carriage: Arc<CarriageConfig>,
        gate: Gate,
        initiator: bool,
    ) -> Self {
        SecureAssociation {
            assoc,
            endpoint: std::sync::Mutex::new(endpoint),
            sese_pcid,
            carriage,
            gate,
            initiator,
            queue: VecDeque::new(),
            outcome: None,
            aborted: None,
        }
    }

    /// True once the required exchange has completed (or none was required): application
    /// data may flow.
    pub fn is_secured(&self) -> bool {
        self.gate == Gate::Open && self.aborted.is_none()
    }

    /// What the required exchange established, once it completed.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// The SESE presentation context identifier.
    pub fn sese_pcid(&self) -> Pcid {
        self.sese_pcid
    }

    /// The underlying association (contexts, confirm, addresses).
    pub fn association(&self) -> &Association {
        &self.assoc
    }

    /// The SESE endpoint (its machine's active and just-completed instances).
    pub fn endpoint(&mut self) -> &Endpoint {
        self.endpoint_mut()
    }

    fn endpoint_mut(&mut self) -> &mut Endpoint {
        self.endpoint.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// Why carriage aborted the association, if it did.
    pub fn abort_reason(&self) -> Option<&CarriageAbort> {
        self.aborted.as_ref()
    }

    fn check_data(&self, ctx: &ContextRef) -> Result<(), CarriageError> {
        let reserved = match ctx {
            ContextRef::Pcid(p) => *p == self.sese_pcid,
            ContextRef::AbstractSyntax(a) => *a == Registry::abstract_syntax(),
        };
        if reserved {
            return Err(CarriageError::SeseContextReserved);
        }
        if let Some(r) = &self.aborted {
            return Err(CarriageError::Aborted(r.clone()));
        }
        if self.gate != Gate::Open {
            return Err(CarriageError::ExchangePending);
        }
        Ok(())
    }

    /// P-DATA request with application data; [`CarriageError::ExchangePending`] (nothing
    /// sent) before the required exchange completed.
    pub async fn send(
        &self,
        ctx: impl Into<ContextRef>,
        value: PdvValue,
    ) -> Result<(), CarriageError> {
        let ctx = ctx.into();
        self.check_data(&ctx)?;
        Ok(self.assoc.send(ctx, value).await?)
    }

    /// [`SecureAssociation::send`] with one BER value (single-ASN1-type).
    pub async fn send_asn1(
        &self,
        ctx: impl Into<ContextRef>,
        ber: Vec<u8>,
    ) -> Result<(), CarriageError> {
        self.send(ctx, PdvValue::SingleAsn1Type(ber)).await
    }

    /// Starts a mid-association exchange (re-authentication, re-keying) in P-DATA under
    /// `invocation_id` (allowed by [`SeseConfig::invocation_ids`]). Its completion or failure
    /// comes as [`SecureEvent::Exchange`].
    pub async fn start_exchange(
        &mut self,
        exchange: &Identifier,
        invocation_id: InvocationId,
    ) -> Result<(), CarriageError> {
        if let Some(r) = &self.aborted {
            return Err(CarriageError::Aborted(r.clone()));
        }
        let out = self.endpoint_mut().initiate(exchange, invocation_id)?;
        if matches!(&self.gate, Gate::Negotiated(x) if x == exchange) {
            self.gate = Gate::Running(invocation_id);
        }
        tracing::info!(target: TARGET, %exchange, ?invocation_id, "exchange started in P-DATA");
        self.handle(out).await
    }

    /// Receives until the required exchange has completed; events meanwhile stay queued for
    /// [`SecureAssociation::recv`]. [`CarriageError::Aborted`] when carriage aborted the
    /// association; an association error when it ended otherwise.
    pub async fn wait_secured(&mut self) -> Result<(), CarriageError> {
        loop {
            if let Some(r) = &self.aborted {
                return Err(CarriageError::Aborted(r.clone()));
            }
            if self.gate == Gate::Open {
                return Ok(());
            }
            self.pump().await?;
        }
    }

    /// The next event (see [`SecureEvent`]). SESE values are handled here: replies are sent,
    /// exchanges complete or fail, and the association is aborted when the policy says so.
    /// Cancel-safe only between events (a SESE reply may be half sent when dropped).
    pub async fn recv(&mut self) -> Result<SecureEvent, CarriageError> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Ok(ev);
            }
            if self.aborted.is_some() {
                return Err(CarriageError::Association(AssociationError::Closed));
            }
            self.pump().await?;
        }
    }

    /// Reads one association event and handles it into the queue.
    async fn pump(&mut self) -> Result<(), CarriageError> {
        let ev = self.assoc.recv().await?;
        match ev {
            AssociationEvent::Data(d) if d.pcid == self.sese_pcid => {
                let bytes = match &d.value {
                    PdvValue::SingleAsn1Type(v) | PdvValue::OctetAligned(v) => v.as_slice(),
                    PdvValue::Arbitrary(_) => &[],
                };
                let out = self.endpoint_mut().receive(bytes);
                self.handle(out).await?;
            }
            AssociationEvent::Data(d) if self.gate == Gate::Open => {
                self.queue.push_back(SecureEvent::Data(d));
            }
            AssociationEvent::Data(d) => {
                tracing::warn!(target: TARGET, pcid = d.pcid,
                    "application data before the required exchange completed: aborting");
                self.abort_with(CarriageAbort::EarlyData { pcid: d.pcid }, Vec::new())
                    .await;
            }
            AssociationEvent::AbortIndication {
                ref user_information,
                ..
            }
            | AssociationEvent::ReleaseIndication {
                ref user_information,
                ..
            } => {
                if let Some(bytes) =
                    user_info_apdu(user_information, Some(self.sese_pcid)).map(<[u8]>::to_vec)
                {
                    // The SESE APDU coinciding with the A-ABORT / A-RELEASE: indications
                    // only; nothing can be answered.
                    let out = self.endpoint_mut().receive(&bytes);
                    self.queue
                        .extend(out.indications.into_iter().map(SecureEvent::Sese));
                    self.queue
                        .extend(out.events.into_iter().map(SecureEvent::Exchange));
                }
                self.queue.push_back(SecureEvent::Association(ev));
            }
            other => self.queue.push_back(SecureEvent::Association(other)),
        }
        Ok(())
    }

    /// Handles what the endpoint produced: queues indications and events, moves the gate,
    /// starts a negotiated exchange (initiator), then sends the APDUs in P-DATA or, when the
    /// policy aborts, in the ABRT user-information.
    async fn handle(&mut self, out: EndpointOutput) -> Result<(), CarriageError> {
        let mut work = VecDeque::from([out]);
        let mut send = Vec::new();
        let mut abort = None;
        while let Some(out) = work.pop_front() {
            send.extend(out.send.into_iter().map(|a| a.bytes));
            for ind in out.indications {
                if let (Indication::Transfer(t), Gate::Negotiated(x)) = (&ind, &self.gate)
                    && t.start
                    && &t.se_identifier == x
                {
                    self.gate = Gate::Running(t.invocation_id);
                }
                self.queue.push_back(SecureEvent::Sese(ind));
            }
            for ev in out.events {
                match &ev {
                    ExchangeEvent::Completed {
                        exchange,
                        invocation_id,
                        outcome,
                    } => {
                        tracing::info!(target: TARGET, %exchange, ?invocation_id,
                            "exchange completed");
                        let required = self.gate == Gate::Running(*invocation_id);
                        if required && is_negotiation(exchange) {
                            match negotiated(outcome) {
                                Some(x) => {
                                    self.gate = Gate::Negotiated(x.clone());
                                    if self.initiator {
                                        match self.endpoint_mut().initiate(&x, *invocation_id) {
                                            Ok(o) => {
                                                self.gate = Gate::Running(*invocation_id);
                                                work.push_back(o);
                                            }
                                            Err(_) => abort = Some(CarriageAbort::NoCommonExchange),
                                        }
                                    }
                                }
                                None => abort = Some(CarriageAbort::NoCommonExchange),
                            }
                        } else if required {
                            self.gate = Gate::Open;
                            self.outcome = Some(outcome.clone());
                        }
                    }
                    ExchangeEvent::Failed {
                        exchange,
                        invocation_id,
                        failure,
                        ..
                    } => {
                        tracing::info!(target: TARGET,
                            exchange = exchange.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                            ?invocation_id, failure = failure_name(failure), "exchange failed");
                        let required = self.gate != Gate::Open;
                        let policy = self.carriage.abort_on_failure;
                        if policy == AbortPolicy::Always
                            || (policy == AbortPolicy::WhenRequired && required)
                        {
                            abort.get_or_insert(CarriageAbort::ExchangeFailed {
                                exchange: exchange.clone(),
                                failure: failure.clone(),
                            });
                        }
                    }
                }
                self.queue.push_back(SecureEvent::Exchange(ev));
            }
        }
        match abort {
            Some(reason) => self.abort_with(reason, send).await,
            None => {
                for bytes in send {
                    match self
                        .assoc
                        .send(self.sese_pcid, PdvValue::SingleAsn1Type(bytes))
                        .await
                    {
                        Ok(()) => {}
                        // The end is reported by recv.
                        Err(AssociationError::Closed) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(())
    }

    /// A-ABORT with the SESE APDUs in the user-information; queues the reason.
    async fn abort_with(&mut self, reason: CarriageAbort, apdus: Vec<Vec<u8>>) {
        tracing::info!(target: TARGET, reason = %reason, "aborting the association");
        let ui = apdus
            .into_iter()
            .map(|b| External::single_asn1(self.sese_pcid, b))
            .collect();
        let _ = self.assoc.abort(ui).await;
        self.queue.push_back(SecureEvent::Aborted(reason.clone()));
        self.aborted = Some(reason);
    }

    /// A-RELEASE (see [`Association::release`]).
    pub async fn release(&mut self) -> Result<ReleaseOutcome, CarriageError> {
        Ok(self.assoc.release().await?)
    }

    /// A-RELEASE response (see [`Association::release_response`]).
    pub async fn release_response(
        &self,
        user_information: Vec<External>,
    ) -> Result<(), CarriageError> {
        Ok(self.assoc.release_response(user_information).await?)
    }

    /// A-ABORT (see [`Association::abort`]).
    pub async fn abort(&self, user_information: Vec<External>) -> Result<(), CarriageError> {
        Ok(self.assoc.abort(user_information).await?)
    }
}
