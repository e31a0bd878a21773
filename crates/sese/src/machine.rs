//! The sans-IO SESE protocol machine: SE-TRANSFER and SE-U-ABORT requests in, APDUs out;
//! APDUs in, SE-TRANSFER / SE-U-ABORT / SE-P-ABORT indications out.
//!
//! The rules are generic, enforced for every registered exchange (X.832 clause 6 as
//! reconstructed in spec/GULS-WIRE-NOTES.md section 4.2; the choices this profile makes where
//! the text was not available are marked "profile"):
//!
//! * the first item of an exchange instance carries startFlag; endFlag closes the instance,
//!   which is then *just completed* (an SE-U-ABORT may still name it) until its invocation id is
//!   reused or it is evicted (the `max_completed` most recent are kept);
//! * invocation ids: outside the configured set -> `transfer.inappropriateInvocationId`; a
//!   start on an id that names an active instance -> `transfer.duplicateInvocationId`; an item
//!   without startFlag whose id names no active instance -> `transfer.inappropriateInvocationId`
//!   (profile: the `CONSTRAINED BY` on `invocationId` is what is broken); a start when
//!   `max_active` instances are running -> `transfer.inappropriateInvocationId` (profile);
//!   an SE-U-ABORT whose id names no active or just-completed instance ->
//!   `abort.unrecognizedInvocationId`;
//! * an unregistered exchange, or an item naming another exchange than its instance's ->
//!   `transfer.unrecognizedSecurityExchange`;
//! * an item identifier the exchange does not define, or a value that does not decode as the
//!   item's type -> `transfer.mistypedItem`;
//! * alternating exchanges: two items in a row from one side ->
//!   `transfer.alternatingSequenceError`; arbitrary exchanges take items both ways;
//! * an SE-U-ABORT naming an item other than the last one the aborting side received ->
//!   `abort.abortUnexpected`; an error code no item of the exchange defines ->
//!   `abort.unrecognizedError`; one the named item may not raise -> `abort.unexpectedError`;
//!   a parameter that does not decode as the error's parameter type (or any parameter for an
//!   error without one, or a parameter without an error code) -> `abort.mistypedErrorParameter`;
//! * an APDU that does not decode -> `general.invalidAPDU`.
//!
//! Each violation found in a received APDU yields an se-p-abort to send and an SE-P-ABORT
//! indication. The se-p-abort carries the received invocation id when it names an active or
//! just-completed instance, and the item identifier when the exchange defines it; the instance
//! it names ends on both sides (profile: an se-p-abort without an invocation id ends no
//! instance). A request that would break a rule is refused with a [`RequestError`] and changes
//! nothing.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::apdu::{
    AbortProblem, GeneralProblem, Identifier, InvocationId, ProblemCode, SePAbort, SeTransfer,
    SeUAbort, SeseApdu, TransferProblem,
};
use crate::exchange::{DecodedItem, ExchangeDefinition, Registry, Sequencing};

/// The `InvocationIdSet` parameter of the SESE abstract syntax: which invocation ids this
/// context allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvocationIdSet {
    /// Whether `noInvocationId` (absent) is allowed.
    pub absent: bool,
    /// The inclusive range of allowed `present` values, if any.
    pub present: Option<(i64, i64)>,
}

impl InvocationIdSet {
    /// `NoInvocationId`: only `absent`, one exchange at a time (the default).
    pub fn no_invocation_id() -> Self {
        InvocationIdSet {
            absent: true,
            present: None,
        }
    }

    /// Present ids in `lo..=hi` (and not `absent`): several exchanges at once.
    pub fn present_range(lo: i64, hi: i64) -> Self {
        InvocationIdSet {
            absent: false,
            present: Some((lo, hi)),
        }
    }

    /// Whether the set contains `id`.
    pub fn contains(&self, id: InvocationId) -> bool {
        match id {
            InvocationId::Absent => self.absent,
            InvocationId::Present(v) => self.present.is_some_and(|(lo, hi)| lo <= v && v <= hi),
        }
    }
}

impl Default for InvocationIdSet {
    fn default() -> Self {
        InvocationIdSet::no_invocation_id()
    }
}

/// Machine limits and the invocation id set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeseConfig {
    /// The invocation ids allowed in this context.
    pub invocation_ids: InvocationIdSet,
    /// Most exchange instances active at once.
    pub max_active: usize,
    /// Most just-completed instances remembered (for SE-U-ABORTs that name them).
    pub max_completed: usize,
}

impl Default for SeseConfig {
    fn default() -> Self {
        SeseConfig {
            invocation_ids: InvocationIdSet::default(),
            max_active: 16,
            max_completed: 16,
        }
    }
}

/// Which side an APDU comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Local,
    Peer,
}

/// The state of one exchange instance.
#[derive(Debug, Clone)]
struct Instance {
    exchange: Arc<ExchangeDefinition>,
    last_sent: Option<i64>,
    last_received: Option<i64>,
    /// For alternating exchanges, the side that sends the next item.
    next: Side,
}

/// A request the machine refused (nothing was sent, no state changed), or the violation found
/// in a received APDU. [`RequestError::problem`] is the X.832 problem code it corresponds to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The exchange is not registered.
    #[error("security exchange {0} is not registered")]
    UnknownExchange(Identifier),
    /// The item names another exchange than the one its invocation id runs.
    #[error("invocation {invocation_id} runs {running}, not {named}")]
    ExchangeMismatch {
        /// The invocation id.
        invocation_id: InvocationId,
        /// The exchange of the instance.
        running: Identifier,
        /// The exchange the item names.
        named: Identifier,
    },
    /// The exchange defines no such item.
    #[error("exchange {exchange} has no item {item}")]
    UnknownItem {
        /// The exchange.
        exchange: Identifier,
        /// The item identifier.
        item: i64,
    },
    /// The value is not of the item's type.
    #[error("item {item} does not decode as its type: {reason}")]
    MistypedItem {
        /// The item identifier.
        item: i64,
        /// The decoder's message.
        reason: String,
    },
    /// The invocation id is outside the allowed set.
    #[error("invocation id {0} is outside the set allowed in this context")]
    InappropriateInvocationId(InvocationId),
    /// A start on an invocation id already in use.
    #[error("invocation id {0} is already in use")]
    DuplicateInvocationId(InvocationId),
    /// An item without startFlag on an id that names no active exchange.
    #[error("no active exchange with invocation id {0} (startFlag missing?)")]
    NoActiveExchange(InvocationId),
    /// The `max_active` limit.
    #[error("{limit} exchanges are already active")]
    TooManyExchanges {
        /// The configured limit.
        limit: usize,
    },
    /// Two items in a row from one side of an alternating exchange.
    #[error("alternating exchange {0}: not this side's turn")]
    AlternatingSequence(Identifier),
    /// An abort naming no active or just-completed exchange.
    #[error("invocation id {0} names no active or just-completed exchange")]
    UnrecognizedInvocationId(InvocationId),
    /// An abort naming an item the aborting side did not just receive.
    #[error("abort unexpected: {0}")]
    AbortUnexpected(String),
    /// An error code the exchange does not define.
    #[error("exchange {exchange} defines no error {code}")]
    UnrecognizedError {
        /// The exchange.
        exchange: Identifier,
        /// The error code.
        code: Identifier,
    },
    /// An error the named item may not raise.
    #[error("item {item} may not raise error {code}")]
    UnexpectedError {
        /// The item identifier.
        item: i64,
        /// The error code.
        code: Identifier,
    },
    /// An error parameter of the wrong type.
    #[error("mistyped parameter of error {code:?}: {reason}")]
    MistypedErrorParameter {
        /// The error code, if any.
        code: Option<Identifier>,
        /// Why.
        reason: String,
    },
}

impl RequestError {
    /// The X.832 problem code for this violation.
    pub fn problem(&self) -> ProblemCode {
        use AbortProblem as A;
        use TransferProblem as T;
        match self {
            RequestError::UnknownExchange(_) | RequestError::ExchangeMismatch { .. } => {
                ProblemCode::Transfer(T::UnrecognizedSecurityExchange)
            }
            RequestError::UnknownItem { .. } | RequestError::MistypedItem { .. } => {
                ProblemCode::Transfer(T::MistypedItem)
            }
            RequestError::InappropriateInvocationId(_)
            | RequestError::NoActiveExchange(_)
            | RequestError::TooManyExchanges { .. } => {
                ProblemCode::Transfer(T::InappropriateInvocationId)
            }
            RequestError::DuplicateInvocationId(_) => {
                ProblemCode::Transfer(T::DuplicateInvocationId)
            }
            RequestError::AlternatingSequence(_) => {
                ProblemCode::Transfer(T::AlternatingSequenceError)
            }
            RequestError::UnrecognizedInvocationId(_) => {
                ProblemCode::Abort(A::UnrecognizedInvocationId)
            }
            RequestError::AbortUnexpected(_) => ProblemCode::Abort(A::AbortUnexpected),
            RequestError::UnrecognizedError { .. } => ProblemCode::Abort(A::UnrecognizedError),
            RequestError::UnexpectedError { .. } => ProblemCode::Abort(A::UnexpectedError),
            RequestError::MistypedErrorParameter { .. } => {
                ProblemCode::Abort(A::MistypedErrorParameter)
            }
        }
    }
}

/// An APDU to send to the peer: the value and its canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingApdu {
    /// The APDU.
    pub apdu: SeseApdu,
    /// Its canonical encoding (one PDV of the SESE presentation context).
    pub bytes: Vec<u8>,
}

impl OutgoingApdu {
    pub(crate) fn new(apdu: SeseApdu) -> Self {
        let bytes = apdu.encode();
        OutgoingApdu { apdu, bytes }
    }
}

/// Who detected the problem an SE-P-ABORT reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortSource {
    /// The peer's provider (an se-p-abort was received).
    Peer,
    /// This machine (it sent the se-p-abort in [`Received::reply`]).
    Local,
}

/// The SE-P-ABORT indication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PAbortIndication {
    /// The invocation id of the instance that ended, if any.
    pub invocation_id: Option<InvocationId>,
    /// The item the abort answers, if any.
    pub item_identifier: Option<i64>,
    /// The problem.
    pub problem: ProblemCode,
    /// Which provider detected it.
    pub source: AbortSource,
    /// For a local detection, what exactly was wrong.
    pub reason: Option<String>,
}

/// An indication to the SESE user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indication {
    /// SE-TRANSFER indication (its item already checked against its registered type).
    Transfer(SeTransfer),
    /// SE-U-ABORT indication.
    UAbort(SeUAbort),
    /// SE-P-ABORT indication.
    PAbort(PAbortIndication),
}

/// What receiving one APDU produced: always one indication, and an se-p-abort to send when
/// the APDU broke a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The indication.
    pub indication: Indication,
    /// The se-p-abort to send to the peer, if a violation was detected.
    pub reply: Option<OutgoingApdu>,
}

/// What receiving one APDU produced, for the endpoint.
pub(crate) struct Receipt {
    /// The indication and the reply.
    pub(crate) received: Received,
    /// The value an SE-TRANSFER's item decoded to, when its type check decodes.
    pub(crate) decoded: Option<DecodedItem>,
    /// For an SE-P-ABORT indication, the exchange the aborted APDU belonged to, when this
    /// machine knows it (see [`SeseMachine::transfer_exchange`]; an APDU that names nothing
    /// is taken for the only active instance's, never guessed among several).
    pub(crate) exchange: Option<Identifier>,
}

/// The SESE protocol machine of one association (sans IO, no clocks).
#[derive(Debug, Clone)]
pub struct SeseMachine {
    registry: Arc<Registry>,
    config: SeseConfig,
    active: BTreeMap<InvocationId, Instance>,
    completed: VecDeque<(InvocationId, Instance)>,
}

impl SeseMachine {
    /// A machine for the exchanges of `registry`.
    pub fn new(registry: Arc<Registry>, config: SeseConfig) -> Self {
        SeseMachine {
            registry,
            config,
            active: BTreeMap::new(),
            completed: VecDeque::new(),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The configuration.
    pub fn config(&self) -> &SeseConfig {
        &self.config
    }

    /// The active instances: invocation id and exchange.
    pub fn active(&self) -> Vec<(InvocationId, Identifier)> {
        self.active
            .iter()
            .map(|(id, i)| (*id, i.exchange.identifier.clone()))
            .collect()
    }

    /// The just-completed instances, oldest first.
    pub fn just_completed(&self) -> Vec<(InvocationId, Identifier)> {
        self.completed
            .iter()
            .map(|(id, i)| (*id, i.exchange.identifier.clone()))
            .collect()
    }

    /// Whether `id` names an active instance whose next item (alternating) may come from this
    /// side.
    pub fn may_send(&self, id: InvocationId) -> bool {
        self.active.get(&id).is_some_and(|i| {
            i.exchange.sequencing == Sequencing::Arbitrary || i.next == Side::Local
        })
    }

    /// SE-TRANSFER request: checks the rules, updates the state and returns the APDU.
    pub fn transfer_request(&mut self, t: SeTransfer) -> Result<OutgoingApdu, RequestError> {
        let (def, _) = self.check_transfer(&t, Side::Local, false)?;
        self.apply_transfer(&t, def, Side::Local);
        Ok(OutgoingApdu::new(SeseApdu::Transfer(t)))
    }

    /// SE-U-ABORT request: checks the rules, ends the instance and returns the APDU.
    pub fn u_abort_request(&mut self, a: SeUAbort) -> Result<OutgoingApdu, RequestError> {
        self.check_u_abort(&a, Side::Local)?;
        self.end(a.invocation_id);
        Ok(OutgoingApdu::new(SeseApdu::UAbort(a)))
    }

    /// Receives one APDU (the value of one PDV of the SESE context).
    pub fn receive(&mut self, bytes: &[u8]) -> Received {
        self.receive_decoding(bytes).received
    }

    /// [`SeseMachine::receive`], also giving the value an SE-TRANSFER's item decoded to when
    /// its type check decodes ([`crate::ItemDef::decoded`]) and the exchange an SE-P-ABORT
    /// concerns.
    pub(crate) fn receive_decoding(&mut self, bytes: &[u8]) -> Receipt {
        match SeseApdu::decode(bytes) {
            Ok(a) => self.receive_apdu(a),
            Err(e) => {
                // The APDU names nothing: it can only be the only running exchange's.
                let exchange = self.only_active();
                Receipt {
                    received: self.violation(
                        None,
                        None,
                        ProblemCode::General(GeneralProblem::InvalidApdu),
                        e.to_string(),
                    ),
                    decoded: None,
                    exchange,
                }
            }
        }
    }

    /// [`SeseMachine::receive_decoding`] for an APDU the caller already decoded.
    pub(crate) fn receive_apdu(&mut self, apdu: SeseApdu) -> Receipt {
        let mut decoded = None;
        let mut exchange = None;
        let received = match apdu {
            SeseApdu::Transfer(t) => match self.check_transfer(&t, Side::Peer, true) {
                Ok((def, value)) => {
                    decoded = value;
                    self.apply_transfer(&t, def, Side::Peer);
                    Received {
                        indication: Indication::Transfer(t),
                        reply: None,
                    }
                }
                Err(err) => {
                    let item = self
                        .registry
                        .get(&t.se_identifier)
                        .and_then(|d| d.item_def(t.item_identifier))
                        .map(|i| i.id);
                    let item = match err {
                        RequestError::UnknownExchange(_)
                        | RequestError::ExchangeMismatch { .. } => None,
                        _ => item,
                    };
                    exchange = self.transfer_exchange(&t);
                    let id = self.names_instance(t.invocation_id);
                    self.violation(id, item, err.problem(), err.to_string())
                }
            },
            SeseApdu::UAbort(a) => match self.check_u_abort(&a, Side::Peer) {
                Ok(()) => {
                    self.end(a.invocation_id);
                    Received {
                        indication: Indication::UAbort(a),
                        reply: None,
                    }
                }
                Err(err) => {
                    let id = self.names_instance(a.invocation_id);
                    exchange = id.and_then(|id| self.instance_exchange(id));
                    self.violation(id, None, err.problem(), err.to_string())
                }
            },
            SeseApdu::PAbort(p) => {
                exchange = match p.invocation_id {
                    Some(id) => self.instance_exchange(id),
                    None => self.only_active(),
                };
                if let Some(id) = p.invocation_id {
                    self.end(id);
                }
                Received {
                    indication: Indication::PAbort(PAbortIndication {
                        invocation_id: p.invocation_id,
                        item_identifier: p.item_identifier,
                        problem: p.problem,
                        source: AbortSource::Peer,
                        reason: None,
                    }),
                    reply: None,
                }
            }
        };
        Receipt {
            received,
            decoded,
            exchange,
        }
    }

    /// The exchange of the active or just-completed instance `id`.
    fn instance_exchange(&self, id: InvocationId) -> Option<Identifier> {
        self.active
            .get(&id)
            .or_else(|| {
                self.completed
                    .iter()
                    .find(|(c, _)| *c == id)
                    .map(|(_, i)| i)
            })
            .map(|i| i.exchange.identifier.clone())
    }

    /// The exchange of the only active instance, when exactly one runs.
    fn only_active(&self) -> Option<Identifier> {
        let mut active = self.active.values();
        match (active.next(), active.next()) {
            (Some(i), None) => Some(i.exchange.identifier.clone()),
            _ => None,
        }
    }

    /// The exchange a refused SE-TRANSFER belonged to, when this machine knows it: for an
    /// item without startFlag, the active instance its invocation id names; otherwise (a
    /// start, or no such instance) the exchange it names, when registered.
    fn transfer_exchange(&self, t: &SeTransfer) -> Option<Identifier> {
        let running = (!t.start)
            .then(|| self.active.get(&t.invocation_id))
            .flatten()
            .map(|i| i.exchange.identifier.clone());
        running.or_else(|| {
            self.registry
                .get(&t.se_identifier)
                .map(|d| d.identifier.clone())
        })
    }

    /// `Some(id)` when `id` is allowed and names an active or just-completed instance.
    fn names_instance(&self, id: InvocationId) -> Option<InvocationId> {
        let known = self.active.contains_key(&id) || self.completed.iter().any(|(c, _)| *c == id);
        (self.config.invocation_ids.contains(id) && known).then_some(id)
    }

    fn violation(
        &mut self,
        invocation_id: Option<InvocationId>,
        item_identifier: Option<i64>,
        problem: ProblemCode,
        reason: String,
    ) -> Received {
        if let Some(id) = invocation_id {
            self.end(id);
        }
        let apdu = SeseApdu::PAbort(SePAbort {
            invocation_id,
            item_identifier,
            problem,
        });
        Received {
            indication: Indication::PAbort(PAbortIndication {
                invocation_id,
                item_identifier,
                problem,
                source: AbortSource::Local,
                reason: Some(reason),
            }),
            reply: Some(OutgoingApdu::new(apdu)),
        }
    }

    /// Forgets the instance `id` (active or just completed).
    fn end(&mut self, id: InvocationId) {
        self.active.remove(&id);
        self.completed.retain(|(c, _)| *c != id);
    }

    /// Checks an SE-TRANSFER; with `keep`, also returns the value the item decoded to when
    /// its type check decodes.
    fn check_transfer(
        &self,
        t: &SeTransfer,
        side: Side,
        keep: bool,
    ) -> Result<(Arc<ExchangeDefinition>, Option<DecodedItem>), RequestError> {
        let id = t.invocation_id;
        if !self.config.invocation_ids.contains(id) {
            return Err(RequestError::InappropriateInvocationId(id));
        }
        let def = if t.start {
            if self.active.contains_key(&id) {
                return Err(RequestError::DuplicateInvocationId(id));
            }
            let def = self
                .registry
                .get(&t.se_identifier)
                .ok_or_else(|| RequestError::UnknownExchange(t.se_identifier.clone()))?;
            if self.active.len() >= self.config.max_active {
                return Err(RequestError::TooManyExchanges {
                    limit: self.config.max_active,
                });
            }
            def.clone()
        } else {
            let inst = self
                .active
                .get(&id)
                .ok_or(RequestError::NoActiveExchange(id))?;
            if inst.exchange.identifier != t.se_identifier {
                return Err(RequestError::ExchangeMismatch {
                    invocation_id: id,
                    running: inst.exchange.identifier.clone(),
                    named: t.se_identifier.clone(),
                });
            }
            if inst.exchange.sequencing == Sequencing::Alternating && inst.next != side {
                return Err(RequestError::AlternatingSequence(
                    inst.exchange.identifier.clone(),
                ));
            }
            inst.exchange.clone()
        };
        let item = def
            .item_def(t.item_identifier)
            .ok_or_else(|| RequestError::UnknownItem {
                exchange: def.identifier.clone(),
                item: t.item_identifier,
            })?;
        let decoded = item
            .check(&t.item, keep)
            .map_err(|e| RequestError::MistypedItem {
                item: t.item_identifier,
                reason: e.to_string(),
            })?;
        Ok((def, decoded))
    }

    fn apply_transfer(&mut self, t: &SeTransfer, def: Arc<ExchangeDefinition>, side: Side) {
        let id = t.invocation_id;
        if t.start {
            self.completed.retain(|(c, _)| *c != id);
            self.active.insert(
                id,
                Instance {
                    exchange: def,
                    last_sent: None,
                    last_received: None,
                    next: side,
                },
            );
        }
        let Some(inst) = self.active.get_mut(&id) else {
            return;
        };
        match side {
            Side::Local => {
                inst.last_sent = Some(t.item_identifier);
                inst.next = Side::Peer;
            }
            Side::Peer => {
                inst.last_received = Some(t.item_identifier);
                inst.next = Side::Local;
            }
        }
        if t.end {
            if let Some(inst) = self.active.remove(&id) {
                self.completed.push_back((id, inst));
            }
            while self.completed.len() > self.config.max_completed {
                self.completed.pop_front();
            }
        }
    }

    fn check_u_abort(&self, a: &SeUAbort, side: Side) -> Result<(), RequestError> {
        let id = a.invocation_id;
        let inst = self
            .config
            .invocation_ids
            .contains(id)
            .then(|| {
                self.active.get(&id).or_else(|| {
                    self.completed
                        .iter()
                        .find(|(c, _)| *c == id)
                        .map(|(_, i)| i)
                })
            })
            .flatten()
            .ok_or(RequestError::UnrecognizedInvocationId(id))?;
        let def = &inst.exchange;
        if let Some(item) = a.item_identifier {
            // The aborting side answers the last item it received.
            let answered = match side {
                Side::Local => inst.last_received,
                Side::Peer => inst.last_sent,
            };
            if answered != Some(item) {
                return Err(RequestError::AbortUnexpected(format!(
                    "the abort names item {item}, the last item the aborting side received is {}",
                    answered.map_or_else(|| "none".to_string(), |i| i.to_string())
                )));
            }
        }
        for e in a.errors.iter().flatten() {
            let Some(code) = &e.code else {
                if e.parameter.is_some() {
                    return Err(RequestError::MistypedErrorParameter {
                        code: None,
                        reason: "a parameter without an error code cannot be typed".into(),
                    });
                }
                continue;
            };
            let edef = def
                .error_def(code)
                .ok_or_else(|| RequestError::UnrecognizedError {
                    exchange: def.identifier.clone(),
                    code: code.clone(),
                })?;
            if let Some(item) = a.item_identifier {
                let allowed = def
                    .item_def(item)
                    .is_some_and(|i| i.errors.iter().any(|x| &x.code == code));
                if !allowed {
                    return Err(RequestError::UnexpectedError {
                        item,
                        code: code.clone(),
                    });
                }
            }
            edef.check_parameter(e.parameter.as_deref())
                .map_err(|reason| RequestError::MistypedErrorParameter {
                    code: Some(code.clone()),
                    reason,
                })?;
        }
        Ok(())
    }
}
