//! Starting a node: [`Node::builder`] → [`NodeBuilder::start`] → a
//! [`NodeHandle`].

use std::path::PathBuf;
use std::time::Duration;

use hearth_protocol::{ChannelName, NetworkId};
use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::{IdentityMode, NodeConfig, NodeLimits, PersonaMode, Retention, Storage};
use crate::error::NodeError;
use crate::handle::NodeHandle;
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

    /// Announces listen addresses as reachable (on by default).
    pub fn announce_listen_addrs(mut self, on: bool) -> Self {
        self.config.announce_listen_addrs = on;
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

    /// Sets how long posts are kept.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.config.retention = retention;
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
        let key = identity(&store, config.identity)?;
        let peer_id = key.public().to_peer_id();
        let mut swarm = swarm::build(key, &config)?;
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
        for address in &config.external_addrs {
            swarm.add_external_address(address.clone());
        }

        let (command_tx, command_rx) = mpsc::channel(COMMAND_BUFFER);
        let (event_tx, _) = broadcast::channel(EVENT_BUFFER);
        let (ready_tx, ready_rx) = oneshot::channel();
        let handle = NodeHandle {
            commands: command_tx,
            events: event_tx.downgrade(),
            peer_id,
            network: config.network.clone(),
        };
        let mut service = Service::new(swarm, store, config, event_tx, listeners, ready_tx)?;
        service.start_up()?;
        tokio::spawn(service.run(command_rx));
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

/// The libp2p key: random at each start, or kept in the store.
fn identity(store: &Store, mode: IdentityMode) -> Result<Keypair, NodeError> {
    if mode == IdentityMode::Ephemeral {
        return Ok(Keypair::generate_ed25519());
    }
    if let Some(bytes) = store.peer_key()? {
        return Keypair::from_protobuf_encoding(&bytes).map_err(NodeError::PeerKey);
    }
    let key = Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().map_err(NodeError::PeerKey)?;
    store.set_peer_key(&bytes)?;
    store.flush()?;
    Ok(key)
}
