//! Receiving: what a gossiped message is judged, and carrying the judgement
//! out.
//!
//! [`Inbox::judge`] decides, for one received message, in this order:
//! topic → raw bytes and invalid messages of the forwarding peer →
//! validation → seen before → rate of the author → local policy. It returns a [`Decision`]: what to tell
//! gossipsub (Accept, Ignore, Reject) and what to store and which event to
//! emit. It reads the node's state only through [`NodeView`] and takes
//! both clock readings as a parameter, so it is tested without a swarm or
//! a store. The `impl Service` below builds the view, asks, and carries the
//! decision out.
//!
//! Rate limits judge authors, not relays: a relay carries everyone's
//! posts, so the forwarding peer is charged only for raw bytes (a ceiling
//! far above any honest relay's traffic) and for invalid messages (which
//! an honest relay never forwards). Posts are counted per persona
//! ([`Authors`]: a newcomer tier and an established one). A post over its
//! author's limit is `Ignore`d, which neither forwards it nor penalises
//! the relay; a peer that delivers posts beyond the author's limit *and*
//! its tolerance (which an honest relay, applying the same limits,
//! refuses itself) gets a strike, and a peer out of strikes is a flooder:
//! [`Decision::penalise`] tells the shell to sink its gossip score, so it
//! is graylisted, disconnected and banned.
//!
//! The rate limiters run on monotonic time ([`Now::mono_ms`]); the time
//! window of a post is judged on wall time ([`Now::wall_ms`]), because
//! that is what posts are dated with.
//!
//! Posts and lists fetched by history sync take the same path
//! ([`Inbox::judge_synced_post`], [`Inbox::judge_synced_list`]) with three
//! differences, because they are history rather than live speech: a post
//! may be as old as the node keeps posts (the sync window, the retention
//! age) instead of gossip's `max_age`; the serving peer is charged by its
//! own limiter ([`Inbox::admit_synced`]) instead of the forwarding
//! peer's; and the author's live rate limit does not apply (a persona's
//! week of posts arrives at once). The seen set covers both windows
//! ([`Inbox::seen_until`]), so nothing accepted by either path is taken
//! again, or fetched again, while either path would still accept it.

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
use crate::event::{Event, Origin, PostRecord};
use crate::moderation::Moderation;
use crate::rate::RateLimiter;
use crate::rate::authors::{Authors, Judged, Tiers};
use crate::store::{Store, StoreError, StoredPost};

/// Most keys each rate limiter tracks.
const RATE_KEYS: usize = 50_000;

/// Deliveries beyond an author's tolerance a peer may make before it is
/// taken for a flooder: a burst of 20, refilled at 20 a minute. An honest
/// relay makes none unless one persona posts through three or more entry
/// points at its full rate; this absorbs that.
pub(crate) const FLOOD_STRIKES: crate::config::Rate = crate::config::Rate {
    per_minute: 20,
    burst: 20,
};

/// The application score given to a flooder: times gossipsub's
/// application weight (10) it is -1000, far under the graylist (-80).
pub(crate) const FLOODER_SCORE: f64 = -100.0;

/// Why a post over its author's rate is refused. One text for every
/// author, so that refusals aggregate ([`Event::Refused::count`]).
pub(crate) const OVER_RATE: &str = "rate limit exceeded by its author";

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
    /// The forwarding peer is a flooder: it delivered posts beyond their
    /// authors' limits and tolerance, more often than
    /// [`FLOOD_STRIKES`] allows. The shell sinks its gossip score.
    pub penalise: bool,
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
    /// Keep the channel card if the shell trusts it and it replaces the
    /// held one; emit [`Event::ChannelCard`].
    StoreCard {
        /// The verified card.
        card: Box<hearth_protocol::ChannelCard>,
        /// Its envelope bytes as received.
        bytes: Vec<u8>,
    },
    /// Record the heartbeat if it comes from a declared moderator of its
    /// channel; emit [`Event::ModeratorPresence`].
    Presence(hearth_protocol::ModeratorPresence),
    /// Hold the crisis-directory update if its publisher is trusted and it
    /// is newer than the held one; emit [`Event::CrisisUpdate`].
    StoreCrisisUpdate {
        /// The verified update.
        update: Box<hearth_protocol::CrisisUpdate>,
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

/// What became of a message fetched by history sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Stored (shown or hidden) and announced.
    Stored,
    /// Refused for a reason an honest peer could have (too old, expired,
    /// too little work): not fetched again for a while.
    Refused,
    /// Invalid bytes: the serving peer is penalised, as for gossiping
    /// them.
    Invalid,
    /// Nothing to do: seen already, not followed, not newer.
    Ignored,
}

impl Decision {
    fn quiet(acceptance: MessageAcceptance) -> Self {
        Self {
            acceptance,
            action: Action::Nothing,
            penalise: false,
        }
    }
}

/// How a message reached the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Gossip, live.
    Gossip,
    /// History sync.
    Sync,
}

/// The receiving path's decisions and its flood limits.
#[derive(Debug)]
pub(crate) struct Inbox {
    network: NetworkId,
    limits: NodeLimits,
    retention: Retention,
    /// The time window of posts taken by history sync.
    sync_limits: hearth_protocol::Limits,
    per_peer_kib: RateLimiter<PeerId>,
    per_peer_invalid: RateLimiter<PeerId>,
    authors: Authors<PublicKey>,
    strikes: RateLimiter<PeerId>,
    per_server: RateLimiter<PeerId>,
}

impl Inbox {
    pub(super) fn new(network: NetworkId, limits: NodeLimits) -> Self {
        Self {
            per_peer_kib: RateLimiter::new(limits.per_peer_kib, RATE_KEYS),
            per_peer_invalid: RateLimiter::new(limits.per_peer_invalid, RATE_KEYS),
            authors: Authors::new(Tiers::of(&limits), RATE_KEYS),
            strikes: RateLimiter::new(FLOOD_STRIKES, RATE_KEYS),
            per_server: RateLimiter::new(limits.sync.posts_per_peer, RATE_KEYS),
            sync_limits: limits.messages.clone(),
            network,
            limits,
            retention: Retention::default(),
        }
    }

    /// Posts older than `retention` keeps in their channel are not taken
    /// in (the node would delete them at once, and must never show them).
    pub(super) fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Takes synced posts as old as `window_ms` (the node's retention
    /// age); without this call, as old as gossip's `max_age`.
    pub(super) fn with_sync_window(mut self, window_ms: u64) -> Self {
        self.sync_limits.max_age_ms = window_ms;
        self
    }

    /// The oldest creation time a synced post may have at wall time
    /// `now_ms`: where reconciliation windows start.
    pub(super) fn sync_since(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.sync_limits.max_age_ms)
    }

    /// Until when a post created at `created_ms` must be remembered as
    /// seen: as long as `validate` would accept it from gossip or from
    /// sync, whichever window is longer.
    pub(super) fn seen_until(&self, created_ms: u64) -> u64 {
        let window = self
            .limits
            .messages
            .max_age_ms
            .max(self.sync_limits.max_age_ms);
        created_ms
            .saturating_add(window)
            .saturating_add(self.limits.messages.max_clock_skew_ms)
    }

    /// Charges `server`, which served a synced post, one token at `now`;
    /// false when it is over its rate and the post is to be dropped
    /// unjudged (it is fetched again in a later round).
    pub(super) fn admit_synced(&mut self, server: &PeerId, now: Now) -> bool {
        self.per_server.allow(server, now.mono_ms)
    }

    /// Judges a post of `channel` fetched by history sync. The serving peer
    /// was charged by [`Inbox::admit_synced`]; `Reject` means the bytes are
    /// invalid and the peer is to be penalised as for gossiping them.
    pub(super) fn judge_synced_post(
        &mut self,
        channel: &ChannelName,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> Decision {
        self.judge_post(None, channel, data, now, view, Route::Sync)
    }

    /// Judges a moderator list fetched by history sync, whoever signed it
    /// (the caller checks that it was asked for). Lists have no maximum
    /// age, so an old list is taken like a live one.
    pub(super) fn judge_synced_list(
        &mut self,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> (Option<PublicKey>, Decision) {
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &self.limits.messages);
        let verified = match validate(data, &ctx) {
            Ok(verified) => verified,
            Err(e) if e.is_invalid() => return (None, Decision::quiet(MessageAcceptance::Reject)),
            Err(_) => return (None, Decision::quiet(MessageAcceptance::Ignore)),
        };
        let Message::ModeratorList(list) = verified.message else {
            return (None, Decision::quiet(MessageAcceptance::Reject));
        };
        let moderator = list.moderator;
        (
            Some(moderator),
            self.judge_list(&moderator, data, now, view),
        )
    }

    /// Judges `data`, forwarded by `source` on `topic`, at `now`.
    pub(super) fn judge(
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
        // lookup per message instead of a signature check. Bytes, not
        // posts: see the module documentation.
        let kib = u32::try_from(data.len().div_ceil(1024))
            .unwrap_or(u32::MAX)
            .max(1);
        if !self.per_peer_kib.allow_n(source, kib, now.mono_ms)
            || !self.per_peer_invalid.has_token(source, now.mono_ms)
        {
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        let decision = match topic {
            Topic::Channel { channel, .. } if cards::is_channel_note(data) => {
                self.judge_channel_note(&channel, data, now, view)
            }
            Topic::Channel { channel, .. } => {
                self.judge_post(Some(source), &channel, data, now, view, Route::Gossip)
            }
            Topic::Moderator { moderator, .. } if crisis::is_crisis_update(data) => {
                self.judge_crisis_update(&moderator, data, now)
            }
            Topic::Moderator { moderator, .. } => self.judge_list(&moderator, data, now, view),
        };
        if decision.acceptance == MessageAcceptance::Reject {
            self.per_peer_invalid.allow(source, now.mono_ms);
        }
        decision
    }

    fn judge_post(
        &mut self,
        source: Option<&PeerId>,
        channel: &ChannelName,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
        route: Route,
    ) -> Decision {
        if !view.joined(channel) {
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        let window = match route {
            Route::Gossip => &self.limits.messages,
            Route::Sync => &self.sync_limits,
        };
        let ctx = ValidationContext::new(&self.network, now.wall_ms, window)
            .channel(channel)
            .difficulty(self.limits.difficulty(channel))
            .persona_stamp_bits(self.limits.accepted_stamp_bits());
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
                    penalise: false,
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
        // History arrives in bulk: a persona's week of posts must not trip
        // the live rate limit. The serving peer's limit bounds sync.
        if route == Route::Gossip {
            let judged = self.authors.judge(&post.author, now.mono_ms);
            if judged != Judged::Accept {
                tracing::debug!(%channel, author = %post.author.name(), ?judged, "post over its author's rate");
                // Only deliveries beyond the tolerance count against the
                // peer: an honest relay never makes them.
                let penalise = judged == Judged::Flood
                    && source.is_some_and(|peer| !self.strikes.allow(peer, now.mono_ms));
                return Decision {
                    acceptance: MessageAcceptance::Ignore,
                    action: Action::Refuse {
                        channel: Some(channel.clone()),
                        reason: OVER_RATE.to_owned(),
                    },
                    penalise,
                };
            }
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
            origin: match route {
                Route::Gossip => Origin::Live,
                Route::Sync => Origin::Sync,
            },
        };
        Decision {
            acceptance,
            action: Action::StorePost(Box::new(NewPost {
                id,
                stored,
                seen_until,
                record,
            })),
            penalise: false,
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
            penalise: false,
        }
    }
}

/// The service's state as the inbox sees it, borrowing only the fields
/// it reads, so that the inbox itself can be borrowed mutably beside it.
macro_rules! view {
    ($service:expr) => {
        View {
            channels: &$service.channels,
            moderators: &$service.moderators,
            store: &$service.store,
            network: &$service.network,
            moderation: &$service.moderation,
        }
    };
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
        message_id: &gossipsub::MessageId,
        message: &gossipsub::Message,
    ) {
        // Reports are sealed to moderators and judged on their own path.
        if hearth_protocol::report::is_report(&message.data) {
            return self.on_report(source, message_id, message);
        }
        let now = self.now();
        let view = view!(self);
        let decision = self
            .inbox
            .judge(&source, message.topic.as_str(), &message.data, now, &view);
        let penalise = decision.penalise;
        let acceptance = self.carry_out(Some(source), decision);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        gossipsub.report_message_validation_result(message_id, &source, acceptance);
        if penalise {
            // Under the graylist at once: gossipsub stops listening to it
            // and the next tick disconnects and bans it. Only this peer:
            // `Ignore` above kept the relays that also carry the post
            // from being counted.
            tracing::info!(peer = %source, "peer delivers posts far over their authors' limits");
            gossipsub.set_application_score(&source, FLOODER_SCORE);
        }
    }

    /// Judges a post of `channel` fetched by history sync and carries the
    /// decision out, exactly as for a gossiped one.
    pub(super) fn take_synced_post(&mut self, channel: &ChannelName, bytes: &[u8]) -> Taken {
        let now = self.now();
        let view = view!(self);
        let decision = self.inbox.judge_synced_post(channel, bytes, now, &view);
        self.take(decision)
    }

    /// Judges a moderator list fetched by history sync and carries the
    /// decision out; returns whose list it is, if it verified.
    pub(super) fn take_synced_list(&mut self, bytes: &[u8]) -> (Option<PublicKey>, Taken) {
        let now = self.now();
        let view = view!(self);
        let (moderator, decision) = self.inbox.judge_synced_list(bytes, now, &view);
        (moderator, self.take(decision))
    }

    /// Judges a channel card of `channel` fetched by history sync and
    /// carries the decision out, as for a gossiped card.
    pub(super) fn take_synced_card(&mut self, channel: &ChannelName, bytes: &[u8]) -> Taken {
        let now = self.now();
        let view = view!(self);
        let decision = self.inbox.judge_synced_card(channel, bytes, now, &view);
        self.take(decision)
    }

    /// Judges a crisis-directory update fetched by history sync and carries
    /// the decision out; returns its publisher, if it verified.
    pub(super) fn take_synced_crisis(&mut self, bytes: &[u8]) -> (Option<PublicKey>, Taken) {
        let now = self.now();
        let (publisher, decision) = self.inbox.judge_synced_crisis(bytes, now);
        (publisher, self.take(decision))
    }

    fn take(&mut self, decision: Decision) -> Taken {
        let store = matches!(
            decision.action,
            Action::StorePost(_)
                | Action::StoreList { .. }
                | Action::StoreCard { .. }
                | Action::StoreCrisisUpdate { .. }
        );
        let refuse = matches!(decision.action, Action::Refuse { .. });
        let invalid = decision.acceptance == MessageAcceptance::Reject;
        let stored = self.carry_out_action(None, decision.action);
        match () {
            _ if invalid => Taken::Invalid,
            _ if store && stored => Taken::Stored,
            _ if refuse => Taken::Refused,
            _ => Taken::Ignored,
        }
    }

    /// Does what a decision says; returns what to report to gossipsub.
    fn carry_out(&mut self, from: Option<PeerId>, decision: Decision) -> MessageAcceptance {
        if self.carry_out_action(from, decision.action) {
            decision.acceptance
        } else {
            MessageAcceptance::Ignore
        }
    }

    /// Does what an action says (`from` is the peer the message came
    /// from, if known); false when a store write failed.
    fn carry_out_action(&mut self, from: Option<PeerId>, action: Action) -> bool {
        match action {
            Action::Nothing => {}
            Action::Refuse { channel, reason } => {
                let now = self.uptime.now_ms();
                if let Some(report) = self.refusals.refuse(from, channel, reason, now) {
                    self.report_refusals(report);
                }
            }
            Action::StorePost(new) => {
                let NewPost {
                    id,
                    stored,
                    seen_until,
                    record,
                } = *new;
                if let Err(e) = self.store.insert_seen_post(&id, &stored, seen_until) {
                    tracing::error!(error = %e, "cannot store post; not relayed");
                    return false;
                }
                self.flush_soon();
                self.emit(Event::Post(Box::new(record)));
            }
            Action::StoreList { list, bytes } => {
                if let Err(e) = self.keep_list(&list, &bytes) {
                    tracing::error!(error = %e, "cannot store moderator list");
                    return false;
                }
                self.flush_soon();
            }
            Action::StoreCard { card, bytes } => return self.take_card(*card, &bytes),
            Action::Presence(presence) => return self.take_presence(&presence),
            Action::StoreCrisisUpdate { update, bytes } => {
                return self.take_crisis_update(*update, &bytes);
            }
        }
        true
    }
}

impl Service {
    /// Emits one aggregated refusal report.
    pub(super) fn report_refusals(&mut self, report: super::refusals::Report) {
        self.emit(Event::Refused {
            channel: report.channel,
            reason: report.reason,
            count: report.count,
        });
    }

    /// Emits the refusals counted in windows that closed (the 1 s tick).
    pub(super) fn flush_refusals(&mut self) {
        let now = self.uptime.now_ms();
        for report in self.refusals.flush(now) {
            self.report_refusals(report);
        }
    }
}

mod cards;
mod crisis;
#[cfg(test)]
mod tests;
