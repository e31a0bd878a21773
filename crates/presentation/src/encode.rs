//! Encoders: deterministic, canonical definite by default, or the RFC 1698 template shape.

use guls_ber::{LengthForm, Tag, Writer, encode_length, length_len};

use crate::types::*;

/// How PPDUs are laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EncodeStyle {
    /// Definite, minimal lengths everywhere (the default; what libiec61850 sends).
    #[default]
    Canonical,
    /// The RFC 1698 section 6 templates: every constructed presentation element in the
    /// indefinite form (`80 … 00 00`), the single-ASN1-type wrapper of connect, release and
    /// abort PDVs indefinite, and in the TD PPDU the `[0]`/`[1]` value with a 3-octet long-form
    /// length (`A0 83 yy yy yy`, `81 83 yy yy yy`). Primitives stay definite and minimal, and the
    /// ARP is always definite (OIW SIA 8.3.6).
    Rfc1698,
}

impl EncodeStyle {
    fn form(self) -> LengthForm {
        match self {
            EncodeStyle::Canonical => LengthForm::Definite,
            EncodeStyle::Rfc1698 => LengthForm::Indefinite,
        }
    }
}

/// Where a PDV-list is sent (the RFC 1698 style differs between the two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// CP, CPA, CPR, ARU and P-RELEASE user data.
    Connect,
    /// The TD PPDU (P-DATA).
    Data,
}

const fn ctx(n: u32) -> Tag {
    Tag::context(n)
}

fn pdv_value(w: &mut Writer, v: &PdvValue, style: EncodeStyle, phase: Phase) {
    let long = style == EncodeStyle::Rfc1698 && phase == Phase::Data;
    match v {
        PdvValue::SingleAsn1Type(raw) if long => {
            identifier(w, ctx(0).constructed());
            w.long_form_length(raw.len(), long_octets(raw.len()));
            w.raw(raw);
        }
        PdvValue::SingleAsn1Type(raw) => w.constructed(ctx(0), |w| w.raw(raw)),
        PdvValue::OctetAligned(o) if long => w.primitive_long_form(ctx(1), o, long_octets(o.len())),
        PdvValue::OctetAligned(o) => w.primitive(ctx(1), o),
        PdvValue::Arbitrary(b) => w.bit_string(ctx(2), b),
    }
}

/// Length octets of the RFC 1698 data header: 3, or more for values of 16 MiB and above.
fn long_octets(len: usize) -> u8 {
    (length_len(len) - 1).max(3) as u8
}

fn identifier(w: &mut Writer, tag: Tag) {
    let mut v = Vec::with_capacity(3);
    tag.encode(&mut v);
    w.raw(&v);
}

/// A writer for a PPDU carrying `ud` and about `extra` octets of its own: sized so that the
/// encoding (the user data is most of it) never grows the buffer.
fn sized_writer(ud: Option<&UserData>, extra: usize, style: EncodeStyle) -> Writer {
    let data = ud.map_or(0, |ud| match ud {
        UserData::Simple(o) => o.len() + 8,
        UserData::Full(lists) => {
            lists
                .iter()
                .map(|l| {
                    let v = match &l.value {
                        PdvValue::SingleAsn1Type(raw) => raw.len(),
                        PdvValue::OctetAligned(o) => o.len(),
                        PdvValue::Arbitrary(b) => b.bytes.len() + 1,
                    };
                    // SEQUENCE, transfer syntax, pcid and value headers (RFC 1698 trailers too).
                    v + l
                        .transfer_syntax
                        .as_ref()
                        .map_or(0, |t| t.as_bytes().len() + 2)
                        + 32
                })
                .sum::<usize>()
                + 8
        }
    });
    Writer::from_vec(Vec::with_capacity(data + extra), style.form())
}

fn user_data(w: &mut Writer, ud: &UserData, style: EncodeStyle, phase: Phase) {
    match ud {
        UserData::Simple(o) => w.primitive(Tag::application(0), o),
        UserData::Full(lists) => w.constructed(Tag::application(1), |w| {
            for l in lists {
                w.constructed(Tag::SEQUENCE, |w| {
                    if let Some(t) = &l.transfer_syntax {
                        w.oid(Tag::OID, t);
                    }
                    w.integer(Tag::INTEGER, l.pcid);
                    pdv_value(w, &l.value, style, phase);
                });
            }
        }),
    }
}

fn mode_selector(w: &mut Writer) {
    w.constructed(ctx(0), |w| w.integer(ctx(0), 1));
}

fn result_list(w: &mut Writer, results: &[ContextResult]) {
    if results.is_empty() {
        return;
    }
    w.constructed(ctx(5), |w| {
        for r in results {
            w.constructed(Tag::SEQUENCE, |w| {
                w.integer(ctx(0), r.result.to_i64());
                if let Some(t) = &r.transfer_syntax {
                    w.oid(ctx(1), t);
                }
                if let Some(p) = r.provider_reason {
                    w.integer(ctx(2), p.to_i64());
                }
            });
        }
    });
}

fn selector(w: &mut Writer, n: u32, s: &Option<Vec<u8>>) {
    if let Some(s) = s {
        w.primitive(ctx(n), s);
    }
}

fn version(w: &mut Writer, v: &Option<ProtocolVersion>) {
    if let Some(v) = v {
        w.bit_string(ctx(0), &v.to_bits());
    }
}

fn requirements(
    w: &mut Writer,
    p: &Option<PresentationRequirements>,
    u: &Option<UserSessionRequirements>,
) {
    if let Some(p) = p {
        w.bit_string(ctx(8), &p.to_bits());
    }
    if let Some(u) = u {
        w.bit_string(ctx(9), &u.to_bits());
    }
}

/// Encodes a CP-type PPDU (normal mode; components in ISO 8823 order).
pub fn encode_cp(cp: &Cp, style: EncodeStyle) -> Vec<u8> {
    let contexts = cp
        .contexts
        .iter()
        .map(|c| {
            c.abstract_syntax.as_bytes().len()
                + c.transfer_syntaxes
                    .iter()
                    .map(|t| t.as_bytes().len() + 2)
                    .sum::<usize>()
                + 16
        })
        .sum::<usize>();
    let selectors = cp.calling_selector.as_ref().map_or(0, Vec::len)
        + cp.called_selector.as_ref().map_or(0, Vec::len);
    let mut w = sized_writer(cp.user_data.as_ref(), contexts + selectors + 80, style);
    w.constructed(Tag::SET, |w| {
        mode_selector(w);
        w.constructed(ctx(2), |w| {
            version(w, &cp.protocol_version);
            selector(w, 1, &cp.calling_selector);
            selector(w, 2, &cp.called_selector);
            if !cp.contexts.is_empty() {
                w.constructed(ctx(4), |w| {
                    for c in &cp.contexts {
                        w.constructed(Tag::SEQUENCE, |w| {
                            w.integer(Tag::INTEGER, c.id);
                            w.oid(Tag::OID, &c.abstract_syntax);
                            w.constructed(Tag::SEQUENCE, |w| {
                                for t in &c.transfer_syntaxes {
                                    w.oid(Tag::OID, t);
                                }
                            });
                        });
                    }
                });
            }
            if let Some(d) = &cp.default_context {
                w.constructed(ctx(6), |w| {
                    w.oid(ctx(0), &d.abstract_syntax);
                    w.oid(ctx(1), &d.transfer_syntax);
                });
            }
            requirements(
                w,
                &cp.presentation_requirements,
                &cp.user_session_requirements,
            );
            if let Some(u) = &cp.user_data {
                user_data(w, u, style, Phase::Connect);
            }
        });
    });
    w.into_bytes()
}

/// Encodes a CPA-PPDU (normal mode).
pub fn encode_cpa(cpa: &Cpa, style: EncodeStyle) -> Vec<u8> {
    let extra = cpa.results.len() * 24 + cpa.responding_selector.as_ref().map_or(0, Vec::len);
    let mut w = sized_writer(cpa.user_data.as_ref(), extra + 64, style);
    w.constructed(Tag::SET, |w| {
        mode_selector(w);
        w.constructed(ctx(2), |w| {
            version(w, &cpa.protocol_version);
            selector(w, 3, &cpa.responding_selector);
            result_list(w, &cpa.results);
            requirements(
                w,
                &cpa.presentation_requirements,
                &cpa.user_session_requirements,
            );
            if let Some(u) = &cpa.user_data {
                user_data(w, u, style, Phase::Connect);
            }
        });
    });
    w.into_bytes()
}

/// Encodes a CPR-PPDU (normal-mode SEQUENCE).
pub fn encode_cpr(cpr: &Cpr, style: EncodeStyle) -> Vec<u8> {
    let mut w = Writer::with_form(style.form());
    w.constructed(Tag::SEQUENCE, |w| {
        version(w, &cpr.protocol_version);
        selector(w, 3, &cpr.responding_selector);
        result_list(w, &cpr.results);
        if let Some(d) = cpr.default_context_result {
            w.integer(ctx(7), d.to_i64());
        }
        if let Some(p) = cpr.provider_reason {
            w.integer(ctx(10), p.to_i64());
        }
        if let Some(u) = &cpr.user_data {
            user_data(w, u, style, Phase::Connect);
        }
    });
    w.into_bytes()
}

/// Encodes an Abort-type: the ARU in `style`, the ARP always definite (OIW SIA 8.3.6).
pub fn encode_abort(abort: &Abort, style: EncodeStyle) -> Vec<u8> {
    match abort {
        Abort::Aru(aru) => {
            let mut w = Writer::with_form(style.form());
            w.constructed(ctx(0), |w| {
                if !aru.contexts.is_empty() {
                    w.constructed(ctx(0), |w| {
                        for c in &aru.contexts {
                            w.constructed(Tag::SEQUENCE, |w| {
                                w.integer(Tag::INTEGER, c.id);
                                w.oid(Tag::OID, &c.transfer_syntax);
                            });
                        }
                    });
                }
                if let Some(u) = &aru.user_data {
                    user_data(w, u, style, Phase::Connect);
                }
            });
            w.into_bytes()
        }
        Abort::Arp(arp) => {
            let mut w = Writer::new();
            w.constructed_definite(Tag::SEQUENCE, |w| {
                if let Some(r) = arp.abort_reason {
                    w.integer(ctx(0), r.to_i64());
                }
                if let Some(e) = arp.event_identifier {
                    w.integer(ctx(1), e.to_i64());
                }
            });
            w.into_bytes()
        }
    }
}

/// Encodes the TD PPDU (P-DATA user information of a DATA TRANSFER SPDU).
pub fn encode_td(ud: &UserData, style: EncodeStyle) -> Vec<u8> {
    let mut w = sized_writer(Some(ud), 8, style);
    user_data(&mut w, ud, style, Phase::Data);
    w.into_bytes()
}

/// The octets [`encode_td`] puts before and after the value of a TD PPDU holding one
/// PDV-list (no transfer syntax name) with one value of `len` octets, single-ASN1-type
/// (`single_asn1`) or octet-aligned: the header written into `out` (cleared first, its room
/// reused), the value's octets, then the returned trailer are exactly what [`encode_td`]
/// gives, so the value need not be copied into an encoder.
pub(crate) fn td_header_into(
    pcid: Pcid,
    single_asn1: bool,
    len: usize,
    style: EncodeStyle,
    out: &mut Vec<u8>,
) -> &'static [u8] {
    let value_tag = if single_asn1 {
        ctx(0).constructed()
    } else {
        ctx(1).primitive()
    };
    // INTEGER pcid: tag, length, at most 8 contents octets.
    let (contents, n) = guls_ber::integer_contents(pcid);
    let mut pcid_buf = [0u8; 10];
    pcid_buf[0] = 0x02;
    pcid_buf[1] = n as u8;
    pcid_buf[2..2 + n].copy_from_slice(&contents[..n]);
    let pcid_tlv = &pcid_buf[..2 + n];
    let mut h = std::mem::take(out);
    h.clear();
    match style {
        EncodeStyle::Canonical => {
            let seq_len = pcid_tlv.len() + value_tag.encoded_len() + length_len(len) + len;
            let app_len = Tag::SEQUENCE.constructed().encoded_len() + length_len(seq_len) + seq_len;
            Tag::application(1).constructed().encode(&mut h);
            encode_length(app_len, &mut h);
            Tag::SEQUENCE.constructed().encode(&mut h);
            encode_length(seq_len, &mut h);
            h.extend_from_slice(pcid_tlv);
            value_tag.encode(&mut h);
            encode_length(len, &mut h);
            *out = h;
            &[]
        }
        EncodeStyle::Rfc1698 => {
            Tag::application(1).constructed().encode(&mut h);
            h.push(0x80);
            Tag::SEQUENCE.constructed().encode(&mut h);
            h.push(0x80);
            h.extend_from_slice(pcid_tlv);
            let mut w = Writer::from_vec(h, LengthForm::Indefinite);
            identifier(&mut w, value_tag);
            w.long_form_length(len, long_octets(len));
            *out = w.into_bytes();
            &[0, 0, 0, 0]
        }
    }
}

/// Encodes the P-RELEASE user data (of a FINISH or DISCONNECT SPDU, RFC 1698 6.5 / 6.6).
pub fn encode_release_user_data(ud: &UserData, style: EncodeStyle) -> Vec<u8> {
    let mut w = sized_writer(Some(ud), 8, style);
    user_data(&mut w, ud, style, Phase::Connect);
    w.into_bytes()
}
