//! The libp2p behaviours, their configuration, and the swarm built from
//! them.
//!
//! Order matters in the behaviour struct: the per-IP, connection and
//! memory limits come first, so a connection they deny is never seen by
//! the behaviours after them (rust-libp2p#4870).

pub(crate) mod admission;
pub(crate) mod gossip_gate;
mod guard;
pub(crate) mod ip_limit;
pub(crate) mod wake;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hearth_protocol::limits::MAX_MESSAGE_BYTES;
use hearth_protocol::{MessageId, NetworkId};
use libp2p::gossipsub::{
    self, IdentityTransform, MaxCountSubscriptionFilter, MessageAuthenticity, PeerScoreParams,
    PeerScoreThresholds, RegexSubscriptionFilter, TopicScoreParams, ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::kad::{
    self,
    store::{MemoryStore, MemoryStoreConfig},
};
use libp2p::swarm::{NetworkBehaviour, behaviour::toggle::Toggle};
use libp2p::{
    StreamProtocol, Swarm, SwarmBuilder, allow_block_list, autonat, connection_limits, dcutr,
    identify, mdns, memory_connection_limits, noise, ping, relay, request_response, tcp, yamux,
};
use prometheus_client::registry::Registry;

use crate::config::{DhtLimits, NodeConfig, NodeLimits, RelayServerLimits};
use crate::error::{NodeError, SetupError};
use crate::sync::SyncCodec;
use gossip_gate::GossipGate;
use guard::{Guard, Guarded};

/// The gossipsub behaviour with hearth's subscription filter.
pub(crate) type Gossipsub =
    gossipsub::Behaviour<IdentityTransform, MaxCountSubscriptionFilter<RegexSubscriptionFilter>>;

/// The AutoNAT behaviour (version 1: client and server in one), kept from
/// confirming addresses itself.
pub(crate) type AutoNat = Guarded<autonat::v1::Behaviour>;

/// Every behaviour of a hearth node.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub ip_limits: ip_limit::Behaviour,
    // Address bans, inbound slots and redial backoff (admission.rs).
    pub admission: admission::Behaviour,
    pub limits: connection_limits::Behaviour,
    pub memory: Toggle<memory_connection_limits::Behaviour>,
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    // Reaching nodes behind NATs (see `service/reach.rs`).
    pub relay_server: Toggle<relay::Behaviour>,
    pub relay_client: relay::client::Behaviour,
    pub dcutr: Toggle<dcutr::Behaviour>,
    pub autonat: Toggle<AutoNat>,
    pub wake: wake::Behaviour,
    // Gossipsub behind the gate that drops foreign-topic messages and
    // subscription churn before gossipsub records them (`gossip_gate.rs`).
    pub gossipsub: GossipGate,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub kad: Guarded<kad::Behaviour<MemoryStore>>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    pub sync: request_response::Behaviour<SyncCodec>,
}

/// Mesh sizes for small support channels: a handful of peers is a busy
/// channel, so the mesh aims low and floods publishes to every subscriber.
/// Public so benchmarks can run plain gossipsub with the same mesh.
#[derive(Debug, Clone, Copy)]
pub struct MeshParams {
    /// The mesh size gossipsub aims for (`mesh_n`).
    pub mesh_n: usize,
    /// Below this, peers are grafted (`mesh_n_low`).
    pub mesh_n_low: usize,
    /// Above this, peers are pruned (`mesh_n_high`).
    pub mesh_n_high: usize,
    /// Outbound peers kept in the mesh (`mesh_outbound_min`).
    pub mesh_outbound_min: usize,
    /// Peers outside the mesh told of messages by gossip (`gossip_lazy`).
    pub gossip_lazy: usize,
}

/// hearth's gossipsub mesh settings (with flood publishing and a 1 s
/// heartbeat).
pub const MESH: MeshParams = MeshParams {
    mesh_n: 4,
    mesh_n_low: 2,
    mesh_n_high: 8,
    mesh_outbound_min: 1,
    gossip_lazy: 4,
};

impl MeshParams {
    /// The consistency rules gossipsub assumes but does not fully check.
    pub(crate) fn check(&self) -> Result<(), SetupError> {
        let ok = self.mesh_n_low >= 1
            && self.mesh_n_low <= self.mesh_n
            && self.mesh_n <= self.mesh_n_high
            && self.mesh_outbound_min <= self.mesh_n_low
            && self.mesh_outbound_min * 2 <= self.mesh_n
            && self.gossip_lazy >= 1;
        if ok {
            Ok(())
        } else {
            Err(SetupError::MeshParams)
        }
    }
}

/// Score thresholds. A peer under `graylist_threshold` is ignored by
/// gossipsub and disconnected and refused by the node for a while.
pub(crate) fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 100.0,
        opportunistic_graft_threshold: 5.0,
    }
}

/// Peer-wide score parameters; topics are added as channels are joined.
pub(crate) fn score_params() -> PeerScoreParams {
    // Loopback peers share one IP by nature (tests, several nodes on one
    // machine); the colocation penalty would otherwise push them under the
    // graylist.
    let whitelist: HashSet<IpAddr> = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ]
    .into_iter()
    .collect();
    PeerScoreParams {
        ip_colocation_factor_whitelist: whitelist,
        ..PeerScoreParams::default()
    }
}

/// Score parameters for one channel topic. Invalid messages weigh heavily
/// (three forged posts put a peer under the graylist); quiet channels are
/// normal, so mesh-delivery and mesh-failure penalties are off.
///
/// When newcomers fill the mesh to `mesh_n_high`, gossipsub keeps the
/// best-scored `mesh_n` and prunes the rest for a minute. Time in the mesh
/// therefore outweighs first deliveries: a flooder's ids that arrive
/// together and deliver their paid personas' posts first must not outscore
/// the honest neighbours they came to push out (which would leave those
/// neighbours reached only by gossip, a heartbeat late, until the prune
/// backoff ends).
pub(crate) fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 1.0,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 60.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.99,
        first_message_deliveries_cap: 20.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: 0.99,
        ..TopicScoreParams::default()
    }
}

/// Admits only hearth topics of this network.
pub(crate) fn topic_filter(network: &NetworkId) -> Result<RegexSubscriptionFilter, SetupError> {
    let pattern = format!(
        "^hearth/1/{}/(channel|mod)/[a-z0-9/-]{{1,64}}$",
        regex::escape(network.as_str())
    );
    regex::Regex::new(&pattern)
        .map(RegexSubscriptionFilter)
        .map_err(SetupError::TopicFilter)
}

/// How long gossipsub remembers a message id.
pub(crate) const DUPLICATE_CACHE_TIME: Duration = Duration::from_secs(60);

/// Protobuf framing of one gossiped message around its data: the frame's
/// length prefix, the RPC's and the message's field tags and lengths, and
/// the topic (at most 9 + 32 + 9 + 64 bytes for a channel, less for a
/// moderator topic). Generous: the exact figure is about 140 bytes.
pub(crate) const FRAME_OVERHEAD: usize = 1024;

/// What the gossipsub decoder may find in its buffer beyond one frame:
/// asynchronous-codec reads a stream 8 KiB at a time and hands the whole
/// buffer to the decoder, which checks the *buffer's* length against
/// `max_transmit_size`. A frame of the largest legal message followed
/// closely by the next frame would otherwise be over the limit, and the
/// stream between two honest peers dropped.
pub(crate) const READ_CHUNK: usize = 8 * 1024;

/// Gossipsub's frame limit: the largest legal message (a moderator list)
/// plus its framing, plus one read of the next frame.
pub(crate) const MAX_TRANSMIT_SIZE: usize = MAX_MESSAGE_BYTES + FRAME_OVERHEAD + READ_CHUNK;

/// Subscriptions a node announces in one RPC. Gossipsub sends every
/// subscription of a node in one RPC when a peer connects, so this is the
/// most topics (channels and followed moderators) a node can hold and
/// still be heard by its peers; the gate's churn allowance
/// (`gossip_gate::CHURN`) has the same burst.
pub(crate) const MAX_SUBSCRIPTIONS_PER_REQUEST: usize = 512;

/// Gossipsub's limit on the subscriptions and control messages of one RPC
/// (default 16 KiB, about 140 subscriptions to hearth topics of the
/// longest names: a node in more channels than that lost its whole
/// subscription announcement). Room for [`MAX_SUBSCRIPTIONS_PER_REQUEST`]
/// subscriptions of the longest topic (114 bytes plus 6 of framing each).
pub(crate) const MAX_CONTROL_MESSAGE_SIZE: usize = MAX_SUBSCRIPTIONS_PER_REQUEST * 128;

fn gossipsub(
    network: &NetworkId,
    registry: Option<&mut Registry>,
) -> Result<Gossipsub, SetupError> {
    MESH.check()?;
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        // The protocol's content hash is the message id everywhere.
        .message_id_fn(|message| gossipsub::MessageId::new(MessageId::of(&message.data).as_bytes()))
        .max_transmit_size(MAX_TRANSMIT_SIZE)
        .max_control_message_size(MAX_CONTROL_MESSAGE_SIZE)
        .mesh_n(MESH.mesh_n)
        .mesh_n_low(MESH.mesh_n_low)
        .mesh_n_high(MESH.mesh_n_high)
        .mesh_outbound_min(MESH.mesh_outbound_min)
        .gossip_lazy(MESH.gossip_lazy)
        .flood_publish(true)
        .heartbeat_interval(Duration::from_secs(1))
        // Gossipsub's default. Only messages on held topics get here (the
        // gate drops the rest), and replays older than this are caught by
        // the store's seen set (at the cost of one validation each); a
        // longer cache only held more ids of a flood for longer.
        .duplicate_cache_time(DUPLICATE_CACHE_TIME)
        .build()
        .map_err(SetupError::GossipsubConfig)?;
    let filter = MaxCountSubscriptionFilter {
        filter: topic_filter(network)?,
        // Far above the default 100, so a node can be in many channels and
        // follow many moderators.
        max_subscribed_topics: 10_000,
        max_subscriptions_per_request: MAX_SUBSCRIPTIONS_PER_REQUEST,
    };
    let mut behaviour =
        Gossipsub::new_with_subscription_filter(MessageAuthenticity::Anonymous, config, filter)
            .map_err(SetupError::Gossipsub)?;
    behaviour
        .with_peer_score(score_params(), score_thresholds())
        .map_err(SetupError::Scoring)?;
    if let Some(registry) = registry {
        let mut metrics = gossipsub::MetricsConfig {
            // Only joined channels and followed moderators get a label: a
            // topic a peer merely mentions never becomes a metric.
            max_never_subscribed_topics: 0,
            ..gossipsub::MetricsConfig::default()
        };
        metrics.buckets_using_scoring_thresholds(&score_thresholds());
        behaviour = behaviour.with_metrics(registry.sub_registry_with_prefix("gossipsub"), metrics);
    }
    Ok(behaviour)
}

/// The Kademlia protocol name: hearth's own, per network, so hearth nodes
/// never mix their DHT with other libp2p networks.
pub(crate) fn kad_protocol(network: &NetworkId) -> Result<StreamProtocol, SetupError> {
    StreamProtocol::try_from_owned(format!("/hearth/{network}/kad/1"))
        .map_err(SetupError::KadProtocol)
}

/// History sync: request-response on `/hearth/<network>/sync/2`, and
/// `/sync/1` for older peers (tried in that order), with the codec's size
/// limits and the configured timeout. Few concurrent streams
/// per connection: a sync session has one request in flight, and a node
/// syncs a channel with at most a few peers at once.
fn sync(config: &NodeConfig) -> Result<request_response::Behaviour<SyncCodec>, SetupError> {
    let protocol = crate::sync::protocol_name(&config.network).map_err(SetupError::SyncProtocol)?;
    let legacy =
        crate::sync::legacy_protocol_name(&config.network).map_err(SetupError::SyncProtocol)?;
    let sync_config = request_response::Config::default()
        .with_request_timeout(config.limits.sync.request_timeout)
        .with_max_concurrent_streams(16);
    Ok(request_response::Behaviour::with_codec(
        SyncCodec,
        [
            (protocol, request_response::ProtocolSupport::Full),
            (legacy, request_response::ProtocolSupport::Full),
        ],
        sync_config,
    ))
}

/// The connection limits of `limits`, for libp2p-connection-limits.
fn connection_limits(limits: &NodeLimits) -> connection_limits::ConnectionLimits {
    connection_limits::ConnectionLimits::default()
        .with_max_established(Some(limits.max_connections))
        // The inbound cap is admission's, which can make room for a
        // newcomer (admission/slots.rs).
        .with_max_established_per_peer(Some(limits.max_connections_per_peer))
        .with_max_pending_incoming(Some(limits.max_pending_incoming))
        .with_max_pending_outgoing(limits.max_pending_outgoing)
}

/// Kademlia with hearth's protocol name, the DHT caps and the provider
/// record TTL of `dht`.
fn kademlia(
    peer_id: libp2p::PeerId,
    config: &NodeConfig,
) -> Result<Guarded<kad::Behaviour<MemoryStore>>, SetupError> {
    let dht: &DhtLimits = &config.dht;
    let mut kad_config = kad::Config::new(kad_protocol(&config.network)?);
    // Channel membership changes within hours, not days. The TTL applies
    // to the records this node keeps for others; its own are announced
    // again every 15 minutes.
    kad_config.set_provider_record_ttl(Some(dht.provider_record_ttl));
    kad_config.set_provider_publication_interval(Some(Duration::from_secs(15 * 60)));
    kad_config.set_query_timeout(Duration::from_secs(30));
    // The node bootstraps the DHT itself when a bootstrap node connects;
    // kad's own timer would only warn every few minutes on nodes that have
    // no DHT peer (a LAN-only node).
    kad_config.set_periodic_bootstrap_interval(None);
    // Received provider records come to the node task, which keeps their
    // announceable addresses (at most `PROVIDER_ADDRESSES`) and stores
    // them; value records, which hearth does not use, are never stored.
    kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
    // Only the node puts peers into the routing table: bootstrap nodes and
    // peers whose identify lists this network's DHT protocol. Left to kad,
    // a server would also insert a client that sent it a request over a
    // connection the server dialled (an AutoNAT dial-back), and hand the
    // client's address out to everyone as a DHT server.
    kad_config.set_kbucket_inserts(kad::BucketInserts::Manual);
    let usize_of = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    let store = MemoryStore::with_config(
        peer_id,
        MemoryStoreConfig {
            max_records: usize_of(dht.max_records),
            max_provided_keys: usize_of(dht.max_provider_keys),
            max_providers_per_key: usize_of(dht.max_providers_per_key),
            ..MemoryStoreConfig::default()
        },
    );
    let mut kad = kad::Behaviour::with_config(peer_id, store, kad_config);
    // Never automatic: kad would turn server on any confirmed address,
    // a relay circuit address included.
    kad.set_mode(Some(if config.dht_server {
        kad::Mode::Server
    } else {
        kad::Mode::Client
    }));
    Ok(Guarded::new(
        kad,
        Guard {
            confirmations: false,
            listen_addrs: true,
        },
    ))
}

/// The relay server's configuration (libp2p's rate limiters included).
fn relay_config(limits: &RelayServerLimits) -> relay::Config {
    let usize_of = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    // relay::Config panics on a circuit duration over u32::MAX seconds.
    let max_circuit = Duration::from_secs(
        limits
            .max_circuit_duration
            .as_secs()
            .min(u64::from(u32::MAX)),
    );
    relay::Config {
        max_reservations: usize_of(limits.max_reservations),
        max_reservations_per_peer: usize_of(limits.max_reservations_per_peer),
        reservation_duration: limits.reservation_duration,
        max_circuits: usize_of(limits.max_circuits),
        max_circuits_per_peer: usize_of(limits.max_circuits_per_peer),
        max_circuit_duration: max_circuit,
        max_circuit_bytes: limits.max_circuit_bytes,
        ..relay::Config::default()
    }
}

/// AutoNAT version 1. As a client (people's nodes) it asks only the
/// bootstrap nodes the node task adds as servers, a first time 2 s after
/// start; as a server (`autonat_server`) it dials others back. A node that
/// is no server refuses every request (a global throttle of 0). Non-global
/// addresses are dialled back, and servers on them used, only with
/// `announce_private`.
fn autonat(peer_id: libp2p::PeerId, config: &NodeConfig) -> Option<AutoNat> {
    if !config.relay_client && !config.autonat_server {
        return None;
    }
    let defaults = autonat::v1::Config::default();
    let v1 = autonat::v1::Config {
        boot_delay: AUTONAT_BOOT_DELAY,
        retry_interval: Duration::from_secs(30),
        use_connected: false,
        only_global_ips: !config.announce_private,
        throttle_clients_global_max: if config.autonat_server {
            defaults.throttle_clients_global_max
        } else {
            0
        },
        ..defaults
    };
    Some(Guarded::new(
        autonat::v1::Behaviour::new(peer_id, v1),
        Guard {
            confirmations: true,
            listen_addrs: false,
        },
    ))
}

/// How long after start a node asks an AutoNAT server the first time.
pub(crate) const AUTONAT_BOOT_DELAY: Duration = Duration::from_secs(2);

/// Every behaviour but the relay client, which the swarm builder makes
/// together with its transport.
struct Parts {
    ip_limits: ip_limit::Behaviour,
    admission: admission::Behaviour,
    limits: connection_limits::Behaviour,
    memory: Toggle<memory_connection_limits::Behaviour>,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    relay_server: Toggle<relay::Behaviour>,
    dcutr: Toggle<dcutr::Behaviour>,
    autonat: Toggle<AutoNat>,
    gossipsub: GossipGate,
    identify: identify::Behaviour,
    kad: Guarded<kad::Behaviour<MemoryStore>>,
    mdns: Toggle<mdns::tokio::Behaviour>,
    sync: request_response::Behaviour<SyncCodec>,
}

impl Parts {
    fn new(
        key: &Keypair,
        config: &NodeConfig,
        mut registry: Option<&mut Registry>,
    ) -> Result<Self, SetupError> {
        let peer_id = key.public().to_peer_id();
        let mdns = if config.mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                    .map_err(SetupError::Mdns)?,
            )
        } else {
            None
        };
        let memory = config.limits.max_memory_bytes.map(|bytes| {
            memory_connection_limits::Behaviour::with_max_bytes(
                usize::try_from(bytes).unwrap_or(usize::MAX),
            )
        });
        let identify = identify::Config::new(format!("/hearth/{}/1", config.network), key.public())
            .with_agent_version(format!("hearth/{}", env!("CARGO_PKG_VERSION")))
            // Only confirmed external addresses, never the listen
            // addresses (which name every interface, LAN and loopback).
            .with_hide_listen_addrs(true);
        Ok(Self {
            ip_limits: ip_limit::Behaviour::new(config.limits.max_connections_per_ip),
            admission: admission::Behaviour::new(
                config.limits.admission,
                config.limits.max_inbound_connections,
            ),
            limits: connection_limits::Behaviour::new(connection_limits(&config.limits)),
            memory: memory.into(),
            blocked: allow_block_list::Behaviour::default(),
            relay_server: config
                .relay_server
                .as_ref()
                .map(|limits| relay::Behaviour::new(peer_id, relay_config(limits)))
                .into(),
            dcutr: config
                .relay_client
                .then(|| dcutr::Behaviour::new(peer_id))
                .into(),
            autonat: autonat(peer_id, config).into(),
            gossipsub: GossipGate::new(
                gossipsub(&config.network, registry.as_deref_mut())?,
                registry,
            ),
            identify: identify::Behaviour::new(identify),
            kad: kademlia(peer_id, config)?,
            mdns: mdns.into(),
            sync: sync(config)?,
        })
    }

    fn with_relay_client(self, relay_client: relay::client::Behaviour) -> Behaviour {
        Behaviour {
            ip_limits: self.ip_limits,
            admission: self.admission,
            limits: self.limits,
            memory: self.memory,
            blocked: self.blocked,
            relay_server: self.relay_server,
            relay_client,
            dcutr: self.dcutr,
            autonat: self.autonat,
            wake: wake::Behaviour::default(),
            gossipsub: self.gossipsub,
            identify: self.identify,
            ping: ping::Behaviour::default(),
            kad: self.kad,
            mdns: self.mdns,
            sync: self.sync,
        }
    }
}

/// Builds the swarm: TCP with noise and yamux, QUIC v1, DNS (`/dns`,
/// `/dns4`, `/dns6` and `/dnsaddr` are resolved when dialling), the relay
/// client transport, and with a `registry` the bandwidth and gossipsub
/// metrics.
pub(crate) fn build(
    key: Keypair,
    config: &NodeConfig,
    mut registry: Option<&mut Registry>,
) -> Result<Swarm<Behaviour>, NodeError> {
    let parts = Parts::new(&key, config, registry.as_deref_mut())?;
    let idle = config.idle_timeout;
    let builder = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(SetupError::Noise)?
        .with_quic()
        .with_dns()
        .map_err(SetupError::Dns)?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(SetupError::Noise)?;
    let infallible = |never: std::convert::Infallible| -> SetupError { match never {} };
    let swarm = match registry {
        Some(registry) => builder
            .with_bandwidth_metrics(registry)
            .with_behaviour(|_, relay_client| parts.with_relay_client(relay_client))
            .map_err(infallible)?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build(),
        None => builder
            .with_behaviour(|_, relay_client| parts.with_relay_client(relay_client))
            .map_err(infallible)?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build(),
    };
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer's positive channel score after `secs` in the mesh with
    /// `first` first deliveries (no decay: the most a newcomer can have).
    fn positive_score(params: &TopicScoreParams, secs: f64, first: f64) -> f64 {
        let quanta = secs / params.time_in_mesh_quantum.as_secs_f64();
        params.topic_weight
            * (params.time_in_mesh_weight * quanta.min(params.time_in_mesh_cap)
                + params.first_message_deliveries_weight
                    * first.min(params.first_message_deliveries_cap))
    }

    /// Gossipsub keeps the best-scored peers when newcomers fill the mesh.
    /// A neighbour half a minute in the mesh that delivered nothing first
    /// must outscore a fresh id that delivered as many first messages as
    /// count, or a flood of fresh ids prunes honest neighbours from it.
    #[test]
    fn half_a_minute_in_the_mesh_outweighs_any_number_of_first_deliveries() {
        let params = topic_score_params();
        let neighbour = positive_score(&params, 30.0, 0.0);
        let flooder = positive_score(&params, 1.0, f64::MAX);
        assert!(
            neighbour > flooder,
            "neighbour {neighbour} vs fresh flooder {flooder}"
        );
        // Three invalid messages put a fresh peer under the graylist, and
        // five the best-standing one.
        let best = positive_score(&params, f64::MAX, f64::MAX);
        let invalid = |n: f64| params.invalid_message_deliveries_weight * n * n;
        assert!(best + invalid(5.0) < score_thresholds().graylist_threshold);
        assert!(invalid(3.0) < score_thresholds().graylist_threshold);
    }

    /// The DNS transport takes `/dnsaddr` addresses and tries to resolve
    /// them (TXT records of `_dnsaddr.<name>`); a swarm without it would
    /// refuse the address as unsupported. `.invalid` never resolves, so
    /// the dial fails after the lookup; no DNS server of the test's own is
    /// needed.
    #[tokio::test]
    async fn a_dnsaddr_bootstrap_address_is_resolved_not_refused() {
        use futures::StreamExt;
        use libp2p::TransportError;
        use libp2p::swarm::{DialError, SwarmEvent};
        let config = NodeConfig {
            mdns: false,
            listen: Vec::new(),
            ..NodeConfig::default()
        };
        let mut swarm = build(Keypair::generate_ed25519(), &config, None).unwrap();
        for text in [
            format!(
                "/dnsaddr/bootstrap.hearth.invalid/p2p/{}",
                libp2p::PeerId::random()
            ),
            "/dns4/bootstrap.hearth.invalid/tcp/4001".to_owned(),
        ] {
            let address: libp2p::Multiaddr = text.parse().unwrap();
            crate::addresses::check_bootstrap(&address).unwrap();
            swarm.dial(address).unwrap();
            let error = tokio::time::timeout(Duration::from_secs(60), async {
                loop {
                    if let SwarmEvent::OutgoingConnectionError { error, .. } =
                        swarm.select_next_some().await
                    {
                        return error;
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{text}: no answer in 60 s"));
            let DialError::Transport(errors) = error else {
                panic!("{text}: {error}");
            };
            for (_, error) in errors {
                assert!(
                    !matches!(error, TransportError::MultiaddrNotSupported(_)),
                    "{text}: the DNS transport did not take it"
                );
            }
        }
    }

    #[test]
    fn mesh_parameters_are_consistent() {
        MESH.check().unwrap();
        let bad = MeshParams {
            mesh_n: 2,
            mesh_n_low: 3,
            mesh_n_high: 8,
            mesh_outbound_min: 1,
            gossip_lazy: 4,
        };
        assert!(bad.check().is_err());
    }

    /// Bytes of a protobuf varint of `n`.
    fn varint_len(mut n: usize) -> usize {
        let mut len = 1;
        while n >= 0x80 {
            n >>= 7;
            len += 1;
        }
        len
    }

    /// The longest topic the subscription filter admits.
    fn longest_topic() -> String {
        use hearth_protocol::limits::{MAX_CHANNEL_LEN, MAX_NETWORK_ID_LEN};
        format!(
            "hearth/1/{}/channel/{}",
            "n".repeat(MAX_NETWORK_ID_LEN),
            "c".repeat(MAX_CHANNEL_LEN)
        )
    }

    #[test]
    fn the_largest_legal_frame_and_the_next_read_fit_gossipsubs_frame_limit() {
        // Rpc { publish: [Message { data = 2, topic = 4 }] }, length-prefixed.
        let topic = longest_topic().len();
        let message =
            1 + varint_len(MAX_MESSAGE_BYTES) + MAX_MESSAGE_BYTES + 1 + varint_len(topic) + topic;
        let rpc = 1 + varint_len(message) + message;
        let frame = varint_len(rpc) + rpc;
        assert!(frame <= MAX_MESSAGE_BYTES + FRAME_OVERHEAD, "{frame}");
        // The decoder's buffer: the whole frame and at most one read short
        // of a byte of the next.
        assert!(frame + READ_CHUNK - 1 <= MAX_TRANSMIT_SIZE);
    }

    #[test]
    fn a_node_announcing_the_most_topics_fits_one_frame_and_the_gates_burst() {
        // Rpc { subscriptions = 1: [SubOpts { subscribe = 1, topic_id = 2 }] }
        let topic = longest_topic().len();
        let sub_opts = 2 + 1 + varint_len(topic) + topic;
        let per_subscription = 1 + varint_len(sub_opts) + sub_opts;
        assert!(per_subscription * MAX_SUBSCRIPTIONS_PER_REQUEST <= MAX_CONTROL_MESSAGE_SIZE);
        assert_eq!(
            usize::try_from(gossip_gate::CHURN.burst).unwrap(),
            MAX_SUBSCRIPTIONS_PER_REQUEST
        );
    }

    #[test]
    fn score_parameters_validate() {
        score_params().validate().unwrap();
        score_thresholds().validate().unwrap();
        topic_score_params().validate().unwrap();
    }

    #[test]
    fn subscription_filter_admits_only_this_networks_topics() {
        use libp2p::gossipsub::{IdentTopic, TopicSubscriptionFilter};
        let network = NetworkId::parse("test").unwrap();
        gossipsub(&network, None).unwrap();
        let mut filter = topic_filter(&network).unwrap();
        let ok = IdentTopic::new("hearth/1/test/channel/grief/es").hash();
        let other_net = IdentTopic::new("hearth/1/main/channel/grief").hash();
        let foreign = IdentTopic::new("eth2/beacon_block").hash();
        assert!(filter.can_subscribe(&ok));
        assert!(!filter.can_subscribe(&other_net));
        assert!(!filter.can_subscribe(&foreign));
    }
}
