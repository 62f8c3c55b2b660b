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

use std::collections::{BTreeSet, HashMap};

use hearth_protocol::{BuildError, ChannelName, MessageId, PostDraft, SignedMessage};

use super::{Reply, Service, Signed, subscribed_peers};
use crate::clock::now_ms;
use crate::error::NodeError;
use crate::event::{Event, Origin, PostRecord, Published, UndeliveredReason};
use crate::handle::PostOptions;
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

/// Own posts waiting for peers, per channel.
#[derive(Debug)]
pub(crate) struct Outbox {
    max_age_ms: u64,
    waiting: HashMap<ChannelName, BTreeSet<Pending>>,
}

impl Outbox {
    /// An empty outbox; posts older than `max_age_ms` are given up.
    pub(super) fn new(max_age_ms: u64) -> Self {
        Self {
            max_age_ms,
            waiting: HashMap::new(),
        }
    }

    /// An own post of `channel` that reached no peer starts waiting.
    pub(super) fn hold(&mut self, channel: &ChannelName, post: Pending) {
        self.waiting
            .entry(channel.clone())
            .or_default()
            .insert(post);
    }

    /// `channel` has `peers` peers at `now_ms`: the posts to give up, then
    /// (with peers) the rest to send, oldest first.
    pub(super) fn on_peers(
        &mut self,
        channel: &ChannelName,
        peers: usize,
        now_ms: u64,
    ) -> Vec<Step> {
        let Some(posts) = self.waiting.get_mut(channel) else {
            return Vec::new();
        };
        let mut steps = give_up(channel, posts, self.max_age_ms, now_ms);
        if peers > 0 {
            steps.extend(posts.iter().map(|post| Step::Send {
                channel: channel.clone(),
                id: post.id,
            }));
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

    /// How many posts wait in `channel`.
    #[cfg(test)]
    pub(super) fn waiting(&self, channel: &ChannelName) -> usize {
        self.waiting.get(channel).map_or(0, BTreeSet::len)
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
    pub(super) async fn publish(
        &mut self,
        channel: ChannelName,
        options: PostOptions,
        reply: Reply<Published>,
    ) {
        if !self.channels.contains_key(&channel) {
            let _ = reply.send(Err(NodeError::NotJoined(channel)));
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
                    Ok(signed) => self.send_own(&channel, signed).await,
                    Err(e) => Err(e.into()),
                };
                let _ = reply.send(result);
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

    /// A post signed off the task: send it and answer the caller.
    pub(super) async fn on_signed(&mut self, signed: Signed) {
        let result = match signed.result {
            Ok(message) => self.send_own(&signed.channel, message).await,
            Err(e) => Err(e),
        };
        let _ = signed.reply.send(result);
    }

    /// Stores and flushes an own post, then gossips it. With no peers yet it
    /// waits in the outbox and goes out when peers of the channel appear.
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
            .mark_seen(&signed.id, self.inbox.seen_until(post.created_ms))?;
        // While stopping, the swarm is not polled again: a gossiped post
        // could be counted as sent and never leave the machine. It waits
        // in the store instead, and goes out after the next start.
        let peers = if self.stopping {
            0
        } else {
            self.gossip(channel, &signed.id, &signed.bytes)
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
        self.store.flush_async().await?;
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
        let peers = self.channels.get(channel).map_or(0, |c| c.lookups.peers());
        let steps = self.outbox.on_peers(channel, peers, now_ms());
        self.outbox_steps(steps);
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
        let mut outbox = Outbox::new(WEEK);
        let p = post(1, T0, None);
        outbox.hold(&grief, p);
        assert_eq!(outbox.on_peers(&grief, 0, T0 + 1_000), []);
        assert_eq!(outbox.on_peers(&grief, 1, T0 + 2_000), [send(&grief, &p)]);
        outbox.remove(&grief, &p.id);
        assert_eq!(outbox.on_peers(&grief, 2, T0 + 3_000), []);
    }

    #[test]
    fn a_post_that_did_not_get_out_is_offered_again_at_the_next_peer() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(WEEK);
        let p = post(1, T0, None);
        outbox.hold(&grief, p);
        // The gossip found nobody after all: not removed, so sent again.
        assert_eq!(outbox.on_peers(&grief, 1, T0), [send(&grief, &p)]);
        assert_eq!(outbox.on_peers(&grief, 1, T0 + 1), [send(&grief, &p)]);
    }

    #[test]
    fn waiting_posts_go_out_oldest_first_and_only_in_their_channel() {
        let (grief, other) = (channel("grief"), channel("anxiety"));
        let mut outbox = Outbox::new(WEEK);
        let (late, early, elsewhere) =
            (post(1, T0 + 5, None), post(2, T0, None), post(3, T0, None));
        outbox.hold(&grief, late);
        outbox.hold(&grief, early);
        outbox.hold(&other, elsewhere);
        assert_eq!(
            outbox.on_peers(&grief, 1, T0 + 10),
            [send(&grief, &early), send(&grief, &late)]
        );
        assert_eq!(outbox.waiting(&other), 1);
    }

    #[test]
    fn an_own_post_that_ages_out_while_alone_is_given_up_with_a_reason() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(WEEK);
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
        let mut outbox = Outbox::new(WEEK);
        let expiring = post(1, T0, Some(T0 + HOUR));
        let lasting = post(2, T0, None);
        outbox.hold(&grief, expiring);
        outbox.hold(&grief, lasting);
        assert_eq!(
            outbox.on_peers(&grief, 3, T0 + HOUR),
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
    fn leaving_a_channel_forgets_its_posts_without_giving_them_up() {
        let grief = channel("grief");
        let mut outbox = Outbox::new(WEEK);
        outbox.hold(&grief, post(1, T0, None));
        outbox.forget(&grief);
        assert_eq!(outbox.waiting(&grief), 0);
        assert_eq!(outbox.give_up_aged(T0 + 2 * WEEK), []);
    }
}
