//! A new security exchange defined outside guls-sese through its public API alone: three items
//! (identity, challenge, HMAC-SHA-256 response under a pre-shared key), run end to end between
//! two SESE endpoints in memory. `cargo run -p guls-sese --example hmac_challenge`
use std::{collections::VecDeque, sync::Arc};

use guls_sese::{Endpoint, ErrorDef, ExchangeDefinition, ExchangeEvent, ExchangeRole, Identifier};
use guls_sese::{InvocationId, Item, ItemDef, OctetString, Outcome, Registry, SeError};
use guls_sese::{Sequencing, SeseConfig, Step, Utf8String};
use ring::{hmac, rand::SecureRandom, rand::SystemRandom};

/// An experimental identifier under the project's arc (ARC.9.1), for illustration only.
pub const EXCHANGE: &str = "2.25.36238538382872986225690784931241271656.9.1";

/// Items: identity, challenge, response (which may raise authenticationFailure, local:1).
pub fn definition(name: &str, key: &[u8]) -> ExchangeDefinition {
    let (n, k) = (name.to_string(), hmac::Key::new(hmac::HMAC_SHA256, key));
    let (n2, k2) = (n.clone(), k.clone());
    let failure = ErrorDef::new(Identifier::Local(1), "authenticationFailure");
    let id = Identifier::Global(EXCHANGE.parse().unwrap());
    ExchangeDefinition::new(id, "hmacChallenge", Sequencing::Alternating)
        .item(ItemDef::new::<Utf8String>(1, "identity"))
        .item(ItemDef::new::<OctetString>(2, "challenge"))
        .item(ItemDef::new::<OctetString>(3, "response").error(failure))
        .roles(
            move || Box::new(Initiator(n.clone(), k.clone())),
            move || Box::new(Responder(n2.clone(), k2.clone(), Vec::new())),
        )
}

struct Initiator(String, hmac::Key);
impl ExchangeRole for Initiator {
    fn start(&mut self) -> Step {
        Step::Send(Item::new(1, &Utf8String(self.0.clone())))
    }
    fn on_item(&mut self, item: &Item) -> Step {
        let Ok(OctetString(nonce)) = item.decode() else {
            return Step::Fail(vec![]);
        };
        let mac = hmac::sign(&self.1, &[&nonce, self.0.as_bytes()].concat());
        let response = Item::new(3, &OctetString(mac.as_ref().to_vec()));
        Step::SendLast(response, Outcome::default())
    }
}

struct Responder(String, hmac::Key, Vec<u8>);
impl ExchangeRole for Responder {
    fn on_item(&mut self, item: &Item) -> Step {
        let fail = Step::Fail(vec![SeError::code(Identifier::Local(1))]);
        if item.id == 1 && item.decode().ok() == Some(Utf8String(self.0.clone())) {
            self.2 = vec![0; 32];
            return match SystemRandom::new().fill(&mut self.2) {
                Ok(()) => Step::Send(Item::new(2, &OctetString(self.2.clone()))),
                Err(_) => fail,
            };
        }
        let expected = [&self.2, self.0.as_bytes()].concat();
        match item.decode::<OctetString>() {
            Ok(OctetString(mac))
                if item.id == 3
                    && !self.2.is_empty()
                    && hmac::verify(&self.1, &expected, &mac).is_ok() =>
            {
                Step::Done(Outcome::authenticated(self.0.clone()))
            }
            _ => fail,
        }
    }
}

/// Runs one exchange between "alice" (client) and a server; returns both sides' events.
pub fn run(client_key: &[u8], server_key: &[u8]) -> (Vec<ExchangeEvent>, Vec<ExchangeEvent>) {
    let registry = |key| Arc::new(Registry::new().with(definition("alice", key)).unwrap());
    let mut client = Endpoint::new(registry(client_key), SeseConfig::default());
    let mut server = Endpoint::new(registry(server_key), SeseConfig::default());
    let id = Identifier::Global(EXCHANGE.parse().unwrap());
    let first = client.initiate(&id, InvocationId::Absent).unwrap();
    let (mut client_events, mut server_events) = (first.events, Vec::new());
    let mut wire: VecDeque<(bool, Vec<u8>)> =
        first.send.into_iter().map(|a| (true, a.bytes)).collect();
    // Carriage hook: the bytes go straight across here; the association layer carries each one
    // in an ACSE authentication value or a P-DATA PDV of the SESE presentation context.
    while let Some((to_server, bytes)) = wire.pop_front() {
        let (endpoint, events) = match to_server {
            true => (&mut server, &mut server_events),
            false => (&mut client, &mut client_events),
        };
        let out = endpoint.receive(&bytes);
        wire.extend(out.send.into_iter().map(|a| (!to_server, a.bytes)));
        events.extend(out.events);
    }
    (client_events, server_events)
}

fn main() {
    let key = b"shared secret";
    let (right, wrong) = (run(key, key).1, run(b"guessed secret", key).1);
    println!("right key: {right:#?}\nwrong key: {wrong:#?}");
}
