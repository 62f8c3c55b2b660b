//! Local wall-clock time for the chat window.
//!
//! Posts carry times in ms since the Unix epoch; people want to read them
//! in their own time zone. The zone is [`crate::time::system_zone`]: `TZ`
//! or the system's, with UTC when neither can be read (a wrong hour is
//! better than no chat).

use jiff::ZonedDateTime;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::time;

/// A time zone: UTC offsets over time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone(TimeZone);

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self(TimeZone::UTC)
    }

    /// The zone of this machine: `TZ` if set, else the system's, else UTC.
    pub fn from_system() -> Self {
        Self(time::system_zone().clone())
    }

    /// The local date and time of `ms` (ms since the Unix epoch).
    pub fn local(&self, ms: u64) -> LocalTime {
        LocalTime(time::timestamp(ms).to_zoned_datetime(self.0.clone()))
    }
}

/// A local calendar date and time of day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTime(ZonedDateTime);

impl LocalTime {
    /// `HH:MM`.
    pub fn hh_mm(&self) -> String {
        format!("{:02}:{:02}", self.0.hour(), self.0.minute())
    }

    /// The date alone, for comparing days.
    pub fn date(&self) -> Date {
        self.0.date()
    }

    /// A calm day heading such as `Tuesday 3 June 2025`.
    pub fn day_heading(&self) -> String {
        jiff::fmt::strtime::format("%A %-d %B %Y", &self.0)
            .unwrap_or_else(|_| self.0.date().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_hours_minutes_and_day_headings() {
        // 2025-06-03T14:07:59.999Z
        let t = Zone::utc().local(1_748_959_679_999);
        assert_eq!(t.hh_mm(), "14:07");
        assert_eq!(t.day_heading(), "Tuesday 3 June 2025");
        assert_eq!(t.date(), jiff::civil::date(2025, 6, 3));
        let t = Zone::utc().local(0);
        assert_eq!(t.day_heading(), "Thursday 1 January 1970");
    }

    #[test]
    fn days_change_at_local_midnight() {
        let paris = Zone(time::zone_from_tz("CET-1CEST,M3.5.0,M10.5.0/3".as_ref()));
        // 2025-06-03T22:30Z is past midnight in Paris.
        let late = 1_748_989_800_000;
        assert_eq!(Zone::utc().local(late).day_heading(), "Tuesday 3 June 2025");
        let local = paris.local(late);
        assert_eq!(local.day_heading(), "Wednesday 4 June 2025");
        assert_eq!(local.hh_mm(), "00:30");
        assert_ne!(local.date(), Zone::utc().local(late).date());
    }

    #[test]
    fn any_time_a_peer_sends_can_be_shown() {
        for ms in [u64::MAX, i64::MAX as u64, 253_402_300_800_000] {
            let t = Zone::from_system().local(ms);
            assert_eq!(t.hh_mm().len(), 5);
            assert!(!t.day_heading().is_empty());
        }
    }
}
