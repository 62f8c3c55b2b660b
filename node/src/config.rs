//! Everything a node is started with, and its defaults.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use hearth_protocol::{ChannelName, Limits, NetworkId};
use libp2p::Multiaddr;

use crate::sync::SyncLimits;

/// Where the node keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A sled database in this directory (created if missing).
    Path(PathBuf),
    /// A temporary store that is deleted when the node stops; nothing
    /// stays on disk.
    Memory,
}

/// Where personas live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PersonaMode {
    /// One persona per channel, kept in the store, so a person keeps their
    /// name in a channel they come back to.
    #[default]
    Stored,
    /// Personas only in memory: a new name in every channel at every start.
    Ephemeral,
}

/// Whether the libp2p identity survives a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityMode {
    /// A fresh random peer id at every start, so the node is not linkable
    /// across restarts. The default for people.
    #[default]
    Ephemeral,
    /// A peer id kept in the store: what bootstrap nodes need, so their
    /// address stays valid.
    Persistent,
}

/// A token-bucket rate: `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens added per minute.
    pub per_minute: u32,
    /// Bucket size.
    pub burst: u32,
}

/// Limits that protect the node from floods and hostile peers.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLimits {
    /// Most established connections in total.
    pub max_connections: u32,
    /// Most established connections to one peer.
    pub max_connections_per_peer: u32,
    /// Most incoming connections still in their handshake.
    pub max_pending_incoming: u32,
    /// New connections are refused above this share of system memory in use.
    pub max_memory_fraction: f64,
    /// The time window for received messages.
    pub messages: Limits,
    /// Posts accepted per persona.
    pub per_persona: Rate,
    /// Posts accepted per forwarding peer.
    pub per_peer: Rate,
    /// How long a peer whose gossip score fell below the graylist stays
    /// disconnected and refused.
    pub ban_duration: Duration,
    /// Proof-of-work difficulty (leading zero bits) for channels not listed
    /// in `channel_difficulty`.
    pub default_difficulty: u8,
    /// Per-channel proof-of-work difficulty.
    pub channel_difficulty: HashMap<ChannelName, u8>,
    /// History sync: how often, with how many peers, and how much.
    pub sync: SyncLimits,
}

impl Default for NodeLimits {
    fn default() -> Self {
        Self {
            max_connections: 128,
            max_connections_per_peer: 2,
            max_pending_incoming: 32,
            max_memory_fraction: 0.9,
            messages: Limits {
                max_clock_skew_ms: Limits::DEFAULT_CLOCK_SKEW_MS,
                // Live gossip older than a week is refused; the store keeps
                // "seen" ids at least this long, so replays are recognised.
                max_age_ms: 7 * 24 * 60 * 60 * 1000,
            },
            per_persona: Rate {
                per_minute: 30,
                burst: 10,
            },
            per_peer: Rate {
                per_minute: 3000,
                burst: 500,
            },
            ban_duration: Duration::from_secs(10 * 60),
            default_difficulty: 0,
            channel_difficulty: HashMap::new(),
            sync: SyncLimits::default(),
        }
    }
}

impl NodeLimits {
    /// The proof-of-work difficulty of `channel`.
    pub fn difficulty(&self, channel: &ChannelName) -> u8 {
        self.channel_difficulty
            .get(channel)
            .copied()
            .unwrap_or(self.default_difficulty)
    }
}

/// How long posts are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Posts older than this are deleted.
    pub max_age: Duration,
    /// At most this many posts per channel; the oldest go first.
    pub max_posts_per_channel: usize,
    /// How often the sweeper runs.
    pub sweep_interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 60 * 60),
            max_posts_per_channel: 10_000,
            sweep_interval: Duration::from_secs(60),
        }
    }
}

/// The complete configuration of a node. [`crate::Node::builder`] fills it
/// in with defaults that suit a person's node on a LAN.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where data lives.
    pub storage: Storage,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap nodes to dial at start.
    pub bootstrap: Vec<Multiaddr>,
    /// Find peers on the LAN with mDNS.
    pub mdns: bool,
    /// The network to join.
    pub network: NetworkId,
    /// Where personas live.
    pub personas: PersonaMode,
    /// Whether the peer id survives restarts.
    pub identity: IdentityMode,
    /// Serve the DHT (bootstrap nodes). Other nodes use it as clients.
    pub dht_server: bool,
    /// Tell peers the addresses this node listens on, so the DHT can hand
    /// them out. Turn off on nodes whose listen addresses are not reachable.
    pub announce_listen_addrs: bool,
    /// Addresses this node is reachable at, announced as they are.
    pub external_addrs: Vec<Multiaddr>,
    /// Channels to join at start.
    pub channels: Vec<ChannelName>,
    /// Make no connection of its own (see [`crate::NodeBuilder::offline`]).
    pub offline: bool,
    /// Flood and abuse limits.
    pub limits: NodeLimits,
    /// How long posts are kept.
    pub retention: Retention,
    /// Memory for sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// Keep idle connections open this long: chat peers outside a mesh
    /// must not be dropped every few seconds.
    pub idle_timeout: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            storage: Storage::Memory,
            listen: vec![default_tcp(), default_quic()],
            bootstrap: Vec::new(),
            mdns: true,
            network: NetworkId::default(),
            personas: PersonaMode::default(),
            identity: IdentityMode::default(),
            dht_server: false,
            announce_listen_addrs: true,
            external_addrs: Vec::new(),
            channels: Vec::new(),
            offline: false,
            limits: NodeLimits::default(),
            retention: Retention::default(),
            cache_bytes: 32 * 1024 * 1024,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

fn default_tcp() -> Multiaddr {
    "/ip4/0.0.0.0/tcp/0"
        .parse()
        .unwrap_or_else(|_| Multiaddr::empty())
}

fn default_quic() -> Multiaddr {
    "/ip4/0.0.0.0/udp/0/quic-v1"
        .parse()
        .unwrap_or_else(|_| Multiaddr::empty())
}
