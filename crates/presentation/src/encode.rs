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
    // The usual header (canonical style, a context identifier of one contents octet) is
    // written with fixed stores; any other is left to the general encoder.
    if style == EncodeStyle::Canonical && (0..0x80).contains(&pcid) {
        let (head, n) = td_header_short(pcid as u8, single_asn1, len);
        out.clear();
        out.extend_from_slice(head.get(..n).unwrap_or_default());
        return &[];
    }
    td_header_general(pcid, single_asn1, len, style, out)
}

/// The most octets [`td_header_short`] writes: `61 L 30 L 02 01 pcid tag L`, each length
/// at most 1 + 8 octets.
const TD_SHORT_MAX: usize = 6 + 3 * 9;

/// Writes a definite, minimal length (as [`encode_length`] does) at `buf[at..]`; returns
/// where it ends.
#[inline(always)]
fn put_length(buf: &mut [u8; TD_SHORT_MAX], at: usize, len: usize) -> usize {
    if len < 0x80 {
        if let Some(b) = buf.get_mut(at) {
            *b = len as u8;
        }
        return at + 1;
    }
    let n = length_len(len) - 1;
    let be = len.to_be_bytes();
    if let Some(b) = buf.get_mut(at) {
        *b = 0x80 | n as u8;
    }
    if let (Some(dst), Some(src)) = (buf.get_mut(at + 1..at + 1 + n), be.get(be.len() - n..)) {
        dst.copy_from_slice(src);
    }
    at + 1 + n
}

/// [`td_header_into`]'s canonical header for a context identifier `pcid` below 128 (one
/// contents octet): the octets and their number.
#[inline]
fn td_header_short(pcid: u8, single_asn1: bool, len: usize) -> ([u8; TD_SHORT_MAX], usize) {
    // [APPLICATION 1] { SEQUENCE { INTEGER pcid, [0] (single-ASN1) / [1] (octet-aligned) } }
    let value_tag = if single_asn1 { 0xA0 } else { 0x81 };
    let seq_len = 3 + 1 + length_len(len) + len;
    let app_len = 1 + length_len(seq_len) + seq_len;
    let mut h = [0u8; TD_SHORT_MAX];
    h[0] = 0x61;
    let at = put_length(&mut h, 1, app_len);
    if let Some(b) = h.get_mut(at) {
        *b = 0x30;
    }
    let at = put_length(&mut h, at + 1, seq_len);
    if let Some(dst) = h.get_mut(at..at + 4) {
        dst.copy_from_slice(&[0x02, 0x01, pcid, value_tag]);
    }
    let at = put_length(&mut h, at + 4, len);
    (h, at)
}

/// [`td_header_into`] by the general encoder (any style and context identifier).
#[inline(never)]
fn td_header_general(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-store header is the general encoder's, octet for octet, at every length
    /// boundary and for every one-octet context identifier.
    #[test]
    fn short_td_header_matches_general() {
        let lens = [
            0usize,
            1,
            100,
            0x7F - 8,
            0x7F,
            0x80,
            0xFF,
            0x100,
            0xFFFF - 10,
            0xFFFF,
            0x1_0000,
            65_536 + 7,
            0xFF_FFFF,
            0x100_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            usize::MAX / 2,
        ];
        for pcid in 0..0x80i64 {
            for &len in &lens {
                for single_asn1 in [false, true] {
                    let mut general = Vec::new();
                    let t = td_header_general(
                        pcid,
                        single_asn1,
                        len,
                        EncodeStyle::Canonical,
                        &mut general,
                    );
                    assert!(t.is_empty());
                    let mut fast = vec![9; 3];
                    let t =
                        td_header_into(pcid, single_asn1, len, EncodeStyle::Canonical, &mut fast);
                    assert!(t.is_empty());
                    assert_eq!(fast, general, "pcid {pcid} len {len} single {single_asn1}");
                }
            }
        }
    }
}
