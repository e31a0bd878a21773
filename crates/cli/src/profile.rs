//! Profiles of `guls serve`, `guls connect` and `guls demo`: which application context and
//! presentation contexts an association uses, and the MMS values of the `mms` profile.

use std::fmt;
use std::str::FromStr;

use guls_association::{
    AssociationConfig, ContextProposal, External, ExternalEncoding, Oid, SupportedSyntax,
};
use guls_ber::{Reader, Tag, Writer, known};

/// Which association profile to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// This project's demo profile: application context ARC.4.1, abstract syntax ARC.4.2,
    /// BER (ARCHITECTURE.md section 4).
    #[default]
    Demo,
    /// ACSE + MMS as libiec61850 speaks it: application context 1.0.9506.2.3, abstract syntax
    /// 1.0.9506.2.1, an MMS Initiate-Request/Response in the AARQ/AARE user information.
    Mms,
}

impl Profile {
    /// The lower-case name (`demo` or `mms`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Demo => "demo",
            Profile::Mms => "mms",
        }
    }

    /// The application context name.
    pub fn application_context(self) -> Oid {
        match self {
            Profile::Demo => demo_application_context(),
            Profile::Mms => known::MMS_APPLICATION_CONTEXT,
        }
    }

    /// The profile's own abstract syntax (the context data goes in by default).
    pub fn abstract_syntax(self) -> Oid {
        match self {
            Profile::Demo => demo_abstract_syntax(),
            Profile::Mms => known::MMS_ABSTRACT_SYNTAX,
        }
    }

    /// The association configuration of the profile (both roles), before `--context`.
    pub fn config(self) -> AssociationConfig {
        match self {
            Profile::Demo => {
                AssociationConfig::single(demo_application_context(), demo_abstract_syntax())
            }
            Profile::Mms => AssociationConfig::mms(),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The demo application context, ARC.4.1.
pub fn demo_application_context() -> Oid {
    arc_child(&[4, 1])
}

/// The demo abstract syntax, ARC.4.2.
pub fn demo_abstract_syntax() -> Oid {
    arc_child(&[4, 2])
}

fn arc_child(tail: &[u128]) -> Oid {
    let mut arcs = known::GULS_ARC.arcs();
    arcs.extend_from_slice(tail);
    Oid::from_arcs(&arcs).expect("ARC children are valid object identifiers")
}

/// `ARC`, this project's arc (ARCHITECTURE.md section 4), as text.
pub fn arc_text() -> String {
    known::GULS_ARC.to_string()
}

/// A friendly name for the object identifiers the programs print: OIDs under this project's
/// arc are shortened to `ARC.x.y`, well-known ones are named.
pub fn oid_label(oid: &Oid) -> String {
    let name = if *oid == known::ACSE_ABSTRACT_SYNTAX {
        Some("ACSE")
    } else if *oid == known::BER {
        Some("BER")
    } else if *oid == known::MMS_ABSTRACT_SYNTAX {
        Some("MMS")
    } else if *oid == known::MMS_APPLICATION_CONTEXT {
        Some("MMS application context")
    } else if *oid == demo_application_context() {
        Some("demo application context")
    } else if *oid == demo_abstract_syntax() {
        Some("demo abstract syntax")
    } else if *oid == known::PASSWORD_MECHANISM {
        Some("password")
    } else {
        None
    };
    let arc = known::GULS_ARC.arcs();
    let arcs = oid.arcs();
    let text = if arcs.len() > arc.len() && arcs.starts_with(&arc) {
        let tail: Vec<String> = arcs[arc.len()..].iter().map(|a| a.to_string()).collect();
        format!("ARC.{}", tail.join("."))
    } else {
        oid.to_string()
    };
    match name {
        Some(n) => format!("{text} ({n})"),
        None => text,
    }
}

/// A `--context AS=TS` argument: an abstract syntax and one transfer syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextArg {
    /// The abstract syntax.
    pub abstract_syntax: Oid,
    /// The transfer syntax.
    pub transfer_syntax: Oid,
}

impl FromStr for ContextArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, t) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected ABSTRACT-SYNTAX=TRANSFER-SYNTAX (two OIDs)"))?;
        let parse = |what: &str, v: &str| {
            Oid::from_str(v).map_err(|e| format!("`{s}`: {what} `{v}` is not an OID ({e:?})"))
        };
        Ok(ContextArg {
            abstract_syntax: parse("abstract syntax", a)?,
            transfer_syntax: parse("transfer syntax", t)?,
        })
    }
}

/// Adds `--context` arguments as contexts a responder supports (a repeated abstract syntax
/// gains the further transfer syntax).
pub fn add_supported(config: &mut AssociationConfig, contexts: &[ContextArg]) {
    for c in contexts {
        let list = &mut config.presentation.supported;
        match list
            .iter_mut()
            .find(|s| s.abstract_syntax == c.abstract_syntax)
        {
            Some(s) if !s.transfer_syntaxes.contains(&c.transfer_syntax) => {
                s.transfer_syntaxes.push(c.transfer_syntax.clone())
            }
            Some(_) => {}
            None => list.push(SupportedSyntax {
                abstract_syntax: c.abstract_syntax.clone(),
                transfer_syntaxes: vec![c.transfer_syntax.clone()],
            }),
        }
    }
}

/// Adds `--context` arguments as contexts an initiator proposes (a repeated abstract syntax
/// offers the further transfer syntax in the same context).
pub fn add_proposed(config: &mut AssociationConfig, contexts: &[ContextArg]) {
    for c in contexts {
        let list = &mut config.presentation.contexts;
        match list
            .iter_mut()
            .find(|p| p.abstract_syntax == c.abstract_syntax)
        {
            Some(p) if !p.transfer_syntaxes.contains(&c.transfer_syntax) => {
                p.transfer_syntaxes.push(c.transfer_syntax.clone())
            }
            Some(_) => {}
            None => list.push(ContextProposal {
                abstract_syntax: c.abstract_syntax.clone(),
                transfer_syntaxes: vec![c.transfer_syntax.clone()],
            }),
        }
    }
}

/// The MMS presentation context identifier libiec61850 uses (the second proposed context).
pub const MMS_PCID: i64 = 3;

/// The MMS Initiate-Request libiec61850 1.5.3 sends in its AARQ (PEERS.md section 6).
pub const MMS_INITIATE_REQUEST: &[u8] = &[
    0xa8, 0x26, 0x80, 0x03, 0x00, 0xfd, 0xe8, 0x81, 0x01, 0x05, 0x82, 0x01, 0x05, 0x83, 0x01, 0x0a,
    0xa4, 0x16, 0x80, 0x01, 0x01, 0x81, 0x03, 0x05, 0xf1, 0x00, 0x82, 0x0c, 0x03, 0xee, 0x1c, 0x00,
    0x00, 0x04, 0x08, 0x00, 0x00, 0x79, 0xef, 0x18,
];

/// The MMS Initiate-Response libiec61850 1.5.3 answers in its AARE (PEERS.md section 6).
pub const MMS_INITIATE_RESPONSE: &[u8] = &[
    0xa9, 0x26, 0x80, 0x03, 0x00, 0xfd, 0xe8, 0x81, 0x01, 0x05, 0x82, 0x01, 0x05, 0x83, 0x01, 0x0a,
    0xa4, 0x16, 0x80, 0x01, 0x01, 0x81, 0x03, 0x05, 0xf1, 0x00, 0x82, 0x0c, 0x03, 0xee, 0x1c, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x18,
];

/// The AARQ user information of the MMS profile: the canned Initiate-Request in context 3.
pub fn mms_initiate_request() -> External {
    External::single_asn1(MMS_PCID, MMS_INITIATE_REQUEST.to_vec())
}

/// The MMS Initiate-Request in AARQ user information, when there is one: its context
/// identifier (the one to answer in).
pub fn find_mms_initiate_request(user_information: &[External]) -> Option<i64> {
    user_information.iter().find_map(|e| match &e.encoding {
        ExternalEncoding::SingleAsn1Type(v) if v.first() == Some(&0xa8) => {
            Some(e.indirect_reference.unwrap_or(MMS_PCID))
        }
        _ => None,
    })
}

/// True when AARE user information carries an MMS Initiate-Response.
pub fn has_mms_initiate_response(user_information: &[External]) -> bool {
    user_information.iter().any(
        |e| matches!(&e.encoding, ExternalEncoding::SingleAsn1Type(v) if v.first() == Some(&0xa9)),
    )
}

/// The answer of the `mms` profile to an MMS PDU, for the two requests it knows: a
/// confirmed-RequestPDU `identify` gets an Identify-Response (vendor `guls`), a
/// Conclude-RequestPDU gets a Conclude-ResponsePDU. `None` for anything else (echoed).
pub fn mms_answer(pdu: &[u8]) -> Option<Vec<u8>> {
    if pdu == [0x8b, 0x00] {
        return Some(vec![0x8c, 0x00]);
    }
    let mut r = Reader::new(pdu, guls_ber::Layer::Application);
    let outer = r.read().ok()?;
    r.finish("MMS PDU").ok()?;
    if outer.tag != Tag::context(0).constructed() {
        return None;
    }
    let mut inner = outer.reader().ok()?;
    let invoke = inner.read_tagged(Tag::INTEGER, "invokeID").ok()?;
    let service = inner.read().ok()?;
    inner.finish("confirmed-RequestPDU").ok()?;
    if service.tag != Tag::context(2) || !service.contents.is_empty() {
        return None;
    }
    let mut w = Writer::new();
    w.constructed_definite(Tag::context(1).constructed(), |w| {
        w.primitive(Tag::INTEGER, invoke.contents);
        w.constructed_definite(Tag::context(2).constructed(), |w| {
            w.primitive(Tag::context(0), b"guls");
            w.primitive(Tag::context(1), b"guls serve");
            w.primitive(Tag::context(2), env!("CARGO_PKG_VERSION").as_bytes());
        });
    });
    Some(w.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_oids_are_under_the_arc() {
        assert_eq!(
            demo_application_context().to_string(),
            "2.25.36238538382872986225690784931241271656.4.1"
        );
        assert_eq!(
            demo_abstract_syntax().to_string(),
            "2.25.36238538382872986225690784931241271656.4.2"
        );
    }

    #[test]
    fn labels_shorten_the_arc() {
        assert_eq!(
            oid_label(&demo_abstract_syntax()),
            "ARC.4.2 (demo abstract syntax)"
        );
        assert_eq!(oid_label(&known::BER), "2.1.1 (BER)");
        assert_eq!(oid_label(&known::GULS_ARC), arc_text());
    }

    #[test]
    fn context_arg_parses() {
        let c: ContextArg = "1.3.9999.1=2.1.1".parse().unwrap();
        assert_eq!(c.abstract_syntax.to_string(), "1.3.9999.1");
        assert_eq!(c.transfer_syntax, known::BER);
        assert!("1.3.9999.1".parse::<ContextArg>().is_err());
        assert!("x=2.1.1".parse::<ContextArg>().is_err());
    }

    #[test]
    fn identify_and_conclude_are_answered() {
        let rsp = mms_answer(&[0xa0, 0x05, 0x02, 0x01, 0x01, 0x82, 0x00]).unwrap();
        assert_eq!(&rsp[..2], &[0xa1, rsp.len() as u8 - 2]);
        assert_eq!(&rsp[2..5], &[0x02, 0x01, 0x01]);
        assert_eq!(rsp[5], 0xa2);
        assert_eq!(mms_answer(&[0x8b, 0x00]), Some(vec![0x8c, 0x00]));
        assert_eq!(mms_answer(b"hello"), None);
        assert_eq!(mms_answer(&[0xa0, 0x03, 0x02, 0x01, 0x01]), None);
    }

    #[test]
    fn canned_initiate_pdus_are_one_tlv() {
        for v in [MMS_INITIATE_REQUEST, MMS_INITIATE_RESPONSE] {
            let mut r = Reader::new(v, guls_ber::Layer::Application);
            r.read().unwrap();
            r.finish("initiate").unwrap();
        }
    }
}
