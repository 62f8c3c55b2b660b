//! What the node task records: libp2p's own metrics (swarm, identify,
//! kad, ping, relay, DCUtR, gossipsub events; `libp2p_…`) and hearth's
//! counters and gauges (`hearth_…`):
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `hearth_connections` | `direction` (inbound, outbound), `path` (direct, relayed) | open connections |
//! | `hearth_connections_denied_total` | `direction`, `reason` | connections refused by a limit: `per_ip`, `pending_incoming`, `pending_outgoing`, `inbound`, `outbound`, `per_peer`, `total`, `memory`, `blocked`, `address_ban`, `redial_backoff`, `other` |
//! | `hearth_address_bans_total` | `range` (host, subnet) | address ranges banned (or their bans lengthened) after a peer from them was banned |
//! | `hearth_inbound_evictions_total` | | inbound peers pushed out to make room for a newcomer |
//! | `hearth_relay_reservations_held` | | reservations this node holds on relays |
//! | `hearth_relay_reservations_served` | | reservations this relay server holds for others |
//! | `hearth_relay_circuits_served` | | circuits open through this relay server |
//! | `hearth_relay_requests_denied_total` | `request` (reservation, circuit) | requests this relay server refused (its limits) |
//! | `hearth_hole_punches_total` | `result` (direct, failed) | DCUtR upgrades of relayed connections |
//! | `hearth_addresses_announced` | | confirmed addresses in identify and provider records |
//! | `hearth_dht_provider_records` | | provider records this node's DHT store holds (every 10 s) |
//! | `hearth_dht_requests_served_total` | `request` | DHT requests answered (`find_node`, `get_providers`, `add_provider`, `add_provider_refused`, `other`) |
//! | `hearth_store_flushes_total` | | store flushes started by the node (one may cover many writes: group commit) |
//! | `hearth_policy_compiles_total` | | policy compilations started after the blocklist, follows or a followed list changed |
//! | `hearth_gossip_gate_dropped_total` | `reason` (`foreign_topic`, `subscription_churn`) | gossip dropped by the gate before gossipsub saw it; registered and counted by `swarm/gossip_gate.rs` in the swarm task, not here |
//!
//! gossipsub's own metrics (`gossipsub_…`, per topic for joined channels
//! and followed moderators only) and the bandwidth
//! (`libp2p_bandwidth_bytes_total`) are recorded by libp2p itself, set up
//! in `swarm::build`.
//!
//! Everything is registered before the endpoint starts. A node without an
//! endpoint records into a registry nobody reads, so the recording side
//! never has to ask whether metrics are on.

use libp2p::metrics::Recorder;
use libp2p::swarm::{ConnectionDenied, SwarmEvent};
use libp2p::{
    connection_limits, dcutr, gossipsub, identify, kad, memory_connection_limits, ping, relay,
};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::Metrics;
use crate::swarm::admission::{AddressBanned, HandshakesLimited, InboundFull, RedialBackoff};
use crate::swarm::ip_limit::TooManyFromIp;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Connection {
    direction: &'static str,
    path: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Denied {
    direction: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Range {
    range: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    request: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    result: &'static str,
}

/// The node task's metrics.
pub(crate) struct NodeMetrics {
    libp2p: libp2p::metrics::Metrics,
    connections: Family<Connection, Gauge>,
    denied: Family<Denied, Counter>,
    reservations_held: Gauge,
    reservations_served: Gauge,
    served: i64,
    circuits_served: Gauge,
    circuits: i64,
    relay_denied: Family<Request, Counter>,
    hole_punches: Family<Outcome, Counter>,
    addresses: Gauge,
    provider_records: Gauge,
    dht_requests: Family<Request, Counter>,
    address_bans: Family<Range, Counter>,
    evictions: Counter,
    store_flushes: Counter,
    policy_compiles: Counter,
}

impl std::fmt::Debug for NodeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeMetrics").finish_non_exhaustive()
    }
}

impl NodeMetrics {
    /// Registers everything in `metrics`.
    pub(crate) fn register(metrics: &mut Metrics) -> Self {
        let libp2p = libp2p::metrics::Metrics::new(metrics.registry_mut());
        Self {
            libp2p,
            connections: metrics.gauge_family("connections", "Open connections"),
            denied: metrics.counter_family(
                "connections_denied",
                "Connections refused by a connection, IP, memory or ban limit",
            ),
            reservations_held: metrics.gauge(
                "relay_reservations_held",
                "Relay reservations this node holds",
            ),
            reservations_served: metrics.gauge(
                "relay_reservations_served",
                "Relay reservations this relay server holds for others",
            ),
            served: 0,
            circuits_served: metrics.gauge(
                "relay_circuits_served",
                "Circuits open through this relay server",
            ),
            circuits: 0,
            relay_denied: metrics.counter_family(
                "relay_requests_denied",
                "Relay requests this relay server refused",
            ),
            hole_punches: metrics.counter_family(
                "hole_punches",
                "Upgrades of relayed connections to direct ones (DCUtR)",
            ),
            addresses: metrics.gauge(
                "addresses_announced",
                "Confirmed addresses announced in identify and provider records",
            ),
            provider_records: metrics.gauge(
                "dht_provider_records",
                "Provider records held in the DHT store",
            ),
            dht_requests: metrics.counter_family(
                "dht_requests_served",
                "DHT requests answered for other nodes",
            ),
            address_bans: metrics.counter_family(
                "address_bans",
                "Address ranges banned after a peer connecting from them was banned",
            ),
            evictions: metrics.counter(
                "inbound_evictions",
                "Inbound peers pushed out to make room for a newcomer",
            ),
            store_flushes: metrics.counter(
                "store_flushes",
                "Store flushes started (one may cover many writes)",
            ),
            policy_compiles: metrics.counter("policy_compiles", "Policy compilations started"),
        }
    }

    /// Metrics recorded into a registry nobody reads.
    pub(crate) fn unread() -> Self {
        Self::register(&mut Metrics::new())
    }

    /// A swarm event: libp2p's swarm metrics, connections and denials.
    pub(crate) fn swarm<T>(&mut self, event: &SwarmEvent<T>) {
        self.libp2p.record(event);
        match event {
            SwarmEvent::ConnectionEstablished { endpoint, .. } => {
                self.connections
                    .get_or_create(&connection(endpoint.is_dialer(), endpoint.is_relayed()))
                    .inc();
            }
            SwarmEvent::ConnectionClosed { endpoint, .. } => {
                self.connections
                    .get_or_create(&connection(endpoint.is_dialer(), endpoint.is_relayed()))
                    .dec();
            }
            SwarmEvent::IncomingConnectionError {
                error: libp2p::swarm::ListenError::Denied { cause },
                ..
            } => self.denied(false, cause),
            SwarmEvent::OutgoingConnectionError {
                error: libp2p::swarm::DialError::Denied { cause },
                ..
            } => self.denied(true, cause),
            _ => {}
        }
    }

    fn denied(&mut self, outbound: bool, cause: &ConnectionDenied) {
        let reason = denial_reason(cause);
        tracing::debug!(reason, outbound, %cause, "connection denied");
        self.denied
            .get_or_create(&Denied {
                direction: direction(outbound),
                reason,
            })
            .inc();
    }

    /// A store flush started.
    pub(crate) fn store_flush(&mut self) {
        self.store_flushes.inc();
    }

    /// A policy compilation started.
    pub(crate) fn policy_compile(&mut self) {
        self.policy_compiles.inc();
    }

    /// An address range was banned (`host`: one address, else a subnet).
    pub(crate) fn address_ban(&mut self, host: bool) {
        self.address_bans
            .get_or_create(&Range {
                range: if host { "host" } else { "subnet" },
            })
            .inc();
    }

    /// An inbound peer was pushed out for a newcomer.
    pub(crate) fn eviction(&mut self) {
        self.evictions.inc();
    }

    pub(crate) fn identify(&mut self, event: &identify::Event) {
        self.libp2p.record(event);
    }

    pub(crate) fn ping(&mut self, event: &ping::Event) {
        self.libp2p.record(event);
    }

    pub(crate) fn gossipsub(&mut self, event: &gossipsub::Event) {
        self.libp2p.record(event);
    }

    pub(crate) fn dcutr(&mut self, event: &dcutr::Event) {
        self.libp2p.record(event);
    }

    pub(crate) fn kad(&mut self, event: &kad::Event) {
        self.libp2p.record(event);
        if let kad::Event::InboundRequest { request } = event {
            let request = match request {
                kad::InboundRequest::FindNode { .. } => "find_node",
                kad::InboundRequest::GetProvider { .. } => "get_providers",
                kad::InboundRequest::AddProvider { .. } => "add_provider",
                _ => "other",
            };
            self.dht_request(request);
        }
    }

    /// A DHT request answered (or, `add_provider_refused`, a record the
    /// full store could not take).
    pub(crate) fn dht_request(&mut self, request: &'static str) {
        self.dht_requests.get_or_create(&Request { request }).inc();
    }

    pub(crate) fn provider_records(&mut self, count: usize) {
        self.provider_records.set(gauge_value(count));
    }

    pub(crate) fn relay_server(&mut self, event: &relay::Event) {
        self.libp2p.record(event);
        match event {
            relay::Event::ReservationReqAccepted { renewed: false, .. } => self.served += 1,
            relay::Event::ReservationClosed { .. } | relay::Event::ReservationTimedOut { .. } => {
                self.served -= 1
            }
            relay::Event::ReservationReqDenied { .. } => {
                self.relay_denied
                    .get_or_create(&Request {
                        request: "reservation",
                    })
                    .inc();
            }
            relay::Event::CircuitReqAccepted { .. } => self.circuits += 1,
            relay::Event::CircuitClosed { .. } => self.circuits -= 1,
            relay::Event::CircuitReqDenied { .. } => {
                self.relay_denied
                    .get_or_create(&Request { request: "circuit" })
                    .inc();
            }
            _ => {}
        }
        self.served = self.served.max(0);
        self.circuits = self.circuits.max(0);
        self.reservations_served.set(self.served);
        self.circuits_served.set(self.circuits);
    }

    pub(crate) fn reservations_held(&mut self, held: usize) {
        self.reservations_held.set(gauge_value(held));
    }

    pub(crate) fn hole_punch(&mut self, direct: bool) {
        let result = if direct { "direct" } else { "failed" };
        self.hole_punches.get_or_create(&Outcome { result }).inc();
    }

    pub(crate) fn addresses_announced(&mut self, count: usize) {
        self.addresses.set(gauge_value(count));
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn direction(outbound: bool) -> &'static str {
    if outbound { "outbound" } else { "inbound" }
}

fn connection(outbound: bool, relayed: bool) -> Connection {
    Connection {
        direction: direction(outbound),
        path: if relayed { "relayed" } else { "direct" },
    }
}

/// The limit that refused a connection, as a metric label.
pub(crate) fn denial_reason(cause: &ConnectionDenied) -> &'static str {
    if cause.downcast_ref::<TooManyFromIp>().is_some() {
        return "per_ip";
    }
    if cause.downcast_ref::<AddressBanned>().is_some() {
        return "address_ban";
    }
    if cause.downcast_ref::<InboundFull>().is_some() {
        return "inbound";
    }
    if cause.downcast_ref::<HandshakesLimited>().is_some() {
        return "handshake_limit";
    }
    if cause.downcast_ref::<RedialBackoff>().is_some() {
        return "redial_backoff";
    }
    if cause
        .downcast_ref::<memory_connection_limits::MemoryUsageLimitExceeded>()
        .is_some()
    {
        return "memory";
    }
    if cause
        .downcast_ref::<libp2p::allow_block_list::Blocked>()
        .is_some()
    {
        return "blocked";
    }
    if let Some(exceeded) = cause.downcast_ref::<connection_limits::Exceeded>() {
        // The kind is private in libp2p-connection-limits 0.7; its message
        // names it ("at most N <kind> are allowed"). A unit test checks
        // each kind against the library.
        let text = exceeded.to_string();
        return if text.contains("pending incoming") {
            "pending_incoming"
        } else if text.contains("pending outgoing") {
            "pending_outgoing"
        } else if text.contains("established incoming") {
            "inbound"
        } else if text.contains("established outgoing") {
            "outbound"
        } else if text.contains("per peer") {
            "per_peer"
        } else {
            "total"
        };
    }
    "other"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use libp2p::core::Endpoint;
    use libp2p::core::transport::PortUse;
    use libp2p::swarm::{ConnectionId, NetworkBehaviour};
    use libp2p::{Multiaddr, PeerId};

    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_connection_limit_is_told_apart() {
        use connection_limits::{Behaviour, ConnectionLimits};
        let local = addr("/ip4/127.0.0.1/tcp/1");
        let remote = addr("/ip4/127.0.0.1/tcp/2");
        let id = || ConnectionId::new_unchecked(7);
        let zero = Some(0);

        let mut b = Behaviour::new(ConnectionLimits::default().with_max_pending_incoming(zero));
        let e = b
            .handle_pending_inbound_connection(id(), &local, &remote)
            .unwrap_err();
        assert_eq!(denial_reason(&e), "pending_incoming");

        let mut b = Behaviour::new(ConnectionLimits::default().with_max_pending_outgoing(zero));
        let e = b
            .handle_pending_outbound_connection(id(), None, &[], Endpoint::Dialer)
            .unwrap_err();
        assert_eq!(denial_reason(&e), "pending_outgoing");

        let inbound = |limits: ConnectionLimits| {
            let mut b = Behaviour::new(limits);
            let e = b
                .handle_established_inbound_connection(id(), PeerId::random(), &local, &remote)
                .err()
                .expect("denied");
            denial_reason(&e)
        };
        assert_eq!(
            inbound(ConnectionLimits::default().with_max_established_incoming(zero)),
            "inbound"
        );
        assert_eq!(
            inbound(ConnectionLimits::default().with_max_established_per_peer(zero)),
            "per_peer"
        );
        assert_eq!(
            inbound(ConnectionLimits::default().with_max_established(zero)),
            "total"
        );
        let mut b = Behaviour::new(ConnectionLimits::default().with_max_established_outgoing(zero));
        let e = b
            .handle_established_outbound_connection(
                id(),
                PeerId::random(),
                &remote,
                Endpoint::Dialer,
                PortUse::New,
            )
            .err()
            .expect("denied");
        assert_eq!(denial_reason(&e), "outbound");

        let ip = ConnectionDenied::new(TooManyFromIp {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            max: 1,
        });
        assert_eq!(denial_reason(&ip), "per_ip");
        let full = ConnectionDenied::new(InboundFull { max: 1 });
        assert_eq!(denial_reason(&full), "inbound");
        let limited = ConnectionDenied::new(HandshakesLimited {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
        });
        assert_eq!(denial_reason(&limited), "handshake_limit");
        let backoff = ConnectionDenied::new(RedialBackoff {
            peer: PeerId::random(),
            wait: std::time::Duration::from_secs(1),
        });
        assert_eq!(denial_reason(&backoff), "redial_backoff");
        let other = ConnectionDenied::new(std::io::Error::other("?"));
        assert_eq!(denial_reason(&other), "other");
    }

    #[test]
    fn relay_server_gauges_follow_reservations_and_circuits() {
        let mut metrics = Metrics::new();
        let mut node = NodeMetrics::register(&mut metrics);
        let peer = PeerId::random();
        for renewed in [false, true, false] {
            node.relay_server(&relay::Event::ReservationReqAccepted {
                src_peer_id: peer,
                renewed,
            });
        }
        node.relay_server(&relay::Event::ReservationTimedOut { src_peer_id: peer });
        node.relay_server(&relay::Event::CircuitReqAccepted {
            src_peer_id: peer,
            dst_peer_id: peer,
        });
        let text = metrics.encode().unwrap();
        let families = super::super::exposition::parse(&text).unwrap();
        let value = |name| super::super::exposition::value(&families, name, &[]);
        assert_eq!(
            value("hearth_relay_reservations_served"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(value("hearth_relay_circuits_served"), Some(1.0), "{text}");
    }
}
