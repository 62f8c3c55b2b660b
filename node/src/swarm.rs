//! The libp2p behaviours, their configuration, and the swarm built from
//! them.
//!
//! Order matters in the behaviour struct: connection and memory limits come
//! first, so a connection they deny is never seen by the behaviours after
//! them (rust-libp2p#4870).

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
use libp2p::kad::{self, store::MemoryStore};
use libp2p::swarm::{NetworkBehaviour, behaviour::toggle::Toggle};
use libp2p::{
    StreamProtocol, Swarm, SwarmBuilder, allow_block_list, connection_limits, identify, mdns,
    memory_connection_limits, noise, ping, request_response, tcp, yamux,
};

use crate::config::NodeConfig;
use crate::error::{NodeError, SetupError};
use crate::sync::SyncCodec;

/// The gossipsub behaviour with hearth's subscription filter.
pub(crate) type Gossipsub =
    gossipsub::Behaviour<IdentityTransform, MaxCountSubscriptionFilter<RegexSubscriptionFilter>>;

/// Every behaviour of a hearth node.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub limits: connection_limits::Behaviour,
    pub memory: memory_connection_limits::Behaviour,
    pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub gossipsub: Gossipsub,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub kad: kad::Behaviour<MemoryStore>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    pub sync: request_response::Behaviour<SyncCodec>,
}

/// Mesh sizes for small support channels: a handful of peers is a busy
/// channel, so the mesh aims low and floods publishes to every subscriber.
pub(crate) struct MeshParams {
    pub mesh_n: usize,
    pub mesh_n_low: usize,
    pub mesh_n_high: usize,
    pub mesh_outbound_min: usize,
    pub gossip_lazy: usize,
}

pub(crate) const MESH: MeshParams = MeshParams {
    mesh_n: 4,
    mesh_n_low: 2,
    mesh_n_high: 8,
    mesh_outbound_min: 1,
    gossip_lazy: 4,
};

impl MeshParams {
    /// The consistency rules gossipsub assumes but does not fully check.
    pub fn check(&self) -> Result<(), SetupError> {
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
pub(crate) fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 600.0,
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

fn gossipsub(network: &NetworkId) -> Result<Gossipsub, SetupError> {
    MESH.check()?;
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        // The protocol's content hash is the message id everywhere.
        .message_id_fn(|message| gossipsub::MessageId::new(MessageId::of(&message.data).as_bytes()))
        .max_transmit_size(MAX_MESSAGE_BYTES + 4096)
        .mesh_n(MESH.mesh_n)
        .mesh_n_low(MESH.mesh_n_low)
        .mesh_n_high(MESH.mesh_n_high)
        .mesh_outbound_min(MESH.mesh_outbound_min)
        .gossip_lazy(MESH.gossip_lazy)
        .flood_publish(true)
        .heartbeat_interval(Duration::from_secs(1))
        // Longer than the clock-skew window; older replays are caught by
        // the store's record of seen ids.
        .duplicate_cache_time(Duration::from_secs(10 * 60))
        .build()
        .map_err(SetupError::GossipsubConfig)?;
    let filter = MaxCountSubscriptionFilter {
        filter: topic_filter(network)?,
        // Far above the default 100, so a node can be in many channels and
        // follow many moderators.
        max_subscribed_topics: 10_000,
        max_subscriptions_per_request: 2_000,
    };
    let mut behaviour =
        Gossipsub::new_with_subscription_filter(MessageAuthenticity::Anonymous, config, filter)
            .map_err(SetupError::Gossipsub)?;
    behaviour
        .with_peer_score(score_params(), score_thresholds())
        .map_err(SetupError::Scoring)?;
    Ok(behaviour)
}

/// The Kademlia protocol name: hearth's own, per network, so hearth nodes
/// never mix their DHT with other libp2p networks.
pub(crate) fn kad_protocol(network: &NetworkId) -> Result<StreamProtocol, SetupError> {
    StreamProtocol::try_from_owned(format!("/hearth/{network}/kad/1"))
        .map_err(SetupError::KadProtocol)
}

/// History sync: request-response on `/hearth/<network>/sync/1`, with the
/// codec's size limits and the configured timeout. Few concurrent streams
/// per connection: a sync session has one request in flight, and a node
/// syncs a channel with at most a few peers at once.
fn sync(config: &NodeConfig) -> Result<request_response::Behaviour<SyncCodec>, SetupError> {
    let protocol = crate::sync::protocol_name(&config.network).map_err(SetupError::SyncProtocol)?;
    let sync_config = request_response::Config::default()
        .with_request_timeout(config.limits.sync.request_timeout)
        .with_max_concurrent_streams(16);
    Ok(request_response::Behaviour::with_codec(
        SyncCodec,
        [(protocol, request_response::ProtocolSupport::Full)],
        sync_config,
    ))
}

fn behaviour(key: &Keypair, config: &NodeConfig) -> Result<Behaviour, SetupError> {
    let peer_id = key.public().to_peer_id();
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(config.limits.max_connections))
        .with_max_established_per_peer(Some(config.limits.max_connections_per_peer))
        .with_max_pending_incoming(Some(config.limits.max_pending_incoming));

    let mut kad_config = kad::Config::new(kad_protocol(&config.network)?);
    // Channel membership changes within hours, not days.
    kad_config.set_provider_record_ttl(Some(Duration::from_secs(60 * 60)));
    kad_config.set_provider_publication_interval(Some(Duration::from_secs(15 * 60)));
    kad_config.set_query_timeout(Duration::from_secs(30));
    // The node bootstraps the DHT itself when a bootstrap node connects;
    // kad's own timer would only warn every few minutes on nodes that have
    // no DHT peer (a LAN-only node).
    kad_config.set_periodic_bootstrap_interval(None);
    let mut kad = kad::Behaviour::with_config(peer_id, MemoryStore::new(peer_id), kad_config);
    kad.set_mode(Some(if config.dht_server {
        kad::Mode::Server
    } else {
        kad::Mode::Client
    }));

    let mdns = if config.mdns {
        Some(
            mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)
                .map_err(SetupError::Mdns)?,
        )
    } else {
        None
    };

    Ok(Behaviour {
        limits: connection_limits::Behaviour::new(limits),
        memory: memory_connection_limits::Behaviour::with_max_percentage(
            config.limits.max_memory_fraction,
        ),
        blocked: allow_block_list::Behaviour::default(),
        gossipsub: gossipsub(&config.network)?,
        identify: identify::Behaviour::new(
            identify::Config::new(format!("/hearth/{}/1", config.network), key.public())
                .with_agent_version(format!("hearth/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ping: ping::Behaviour::default(),
        kad,
        mdns: mdns.into(),
        sync: sync(config)?,
    })
}

/// Builds the swarm: TCP with noise and yamux, QUIC v1, DNS.
pub(crate) fn build(key: Keypair, config: &NodeConfig) -> Result<Swarm<Behaviour>, NodeError> {
    let behaviour = behaviour(&key, config)?;
    let idle = config.idle_timeout;
    let swarm = SwarmBuilder::with_existing_identity(key)
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
        .with_behaviour(|_| behaviour)
        .map_err(|never: std::convert::Infallible| -> SetupError { match never {} })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        gossipsub(&network).unwrap();
        let mut filter = topic_filter(&network).unwrap();
        let ok = IdentTopic::new("hearth/1/test/channel/grief/es").hash();
        let other_net = IdentTopic::new("hearth/1/main/channel/grief").hash();
        let foreign = IdentTopic::new("eth2/beacon_block").hash();
        assert!(filter.can_subscribe(&ok));
        assert!(!filter.can_subscribe(&other_net));
        assert!(!filter.can_subscribe(&foreign));
    }
}
