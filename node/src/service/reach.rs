//! Being reachable behind a home router: which addresses the node
//! announces, when it reserves a slot on a relay, and what happens to
//! relayed connections.
//!
//! # Addresses
//!
//! The node announces (identify, DHT provider records) only confirmed
//! addresses ([`crate::addresses`]): configured `external_addrs`; its
//! listen addresses when the operator says so (`announce_listen_addrs`);
//! the address an AutoNAT server dialled back; relay circuit addresses of
//! accepted reservations. All but the configured ones must also be
//! announceable (global, or any scope with `announce_private`). AutoNAT's
//! own confirmations are intercepted (`swarm::guard`) and judged here.
//!
//! # When the node reserves a relay slot
//!
//! [`Reach`] holds what the node knows of its reachability and decides
//! when to reserve. The node is **unreachable** when any of these is seen
//! first:
//!
//! 1. a peer observes it at an IP that is none of its own listen IPs: a
//!    router translated its address (NAT). Seen at the first identify
//!    exchange with a bootstrap node, milliseconds after connecting;
//! 2. AutoNAT says private (the server's dial-back failed);
//! 3. an AutoNAT probe ended without an address the node may announce
//!    (the server could not or would not dial back, or dialled back an
//!    address outside the announced scope).
//!
//! The first matters because AutoNAT is slow where it counts: behind a
//! router that drops unsolicited packets (most home routers), the
//! server's dial-back waits for its 10 s connection timeout, so the
//! verdict "private" comes 12 s after start. A translated address is
//! enough to act on; if AutoNAT later confirms a public address (a port
//! forward), the node counts as **reachable** and gives its reservations
//! back.
//!
//! While unreachable, the node reserves a slot on up to [`MAX_RELAYS`]
//! relays: its connected bootstrap nodes whose identify protocols include
//! the relay "hop" protocol. A refused or lost reservation is tried again
//! after 10 s, then after gaps that double up to 10 minutes; another
//! relay takes its place meanwhile if there is one.
//!
//! # Relayed connections
//!
//! Channel peers reach the node through a relay circuit at once; DCUtR
//! then tries to open a direct connection (hole punching). When it
//! succeeds the relayed connections to that peer are closed
//! ([`relayed_to_close`]) two seconds later ([`RELAYED_GRACE`]), freeing
//! the relay's circuit. When both sides dial each other through the relay
//! at once (their lookups run on the same schedule), the relayed
//! connection not dialled by the smaller peer id is closed the same way
//! ([`duplicate_relayed`]); both sides pick the same one. Until then the
//! peer has three connections, which the default limit of three per peer
//! leaves room for. A relayed connection that ends is not dialled again
//! here: the channel's lookups find the peer again (a second after a
//! channel loses its last peer).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use libp2p::core::ConnectedPoint;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId, autonat, dcutr, identify, relay};

use super::{Link, Service};
use crate::addresses::{first_ip, is_announceable, is_relayed, without_p2p};
use crate::event::Event;

/// Most relays a node holds a reservation on at once.
pub(crate) const MAX_RELAYS: usize = 2;
/// A relayed connection made redundant (by a direct one, or a second
/// relayed one) is closed this long after: closing a connection drops
/// what was in flight on it towards the closing side, and right after a
/// hole punch or a double dial the first posts and subscriptions are.
const RELAYED_GRACE: Duration = Duration::from_secs(2);
/// The first retry of a refused or lost reservation.
const RETRY_FIRST: Duration = Duration::from_secs(10);
/// The longest gap between retries.
const RETRY_MAX: Duration = Duration::from_secs(10 * 60);

/// What the node knows of its reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reachability {
    /// Nothing seen yet.
    Unknown,
    /// Peers cannot dial it directly, for this reason.
    Unreachable(Why),
    /// It has an announced address that AutoNAT or the operator confirmed.
    Reachable,
}

/// Why the node counts as unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// A peer observed it at an address that is not its own.
    Nat,
    /// AutoNAT's server could not dial it back.
    Private,
    /// A probe ended without an address it may announce.
    NoAddress,
}

/// What an AutoNAT event means for reachability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A server dialled the node back at an address it may announce.
    Reachable,
    /// The status flipped to private.
    Private,
    /// A probe ended without an announceable address.
    Inconclusive,
}

/// What to do about relays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReachStep {
    /// Reserve a slot: listen on `address` (the relay's, ending in
    /// `/p2p/<relay>`) plus `/p2p-circuit`.
    Reserve { relay: PeerId, address: Multiaddr },
    /// Give the reservation on `relay` back (close its listener).
    Release { relay: PeerId },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// A relay the node could reserve on.
    Idle,
    /// Asked for, not yet accepted.
    Reserving,
    /// Accepted (and renewed by the relay client on its own).
    Held,
    /// Refused or lost; tried again at `at`.
    Retry { at: Instant },
}

#[derive(Debug, Clone)]
struct Relay {
    address: Multiaddr,
    slot: Slot,
    /// The gap before the next retry should this one fail.
    gap: Duration,
}

/// Reachability and reservations. Sans-io: it takes events and `now` and
/// returns [`ReachStep`]s; it never sees the swarm.
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    enabled: bool,
    state: Reachability,
    relays: BTreeMap<PeerId, Relay>,
}

impl Reach {
    /// `enabled`: the node runs the relay client (a person's node).
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            state: Reachability::Unknown,
            relays: BTreeMap::new(),
        }
    }

    pub(super) fn reachability(&self) -> Reachability {
        self.state
    }

    /// Reservations accepted and held.
    pub(super) fn held(&self) -> usize {
        self.relays
            .values()
            .filter(|r| r.slot == Slot::Held)
            .count()
    }

    /// The relays whose reservation is asked for or held.
    pub(super) fn active(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.relays
            .iter()
            .filter(|(_, r)| matches!(r.slot, Slot::Reserving | Slot::Held))
            .map(|(p, _)| *p)
    }

    /// The operator confirmed an address (configured, or announced listen
    /// addresses): reachable from the start.
    pub(super) fn confirmed_by_operator(&mut self) -> Vec<ReachStep> {
        self.become_(Reachability::Reachable)
    }

    /// A connected bootstrap node that relays, reachable at `address`
    /// (ending in `/p2p/<relay>`).
    pub(super) fn relay_found(&mut self, relay: PeerId, address: Multiaddr) -> Vec<ReachStep> {
        self.relays.entry(relay).or_insert(Relay {
            address,
            slot: Slot::Idle,
            gap: RETRY_FIRST,
        });
        self.fill()
    }

    /// The relay's last connection closed; its reservation, if any, went
    /// with it.
    pub(super) fn relay_lost(&mut self, relay: &PeerId) -> Vec<ReachStep> {
        self.relays.remove(relay);
        self.fill()
    }

    /// A peer observed the node at `observed`, while it listens on
    /// `local`. Relayed observations say nothing and are ignored.
    pub(super) fn observed(&mut self, observed: &Multiaddr, local: &[IpAddr]) -> Vec<ReachStep> {
        if is_relayed(observed) || self.state != Reachability::Unknown {
            return Vec::new();
        }
        match first_ip(observed) {
            Some(ip) if !local.contains(&ip) => {
                let mut steps = self.become_(Reachability::Unreachable(Why::Nat));
                steps.extend(self.fill());
                steps
            }
            _ => Vec::new(),
        }
    }

    /// What AutoNAT said.
    pub(super) fn autonat(&mut self, verdict: Verdict) -> Vec<ReachStep> {
        let next = match (verdict, self.state) {
            (Verdict::Reachable, _) => Reachability::Reachable,
            (Verdict::Private, _) => Reachability::Unreachable(Why::Private),
            (Verdict::Inconclusive, Reachability::Unknown) => {
                Reachability::Unreachable(Why::NoAddress)
            }
            (Verdict::Inconclusive, state) => state,
        };
        let mut steps = self.become_(next);
        steps.extend(self.fill());
        steps
    }

    /// The relay accepted (or renewed) the reservation.
    pub(super) fn reserved(&mut self, relay: &PeerId) {
        if let Some(r) = self.relays.get_mut(relay)
            && r.slot == Slot::Reserving
        {
            r.slot = Slot::Held;
            r.gap = RETRY_FIRST;
        }
    }

    /// The reservation on `relay` was refused or ended (its listener
    /// closed) while the node wanted it.
    pub(super) fn reservation_ended(&mut self, relay: &PeerId, now: Instant) -> Vec<ReachStep> {
        if let Some(r) = self.relays.get_mut(relay)
            && matches!(r.slot, Slot::Reserving | Slot::Held)
        {
            r.slot = Slot::Retry { at: now + r.gap };
            r.gap = (r.gap * 2).min(RETRY_MAX);
        }
        self.fill()
    }

    /// The timer: retries that are due.
    pub(super) fn poll(&mut self, now: Instant) -> Vec<ReachStep> {
        for r in self.relays.values_mut() {
            if let Slot::Retry { at } = r.slot
                && at <= now
            {
                r.slot = Slot::Idle;
            }
        }
        self.fill()
    }

    fn wants_relays(&self) -> bool {
        self.enabled && matches!(self.state, Reachability::Unreachable(_))
    }

    fn become_(&mut self, next: Reachability) -> Vec<ReachStep> {
        self.state = next;
        if self.wants_relays() {
            return Vec::new();
        }
        let mut steps = Vec::new();
        for (relay, r) in &mut self.relays {
            if matches!(r.slot, Slot::Reserving | Slot::Held) {
                steps.push(ReachStep::Release { relay: *relay });
            }
            r.slot = Slot::Idle;
        }
        steps
    }

    /// Reserves on idle relays until [`MAX_RELAYS`] are asked for or held.
    fn fill(&mut self) -> Vec<ReachStep> {
        if !self.wants_relays() {
            return Vec::new();
        }
        let mut busy = self.active().count();
        let mut steps = Vec::new();
        for (relay, r) in &mut self.relays {
            if busy >= MAX_RELAYS {
                break;
            }
            if r.slot == Slot::Idle {
                r.slot = Slot::Reserving;
                busy += 1;
                steps.push(ReachStep::Reserve {
                    relay: *relay,
                    address: r.address.clone(),
                });
            }
        }
        steps
    }
}

/// A connection as the node task tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Path {
    pub id: ConnectionId,
    pub relayed: bool,
    /// This node dialled it.
    pub dialer: bool,
}

/// Of a peer's connections, the relayed one to close when a second
/// relayed connection appears: both sides keep the one dialled by the
/// smaller peer id, so both close the same one.
pub(crate) fn duplicate_relayed(
    local: &PeerId,
    remote: &PeerId,
    paths: &[Path],
) -> Option<ConnectionId> {
    let relayed: Vec<&Path> = paths.iter().filter(|p| p.relayed).collect();
    if relayed.len() < 2 {
        return None;
    }
    let keep_dialled_by_us = local < remote;
    let keep = relayed
        .iter()
        .find(|p| p.dialer == keep_dialled_by_us)
        .map(|p| p.id)
        .or_else(|| relayed.first().map(|p| p.id));
    relayed.iter().map(|p| p.id).find(|id| Some(*id) != keep)
}

/// The relayed connections to close once a direct one to the same peer
/// exists.
pub(crate) fn relayed_to_close(paths: &[Path]) -> Vec<ConnectionId> {
    if !paths.iter().any(|p| !p.relayed) {
        return Vec::new();
    }
    paths.iter().filter(|p| p.relayed).map(|p| p.id).collect()
}

// ----- the shell ------------------------------------------------------------

impl Service {
    /// The IPs this node listens on (relay circuits aside).
    fn local_ips(&self) -> Vec<IpAddr> {
        self.listen_addrs
            .iter()
            .filter(|a| !is_relayed(a))
            .filter_map(first_ip)
            .collect()
    }

    /// Announces a confirmed address (identify, provider records).
    pub(super) fn announce_address(&mut self, address: Multiaddr) {
        let address = without_p2p(address);
        if self.swarm.external_addresses().any(|a| a == &address) {
            return;
        }
        self.swarm.add_external_address(address.clone());
        self.addresses_changed(Some(address), None);
    }

    /// Stops announcing an address.
    pub(super) fn withdraw_address(&mut self, address: &Multiaddr) {
        if !self.swarm.external_addresses().any(|a| a == address) {
            return;
        }
        self.swarm.remove_external_address(address);
        self.addresses_changed(None, Some(address.clone()));
    }

    /// The set of announced addresses changed (also for the relay
    /// client's own confirmations): tell the embedder, the metrics and the
    /// connected peers (an identify push), and announce the joined
    /// channels again so provider records carry it.
    pub(super) fn addresses_changed(
        &mut self,
        added: Option<Multiaddr>,
        removed: Option<Multiaddr>,
    ) {
        if let Some(address) = added {
            tracing::info!(%address, "address announced");
            self.emit(Event::AddressAnnounced { address });
        }
        if let Some(address) = removed {
            tracing::info!(%address, "address withdrawn");
            self.emit(Event::AddressWithdrawn { address });
        }
        let count = self.swarm.external_addresses().count();
        self.metrics.addresses_announced(count);
        // Connected peers hear of it now, not at the next periodic
        // identify (5 minutes).
        let peers: Vec<PeerId> = self.connections.keys().copied().collect();
        self.swarm.behaviour_mut().identify.push(peers);
        self.reannounce_channels(Instant::now());
    }

    /// Configured external addresses, and listen addresses the operator
    /// confirmed: announced, and the node counts as reachable.
    pub(super) fn operator_address(&mut self, address: Multiaddr, configured: bool) {
        if !configured
            && (is_relayed(&address) || !is_announceable(&address, self.config.announce_private))
        {
            return;
        }
        self.announce_address(address);
        let steps = self.reach.confirmed_by_operator();
        self.carry_out_reach(steps);
    }

    pub(super) fn carry_out_reach(&mut self, steps: Vec<super::reach::ReachStep>) {
        for step in steps {
            match step {
                ReachStep::Reserve { relay, address } => {
                    let circuit = address.with(Protocol::P2pCircuit);
                    match self.swarm.listen_on(circuit.clone()) {
                        Ok(listener) => {
                            tracing::info!(%relay, %circuit, "reserving a relay slot");
                            self.circuits.insert(listener, relay);
                        }
                        Err(e) => {
                            tracing::warn!(%relay, error = %e, "cannot reserve a relay slot");
                            let more = self.reach.reservation_ended(&relay, Instant::now());
                            self.carry_out_reach(more);
                        }
                    }
                }
                ReachStep::Release { relay } => {
                    let listeners: Vec<ListenerId> = self
                        .circuits
                        .iter()
                        .filter(|(_, r)| **r == relay)
                        .map(|(l, _)| *l)
                        .collect();
                    for listener in listeners {
                        tracing::info!(%relay, "reachable directly: relay slot given back");
                        self.circuits.remove(&listener);
                        self.swarm.remove_listener(listener);
                    }
                }
            }
        }
        self.metrics.reservations_held(self.reach.held());
    }

    /// A circuit listener closed: the reservation was refused or lost.
    /// `true` when the listener was one of ours.
    pub(super) fn circuit_closed(&mut self, listener: ListenerId) -> bool {
        let Some(relay) = self.circuits.remove(&listener) else {
            return false;
        };
        tracing::info!(%relay, "relay reservation ended");
        let steps = self.reach.reservation_ended(&relay, Instant::now());
        self.carry_out_reach(steps);
        true
    }

    /// Identify from a peer: what it observed, and whether a bootstrap
    /// node offers to relay or to answer AutoNAT probes.
    pub(super) fn reach_identified(&mut self, peer: PeerId, info: &identify::Info) {
        let local = self.local_ips();
        let steps = self.reach.observed(&info.observed_addr, &local);
        self.carry_out_reach(steps);
        if !self.config.relay_client || !self.bootstrap_peers.contains(&peer) {
            return;
        }
        let Some(address) = self.connected_address(&peer) else {
            return;
        };
        if info.protocols.contains(&autonat::v1::DEFAULT_PROTOCOL_NAME)
            && let Some(autonat) = self.swarm.behaviour_mut().autonat.as_mut()
        {
            autonat.add_server(peer, Some(address.clone()));
        }
        if info.protocols.contains(&relay::HOP_PROTOCOL_NAME) {
            let address = match address.iter().last() {
                Some(Protocol::P2p(_)) => address,
                _ => address.with(Protocol::P2p(peer)),
            };
            let steps = self.reach.relay_found(peer, address);
            self.carry_out_reach(steps);
        }
    }

    /// The address this node dialled `peer` at, over a direct connection.
    fn connected_address(&self, peer: &PeerId) -> Option<Multiaddr> {
        self.links
            .values()
            .find(|l| l.peer == *peer && l.dialer && !l.relayed)
            .map(|l| l.address.clone())
    }

    /// AutoNAT's events. Confirmed addresses are announced here, and only
    /// when announceable.
    pub(super) fn on_autonat(&mut self, event: autonat::v1::Event) {
        use autonat::v1::{Event as A, NatStatus, OutboundProbeEvent};
        let private = self.config.announce_private;
        let verdict = match event {
            A::StatusChanged { old, new } => {
                tracing::info!(?old, ?new, "AutoNAT status");
                match new {
                    NatStatus::Public(address) => Some(self.autonat_public(address, private)),
                    NatStatus::Private => {
                        for address in std::mem::take(&mut self.autonat_confirmed) {
                            self.withdraw_address(&address);
                        }
                        Some(Verdict::Private)
                    }
                    NatStatus::Unknown => None,
                }
            }
            A::OutboundProbe(OutboundProbeEvent::Response { address, .. }) => {
                Some(self.autonat_public(address, private))
            }
            A::OutboundProbe(OutboundProbeEvent::Error {
                peer: Some(server),
                error,
                ..
            }) => {
                tracing::debug!(%server, ?error, "AutoNAT probe failed");
                Some(Verdict::Inconclusive)
            }
            _ => None,
        };
        if let Some(verdict) = verdict {
            let steps = self.reach.autonat(verdict);
            self.carry_out_reach(steps);
        }
    }

    fn autonat_public(&mut self, address: Multiaddr, private: bool) -> Verdict {
        let address = without_p2p(address);
        if is_announceable(&address, private) {
            self.autonat_confirmed.insert(address.clone());
            self.announce_address(address);
            Verdict::Reachable
        } else {
            tracing::debug!(%address, "reachable only at an address that is not announced");
            Verdict::Inconclusive
        }
    }

    pub(super) fn on_relay_client(&mut self, event: &relay::client::Event) {
        if let relay::client::Event::ReservationReqAccepted {
            relay_peer_id,
            renewal,
            ..
        } = event
        {
            self.reach.reserved(relay_peer_id);
            self.metrics.reservations_held(self.reach.held());
            if !*renewal {
                tracing::info!(relay = %relay_peer_id, "relay slot reserved");
                self.emit(Event::RelayReserved {
                    relay: *relay_peer_id,
                });
            }
        }
    }

    pub(super) fn on_relay_server(&mut self, event: &relay::Event) {
        self.metrics.relay_server(event);
    }

    pub(super) fn on_dcutr(&mut self, event: dcutr::Event) {
        let peer = event.remote_peer_id;
        match event.result {
            Ok(connection) => {
                let address = self
                    .links
                    .get(&connection)
                    .map(|l| l.address.clone())
                    .or_else(|| {
                        self.links
                            .values()
                            .find(|l| l.peer == peer && !l.relayed)
                            .map(|l| l.address.clone())
                    });
                // The peer's address is where the person is: not at the
                // default level.
                tracing::info!(%peer, "hole punched: direct connection");
                tracing::debug!(%peer, ?address, "direct connection address");
                self.metrics.hole_punch(true);
                let now = Instant::now();
                for id in relayed_to_close(&self.paths(&peer)) {
                    self.retiring.entry(id).or_insert(now + RELAYED_GRACE);
                }
                if let Some(address) = address {
                    self.emit(Event::HolePunched { peer, address });
                }
            }
            Err(error) => {
                tracing::info!(%peer, %error, "hole punching failed; staying relayed");
                self.metrics.hole_punch(false);
                self.emit(Event::HolePunchFailed { peer });
            }
        }
    }

    /// The connections to `peer`.
    pub(super) fn paths(&self, peer: &PeerId) -> Vec<Path> {
        self.links
            .iter()
            .filter(|(_, l)| l.peer == *peer)
            .map(|(id, l)| Path {
                id: *id,
                relayed: l.relayed,
                dialer: l.dialer,
            })
            .collect()
    }

    /// A new connection: closes a duplicate relayed one, and a relayed one
    /// made redundant by a direct one.
    pub(super) fn reach_connected(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        endpoint: &ConnectedPoint,
    ) {
        self.links.insert(
            id,
            Link {
                peer,
                address: super::shown_address(endpoint),
                dialer: endpoint.is_dialer(),
                relayed: endpoint.is_relayed(),
            },
        );
        let paths = self.paths(&peer);
        if let Some(duplicate) = duplicate_relayed(&self.peer_id, &peer, &paths) {
            tracing::debug!(%peer, "two relayed connections: one is closed soon");
            self.retiring
                .entry(duplicate)
                .or_insert(Instant::now() + RELAYED_GRACE);
        }
    }

    /// Wakes the connections of `peers` (see `swarm::wake`).
    pub(super) fn wake(&mut self, peers: impl IntoIterator<Item = PeerId>) {
        self.swarm.behaviour_mut().wake.wake(peers);
    }

    /// A closed connection. One through a relay that leaves the peer
    /// without a connection (the relay's circuit limits end every circuit)
    /// is not dialled again here: the channel's lookup schedule looks for
    /// the peer a second after the channel loses its last peer.
    pub(super) fn reach_closed(&mut self, peer: PeerId, id: ConnectionId, remaining: u32) {
        self.retiring.remove(&id);
        if self.links.remove(&id).is_none() {
            return;
        }
        if remaining > 0 {
            // What gossipsub queued for the peer may wait on a connection
            // that never had a stream of its own (`swarm::wake`).
            self.wake([peer]);
        }
        if remaining == 0 && self.bootstrap_peers.contains(&peer) {
            let steps = self.reach.relay_lost(&peer);
            self.carry_out_reach(steps);
        }
    }

    /// For the status: `None` while nothing is known.
    pub(super) fn reachable(&self) -> Option<bool> {
        match self.reach.reachability() {
            Reachability::Unknown => None,
            Reachability::Unreachable(_) => Some(false),
            Reachability::Reachable => Some(true),
        }
    }

    pub(super) fn reach_held(&self) -> usize {
        self.reach.held()
    }

    /// The 1 s tick: relay retries, and a wake for connections that may
    /// sleep on gossipsub's control messages (the heartbeat queues them
    /// without the node knowing).
    pub(super) fn reach_tick(&mut self, now: Instant) {
        let steps = self.reach.poll(now);
        self.carry_out_reach(steps);
        let due: Vec<ConnectionId> = self
            .retiring
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.retiring.remove(&id);
            tracing::debug!(connection = ?id, "relayed connection no longer needed: closed");
            self.swarm.close_connection(id);
        }
        self.wake_joined_peers();
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().expect("a valid address")
    }

    fn relay_addr(peer: &PeerId) -> Multiaddr {
        addr("/ip4/198.18.0.1/tcp/4001").with(Protocol::P2p(*peer))
    }

    fn reserved_on(steps: &[ReachStep]) -> Vec<PeerId> {
        steps
            .iter()
            .filter_map(|s| match s {
                ReachStep::Reserve { relay, .. } => Some(*relay),
                ReachStep::Release { .. } => None,
            })
            .collect()
    }

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 19, 1, 2));

    #[test]
    fn a_translated_address_makes_the_node_reserve_at_once() {
        let mut reach = Reach::new(true);
        let relay = PeerId::random();
        assert!(reach.relay_found(relay, relay_addr(&relay)).is_empty());
        let steps = reach.observed(&addr("/ip4/198.18.0.101/tcp/51000"), &[HOME]);
        assert_eq!(
            steps,
            vec![ReachStep::Reserve {
                relay,
                address: relay_addr(&relay)
            }]
        );
        assert_eq!(reach.reachability(), Reachability::Unreachable(Why::Nat));
        // Asked once: more observations ask nothing more.
        assert!(
            reach
                .observed(&addr("/ip4/198.18.0.101/tcp/51001"), &[HOME])
                .is_empty()
        );
        reach.reserved(&relay);
        assert_eq!(reach.held(), 1);
    }

    #[test]
    fn an_untranslated_or_relayed_observation_changes_nothing() {
        let mut reach = Reach::new(true);
        let relay = PeerId::random();
        reach.relay_found(relay, relay_addr(&relay));
        assert!(
            reach
                .observed(&addr("/ip4/198.19.1.2/tcp/4001"), &[HOME])
                .is_empty()
        );
        let circuit = relay_addr(&relay).with(Protocol::P2pCircuit);
        assert!(reach.observed(&circuit, &[HOME]).is_empty());
        assert_eq!(reach.reachability(), Reachability::Unknown);
    }

    #[test]
    fn autonat_private_or_a_probe_without_an_address_reserves() {
        for verdict in [Verdict::Private, Verdict::Inconclusive] {
            let mut reach = Reach::new(true);
            let relay = PeerId::random();
            reach.relay_found(relay, relay_addr(&relay));
            assert_eq!(reserved_on(&reach.autonat(verdict)), vec![relay]);
        }
    }

    #[test]
    fn a_confirmed_public_address_gives_the_reservations_back() {
        let mut reach = Reach::new(true);
        let relay = PeerId::random();
        reach.relay_found(relay, relay_addr(&relay));
        reach.observed(&addr("/ip4/198.18.0.101/tcp/1"), &[HOME]);
        reach.reserved(&relay);
        let steps = reach.autonat(Verdict::Reachable);
        assert_eq!(steps, vec![ReachStep::Release { relay }]);
        assert_eq!(reach.held(), 0);
        // A later inconclusive probe keeps it reachable; private does not.
        assert!(reach.autonat(Verdict::Inconclusive).is_empty());
        assert_eq!(reserved_on(&reach.autonat(Verdict::Private)), vec![relay]);
    }

    #[test]
    fn at_most_two_relays_and_a_third_steps_in_when_one_fails() {
        let t0 = Instant::now();
        let mut reach = Reach::new(true);
        reach.autonat(Verdict::Private);
        let relays: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
        let mut asked = Vec::new();
        for relay in &relays {
            asked.extend(reserved_on(&reach.relay_found(*relay, relay_addr(relay))));
        }
        assert_eq!(asked.len(), MAX_RELAYS);
        let spare = relays
            .iter()
            .find(|r| !asked.contains(r))
            .copied()
            .unwrap_or(relays[0]);
        let steps = reach.reservation_ended(&asked[0], t0);
        assert_eq!(reserved_on(&steps), vec![spare]);
    }

    #[test]
    fn a_refused_reservation_is_retried_after_gaps_that_double() {
        let t0 = Instant::now();
        let mut reach = Reach::new(true);
        let relay = PeerId::random();
        reach.relay_found(relay, relay_addr(&relay));
        assert_eq!(reserved_on(&reach.autonat(Verdict::Private)), vec![relay]);
        // Every request is refused at once.
        reach.reservation_ended(&relay, t0);
        let mut tries = vec![0];
        for s in 1..=200 {
            let t = t0 + Duration::from_secs(s);
            if !reserved_on(&reach.poll(t)).is_empty() {
                tries.push(s);
                reach.reservation_ended(&relay, t);
            }
        }
        assert_eq!(tries, [0, 10, 30, 70, 150]);
        // Accepted at last: the next loss is retried after 10 s again.
        let t = t0 + Duration::from_secs(310);
        assert_eq!(reserved_on(&reach.poll(t)), vec![relay]);
        reach.reserved(&relay);
        reach.reservation_ended(&relay, t);
        assert!(reserved_on(&reach.poll(t + Duration::from_secs(9))).is_empty());
        assert_eq!(
            reserved_on(&reach.poll(t + Duration::from_secs(10))),
            vec![relay]
        );
    }

    #[test]
    fn a_node_without_the_relay_client_never_reserves() {
        let mut reach = Reach::new(false);
        let relay = PeerId::random();
        reach.relay_found(relay, relay_addr(&relay));
        assert!(reach.autonat(Verdict::Private).is_empty());
        assert!(
            reach
                .observed(&addr("/ip4/198.18.0.101/tcp/1"), &[HOME])
                .is_empty()
        );
    }

    #[test]
    fn a_lost_relay_is_forgotten_and_the_operators_node_is_reachable() {
        let mut reach = Reach::new(true);
        let relay = PeerId::random();
        reach.relay_found(relay, relay_addr(&relay));
        reach.autonat(Verdict::Private);
        assert!(reach.relay_lost(&relay).is_empty());
        assert_eq!(reach.active().count(), 0);
        let mut operator = Reach::new(true);
        operator.confirmed_by_operator();
        operator.relay_found(relay, relay_addr(&relay));
        assert!(
            operator
                .observed(&addr("/ip4/198.18.0.101/tcp/1"), &[HOME])
                .is_empty()
        );
    }

    fn path(id: usize, relayed: bool, dialer: bool) -> Path {
        Path {
            id: ConnectionId::new_unchecked(id),
            relayed,
            dialer,
        }
    }

    #[test]
    fn both_sides_close_the_same_one_of_two_relayed_connections() {
        let (a, b) = {
            let x = PeerId::random();
            let y = PeerId::random();
            if x < y { (x, y) } else { (y, x) }
        };
        // Connection 1 dialled by a, connection 2 by b; a < b keeps 1.
        let at_a = [path(1, true, true), path(2, true, false)];
        let at_b = [path(1, true, false), path(2, true, true)];
        assert_eq!(
            duplicate_relayed(&a, &b, &at_a),
            Some(ConnectionId::new_unchecked(2))
        );
        assert_eq!(
            duplicate_relayed(&b, &a, &at_b),
            Some(ConnectionId::new_unchecked(2))
        );
        assert_eq!(
            duplicate_relayed(&a, &b, &[path(1, true, true), path(3, false, true)]),
            None
        );
    }

    #[test]
    fn a_direct_connection_makes_the_relayed_ones_redundant() {
        assert!(relayed_to_close(&[path(1, true, true)]).is_empty());
        assert_eq!(
            relayed_to_close(&[path(1, true, true), path(2, false, false)]),
            vec![ConnectionId::new_unchecked(1)]
        );
    }
}
