//! The 1 s tick: bans, channel lookups, relay reservation retries,
//! bootstrap redials, the DHT refresh, the retention sweep (run on the
//! blocking pool), own posts that aged out and the DHT store count.
//!
//! [`Bans`] and [`Chores`] decide; they take `now` (monotonic) as a
//! parameter and never see the swarm. `Service::maintenance` asks them and
//! carries out the answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use tokio::task::{JoinError, JoinHandle};

use super::Service;
use crate::clock::now_ms;
use crate::event::UndeliveredReason;
use crate::store::{StoreError, StoredAddressBan, SweepStats};
use crate::swarm::score_thresholds;

/// Redial bootstrap nodes when none is connected, this often.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(30);
/// Refresh the DHT routing table this often.
const DHT_REFRESH: Duration = Duration::from_secs(5 * 60);
/// Look for own posts that aged out while waiting for peers this often.
const OUTBOX_REVIEW: Duration = Duration::from_secs(10);
/// Drop expired provider records from the DHT store and count the rest,
/// this often.
const DHT_COUNT: Duration = Duration::from_secs(10);

/// A chore that comes round every `period`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Every {
    period: Duration,
    next: Instant,
}

impl Every {
    /// First due one period after `now`.
    pub(super) fn new(period: Duration, now: Instant) -> Self {
        Self {
            period,
            next: now + period,
        }
    }

    /// True when the chore is due at `now`; the next one is then a whole
    /// period after `now`, so a late tick never makes chores bunch up.
    pub(super) fn due(&mut self, now: Instant) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + self.period;
        true
    }
}

/// The periodic chores of the tick.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chores {
    bootstrap: Every,
    dht_refresh: Every,
    sweep: Every,
    outbox: Every,
    dht_count: Every,
}

/// Which chores are due at one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Due {
    /// Redial bootstrap nodes if none is connected.
    pub bootstrap: bool,
    /// Refresh the DHT routing table.
    pub dht_refresh: bool,
    /// Run the retention sweep.
    pub sweep: bool,
    /// Give up own posts that aged out while waiting for peers.
    pub outbox: bool,
    /// Drop the DHT store's expired provider records and count the rest.
    pub dht_count: bool,
}

impl Chores {
    pub(super) fn new(now: Instant, sweep_interval: Duration) -> Self {
        Self {
            bootstrap: Every::new(BOOTSTRAP_RETRY, now),
            dht_refresh: Every::new(DHT_REFRESH, now),
            sweep: Every::new(sweep_interval, now),
            outbox: Every::new(OUTBOX_REVIEW, now),
            dht_count: Every::new(DHT_COUNT, now),
        }
    }

    pub(super) fn due(&mut self, now: Instant) -> Due {
        Due {
            bootstrap: self.bootstrap.due(now),
            dht_refresh: self.dht_refresh.due(now),
            sweep: self.sweep.due(now),
            outbox: self.outbox.due(now),
            dht_count: self.dht_count.due(now),
        }
    }
}

/// A retention sweep running on the blocking pool.
pub(crate) struct Sweep {
    /// Set to make it stop early (at shutdown).
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<SweepStats, StoreError>>,
}

impl Sweep {
    /// Waits for the sweep to end.
    pub(super) async fn done(
        sweep: &mut Option<Sweep>,
    ) -> Result<Result<SweepStats, StoreError>, JoinError> {
        match sweep {
            Some(sweep) => (&mut sweep.task).await,
            None => std::future::pending().await,
        }
    }
}

/// Peers disconnected and refused for a while because their gossip score
/// fell under the graylist (gossipsub itself never disconnects anyone).
#[derive(Debug)]
pub(crate) struct Bans {
    duration: Duration,
    until: HashMap<PeerId, Instant>,
}

impl Bans {
    pub(super) fn new(duration: Duration) -> Self {
        Self {
            duration,
            until: HashMap::new(),
        }
    }

    /// Bans `peer` from `now` for the ban duration.
    pub(super) fn ban(&mut self, peer: PeerId, now: Instant) {
        self.until.insert(peer, now + self.duration);
    }

    /// Whether `peer` is banned (and must not be dialled).
    pub(super) fn is_banned(&self, peer: &PeerId) -> bool {
        self.until.contains_key(peer)
    }

    /// Lifts the bans whose time has come; returns those peers.
    pub(super) fn lift_expired(&mut self, now: Instant) -> Vec<PeerId> {
        let mut lifted = Vec::new();
        self.until.retain(|peer, until| {
            let keep = *until > now;
            if !keep {
                lifted.push(*peer);
            }
            keep
        });
        lifted
    }
}

/// The peers among `scores` whose score is under `threshold`; unscored
/// peers are never below.
pub(crate) fn below(
    scores: impl IntoIterator<Item = (PeerId, Option<f64>)>,
    threshold: f64,
) -> Vec<(PeerId, f64)> {
    scores
        .into_iter()
        .filter_map(|(peer, score)| score.filter(|s| *s < threshold).map(|s| (peer, s)))
        .collect()
}

impl Service {
    /// Everything the 1 s tick does, at monotonic `now`.
    pub(super) fn maintenance(&mut self, now: Instant) {
        self.ban_low_scores(now);
        self.tell_admission(now);
        for peer in self.bans.lift_expired(now) {
            self.swarm.behaviour_mut().blocked.unblock_peer(peer);
            // A flooder's application score served its ban; gossipsub
            // keeps score state for an hour after a disconnect, which
            // would ban it again at once.
            self.swarm
                .behaviour_mut()
                .gossipsub
                .set_application_score(&peer, 0.0);
        }
        self.pace_tick();
        self.flush_refusals();
        self.run_lookups(now);
        self.reach_tick(now);
        self.presence_tick();
        let due = self.chores.due(now);
        if due.bootstrap {
            let connected = self
                .bootstrap_peers
                .iter()
                .any(|p| self.connections.contains_key(p));
            if !connected {
                self.dial_bootstrap();
            }
        }
        if due.dht_refresh {
            // Fails quietly when the routing table is empty.
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        if due.sweep {
            self.start_sweep();
        }
        if due.outbox {
            self.give_up_aged(now_ms());
        }
        if due.dht_count && self.config.dht_server {
            self.count_provider_records();
        }
    }

    /// Starts the retention sweep on the blocking pool, on a clone of the
    /// store, unless one is still running: deleting thousands of posts must
    /// not hold up the swarm. Its result comes back to [`Service::on_swept`].
    fn start_sweep(&mut self) {
        if self.sweep.is_some() {
            return;
        }
        let store = self.store.clone();
        let retention = self.config.retention.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let now = now_ms();
        let task = tokio::task::spawn_blocking(move || store.sweep(now, &retention, &flag));
        self.sweep = Some(Sweep { stop, task });
    }

    /// The sweep ended: own posts it deleted while they still waited for
    /// peers are given up (and said so), the rest is logged.
    pub(super) fn on_swept(&mut self, result: Result<Result<SweepStats, StoreError>, JoinError>) {
        self.sweep = None;
        let mut stats = match result {
            Ok(Ok(stats)) => stats,
            Ok(Err(e)) => return tracing::warn!(error = %e, "retention sweep failed"),
            Err(e) => return tracing::warn!(error = %e, "retention sweep task failed"),
        };
        let given_up = std::mem::take(&mut stats.pending_deleted);
        tracing::debug!(?stats, pending = given_up.len(), "retention sweep");
        for (channel, id) in given_up {
            self.undelivered(&channel, id, UndeliveredReason::Deleted);
        }
    }

    /// Stops a running sweep between two of its transactions and waits for
    /// it, so that nothing holds the store when the node stops.
    pub(super) async fn end_sweep(&mut self) {
        let Some(sweep) = self.sweep.as_mut() else {
            return;
        };
        sweep.stop.store(true, Ordering::Relaxed);
        let result = (&mut sweep.task).await;
        self.on_swept(result);
    }

    /// Disconnects and refuses, for the ban duration, connected peers whose
    /// gossip score fell under the graylist.
    fn ban_low_scores(&mut self, now: Instant) {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let scores = self
            .connections
            .keys()
            .map(|peer| (*peer, gossipsub.peer_score(peer)));
        let low = below(scores, score_thresholds().graylist_threshold);
        for (peer, score) in low {
            tracing::info!(%peer, score, "peer banned for a low gossip score");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.bans.ban(peer, now);
            self.emit(crate::event::Event::PeerBanned { peer, score });
            self.ban_addresses(peer, now);
        }
    }

    /// Bans the address ranges `peer` (just banned) connected from, so it
    /// cannot come straight back under a new peer id (see
    /// `swarm/admission.rs`), and says so.
    pub(super) fn ban_addresses(&mut self, peer: PeerId, now: Instant) {
        let set = self.swarm.behaviour_mut().admission.ban(peer, now);
        for ban in set {
            tracing::info!(%peer, range = %ban.range, secs = ban.duration.as_secs(), offences = ban.offences, "address range banned");
            self.metrics.address_ban(ban.range.is_host());
            let range = ban.range.to_string();
            // Kept so that a restart does not let the range straight back
            // in, nor start its escalation again.
            let kept = StoredAddressBan {
                offences: ban.offences,
                until_ms: now_ms().saturating_add(super::duration_ms(ban.duration)),
            };
            if let Err(e) = self.store.put_address_ban(&range, kept) {
                tracing::warn!(error = %e, %range, "address ban not kept for restarts");
            }
            self.emit(crate::event::Event::AddressBanned {
                range,
                duration: ban.duration,
                offences: ban.offences,
            });
        }
    }

    /// Puts back the address bans kept from before a restart, with the
    /// time they have left; those the admission table would have
    /// forgotten by now are deleted.
    pub(super) fn restore_address_bans(&mut self) {
        let now = Instant::now();
        let wall = now_ms();
        let admission = &mut self.swarm.behaviour_mut().admission;
        let memory = super::duration_ms(admission.ban_memory());
        let kept = match self
            .store
            .address_bans(|_, ban| ban.until_ms.saturating_add(memory) > wall)
        {
            Ok(kept) => kept,
            Err(e) => return tracing::warn!(error = %e, "kept address bans unreadable"),
        };
        let mut restored = 0;
        for (range, ban) in kept {
            let until = if ban.until_ms >= wall {
                now + Duration::from_millis(ban.until_ms - wall)
            } else {
                now.checked_sub(Duration::from_millis(wall - ban.until_ms))
                    .unwrap_or(now)
            };
            if admission.restore_ban(&range, ban.offences, until, now) {
                restored += 1;
            }
        }
        if restored > 0 {
            tracing::info!(restored, "address bans kept from before the restart");
        }
    }

    /// Gives the admission behaviour the connected peers' gossip scores
    /// (its measure of standing) and lets it forget what aged out.
    fn tell_admission(&mut self, now: Instant) {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let scores: Vec<(PeerId, f64)> = self
            .connections
            .keys()
            .filter_map(|peer| gossipsub.peer_score(peer).map(|s| (*peer, s)))
            .collect();
        let admission = &mut self.swarm.behaviour_mut().admission;
        admission.set_scores(scores, now);
        admission.tick(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_chore_comes_round_once_per_period_and_a_late_tick_does_not_bunch_them() {
        let t0 = Instant::now();
        let mut every = Every::new(secs(30), t0);
        assert!(!every.due(t0 + secs(29)));
        assert!(every.due(t0 + secs(30)));
        assert!(!every.due(t0 + secs(31)));
        // The node was busy for five periods: one run, not five.
        assert!(every.due(t0 + secs(200)));
        assert!(!every.due(t0 + secs(201)));
        assert!(every.due(t0 + secs(230)));
    }

    #[test]
    fn each_chore_keeps_its_own_period() {
        let t0 = Instant::now();
        let mut chores = Chores::new(t0, secs(60));
        let mut counts = [0; 5];
        for s in 1..=600 {
            let due = chores.due(t0 + secs(s));
            for (count, hit) in counts.iter_mut().zip([
                due.bootstrap,
                due.dht_refresh,
                due.sweep,
                due.outbox,
                due.dht_count,
            ]) {
                *count += usize::from(hit);
            }
        }
        // Ten minutes: bootstrap every 30 s, DHT every 5 min, sweep every
        // minute, outbox and the DHT count every 10 s.
        assert_eq!(counts, [20, 2, 10, 60, 60]);
    }

    #[test]
    fn a_ban_lasts_its_duration_and_is_then_lifted() {
        let t0 = Instant::now();
        let peer = PeerId::random();
        let other = PeerId::random();
        let mut bans = Bans::new(secs(600));
        bans.ban(peer, t0);
        assert!(bans.is_banned(&peer));
        assert!(!bans.is_banned(&other));
        assert!(bans.lift_expired(t0 + secs(599)).is_empty());
        assert!(bans.is_banned(&peer));
        assert_eq!(bans.lift_expired(t0 + secs(600)), vec![peer]);
        assert!(!bans.is_banned(&peer));
    }

    #[test]
    fn only_scored_peers_under_the_threshold_are_below() {
        let (low, ok, unscored) = (PeerId::random(), PeerId::random(), PeerId::random());
        let found = below(
            [(low, Some(-90.0)), (ok, Some(-10.0)), (unscored, None)],
            -80.0,
        );
        assert_eq!(found, vec![(low, -90.0)]);
    }
}
