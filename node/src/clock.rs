//! The node's two clocks, read only here and only by the shell.
//!
//! - Wall time, ms since the Unix epoch ([`now_ms`]): what posts are dated
//!   with and what their time window is judged by. It can jump either way
//!   (NTP, a person setting the clock).
//! - Monotonic time, ms since the node started ([`Uptime`]): what every
//!   interval is measured on (rate limits). It never goes backwards, so a
//!   wall-clock step cannot freeze a token bucket or bunch up a timer.
//!
//! The protocol core and the node's decision types never read either
//! clock; the shell passes the readings in.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Monotonic milliseconds since the node started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Uptime {
    start: Instant,
}

impl Uptime {
    /// Starts counting now.
    pub(crate) fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// Milliseconds from the start to `at` (0 for an earlier instant).
    pub(crate) fn ms_at(&self, at: Instant) -> u64 {
        let elapsed = at.saturating_duration_since(self.start);
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }

    /// Milliseconds from the start to now.
    pub(crate) fn now_ms(&self) -> u64 {
        self.ms_at(Instant::now())
    }
}

/// Both clock readings at one moment, as the decision types take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Now {
    /// Wall time, ms since the Unix epoch: for dating and time windows.
    pub wall_ms: u64,
    /// Monotonic ms since the node started: for rates.
    pub mono_ms: u64,
}
