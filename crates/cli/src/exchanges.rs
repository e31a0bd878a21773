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
//! dirAuthenticationOneWay / TwoWay and the signed key agreement come from `crates/exchanges`
//! once it lands: register them in `BuiltIns::definition` (marked `REGISTER HERE`).

use std::fmt;
use std::sync::Arc;

use guls_ber::Oid;
use guls_policy::exchanges::{
    ExchangeCarrier, InitiatorExchanges, OnExchangeFailure, ResponderExchanges, exchange_name,
    simple_negotiation,
};
use guls_sese::negotiation::simple_negotiation_se;
use guls_sese::{
    AbortPolicy, CarriageConfig, Carrier, ExchangeDefinition, Identifier, Registry, SeseConfig,
};
use zeroize::Zeroizing;

/// The example's exchange definition, compiled from the example file itself.
#[allow(dead_code)]
#[path = "../../sese/examples/hmac_challenge.rs"]
mod hmac_challenge;

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

/// The exchanges this program can run, and their settings.
#[derive(Debug, Clone, Default)]
pub struct BuiltIns {
    /// The pre-shared key of `hmac-challenge`, when given.
    pub psk: Option<Psk>,
}

impl BuiltIns {
    /// The definition of a built-in exchange other than simpleNegotiationSE.
    fn definition(&self, oid: &Oid) -> Option<ExchangeDefinition> {
        if *oid == hmac_challenge_oid() {
            let psk = self.psk.as_ref()?;
            return Some(hmac_challenge::definition(&psk.identity, &psk.key));
        }
        // REGISTER HERE: the exchanges of crates/exchanges (dir-authentication-one-way
        // 2.20.4.1, dir-authentication-two-way 2.20.4.2, signed-key-agreement ARC.2.1), as
        // `if *oid == X { return Some(guls_exchanges::...definition(...)); }`.
        None
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
    fn registries_follow_the_policy() {
        let b = BuiltIns {
            psk: Some(Psk {
                identity: "alice".into(),
                key: Zeroizing::new(b"k".to_vec()),
            }),
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
                .contains("not available")
        );
    }
}
