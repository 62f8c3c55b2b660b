//! Everything a node is started with, and its defaults.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_protocol::{ChannelName, DEFAULT_PERSONA_STAMP_BITS, Limits, NetworkId};
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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IdentityMode {
    /// A fresh random peer id at every start, so the node is not linkable
    /// across restarts. The default for people.
    #[default]
    Ephemeral,
    /// A peer id kept in the store: what bootstrap nodes need, so their
    /// address stays valid.
    Persistent,
    /// A peer id kept in this owner-only key file (see
    /// [`crate::identity`]), created at the first start. The operator's
    /// node uses `<data dir>/node.key`, which can be backed up, moved and
    /// read by `hearth bootstrap id` without opening the store. When the
    /// file does not exist but the store holds a key (a node that ran
    /// with [`IdentityMode::Persistent`]), that key is written to the file,
    /// so the peer id stays the same.
    File(PathBuf),
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
    /// Most established incoming connections (`None`: only
    /// `max_connections` applies). Below `max_connections`, so that peers
    /// dialling in cannot take the room the node needs for its own dials.
    pub max_inbound_connections: Option<u32>,
    /// Most established connections to one peer. A person's node needs
    /// three while it upgrades a relayed connection: the relayed one, the
    /// direct one hole punching opens, and a second relayed one when both
    /// sides dialled through the relay at once.
    pub max_connections_per_peer: u32,
    /// Most established incoming connections from one IP address (`None`:
    /// no limit). Several people behind one home router or carrier NAT
    /// share an address, so this is a ceiling against one machine opening
    /// many peer ids, not one per person. Relayed connections carry no IP
    /// and are not counted; the node's own dials are never limited by it.
    pub max_connections_per_ip: Option<u32>,
    /// Most incoming connections still in their handshake.
    pub max_pending_incoming: u32,
    /// Most outgoing dials in progress at once (`None`: no limit).
    pub max_pending_outgoing: Option<u32>,
    /// New connections, incoming and outgoing, are refused while the
    /// process's resident memory is above this many bytes (`None`: no
    /// memory limit). It measures the whole process (read at most every
    /// 100 ms), so an embedder whose process holds more than the node sets
    /// it with that in mind.
    pub max_memory_bytes: Option<u64>,
    /// The time window for received messages.
    pub messages: Limits,
    /// Posts accepted per established persona (see
    /// [`NodeLimits::newcomer`]): a burst of 20, then 40 a minute. A post
    /// over the limit is not shown, stored or forwarded; the node's own
    /// posts are paced to stay within it instead (`Event::Paced`).
    pub per_persona: Rate,
    /// Posts accepted per newcomer persona: a burst of 8, then 12 a
    /// minute. A persona is a newcomer until it has had
    /// [`NodeLimits::newcomer_posts`] posts accepted and
    /// [`NodeLimits::newcomer_for`] has passed since its first post was
    /// seen.
    pub newcomer: Rate,
    /// Posts a persona must have had accepted to be established (20).
    pub newcomer_posts: u32,
    /// How long after its first post a persona is still a newcomer at the
    /// least (10 minutes).
    pub newcomer_for: Duration,
    /// KiB of messages taken from one peer, counted before anything is
    /// decoded: a ceiling on raw bytes (32 MiB a minute, burst 8 MiB), far
    /// above what an honest relay forwards. Never a count of posts: a
    /// relay carries everyone's posts, so a post count per peer would
    /// judge the relay for its authors.
    pub per_peer_kib: Rate,
    /// Invalid messages taken from one peer (burst 10, 10 a minute). Past
    /// it, the peer's messages are dropped before they are decoded. Only
    /// the peer that sent invalid bytes is charged: an honest relay never
    /// forwards them.
    pub per_peer_invalid: Rate,
    /// How long a peer whose gossip score fell below the graylist stays
    /// disconnected and refused.
    pub ban_duration: Duration,
    /// Proof-of-work difficulty (leading zero bits) for channels not listed
    /// in `channel_difficulty`.
    pub default_difficulty: u8,
    /// Per-channel proof-of-work difficulty.
    pub channel_difficulty: HashMap<ChannelName, u8>,
    /// The persona-stamp level (leading zero bits, `docs/protocol.md`
    /// section 12.2) the node asks of every post it accepts and stamps its
    /// own personas to: the protocol's
    /// [`DEFAULT_PERSONA_STAMP_BITS`] unless changed. Lower it only for a
    /// private or test network: a node asking less shows posts that the
    /// rest of the network refuses, and the rest refuses its own posts. A
    /// higher value stamps own personas harder but never asks more than the
    /// protocol's level of others, so the node never refuses a post that
    /// follows the spec.
    pub persona_stamp_bits: u8,
    /// History sync: how often, with how many peers, and how much.
    pub sync: SyncLimits,
    /// Address bans, inbound slots and redial backoff.
    pub admission: AdmissionLimits,
}

impl Default for NodeLimits {
    fn default() -> Self {
        Self {
            max_connections: 128,
            max_inbound_connections: Some(96),
            max_connections_per_peer: 3,
            max_connections_per_ip: None,
            max_pending_incoming: 32,
            max_pending_outgoing: None,
            max_memory_bytes: None,
            messages: Limits {
                max_clock_skew_ms: Limits::DEFAULT_CLOCK_SKEW_MS,
                // Live gossip older than a week is refused; the store keeps
                // "seen" ids at least this long, so replays are recognised.
                max_age_ms: 7 * 24 * 60 * 60 * 1000,
            },
            per_persona: Rate {
                per_minute: 40,
                burst: 20,
            },
            newcomer: Rate {
                per_minute: 12,
                burst: 8,
            },
            newcomer_posts: 20,
            newcomer_for: Duration::from_secs(10 * 60),
            per_peer_kib: Rate {
                per_minute: 32 * 1024,
                burst: 8 * 1024,
            },
            per_peer_invalid: Rate {
                per_minute: 10,
                burst: 10,
            },
            ban_duration: Duration::from_secs(10 * 60),
            default_difficulty: 0,
            channel_difficulty: HashMap::new(),
            persona_stamp_bits: DEFAULT_PERSONA_STAMP_BITS,
            sync: SyncLimits::default(),
            admission: AdmissionLimits::default(),
        }
    }
}

impl NodeLimits {
    /// The limits of an operator's node (a bootstrap or relay server that
    /// many people connect to): more connections, a ceiling per IP address
    /// and a memory limit; the message limits are the defaults.
    pub fn server() -> Self {
        Self {
            max_connections: 1024,
            max_inbound_connections: Some(960),
            max_connections_per_peer: 2,
            max_connections_per_ip: Some(16),
            max_pending_incoming: 128,
            max_pending_outgoing: Some(64),
            max_memory_bytes: Some(512 * 1024 * 1024),
            admission: AdmissionLimits::server(),
            ..Self::default()
        }
    }

    /// The proof-of-work difficulty of `channel`.
    pub fn difficulty(&self, channel: &ChannelName) -> u8 {
        self.channel_difficulty
            .get(channel)
            .copied()
            .unwrap_or(self.default_difficulty)
    }

    /// The persona-stamp level the node asks of the posts it accepts: the
    /// configured level, never above the protocol's.
    pub fn accepted_stamp_bits(&self) -> u8 {
        self.persona_stamp_bits.min(DEFAULT_PERSONA_STAMP_BITS)
    }
}

/// How long posts are kept: every node deletes posts past these limits
/// (its own posts too, except by count or bytes), and never serves or
/// shows them.
///
/// A post goes when the first of these applies: its author's expiry
/// passed; it is older than the channel's maximum age; or the channel
/// holds more posts or bytes than its maximums and the post comes first
/// in the eviction order (new personas' posts first, the persona first
/// stored last first; then established personas'; never the node's own). Reads also
/// leave out posts beyond the newest maximum count, which only matters
/// while a channel holds more (own posts, or a lowered maximum before the
/// next sweep).
/// [`Retention::channels`] overrides the two maximums for single channels
/// (by exact name: `grief` does not cover `grief/es`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Posts older than this are deleted (30 days by default).
    pub max_age: Duration,
    /// At most this many posts per channel (10 000 by default), checked on
    /// insert: a channel over it is trimmed to 90 % of it in the same order
    /// as for `max_bytes_per_channel`, never the node's own posts.
    pub max_posts_per_channel: usize,
    /// How often the sweeper runs (every minute by default). Reads never
    /// return what the next sweep would delete, so this only bounds how
    /// long deleted posts take up room.
    pub sweep_interval: Duration,
    /// Limits for single channels, overriding the two above.
    pub channels: HashMap<ChannelName, ChannelRetention>,
    /// At most this many bytes of stored posts per channel (32 MiB by
    /// default; `0`: no byte budget), checked on insert. A channel over it
    /// is trimmed to 90 % of it: first posts of personas first stored here
    /// less than `established_after` ago, the persona first stored last
    /// first, then those of established personas the same way; never the
    /// node's own posts. So a flood cannot erase a channel's honest
    /// history.
    pub max_bytes_per_channel: u64,
    /// A persona whose first post in a channel was stored this long ago is
    /// established there, and its posts go last when the channel is over
    /// its byte budget (1 hour by default).
    pub established_after: Duration,
}

/// Retention limits for one channel; `None` keeps the node-wide value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelRetention {
    /// Posts of the channel older than this are deleted.
    pub max_age: Option<Duration>,
    /// At most this many posts of the channel are kept.
    pub max_posts: Option<usize>,
}

impl Retention {
    /// The limits that apply to `channel`.
    pub fn keep(&self, channel: &ChannelName) -> Keep {
        let own = self.channels.get(channel).copied().unwrap_or_default();
        Keep {
            max_age_ms: millis(own.max_age.unwrap_or(self.max_age)),
            max_posts: own.max_posts.unwrap_or(self.max_posts_per_channel),
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(30 * 24 * 60 * 60),
            max_posts_per_channel: 10_000,
            sweep_interval: Duration::from_secs(60),
            channels: HashMap::new(),
            max_bytes_per_channel: 32 * 1024 * 1024,
            established_after: Duration::from_secs(60 * 60),
        }
    }
}

/// Limits of the circuit relay server (libp2p relay v2 "hop"): a node
/// with a public address relays connections for nodes behind home routers
/// until they reach each other directly (hole punching). The defaults are
/// those of libp2p's `relay::Config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayServerLimits {
    /// Most reservations held at once (nodes reachable through this one).
    pub max_reservations: u32,
    /// Most reservations held by one peer.
    pub max_reservations_per_peer: u32,
    /// How long a reservation lasts before the node behind NAT renews it.
    pub reservation_duration: Duration,
    /// Most relayed connections (circuits) open at once.
    pub max_circuits: u32,
    /// Most circuits open to or from one peer.
    pub max_circuits_per_peer: u32,
    /// A circuit is closed after this long.
    pub max_circuit_duration: Duration,
    /// A circuit is closed after this many bytes (both directions together).
    pub max_circuit_bytes: u64,
}

impl Default for RelayServerLimits {
    fn default() -> Self {
        Self {
            max_reservations: 128,
            max_reservations_per_peer: 4,
            reservation_duration: Duration::from_secs(60 * 60),
            max_circuits: 16,
            max_circuits_per_peer: 4,
            max_circuit_duration: Duration::from_secs(2 * 60),
            max_circuit_bytes: 128 * 1024,
        }
    }
}

/// Caps on what the DHT keeps for others. A DHT server stores provider
/// records (who is in which channel) for any peer that asks, so these
/// bound its memory. Defaults are libp2p Kademlia's `MemoryStore` ones and
/// hearth's one-hour provider TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhtLimits {
    /// Most keys with provider records (one key per channel announced).
    pub max_provider_keys: u32,
    /// Most providers kept per key.
    pub max_providers_per_key: u32,
    /// A provider record expires this long after it was last announced.
    pub provider_record_ttl: Duration,
    /// Most value records.
    pub max_records: u32,
}

impl Default for DhtLimits {
    fn default() -> Self {
        Self {
            max_provider_keys: 1024,
            max_providers_per_key: 20,
            provider_record_ttl: Duration::from_secs(60 * 60),
            max_records: 1024,
        }
    }
}

impl DhtLimits {
    /// The caps of an operator's DHT server: room for the channels of a
    /// community and more members of each (≈ 128 k provider records, a few
    /// tens of MiB at most).
    pub fn server() -> Self {
        Self {
            max_provider_keys: 4096,
            max_providers_per_key: 32,
            ..Self::default()
        }
    }
}

/// The retention limits of one channel, as the store applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Posts created more than this many ms ago are gone.
    pub max_age_ms: u64,
    /// Only the newest this many posts are kept.
    pub max_posts: usize,
}

impl Keep {
    /// No limit but the authors' own expiries.
    pub const FOREVER: Keep = Keep {
        max_age_ms: u64::MAX,
        max_posts: usize::MAX,
    };

    /// The oldest `created_ms` still kept at `now_ms`.
    pub fn oldest_kept(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.max_age_ms)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
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
    /// Count the addresses this node listens on as confirmed, and announce
    /// them (in identify and DHT provider records) without waiting for an
    /// AutoNAT server to confirm them: for an operator's node on a machine
    /// whose own addresses are public. Addresses outside the announced
    /// scope (see `announce_private`) stay unannounced all the same. Off by
    /// default: a person's node announces only what was confirmed from
    /// outside.
    pub announce_listen_addrs: bool,
    /// Announce confirmed addresses that are not globally routable
    /// (loopback, the private ranges, link-local, carrier NAT,
    /// 198.18.0.0/15 …; see [`crate::addresses::is_global_ip`]), and, on an
    /// AutoNAT or DHT server, dial back and keep such addresses of others.
    /// Off by default, so a node never tells the network its LAN or
    /// loopback addresses (mDNS serves the LAN). For tests on loopback or
    /// in a lab, and for closed networks on private addresses.
    pub announce_private: bool,
    /// Addresses this node is reachable at, announced as they are (the
    /// operator confirms them).
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
    /// Serve as a circuit relay for nodes behind NAT, with these limits
    /// (`None`: no relay server). Operators' nodes with a public address.
    pub relay_server: Option<RelayServerLimits>,
    /// Find out whether this node is reachable (AutoNAT probes to its
    /// bootstrap nodes, and what peers observe), and when it is not,
    /// reserve a slot on up to two bootstrap nodes that relay, announce the
    /// relay circuit addresses, and let hole punching (DCUtR) replace
    /// relayed connections with direct ones. On for people's nodes.
    pub relay_client: bool,
    /// Answer other nodes' AutoNAT probes (dial them back to tell them
    /// whether they are reachable). Operators' nodes with a public address.
    pub autonat_server: bool,
    /// What the DHT keeps for others.
    pub dht: DhtLimits,
    /// Serve Prometheus metrics (`GET /metrics`) and a liveness check
    /// (`GET /health`) over HTTP on this address (`None`: no endpoint).
    /// Port 0 picks a free port; [`crate::NodeHandle::metrics_addr`] says
    /// which. Bind it to a private interface or firewall it.
    pub metrics: Option<SocketAddr>,
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
            announce_listen_addrs: false,
            announce_private: false,
            external_addrs: Vec::new(),
            channels: Vec::new(),
            offline: false,
            limits: NodeLimits::default(),
            retention: Retention::default(),
            cache_bytes: 32 * 1024 * 1024,
            idle_timeout: Duration::from_secs(300),
            relay_server: None,
            relay_client: true,
            autonat_server: false,
            dht: DhtLimits::default(),
            metrics: None,
        }
    }
}

/// The port an operator's node listens on by default, TCP and QUIC.
pub const BOOTSTRAP_PORT: u16 = 4001;

/// The key file's name in an operator's data directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// The store's directory in an operator's data directory.
pub const STORE_DIR: &str = "store";

impl NodeConfig {
    /// The configuration of an operator's node (what `hearth bootstrap`
    /// runs) on `data_dir`: the store in `<data_dir>/store`, the peer id
    /// from `<data_dir>/node.key`; TCP and QUIC on port 4001 on every IPv4
    /// and IPv6 interface; a Kademlia server with [`DhtLimits::server`]; a
    /// circuit relay server with [`RelayServerLimits::default`]; an AutoNAT
    /// server; no relay client, no mDNS; [`NodeLimits::server`]; no
    /// channel. Its global listen addresses are announced
    /// (`announce_listen_addrs`); behind a NAT or a port forward, give the
    /// public addresses in `external_addrs` and turn `announce_listen_addrs`
    /// off. The relay server serves reservations only while the node has
    /// an announced address.
    pub fn bootstrap(data_dir: impl AsRef<Path>) -> Self {
        let data_dir = data_dir.as_ref();
        Self {
            storage: Storage::Path(data_dir.join(STORE_DIR)),
            listen: bootstrap_listen(BOOTSTRAP_PORT, BOOTSTRAP_PORT),
            mdns: false,
            personas: PersonaMode::Ephemeral,
            identity: IdentityMode::File(data_dir.join(NODE_KEY_FILE)),
            dht_server: true,
            announce_listen_addrs: true,
            limits: NodeLimits::server(),
            relay_server: Some(RelayServerLimits::default()),
            relay_client: false,
            autonat_server: true,
            dht: DhtLimits::server(),
            ..Self::default()
        }
    }
}

/// TCP on `tcp_port` and QUIC on `quic_port`, on every IPv4 and IPv6
/// interface: what an operator's node listens on.
pub fn bootstrap_listen(tcp_port: u16, quic_port: u16) -> Vec<Multiaddr> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let every = [
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    ];
    listen_addrs(&every, tcp_port, quic_port)
}

/// TCP on `tcp_port` on each of `ips`, then QUIC on `quic_port` on each.
pub fn listen_addrs(ips: &[IpAddr], tcp_port: u16, quic_port: u16) -> Vec<Multiaddr> {
    use libp2p::multiaddr::Protocol;
    let ip = |ip: &IpAddr| Multiaddr::empty().with(Protocol::from(*ip));
    let tcp = ips.iter().map(|a| ip(a).with(Protocol::Tcp(tcp_port)));
    let quic = ips
        .iter()
        .map(|a| ip(a).with(Protocol::Udp(quic_port)).with(Protocol::QuicV1));
    tcp.chain(quic).collect()
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

/// Who may connect: bans that outlive a peer id, inbound slots that keep
/// room for honest peers, and backoff for redials (see `docs/operators.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// The first ban of an address range a banned peer connected from
    /// (1 minute). It refuses only new incoming connections of peers the
    /// node does not know; each further offence from the range doubles it.
    pub address_ban_first: Duration,
    /// The longest address ban (1 hour); a range is forgotten once it kept
    /// quiet this long after its last ban.
    pub address_ban_max: Duration,
    /// Banned peers from this many different addresses of one /24 (IPv4)
    /// or /56 (IPv6) ban the whole range (3).
    pub subnet_after: u32,
    /// When every inbound slot is taken, a newcomer takes the slot of the
    /// inbound peer with the worst standing (an unscored or negative
    /// gossip score, not known to be good, connected longest) instead of
    /// being refused. On for people's nodes; off for operators' nodes,
    /// whose peers have no gossip score to judge.
    pub evict_inbound: bool,
    /// An inbound connection younger than this is never pushed out (10 s):
    /// time for a newcomer to show it is useful.
    pub inbound_grace: Duration,
    /// The wait before redialling a peer that refused or dropped this node,
    /// after the first failure (1 s); doubled at each further one.
    pub redial_first: Duration,
    /// The longest wait before a redial (5 minutes).
    pub redial_max: Duration,
    /// The most address ranges, redialled peers and known peers remembered
    /// (each; 4096).
    pub max_tracked: u32,
    /// Ban loopback addresses too (off by default): every process of the
    /// machine comes from them (several nodes on one machine, tests), so a
    /// ban there would refuse the honest ones, and it stops nobody who can
    /// run a process on the machine anyway.
    pub ban_loopback: bool,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        Self {
            address_ban_first: Duration::from_secs(60),
            address_ban_max: Duration::from_secs(60 * 60),
            subnet_after: 3,
            evict_inbound: true,
            inbound_grace: Duration::from_secs(10),
            redial_first: Duration::from_secs(1),
            redial_max: Duration::from_secs(5 * 60),
            max_tracked: 4096,
            ban_loopback: false,
        }
    }
}

impl AdmissionLimits {
    /// The admission limits of an operator's node: no eviction (people
    /// have no gossip score on a bootstrap node, so eviction would only
    /// churn them; the per-IP ceiling and large caps do that job there).
    pub fn server() -> Self {
        Self {
            evict_inbound: false,
            ..Self::default()
        }
    }
}
