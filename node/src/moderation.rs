//! The moderation engine: the user's compiled policy plus flood limits.
//!
//! The policy is rebuilt from the store whenever the local blocklist, the
//! followed moderators or their lists change, so unfollowing a moderator
//! undoes their entries at once, including for stored posts.

use hearth_protocol::{
    ListId, Message, MessageId, NetworkId, Policy, PolicyList, Post, PublicKey, Scope, Verdict,
    open,
};
use libp2p::PeerId;

use crate::config::NodeLimits;
use crate::rate::RateLimiter;
use crate::store::{Store, StoreError};

/// Most keys each rate limiter tracks.
const RATE_KEYS: usize = 50_000;

pub(crate) struct Moderation {
    policy: Policy,
    per_persona: RateLimiter<PublicKey>,
    per_peer: RateLimiter<PeerId>,
}

impl Moderation {
    pub fn new(limits: &NodeLimits) -> Self {
        Self {
            policy: Policy::empty(),
            per_persona: RateLimiter::new(limits.per_persona, RATE_KEYS),
            per_peer: RateLimiter::new(limits.per_peer, RATE_KEYS),
        }
    }

    /// Recompiles the policy from the local list and every followed
    /// moderator's latest list.
    pub fn rebuild(&mut self, store: &Store, network: &NetworkId) -> Result<(), StoreError> {
        let mut lists = vec![PolicyList {
            id: ListId::Local,
            applies_to: Scope::All,
            entries: store.blocklist()?,
        }];
        for (moderator, scope) in store.follows()? {
            let Some(bytes) = store.moderator_list(&moderator)? else {
                continue;
            };
            match open(&bytes, network) {
                Ok(verified) => {
                    if let Message::ModeratorList(list) = verified.message {
                        lists.push(PolicyList {
                            id: ListId::Moderator(moderator),
                            applies_to: scope,
                            entries: list.entries,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(%moderator, error = %e, "stored moderator list unreadable")
                }
            }
        }
        self.policy = Policy::compile(lists);
        for problem in self.policy.problems() {
            tracing::warn!(%problem, "blocklist entry skipped");
        }
        Ok(())
    }

    /// Why the policy hides `post`, if it does.
    pub fn verdict(&self, id: &MessageId, post: &Post) -> Option<Verdict> {
        self.policy.check(id, post)
    }

    /// Whether `peer` may have another message looked at, at monotonic
    /// `now_ms`. Charged before validation, so a flood of junk costs the
    /// node a hash lookup per message instead of a signature check.
    pub fn peer_within_rate(&mut self, peer: &PeerId, now_ms: u64) -> bool {
        self.per_peer.allow(peer, now_ms)
    }

    /// Whether `author` may have another post accepted, at monotonic
    /// `now_ms`.
    pub fn persona_within_rate(&mut self, author: &PublicKey, now_ms: u64) -> bool {
        self.per_persona.allow(author, now_ms)
    }
}
