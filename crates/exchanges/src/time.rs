//! Time: the caller's clock, and UTCTime / GeneralizedTime in seconds since the Unix epoch.
//!
//! No role machine of this crate reads the wall clock: every one asks the [`Clock`] it was
//! given, so tests (and a policy with its own notion of time) decide what "now" is.

use std::time::Duration;

use guls_crypto::rustls_pki_types::UnixTime;

/// Where role machines get the current time from.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// A clock that always says the same time (tests, replays of recorded traffic).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(self.0))
    }
}

/// The system clock, for callers that want it (the roles only ever see a [`Clock`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}

/// Seconds since the epoch of a [`UnixTime`].
pub(crate) fn secs(t: UnixTime) -> u64 {
    t.as_secs()
}

/// Seconds since 1970-01-01 of a calendar date and time (proleptic Gregorian, UTC).
pub(crate) fn from_civil(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> Option<u64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59
    {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss);
    u64::try_from(t).ok()
}

/// The calendar date and time of seconds since 1970-01-01 (UTC).
pub(crate) fn to_civil(t: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (t / 86_400) as i64;
    let rem = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The latest instant UTCTime can express (2049-12-31T23:59:59Z).
pub const UTC_TIME_MAX: u64 = 2_524_607_999;

/// `UTCTime` contents `YYMMDDHHMMSSZ` (the DER form). Times after 2049 are clamped to
/// [`UTC_TIME_MAX`]; callers that need them use GeneralizedTime.
pub(crate) fn utc_time_string(t: u64) -> String {
    let (y, m, d, hh, mm, ss) = to_civil(t.min(UTC_TIME_MAX));
    format!("{:02}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z", y.rem_euclid(100))
}

/// `GeneralizedTime` contents `YYYYMMDDHHMMSSZ` (the DER form; a year past 9999 takes as many
/// digits as it needs), written on the stack: a time is encoded in every token and item.
pub(crate) fn generalized_time(t: u64) -> TimeText {
    let (y, m, d, hh, mm, ss) = to_civil(t);
    let mut text = TimeText {
        octets: [0; TimeText::CAPACITY],
        len: 0,
    };
    // `y` is at least 1970 (t is unsigned) and at most about 5.8e11: at most 12 digits.
    let year = y.unsigned_abs();
    let year_digits = (year.max(1).ilog10() + 1).max(4) as usize;
    for i in 0..year_digits {
        let power = 10u64.pow((year_digits - 1 - i) as u32);
        text.push((year / power % 10) as u8);
    }
    for two in [m, d, hh, mm, ss] {
        text.push((two / 10) as u8);
        text.push((two % 10) as u8);
    }
    if let Some(o) = text.octets.get_mut(text.len) {
        *o = b'Z';
        text.len += 1;
    }
    text
}

/// The text of a time ([`generalized_time`]).
pub(crate) struct TimeText {
    octets: [u8; TimeText::CAPACITY],
    len: usize,
}

impl TimeText {
    /// 12 year digits, 10 more and the `Z`, with room to spare.
    const CAPACITY: usize = 32;

    fn push(&mut self, digit: u8) {
        if let Some(o) = self.octets.get_mut(self.len) {
            *o = b'0' + digit;
            self.len += 1;
        }
    }

    /// The octets (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.octets.get(..self.len).unwrap_or_default()
    }
}

/// [`generalized_time`] as a `String`.
#[cfg(test)]
pub(crate) fn generalized_time_string(t: u64) -> String {
    String::from_utf8_lossy(generalized_time(t).as_bytes()).into_owned()
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |a, &b| {
        a.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// Parses the time-of-day and zone part shared by both types: `HHMM[SS][.fff](Z|±hhmm)`
/// (fractions only when `fraction_ok`). Returns (hh, mm, ss, offset seconds east of UTC).
fn parse_tail(s: &[u8], fraction_ok: bool) -> Option<(u32, u32, u32, i64)> {
    let (body, offset) = match s.last()? {
        b'Z' => (&s[..s.len() - 1], 0i64),
        _ if s.len() >= 5 && (s[s.len() - 5] == b'+' || s[s.len() - 5] == b'-') => {
            let z = &s[s.len() - 4..];
            let (oh, om) = (digits(&z[..2])?, digits(&z[2..])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            let sign = if s[s.len() - 5] == b'+' { 1 } else { -1 };
            (&s[..s.len() - 5], sign * off)
        }
        _ => return None,
    };
    let (body, _fraction) = match body.iter().position(|&b| b == b'.' || b == b',') {
        Some(p) if fraction_ok && p == 6 && body.len() > 7 => {
            digits(&body[p + 1..])?;
            (&body[..p], true)
        }
        Some(_) => return None,
        None => (body, false),
    };
    match body.len() {
        4 => Some((digits(&body[..2])?, digits(&body[2..4])?, 0, offset)),
        6 => Some((
            digits(&body[..2])?,
            digits(&body[2..4])?,
            digits(&body[4..6])?,
            offset,
        )),
        _ => None,
    }
}

fn apply_offset(t: u64, offset: i64) -> Option<u64> {
    u64::try_from(i64::try_from(t).ok()?.checked_sub(offset)?).ok()
}

/// Parses UTCTime contents (`YYMMDDHHMM[SS](Z|±hhmm)`; years 50–99 are 19xx).
pub(crate) fn parse_utc_time(s: &[u8]) -> Option<u64> {
    if s.len() < 11 {
        return None;
    }
    let yy = digits(&s[..2])?;
    let y = if yy >= 50 { 1900 + yy } else { 2000 + yy };
    let (m, d) = (digits(&s[2..4])?, digits(&s[4..6])?);
    let (hh, mm, ss, off) = parse_tail(&s[6..], false)?;
    apply_offset(from_civil(i64::from(y), m, d, hh, mm, ss)?, off)
}

/// Parses GeneralizedTime contents (`YYYYMMDDHHMM[SS][.fff](Z|±hhmm)`; fractions are
/// dropped; a local time without zone is refused).
pub(crate) fn parse_generalized_time(s: &[u8]) -> Option<u64> {
    if s.len() < 13 {
        return None;
    }
    let y = digits(&s[..4])?;
    let (m, d) = (digits(&s[4..6])?, digits(&s[6..8])?);
    let (hh, mm, ss, off) = parse_tail(&s[8..], true)?;
    apply_offset(from_civil(i64::from(y), m, d, hh, mm, ss)?, off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for t in [
            0u64,
            951_782_400,
            1_700_000_000,
            UTC_TIME_MAX,
            4_102_444_800,
        ] {
            let (y, m, d, hh, mm, ss) = to_civil(t);
            assert_eq!(from_civil(y, m, d, hh, mm, ss), Some(t));
        }
        assert_eq!(utc_time_string(1_700_000_000), "231114221320Z");
        assert_eq!(generalized_time_string(0), "19700101000000Z");
        // The digits are those `format!` writes, for every sort of time up to u64::MAX.
        let mut t = 1u64;
        let mut times = vec![0, 59, 86_399, 951_782_400, 1_700_000_000, 253_402_300_799];
        times.extend([253_402_300_800, u64::MAX / 2, u64::MAX - 1, u64::MAX]);
        while t < u64::MAX / 3 {
            times.push(t);
            t = t * 3 + 7;
        }
        for t in times {
            let (y, m, d, hh, mm, ss) = to_civil(t);
            assert_eq!(
                generalized_time_string(t),
                format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z"),
                "{t}"
            );
        }
        assert_eq!(parse_utc_time(b"231114221320Z"), Some(1_700_000_000));
        assert_eq!(parse_utc_time(b"2311142213Z"), Some(1_699_999_980));
        assert_eq!(parse_utc_time(b"231114231320+0100"), Some(1_700_000_000));
        assert_eq!(
            parse_generalized_time(b"20231114221320.5Z"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_utc_time(b"231314221320Z"), None);
        assert_eq!(parse_utc_time(b"230229000000Z"), None);
        assert_eq!(parse_generalized_time(b"20231114221320"), None);
    }
}
