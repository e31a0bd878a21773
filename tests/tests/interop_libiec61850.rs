//! Live interop with libiec61850 1.6.1 (the PyPI `pyiec61850-ng` wheel, driven by the scripts
//! in `tests/peers/`):
//!
//! * our [`Initiator`] against libiec61850's `IedServer` (ACSE password authenticator): MMS
//!   association, identify, release; wrong and missing passwords are rejected by a TCP close;
//! * libiec61850's `IedConnection` client against our [`Responder`], which answers with the
//!   golden trace's MMS Initiate-Response, serves identify and checks the ACSE password.
//!
//! Skipped with a printed reason when the peers venv is missing, unless `GULS_INTEROP=require`
//! (run `tests/peers/setup.sh` first).

mod support;

use std::sync::Arc;
use std::time::Duration;

use guls_association::{
    AssociateParams, Association, AssociationError, Authentication, ExternalEncoding,
    IncomingAssociation, Initiator, Responder, UserDiagnostic,
};
use guls_ber::known;
use guls_tests::peers::{peers_available_or_skip, run_iec_client, start_iec_server};
use guls_tests::vectors::hex;
use support::*;
use tokio::time::timeout;

const PASSWORD: &str = "guls-Interop-pw7";

/// Associates through a recording relay, checks the AARE's Initiate-Response, runs identify
/// and releases. Returns the relay (for the octets) after the release.
async fn associate_identify_release(
    server_port: u16,
    auth: Option<Authentication>,
) -> (Relay, String) {
    let relay = Relay::start(([127, 0, 0, 1], server_port).into()).await;
    let params = AssociateParams {
        user_information: vec![mms_initiate_request()],
        authentication: auth,
        ..AssociateParams::default()
    };
    let mut assoc = timeout(
        NET,
        Initiator::new(mms_config()).connect(relay.addr, params),
    )
    .await
    .expect("connect bounded")
    .expect("libiec61850 accepts the association");
    check_initiate_response(&assoc);
    let vendor = identify(&mut assoc).await;
    let outcome = timeout(NET, assoc.release())
        .await
        .expect("release bounded")
        .expect("libiec61850 answers the RLRQ with DN + RLRE");
    assert!(!outcome.collision);
    assert!(outcome.data.is_empty(), "{outcome:?}");
    (relay, vendor)
}

/// The AARE accepted with an MMS Initiate-Response (EXTERNAL, pcid 3, `a9 ...`).
fn check_initiate_response(assoc: &Association) {
    assert_eq!(
        assoc.application_context_name(),
        &known::MMS_APPLICATION_CONTEXT
    );
    let confirm = assoc.associate_confirm().expect("initiator has a confirm");
    assert_eq!(confirm.user_information.len(), 1, "{confirm:?}");
    let ext = &confirm.user_information[0];
    assert_eq!(ext.indirect_reference, Some(MMS_PCID));
    let ExternalEncoding::SingleAsn1Type(v) = &ext.encoding else {
        panic!("Initiate-Response not single-ASN1-type: {ext:?}");
    };
    assert_eq!(v[0], 0xa9, "initiate-ResponsePDU: {v:02x?}");
    // localDetailCalled [0] is the server's max PDU size: libiec61850's is 65000 (PEERS.md 1.7).
    assert_eq!(initiate_max_pdu(v), Some(65000), "{v:02x?}");
}

/// Sends the golden identify request in the MMS context and returns the vendor name.
async fn identify(assoc: &mut Association) -> String {
    assoc
        .send_asn1(MMS_PCID, hex(IDENTIFY_REQUEST))
        .await
        .expect("identify sent");
    let ev = timeout(NET, assoc.recv())
        .await
        .expect("identify response bounded")
        .expect("identify response");
    let guls_association::AssociationEvent::Data(d) = ev else {
        panic!("expected the identify response, got {ev:?}");
    };
    assert_eq!(d.pcid, MMS_PCID);
    assert_eq!(d.abstract_syntax, known::MMS_ABSTRACT_SYNTAX);
    let v = asn1_octets(&d.value).expect("single-ASN1-type");
    assert_eq!(v[0], 0xa1, "confirmed-ResponsePDU: {v:02x?}");
    let (invoke, vendor, model, revision) =
        parse_identify_response(v).unwrap_or_else(|| panic!("not an identify response {v:02x?}"));
    assert_eq!(invoke, vec![1], "invokeID echoed");
    eprintln!("libiec61850 identify: {vendor} / {model} / {revision}");
    vendor
}

#[test]
fn initiator_associates_identifies_and_releases_with_libiec61850_password_server() {
    if !peers_available_or_skip() {
        return;
    }
    let server = start_iec_server(Some(PASSWORD)).expect("iec_server starts");
    let rt = runtime();
    let (relay, vendor) = rt.block_on(associate_identify_release(
        server.port(),
        Some(Authentication::password(PASSWORD.as_bytes())),
    ));
    assert_eq!(vendor, "libiec61850.com");

    let auth = server
        .wait_for_event("auth", 0, Duration::from_secs(5))
        .expect("the authenticator ran");
    assert_eq!(auth["mechanism"], 1, "{auth}");
    assert_eq!(auth["accepted"], true, "{auth}");
    assert_eq!(auth["password_len"], PASSWORD.len(), "{auth}");

    // What went on the wire: CR, then CN+CP+AARQ in one DT, under 255 octets with the
    // 1-octet LI (libiec61850 handles nothing else, PEERS.md 1.2).
    let up = split_tpkts(&relay.up_bytes());
    assert_eq!(up[0][5], 0xe0, "CR first");
    let tsdus = tsdus(&up);
    let cn = &tsdus[0];
    assert_eq!(cn[0], 0x0d, "CN");
    assert!(cn.len() < 255, "CN+CP+AARQ is {} octets", cn.len());
    assert_eq!(cn[1] as usize, cn.len() - 2, "1-octet LI");
    eprintln!("our CN+CP+AARQ (with password): {} octets", cn.len());
    // Data SPDUs are exactly GT + DT without parameters (PEERS.md 1.3).
    assert_eq!(&tsdus[1][..4], &[1, 0, 1, 0], "identify TSDU");
    let last = tsdus.last().expect("FN");
    assert_eq!(last[0], 0x09, "FN last");
    let down = tsdus_of(&relay.down_bytes());
    assert_eq!(down[0][0], 0x0e, "AC");
    assert_eq!(down.last().expect("DN")[0], 0x0a, "DN last");
    drop(relay);
    drop(rt);
    let lines = server.stop();
    assert!(
        lines.iter().all(|l| !l.contains(PASSWORD)),
        "password leaked to the log"
    );
}

fn tsdus_of(stream: &[u8]) -> Vec<Vec<u8>> {
    tsdus(&split_tpkts(stream))
}

#[test]
fn initiator_wrong_or_missing_password_is_rejected_by_tcp_close() {
    if !peers_available_or_skip() {
        return;
    }
    let server = start_iec_server(Some(PASSWORD)).expect("iec_server starts");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port()));
    let rt = runtime();
    for (i, auth) in [Some(Authentication::password(b"wrong")), None]
        .into_iter()
        .enumerate()
    {
        let with = auth.is_some();
        let params = AssociateParams {
            user_information: vec![mms_initiate_request()],
            authentication: auth,
            ..AssociateParams::default()
        };
        let r = rt.block_on(async {
            timeout(NET, Initiator::new(mms_config()).connect(addr, params))
                .await
                .expect("connect bounded")
        });
        let err = r.expect_err("libiec61850 must reject");
        assert!(
            matches!(err, AssociationError::RejectedByPeerNoAare),
            "password given: {with}: {err:?}"
        );
        let ev = server
            .wait_for_event("auth", i, Duration::from_secs(5))
            .expect("the authenticator ran");
        assert_eq!(ev["accepted"], false, "{ev}");
        assert_eq!(ev["mechanism"], if with { 1 } else { 0 }, "{ev}");
    }
    // The server survives both rejections: a right password still associates.
    let (_relay, vendor) = rt.block_on(associate_identify_release(
        server.port(),
        Some(Authentication::password(PASSWORD.as_bytes())),
    ));
    assert_eq!(vendor, "libiec61850.com");
}

/// What our responder application saw and decided for one connection.
#[derive(Debug)]
struct Seen {
    mechanism: Option<String>,
    value_kind: Option<&'static str>,
    password_ok: bool,
    accepted: bool,
    tsel: Option<Vec<u8>>,
    ssel: Option<Vec<u8>>,
    psel: Option<Vec<u8>>,
    session_requirements: u16,
    session_version: u8,
    contexts: Vec<(i64, String)>,
    user_information: Vec<u8>,
    serve: Option<ServeLog>,
    reject_result: Option<String>,
}

/// Handles one incoming association: accept (and serve MMS) when `expected` is `None` or the
/// AARQ carries mechanism 2.2.3.1 with that charstring (constant-time comparison), otherwise
/// reject with authentication-failure (13), or authentication-required (14) when no
/// authentication was proposed.
async fn handle(inc: IncomingAssociation, expected: Option<&[u8]>) -> Seen {
    let ind = inc.indication();
    let password_ok = match expected {
        None => true,
        Some(pw) => {
            ind.mechanism_name.as_ref() == Some(&known::PASSWORD_MECHANISM)
                && ind
                    .authentication_value
                    .as_ref()
                    .is_some_and(|v| v.matches_charstring(pw))
        }
    };
    let mut seen = Seen {
        mechanism: ind.mechanism_name.as_ref().map(|m| m.to_string()),
        value_kind: ind.authentication_value.as_ref().map(|v| v.kind_name()),
        password_ok,
        accepted: password_ok,
        tsel: inc.calling_tsel().map(<[u8]>::to_vec),
        ssel: inc.calling_ssel().map(<[u8]>::to_vec),
        psel: inc.calling_psel().map(<[u8]>::to_vec),
        session_requirements: inc.proposed_session_requirements(),
        session_version: inc.session_version(),
        contexts: inc
            .contexts()
            .iter()
            .map(|c| (c.pcid, c.abstract_syntax.to_string()))
            .collect(),
        user_information: ind
            .user_information
            .first()
            .and_then(|e| match &e.encoding {
                ExternalEncoding::SingleAsn1Type(v) => Some(v.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        serve: None,
        reject_result: None,
    };
    if password_ok {
        let mut assoc = inc
            .accept(mms_accept_params())
            .await
            .expect("accept sends AC+CPA+AARE");
        seen.serve = Some(serve_mms(&mut assoc, NET).await);
    } else {
        let diag = if ind.mechanism_name.is_none() {
            UserDiagnostic::AuthenticationRequired
        } else {
            UserDiagnostic::AuthenticationFailure
        };
        seen.reject_result = Some(format!("{:?}", inc.reject(diag, Vec::new()).await));
    }
    seen
}

/// How an association released by the libiec61850 client may end on our side.
///
/// Observed (tshark, loopback): the 1.6.1 client sends FN + RLRQ and closes TCP a few
/// microseconds later without waiting for our DN + RLRE. Depending on whether the FIN is read
/// before our release response goes out, the responder application sees the release complete,
/// the release response refused because the connection is gone, or only a provider abort for
/// the TCP close (the ReleaseIndication is then not delivered).
fn assert_client_release_end(serve: &ServeLog) {
    let ok = serve.end == "released"
        || serve.end == "release response failed: the association is closed"
        || serve
            .end
            .starts_with("provider-abort: TCP connection closed by the peer");
    assert!(ok, "unexpected end of the client's association: {serve:?}");
}

/// Runs the libiec61850 client (in a blocking task) while our responder handles its
/// connection; returns the client's JSON result and what the responder saw. A round in which
/// the client lost its identify before sending any MMS PDU
/// ([`client_lost_identify_before_sending`]) is run again, up to `IEC_IDENTIFY_ATTEMPTS` times.
async fn client_round(
    responder: &Arc<Responder>,
    expected: Option<&'static [u8]>,
    password: Option<&'static str>,
) -> (serde_json::Value, Seen) {
    let (client, seen, _runs) = run_again_while_identify_lost(
        || client_round_once(responder, expected, password),
        |seen: &Seen| seen.serve.as_ref(),
    )
    .await;
    (client, seen)
}

async fn client_round_once(
    responder: &Arc<Responder>,
    expected: Option<&'static [u8]>,
    password: Option<&'static str>,
) -> (serde_json::Value, Seen) {
    let port = responder.local_addr().port();
    let r = responder.clone();
    let app = tokio::spawn(async move {
        let inc = timeout(NET, r.accept())
            .await
            .expect("AARQ within the safety net")
            .expect("an A-ASSOCIATE indication");
        handle(inc, expected).await
    });
    let client =
        tokio::task::spawn_blocking(move || run_iec_client("127.0.0.1", port, password, true))
            .await
            .expect("client task")
            .expect("iec_client runs");
    let seen = timeout(NET, app)
        .await
        .expect("responder app bounded")
        .expect("responder app");
    (client, seen)
}

#[test]
fn libiec61850_client_associates_identifies_and_releases_with_our_responder() {
    if !peers_available_or_skip() {
        return;
    }
    let rt = runtime();
    rt.block_on(async {
        let responder = Arc::new(
            Responder::bind("127.0.0.1:0", mms_config())
                .await
                .expect("bind"),
        );
        let (client, seen) = client_round(&responder, None, None).await;
        eprintln!("libiec61850 client result: {client}");
        eprintln!("our responder saw: {seen:?}");
        assert_eq!(client["connect_error"], 0, "{client}");
        assert_eq!(client["identify"]["vendor"], OUR_VENDOR, "{client}");
        assert_eq!(client["identify"]["model"], OUR_MODEL, "{client}");
        assert_eq!(client["identify"]["revision"], OUR_REVISION, "{client}");
        assert_eq!(client["identify"]["mms_error"], 0, "{client}");
        assert_eq!(client["close_error"], 0, "{client}");

        // What libiec61850's client proposes (PEERS.md 1.3, 1.4).
        assert_eq!(seen.mechanism, None);
        assert_eq!(seen.tsel.as_deref(), Some(&[0u8, 1][..]));
        assert_eq!(seen.ssel.as_deref(), Some(&[0u8, 1][..]));
        assert_eq!(seen.psel.as_deref(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(seen.session_requirements, 0x0002, "duplex only");
        assert_eq!(seen.session_version, 2);
        assert_eq!(
            seen.contexts,
            vec![
                (1, known::ACSE_ABSTRACT_SYNTAX.to_string()),
                (3, known::MMS_ABSTRACT_SYNTAX.to_string())
            ]
        );
        assert_eq!(
            seen.user_information.first(),
            Some(&0xa8),
            "Initiate-Request"
        );
        let serve = seen.serve.expect("served");
        assert_eq!(serve.services, vec![0x82], "one identify: {serve:?}");
        assert_eq!(
            serve.pdus,
            vec![0xa0, 0x8b],
            "identify, then conclude: {serve:?}"
        );
        assert_client_release_end(&serve);
    });
}

#[test]
fn libiec61850_client_password_is_checked_by_our_responder() {
    if !peers_available_or_skip() {
        return;
    }
    const EXPECTED: &[u8] = PASSWORD.as_bytes();
    let rt = runtime();
    rt.block_on(async {
        let responder = Arc::new(
            Responder::bind("127.0.0.1:0", mms_config())
                .await
                .expect("bind"),
        );

        let (ok, seen) = client_round(&responder, Some(EXPECTED), Some(PASSWORD)).await;
        assert_eq!(ok["connect_error"], 0, "{ok}");
        assert_eq!(ok["identify"]["vendor"], OUR_VENDOR, "{ok}");
        assert_eq!(seen.mechanism.as_deref(), Some("2.2.3.1"), "{seen:?}");
        assert_eq!(seen.value_kind, Some("charstring"));
        assert!(seen.password_ok && seen.accepted);
        assert_client_release_end(seen.serve.as_ref().expect("served"));

        let (bad, seen) = client_round(&responder, Some(EXPECTED), Some("wrong")).await;
        eprintln!("libiec61850 client, wrong password: {bad}");
        assert_eq!(seen.mechanism.as_deref(), Some("2.2.3.1"), "{seen:?}");
        assert_eq!(seen.value_kind, Some("charstring"));
        assert!(!seen.password_ok && !seen.accepted);
        assert_eq!(seen.reject_result.as_deref(), Some("Ok(())"), "{seen:?}");
        assert_ne!(bad["connect_error"], 0, "{bad}");
        assert!(bad["identify"].is_null(), "{bad}");

        let (none, seen) = client_round(&responder, Some(EXPECTED), None).await;
        eprintln!("libiec61850 client, no password: {none}");
        assert_eq!(seen.mechanism, None, "{seen:?}");
        assert!(!seen.accepted);
        assert_ne!(none["connect_error"], 0, "{none}");
    });
}

/// Only the client's own loss is run again: an identify our side received and did not answer,
/// an end other than the client's TCP close, or a rejected association is a failure to see.
#[test]
fn only_the_clients_lost_identify_is_run_again() {
    let lost = serde_json::json!({
        "connect_error": 0,
        "identify": {"vendor": null, "model": null, "revision": null, "mms_error": 2}
    });
    let closed = ServeLog {
        end: "provider-abort: TCP connection closed by the peer".into(),
        ..ServeLog::default()
    };
    assert!(client_lost_identify_before_sending(&lost, Some(&closed)));

    let received = ServeLog {
        pdus: vec![0xa0],
        services: vec![0x82],
        ..closed.clone()
    };
    assert!(!client_lost_identify_before_sending(&lost, Some(&received)));
    let timed_out = ServeLog {
        end: "timeout".into(),
        ..ServeLog::default()
    };
    assert!(!client_lost_identify_before_sending(
        &lost,
        Some(&timed_out)
    ));
    assert!(!client_lost_identify_before_sending(&lost, None));

    let identified = serde_json::json!({
        "connect_error": 0,
        "identify": {"vendor": OUR_VENDOR, "model": OUR_MODEL, "revision": OUR_REVISION, "mms_error": 0}
    });
    assert!(!client_lost_identify_before_sending(
        &identified,
        Some(&closed)
    ));
    let rejected = serde_json::json!({"connect_error": 5, "identify": null});
    assert!(!client_lost_identify_before_sending(
        &rejected,
        Some(&closed)
    ));
}
