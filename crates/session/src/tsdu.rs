//! TSDUs: the SPDUs a transport service data unit carries, and their User Information.

use crate::error::EncodeError;
use crate::spdu::{Category, Spdu, SpduType, decode_spdu_at, spdu_header};
use crate::wire::err;
use guls_ber::{DecodeResult, ErrorKind};

/// An SPDU and its offset in the TSDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PositionedSpdu {
    /// Offset of the SPDU's SI octet.
    pub offset: usize,
    /// The SPDU.
    pub spdu: Spdu,
}

/// A decoded TSDU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Tsdu {
    /// The SPDUs, in order: one category 1 SPDU, a category 0 SPDU alone, a category 0
    /// SPDU followed by a category 2 SPDU (basic concatenation), or a lone category 2 SPDU.
    pub spdus: Vec<PositionedSpdu>,
    /// User Information after a DATA TRANSFER or TYPED DATA SPDU (the presentation PDU);
    /// empty otherwise.
    pub user_information: Vec<u8>,
    /// Offset of the User Information in the TSDU (the TSDU length when there is none).
    pub user_information_offset: usize,
}

impl Tsdu {
    /// The SPDUs without their offsets.
    pub fn spdu_list(&self) -> impl Iterator<Item = &Spdu> {
        self.spdus.iter().map(|p| &p.spdu)
    }

    /// The last SPDU (the one that says what the TSDU is for), if any.
    pub fn main_spdu(&self) -> Option<&Spdu> {
        self.spdus.last().map(|p| &p.spdu)
    }

    /// Appends the SPDUs in order, then the User Information.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for s in &self.spdus {
            s.spdu.encode(out)?;
        }
        out.extend_from_slice(&self.user_information);
        Ok(())
    }
}

/// The data TSDU of RFC 1698 6.4: GIVE TOKENS and DATA TRANSFER without parameters
/// (`01 00 01 00`), then the User Information (a presentation TD PPDU).
pub fn encode_data_tsdu(user_information: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + user_information.len());
    out.extend_from_slice(&[SpduType::GiveTokens.si(), 0, SpduType::DataTransfer.si(), 0]);
    out.extend_from_slice(user_information);
    out
}

/// A TSDU holding one SPDU (a category 1 SPDU such as CN, AC, RF, FN, DN, AB or AA).
pub fn encode_spdu(spdu: &Spdu) -> Result<Vec<u8>, EncodeError> {
    spdu.to_bytes()
}

/// Decodes a TSDU into its SPDUs and trailing User Information.
///
/// The first SPDU's SI is read as a category 0 or 1 type ([`SpduType::first_in_tsdu`]).
/// After a category 0 SPDU (GT, PT), the next SPDU is read as category 2
/// ([`SpduType::category2`]). SI 1 first and followed by octets that do not start a category 2
/// SPDU is a lone DATA TRANSFER whose User Information follows (accepted on receipt; senders
/// use `01 00 01 00`). User Information follows DT and TD; anything left after any other
/// SPDU is an error (extended concatenation is not supported, OIW SIA 9.3.1).
pub fn decode_tsdu(data: &[u8]) -> DecodeResult<Tsdu> {
    let Some(&si) = data.first() else {
        return Err(err(
            0,
            ErrorKind::Truncated {
                what: "SPDU header",
                needed: 2,
                available: 0,
            },
        ));
    };
    let mut first =
        SpduType::first_in_tsdu(si).ok_or_else(|| unknown_si(0, si, "an SPDU identifier"))?;
    let (_, first_end) = spdu_header(data, 0)?;
    if first == SpduType::GiveTokens {
        if let Some(&next) = data.get(first_end) {
            if SpduType::category2(next).is_none() {
                // A lone DATA TRANSFER: its User Information starts right after it.
                first = SpduType::DataTransfer;
            }
        }
    }
    let (spdu, mut end) = decode_spdu_at(data, 0, first)?;
    let mut spdus = vec![PositionedSpdu { offset: 0, spdu }];
    let mut last = first;
    if end < data.len() && first.category() == Category::Zero {
        let next_si = data.get(end).copied().unwrap_or_default();
        let t = SpduType::category2(next_si)
            .ok_or_else(|| unknown_si(end, next_si, "a category 2 SPDU after a category 0 SPDU"))?;
        let (spdu, e) = decode_spdu_at(data, end, t)?;
        spdus.push(PositionedSpdu { offset: end, spdu });
        last = t;
        end = e;
    }
    let rest = data.get(end..).unwrap_or_default();
    if !rest.is_empty() && !last.carries_user_information() {
        // Name what follows when it looks like an SPDU, to make the error useful.
        let what = if spdu_header(data, end).is_ok() {
            "end of TSDU (extended concatenation is not supported)"
        } else {
            "end of TSDU"
        };
        return Err(err(
            end,
            ErrorKind::Unexpected {
                expected: what,
                found: format!("{} more octets after {}", rest.len(), last.name()),
            },
        ));
    }
    Ok(Tsdu {
        spdus,
        user_information: rest.to_vec(),
        user_information_offset: end,
    })
}

fn unknown_si(offset: usize, si: u8, expected: &'static str) -> guls_ber::DecodeError {
    err(
        offset,
        ErrorKind::Unexpected {
            expected,
            found: format!("SI {si}"),
        },
    )
}
