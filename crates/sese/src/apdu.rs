//! The SESE APDUs of X.832's module SeseAPDUs (AUTOMATIC TAGS).
//!
//! Tags, as X.680 automatic tagging gives them (spec/GULS-WIRE-NOTES.md section 3.2, checked
//! against asn1tools by `tests/asn1tools_crosscheck.rs`): the CHOICE alternatives are
//! `[0]`/`[1]`/`[2]` IMPLICIT SEQUENCEs; components of CHOICE type (`Identifier`,
//! `InvocationId`, `ProblemCode`) and open types (`seItem`, `errorParameter`) are EXPLICIT;
//! INTEGER, BOOLEAN, ENUMERATED and SEQUENCE OF components are IMPLICIT.
//!
//! Decoding is lenient where BER allows (any length form, BOOLEAN TRUE as any non-zero octet,
//! DEFAULT values sent explicitly) and strict about structure: components must come in the
//! module's order, each at most once, and no element the module does not define is accepted
//! (the module has no extension marker). Open types are kept as the complete inner TLV, as
//! received, until the registry types them.

use std::fmt;

use guls_ber::{
    Class, DecodeResult, Element, ErrorKind, Layer, LengthForm, Oid, Reader, Tag, Writer,
};

/// Most contents octets of an INTEGER field (an `i64`).
const MAX_INT_OCTETS: usize = 8;

/// `Identifier ::= CHOICE {local INTEGER, global OBJECT IDENTIFIER}` (X.830 Notation): names a
/// security exchange (`&sE-Identifier`) or an error (`&errorCode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identifier {
    /// `local [0] IMPLICIT INTEGER`.
    Local(i64),
    /// `global [1] IMPLICIT OBJECT IDENTIFIER`.
    Global(Oid),
}

impl Identifier {
    /// A global identifier.
    pub fn global(oid: Oid) -> Self {
        Identifier::Global(oid)
    }

    /// The OID of a global identifier.
    pub fn as_global(&self) -> Option<&Oid> {
        match self {
            Identifier::Global(o) => Some(o),
            Identifier::Local(_) => None,
        }
    }

    /// Writes the CHOICE value (`80 int` or `81 oid`).
    pub fn write(&self, w: &mut Writer) {
        match self {
            Identifier::Local(v) => w.integer(Tag::context(0), *v),
            Identifier::Global(o) => w.oid(Tag::context(1), o),
        }
    }

    /// Reads the CHOICE value from its element.
    pub fn read(e: &Element<'_>) -> DecodeResult<Self> {
        if e.tag.class == Class::Context && !e.tag.constructed {
            match e.tag.number {
                0 => {
                    return Ok(Identifier::Local(
                        e.integer("Identifier local [0]", MAX_INT_OCTETS)?,
                    ));
                }
                1 => return Ok(Identifier::Global(e.oid("Identifier global [1]")?)),
                _ => {}
            }
        }
        Err(e.error(ErrorKind::Unexpected {
            expected: "Identifier (local [0] INTEGER or global [1] OBJECT IDENTIFIER)",
            found: e.tag.to_string(),
        }))
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Local(v) => write!(f, "local:{v}"),
            Identifier::Global(o) => write!(f, "global:{o}"),
        }
    }
}

/// `InvocationId ::= CHOICE {present INTEGER, absent NULL}`; `Absent` is `noInvocationId`, the
/// DEFAULT of SETransfer and SEUAbort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum InvocationId {
    /// `present [0] IMPLICIT INTEGER`.
    Present(i64),
    /// `absent [1] IMPLICIT NULL` (`noInvocationId`).
    #[default]
    Absent,
}

impl InvocationId {
    /// Writes the CHOICE value (`80 int` or `81 00`).
    pub fn write(&self, w: &mut Writer) {
        match self {
            InvocationId::Present(v) => w.integer(Tag::context(0), *v),
            InvocationId::Absent => w.primitive(Tag::context(1), &[]),
        }
    }

    /// Reads the CHOICE value from its element.
    pub fn read(e: &Element<'_>) -> DecodeResult<Self> {
        if e.tag.class == Class::Context && !e.tag.constructed {
            match e.tag.number {
                0 => {
                    return Ok(InvocationId::Present(
                        e.integer("InvocationId present [0]", MAX_INT_OCTETS)?,
                    ));
                }
                1 if e.contents.is_empty() => return Ok(InvocationId::Absent),
                1 => return Err(e.error(ErrorKind::Invalid("InvocationId absent [1] NULL"))),
                _ => {}
            }
        }
        Err(e.error(ErrorKind::Unexpected {
            expected: "InvocationId (present [0] INTEGER or absent [1] NULL)",
            found: e.tag.to_string(),
        }))
    }
}

impl fmt::Display for InvocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvocationId::Present(v) => write!(f, "{v}"),
            InvocationId::Absent => f.write_str("absent"),
        }
    }
}

guls_ber::int_enum! {
    /// `GeneralProblem ::= ENUMERATED`.
    GeneralProblem {
        /// invalidAPDU (0): an APDU that does not decode as SESEapdus.
        InvalidApdu = 0 => "general.invalidAPDU",
    }
}

guls_ber::int_enum! {
    /// `TransferProblem ::= ENUMERATED` (problems with a received SETransfer).
    TransferProblem {
        /// duplicateInvocationId (0): the invocation id is already in use.
        DuplicateInvocationId = 0 => "transfer.duplicateInvocationId",
        /// unrecognizedSecurityExchange (1): the exchange is not valid in this context.
        UnrecognizedSecurityExchange = 1 => "transfer.unrecognizedSecurityExchange",
        /// mistypedItem (2): the item does not match the exchange's item definitions.
        MistypedItem = 2 => "transfer.mistypedItem",
        /// inappropriateInvocationId (3): the id is outside the set for this context (or, in
        /// this profile, names no active exchange on an item without start flag).
        InappropriateInvocationId = 3 => "transfer.inappropriateInvocationId",
        /// alternatingSequenceError (4): the transfer breaks an alternating exchange's order.
        AlternatingSequenceError = 4 => "transfer.alternatingSequenceError",
    }
}

guls_ber::int_enum! {
    /// `AbortProblem ::= ENUMERATED` (problems with a received SEUAbort).
    AbortProblem {
        /// unrecognizedInvocationId (0): names no active or just-completed exchange.
        UnrecognizedInvocationId = 0 => "abort.unrecognizedInvocationId",
        /// abortUnexpected (1): the exchange does not generate an abort here.
        AbortUnexpected = 1 => "abort.abortUnexpected",
        /// unrecognizedError (2): the exchange does not define this error.
        UnrecognizedError = 2 => "abort.unrecognizedError",
        /// unexpectedError (3): the error is not one the named item may raise.
        UnexpectedError = 3 => "abort.unexpectedError",
        /// mistypedErrorParameter (4): the parameter does not match the error's type.
        MistypedErrorParameter = 4 => "abort.mistypedErrorParameter",
    }
}

/// `ProblemCode ::= CHOICE {general, transfer, abort}` (implicit `[0]`/`[1]`/`[2]` ENUMERATED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    /// `general [0]`.
    General(GeneralProblem),
    /// `transfer [1]`.
    Transfer(TransferProblem),
    /// `abort [2]`.
    Abort(AbortProblem),
}

impl ProblemCode {
    /// The qualified name, e.g. `"transfer.mistypedItem"` (`"transfer.unknown"` for an unnamed
    /// value).
    pub fn name(self) -> &'static str {
        match self {
            ProblemCode::General(GeneralProblem::Unknown(_)) => "general.unknown",
            ProblemCode::Transfer(TransferProblem::Unknown(_)) => "transfer.unknown",
            ProblemCode::Abort(AbortProblem::Unknown(_)) => "abort.unknown",
            ProblemCode::General(p) => p.name(),
            ProblemCode::Transfer(p) => p.name(),
            ProblemCode::Abort(p) => p.name(),
        }
    }

    /// Every value the standard names, in module order.
    pub fn all() -> [ProblemCode; 11] {
        use AbortProblem as A;
        use TransferProblem as T;
        [
            ProblemCode::General(GeneralProblem::InvalidApdu),
            ProblemCode::Transfer(T::DuplicateInvocationId),
            ProblemCode::Transfer(T::UnrecognizedSecurityExchange),
            ProblemCode::Transfer(T::MistypedItem),
            ProblemCode::Transfer(T::InappropriateInvocationId),
            ProblemCode::Transfer(T::AlternatingSequenceError),
            ProblemCode::Abort(A::UnrecognizedInvocationId),
            ProblemCode::Abort(A::AbortUnexpected),
            ProblemCode::Abort(A::UnrecognizedError),
            ProblemCode::Abort(A::UnexpectedError),
            ProblemCode::Abort(A::MistypedErrorParameter),
        ]
    }

    fn write(&self, w: &mut Writer) {
        match self {
            ProblemCode::General(p) => w.integer(Tag::context(0), p.value()),
            ProblemCode::Transfer(p) => w.integer(Tag::context(1), p.value()),
            ProblemCode::Abort(p) => w.integer(Tag::context(2), p.value()),
        }
    }

    fn read(e: &Element<'_>) -> DecodeResult<Self> {
        if e.tag.class == Class::Context && !e.tag.constructed && e.tag.number <= 2 {
            let v = e.integer("ProblemCode ENUMERATED", MAX_INT_OCTETS)?;
            return Ok(match e.tag.number {
                0 => ProblemCode::General(GeneralProblem::from_i64(v)),
                1 => ProblemCode::Transfer(TransferProblem::from_i64(v)),
                _ => ProblemCode::Abort(AbortProblem::from_i64(v)),
            });
        }
        Err(e.error(ErrorKind::Unexpected {
            expected: "ProblemCode (general [0], transfer [1] or abort [2])",
            found: e.tag.to_string(),
        }))
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `SETransfer` (`se-transfer [0]`): one security exchange item. These are also the parameters
/// of the SE-TRANSFER request and indication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeTransfer {
    /// `seIdentifier [0]`: the security exchange.
    pub se_identifier: Identifier,
    /// `itemIdentifier [1]`: the item of that exchange.
    pub item_identifier: i64,
    /// `seItem [2]`: the item value, the complete inner TLV.
    pub item: Vec<u8>,
    /// `invocationId [3] DEFAULT noInvocationId` (omitted on send when `Absent`).
    pub invocation_id: InvocationId,
    /// `startFlag [4] DEFAULT FALSE`: first item of an exchange instance.
    pub start: bool,
    /// `endFlag [5] DEFAULT FALSE`: last item of an exchange instance.
    pub end: bool,
}

/// `SEerror`: one error signalled in an SE-U-ABORT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeError {
    /// `errorCode [0] Identifier OPTIONAL`.
    pub code: Option<Identifier>,
    /// `errorParameter [1]` open type OPTIONAL: the complete inner TLV.
    pub parameter: Option<Vec<u8>>,
}

impl SeError {
    /// An error with a code and no parameter.
    pub fn code(code: Identifier) -> Self {
        SeError {
            code: Some(code),
            parameter: None,
        }
    }

    /// An error with a code and a parameter (its complete TLV).
    pub fn with_parameter(code: Identifier, parameter: Vec<u8>) -> Self {
        SeError {
            code: Some(code),
            parameter: Some(parameter),
        }
    }
}

/// `SEUAbort` (`se-u-abort [1]`): the SE-U-ABORT request and indication parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeUAbort {
    /// `invocationId [0] DEFAULT noInvocationId`.
    pub invocation_id: InvocationId,
    /// `itemIdentifier [1] OPTIONAL`: the received item the abort answers.
    pub item_identifier: Option<i64>,
    /// `errors [2] SEQUENCE OF SEerror OPTIONAL` (`Some(vec![])` is an empty list, sent).
    pub errors: Option<Vec<SeError>>,
}

/// `SEPAbort` (`se-p-abort [2]`): a provider abort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SePAbort {
    /// `invocationId [0] OPTIONAL`.
    pub invocation_id: Option<InvocationId>,
    /// `itemIdentifier [1] OPTIONAL`.
    pub item_identifier: Option<i64>,
    /// `problemCode [2]`.
    pub problem: ProblemCode,
}

/// One SESE APDU: the `SESEapdus` CHOICE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeseApdu {
    /// `se-transfer [0]`.
    Transfer(SeTransfer),
    /// `se-u-abort [1]`.
    UAbort(SeUAbort),
    /// `se-p-abort [2]`.
    PAbort(SePAbort),
}

impl SeseApdu {
    /// Decodes exactly one APDU; trailing octets are an error. Errors name [`Layer::Sese`] and
    /// an offset from the start of `data`.
    pub fn decode(data: &[u8]) -> DecodeResult<SeseApdu> {
        let mut r = Reader::new(data, Layer::Sese);
        let e = r.read()?;
        r.finish("SESE APDU")?;
        Self::decode_element(&e)
    }

    /// Decodes an APDU from an element already read by a reader of the caller's.
    pub fn decode_element(e: &Element<'_>) -> DecodeResult<SeseApdu> {
        if e.tag.class == Class::Context && e.tag.constructed {
            match e.tag.number {
                0 => return decode_transfer(e).map(SeseApdu::Transfer),
                1 => return decode_u_abort(e).map(SeseApdu::UAbort),
                2 => return decode_p_abort(e).map(SeseApdu::PAbort),
                _ => {}
            }
        }
        Err(e.error(ErrorKind::Unexpected {
            expected: "SESEapdus (se-transfer [0], se-u-abort [1] or se-p-abort [2], constructed)",
            found: e.tag.to_string(),
        }))
    }

    /// The canonical encoding: definite minimal lengths, DEFAULT values omitted.
    pub fn encode(&self) -> Vec<u8> {
        // Sized for the open-type contents plus the headers around them, so that the
        // buffer is not regrown while a certificate-bearing item is written.
        let open = match self {
            SeseApdu::Transfer(t) => t.item.len(),
            SeseApdu::UAbort(a) => a
                .errors
                .iter()
                .flatten()
                .map(|e| e.parameter.as_ref().map_or(0, Vec::len) + 32)
                .sum(),
            SeseApdu::PAbort(_) => 0,
        };
        let mut w = Writer::from_vec(Vec::with_capacity(open + 64), LengthForm::Definite);
        self.write(&mut w);
        w.into_bytes()
    }

    /// Appends the encoding to a writer (using the writer's length form).
    pub fn write(&self, w: &mut Writer) {
        match self {
            SeseApdu::Transfer(t) => w.constructed(Tag::context(0), |w| {
                w.constructed(Tag::context(0), |w| t.se_identifier.write(w));
                w.integer(Tag::context(1), t.item_identifier);
                w.constructed(Tag::context(2), |w| w.raw(&t.item));
                if t.invocation_id != InvocationId::Absent {
                    w.constructed(Tag::context(3), |w| t.invocation_id.write(w));
                }
                if t.start {
                    w.boolean(Tag::context(4), true);
                }
                if t.end {
                    w.boolean(Tag::context(5), true);
                }
            }),
            SeseApdu::UAbort(a) => w.constructed(Tag::context(1), |w| {
                if a.invocation_id != InvocationId::Absent {
                    w.constructed(Tag::context(0), |w| a.invocation_id.write(w));
                }
                if let Some(i) = a.item_identifier {
                    w.integer(Tag::context(1), i);
                }
                if let Some(errors) = &a.errors {
                    w.constructed(Tag::context(2), |w| {
                        for e in errors {
                            w.constructed(Tag::SEQUENCE, |w| {
                                if let Some(c) = &e.code {
                                    w.constructed(Tag::context(0), |w| c.write(w));
                                }
                                if let Some(p) = &e.parameter {
                                    w.constructed(Tag::context(1), |w| w.raw(p));
                                }
                            });
                        }
                    });
                }
            }),
            SeseApdu::PAbort(p) => w.constructed(Tag::context(2), |w| {
                if let Some(id) = &p.invocation_id {
                    w.constructed(Tag::context(0), |w| id.write(w));
                }
                if let Some(i) = p.item_identifier {
                    w.integer(Tag::context(1), i);
                }
                w.constructed(Tag::context(2), |w| p.problem.write(w));
            }),
        }
    }

    /// `se-transfer`, `se-u-abort` or `se-p-abort`.
    pub fn name(&self) -> &'static str {
        match self {
            SeseApdu::Transfer(_) => "se-transfer",
            SeseApdu::UAbort(_) => "se-u-abort",
            SeseApdu::PAbort(_) => "se-p-abort",
        }
    }
}

/// Reads the components of a SEQUENCE whose components are all context-tagged, in strictly
/// increasing tag order, each number at most `max`.
fn components<'a>(
    seq: &Element<'a>,
    what: &'static str,
    max: u32,
    mut f: impl FnMut(u32, &Element<'a>) -> DecodeResult<()>,
) -> DecodeResult<()> {
    let mut r = seq.reader()?;
    let mut next = 0u32;
    while !r.is_empty() {
        let e = r.read()?;
        if e.tag.class != Class::Context || e.tag.number > max || e.tag.number < next {
            return Err(e.error(ErrorKind::Unexpected {
                expected: what,
                found: e.tag.to_string(),
            }));
        }
        next = e.tag.number + 1;
        f(e.tag.number, &e)?;
    }
    Ok(())
}

/// The one element inside an explicit tag.
fn explicit_inner<'a>(e: &Element<'a>, what: &'static str) -> DecodeResult<Element<'a>> {
    if !e.tag.constructed {
        return Err(e.error(ErrorKind::Unexpected {
            expected: what,
            found: e.tag.to_string(),
        }));
    }
    let mut r = e.reader()?;
    if r.is_empty() {
        return Err(r.error(ErrorKind::Missing(what)));
    }
    let inner = r.read()?;
    r.finish(what)?;
    Ok(inner)
}

fn implicit_integer(e: &Element<'_>, what: &'static str) -> DecodeResult<i64> {
    e.integer(what, MAX_INT_OCTETS)
}

fn decode_transfer(seq: &Element<'_>) -> DecodeResult<SeTransfer> {
    let mut id = None;
    let mut item_id = None;
    let mut item = None;
    let mut t = SeTransfer {
        se_identifier: Identifier::Local(0),
        item_identifier: 0,
        item: Vec::new(),
        invocation_id: InvocationId::Absent,
        start: false,
        end: false,
    };
    components(
        seq,
        "an SETransfer component [0]..[5] in order",
        5,
        |n, e| {
            match n {
                0 => id = Some(Identifier::read(&explicit_inner(e, "seIdentifier [0]")?)?),
                1 => item_id = Some(implicit_integer(e, "itemIdentifier [1]")?),
                2 => item = Some(explicit_inner(e, "seItem [2]")?.raw.to_vec()),
                3 => t.invocation_id = InvocationId::read(&explicit_inner(e, "invocationId [3]")?)?,
                4 => t.start = e.boolean("startFlag [4]")?,
                _ => t.end = e.boolean("endFlag [5]")?,
            }
            Ok(())
        },
    )?;
    t.se_identifier = id.ok_or_else(|| seq.error(ErrorKind::Missing("seIdentifier [0]")))?;
    t.item_identifier =
        item_id.ok_or_else(|| seq.error(ErrorKind::Missing("itemIdentifier [1]")))?;
    t.item = item.ok_or_else(|| seq.error(ErrorKind::Missing("seItem [2]")))?;
    Ok(t)
}

fn decode_u_abort(seq: &Element<'_>) -> DecodeResult<SeUAbort> {
    let mut a = SeUAbort::default();
    components(seq, "an SEUAbort component [0]..[2] in order", 2, |n, e| {
        match n {
            0 => a.invocation_id = InvocationId::read(&explicit_inner(e, "invocationId [0]")?)?,
            1 => a.item_identifier = Some(implicit_integer(e, "itemIdentifier [1]")?),
            _ => a.errors = Some(decode_errors(e)?),
        }
        Ok(())
    })?;
    Ok(a)
}

fn decode_errors(e: &Element<'_>) -> DecodeResult<Vec<SeError>> {
    const WHAT: &str = "errors [2] SEQUENCE OF SEerror";
    if !e.tag.constructed {
        return Err(e.error(ErrorKind::Unexpected {
            expected: WHAT,
            found: e.tag.to_string(),
        }));
    }
    let mut r = e.reader()?;
    let mut out = Vec::new();
    while !r.is_empty() {
        let s = r.read_tagged(Tag::SEQUENCE, "SEerror SEQUENCE")?;
        let mut err = SeError {
            code: None,
            parameter: None,
        };
        components(&s, "an SEerror component [0]..[1] in order", 1, |n, c| {
            if n == 0 {
                err.code = Some(Identifier::read(&explicit_inner(c, "errorCode [0]")?)?);
            } else {
                err.parameter = Some(explicit_inner(c, "errorParameter [1]")?.raw.to_vec());
            }
            Ok(())
        })?;
        out.push(err);
    }
    Ok(out)
}

fn decode_p_abort(seq: &Element<'_>) -> DecodeResult<SePAbort> {
    let mut invocation_id = None;
    let mut item_identifier = None;
    let mut problem = None;
    components(seq, "an SEPAbort component [0]..[2] in order", 2, |n, e| {
        match n {
            0 => invocation_id = Some(InvocationId::read(&explicit_inner(e, "invocationId [0]")?)?),
            1 => item_identifier = Some(implicit_integer(e, "itemIdentifier [1]")?),
            _ => problem = Some(ProblemCode::read(&explicit_inner(e, "problemCode [2]")?)?),
        }
        Ok(())
    })?;
    Ok(SePAbort {
        invocation_id,
        item_identifier,
        problem: problem.ok_or_else(|| seq.error(ErrorKind::Missing("problemCode [2]")))?,
    })
}
