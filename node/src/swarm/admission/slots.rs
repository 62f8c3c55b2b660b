//! Inbound connection slots that keep room for honest peers.
//!
//! A cap on inbound connections alone lets whoever comes first keep every
//! slot: 126 connections from fresh peer ids held all of a node's slots
//! for a whole attack, and a person who came later was refused again and
//! again. Here, when every inbound slot is taken, a newcomer takes the slot
//! of the inbound peer with the worst standing instead: a negative gossip
//! score first (the most negative), then the peer connected longest. Peers
//! the node knows to be good (it dialled them, or they delivered valid
//! posts: see [`super::GOOD_SCORE`]) and connections younger than a grace
//! period (so a newcomer has time to show it is useful before the next one
//! pushes it out) are never pushed out; when nobody else can go, the
//! newcomer is refused. A small positive score is no protection: a peer
//! earns it by sitting in a mesh, and ordering by it would push out the
//! newest (honest) peer before the idle old ones.
//!
//! Outbound connections never count here: the room between the inbound
//! cap and the total cap stays for the peers the node chose itself, so
//! peers dialling in cannot take the connections the node needs
//! (eclipse resistance).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::swarm::ConnectionId;

/// What the slots know of a peer, from the node's gossip scores.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Standing {
    /// Its gossipsub score (0 when it has none).
    pub score: f64,
    /// The node knows it to be good (it dialled it, or it delivered valid
    /// posts before).
    pub known: bool,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    peer: PeerId,
    since: Instant,
}

/// The established inbound connections.
#[derive(Debug)]
pub(crate) struct Slots {
    max: Option<usize>,
    grace: Duration,
    inbound: HashMap<ConnectionId, Slot>,
}

/// Whether a newcomer may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// There is a free slot.
    Free,
    /// Every slot is taken; this connection goes to make room.
    Evict(ConnectionId, PeerId),
    /// Every slot is taken by a peer that may not be pushed out.
    Full,
}

impl Slots {
    /// `max` inbound connections (`None`: no cap); connections younger
    /// than `grace` are never pushed out.
    pub(crate) fn new(max: Option<u32>, grace: Duration) -> Self {
        Self {
            max: max.map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
            grace,
            inbound: HashMap::new(),
        }
    }

    /// Whether one more inbound connection fits at `now`, and whose slot it
    /// takes if not.
    pub(crate) fn admit(&self, now: Instant, standing: impl Fn(&PeerId) -> Standing) -> Admit {
        let Some(max) = self.max else {
            return Admit::Free;
        };
        if self.inbound.len() < max {
            return Admit::Free;
        }
        self.victim(now, standing)
            .map_or(Admit::Full, |(c, p)| Admit::Evict(c, p))
    }

    /// The inbound connection with the worst standing that may be pushed
    /// out at `now`, if any.
    fn victim(
        &self,
        now: Instant,
        standing: impl Fn(&PeerId) -> Standing,
    ) -> Option<(ConnectionId, PeerId)> {
        self.inbound
            .iter()
            .filter(|(_, slot)| now.saturating_duration_since(slot.since) >= self.grace)
            .map(|(id, slot)| (id, slot, standing(&slot.peer)))
            .filter(|(_, _, s)| !s.known)
            .min_by(|(_, a, sa), (_, b, sb)| {
                let (worse_a, worse_b) = (sa.score.min(0.0), sb.score.min(0.0));
                worse_a.total_cmp(&worse_b).then(a.since.cmp(&b.since))
            })
            .map(|(id, slot, _)| (*id, slot.peer))
    }

    /// Whether the slots are over their cap (a newcomer came in and the
    /// connection pushed out has not closed yet).
    #[cfg(test)]
    pub(crate) fn over(&self) -> bool {
        self.max.is_some_and(|max| self.inbound.len() > max)
    }

    /// An inbound connection was established at `now`.
    pub(crate) fn opened(&mut self, connection: ConnectionId, peer: PeerId, now: Instant) {
        self.inbound.insert(connection, Slot { peer, since: now });
    }

    /// A connection closed.
    pub(crate) fn closed(&mut self, connection: ConnectionId) {
        self.inbound.remove(&connection);
    }

    /// The inbound connections held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inbound.len()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn id(n: usize) -> ConnectionId {
        ConnectionId::new_unchecked(n)
    }

    #[test]
    fn a_newcomer_takes_the_slot_of_the_worst_peer_past_its_grace() {
        let t0 = Instant::now();
        let mut slots = Slots::new(Some(3), secs(10));
        let (idle_old, idle_new, good) = (PeerId::random(), PeerId::random(), PeerId::random());
        slots.opened(id(1), idle_old, t0);
        slots.opened(id(2), good, t0);
        assert_eq!(slots.admit(t0, |_| Standing::default()), Admit::Free);
        slots.opened(id(3), idle_new, t0 + secs(5));
        let scores: HashMap<PeerId, f64> = [(good, 9.5), (idle_new, 0.3)].into_iter().collect();
        let standing = |p: &PeerId| Standing {
            score: scores.get(p).copied().unwrap_or(0.0),
            known: *p == good,
        };
        // Everyone is still within the grace period.
        assert_eq!(slots.admit(t0 + secs(9), standing), Admit::Full);
        // The idle peer connected longest goes first (a little score from
        // sitting in a mesh is no protection); the known one never.
        assert_eq!(
            slots.admit(t0 + secs(12), standing),
            Admit::Evict(id(1), idle_old)
        );
        slots.opened(id(4), PeerId::random(), t0 + secs(12));
        assert!(slots.over());
        slots.closed(id(1));
        assert!(!slots.over());
        assert_eq!(
            slots.admit(t0 + secs(16), standing),
            Admit::Evict(id(3), idle_new)
        );
    }

    #[test]
    fn a_negative_score_goes_before_an_idle_peer_and_known_peers_stay() {
        let t0 = Instant::now();
        let mut slots = Slots::new(Some(3), secs(0));
        let (idle, bad, known) = (PeerId::random(), PeerId::random(), PeerId::random());
        slots.opened(id(1), idle, t0);
        slots.opened(id(2), bad, t0 + secs(1));
        slots.opened(id(3), known, t0);
        let standing = |p: &PeerId| Standing {
            score: if *p == bad { -5.0 } else { 0.0 },
            known: *p == known,
        };
        assert_eq!(
            slots.admit(t0 + secs(2), standing),
            Admit::Evict(id(2), bad)
        );
        let only_known = |_: &PeerId| Standing {
            score: 0.0,
            known: true,
        };
        assert_eq!(slots.admit(t0 + secs(2), only_known), Admit::Full);
        assert_eq!(Slots::new(None, secs(0)).admit(t0, standing), Admit::Free);
    }
}
