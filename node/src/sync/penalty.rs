//! Penalties for peers that serve invalid posts or lists, or break the
//! sync protocol, fed into the same gossip score (and so the same bans) as
//! invalid gossip.
//!
//! Gossipsub counts a peer's invalid messages per topic, decays the count
//! by 0.99 a second and weighs its square by -10 (hearth's
//! `invalid_message_deliveries` parameters). Sync does the same with its
//! own count, and hands gossipsub `-count²` as the peer's application
//! score, which gossipsub weighs by its default `app_specific_weight` of
//! 10. So three invalid posts served by sync cost a peer the same -90 as
//! three gossiped, and put a fresh peer under the graylist (-80), where
//! the node bans it.

use std::collections::HashMap;

use libp2p::PeerId;

/// The count is multiplied by this each second, as gossipsub decays
/// invalid deliveries.
const DECAY_PER_SECOND: f64 = 0.99;
/// Counts below this are dropped, as gossipsub's `decay_to_zero`.
const DECAY_TO_ZERO: f64 = 0.1;
/// Most peers tracked; the smallest counts go first.
const MAX_PEERS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Count {
    value: f64,
    at_ms: u64,
}

impl Count {
    fn decayed(self, now_ms: u64) -> f64 {
        let seconds = now_ms.saturating_sub(self.at_ms) as f64 / 1000.0;
        self.value * DECAY_PER_SECOND.powf(seconds)
    }
}

/// Decaying counts of offences per peer.
#[derive(Debug, Default)]
pub(crate) struct Penalties {
    counts: HashMap<PeerId, Count>,
}

impl Penalties {
    /// Counts `offences` more for `peer` at monotonic `now_ms`; returns the
    /// peer's new application score.
    pub(crate) fn offend(&mut self, peer: PeerId, offences: usize, now_ms: u64) -> f64 {
        if self.counts.len() >= MAX_PEERS && !self.counts.contains_key(&peer) {
            self.prune(now_ms);
        }
        let before = self.counts.get(&peer).map_or(0.0, |c| c.decayed(now_ms));
        let value = before + offences as f64;
        self.counts.insert(
            peer,
            Count {
                value,
                at_ms: now_ms,
            },
        );
        score(value)
    }

    /// The current application scores of every penalised peer, decayed to
    /// `now_ms`; peers whose count decayed to nothing get 0 once and are
    /// then forgotten.
    pub(crate) fn scores(&mut self, now_ms: u64) -> Vec<(PeerId, f64)> {
        let mut out = Vec::with_capacity(self.counts.len());
        self.counts.retain(|peer, count| {
            let value = count.decayed(now_ms);
            if value < DECAY_TO_ZERO {
                out.push((*peer, 0.0));
                false
            } else {
                out.push((*peer, score(value)));
                true
            }
        });
        out
    }

    fn prune(&mut self, now_ms: u64) {
        self.counts
            .retain(|_, count| count.decayed(now_ms) >= DECAY_TO_ZERO);
        if self.counts.len() >= MAX_PEERS
            && let Some(least) = self
                .counts
                .iter()
                .min_by(|a, b| a.1.value.total_cmp(&b.1.value))
                .map(|(p, _)| *p)
        {
            self.counts.remove(&least);
        }
    }
}

/// The application score of a count: its square, negated.
fn score(count: f64) -> f64 {
    -(count * count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gossipsub's weight of the application score in hearth.
    const APP_WEIGHT: f64 = 10.0;
    const GRAYLIST: f64 = -80.0;

    #[test]
    fn three_offences_put_a_fresh_peer_under_the_graylist_as_gossip_would() {
        let peer = PeerId::random();
        let mut penalties = Penalties::default();
        assert!(penalties.offend(peer, 2, 0) * APP_WEIGHT > GRAYLIST);
        let score = penalties.offend(peer, 1, 0);
        assert_eq!(score * APP_WEIGHT, -90.0);
        assert!(score * APP_WEIGHT < GRAYLIST);
    }

    #[test]
    fn counts_decay_like_gossipsubs_and_are_then_forgotten() {
        let peer = PeerId::random();
        let mut penalties = Penalties::default();
        penalties.offend(peer, 3, 0);
        let [(p, after_a_minute)] = penalties.scores(60_000)[..] else {
            panic!("one peer");
        };
        assert_eq!(p, peer);
        let expected = -(3.0 * 0.99f64.powi(60)).powi(2);
        assert!((after_a_minute - expected).abs() < 1e-9);
        // Ten minutes on, the count is under 0.1: one last 0, then nothing.
        assert_eq!(penalties.scores(600_000), vec![(peer, 0.0)]);
        assert!(penalties.scores(600_001).is_empty());
    }
}
