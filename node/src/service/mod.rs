//! The node task: one `select!` loop that owns the swarm, the store, the
//! personas and the policy. Commands come in from handles, swarm events
//! from the network, and timers drive discovery, bans, flushing and
//! retention. Nothing else touches this state.
//!
//! The loop is a shell. What to do is decided by small types that take
//! time and inputs as parameters and never see a swarm or a store, each
//! unit-tested on its own; the shell reads the inputs, asks, and carries
//! out the answer:
//!
//! | file | decision type | the shell's part |
//! |---|---|---|
//! | `mod.rs` | | the loop, start-up, shutdown, connections and listeners |
//! | `commands.rs` | | one handler per [`Command`]: join, leave, history, personas, blocklist, status |
//! | `outbox.rs` | [`outbox::Outbox`]: which own posts wait for peers, when they go, when they age out | publishing: sign, store, gossip |
//! | `inbox.rs` | [`inbox::Inbox`]: accept, ignore or reject a received message, and what to store and tell | storing, events, the validation report |
//! | `lists.rs` | | moderator lists: the held list, publishing |
//! | `discovery.rs` | [`discovery::LookupSchedule`]: when to look a channel up and re-announce it | the DHT, bootstrap nodes, mDNS, identify, dials |
//! | `reach.rs` | [`reach::Reach`]: reachable or not, when to reserve relay slots; which relayed connections to close | announced addresses, AutoNAT, relay client and server, DCUtR |
//! | `maintenance.rs` | [`maintenance::Bans`], [`maintenance::Every`]: bans and periodic chores | the 1 s tick |
//! | `reports.rs` | | reports to moderators: sealing keys, gossip, opening and keeping received ones |
//! | `sync.rs` | [`crate::sync`]: reconciliation, sessions, the sync schedule, serving budgets | history sync: asking peers, answering them |
//! | `durable.rs` | [`durable::Background`]: one flush and one policy compilation at a time, and the replies waiting for them | starting them off the task, answering the replies |
//! | `refusals.rs` | [`refusals::Refusals`]: which refusals to report now, which to count into one later event | `Event::Refused` |

mod cards;
mod commands;
mod crisis;
mod discovery;
mod durable;
mod inbox;
mod lists;
mod maintenance;
mod outbox;
mod reach;
mod refusals;
mod reports;
mod stamping;
mod sync;

pub(crate) use commands::check_entries;
pub(crate) use reports::ReportKeys;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use hearth_protocol::{ChannelName, NetworkId, PublicKey, SignedMessage, Topic};
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, IdentTopic, TopicHash};
use libp2p::kad::RecordKey;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::MissedTickBehavior;
use tracing::Instrument;

use crate::addresses::without_p2p;
use crate::clock::{Now, Uptime, now_ms};
use crate::config::NodeConfig;
use crate::error::NodeError;
use crate::event::{Event, Published};
use crate::handle::Command;
use crate::metrics::node::NodeMetrics;
use crate::moderation::Moderation;
use crate::personas::Personas;
use crate::store::Store;
use crate::swarm::gossip_gate::{GateEvent, Offence};
use crate::swarm::{Behaviour, BehaviourEvent};

use discovery::LookupSchedule;
use inbox::Inbox;
use maintenance::{Bans, Chores, Sweep};
use outbox::Outbox;
use reach::Reach;
use refusals::Refusals;

/// Known peers dialled at start.
const KNOWN_PEERS_AT_START: usize = 8;

type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// A post whose proof of work was stamped off the node task.
struct Signed {
    channel: ChannelName,
    result: Result<SignedMessage, NodeError>,
    reply: Reply<Published>,
}

/// An open connection.
#[derive(Debug, Clone)]
pub(super) struct Link {
    peer: PeerId,
    /// As [`shown_address`] gives it.
    address: Multiaddr,
    /// This node dialled it.
    dialer: bool,
    /// It runs through a relay.
    relayed: bool,
}

/// The address a connection is shown and remembered with: the remote
/// address (as dialled, for a dialled one), except for a connection that
/// came in through a relay, whose remote address is a bare
/// `/p2p/<peer id>`: for it, the relay circuit address it came in on.
pub(super) fn shown_address(endpoint: &libp2p::core::ConnectedPoint) -> Multiaddr {
    match endpoint {
        libp2p::core::ConnectedPoint::Listener { local_addr, .. } if endpoint.is_relayed() => {
            local_addr.clone()
        }
        _ => endpoint.get_remote_address().clone(),
    }
}

/// A joined channel.
struct Channel {
    topic: IdentTopic,
    key: RecordKey,
    lookups: LookupSchedule,
}

pub(crate) struct Service {
    swarm: Swarm<Behaviour>,
    store: Store,
    config: NodeConfig,
    network: NetworkId,
    peer_id: PeerId,
    events: broadcast::Sender<Event>,
    uptime: Uptime,
    personas: Personas,
    moderation: Moderation,
    inbox: Inbox,
    outbox: Outbox,
    /// Refusals gathered into one event per kind and window.
    refusals: Refusals,
    channels: HashMap<ChannelName, Channel>,
    moderators: HashSet<PublicKey>,
    listen_addrs: Vec<Multiaddr>,
    connections: HashMap<PeerId, Vec<Multiaddr>>,
    bans: Bans,
    bootstrap_peers: HashSet<PeerId>,
    chores: Chores,
    pending_listeners: HashMap<ListenerId, Multiaddr>,
    ready: Option<oneshot::Sender<Result<(), NodeError>>>,
    signing: FuturesUnordered<BoxFuture<'static, Signed>>,
    /// History reads running off the task; each answers its caller itself.
    reads: FuturesUnordered<tokio::task::JoinHandle<()>>,
    /// Searches for own personas' stamps.
    stamping: stamping::Stamping,
    /// When received data is flushed, if it waits for a flush.
    flush_due: Option<tokio::time::Instant>,
    /// Store flushes off the task, and what waits for them.
    flushes: durable::Background<()>,
    /// Policy compilations off the task, and what waits for them.
    compiles: durable::Background<crate::moderation::Compiled>,
    /// The retention sweep, while one runs.
    sweep: Option<Sweep>,
    /// Wall-clock ms at start: own posts stored before it waited across a
    /// stop.
    started_ms: u64,
    /// Set once shutdown began: own posts are kept pending, not gossiped.
    stopping: bool,
    /// When the last own post was dated (ms since the Unix epoch).
    last_own_ms: u64,
    sync: sync::SyncState,
    /// Bootstrap nodes are dialled once every listener is up.
    bootstrap_pending: bool,
    // Reachability (reach.rs).
    reach: Reach,
    /// Relay circuit listeners (reservations), by relay.
    circuits: HashMap<ListenerId, PeerId>,
    links: HashMap<ConnectionId, Link>,
    /// Relayed connections to close, and when.
    retiring: HashMap<ConnectionId, std::time::Instant>,
    /// Addresses AutoNAT confirmed and the node announced.
    autonat_confirmed: HashSet<Multiaddr>,
    /// The keys of provider records kept for others (DHT servers).
    provider_keys: HashSet<RecordKey>,
    metrics: NodeMetrics,
    /// Limits on received reports (reports.rs).
    reports: reports::Reports,
    /// Channel cards and moderator presence (cards.rs).
    cards: cards::CardState,
}

impl Service {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        store: Store,
        config: NodeConfig,
        events: broadcast::Sender<Event>,
        listeners: Vec<(ListenerId, Multiaddr)>,
        ready: oneshot::Sender<Result<(), NodeError>>,
        metrics: NodeMetrics,
    ) -> Result<Self, NodeError> {
        let mut moderation = Moderation::new();
        moderation.rebuild(&store, &config.network)?;
        let now = std::time::Instant::now();
        Ok(Self {
            peer_id: *swarm.local_peer_id(),
            swarm,
            store,
            network: config.network.clone(),
            uptime: Uptime::start(),
            personas: Personas::new(config.personas),
            moderation,
            inbox: Inbox::new(config.network.clone(), config.limits.clone())
                .with_retention(config.retention.clone())
                .with_sync_window(duration_ms(config.retention.max_age)),
            outbox: Outbox::new(&config.limits),
            refusals: Refusals::default(),
            events,
            channels: HashMap::new(),
            moderators: HashSet::new(),
            listen_addrs: Vec::new(),
            connections: HashMap::new(),
            bans: Bans::new(config.limits.ban_duration),
            bootstrap_peers: HashSet::new(),
            chores: Chores::new(now, config.retention.sweep_interval),
            pending_listeners: listeners.into_iter().collect(),
            ready: Some(ready),
            signing: FuturesUnordered::new(),
            reads: FuturesUnordered::new(),
            stamping: stamping::Stamping::new(),
            flush_due: None,
            flushes: durable::Background::default(),
            compiles: durable::Background::default(),
            sweep: None,
            started_ms: now_ms(),
            stopping: false,
            last_own_ms: 0,
            sync: sync::SyncState::new(&config, now),
            bootstrap_pending: false,
            reach: Reach::new(config.relay_client),
            circuits: HashMap::new(),
            links: HashMap::new(),
            retiring: HashMap::new(),
            autonat_confirmed: HashSet::new(),
            provider_keys: HashSet::new(),
            metrics,
            reports: reports::Reports::new(),
            cards: cards::CardState::default(),
            config,
        })
    }

    /// Dials bootstrap and known peers, subscribes to followed moderators
    /// and joins the configured channels.
    pub(crate) fn start_up(&mut self) -> Result<(), NodeError> {
        self.restore_address_bans();
        if self.config.offline {
            self.signal_ready(Ok(()));
            return Ok(());
        }
        for address in self.config.external_addrs.clone() {
            self.operator_address(address, true);
        }
        // Once listening: a dial before the listen addresses are known
        // would leave identify nothing to translate observed addresses
        // against, and the NAT check nothing to compare with.
        if self.pending_listeners.is_empty() {
            self.dial_bootstrap();
        } else {
            self.bootstrap_pending = true;
        }
        for (_, record) in self.store.known_peers(KNOWN_PEERS_AT_START)? {
            for address in record
                .addresses
                .iter()
                .filter_map(|a| a.parse::<Multiaddr>().ok())
            {
                // Peer ids change across restarts unless persisted, so dial
                // the address alone and let the handshake say who is there.
                let address = without_p2p(address);
                if let Err(e) = self.swarm.dial(dial_address(address.clone())) {
                    tracing::debug!(%address, error = %e, "known peer not dialled");
                }
            }
        }
        for (moderator, _) in self.store.follows()? {
            self.subscribe_moderator(moderator);
        }
        self.subscribe_crisis_publishers()?;
        for channel in self.config.channels.clone() {
            self.join(&channel)?;
        }
        if self.pending_listeners.is_empty() {
            self.signal_ready(Ok(()));
        }
        Ok(())
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut sync_tick = tokio::time::interval(Duration::from_secs(1));
        sync_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut stopped = None;
        loop {
            // Evaluated even when the branch is disabled, so never unwrap.
            let flush_at = self
                .flush_due
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown(reply)) => {
                        let result = self.shut_down().await;
                        stopped = Some((reply, result));
                        break;
                    }
                    Some(command) => {
                        let span = tracing::debug_span!("node_command", name = command.name());
                        self.on_command(command).instrument(span).await;
                        self.wake_joined_peers();
                    }
                    None => {
                        if let Err(e) = self.shut_down().await {
                            tracing::warn!(error = %e, "shutdown after last handle dropped");
                        }
                        break;
                    }
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(signed) = self.signing.next(), if !self.signing.is_empty() => {
                    self.on_signed(signed);
                    self.wake_joined_peers();
                }
                Some(_) = self.reads.next(), if !self.reads.is_empty() => {}
                stamped = self.stamping.next_done(), if self.stamping.is_running() => {
                    self.on_stamped(stamped);
                }
                _ = tick.tick() => self.maintenance(std::time::Instant::now()),
                swept = Sweep::done(&mut self.sweep), if self.sweep.is_some() => {
                    self.on_swept(swept);
                }
                _ = sync_tick.tick() => self.sync_tick(std::time::Instant::now()),
                _ = tokio::time::sleep_until(flush_at), if self.flush_due.is_some() => {
                    self.flush_timer();
                }
                (result, waiters) = self.flushes.done(), if self.flushes.is_running() => {
                    self.on_flushed(result, waiters);
                }
                (result, waiters) = self.compiles.done(), if self.compiles.is_running() => {
                    self.on_compiled(result, waiters);
                    self.wake_joined_peers();
                }
            }
        }
        // Close the store (releasing its lock; a temporary one is deleted)
        // and the swarm's sockets before `shutdown` returns, so the caller
        // can reopen the directory or exit at once.
        drop(self);
        if let Some((reply, result)) = stopped {
            let _ = reply.send(result);
        }
    }

    /// Stops the node's work: every post handed to the node is stored
    /// (those whose proof of work is still being stamped are waited for,
    /// and kept pending rather than gossiped, since the swarm will not be
    /// polled again to send them), the sweep is stopped, the store
    /// flushed, and [`Event::ShutDown`] says how many own posts wait.
    async fn shut_down(&mut self) -> Result<(), NodeError> {
        self.stopping = true;
        let signing = self.signing.len();
        if signing > 0 {
            tracing::info!(posts = signing, "waiting for posts being signed");
        }
        while let Some(signed) = self.signing.next().await {
            self.on_signed(signed);
        }
        // Searches no post waits for any more are not worth waiting for;
        // the stamps found meanwhile are kept.
        self.stamping.cancel_all();
        while self.stamping.is_running() {
            let stamped = self.stamping.next_done().await;
            self.on_stamped(stamped);
        }
        self.end_sweep().await;
        // Reads hold clones of the store, which must be closed when
        // `shutdown` returns.
        while self.reads.next().await.is_some() {}
        self.finish_background().await?;
        let pending_posts = self.store.pending_count();
        tracing::info!(pending_posts, "node stopped; store flushed");
        self.emit(Event::ShutDown { pending_posts });
        Ok(())
    }

    /// Both clock readings, now.
    fn now(&self) -> Now {
        Now {
            wall_ms: now_ms(),
            mono_ms: self.uptime.now_ms(),
        }
    }

    fn emit(&self, event: Event) {
        // No subscribers is fine.
        let _ = self.events.send(event);
    }

    /// Wakes the connections of peers that had two connections at once,
    /// after something may have been queued for them (`swarm::wake`).
    fn wake_joined_peers(&mut self) {
        self.swarm
            .behaviour_mut()
            .wake
            .wake(self.connections.keys().copied());
    }

    fn signal_ready(&mut self, result: Result<(), NodeError>) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(result);
        }
    }

    /// The joined channel a topic belongs to, if any.
    fn channel_of(&self, hash: &TopicHash) -> Option<ChannelName> {
        match Topic::parse(hash.as_str()) {
            Ok(Topic::Channel { network, channel })
                if network == self.network && self.channels.contains_key(&channel) =>
            {
                Some(channel)
            }
            _ => None,
        }
    }

    // ----- swarm events ---------------------------------------------------

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        self.metrics.swarm(&event);
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                if self.config.announce_listen_addrs {
                    self.operator_address(address.clone(), false);
                }
                let full = with_p2p(address, self.peer_id);
                if !self.listen_addrs.contains(&full) {
                    self.listen_addrs.push(full.clone());
                    self.emit(Event::Listening { address: full });
                }
                self.listener_done(listener_id, None);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = with_p2p(address.clone(), self.peer_id);
                self.listen_addrs.retain(|a| a != &full);
                if self.config.announce_listen_addrs {
                    self.withdraw_address(&address);
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                addresses,
                reason,
            } => {
                for address in addresses {
                    let full = with_p2p(address, self.peer_id);
                    self.listen_addrs.retain(|a| a != &full);
                }
                if !self.circuit_closed(listener_id) {
                    self.listener_done(listener_id, reason.err());
                }
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                // The relay client's circuit addresses; AutoNAT's are
                // judged in reach.rs and added without this event.
                self.addresses_changed(Some(address), None);
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                self.addresses_changed(None, Some(address));
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                self.listener_done(listener_id, Some(error));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.reach_connected(peer_id, connection_id, &endpoint);
                let address = shown_address(&endpoint);
                let addresses = self.connections.entry(peer_id).or_default();
                if !addresses.contains(&address) {
                    addresses.push(address.clone());
                }
                if num_established.get() == 1 {
                    self.emit(Event::PeerConnected {
                        peer: peer_id,
                        address: address.clone(),
                    });
                }
                if endpoint.is_dialer() && self.is_bootstrap_address(&address) {
                    self.on_bootstrap_connected(peer_id, address);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.reach_closed(peer_id, connection_id, num_established);
                if let Some(addresses) = self.connections.get_mut(&peer_id) {
                    let address = shown_address(&endpoint);
                    addresses.retain(|a| a != &address);
                }
                if num_established == 0 {
                    self.connections.remove(&peer_id);
                    self.emit(Event::PeerDisconnected { peer: peer_id });
                    self.update_channel_peers();
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(?peer_id, %error, "dial failed");
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    /// A listener reported an address, or failed before it did. The node
    /// is ready once every listener has done one or the other.
    fn listener_done(&mut self, listener: ListenerId, error: Option<std::io::Error>) {
        let Some(address) = self.pending_listeners.remove(&listener) else {
            return;
        };
        if let Some(source) = error {
            self.signal_ready(Err(NodeError::Listener { address, source }));
        } else if self.pending_listeners.is_empty() {
            self.signal_ready(Ok(()));
        }
        if self.pending_listeners.is_empty() && std::mem::take(&mut self.bootstrap_pending) {
            self.dial_bootstrap();
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(GateEvent::Gossip(event)) => {
                self.metrics.gossipsub(&event);
                self.on_gossip(event);
                self.wake_joined_peers();
            }
            BehaviourEvent::Gossipsub(GateEvent::Offence { peer, offence }) => {
                self.on_gossip_offence(peer, offence);
            }
            BehaviourEvent::Identify(event) => {
                self.metrics.identify(&event);
                if let libp2p::identify::Event::Received { peer_id, info, .. } = event {
                    self.on_identified(peer_id, info);
                }
            }
            BehaviourEvent::Kad(event) => {
                self.metrics.kad(&event);
                self.on_kad(event);
            }
            BehaviourEvent::Ping(event) => self.metrics.ping(&event),
            BehaviourEvent::Sync(event) => self.on_sync(event),
            BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(found)) => {
                self.on_mdns_discovered(found)
            }
            BehaviourEvent::Autonat(event) => self.on_autonat(event),
            BehaviourEvent::RelayClient(event) => self.on_relay_client(&event),
            BehaviourEvent::RelayServer(event) => self.on_relay_server(&event),
            BehaviourEvent::Admission(crate::swarm::admission::Event::Evicted { peer, score }) => {
                self.metrics.eviction();
                self.emit(Event::PeerEvicted { peer, score });
            }
            BehaviourEvent::Dcutr(event) => {
                self.metrics.dcutr(&event);
                self.on_dcutr(event);
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => self.on_message(propagation_source, &message_id, &message),
            gossipsub::Event::Subscribed { peer_id, topic } => {
                self.update_channel_peers();
                if let Some(channel) = self.channel_of(&topic) {
                    self.send_pending(&channel);
                    self.announce_card_to_newcomer(&channel);
                }
                self.sync_subscribed(peer_id, &topic);
            }
            gossipsub::Event::Unsubscribed { .. } => self.update_channel_peers(),
            _ => {}
        }
    }

    /// The gossip gate caught `peer` over an allowance (foreign-topic
    /// messages or subscription churn) and dropped the excess. The offence
    /// weighs like [`GATE_OFFENCES`] invalid messages in its gossip score,
    /// which puts it under the graylist at once, so gossipsub ignores it
    /// and the next tick bans it (`maintenance::ban_low_scores`); the gate
    /// reports a peer at most once a second.
    fn on_gossip_offence(&mut self, peer: PeerId, offence: Offence) {
        tracing::info!(%peer, offence = offence.as_str(), "gossip offence");
        self.penalise(peer, GATE_OFFENCES);
    }
}

/// Invalid-message equivalents one gossip-gate offence costs: 5² × -10 =
/// -250, under the graylist (-80) even for a peer at the top of the
/// positive score hearth's topic parameters allow (about +26).
const GATE_OFFENCES: usize = 5;

fn moderator_topic(network: &NetworkId, moderator: PublicKey) -> IdentTopic {
    IdentTopic::new(
        Topic::Moderator {
            network: network.clone(),
            moderator,
        }
        .to_string(),
    )
}

fn subscribed_peers(gossipsub: &crate::swarm::Gossipsub, topic: &TopicHash) -> usize {
    gossipsub
        .all_peers()
        .filter(|(_, topics)| topics.contains(&topic))
        .count()
}

/// A duration in ms, saturating.
fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn with_p2p(address: Multiaddr, peer: PeerId) -> Multiaddr {
    address.clone().with_p2p(peer).unwrap_or(address)
}

/// Dial options for an address, from a fresh local port: dialling from the
/// listen port lets two nodes that dial each other at once open one TCP
/// connection from both ends, whose handshake then fails on both sides
/// (libp2p/specs#389). Hole punching (DCUtR) makes its own dials from the
/// listen port; identify translates the fresh ports peers observe to the
/// listen port, which a port-preserving NAT maps alike.
fn dial_address(address: Multiaddr) -> DialOpts {
    DialOpts::unknown_peer_id()
        .address(address)
        .allocate_new_port()
        .build()
}
