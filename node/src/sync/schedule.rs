//! When to sync, and with whom.
//!
//! A target is a joined channel, or the followed moderators' lists. Each
//! gets a round when it is added (a channel joined, the first moderator
//! followed) or kicked (another moderator followed), and then one every
//! `period`, moved by up to `jitter` either way so that nodes started
//! together do not sync in step. A round syncs with up to `per_round`
//! peers, those synced longest ago first: with three, one peer that is
//! incomplete or lies by omission cannot keep a post away. Besides the
//! rounds, a peer that appears in a target (it subscribes to the channel's
//! topic: a new peer, or one that reconnected) is synced with at once,
//! unless it was synced with less than `cooldown` ago or the target
//! already runs `per_round` sessions.
//!
//! Time and randomness are parameters: [`Schedule`] never reads a clock or
//! draws a random number itself.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use hearth_protocol::ChannelName;
use libp2p::PeerId;

/// What is synced.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// A joined channel's posts.
    Channel(ChannelName),
    /// The lists of followed moderators.
    Lists,
    /// The crisis-directory updates of trusted publishers.
    Crisis,
}

/// The schedule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    /// The anti-entropy period.
    pub period: Duration,
    /// Each period is moved by up to this much, earlier or later.
    pub jitter: Duration,
    /// Peers synced with at once per target.
    pub per_round: usize,
    /// A peer that appears again is not synced with again sooner.
    pub cooldown: Duration,
}

#[derive(Debug)]
struct State {
    next_round: Instant,
    running: HashSet<PeerId>,
    last: HashMap<PeerId, Instant>,
}

/// When each target syncs, and with whom.
#[derive(Debug)]
pub(crate) struct Schedule {
    timing: Timing,
    targets: HashMap<Target, State>,
}

/// Most peers remembered per target (for the cooldown and the order of a
/// round); the least recently synced are forgotten first.
const REMEMBERED: usize = 256;

impl Schedule {
    /// A schedule with no targets.
    pub(crate) fn new(timing: Timing) -> Self {
        Self {
            timing,
            targets: HashMap::new(),
        }
    }

    /// Adds a target whose first round is due at once. Adding one that
    /// exists changes nothing.
    pub(crate) fn add(&mut self, target: Target, now: Instant) {
        self.targets.entry(target).or_insert_with(|| State {
            next_round: now,
            running: HashSet::new(),
            last: HashMap::new(),
        });
    }

    /// Removes a target (a channel left).
    pub(crate) fn remove(&mut self, target: &Target) {
        self.targets.remove(target);
    }

    /// Whether `target` is scheduled.
    #[cfg(test)]
    pub(crate) fn has(&self, target: &Target) -> bool {
        self.targets.contains_key(target)
    }

    /// Makes a round of `target` due at once (adding it if needed).
    pub(crate) fn kick(&mut self, target: &Target, now: Instant) {
        self.add(target.clone(), now);
        if let Some(state) = self.targets.get_mut(target) {
            state.next_round = now;
        }
    }

    /// `peer` appeared in `target` at `now`: whether to sync with it now.
    /// If so, the session counts as started.
    pub(crate) fn appeared(&mut self, target: &Target, peer: PeerId, now: Instant) -> bool {
        let per_round = self.timing.per_round;
        let cooldown = self.timing.cooldown;
        let Some(state) = self.targets.get_mut(target) else {
            return false;
        };
        let recent = state
            .last
            .get(&peer)
            .is_some_and(|at| now.saturating_duration_since(*at) < cooldown);
        if recent || state.running.contains(&peer) || state.running.len() >= per_round {
            return false;
        }
        state.running.insert(peer);
        true
    }

    /// The sessions to start at `now`: for each target whose round is due,
    /// up to `per_round` of its peers (`peers(target)`, in any order) that
    /// it is not already syncing with, those synced longest ago first. The
    /// next round is then set `period` later, moved by `random` (any
    /// `u64`, drawn by the caller) within ± `jitter`. The returned sessions
    /// count as started.
    pub(crate) fn due(
        &mut self,
        now: Instant,
        random: u64,
        peers: &dyn Fn(&Target) -> Vec<PeerId>,
    ) -> Vec<(Target, PeerId)> {
        let timing = self.timing;
        let mut start = Vec::new();
        for (target, state) in &mut self.targets {
            if now < state.next_round {
                continue;
            }
            state.next_round = now + jittered(timing.period, timing.jitter, random);
            let mut candidates: Vec<PeerId> = peers(target)
                .into_iter()
                .filter(|p| !state.running.contains(p))
                .collect();
            // Never synced first, then the longest ago; stable otherwise.
            candidates.sort_by_key(|p| state.last.get(p).copied());
            let room = timing.per_round.saturating_sub(state.running.len());
            for peer in candidates.into_iter().take(room) {
                state.running.insert(peer);
                start.push((target.clone(), peer));
            }
        }
        start
    }

    /// A session of `target` with `peer` ended at `now`, completed or not.
    pub(crate) fn finished(&mut self, target: &Target, peer: PeerId, now: Instant) {
        let Some(state) = self.targets.get_mut(target) else {
            return;
        };
        state.running.remove(&peer);
        state.last.insert(peer, now);
        if state.last.len() > REMEMBERED
            && let Some(oldest) = state
                .last
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(p, _)| *p)
        {
            state.last.remove(&oldest);
        }
    }

    /// Sessions running for `target`.
    #[cfg(test)]
    pub(crate) fn running(&self, target: &Target) -> usize {
        self.targets.get(target).map_or(0, |s| s.running.len())
    }
}

/// `period` moved by `random` to somewhere in `period ± jitter`.
fn jittered(period: Duration, jitter: Duration, random: u64) -> Duration {
    let jitter = jitter.min(period);
    let span = u64::try_from(jitter.as_millis())
        .unwrap_or(u64::MAX / 2)
        .saturating_mul(2)
        .saturating_add(1);
    let offset = Duration::from_millis(random % span);
    (period - jitter) + offset
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        period: Duration::from_secs(300),
        jitter: Duration::from_secs(60),
        per_round: 3,
        cooldown: Duration::from_secs(30),
    };

    fn grief() -> Target {
        Target::Channel(ChannelName::parse("grief").unwrap_or_else(|_| unreachable!()))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_joined_channel_syncs_at_once_with_up_to_three_peers() {
        let t0 = Instant::now();
        let peers: Vec<PeerId> = (0..5).map(|_| PeerId::random()).collect();
        let mut schedule = Schedule::new(TIMING);
        schedule.add(grief(), t0);
        let all = peers.clone();
        let started = schedule.due(t0, 0, &|_| all.clone());
        assert_eq!(started.len(), 3);
        assert_eq!(schedule.running(&grief()), 3);
        // Nothing more until the next round.
        assert!(schedule.due(t0 + secs(10), 0, &|_| all.clone()).is_empty());
        // A new peer while three run waits for the round.
        assert!(!schedule.appeared(&grief(), PeerId::random(), t0 + secs(10)));
    }

    #[test]
    fn rounds_come_every_period_within_the_jitter_and_prefer_peers_not_synced_lately() {
        let t0 = Instant::now();
        let peers: Vec<PeerId> = (0..4).map(|_| PeerId::random()).collect();
        let mut schedule = Schedule::new(TIMING);
        schedule.add(grief(), t0);
        let all = peers.clone();
        let first = schedule.due(t0, 0, &|_| all.clone());
        for (target, peer) in &first {
            schedule.finished(target, *peer, t0 + secs(1));
        }
        // random 0: the earliest the jitter allows, 240 s.
        assert!(schedule.due(t0 + secs(239), 0, &|_| all.clone()).is_empty());
        let second = schedule.due(t0 + secs(240), u64::MAX, &|_| all.clone());
        assert_eq!(second.len(), 3);
        // The peer left out of the first round comes first in the second.
        let left_out = peers
            .iter()
            .find(|p| !first.iter().any(|(_, q)| q == *p))
            .copied();
        assert_eq!(second.first().map(|(_, p)| *p), left_out);
        for (target, peer) in &second {
            schedule.finished(target, *peer, t0 + secs(241));
        }
        // u64::MAX % 120 001 ms: within 240..=360 s of the second round.
        let next = jittered(TIMING.period, TIMING.jitter, u64::MAX);
        assert!(next >= secs(240) && next <= secs(360));
        assert!(
            schedule
                .due(t0 + secs(240) + next - Duration::from_millis(1), 0, &|_| {
                    all.clone()
                })
                .is_empty()
        );
        assert_eq!(
            schedule
                .due(t0 + secs(240) + next, 0, &|_| all.clone())
                .len(),
            3
        );
    }

    #[test]
    fn a_new_or_returning_peer_is_synced_at_once_but_not_again_within_the_cooldown() {
        let t0 = Instant::now();
        let peer = PeerId::random();
        let mut schedule = Schedule::new(TIMING);
        assert!(!schedule.appeared(&grief(), peer, t0), "not joined");
        schedule.add(grief(), t0);
        schedule.due(t0, 0, &|_| Vec::new());
        assert!(schedule.appeared(&grief(), peer, t0 + secs(1)));
        assert!(
            !schedule.appeared(&grief(), peer, t0 + secs(2)),
            "already running"
        );
        schedule.finished(&grief(), peer, t0 + secs(3));
        // It reconnects at once: synced a moment ago, so not again.
        assert!(!schedule.appeared(&grief(), peer, t0 + secs(20)));
        // After a longer absence it is synced with again.
        assert!(schedule.appeared(&grief(), peer, t0 + secs(40)));
    }

    #[test]
    fn a_kick_makes_a_round_due_and_a_removed_target_stays_quiet() {
        let t0 = Instant::now();
        let peers = vec![PeerId::random()];
        let mut schedule = Schedule::new(TIMING);
        schedule.add(Target::Lists, t0);
        let all = peers.clone();
        for (target, peer) in schedule.due(t0, 0, &|_| all.clone()) {
            schedule.finished(&target, peer, t0 + secs(1));
        }
        assert!(schedule.due(t0 + secs(5), 0, &|_| all.clone()).is_empty());
        schedule.kick(&Target::Lists, t0 + secs(5));
        assert_eq!(schedule.due(t0 + secs(5), 0, &|_| all.clone()).len(), 1);
        schedule.remove(&Target::Lists);
        schedule.kick(&grief(), t0 + secs(6));
        assert!(schedule.has(&grief()));
        schedule.remove(&grief());
        assert!(schedule.due(t0 + secs(600), 0, &|_| all.clone()).is_empty());
    }
}
