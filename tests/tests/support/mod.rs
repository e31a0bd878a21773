//! Shared helpers for the live interop and capture tests: the MMS octets our side sends and
//! answers with, a minimal MMS responder loop, and a recording TCP relay.
//!
//! The MMS values are built here from the golden trace (PEERS.md section 6) and ISO 9506-2's
//! PDU layout; nothing here is a general MMS implementation.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use guls_association::{
    AcceptParams, Association, AssociationConfig, AssociationEvent, External, ExternalEncoding,
    PdvValue,
};
use guls_tests::vectors::{GOLDEN_TRACE, MMS_INITIATE_REQUEST, hex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Safety net around every network await (never a timing assertion).
pub const NET: Duration = Duration::from_secs(20);

/// The MMS presentation context identifier of the MMS profile (ACSE is 1).
pub const MMS_PCID: i64 = 3;

/// The MMS identify request of the golden trace: confirmed-RequestPDU, invokeID 1, identify.
pub const IDENTIFY_REQUEST: &str = "a0050201018200";

/// What our responder returns to MMS identify.
pub const OUR_VENDOR: &str = "guls-interop";
/// What our responder returns to MMS identify.
pub const OUR_MODEL: &str = "guls-responder";
/// What our responder returns to MMS identify.
pub const OUR_REVISION: &str = "0.1.0";

/// A multi-thread tokio runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The MMS profile with short establishment/release timers (safety nets for the tests).
pub fn mms_config() -> AssociationConfig {
    let mut c = AssociationConfig::mms();
    c.timeouts.connect = Duration::from_secs(10);
    c.timeouts.establishment = Duration::from_secs(10);
    c.timeouts.release = Duration::from_secs(5);
    c
}

/// The MMS Initiate-Request of the golden trace as AARQ user information (EXTERNAL,
/// indirect-reference 3, single-ASN1-type).
pub fn mms_initiate_request() -> External {
    External::single_asn1(MMS_PCID, hex(MMS_INITIATE_REQUEST))
}

/// The MMS Initiate-Response the golden trace's libiec61850 server sent, taken from the AARE
/// user information of `GOLDEN_TRACE[3]` (the AC) by decoding it layer by layer.
pub fn golden_initiate_response() -> Vec<u8> {
    let (to_server, line) = GOLDEN_TRACE[3];
    assert!(!to_server, "GOLDEN_TRACE[3] is the server's AC");
    let tpkt = hex(line);
    // TPKT (4) + DT TPDU header `02 f0 80` (3).
    assert_eq!(&tpkt[4..7], &[0x02, 0xf0, 0x80], "single DT with EOT");
    let tsdu = &tpkt[7..];
    let decoded = guls_session::decode_tsdu(tsdu).expect("golden AC decodes");
    let Some(guls_session::Spdu::Accept(ac)) = decoded.main_spdu() else {
        panic!("GOLDEN_TRACE[3] is not an AC");
    };
    let cpa = guls_presentation::decode_cpa(ac.user_data.as_ref().expect("AC user data"))
        .expect("golden CPA decodes");
    let ud = cpa.user_data.expect("CPA user data");
    let pdv = &ud.pdv_lists()[0];
    let guls_acse::Apdu::Aare(aare) =
        guls_acse::Apdu::decode(pdv.value_bytes()).expect("golden AARE decodes")
    else {
        panic!("not an AARE");
    };
    assert_eq!(aare.user_information.len(), 1);
    let ext = &aare.user_information[0];
    assert_eq!(ext.indirect_reference, Some(MMS_PCID));
    let ExternalEncoding::SingleAsn1Type(v) = &ext.encoding else {
        panic!("Initiate-Response not single-ASN1-type");
    };
    assert_eq!(v[0], 0xa9, "initiate-ResponsePDU [9]");
    v.clone()
}

/// The AARE user information our responder answers an MMS AARQ with.
pub fn mms_accept_params() -> AcceptParams {
    AcceptParams {
        user_information: vec![External::single_asn1(MMS_PCID, golden_initiate_response())],
        ..AcceptParams::default()
    }
}

/// A BER definite length.
pub fn ber_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x7f => vec![n as u8],
        0x80..=0xff => vec![0x81, n as u8],
        _ => vec![0x82, (n >> 8) as u8, n as u8],
    }
}

/// One TLV with a single-octet identifier.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend(ber_len(content.len()));
    v.extend_from_slice(content);
    v
}

/// Splits one TLV with a single-octet identifier off the front: (tag, content, rest).
pub fn split_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (l0 as usize, rest)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 2 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The localDetailCalling/Called [0] (max PDU size) of an MMS Initiate-Request/Response.
pub fn initiate_max_pdu(v: &[u8]) -> Option<u64> {
    let (tag, body, _) = split_tlv(v)?;
    if tag != 0xa8 && tag != 0xa9 {
        return None;
    }
    let (t, n, _) = split_tlv(body)?;
    (t == 0x80 && n.len() <= 8).then(|| n.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

/// MMS identify response: confirmed-ResponsePDU [1] { invokeID, identify [2] { vendorName [0],
/// modelName [1], revision [2] } }. `invoke_id` is the INTEGER's content octets.
pub fn identify_response(invoke_id: &[u8], vendor: &str, model: &str, revision: &str) -> Vec<u8> {
    let mut ident = tlv(0x80, vendor.as_bytes());
    ident.extend(tlv(0x81, model.as_bytes()));
    ident.extend(tlv(0x82, revision.as_bytes()));
    let mut body = tlv(0x02, invoke_id);
    body.extend(tlv(0xa2, &ident));
    tlv(0xa1, &body)
}

/// MMS confirmed-ErrorPDU [2] { invokeID [0], serviceError [2] { errorClass [0] { service [3]
/// other (0) } } } for a confirmed service this test responder does not implement.
pub fn service_error(invoke_id: &[u8]) -> Vec<u8> {
    let mut body = tlv(0x80, invoke_id);
    body.extend(tlv(0xa2, &tlv(0xa0, &tlv(0x83, &[0]))));
    tlv(0xa2, &body)
}

/// A confirmed-RequestPDU's invokeID content octets and its service's identifier octet.
pub fn parse_confirmed_request(v: &[u8]) -> Option<(Vec<u8>, u8)> {
    let (tag, body, _) = split_tlv(v)?;
    if tag != 0xa0 {
        return None;
    }
    let (itag, invoke, rest) = split_tlv(body)?;
    if itag != 0x02 {
        return None;
    }
    Some((invoke.to_vec(), *rest.first()?))
}

/// An MMS identify response's (invokeID content, vendor, model, revision).
pub fn parse_identify_response(v: &[u8]) -> Option<(Vec<u8>, String, String, String)> {
    let (tag, body, _) = split_tlv(v)?;
    if tag != 0xa1 {
        return None;
    }
    let (itag, invoke, rest) = split_tlv(body)?;
    let (stag, ident, _) = split_tlv(rest)?;
    if itag != 0x02 || stag != 0xa2 {
        return None;
    }
    let (t0, vendor, rest) = split_tlv(ident)?;
    let (t1, model, rest) = split_tlv(rest)?;
    let (t2, revision, _) = split_tlv(rest)?;
    if (t0, t1, t2) != (0x80, 0x81, 0x82) {
        return None;
    }
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Some((invoke.to_vec(), s(vendor), s(model), s(revision)))
}

/// The single-ASN1-type octets of a PDV value (None for other encodings).
pub fn asn1_octets(v: &PdvValue) -> Option<&[u8]> {
    match v {
        PdvValue::SingleAsn1Type(b) => Some(b),
        _ => None,
    }
}

/// What [`serve_mms`] saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServeLog {
    /// The first octet of every MMS PDU received (`a0` confirmed request, `8b` conclude...).
    pub pdus: Vec<u8>,
    /// Service identifiers of the confirmed requests (`82` identify, ...).
    pub services: Vec<u8>,
    /// How the association ended: `released`, `abort`, `provider-abort: ...`, `closed`,
    /// `timeout`.
    pub end: String,
}

/// Answers MMS on an accepted association until it ends: identify with our identity,
/// conclude-request with conclude-response, other confirmed requests with a service error;
/// answers a release indication affirmatively. Bounded by `limit`.
pub async fn serve_mms(assoc: &mut Association, limit: Duration) -> ServeLog {
    let mut log = ServeLog::default();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let ev = match tokio::time::timeout_at(deadline, assoc.recv()).await {
            Err(_) => {
                log.end = "timeout".into();
                return log;
            }
            Ok(Err(e)) => {
                log.end = format!("closed: {e}");
                return log;
            }
            Ok(Ok(ev)) => ev,
        };
        match ev {
            AssociationEvent::Data(d) => {
                let Some(v) = asn1_octets(&d.value) else {
                    log.end = format!("non-ASN.1 value {:?}", d.value);
                    return log;
                };
                log.pdus.push(v.first().copied().unwrap_or(0));
                let answer = if v.first() == Some(&0x8b) {
                    // conclude-RequestPDU [11] -> conclude-ResponsePDU [12]
                    vec![0x8c, 0x00]
                } else if let Some((invoke, service)) = parse_confirmed_request(v) {
                    log.services.push(service);
                    if service == 0x82 {
                        identify_response(&invoke, OUR_VENDOR, OUR_MODEL, OUR_REVISION)
                    } else {
                        service_error(&invoke)
                    }
                } else {
                    continue;
                };
                if let Err(e) = assoc.send_asn1(d.pcid, answer).await {
                    log.end = format!("send failed: {e}");
                    return log;
                }
            }
            AssociationEvent::ReleaseIndication { .. } => {
                if let Err(e) = assoc.release_response(Vec::new()).await {
                    log.end = format!("release response failed: {e}");
                    return log;
                }
            }
            AssociationEvent::Released => {
                log.end = "released".into();
                return log;
            }
            AssociationEvent::AbortIndication { .. } => {
                log.end = "abort".into();
                return log;
            }
            AssociationEvent::ProviderAbort { reason } => {
                log.end = format!("provider-abort: {reason}");
                return log;
            }
        }
    }
}

/// Whether one round of libiec61850's client against our responder ended in the client's
/// known lost identify (see `guls_tests::peers::run_iec_client_identify_retrying`): the client
/// associated, reports `mms_error` 2 with no identity, and our responder received no MMS PDU
/// at all before the client closed TCP. Only then is the round the client's failure, not ours,
/// and worth running again.
pub fn client_lost_identify_before_sending(
    client: &serde_json::Value,
    serve: Option<&ServeLog>,
) -> bool {
    guls_tests::peers::iec_identify_lost(client)
        && serve.is_some_and(|s| {
            s.pdus.is_empty()
                && s.end
                    .starts_with("provider-abort: TCP connection closed by the peer")
        })
}

/// Runs `round` (libiec61850's client against our responder: its JSON result and what our
/// side saw, whose [`ServeLog`] `serve` gives) again while the client lost its identify before
/// sending it ([`client_lost_identify_before_sending`]), up to
/// `guls_tests::peers::IEC_IDENTIFY_ATTEMPTS` runs; returns the last round and the number of
/// runs.
pub async fn run_again_while_identify_lost<T, F, Fut>(
    mut round: F,
    serve: fn(&T) -> Option<&ServeLog>,
) -> (serde_json::Value, T, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (serde_json::Value, T)>,
{
    let mut runs = 0;
    loop {
        runs += 1;
        let (client, seen) = round().await;
        if runs < guls_tests::peers::IEC_IDENTIFY_ATTEMPTS
            && client_lost_identify_before_sending(&client, serve(&seen))
        {
            eprintln!(
                "run {runs}: libiec61850's client lost its identify before sending it; again"
            );
            continue;
        }
        return (client, seen, runs);
    }
}

/// Splits a byte stream into TPKTs (a trailing partial one is dropped).
pub fn split_tpkts(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_be_bytes([b[2], b[3]]) as usize;
        if len < 4 || b.len() < len {
            break;
        }
        out.push(b[..len].to_vec());
        b = &b[len..];
    }
    out
}

/// Reassembles the TSDUs of the DT TPDUs in a TPKT sequence (CR/CC are skipped).
pub fn tsdus(tpkts: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for t in tpkts {
        // TPKT(4) LI code(0xf0) EOT/NR
        if t.len() >= 7 && t[5] == 0xf0 {
            cur.extend_from_slice(&t[4 + 1 + t[4] as usize..]);
            if t[6] & 0x80 != 0 {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    out
}

/// A one-connection TCP relay that records both directions.
pub struct Relay {
    /// Where to connect instead of the target.
    pub addr: SocketAddr,
    /// Client-to-target octets so far.
    pub up: Arc<Mutex<Vec<u8>>>,
    /// Target-to-client octets so far.
    pub down: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Relay {
    /// Listens on 127.0.0.1 and relays the first connection to `target`.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay bind");
        let addr = listener.local_addr().expect("relay addr");
        let up = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(Mutex::new(Vec::new()));
        let (u, d) = (up.clone(), down.clone());
        let task = tokio::spawn(async move {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let Ok(server) = TcpStream::connect(target).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let a = tokio::spawn(pump(cr, sw, u));
            let b = tokio::spawn(pump(sr, cw, d));
            let _ = a.await;
            let _ = b.await;
        });
        Relay {
            addr,
            up,
            down,
            task,
        }
    }

    /// Client-to-target octets so far.
    pub fn up_bytes(&self) -> Vec<u8> {
        self.up.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Target-to-client octets so far.
    pub fn down_bytes(&self) -> Vec<u8> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    record: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                record
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}
