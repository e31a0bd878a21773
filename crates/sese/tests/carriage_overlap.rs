//! The carriage initiator starts its exchange while the transport connection is being set up:
//! what needs no network (a local identifier as mechanism name, an exchange that is not
//! registered or has no role machines) fails before any TCP connection; the role's first step
//! (its crypto, for the certificate exchanges) runs after the transport CR is written and
//! before the CC is read; the AARQ on the wire is still the one
//! [`SecureInitiator::associate_request`] shows; and a role that cannot start closes the
//! connection after the CR.
//!
//! The raw peers are plain threads with blocking sockets, so that a role may block while it
//! waits for them.

#[path = "../../association/tests/common/raw_peer.rs"]
mod raw_peer;
use raw_peer::{Cc, STEP, raw_peer};
mod common_carriage;
#[allow(dead_code)]
#[path = "../examples/hmac_challenge.rs"]
mod hmac_challenge;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common_carriage::*;
use guls_association::{AssociateParams, AssociationError};
use guls_sese::{
    CarriageConfig, CarriageError, Carrier, ExchangeDefinition, ExchangeRole, Identifier,
    InitiateError, Item, ItemDef, OctetString, Registry, SecureInitiator, Sequencing, Step,
};
use tokio::time::timeout;

fn oid_id(s: &str) -> Identifier {
    Identifier::Global(s.parse().unwrap())
}

/// An initiator role whose first step waits until the raw peer has read the CR (it notes
/// whether it had), then signals `made` and gives item 1, or fails.
struct Gated {
    cr_read: Arc<Mutex<mpsc::Receiver<()>>>,
    made: mpsc::Sender<()>,
    saw_cr: Arc<AtomicBool>,
    fail: bool,
}

impl ExchangeRole for Gated {
    fn start(&mut self) -> Step {
        let read = self.cr_read.lock().unwrap().recv_timeout(STEP).is_ok();
        self.saw_cr.store(read, Ordering::SeqCst);
        let _ = self.made.send(());
        if self.fail {
            Step::Fail(Vec::new())
        } else {
            Step::Send(Item::new(1, &OctetString(vec![1, 2, 3])))
        }
    }

    fn on_item(&mut self, _: &Item) -> Step {
        Step::Fail(Vec::new())
    }
}

struct Idle;

impl ExchangeRole for Idle {
    fn on_item(&mut self, _: &Item) -> Step {
        Step::Fail(Vec::new())
    }
}

const GATED: &str = "1.3.9999.77.1";

/// A registry with the gated exchange; the peer's CR-read signal goes to `cr_read`, the
/// role's "item made" to `made`; `saw_cr` tells whether the role started after the CR.
fn gated_registry(
    cr_read: mpsc::Receiver<()>,
    made: mpsc::Sender<()>,
    fail: bool,
) -> (Arc<Registry>, Arc<AtomicBool>) {
    let saw_cr = Arc::new(AtomicBool::new(false));
    let (cr_read, seen) = (Arc::new(Mutex::new(cr_read)), saw_cr.clone());
    let made = Mutex::new(made);
    let def = ExchangeDefinition::new(oid_id(GATED), "gated", Sequencing::Alternating)
        .item(ItemDef::new::<OctetString>(1, "one"))
        .item(ItemDef::new::<OctetString>(2, "two"))
        .roles(
            move || {
                Box::new(Gated {
                    cr_read: cr_read.clone(),
                    made: made.lock().unwrap().clone(),
                    saw_cr: seen.clone(),
                    fail,
                })
            },
            || Box::new(Idle),
        );
    (Arc::new(Registry::new().with(def).unwrap()), saw_cr)
}

#[tokio::test]
async fn the_first_item_is_made_after_the_cr_and_before_the_cc() {
    let (cr_tx, cr_rx) = mpsc::channel();
    let (made_tx, made_rx) = mpsc::channel();
    let (registry, saw_cr) = gated_registry(cr_rx, made_tx, false);
    let si = SecureInitiator::new(config(), CarriageConfig::new(registry));
    let (addr, peer) = raw_peer(Some(cr_tx), Cc::AfterSignal(made_rx));
    let err = timeout(
        NET,
        si.connect(addr, &oid_id(GATED), AssociateParams::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    let seen = peer.join().unwrap().unwrap();
    assert!(
        saw_cr.load(Ordering::SeqCst),
        "the role started before the CR was written"
    );
    assert!(
        matches!(
            err,
            CarriageError::Association(AssociationError::RejectedByPeerNoAare)
        ),
        "{err:?}"
    );
    // The item went in the AARQ of the CONNECT.
    let cn = seen.cn.expect("a CONNECT");
    let hex: String = guls_ber::to_hex(&cn).split_whitespace().collect();
    assert!(
        hex.contains("8a020480"),
        "no authentication requirement: {hex}"
    );
    assert!(hex.contains("0403010203"), "no item 1: {hex}");
}

#[tokio::test]
async fn the_aarq_on_the_wire_is_the_one_associate_request_shows() {
    let si = SecureInitiator::new(config(), CarriageConfig::new(hmac_registry("alice", KEY)));
    let (addr, peer) = raw_peer(None, Cc::AtOnce);
    let err = timeout(
        NET,
        si.connect(addr, &hmac_id(), AssociateParams::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(
        matches!(
            err,
            CarriageError::Association(AssociationError::RejectedByPeerNoAare)
        ),
        "{err:?}"
    );
    let seen = peer.join().unwrap().unwrap();
    let req = si
        .associate_request(&hmac_id(), AssociateParams::default())
        .unwrap();
    let aarq = guls_acse::Apdu::Aarq(req.to_aarq()).encode();
    let cn = seen.cn.expect("a CONNECT");
    assert!(
        cn.windows(aarq.len()).any(|w| w == aarq.as_slice()),
        "the CONNECT does not carry the AARQ associate_request shows"
    );
}

#[tokio::test]
async fn a_role_that_cannot_start_closes_the_connection_after_the_cr() {
    let (cr_tx, cr_rx) = mpsc::channel();
    let (made_tx, _made_rx) = mpsc::channel();
    let (registry, saw_cr) = gated_registry(cr_rx, made_tx, true);
    let si = SecureInitiator::new(config(), CarriageConfig::new(registry));
    let (addr, peer) = raw_peer(Some(cr_tx), Cc::Never);
    let err = timeout(
        NET,
        si.connect(addr, &oid_id(GATED), AssociateParams::default()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert!(
        matches!(&err, CarriageError::Initiate(InitiateError::NoFirstItem(x)) if *x == oid_id(GATED)),
        "{err:?}"
    );
    assert!(saw_cr.load(Ordering::SeqCst));
    let seen = peer.join().unwrap().unwrap();
    assert_eq!(seen.cr[5], 0xe0, "a CR, got {:02x?}", seen.cr);
    assert!(
        seen.closed,
        "the peer did not see the TCP close after the CR"
    );
}

#[tokio::test]
async fn checks_that_need_no_network_fail_before_any_tcp_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let no_roles =
        ExchangeDefinition::new(oid_id("1.3.9999.77.2"), "roleless", Sequencing::Alternating)
            .item(ItemDef::new::<OctetString>(1, "one"));
    let local = ExchangeDefinition::new(Identifier::Local(9), "local", Sequencing::Alternating)
        .item(ItemDef::new::<OctetString>(1, "one"))
        .roles(|| Box::new(Idle), || Box::new(Idle));
    let registry = Arc::new(Registry::new().with(no_roles).unwrap().with(local).unwrap());
    let si = SecureInitiator::new(config(), CarriageConfig::new(registry.clone()));

    // A local identifier cannot be the mechanism name.
    let err = si
        .connect(addr, &Identifier::Local(9), AssociateParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CarriageError::LocalIdentifier(Identifier::Local(9))),
        "{err:?}"
    );
    // Not registered.
    let err = si
        .connect(addr, &oid_id("1.3.9999.77.3"), AssociateParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CarriageError::Initiate(InitiateError::UnknownExchange(_))
        ),
        "{err:?}"
    );
    // Registered without role machines.
    let err = si
        .connect(addr, &oid_id("1.3.9999.77.2"), AssociateParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CarriageError::Initiate(InitiateError::NoRoles(_))),
        "{err:?}"
    );
    // With user-information carriage the local identifier is no mechanism name: it gets as
    // far as the role (this one cannot start), after a TCP connection.
    let mut carriage = CarriageConfig::new(registry);
    carriage.carrier = Carrier::UserInformation;
    let si = SecureInitiator::new(config(), carriage);
    let (err, accepted) = tokio::join!(
        si.connect(addr, &Identifier::Local(9), AssociateParams::default()),
        timeout(NET, listener.accept())
    );
    assert!(
        matches!(
            err,
            Err(CarriageError::Initiate(InitiateError::NoFirstItem(_)))
        ),
        "{err:?}"
    );
    let (mut s, _) = accepted.expect("the control connection").unwrap();
    // That was the only connection: the three failures above made none.
    assert!(
        timeout(Duration::from_millis(200), listener.accept())
            .await
            .is_err(),
        "a check that needs no network opened a TCP connection"
    );
    let mut all = Vec::new();
    timeout(NET, tokio::io::AsyncReadExt::read_to_end(&mut s, &mut all))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.get(5), Some(&0xe0), "only the CR: {all:02x?}");
}
