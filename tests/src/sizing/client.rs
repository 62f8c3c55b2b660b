//! The load: lightweight client swarms, each its own identity, speaking
//! what a hearth node speaks to a bootstrap node (TCP, noise, yamux,
//! identify, ping, Kademlia as a client in the network's DHT) plus the
//! relay client and a small echo protocol for circuits.
//!
//! The coordinator moves every client through the same [`Stage`]s with a
//! `watch` channel; each client answers with [`Report`]s. Clients are
//! futures polled by a few tasks ([`run_group`]), so only the clients an
//! event concerns are polled. Every action is bounded: three dial
//! attempts, one announcement and one lookup per key, echoes at a fixed
//! pace until the stage's end; the coordinator puts deadlines on each
//! stage.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use libp2p::core::transport::ListenerId;
use libp2p::identity::Keypair;
use libp2p::kad::{self, GetProvidersOk, QueryId, QueryResult, RecordKey, store::MemoryStore};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, SwarmBuilder, identify, noise, ping, relay, tcp,
    yamux,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::echo;

/// Dial attempts per client before it reports failure.
const DIAL_ATTEMPTS: u32 = 3;
/// The pause before another dial attempt.
const REDIAL_AFTER: Duration = Duration::from_millis(500);
/// The gap between echoes on a circuit.
const ECHO_EVERY: Duration = Duration::from_secs(2);
/// A Kademlia query gives up after this long.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Client connections stay open this long without traffic: longer than
/// any run, so only the bootstrap node's own idle timeout could close them.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The bootstrap node every client talks to.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its peer id.
    pub peer: PeerId,
    /// Its TCP address, ending in `/p2p/<peer>`.
    pub address: Multiaddr,
    /// The hearth network it runs in.
    pub network: String,
}

/// What one client does.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Its identity.
    pub key: Keypair,
    /// Its place among the clients, 0 to 1: spreads each stage's work
    /// over the stage instead of starting it all at once.
    pub slot: f64,
    /// The keys it announces itself as a provider of.
    pub announce: Vec<usize>,
    /// The keys it looks up, with the provider expected for each.
    pub lookups: Vec<(usize, PeerId)>,
    /// Its part in a circuit, if any.
    pub circuit: Option<Role>,
}

/// A client's part in a circuit through the bootstrap node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Reserves a slot on the relay and answers echoes.
    Listen,
    /// Dials this listener through the relay and sends echoes.
    Dial(PeerId),
}

/// What the coordinator asks of every client now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stage {
    /// Built, not connected.
    Idle,
    /// Connect to the bootstrap node (at most `DIAL_ATTEMPTS` tries, none
    /// after `deadline`).
    Connect {
        /// No dial starts after this.
        deadline: Instant,
    },
    /// Announce, then look up, spread over the stage.
    Dht {
        /// When the stage began.
        start: Instant,
        /// How long it lasts.
        length: Duration,
    },
    /// Listeners reserve a slot on the relay.
    Reserve,
    /// Dialers open their circuit.
    Dial,
    /// Dialers send echoes through their circuit until the end.
    Exchange {
        /// When the stage began.
        start: Instant,
        /// How long it lasts.
        length: Duration,
    },
    /// Close everything and end.
    Done,
}

/// What a client tells the coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// Connected and identified the bootstrap node; `hop` when it offers
    /// the relay (hop) protocol.
    Connected {
        /// The relay server protocol is among the node's protocols.
        hop: bool,
    },
    /// Could not connect.
    ConnectFailed(String),
    /// The connection to the bootstrap node closed after it was set up.
    Lost {
        /// Why, as the swarm says.
        cause: String,
    },
    /// A connection attempt failed (the dial, or the connection closed
    /// before identify finished) and the client tries again.
    Retried {
        /// Why the attempt failed, as the swarm says.
        cause: String,
    },
    /// A ping to the bootstrap node was answered (or not).
    Ping {
        /// Answered.
        ok: bool,
    },
    /// An announcement (`start_providing`) finished.
    Announced {
        /// It reached the bootstrap node.
        ok: bool,
    },
    /// A lookup (`get_providers`) finished.
    LookedUp {
        /// The expected provider was among the answers.
        found: bool,
    },
    /// A reservation was accepted, or why not.
    Reserved(Result<(), String>),
    /// A circuit carried its first echo, or why not.
    Circuit(Result<(), String>),
    /// An echo through a circuit came back (or not).
    Echoed {
        /// The same bytes came back.
        ok: bool,
        /// Bytes carried, both ways.
        bytes: usize,
    },
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    relay: relay::client::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
    echo: echo::Behaviour,
}

/// Builds and runs the clients of `plans` on this task until the stage is
/// [`Stage::Done`] (or the stage channel closes).
pub(crate) async fn run_group(
    plans: Vec<Plan>,
    target: Arc<Target>,
    stage: watch::Receiver<Stage>,
    reports: mpsc::UnboundedSender<Report>,
    dials: Arc<Semaphore>,
) {
    let clients = FuturesUnordered::new();
    for plan in plans {
        match Client::new(plan, Arc::clone(&target)) {
            Ok(client) => {
                clients.push(client.run(stage.clone(), reports.clone(), Arc::clone(&dials)))
            }
            Err(e) => {
                let _ = reports.send(Report::ConnectFailed(e));
            }
        }
    }
    clients.collect::<()>().await;
}

/// The key of provider record `index` in `network`.
pub(crate) fn record_key(network: &str, index: usize) -> RecordKey {
    RecordKey::new(&format!("/hearth-sizing/{network}/{index}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Dial,
    Announce,
    Lookup,
    Echo,
}

struct Client {
    swarm: Swarm<Behaviour>,
    target: Arc<Target>,
    slot: f64,
    announce: Vec<usize>,
    lookups: Vec<(usize, PeerId)>,
    circuit: Option<Role>,
    /// Due actions, in time order.
    actions: VecDeque<(Instant, Action)>,
    dial_permit: Option<OwnedSemaphorePermit>,
    dial_attempts: u32,
    connect_deadline: Option<Instant>,
    connected: bool,
    identified: bool,
    announcing: HashSet<QueryId>,
    looking_up: HashMap<QueryId, (PeerId, bool)>,
    circuit_listener: Option<ListenerId>,
    reservation_reported: bool,
    circuit_reported: bool,
    circuit_up: bool,
    echoes: HashMap<OutboundRequestId, Vec<u8>>,
    echo_seed: u64,
}

impl Client {
    fn new(plan: Plan, target: Arc<Target>) -> Result<Self, String> {
        let kad_protocol =
            StreamProtocol::try_from_owned(format!("/hearth/{}/kad/1", target.network))
                .map_err(|e| e.to_string())?;
        let identify_protocol = format!("/hearth/{}/1", target.network);
        let mut swarm = SwarmBuilder::with_existing_identity(plan.key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| e.to_string())?
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .map_err(|e| e.to_string())?
            .with_behaviour(|key, relay| {
                let peer = key.public().to_peer_id();
                let mut config = kad::Config::new(kad_protocol);
                config.set_query_timeout(QUERY_TIMEOUT);
                config.set_periodic_bootstrap_interval(None);
                let mut kad = kad::Behaviour::with_config(peer, MemoryStore::new(peer), config);
                kad.set_mode(Some(kad::Mode::Client));
                Behaviour {
                    relay,
                    identify: identify::Behaviour::new(
                        identify::Config::new(identify_protocol, key.public())
                            .with_agent_version("hearth-sizing".to_owned()),
                    ),
                    ping: ping::Behaviour::default(),
                    kad,
                    echo: echo::behaviour(),
                }
            })
            .map_err(|e| e.to_string())?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
            .build();
        // Provider records carry the provider's external addresses, and a
        // record without any is not handed out by the DHT server. Clients
        // do not listen (that would cost descriptors), so each gets a
        // stand-in address on loopback, as a hearth node announces its
        // listen address. The bootstrap node never dials it; a lookup's
        // query goes on to the providers it learns and is refused there at
        // once, inside this process.
        swarm.add_external_address(
            Multiaddr::empty()
                .with(Protocol::Ip4(std::net::Ipv4Addr::LOCALHOST))
                .with(Protocol::Tcp(9)),
        );
        Ok(Self {
            swarm,
            target,
            slot: plan.slot,
            announce: plan.announce,
            lookups: plan.lookups,
            circuit: plan.circuit,
            actions: VecDeque::new(),
            dial_permit: None,
            dial_attempts: 0,
            connect_deadline: None,
            connected: false,
            identified: false,
            announcing: HashSet::new(),
            looking_up: HashMap::new(),
            circuit_listener: None,
            reservation_reported: false,
            circuit_reported: false,
            circuit_up: false,
            echoes: HashMap::new(),
            echo_seed: 0,
        })
    }

    async fn run(
        mut self,
        mut stage: watch::Receiver<Stage>,
        reports: mpsc::UnboundedSender<Report>,
        dials: Arc<Semaphore>,
    ) {
        let first = *stage.borrow_and_update();
        self.enter(first, &reports);
        loop {
            let next = self.actions.front().map(|(at, _)| *at);
            tokio::select! {
                changed = stage.changed() => {
                    let now = match changed {
                        Ok(()) => *stage.borrow_and_update(),
                        Err(_) => Stage::Done,
                    };
                    if now == Stage::Done {
                        return;
                    }
                    self.enter(now, &reports);
                }
                event = self.swarm.select_next_some() => self.on_event(event, &reports),
                () = sleep_until(next) => {
                    if let Some((_, action)) = self.actions.pop_front() {
                        self.act(action, &reports, &dials).await;
                    }
                }
            }
        }
    }

    fn schedule(&mut self, at: Instant, action: Action) {
        let index = self.actions.partition_point(|(t, _)| *t <= at);
        self.actions.insert(index, (at, action));
    }

    fn enter(&mut self, stage: Stage, reports: &mpsc::UnboundedSender<Report>) {
        match stage {
            Stage::Idle | Stage::Done => {}
            Stage::Connect { deadline } => {
                self.connect_deadline = Some(deadline);
                self.schedule(Instant::now(), Action::Dial);
            }
            Stage::Dht { start, length } => {
                // Announcements in the first 40 % of the stage, lookups in
                // 50–90 %, each client at its own moment.
                if !self.announce.is_empty() {
                    self.schedule(start + length.mul_f64(0.4 * self.slot), Action::Announce);
                }
                if !self.lookups.is_empty() {
                    self.schedule(
                        start + length.mul_f64(0.5 + 0.4 * self.slot),
                        Action::Lookup,
                    );
                }
            }
            Stage::Reserve => {
                if self.circuit == Some(Role::Listen) {
                    let address = self.target.address.clone().with(Protocol::P2pCircuit);
                    match self.swarm.listen_on(address) {
                        Ok(id) => self.circuit_listener = Some(id),
                        Err(e) => self.reservation_failed(e.to_string(), reports),
                    }
                }
            }
            Stage::Dial => {
                if let Some(Role::Dial(listener)) = self.circuit {
                    let address = self
                        .target
                        .address
                        .clone()
                        .with(Protocol::P2pCircuit)
                        .with(Protocol::P2p(listener));
                    if let Err(e) = self.swarm.dial(address) {
                        self.circuit_done(Err(e.to_string()), reports);
                    }
                }
            }
            Stage::Exchange { start, length } => {
                if matches!(self.circuit, Some(Role::Dial(_))) && self.circuit_up {
                    let mut at = start;
                    let end = start + length;
                    // Bounded: one echo per ECHO_EVERY within the stage.
                    while at < end && self.actions.len() < 1024 {
                        self.schedule(at, Action::Echo);
                        at += ECHO_EVERY;
                    }
                }
            }
        }
    }

    async fn act(
        &mut self,
        action: Action,
        reports: &mpsc::UnboundedSender<Report>,
        dials: &Arc<Semaphore>,
    ) {
        match action {
            Action::Dial => self.dial_bootstrap(reports, dials).await,
            Action::Announce => {
                for index in std::mem::take(&mut self.announce) {
                    let key = record_key(&self.target.network, index);
                    match self.swarm.behaviour_mut().kad.start_providing(key) {
                        Ok(id) => {
                            self.announcing.insert(id);
                        }
                        Err(_) => {
                            let _ = reports.send(Report::Announced { ok: false });
                        }
                    }
                }
            }
            Action::Lookup => {
                for (index, expected) in std::mem::take(&mut self.lookups) {
                    let key = record_key(&self.target.network, index);
                    let id = self.swarm.behaviour_mut().kad.get_providers(key);
                    self.looking_up.insert(id, (expected, false));
                }
            }
            Action::Echo => {
                if let Some(Role::Dial(listener)) = self.circuit {
                    self.echo_seed += 1;
                    let block = echo::block(self.echo_seed);
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .echo
                        .send_request(&listener, block.clone());
                    self.echoes.insert(id, block);
                }
            }
        }
    }

    async fn dial_bootstrap(
        &mut self,
        reports: &mpsc::UnboundedSender<Report>,
        dials: &Arc<Semaphore>,
    ) {
        let Some(deadline) = self.connect_deadline else {
            return;
        };
        self.dial_attempts += 1;
        // A few dials at a time, so the node's handshake queue (and the
        // listen backlog) is never what limits the run.
        let permit = tokio::time::timeout_at(deadline, Arc::clone(dials).acquire_owned()).await;
        let Ok(Ok(permit)) = permit else {
            let _ = reports.send(Report::ConnectFailed("no dial slot in time".to_owned()));
            return;
        };
        // Never a second connection while one is open or being made.
        let opts = DialOpts::peer_id(self.target.peer)
            .addresses(vec![without_p2p(&self.target.address)])
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        match self.swarm.dial(opts) {
            Ok(()) => self.dial_permit = Some(permit),
            Err(e) => self.dial_failed(e.to_string(), reports),
        }
    }

    fn dial_failed(&mut self, error: String, reports: &mpsc::UnboundedSender<Report>) {
        self.dial_permit = None;
        let in_time = self
            .connect_deadline
            .is_some_and(|d| Instant::now() + REDIAL_AFTER < d);
        if self.dial_attempts < DIAL_ATTEMPTS && in_time {
            self.schedule(Instant::now() + REDIAL_AFTER, Action::Dial);
            let _ = reports.send(Report::Retried { cause: error });
        } else {
            let _ = reports.send(Report::ConnectFailed(error));
        }
    }

    fn reservation_failed(&mut self, error: String, reports: &mpsc::UnboundedSender<Report>) {
        if !self.reservation_reported {
            self.reservation_reported = true;
            let _ = reports.send(Report::Reserved(Err(error)));
        }
    }

    fn circuit_done(
        &mut self,
        result: Result<(), String>,
        reports: &mpsc::UnboundedSender<Report>,
    ) {
        if !self.circuit_reported {
            self.circuit_reported = true;
            self.circuit_up = result.is_ok();
            let _ = reports.send(Report::Circuit(result));
        }
    }

    fn on_event(
        &mut self,
        event: SwarmEvent<BehaviourEvent>,
        reports: &mpsc::UnboundedSender<Report>,
    ) {
        let bootstrap = self.target.peer;
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                if peer_id == bootstrap && !endpoint.is_relayed() {
                    self.dial_permit = None;
                    self.connected = true;
                    // As a hearth node does with a bootstrap node it has
                    // connected to: into the routing table, and one DHT
                    // bootstrap query. Not before: with the address in the
                    // table before the dial, Kademlia's automatic bootstrap
                    // dials the node itself, outside the dial limit and
                    // besides the client's own dial.
                    let kad = &mut self.swarm.behaviour_mut().kad;
                    kad.add_address(&bootstrap, without_p2p(&self.target.address));
                    let _ = kad.bootstrap();
                } else if self.circuit == Some(Role::Dial(peer_id)) && endpoint.is_relayed() {
                    // The first echo proves the circuit carries bytes.
                    self.echo_seed += 1;
                    let block = echo::block(self.echo_seed);
                    let id = self
                        .swarm
                        .behaviour_mut()
                        .echo
                        .send_request(&peer_id, block.clone());
                    self.echoes.insert(id, block);
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(Role::Dial(listener)) = self.circuit
                    && peer_id == Some(listener)
                {
                    self.circuit_done(Err(error.to_string()), reports);
                } else if !self.connected && self.dial_permit.is_some() {
                    self.dial_failed(error.to_string(), reports);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                endpoint,
                cause,
                ..
            } if peer_id == bootstrap && !endpoint.is_relayed() && num_established == 0 => {
                self.connected = false;
                let cause =
                    cause.map_or_else(|| "closed without an error".to_owned(), |e| e.to_string());
                if self.identified {
                    let _ = reports.send(Report::Lost { cause });
                } else {
                    // Closed before identify finished: the set-up failed
                    // (the node may have refused it once the handshake was
                    // done), so it is tried again like a failed dial.
                    self.dial_failed(cause, reports);
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } if Some(listener_id) == self.circuit_listener => {
                let why = match reason {
                    Ok(()) => "the relay listener closed".to_owned(),
                    Err(e) => e.to_string(),
                };
                self.reservation_failed(why, reports);
            }
            SwarmEvent::ListenerError { listener_id, error }
                if Some(listener_id) == self.circuit_listener =>
            {
                self.reservation_failed(error.to_string(), reports);
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour(event, reports),
            _ => {}
        }
    }

    fn on_behaviour(&mut self, event: BehaviourEvent, reports: &mpsc::UnboundedSender<Report>) {
        let bootstrap = self.target.peer;
        match event {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })
                if peer_id == bootstrap && !self.identified =>
            {
                self.identified = true;
                let hop = info.protocols.contains(&relay::HOP_PROTOCOL_NAME);
                let _ = reports.send(Report::Connected { hop });
            }
            BehaviourEvent::Ping(ping::Event { peer, result, .. }) if peer == bootstrap => {
                let _ = reports.send(Report::Ping { ok: result.is_ok() });
            }
            BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            }) => self.on_query(id, result, step.last, reports),
            BehaviourEvent::Relay(relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                ..
            }) if relay_peer_id == bootstrap && !self.reservation_reported => {
                self.reservation_reported = true;
                let _ = reports.send(Report::Reserved(Ok(())));
            }
            BehaviourEvent::Echo(event) => self.on_echo(event, reports),
            _ => {}
        }
    }

    fn on_query(
        &mut self,
        id: QueryId,
        result: QueryResult,
        last: bool,
        reports: &mpsc::UnboundedSender<Report>,
    ) {
        match result {
            QueryResult::StartProviding(result) if self.announcing.remove(&id) => {
                let _ = reports.send(Report::Announced { ok: result.is_ok() });
            }
            QueryResult::GetProviders(result) => {
                let Some((expected, found)) = self.looking_up.get_mut(&id) else {
                    return;
                };
                if let Ok(GetProvidersOk::FoundProviders { providers, .. }) = &result {
                    *found |= providers.contains(expected);
                }
                if last {
                    let found = *found;
                    self.looking_up.remove(&id);
                    let _ = reports.send(Report::LookedUp { found });
                }
            }
            _ => {}
        }
    }

    fn on_echo(
        &mut self,
        event: request_response::Event<Vec<u8>, Vec<u8>>,
        reports: &mpsc::UnboundedSender<Report>,
    ) {
        match event {
            request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                // The listener's side: the same bytes back.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .echo
                    .send_response(channel, request);
            }
            request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(sent) = self.echoes.remove(&request_id) else {
                    return;
                };
                let ok = response == sent;
                if self.circuit_reported {
                    let bytes = sent.len() + response.len();
                    let _ = reports.send(Report::Echoed { ok, bytes });
                } else if ok {
                    self.circuit_done(Ok(()), reports);
                } else {
                    self.circuit_done(Err("the echo came back changed".to_owned()), reports);
                }
            }
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } if self.echoes.remove(&request_id).is_some() => {
                if self.circuit_reported {
                    let _ = reports.send(Report::Echoed {
                        ok: false,
                        bytes: 0,
                    });
                } else {
                    self.circuit_done(Err(error.to_string()), reports);
                }
            }
            _ => {}
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `address` without its trailing `/p2p/…`.
fn without_p2p(address: &Multiaddr) -> Multiaddr {
    address
        .iter()
        .filter(|p| !matches!(p, Protocol::P2p(_)))
        .collect()
}
