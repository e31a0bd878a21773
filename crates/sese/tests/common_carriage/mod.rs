//! Shared helpers of the carriage tests: configurations, the HMAC example exchange, and a
//! responder task that answers one association and records what it saw.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use guls_association::{
    AcceptParams, AssociationConfig, AssociationEvent, DataIndication, ExternalEncoding, Oid,
    Responder,
};
use guls_sese::{
    CarriageConfig, CarriageError, Carrier, Identifier, Indication, Registry, SecureAssociation,
    SecureEvent, SecureResponder, Verdict,
};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::hmac_challenge;

/// Safety net for every await (never a timing assertion).
pub const NET: Duration = Duration::from_secs(20);
/// The shared key of the HMAC exchange.
pub const KEY: &[u8] = b"shared secret";
/// The application context's pcid (the first proposed after ACSE).
pub const APP_PCID: i64 = 3;

pub fn config() -> AssociationConfig {
    let ac = Oid::from_arcs(&[1, 3, 9999, 4, 1]).unwrap();
    let syntax = Oid::from_arcs(&[1, 3, 9999, 4, 2]).unwrap();
    let mut c = AssociationConfig::single(ac, syntax);
    c.timeouts.establishment = Duration::from_secs(10);
    c.timeouts.release = Duration::from_secs(5);
    c
}

pub fn hmac_id() -> Identifier {
    Identifier::Global(hmac_challenge::EXCHANGE.parse().unwrap())
}

pub fn hmac_registry(name: &str, key: &[u8]) -> Arc<Registry> {
    Arc::new(
        Registry::new()
            .with(hmac_challenge::definition(name, key))
            .unwrap(),
    )
}

pub fn single_asn1(e: &ExternalEncoding) -> Vec<u8> {
    match e {
        ExternalEncoding::SingleAsn1Type(v) => v.clone(),
        other => panic!("expected single-ASN1-type, got {other:?}"),
    }
}

/// The next application data value, skipping SESE indications and exchange events.
pub async fn next_data(a: &mut SecureAssociation) -> DataIndication {
    loop {
        match timeout(NET, a.recv()).await.unwrap().unwrap() {
            SecureEvent::Data(d) => return d,
            SecureEvent::Sese(_) | SecureEvent::Exchange(_) => {}
            other => panic!("expected data, got {other:?}"),
        }
    }
}

/// What the responder saw of one association.
#[derive(Debug, Default)]
pub struct ServerLog {
    pub verdict: Option<Verdict>,
    pub carrier: Option<Carrier>,
    pub aarq_indications: Vec<Indication>,
    pub finish_error: Option<String>,
    /// Whether a send before the exchange completed was refused with ExchangePending
    /// (`None` when the association was secured at once or not accepted).
    pub pending_send: Option<bool>,
    pub events: Vec<SecureEvent>,
}

/// Binds a responder and answers one association: examines it, finishes as the verdict
/// says, then echoes application data, answers a release, and records every event until the
/// association ends.
pub async fn serve(carriage: CarriageConfig) -> (SocketAddr, JoinHandle<ServerLog>) {
    let responder = Responder::bind("127.0.0.1:0", SecureResponder::configure(config()))
        .await
        .unwrap();
    let addr = responder.local_addr();
    let sr = SecureResponder::new(carriage);
    let task = tokio::spawn(async move {
        let mut log = ServerLog::default();
        let incoming = timeout(NET, responder.accept()).await.unwrap().unwrap();
        let s = sr.examine(incoming);
        log.verdict = Some(s.verdict().clone());
        log.carrier = s.carrier();
        log.aarq_indications = s.indications().to_vec();
        let mut a = match s.finish(AcceptParams::default()).await {
            Ok(a) => a,
            Err(e) => {
                log.finish_error = Some(e.to_string());
                return log;
            }
        };
        if !a.is_secured() {
            log.pending_send = Some(matches!(
                a.send_asn1(APP_PCID, vec![5, 0]).await,
                Err(CarriageError::ExchangePending)
            ));
        }
        loop {
            let ev = match timeout(NET, a.recv()).await {
                Ok(Ok(ev)) => ev,
                Ok(Err(_)) | Err(_) => break,
            };
            log.events.push(ev.clone());
            match ev {
                SecureEvent::Data(d) => {
                    let _ = a.send(d.pcid, d.value).await;
                }
                SecureEvent::Association(AssociationEvent::ReleaseIndication { .. }) => {
                    let _ = a.release_response(Vec::new()).await;
                }
                SecureEvent::Association(AssociationEvent::Released)
                | SecureEvent::Association(AssociationEvent::AbortIndication { .. })
                | SecureEvent::Association(AssociationEvent::ProviderAbort { .. }) => break,
                _ => {}
            }
        }
        log
    });
    (addr, task)
}
