//! Times as people read and type them, without a date library: UTC
//! formatting of ms-since-epoch values and parsing of `--since`.
//!
//! Pure functions; the caller passes `now`.

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_SECOND: u64 = 1_000;
const MS_PER_MINUTE: u64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: u64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;

/// The system clock in ms since the Unix epoch (0 if the clock is before
/// 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A calendar date and time of day in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    fn from_ms(ms: u64) -> Self {
        let days = ms / MS_PER_DAY;
        let rest = ms % MS_PER_DAY;
        let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 2));
        let (month, day) = (u32::from(month), u32::from(day));
        // The remainder of a day is below 86 400 000, so these fit in u32.
        let secs = u32::try_from(rest / MS_PER_SECOND).unwrap_or(0);
        Self {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

pub(crate) fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub(crate) fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `2026-11-22T02:41:07Z`.
#[cfg(test)]
fn rfc3339(ms: u64) -> String {
    let c = Civil::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `2026-11-22 02:41 UTC`.
pub fn date_time(ms: u64) -> String {
    let c = Civil::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// `02:41`, UTC.
pub fn clock(ms: u64) -> String {
    let c = Civil::from_ms(ms);
    format!("{:02}:{:02}", c.hour, c.minute)
}

/// What `--since` accepts, for error messages.
pub const SINCE_FORMS: &str = "a duration back from now (30s, 15m, 2h, 7d, 2w), a UTC date or \
     time (2026-11-22, 2026-11-22T14:30, 2026-11-22T14:30:00Z) or ms since the Unix epoch";

/// Parses a `--since` value into ms since the Unix epoch: a duration back
/// from `now_ms`, a UTC date or date-time, or a plain ms timestamp.
pub fn parse_since(input: &str, now_ms: u64) -> Result<u64, String> {
    let s = input.trim();
    let fail = || format!("invalid time {input:?}; use {SINCE_FORMS}");
    if s.is_empty() {
        return Err(fail());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|_| fail());
    }
    if let Some(ms) = parse_duration_ms(s) {
        return Ok(now_ms.saturating_sub(ms));
    }
    parse_utc(s).ok_or_else(fail)
}

/// `15m`, `2h`, `7d`… into ms.
fn parse_duration_ms(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit_ms = match unit {
        "s" | "sec" | "secs" => MS_PER_SECOND,
        "m" | "min" | "mins" => MS_PER_MINUTE,
        "h" | "hour" | "hours" => MS_PER_HOUR,
        "d" | "day" | "days" => MS_PER_DAY,
        "w" | "week" | "weeks" => 7 * MS_PER_DAY,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `YYYY-MM-DD`, optionally followed by `THH:MM` or `THH:MM:SS` (a space
/// may replace `T`) and an optional `Z`; always UTC.
fn parse_utc(s: &str) -> Option<u64> {
    let s = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix('z'))
        .unwrap_or(s);
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let year: i64 = fixed_digits(parts.next()?, 4)?;
    let month: u8 = fixed_digits(parts.next()?, 2)?;
    let day: u8 = fixed_digits(parts.next()?, 2)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    let (hour, minute, second) = match time {
        None => (0, 0, 0),
        Some(t) => {
            let mut parts = t.split(':');
            let h: u32 = fixed_digits(parts.next()?, 2)?;
            let m: u32 = fixed_digits(parts.next()?, 2)?;
            let sec: u32 = match parts.next() {
                Some(p) => fixed_digits(p, 2)?,
                None => 0,
            };
            if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
                return None;
            }
            (h, m, sec)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    u64::try_from(secs).ok()?.checked_mul(MS_PER_SECOND)
}

fn fixed_digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2023-11-14T22:13:20Z
    const T: u64 = 1_700_000_000_000;

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(T), "2023-11-14T22:13:20Z");
        assert_eq!(date_time(T), "2023-11-14 22:13 UTC");
        assert_eq!(clock(T), "22:13");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_durations_dates_and_timestamps() {
        assert_eq!(parse_since("2h", T), Ok(T - 2 * MS_PER_HOUR));
        assert_eq!(parse_since("15m", T), Ok(T - 15 * MS_PER_MINUTE));
        assert_eq!(parse_since("1w", T), Ok(T - 7 * MS_PER_DAY));
        assert_eq!(parse_since("123", T), Ok(123));
        assert_eq!(parse_since("2023-11-14T22:13:20Z", 0), Ok(T));
        assert_eq!(parse_since("2023-11-14 22:13:20", 0), Ok(T));
        assert_eq!(
            parse_since("2023-11-14", 0),
            Ok(T - (22 * 3600 + 13 * 60 + 20) * 1000)
        );
        assert_eq!(parse_since("2000-02-29", 0), Ok(951_782_400_000));
        assert_eq!(parse_since("100000d", 5), Ok(0));
    }

    #[test]
    fn refuses_what_it_cannot_read_and_says_what_is_accepted() {
        for bad in [
            "",
            "yesterday",
            "2h30",
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "5y",
            "-3d",
        ] {
            let err = parse_since(bad, T).unwrap_err();
            assert!(err.contains("duration back from now"), "{bad}: {err}");
        }
    }

    #[test]
    fn date_conversion_round_trips() {
        for days in [0i64, 1, 59, 365, 10_957, 19_675, 50_000, -1, -719_468] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
