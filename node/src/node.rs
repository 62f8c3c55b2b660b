//! Starting a node: [`Node::builder`] → [`NodeBuilder::start`] → a
//! [`NodeHandle`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hearth_protocol::{ChannelName, NetworkId};
use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::addresses::check_bootstrap;
use crate::config::{
    DhtLimits, IdentityMode, NodeConfig, NodeLimits, PersonaMode, RelayServerLimits, Retention,
    Storage,
};
use crate::error::NodeError;
use crate::handle::NodeHandle;
use crate::identity::{self as key_file, KeySource};
use crate::metrics::node::NodeMetrics;
use crate::metrics::status::StatusGauges;
use crate::metrics::{Metrics, http as metrics_http};
use crate::service::Service;
use crate::store::Store;
use crate::swarm;

/// How many commands may wait for the node task.
const COMMAND_BUFFER: usize = 256;
/// How many events a slow subscriber may fall behind before it lags.
const EVENT_BUFFER: usize = 4096;
/// How long `start` waits for the listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The entry point: `Node::builder()…start().await`.
#[derive(Debug)]
pub struct Node;

impl Node {
    /// A builder with defaults for a person's node: in-memory store, TCP and
    /// QUIC on all interfaces with OS-chosen ports, mDNS on, public network.
    pub fn builder() -> NodeBuilder {
        NodeBuilder {
            config: NodeConfig::default(),
            listen_given: false,
        }
    }
}

/// Configures and starts a node.
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    config: NodeConfig,
    listen_given: bool,
}

impl NodeBuilder {
    /// Starts from a complete configuration.
    pub fn from_config(config: NodeConfig) -> Self {
        Self {
            config,
            listen_given: true,
        }
    }

    /// Keeps data in a sled database in `dir` (created if missing).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.storage = Storage::Path(dir.into());
        self
    }

    /// Keeps data in a temporary store that leaves nothing on disk.
    pub fn in_memory(mut self) -> Self {
        self.config.storage = Storage::Memory;
        self
    }

    /// Listens on `address`. The first call replaces the default addresses.
    pub fn listen(mut self, address: Multiaddr) -> Self {
        if !self.listen_given {
            self.config.listen.clear();
            self.listen_given = true;
        }
        self.config.listen.push(address);
        self
    }

    /// Does not listen at all (an outbound-only node).
    pub fn no_listen(mut self) -> Self {
        self.config.listen.clear();
        self.listen_given = true;
        self
    }

    /// Dials this bootstrap node at start (and again whenever no bootstrap
    /// node is connected).
    pub fn bootstrap(mut self, address: Multiaddr) -> Self {
        self.config.bootstrap.push(address);
        self
    }

    /// Turns mDNS discovery on the LAN on or off.
    pub fn mdns(mut self, on: bool) -> Self {
        self.config.mdns = on;
        self
    }

    /// Joins another network than the public one.
    pub fn network(mut self, network: NetworkId) -> Self {
        self.config.network = network;
        self
    }

    /// Where personas live.
    pub fn persona_mode(mut self, mode: PersonaMode) -> Self {
        self.config.personas = mode;
        self
    }

    /// Whether the peer id survives restarts.
    pub fn identity(mut self, mode: IdentityMode) -> Self {
        self.config.identity = mode;
        self
    }

    /// Serves the DHT (for bootstrap nodes).
    pub fn dht_server(mut self, on: bool) -> Self {
        self.config.dht_server = on;
        self
    }

    /// Counts the listen addresses as confirmed and announces them (see
    /// [`NodeConfig::announce_listen_addrs`]; off by default).
    pub fn announce_listen_addrs(mut self, on: bool) -> Self {
        self.config.announce_listen_addrs = on;
        self
    }

    /// Announces confirmed addresses that are not globally routable
    /// (see [`NodeConfig::announce_private`]; off by default).
    pub fn announce_private(mut self, on: bool) -> Self {
        self.config.announce_private = on;
        self
    }

    /// Runs the relay client, AutoNAT probes and hole punching (see
    /// [`NodeConfig::relay_client`]; on by default).
    pub fn relay_client(mut self, on: bool) -> Self {
        self.config.relay_client = on;
        self
    }

    /// Relays for nodes behind NATs with these limits (`None`: no relay
    /// server, the default).
    pub fn relay_server(mut self, limits: Option<RelayServerLimits>) -> Self {
        self.config.relay_server = limits;
        self
    }

    /// Answers other nodes' AutoNAT probes (off by default).
    pub fn autonat_server(mut self, on: bool) -> Self {
        self.config.autonat_server = on;
        self
    }

    /// Sets the caps on what the DHT keeps for others.
    pub fn dht_limits(mut self, dht: DhtLimits) -> Self {
        self.config.dht = dht;
        self
    }

    /// Announces `address` as an address this node is reachable at.
    pub fn external_addr(mut self, address: Multiaddr) -> Self {
        self.config.external_addrs.push(address);
        self
    }

    /// Makes no connection of its own: no listening, no mDNS, no bootstrap
    /// and no redial of known peers. For tools that only read and change
    /// the store (history, blocklist, personas) while no node runs.
    pub fn offline(mut self) -> Self {
        self.config.offline = true;
        self.config.listen.clear();
        self.config.bootstrap.clear();
        self.config.mdns = false;
        self.listen_given = true;
        self
    }

    /// Joins `channel` at start.
    pub fn channel(mut self, channel: ChannelName) -> Self {
        self.config.channels.push(channel);
        self
    }

    /// Sets the flood and abuse limits.
    pub fn limits(mut self, limits: NodeLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sets the persona-stamp level (see [`NodeLimits::persona_stamp_bits`]):
    /// the protocol's level by default; lower only in a private or test
    /// network.
    pub fn persona_stamp_bits(mut self, bits: u8) -> Self {
        self.config.limits.persona_stamp_bits = bits;
        self
    }

    /// Sets how long posts are kept.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.config.retention = retention;
        self
    }

    /// Serves Prometheus metrics and a liveness check on `address` (see
    /// [`NodeConfig::metrics`]).
    pub fn metrics(mut self, address: SocketAddr) -> Self {
        self.config.metrics = Some(address);
        self
    }

    /// The configuration as built so far.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Opens the store, builds the swarm, starts listening and spawns the
    /// node task on the current tokio runtime. Returns once every listener
    /// has reported its addresses (or failed), so
    /// [`NodeHandle::listen_addrs`] is complete.
    pub async fn start(self) -> Result<NodeHandle, NodeError> {
        let config = self.config;
        for address in &config.bootstrap {
            check_bootstrap(address).map_err(|source| NodeError::BootstrapAddress {
                address: address.clone(),
                source,
            })?;
        }
        let metrics_address = config.metrics;
        // Opening may wait for sled's file lock: keep it off the runtime's
        // worker threads.
        let storage = config.storage.clone();
        let cache = config.cache_bytes;
        let store = tokio::task::spawn_blocking(move || match storage {
            Storage::Path(dir) => Store::open(&dir, cache),
            Storage::Memory => Store::temporary(cache),
        })
        .await
        .map_err(NodeError::StoreTask)??;
        check_network(&store, &config.network)?;
        store.set_channel_budget(&config.retention);
        let key = identity(&store, &config.identity)?;
        let peer_id = key.public().to_peer_id();
        // Bound before anything runs, so a taken port fails the start.
        let metrics_listener = match config.metrics {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .map_err(|source| NodeError::Metrics { address, source })?,
            ),
            None => None,
        };
        let mut metrics = metrics_listener.as_ref().map(|_| Metrics::new());
        let status_gauges = metrics.as_mut().map(StatusGauges::register);
        let node_metrics = metrics
            .as_mut()
            .map_or_else(NodeMetrics::unread, NodeMetrics::register);
        let mut swarm = swarm::build(key, &config, metrics.as_mut().map(Metrics::registry_mut))?;
        let mut listeners = Vec::new();
        for address in &config.listen {
            let id = swarm
                .listen_on(address.clone())
                .map_err(|source| NodeError::Listen {
                    address: address.clone(),
                    source,
                })?;
            listeners.push((id, address.clone()));
        }

        let (command_tx, command_rx) = mpsc::channel(COMMAND_BUFFER);
        let (event_tx, _) = broadcast::channel(EVENT_BUFFER);
        let (ready_tx, ready_rx) = oneshot::channel();
        let events = event_tx.downgrade();
        let network = config.network.clone();
        let mut service = Service::new(
            swarm,
            store,
            config,
            event_tx,
            listeners,
            ready_tx,
            node_metrics,
        )?;
        service.start_up()?;
        // The node task holds `alive`; the metrics endpoint stops when it is
        // dropped, whether the task ended or panicked.
        let (alive, alive_rx) = watch::channel(true);
        let metrics = match (metrics_listener, metrics) {
            (Some(listener), Some(metrics)) => {
                let refresh = status_gauges.map(|g| g.refresher(command_tx.downgrade()));
                let endpoint =
                    metrics_http::spawn(listener, metrics.into_registry(), refresh, alive_rx)
                        .map_err(|source| NodeError::Metrics {
                            address: metrics_address
                                .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
                            source,
                        })?;
                tracing::debug!(address = %endpoint.addr(), "metrics endpoint ready");
                Some(endpoint)
            }
            _ => None,
        };
        let handle = NodeHandle {
            commands: command_tx,
            events,
            peer_id,
            network,
            metrics,
        };
        tokio::spawn(async move {
            service.run(command_rx).await;
            drop(alive);
        });
        match tokio::time::timeout(LISTEN_TIMEOUT, ready_rx).await {
            Ok(Ok(Err(e))) => {
                handle.shutdown().await?;
                Err(e)
            }
            // Ready, or the task ended (later calls say Stopped), or slow
            // listeners: the handle is usable either way.
            Ok(Ok(Ok(()))) | Ok(Err(_)) | Err(_) => Ok(handle),
        }
    }
}

/// A store belongs to one network: its posts only verify there, so opening
/// it for another would silently hide everything.
fn check_network(store: &Store, network: &NetworkId) -> Result<(), NodeError> {
    match store.network()? {
        Some(recorded) if recorded == network.as_str() => Ok(()),
        Some(recorded) => Err(NodeError::WrongNetwork {
            recorded,
            configured: network.as_str().to_owned(),
        }),
        None => {
            store.set_network(network.as_str())?;
            store.flush()?;
            Ok(())
        }
    }
}

/// The libp2p key: random at each start, kept in the store, or kept in a
/// key file (taking the store's key over when the file is new).
fn identity(store: &Store, mode: &IdentityMode) -> Result<Keypair, NodeError> {
    let path = match mode {
        IdentityMode::Ephemeral => return Ok(Keypair::generate_ed25519()),
        IdentityMode::Persistent => return stored_identity(store),
        IdentityMode::File(path) => path,
    };
    let fail = NodeError::Identity;
    if let Some(key) = key_file::load(path).map_err(fail)? {
        return Ok(key);
    }
    let stored = store.peer_key()?;
    let (key, source) = key_file::load_or_create(path, stored.as_deref()).map_err(fail)?;
    match source {
        KeySource::Migrated => tracing::info!(
            path = %path.display(),
            "the store's peer key was written to the key file; the peer id is unchanged"
        ),
        KeySource::Created => {
            tracing::info!(path = %path.display(), "new node key file created");
        }
        KeySource::Loaded => {}
    }
    Ok(key)
}

fn stored_identity(store: &Store) -> Result<Keypair, NodeError> {
    if let Some(bytes) = store.peer_key()? {
        return Keypair::from_protobuf_encoding(&bytes).map_err(NodeError::PeerKey);
    }
    let key = Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().map_err(NodeError::PeerKey)?;
    store.set_peer_key(&bytes)?;
    store.flush()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::Node;

    async fn peer_id(dir: &std::path::Path, mode: IdentityMode) -> libp2p::PeerId {
        let node = Node::builder()
            .data_dir(dir.join("store"))
            .no_listen()
            .mdns(false)
            .identity(mode)
            .start()
            .await
            .unwrap();
        let id = node.peer_id();
        node.shutdown().await.unwrap();
        id
    }

    #[tokio::test]
    async fn a_key_file_takes_over_the_stores_key_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("node.key");
        let stored = peer_id(dir.path(), IdentityMode::Persistent).await;
        assert!(!key.exists());
        let from_file = peer_id(dir.path(), IdentityMode::File(key.clone())).await;
        assert_eq!(from_file, stored, "the operator's peer id changed");
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            peer_id(dir.path(), IdentityMode::File(key.clone())).await,
            stored
        );

        // A fresh data directory gets a new key, kept across restarts.
        let other = tempfile::tempdir().unwrap();
        let key = other.path().join("node.key");
        let first = peer_id(other.path(), IdentityMode::File(key.clone())).await;
        assert_ne!(first, stored);
        assert_eq!(peer_id(other.path(), IdentityMode::File(key)).await, first);
    }

    #[tokio::test]
    async fn an_exposed_key_file_stops_the_start_and_names_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("node.key");
        peer_id(dir.path(), IdentityMode::File(key.clone())).await;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = Node::builder()
            .data_dir(dir.path().join("store"))
            .no_listen()
            .mdns(false)
            .identity(IdentityMode::File(key.clone()))
            .start()
            .await
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&key.display().to_string()), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
    }

    #[test]
    fn the_bootstrap_preset_is_an_operators_node() {
        let config = NodeConfig::bootstrap("/var/lib/hearth");
        assert_eq!(
            config.identity,
            IdentityMode::File("/var/lib/hearth/node.key".into())
        );
        assert_eq!(
            config.storage,
            Storage::Path("/var/lib/hearth/store".into())
        );
        assert!(config.dht_server && config.autonat_server && !config.mdns);
        assert!(config.relay_server.is_some() && !config.relay_client);
        assert!(config.channels.is_empty());
        let listen: Vec<String> = config.listen.iter().map(ToString::to_string).collect();
        assert_eq!(
            listen,
            [
                "/ip4/0.0.0.0/tcp/4001",
                "/ip6/::/tcp/4001",
                "/ip4/0.0.0.0/udp/4001/quic-v1",
                "/ip6/::/udp/4001/quic-v1"
            ]
        );
        let person = NodeConfig::default();
        assert!(person.relay_client && person.relay_server.is_none() && !person.autonat_server);
        assert!(config.limits.max_connections > person.limits.max_connections);
        assert!(
            config.limits.max_inbound_connections.unwrap() < config.limits.max_connections,
            "inbound peers could take every slot"
        );
    }
}
