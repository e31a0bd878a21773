//! RFC 3339 UTC timestamps with milliseconds (`2024-02-29T13:05:09.042Z`).
//!
//! Hand-written rather than taken from the `time` crate: the audit log needs exactly one
//! format, in UTC only, from [`SystemTime`]; that is one calendar conversion of twenty lines
//! (checked day by day against a naive calendar walk in the tests), while `time` would add a
//! dependency with its own feature set and MSRV for a single call.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of a timestamp produced by [`rfc3339_millis`]: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub const TIMESTAMP_LEN: usize = 24;

/// The civil (proleptic Gregorian) date of a day number counted from 1970-01-01.
///
/// The year is shifted to start on March 1st so that the leap day is the last day of the
/// shifted year; a 400-year era has exactly 146 097 days, within which the year, the day of
/// the year and then the month follow by integer division.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Day 0 of the computation is 0000-03-01, 719 468 days before 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // day of era, 0..=146_096
    // Year of era: remove the leap days (every 4 years, except every 100, except 400).
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of (March-based) year, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats `t` as an RFC 3339 UTC timestamp with millisecond precision, for instance
/// `2024-02-29T13:05:09.042Z`. Times before 1970 (a clock set wrong) are written as the epoch.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// Whether `s` has exactly the shape [`rfc3339_millis`] writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`,
/// month 01-12, day 01-31, hour 00-23, minute and second 00-59).
pub fn is_rfc3339_millis(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != TIMESTAMP_LEN {
        return false;
    }
    let shape = b"dddd-dd-ddTdd:dd:dd.dddZ";
    let ok = b.iter().zip(shape).all(|(c, p)| match p {
        b'd' => c.is_ascii_digit(),
        _ => c == p,
    });
    if !ok {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
    (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, millis: u64) -> String {
        rfc3339_millis(UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis))
    }

    #[test]
    fn known_instants() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(at(1_709_214_309, 42), "2024-02-29T13:45:09.042Z");
        assert_eq!(at(4_102_444_800, 999), "2100-01-01T00:00:00.999Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59.000Z");
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339_millis(before), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn every_day_matches_a_naive_calendar_walk() {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(600 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn shape_check() {
        assert!(is_rfc3339_millis(&rfc3339_millis(SystemTime::now())));
        assert!(!is_rfc3339_millis("2024-02-29T13:45:09Z"));
        assert!(!is_rfc3339_millis("2024-13-29T13:45:09.000Z"));
        assert!(!is_rfc3339_millis("2024-02-29T24:45:09.000Z"));
        assert!(!is_rfc3339_millis("2024-02-29 13:45:09.000Z"));
    }
}
