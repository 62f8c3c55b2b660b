//! Publishing own posts, and the outbox of those that found no peer.
//!
//! [`Outbox`] decides which own posts wait for peers, when they go out and
//! when they are given up; it takes wall-clock `now` (posts are dated, and
//! judged by peers, on the wall clock) and peer counts as parameters and
//! never sees the swarm or the store. The store's `pending` tree is its
//! durable copy: a post is marked there when it starts waiting and
//! unmarked when it is sent or given up, and a channel's marks are loaded
//! back into the outbox when the channel is joined.
//!
//! A post is given up, with [`Event::Undelivered`] saying why, when its
//! author-chosen expiry passes or it grows older than peers accept
//! (`NodeLimits::messages.max_age_ms`): it would be refused anyway. It is
//! never dropped silently.
//!
//! The outbox also paces: own posts go out no faster than the per-persona
//! limit peers apply ([`crate::rate::authors`]), with one token of margin
//! so that network jitter never puts a post over a peer's limit. A post
//! that would exceed it waits in the outbox like one without peers (stored,
//! shown, marked pending in the store) and goes out, oldest first, as
//! tokens return; the person is told with [`Event::Paced`]. At most
//! [`MAX_QUEUED`] posts wait per channel; past that a publish fails with
//! [`NodeError::QueueFull`], so nothing is lost without a word.

use std::collections::{BTreeSet, HashMap};

use hearth_protocol::{BuildError, ChannelName, MessageId, PostDraft, SignedMessage};

use super::{Reply, Service, Signed, subscribed_peers};
use crate::clock::now_ms;
use crate::config::NodeLimits;
use crate::error::NodeError;
use crate::event::{Event, Origin, PostRecord, Published, UndeliveredReason};
use crate::handle::PostOptions;
use crate::rate::authors::{Authors, Tiers};
use crate::store::StoredPost;

/// An own post waiting for peers of its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pending {
    /// When it was written; the oldest goes first.
    pub created_ms: u64,
    /// The post.
    pub id: MessageId,
    /// When it expires, if its author chose so.
    pub expires_ms: Option<u64>,
}

/// What to do with one waiting post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Gossip it now; call [`Outbox::remove`] once it reached a peer.
    Send {
        /// Its channel.
        channel: ChannelName,
        /// The post.
        id: MessageId,
    },
    /// Stop waiting for it and say so: it can no longer be delivered. The
    /// outbox has already let go of it.
    GiveUp {
        /// Its channel.
        channel: ChannelName,
        /// The post.
        id: MessageId,
        /// Why.
        reason: UndeliveredReason,
    },
}

/// A waiting post that went out.
struct Sent {
    /// To how many peers.
    peers: usize,
    /// It was written before the node started (it waited across a stop).
    earlier: bool,
}

/// Most own posts that wait in one channel.
pub(crate) const MAX_QUEUED: usize = 1_000;

/// Most channels whose own pace is remembered.
const PACED_CHANNELS: usize = 1_024;

/// Own posts waiting for peers or for the rate limit, per channel.
#[derive(Debug)]
pub(crate) struct Outbox {
    max_age_ms: u64,
    waiting: HashMap<ChannelName, BTreeSet<Pending>>,
    /// The own persona's pace in each channel (one persona per channel).
    pace: Authors<ChannelName>,
}

impl Outbox {
    /// An empty outbox; posts older than `max_age_ms` are given up, posts
    /// are paced by the per-persona limits of `limits`.
    pub(super) fn new(limits: &NodeLimits) -> Self {
        Self {
            max_age_ms: limits.messages.max_age_ms,
            waiting: HashMap::new(),
            pace: Authors::new(Tiers::of(limits).with_margin(1), PACED_CHANNELS),
        }
    }

    /// Takes a token to send one own post in `channel` at monotonic
    /// `mono_ms`, or says in how many ms the next comes. Never when posts
    /// already wait there: they go first.
    pub(super) fn pace(&mut self, channel: &ChannelName, mono_ms: u64) -> Result<(), u64> {
        if self.waiting.contains_key(channel) {
            return Err(self.next_in_ms(channel, mono_ms));
        }
        self.pace.take(channel, mono_ms)
    }

    /// When the next own post of `channel` may go, in ms from `mono_ms`.
    pub(super) fn next_in_ms(&self, channel: &ChannelName, mono_ms: u64) -> u64 {
        self.pace.next_in_ms(channel, mono_ms)
    }

    /// Whether `channel` has room for another waiting post.
    pub(super) fn has_room(&self, channel: &ChannelName) -> bool {
        self.waiting.get(channel).map_or(0, BTreeSet::len) < MAX_QUEUED
    }

    /// How many posts wait in `channel`.
    pub(super) fn waiting(&self, channel: &ChannelName) -> usize {
        self.waiting.get(channel).map_or(0, BTreeSet::len)
    }

    /// The channels where posts wait.
    pub(super) fn channels(&self) -> Vec<ChannelName> {
        self.waiting.keys().cloned().collect()
    }

    /// An own post of `channel` that reached no peer starts waiting.
    pub(super) fn hold(&mut self, channel: &ChannelName, post: Pending) {
        self.waiting
            .entry(channel.clone())
            .or_default()
            .insert(post);
    }

    /// `channel` has `peers` peers at wall-clock `now_ms` and monotonic
    /// `mono_ms`: the posts to give up, then (with peers) the rest to send,
    /// oldest first, as many as the pace allows.
    pub(super) fn on_peers(
        &mut self,
        channel: &ChannelName,
        peers: usize,
        now_ms: u64,
        mono_ms: u64,
    ) -> Vec<Step> {
        let Some(posts) = self.waiting.get_mut(channel) else {
            return Vec::new();
        };
        let mut steps = give_up(channel, posts, self.max_age_ms, now_ms);
        if peers > 0 {
            for post in posts.iter() {
                if self.pace.take(channel, mono_ms).is_err() {
                    break;
                }
                steps.push(Step::Send {
                    channel: channel.clone(),
                    id: post.id,
                });
            }
        }
        if posts.is_empty() {
            self.waiting.remove(channel);
        }
        steps
    }

    /// The posts of every channel that aged out by `now_ms`, given up.
    pub(super) fn give_up_aged(&mut self, now_ms: u64) -> Vec<Step> {
        let max_age_ms = self.max_age_ms;
        let mut steps = Vec::new();
        for (channel, posts) in &mut self.waiting {
            steps.extend(give_up(channel, posts, max_age_ms, now_ms));
        }
        self.waiting.retain(|_, posts| !posts.is_empty());
        steps
    }

    /// The post went out (or is gone): it waits no more.
    pub(super) fn remove(&mut self, channel: &ChannelName, id: &MessageId) {
        if let Some(posts) = self.waiting.get_mut(channel) {
            posts.retain(|post| post.id != *id);
            if posts.is_empty() {
                self.waiting.remove(channel);
            }
        }
    }

    /// The node left `channel`: its posts stay marked in the store and are
    /// loaded again at the next join.
    pub(super) fn forget(&mut self, channel: &ChannelName) {
        self.waiting.remove(channel);
    }
}

/// When an own post written at wall-clock `wall_ms` is dated, the last
/// one having been dated `last_ms`: strictly after it, so that posts handed
/// over within one millisecond still read in the order written, unless
/// the clock was set back by more than a second (then the clock wins: a
/// post dated far ahead of it would be refused by peers as from the
/// future).
fn own_time(wall_ms: u64, last_ms: u64) -> u64 {
    let next = last_ms.saturating_add(1);
    if next > wall_ms && next - wall_ms <= OWN_TIME_SLACK_MS {
        next
    } else {
        wall_ms
    }
}

/// How far ahead of the clock [`own_time`] may date a post.
const OWN_TIME_SLACK_MS: u64 = 1_000;

/// Removes the posts of `posts` that can no longer be delivered at
/// `now_ms` and returns them as steps.
fn give_up(
    channel: &ChannelName,
    posts: &mut BTreeSet<Pending>,
    max_age_ms: u64,
    now_ms: u64,
) -> Vec<Step> {
    let mut steps = Vec::new();
    posts.retain(|post| {
        let reason = if post.expires_ms.is_some_and(|e| e <= now_ms) {
            UndeliveredReason::Expired
        } else if now_ms.saturating_sub(post.created_ms) > max_age_ms {
            UndeliveredReason::TooOld
        } else {
            return true;
        };
        steps.push(Step::GiveUp {
            channel: channel.clone(),
            id: post.id,
            reason,
        });
        false
    });
    steps
}

impl Service {
    pub(super) fn publish(
        &mut self,
        channel: ChannelName,
        options: PostOptions,
        reply: Reply<Published>,
    ) {
        if !self.channels.contains_key(&channel) {
            let _ = reply.send(Err(NodeError::NotJoined(channel)));
            return;
        }
        if !self.outbox.has_room(&channel) {
            let queued = self.outbox.waiting(&channel);
            let _ = reply.send(Err(NodeError::QueueFull { channel, queued }));
            return;
        }
        let now = own_time(now_ms(), self.last_own_ms);
        self.last_own_ms = now;
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
        let stamp = match self.persona_stamp(&channel, &persona) {
            Ok(stamp) => stamp,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let difficulty = self.config.limits.difficulty(&channel);
        let network = self.network.clone();
        match stamp.peek().cloned() {
            Some(Ok(stamp)) if difficulty == 0 => {
                let result = match draft.with_persona_stamp(stamp).sign(&persona, &network, 0) {
                    Ok(signed) => self.send_own(&channel, &signed),
                    Err(e) => Err(e.into()),
                };
                self.reply_flushed(result, reply);
            }
            // The persona's stamp is still being searched for, or proof of
            // work takes real CPU time: sign off the node task so the swarm
            // keeps answering meanwhile.
            _ => self.signing.push(Box::pin(async move {
                let result = match stamp.await {
                    Ok(stamp) => tokio::task::spawn_blocking(move || {
                        draft
                            .with_persona_stamp(stamp)
                            .sign(&persona, &network, difficulty)
                    })
                    .await
                    .map_err(NodeError::Signing)
                    .and_then(|signed| signed.map_err(NodeError::from)),
                    Err(e) => Err(e.into()),
                };
                Signed {
                    channel,
                    result,
                    reply,
                }
            })),
        }
    }

    /// A post signed off the task: send it and answer the caller once it
    /// is durable.
    pub(super) fn on_signed(&mut self, signed: Signed) {
        let result = match signed.result {
            Ok(message) => self.send_own(&signed.channel, &message),
            Err(e) => Err(e),
        };
        self.reply_flushed(result, signed.reply);
    }

    /// Stores an own post and gossips it. With no peers yet it waits in the
    /// outbox and goes out when peers of the channel appear. The caller
    /// answers once the next flush made it durable (`durable.rs`), so a
    /// burst of publishes shares one flush.
    fn send_own(
        &mut self,
        channel: &ChannelName,
        signed: &SignedMessage,
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
        self.store
            .insert_seen_post(&signed.id, &stored, self.inbox.seen_until(post.created_ms))?;
        // While stopping, the swarm is not polled again: a gossiped post
        // could be counted as sent and never leave the machine. It waits
        // in the store instead, and goes out after the next start. Over
        // the pace peers accept, it waits too, and goes out as it allows.
        let mono_ms = self.uptime.now_ms();
        let mut paced = false;
        let peers = if self.stopping {
            0
        } else if self.outbox.pace(channel, mono_ms).is_ok() {
            self.gossip(channel, &signed.id, &signed.bytes)
        } else {
            paced = true;
            0
        };
        if peers == 0 {
            self.store.add_pending(channel, &signed.id)?;
            self.outbox.hold(
                channel,
                Pending {
                    created_ms: post.created_ms,
                    id: signed.id,
                    expires_ms: post.expires_ms,
                },
            );
        }
        let record = PostRecord {
            id: signed.id,
            post: post.clone(),
            received_ms: now,
            own: true,
            verdict: None,
            origin: Origin::Live,
        };
        self.emit(Event::Post(Box::new(record)));
        if peers > 0 {
            self.emit(Event::Sent {
                id: signed.id,
                channel: channel.clone(),
                peers,
            });
        } else if paced && self.channel_peers(channel) > 0 {
            // Waiting for the pace, not for peers: say so, and when.
            self.emit(Event::Paced {
                channel: channel.clone(),
                queued: self.outbox.waiting(channel),
                next_in_ms: self.outbox.next_in_ms(channel, mono_ms),
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
        use libp2p::gossipsub::PublishError;
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

    /// Loads the posts of `channel` marked pending in the store (written
    /// before a restart or a leave) into the outbox.
    pub(super) fn load_pending(&mut self, channel: &ChannelName) {
        let ids = match self.store.pending(channel) {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(%channel, error = %e, "pending posts unreadable; they stay marked");
                return;
            }
        };
        let mut earlier = 0;
        for id in ids {
            match self.store.get_post(&id) {
                Ok(Some(stored)) => {
                    if stored.received_ms < self.started_ms {
                        earlier += 1;
                    }
                    self.outbox.hold(
                        channel,
                        Pending {
                            created_ms: stored.created_ms,
                            id,
                            expires_ms: stored.expires_ms,
                        },
                    )
                }
                Ok(None) => self.undelivered(channel, id, UndeliveredReason::Deleted),
                Err(e) => {
                    tracing::warn!(%channel, id = %id.short(), error = %e, "pending post unreadable; it stays marked");
                }
            }
        }
        if earlier > 0 {
            self.emit(Event::Backlog {
                channel: channel.clone(),
                posts: earlier,
            });
        }
    }

    /// Sends the posts of `channel` that wait for peers, if it has any now,
    /// and gives up those that aged out.
    pub(super) fn send_pending(&mut self, channel: &ChannelName) {
        let peers = self.channel_peers(channel);
        let steps = self
            .outbox
            .on_peers(channel, peers, now_ms(), self.uptime.now_ms());
        self.outbox_steps(steps);
    }

    /// Peers of `channel` as its lookups count them.
    fn channel_peers(&self, channel: &ChannelName) -> usize {
        self.channels.get(channel).map_or(0, |c| c.lookups.peers())
    }

    /// Sends what the pace allows of the posts waiting in channels with
    /// peers (the 1 s tick), and tells how many still wait where some
    /// went out.
    pub(super) fn pace_tick(&mut self) {
        for channel in self.outbox.channels() {
            if self.channel_peers(&channel) == 0 {
                continue;
            }
            let before = self.outbox.waiting(&channel);
            self.send_pending(&channel);
            let queued = self.outbox.waiting(&channel);
            if queued < before {
                let next_in_ms = if queued == 0 {
                    0
                } else {
                    self.outbox.next_in_ms(&channel, self.uptime.now_ms())
                };
                self.emit(Event::Paced {
                    channel,
                    queued,
                    next_in_ms,
                });
            }
        }
    }

    /// Gives up own posts that aged out while waiting, in every channel.
    pub(super) fn give_up_aged(&mut self, now_ms: u64) {
        let steps = self.outbox.give_up_aged(now_ms);
        self.outbox_steps(steps);
    }

    fn outbox_steps(&mut self, steps: Vec<Step>) {
        // Own posts from before this start that went out now, by channel.
        let mut earlier: HashMap<ChannelName, (usize, usize)> = HashMap::new();
        for step in steps {
            match step {
                Step::Send { channel, id } => {
                    if let Some(Sent {
                        peers,
                        earlier: true,
                    }) = self.send_waiting(&channel, id)
                    {
                        let entry = earlier.entry(channel).or_default();
                        entry.0 += 1;
                        entry.1 = entry.1.max(peers);
                    }
                }
                Step::GiveUp {
                    channel,
                    id,
                    reason,
                } => self.undelivered(&channel, id, reason),
            }
        }
        for (channel, (posts, peers)) in earlier {
            self.emit(Event::BacklogSent {
                channel,
                posts,
                peers,
            });
        }
    }

    /// Gossips a waiting post; says whether it went out (and whether it was
    /// written before this start).
    fn send_waiting(&mut self, channel: &ChannelName, id: MessageId) -> Option<Sent> {
        let stored = match self.store.get_post(&id) {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                self.undelivered(channel, id, UndeliveredReason::Deleted);
                return None;
            }
            Err(e) => {
                // It keeps waiting, and is given up when it ages out.
                tracing::warn!(%channel, id = %id.short(), error = %e, "pending post unreadable");
                return None;
            }
        };
        let peers = self.gossip(channel, &id, &stored.bytes);
        if peers == 0 {
            return None;
        }
        self.outbox.remove(channel, &id);
        if let Err(e) = self.store.remove_pending(channel, &id) {
            tracing::warn!(error = %e, "cannot clear pending mark");
        }
        self.flush_soon();
        self.emit(Event::Sent {
            id,
            channel: channel.clone(),
            peers,
        });
        Some(Sent {
            peers,
            earlier: stored.received_ms < self.started_ms,
        })
    }

    /// An own post will never reach a peer: unmark it and say so.
    pub(super) fn undelivered(
        &mut self,
        channel: &ChannelName,
        id: MessageId,
        reason: UndeliveredReason,
    ) {
        tracing::info!(%channel, id = %id.short(), ?reason, "own post given up before reaching a peer");
        self.outbox.remove(channel, &id);
        if let Err(e) = self.store.remove_pending(channel, &id) {
            tracing::warn!(error = %e, "cannot clear pending mark");
        }
        self.flush_soon();
        self.emit(Event::Undelivered {
            id,
            channel: channel.clone(),
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600_000;
    const WEEK: u64 = 7 * 24 * HOUR;
    const T0: u64 = 1_700_000_000_000;

    fn channel(name: &str) -> ChannelName {
        ChannelName::parse(name).unwrap()
    }

    fn post(n: u8, created_ms: u64, expires_ms: Option<u64>) -> Pending {
        Pending {
            created_ms,
            id: MessageId([n; 32]),
            expires_ms,
        }
    }

    fn send(channel: &ChannelName, p: &Pending) -> Step {
        Step::Send {
            channel: channel.clone(),
            id: p.id,
        }
    }

    #[test]
    fn an_own_post_waiting_for_peers_goes_out_when_the_first_peer_subscribes() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(&NodeLimits::default());
        let p = post(1, T0, None);
        outbox.hold(&grief, p);
        assert_eq!(outbox.on_peers(&grief, 0, T0 + 1_000, 0), []);
        assert_eq!(
            outbox.on_peers(&grief, 1, T0 + 2_000, 0),
            [send(&grief, &p)]
        );
        outbox.remove(&grief, &p.id);
        assert_eq!(outbox.on_peers(&grief, 2, T0 + 3_000, 0), []);
    }

    #[test]
    fn a_post_that_did_not_get_out_is_offered_again_at_the_next_peer() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(&NodeLimits::default());
        let p = post(1, T0, None);
        outbox.hold(&grief, p);
        // The gossip found nobody after all: not removed, so sent again.
        assert_eq!(outbox.on_peers(&grief, 1, T0, 0), [send(&grief, &p)]);
        assert_eq!(outbox.on_peers(&grief, 1, T0 + 1, 0), [send(&grief, &p)]);
    }

    #[test]
    fn waiting_posts_go_out_oldest_first_and_only_in_their_channel() {
        let (grief, other) = (channel("grief"), channel("anxiety"));
        let mut outbox = Outbox::new(&NodeLimits::default());
        let (late, early, elsewhere) =
            (post(1, T0 + 5, None), post(2, T0, None), post(3, T0, None));
        outbox.hold(&grief, late);
        outbox.hold(&grief, early);
        outbox.hold(&other, elsewhere);
        assert_eq!(
            outbox.on_peers(&grief, 1, T0 + 10, 0),
            [send(&grief, &early), send(&grief, &late)]
        );
        assert_eq!(outbox.waiting(&other), 1);
    }

    #[test]
    fn an_own_post_that_ages_out_while_alone_is_given_up_with_a_reason() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(&NodeLimits::default());
        let p = post(1, T0, None);
        outbox.hold(&grief, p);
        assert_eq!(outbox.give_up_aged(T0 + WEEK), []);
        assert_eq!(
            outbox.give_up_aged(T0 + WEEK + 1),
            [Step::GiveUp {
                channel: grief.clone(),
                id: p.id,
                reason: UndeliveredReason::TooOld,
            }]
        );
        assert_eq!(outbox.waiting(&grief), 0);
        // Given up once, not at every review.
        assert_eq!(outbox.give_up_aged(T0 + 2 * WEEK), []);
    }

    #[test]
    fn an_expired_post_is_given_up_instead_of_sent_when_peers_come() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(&NodeLimits::default());
        let expiring = post(1, T0, Some(T0 + HOUR));
        let lasting = post(2, T0, None);
        outbox.hold(&grief, expiring);
        outbox.hold(&grief, lasting);
        assert_eq!(
            outbox.on_peers(&grief, 3, T0 + HOUR, 0),
            [
                Step::GiveUp {
                    channel: grief.clone(),
                    id: expiring.id,
                    reason: UndeliveredReason::Expired,
                },
                send(&grief, &lasting),
            ]
        );
    }

    #[test]
    fn own_posts_are_dated_in_the_order_written_unless_the_clock_went_back() {
        // Three posts in one millisecond: one apart.
        assert_eq!(own_time(T0, 0), T0);
        assert_eq!(own_time(T0, T0), T0 + 1);
        assert_eq!(own_time(T0, T0 + 1), T0 + 2);
        // The clock moved on: it wins.
        assert_eq!(own_time(T0 + 50, T0 + 2), T0 + 50);
        // The clock was set back an hour: dated by the clock, not an hour
        // ahead of it (peers would refuse that).
        assert_eq!(own_time(T0 - HOUR, T0), T0 - HOUR);
    }

    #[test]
    fn own_posts_over_the_pace_wait_and_go_out_oldest_first_as_tokens_return() {
        let grief = channel("grief");
        // Burst 3, one a second; the outbox keeps a margin of one.
        let limits = NodeLimits {
            newcomer: crate::config::Rate {
                per_minute: 60,
                burst: 3,
            },
            ..NodeLimits::default()
        };
        let mut outbox = Outbox::new(&limits);
        assert_eq!(outbox.pace(&grief, 0), Ok(()));
        assert_eq!(outbox.pace(&grief, 0), Ok(()));
        assert_eq!(outbox.pace(&grief, 0), Err(1_000));
        let (a, b, c) = (
            post(1, T0, None),
            post(2, T0 + 1, None),
            post(3, T0 + 2, None),
        );
        for p in [a, b, c] {
            outbox.hold(&grief, p);
        }
        // While posts wait, a new one never jumps the queue.
        assert_eq!(outbox.pace(&grief, 5_000), Err(0));
        assert_eq!(outbox.on_peers(&grief, 1, T0, 500), []);
        assert_eq!(outbox.on_peers(&grief, 1, T0, 1_000), [send(&grief, &a)]);
        outbox.remove(&grief, &a.id);
        assert_eq!(outbox.next_in_ms(&grief, 1_000), 1_000);
        assert_eq!(
            outbox.on_peers(&grief, 1, T0, 3_000),
            [send(&grief, &b), send(&grief, &c)]
        );
        outbox.remove(&grief, &b.id);
        outbox.remove(&grief, &c.id);
        assert_eq!(outbox.waiting(&grief), 0);
        assert_eq!(outbox.pace(&grief, 3_000), Err(1_000));
    }

    #[test]
    fn the_queue_of_a_channel_is_bounded() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(&NodeLimits::default());
        for n in 0..MAX_QUEUED {
            assert!(outbox.has_room(&grief));
            outbox.hold(
                &grief,
                Pending {
                    created_ms: T0 + n as u64,
                    id: {
                        let mut id = [0; 32];
                        id[..8].copy_from_slice(&(n as u64).to_le_bytes());
                        MessageId(id)
                    },
                    expires_ms: None,
                },
            );
        }
        assert!(!outbox.has_room(&grief));
        assert!(outbox.has_room(&channel("anxiety")));
    }

    #[test]
    fn leaving_a_channel_forgets_its_posts_without_giving_them_up() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(&NodeLimits::default());
        outbox.hold(&grief, post(1, T0, None));
        outbox.forget(&grief);
        assert_eq!(outbox.waiting(&grief), 0);
        assert_eq!(outbox.give_up_aged(T0 + 2 * WEEK), []);
    }
}
