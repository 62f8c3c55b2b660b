//! Receiving: what a gossiped message is judged, and carrying the judgement
//! out.
//!
//! [`Inbox::judge`] decides, for one received message, in this order:
//! topic → rate of the forwarding peer → validation → seen before → rate
//! of the author → local policy. It returns a [`Decision`]: what to tell
//! gossipsub (Accept, Ignore, Reject) and what to store and which event to
//! emit. It reads the node's state only through [`NodeView`] and takes
//! both clock readings as a parameter, so it is tested without a swarm or
//! a store. The `impl Service` below builds the view, asks, and carries the
//! decision out.
//!
//! The rate limiters run on monotonic time ([`Now::mono_ms`]); the time
//! window of a post is judged on wall time ([`Now::wall_ms`]), because
//! that is what posts are dated with.

use std::collections::{HashMap, HashSet};

use hearth_protocol::{
    ChannelName, Message, MessageId, ModeratorList, NetworkId, Post, PublicKey, Topic,
    ValidationContext, Verdict, validate,
};
use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance};

use super::{Channel, Service, lists};
use crate::clock::Now;
use crate::config::{NodeLimits, Retention};
use crate::error::HeldListError;
use crate::event::{Event, PostRecord};
use crate::moderation::Moderation;
use crate::rate::RateLimiter;
use crate::store::{Store, StoreError, StoredPost};

/// Most keys each rate limiter tracks.
const RATE_KEYS: usize = 50_000;

/// What the inbox needs to know about the node to judge a message.
pub(crate) trait NodeView {
    /// Whether the node is in `channel`.
    fn joined(&self, channel: &ChannelName) -> bool;
    /// Whether the node follows `moderator`.
    fn follows(&self, moderator: &PublicKey) -> bool;
    /// Whether a message with this id was stored or refused as a replay
    /// before.
    fn is_seen(&self, id: &MessageId) -> Result<bool, StoreError>;
    /// The list held for `moderator`, if any.
    fn held_list(&self, moderator: &PublicKey) -> Result<Option<ModeratorList>, HeldListError>;
    /// Why the user's policy hides `post`, if it does.
    fn verdict(&self, id: &MessageId, post: &Post) -> Option<Verdict>;
}

/// The judgement of one received message.
#[derive(Debug, PartialEq)]
pub(crate) struct Decision {
    /// What gossipsub is told: `Accept` forwards the message. If the
    /// action's store write fails, the shell reports `Ignore` instead.
    pub acceptance: MessageAcceptance,
    /// What the shell does.
    pub action: Action,
}

/// What the shell does with a received message.
#[derive(Debug, PartialEq)]
pub(crate) enum Action {
    /// Nothing: no store write, no event.
    Nothing,
    /// Emit [`Event::Refused`]; store nothing.
    Refuse {
        /// The channel it arrived on, if a channel.
        channel: Option<ChannelName>,
        /// Why.
        reason: String,
    },
    /// Store the post, mark its id seen until `seen_until`, then emit
    /// [`Event::Post`] with `record`.
    StorePost(Box<NewPost>),
    /// Keep the list in place of the older one held, recompile the policy
    /// and emit [`Event::ModeratorList`].
    StoreList {
        /// The verified list.
        list: ModeratorList,
        /// Its envelope bytes as received.
        bytes: Vec<u8>,
    },
}

/// A received post to store.
#[derive(Debug, PartialEq)]
pub(crate) struct NewPost {
    pub id: MessageId,
    pub stored: StoredPost,
    pub seen_until: u64,
    pub record: PostRecord,
}

impl Decision {
    fn quiet(acceptance: MessageAcceptance) -> Self {
        Self {
            acceptance,
            action: Action::Nothing,
        }
    }
}

/// The receiving path's decisions and its flood limits.
#[derive(Debug)]
pub(crate) struct Inbox {
    network: NetworkId,
    limits: NodeLimits,
    retention: Retention,
    per_peer: RateLimiter<PeerId>,
    per_persona: RateLimiter<PublicKey>,
}

impl Inbox {
    pub fn new(network: NetworkId, limits: NodeLimits) -> Self {
        Self {
            per_peer: RateLimiter::new(limits.per_peer, RATE_KEYS),
            per_persona: RateLimiter::new(limits.per_persona, RATE_KEYS),
            network,
            limits,
            retention: Retention::default(),
        }
    }

    /// Posts older than `retention` keeps in their channel are not taken
    /// in (the node would delete them at once, and must never show them).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Until when a post created at `created_ms` must be remembered as
    /// seen: as long as `validate` would accept it.
    pub fn seen_until(&self, created_ms: u64) -> u64 {
        created_ms
            .saturating_add(self.limits.messages.max_age_ms)
            .saturating_add(self.limits.messages.max_clock_skew_ms)
    }

    /// Judges `data`, forwarded by `source` on `topic`, at `now`.
    pub fn judge(
        &mut self,
        source: &PeerId,
        topic: &str,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> Decision {
        let topic = match Topic::parse(topic) {
            Ok(topic) if topic.network() == &self.network => topic,
            // The subscription filter admits only this network's topics;
            // anything else is not ours to judge.
            _ => return Decision::quiet(MessageAcceptance::Ignore),
        };
        // Charged before validation, so a flood of junk costs a hash-map
        // lookup per message instead of a signature check.
        if !self.per_peer.allow(source, now.mono_ms) {
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        match topic {
            Topic::Channel { channel, .. } => self.judge_post(&channel, data, now, view),
            Topic::Moderator { moderator, .. } => self.judge_list(&moderator, data, now, view),
        }
    }

    fn judge_post(
        &mut self,
        channel: &ChannelName,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> Decision {
        if !view.joined(channel) {
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &self.limits.messages)
            .channel(channel)
            .difficulty(self.limits.difficulty(channel));
        let verified = match validate(data, &ctx) {
            Ok(verified) => verified,
            Err(e) => {
                tracing::debug!(%channel, error = %e, "post refused");
                return Decision {
                    acceptance: if e.is_invalid() {
                        MessageAcceptance::Reject
                    } else {
                        MessageAcceptance::Ignore
                    },
                    action: Action::Refuse {
                        channel: Some(channel.clone()),
                        reason: e.to_string(),
                    },
                };
            }
        };
        let Message::Post(post) = verified.message else {
            return Decision::quiet(MessageAcceptance::Reject);
        };
        let id = verified.id;
        match view.is_seen(&id) {
            // A replay older than gossipsub's duplicate cache, or an own
            // post coming back.
            Ok(true) => return Decision::quiet(MessageAcceptance::Ignore),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "store unreadable; post ignored");
                return Decision::quiet(MessageAcceptance::Ignore);
            }
        }
        if post.created_ms < self.retention.keep(channel).oldest_kept(now.wall_ms) {
            // Older than this node keeps: not stored, shown or relayed.
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        if !self.per_persona.allow(&post.author, now.mono_ms) {
            return Decision {
                acceptance: MessageAcceptance::Ignore,
                action: Action::Refuse {
                    channel: Some(channel.clone()),
                    reason: format!("rate limit exceeded by {}", post.author.name()),
                },
            };
        }
        let verdict = view.verdict(&id, &post);
        // Locally hidden posts are not relayed, but honest relays with other
        // lists must not be punished: Ignore, not Reject.
        let acceptance = if verdict.is_some() {
            MessageAcceptance::Ignore
        } else {
            MessageAcceptance::Accept
        };
        let stored = StoredPost {
            bytes: verified.bytes,
            channel: channel.clone(),
            created_ms: post.created_ms,
            expires_ms: post.expires_ms,
            received_ms: now.wall_ms,
            own: false,
        };
        let seen_until = self.seen_until(post.created_ms);
        let record = PostRecord {
            id,
            post,
            received_ms: now.wall_ms,
            own: false,
            verdict,
        };
        Decision {
            acceptance,
            action: Action::StorePost(Box::new(NewPost {
                id,
                stored,
                seen_until,
                record,
            })),
        }
    }

    fn judge_list(
        &mut self,
        moderator: &PublicKey,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> Decision {
        if !view.follows(moderator) {
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &self.limits.messages)
            .moderator(moderator);
        let verified = match validate(data, &ctx) {
            Ok(verified) => verified,
            // Refused lists emit no event: they are not about a channel the
            // user reads.
            Err(e) if e.is_invalid() => return Decision::quiet(MessageAcceptance::Reject),
            Err(_) => return Decision::quiet(MessageAcceptance::Ignore),
        };
        let Message::ModeratorList(list) = verified.message else {
            return Decision::quiet(MessageAcceptance::Reject);
        };
        let held = match view.held_list(moderator) {
            Ok(held) => held,
            Err(e) => {
                // Without the held sequence, an older list could roll the
                // user's moderation back: refuse rather than guess.
                tracing::error!(%moderator, error = %e, "held moderator list unreadable; offered list ignored");
                return Decision::quiet(MessageAcceptance::Ignore);
            }
        };
        if let Err(e) = list.may_replace(held.as_ref()) {
            tracing::debug!(%moderator, error = %e, "moderator list not applied");
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        Decision {
            acceptance: MessageAcceptance::Accept,
            action: Action::StoreList {
                list,
                bytes: verified.bytes,
            },
        }
    }
}

/// The node's state as the inbox sees it: borrowed fields of the service.
struct View<'a> {
    channels: &'a HashMap<ChannelName, Channel>,
    moderators: &'a HashSet<PublicKey>,
    store: &'a Store,
    network: &'a NetworkId,
    moderation: &'a Moderation,
}

impl NodeView for View<'_> {
    fn joined(&self, channel: &ChannelName) -> bool {
        self.channels.contains_key(channel)
    }

    fn follows(&self, moderator: &PublicKey) -> bool {
        self.moderators.contains(moderator)
    }

    fn is_seen(&self, id: &MessageId) -> Result<bool, StoreError> {
        self.store.is_seen(id)
    }

    fn held_list(&self, moderator: &PublicKey) -> Result<Option<ModeratorList>, HeldListError> {
        lists::held_list(self.store, self.network, moderator).map(|held| held.map(|(list, _)| list))
    }

    fn verdict(&self, id: &MessageId, post: &Post) -> Option<Verdict> {
        self.moderation.verdict(id, post)
    }
}

impl Service {
    /// Judges one gossiped message, carries the decision out and reports
    /// the result to gossipsub: exactly once, at once, inside the
    /// message-cache window.
    pub(super) fn on_message(
        &mut self,
        source: PeerId,
        message_id: gossipsub::MessageId,
        message: gossipsub::Message,
    ) {
        let now = self.now();
        let view = View {
            channels: &self.channels,
            moderators: &self.moderators,
            store: &self.store,
            network: &self.network,
            moderation: &self.moderation,
        };
        let decision = self
            .inbox
            .judge(&source, message.topic.as_str(), &message.data, now, &view);
        let acceptance = self.carry_out(decision);
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message_id, &source, acceptance);
    }

    /// Does what a decision says; returns what to report to gossipsub.
    fn carry_out(&mut self, decision: Decision) -> MessageAcceptance {
        match decision.action {
            Action::Nothing => {}
            Action::Refuse { channel, reason } => self.emit(Event::Refused { channel, reason }),
            Action::StorePost(new) => {
                let NewPost {
                    id,
                    stored,
                    seen_until,
                    record,
                } = *new;
                if let Err(e) = self
                    .store
                    .insert_post(&id, &stored)
                    .and_then(|_| self.store.mark_seen(&id, seen_until))
                {
                    tracing::error!(error = %e, "cannot store post; not relayed");
                    return MessageAcceptance::Ignore;
                }
                self.flush_soon();
                self.emit(Event::Post(Box::new(record)));
            }
            Action::StoreList { list, bytes } => {
                if let Err(e) = self.keep_list(&list, &bytes) {
                    tracing::error!(error = %e, "cannot store moderator list");
                    return MessageAcceptance::Ignore;
                }
                self.flush_soon();
            }
        }
        decision.acceptance
    }
}

#[cfg(test)]
mod tests;
