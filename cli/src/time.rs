//! Times as people read and type them, with jiff: the clock, the time zone
//! of this machine, instants (ms since the Unix epoch) written in it, and
//! `--since` values.
//!
//! The zone comes from `TZ`, else from the system (`/etc/localtime`).
//! Anything that cannot be read falls back to UTC, and every time shown
//! names its zone, so a wrong zone is visible rather than silent.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};

/// Largest TZif file read for `TZ=/path`; real ones are a few KiB.
const MAX_TZIF_BYTES: u64 = 256 * 1024;

/// The system clock in ms since the Unix epoch (0 if the clock is before
/// 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The time zone of this machine, looked up once: `TZ` if set (see
/// [`zone_from_tz`]), else the system's, else UTC.
pub(crate) fn system_zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| match std::env::var_os("TZ") {
        Some(tz) => zone_from_tz(&tz),
        None => TimeZone::try_system().unwrap_or(TimeZone::UTC),
    })
}

/// The zone a `TZ` value names: empty means UTC; a leading `:` is dropped;
/// then an absolute path to a TZif file, a zone name of the system's
/// database (`Europe/Paris`) or a POSIX rule (`CET-1CEST,M3.5.0,M10.5.0/3`).
/// Anything else, or anything unreadable, is UTC.
///
/// Files are read here rather than by jiff so that a `TZ` naming a device
/// or a fifo cannot block or fill memory: only regular files, capped.
pub(crate) fn zone_from_tz(tz: &OsStr) -> TimeZone {
    let Some(tz) = tz.to_str() else {
        return TimeZone::UTC;
    };
    let name = tz.strip_prefix(':').unwrap_or(tz).trim();
    if name.is_empty() {
        return TimeZone::UTC;
    }
    if name.starts_with('/') {
        return read_tzif(Path::new(name)).unwrap_or(TimeZone::UTC);
    }
    // The database looks names up in its list of files, so `../x` finds
    // nothing rather than a file outside it.
    if let Ok(zone) = jiff::tz::db().get(name) {
        return zone;
    }
    TimeZone::posix(name).unwrap_or(TimeZone::UTC)
}

fn read_tzif(path: &Path) -> Option<TimeZone> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_TZIF_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_TZIF_BYTES {
        return None;
    }
    TimeZone::tzif(&path.display().to_string(), &bytes).ok()
}

/// An instant in ms since the Unix epoch, clamped into the range jiff can
/// represent (times come from other people's clocks and may be anything).
pub(crate) fn timestamp(ms: u64) -> Timestamp {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::MAX)
}

fn ms_of(t: Timestamp) -> u64 {
    u64::try_from(t.as_millisecond()).unwrap_or(0)
}

/// `ms` as a date and time in `zone`, with the zone's abbreviation (or
/// its offset if it has none): `2026-11-22 14:03 CET`.
pub(crate) fn date_time_in(ms: u64, zone: &TimeZone) -> String {
    let local = timestamp(ms).to_zoned_datetime(zone.clone());
    let stamp = |format: &str| jiff::fmt::strtime::format(format, &local).ok();
    stamp("%Y-%m-%d %H:%M %Z")
        .filter(|s| !s.ends_with(' '))
        .or_else(|| stamp("%Y-%m-%d %H:%M %:z"))
        .unwrap_or_else(|| local.timestamp().to_string())
}

/// `ms` as a date and time in this machine's zone: `2026-11-22 14:03 CET`.
pub(crate) fn date_time(ms: u64) -> String {
    date_time_in(ms, system_zone())
}

/// What `--since` accepts, for error messages.
pub(crate) const SINCE_FORMS: &str = "a duration back from now (30s, 15m, 2h, 7d, 2w, 3mo, 1y, 2h30m, \
     \"3 days ago\"), a date or time in your time zone (2026-11-22, 2026-11-22T14:30), an RFC \
     3339 time (2026-11-22T14:30:00Z, 2026-11-22T14:30+01:00) or ms since the Unix epoch";

/// Parses a `--since` value into ms since the Unix epoch, in this machine's
/// zone: see [`parse_since_in`].
pub(crate) fn parse_since(input: &str, now_ms: u64) -> Result<u64, String> {
    parse_since_in(input, now_ms, system_zone())
}

/// Parses a `--since` value into ms since the Unix epoch: a plain ms
/// timestamp, an RFC 3339 time (with its offset), a date or date and time
/// in `zone`, or a duration back from `now_ms` (calendar units such as days
/// and months counted in `zone`). Times before 1970 become 0.
pub(crate) fn parse_since_in(input: &str, now_ms: u64, zone: &TimeZone) -> Result<u64, String> {
    let s = input.trim();
    let fail = || format!("invalid time {input:?}; use {SINCE_FORMS}");
    if s.is_empty() {
        return Err(fail());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|_| fail());
    }
    if let Ok(instant) = s.parse::<Timestamp>() {
        return Ok(ms_of(instant));
    }
    if let Ok(civil) = s.parse::<DateTime>() {
        return civil
            .to_zoned_datetime(zone.clone())
            .map(|local| ms_of(local.timestamp()))
            .map_err(|_| fail());
    }
    let span: Span = s.parse().map_err(|_| fail())?;
    let back = if !span.is_negative() {
        span
    } else if s.ends_with("ago") {
        span.abs()
    } else {
        // `-3d` would point into the future.
        return Err(fail());
    };
    let now: ZonedDateTime = timestamp(now_ms).to_zoned_datetime(zone.clone());
    now.checked_sub(back)
        .map(|then| ms_of(then.timestamp()))
        .map_err(|_| fail())
}

#[cfg(test)]
mod tests;
