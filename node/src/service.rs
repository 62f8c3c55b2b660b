//! The node task: one `select!` loop that owns the swarm, the store, the
//! personas and the policy. Commands come in from handles, swarm events
//! from the network, and timers drive discovery, bans, flushing and
//! retention. Nothing else touches this state.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use hearth_protocol::{
    BlockEntry, BuildError, ChannelName, ListId, Message, MessageId, ModeratorList, NetworkId,
    Policy, PolicyList, PostDraft, PublicKey, Scope, SignedMessage, Topic, ValidationContext, open,
    validate,
};
use libp2p::core::transport::ListenerId;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, PublishError, TopicHash};
use libp2p::kad::{self, GetProvidersOk, QueryResult, RecordKey};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinError;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::Instrument;

use crate::clock::{Now, Uptime, now_ms};
use crate::config::NodeConfig;
use crate::error::{EntryError, HeldListError, NodeError};
use crate::event::{ChannelInfo, Event, PeerInfo, PersonaInfo, PostRecord, Published, Status};
use crate::handle::{Command, HistoryQuery, PostOptions};
use crate::moderation::Moderation;
use crate::personas::{self, Personas};
use crate::store::{PeerRecord, Store, StoredPost};
use crate::swarm::{Behaviour, BehaviourEvent, kad_protocol, score_thresholds, topic_score_params};

/// Received posts are flushed in groups this far apart.
const FLUSH_DELAY: Duration = Duration::from_millis(5);
/// The first provider lookup again for a channel with no peers; the gap
/// doubles up to `LOOKUP_EMPTY`. Short at first because the first lookup
/// often races the other side's announcement.
const LOOKUP_FIRST: Duration = Duration::from_secs(1);
/// Provider lookups for a channel with no peers, at the longest.
const LOOKUP_EMPTY: Duration = Duration::from_secs(10);
/// Provider lookups for a channel that has peers.
const LOOKUP_BUSY: Duration = Duration::from_secs(120);
/// Look a lonely channel up again after a routing-table change at most this
/// often.
const LOOKUP_AGAIN_MIN: Duration = Duration::from_secs(1);
/// Re-announce a channel after a routing-table change at most this often.
const REPROVIDE_MIN: Duration = Duration::from_secs(30);
/// Redial bootstrap nodes when none is connected, this often.
const BOOTSTRAP_RETRY: Duration = Duration::from_secs(30);
/// Refresh the DHT routing table this often.
const DHT_REFRESH: Duration = Duration::from_secs(5 * 60);
/// Known peers dialled at start.
const KNOWN_PEERS_AT_START: usize = 8;

type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// A post whose proof of work was stamped off the node task.
struct Signed {
    channel: ChannelName,
    result: Result<Result<SignedMessage, BuildError>, JoinError>,
    reply: Reply<Published>,
}

struct Channel {
    topic: IdentTopic,
    key: RecordKey,
    peers: usize,
    next_lookup: Instant,
    lookup_gap: Duration,
    last_lookup: Instant,
    last_provide: Option<Instant>,
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
    channels: HashMap<ChannelName, Channel>,
    moderators: HashSet<PublicKey>,
    listen_addrs: Vec<Multiaddr>,
    connections: HashMap<PeerId, Vec<Multiaddr>>,
    bans: HashMap<PeerId, Instant>,
    bootstrap_peers: HashSet<PeerId>,
    next_bootstrap_retry: Instant,
    next_dht_refresh: Instant,
    pending_listeners: HashMap<ListenerId, Multiaddr>,
    ready: Option<oneshot::Sender<Result<(), NodeError>>>,
    signing: FuturesUnordered<BoxFuture<'static, Signed>>,
    flush_due: Option<Instant>,
    next_sweep: Instant,
}

impl Service {
    pub fn new(
        swarm: Swarm<Behaviour>,
        store: Store,
        config: NodeConfig,
        events: broadcast::Sender<Event>,
        listeners: Vec<(ListenerId, Multiaddr)>,
        ready: oneshot::Sender<Result<(), NodeError>>,
    ) -> Result<Self, NodeError> {
        let mut moderation = Moderation::new(&config.limits);
        moderation.rebuild(&store, &config.network)?;
        let now = Instant::now();
        Ok(Self {
            peer_id: *swarm.local_peer_id(),
            swarm,
            store,
            network: config.network.clone(),
            uptime: Uptime::start(),
            personas: Personas::new(config.personas),
            moderation,
            events,
            channels: HashMap::new(),
            moderators: HashSet::new(),
            listen_addrs: Vec::new(),
            connections: HashMap::new(),
            bans: HashMap::new(),
            bootstrap_peers: HashSet::new(),
            next_bootstrap_retry: now + BOOTSTRAP_RETRY,
            next_dht_refresh: now + DHT_REFRESH,
            pending_listeners: listeners.into_iter().collect(),
            ready: Some(ready),
            signing: FuturesUnordered::new(),
            flush_due: None,
            next_sweep: now + config.retention.sweep_interval,
            config,
        })
    }

    /// Dials bootstrap and known peers, subscribes to followed moderators
    /// and joins the configured channels.
    pub fn start_up(&mut self) -> Result<(), NodeError> {
        if self.config.offline {
            self.signal_ready(Ok(()));
            return Ok(());
        }
        self.dial_bootstrap();
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
        for channel in self.config.channels.clone() {
            self.join(channel)?;
        }
        if self.pending_listeners.is_empty() {
            self.signal_ready(Ok(()));
        }
        Ok(())
    }

    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut stopped = None;
        loop {
            // Evaluated even when the branch is disabled, so never unwrap.
            let flush_at = self
                .flush_due
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
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
                    self.on_signed(signed).await;
                }
                _ = tick.tick() => self.maintenance(),
                _ = tokio::time::sleep_until(flush_at), if self.flush_due.is_some() => {
                    self.flush_due = None;
                    if let Err(e) = self.store.flush_async().await {
                        tracing::error!(error = %e, "flushing received posts failed");
                    }
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

    async fn shut_down(&mut self) -> Result<(), NodeError> {
        // Let in-flight publishes finish so their posts are stored.
        while let Some(signed) = self.signing.next().await {
            self.on_signed(signed).await;
        }
        self.store.flush_async().await?;
        tracing::info!("node stopped; store flushed");
        Ok(())
    }

    fn emit(&self, event: Event) {
        // No subscribers is fine.
        let _ = self.events.send(event);
    }

    fn signal_ready(&mut self, result: Result<(), NodeError>) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(result);
        }
    }

    // ----- commands -------------------------------------------------------

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Join(channel, reply) => {
                let result = self.join(channel);
                let result = match result {
                    Ok(info) => self
                        .store
                        .flush_async()
                        .await
                        .map(|()| info)
                        .map_err(Into::into),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            Command::Leave(channel, reply) => {
                let result = self.leave(&channel);
                let result = self.flushed(result).await;
                let _ = reply.send(result);
            }
            Command::Channels(reply) => {
                let _ = reply.send(self.channel_infos());
            }
            Command::Publish(channel, options, reply) => {
                self.publish(channel, options, reply).await
            }
            Command::History(channel, query, reply) => {
                let _ = reply.send(self.history(&channel, query));
            }
            Command::Post(id, reply) => {
                let result = self
                    .store
                    .get_post(&id)
                    .map_err(NodeError::from)
                    .map(|found| found.and_then(|stored| self.record(id, stored)));
                let _ = reply.send(result);
            }
            Command::Peers(reply) => {
                let _ = reply.send(Ok(self.peer_infos()));
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(Ok(self.listen_addrs.clone()));
            }
            Command::Dial(address, reply) => {
                let result =
                    self.swarm
                        .dial(dial_address(address.clone()))
                        .map_err(|e| NodeError::Dial {
                            address,
                            source: Box::new(e),
                        });
                let _ = reply.send(result);
            }
            Command::Persona(channel, reply) => {
                let now = now_ms();
                let result = self
                    .personas
                    .get(&self.store, &channel, now)
                    .map(|(key, created)| personas::info(&channel, &key, created))
                    .map_err(NodeError::from);
                let result = self.flushed(result).await;
                let _ = reply.send(result);
            }
            Command::Personas(reply) => {
                let _ = reply.send(self.personas.list(&self.store).map_err(Into::into));
            }
            Command::RotatePersona(channel, reply) => {
                let now = now_ms();
                let result = self
                    .personas
                    .rotate(&self.store, &channel, now)
                    .map(|(key, created)| personas::info(&channel, &key, created))
                    .map_err(NodeError::from);
                let result = self.flushed(result).await;
                let _ = reply.send(result);
            }
            Command::Block(entry, reply) => {
                let result = match check_entry(&entry) {
                    Err(e) => Err(NodeError::InvalidEntry(e)),
                    Ok(()) => self.store.add_block(&entry).map_err(NodeError::from),
                };
                let result = self.policy_changed(result).await;
                let _ = reply.send(result);
            }
            Command::Unblock(entry, reply) => {
                let result = self.store.remove_block(&entry).map_err(NodeError::from);
                let result = self.policy_changed(result).await;
                let _ = reply.send(result);
            }
            Command::Blocklist(reply) => {
                let _ = reply.send(self.store.blocklist().map_err(Into::into));
            }
            Command::Follow(moderator, scope, reply) => {
                let result = self
                    .store
                    .follow(&moderator, &scope)
                    .map_err(NodeError::from);
                if result.is_ok() {
                    self.subscribe_moderator(moderator);
                }
                let result = self.policy_changed(result).await;
                let _ = reply.send(result);
            }
            Command::Unfollow(moderator, reply) => {
                let result = self.store.unfollow(&moderator).map_err(NodeError::from);
                let topic = moderator_topic(&self.network, moderator);
                if self.moderators.remove(&moderator) {
                    self.swarm.behaviour_mut().gossipsub.unsubscribe(&topic);
                }
                let result = self.policy_changed(result).await;
                let _ = reply.send(result);
            }
            Command::PublishList(bytes, reply) => {
                let result = self.publish_list(bytes).await;
                let _ = reply.send(result);
            }
            Command::Follows(reply) => {
                let _ = reply.send(self.store.follows().map_err(Into::into));
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            // Handled by the loop itself.
            Command::Shutdown(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// Flushes the store after a settings change, before the caller hears
    /// back.
    async fn flushed<T>(&mut self, result: Result<T, NodeError>) -> Result<T, NodeError> {
        let value = result?;
        self.store.flush_async().await?;
        Ok(value)
    }

    /// Recompiles the policy after the blocklist or follows changed, and
    /// flushes.
    async fn policy_changed<T>(&mut self, result: Result<T, NodeError>) -> Result<T, NodeError> {
        let value = result?;
        self.moderation.rebuild(&self.store, &self.network)?;
        self.store.flush_async().await?;
        Ok(value)
    }

    fn join(&mut self, channel: ChannelName) -> Result<PersonaInfo, NodeError> {
        let now = now_ms();
        let (key, created) = self.personas.get(&self.store, &channel, now)?;
        let persona = personas::info(&channel, &key, created);
        if self.channels.contains_key(&channel) {
            return Ok(persona);
        }
        let topic = IdentTopic::new(channel.topic(&self.network).to_string());
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        gossipsub
            .subscribe(&topic)
            .map_err(|source| NodeError::Subscribe {
                channel: channel.clone(),
                source,
            })?;
        // Unscored topics are skipped silently by gossipsub: every channel
        // gets its parameters.
        gossipsub
            .set_topic_params(topic.clone(), topic_score_params())
            .map_err(|reason| NodeError::TopicScore {
                channel: channel.clone(),
                reason,
            })?;
        let key = RecordKey::new(&channel.rendezvous_key(&self.network));
        let kad = &mut self.swarm.behaviour_mut().kad;
        // With no DHT peer yet the announcement reaches nobody: leave it
        // marked as not done, so the first routing update repeats it.
        let dht_known = kad.kbuckets().any(|bucket| bucket.num_entries() > 0);
        if let Err(e) = kad.start_providing(key.clone()) {
            tracing::warn!(%channel, error = %e, "cannot announce channel in the DHT");
        }
        kad.get_providers(key.clone());
        let instant = Instant::now();
        self.channels.insert(
            channel.clone(),
            Channel {
                topic,
                key,
                peers: 0,
                next_lookup: instant + LOOKUP_FIRST,
                lookup_gap: LOOKUP_FIRST,
                last_lookup: instant,
                last_provide: dht_known.then_some(instant),
            },
        );
        self.store.add_channel(&channel)?;
        self.emit(Event::Joined {
            channel: channel.clone(),
            persona: persona.clone(),
        });
        // Connected peers may have announced the topic before this node
        // joined it, and gossipsub reports a subscription only once: count
        // them now (a ChannelPeers event), and send what waited for them.
        self.update_channel_peers();
        if self.channels.get(&channel).is_some_and(|c| c.peers > 0) {
            self.send_pending(&channel);
        }
        Ok(persona)
    }

    fn leave(&mut self, channel: &ChannelName) -> Result<bool, NodeError> {
        let Some(state) = self.channels.remove(channel) else {
            return Ok(false);
        };
        let behaviour = self.swarm.behaviour_mut();
        behaviour.gossipsub.unsubscribe(&state.topic);
        behaviour.kad.stop_providing(&state.key);
        self.store.remove_channel(channel)?;
        self.emit(Event::Left {
            channel: channel.clone(),
        });
        Ok(true)
    }

    fn subscribe_moderator(&mut self, moderator: PublicKey) {
        let topic = moderator_topic(&self.network, moderator);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        match gossipsub.subscribe(&topic) {
            Ok(_) => {
                if let Err(e) = gossipsub.set_topic_params(topic, topic_score_params()) {
                    tracing::warn!(%moderator, error = %e, "moderator topic unscored");
                }
                self.moderators.insert(moderator);
            }
            Err(e) => tracing::warn!(%moderator, error = %e, "cannot follow moderator topic"),
        }
    }

    async fn publish(
        &mut self,
        channel: ChannelName,
        options: PostOptions,
        reply: Reply<Published>,
    ) {
        if !self.channels.contains_key(&channel) {
            let _ = reply.send(Err(NodeError::NotJoined(channel)));
            return;
        }
        let now = now_ms();
        let persona = match self.personas.get(&self.store, &channel, now) {
            Ok((key, _)) => key,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let mut draft = PostDraft::new(channel.clone(), options.text, now);
        if let Some(parent) = options.reply_to {
            draft = draft.with_reply_to(parent);
        }
        if let Some(cw) = options.content_warning {
            draft = draft.with_content_warning(cw);
        }
        if let Some(nick) = options.nickname {
            draft = draft.with_nickname(nick);
        }
        if let Some(lifetime) = options.expires_in {
            let ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
            draft = draft.with_expiry(now.saturating_add(ms.max(1)));
        }
        let difficulty = self.config.limits.difficulty(&channel);
        let network = self.network.clone();
        if difficulty == 0 {
            let result = match draft.sign(&persona, &network, 0) {
                Ok(signed) => self.send_own(&channel, signed).await,
                Err(e) => Err(e.into()),
            };
            let _ = reply.send(result);
        } else {
            // Proof of work takes real CPU time: stamp it off the node task
            // so the swarm keeps answering meanwhile.
            let task =
                tokio::task::spawn_blocking(move || draft.sign(&persona, &network, difficulty));
            self.signing.push(Box::pin(async move {
                Signed {
                    channel,
                    result: task.await,
                    reply,
                }
            }));
        }
    }

    /// A post stamped off the task: send it and answer the caller.
    async fn on_signed(&mut self, signed: Signed) {
        let result = match signed.result {
            Ok(Ok(message)) => self.send_own(&signed.channel, message).await,
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(NodeError::Signing(e)),
        };
        let _ = signed.reply.send(result);
    }

    /// Stores and flushes an own post, then gossips it. With no peers yet it
    /// is kept pending and sent when peers of the channel appear.
    async fn send_own(
        &mut self,
        channel: &ChannelName,
        signed: SignedMessage,
    ) -> Result<Published, NodeError> {
        let Some(post) = signed.message.as_post() else {
            return Err(BuildError::Field("a signed draft that is not a post").into());
        };
        let now = now_ms();
        let stored = StoredPost {
            bytes: signed.bytes.clone(),
            channel: channel.clone(),
            created_ms: post.created_ms,
            expires_ms: post.expires_ms,
            received_ms: now,
            own: true,
        };
        self.store.insert_post(&signed.id, &stored)?;
        self.store
            .mark_seen(&signed.id, self.seen_until(post.created_ms))?;
        let peers = self.gossip(channel, &signed.id, &signed.bytes);
        if peers == 0 {
            self.store.add_pending(channel, &signed.id)?;
        }
        self.store.flush_async().await?;
        let record = PostRecord {
            id: signed.id,
            post: post.clone(),
            received_ms: now,
            own: true,
            verdict: None,
        };
        self.emit(Event::Post(Box::new(record)));
        if peers > 0 {
            self.emit(Event::Sent {
                id: signed.id,
                channel: channel.clone(),
                peers,
            });
        }
        Ok(Published {
            id: signed.id,
            peers,
        })
    }

    /// Publishes bytes on a channel's topic; returns how many peers they went
    /// to (0 when nobody is subscribed yet).
    fn gossip(&mut self, channel: &ChannelName, id: &MessageId, bytes: &[u8]) -> usize {
        let Some(state) = self.channels.get(channel) else {
            return 0;
        };
        let hash = state.topic.hash();
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        match gossipsub.publish(hash.clone(), bytes.to_vec()) {
            Ok(_) | Err(PublishError::Duplicate) => subscribed_peers(gossipsub, &hash),
            Err(PublishError::NoPeersSubscribedToTopic) => 0,
            Err(e) => {
                tracing::warn!(%channel, id = %id.short(), error = %e, "publish failed; kept pending");
                0
            }
        }
    }

    fn seen_until(&self, created_ms: u64) -> u64 {
        created_ms
            .saturating_add(self.config.limits.messages.max_age_ms)
            .saturating_add(self.config.limits.messages.max_clock_skew_ms)
    }

    fn history(
        &self,
        channel: &ChannelName,
        query: HistoryQuery,
    ) -> Result<Vec<PostRecord>, NodeError> {
        // Hidden posts are filtered after reading, so read in growing
        // windows until `limit` visible posts are found or the channel ends.
        let mut window = query.limit.max(1);
        loop {
            let stored = self.store.channel_posts(channel, query.since_ms, window)?;
            let exhausted = stored.len() < window;
            let records: Vec<PostRecord> = stored
                .into_iter()
                .filter_map(|(id, post)| self.record(id, post))
                .filter(|r| query.include_hidden || !r.is_hidden())
                .collect();
            if records.len() >= query.limit || exhausted || window >= 1 << 20 {
                let skip = records.len().saturating_sub(query.limit);
                return Ok(records.into_iter().skip(skip).collect());
            }
            window = window.saturating_mul(4);
        }
    }

    /// A stored post as a record with the current policy's verdict; `None`
    /// (with a warning) if the stored bytes no longer verify.
    fn record(&self, id: MessageId, stored: StoredPost) -> Option<PostRecord> {
        match open(&stored.bytes, &self.network) {
            Ok(verified) => match verified.message {
                Message::Post(post) => Some(PostRecord {
                    id,
                    verdict: self.moderation.verdict(&id, &post),
                    post,
                    received_ms: stored.received_ms,
                    own: stored.own,
                }),
                Message::ModeratorList(_) => None,
            },
            Err(e) => {
                tracing::warn!(id = %id.short(), error = %e, "stored post does not verify; skipped");
                None
            }
        }
    }

    fn channel_infos(&mut self) -> Result<Vec<ChannelInfo>, NodeError> {
        let now = now_ms();
        let mut infos = Vec::new();
        let mut names: Vec<_> = self.channels.keys().cloned().collect();
        names.sort();
        for channel in names {
            let peers = self.channels.get(&channel).map_or(0, |c| c.peers);
            let (key, created) = self.personas.get(&self.store, &channel, now)?;
            infos.push(ChannelInfo {
                persona: personas::info(&channel, &key, created),
                channel,
                peers,
            });
        }
        Ok(infos)
    }

    fn peer_infos(&self) -> Vec<PeerInfo> {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let topics: HashMap<PeerId, Vec<TopicHash>> = gossipsub
            .all_peers()
            .map(|(peer, topics)| (*peer, topics.into_iter().cloned().collect()))
            .collect();
        let mut peers: Vec<PeerInfo> = self
            .connections
            .iter()
            .map(|(peer, addresses)| PeerInfo {
                peer: *peer,
                addresses: addresses.clone(),
                channels: topics
                    .get(peer)
                    .into_iter()
                    .flatten()
                    .filter_map(|hash| self.channel_of(hash))
                    .collect(),
                score: gossipsub.peer_score(peer),
            })
            .collect();
        peers.sort_by_key(|p| p.peer.to_string());
        peers
    }

    fn status(&mut self) -> Result<Status, NodeError> {
        Ok(Status {
            peer_id: self.peer_id,
            network: self.network.to_string(),
            listen_addrs: self.listen_addrs.clone(),
            channels: self.channel_infos()?,
            connected_peers: self.connections.len(),
            stored_posts: self.store.post_count(),
            pending_posts: self.store.pending_count(),
            blocklist_entries: self.store.blocklist()?.len(),
            followed_moderators: self.store.follows()?.len(),
        })
    }

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
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                if self.config.announce_listen_addrs {
                    self.swarm.add_external_address(address.clone());
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
                self.swarm.remove_external_address(&address);
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
                self.listener_done(listener_id, reason.err());
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                self.listener_done(listener_id, Some(error));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let address = endpoint.get_remote_address().clone();
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
                    self.bootstrap_peers.insert(peer_id);
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, without_p2p(address));
                    if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
                        tracing::debug!(error = %e, "DHT bootstrap not started");
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if let Some(addresses) = self.connections.get_mut(&peer_id) {
                    addresses.retain(|a| a != endpoint.get_remote_address());
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
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let kad_protocol = kad_protocol(&self.network).ok();
                let serves_dht = kad_protocol.is_some_and(|p| info.protocols.contains(&p));
                if serves_dht {
                    for address in &info.listen_addrs {
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .add_address(&peer_id, address.clone());
                    }
                }
                let record = PeerRecord {
                    addresses: info.listen_addrs.iter().map(ToString::to_string).collect(),
                    last_seen_ms: now_ms(),
                };
                if let Err(e) = self.store.remember_peer(&peer_id, &record) {
                    tracing::warn!(error = %e, "cannot remember peer");
                }
                self.flush_due
                    .get_or_insert_with(|| Instant::now() + FLUSH_DELAY);
                self.emit(Event::PeerIdentified {
                    peer: peer_id,
                    agent: info.agent_version,
                    listen_addrs: info.listen_addrs,
                });
            }
            BehaviourEvent::Kad(event) => self.on_kad(event),
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
                for (peer, address) in found {
                    if peer != self.peer_id {
                        by_peer.entry(peer).or_default().push(address);
                    }
                }
                for (peer, addresses) in by_peer {
                    self.dial_peer(peer, addresses);
                }
            }
            _ => {}
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed {
                result:
                    QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders { providers, .. })),
                ..
            } => {
                // Dial now, while the query still holds the providers'
                // addresses for the dial to use.
                for peer in providers {
                    if peer != self.peer_id && !self.connections.contains_key(&peer) {
                        self.dial_peer(peer, Vec::new());
                    }
                }
            }
            kad::Event::RoutingUpdated { .. } => {
                // A new DHT peer: announce channels not (recently) announced,
                // and look again for peers of channels that have none.
                let now = Instant::now();
                let mut work = Vec::new();
                for (name, c) in &self.channels {
                    let announce = c.last_provide.is_none_or(|t| now - t > REPROVIDE_MIN);
                    let look = c.peers == 0 && now - c.last_lookup > LOOKUP_AGAIN_MIN;
                    if announce || look {
                        work.push((name.clone(), c.key.clone(), announce, look));
                    }
                }
                for (name, key, announce, look) in work {
                    let kad = &mut self.swarm.behaviour_mut().kad;
                    let announced = announce && kad.start_providing(key.clone()).is_ok();
                    if look || announced {
                        kad.get_providers(key);
                    }
                    if let Some(channel) = self.channels.get_mut(&name) {
                        if announced {
                            channel.last_provide = Some(now);
                        }
                        if look || announced {
                            channel.last_lookup = now;
                            channel.next_lookup = now + channel.lookup_gap;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn dial_peer(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if self.bans.contains_key(&peer) {
            return;
        }
        // From a fresh port, not the listen port: two nodes that discover
        // each other at the same instant (mDNS answers both ways at once)
        // would otherwise open one TCP connection from both ends at once
        // (a TCP simultaneous open), on which both run the noise handshake
        // as initiator and fail, and neither dials again (libp2p/specs#389).
        // Port reuse only helps hole punching, which hearth does not do.
        let opts = DialOpts::peer_id(peer)
            .addresses(addresses)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .allocate_new_port()
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, error = %e, "not dialled");
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let acceptance = self.on_message(&propagation_source, &message);
                // Every message is answered exactly once, right away, inside
                // the message-cache window.
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            gossipsub::Event::Subscribed { topic, .. } => {
                self.update_channel_peers();
                if let Some(channel) = self.channel_of(&topic) {
                    self.send_pending(&channel);
                } else if let Ok(Topic::Moderator { network, moderator }) =
                    Topic::parse(topic.as_str())
                    && network == self.network
                {
                    // A new follower: hand it the list now rather than at
                    // the moderator's next update.
                    match held_list(&self.store, &self.network, &moderator) {
                        Ok(Some((_, bytes))) => {
                            self.gossip_list(moderator, bytes);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(%moderator, error = %e, "held moderator list unreadable")
                        }
                    }
                }
            }
            gossipsub::Event::Unsubscribed { .. } => self.update_channel_peers(),
            _ => {}
        }
    }

    /// Validation, moderation and storage of one gossiped message.
    fn on_message(&mut self, source: &PeerId, message: &gossipsub::Message) -> MessageAcceptance {
        // Rates are measured on the monotonic clock: a wall clock set back
        // would freeze every bucket until it caught up again.
        let now = Now {
            wall_ms: now_ms(),
            mono_ms: self.uptime.now_ms(),
        };
        let topic = match Topic::parse(message.topic.as_str()) {
            Ok(topic) if topic.network() == &self.network => topic,
            // The subscription filter admits only this network's topics;
            // anything else is not ours to judge.
            _ => return MessageAcceptance::Ignore,
        };
        if !self.moderation.peer_within_rate(source, now.mono_ms) {
            return MessageAcceptance::Ignore;
        }
        match topic {
            Topic::Channel { channel, .. } => self.on_post(source, &channel, &message.data, now),
            Topic::Moderator { moderator, .. } => {
                self.on_list(&moderator, &message.data, now.wall_ms)
            }
        }
    }

    fn on_post(
        &mut self,
        source: &PeerId,
        channel: &ChannelName,
        data: &[u8],
        now: Now,
    ) -> MessageAcceptance {
        if !self.channels.contains_key(channel) {
            return MessageAcceptance::Ignore;
        }
        let limits = &self.config.limits;
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &limits.messages)
            .channel(channel)
            .difficulty(limits.difficulty(channel));
        let verified = match validate(data, &ctx) {
            Ok(verified) => verified,
            Err(e) => {
                tracing::debug!(%channel, peer = %source, error = %e, "post refused");
                self.emit(Event::Refused {
                    channel: Some(channel.clone()),
                    reason: e.to_string(),
                });
                return if e.is_invalid() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                };
            }
        };
        let Message::Post(post) = verified.message else {
            return MessageAcceptance::Reject;
        };
        let id = verified.id;
        match self.store.is_seen(&id) {
            // A replay older than gossipsub's duplicate cache.
            Ok(true) => return MessageAcceptance::Ignore,
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "store unreadable; post ignored");
                return MessageAcceptance::Ignore;
            }
        }
        if !self
            .moderation
            .persona_within_rate(&post.author, now.mono_ms)
        {
            self.emit(Event::Refused {
                channel: Some(channel.clone()),
                reason: format!("rate limit exceeded by {}", post.author.name()),
            });
            return MessageAcceptance::Ignore;
        }
        let verdict = self.moderation.verdict(&id, &post);
        let stored = StoredPost {
            bytes: verified.bytes,
            channel: channel.clone(),
            created_ms: post.created_ms,
            expires_ms: post.expires_ms,
            received_ms: now.wall_ms,
            own: false,
        };
        let until = self.seen_until(post.created_ms);
        if let Err(e) = self
            .store
            .insert_post(&id, &stored)
            .and_then(|_| self.store.mark_seen(&id, until))
        {
            tracing::error!(error = %e, "cannot store post; not relayed");
            return MessageAcceptance::Ignore;
        }
        self.flush_due
            .get_or_insert_with(|| Instant::now() + FLUSH_DELAY);
        let hidden = verdict.is_some();
        self.emit(Event::Post(Box::new(PostRecord {
            id,
            post,
            received_ms: now.wall_ms,
            own: false,
            verdict,
        })));
        // Locally hidden posts are not relayed, but honest relays with other
        // lists must not be punished: Ignore, not Reject.
        if hidden {
            MessageAcceptance::Ignore
        } else {
            MessageAcceptance::Accept
        }
    }

    fn on_list(&mut self, moderator: &PublicKey, data: &[u8], now: u64) -> MessageAcceptance {
        if !self.moderators.contains(moderator) {
            return MessageAcceptance::Ignore;
        }
        let ctx = ValidationContext::new(&self.network, now, &self.config.limits.messages)
            .moderator(moderator);
        let verified = match validate(data, &ctx) {
            Ok(v) => v,
            Err(e) => {
                return if e.is_invalid() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                };
            }
        };
        let Message::ModeratorList(list) = &verified.message else {
            return MessageAcceptance::Reject;
        };
        match self.apply_list(list, &verified.bytes) {
            Ok(true) => {
                self.flush_due
                    .get_or_insert_with(|| Instant::now() + FLUSH_DELAY);
                MessageAcceptance::Accept
            }
            Ok(false) => MessageAcceptance::Ignore,
            // Including a held list that cannot be read: refused, never
            // taken in its place.
            Err(e) => {
                tracing::error!(error = %e, "moderator list not applied");
                MessageAcceptance::Ignore
            }
        }
    }

    /// Keeps a verified list if it is newer than the held one, and
    /// recompiles the policy. Returns whether it replaced the held list.
    /// When the held list cannot be read this is an error: taking the
    /// offered list could roll the user's moderation back to an older one.
    fn apply_list(&mut self, list: &ModeratorList, bytes: &[u8]) -> Result<bool, NodeError> {
        let held = self.held_sequence_list(&list.moderator)?;
        if let Err(e) = list.may_replace(held.as_ref()) {
            tracing::debug!(moderator = %list.moderator, error = %e, "moderator list not applied");
            return Ok(false);
        }
        self.store.put_moderator_list(&list.moderator, bytes)?;
        self.moderation.rebuild(&self.store, &self.network)?;
        self.emit(Event::ModeratorList {
            moderator: list.moderator,
            sequence: list.sequence,
            entries: list.entries.len(),
        });
        Ok(true)
    }

    /// The list held for `moderator`, if any; an unreadable one is an error.
    fn held_sequence_list(
        &self,
        moderator: &PublicKey,
    ) -> Result<Option<ModeratorList>, NodeError> {
        held_list(&self.store, &self.network, moderator)
            .map(|held| held.map(|(list, _)| list))
            .map_err(|source| NodeError::HeldList {
                moderator: *moderator,
                source,
            })
    }

    /// Publishes a signed moderator list: kept here (so this node serves it
    /// to new followers) and gossiped on the moderator's topic.
    async fn publish_list(&mut self, bytes: Vec<u8>) -> Result<usize, NodeError> {
        let verified = open(&bytes, &self.network)?;
        let Message::ModeratorList(list) = &verified.message else {
            return Err(NodeError::NotAList);
        };
        if !self.apply_list(list, &verified.bytes)? {
            let held = self
                .held_sequence_list(&list.moderator)?
                .map_or(0, |l| l.sequence);
            if held > list.sequence {
                return Err(NodeError::StaleList {
                    held,
                    offered: list.sequence,
                });
            }
        }
        self.store.flush_async().await?;
        Ok(self.gossip_list(list.moderator, verified.bytes))
    }

    fn gossip_list(&mut self, moderator: PublicKey, bytes: Vec<u8>) -> usize {
        let topic = moderator_topic(&self.network, moderator).hash();
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        // A list sent (or received) in the last ten minutes is refused as a
        // duplicate by gossipsub: nothing went out then.
        match gossipsub.publish(topic.clone(), bytes) {
            Ok(_) => subscribed_peers(gossipsub, &topic),
            Err(e) => {
                tracing::debug!(%moderator, error = %e, "moderator list not sent");
                0
            }
        }
    }

    /// Sends own posts that found no peer when written, now that a peer of
    /// the channel is here; drops those whose time has passed.
    fn send_pending(&mut self, channel: &ChannelName) {
        let pending = match self.store.pending(channel) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "pending posts unreadable");
                return;
            }
        };
        let now = now_ms();
        let max_age = self.config.limits.messages.max_age_ms;
        for id in pending {
            let stored = match self.store.get_post(&id) {
                Ok(Some(stored)) => stored,
                _ => {
                    let _ = self.store.remove_pending(channel, &id);
                    continue;
                }
            };
            let expired = stored.expires_ms.is_some_and(|e| e <= now);
            let too_old = now.saturating_sub(stored.created_ms) > max_age;
            if expired || too_old {
                let _ = self.store.remove_pending(channel, &id);
                continue;
            }
            let peers = self.gossip(channel, &id, &stored.bytes);
            if peers > 0 {
                if let Err(e) = self.store.remove_pending(channel, &id) {
                    tracing::warn!(error = %e, "cannot clear pending mark");
                }
                self.flush_due
                    .get_or_insert_with(|| Instant::now() + FLUSH_DELAY);
                self.emit(Event::Sent {
                    id,
                    channel: channel.clone(),
                    peers,
                });
            }
        }
    }

    fn update_channel_peers(&mut self) {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mut changed = Vec::new();
        for (name, channel) in &mut self.channels {
            let peers = subscribed_peers(gossipsub, &channel.topic.hash());
            if peers != channel.peers {
                if peers > 0 && channel.peers == 0 {
                    channel.next_lookup = Instant::now() + LOOKUP_BUSY;
                }
                if peers == 0 {
                    // Alone again: look for others soon, then back off.
                    channel.lookup_gap = LOOKUP_FIRST;
                    channel.next_lookup = Instant::now() + LOOKUP_FIRST;
                }
                channel.peers = peers;
                changed.push((name.clone(), peers));
            }
        }
        for (channel, peers) in changed {
            self.emit(Event::ChannelPeers { channel, peers });
        }
    }

    // ----- timers ---------------------------------------------------------

    fn maintenance(&mut self) {
        let now = Instant::now();
        self.ban_low_scores(now);
        self.bans.retain(|peer, until| {
            let keep = *until > now;
            if !keep {
                self.swarm.behaviour_mut().blocked.unblock_peer(*peer);
            }
            keep
        });
        for channel in self.channels.values_mut() {
            if channel.next_lookup <= now {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .get_providers(channel.key.clone());
                channel.last_lookup = now;
                if channel.peers == 0 {
                    channel.next_lookup = now + channel.lookup_gap;
                    channel.lookup_gap = (channel.lookup_gap * 2).min(LOOKUP_EMPTY);
                } else {
                    channel.next_lookup = now + LOOKUP_BUSY;
                }
            }
        }
        if now >= self.next_bootstrap_retry {
            self.next_bootstrap_retry = now + BOOTSTRAP_RETRY;
            let connected = self
                .bootstrap_peers
                .iter()
                .any(|p| self.connections.contains_key(p));
            if !connected {
                self.dial_bootstrap();
            }
        }
        if now >= self.next_dht_refresh {
            self.next_dht_refresh = now + DHT_REFRESH;
            // Fails quietly when the routing table is empty.
            let _ = self.swarm.behaviour_mut().kad.bootstrap();
        }
        if now >= self.next_sweep {
            self.next_sweep = now + self.config.retention.sweep_interval;
            let retention = self.config.retention;
            let max_age = u64::try_from(retention.max_age.as_millis()).unwrap_or(u64::MAX);
            match self
                .store
                .sweep(now_ms(), max_age, retention.max_posts_per_channel)
            {
                Ok(stats) => tracing::debug!(?stats, "retention sweep"),
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
        }
    }

    /// Gossipsub never disconnects anyone: peers whose score fell under the
    /// graylist are disconnected here and refused for the ban duration.
    fn ban_low_scores(&mut self, now: Instant) {
        let graylist = score_thresholds().graylist_threshold;
        let low: Vec<(PeerId, f64)> = self
            .connections
            .keys()
            .filter_map(|peer| {
                let score = self.swarm.behaviour().gossipsub.peer_score(peer)?;
                (score < graylist).then_some((*peer, score))
            })
            .collect();
        for (peer, score) in low {
            tracing::info!(%peer, score, "peer banned for a low gossip score");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.bans
                .insert(peer, now + self.config.limits.ban_duration);
            self.emit(Event::PeerBanned { peer, score });
        }
    }

    fn dial_bootstrap(&mut self) {
        for address in self.config.bootstrap.clone() {
            if let Some(Protocol::P2p(peer)) = address.iter().last() {
                if self.connections.contains_key(&peer) || self.bans.contains_key(&peer) {
                    continue;
                }
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, without_p2p(address.clone()));
            }
            if let Err(e) = self.swarm.dial(dial_address(address.clone())) {
                tracing::warn!(%address, error = %e, "cannot dial bootstrap node");
            }
        }
    }

    fn is_bootstrap_address(&self, address: &Multiaddr) -> bool {
        let address = without_p2p(address.clone());
        self.config
            .bootstrap
            .iter()
            .any(|b| without_p2p(b.clone()) == address)
    }
}

/// The list held for `moderator`, with its envelope bytes; `Ok(None)` only
/// when none is stored. A store error or stored bytes that no longer
/// verify are errors, never "no list".
fn held_list(
    store: &Store,
    network: &NetworkId,
    moderator: &PublicKey,
) -> Result<Option<(ModeratorList, Vec<u8>)>, HeldListError> {
    let Some(bytes) = store
        .moderator_list(moderator)
        .map_err(HeldListError::Read)?
    else {
        return Ok(None);
    };
    match open(&bytes, network)
        .map_err(HeldListError::Corrupt)?
        .message
    {
        Message::ModeratorList(list) => Ok(Some((list, bytes))),
        Message::Post(_) => Err(HeldListError::NotAList),
    }
}

/// An entry the user adds must be usable: the wire rules, and for a regular
/// expression, that it compiles within the policy's limits (otherwise it
/// would be stored and then silently skipped).
fn check_entry(entry: &BlockEntry) -> Result<(), EntryError> {
    entry.check().map_err(EntryError::Rules)?;
    let probe = Policy::compile([PolicyList {
        id: ListId::Local,
        applies_to: Scope::All,
        entries: vec![entry.clone()],
    }]);
    match probe.problems().first() {
        Some(problem) => Err(EntryError::Unusable(problem.clone())),
        None => Ok(()),
    }
}

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

fn with_p2p(address: Multiaddr, peer: PeerId) -> Multiaddr {
    address.clone().with_p2p(peer).unwrap_or(address)
}

/// Dial options for an address, from a fresh local port: dialling from the
/// listen port lets two nodes that dial each other at once open one TCP
/// connection from both ends, whose handshake then fails on both sides
/// (libp2p/specs#389). Reusing the port only helps hole punching, which
/// hearth does not do.
fn dial_address(address: Multiaddr) -> DialOpts {
    DialOpts::unknown_peer_id()
        .address(address)
        .allocate_new_port()
        .build()
}

fn without_p2p(mut address: Multiaddr) -> Multiaddr {
    if matches!(address.iter().last(), Some(Protocol::P2p(_))) {
        address.pop();
    }
    address
}

#[cfg(test)]
mod tests {
    use hearth_protocol::{Keypair, PostDraft};

    use super::*;

    fn store() -> Store {
        Store::temporary(4 * 1024 * 1024).unwrap()
    }

    #[test]
    fn no_stored_list_is_none_and_a_stored_one_reads_back() {
        let store = store();
        let network = NetworkId::default();
        let moderator = Keypair::generate(&mut rand::rng());
        let key = moderator.public();
        assert!(held_list(&store, &network, &key).unwrap().is_none());
        let signed =
            ModeratorList::sign(&moderator, &network, 7, 1_700_000_000_000, "", vec![]).unwrap();
        store.put_moderator_list(&key, &signed.bytes).unwrap();
        let (list, bytes) = held_list(&store, &network, &key).unwrap().unwrap();
        assert_eq!((list.sequence, bytes), (7, signed.bytes));
    }

    #[test]
    fn a_corrupt_held_list_is_an_error_not_no_list() {
        let store = store();
        let network = NetworkId::default();
        let key = Keypair::generate(&mut rand::rng()).public();
        store
            .put_moderator_list(&key, b"not an envelope at all")
            .unwrap();
        assert!(matches!(
            held_list(&store, &network, &key),
            Err(HeldListError::Corrupt(_))
        ));
    }

    #[test]
    fn a_post_stored_as_a_list_is_an_error_not_no_list() {
        let store = store();
        let network = NetworkId::default();
        let author = Keypair::generate(&mut rand::rng());
        let channel = hearth_protocol::ChannelName::parse("grief").unwrap();
        let post = PostDraft::new(channel, "hello", 1_700_000_000_000)
            .sign(&author, &network, 0)
            .unwrap();
        let key = author.public();
        store.put_moderator_list(&key, &post.bytes).unwrap();
        assert!(matches!(
            held_list(&store, &network, &key),
            Err(HeldListError::NotAList)
        ));
    }
}
