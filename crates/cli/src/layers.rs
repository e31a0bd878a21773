//! Per-layer dissection into JSON: COTP, session, presentation, ACSE.
//!
//! The presentation PPDU inside a TSDU is chosen by the SPDU type (CN→CP, AC→CPA, RF→CPR,
//! AB→ARU/ARP, DT→TD, FN/DN→P-RELEASE user data), as ISO 8823 maps them. A PDV is decoded as
//! ACSE when its presentation context is the ACSE one learned from the stream's CP, or — when
//! no CP was seen — when the PDV of a connection or release PPDU holds an ACSE APDU tag.
//!
//! SESE APDUs (X.832) are decoded wherever the GULS profile carries them (ARCHITECTURE.md
//! section 4.2): in an AARQ/AARE authentication value of arm `external`, in ACSE
//! user-information EXTERNALs, and in TD PDVs, each when its presentation context is the SESE
//! one (abstract syntax ARC.1.1 in the stream's CP, or a context named with `--sese-pcid`).
//! Items and error parameters are shown by length only, never by content.

use std::collections::HashMap;

use guls_acse::{AeQualifier, ApTitle, Apdu, AuthenticationValue};
use guls_ber::{DecodeError, ExternalEncoding, Oid, to_hex};
use guls_presentation as pres;
use guls_sese::{Identifier, InvocationId, SeseApdu};
use guls_session as ses;
use guls_transport as tp;
use serde_json::{Map, Value, json};

use crate::dissect::Unit;

/// What one connection taught the dissector: presentation contexts by identifier.
#[derive(Debug, Clone, Default)]
pub struct StreamContext {
    /// Abstract syntax of each proposed presentation context.
    pub contexts: HashMap<i64, Oid>,
    /// Presentation contexts to treat as the SESE one whatever the CP said (`--sese-pcid`).
    pub sese_pcids: Vec<i64>,
}

impl StreamContext {
    /// A context that knows `sese_pcids` as SESE contexts before any CP is seen.
    pub fn with_sese_pcids(sese_pcids: &[i64]) -> Self {
        StreamContext {
            contexts: HashMap::new(),
            sese_pcids: sese_pcids.to_vec(),
        }
    }

    fn is_acse(&self, pcid: i64) -> Option<bool> {
        if self.sese_pcids.contains(&pcid) {
            return Some(false);
        }
        self.contexts
            .get(&pcid)
            .map(|a| *a == guls_ber::known::ACSE_ABSTRACT_SYNTAX)
    }

    /// Whether `pcid` is the SESE presentation context.
    fn is_sese(&self, pcid: i64) -> bool {
        self.sese_pcids.contains(&pcid)
            || self
                .contexts
                .get(&pcid)
                .is_some_and(|a| *a == guls_sese::Registry::abstract_syntax())
    }

    /// Whether an EXTERNAL is in the SESE context: its indirect reference names it, or its
    /// direct reference is the SESE abstract syntax.
    fn external_is_sese(&self, e: &guls_ber::External) -> bool {
        e.indirect_reference.is_some_and(|p| self.is_sese(p))
            || e.direct_reference
                .as_ref()
                .is_some_and(|d| *d == guls_sese::Registry::abstract_syntax())
    }
}

fn hex(b: &[u8]) -> Value {
    Value::String(to_hex(b))
}

fn oid(o: &Oid) -> Value {
    Value::String(o.to_string())
}

/// Dissects one TPKT; returns a unit for CR/CC/DR/ER TPDUs and for a DT carrying EOT (the whole
/// TSDU reassembled from `pending`), or `None` while a TSDU is still incomplete.
pub fn dissect_tpkt(
    frame: &[u8],
    ctx: &mut StreamContext,
    pending: &mut Vec<u8>,
    max_tsdu: usize,
) -> Option<Unit> {
    let mut unit = Unit::new_unit();
    let tpdu = match tp::decode_frame(frame) {
        Ok(t) => t,
        Err(e) => {
            pending.clear();
            unit.fail(&e);
            return Some(unit);
        }
    };
    match tpdu {
        tp::Tpdu::Dt(dt) => {
            if pending.len() + dt.user_data.len() > max_tsdu {
                pending.clear();
                unit.value.insert("cotp".into(), json!({"type": "DT"}));
                unit.fail(&DecodeError::new(
                    guls_ber::Layer::Cotp,
                    0,
                    guls_ber::ErrorKind::LimitExceeded {
                        what: "reassembled TSDU",
                        limit: max_tsdu,
                    },
                ));
                return Some(unit);
            }
            pending.extend_from_slice(&dt.user_data);
            if !dt.eot {
                return None;
            }
            let tsdu = std::mem::take(pending);
            unit.value.insert(
                "cotp".into(),
                json!({"type": "DT", "eot": true, "tsdu_length": tsdu.len()}),
            );
            dissect_tsdu(&tsdu, ctx, &mut unit);
            Some(unit)
        }
        other => {
            pending.clear();
            unit.value.insert("cotp".into(), cotp_json(&other));
            Some(unit)
        }
    }
}

fn cotp_json(t: &tp::Tpdu) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(t.name()));
    match t {
        tp::Tpdu::Cr(c) | tp::Tpdu::Cc(c) => {
            m.insert("dst_ref".into(), json!(c.dst_ref));
            m.insert("src_ref".into(), json!(c.src_ref));
            m.insert("class".into(), json!(c.class.number()));
            if let Some(s) = c.tpdu_size {
                m.insert("tpdu_size".into(), json!(s.octets()));
            }
            if let Some(p) = c.preferred_max_tpdu_octets() {
                m.insert("preferred_max_tpdu_size".into(), json!(p));
            }
            if let Some(s) = &c.calling_tsel {
                m.insert("calling_tsel".into(), hex(s));
            }
            if let Some(s) = &c.called_tsel {
                m.insert("called_tsel".into(), hex(s));
            }
            if !c.other_parameters.is_empty() {
                m.insert(
                    "other_parameters".into(),
                    Value::Array(
                        c.other_parameters
                            .iter()
                            .map(|p| json!({"code": format!("{:02x}", p.code), "value": to_hex(&p.value)}))
                            .collect(),
                    ),
                );
            }
        }
        tp::Tpdu::Dr(d) => {
            m.insert("dst_ref".into(), json!(d.dst_ref));
            m.insert("src_ref".into(), json!(d.src_ref));
            m.insert("reason".into(), json!(d.reason.description()));
            m.insert("reason_code".into(), json!(d.reason.code()));
        }
        tp::Tpdu::Er(e) => {
            m.insert("dst_ref".into(), json!(e.dst_ref));
            m.insert("cause".into(), json!(e.cause.code()));
            if let Some(i) = &e.invalid_tpdu {
                m.insert("invalid_tpdu".into(), hex(i));
            }
        }
        tp::Tpdu::Dt(d) => {
            m.insert("eot".into(), json!(d.eot));
        }
    }
    Value::Object(m)
}

/// Dissects one TSDU (session and above) into `unit`.
pub fn dissect_tsdu(tsdu: &[u8], ctx: &mut StreamContext, unit: &mut Unit) {
    let decoded = match ses::decode_tsdu(tsdu) {
        Ok(t) => t,
        Err(e) => {
            unit.fail(&e);
            return;
        }
    };
    let spdus: Vec<Value> = decoded.spdus.iter().map(|p| spdu_json(&p.spdu)).collect();
    unit.value.insert("session".into(), Value::Array(spdus));
    // The presentation PDU: user data of the main SPDU, or the user information after DT.
    let Some(main) = decoded.main_spdu() else {
        return;
    };
    let ppdu: Option<&[u8]> = match main {
        ses::Spdu::DataTransfer(_) => Some(decoded.user_information.as_slice()),
        ses::Spdu::Connect(c) => c.user_data.as_ref().map(|u| u.bytes()),
        ses::Spdu::Accept(a) => a.user_data.as_deref(),
        ses::Spdu::Refuse(r) => r.reason.as_ref().map(|r| r.user_data.as_slice()),
        ses::Spdu::Finish(f) => f.user_data.as_deref(),
        ses::Spdu::Disconnect(d) => d.user_data.as_deref(),
        ses::Spdu::NotFinished(n) => n.user_data.as_deref(),
        ses::Spdu::Abort(a) => a.user_data.as_deref(),
        _ => None,
    };
    let Some(ppdu) = ppdu.filter(|p| !p.is_empty()) else {
        return;
    };
    // Error offsets above the session count from the start of the TSDU: the user information
    // after DT has a known offset, and user data is the last parameter of the SPDUs we send
    // (when a peer put it elsewhere, offsets count from the start of the PPDU).
    let base = match main {
        ses::Spdu::DataTransfer(_) => decoded.user_information_offset,
        _ if tsdu.ends_with(ppdu) => tsdu.len() - ppdu.len(),
        _ => 0,
    };
    let opts = pres::DecodeOptions::dissector();
    let result = match main {
        ses::Spdu::Connect(_) => pres::decode_cp_with(ppdu, &opts).map(|cp| {
            for c in &cp.contexts {
                ctx.contexts.insert(c.id, c.abstract_syntax.clone());
            }
            (cp_json(&cp), cp.user_data.clone(), true)
        }),
        ses::Spdu::Accept(_) => pres::decode_cpa_with(ppdu, &opts)
            .map(|cpa| (cpa_json(&cpa), cpa.user_data.clone(), true)),
        ses::Spdu::Refuse(_) => pres::decode_cpr_with(ppdu, &opts)
            .map(|cpr| (cpr_json(&cpr), cpr.user_data.clone(), true)),
        ses::Spdu::Abort(_) => pres::decode_abort_with(ppdu, &opts).map(|a| {
            let ud = match &a {
                pres::Abort::Aru(aru) => aru.user_data.clone(),
                pres::Abort::Arp(_) => None,
            };
            (abort_json(&a), ud, true)
        }),
        ses::Spdu::DataTransfer(_) => pres::decode_user_data_with(ppdu, &opts)
            .map(|ud| (user_data_json("TD", &ud), Some(ud), false)),
        _ => pres::decode_user_data_with(ppdu, &opts)
            .map(|ud| (user_data_json("user-data", &ud), Some(ud), true)),
    };
    let (pjson, user_data, acse_expected) = match result {
        Ok(r) => r,
        Err(e) => {
            unit.fail(&e.shifted(base));
            return;
        }
    };
    unit.value.insert("presentation".into(), pjson);
    let Some(ud) = user_data else { return };
    let mut sese = SeseFound::new(ppdu, base);
    if !acse_expected {
        // P-DATA: every PDV in the SESE context is one SESE APDU.
        for pdv in ud.pdv_lists() {
            if !ctx.is_sese(pdv.pcid) {
                continue;
            }
            if let ExternalEncoding::SingleAsn1Type(v) | ExternalEncoding::OctetAligned(v) =
                &pdv.value
                && !sese.add(v, "p-data")
            {
                break;
            }
        }
        sese.finish(unit);
        return;
    }
    for pdv in ud.pdv_lists() {
        let ExternalEncoding::SingleAsn1Type(value) = &pdv.value else {
            continue;
        };
        let looks_acse = matches!(value.first(), Some(0x60..=0x64));
        match ctx.is_acse(pdv.pcid) {
            Some(true) => {}
            Some(false) => continue,
            None if looks_acse => {}
            None => continue,
        }
        match Apdu::decode(value) {
            Ok(apdu) => {
                unit.value.insert("acse".into(), acse_json(&apdu));
                acse_sese(&apdu, ctx, &mut sese);
            }
            Err(e) => {
                // The APDU is a sub-slice of the PPDU: locate it for a TSDU-relative offset.
                let within = find_subslice(ppdu, value).map_or(0, |i| base + i);
                unit.fail(&e.shifted(within));
            }
        }
        break;
    }
    sese.finish(unit);
}

/// The SESE APDUs found in one unit, and the first one that did not decode.
struct SeseFound<'a> {
    /// The PPDU the APDUs were found in (to locate them for error offsets).
    ppdu: &'a [u8],
    /// Offset of the PPDU in the unit's TSDU.
    base: usize,
    apdus: Vec<Value>,
    error: Option<DecodeError>,
}

impl<'a> SeseFound<'a> {
    fn new(ppdu: &'a [u8], base: usize) -> Self {
        SeseFound {
            ppdu,
            base,
            apdus: Vec::new(),
            error: None,
        }
    }

    /// Decodes one SESE APDU carried by `carrier`; false (and the error kept) when it does not
    /// decode, so that the caller stops there.
    fn add(&mut self, bytes: &[u8], carrier: &str) -> bool {
        if self.error.is_some() {
            return false;
        }
        match SeseApdu::decode(bytes) {
            Ok(apdu) => {
                self.apdus.push(sese_json(&apdu, carrier));
                true
            }
            Err(e) => {
                // The APDU is a copy of a slice of the PPDU: locate it for a TSDU-relative
                // offset (best effort: offsets count from the PPDU when it is not found).
                let within = find_subslice(self.ppdu, bytes).map_or(self.base, |i| self.base + i);
                self.error = Some(e.shifted(within));
                false
            }
        }
    }

    /// Records the APDUs as the unit's `sese` list, and the error if one did not decode.
    fn finish(self, unit: &mut Unit) {
        if !self.apdus.is_empty() {
            unit.value.insert("sese".into(), Value::Array(self.apdus));
        }
        if let Some(e) = self.error {
            unit.fail(&e);
        }
    }
}

/// The SESE APDUs an ACSE APDU carries: in the authentication value (arm `external`) and in
/// user-information EXTERNALs of the SESE context.
fn acse_sese(apdu: &Apdu, ctx: &StreamContext, found: &mut SeseFound<'_>) {
    let (auth, auth_carrier, user_information) = match apdu {
        Apdu::Aarq(a) => (
            a.calling_authentication_value.as_ref(),
            "aarq-authentication-value",
            &a.user_information,
        ),
        Apdu::Aare(a) => (
            a.responding_authentication_value.as_ref(),
            "aare-authentication-value",
            &a.user_information,
        ),
        Apdu::Rlrq(r) => (None, "", &r.user_information),
        Apdu::Rlre(r) => (None, "", &r.user_information),
        Apdu::Abrt(a) => (None, "", &a.user_information),
        Apdu::Other(_) => return,
    };
    if let Some(AuthenticationValue::External(secret)) = auth {
        let e = secret.external();
        if ctx.external_is_sese(e)
            && let ExternalEncoding::SingleAsn1Type(v) = &e.encoding
            && !found.add(v, auth_carrier)
        {
            return;
        }
    }
    for e in user_information {
        if !ctx.external_is_sese(e) {
            continue;
        }
        if let ExternalEncoding::SingleAsn1Type(v) | ExternalEncoding::OctetAligned(v) = &e.encoding
            && !found.add(v, "user-information")
        {
            return;
        }
    }
}

/// An `Identifier`: a global one as its dotted OID, a local one as its integer.
fn identifier_json(id: &Identifier) -> Value {
    match id {
        Identifier::Local(n) => json!(n),
        Identifier::Global(o) => oid(o),
    }
}

fn invocation_json(id: Option<&InvocationId>) -> Value {
    match id {
        Some(InvocationId::Present(n)) => json!(n),
        Some(InvocationId::Absent) | None => Value::Null,
    }
}

/// One SESE APDU as JSON. Items and error parameters appear by length only.
fn sese_json(apdu: &SeseApdu, carrier: &str) -> Value {
    match apdu {
        SeseApdu::Transfer(t) => json!({
            "type": apdu.name(),
            "exchange": identifier_json(&t.se_identifier),
            "item": t.item_identifier,
            "start": t.start,
            "end": t.end,
            "invocation": invocation_json(Some(&t.invocation_id)),
            "carrier": carrier,
            "item_length": t.item.len(),
        }),
        SeseApdu::UAbort(a) => json!({
            "type": apdu.name(),
            "invocation": invocation_json(Some(&a.invocation_id)),
            "item": a.item_identifier,
            "errors": a.errors.iter().flatten().map(|e| json!({
                "code": e.code.as_ref().map_or(Value::Null, identifier_json),
                "parameter_length": e.parameter.as_ref().map(Vec::len),
            })).collect::<Vec<_>>(),
            "carrier": carrier,
        }),
        SeseApdu::PAbort(p) => json!({
            "type": apdu.name(),
            "invocation": invocation_json(p.invocation_id.as_ref()),
            "item": p.item_identifier,
            "problem": p.problem.name(),
            "carrier": carrier,
        }),
    }
}

fn spdu_json(s: &ses::Spdu) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(s.spdu_type().name()));
    let user_data = |m: &mut Map<String, Value>, ud: Option<&[u8]>| {
        if let Some(u) = ud {
            m.insert("user_data_length".into(), json!(u.len()));
        }
    };
    match s {
        ses::Spdu::Connect(c) => {
            if let Some(ci) = &c.connection_identifier {
                m.insert("connection_identifier".into(), connection_id_json(ci));
            }
            if c.connect_accept
                .as_ref()
                .is_some_and(|i| i.version.is_some())
            {
                m.insert("version".into(), json!(c.versions()));
            }
            m.insert("functional_units".into(), json!(c.functional_units()));
            if let Some(po) = c.protocol_options() {
                m.insert("protocol_options".into(), json!(po.0));
            }
            if let Some(t) = c.tsdu_maximum_size() {
                m.insert(
                    "tsdu_maximum_size".into(),
                    json!({"initiator_to_responder": t.initiator_to_responder, "responder_to_initiator": t.responder_to_initiator}),
                );
            }
            if let Some(isn) = c.initial_serial_number() {
                m.insert(
                    "initial_serial_number".into(),
                    json!(isn.value().map(|v| v.to_string())),
                );
            }
            if let Some(s) = &c.calling_ssel {
                m.insert("calling_ssel".into(), hex(s.as_bytes()));
            }
            if let Some(s) = &c.called_ssel {
                m.insert("called_ssel".into(), hex(s.as_bytes()));
            }
            if let Some((u, pgi)) = c.user_data() {
                m.insert("user_data_length".into(), json!(u.len()));
                m.insert("user_data_pgi".into(), json!(pgi.code()));
            }
        }
        ses::Spdu::Accept(a) => {
            if let Some(ci) = &a.connection_identifier {
                m.insert("connection_identifier".into(), connection_id_json(ci));
            }
            if a.connect_accept
                .as_ref()
                .is_some_and(|i| i.version.is_some())
            {
                m.insert("version".into(), json!(a.versions()));
            }
            m.insert("functional_units".into(), json!(a.functional_units()));
            if let Some(po) = a.protocol_options() {
                m.insert("protocol_options".into(), json!(po.0));
            }
            if let Some(t) = a.tsdu_maximum_size() {
                m.insert(
                    "tsdu_maximum_size".into(),
                    json!({"initiator_to_responder": t.initiator_to_responder, "responder_to_initiator": t.responder_to_initiator}),
                );
            }
            if let Some(s) = &a.calling_ssel {
                m.insert("calling_ssel".into(), hex(s.as_bytes()));
            }
            if let Some(s) = &a.responding_ssel {
                m.insert("responding_ssel".into(), hex(s.as_bytes()));
            }
            user_data(&mut m, a.user_data.as_deref());
        }
        ses::Spdu::Refuse(r) => {
            if let Some(rc) = &r.reason {
                m.insert("reason".into(), json!(rc.reason.description()));
                m.insert("reason_code".into(), json!(rc.reason.code()));
                if !rc.user_data.is_empty() {
                    m.insert("user_data_length".into(), json!(rc.user_data.len()));
                }
            }
            if let Some(td) = r.transport_disconnect {
                m.insert("transport_disconnect".into(), json!(td.names()));
            }
        }
        ses::Spdu::Finish(f) => {
            if let Some(td) = f.transport_disconnect {
                m.insert("transport_disconnect".into(), json!(td.names()));
            }
            user_data(&mut m, f.user_data.as_deref());
        }
        ses::Spdu::Disconnect(d) => user_data(&mut m, d.user_data.as_deref()),
        ses::Spdu::NotFinished(n) => user_data(&mut m, n.user_data.as_deref()),
        ses::Spdu::Abort(a) => {
            m.insert("reason".into(), json!(a.reason().name()));
            if let Some(td) = a.transport_disconnect {
                m.insert("transport_disconnect".into(), json!(td.names()));
            }
            user_data(&mut m, a.user_data.as_deref());
        }
        ses::Spdu::GiveTokens(g) => {
            if let Some(t) = g.token_item {
                m.insert("tokens".into(), json!(t.names()));
            }
        }
        ses::Spdu::ConnectDataOverflow(c) => user_data(&mut m, c.user_data.as_deref()),
        ses::Spdu::OverflowAccept(o) => {
            if let Some(v) = o.version {
                m.insert("version".into(), json!(v.versions()));
            }
        }
        ses::Spdu::Other(g) => {
            m.insert(
                "parameters".into(),
                Value::Array(
                    g.parameters
                        .iter()
                        .map(|p| json!({"code": p.code, "length": p.value.len()}))
                        .collect(),
                ),
            );
        }
        ses::Spdu::AbortAccept(_) | ses::Spdu::DataTransfer(_) => {}
    }
    Value::Object(m)
}

fn connection_id_json(ci: &ses::ConnectionIdentifier) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: &Option<Vec<u8>>| {
        if let Some(v) = v {
            m.insert(k.into(), hex(v));
        }
    };
    put("called_ss_user_reference", &ci.called_ss_user_reference);
    put("calling_ss_user_reference", &ci.calling_ss_user_reference);
    put("common_reference", &ci.common_reference);
    put("additional_reference", &ci.additional_reference);
    Value::Object(m)
}

fn selector(m: &mut Map<String, Value>, key: &str, s: &Option<Vec<u8>>) {
    if let Some(s) = s {
        m.insert(key.into(), hex(s));
    }
}

fn results_json(results: &[pres::ContextResult]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("result".into(), json!(r.result.name()));
                if let Some(t) = &r.transfer_syntax {
                    m.insert("transfer_syntax".into(), oid(t));
                }
                if let Some(p) = &r.provider_reason {
                    m.insert("provider_reason".into(), json!(p.name()));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

fn pdvs_json(ud: &pres::UserData) -> Value {
    match ud {
        pres::UserData::Simple(b) => json!([{"encoding": "simply-encoded", "length": b.len()}]),
        pres::UserData::Full(lists) => Value::Array(
            lists
                .iter()
                .map(|p| {
                    let mut m = Map::new();
                    m.insert("pcid".into(), json!(p.pcid));
                    if let Some(t) = &p.transfer_syntax {
                        m.insert("transfer_syntax".into(), oid(t));
                    }
                    m.insert("encoding".into(), json!(p.encoding_name()));
                    m.insert("length".into(), json!(p.value_bytes().len()));
                    Value::Object(m)
                })
                .collect(),
        ),
    }
}

fn cp_json(cp: &pres::Cp) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("CP"));
    selector(&mut m, "calling_selector", &cp.calling_selector);
    selector(&mut m, "called_selector", &cp.called_selector);
    m.insert(
        "contexts".into(),
        Value::Array(
            cp.contexts
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "abstract_syntax": c.abstract_syntax.to_string(),
                        "transfer_syntaxes": c.transfer_syntaxes.iter().map(Oid::to_string).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ),
    );
    if let Some(d) = &cp.default_context {
        m.insert(
            "default_context".into(),
            json!({"abstract_syntax": d.abstract_syntax.to_string(), "transfer_syntax": d.transfer_syntax.to_string()}),
        );
    }
    if let Some(u) = &cp.user_data {
        m.insert("user_data".into(), pdvs_json(u));
    }
    Value::Object(m)
}

fn cpa_json(cpa: &pres::Cpa) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("CPA"));
    selector(&mut m, "responding_selector", &cpa.responding_selector);
    m.insert("results".into(), results_json(&cpa.results));
    if let Some(u) = &cpa.user_data {
        m.insert("user_data".into(), pdvs_json(u));
    }
    Value::Object(m)
}

fn cpr_json(cpr: &pres::Cpr) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("CPR"));
    selector(&mut m, "responding_selector", &cpr.responding_selector);
    m.insert("results".into(), results_json(&cpr.results));
    if let Some(r) = &cpr.default_context_result {
        m.insert("default_context_result".into(), json!(r.name()));
    }
    if let Some(r) = &cpr.provider_reason {
        m.insert("provider_reason".into(), json!(r.name()));
    }
    if let Some(u) = &cpr.user_data {
        m.insert("user_data".into(), pdvs_json(u));
    }
    Value::Object(m)
}

fn abort_json(a: &pres::Abort) -> Value {
    let mut m = Map::new();
    match a {
        pres::Abort::Aru(aru) => {
            m.insert("type".into(), json!("ARU"));
            if !aru.contexts.is_empty() {
                m.insert(
                    "context_identifiers".into(),
                    json!(aru.contexts.iter().map(|c| c.id).collect::<Vec<_>>()),
                );
            }
            if let Some(u) = &aru.user_data {
                m.insert("user_data".into(), pdvs_json(u));
            }
        }
        pres::Abort::Arp(arp) => {
            m.insert("type".into(), json!("ARP"));
            if let Some(r) = &arp.abort_reason {
                m.insert("abort_reason".into(), json!(r.name()));
            }
            if let Some(e) = &arp.event_identifier {
                m.insert("event_identifier".into(), json!(e.name()));
            }
        }
    }
    Value::Object(m)
}

fn user_data_json(kind: &str, ud: &pres::UserData) -> Value {
    json!({"type": kind, "user_data": pdvs_json(ud)})
}

fn title_json(t: &ApTitle) -> Value {
    Value::String(t.to_string())
}

fn qualifier_json(q: &AeQualifier) -> Value {
    match q {
        AeQualifier::Form2(n) => json!(n),
        other => Value::String(other.to_string()),
    }
}

fn auth_json(a: &AuthenticationValue) -> Value {
    // Never the value itself: kind and length only.
    json!({"kind": a.kind_name(), "length": a.len()})
}

fn user_info_json(ui: &[guls_ber::External]) -> Value {
    Value::Array(
        ui.iter()
            .map(|e| {
                let mut m = Map::new();
                if let Some(p) = e.indirect_reference {
                    m.insert("pcid".into(), json!(p));
                }
                if let Some(d) = &e.direct_reference {
                    m.insert("direct_reference".into(), oid(d));
                }
                if let Some(d) = &e.data_value_descriptor {
                    m.insert(
                        "data_value_descriptor".into(),
                        json!(String::from_utf8_lossy(d)),
                    );
                }
                m.insert("encoding".into(), json!(e.encoding.name()));
                m.insert("length".into(), json!(e.encoding.data_len()));
                Value::Object(m)
            })
            .collect(),
    )
}

fn acse_json(apdu: &Apdu) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(apdu.name().to_ascii_uppercase()));
    match apdu {
        Apdu::Aarq(a) => {
            m.insert(
                "application_context".into(),
                oid(&a.application_context_name),
            );
            if let Some(t) = &a.called_ap_title {
                m.insert("called_ap_title".into(), title_json(t));
            }
            if let Some(q) = &a.called_ae_qualifier {
                m.insert("called_ae_qualifier".into(), qualifier_json(q));
            }
            if let Some(t) = &a.calling_ap_title {
                m.insert("calling_ap_title".into(), title_json(t));
            }
            if let Some(q) = &a.calling_ae_qualifier {
                m.insert("calling_ae_qualifier".into(), qualifier_json(q));
            }
            for (k, v) in [
                ("called_ap_invocation_id", a.called_ap_invocation_id),
                ("called_ae_invocation_id", a.called_ae_invocation_id),
                ("calling_ap_invocation_id", a.calling_ap_invocation_id),
                ("calling_ae_invocation_id", a.calling_ae_invocation_id),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v));
                }
            }
            if let Some(r) = &a.sender_acse_requirements {
                m.insert("sender_acse_requirements".into(), requirements_json(r));
            }
            if let Some(o) = &a.mechanism_name {
                m.insert("mechanism_name".into(), oid(o));
            }
            if let Some(v) = &a.calling_authentication_value {
                m.insert("authentication_value".into(), auth_json(v));
            }
            if let Some(i) = &a.implementation_information {
                m.insert(
                    "implementation_information".into(),
                    json!(String::from_utf8_lossy(i)),
                );
            }
            put_user_info(&mut m, &a.user_information);
        }
        Apdu::Aare(a) => {
            m.insert(
                "application_context".into(),
                oid(&a.application_context_name),
            );
            m.insert("result".into(), json!(a.result.name()));
            m.insert(
                "diagnostic".into(),
                json!({"source": source_name(a.result_source_diagnostic.source()), "value": a.result_source_diagnostic.value(), "name": a.result_source_diagnostic.name()}),
            );
            if let Some(t) = &a.responding_ap_title {
                m.insert("responding_ap_title".into(), title_json(t));
            }
            if let Some(q) = &a.responding_ae_qualifier {
                m.insert("responding_ae_qualifier".into(), qualifier_json(q));
            }
            if let Some(r) = &a.responder_acse_requirements {
                m.insert("responder_acse_requirements".into(), requirements_json(r));
            }
            if let Some(o) = &a.mechanism_name {
                m.insert("mechanism_name".into(), oid(o));
            }
            if let Some(v) = &a.responding_authentication_value {
                m.insert("authentication_value".into(), auth_json(v));
            }
            put_user_info(&mut m, &a.user_information);
        }
        Apdu::Rlrq(r) => {
            if let Some(reason) = &r.reason {
                m.insert("reason".into(), json!(reason.name()));
            }
            put_user_info(&mut m, &r.user_information);
        }
        Apdu::Rlre(r) => {
            if let Some(reason) = &r.reason {
                m.insert("reason".into(), json!(reason.name()));
            }
            put_user_info(&mut m, &r.user_information);
        }
        Apdu::Abrt(a) => {
            m.insert("abort_source".into(), json!(a.abort_source.name()));
            if let Some(d) = &a.abort_diagnostic {
                m.insert("abort_diagnostic".into(), json!(d.name()));
            }
            put_user_info(&mut m, &a.user_information);
        }
        Apdu::Other(o) => {
            m.insert("tag_number".into(), json!(o.tag_number));
            m.insert("length".into(), json!(o.contents.len()));
        }
    }
    Value::Object(m)
}

fn requirements_json(r: &guls_acse::AcseRequirements) -> Value {
    let mut names = Vec::new();
    if r.authentication {
        names.push("authentication");
    }
    if r.application_context_negotiation {
        names.push("application-context-negotiation");
    }
    if r.higher_level_association {
        names.push("higher-level-association");
    }
    if r.nested_association {
        names.push("nested-association");
    }
    json!(names)
}

fn source_name(s: guls_acse::ResultSource) -> &'static str {
    match s {
        guls_acse::ResultSource::AcseServiceUser => "acse-service-user",
        guls_acse::ResultSource::AcseServiceProvider => "acse-service-provider",
        guls_acse::ResultSource::PresentationServiceProvider => "presentation-service-provider",
    }
}

/// Position of `needle` in `hay`; `needle` is a copy of a slice of `hay` so the search is short
/// in practice (one APDU inside one PPDU).
fn find_subslice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn put_user_info(m: &mut Map<String, Value>, ui: &[guls_ber::External]) {
    if !ui.is_empty() {
        m.insert("user_information".into(), user_info_json(ui));
    }
}
