//! Solar Hijri (Persian) dates, as the Iranian card's EF 0303 holds them, to and from the
//! Gregorian calendar. The 33-year arithmetic rule (a year `y` is leap when
//! `(25·y + 11) mod 33 < 8`) agrees with the astronomical calendar (and with `icu_calendar`)
//! for every year this code accepts, 1300..=1500 AP (records.md); anchored on Nowruz 1404 =
//! 2025-03-21.

use crate::time::UnixTime;

/// First and last year accepted.
pub const YEARS: std::ops::RangeInclusive<i64> = 1300..=1500;

const DAY: i64 = 86_400;

/// Whether Solar Hijri year `y` has 366 days.
pub fn is_leap(y: i64) -> bool {
    (25 * y + 11).rem_euclid(33) < 8
}

fn month_len(y: i64, m: i64) -> i64 {
    match m {
        1..=6 => 31,
        7..=11 => 30,
        _ if is_leap(y) => 30,
        _ => 29,
    }
}

/// Days from 1 Farvardin 1404 to 1 Farvardin `y`.
fn nowruz_offset(y: i64) -> i64 {
    let len = |y: i64| if is_leap(y) { 366 } else { 365 };
    if y >= 1404 {
        (1404..y).map(len).sum()
    } else {
        -(y..1404).map(len).sum::<i64>()
    }
}

/// Gregorian `(year, month, day)` of Solar Hijri `y/m/d`; `None` outside [`YEARS`] or for a
/// day the month does not have.
pub fn to_gregorian(y: i64, m: i64, d: i64) -> Option<(i64, i64, i64)> {
    if !YEARS.contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_len(y, m) {
        return None;
    }
    let day_of_year: i64 = (1..m).map(|k| month_len(y, k)).sum::<i64>() + d - 1;
    let nowruz_1404 = UnixTime::from_ymd_hms(2025, 3, 21, 0, 0, 0);
    let t = UnixTime(nowruz_1404.0 + (nowruz_offset(y) + day_of_year) * DAY);
    let (gy, gm, gd, ..) = t.to_ymd_hms();
    Some((gy, gm, gd))
}

/// Solar Hijri `(year, month, day)` of a Gregorian date; `None` outside [`YEARS`].
pub fn from_gregorian(gy: i64, gm: i64, gd: i64) -> Option<(i64, i64, i64)> {
    let t = UnixTime::from_ymd_hms(gy, gm, gd, 0, 0, 0);
    let nowruz_1404 = UnixTime::from_ymd_hms(2025, 3, 21, 0, 0, 0);
    let days = (t.0 - nowruz_1404.0).div_euclid(DAY);
    // Estimate the year, then correct by at most one either way.
    let mut y = 1404 + days.div_euclid(365);
    while y > *YEARS.start() && nowruz_offset(y) > days {
        y -= 1;
    }
    while nowruz_offset(y + 1) <= days {
        y += 1;
    }
    if !YEARS.contains(&y) {
        return None;
    }
    let mut rest = days - nowruz_offset(y);
    let mut m = 1;
    while rest >= month_len(y, m) {
        rest -= month_len(y, m);
        m += 1;
    }
    Some((y, m, rest + 1))
}

/// Parses `YYYY/MM/DD` (or with `-`; Persian or Arabic-Indic digits accepted) as a Solar Hijri
/// date and returns it as `(y, m, d)` when it exists.
pub fn parse(s: &str) -> Option<(i64, i64, i64)> {
    let norm: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '-' => '/',
            c => c,
        })
        .collect();
    let mut it = norm.split('/');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some()
        || y.len() != 4
        || !(1..=2).contains(&m.len())
        || !(1..=2).contains(&d.len())
        || ![y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    to_gregorian(y, m, d).map(|_| (y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nowruz_and_known_days() {
        assert_eq!(to_gregorian(1404, 1, 1), Some((2025, 3, 21)));
        assert_eq!(to_gregorian(1405, 1, 1), Some((2026, 3, 21)));
        assert_eq!(to_gregorian(1403, 1, 1), Some((2024, 3, 20)));
        assert_eq!(to_gregorian(1403, 12, 30), Some((2025, 3, 20)));
        assert_eq!(to_gregorian(1404, 12, 30), None); // 1404 is not leap
        assert_eq!(to_gregorian(1399, 1, 1), Some((2020, 3, 20)));
        assert_eq!(to_gregorian(1357, 11, 22), Some((1979, 2, 11)));
        assert_eq!(to_gregorian(1405, 9, 14), Some((2026, 12, 5)));
    }

    #[test]
    fn round_trip_every_day() {
        let mut t = UnixTime::from_ymd_hms(1990, 1, 1, 0, 0, 0);
        let end = UnixTime::from_ymd_hms(2060, 1, 1, 0, 0, 0);
        while t.0 < end.0 {
            let (gy, gm, gd, ..) = t.to_ymd_hms();
            let (y, m, d) = from_gregorian(gy, gm, gd).unwrap();
            assert_eq!(to_gregorian(y, m, d), Some((gy, gm, gd)));
            t.0 += DAY;
        }
    }

    #[test]
    fn parses_text() {
        assert_eq!(parse("1403/01/15"), Some((1403, 1, 15)));
        assert_eq!(parse("۱۴۰۳/۰۱/۱۵"), Some((1403, 1, 15)));
        assert_eq!(parse("1403-1-5"), Some((1403, 1, 5)));
        assert_eq!(parse("1404/12/30"), None);
        assert_eq!(parse("1403/13/01"), None);
        assert_eq!(parse("2025/01/01"), None);
        assert_eq!(parse("14030101"), None);
    }
}
