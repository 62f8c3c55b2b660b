//! The moderation engine: the user's compiled policy. (The flood limits,
//! per peer and per persona, belong to the receiving path:
//! `service::inbox::Inbox`.)
//!
//! The policy is rebuilt from the store whenever the local blocklist, the
//! followed moderators or their lists change, so unfollowing a moderator
//! undoes their entries at once, including for stored posts.

use hearth_protocol::{
    ListId, Message, MessageId, NetworkId, Policy, PolicyList, Post, Scope, Verdict, open,
};

use crate::store::{Store, StoreError};

pub(crate) struct Moderation {
    policy: Policy,
}

impl Moderation {
    pub fn new() -> Self {
        Self {
            policy: Policy::empty(),
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
}
