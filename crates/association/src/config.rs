//! Configuration of an association stack: plain structs with safe defaults.
//!
//! Nothing here is secret: credentials travel in [`crate::AssociateParams`], never in the
//! configuration, so `Debug` shows everything.

use std::time::Duration;

use guls_acse::{AeQualifier, ApTitle};
use guls_ber::{Oid, known};
use guls_presentation::{DefaultContextName, ProposedContext, SupportedSyntax};

/// Transport (RFC 1006 / ISO 8073 class 0) settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportSettings {
    /// Calling T-selector (initiator, `C1` of the CR).
    pub calling_tsel: Option<Vec<u8>>,
    /// Called T-selector (initiator, `C2` of the CR).
    pub called_tsel: Option<Vec<u8>>,
    /// Largest TPDU proposed or accepted, in octets (clamped to 128..=8192; a power of two
    /// is used, rounded down).
    pub max_tpdu_size: usize,
    /// Largest TSDU (reassembled DT sequence) accepted; a longer one is a provider abort.
    pub max_tsdu_size: usize,
}

impl Default for TransportSettings {
    fn default() -> Self {
        TransportSettings {
            calling_tsel: Some(vec![0x00, 0x01]),
            called_tsel: Some(vec![0x00, 0x01]),
            max_tpdu_size: 8192,
            max_tsdu_size: 1 << 20,
        }
    }
}

/// Session (ISO 8327 kernel + duplex) settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Calling S-selector (initiator), at most 16 octets.
    pub calling_ssel: Option<Vec<u8>>,
    /// Called S-selector (initiator), at most 16 octets.
    pub called_ssel: Option<Vec<u8>>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            calling_ssel: Some(vec![0x00, 0x01]),
            called_ssel: Some(vec![0x00, 0x01]),
        }
    }
}

/// One presentation context the initiator proposes (its identifier is assigned in order:
/// 1, 3, 5, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextProposal {
    /// The abstract syntax.
    pub abstract_syntax: Oid,
    /// The transfer syntaxes offered (at least one).
    pub transfer_syntaxes: Vec<Oid>,
}

impl ContextProposal {
    /// A context offering BER (2.1.1) only.
    pub fn ber(abstract_syntax: Oid) -> Self {
        ContextProposal {
            abstract_syntax,
            transfer_syntaxes: vec![known::BER],
        }
    }
}

/// Presentation (ISO 8823 kernel) settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationSettings {
    /// Calling P-selector (initiator), at most 4 octets.
    pub calling_psel: Option<Vec<u8>>,
    /// Called P-selector (initiator), at most 4 octets.
    pub called_psel: Option<Vec<u8>>,
    /// Responding P-selector (responder), at most 4 octets.
    pub responding_psel: Option<Vec<u8>>,
    /// Initiator: contexts proposed after the ACSE context (which is always first, pcid 1).
    pub contexts: Vec<ContextProposal>,
    /// Initiator: an optional default context name.
    pub default_context: Option<DefaultContextName>,
    /// Responder: abstract syntaxes accepted (ACSE is always accepted with BER).
    pub supported: Vec<SupportedSyntax>,
}

impl Default for PresentationSettings {
    fn default() -> Self {
        PresentationSettings {
            calling_psel: Some(vec![0, 0, 0, 1]),
            called_psel: Some(vec![0, 0, 0, 1]),
            responding_psel: None,
            contexts: Vec::new(),
            default_context: None,
            supported: Vec::new(),
        }
    }
}

/// ACSE settings: the application context and the titles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcseSettings {
    /// Application context name proposed (initiator) or returned by default (responder).
    pub application_context_name: Oid,
    /// Calling AP title (initiator).
    pub calling_ap_title: Option<ApTitle>,
    /// Calling AE qualifier (initiator).
    pub calling_ae_qualifier: Option<AeQualifier>,
    /// Calling AP invocation identifier (initiator).
    pub calling_ap_invocation_id: Option<i64>,
    /// Calling AE invocation identifier (initiator).
    pub calling_ae_invocation_id: Option<i64>,
    /// Called AP title (initiator).
    pub called_ap_title: Option<ApTitle>,
    /// Called AE qualifier (initiator).
    pub called_ae_qualifier: Option<AeQualifier>,
    /// Called AP invocation identifier (initiator).
    pub called_ap_invocation_id: Option<i64>,
    /// Called AE invocation identifier (initiator).
    pub called_ae_invocation_id: Option<i64>,
    /// Responding AP title (responder default, overridable per association).
    pub responding_ap_title: Option<ApTitle>,
    /// Responding AE qualifier (responder default).
    pub responding_ae_qualifier: Option<AeQualifier>,
    /// Responding AP invocation identifier (responder default).
    pub responding_ap_invocation_id: Option<i64>,
    /// Responding AE invocation identifier (responder default).
    pub responding_ae_invocation_id: Option<i64>,
}

impl Default for AcseSettings {
    fn default() -> Self {
        AcseSettings {
            application_context_name: known::GULS_ARC.clone(),
            calling_ap_title: None,
            calling_ae_qualifier: None,
            calling_ap_invocation_id: None,
            calling_ae_invocation_id: None,
            called_ap_title: None,
            called_ae_qualifier: None,
            called_ap_invocation_id: None,
            called_ae_invocation_id: None,
            responding_ap_title: None,
            responding_ae_qualifier: None,
            responding_ap_invocation_id: None,
            responding_ae_invocation_id: None,
        }
    }
}

/// Resource limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most presentation contexts in the defined context set (at least 2).
    pub max_contexts: usize,
    /// Most nesting levels of a received BER value.
    pub max_ber_depth: usize,
    /// Responder: most associations alive at once (handshakes included); further TCP
    /// connections are closed at once.
    pub max_associations: usize,
    /// Capacity of an association's queue of decoded events not yet taken by the
    /// application. While it holds events the socket is not read, and received octets are
    /// decoded only while it has room (TCP back-pressure).
    pub event_queue: usize,
    /// Unused (legacy): associations no longer have a command queue, since the application's
    /// calls drive the association themselves. Kept so that existing configurations still
    /// build and validate (it must still be at least 1).
    pub command_queue: usize,
    /// Most data values buffered by [`crate::Association::release`] while it waits for the
    /// confirm; more makes it abort.
    pub max_release_backlog: usize,
    /// Most octets one read of the socket takes (at least 1024). Reads start small and grow
    /// up to this while the peer sends in bulk. The received octets an association holds
    /// that are not yet decoded are at most this plus one TPKT of the configured TPDU size
    /// ([`TransportSettings::max_tpdu_size`] plus its 4-octet header): the receive buffer
    /// is never larger, whatever the peer sends.
    pub max_read: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_contexts: 32,
            max_ber_depth: guls_ber::DEFAULT_MAX_DEPTH,
            max_associations: 256,
            event_queue: 16,
            command_queue: 16,
            max_release_backlog: 64,
            max_read: 64 * 1024,
        }
    }
}

/// Timeouts; each ends the association (or the attempt) with a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (initiator).
    pub connect: Duration,
    /// From TCP establishment to the AARE (initiator) or the AARQ (responder).
    pub establishment: Duration,
    /// No octets from the peer for this long (counted from the last octets received or the
    /// last event taken): provider abort. Acted on while a call on the
    /// [`crate::Association`] awaits the socket. Also bounds a single blocked write.
    pub idle: Duration,
    /// Longest wait for the peer's part of a release (RLRE, or its transport close), and
    /// for the application's release response once the peer closed TCP after its release
    /// request.
    pub release: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            establishment: Duration::from_secs(30),
            idle: Duration::from_secs(300),
            release: Duration::from_secs(10),
        }
    }
}

/// Everything an [`crate::Initiator`] or [`crate::Responder`] needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssociationConfig {
    /// Transport settings.
    pub transport: TransportSettings,
    /// Session settings.
    pub session: SessionSettings,
    /// Presentation settings.
    pub presentation: PresentationSettings,
    /// ACSE settings.
    pub acse: AcseSettings,
    /// Limits.
    pub limits: Limits,
    /// Timeouts.
    pub timeouts: Timeouts,
}

impl AssociationConfig {
    /// The MMS-compatible profile that libiec61850 accepts and proposes: contexts ACSE
    /// (2.2.1.0.1, pcid 1) and MMS (1.0.9506.2.1, pcid 3) with BER, application context
    /// 1.0.9506.2.3, T-selectors 0001/0001, S-selectors 0001/0001, P-selectors 00000001.
    pub fn mms() -> Self {
        let mut c = AssociationConfig::default();
        c.acse.application_context_name = known::MMS_APPLICATION_CONTEXT.clone();
        c.presentation.contexts = vec![ContextProposal::ber(known::MMS_ABSTRACT_SYNTAX.clone())];
        c.presentation.supported = vec![SupportedSyntax::ber(known::MMS_ABSTRACT_SYNTAX.clone())];
        c
    }

    /// A profile for one application abstract syntax (BER) in application context `ac`.
    pub fn single(application_context: Oid, abstract_syntax: Oid) -> Self {
        let mut c = AssociationConfig::default();
        c.acse.application_context_name = application_context;
        c.presentation.contexts = vec![ContextProposal::ber(abstract_syntax.clone())];
        c.presentation.supported = vec![SupportedSyntax::ber(abstract_syntax)];
        c
    }

    /// The contexts the initiator proposes: ACSE first, then the configured ones, with
    /// identifiers 1, 3, 5, ...
    pub fn proposed_contexts(&self) -> Vec<ProposedContext> {
        let mut out = vec![ProposedContext::ber(1, known::ACSE_ABSTRACT_SYNTAX)];
        for (i, c) in self
            .presentation
            .contexts
            .iter()
            .filter(|c| c.abstract_syntax != known::ACSE_ABSTRACT_SYNTAX)
            .enumerate()
        {
            out.push(ProposedContext {
                pcid: 3 + 2 * i as i64,
                abstract_syntax: c.abstract_syntax.clone(),
                transfer_syntaxes: c.transfer_syntaxes.clone(),
            });
        }
        out
    }

    /// The syntaxes the responder accepts: ACSE with BER, then the configured ones.
    pub fn supported_syntaxes(&self) -> Vec<SupportedSyntax> {
        let mut out = vec![SupportedSyntax::ber(known::ACSE_ABSTRACT_SYNTAX)];
        out.extend(
            self.presentation
                .supported
                .iter()
                .filter(|s| s.abstract_syntax != known::ACSE_ABSTRACT_SYNTAX)
                .cloned(),
        );
        out
    }

    /// Checks the values a peer would otherwise reject (selector lengths, limits).
    pub fn validate(&self) -> Result<(), crate::AssociationError> {
        let bad = |m: &str| Err(crate::AssociationError::Config(m.to_string()));
        for s in [&self.session.calling_ssel, &self.session.called_ssel]
            .into_iter()
            .flatten()
        {
            if s.len() > guls_session::MAX_SSELECTOR_LEN {
                return bad("S-selector longer than 16 octets");
            }
        }
        for s in [
            &self.presentation.calling_psel,
            &self.presentation.called_psel,
            &self.presentation.responding_psel,
        ]
        .into_iter()
        .flatten()
        {
            if s.len() > 4 {
                return bad("P-selector longer than 4 octets");
            }
        }
        for s in [&self.transport.calling_tsel, &self.transport.called_tsel]
            .into_iter()
            .flatten()
        {
            if s.len() > 32 {
                return bad("T-selector longer than 32 octets");
            }
        }
        if self.limits.max_contexts < 2 {
            return bad("max_contexts must be at least 2");
        }
        if self.limits.event_queue == 0 || self.limits.command_queue == 0 {
            return bad("queue capacities must be at least 1");
        }
        if self.limits.max_associations == 0 {
            return bad("max_associations must be at least 1");
        }
        if self.limits.max_read < 1024 {
            return bad("max_read must be at least 1024");
        }
        if self.transport.max_tsdu_size < 1024 {
            return bad("max_tsdu_size must be at least 1024");
        }
        // As many as `proposed_contexts` gives (ACSE plus the others), without building them.
        let proposed = 1 + self
            .presentation
            .contexts
            .iter()
            .filter(|c| c.abstract_syntax != known::ACSE_ABSTRACT_SYNTAX)
            .count();
        if proposed > self.limits.max_contexts {
            return bad("more proposed contexts than max_contexts");
        }
        Ok(())
    }
}
