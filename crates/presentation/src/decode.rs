//! Decoders: lenient, bounded, total.

use guls_ber::{
    Class, DEFAULT_MAX_DEPTH, DecodeError, DecodeResult, Element, ErrorKind, Layer, Reader, Tag,
};

use crate::types::*;

/// The most contents octets of an INTEGER in presentation PCI (OIW SIA 10.4).
pub const MAX_PCI_INTEGER_OCTETS: usize = 4;

/// The P-selector length limit of OIW SIA 8.3.4 / CULR-1.
pub const DEFAULT_MAX_SELECTOR_LEN: usize = 4;

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Maximum BER nesting depth (the guls-ber limit).
    pub max_depth: usize,
    /// Maximum length of a calling, called or responding P-selector; `None` for no limit.
    /// Longer selectors give [`ErrorKind::LimitExceeded`].
    pub max_selector_len: Option<usize>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            max_selector_len: Some(DEFAULT_MAX_SELECTOR_LEN),
        }
    }
}

impl DecodeOptions {
    /// No selector limit (for dissecting foreign traffic); the depth limit stays.
    pub fn dissector() -> Self {
        DecodeOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            max_selector_len: None,
        }
    }
}

const fn ctx(n: u32) -> Tag {
    Tag::context(n)
}

/// Reads exactly one top-level element from `data`.
fn top<'a>(data: &'a [u8], opts: &DecodeOptions, what: &'static str) -> DecodeResult<Element<'a>> {
    let mut r = Reader::new(data, Layer::Presentation).with_max_depth(opts.max_depth);
    if r.is_empty() {
        return Err(r.error(ErrorKind::Missing(what)));
    }
    let e = r.read()?;
    r.finish(what)?;
    Ok(e)
}

fn unexpected(e: &Element<'_>, expected: &'static str) -> DecodeError {
    e.error(ErrorKind::Unexpected {
        expected,
        found: e.tag.to_string(),
    })
}

/// Stores `v` in `slot`, refusing a second occurrence of the same component.
fn once<T>(slot: &mut Option<T>, e: &Element<'_>, what: &'static str, v: T) -> DecodeResult<()> {
    if slot.is_some() {
        return Err(e.error(ErrorKind::Unexpected {
            expected: what,
            found: format!("a second {}", e.tag),
        }));
    }
    *slot = Some(v);
    Ok(())
}

fn is_ctx(e: &Element<'_>, n: u32) -> bool {
    e.tag.class == Class::Context && e.tag.number == n
}

fn pci_int(e: &Element<'_>, what: &'static str) -> DecodeResult<i64> {
    e.integer(what, MAX_PCI_INTEGER_OCTETS)
}

fn selector(e: &Element<'_>, opts: &DecodeOptions, what: &'static str) -> DecodeResult<Vec<u8>> {
    let v = e.octets(what)?.into_owned();
    if let Some(limit) = opts.max_selector_len
        && v.len() > limit
    {
        return Err(e.error(ErrorKind::LimitExceeded { what, limit }));
    }
    Ok(v)
}

/// Checks the Mode-selector SET: only normal-mode (1) is accepted.
fn mode_selector(e: &Element<'_>) -> DecodeResult<()> {
    let mut r = e.reader()?;
    let mut value = None;
    while !r.is_empty() {
        let m = r.read()?;
        if is_ctx(&m, 0) {
            once(
                &mut value,
                &m,
                "mode-value",
                (pci_int(&m, "mode-value")?, m),
            )?;
        }
    }
    match value {
        None => Err(e.error(ErrorKind::Missing("mode-value"))),
        Some((1, _)) => Ok(()),
        Some((0, m)) => Err(m.error(ErrorKind::Unexpected {
            expected: "normal-mode (1)",
            found: "x410-1984-mode (0), which this kernel-only codec does not support".into(),
        })),
        Some((_, m)) => Err(m.error(ErrorKind::Invalid("mode-value"))),
    }
}

/// Splits a CP-type / CPA-PPDU SET into its normal-mode-parameters, checking the mode.
fn connect_set<'a>(e: &Element<'a>, what: &'static str) -> DecodeResult<Element<'a>> {
    if e.tag != Tag::SET {
        return Err(unexpected(e, what));
    }
    let mut r = e.reader()?;
    let mut mode = None;
    let mut normal = None;
    while !r.is_empty() {
        let c = r.read()?;
        if is_ctx(&c, 0) {
            once(&mut mode, &c, "one mode-selector", c)?;
        } else if is_ctx(&c, 2) {
            once(&mut normal, &c, "one normal-mode-parameters", c)?;
        }
        // [1] (X.410-1984 mode parameters) and unknown elements are skipped.
    }
    let mode = mode.ok_or_else(|| e.error(ErrorKind::Missing("mode-selector")))?;
    mode_selector(&mode)?;
    normal.ok_or_else(|| e.error(ErrorKind::Missing("normal-mode-parameters")))
}

fn protocol_version(e: &Element<'_>) -> DecodeResult<ProtocolVersion> {
    Ok(ProtocolVersion::from_bits(
        &e.bit_string("protocol-version")?,
    ))
}

fn context_list(e: &Element<'_>) -> DecodeResult<Vec<ContextDefinition>> {
    let mut r = e.reader()?;
    let mut out = Vec::new();
    while !r.is_empty() {
        let item = r.read_tagged(Tag::SEQUENCE, "context definition SEQUENCE")?;
        let mut ir = item.reader()?;
        let id = pci_int(
            &ir.read_tagged(Tag::INTEGER, "presentation-context-identifier")?,
            "presentation-context-identifier",
        )?;
        let abstract_syntax = ir
            .read_tagged(Tag::OID, "abstract-syntax-name")?
            .oid("abstract-syntax-name")?;
        let list = ir.read_tagged(Tag::SEQUENCE, "transfer-syntax-name list")?;
        let mut lr = list.reader()?;
        let mut transfer_syntaxes = Vec::new();
        while !lr.is_empty() {
            transfer_syntaxes.push(
                lr.read_tagged(Tag::OID, "transfer-syntax-name")?
                    .oid("transfer-syntax-name")?,
            );
        }
        // Later extensions of the item are ignored (OIW SIA 10.6).
        out.push(ContextDefinition {
            id,
            abstract_syntax,
            transfer_syntaxes,
        });
    }
    Ok(out)
}

fn default_context_name(e: &Element<'_>) -> DecodeResult<DefaultContextName> {
    let mut r = e.reader()?;
    let mut abstract_syntax = None;
    let mut transfer_syntax = None;
    while !r.is_empty() {
        let c = r.read()?;
        // ISO 8823 tags the two names [0] and [1] IMPLICIT; the untagged form of some ASN.1
        // copies (two OBJECT IDENTIFIERs in order) is accepted too.
        if is_ctx(&c, 0) || (c.tag == Tag::OID && abstract_syntax.is_none()) {
            once(
                &mut abstract_syntax,
                &c,
                "one abstract-syntax-name",
                c.oid("abstract-syntax-name")?,
            )?;
        } else if is_ctx(&c, 1) || c.tag == Tag::OID {
            once(
                &mut transfer_syntax,
                &c,
                "one transfer-syntax-name",
                c.oid("transfer-syntax-name")?,
            )?;
        }
    }
    Ok(DefaultContextName {
        abstract_syntax: abstract_syntax
            .ok_or_else(|| e.error(ErrorKind::Missing("abstract-syntax-name")))?,
        transfer_syntax: transfer_syntax
            .ok_or_else(|| e.error(ErrorKind::Missing("transfer-syntax-name")))?,
    })
}

fn result_list(e: &Element<'_>) -> DecodeResult<Vec<ContextResult>> {
    let mut r = e.reader()?;
    let mut out = Vec::new();
    while !r.is_empty() {
        let item = r.read_tagged(Tag::SEQUENCE, "result item SEQUENCE")?;
        let mut ir = item.reader()?;
        let mut result = None;
        let mut transfer_syntax = None;
        let mut provider_reason = None;
        while !ir.is_empty() {
            let c = ir.read()?;
            if is_ctx(&c, 0) {
                let v = ResultValue::from_i64(pci_int(&c, "result")?);
                once(&mut result, &c, "one result", v)?;
            } else if is_ctx(&c, 1) {
                let v = c.oid("transfer-syntax-name")?;
                once(&mut transfer_syntax, &c, "one transfer-syntax-name", v)?;
            } else if is_ctx(&c, 2) {
                let v = ResultReason::from_i64(pci_int(&c, "provider-reason")?);
                once(&mut provider_reason, &c, "one provider-reason", v)?;
            }
        }
        out.push(ContextResult {
            result: result.ok_or_else(|| item.error(ErrorKind::Missing("result")))?,
            transfer_syntax,
            provider_reason,
        });
    }
    Ok(out)
}

fn context_identifier_list(e: &Element<'_>) -> DecodeResult<Vec<ContextIdentifier>> {
    let mut r = e.reader()?;
    // ISO 8823 and RFC 1698 6.7 use [0] IMPLICIT; an explicitly tagged list (one SEQUENCE OF
    // wrapping the item SEQUENCEs, as a copy of the module without IMPLICIT would give) is
    // recognised by its first item starting with a SEQUENCE instead of an INTEGER.
    let mut probe = r.clone();
    if let Ok(first) = probe.read()
        && first.tag == Tag::SEQUENCE
        && probe.is_empty()
        && matches!(first.reader()?.peek_tag()?, None | Some(Tag::SEQUENCE))
    {
        r = first.reader()?;
    }
    let mut out = Vec::new();
    while !r.is_empty() {
        let item = r.read_tagged(Tag::SEQUENCE, "context identifier SEQUENCE")?;
        let mut ir = item.reader()?;
        let id = pci_int(
            &ir.read_tagged(Tag::INTEGER, "presentation-context-identifier")?,
            "presentation-context-identifier",
        )?;
        let transfer_syntax = ir
            .read_tagged(Tag::OID, "transfer-syntax-name")?
            .oid("transfer-syntax-name")?;
        out.push(ContextIdentifier {
            id,
            transfer_syntax,
        });
    }
    Ok(out)
}

/// True for the identifiers of User-data (`[APPLICATION 0]` or `[APPLICATION 1]`).
fn is_user_data(e: &Element<'_>) -> bool {
    e.tag.class == Class::Application && e.tag.number <= 1
}

/// Decodes a User-data element (`40`/`60` simply-encoded, `61` fully-encoded).
fn user_data_element(e: &Element<'_>) -> DecodeResult<UserData> {
    if e.tag.class != Class::Application {
        return Err(unexpected(
            e,
            "User-data [APPLICATION 0] or [APPLICATION 1]",
        ));
    }
    match e.tag.number {
        0 => Ok(UserData::Simple(
            e.octets("simply-encoded-data")?.into_owned(),
        )),
        1 => {
            let mut r = e.reader()?;
            let mut lists = Vec::new();
            while !r.is_empty() {
                let l = r.read_tagged(Tag::SEQUENCE, "PDV-list SEQUENCE")?;
                pdv_list(&l, &mut lists)?;
            }
            Ok(UserData::Full(lists))
        }
        _ => Err(unexpected(
            e,
            "User-data [APPLICATION 0] or [APPLICATION 1]",
        )),
    }
}

/// Decodes one PDV-list, appending one [`PdvList`] per presentation-data-values item.
///
/// Several items in one PDV-list (RFC 1698 6.4 a), "each ASN.1 value can be an item", which
/// SIA 8.5 does not sanction, issue R12) are tolerated: each becomes its own `PdvList` with the
/// same context identifier and transfer syntax, the shape SIA 8.5 allows and the encoder sends.
fn pdv_list(e: &Element<'_>, out: &mut Vec<PdvList>) -> DecodeResult<()> {
    let mut r = e.reader()?;
    let mut transfer_syntax = None;
    if let Some(t) = r.read_optional(Tag::OID)? {
        transfer_syntax = Some(t.oid("transfer-syntax-name")?);
    }
    let pcid = pci_int(
        &r.read_tagged(Tag::INTEGER, "presentation-context-identifier")?,
        "presentation-context-identifier",
    )?;
    if r.is_empty() {
        return Err(r.error(ErrorKind::Missing("presentation-data-values")));
    }
    while !r.is_empty() {
        let v = r.read()?;
        if v.tag.class != Class::Context || v.tag.number > 2 {
            return Err(unexpected(&v, "presentation-data-values [0], [1] or [2]"));
        }
        out.push(PdvList {
            transfer_syntax: transfer_syntax.clone(),
            pcid,
            value: PdvValue::decode(&v)?,
        });
    }
    Ok(())
}

/// The one value of a TD PPDU made of exactly one PDV-list with exactly one value,
/// octet-aligned (primitive) or single-ASN1-type: see [`single_value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SingleValue {
    /// The presentation context identifier.
    pub(crate) pcid: Pcid,
    /// Single-ASN1-type (else octet-aligned).
    pub(crate) single_asn1: bool,
    /// Where the value's octets are in the PPDU.
    pub(crate) range: std::ops::Range<usize>,
}

/// A PDV-list's optional transfer-syntax-name and its presentation-context-identifier, as
/// the value fast paths read them.
fn read_list_head(lr: &mut Reader<'_>) -> Option<Pcid> {
    if let Some(t) = lr.read_optional(Tag::OID).ok()? {
        t.oid("transfer-syntax-name").ok()?;
    }
    let pcid = lr
        .read_tagged(Tag::INTEGER, "presentation-context-identifier")
        .ok()?;
    pci_int(&pcid, "presentation-context-identifier").ok()
}

/// For a TD PPDU of one PDV-list with one value, octet-aligned in the primitive form or
/// single-ASN1-type, where that value lies: when this gives `Some`,
/// [`decode_user_data_with`] succeeds with one [`PdvList`] of that context whose value's
/// octets are `data[range]`. It checks the PPDU with the same reads as the full decoder,
/// without copying the value. `None` for any other PPDU (including invalid ones, which the
/// full decoder reports).
pub(crate) fn single_value(data: &[u8], opts: &DecodeOptions) -> Option<SingleValue> {
    let e = top(data, opts, "User-data").ok()?;
    if e.tag.class != Class::Application || e.tag.number != 1 {
        return None;
    }
    let mut r = e.reader().ok()?;
    let list = r.read_tagged(Tag::SEQUENCE, "PDV-list SEQUENCE").ok()?;
    if !r.is_empty() {
        return None;
    }
    let mut lr = list.reader().ok()?;
    let pcid = read_list_head(&mut lr)?;
    let v = lr.read().ok()?;
    if !lr.is_empty() || v.tag.class != Class::Context {
        return None;
    }
    match (v.tag.number, v.tag.constructed) {
        (1, false) => Some(SingleValue {
            pcid,
            single_asn1: false,
            range: v.content_offset..v.content_offset + v.contents.len(),
        }),
        (0, _) => {
            // As `PdvValue::decode`: exactly one element, kept whole.
            let mut vr = v.reader().ok()?;
            let inner = vr.read().ok()?;
            vr.finish("single-ASN1-type value").ok()?;
            Some(SingleValue {
                pcid,
                single_asn1: true,
                range: inner.offset..inner.offset + inner.raw.len(),
            })
        }
        _ => None,
    }
}

/// Where the one value of a TD PPDU lies, read from the PPDU's first octets alone (see
/// [`td_value_split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TdValueSplit {
    /// Offset of the value's first octet: an octet-aligned value's contents, or the
    /// identifier of a single-ASN1-type value's encoding.
    pub value_start: usize,
    /// The whole TD PPDU's length, as its header declares it.
    pub total_len: usize,
}

/// The layout [`td_value_split`] reads: offsets into the PPDU.
#[derive(Debug, Clone)]
struct TdLayout {
    /// The contents of the PDV-list's transfer-syntax-name, when present.
    transfer_syntax: Option<std::ops::Range<usize>>,
    /// The contents of its presentation-context-identifier.
    pcid: std::ops::Range<usize>,
    value_start: usize,
    total_len: usize,
    single_asn1: bool,
}

/// The header at `data[at..]` in the forms a sender of one-value TDs uses: a one-octet
/// identifier (returned as it is) and a length in the short form or in one to four octets.
/// Read as [`guls_ber::peek_header`] reads these forms; `None` for any other (which leaves
/// the PPDU to the full decoder).
fn short_header(data: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let rest = data.get(at..)?;
    let [id, first, ..] = *rest else {
        return None;
    };
    if id & 0x1F == 0x1F {
        return None;
    }
    if first < 0x80 {
        return Some((id, 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7F);
    if !(1..=4).contains(&n) {
        return None;
    }
    let len = rest
        .get(2..2 + n)?
        .iter()
        .fold(0usize, |l, &b| (l << 8) | usize::from(b));
    Some((id, 2 + n, len))
}

/// Identifier octets `td_layout` looks for.
const ID_TD: u8 = 0x61; // [APPLICATION 1] constructed: Fully-encoded-data
const ID_SEQUENCE: u8 = 0x30;
const ID_OID: u8 = 0x06;
const ID_INTEGER: u8 = 0x02;
const ID_OCTET_ALIGNED: u8 = 0x81; // [1] primitive
const ID_SINGLE_ASN1: u8 = 0xA0; // [0] constructed

fn td_layout(head: &[u8]) -> Option<TdLayout> {
    // Definite lengths only: an indefinite form is left to the full decoder.
    let header = |at: usize| short_header(head, at);
    let (td, h1, l1) = header(0)?;
    if td != ID_TD {
        return None;
    }
    let total_len = h1.checked_add(l1)?;
    let (list, h2, l2) = header(h1)?;
    let list_contents = h1 + h2;
    // The PDV-list is the TD's only element.
    if list != ID_SEQUENCE || list_contents.checked_add(l2)? != total_len {
        return None;
    }
    let mut at = list_contents;
    let (mut tag, mut h, mut l) = header(at)?;
    let mut transfer_syntax = None;
    if tag == ID_OID {
        let start = at.checked_add(h)?;
        at = start.checked_add(l)?;
        transfer_syntax = Some(start..at);
        (tag, h, l) = header(at)?;
    }
    if tag != ID_INTEGER {
        return None;
    }
    let pcid_start = at.checked_add(h)?;
    let value_header = pcid_start.checked_add(l)?;
    let (value, h3, l3) = header(value_header)?;
    let single_asn1 = match value {
        ID_OCTET_ALIGNED => false,
        ID_SINGLE_ASN1 => true,
        _ => return None,
    };
    let value_start = value_header + h3;
    // The value is the PDV-list's last element, so it runs to the end of the PPDU.
    if value_start.checked_add(l3)? != total_len || value_start > head.len() {
        return None;
    }
    Some(TdLayout {
        transfer_syntax,
        pcid: pcid_start..value_header,
        value_start,
        total_len,
        single_asn1,
    })
}

/// For a TD PPDU of one PDV-list with one value (octet-aligned in the primitive form, or
/// single-ASN1-type), all in the definite length form: where the value starts and how long
/// the PPDU is, read from its first octets only (`head` may end anywhere after the value's
/// header). A receiver that knows this before the rest arrives can put the value in a
/// buffer of its own as it comes (see `PresentationMachine::on_data_split`). `None` for
/// any other shape; nothing is checked beyond the headers.
pub fn td_value_split(head: &[u8]) -> Option<TdValueSplit> {
    td_layout(head).map(|l| TdValueSplit {
        value_start: l.value_start,
        total_len: l.total_len,
    })
}

/// [`single_value`] for a TD PPDU given in two parts, `head ++ body`, where `head` ends
/// exactly where the value starts: the same answer as `single_value` gives on the joined
/// PPDU (with the range relative to it), but without joining. `None` for any other shape.
pub(crate) fn single_value_split(
    head: &[u8],
    body: &[u8],
    opts: &DecodeOptions,
) -> Option<SingleValue> {
    // `single_value` reads the value's encoding three levels down.
    if opts.max_depth < 3 {
        return None;
    }
    let l = td_layout(head)?;
    if l.value_start != head.len() || head.len().checked_add(body.len())? != l.total_len {
        return None;
    }
    // The elements before the value are whole in `head`, their headers read by
    // `td_layout` (primitive OID and INTEGER tags, nothing else between the list's start and
    // the value): their contents are checked as `read_list_head` checks them.
    if let Some(ts) = l.transfer_syntax {
        guls_ber::Oid::from_content(head.get(ts)?).ok()?;
    }
    let pcid = guls_ber::decode_integer(head.get(l.pcid)?, MAX_PCI_INTEGER_OCTETS.min(8)).ok()?;
    if l.single_asn1 {
        // Exactly one element, kept whole; definite length (no nested scan) only.
        let Ok((_, _, Some(_))) = guls_ber::peek_header(body, Layer::Presentation) else {
            return None;
        };
        let mut vr = Reader::new(body, Layer::Presentation).with_max_depth(opts.max_depth);
        vr.read().ok()?;
        vr.finish("single-ASN1-type value").ok()?;
    }
    Some(SingleValue {
        pcid,
        single_asn1: l.single_asn1,
        range: head.len()..l.total_len,
    })
}

/// Decodes a CP-type PPDU (the user data of a CONNECT SPDU) with the default options.
pub fn decode_cp(data: &[u8]) -> DecodeResult<Cp> {
    decode_cp_with(data, &DecodeOptions::default())
}

/// Decodes a CP-type PPDU with the given limits.
///
/// The mode-selector may follow the normal-mode parameters; unknown elements of the SET, of
/// the normal-mode SEQUENCE (including protocol-options `[11]`, initiators-nominated-context
/// `[12]` and extensions `[14]` of later editions) and of its items are skipped; components
/// are accepted in any order. X.410-1984 mode and a missing normal-mode-parameters are errors.
pub fn decode_cp_with(data: &[u8], opts: &DecodeOptions) -> DecodeResult<Cp> {
    let set = top(data, opts, "CP-type")?;
    let normal = connect_set(&set, "CP-type SET")?;
    let mut r = normal.reader()?;
    let mut cp = Cp::default();
    let mut contexts = None;
    while !r.is_empty() {
        let c = r.read()?;
        if is_ctx(&c, 0) {
            once(
                &mut cp.protocol_version,
                &c,
                "one protocol-version",
                protocol_version(&c)?,
            )?;
        } else if is_ctx(&c, 1) {
            let v = selector(&c, opts, "calling-presentation-selector")?;
            once(
                &mut cp.calling_selector,
                &c,
                "one calling-presentation-selector",
                v,
            )?;
        } else if is_ctx(&c, 2) {
            let v = selector(&c, opts, "called-presentation-selector")?;
            once(
                &mut cp.called_selector,
                &c,
                "one called-presentation-selector",
                v,
            )?;
        } else if is_ctx(&c, 4) {
            once(
                &mut contexts,
                &c,
                "one context-definition-list",
                context_list(&c)?,
            )?;
        } else if is_ctx(&c, 6) {
            let v = default_context_name(&c)?;
            once(&mut cp.default_context, &c, "one default-context-name", v)?;
        } else if is_ctx(&c, 8) {
            let v =
                PresentationRequirements::from_bits(&c.bit_string("presentation-requirements")?);
            once(
                &mut cp.presentation_requirements,
                &c,
                "one presentation-requirements",
                v,
            )?;
        } else if is_ctx(&c, 9) {
            let v = UserSessionRequirements::from_bits(&c.bit_string("user-session-requirements")?);
            once(
                &mut cp.user_session_requirements,
                &c,
                "one user-session-requirements",
                v,
            )?;
        } else if is_user_data(&c) {
            once(
                &mut cp.user_data,
                &c,
                "one user-data",
                user_data_element(&c)?,
            )?;
        }
    }
    cp.contexts = contexts.unwrap_or_default();
    Ok(cp)
}

/// Decodes a CPA-PPDU (the user data of an ACCEPT SPDU) with the default options.
pub fn decode_cpa(data: &[u8]) -> DecodeResult<Cpa> {
    decode_cpa_with(data, &DecodeOptions::default())
}

/// Decodes a CPA-PPDU with the given limits (same leniency as [`decode_cp_with`]).
pub fn decode_cpa_with(data: &[u8], opts: &DecodeOptions) -> DecodeResult<Cpa> {
    let set = top(data, opts, "CPA-PPDU")?;
    let normal = connect_set(&set, "CPA-PPDU SET")?;
    let mut r = normal.reader()?;
    let mut cpa = Cpa::default();
    let mut results = None;
    while !r.is_empty() {
        let c = r.read()?;
        if is_ctx(&c, 0) {
            once(
                &mut cpa.protocol_version,
                &c,
                "one protocol-version",
                protocol_version(&c)?,
            )?;
        } else if is_ctx(&c, 3) {
            let v = selector(&c, opts, "responding-presentation-selector")?;
            once(
                &mut cpa.responding_selector,
                &c,
                "one responding-presentation-selector",
                v,
            )?;
        } else if is_ctx(&c, 5) {
            once(&mut results, &c, "one result-list", result_list(&c)?)?;
        } else if is_ctx(&c, 8) {
            let v =
                PresentationRequirements::from_bits(&c.bit_string("presentation-requirements")?);
            once(
                &mut cpa.presentation_requirements,
                &c,
                "one presentation-requirements",
                v,
            )?;
        } else if is_ctx(&c, 9) {
            let v = UserSessionRequirements::from_bits(&c.bit_string("user-session-requirements")?);
            once(
                &mut cpa.user_session_requirements,
                &c,
                "one user-session-requirements",
                v,
            )?;
        } else if is_user_data(&c) {
            once(
                &mut cpa.user_data,
                &c,
                "one user-data",
                user_data_element(&c)?,
            )?;
        }
    }
    cpa.results = results.unwrap_or_default();
    Ok(cpa)
}

/// Decodes a CPR-PPDU (the user data of a REFUSE SPDU) with the default options.
pub fn decode_cpr(data: &[u8]) -> DecodeResult<Cpr> {
    decode_cpr_with(data, &DecodeOptions::default())
}

/// Decodes a CPR-PPDU with the given limits. Only the normal-mode SEQUENCE is accepted; the
/// X.410-1984 SET alternative is a typed error.
pub fn decode_cpr_with(data: &[u8], opts: &DecodeOptions) -> DecodeResult<Cpr> {
    let seq = top(data, opts, "CPR-PPDU")?;
    if seq.tag != Tag::SEQUENCE {
        return Err(unexpected(
            &seq,
            "normal-mode CPR-PPDU SEQUENCE (X.410-1984 mode is not supported)",
        ));
    }
    let mut r = seq.reader()?;
    let mut cpr = Cpr::default();
    let mut results = None;
    while !r.is_empty() {
        let c = r.read()?;
        if is_ctx(&c, 0) {
            once(
                &mut cpr.protocol_version,
                &c,
                "one protocol-version",
                protocol_version(&c)?,
            )?;
        } else if is_ctx(&c, 3) {
            let v = selector(&c, opts, "responding-presentation-selector")?;
            once(
                &mut cpr.responding_selector,
                &c,
                "one responding-presentation-selector",
                v,
            )?;
        } else if is_ctx(&c, 5) {
            once(&mut results, &c, "one result-list", result_list(&c)?)?;
        } else if is_ctx(&c, 7) {
            let v = ResultValue::from_i64(pci_int(&c, "default-context-result")?);
            once(
                &mut cpr.default_context_result,
                &c,
                "one default-context-result",
                v,
            )?;
        } else if is_ctx(&c, 10) {
            let v = ProviderReason::from_i64(pci_int(&c, "provider-reason")?);
            once(&mut cpr.provider_reason, &c, "one provider-reason", v)?;
        } else if is_user_data(&c) {
            once(
                &mut cpr.user_data,
                &c,
                "one user-data",
                user_data_element(&c)?,
            )?;
        }
    }
    cpr.results = results.unwrap_or_default();
    Ok(cpr)
}

/// Decodes an Abort-type (the user data of an ABORT SPDU): ARU (`A0`) or ARP (`30`).
pub fn decode_abort(data: &[u8]) -> DecodeResult<Abort> {
    decode_abort_with(data, &DecodeOptions::default())
}

/// Decodes an Abort-type with the given limits. The X.410-1984 ARU (a SET) is a typed error.
pub fn decode_abort_with(data: &[u8], opts: &DecodeOptions) -> DecodeResult<Abort> {
    let e = top(data, opts, "Abort-type")?;
    if e.tag == Tag::SEQUENCE {
        let mut r = e.reader()?;
        let mut arp = Arp::default();
        while !r.is_empty() {
            let c = r.read()?;
            if is_ctx(&c, 0) {
                let v = AbortReason::from_i64(pci_int(&c, "abort-reason")?);
                once(&mut arp.abort_reason, &c, "one abort-reason", v)?;
            } else if is_ctx(&c, 1) {
                let v = EventIdentifier::from_i64(pci_int(&c, "event-identifier")?);
                once(&mut arp.event_identifier, &c, "one event-identifier", v)?;
            }
        }
        return Ok(Abort::Arp(arp));
    }
    if e.tag != ctx(0).constructed() {
        return Err(unexpected(
            &e,
            "ARU-PPDU [0] or ARP-PPDU SEQUENCE (X.410-1984 mode is not supported)",
        ));
    }
    let mut r = e.reader()?;
    let mut aru = Aru::default();
    let mut contexts = None;
    while !r.is_empty() {
        let c = r.read()?;
        if is_ctx(&c, 0) {
            let v = context_identifier_list(&c)?;
            once(&mut contexts, &c, "one context-identifier-list", v)?;
        } else if is_user_data(&c) {
            once(
                &mut aru.user_data,
                &c,
                "one user-data",
                user_data_element(&c)?,
            )?;
        }
    }
    aru.contexts = contexts.unwrap_or_default();
    Ok(Abort::Aru(aru))
}

/// Decodes a bare User-data: the TD PPDU (user information of a DATA TRANSFER SPDU) or the
/// P-RELEASE user data (of a FINISH or DISCONNECT SPDU).
pub fn decode_user_data(data: &[u8]) -> DecodeResult<UserData> {
    decode_user_data_with(data, &DecodeOptions::default())
}

/// Decodes a bare User-data with the given limits.
pub fn decode_user_data_with(data: &[u8], opts: &DecodeOptions) -> DecodeResult<UserData> {
    let e = top(data, opts, "User-data")?;
    user_data_element(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `short_header` reads the headers it reads as `peek_header` does (same identifier,
    /// header length and contents length), and reads every definite header with a
    /// one-octet identifier and a length of at most four octets.
    #[test]
    fn short_header_agrees_with_peek_header() {
        let tails: [&[u8]; 7] = [
            &[],
            &[0x05],
            &[0x01, 0x00],
            &[0x00, 0x00, 0x10],
            &[0xFF, 0xFF, 0xFF, 0xFF],
            &[0x00, 0x01, 0x00, 0x00, 0x00, 0x07],
            &[0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
        ];
        for id in 0..=255u8 {
            for first in 0..=255u8 {
                for tail in tails {
                    let mut data = vec![0x30, id, first];
                    data.extend_from_slice(tail);
                    for at in [1, 2] {
                        let peeked = match guls_ber::peek_header(&data[at..], Layer::Presentation) {
                            Ok((tag, len, Some(contents))) => Some((tag, len, contents)),
                            _ => None,
                        };
                        let got = short_header(&data, at);
                        if let Some((id, len, contents)) = got {
                            let Some((tag, l, c)) = peeked else {
                                panic!("{data:02x?} at {at}: read, but peek_header refuses it");
                            };
                            let mut encoded = Vec::new();
                            tag.encode(&mut encoded);
                            assert_eq!((encoded, l, c), (vec![id], len, contents), "{data:02x?}");
                        }
                        let (id, first) = (data[at], data.get(at + 1).copied());
                        let usual = id & 0x1F != 0x1F
                            && first.is_some_and(|f| f < 0x80 || (0x81..=0x84).contains(&f));
                        if peeked.is_some() && usual {
                            assert!(got.is_some(), "{data:02x?} at {at}: not read");
                        }
                    }
                }
            }
        }
        assert_eq!(short_header(&[0x30], 1), None);
        assert_eq!(short_header(&[0x30], 2), None);
    }
}
