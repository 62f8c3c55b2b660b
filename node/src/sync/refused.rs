//! Ids of synced posts the node refused, so that sync does not fetch them
//! again; and ids a peer left out of its answers, so that it is not asked
//! for them again.
//!
//! A post the node took in, hid or dropped later (blocked, expired,
//! deleted by retention) stays in the store's seen set for as long as
//! either gossip or sync would accept it, which is what keeps it from
//! being fetched again. A post refused outright (invalid bytes, too old,
//! too little work) never reaches the seen set: it is remembered here, in
//! memory, for an hour. Posts are content-addressed, so an id refused for
//! its bytes is refused for good; one refused for its time (from the
//! future) may be taken once the hour is over.
//!
//! A peer that advertises a post and then leaves it out of its answer
//! (its policy hides it, it expired there, or the peer lies) is not asked
//! for it again for an hour ([`Refused`] keyed by peer and id); other
//! peers still are.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// How long a refused id is remembered, in ms.
const KEEP_MS: u64 = 60 * 60 * 1000;
/// Most ids remembered; the oldest are forgotten first.
const MAX_IDS: usize = 100_000;

/// Refused keys, each until a monotonic time.
#[derive(Debug)]
pub(crate) struct Refused<K> {
    until: HashMap<K, u64>,
    order: VecDeque<(u64, K)>,
}

impl<K> Default for Refused<K> {
    fn default() -> Self {
        Self {
            until: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Refused<K> {
    /// Remembers `id` as refused at monotonic `now_ms`.
    pub(crate) fn insert(&mut self, id: K, now_ms: u64) {
        self.forget_old(now_ms);
        if self.until.len() >= MAX_IDS
            && let Some((_, oldest)) = self.order.pop_front()
        {
            self.until.remove(&oldest);
        }
        let until = now_ms.saturating_add(KEEP_MS);
        self.until.insert(id.clone(), until);
        self.order.push_back((until, id));
    }

    /// Whether `id` was refused and is still remembered at `now_ms`.
    pub(crate) fn contains(&self, id: &K, now_ms: u64) -> bool {
        self.until.get(id).is_some_and(|until| *until > now_ms)
    }

    fn forget_old(&mut self, now_ms: u64) {
        while let Some((until, _)) = self.order.front() {
            if *until > now_ms {
                break;
            }
            let Some((until, id)) = self.order.pop_front() else {
                break;
            };
            // Only if not refused again since.
            if self.until.get(&id) == Some(&until) {
                self.until.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_protocol::MessageId;

    use super::*;

    #[test]
    fn a_refused_id_is_remembered_for_an_hour_and_memory_stays_bounded() {
        let mut refused = Refused::default();
        let id = MessageId([1; 32]);
        refused.insert(id, 0);
        assert!(refused.contains(&id, KEEP_MS - 1));
        assert!(!refused.contains(&id, KEEP_MS));
        refused.insert(MessageId([2; 32]), KEEP_MS);
        assert_eq!(refused.until.len(), 1);
        for n in 0..(u32::try_from(MAX_IDS).unwrap() + 5) {
            let mut bytes = [0; 32];
            bytes[..4].copy_from_slice(&n.to_be_bytes());
            refused.insert(MessageId(bytes), KEEP_MS + 1);
        }
        assert_eq!(refused.until.len(), MAX_IDS);
    }
}
