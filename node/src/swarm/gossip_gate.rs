//! A gate in front of gossipsub: what a peer sends is judged here, in the
//! swarm task, before gossipsub records anything of it.
//!
//! Gossipsub decodes an RPC in the connection handler and hands it to its
//! behaviour as a handler event. The behaviour enters every message in its
//! duplicate cache, message cache and peer-score records *before* it checks
//! whether the node subscribes to the message's topic, so a peer that
//! floods a topic the node never joined fills memory the node never gets to
//! judge (measured: 19 MiB to 2.1 GiB in 30 s). And every subscription
//! change a peer announces is applied and turned into an event, however
//! fast they come (measured: 3 peers × 10 000 topics kept the node task at
//! a full core). [`GossipGate`] wraps the behaviour and takes the handler
//! event first:
//!
//! - messages (valid or not) on topics the node does not subscribe to are
//!   removed from the RPC, so gossipsub never sees them;
//! - each subscription change costs the peer one unit of an allowance
//!   ([`CHURN`]); changes over it are removed from the RPC;
//! - foreign-topic messages cost the peer one unit of another allowance
//!   ([`FOREIGN`]), which covers the honest case (a peer that had not yet
//!   heard that this node left a channel);
//! - a peer that exceeds an allowance is reported to the node task as a
//!   [`GateEvent::Offence`], at most once per [`REPORT_EVERY`], which
//!   lowers its gossip score and so gets it banned like a peer that sends
//!   invalid messages;
//! - `Subscribed`/`Unsubscribed` events for topics the node does not hold
//!   are not passed on: the node task has nothing to do for them.
//!
//! Drops are counted in `hearth_gossip_gate_dropped_total{reason}`. The
//! allowances ([`Ledger`]) are a pure type that takes the time as a
//! parameter, unit-tested without a swarm.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::{Deref, DerefMut};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::gossipsub::{self, TopicHash};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::Gossipsub;

/// Gossipsub's handler event. Its type is public but not exported by
/// libp2p-gossipsub 0.50; it is reachable through the behaviour's
/// connection handler.
type GossipHandlerEvent = THandlerOutEvent<Gossipsub>;

/// A rate allowance: `burst` at once, then `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limit {
    /// Units available at once (and at most).
    pub burst: u32,
    /// Units that come back per second.
    pub per_second: f64,
}

/// Subscription changes (subscribe or unsubscribe, new or repeated) per
/// peer. A node announces all its topics in one RPC when it connects, so
/// the burst is what a node in many channels and moderators needs
/// (512 topics: more than the 150-channel mesh test); after that, people
/// join and leave channels by hand, far under one a second.
pub(crate) const CHURN: Limit = Limit {
    burst: 512,
    per_second: 1.0,
};

/// Messages on topics this node does not subscribe to, per peer. An honest
/// peer sends one only in the moment before it hears that this node left
/// a channel (messages in flight); a burst of 64 covers a busy channel's
/// round trip.
pub(crate) const FOREIGN: Limit = Limit {
    burst: 64,
    per_second: 1.0,
};

/// A peer over an allowance is reported at most this often.
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(1);

/// What a peer did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offence {
    /// More messages on topics this node does not hold than [`FOREIGN`].
    ForeignTopic,
    /// More subscription changes than [`CHURN`].
    SubscriptionChurn,
}

impl Offence {
    /// The metric label and log name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ForeignTopic => "foreign_topic",
            Self::SubscriptionChurn => "subscription_churn",
        }
    }
}

/// What the gate hands the node task.
#[derive(Debug)]
pub(crate) enum GateEvent {
    /// Gossipsub's own event, for a topic the node holds.
    Gossip(gossipsub::Event),
    /// A peer went over an allowance; what it sent over it was dropped.
    Offence {
        /// The peer.
        peer: PeerId,
        /// What it did.
        offence: Offence,
    },
}

/// What to do with one message or subscription change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the allowance: pass it to gossipsub.
    Pass,
    /// Over it: drop it.
    Drop,
    /// Over it: drop it, and report the peer.
    DropAndReport,
}

impl Verdict {
    fn passes(self) -> bool {
        self == Self::Pass
    }
}

/// An allowance in use: units left, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    units: f64,
    at: Instant,
}

impl Allowance {
    fn full(limit: Limit, now: Instant) -> Self {
        Self {
            units: f64::from(limit.burst),
            at: now,
        }
    }

    /// Takes one unit if there is one at `now`.
    fn take(&mut self, limit: Limit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.units = (self.units + elapsed * limit.per_second).min(f64::from(limit.burst));
        self.at = now;
        if self.units >= 1.0 {
            self.units -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One peer's allowances.
#[derive(Debug, Clone, Copy)]
struct PeerLedger {
    foreign: Allowance,
    churn: Allowance,
    reported: Option<Instant>,
}

/// The allowances of every connected peer that sent something.
#[derive(Debug)]
pub(crate) struct Ledger {
    foreign: Limit,
    churn: Limit,
    peers: HashMap<PeerId, PeerLedger>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new(FOREIGN, CHURN)
    }
}

impl Ledger {
    pub(crate) fn new(foreign: Limit, churn: Limit) -> Self {
        Self {
            foreign,
            churn,
            peers: HashMap::new(),
        }
    }

    fn peer(&mut self, peer: PeerId, now: Instant) -> &mut PeerLedger {
        let (foreign, churn) = (self.foreign, self.churn);
        self.peers.entry(peer).or_insert_with(|| PeerLedger {
            foreign: Allowance::full(foreign, now),
            churn: Allowance::full(churn, now),
            reported: None,
        })
    }

    /// `peer` sent a message on a topic this node does not hold.
    pub(crate) fn foreign_message(&mut self, peer: PeerId, now: Instant) -> Verdict {
        let limit = self.foreign;
        let ledger = self.peer(peer, now);
        let ok = ledger.foreign.take(limit, now);
        judge(ledger, ok, now)
    }

    /// `peer` announced a subscription change.
    pub(crate) fn subscription_change(&mut self, peer: PeerId, now: Instant) -> Verdict {
        let limit = self.churn;
        let ledger = self.peer(peer, now);
        let ok = ledger.churn.take(limit, now);
        judge(ledger, ok, now)
    }

    /// `peer` is gone: its allowances go with it (a reconnect starts full;
    /// an offender is banned by then).
    pub(crate) fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// Peers with allowances in use.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.peers.len()
    }
}

fn judge(ledger: &mut PeerLedger, within: bool, now: Instant) -> Verdict {
    if within {
        return Verdict::Pass;
    }
    let due = ledger
        .reported
        .is_none_or(|at| now.saturating_duration_since(at) >= REPORT_EVERY);
    if due {
        ledger.reported = Some(now);
        Verdict::DropAndReport
    } else {
        Verdict::Drop
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Dropped {
    reason: &'static str,
}

/// Gossipsub behind the gate. Dereferences to the gossipsub behaviour, so
/// the node task subscribes, publishes and reads scores as before.
pub(crate) struct GossipGate {
    inner: Gossipsub,
    ledger: Ledger,
    /// Offences not yet handed to the node task (at most one per peer
    /// and reason per [`REPORT_EVERY`]).
    reports: VecDeque<GateEvent>,
    dropped: Family<Dropped, Counter>,
}

impl GossipGate {
    /// Gates `inner`; with a `registry`, registers
    /// `hearth_gossip_gate_dropped_total` in it.
    pub(crate) fn new(inner: Gossipsub, registry: Option<&mut Registry>) -> Self {
        let dropped = Family::<Dropped, Counter>::default();
        if let Some(registry) = registry {
            registry.register(
                "hearth_gossip_gate_dropped",
                "Gossip input dropped before gossipsub saw it, by reason",
                dropped.clone(),
            );
        }
        Self {
            inner,
            ledger: Ledger::default(),
            reports: VecDeque::new(),
            dropped,
        }
    }

    /// Judges one RPC from `peer` in place.
    fn judge_rpc(&mut self, peer: PeerId, event: &mut GossipHandlerEvent) {
        let GossipHandlerEvent::Message {
            rpc,
            invalid_messages,
        } = event
        else {
            return;
        };
        let now = Instant::now();
        let mut offences = Vec::new();
        let mut foreign = 0u64;
        if !rpc.messages.is_empty() || !invalid_messages.is_empty() {
            let held: HashSet<&TopicHash> = self.inner.topics().collect();
            let ledger = &mut self.ledger;
            let mut keep = |topic: &TopicHash| {
                if held.contains(topic) {
                    return true;
                }
                foreign += 1;
                let verdict = ledger.foreign_message(peer, now);
                if verdict == Verdict::DropAndReport {
                    offences.push(Offence::ForeignTopic);
                }
                // Within the allowance it is still dropped: gossipsub would
                // only cache it and never pass it on.
                false
            };
            rpc.messages.retain(|m| keep(&m.topic));
            invalid_messages.retain(|(m, _)| keep(&m.topic));
        }
        let mut churn = 0u64;
        if !rpc.subscriptions.is_empty() {
            let ledger = &mut self.ledger;
            rpc.subscriptions.retain(|_| {
                let verdict = ledger.subscription_change(peer, now);
                if verdict == Verdict::DropAndReport {
                    offences.push(Offence::SubscriptionChurn);
                }
                if !verdict.passes() {
                    churn += 1;
                }
                verdict.passes()
            });
        }
        if foreign > 0 {
            self.count(Offence::ForeignTopic, foreign);
        }
        if churn > 0 {
            self.count(Offence::SubscriptionChurn, churn);
        }
        for offence in offences {
            tracing::debug!(%peer, offence = offence.as_str(), "gossip gate: peer over its allowance");
            self.reports.push_back(GateEvent::Offence { peer, offence });
        }
    }

    fn count(&self, reason: Offence, n: u64) {
        self.dropped
            .get_or_create(&Dropped {
                reason: reason.as_str(),
            })
            .inc_by(n);
    }

    /// Whether the node subscribes to `topic`.
    fn holds(&self, topic: &TopicHash) -> bool {
        self.inner.topics().any(|t| t == topic)
    }
}

impl Deref for GossipGate {
    type Target = Gossipsub;
    fn deref(&self) -> &Gossipsub {
        &self.inner
    }
}

impl DerefMut for GossipGate {
    fn deref_mut(&mut self) -> &mut Gossipsub {
        &mut self.inner
    }
}

impl NetworkBehaviour for GossipGate {
    type ConnectionHandler = <Gossipsub as NetworkBehaviour>::ConnectionHandler;
    type ToSwarm = GateEvent;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        if let FromSwarm::ConnectionClosed(closed) = &event
            && closed.remaining_established == 0
        {
            self.ledger.forget(&closed.peer_id);
        }
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        mut event: THandlerOutEvent<Self>,
    ) {
        self.judge_rpc(peer_id, &mut event);
        self.inner
            .on_connection_handler_event(peer_id, connection_id, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        if let Some(report) = self.reports.pop_front() {
            return Poll::Ready(ToSwarm::GenerateEvent(report));
        }
        loop {
            match self.inner.poll(cx) {
                Poll::Ready(ToSwarm::GenerateEvent(
                    gossipsub::Event::Subscribed { topic, .. }
                    | gossipsub::Event::Unsubscribed { topic, .. },
                )) if !self.holds(&topic) => {}
                Poll::Ready(other) => return Poll::Ready(other.map_out(GateEvent::Gossip)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn a_burst_passes_then_one_a_second_and_the_excess_is_reported_once_a_second() {
        let t0 = Instant::now();
        let limit = Limit {
            burst: 3,
            per_second: 1.0,
        };
        let mut ledger = Ledger::new(limit, limit);
        let peer = PeerId::random();
        for _ in 0..3 {
            assert_eq!(ledger.foreign_message(peer, t0), Verdict::Pass);
        }
        assert_eq!(ledger.foreign_message(peer, t0), Verdict::DropAndReport);
        assert_eq!(ledger.foreign_message(peer, at(t0, 500)), Verdict::Drop);
        // A second later one unit came back; the next excess is reported
        // again.
        assert_eq!(ledger.foreign_message(peer, at(t0, 1000)), Verdict::Pass);
        assert_eq!(
            ledger.foreign_message(peer, at(t0, 1000)),
            Verdict::DropAndReport
        );
        assert_eq!(ledger.foreign_message(peer, at(t0, 1100)), Verdict::Drop);
    }

    #[test]
    fn allowances_are_per_peer_and_per_kind() {
        let t0 = Instant::now();
        let limit = Limit {
            burst: 1,
            per_second: 1.0,
        };
        let mut ledger = Ledger::new(limit, limit);
        let (churner, honest) = (PeerId::random(), PeerId::random());
        assert_eq!(ledger.subscription_change(churner, t0), Verdict::Pass);
        assert_eq!(
            ledger.subscription_change(churner, t0),
            Verdict::DropAndReport
        );
        // The churner's foreign-topic allowance and the other peer's
        // allowances are untouched.
        assert_eq!(ledger.foreign_message(churner, t0), Verdict::Pass);
        assert_eq!(ledger.subscription_change(honest, t0), Verdict::Pass);
        assert_eq!(ledger.foreign_message(honest, t0), Verdict::Pass);
    }

    #[test]
    fn a_quiet_peer_gets_its_burst_back_but_never_more() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        let peer = PeerId::random();
        for _ in 0..CHURN.burst {
            assert_eq!(ledger.subscription_change(peer, t0), Verdict::Pass);
        }
        assert_ne!(ledger.subscription_change(peer, t0), Verdict::Pass);
        // An hour of quiet refills the burst, not an hour's worth.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..CHURN.burst {
            assert_eq!(ledger.subscription_change(peer, later), Verdict::Pass);
        }
        assert_ne!(ledger.subscription_change(peer, later), Verdict::Pass);
    }

    #[test]
    fn a_node_in_the_mesh_tests_150_channels_announces_them_within_the_burst() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        let peer = PeerId::random();
        assert!((0..150).all(|_| ledger.subscription_change(peer, t0) == Verdict::Pass));
    }

    #[test]
    fn a_peer_that_left_is_forgotten() {
        let t0 = Instant::now();
        let mut ledger = Ledger::default();
        let peer = PeerId::random();
        ledger.foreign_message(peer, t0);
        assert_eq!(ledger.len(), 1);
        ledger.forget(&peer);
        assert_eq!(ledger.len(), 0);
    }
}
