use super::*;

// 2023-11-14T22:13:20Z
const T: u64 = 1_700_000_000_000;
const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

fn zone(tz: &str) -> TimeZone {
    zone_from_tz(OsStr::new(tz))
}

/// Seconds east of UTC of `zone` at the instant `rfc3339`.
fn offset(zone: &TimeZone, rfc3339: &str) -> i32 {
    zone.to_offset(rfc3339.parse().unwrap()).seconds()
}

#[test]
fn formats_times_with_their_zone() {
    let utc = TimeZone::UTC;
    assert_eq!(date_time_in(0, &utc), "1970-01-01 00:00 UTC");
    assert_eq!(date_time_in(T, &utc), "2023-11-14 22:13 UTC");
    assert_eq!(date_time_in(951_782_400_000, &utc), "2000-02-29 00:00 UTC");
    let paris = zone("CET-1CEST,M3.5.0,M10.5.0/3");
    assert_eq!(date_time_in(T, &paris), "2023-11-14 23:13 CET");
    assert_eq!(
        date_time_in(1_690_000_000_000, &paris),
        "2023-07-22 06:26 CEST"
    );
    // A zone without a name shows its offset.
    assert_eq!(date_time_in(T, &zone("<+03>-3")), "2023-11-15 01:13 +03");
    // Times from other people's clocks may be anything.
    assert!(date_time_in(u64::MAX, &paris).starts_with("9999-"));
}

#[test]
fn parses_durations_dates_and_timestamps() {
    let utc = TimeZone::UTC;
    let since = |s: &str, now: u64| parse_since_in(s, now, &utc);
    assert_eq!(since("2h", T), Ok(T - 2 * HOUR));
    assert_eq!(since("15m", T), Ok(T - 15 * MINUTE));
    assert_eq!(since("30s", T), Ok(T - 30 * SECOND));
    assert_eq!(since("1w", T), Ok(T - 7 * DAY));
    assert_eq!(since("2h30m", T), Ok(T - 150 * MINUTE));
    assert_eq!(since("3 days ago", T), Ok(T - 3 * DAY));
    assert_eq!(since("1mo", T), Ok(T - 31 * DAY), "back to 14 October");
    assert_eq!(since("123", T), Ok(123));
    assert_eq!(since("2023-11-14T22:13:20Z", 0), Ok(T));
    assert_eq!(since("2023-11-14T23:13:20+01:00", 0), Ok(T));
    assert_eq!(since("2023-11-14 22:13:20", 0), Ok(T));
    assert_eq!(since("2023-11-14T22:13", 0), Ok(T - 20 * SECOND));
    assert_eq!(
        since("2023-11-14", 0),
        Ok(T - (22 * 3600 + 13 * 60 + 20) * 1000)
    );
    assert_eq!(since("2000-02-29", 0), Ok(951_782_400_000));
    assert_eq!(since("100000d", 5), Ok(0), "before 1970 is 0");
}

#[test]
fn dates_without_an_offset_are_in_the_local_zone() {
    let paris = zone("CET-1CEST,M3.5.0,M10.5.0/3");
    assert_eq!(parse_since_in("2023-11-14T23:13:20", 0, &paris), Ok(T));
    assert_eq!(parse_since_in("2023-11-14T22:13:20Z", 0, &paris), Ok(T));
    // A day back across the end of summer time is 25 hours.
    let after = parse_since_in("2023-10-29T12:00", 0, &paris).unwrap();
    assert_eq!(parse_since_in("1d", after, &paris), Ok(after - 25 * HOUR));
}

#[test]
fn refuses_what_it_cannot_read_and_says_what_is_accepted() {
    for bad in [
        "",
        "   ",
        "yesterday",
        "2h30",
        "2023-02-29",
        "2023-13-01",
        "2023-1-01",
        "-3d",
        "5 parsecs",
        "99999999999999999999999",
        "999999999y",
        "2023-11-14T25:00",
    ] {
        let err = parse_since_in(bad, T, &TimeZone::UTC).unwrap_err();
        assert!(err.contains("duration back from now"), "{bad}: {err}");
        assert!(err.contains("RFC 3339"), "{bad}: {err}");
    }
}

#[test]
fn posix_rules_follow_summer_time_north_and_south() {
    let paris = zone("CET-1CEST,M3.5.0,M10.5.0/3");
    assert_eq!(offset(&paris, "2025-03-30T00:59:59Z"), 3600);
    assert_eq!(offset(&paris, "2025-03-30T01:00:00Z"), 7200);
    assert_eq!(offset(&paris, "2025-10-26T00:59:59Z"), 7200);
    assert_eq!(offset(&paris, "2025-10-26T01:00:00Z"), 3600);
    let sydney = zone("AEST-10AEDT,M10.1.0,M4.1.0/3");
    assert_eq!(offset(&sydney, "2025-01-15T00:00:00Z"), 11 * 3600);
    assert_eq!(offset(&sydney, "2025-07-15T00:00:00Z"), 10 * 3600);
    let new_york = zone(":EST5EDT,M3.2.0,M11.1.0");
    assert_eq!(offset(&new_york, "2025-07-04T12:00:00Z"), -4 * 3600);
    assert_eq!(offset(&new_york, "2025-12-04T12:00:00Z"), -5 * 3600);
}

#[test]
fn hostile_or_odd_tz_values_fall_back_to_utc() {
    let long = "A".repeat(1 << 20);
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"TZif2\xff\xff\xff\xff").unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'T'; 2 << 20]).unwrap();
    for bad in [
        "",
        ":",
        "X",
        "CET-1CEST,M13.1.0,M1.1.0",
        "CET-1CEST,M3",
        "<abc",
        "CET-99999",
        "Not/A/Zone/At/All",
        "../../../../etc/passwd",
        "/dev/zero",
        "/dev/null",
        "/",
        "/nonexistent/zone",
        junk.to_str().unwrap(),
        big.to_str().unwrap(),
        long.as_str(),
        "\0",
    ] {
        let zone = zone(bad);
        assert_eq!(offset(&zone, "2025-07-01T12:00:00Z"), 0, "{bad:?}");
        assert!(date_time_in(T, &zone).ends_with(" UTC"), "{bad:?}");
    }
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = zone_from_tz(OsStr::from_bytes(b"Europe/\xff"));
    assert_eq!(not_utf8, TimeZone::UTC);
}

#[test]
fn the_system_zone_database_is_used_when_present() {
    let _ = date_time(T);
    if std::path::Path::new("/usr/share/zoneinfo/Europe/Paris").is_file() {
        for tz in [
            "Europe/Paris",
            ":Europe/Paris",
            "/usr/share/zoneinfo/Europe/Paris",
        ] {
            let paris = zone(tz);
            assert_eq!(offset(&paris, "2030-07-01T12:00:00Z"), 7200, "{tz}");
            assert_eq!(offset(&paris, "2030-01-01T12:00:00Z"), 3600, "{tz}");
            assert_eq!(offset(&paris, "2001-07-01T12:00:00Z"), 7200, "{tz}");
            assert_eq!(date_time_in(T, &paris), "2023-11-14 23:13 CET", "{tz}");
        }
    }
}
