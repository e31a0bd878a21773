//! Security exchanges as data (X.830 SECURITY-EXCHANGE / SEC-EXCHG-ITEM / SE-ERROR) and the
//! registry that makes up a SESE abstract syntax.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use guls_ber::{DecodeResult, Oid};

use crate::apdu::{Identifier, SeError, SeTransfer};

/// A Rust type standing for the ASN.1 type of an item (`&ItemType`) or of an error parameter
/// (`&ParameterType`), with its BER codec. Values travel as one complete TLV.
pub trait ItemType: Sized {
    /// Decodes one complete TLV (the whole input; trailing octets are an error).
    fn decode(tlv: &[u8]) -> DecodeResult<Self>;
    /// Encodes the value as one complete TLV.
    fn encode(&self) -> Vec<u8>;

    /// Checks that `tlv` is a value of the type: `Ok` exactly when [`ItemType::decode`]
    /// succeeds, with the same error otherwise. The default decodes and drops the value; a
    /// type may check without building it (the machine validates every item sent).
    fn validate(tlv: &[u8]) -> DecodeResult<()> {
        Self::decode(tlv).map(|_| ())
    }
}

/// A validating function: `Ok` when the TLV is a value of the registered type.
pub type Validator = Arc<dyn Fn(&[u8]) -> DecodeResult<()> + Send + Sync>;

/// A decoding function: the value the TLV decodes to (a validation that keeps its result).
type Decoder = Arc<dyn Fn(&[u8]) -> DecodeResult<DecodedItem> + Send + Sync>;

fn validator<T: ItemType>() -> Validator {
    Arc::new(|b: &[u8]| T::validate(b))
}

/// The value a received item decoded to when the SESE machine checked its type (items
/// registered with [`ItemDef::decoded`]), handed to [`ExchangeRole::on_decoded_item`] so that
/// the role does not decode the same octets again.
pub struct DecodedItem(Box<dyn std::any::Any + Send>);

impl DecodedItem {
    /// The value, when it is a `T`.
    pub fn downcast<T: 'static>(self) -> Option<T> {
        self.0.downcast::<T>().ok().map(|b| *b)
    }
}

impl fmt::Debug for DecodedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecodedItem")
    }
}

/// One item carried by the machine and handed to role machines: its identifier and value TLV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// `&itemId`.
    pub id: i64,
    /// The value, one complete TLV.
    pub value: Vec<u8>,
}

impl Item {
    /// An item from a typed value.
    pub fn new<T: ItemType>(id: i64, value: &T) -> Self {
        Item {
            id,
            value: value.encode(),
        }
    }

    /// The value decoded as `T`.
    pub fn decode<T: ItemType>(&self) -> DecodeResult<T> {
        T::decode(&self.value)
    }

    /// The value as `T`: the one the machine `decoded` when it checked the item's type
    /// ([`ItemDef::decoded`], given to [`ExchangeRole::on_decoded_item`]), else decoded here.
    pub fn decode_with<T: ItemType + 'static>(
        &self,
        decoded: Option<DecodedItem>,
    ) -> DecodeResult<T> {
        match decoded.and_then(DecodedItem::downcast::<T>) {
            Some(v) => Ok(v),
            None => self.decode(),
        }
    }
}

/// An SE-ERROR: an error code and, optionally, the type of its parameter.
#[derive(Clone)]
pub struct ErrorDef {
    /// `&errorCode`.
    pub code: Identifier,
    /// A name for logs.
    pub name: &'static str,
    /// `&ParameterType` as a validator; `None` when the error has no parameter.
    pub parameter: Option<Validator>,
}

impl ErrorDef {
    /// An error without a parameter.
    pub fn new(code: Identifier, name: &'static str) -> Self {
        ErrorDef {
            code,
            name,
            parameter: None,
        }
    }

    /// The same error with a parameter of type `P`.
    pub fn with_parameter<P: ItemType>(mut self) -> Self {
        self.parameter = Some(validator::<P>());
        self
    }

    /// Checks a signalled parameter: a present parameter must decode as the parameter type (an
    /// error without a parameter type takes none); an absent one is accepted (the field is
    /// OPTIONAL in SEerror).
    pub fn check_parameter(&self, parameter: Option<&[u8]>) -> Result<(), String> {
        match (parameter, &self.parameter) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(format!("error {} takes no parameter", self.name)),
            (Some(p), Some(v)) => v(p).map_err(|e| e.to_string()),
        }
    }
}

impl fmt::Debug for ErrorDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorDef")
            .field("code", &self.code)
            .field("name", &self.name)
            .field("has_parameter", &self.parameter.is_some())
            .finish()
    }
}

/// A SEC-EXCHG-ITEM: item identifier, item type and the errors the item may raise.
#[derive(Clone)]
pub struct ItemDef {
    /// `&itemId`.
    pub id: i64,
    /// A name for logs.
    pub name: &'static str,
    /// `&ItemType` as a validator.
    pub validate: Validator,
    /// `&Errors`: the errors a receiver of this item may signal.
    pub errors: Vec<ErrorDef>,
    /// The same type check keeping the decoded value ([`ItemDef::decoded`]).
    decode: Option<Decoder>,
}

impl ItemDef {
    /// An item of type `T`.
    pub fn new<T: ItemType>(id: i64, name: &'static str) -> Self {
        ItemDef {
            id,
            name,
            validate: validator::<T>(),
            errors: Vec::new(),
            decode: None,
        }
    }

    /// An item of type `T` whose received values are handed to the role decoded
    /// ([`ExchangeRole::on_decoded_item`]): the machine's type check of a received value is
    /// the decoding, done once (a [`ItemDef::validate`] replaced afterwards is used for sent
    /// values only).
    pub fn decoded<T: ItemType + Send + 'static>(id: i64, name: &'static str) -> Self {
        ItemDef {
            decode: Some(Arc::new(|b: &[u8]| {
                T::decode(b).map(|v| DecodedItem(Box::new(v)))
            })),
            ..ItemDef::new::<T>(id, name)
        }
    }

    /// Checks that `value` is of the item's type; for an item registered with
    /// [`ItemDef::decoded`] and `keep`, returns the decoded value.
    pub(crate) fn check(&self, value: &[u8], keep: bool) -> DecodeResult<Option<DecodedItem>> {
        match (&self.decode, keep) {
            (Some(d), true) => d(value).map(Some),
            _ => (self.validate)(value).map(|()| None),
        }
    }

    /// An item typed by a validating function.
    pub fn with_validator(
        id: i64,
        name: &'static str,
        validate: impl Fn(&[u8]) -> DecodeResult<()> + Send + Sync + 'static,
    ) -> Self {
        ItemDef {
            id,
            name,
            validate: Arc::new(validate),
            errors: Vec::new(),
            decode: None,
        }
    }

    /// The same item, which may raise `error`.
    pub fn error(mut self, error: ErrorDef) -> Self {
        self.errors.push(error);
        self
    }
}

impl fmt::Debug for ItemDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemDef")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("errors", &self.errors)
            .finish()
    }
}

/// How the items of an exchange may flow (X.830 clause 6; a property each exchange states in
/// prose, since the SECURITY-EXCHANGE class has no field for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequencing {
    /// One item at a time, directions alternating, starting with the initiator.
    Alternating,
    /// Items in both directions in any order.
    Arbitrary,
}

/// What a finished exchange established.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The peer's identity, when the exchange authenticated it.
    pub peer_identity: Option<String>,
    /// The exchange agreed on, for a negotiation exchange.
    pub negotiated: Option<Oid>,
    /// Further exchange-specific facts for audit (never secrets).
    pub details: BTreeMap<String, String>,
}

impl Outcome {
    /// An outcome that authenticated the peer as `identity`.
    pub fn authenticated(identity: impl Into<String>) -> Self {
        Outcome {
            peer_identity: Some(identity.into()),
            ..Outcome::default()
        }
    }
}

/// What a role machine does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this item; the exchange continues.
    Send(Item),
    /// Send this item with endFlag TRUE; the exchange is complete on this side.
    SendLast(Item, Outcome),
    /// The peer's item was the last one; the exchange is complete.
    Done(Outcome),
    /// Reject: send an SE-U-ABORT carrying these errors (each one the item may raise).
    Fail(Vec<SeError>),
}

/// The logic of one side of an exchange: the only code a new exchange writes. The SESE machine
/// has already checked flags, invocation ids, ordering and the item's type before `on_item`.
pub trait ExchangeRole: Send {
    /// The initiator's first item ([`Step::Send`] or [`Step::SendLast`]). Responder roles keep
    /// the default, which fails.
    fn start(&mut self) -> Step {
        Step::Fail(Vec::new())
    }

    /// Consumes an item from the peer and says what to do next.
    fn on_item(&mut self, item: &Item) -> Step;

    /// [`ExchangeRole::on_item`] with the value the item decoded to when the machine checked
    /// its type (items registered with [`ItemDef::decoded`]; `None` otherwise). The default
    /// ignores it; a role overriding this must decide exactly as `on_item` would.
    fn on_decoded_item(&mut self, item: &Item, decoded: Option<DecodedItem>) -> Step {
        let _ = decoded;
        self.on_item(item)
    }

    /// Sees the SE-TRANSFER that carries the peer's item as it was received (its start and
    /// end flags, invocation id, item identifier and value), just before the item is given
    /// to [`ExchangeRole::on_decoded_item`]. The default does nothing: a role decides on the
    /// item alone, the machine having checked the flags. A role wrapping another (an audit
    /// tap, for instance) may record the APDU here, and should forward the call to the
    /// wrapped role.
    fn transfer_received(&mut self, transfer: &SeTransfer) {
        let _ = transfer;
    }

    /// Sees an SE-TRANSFER carrying this role's item as it goes to the peer: called once the
    /// machine accepted the item [`ExchangeRole::start`] or [`ExchangeRole::on_decoded_item`]
    /// returned, with the flags and invocation id it is sent with (an item the endpoint did
    /// not send, because the machine refused it or the peer had already ended the exchange,
    /// is not shown). The default does nothing; wrappers should forward it as
    /// [`ExchangeRole::transfer_received`].
    fn transfer_sent(&mut self, transfer: &SeTransfer) {
        let _ = transfer;
    }
}

/// A factory for role machines (each exchange instance gets a fresh one).
pub type RoleFactory = Arc<dyn Fn() -> Box<dyn ExchangeRole> + Send + Sync>;

/// A SECURITY-EXCHANGE: identifier, items (with their errors), sequencing, and optionally the
/// two role machines.
#[derive(Clone)]
pub struct ExchangeDefinition {
    /// `&sE-Identifier`.
    pub identifier: Identifier,
    /// A name for logs.
    pub name: &'static str,
    /// Alternating or arbitrary.
    pub sequencing: Sequencing,
    /// `&SE-Items`.
    pub items: Vec<ItemDef>,
    initiator: Option<RoleFactory>,
    responder: Option<RoleFactory>,
}

impl ExchangeDefinition {
    /// An exchange without items yet.
    pub fn new(identifier: Identifier, name: &'static str, sequencing: Sequencing) -> Self {
        ExchangeDefinition {
            identifier,
            name,
            sequencing,
            items: Vec::new(),
            initiator: None,
            responder: None,
        }
    }

    /// The same exchange with one more item.
    pub fn item(mut self, item: ItemDef) -> Self {
        self.items.push(item);
        self
    }

    /// The same exchange with its role machines.
    pub fn roles(
        mut self,
        initiator: impl Fn() -> Box<dyn ExchangeRole> + Send + Sync + 'static,
        responder: impl Fn() -> Box<dyn ExchangeRole> + Send + Sync + 'static,
    ) -> Self {
        self.initiator = Some(Arc::new(initiator));
        self.responder = Some(Arc::new(responder));
        self
    }

    /// The item with identifier `id`.
    pub fn item_def(&self, id: i64) -> Option<&ItemDef> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The error with code `code` among all items' errors (`Errors{{ValidSEs}}` of this
    /// exchange).
    pub fn error_def(&self, code: &Identifier) -> Option<&ErrorDef> {
        self.items
            .iter()
            .flat_map(|i| i.errors.iter())
            .find(|e| &e.code == code)
    }

    /// A fresh initiator role machine, if the definition has roles.
    pub fn new_initiator(&self) -> Option<Box<dyn ExchangeRole>> {
        self.initiator.as_ref().map(|f| f())
    }

    /// A fresh responder role machine, if the definition has roles.
    pub fn new_responder(&self) -> Option<Box<dyn ExchangeRole>> {
        self.responder.as_ref().map(|f| f())
    }
}

impl fmt::Debug for ExchangeDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeDefinition")
            .field("identifier", &self.identifier)
            .field("name", &self.name)
            .field("sequencing", &self.sequencing)
            .field("items", &self.items)
            .field("has_roles", &self.initiator.is_some())
            .finish()
    }
}

/// Why a definition was not registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// An exchange with this identifier is already registered (`&sE-Identifier` is UNIQUE).
    #[error("exchange {0} is already registered")]
    DuplicateExchange(Identifier),
    /// Two items of the exchange share an identifier.
    #[error("exchange {exchange}: item {item} defined twice")]
    DuplicateItem {
        /// The exchange.
        exchange: Identifier,
        /// The item identifier.
        item: i64,
    },
    /// One error code with two different definitions (`&errorCode` is UNIQUE).
    #[error("exchange {exchange}: error {code} defined twice differently")]
    DuplicateError {
        /// The exchange.
        exchange: Identifier,
        /// The error code.
        code: Identifier,
    },
    /// An exchange without items.
    #[error("exchange {0} has no items")]
    NoItems(Identifier),
}

/// The exchanges of a build: `ValidSEs` of the SESE abstract syntax.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    exchanges: BTreeMap<Identifier, Arc<ExchangeDefinition>>,
}

/// ARC.1.1: the SESE abstract syntax of this project (ARCHITECTURE.md section 4).
const SESE_ABSTRACT_SYNTAX_BYTES: &[u8] = &[
    0x69, 0xB6, 0xC3, 0xA4, 0xF8, 0xE2, 0xCE, 0x9A, 0xA0, 0xB9, 0xA4, 0xC4, 0x9B, 0xAC, 0xAD, 0xAF,
    0xE0, 0xC2, 0x68, 0x01, 0x01,
];

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The SESE abstract syntax name, ARC.1.1 = 2.25.36238538382872986225690784931241271656.1.1
    /// (`SESEapdus{{ValidSEs}, {InvocationIdSet}}` with the exchanges registered in the build).
    pub fn abstract_syntax() -> Oid {
        Oid::from_static(SESE_ABSTRACT_SYNTAX_BYTES)
    }

    /// Registers an exchange, checking that identifiers are unique.
    pub fn register(&mut self, def: ExchangeDefinition) -> Result<(), RegistryError> {
        if self.exchanges.contains_key(&def.identifier) {
            return Err(RegistryError::DuplicateExchange(def.identifier));
        }
        if def.items.is_empty() {
            return Err(RegistryError::NoItems(def.identifier));
        }
        let mut codes: BTreeMap<&Identifier, bool> = BTreeMap::new();
        for (n, item) in def.items.iter().enumerate() {
            if def.items[..n].iter().any(|i| i.id == item.id) {
                return Err(RegistryError::DuplicateItem {
                    exchange: def.identifier.clone(),
                    item: item.id,
                });
            }
            for e in &item.errors {
                let has_param = e.parameter.is_some();
                if codes
                    .insert(&e.code, has_param)
                    .is_some_and(|prev| prev != has_param)
                {
                    return Err(RegistryError::DuplicateError {
                        exchange: def.identifier.clone(),
                        code: e.code.clone(),
                    });
                }
            }
        }
        self.exchanges.insert(def.identifier.clone(), Arc::new(def));
        Ok(())
    }

    /// The same registry with `def` registered.
    pub fn with(mut self, def: ExchangeDefinition) -> Result<Self, RegistryError> {
        self.register(def)?;
        Ok(self)
    }

    /// The definition of an exchange.
    pub fn get(&self, id: &Identifier) -> Option<&Arc<ExchangeDefinition>> {
        self.exchanges.get(id)
    }

    /// The registered identifiers, in order.
    pub fn identifiers(&self) -> impl Iterator<Item = &Identifier> {
        self.exchanges.keys()
    }

    /// The registered global identifiers (what a negotiation may offer or accept).
    pub fn global_identifiers(&self) -> Vec<Oid> {
        self.exchanges
            .keys()
            .filter_map(|i| i.as_global().cloned())
            .collect()
    }
}
