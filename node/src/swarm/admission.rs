//! Who may connect: the behaviour that refuses connections from banned
//! address ranges, keeps inbound slots for honest peers, and backs off
//! redials to peers that refused or dropped this node.
//!
//! | file | holds |
//! |---|---|
//! | `address_bans.rs` | [`address_bans::AddressBans`]: banned ranges, escalation, subnet widening |
//! | `slots.rs` | [`slots::Slots`]: the inbound slots and whose slot a newcomer takes |
//! | `redial.rs` | [`redial::Redial`]: the wait before dialling a peer again |
//! | `handshakes.rs` | [`handshakes::Handshakes`]: addresses that keep coming back as banned peers, limited before the handshake |
//!
//! Those decide, with time as a parameter; this file is the shell that
//! reads the clock and the swarm's events. The node task tells it who was
//! banned ([`Behaviour::ban`]) and the peers' gossip scores
//! ([`Behaviour::set_scores`]); peers this node dialled, and peers whose
//! score once passed [`GOOD_SCORE`], are *known*: address bans never
//! refuse them and they are never pushed out of a slot. Every table is bounded by
//! [`AdmissionLimits::max_tracked`].
//!
//! Like `ip_limit`, it counts a connection only once the swarm reports it
//! established (every behaviour accepted it), so a refusal by a later
//! behaviour leaves no count behind (rust-libp2p#4870).

pub(crate) mod address_bans;
pub(crate) mod handshakes;
pub(crate) mod redial;
pub(crate) mod slots;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint};
use libp2p::swarm::behaviour::ConnectionEstablished;
use libp2p::swarm::{
    CloseConnection, ConnectionClosed, ConnectionDenied, ConnectionId, DialError, DialFailure,
    FromSwarm, ListenError, ListenFailure, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use crate::addresses::{first_ip, is_relayed};
use crate::config::AdmissionLimits;
use address_bans::{AddressBan, AddressBans, Prefix};
use handshakes::Handshakes;
pub(crate) use handshakes::HandshakesLimited;
use redial::Redial;
use slots::{Admit, Slots, Standing};

/// The refusal of a new incoming connection from a banned range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddressBanned {
    /// The banned range.
    pub range: Prefix,
    /// How much longer the ban lasts.
    pub remaining: Duration,
}

impl fmt::Display for AddressBanned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is banned for {} s more",
            self.range,
            self.remaining.as_secs()
        )
    }
}

impl std::error::Error for AddressBanned {}

/// The refusal of a new incoming connection: every inbound slot is held
/// by a peer that may not be pushed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InboundFull {
    /// The inbound cap.
    pub max: u32,
}

impl fmt::Display for InboundFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "all {} inbound slots are held by peers in good standing",
            self.max
        )
    }
}

impl std::error::Error for InboundFull {}

/// The refusal of a dial: the peer refused or dropped this node lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RedialBackoff {
    /// The peer.
    pub peer: PeerId,
    /// How long until it may be dialled again.
    pub wait: Duration,
}

impl fmt::Display for RedialBackoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} refused or dropped this node lately; next dial in {} ms",
            self.peer,
            self.wait.as_millis()
        )
    }
}

impl std::error::Error for RedialBackoff {}

/// What the behaviour tells the node task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// Every inbound slot was taken; `peer` (the worst standing) was
    /// disconnected to make room for a newcomer.
    Evicted {
        /// The peer pushed out.
        peer: PeerId,
        /// Its gossip score.
        score: f64,
    },
}

#[derive(Debug, Clone, Copy)]
struct Link {
    peer: PeerId,
    ip: Option<IpAddr>,
    dialer: bool,
    opened: Instant,
}

/// The admission behaviour.
pub(crate) struct Behaviour {
    limits: AdmissionLimits,
    max_inbound: Option<u32>,
    bans: AddressBans,
    handshakes: Handshakes,
    slots: Slots,
    redial: Redial,
    /// Peers known to be good, with when they were last confirmed.
    known: HashMap<PeerId, Instant>,
    scores: HashMap<PeerId, f64>,
    links: HashMap<ConnectionId, Link>,
    events: VecDeque<ToSwarm<Event, Infallible>>,
}

/// The IP of a connection's remote address, unless relayed.
fn remote_ip(remote: &Multiaddr) -> Option<IpAddr> {
    if is_relayed(remote) {
        None
    } else {
        first_ip(remote)
    }
}

impl Behaviour {
    /// Admission with `limits`, at most `max_inbound` established inbound
    /// connections (`None`: no cap).
    pub(crate) fn new(limits: AdmissionLimits, max_inbound: Option<u32>) -> Self {
        let max_tracked = usize::try_from(limits.max_tracked).unwrap_or(usize::MAX);
        Self {
            bans: AddressBans::new(address_bans::Policy {
                first: limits.address_ban_first,
                max: limits.address_ban_max.max(limits.address_ban_first),
                subnet_after: usize::try_from(limits.subnet_after).unwrap_or(usize::MAX),
                max_ranges: max_tracked,
            }),
            handshakes: Handshakes::new(handshakes::Policy {
                max_tracked,
                ..handshakes::Policy::default()
            }),
            slots: Slots::new(max_inbound, limits.inbound_grace),
            redial: Redial::new(redial::Policy {
                first: limits.redial_first,
                max: limits.redial_max.max(limits.redial_first),
                stable: STABLE,
                max_peers: max_tracked,
            }),
            known: HashMap::new(),
            scores: HashMap::new(),
            links: HashMap::new(),
            events: VecDeque::new(),
            max_inbound,
            limits,
        }
    }

    /// `peer` was banned at `now`: it is no longer known to be good, and
    /// the address ranges of its direct connections are banned (or their
    /// bans lengthened). Returns the address bans this set.
    pub(crate) fn ban(&mut self, peer: PeerId, now: Instant) -> Vec<AddressBan> {
        self.known.remove(&peer);
        let mut ips: Vec<IpAddr> = self
            .links
            .values()
            .filter(|l| l.peer == peer)
            .filter_map(|l| l.ip)
            .filter(|ip| self.limits.ban_loopback || !ip.is_loopback())
            .collect();
        ips.sort();
        ips.dedup();
        ips.into_iter()
            .flat_map(|ip| self.bans.offence(ip, now))
            .collect()
    }

    /// Puts back an address ban kept from before a restart (see
    /// [`AddressBans::restore`]); `range` as written by [`Prefix`]'s
    /// `Display`. Returns false for a range that does not parse.
    pub(crate) fn restore_ban(
        &mut self,
        range: &str,
        offences: u32,
        until: Instant,
        now: Instant,
    ) -> bool {
        let Some(range) = Prefix::parse(range) else {
            return false;
        };
        self.bans.restore(range, offences, until, now);
        true
    }

    /// How long address ranges are remembered after their ban ends.
    pub(crate) fn ban_memory(&self) -> Duration {
        self.limits
            .address_ban_max
            .max(self.limits.address_ban_first)
    }

    /// The connected peers' gossip scores at `now` (replacing the last
    /// ones). A score above [`GOOD_SCORE`] makes a peer known to be good.
    pub(crate) fn set_scores(
        &mut self,
        scores: impl IntoIterator<Item = (PeerId, f64)>,
        now: Instant,
    ) {
        self.scores = scores.into_iter().collect();
        let good: Vec<PeerId> = self
            .scores
            .iter()
            .filter(|(_, s)| **s > GOOD_SCORE)
            .map(|(p, _)| *p)
            .collect();
        for peer in good {
            self.know(peer, now);
        }
    }

    /// Forgets what has aged out; called from the node's 1 s tick.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.bans.forget(now);
        self.handshakes.forget(now);
        self.redial.forget(now);
    }

    fn know(&mut self, peer: PeerId, now: Instant) {
        let max = usize::try_from(self.limits.max_tracked).unwrap_or(usize::MAX);
        if !self.known.contains_key(&peer)
            && self.known.len() >= max
            && let Some(oldest) = self.known.iter().min_by_key(|(_, t)| **t).map(|(p, _)| *p)
        {
            self.known.remove(&oldest);
        }
        self.known.insert(peer, now);
    }

    /// Whether some connection to `peer` is open.
    fn connected(&self, peer: &PeerId) -> bool {
        self.links.values().any(|l| l.peer == *peer)
    }

    fn standing(&self, peer: &PeerId) -> Standing {
        Standing {
            score: self.scores.get(peer).copied().unwrap_or(0.0),
            known: self.known.contains_key(peer),
        }
    }

    fn admit(&self, now: Instant) -> Admit {
        if !self.limits.evict_inbound {
            return match self.slots.admit(now, |_| Standing {
                score: 1.0,
                known: true,
            }) {
                Admit::Free => Admit::Free,
                _ => Admit::Full,
            };
        }
        self.slots.admit(now, |p| self.standing(p))
    }

    fn full(&self) -> ConnectionDenied {
        ConnectionDenied::new(InboundFull {
            max: self.max_inbound.unwrap_or(0),
        })
    }

    fn on_established(&mut self, e: &ConnectionEstablished<'_>, now: Instant) {
        let (dialer, remote) = match e.endpoint {
            ConnectedPoint::Dialer { address, .. } => (true, address),
            ConnectedPoint::Listener { send_back_addr, .. } => (false, send_back_addr),
        };
        self.links.insert(
            e.connection_id,
            Link {
                peer: e.peer_id,
                ip: remote_ip(remote),
                dialer,
                opened: now,
            },
        );
        if dialer {
            // A peer this node chose is never refused by an address ban.
            self.know(e.peer_id, now);
            return;
        }
        match self.admit(now) {
            Admit::Free => {}
            Admit::Evict(connection, peer) => {
                let score = self.standing(&peer).score;
                tracing::info!(%peer, score, "inbound slots full: pushed out for a newcomer");
                self.events.push_back(ToSwarm::CloseConnection {
                    peer_id: peer,
                    connection: CloseConnection::One(connection),
                });
                self.events
                    .push_back(ToSwarm::GenerateEvent(Event::Evicted { peer, score }));
                // Not counted any more: its slot is the newcomer's.
                self.slots.closed(connection);
            }
            Admit::Full => {
                // Standings changed since the handshake began: the
                // newcomer goes again.
                self.events.push_back(ToSwarm::CloseConnection {
                    peer_id: e.peer_id,
                    connection: CloseConnection::One(e.connection_id),
                });
                return;
            }
        }
        self.slots.opened(e.connection_id, e.peer_id, now);
    }

    fn on_closed(&mut self, e: &ConnectionClosed<'_>, now: Instant) {
        self.slots.closed(e.connection_id);
        let Some(link) = self.links.remove(&e.connection_id) else {
            return;
        };
        if link.dialer && e.remaining_established == 0 {
            self.redial.closed(link.peer, link.opened, now);
        }
    }

    #[cfg(test)]
    fn inbound(&self) -> usize {
        self.slots.len()
    }
}

/// Whether an incoming connection was refused after its handshake for
/// what its peer is: banned by peer id, or from a banned address range.
fn reveals_banned_peer(cause: &ConnectionDenied) -> bool {
    cause
        .downcast_ref::<libp2p::allow_block_list::Blocked>()
        .is_some()
        || cause.downcast_ref::<AddressBanned>().is_some()
}

/// A score above this makes a peer known to be good: more than time in a
/// channel's mesh alone earns (at most 6 with hearth's topic parameters),
/// so the peer delivered valid posts first.
pub(crate) const GOOD_SCORE: f64 = 7.0;

/// A connection that lasted this long was not a refusal.
const STABLE: Duration = Duration::from_secs(30);

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Event;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        match remote_ip(remote) {
            Some(ip) => self
                .handshakes
                .admit(ip, Instant::now())
                .map_err(ConnectionDenied::new),
            None => Ok(()),
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let now = Instant::now();
        if let Some(ip) = remote_ip(remote)
            && !self.known.contains_key(&peer)
            && let Some(ban) = self.bans.refusal(ip, now)
        {
            return Err(ConnectionDenied::new(AddressBanned {
                range: ban.range,
                remaining: ban.duration,
            }));
        }
        if self.admit(now) == Admit::Full {
            return Err(self.full());
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        // A peer with an open connection is being reached another way
        // (hole punching dials while the relayed connection stands), not
        // redialled after a refusal.
        if let Some(peer) = peer
            && !self.connected(&peer)
            && let Some(wait) = self.redial.must_wait(&peer, Instant::now())
        {
            return Err(ConnectionDenied::new(RedialBackoff { peer, wait }));
        }
        Ok(Vec::new())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        let now = Instant::now();
        match event {
            FromSwarm::ConnectionEstablished(e) => self.on_established(&e, now),
            FromSwarm::ConnectionClosed(e) => self.on_closed(&e, now),
            FromSwarm::DialFailure(DialFailure {
                peer_id: Some(peer),
                error: DialError::Transport(_) | DialError::WrongPeerId { .. },
                ..
            }) if !self.connected(&peer) => {
                self.redial.failed(peer, now);
            }
            FromSwarm::ListenFailure(ListenFailure {
                send_back_addr,
                error: ListenError::Denied { cause },
                peer_id: Some(_),
                ..
            }) if reveals_banned_peer(cause) => {
                if let Some(ip) = remote_ip(send_back_addr) {
                    self.handshakes.strike(ip, now);
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        libp2p::core::util::unreachable(event)
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        match self.events.pop_front() {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    fn next_id() -> ConnectionId {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(2_000_000);
        ConnectionId::new_unchecked(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    fn limits() -> AdmissionLimits {
        AdmissionLimits {
            inbound_grace: Duration::ZERO,
            ..AdmissionLimits::default()
        }
    }

    /// An incoming connection of `peer` from `remote`, as the swarm runs it.
    fn come_in(
        b: &mut Behaviour,
        peer: PeerId,
        remote: &Multiaddr,
    ) -> Result<ConnectionId, ConnectionDenied> {
        let id = next_id();
        let local = addr("/ip4/198.18.0.1/tcp/4001");
        b.handle_established_inbound_connection(id, peer, &local, remote)?;
        let endpoint = ConnectedPoint::Listener {
            local_addr: local,
            send_back_addr: remote.clone(),
        };
        b.on_swarm_event(FromSwarm::ConnectionEstablished(ConnectionEstablished {
            peer_id: peer,
            connection_id: id,
            endpoint: &endpoint,
            failed_addresses: &[],
            other_established: 0,
        }));
        Ok(id)
    }

    fn close(b: &mut Behaviour, peer: PeerId, id: ConnectionId) {
        let endpoint = ConnectedPoint::Listener {
            local_addr: addr("/ip4/198.18.0.1/tcp/4001"),
            send_back_addr: addr("/ip4/203.0.113.1/tcp/1"),
        };
        b.on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
            peer_id: peer,
            connection_id: id,
            endpoint: &endpoint,
            cause: None,
            remaining_established: 0,
        }));
    }

    #[test]
    fn a_banned_peer_back_under_a_new_id_is_refused_but_known_peers_of_its_address_are_not() {
        let mut b = Behaviour::new(limits(), None);
        let nat = addr("/ip4/203.0.113.9/tcp/5000");
        let (honest, attacker) = (PeerId::random(), PeerId::random());
        come_in(&mut b, honest, &nat).unwrap();
        b.set_scores([(honest, 12.0), (attacker, 0.5)], Instant::now());
        come_in(&mut b, attacker, &nat).unwrap();
        let set = b.ban(attacker, Instant::now());
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].range.to_string(), "203.0.113.9/32");

        let again = come_in(&mut b, PeerId::random(), &nat).unwrap_err();
        let reason = again.downcast_ref::<AddressBanned>().unwrap();
        assert_eq!(reason.range.to_string(), "203.0.113.9/32");
        // The honest peer behind the same address comes back in.
        come_in(&mut b, honest, &nat).unwrap();
        // Another address is untouched.
        come_in(&mut b, PeerId::random(), &addr("/ip4/203.0.113.10/tcp/1")).unwrap();
    }

    #[test]
    fn loopback_is_banned_only_when_asked() {
        let local = addr("/ip4/127.0.0.1/tcp/5000");
        let mut b = Behaviour::new(limits(), None);
        let attacker = PeerId::random();
        come_in(&mut b, attacker, &local).unwrap();
        assert!(b.ban(attacker, Instant::now()).is_empty());
        come_in(&mut b, PeerId::random(), &local).unwrap();
        let mut strict = Behaviour::new(
            AdmissionLimits {
                ban_loopback: true,
                ..limits()
            },
            None,
        );
        come_in(&mut strict, attacker, &local).unwrap();
        assert_eq!(strict.ban(attacker, Instant::now()).len(), 1);
        assert!(come_in(&mut strict, PeerId::random(), &local).is_err());
    }

    #[test]
    fn a_full_node_takes_a_newcomer_in_and_pushes_out_the_idle_peer() {
        let mut b = Behaviour::new(limits(), Some(2));
        let remote = addr("/ip4/192.0.2.1/tcp/1");
        let (good, idle) = (PeerId::random(), PeerId::random());
        come_in(&mut b, good, &remote).unwrap();
        let idle_conn = come_in(&mut b, idle, &remote).unwrap();
        b.set_scores([(good, 10.0), (idle, 0.5)], Instant::now());
        let newcomer = PeerId::random();
        come_in(&mut b, newcomer, &remote).unwrap();
        assert_eq!(b.inbound(), 2);
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match b.poll(&mut cx) {
            Poll::Ready(ToSwarm::CloseConnection {
                peer_id,
                connection,
            }) => {
                assert_eq!(peer_id, idle);
                assert!(matches!(connection, CloseConnection::One(c) if c == idle_conn));
            }
            _ => panic!("expected the idle peer's connection closed"),
        }
        close(&mut b, idle, idle_conn);
        assert_eq!(b.inbound(), 2);

        // Without eviction the cap just refuses.
        let mut strict = Behaviour::new(
            AdmissionLimits {
                evict_inbound: false,
                ..limits()
            },
            Some(1),
        );
        come_in(&mut strict, PeerId::random(), &remote).unwrap();
        let denied = come_in(&mut strict, PeerId::random(), &remote).unwrap_err();
        assert!(denied.downcast_ref::<InboundFull>().is_some());
    }

    #[test]
    fn a_peer_that_dropped_this_node_is_not_redialled_at_once() {
        let mut b = Behaviour::new(limits(), None);
        let peer = PeerId::random();
        let id = next_id();
        let remote = addr("/ip4/192.0.2.1/tcp/1");
        let endpoint = ConnectedPoint::Dialer {
            address: remote.clone(),
            role_override: Endpoint::Dialer,
            port_use: PortUse::New,
        };
        b.on_swarm_event(FromSwarm::ConnectionEstablished(ConnectionEstablished {
            peer_id: peer,
            connection_id: id,
            endpoint: &endpoint,
            failed_addresses: &[],
            other_established: 0,
        }));
        b.on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
            peer_id: peer,
            connection_id: id,
            endpoint: &endpoint,
            cause: None,
            remaining_established: 0,
        }));
        let denied = b
            .handle_pending_outbound_connection(next_id(), Some(peer), &[], Endpoint::Dialer)
            .unwrap_err();
        assert_eq!(denied.downcast_ref::<RedialBackoff>().unwrap().peer, peer);
        // Dials without a peer id (an address the user gave) always go.
        b.handle_pending_outbound_connection(next_id(), None, &[], Endpoint::Dialer)
            .unwrap();
        // So do dials to a peer with an open connection (hole punching
        // beside a relayed one).
        come_in(&mut b, peer, &addr("/ip4/192.0.2.1/tcp/2")).unwrap();
        b.handle_pending_outbound_connection(next_id(), Some(peer), &[], Endpoint::Dialer)
            .unwrap();
    }
}
