//! The security exchanges built into `guls` (the one place that registers them) and the
//! mapping of the policy's exchange keys onto [`CarriageConfig`].
//!
//! Built in today:
//!
//! * simpleNegotiationSE (2.20.4.3, `simple-negotiation`): always; as initiator it offers the
//!   other exchanges of the entry (when it offers several), as responder it accepts one of the
//!   other exchanges of the rule.
//! * `hmac-challenge` (ARC.9.1, experimental): the pre-shared-key challenge-response of
//!   `crates/sese/examples/hmac_challenge.rs`, compiled from that very file (not a copy), when
//!   a key is given (`--psk-file`, `--psk-identity`).
//!
//! * dirAuthenticationOneWay (2.20.4.1, `dir-authentication-one-way`), dirAuthenticationTwoWay
//!   (2.20.4.2, `dir-authentication-two-way`) and the signed key agreement (ARC.2.1,
//!   `signed-key-agreement`) of `crates/exchanges`, when a certificate, its key and trust
//!   anchors are given ([`CertOptions`]: `--cert`, `--key`, `--trust`, `--crl`, else the
//!   policy's `[identity]` and `[trust]`).
//!
//! # Certificate exchanges, per association
//!
//! The certificate exchanges are built for each association ([`BuiltIns::for_responder`],
//! [`BuiltIns::for_initiator`]) with:
//!
//! * a [`PolicyVerifier`] validating the peer's path with the trust store and the chosen
//!   provider, and binding the AP-title the peer is expected to hold to its certificate
//!   ([`guls_policy::TrustStore::bind`]): the responder binds the AARQ's calling AP-title and
//!   AE-qualifier, the initiator the called ones (and, after the exchange, the AARE's
//!   responding AP-title, see `crate::connect`). A mismatch fails the exchange with
//!   authenticationFailure (invalidCredentials), so the AARE is rejected with diagnostic 13;
//! * the initiator's `peer_name` (the `name` its tokens are addressed to): the called AP-title
//!   when it is form 1 (a Directory name). The directory exchanges need it; the signed key
//!   agreement then also requires the responder's certified subject to be that name;
//! * the key agreement's `context` ([`association_context`]): the calling AP-title, the called
//!   AP-title (both as the AARQ carries them) and the SESE presentation context identifier,
//!   so both sides mix the same octets into the transcript;
//! * one replay cache per process (per responder), sized by `[trust] clock_skew_secs`
//!   ([`guls_policy::replay_cache`]), shared by every association;
//! * a fresh [`Reports`] handle, from which the detail of a rejection (for the audit reason)
//!   and the [`SessionKeys`] of a completed key agreement are taken. Only a key id
//!   ([`key_id`]) is ever logged or printed; the `exchange_completed` audit record of a key
//!   agreement carries it on both sides ([`completed_key_id`]).

use std::fmt;
use std::sync::Arc;

use guls_association::{AeQualifier, ApTitle, Pcid};
use guls_ber::Oid;
use guls_crypto::CryptoProvider;
use guls_crypto::HashAlgorithm;
use guls_exchanges::{
    Clock, DIR_AUTHENTICATION_ONE_WAY, DIR_AUTHENTICATION_TWO_WAY, DirAuthConfig,
    KeyAgreementConfig, LocalIdentity, OwnCredentials, Reports, SIGNED_KEY_AGREEMENT, SessionKeys,
    SharedReplayCache, SystemClock,
};
use guls_policy::exchanges::{
    ExchangeCarrier, InitiatorExchanges, OnExchangeFailure, ResponderExchanges, exchange_name,
    simple_negotiation,
};
use guls_policy::rustls_pki_types::CertificateRevocationListDer;
use guls_policy::{Identity, PolicyVerifier, TrustStore};
use guls_sese::negotiation::simple_negotiation_se;
use guls_sese::{
    AbortPolicy, CarriageConfig, Carrier, ExchangeDefinition, Identifier, Outcome, Registry,
    SeseConfig,
};
use zeroize::Zeroizing;

use guls_sese::hmac_challenge;

/// The identifier of the experimental pre-shared-key exchange (ARC.9.1).
pub fn hmac_challenge_oid() -> Oid {
    hmac_challenge::EXCHANGE.parse().expect("valid OID")
}

/// A pre-shared key and the identity it belongs to (`Debug` never shows the key).
#[derive(Clone)]
pub struct Psk {
    /// The initiator's identity (the item it sends first; what the responder reports).
    pub identity: String,
    /// The key octets; zeroed on drop.
    pub key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Psk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Psk")
            .field("identity", &self.identity)
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

impl Psk {
    /// A key given in memory.
    pub fn new(identity: &str, key: &[u8]) -> Self {
        Psk {
            identity: identity.to_string(),
            key: Zeroizing::new(key.to_vec()),
        }
    }

    /// Reads a key file (the whole file; one trailing line break is ignored). Errors never
    /// contain the key.
    pub fn load(identity: &str, path: &std::path::Path) -> Result<Self, String> {
        let mut key = Zeroizing::new(
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        );
        if key.last() == Some(&b'\n') {
            key.pop();
            if key.last() == Some(&b'\r') {
                key.pop();
            }
        }
        if key.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        if identity.is_empty() {
            return Err("the PSK identity must not be empty".into());
        }
        Ok(Psk {
            identity: identity.to_string(),
            key,
        })
    }
}

/// Wraps each definition before it is registered (the audit tap of [`crate::guard`]).
pub type Wrap<'a> = &'a dyn Fn(ExchangeDefinition) -> ExchangeDefinition;

/// The crypto provider of the certificate exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderChoice {
    /// *ring* (the default).
    #[default]
    Ring,
    /// The RustCrypto crates.
    RustCrypto,
}

impl ProviderChoice {
    /// The provider.
    pub fn provider(self) -> Arc<CryptoProvider> {
        Arc::new(match self {
            ProviderChoice::Ring => guls_crypto::ring::default_provider(),
            ProviderChoice::RustCrypto => guls_crypto::rustcrypto::default_provider(),
        })
    }
}

/// Certificate settings given on the command line (or in memory), before they are merged
/// with a policy's `[identity]` and `[trust]` ([`BuiltIns::resolve`]). `Debug` never shows
/// the key.
#[derive(Debug, Clone, Default)]
pub struct CertOptions {
    /// Our certificate chain and key (`--cert`, `--key`); overrides the policy's
    /// `[identity]`.
    pub identity: Option<Identity>,
    /// Trust anchors (`--trust`); override the policy's `[trust]` (anchors, CRLs, binding
    /// table), keeping its options (clock skew, key usage, ...).
    pub trust: Option<TrustStore>,
    /// CRLs (`--crl`), added to whichever trust store applies.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// The crypto provider.
    pub provider: ProviderChoice,
}

/// Resolved certificate authentication: what the exchanges of every association share.
pub struct CertAuth {
    provider: Arc<CryptoProvider>,
    identity: LocalIdentity,
    subject: String,
    trust: TrustStore,
    replay: SharedReplayCache,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CertAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuth")
            .field("provider", &self.provider.name)
            .field("subject", &self.subject)
            .field("trust", &self.trust)
            .finish_non_exhaustive()
    }
}

impl CertAuth {
    /// Our certificate's subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<CryptoProvider> {
        &self.provider
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The form 1 AP-title our certificate binds: its subject.
    pub fn ap_title(&self) -> ApTitle {
        ApTitle::Form1(self.identity.name().clone())
    }
}

/// The per-association part of the certificate exchanges (see the module documentation).
#[derive(Debug)]
pub struct AssocCert {
    /// Path validation and AP-title binding for this association.
    pub verifier: Arc<PolicyVerifier>,
    /// Rejection details and session keys.
    pub reports: Reports,
    /// The key agreement's association binding ([`association_context`]).
    pub context: Vec<u8>,
    /// The initiator's intended peer (form 1 called AP-title).
    pub peer_name: Option<guls_acse::DistinguishedName>,
}

/// The exchanges this program can run, and their settings.
#[derive(Debug, Clone, Default)]
pub struct BuiltIns {
    /// The pre-shared key of `hmac-challenge`, when given.
    pub psk: Option<Psk>,
    /// Certificate settings (command line or in memory), before [`BuiltIns::resolve`].
    pub cert: CertOptions,
    /// Resolved certificate authentication (by [`BuiltIns::resolve`]).
    pub auth: Option<Arc<CertAuth>>,
    /// The association the certificate exchanges are built for (by
    /// [`BuiltIns::for_responder`] or [`BuiltIns::for_initiator`]).
    pub assoc: Option<Arc<AssocCert>>,
}

/// The octets both sides of a key agreement mix into its transcript
/// ([`KeyAgreementConfig::context`]): the label `GULS ARC.2.1 association v1` and a zero
/// octet, then the calling AP-title, the called AP-title (each: a form octet, 0 absent, 1 to
/// 4 the form, 5 another alternative; a 4-octet big-endian length; the contents: the DER
/// Name for form 1, the OID contents for form 2, the octets as received otherwise), then the
/// SESE presentation context identifier (8 octets, big-endian two's complement; -1 when
/// there is none).
pub fn association_context(
    calling: Option<&ApTitle>,
    called: Option<&ApTitle>,
    sese_pcid: Option<Pcid>,
) -> Vec<u8> {
    let mut v = b"GULS ARC.2.1 association v1\0".to_vec();
    for t in [calling, called] {
        let (form, body): (u8, Vec<u8>) = match t {
            None => (0, Vec::new()),
            Some(ApTitle::Form1(dn)) => (1, guls_exchanges::dn_to_der(dn)),
            Some(ApTitle::Form2(o)) => (2, o.as_bytes().to_vec()),
            Some(ApTitle::Form3(b)) => (3, b.clone()),
            Some(ApTitle::Form4(b)) => (4, b.clone()),
            Some(ApTitle::Other(b)) => (5, b.clone()),
        };
        v.push(form);
        v.extend_from_slice(&(body.len() as u32).to_be_bytes());
        v.extend_from_slice(&body);
    }
    v.extend_from_slice(&sese_pcid.unwrap_or(-1).to_be_bytes());
    v
}

/// The printable id of derived keys: the first 8 octets of SHA-256 over the transcript
/// hash, in hex. Never the keys.
pub fn key_id(keys: &SessionKeys, provider: &CryptoProvider) -> String {
    match provider.hash(HashAlgorithm::Sha256) {
        Some(h) => transcript_key_id(h, keys.transcript_hash()),
        None => "-".into(),
    }
}

fn transcript_key_id(sha256: &dyn guls_crypto::Hash, transcript_hash: &[u8]) -> String {
    guls_ber::to_hex(&sha256.hash(transcript_hash).as_ref()[..8])
}

/// The [`key_id`] of the keys a completed signed key agreement derived, computed from its
/// outcome (which reports the public transcript hash), so that the `exchange_completed` audit
/// records of both sides name the same keys without the keys being at hand. `None` for other
/// exchanges (and for an outcome without a well-formed transcript hash).
pub fn completed_key_id(exchange: &Identifier, outcome: &Outcome) -> Option<String> {
    if exchange.as_global() != Some(&SIGNED_KEY_AGREEMENT) {
        return None;
    }
    let th = guls_ber::parse_hex(outcome.details.get("transcript_hash")?).ok()?;
    (!th.is_empty()).then(|| transcript_key_id(&guls_crypto::ring::SHA256, &th))
}

fn is_cert_exchange(oid: &Oid) -> bool {
    *oid == DIR_AUTHENTICATION_ONE_WAY
        || *oid == DIR_AUTHENTICATION_TWO_WAY
        || *oid == SIGNED_KEY_AGREEMENT
}

impl BuiltIns {
    /// The definition of a built-in exchange other than simpleNegotiationSE.
    fn definition(&self, oid: &Oid) -> Option<ExchangeDefinition> {
        if *oid == hmac_challenge_oid() {
            let psk = self.psk.as_ref()?;
            return Some(hmac_challenge::definition(&psk.identity, &psk.key));
        }
        if is_cert_exchange(oid) {
            let auth = self.auth.as_ref()?;
            let assoc = self.assoc.clone().unwrap_or_else(|| {
                Arc::new(AssocCert {
                    verifier: Arc::new(PolicyVerifier::new(
                        auth.trust.clone(),
                        auth.provider.clone(),
                    )),
                    reports: Reports::new(),
                    context: Vec::new(),
                    peer_name: None,
                })
            });
            if *oid == SIGNED_KEY_AGREEMENT {
                let mut c = KeyAgreementConfig::new(
                    auth.provider.clone(),
                    auth.identity.clone(),
                    assoc.verifier.clone(),
                    auth.clock.clone(),
                );
                c.peer_name = assoc.peer_name.clone();
                c.replay = auth.replay.clone();
                c.reports = assoc.reports.clone();
                c.context = assoc.context.clone();
                return Some(guls_exchanges::signed_key_agreement(c));
            }
            let mut c = DirAuthConfig::new(
                auth.provider.clone(),
                OwnCredentials::Strong(auth.identity.clone()),
                assoc.verifier.clone(),
                auth.clock.clone(),
            );
            c.peer_name = assoc.peer_name.clone();
            c.replay = auth.replay.clone();
            c.reports = assoc.reports.clone();
            return Some(if *oid == DIR_AUTHENTICATION_TWO_WAY {
                guls_exchanges::two_way(c)
            } else {
                guls_exchanges::one_way(c)
            });
        }
        None
    }

    /// Merges the certificate settings with a policy's `[trust]` and `[identity]` (the
    /// command line's win; `--trust` keeps the policy's trust options, `--crl`
    /// adds to whichever store applies) and prepares the certificate exchanges: with an
    /// identity and a trust store, [`BuiltIns::auth`] is set (the private key is loaded with
    /// the chosen provider and checked against the certificate). Errors never contain key
    /// material.
    pub fn resolve(
        &self,
        policy_trust: Option<&TrustStore>,
        policy_identity: Option<&Identity>,
    ) -> Result<BuiltIns, String> {
        let mut out = self.clone();
        let identity = self.cert.identity.as_ref().or(policy_identity);
        let mut trust = match (&self.cert.trust, policy_trust) {
            (Some(t), Some(p)) => Some(t.clone().with_options(p.options().clone())),
            (Some(t), None) => Some(t.clone()),
            (None, p) => p.cloned(),
        };
        if !self.cert.crls.is_empty() {
            match &mut trust {
                Some(t) => t
                    .add_crls(&self.cert.crls)
                    .map_err(|e| format!("--crl: {e}"))?,
                None => return Err("--crl needs trust anchors (--trust or [trust])".into()),
            }
        }
        out.auth = match (identity, trust) {
            (Some(id), Some(trust)) => {
                let provider = self.cert.provider.provider();
                let key = id
                    .signing_key(&provider)
                    .map_err(|e| format!("identity {}: {e}", id.subject()))?;
                let chain: Vec<Vec<u8>> = id.chain().iter().map(|c| c.to_vec()).collect();
                let local = LocalIdentity::new(Arc::from(key), &chain)
                    .map_err(|e| format!("identity {}: {e}", id.subject()))?;
                Some(Arc::new(CertAuth {
                    replay: guls_policy::replay_cache(&trust),
                    provider,
                    identity: local,
                    subject: id.subject().to_string(),
                    trust,
                    clock: Arc::new(SystemClock),
                }))
            }
            _ => None,
        };
        Ok(out)
    }

    fn for_association(
        &self,
        expected: Option<ApTitle>,
        expected_qualifier: Option<AeQualifier>,
        peer_name: Option<guls_acse::DistinguishedName>,
        context: Vec<u8>,
    ) -> BuiltIns {
        let mut out = self.clone();
        if let Some(auth) = &self.auth {
            out.assoc = Some(Arc::new(AssocCert {
                verifier: Arc::new(
                    PolicyVerifier::new(auth.trust.clone(), auth.provider.clone())
                        .expecting(expected, expected_qualifier),
                ),
                reports: Reports::new(),
                context,
                peer_name,
            }));
        }
        out
    }

    /// The exchanges of one association as responder: the peer's certificate is bound to
    /// the AARQ's calling AP-title and AE-qualifier.
    pub fn for_responder(
        &self,
        ind: &guls_association::AssociateIndication,
        sese_pcid: Option<Pcid>,
    ) -> BuiltIns {
        self.for_association(
            ind.calling_ap_title.clone(),
            ind.calling_ae_qualifier.clone(),
            None,
            association_context(
                ind.calling_ap_title.as_ref(),
                ind.called_ap_title.as_ref(),
                sese_pcid,
            ),
        )
    }

    /// The exchanges of one association as initiator: the peer's certificate is bound to the
    /// called AP-title and AE-qualifier; tokens are addressed to the called AP-title when it
    /// is form 1.
    pub fn for_initiator(
        &self,
        calling: Option<&ApTitle>,
        called: Option<&ApTitle>,
        called_qualifier: Option<&AeQualifier>,
        sese_pcid: Option<Pcid>,
    ) -> BuiltIns {
        let peer_name = match called {
            Some(ApTitle::Form1(dn)) => Some(dn.clone()),
            _ => None,
        };
        self.for_association(
            called.cloned(),
            called_qualifier.cloned(),
            peer_name,
            association_context(calling, called, sese_pcid),
        )
    }

    /// Whether this program can run `oid` with the settings given.
    pub fn can_run(&self, oid: &Oid) -> bool {
        *oid == simple_negotiation() || self.definition(oid).is_some()
    }

    /// Checks that every exchange a policy names can run here: `Err` names the first that
    /// cannot, and why.
    pub fn check(&self, oids: &[Oid]) -> Result<(), String> {
        for o in oids {
            if !self.can_run(o) {
                let name = label(o);
                return Err(if *o == hmac_challenge_oid() {
                    format!("exchange {name} needs a pre-shared key (--psk-file)")
                } else if is_cert_exchange(o) {
                    format!(
                        "exchange {name} needs a certificate, its key and trust anchors \
                         (--cert, --key, --trust, or the policy's [identity] and [trust])"
                    )
                } else {
                    format!("exchange {name} is not available in this build")
                });
            }
        }
        Ok(())
    }

    /// A registry of `exchanges` plus simpleNegotiationSE (offering `offered`, accepting
    /// `acceptable`; simpleNegotiationSE itself is never negotiated), each passed through
    /// `wrap`.
    fn registry(
        &self,
        exchanges: &[Oid],
        offered: Vec<Oid>,
        acceptable: Vec<Oid>,
        wrap: Wrap<'_>,
    ) -> Registry {
        let mut r = Registry::new();
        let _ = r.register(wrap(simple_negotiation_se(offered, acceptable)));
        for o in exchanges {
            if let Some(d) = self.definition(o) {
                let _ = r.register(wrap(d));
            }
        }
        r
    }

    /// The responder's carriage for a rule: its accepted exchanges registered (others are
    /// answered with diagnostic 11), simpleNegotiationSE choosing among them.
    pub fn responder_config(&self, x: &ResponderExchanges, wrap: Wrap<'_>) -> CarriageConfig {
        let others: Vec<Oid> = without_negotiation(&x.accepted);
        let mut c = CarriageConfig::new(Arc::new(self.registry(
            &others,
            Vec::new(),
            if x.accepted.contains(&simple_negotiation()) {
                others.clone()
            } else {
                Vec::new()
            },
            wrap,
        )));
        c.required = x.required;
        c.abort_on_failure = abort_policy(x.on_failure);
        c.sese = SeseConfig::default();
        c
    }

    /// The initiator's carriage and the exchange to start: the only one offered, or
    /// simpleNegotiationSE offering them all when several are.
    pub fn initiator_config(
        &self,
        x: &InitiatorExchanges,
        wrap: Wrap<'_>,
    ) -> (CarriageConfig, Identifier) {
        let others = without_negotiation(&x.offered);
        let first = match others.as_slice() {
            [one] => one.clone(),
            _ => simple_negotiation(),
        };
        let mut c = CarriageConfig::new(Arc::new(self.registry(
            &others,
            others.clone(),
            Vec::new(),
            wrap,
        )));
        c.carrier = match x.carrier {
            ExchangeCarrier::AuthenticationValue => Carrier::AuthenticationValue,
            ExchangeCarrier::UserInformation => Carrier::UserInformation,
        };
        c.abort_on_failure = abort_policy(x.on_failure);
        (c, Identifier::Global(first))
    }
}

fn without_negotiation(v: &[Oid]) -> Vec<Oid> {
    v.iter()
        .filter(|o| **o != simple_negotiation())
        .cloned()
        .collect()
}

/// `on_exchange_failure` as carriage's [`AbortPolicy`].
pub fn abort_policy(f: OnExchangeFailure) -> AbortPolicy {
    match f {
        OnExchangeFailure::AbortWhenRequired => AbortPolicy::WhenRequired,
        OnExchangeFailure::Abort => AbortPolicy::Always,
        OnExchangeFailure::Continue => AbortPolicy::Never,
    }
}

/// `2.20.4.3 (simple-negotiation)`: an exchange identifier for logs and audit records.
pub fn label(oid: &Oid) -> String {
    match exchange_name(oid) {
        Some(n) => format!("{oid} ({n})"),
        None => oid.to_string(),
    }
}

/// [`label`] of an SESE identifier (`local:N` for local ones).
pub fn identifier_label(id: &Identifier) -> String {
    match id {
        Identifier::Global(o) => label(o),
        Identifier::Local(_) => id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completed_key_id_only_for_the_key_agreement() {
        let mut o = Outcome::default();
        let ska = Identifier::Global(SIGNED_KEY_AGREEMENT);
        assert_eq!(completed_key_id(&ska, &o), None);
        o.details.insert("transcript_hash".into(), "zz".into());
        assert_eq!(completed_key_id(&ska, &o), None);
        o.details.insert("transcript_hash".into(), "00".repeat(32));
        let id = completed_key_id(&ska, &o).unwrap();
        // SHA-256 of 32 zero octets, first 8 octets.
        assert_eq!(id, "66687aadf862bd77");
        let two_way = Identifier::Global(DIR_AUTHENTICATION_TWO_WAY);
        assert_eq!(completed_key_id(&two_way, &o), None);
    }

    #[test]
    fn registries_follow_the_policy() {
        let b = BuiltIns {
            psk: Some(Psk {
                identity: "alice".into(),
                key: Zeroizing::new(b"k".to_vec()),
            }),
            ..BuiltIns::default()
        };
        assert!(!format!("{b:?}").contains("\"k\""));
        let h = hmac_challenge_oid();
        let id = |w: Wrap<'_>| {
            let x = InitiatorExchanges {
                offered: vec![h.clone()],
                ..Default::default()
            };
            b.initiator_config(&x, w).1
        };
        assert_eq!(id(&|d| d), Identifier::Global(h.clone()));
        let rx = ResponderExchanges {
            accepted: vec![h.clone()],
            required: true,
            on_failure: OnExchangeFailure::Continue,
        };
        let c = b.responder_config(&rx, &|d| d);
        assert!(c.registry.get(&Identifier::Global(h.clone())).is_some());
        assert_eq!(c.abort_on_failure, AbortPolicy::Never);
        assert!(
            BuiltIns::default()
                .check(&[h])
                .unwrap_err()
                .contains("--psk-file")
        );
        assert!(
            BuiltIns::default()
                .check(&["2.20.4.2".parse().unwrap()])
                .unwrap_err()
                .contains("--cert")
        );
    }
}
