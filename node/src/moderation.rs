//! The moderation engine: the user's compiled policy. (The flood limits,
//! per peer and per persona, belong to the receiving path:
//! `service::inbox::Inbox`.)
//!
//! The policy is rebuilt from the store whenever the local blocklist, the
//! followed moderators or their lists change, so unfollowing a moderator
//! undoes their entries at once, including for stored posts.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_protocol::{
    BlockTarget, ChannelName, ListId, Message, MessageId, NetworkId, Policy, PolicyList, Post,
    Scope, Verdict, open,
};

use crate::store::{Store, StoreError};

/// A compiled policy: built off the node task and swapped in, and shared
/// read-only with history reads off the task.
pub(crate) struct Compiled {
    policy: Policy,
    /// Post ids the policy blocks, with where: (the list's scope, the
    /// entry's scope). History sync never fetches these.
    blocked_ids: HashMap<MessageId, Vec<(Scope, Scope)>>,
}

impl Compiled {
    /// Why the policy hides `post`, if it does.
    pub(crate) fn verdict(&self, id: &MessageId, post: &Post) -> Option<Verdict> {
        self.policy.check(id, post)
    }
}

pub(crate) struct Moderation {
    compiled: Arc<Compiled>,
}

impl Moderation {
    pub(crate) fn new() -> Self {
        Self {
            compiled: Arc::new(Compiled {
                policy: Policy::empty(),
                blocked_ids: HashMap::new(),
            }),
        }
    }

    /// The policy in use, to judge posts off the task.
    pub(crate) fn current(&self) -> Arc<Compiled> {
        Arc::clone(&self.compiled)
    }

    /// Recompiles the policy from the local list and every followed
    /// moderator's latest list, in place (at start-up, before the node
    /// task runs).
    pub(crate) fn rebuild(&mut self, store: &Store, network: &NetworkId) -> Result<(), StoreError> {
        self.swap(Self::compile(store, network)?);
        Ok(())
    }

    /// Compiles the policy from the local list and every followed
    /// moderator's latest list in `store`. It only reads, so it runs on a
    /// clone of the store off the node task, which then [`swap`]s it in.
    ///
    /// [`swap`]: Self::swap
    pub(crate) fn compile(store: &Store, network: &NetworkId) -> Result<Compiled, StoreError> {
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
        let mut blocked_ids: HashMap<MessageId, Vec<(Scope, Scope)>> = HashMap::new();
        for list in &lists {
            for entry in &list.entries {
                if let BlockTarget::Post(id) = &entry.target {
                    blocked_ids
                        .entry(*id)
                        .or_default()
                        .push((list.applies_to.clone(), entry.scope.clone()));
                }
            }
        }
        let policy = Policy::compile(lists);
        for problem in policy.problems() {
            tracing::warn!(%problem, "blocklist entry skipped");
        }
        Ok(Compiled {
            policy,
            blocked_ids,
        })
    }

    /// Puts a compiled policy in use.
    pub(crate) fn swap(&mut self, compiled: Compiled) {
        self.compiled = Arc::new(compiled);
    }

    /// Whether the policy blocks the post `id` in `channel` by its id
    /// alone: known before the post itself is.
    pub(crate) fn blocks_id(&self, id: &MessageId, channel: &ChannelName) -> bool {
        self.compiled.blocked_ids.get(id).is_some_and(|scopes| {
            scopes
                .iter()
                .any(|(list, entry)| list.covers(channel) && entry.covers(channel))
        })
    }

    /// Why the policy hides `post`, if it does.
    pub(crate) fn verdict(&self, id: &MessageId, post: &Post) -> Option<Verdict> {
        self.compiled.verdict(id, post)
    }
}
