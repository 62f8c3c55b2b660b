//! Local wall-clock time for the chat window, without a date library.
//!
//! Posts carry times in ms since the Unix epoch; people want to read them
//! in their own time zone. The zone comes from `TZ` or `/etc/localtime`
//! (a TZif file, RFC 8536, with its POSIX rule for times past the last
//! transition). Anything that cannot be read falls back to UTC: a wrong
//! hour is better than no chat.

use crate::time::{civil_from_days, days_from_civil, days_in_month, is_leap};
use std::path::Path;

/// A time zone: UTC offsets over time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// Transition instants (Unix seconds, ascending) and the offset (seconds
    /// east of UTC) from each one on.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition (or always, with none).
    initial: i32,
    /// The rule for times after the last transition.
    rule: Option<Rule>,
}

/// A POSIX `TZ` rule such as `CET-1CEST,M3.5.0,M10.5.0/3`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    std: i32,
    dst: Option<Dst>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dst {
    offset: i32,
    start: (DayRule, i32),
    end: (DayRule, i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    /// `Jn`: day 1..=365, February 29 never counted.
    Julian(u16),
    /// `n`: day 0..=365, February 29 counted.
    ZeroBased(u16),
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { month: u8, week: u8, day: u8 },
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self::default()
    }

    /// The zone of this machine: `TZ` if set, else `/etc/localtime`, else
    /// UTC.
    pub fn from_system() -> Self {
        match std::env::var("TZ") {
            Ok(tz) => Self::from_tz_var(&tz),
            Err(_) => read_tzif(Path::new("/etc/localtime")).unwrap_or_default(),
        }
    }

    /// The zone a `TZ` value names: a file (`:Europe/Paris`, `/path`), a
    /// zone name under `/usr/share/zoneinfo`, or a POSIX rule.
    fn from_tz_var(tz: &str) -> Self {
        let name = tz.strip_prefix(':').unwrap_or(tz).trim();
        if name.is_empty() {
            return Self::utc();
        }
        if name.starts_with('/') {
            return read_tzif(Path::new(name)).unwrap_or_default();
        }
        if !name.contains("..")
            && let Some(zone) = read_tzif(&Path::new("/usr/share/zoneinfo").join(name))
        {
            return zone;
        }
        parse_rule(name)
            .map(|rule| Zone {
                transitions: Vec::new(),
                initial: rule.std,
                rule: Some(rule),
            })
            .unwrap_or_default()
    }

    /// Seconds east of UTC at the instant `unix_s`.
    pub fn offset_at(&self, unix_s: i64) -> i32 {
        let after = self.transitions.partition_point(|(at, _)| *at <= unix_s);
        if after == 0 {
            return match (&self.rule, self.transitions.is_empty()) {
                (Some(rule), true) => rule.offset_at(unix_s),
                _ => self.initial,
            };
        }
        if after == self.transitions.len()
            && let Some(rule) = &self.rule
        {
            return rule.offset_at(unix_s);
        }
        self.transitions
            .get(after - 1)
            .map_or(self.initial, |(_, offset)| *offset)
    }

    /// The local date and time of `ms` (ms since the Unix epoch).
    pub fn local(&self, ms: u64) -> LocalTime {
        let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX / 2);
        let local = secs.saturating_add(i64::from(self.offset_at(secs)));
        let days = local.div_euclid(86_400);
        let of_day = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        LocalTime {
            year,
            month,
            day,
            hour: u8::try_from(of_day / 3600).unwrap_or(0),
            minute: u8::try_from(of_day % 3600 / 60).unwrap_or(0),
            weekday: u8::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
        }
    }
}

/// A local calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The year.
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0 = Sunday.
    pub weekday: u8,
}

impl LocalTime {
    /// `HH:MM`.
    pub fn hh_mm(&self) -> String {
        format!("{:02}:{:02}", self.hour, self.minute)
    }

    /// The date alone, for comparing days.
    pub fn date(&self) -> (i64, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// A calm day heading such as `Tuesday 3 June 2025`.
    pub fn day_heading(&self) -> String {
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let weekday = DAYS.get(usize::from(self.weekday)).copied().unwrap_or("");
        let month = MONTHS
            .get(usize::from(self.month).saturating_sub(1))
            .copied()
            .unwrap_or("");
        format!("{weekday} {} {month} {}", self.day, self.year)
    }
}

impl DayRule {
    /// Days since the epoch of this rule's day in `year`.
    fn day_in(self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        match self {
            DayRule::Julian(n) => {
                let n = i64::from(n);
                jan1 + n - 1 + i64::from(is_leap(year) && n >= 60)
            }
            DayRule::ZeroBased(n) => jan1 + i64::from(n),
            DayRule::Month { month, week, day } => {
                let first = days_from_civil(year, month, 1);
                let first_weekday = (first + 4).rem_euclid(7);
                let mut date = 1
                    + (i64::from(day) - first_weekday).rem_euclid(7)
                    + (i64::from(week).saturating_sub(1)) * 7;
                while date > i64::from(days_in_month(year, month)) {
                    date -= 7;
                }
                first + date - 1
            }
        }
    }
}

impl Rule {
    fn offset_at(&self, unix_s: i64) -> i32 {
        let Some(dst) = &self.dst else {
            return self.std;
        };
        let year = civil_from_days((unix_s + i64::from(self.std)).div_euclid(86_400)).0;
        let start =
            dst.start.0.day_in(year) * 86_400 + i64::from(dst.start.1) - i64::from(self.std);
        let end = dst.end.0.day_in(year) * 86_400 + i64::from(dst.end.1) - i64::from(dst.offset);
        let in_dst = if start < end {
            unix_s >= start && unix_s < end
        } else {
            unix_s < end || unix_s >= start
        };
        if in_dst { dst.offset } else { self.std }
    }
}

fn read_tzif(path: &Path) -> Option<Zone> {
    let bytes = std::fs::read(path).ok()?;
    parse_tzif(&bytes)
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes(b.try_into().ok()?))
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.u32()?).ok()
    }
}

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

fn header(r: &mut Reader<'_>) -> Option<Header> {
    if r.take(4)? != b"TZif" {
        return None;
    }
    let version = *r.take(1)?.first()?;
    r.take(15)?;
    Some(Header {
        version,
        isutcnt: r.count()?,
        isstdcnt: r.count()?,
        leapcnt: r.count()?,
        timecnt: r.count()?,
        typecnt: r.count()?,
        charcnt: r.count()?,
    })
}

fn block_len(h: &Header, time_size: usize) -> Option<usize> {
    let parts = [
        h.timecnt.checked_mul(time_size)?,
        h.timecnt,
        h.typecnt.checked_mul(6)?,
        h.charcnt,
        h.leapcnt.checked_mul(time_size + 4)?,
        h.isstdcnt,
        h.isutcnt,
    ];
    parts.iter().try_fold(0usize, |acc, p| acc.checked_add(*p))
}

fn parse_tzif(bytes: &[u8]) -> Option<Zone> {
    let mut r = Reader { bytes };
    let first = header(&mut r)?;
    let (h, time_size) = if first.version >= b'2' {
        r.take(block_len(&first, 4)?)?;
        (header(&mut r)?, 8)
    } else {
        (first, 4)
    };
    if h.typecnt == 0 {
        return None;
    }
    let times = r.take(h.timecnt.checked_mul(time_size)?)?;
    let indices = r.take(h.timecnt)?;
    let types = r.take(h.typecnt.checked_mul(6)?)?;
    let offsets: Vec<i32> = types
        .chunks_exact(6)
        .map(|t| {
            t.get(..4)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_be_bytes)
        })
        .collect::<Option<_>>()?;
    let transitions = times
        .chunks_exact(time_size)
        .zip(indices)
        .map(|(t, i)| {
            let at = match time_size {
                8 => i64::from_be_bytes(t.try_into().ok()?),
                _ => i64::from(i32::from_be_bytes(t.try_into().ok()?)),
            };
            Some((at, *offsets.get(usize::from(*i))?))
        })
        .collect::<Option<Vec<_>>>()?;
    let initial = *offsets.first()?;
    let rule = if time_size == 8 {
        let rest = [h.charcnt, h.leapcnt.checked_mul(12)?, h.isstdcnt, h.isutcnt]
            .iter()
            .try_fold(0usize, |acc, n| acc.checked_add(*n))?;
        r.take(rest)?;
        std::str::from_utf8(r.bytes)
            .ok()
            .and_then(|footer| footer.trim_matches('\n').lines().next().map(str::to_owned))
            .and_then(|line| parse_rule(&line))
    } else {
        None
    };
    Some(Zone {
        transitions,
        initial,
        rule,
    })
}

/// Parses a POSIX `TZ` rule.
fn parse_rule(text: &str) -> Option<Rule> {
    let mut p = Parser { rest: text };
    p.name()?;
    let std = -p.offset()?;
    if p.rest.is_empty() {
        return Some(Rule { std, dst: None });
    }
    p.name()?;
    let offset = if p.rest.starts_with(',') || p.rest.is_empty() {
        std + 3600
    } else {
        -p.offset()?
    };
    if p.rest.is_empty() {
        // DST named without rules: the old US default.
        return Some(Rule {
            std,
            dst: Some(Dst {
                offset,
                start: (
                    DayRule::Month {
                        month: 3,
                        week: 2,
                        day: 0,
                    },
                    7200,
                ),
                end: (
                    DayRule::Month {
                        month: 11,
                        week: 1,
                        day: 0,
                    },
                    7200,
                ),
            }),
        });
    }
    p.eat(',')?;
    let start = p.transition()?;
    p.eat(',')?;
    let end = p.transition()?;
    if !p.rest.is_empty() {
        return None;
    }
    Some(Rule {
        std,
        dst: Some(Dst { offset, start, end }),
    })
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn eat(&mut self, c: char) -> Option<()> {
        self.rest = self.rest.strip_prefix(c)?;
        Some(())
    }

    fn name(&mut self) -> Option<()> {
        if let Some(quoted) = self.rest.strip_prefix('<') {
            let end = quoted.find('>')?;
            self.rest = quoted.get(end + 1..)?;
            return Some(());
        }
        let len = self
            .rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(self.rest.len());
        if len < 3 {
            return None;
        }
        self.rest = self.rest.get(len..)?;
        Some(())
    }

    fn number(&mut self) -> Option<i32> {
        let len = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if len == 0 || len > 3 {
            return None;
        }
        let n = self.rest.get(..len)?.parse().ok()?;
        self.rest = self.rest.get(len..)?;
        Some(n)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, with its written sign.
    fn offset(&mut self) -> Option<i32> {
        let sign = if self.rest.starts_with('-') {
            self.rest = self.rest.get(1..)?;
            -1
        } else {
            self.rest = self.rest.strip_prefix('+').unwrap_or(self.rest);
            1
        };
        let mut secs = self.number()? * 3600;
        if self.rest.starts_with(':') {
            self.eat(':')?;
            secs += self.number()? * 60;
            if self.rest.starts_with(':') {
                self.eat(':')?;
                secs += self.number()?;
            }
        }
        Some(sign * secs)
    }

    fn transition(&mut self) -> Option<(DayRule, i32)> {
        let day = if self.rest.starts_with('M') {
            self.eat('M')?;
            let month = u8::try_from(self.number()?).ok()?;
            self.eat('.')?;
            let week = u8::try_from(self.number()?).ok()?;
            self.eat('.')?;
            let day = u8::try_from(self.number()?).ok()?;
            if !(1..=12).contains(&month) || !(1..=5).contains(&week) || day > 6 {
                return None;
            }
            DayRule::Month { month, week, day }
        } else if self.rest.starts_with('J') {
            self.eat('J')?;
            let n = u16::try_from(self.number()?).ok()?;
            if !(1..=365).contains(&n) {
                return None;
            }
            DayRule::Julian(n)
        } else {
            let n = u16::try_from(self.number()?).ok()?;
            if n > 365 {
                return None;
            }
            DayRule::ZeroBased(n)
        };
        let time = if self.rest.starts_with('/') {
            self.eat('/')?;
            self.offset()?
        } else {
            7200
        };
        Some((day, time))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: u8, d: u8, h: i64, min: i64) -> i64 {
        days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 19_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn utc_formats_hours_and_minutes() {
        let t = Zone::utc().local(u64::try_from(at(2025, 6, 3, 14, 7)).unwrap() * 1000 + 999);
        assert_eq!(t.hh_mm(), "14:07");
        assert_eq!(t.day_heading(), "Tuesday 3 June 2025");
    }

    #[test]
    fn posix_rules_follow_european_summer_time() {
        let rule = parse_rule("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(rule.std, 3600);
        // Summer time starts 2025-03-30 01:00 UTC and ends 2025-10-26 01:00 UTC.
        assert_eq!(rule.offset_at(at(2025, 3, 30, 0, 59)), 3600);
        assert_eq!(rule.offset_at(at(2025, 3, 30, 1, 0)), 7200);
        assert_eq!(rule.offset_at(at(2025, 10, 26, 0, 59)), 7200);
        assert_eq!(rule.offset_at(at(2025, 10, 26, 1, 0)), 3600);
        assert_eq!(rule.offset_at(at(2025, 1, 10, 12, 0)), 3600);
    }

    #[test]
    fn posix_rules_handle_the_southern_hemisphere_and_quoted_names() {
        let rule = parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
        assert_eq!(rule.offset_at(at(2025, 1, 15, 0, 0)), 11 * 3600);
        assert_eq!(rule.offset_at(at(2025, 7, 15, 0, 0)), 10 * 3600);
        let rule = parse_rule("<-03>3").unwrap();
        assert_eq!(rule.offset_at(at(2025, 7, 15, 0, 0)), -3 * 3600);
        let rule = parse_rule("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(rule.offset_at(at(2025, 7, 4, 12, 0)), -4 * 3600);
        assert_eq!(rule.offset_at(at(2025, 12, 4, 12, 0)), -5 * 3600);
    }

    #[test]
    fn nonsense_rules_and_files_are_refused_not_panicked_on() {
        for bad in [
            "",
            "X",
            "CET",
            "CET-1CEST,M13.1.0,M1.1.0",
            "CET-1CEST,M3",
            "<abc",
            "CET-99999",
        ] {
            assert!(parse_rule(bad).is_none(), "{bad}");
        }
        assert!(parse_tzif(b"").is_none());
        assert!(parse_tzif(b"TZif2").is_none());
        let mut junk = b"TZif2".to_vec();
        junk.extend([0xff; 60]);
        assert!(parse_tzif(&junk).is_none());
        assert_eq!(Zone::from_tz_var("Not/A/Zone/At/All").offset_at(0), 0);
    }

    /// A minimal version-2 TZif file: one transition to +02:00 at t=1000,
    /// and a footer rule of constant +03:00.
    fn tzif_fixture() -> Vec<u8> {
        fn header(out: &mut Vec<u8>, timecnt: u32, typecnt: u32, charcnt: u32) {
            out.extend(b"TZif2");
            out.extend([0; 15]);
            for n in [0, 0, 0, timecnt, typecnt, charcnt] {
                out.extend(u32::to_be_bytes(n));
            }
        }
        let mut out = Vec::new();
        header(&mut out, 1, 2, 4);
        out.extend(1000i32.to_be_bytes());
        out.push(1);
        out.extend(0i32.to_be_bytes());
        out.extend([0, 0]);
        out.extend(7200i32.to_be_bytes());
        out.extend([0, 0]);
        out.extend(b"UTC\0");
        header(&mut out, 2, 2, 4);
        out.extend(1000i64.to_be_bytes());
        out.extend(5000i64.to_be_bytes());
        out.extend([1, 1]);
        out.extend(0i32.to_be_bytes());
        out.extend([0, 0]);
        out.extend(7200i32.to_be_bytes());
        out.extend([0, 0]);
        out.extend(b"UTC\0");
        out.extend(b"\n<+03>-3\n");
        out
    }

    #[test]
    fn tzif_transitions_and_footer_apply() {
        let zone = parse_tzif(&tzif_fixture()).unwrap();
        assert_eq!(zone.offset_at(0), 0);
        assert_eq!(zone.offset_at(1000), 7200);
        assert_eq!(zone.offset_at(4999), 7200);
        assert_eq!(zone.offset_at(5000), 3 * 3600);
        // Every truncation of the file is refused or parsed, never a panic.
        let bytes = tzif_fixture();
        for len in 0..bytes.len() {
            let _ = parse_tzif(bytes.get(..len).unwrap());
        }
    }

    #[test]
    fn the_system_zone_loads_if_present() {
        let _ = Zone::from_system().local(1_700_000_000_000);
        if let Ok(bytes) = std::fs::read("/usr/share/zoneinfo/Europe/Paris") {
            let zone = parse_tzif(&bytes).unwrap();
            assert_eq!(zone.offset_at(at(2030, 7, 1, 12, 0)), 7200);
            assert_eq!(zone.offset_at(at(2030, 1, 1, 12, 0)), 3600);
            assert_eq!(zone.offset_at(at(2001, 7, 1, 12, 0)), 7200);
        }
    }
}
