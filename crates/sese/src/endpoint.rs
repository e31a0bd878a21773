//! Running exchanges: a [`SeseMachine`] plus the role machines of the registered exchanges.
//!
//! An [`Endpoint`] is still sans IO: [`Endpoint::initiate`] and [`Endpoint::receive`] return the
//! APDUs to send ([`EndpointOutput::send`]) and what happened ([`EndpointOutput::events`]).
//! Carriage is the caller's: hand each [`OutgoingApdu::bytes`] to the peer in whatever carries
//! the SESE presentation context (ACSE authentication value or user-information, or a P-DATA
//! PDV), and pass what arrives to [`Endpoint::receive`].

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::apdu::{Identifier, InvocationId, SeError, SeTransfer, SeUAbort, SeseApdu};
use crate::exchange::{DecodedItem, ExchangeRole, Item, Outcome, Registry, Step};
use crate::machine::{
    Indication, OutgoingApdu, PAbortIndication, Receipt, RequestError, SeseConfig, SeseMachine,
};

/// Why an exchange ended without completing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// This side's role rejected the peer's item; an se-u-abort with these errors was sent.
    RejectedLocally(Vec<SeError>),
    /// The peer sent an se-u-abort.
    RejectedByPeer(SeUAbort),
    /// A provider abort, detected here or by the peer.
    ProviderAbort(PAbortIndication),
    /// The role asked for something the machine refused; an se-u-abort was sent.
    RoleError(String),
}

/// A change in an exchange's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeEvent {
    /// The exchange completed on this side.
    Completed {
        /// The exchange.
        exchange: Identifier,
        /// Its invocation id.
        invocation_id: InvocationId,
        /// What it established.
        outcome: Outcome,
    },
    /// The exchange ended without completing.
    Failed {
        /// The exchange, when known.
        exchange: Option<Identifier>,
        /// Its invocation id, when known.
        invocation_id: Option<InvocationId>,
        /// The item the SE-U-ABORT or SE-P-ABORT that ended the exchange names
        /// (`itemIdentifier`), sent or received: for an exchange this side's role rejected,
        /// the peer's item it answered.
        item: Option<i64>,
        /// Why.
        failure: Failure,
    },
}

/// What one call produced.
#[derive(Debug, Default)]
pub struct EndpointOutput {
    /// APDUs to send to the peer, in order.
    pub send: Vec<OutgoingApdu>,
    /// Completed and failed exchanges.
    pub events: Vec<ExchangeEvent>,
    /// The SESE indications, for the application or the audit log.
    pub indications: Vec<Indication>,
}

/// Why [`Endpoint::initiate`] could not start an exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InitiateError {
    /// The exchange is not registered.
    #[error("security exchange {0} is not registered")]
    UnknownExchange(Identifier),
    /// The definition has no role machines.
    #[error("security exchange {0} has no role machines")]
    NoRoles(Identifier),
    /// The initiator role did not produce a first item.
    #[error("the initiator of {0} produced no first item")]
    NoFirstItem(Identifier),
    /// The machine refused the first item.
    #[error(transparent)]
    Refused(#[from] RequestError),
}

struct Running {
    exchange: Identifier,
    role: Box<dyn ExchangeRole>,
}

/// One side of a SESE association running role machines.
pub struct Endpoint {
    machine: SeseMachine,
    running: BTreeMap<InvocationId, Running>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("machine", &self.machine)
            .field("running", &self.running.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Endpoint {
    /// An endpoint for the exchanges of `registry`.
    pub fn new(registry: Arc<Registry>, config: SeseConfig) -> Self {
        Endpoint {
            machine: SeseMachine::new(registry, config),
            running: BTreeMap::new(),
        }
    }

    /// The protocol machine.
    pub fn machine(&self) -> &SeseMachine {
        &self.machine
    }

    /// The protocol machine, to drive exchanges without role machines by hand.
    pub fn machine_mut(&mut self) -> &mut SeseMachine {
        &mut self.machine
    }

    /// Starts `exchange` as initiator under `invocation_id`.
    pub fn initiate(
        &mut self,
        exchange: &Identifier,
        invocation_id: InvocationId,
    ) -> Result<EndpointOutput, InitiateError> {
        let role = self.initiator_role(exchange)?;
        self.initiate_with(exchange, invocation_id, role)
    }

    /// The first half of [`Endpoint::initiate`], which runs no role code beyond building the
    /// role machine: a fresh initiator role for `exchange`, or why it cannot start (not
    /// registered, no role machines).
    pub(crate) fn initiator_role(
        &self,
        exchange: &Identifier,
    ) -> Result<Box<dyn ExchangeRole>, InitiateError> {
        self.machine
            .registry()
            .get(exchange)
            .ok_or_else(|| InitiateError::UnknownExchange(exchange.clone()))?
            .new_initiator()
            .ok_or_else(|| InitiateError::NoRoles(exchange.clone()))
    }

    /// The second half of [`Endpoint::initiate`]: starts `role` (from
    /// [`Endpoint::initiator_role`] for `exchange`) under `invocation_id`.
    pub(crate) fn initiate_with(
        &mut self,
        exchange: &Identifier,
        invocation_id: InvocationId,
        mut role: Box<dyn ExchangeRole>,
    ) -> Result<EndpointOutput, InitiateError> {
        let (item, last) = match role.start() {
            Step::Send(item) => (item, None),
            Step::SendLast(item, outcome) => (item, Some(outcome)),
            Step::Done(_) | Step::Fail(_) => {
                return Err(InitiateError::NoFirstItem(exchange.clone()));
            }
        };
        let apdu = self.machine.transfer_request(SeTransfer {
            se_identifier: exchange.clone(),
            item_identifier: item.id,
            item: item.value,
            invocation_id,
            start: true,
            end: last.is_some(),
        })?;
        show_sent(&mut *role, &apdu);
        let mut out = EndpointOutput::default();
        out.send.push(apdu);
        match last {
            Some(outcome) => out.events.push(ExchangeEvent::Completed {
                exchange: exchange.clone(),
                invocation_id,
                outcome,
            }),
            None => {
                self.running.insert(
                    invocation_id,
                    Running {
                        exchange: exchange.clone(),
                        role,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Receives one APDU from the peer and runs the role machine it concerns.
    pub fn receive(&mut self, bytes: &[u8]) -> EndpointOutput {
        let received = self.machine.receive_decoding(bytes);
        self.on_received(received)
    }

    /// [`Endpoint::receive`] for an APDU the caller already decoded.
    pub(crate) fn receive_apdu(&mut self, apdu: crate::SeseApdu) -> EndpointOutput {
        let received = self.machine.receive_apdu(apdu);
        self.on_received(received)
    }

    fn on_received(&mut self, receipt: Receipt) -> EndpointOutput {
        let Receipt {
            mut received,
            decoded,
            exchange: aborted,
        } = receipt;
        let mut out = EndpointOutput::default();
        out.send.extend(received.reply.take());
        match &mut received.indication {
            Indication::Transfer(t) => self.on_transfer(t, decoded, &mut out),
            Indication::UAbort(a) => {
                let exchange = self.running.remove(&a.invocation_id).map(|r| r.exchange);
                out.events.push(ExchangeEvent::Failed {
                    exchange,
                    invocation_id: Some(a.invocation_id),
                    item: a.item_identifier,
                    failure: Failure::RejectedByPeer(a.clone()),
                });
            }
            Indication::PAbort(p) => {
                // The role machine of the instance the abort names, else the exchange the
                // machine knows the aborted APDU belonged to (an item refused before any role
                // ran, e.g. a mistyped item 1 in P-DATA).
                let exchange = p
                    .invocation_id
                    .and_then(|id| self.running.remove(&id))
                    .map(|r| r.exchange)
                    .or(aborted);
                out.events.push(ExchangeEvent::Failed {
                    exchange,
                    invocation_id: p.invocation_id,
                    item: p.item_identifier,
                    failure: Failure::ProviderAbort(p.clone()),
                });
            }
        }
        out.indications.push(received.indication);
        out
    }

    fn on_transfer(
        &mut self,
        t: &mut SeTransfer,
        decoded: Option<DecodedItem>,
        out: &mut EndpointOutput,
    ) {
        let id = t.invocation_id;
        if t.start {
            let role = self
                .machine
                .registry()
                .get(&t.se_identifier)
                .and_then(|d| d.new_responder());
            match role {
                Some(role) => {
                    self.running.insert(
                        id,
                        Running {
                            exchange: t.se_identifier.clone(),
                            role,
                        },
                    );
                }
                None => {
                    self.running.remove(&id);
                    return;
                }
            }
        }
        let Some(mut running) = self.running.remove(&id) else {
            return;
        };
        running.role.transfer_received(t);
        // The item is lent to the role and put back into the indication afterwards.
        let item = Item {
            id: t.item_identifier,
            value: std::mem::take(&mut t.item),
        };
        let step = running.role.on_decoded_item(&item, decoded);
        t.item = item.value;
        let t = &*t;
        let exchange = running.exchange.clone();
        // Every abort below answers the item received.
        let failed = |failure| ExchangeEvent::Failed {
            exchange: Some(exchange.clone()),
            invocation_id: Some(id),
            item: Some(t.item_identifier),
            failure,
        };
        match step {
            Step::Send(_) | Step::SendLast(..) if t.end => {
                self.abort_plain(t, out);
                out.events.push(failed(Failure::RoleError(
                    "the role sent an item after the peer's last one".into(),
                )));
            }
            Step::Send(next) => match self.send_item(t, next, false) {
                Ok(apdu) => {
                    show_sent(&mut *running.role, &apdu);
                    out.send.push(apdu);
                    self.running.insert(id, running);
                }
                Err(e) => {
                    self.abort_plain(t, out);
                    out.events.push(failed(Failure::RoleError(e.to_string())));
                }
            },
            Step::SendLast(next, outcome) => match self.send_item(t, next, true) {
                Ok(apdu) => {
                    show_sent(&mut *running.role, &apdu);
                    out.send.push(apdu);
                    out.events.push(ExchangeEvent::Completed {
                        exchange: exchange.clone(),
                        invocation_id: id,
                        outcome,
                    });
                }
                Err(e) => {
                    self.abort_plain(t, out);
                    out.events.push(failed(Failure::RoleError(e.to_string())));
                }
            },
            Step::Done(outcome) if t.end => out.events.push(ExchangeEvent::Completed {
                exchange: exchange.clone(),
                invocation_id: id,
                outcome,
            }),
            Step::Done(_) => {
                self.abort_plain(t, out);
                out.events.push(failed(Failure::RoleError(
                    "the role finished before the peer's last item".into(),
                )));
            }
            Step::Fail(errors) => {
                let abort = SeUAbort {
                    invocation_id: id,
                    item_identifier: Some(t.item_identifier),
                    errors: (!errors.is_empty()).then(|| errors.clone()),
                };
                match self.machine.u_abort_request(abort) {
                    Ok(apdu) => {
                        out.send.push(apdu);
                        out.events.push(failed(Failure::RejectedLocally(errors)));
                    }
                    Err(e) => {
                        self.abort_plain(t, out);
                        out.events.push(failed(Failure::RoleError(e.to_string())));
                    }
                }
            }
        }
    }

    fn send_item(
        &mut self,
        t: &SeTransfer,
        item: Item,
        end: bool,
    ) -> Result<OutgoingApdu, RequestError> {
        self.machine.transfer_request(SeTransfer {
            se_identifier: t.se_identifier.clone(),
            item_identifier: item.id,
            item: item.value,
            invocation_id: t.invocation_id,
            start: false,
            end,
        })
    }

    /// An se-u-abort without errors answering `t` (always acceptable: the instance is active or
    /// just completed and `t` is the last item received).
    fn abort_plain(&mut self, t: &SeTransfer, out: &mut EndpointOutput) {
        let abort = SeUAbort {
            invocation_id: t.invocation_id,
            item_identifier: Some(t.item_identifier),
            errors: None,
        };
        if let Ok(apdu) = self.machine.u_abort_request(abort) {
            out.send.push(apdu);
        }
    }
}

/// Shows `role` the SE-TRANSFER carrying its item ([`ExchangeRole::transfer_sent`]).
fn show_sent(role: &mut dyn ExchangeRole, apdu: &OutgoingApdu) {
    if let SeseApdu::Transfer(t) = &apdu.apdu {
        role.transfer_sent(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::{ProblemCode, TransferProblem};
    use crate::exchange::{ExchangeDefinition, ItemDef, ItemType, Sequencing};
    use crate::machine::InvocationIdSet;
    use crate::types::{Integer, OctetString};

    const A: Identifier = Identifier::Local(5);
    const B: Identifier = Identifier::Local(6);

    fn endpoint(config: SeseConfig) -> Endpoint {
        let def = |id, name| {
            ExchangeDefinition::new(id, name, Sequencing::Alternating)
                .item(ItemDef::new::<Integer>(1, "one"))
                .item(ItemDef::new::<Integer>(2, "two"))
        };
        let registry = Registry::new()
            .with(def(A, "a"))
            .unwrap()
            .with(def(B, "b"))
            .unwrap();
        Endpoint::new(Arc::new(registry), config)
    }

    fn transfer(
        exchange: Identifier,
        id: InvocationId,
        value: Vec<u8>,
        start: bool,
        end: bool,
    ) -> SeTransfer {
        SeTransfer {
            se_identifier: exchange,
            item_identifier: 1,
            item: value,
            invocation_id: id,
            start,
            end,
        }
    }

    fn failed_exchange(out: &EndpointOutput) -> Option<Identifier> {
        match out.events.as_slice() {
            [ExchangeEvent::Failed { exchange, .. }] => exchange.clone(),
            other => panic!("one failed exchange expected: {other:?}"),
        }
    }

    /// A mistyped item 1 starting `B` after `A` completed under the same invocation id (a
    /// negotiation, then the exchange it agreed on in P-DATA): no role ran, the abort names
    /// the just-completed instance, and the exchange is the one the item started.
    #[test]
    fn a_refused_start_item_names_its_exchange() {
        let mut e = endpoint(SeseConfig::default());
        let int = Integer(7).encode();
        e.machine_mut()
            .transfer_request(transfer(A, InvocationId::Absent, int, true, true))
            .unwrap();
        let bad = OctetString(vec![1]).encode();
        let apdu = SeseApdu::Transfer(transfer(B, InvocationId::Absent, bad, true, false));
        let out = e.receive(&apdu.encode());
        assert!(matches!(
            out.indications.as_slice(),
            [Indication::PAbort(p)] if p.problem == ProblemCode::Transfer(TransferProblem::MistypedItem)
        ));
        assert_eq!(failed_exchange(&out), Some(B));
    }

    /// An APDU that names nothing is taken for the only running exchange's, and never
    /// guessed among several.
    #[test]
    fn an_undecodable_apdu_names_only_the_only_running_exchange() {
        let mut e = endpoint(SeseConfig::default());
        let int = Integer(7).encode();
        e.machine_mut()
            .transfer_request(transfer(A, InvocationId::Absent, int.clone(), true, false))
            .unwrap();
        assert_eq!(failed_exchange(&e.receive(&[0xff, 0x00])), Some(A));

        let mut e = endpoint(SeseConfig {
            invocation_ids: InvocationIdSet::present_range(1, 9),
            ..SeseConfig::default()
        });
        for (x, id) in [(A, 1), (B, 2)] {
            e.machine_mut()
                .transfer_request(transfer(
                    x,
                    InvocationId::Present(id),
                    int.clone(),
                    true,
                    false,
                ))
                .unwrap();
        }
        assert_eq!(failed_exchange(&e.receive(&[0xff, 0x00])), None);
    }

    /// A role that records the SE-TRANSFERs it is shown, sends item 1 and rejects item 2.
    struct Watching(Arc<std::sync::Mutex<Vec<(bool, SeTransfer)>>>);

    impl ExchangeRole for Watching {
        fn start(&mut self) -> Step {
            Step::Send(Item::new(1, &Integer(1)))
        }

        fn on_item(&mut self, _: &Item) -> Step {
            Step::Fail(Vec::new())
        }

        fn transfer_received(&mut self, t: &SeTransfer) {
            self.0.lock().unwrap().push((false, t.clone()));
        }

        fn transfer_sent(&mut self, t: &SeTransfer) {
            self.0.lock().unwrap().push((true, t.clone()));
        }
    }

    /// The role is shown each SE-TRANSFER as on the wire (the peer's last item with its end
    /// flag, though the role rejects it), and the failure names the item its abort answers.
    #[test]
    fn roles_see_transfers_and_failures_name_the_item() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let w = seen.clone();
        let def = ExchangeDefinition::new(A, "a", Sequencing::Alternating)
            .item(ItemDef::new::<Integer>(1, "one"))
            .item(ItemDef::new::<Integer>(2, "two"))
            .roles(move || Box::new(Watching(w.clone())), || unreachable!());
        let config = SeseConfig {
            invocation_ids: InvocationIdSet::present_range(1, 9),
            ..SeseConfig::default()
        };
        let mut e = Endpoint::new(Arc::new(Registry::new().with(def).unwrap()), config);
        let id = InvocationId::Present(4);
        e.initiate(&A, id).unwrap();
        let mut reply = transfer(A, id, Integer(2).encode(), false, true);
        reply.item_identifier = 2;
        let out = e.receive(&SeseApdu::Transfer(reply.clone()).encode());
        assert!(matches!(
            out.events.as_slice(),
            [ExchangeEvent::Failed { item: Some(2), invocation_id: Some(i), .. }] if *i == id
        ));
        let seen = seen.lock().unwrap();
        let first = transfer(A, id, Integer(1).encode(), true, false);
        assert_eq!(seen.as_slice(), [(true, first), (false, reply)]);
    }
}
