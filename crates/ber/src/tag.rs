//! BER identifier octets.

use std::fmt;

/// The class bits of a BER identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// UNIVERSAL (00).
    Universal,
    /// APPLICATION (01).
    Application,
    /// context-specific (10).
    Context,
    /// PRIVATE (11).
    Private,
}

/// A BER tag: class, primitive/constructed form and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The class.
    pub class: Class,
    /// True for the constructed form.
    pub constructed: bool,
    /// The tag number.
    pub number: u32,
}

impl Tag {
    /// BOOLEAN.
    pub const BOOLEAN: Tag = Tag::universal(1);
    /// INTEGER.
    pub const INTEGER: Tag = Tag::universal(2);
    /// BIT STRING (primitive form).
    pub const BIT_STRING: Tag = Tag::universal(3);
    /// OCTET STRING (primitive form).
    pub const OCTET_STRING: Tag = Tag::universal(4);
    /// NULL.
    pub const NULL: Tag = Tag::universal(5);
    /// OBJECT IDENTIFIER.
    pub const OID: Tag = Tag::universal(6);
    /// ObjectDescriptor (primitive form).
    pub const OBJECT_DESCRIPTOR: Tag = Tag::universal(7);
    /// EXTERNAL (always constructed).
    pub const EXTERNAL: Tag = Tag::universal(8).constructed();
    /// ENUMERATED.
    pub const ENUMERATED: Tag = Tag::universal(10);
    /// SEQUENCE / SEQUENCE OF (always constructed).
    pub const SEQUENCE: Tag = Tag::universal(16).constructed();
    /// SET / SET OF (always constructed).
    pub const SET: Tag = Tag::universal(17).constructed();
    /// PrintableString (primitive form).
    pub const PRINTABLE_STRING: Tag = Tag::universal(19);
    /// GraphicString (primitive form).
    pub const GRAPHIC_STRING: Tag = Tag::universal(25);
    /// UTF8String (primitive form).
    pub const UTF8_STRING: Tag = Tag::universal(12);

    /// A primitive UNIVERSAL tag.
    pub const fn universal(number: u32) -> Tag {
        Tag {
            class: Class::Universal,
            constructed: false,
            number,
        }
    }

    /// A primitive APPLICATION tag.
    pub const fn application(number: u32) -> Tag {
        Tag {
            class: Class::Application,
            constructed: false,
            number,
        }
    }

    /// A primitive context-specific tag.
    pub const fn context(number: u32) -> Tag {
        Tag {
            class: Class::Context,
            constructed: false,
            number,
        }
    }

    /// The same tag in constructed form.
    pub const fn constructed(self) -> Tag {
        Tag {
            constructed: true,
            ..self
        }
    }

    /// The same tag in primitive form.
    pub const fn primitive(self) -> Tag {
        Tag {
            constructed: false,
            ..self
        }
    }

    /// The tag of a one-octet identifier (low tag number form, `b & 0x1F != 0x1F`).
    #[inline]
    pub(crate) const fn from_identifier(b: u8) -> Tag {
        Tag {
            class: match b >> 6 {
                0 => Class::Universal,
                1 => Class::Application,
                2 => Class::Context,
                _ => Class::Private,
            },
            constructed: b & 0x20 != 0,
            number: (b & 0x1F) as u32,
        }
    }

    /// The class and form bits of the first identifier octet.
    #[inline]
    const fn class_form_bits(self) -> u8 {
        let class_bits = match self.class {
            Class::Universal => 0x00,
            Class::Application => 0x40,
            Class::Context => 0x80,
            Class::Private => 0xC0,
        };
        class_bits | if self.constructed { 0x20 } else { 0x00 }
    }

    /// The identifier octet of a tag below 31 (which encodes to one octet).
    #[inline]
    pub(crate) const fn short_identifier(self) -> u8 {
        self.class_form_bits() | self.number as u8
    }

    /// True when class and number match, whatever the form.
    pub fn same_number(self, other: Tag) -> bool {
        self.class == other.class && self.number == other.number
    }

    /// Number of identifier octets this tag encodes to.
    pub fn encoded_len(self) -> usize {
        if self.number < 31 {
            1
        } else {
            let mut n = 1;
            let mut v = self.number;
            while v > 0 {
                n += 1;
                v >>= 7;
            }
            n
        }
    }

    /// Appends the identifier octets.
    #[inline]
    pub fn encode(self, out: &mut Vec<u8>) {
        // Almost every tag is below 31 and takes one octet; the high-tag-number form stays out
        // of line so that callers inline only the push.
        if self.number < 31 {
            out.push(self.short_identifier());
        } else {
            self.encode_long(out);
        }
    }

    /// The high-tag-number form: `1F` with the class and form bits, then base-128 septets.
    #[inline(never)]
    fn encode_long(self, out: &mut Vec<u8>) {
        out.push(self.class_form_bits() | 0x1F);
        // The number in base-128 septets, as an OID subidentifier is written.
        crate::oid::push_subidentifier(u128::from(self.number), out);
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = if self.constructed { "c" } else { "p" };
        match self.class {
            Class::Universal => write!(f, "[UNIVERSAL {}]{}", self.number, form),
            Class::Application => write!(f, "[APPLICATION {}]{}", self.number, form),
            Class::Context => write!(f, "[{}]{}", self.number, form),
            Class::Private => write!(f, "[PRIVATE {}]{}", self.number, form),
        }
    }
}
