//! History sync, the shell: runs the decisions of [`crate::sync`] against
//! the swarm and the store.
//!
//! - **When** ([`Schedule`]): a round when a channel is joined, when a
//!   moderator is followed and every `interval` (± `jitter`) after; and a
//!   sync with a peer as soon as it subscribes to a joined channel's topic
//!   or a followed moderator's (a new peer, or one that reconnected). The
//!   1 s sync timer of the loop calls [`Service::sync_tick`].
//! - **Asking** ([`PostSession`], [`ListSession`]): each session sends
//!   one request at a time; every post or list that comes back is judged
//!   by the inbox exactly like gossip ([`Service::take_synced_post`]).
//!   Invalid ones penalise the serving peer ([`Penalties`]) through its
//!   gossip score, and so the same bans. When a session ends the node
//!   emits [`Event::Synced`].
//! - **Answering** ([`Service::serve`]): only for joined channels, never a
//!   post the policy hides or that expired, within each peer's request and
//!   byte budgets ([`Budgets`]).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use hearth_protocol::{ChannelName, Message, MessageId, PublicKey, Topic, open_stored};
use libp2p::PeerId;
use libp2p::request_response::{self, OutboundFailure, OutboundRequestId, ResponseChannel};
use rand::RngExt;

use super::inbox::Taken;
use super::{Service, lists, moderator_topic};
use crate::config::NodeConfig;
use crate::event::{Event, SyncReport};
use crate::swarm::score_thresholds;
use crate::sync::penalty::Penalties;
use crate::sync::refused::Refused;
use crate::sync::schedule::{Schedule, Target, Timing};
use crate::sync::serve::{Budgets, ItemCache, servable};
use crate::sync::session::{Counts, Failure, ListSession, PostSession, response_len};
use crate::sync::wire::{HeldCard, MAX_RESPONSE_BYTES, Refusal, Request, Response, WantedList};
use crate::sync::{Items, respond};

/// gossipsub's default weight of the application score, by which it
/// multiplies what [`Penalties`] hands it.
const APP_SCORE_WEIGHT: f64 = 10.0;

/// One sync with one peer.
#[derive(Debug)]
enum Session {
    /// Boxed: a post session is several times larger than a list session.
    Posts(Box<PostSession>),
    /// Moderator lists, or crisis-directory updates: the same exchange.
    Lists(ListSession),
}

#[derive(Debug)]
struct Running {
    session: Session,
    received: usize,
    refused: usize,
}

impl Running {
    fn counts(&self) -> Counts {
        match &self.session {
            Session::Posts(s) => s.counts(),
            Session::Lists(s) => s.counts(),
        }
    }
}

type Key = (Target, PeerId);

/// History sync's state in the node task.
#[derive(Debug)]
pub(crate) struct SyncState {
    schedule: Schedule,
    sessions: HashMap<Key, Running>,
    requests: HashMap<OutboundRequestId, Key>,
    budgets: Budgets,
    penalties: Penalties,
    refused: Refused<MessageId>,
    /// Posts each peer advertised and left out of its answers.
    omitted: Refused<(PeerId, MessageId)>,
    cache: ItemCache,
    /// The publishers trusted for crisis-directory updates.
    crisis_keys: HashSet<PublicKey>,
}

impl SyncState {
    pub(super) fn new(config: &NodeConfig, now: Instant) -> Self {
        let limits = config.limits.sync;
        let mut schedule = Schedule::new(Timing {
            period: limits.interval,
            jitter: limits.jitter,
            per_round: limits.peers_per_round.max(1),
            cooldown: limits.peer_cooldown,
        });
        schedule.add(Target::Lists, now);
        schedule.add(Target::Crisis, now);
        Self {
            schedule,
            sessions: HashMap::new(),
            requests: HashMap::new(),
            budgets: Budgets::new(limits.requests_per_peer, limits.kib_per_peer),
            penalties: Penalties::default(),
            refused: Refused::default(),
            omitted: Refused::default(),
            cache: ItemCache::default(),
            crisis_keys: HashSet::new(),
        }
    }
}

impl Service {
    // ----- when -----------------------------------------------------------

    /// A channel was joined: sync it now with the peers already in it.
    pub(super) fn sync_joined(&mut self, channel: &ChannelName) {
        self.sync
            .schedule
            .add(Target::Channel(channel.clone()), Instant::now());
        self.sync_tick(Instant::now());
    }

    /// A channel was left: stop syncing it.
    pub(super) fn sync_left(&mut self, channel: &ChannelName) {
        let target = Target::Channel(channel.clone());
        self.sync.schedule.remove(&target);
        self.sync.sessions.retain(|(t, _), _| t != &target);
        self.sync.cache.forget(channel);
    }

    /// A moderator was followed: ask peers for lists now.
    pub(super) fn sync_followed(&mut self) {
        self.sync.schedule.kick(&Target::Lists, Instant::now());
        self.sync_tick(Instant::now());
    }

    /// The publishers trusted for crisis-directory updates changed: ask
    /// peers for their updates now if one was added.
    pub(super) fn sync_crisis_keys(&mut self, keys: HashSet<PublicKey>) {
        let added = keys.iter().any(|k| !self.sync.crisis_keys.contains(k));
        self.sync.crisis_keys = keys;
        if added {
            self.sync.schedule.kick(&Target::Crisis, Instant::now());
            self.sync_tick(Instant::now());
        }
    }

    /// A peer subscribed to `topic`: sync with it if the topic is a joined
    /// channel's, a followed moderator's or a trusted publisher's.
    pub(super) fn sync_subscribed(&mut self, peer: PeerId, topic: &libp2p::gossipsub::TopicHash) {
        let target = if let Some(channel) = self.channel_of(topic) {
            // A publisher's node does not subscribe to its own topic: a
            // peer of a joined channel is asked for trusted updates too.
            if !self.sync.crisis_keys.is_empty()
                && self
                    .sync
                    .schedule
                    .appeared(&Target::Crisis, peer, Instant::now())
            {
                self.start_session(Target::Crisis, peer);
            }
            Target::Channel(channel)
        } else {
            match Topic::parse(topic.as_str()) {
                Ok(Topic::Moderator { network, moderator })
                    if network == self.network && self.moderators.contains(&moderator) =>
                {
                    Target::Lists
                }
                Ok(Topic::Moderator { network, moderator })
                    if network == self.network && self.sync.crisis_keys.contains(&moderator) =>
                {
                    Target::Crisis
                }
                _ => return,
            }
        };
        if self.sync.schedule.appeared(&target, peer, Instant::now()) {
            self.start_session(target, peer);
        }
    }

    /// The sync timer: due rounds, and penalties brought up to date.
    pub(super) fn sync_tick(&mut self, now: Instant) {
        let peers = self.sync_peers();
        let random = rand::rng().random::<u64>();
        let due = self.sync.schedule.due(now, random, &|target| {
            peers.get(target).cloned().unwrap_or_default()
        });
        for (target, peer) in due {
            self.start_session(target, peer);
        }
        let mono = self.uptime.now_ms();
        for (peer, score) in self.sync.penalties.scores(mono) {
            self.swarm
                .behaviour_mut()
                .gossipsub
                .set_application_score(&peer, score);
        }
    }

    /// The peers of each target: those subscribed to a joined channel's
    /// topic; for lists, those subscribed to a followed moderator's topic
    /// first, then every other peer in a joined channel (any of them may
    /// follow the moderator too).
    fn sync_peers(&self) -> HashMap<Target, Vec<PeerId>> {
        let mut peers: HashMap<Target, Vec<PeerId>> = HashMap::new();
        let moderator_topics: HashSet<_> = self
            .moderators
            .iter()
            .map(|m| moderator_topic(&self.network, *m).hash())
            .collect();
        let crisis_topics: HashSet<_> = self
            .sync
            .crisis_keys
            .iter()
            .map(|k| moderator_topic(&self.network, *k).hash())
            .collect();
        let mut followers = Vec::new();
        let mut trusting = Vec::new();
        let mut others = Vec::new();
        for (peer, topics) in self.swarm.behaviour().gossipsub.all_peers() {
            if self.bans.is_banned(peer) || !self.connections.contains_key(peer) {
                continue;
            }
            let mut in_channel = false;
            let mut follows = false;
            let mut trusts = false;
            for topic in topics {
                if let Some(channel) = self.channel_of(topic) {
                    in_channel = true;
                    peers
                        .entry(Target::Channel(channel))
                        .or_default()
                        .push(*peer);
                } else {
                    follows |= moderator_topics.contains(topic);
                    trusts |= crisis_topics.contains(topic);
                }
            }
            if trusts {
                trusting.push(*peer);
            }
            if follows {
                followers.push(*peer);
            } else if in_channel {
                others.push(*peer);
            }
        }
        if !self.sync.crisis_keys.is_empty() {
            // Those that trust a publisher first; the publisher's own node
            // is among the others (it does not subscribe to its topic).
            let mut crisis = trusting.clone();
            crisis.extend(
                followers
                    .iter()
                    .chain(&others)
                    .filter(|p| !trusting.contains(p)),
            );
            peers.insert(Target::Crisis, crisis);
        }
        if !self.moderators.is_empty() {
            followers.extend(others);
            peers.insert(Target::Lists, followers);
        }
        peers
    }

    // ----- asking ---------------------------------------------------------

    fn start_session(&mut self, target: Target, peer: PeerId) {
        let started = match &target {
            Target::Channel(channel) => self.start_post_session(channel),
            Target::Lists => self.start_list_session(),
            Target::Crisis => self.start_crisis_session(),
        };
        match started {
            Some((session, request)) => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                let key = (target, peer);
                self.sync.requests.insert(id, key.clone());
                self.sync.sessions.insert(
                    key,
                    Running {
                        session,
                        received: 0,
                        refused: 0,
                    },
                );
            }
            None => self.sync.schedule.finished(&target, peer, Instant::now()),
        }
    }

    fn start_post_session(&mut self, channel: &ChannelName) -> Option<(Session, Request)> {
        let since = self.inbox.sync_since(self.now().wall_ms);
        let items = match self.channel_items(channel, since) {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(%channel, error = %e, "cannot read the channel's posts; not synced");
                return None;
            }
        };
        match Items::new(items).and_then(|items| PostSession::start(channel.clone(), since, items))
        {
            Ok((mut session, request)) => {
                session.set_held_card(self.held_card_summary(channel));
                Some((Session::Posts(Box::new(session)), request))
            }
            Err(e) => {
                tracing::warn!(%channel, error = %e, "cannot start reconciling");
                None
            }
        }
    }

    /// The card held for `channel`, as a card request names it. An
    /// unreadable card counts as none: any card offered is then judged.
    fn held_card_summary(&self, channel: &ChannelName) -> Option<HeldCard> {
        self.held_card(channel).ok().flatten().map(|card| HeldCard {
            founder: card.founder,
            created_ms: card.created_ms,
        })
    }

    fn start_list_session(&mut self) -> Option<(Session, Request)> {
        let moderators: Vec<PublicKey> = self.moderators.iter().copied().collect();
        let held = self.held_sequences(&moderators);
        let (session, request) =
            ListSession::start(moderators, &|m| held.get(m).copied().flatten())?;
        Some((Session::Lists(session), request))
    }

    fn start_crisis_session(&mut self) -> Option<(Session, Request)> {
        let publishers: Vec<PublicKey> = self.sync.crisis_keys.iter().copied().collect();
        let held = self.held_crisis_sequences(&publishers);
        let (session, request) =
            ListSession::crisis(publishers, &|p| held.get(p).copied().flatten())?;
        Some((Session::Lists(session), request))
    }

    /// The sequence of the update held from each publisher; an unreadable
    /// one counts as the highest (nothing would replace it).
    fn held_crisis_sequences(&self, publishers: &[PublicKey]) -> HashMap<PublicKey, Option<u64>> {
        publishers
            .iter()
            .map(|p| {
                let held = match self.held_crisis_sequence(p) {
                    Ok(held) => held,
                    Err(_) => Some(u64::MAX),
                };
                (*p, held)
            })
            .collect()
    }

    /// The sequence of the list held for each moderator. A list that cannot
    /// be read counts as held at the highest sequence: nothing is asked
    /// for it, as nothing would replace it (see `lists::held_list`).
    fn held_sequences(&self, moderators: &[PublicKey]) -> HashMap<PublicKey, Option<u64>> {
        moderators
            .iter()
            .map(|m| {
                let held = match lists::held_list(&self.store, &self.network, m) {
                    Ok(list) => list.map(|(list, _)| list.sequence),
                    Err(_) => Some(u64::MAX),
                };
                (*m, held)
            })
            .collect()
    }

    /// The `(created_ms, id)` items of `channel` created at or after
    /// `since_ms`, from the cache while the store is unchanged.
    fn channel_items(
        &mut self,
        channel: &ChannelName,
        since_ms: u64,
    ) -> Result<Vec<(u64, MessageId)>, crate::store::StoreError> {
        // Nothing older than this channel keeps is offered or asked for: the
        // sweep is about to delete it, and it is never served.
        let oldest = self
            .config
            .retention
            .keep(channel)
            .oldest_kept(self.now().wall_ms);
        let since_ms = since_ms.max(oldest);
        let count = self.store.post_count();
        let mono = self.uptime.now_ms();
        if let Some(items) = self.sync.cache.get(channel, since_ms, count, mono) {
            return Ok(items);
        }
        let all = self.store.channel_items(channel)?;
        let from = all.partition_point(|(t, _)| *t < since_ms);
        let items = all.get(from..).unwrap_or_default().to_vec();
        self.sync.cache.put(channel.clone(), all, count, mono);
        Ok(items)
    }

    /// Events of the sync behaviour.
    pub(super) fn on_sync(&mut self, event: request_response::Event<Request, Response>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.serve(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.on_sync_response(peer, request_id, response),
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let Some(key) = self.sync.requests.remove(&request_id) else {
                    return;
                };
                let Some(running) = self.sync.sessions.remove(&key) else {
                    return;
                };
                // A malformed or oversized answer is the peer's doing.
                let malformed = matches!(&error, OutboundFailure::Io(e) if e.kind() == std::io::ErrorKind::InvalidData);
                let failure = if malformed {
                    Failure::Violation(format!("malformed answer: {error}"))
                } else {
                    Failure::Transport(error.to_string())
                };
                if malformed {
                    self.penalise(peer, 1);
                }
                self.end_session(key, &running, Some(failure));
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "sync request from a peer failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_sync_response(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        response: Response,
    ) {
        let Some(key) = self.sync.requests.remove(&request_id) else {
            return;
        };
        let Some(mut running) = self.sync.sessions.remove(&key) else {
            return;
        };
        let result = match &mut running.session {
            Session::Posts(session) => self.continue_posts(
                peer,
                session,
                &mut running.received,
                &mut running.refused,
                response,
            ),
            Session::Lists(session) if key.0 == Target::Crisis => self.continue_crisis(
                peer,
                session,
                &mut running.received,
                &mut running.refused,
                response,
            ),
            Session::Lists(session) => self.continue_lists(
                peer,
                session,
                &mut running.received,
                &mut running.refused,
                response,
            ),
        };
        match result {
            Ok(Some(request)) => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.sync.requests.insert(id, key.clone());
                self.sync.sessions.insert(key, running);
            }
            Ok(None) => self.end_session(key, &running, None),
            Err(failure) => {
                if failure.is_violation() {
                    self.penalise(peer, 1);
                }
                self.end_session(key, &running, Some(failure));
            }
        }
    }

    fn continue_posts(
        &mut self,
        peer: PeerId,
        session: &mut PostSession,
        received: &mut usize,
        refused: &mut usize,
        response: Response,
    ) -> Result<Option<Request>, Failure> {
        let channel = session.channel().clone();
        if !self.channels.contains_key(&channel) {
            return Err(Failure::Transport("the channel was left".to_owned()));
        }
        let posts = session.on_response(response)?;
        if let Some(card) = session.take_card() {
            match self.take_synced_card(&channel, &card) {
                Taken::Stored => *received += 1,
                Taken::Invalid => {
                    *refused += 1;
                    tracing::info!(%peer, %channel, "peer served an invalid channel card");
                    self.penalise(peer, 1);
                }
                Taken::Refused | Taken::Ignored => *refused += 1,
            }
        }
        let mut invalid = 0;
        let mut over_rate = false;
        for bytes in posts {
            if !self.inbox.admit_synced(&peer, self.now()) {
                over_rate = true;
                break;
            }
            match self.take_synced_post(&channel, &bytes) {
                Taken::Stored => *received += 1,
                Taken::Ignored => {}
                Taken::Refused => {
                    *refused += 1;
                    let mono = self.uptime.now_ms();
                    self.sync.refused.insert(MessageId::of(&bytes), mono);
                }
                Taken::Invalid => {
                    *refused += 1;
                    invalid += 1;
                    let mono = self.uptime.now_ms();
                    self.sync.refused.insert(MessageId::of(&bytes), mono);
                }
            }
        }
        if invalid > 0 {
            tracing::info!(%peer, %channel, invalid, "peer served invalid posts");
            self.penalise(peer, invalid);
        }
        if over_rate {
            return Err(Failure::Transport(
                "the peer's post rate is used up".to_owned(),
            ));
        }
        let mono = self.uptime.now_ms();
        for id in session.take_omitted() {
            self.sync.omitted.insert((peer, id), mono);
        }
        let store = &self.store;
        let refused_ids = &self.sync.refused;
        let omitted = &self.sync.omitted;
        let moderation = &self.moderation;
        let others: Vec<&PostSession> = self
            .sync
            .sessions
            .iter()
            .filter_map(|((target, _), r)| match (&r.session, target) {
                (Session::Posts(s), Target::Channel(c)) if c == &channel => Some(&**s),
                _ => None,
            })
            .collect();
        // A store read error counts as known: better to skip a post this
        // round than to fetch what may be there.
        let lacks = |id: &MessageId| {
            !refused_ids.contains(id, mono)
                && !omitted.contains(&(peer, *id), mono)
                && !moderation.blocks_id(id, &channel)
                && matches!(store.is_seen(id), Ok(false))
        };
        let busy = |id: &MessageId| others.iter().any(|s| s.is_asking(id));
        Ok(session.next(&lacks, &busy))
    }

    fn continue_lists(
        &mut self,
        peer: PeerId,
        session: &mut ListSession,
        received: &mut usize,
        refused: &mut usize,
        response: Response,
    ) -> Result<Option<Request>, Failure> {
        let counts = (received, refused);
        self.take_signed_by(
            peer,
            session,
            counts,
            response,
            Self::take_synced_list,
            "moderator lists",
        )?;
        let moderators: Vec<PublicKey> = self.moderators.iter().copied().collect();
        let held = self.held_sequences(&moderators);
        Ok(session.next(&|m| held.get(m).copied().flatten()))
    }

    fn continue_crisis(
        &mut self,
        peer: PeerId,
        session: &mut ListSession,
        received: &mut usize,
        refused: &mut usize,
        response: Response,
    ) -> Result<Option<Request>, Failure> {
        let counts = (received, refused);
        self.take_signed_by(
            peer,
            session,
            counts,
            response,
            Self::take_synced_crisis,
            "crisis-directory updates",
        )?;
        let publishers: Vec<PublicKey> = self.sync.crisis_keys.iter().copied().collect();
        let held = self.held_crisis_sequences(&publishers);
        Ok(session.next(&|p| held.get(p).copied().flatten()))
    }

    /// Takes what a list-like session's answer carries (moderator lists,
    /// crisis-directory updates: messages named by their signer), counts
    /// it, penalises `peer` for invalid ones, and fails the session when
    /// it carries a signer nobody asked for.
    fn take_signed_by(
        &mut self,
        peer: PeerId,
        session: &mut ListSession,
        (received, refused): (&mut usize, &mut usize),
        response: Response,
        take: fn(&mut Self, &[u8]) -> (Option<PublicKey>, Taken),
        what: &str,
    ) -> Result<(), Failure> {
        let messages = session.on_response(response)?;
        let mut invalid = 0;
        let mut unasked = false;
        for bytes in messages {
            let (signer, taken) = take(self, &bytes);
            if signer.is_some_and(|s| !session.asked(&s)) {
                unasked = true;
            }
            match taken {
                Taken::Stored => *received += 1,
                Taken::Invalid => {
                    *refused += 1;
                    invalid += 1;
                }
                Taken::Refused | Taken::Ignored => *refused += 1,
            }
        }
        if invalid > 0 {
            tracing::info!(%peer, invalid, what, "peer served invalid signed messages");
            self.penalise(peer, invalid);
        }
        if unasked {
            return Err(Failure::Violation(format!("{what} nobody asked for")));
        }
        Ok(())
    }

    fn end_session(&mut self, key: Key, running: &Running, failure: Option<Failure>) {
        let (target, peer) = key;
        self.sync.schedule.finished(&target, peer, Instant::now());
        let counts = running.counts();
        let channel = match target {
            Target::Channel(channel) => Some(channel),
            Target::Lists | Target::Crisis => None,
        };
        match &failure {
            None => tracing::debug!(%peer, ?channel, ?counts, "synced"),
            Some(f) => tracing::debug!(%peer, ?channel, ?counts, failure = %f, "sync ended early"),
        }
        self.emit(Event::Synced(Box::new(SyncReport {
            peer,
            channel,
            rounds: counts.rounds,
            reconcile_bytes: counts.reconcile_bytes,
            fetch_bytes: counts.fetch_bytes,
            needed: counts.needed,
            requested: counts.requested,
            received: running.received,
            refused: running.refused,
            error: failure.map(|f| f.to_string()),
        })));
    }

    /// Counts offences against `peer` into its gossip score; a peer that
    /// gossipsub does not score is banned here once the same score would
    /// put it under the graylist.
    pub(super) fn penalise(&mut self, peer: PeerId, offences: usize) {
        let mono = self.uptime.now_ms();
        let score = self.sync.penalties.offend(peer, offences, mono);
        let scored = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, score);
        if !scored
            && score * APP_SCORE_WEIGHT < score_thresholds().graylist_threshold
            && !self.bans.is_banned(&peer)
        {
            tracing::info!(%peer, score, "peer banned for serving invalid sync data");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            self.bans.ban(peer, Instant::now());
            self.emit(Event::PeerBanned {
                peer,
                score: score * APP_SCORE_WEIGHT,
            });
            self.ban_addresses(peer, Instant::now());
        }
    }

    // ----- answering --------------------------------------------------------

    /// Answers a peer's request, within its budgets.
    fn serve(&mut self, peer: PeerId, request: Request, reply: ResponseChannel<Response>) {
        let mono = self.uptime.now_ms();
        let response = if self.sync.budgets.admit(&peer, mono) {
            self.answer(peer, request)
        } else {
            Response::Refused(Refusal::Busy)
        };
        let response = if self
            .sync
            .budgets
            .spend(&peer, response_len(&response), mono)
        {
            response
        } else {
            Response::Refused(Refusal::Busy)
        };
        // Fails only when the peer gave up waiting.
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(reply, response);
    }

    fn answer(&mut self, peer: PeerId, request: Request) -> Response {
        match request {
            Request::Reconcile {
                channel,
                since_ms,
                frame,
            } => {
                if !self.channels.contains_key(&channel) {
                    return Response::Refused(Refusal::NotJoined);
                }
                let items = match self.channel_items(&channel, since_ms) {
                    Ok(items) => items,
                    Err(e) => {
                        tracing::warn!(%channel, error = %e, "cannot read the channel's posts to answer a peer");
                        return Response::Refused(Refusal::Busy);
                    }
                };
                match Items::new(items).and_then(|items| respond(&items, &frame)) {
                    Ok(frame) => Response::Reconcile { frame },
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "bad reconciliation frame");
                        self.penalise(peer, 1);
                        Response::Refused(Refusal::BadRequest)
                    }
                }
            }
            Request::Posts { channel, ids } => {
                if !self.channels.contains_key(&channel) {
                    return Response::Refused(Refusal::NotJoined);
                }
                Response::Posts {
                    posts: self.servable_posts(&channel, &ids),
                }
            }
            Request::Lists { wanted } => {
                newer_envelopes(&wanted, |moderator| {
                    match lists::held_list(&self.store, &self.network, moderator) {
                        Ok(held) => held.map(|(list, bytes)| (list.sequence, bytes)),
                        Err(e) => {
                            tracing::warn!(%moderator, error = %e, "held moderator list unreadable; not served");
                            None
                        }
                    }
                })
            }
            Request::Card { channel, held } => {
                if !self.channels.contains_key(&channel) {
                    return Response::Refused(Refusal::NotJoined);
                }
                self.servable_card(&channel, held.as_ref())
            }
            Request::CrisisUpdates { wanted } => {
                newer_envelopes(&wanted, |publisher| self.servable_crisis(publisher))
            }
        }
    }

    /// The card this node holds for `channel`, unless the requester holds
    /// it or a newer one by the same founder. Served exactly as stored: a
    /// card announced again by its founder keeps the founder's signature.
    fn servable_card(&self, channel: &ChannelName, held: Option<&HeldCard>) -> Response {
        let bytes = match self.store.card(channel) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Response::Card { card: None },
            Err(e) => {
                tracing::warn!(%channel, error = %e, "held card unreadable; not served");
                return Response::Card { card: None };
            }
        };
        let card = match self.held_card(channel) {
            Ok(Some(card)) => card,
            _ => return Response::Card { card: None },
        };
        if held.is_some_and(|h| !h.is_outdated_by(&card.founder, card.created_ms)) {
            return Response::Card { card: None };
        }
        Response::Card { card: Some(bytes) }
    }

    /// The asked-for posts of `channel` this node serves.
    fn servable_posts(&self, channel: &ChannelName, ids: &[MessageId]) -> Vec<Vec<u8>> {
        let now = self.now().wall_ms;
        let mut posts = Vec::new();
        for id in ids {
            // Only what this node keeps: never a post past its expiry or its
            // channel's retention, even before the sweep has deleted it.
            let stored = match self.store.kept_post(id, now, &self.config.retention) {
                Ok(Some(stored)) => stored,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(id = %id.short(), error = %e, "stored post unreadable; not served");
                    continue;
                }
            };
            // The verdict needs the post itself; one that no longer decodes
            // is not served at all. Its signature was checked before it was
            // stored.
            let hidden = match open_stored(&stored.bytes, &self.network) {
                Ok(verified) => match &verified.message {
                    Message::Post(post) => self.moderation.verdict(id, post).is_some(),
                    _ => continue,
                },
                Err(_) => continue,
            };
            if servable(&stored, channel, now, hidden) {
                posts.push(stored.bytes);
            }
        }
        posts
    }
}

/// The answer to a `Lists` or `CrisisUpdates` request: for each key asked
/// about, in order, the envelope `held(key)` gives (with its sequence) if
/// it is newer than the requester's, until the response would exceed its
/// limit (then `complete` is false).
fn newer_envelopes(
    wanted: &[WantedList],
    held: impl Fn(&PublicKey) -> Option<(u64, Vec<u8>)>,
) -> Response {
    let mut lists = Vec::new();
    let mut size = 1 + 3 + 1;
    let mut complete = true;
    for want in wanted {
        let Some((sequence, bytes)) = held(&want.moderator) else {
            continue;
        };
        if want.held.is_some_and(|h| h >= sequence) {
            continue;
        }
        if size + bytes.len() + 3 > MAX_RESPONSE_BYTES {
            complete = false;
            break;
        }
        size += bytes.len() + 3;
        lists.push(bytes);
    }
    Response::Lists { lists, complete }
}
