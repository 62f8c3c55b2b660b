//! Backoff for dials to peers that refused or dropped this node.
//!
//! A node that bans a peer closes every connection the peer opens; a peer
//! that redials at once, from every source of addresses it has (mDNS, the
//! DHT, known peers), spins: one run saw an honest node redial the node
//! that banned it some 1,700 times in 15 s. Here each failed dial, and each
//! connection that ended within [`Policy::stable`] of opening, doubles the
//! wait before the next dial to that peer, up to a bound; a connection that
//! lasted clears it. The table is bounded: when full, the entry whose wait
//! ends first goes. Dials to a peer that has an open connection (hole
//! punching dials beside the relayed one) are neither held back nor
//! counted (the behaviour checks that), and neither are dials of a bare
//! address, which carry no peer id: what the user asked for goes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

/// How dials back off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The wait after the first failure.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// A connection that lasted this long counts as a success.
    pub stable: Duration,
    /// The most peers tracked.
    pub max_peers: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    next: Instant,
}

/// Peers that failed recently, and when each may be dialled again.
#[derive(Debug)]
pub(crate) struct Redial {
    policy: Policy,
    peers: HashMap<PeerId, Entry>,
}

impl Redial {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy,
            peers: HashMap::new(),
        }
    }

    /// The wait after `failures` failures in a row.
    pub(crate) fn wait(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.policy
            .first
            .saturating_mul(1u32 << doublings)
            .min(self.policy.max)
    }

    /// A dial to `peer` failed, or its connection ended early, at `now`.
    /// Returns the wait before the next dial.
    pub(crate) fn failed(&mut self, peer: PeerId, now: Instant) -> Duration {
        if !self.peers.contains_key(&peer) && self.peers.len() >= self.policy.max_peers {
            self.peers.retain(|_, e| e.next > now);
            if self.peers.len() >= self.policy.max_peers
                && let Some(first) = self
                    .peers
                    .iter()
                    .min_by_key(|(_, e)| e.next)
                    .map(|(p, _)| *p)
            {
                self.peers.remove(&first);
            }
        }
        let failures = self
            .peers
            .get(&peer)
            .map_or(0, |e| e.failures)
            .saturating_add(1);
        let wait = self.wait(failures);
        self.peers.insert(
            peer,
            Entry {
                failures,
                next: now + wait,
            },
        );
        wait
    }

    /// A connection to `peer` that opened at `opened` closed at `now`:
    /// early, it counts as a failure; after `stable`, it clears the peer.
    pub(crate) fn closed(&mut self, peer: PeerId, opened: Instant, now: Instant) {
        if now.saturating_duration_since(opened) >= self.policy.stable {
            self.peers.remove(&peer);
        } else {
            self.failed(peer, now);
        }
    }

    /// How long a dial to `peer` must still wait at `now` (`None`: it may
    /// be dialled).
    pub(crate) fn must_wait(&self, peer: &PeerId, now: Instant) -> Option<Duration> {
        self.peers
            .get(peer)
            .filter(|e| e.next > now)
            .map(|e| e.next - now)
    }

    /// Drops peers whose wait ended long ago (`max` after it ended), so
    /// that a peer that failed once a day does not stay at the bound.
    pub(crate) fn forget(&mut self, now: Instant) {
        let memory = self.policy.max;
        self.peers.retain(|_, e| e.next + memory > now);
    }

    /// How many peers are tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            first: Duration::from_secs(1),
            max: Duration::from_secs(300),
            stable: Duration::from_secs(30),
            max_peers: 8,
        }
    }

    #[test]
    fn a_refusing_peer_is_dialled_ever_less_often_up_to_the_bound() {
        let t0 = Instant::now();
        let mut redial = Redial::new(policy());
        let peer = PeerId::random();
        assert_eq!(redial.must_wait(&peer, t0), None);
        let waits: Vec<u64> = (0..12).map(|_| redial.failed(peer, t0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert!(
            redial
                .must_wait(&peer, t0 + Duration::from_secs(299))
                .is_some()
        );
        assert_eq!(redial.must_wait(&peer, t0 + Duration::from_secs(300)), None);
        // What a 15 s spin of immediate redials comes down to: a handful.
        let mut fresh = Redial::new(policy());
        let mut now = t0;
        let mut dials = 0;
        while now < t0 + Duration::from_secs(15) {
            if fresh.must_wait(&peer, now).is_none() {
                dials += 1;
                fresh.closed(peer, now, now);
            }
            now += Duration::from_millis(10);
        }
        assert!(dials <= 5, "{dials} dials in 15 s");
    }

    #[test]
    fn a_connection_that_lasted_clears_the_backoff_and_an_early_end_extends_it() {
        let t0 = Instant::now();
        let mut redial = Redial::new(policy());
        let peer = PeerId::random();
        redial.failed(peer, t0);
        redial.closed(peer, t0, t0 + Duration::from_secs(2));
        assert_eq!(
            redial.must_wait(&peer, t0 + Duration::from_secs(2)),
            Some(Duration::from_secs(2))
        );
        redial.closed(peer, t0, t0 + Duration::from_secs(60));
        assert_eq!(redial.must_wait(&peer, t0 + Duration::from_secs(60)), None);
        assert_eq!(redial.len(), 0);
    }

    #[test]
    fn the_table_stays_bounded_and_forgets() {
        let t0 = Instant::now();
        let mut redial = Redial::new(policy());
        for _ in 0..100 {
            redial.failed(PeerId::random(), t0);
            assert!(redial.len() <= 8);
        }
        redial.forget(t0 + Duration::from_secs(302));
        assert_eq!(redial.len(), 0);
    }
}
