//! The sans-IO composition of the four layers for one connection.
//!
//! [`Stack`] takes TPDUs (the payload of each received TPKT) and user primitives, and gives
//! events plus the octets to write (already framed as TPKTs, all of one step in one buffer so
//! the driver writes them with a single `write_all`). It owns no socket and no clock.
//!
//! Transport (ISO 8073 class 0) and session (ISO 8327 kernel + duplex) are handled here on top
//! of the guls-transport and guls-session codecs; presentation and ACSE are the
//! [`PresentationMachine`] and [`AcseMachine`] of their crates.
//!
//! Every failure of a received PDU ends the connection: the right abort PDU (session ABORT,
//! with the presentation ARP when the presentation machine produced one, or with an ARU
//! carrying the ACSE provider ABRT) is queued, [`Stack::is_done`] turns true, and a
//! [`StackEvent::ProviderAbort`] (or [`StackEvent::Abort`]) names the layer.

use std::sync::Arc;

use guls_acse::{
    AbortRequest, AcseEvent, AcseMachine, AssociateConfirm, AssociateIndication, AssociateRequest,
    AssociateResponse, ProviderReason, ReleaseConfirm, ReleaseIndication, ReleaseRequest,
    ReleaseResponse,
};
use guls_ber::External;
use guls_presentation::{
    AbortIndication as PAbortIndication, ConnectIndication, DataValue, DecodeOptions,
    DefaultContextName, DefinedContext, EncodeStyle, Pcid, PdvValue, PresentationConfig,
    PresentationMachine, RefuseReason as PRefuseReason, ReleaseKind, UserData,
};
use guls_session::{
    Abort as SAbort, Accept, ConnectAcceptItem, ConnectUserData, Disconnect, Finish,
    FunctionalUnits, ProtocolOptions, ReasonCode, Refuse, RefuseReason, SSelector, Spdu,
    TransportDisconnect, VersionNumber, decode_tsdu, encode_data_tsdu,
};
use guls_transport::{ConnectTpdu, Tpdu, TpduSize, encode_data_frames, encode_frame};

use crate::config::AssociationConfig;
use crate::error::{AbortInfo, AbortLayer, AssociationError, ProviderAbortReason, Rejection};

/// Which end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Opened the connection (sent CR, CN, AARQ).
    Initiator,
    /// Accepted it.
    Responder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Initiator: CR sent. Responder: waiting for the CR.
    Transport,
    /// Initiator: CN sent. Responder: CC sent, waiting for the CN.
    Session,
    /// Responder: indication issued, waiting for the user's response.
    AwaitResponse,
    /// Established (data, release).
    Open,
    /// Ended; nothing more is processed.
    Done,
}

/// What the responder learnt from the CR, CN and CP besides the AARQ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LowerAddresses {
    /// Calling T-selector (CR `C1`).
    pub calling_tsel: Option<Vec<u8>>,
    /// Called T-selector (CR `C2`).
    pub called_tsel: Option<Vec<u8>>,
    /// Calling S-selector (CN PI 51).
    pub calling_ssel: Option<Vec<u8>>,
    /// Called S-selector (CN PI 52).
    pub called_ssel: Option<Vec<u8>>,
    /// Calling P-selector (CP).
    pub calling_psel: Option<Vec<u8>>,
    /// Called P-selector (CP).
    pub called_psel: Option<Vec<u8>>,
    /// Session version in use (1 or 2).
    pub session_version: u8,
    /// Session functional units the CN proposed.
    pub proposed_session_requirements: u16,
}

/// Events of the stack.
#[derive(Debug)]
pub(crate) enum StackEvent {
    /// Initiator: the A-ASSOCIATE confirm, accepted.
    Established(Box<AssociateConfirm>),
    /// Initiator: rejected with an AARE.
    Rejected(Box<Rejection>),
    /// Initiator: refused below ACSE.
    Refused { layer: AbortLayer, detail: String },
    /// Responder: the A-ASSOCIATE indication.
    Indication(Box<(AssociateIndication, ConnectIndication)>),
    /// P-DATA values.
    Data(Vec<DataValue>),
    /// A-RELEASE indication.
    ReleaseIndication(ReleaseIndication),
    /// A-RELEASE confirm.
    ReleaseConfirm(ReleaseConfirm),
    /// A-ABORT indication.
    Abort(AbortInfo),
    /// A-P-ABORT.
    ProviderAbort(ProviderAbortReason),
}

/// The layers of one connection, sans IO.
pub(crate) struct Stack {
    role: Role,
    cfg: Arc<AssociationConfig>,
    phase: Phase,
    tpdu_size: TpduSize,
    reassembly: Vec<u8>,
    session_version: u8,
    responding_ssel: Option<SSelector>,
    pres: PresentationMachine,
    acse: AcseMachine,
    acse_pcid: Pcid,
    pending_request: Option<AssociateRequest>,
    addresses: LowerAddresses,
    out: Vec<u8>,
    /// Set once the release is complete on our side: the transport may be closed.
    released: bool,
}

fn presentation_config(cfg: &AssociationConfig) -> PresentationConfig {
    PresentationConfig {
        calling_selector: cfg.presentation.calling_psel.clone(),
        called_selector: cfg.presentation.called_psel.clone(),
        responding_selector: cfg.presentation.responding_psel.clone(),
        proposed_contexts: cfg.proposed_contexts(),
        default_context: cfg.presentation.default_context.clone(),
        supported_syntaxes: cfg.supported_syntaxes(),
        max_contexts: cfg.limits.max_contexts,
        max_proposed_contexts: cfg.limits.max_contexts.max(256),
        ignore_unsupported_default_context: true,
        strict_called_selector: false,
        encode_style: EncodeStyle::Canonical,
        decode_options: DecodeOptions {
            max_depth: cfg.limits.max_ber_depth,
            ..DecodeOptions::default()
        },
    }
}

fn ssel(v: &Option<Vec<u8>>) -> Result<Option<SSelector>, AssociationError> {
    v.as_ref()
        .map(|s| SSelector::new(s.clone()))
        .transpose()
        .map_err(|e| AssociationError::Config(e.to_string()))
}

fn acse_value(ud: &UserData, pcid: Pcid) -> Option<&[u8]> {
    ud.pdv_lists()
        .iter()
        .find(|l| l.pcid == pcid)
        .and_then(|l| match &l.value {
            PdvValue::SingleAsn1Type(v) => Some(v.as_slice()),
            _ => None,
        })
}

impl Stack {
    fn new(role: Role, cfg: Arc<AssociationConfig>) -> Result<Self, AssociationError> {
        cfg.validate()?;
        let pres = PresentationMachine::new(presentation_config(&cfg))
            .map_err(|e| AssociationError::Config(e.to_string()))?;
        Ok(Stack {
            role,
            phase: Phase::Transport,
            tpdu_size: TpduSize::at_most(cfg.transport.max_tpdu_size),
            reassembly: Vec::new(),
            session_version: 2,
            responding_ssel: None,
            pres,
            acse: AcseMachine::new(),
            acse_pcid: 1,
            pending_request: None,
            addresses: LowerAddresses::default(),
            out: Vec::new(),
            released: false,
            cfg,
        })
    }

    /// An initiator; [`Stack::start`] queues the CR. The AARQ goes out after the CC.
    pub(crate) fn initiator(
        cfg: Arc<AssociationConfig>,
        request: AssociateRequest,
    ) -> Result<Self, AssociationError> {
        let mut s = Stack::new(Role::Initiator, cfg)?;
        s.pending_request = Some(request);
        Ok(s)
    }

    /// A responder waiting for the CR.
    pub(crate) fn responder(cfg: Arc<AssociationConfig>) -> Result<Self, AssociationError> {
        Stack::new(Role::Responder, cfg)
    }

    /// The role.
    pub(crate) fn role(&self) -> Role {
        self.role
    }

    /// Queues the CR (initiator).
    pub(crate) fn start(&mut self) -> Result<(), AssociationError> {
        let t = &self.cfg.transport;
        let cr = ConnectTpdu {
            tpdu_size: Some(self.tpdu_size),
            calling_tsel: t.calling_tsel.clone(),
            called_tsel: t.called_tsel.clone(),
            ..ConnectTpdu::class0(0, 1)
        };
        encode_frame(&Tpdu::Cr(cr), &mut self.out)
            .map_err(|e| AssociationError::Config(e.to_string()))
    }

    /// Octets to write (all TPKTs of the last step), leaving the buffer empty.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// True when octets are waiting to be written.
    pub(crate) fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// True when the connection is over (aborted, refused, released): flush and close.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True when our side of an orderly release is complete.
    pub(crate) fn is_released(&self) -> bool {
        self.released
    }

    /// True after our CN was sent and before the answer (initiator).
    pub(crate) fn awaiting_accept(&self) -> bool {
        self.role == Role::Initiator && self.phase == Phase::Session
    }

    /// The largest TPKT accepted from the peer.
    pub(crate) fn max_frame(&self) -> usize {
        TpduSize::at_most(self.cfg.transport.max_tpdu_size).octets() + 4
    }

    /// The defined context set.
    pub(crate) fn contexts(&self) -> Vec<DefinedContext> {
        self.pres.dcs().to_vec()
    }

    /// The default context in effect.
    pub(crate) fn default_context(&self) -> Option<DefaultContextName> {
        self.pres.default_context().cloned()
    }

    /// The addresses seen (responder).
    pub(crate) fn addresses(&self) -> &LowerAddresses {
        &self.addresses
    }

    // ------------------------------------------------------------------ output helpers

    fn send_tsdu(&mut self, tsdu: &[u8]) {
        encode_data_frames(tsdu, self.tpdu_size, &mut self.out);
    }

    fn send_spdu(&mut self, spdu: &Spdu) {
        match spdu.to_bytes() {
            Ok(b) => self.send_tsdu(&b),
            Err(e) => {
                tracing::error!(target: "guls::association", error = %e, "cannot encode SPDU")
            }
        }
    }

    fn send_session_abort(&mut self, td: u8, user_data: Option<Vec<u8>>) {
        let ab = SAbort {
            transport_disconnect: Some(TransportDisconnect(td)),
            user_data,
            ..SAbort::default()
        };
        self.send_spdu(&Spdu::Abort(ab));
    }

    /// Ends the connection on a fault: queues `wire` (if the session exists) and reports.
    fn fail(&mut self, reason: ProviderAbortReason, arp: Option<Vec<u8>>) -> Vec<StackEvent> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        tracing::warn!(target: "guls::association", layer = %reason.layer(), %reason,
            "provider abort");
        let session_exists = match self.phase {
            Phase::Transport | Phase::Done => false,
            Phase::Session => self.role == Role::Initiator,
            Phase::AwaitResponse | Phase::Open => true,
        };
        if session_exists && !matches!(reason, ProviderAbortReason::ConnectionClosed { .. }) {
            // Protocol error (0x05) for a protocol fault, no reason (0x09) for local causes.
            let td = if matches!(reason.layer(), AbortLayer::Local | AbortLayer::Tcp) {
                0x09
            } else {
                0x05
            };
            self.send_session_abort(td, arp);
        }
        self.phase = Phase::Done;
        let _ = self.acse.on_provider_abort(match reason.layer() {
            AbortLayer::Presentation => ProviderReason::Presentation(None),
            AbortLayer::Session => ProviderReason::Session,
            AbortLayer::Local => ProviderReason::Local,
            _ => ProviderReason::Transport,
        });
        vec![StackEvent::ProviderAbort(reason)]
    }

    /// A local provider abort (timer, dropped handle): session ABORT without user data.
    pub(crate) fn local_abort(&mut self, reason: ProviderAbortReason) -> Vec<StackEvent> {
        self.fail(reason, None)
    }

    /// The TCP connection ended (EOF or error) before the stack was done.
    pub(crate) fn on_transport_closed(&mut self, reason: ProviderAbortReason) -> Vec<StackEvent> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        self.phase = Phase::Done;
        let _ = self.acse.on_provider_abort(ProviderReason::Transport);
        vec![StackEvent::ProviderAbort(reason)]
    }

    // ------------------------------------------------------------------ transport input

    /// One received TPDU (a TPKT's payload).
    pub(crate) fn on_tpdu(&mut self, tpdu: &[u8]) -> Vec<StackEvent> {
        if self.phase == Phase::Done {
            return Vec::new();
        }
        let t = match Tpdu::decode(tpdu) {
            Ok(t) => t,
            Err(e) => return self.fail(ProviderAbortReason::Malformed(e), None),
        };
        tracing::trace!(target: "guls::association", tpdu = t.name(), len = tpdu.len(), "TPDU in");
        match (self.phase, self.role, t) {
            (Phase::Transport, Role::Responder, Tpdu::Cr(cr)) => {
                if let Some(s) = cr.tpdu_size {
                    self.tpdu_size = self.tpdu_size.min(s);
                } else {
                    self.tpdu_size = TpduSize::DEFAULT;
                }
                self.addresses.calling_tsel = cr.calling_tsel.clone();
                self.addresses.called_tsel = cr.called_tsel.clone();
                let cc = ConnectTpdu {
                    tpdu_size: Some(self.tpdu_size),
                    calling_tsel: cr.calling_tsel,
                    called_tsel: cr.called_tsel,
                    ..ConnectTpdu::class0(cr.src_ref, 1)
                };
                if let Err(e) = encode_frame(&Tpdu::Cc(cc), &mut self.out) {
                    return self.fail(
                        ProviderAbortReason::protocol(AbortLayer::Transport, e.to_string()),
                        None,
                    );
                }
                tracing::debug!(target: "guls::association", tpdu_size = self.tpdu_size.octets(),
                    "transport connected (CC sent)");
                self.phase = Phase::Session;
                Vec::new()
            }
            (Phase::Transport, Role::Initiator, Tpdu::Cc(cc)) => {
                if let Some(s) = cc.tpdu_size {
                    self.tpdu_size = self.tpdu_size.min(s);
                } else {
                    self.tpdu_size = TpduSize::DEFAULT;
                }
                tracing::debug!(target: "guls::association", tpdu_size = self.tpdu_size.octets(),
                    "transport connected (CC received)");
                self.send_connect()
            }
            (_, _, Tpdu::Dr(dr)) => {
                if self.released {
                    self.phase = Phase::Done;
                    return Vec::new();
                }
                self.fail(
                    ProviderAbortReason::TransportDisconnect(dr.reason.description().to_string()),
                    None,
                )
            }
            (_, _, Tpdu::Er(er)) => self.fail(
                ProviderAbortReason::TransportDisconnect(format!(
                    "ER TPDU, reject cause {}",
                    er.cause.code()
                )),
                None,
            ),
            (Phase::Transport, _, t) => self.fail(
                ProviderAbortReason::protocol(
                    AbortLayer::Transport,
                    format!("{} TPDU before the transport connection", t.name()),
                ),
                None,
            ),
            (_, _, Tpdu::Dt(dt)) => {
                if self.reassembly.len() + dt.user_data.len() > self.cfg.transport.max_tsdu_size {
                    return self.fail(
                        ProviderAbortReason::TooLarge {
                            layer: AbortLayer::Transport,
                            what: "TSDU",
                            limit: self.cfg.transport.max_tsdu_size,
                        },
                        None,
                    );
                }
                if !dt.eot {
                    self.reassembly.extend_from_slice(&dt.user_data);
                    return Vec::new();
                }
                let tsdu = if self.reassembly.is_empty() {
                    dt.user_data
                } else {
                    let mut v = std::mem::take(&mut self.reassembly);
                    v.extend_from_slice(&dt.user_data);
                    v
                };
                self.on_tsdu(&tsdu)
            }
            (_, _, t) => self.fail(
                ProviderAbortReason::protocol(
                    AbortLayer::Transport,
                    format!("{} TPDU on an open transport connection", t.name()),
                ),
                None,
            ),
        }
    }

    // ------------------------------------------------------------------ initiator connect

    fn send_connect(&mut self) -> Vec<StackEvent> {
        let Some(req) = self.pending_request.take() else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Local, "no A-ASSOCIATE request"),
                None,
            );
        };
        match self.build_connect(&req) {
            Ok(()) => {
                self.phase = Phase::Session;
                Vec::new()
            }
            Err(e) => self.fail(ProviderAbortReason::protocol(AbortLayer::Local, e), None),
        }
    }

    fn build_connect(&mut self, req: &AssociateRequest) -> Result<(), String> {
        let aarq = self
            .acse
            .associate_request(req)
            .map_err(|e| e.to_string())?;
        self.acse_pcid = self.pres.acse_pcid().ok_or("no ACSE context proposed")?;
        let cp = self
            .pres
            .connect_request(UserData::single_asn1(self.acse_pcid, aarq.bytes))
            .map_err(|e| e.to_string())?;
        let s = &self.cfg.session;
        let cn = guls_session::Connect {
            connect_accept: Some(ConnectAcceptItem::rfc1698()),
            requirements: Some(FunctionalUnits::DUPLEX),
            calling_ssel: ssel(&s.calling_ssel).map_err(|e| e.to_string())?,
            called_ssel: ssel(&s.called_ssel).map_err(|e| e.to_string())?,
            user_data: Some(ConnectUserData::new(cp).map_err(|e| e.to_string())?),
            ..guls_session::Connect::default()
        };
        let bytes = Spdu::Connect(cn).to_bytes().map_err(|e| e.to_string())?;
        tracing::debug!(target: "guls::association", cn_len = bytes.len(), "CN+CP+AARQ sent");
        self.send_tsdu(&bytes);
        Ok(())
    }

    // ------------------------------------------------------------------ session input

    fn on_tsdu(&mut self, tsdu: &[u8]) -> Vec<StackEvent> {
        let decoded = match decode_tsdu(tsdu) {
            Ok(t) => t,
            Err(e) => return self.fail(ProviderAbortReason::Malformed(e), None),
        };
        let Some(main) = decoded.main_spdu().cloned() else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Session, "empty TSDU"),
                None,
            );
        };
        tracing::trace!(target: "guls::association", spdu = main.name(), "SPDU in");
        match (self.phase, self.role, main) {
            (_, _, Spdu::Abort(ab)) => self.on_session_abort(ab),
            (_, _, Spdu::AbortAccept(_)) => {
                self.phase = Phase::Done;
                Vec::new()
            }
            (Phase::Session, Role::Responder, Spdu::Connect(cn)) => self.on_connect(cn),
            (Phase::Session, Role::Initiator, Spdu::Accept(ac)) => self.on_accept(ac),
            (Phase::Session, Role::Initiator, Spdu::Refuse(rf)) => self.on_refuse(rf),
            (Phase::Open, _, Spdu::DataTransfer(_)) => {
                match self.pres.on_data(&decoded.user_information) {
                    Ok(values) => vec![StackEvent::Data(values)],
                    Err(f) => self.presentation_failure(f),
                }
            }
            (Phase::Open, _, Spdu::Finish(fin)) => {
                self.on_release_pdu(ReleaseKind::Request, fin.user_data.unwrap_or_default())
            }
            (Phase::Open, _, Spdu::Disconnect(dn)) => {
                self.on_release_pdu(ReleaseKind::Response, dn.user_data.unwrap_or_default())
            }
            (phase, _, spdu) => self.fail(
                ProviderAbortReason::protocol(
                    AbortLayer::Session,
                    format!("{} SPDU unexpected in phase {phase:?}", spdu.name()),
                ),
                None,
            ),
        }
    }

    fn presentation_failure(&mut self, f: guls_presentation::ProtocolFailure) -> Vec<StackEvent> {
        let reason = match f.error {
            guls_presentation::PresentationError::Decode(e) => ProviderAbortReason::Malformed(e),
            other => ProviderAbortReason::protocol(AbortLayer::Presentation, other.to_string()),
        };
        self.fail(reason, f.arp_bytes)
    }

    fn on_session_abort(&mut self, ab: SAbort) -> Vec<StackEvent> {
        let user_abort = ab.transport_disconnect.is_some_and(|t| t.user_abort());
        let reason = ab.reason().name();
        let ud = ab.user_data.unwrap_or_default();
        if self.phase == Phase::Done {
            return Vec::new();
        }
        let pres_open = self.pres.state().is_open();
        self.phase = Phase::Done;
        if ud.is_empty() || !pres_open {
            if user_abort && pres_open {
                return match self.acse.on_abort_without_apdu() {
                    Some(AcseEvent::AbortIndication(a)) => vec![StackEvent::Abort(AbortInfo {
                        source: a.source,
                        diagnostic: a.diagnostic,
                        user_information: a.user_information,
                    })],
                    _ => Vec::new(),
                };
            }
            let _ = self.acse.on_provider_abort(ProviderReason::Session);
            return vec![StackEvent::ProviderAbort(
                ProviderAbortReason::SessionAbort(reason),
            )];
        }
        match self.pres.on_abort(&ud) {
            Ok(PAbortIndication::User { user_data, .. }) => {
                let abrt = user_data
                    .as_ref()
                    .and_then(|u| acse_value(u, self.acse_pcid));
                let ev = match abrt {
                    Some(bytes) => self.acse.on_apdu(bytes).event,
                    None => self.acse.on_abort_without_apdu(),
                };
                match ev {
                    Some(AcseEvent::AbortIndication(a)) => vec![StackEvent::Abort(AbortInfo {
                        source: a.source,
                        diagnostic: a.diagnostic,
                        user_information: a.user_information,
                    })],
                    _ => vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                        AbortLayer::Acse,
                        "ARU without a usable ABRT",
                    ))],
                }
            }
            Ok(PAbortIndication::Provider { reason, .. }) => {
                let _ = self
                    .acse
                    .on_provider_abort(ProviderReason::Presentation(reason.map(|r| r.to_i64())));
                vec![StackEvent::ProviderAbort(
                    ProviderAbortReason::PresentationAbort {
                        reason: reason.map(|r| r.name()).unwrap_or("unspecified"),
                    },
                )]
            }
            Err(e) => {
                let _ = self.acse.on_provider_abort(ProviderReason::Session);
                vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                    AbortLayer::Presentation,
                    e.to_string(),
                ))]
            }
        }
    }

    // ------------------------------------------------------------------ responder connect

    fn refuse_session(&mut self, reason: RefuseReason, why: String) -> Vec<StackEvent> {
        let rf = Refuse {
            transport_disconnect: Some(TransportDisconnect::RELEASE),
            reason: Some(ReasonCode {
                reason,
                user_data: Vec::new(),
            }),
            ..Refuse::default()
        };
        self.send_spdu(&Spdu::Refuse(rf));
        self.phase = Phase::Done;
        tracing::info!(target: "guls::association", reason = reason.description(), %why,
            "session connection refused");
        vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
            AbortLayer::Session,
            why,
        ))]
    }

    fn refuse_with_cpr(&mut self, cpr: Vec<u8>) {
        let rf = Refuse {
            transport_disconnect: Some(TransportDisconnect::RELEASE),
            version: (self.session_version == 2).then_some(VersionNumber::V2),
            reason: Some(ReasonCode {
                reason: RefuseReason::UserDataFollows,
                user_data: cpr,
            }),
            ..Refuse::default()
        };
        self.send_spdu(&Spdu::Refuse(rf));
        self.phase = Phase::Done;
    }

    fn on_connect(&mut self, cn: guls_session::Connect) -> Vec<StackEvent> {
        let versions = cn.versions();
        self.session_version = if versions.is_empty() || versions.contains(&2) {
            2
        } else if versions.contains(&1) {
            1
        } else {
            return self.refuse_session(
                RefuseReason::VersionsNotSupported,
                format!("session versions {versions:?} not supported"),
            );
        };
        let fus = cn.effective_requirements();
        if !fus.contains(FunctionalUnits::DUPLEX) {
            return self.refuse_session(
                RefuseReason::UserNoReason,
                format!("duplex functional unit not proposed ({:#06x})", fus.bits()),
            );
        }
        if cn.data_overflow.is_some_and(|d| d.more_data()) {
            return self.refuse_session(
                RefuseReason::ImplementationRestriction,
                "CONNECT DATA OVERFLOW is not supported".into(),
            );
        }
        self.addresses.calling_ssel = cn.calling_ssel.as_ref().map(|s| s.as_bytes().to_vec());
        self.addresses.called_ssel = cn.called_ssel.as_ref().map(|s| s.as_bytes().to_vec());
        self.addresses.session_version = self.session_version;
        self.addresses.proposed_session_requirements = fus.bits();
        self.responding_ssel = cn.called_ssel.clone();
        let Some((cp, _)) = cn.user_data() else {
            return self.refuse_session(RefuseReason::UserNoReason, "CONNECT without a CP".into());
        };
        let ind = match self.pres.on_connect_request(cp) {
            Ok(ind) => ind,
            Err(f) => {
                let reason = match f.error {
                    guls_presentation::PresentationError::Decode(e) => {
                        ProviderAbortReason::Malformed(e)
                    }
                    other => {
                        ProviderAbortReason::protocol(AbortLayer::Presentation, other.to_string())
                    }
                };
                tracing::info!(target: "guls::association", %reason, "CP refused (CPR)");
                if let Some(cpr) = f.cpr_bytes {
                    self.refuse_with_cpr(cpr);
                } else {
                    self.phase = Phase::Done;
                }
                return vec![StackEvent::ProviderAbort(reason)];
            }
        };
        self.addresses.calling_psel = ind.calling_selector.clone();
        self.addresses.called_psel = ind.called_selector.clone();
        let acse_ok = ind
            .accepted()
            .iter()
            .find(|c| c.abstract_syntax == guls_ber::known::ACSE_ABSTRACT_SYNTAX)
            .map(|c| c.pcid);
        let Some(acse_pcid) = acse_ok else {
            let cpr = self.pres.refuse(
                PRefuseReason::Provider(guls_presentation::ProviderReason::ReasonNotSpecified),
                None,
            );
            if let Ok(cpr) = cpr {
                self.refuse_with_cpr(cpr);
            }
            self.phase = Phase::Done;
            return vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                AbortLayer::Presentation,
                "no ACSE presentation context",
            ))];
        };
        self.acse_pcid = acse_pcid;
        let Some(aarq) = ind
            .user_data
            .as_ref()
            .and_then(|u| acse_value(u, acse_pcid))
        else {
            return self.refuse_presentation_user("CP user data holds no ACSE APDU".into(), None);
        };
        let reaction = self.acse.on_apdu(aarq);
        match reaction.event {
            Some(AcseEvent::AssociateIndication(a)) => {
                self.phase = Phase::AwaitResponse;
                tracing::info!(target: "guls::association",
                    application_context = %a.application_context_name,
                    calling_ap_title = ?a.calling_ap_title,
                    mechanism = ?a.mechanism_name,
                    contexts = ind.accepted().len(),
                    "A-ASSOCIATE indication");
                vec![StackEvent::Indication(Box::new((a, ind)))]
            }
            Some(AcseEvent::ProviderRejection(r)) => {
                let aare = reaction.send.map(|o| o.bytes);
                self.refuse_presentation_user(
                    format!(
                        "AARQ rejected by the ACSE provider: {}",
                        r.diagnostic.name()
                    ),
                    aare,
                )
            }
            _ => {
                // Undecodable or unexpected APDU: the machine gives an ABRT (provider).
                let abrt = reaction.send.map(|o| o.bytes);
                let aru = self
                    .pres
                    .user_abort(abrt.map(|b| UserData::single_asn1(acse_pcid, b)))
                    .ok();
                self.send_session_abort(0x05, aru);
                self.phase = Phase::Done;
                vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                    AbortLayer::Acse,
                    "CP user data is not a valid AARQ",
                ))]
            }
        }
    }

    fn refuse_presentation_user(&mut self, why: String, aare: Option<Vec<u8>>) -> Vec<StackEvent> {
        let ud = aare.map(|b| UserData::single_asn1(self.acse_pcid, b));
        match self.pres.refuse(PRefuseReason::User, ud) {
            Ok(cpr) => self.refuse_with_cpr(cpr),
            Err(_) => self.phase = Phase::Done,
        }
        vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
            AbortLayer::Acse,
            why,
        ))]
    }

    /// A-ASSOCIATE response (responder): accepted goes to the data phase with AC+CPA+AARE;
    /// rejected sends RF+CPR+AARE (ISO 8650 / X.226: a user rejection is a P-CONNECT
    /// response with result user-rejection, carried by S-CONNECT reject) and ends.
    pub(crate) fn respond(&mut self, rsp: &AssociateResponse) -> Result<(), AssociationError> {
        if self.phase != Phase::AwaitResponse {
            return Err(AssociationError::IllegalPrimitive(
                "A-ASSOCIATE response without a pending indication".into(),
            ));
        }
        let aare = self
            .acse
            .associate_response(rsp)
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        let ud = UserData::single_asn1(self.acse_pcid, aare.bytes);
        if rsp.result == guls_acse::AssociateResult::Accepted {
            let cpa = self
                .pres
                .accept(Some(ud))
                .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
            let ac = Accept {
                connect_accept: Some(ConnectAcceptItem {
                    protocol_options: Some(ProtocolOptions(0)),
                    version: (self.session_version == 2).then_some(VersionNumber::V2),
                    ..ConnectAcceptItem::default()
                }),
                requirements: Some(FunctionalUnits::DUPLEX),
                responding_ssel: self.responding_ssel.clone(),
                user_data: Some(cpa),
                ..Accept::default()
            };
            self.send_spdu(&Spdu::Accept(ac));
            self.phase = Phase::Open;
            tracing::info!(target: "guls::association", "association accepted (AC+CPA+AARE)");
        } else {
            let cpr = self
                .pres
                .refuse(PRefuseReason::User, Some(ud))
                .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
            self.refuse_with_cpr(cpr);
            tracing::info!(target: "guls::association", diagnostic = ?rsp.diagnostic,
                "association rejected (RF+CPR+AARE)");
        }
        Ok(())
    }

    // ------------------------------------------------------------------ initiator confirm

    fn confirm_events(&mut self, apdu: Option<&[u8]>, refused: bool) -> Vec<StackEvent> {
        let Some(apdu) = apdu else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "no AARE in the answer"),
                None,
            );
        };
        let reaction = self.acse.on_apdu(apdu);
        match reaction.event {
            Some(AcseEvent::AssociateConfirm(c)) if c.is_accepted() && !refused => {
                self.phase = Phase::Open;
                tracing::info!(target: "guls::association",
                    application_context = %c.application_context_name, "association established");
                vec![StackEvent::Established(Box::new(c))]
            }
            Some(AcseEvent::AssociateConfirm(c)) => {
                self.phase = Phase::Done;
                vec![StackEvent::Rejected(Box::new(Rejection {
                    result: c.result,
                    source: c.result_source,
                    diagnostic: c.diagnostic,
                    user_information: c.user_information,
                }))]
            }
            Some(AcseEvent::AbortIndication(a)) if a.protocol_error.is_none() => {
                self.phase = Phase::Done;
                vec![StackEvent::Abort(AbortInfo {
                    source: a.source,
                    diagnostic: a.diagnostic,
                    user_information: a.user_information,
                })]
            }
            Some(AcseEvent::AbortIndication(a)) => {
                let detail = a.protocol_error.map(|e| e.to_string()).unwrap_or_default();
                if refused {
                    self.phase = Phase::Done;
                    return vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                        AbortLayer::Acse,
                        detail,
                    ))];
                }
                let abrt = reaction.send.map(|o| o.bytes);
                let aru = self
                    .pres
                    .user_abort(abrt.map(|b| UserData::single_asn1(self.acse_pcid, b)))
                    .ok();
                self.send_session_abort(0x05, aru);
                self.phase = Phase::Done;
                vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                    AbortLayer::Acse,
                    detail,
                ))]
            }
            _ => self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "unexpected answer to the AARQ"),
                None,
            ),
        }
    }

    fn on_accept(&mut self, ac: Accept) -> Vec<StackEvent> {
        if !ac
            .effective_requirements()
            .contains(FunctionalUnits::DUPLEX)
        {
            return self.fail(
                ProviderAbortReason::protocol(
                    AbortLayer::Session,
                    "ACCEPT without the duplex functional unit",
                ),
                None,
            );
        }
        let Some(cpa) = ac.user_data else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Session, "ACCEPT without a CPA"),
                None,
            );
        };
        match self.pres.on_connect_accept(&cpa) {
            Ok(conf) => {
                let apdu = conf
                    .user_data
                    .as_ref()
                    .and_then(|u| acse_value(u, self.acse_pcid));
                let apdu = apdu.map(<[u8]>::to_vec);
                self.confirm_events(apdu.as_deref(), false)
            }
            Err(f) => self.presentation_failure(f),
        }
    }

    fn on_refuse(&mut self, rf: Refuse) -> Vec<StackEvent> {
        let (reason, cpr) = match rf.reason {
            Some(r) => (r.reason, r.user_data),
            None => (RefuseReason::UserNoReason, Vec::new()),
        };
        if reason != RefuseReason::UserDataFollows || cpr.is_empty() {
            self.phase = Phase::Done;
            return vec![StackEvent::Refused {
                layer: AbortLayer::Session,
                detail: reason.description().to_string(),
            }];
        }
        match self.pres.on_connect_refuse(&cpr) {
            Ok(ind) => {
                let apdu = ind
                    .user_data
                    .as_ref()
                    .and_then(|u| acse_value(u, self.acse_pcid));
                match apdu {
                    Some(a) => {
                        let a = a.to_vec();
                        self.confirm_events(Some(&a), true)
                    }
                    None => {
                        self.phase = Phase::Done;
                        vec![StackEvent::Refused {
                            layer: AbortLayer::Presentation,
                            detail: ind
                                .provider_reason
                                .map(|r| r.name())
                                .unwrap_or("rejected by the presentation user")
                                .to_string(),
                        }]
                    }
                }
            }
            Err(e) => {
                self.phase = Phase::Done;
                vec![StackEvent::Refused {
                    layer: AbortLayer::Presentation,
                    detail: format!("undecodable CPR: {e}"),
                }]
            }
        }
    }

    // ------------------------------------------------------------------ data phase

    /// P-DATA request.
    pub(crate) fn send_data(
        &mut self,
        values: Vec<(Pcid, PdvValue)>,
    ) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        let td = self
            .pres
            .send_data(values)
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        let tsdu = encode_data_tsdu(&td);
        self.send_tsdu(&tsdu);
        Ok(())
    }

    fn on_release_pdu(&mut self, kind: ReleaseKind, ud: Vec<u8>) -> Vec<StackEvent> {
        let user_data = match self.pres.on_release_user_data(kind, &ud) {
            Ok(u) => u,
            Err(f) if f.arp_bytes.is_some() => return self.presentation_failure(f),
            Err(f) => {
                return self.fail(
                    ProviderAbortReason::protocol(AbortLayer::Session, f.error.to_string()),
                    None,
                );
            }
        };
        let Some(apdu) = user_data
            .as_ref()
            .and_then(|u| acse_value(u, self.acse_pcid))
        else {
            return self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "release without an RLRQ/RLRE"),
                None,
            );
        };
        let apdu = apdu.to_vec();
        let reaction = self.acse.on_apdu(&apdu);
        match reaction.event {
            Some(AcseEvent::ReleaseIndication(r)) => vec![StackEvent::ReleaseIndication(r)],
            Some(AcseEvent::ReleaseConfirm(c)) => {
                if self.acse.is_closed() {
                    self.released = true;
                    self.phase = Phase::Done;
                }
                vec![StackEvent::ReleaseConfirm(c)]
            }
            Some(AcseEvent::AbortIndication(a)) => {
                let detail = a
                    .protocol_error
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "ABRT".into());
                let abrt = reaction.send.map(|o| o.bytes);
                let aru = self
                    .pres
                    .user_abort(abrt.map(|b| UserData::single_asn1(self.acse_pcid, b)))
                    .ok();
                self.send_session_abort(0x05, aru);
                self.phase = Phase::Done;
                vec![StackEvent::ProviderAbort(ProviderAbortReason::protocol(
                    AbortLayer::Acse,
                    detail,
                ))]
            }
            _ => self.fail(
                ProviderAbortReason::protocol(AbortLayer::Acse, "unexpected release APDU"),
                None,
            ),
        }
    }

    /// A-RELEASE request: FN + RLRQ.
    pub(crate) fn release_request(&mut self, req: &ReleaseRequest) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        let rlrq = self
            .acse
            .release_request(req)
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        let ud = self
            .pres
            .release_user_data(
                ReleaseKind::Request,
                Some(UserData::single_asn1(self.acse_pcid, rlrq.bytes)),
            )
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        self.send_spdu(&Spdu::Finish(Finish {
            user_data: Some(ud),
            ..Finish::default()
        }));
        tracing::info!(target: "guls::association", "A-RELEASE request (FN+RLRQ)");
        Ok(())
    }

    /// A-RELEASE response: DN + RLRE.
    pub(crate) fn release_response(
        &mut self,
        rsp: &ReleaseResponse,
    ) -> Result<(), AssociationError> {
        if self.phase != Phase::Open {
            return Err(AssociationError::Closed);
        }
        let rlre = self
            .acse
            .release_response(rsp)
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        let ud = self
            .pres
            .release_user_data(
                ReleaseKind::Response,
                Some(UserData::single_asn1(self.acse_pcid, rlre.bytes)),
            )
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        self.send_spdu(&Spdu::Disconnect(Disconnect {
            user_data: Some(ud),
            ..Disconnect::default()
        }));
        tracing::info!(target: "guls::association", "A-RELEASE response (DN+RLRE)");
        if self.acse.is_closed() {
            self.released = true;
        }
        Ok(())
    }

    /// A-ABORT request: AB + ARU + ABRT.
    pub(crate) fn abort(
        &mut self,
        user_information: Vec<External>,
    ) -> Result<(), AssociationError> {
        if self.phase == Phase::Done {
            return Err(AssociationError::Closed);
        }
        let abrt = self
            .acse
            .abort_request(&AbortRequest { user_information })
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        let aru = self
            .pres
            .user_abort(Some(UserData::single_asn1(self.acse_pcid, abrt.bytes)))
            .map_err(|e| AssociationError::IllegalPrimitive(e.to_string()))?;
        self.send_session_abort(TransportDisconnect::RELEASE_USER_ABORT.0, Some(aru));
        self.phase = Phase::Done;
        tracing::info!(target: "guls::association", "A-ABORT request (AB+ARU+ABRT)");
        Ok(())
    }
}
