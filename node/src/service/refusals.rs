//! Refusals, counted instead of reported one by one.
//!
//! A flood is thousands of refused messages a minute; one
//! [`Event::Refused`](crate::Event::Refused) each would flood the chat and
//! the JSON stream in turn. Refusals are aggregated per peer, channel and
//! reason: the first of a kind is reported at once (count 1), the rest are
//! counted, and every [`WINDOW_MS`] the count gathered meanwhile is
//! reported as one event. A kind that stays quiet for a whole window is
//! forgotten. So each kind yields at most one event per window, however
//! many refusals it has.
//!
//! Memory is bounded: past [`MAX_KINDS`] kinds, new ones are counted
//! under "any peer" for their channel and reason.
//!
//! Time is a parameter (monotonic ms).

use std::collections::HashMap;

use hearth_protocol::ChannelName;
use libp2p::PeerId;

/// How long refusals of one kind are gathered into one event.
pub(crate) const WINDOW_MS: u64 = 5_000;

/// Most kinds gathered at once.
pub(crate) const MAX_KINDS: usize = 1_024;

/// What refusals are aggregated by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Kind {
    peer: Option<PeerId>,
    channel: Option<ChannelName>,
    reason: String,
}

#[derive(Debug, Clone, Copy)]
struct Gathering {
    since_ms: u64,
    count: u64,
}

/// A report of `count` refusals on `channel` for `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// The channel, if the refused message was on one.
    pub channel: Option<ChannelName>,
    /// Why.
    pub reason: String,
    /// How many.
    pub count: u64,
}

/// Refusals gathered per kind.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    kinds: HashMap<Kind, Gathering>,
}

impl Refusals {
    /// One refusal from `peer` at `now_ms`; the report to make now, if it
    /// is the first of its kind.
    pub(crate) fn refuse(
        &mut self,
        peer: Option<PeerId>,
        channel: Option<ChannelName>,
        reason: String,
        now_ms: u64,
    ) -> Option<Report> {
        let mut kind = Kind {
            peer,
            channel,
            reason,
        };
        if !self.kinds.contains_key(&kind) && self.kinds.len() >= MAX_KINDS {
            kind.peer = None;
        }
        if let Some(gathering) = self.kinds.get_mut(&kind) {
            gathering.count = gathering.count.saturating_add(1);
            return None;
        }
        if self.kinds.len() >= MAX_KINDS {
            // Even "any peer" for this channel and reason is new: the
            // refusal is left uncounted rather than memory grown.
            return None;
        }
        let report = Report {
            channel: kind.channel.clone(),
            reason: kind.reason.clone(),
            count: 1,
        };
        self.kinds.insert(
            kind,
            Gathering {
                since_ms: now_ms,
                count: 0,
            },
        );
        Some(report)
    }

    /// The reports of the windows that closed by `now_ms`; kinds that
    /// stayed quiet for a whole window are forgotten.
    pub(crate) fn flush(&mut self, now_ms: u64) -> Vec<Report> {
        let mut reports = Vec::new();
        self.kinds.retain(|kind, gathering| {
            if now_ms.saturating_sub(gathering.since_ms) < WINDOW_MS {
                return true;
            }
            if gathering.count == 0 {
                return false;
            }
            reports.push(Report {
                channel: kind.channel.clone(),
                reason: kind.reason.clone(),
                count: gathering.count,
            });
            *gathering = Gathering {
                since_ms: now_ms,
                count: 0,
            };
            true
        });
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grief() -> Option<ChannelName> {
        ChannelName::parse("grief").ok()
    }

    #[test]
    fn a_flood_of_refusals_is_one_report_at_once_then_one_per_window() {
        let mut refusals = Refusals::default();
        let peer = Some(PeerId::random());
        let first = refusals.refuse(peer, grief(), "bad signature".into(), 0);
        assert_eq!(first.map(|r| r.count), Some(1));
        for n in 1..1_000 {
            assert_eq!(
                refusals.refuse(peer, grief(), "bad signature".into(), n),
                None
            );
        }
        assert_eq!(refusals.flush(WINDOW_MS - 1), []);
        assert_eq!(
            refusals.flush(WINDOW_MS),
            [Report {
                channel: grief(),
                reason: "bad signature".into(),
                count: 999,
            }]
        );
        // Quiet for a whole window: nothing to report, then forgotten, so
        // the next refusal is reported at once again.
        assert_eq!(refusals.flush(2 * WINDOW_MS), []);
        assert!(refusals.kinds.is_empty());
        assert!(
            refusals
                .refuse(peer, grief(), "bad signature".into(), 3 * WINDOW_MS)
                .is_some()
        );
    }

    #[test]
    fn peers_reasons_and_channels_are_counted_apart() {
        let mut refusals = Refusals::default();
        let (a, b) = (Some(PeerId::random()), Some(PeerId::random()));
        assert!(refusals.refuse(a, grief(), "x".into(), 0).is_some());
        assert!(refusals.refuse(b, grief(), "x".into(), 0).is_some());
        assert!(refusals.refuse(a, grief(), "y".into(), 0).is_some());
        assert!(refusals.refuse(a, None, "x".into(), 0).is_some());
        assert!(refusals.refuse(a, grief(), "x".into(), 0).is_none());
    }

    #[test]
    fn memory_is_bounded_by_counting_new_peers_together() {
        let mut refusals = Refusals::default();
        for _ in 0..MAX_KINDS {
            refusals.refuse(Some(PeerId::random()), grief(), "x".into(), 0);
        }
        // Full: the next peer's refusal is counted under "any peer"... which
        // is itself new and there is no room, so it is dropped uncounted.
        assert!(
            refusals
                .refuse(Some(PeerId::random()), grief(), "x".into(), 0)
                .is_none()
        );
        assert_eq!(refusals.kinds.len(), MAX_KINDS);
    }
}
