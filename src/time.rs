//! Validation time: seconds since the Unix epoch, passed in by the caller (the core reads no
//! clock), and a strict RFC 3339 parser and formatter for the CLI and JSON output.

use std::fmt;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The current time from the system clock (edges only: CLI, servers).
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixTime(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Parses an RFC 3339 timestamp (`2026-11-23T10:00:00Z`, `2026-11-23T13:30:00+03:30`,
    /// fractional seconds allowed and truncated). Returns `None` for anything else.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b.len() > 40 {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            if part.iter().all(u8::is_ascii_digit) {
                std::str::from_utf8(part).ok()?.parse().ok()
            } else {
                None
            }
        };
        if b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'+' { o } else { -o }
            }
            _ => return None,
        };
        let sec = sec.min(59); // a leap second counts as the last second of its minute
        Some(UnixTime(
            days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset,
        ))
    }

    /// Builds a time from calendar fields (UTC). Fields are not range-checked beyond arithmetic.
    pub fn from_ymd_hms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Self {
        UnixTime(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
    }

    /// Calendar fields (year, month, day, hour, minute, second) in UTC.
    pub fn to_ymd_hms(self) -> (i64, i64, i64, i64, i64, i64) {
        let days = self.0.div_euclid(86400);
        let rem = self.0.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, e.g. `2026-11-23T10:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_ymd_hms();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = UnixTime::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(t.0, 1_795_428_000);
        assert_eq!(t.to_string(), "2026-11-23T10:00:00Z");
        assert_eq!(UnixTime::parse_rfc3339("2026-11-23T13:30:00+03:30"), Some(t));
        assert_eq!(UnixTime::parse_rfc3339("2026-11-23T10:00:00.123456Z"), Some(t));
        assert_eq!(UnixTime::parse_rfc3339("1970-01-01T00:00:00Z"), Some(UnixTime(0)));
        assert_eq!(UnixTime(951_782_400).to_string(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2026-11-23",
            "2026-11-23T10:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T10:00:00+0330",
            "2026-11-23T10:00:00.Z",
            "2026-11-23T10:00:00Zjunk",
            "２026-11-23T10:00:00Z",
        ] {
            assert_eq!(UnixTime::parse_rfc3339(s), None, "{s}");
        }
    }
}
