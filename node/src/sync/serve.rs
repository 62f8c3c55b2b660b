//! Answering peers: what a node serves, and how much to each peer.
//!
//! A node answers only for channels it has joined, never with a post its
//! own policy hides, that has expired or that belongs to another channel
//! ([`servable`]). Each peer has a budget of requests and of response
//! bytes ([`Budgets`]); over either, it is answered
//! [`Refusal::Busy`](super::wire::Refusal::Busy). The item sets answered
//! from are cached per channel ([`ItemCache`]) while the store is
//! unchanged, so a peer's reconciliation rounds cost a filter of a sorted
//! list, not a scan of the store each.

use std::collections::HashMap;
use std::sync::Arc;

use hearth_protocol::{ChannelName, MessageId};
use libp2p::PeerId;

use crate::config::Rate;
use crate::rate::RateLimiter;
use crate::store::StoredPost;

/// Most peers whose budgets are tracked; see [`RateLimiter`].
const BUDGET_KEYS: usize = 10_000;

/// How long a cached item set is used while the store's post count stays
/// the same.
const CACHE_MS: u64 = 30_000;

/// Most channels whose item sets are cached.
const CACHED_CHANNELS: usize = 64;

/// Whether a stored post may be served to a peer that asked for it in
/// `channel` at wall time `now_ms`. `hidden` is whether the node's policy
/// hides it.
pub(crate) fn servable(
    post: &StoredPost,
    channel: &ChannelName,
    now_ms: u64,
    hidden: bool,
) -> bool {
    &post.channel == channel && !hidden && post.expires_ms.is_none_or(|at| at > now_ms)
}

/// Per-peer budgets of requests and response bytes.
#[derive(Debug)]
pub(crate) struct Budgets {
    requests: RateLimiter<PeerId>,
    kib: RateLimiter<PeerId>,
}

impl Budgets {
    /// Budgets of `requests` per peer and `kib` KiB of responses per peer.
    pub(crate) fn new(requests: Rate, kib: Rate) -> Self {
        Self {
            requests: RateLimiter::new(requests, BUDGET_KEYS),
            kib: RateLimiter::new(kib, BUDGET_KEYS),
        }
    }

    /// Takes one request from `peer`'s budget at monotonic `now_ms`.
    pub(crate) fn admit(&mut self, peer: &PeerId, now_ms: u64) -> bool {
        self.requests.allow(peer, now_ms)
    }

    /// Takes a response of `bytes` from `peer`'s budget; false when it is
    /// over (the response is then not sent).
    pub(crate) fn spend(&mut self, peer: &PeerId, bytes: u64, now_ms: u64) -> bool {
        let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        self.kib.allow_n(peer, kib, now_ms)
    }
}

/// The sorted `(created_ms, id)` items of a channel, as last read.
#[derive(Debug, Clone)]
struct Cached {
    items: Arc<Vec<(u64, MessageId)>>,
    post_count: usize,
    read_ms: u64,
}

/// Channel item sets, reused while the store is unchanged.
#[derive(Debug, Default)]
pub(crate) struct ItemCache {
    channels: HashMap<ChannelName, Cached>,
}

impl ItemCache {
    /// The cached items of `channel` created at or after `since_ms`, if
    /// the cache is still good: the store's post count is `post_count`, as
    /// when they were read, and they are younger than 30 s (monotonic
    /// `now_ms`).
    pub(crate) fn get(
        &self,
        channel: &ChannelName,
        since_ms: u64,
        post_count: usize,
        now_ms: u64,
    ) -> Option<Vec<(u64, MessageId)>> {
        let cached = self.channels.get(channel)?;
        let fresh =
            cached.post_count == post_count && now_ms.saturating_sub(cached.read_ms) < CACHE_MS;
        if !fresh {
            return None;
        }
        let from = cached.items.partition_point(|(t, _)| *t < since_ms);
        Some(cached.items.get(from..).unwrap_or_default().to_vec())
    }

    /// Keeps the items of `channel` (all of them, sorted by time then id),
    /// read when the store held `post_count` posts.
    pub(crate) fn put(
        &mut self,
        channel: ChannelName,
        items: Vec<(u64, MessageId)>,
        post_count: usize,
        now_ms: u64,
    ) {
        if self.channels.len() >= CACHED_CHANNELS && !self.channels.contains_key(&channel) {
            self.channels.clear();
        }
        self.channels.insert(
            channel,
            Cached {
                items: Arc::new(items),
                post_count,
                read_ms: now_ms,
            },
        );
    }

    /// Forgets a channel (left).
    pub(crate) fn forget(&mut self, channel: &ChannelName) {
        self.channels.remove(channel);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn grief() -> ChannelName {
        ChannelName::parse("grief").unwrap()
    }

    fn stored(channel: &str, expires_ms: Option<u64>) -> StoredPost {
        StoredPost {
            bytes: vec![1, 2, 3],
            channel: ChannelName::parse(channel).unwrap(),
            created_ms: 1_000,
            expires_ms,
            received_ms: 1_000,
            own: false,
        }
    }

    #[test]
    fn hidden_expired_and_other_channels_posts_are_not_served() {
        let now = 10_000;
        assert!(servable(&stored("grief", None), &grief(), now, false));
        assert!(servable(
            &stored("grief", Some(now + 1)),
            &grief(),
            now,
            false
        ));
        assert!(!servable(&stored("grief", None), &grief(), now, true));
        assert!(!servable(&stored("grief", Some(now)), &grief(), now, false));
        assert!(!servable(&stored("grief-uk", None), &grief(), now, false));
    }

    #[test]
    fn each_peer_has_its_own_request_and_byte_budget() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut budgets = Budgets::new(
            Rate {
                per_minute: 60,
                burst: 2,
            },
            Rate {
                per_minute: 60,
                burst: 100,
            },
        );
        assert!(budgets.admit(&a, 0) && budgets.admit(&a, 0));
        assert!(!budgets.admit(&a, 0));
        assert!(budgets.admit(&b, 0));
        assert!(budgets.spend(&a, 60 * 1024, 0));
        assert!(!budgets.spend(&a, 60 * 1024, 0), "40 KiB left");
        assert!(budgets.spend(&a, 40 * 1024, 0));
        assert!(budgets.spend(&b, 100 * 1024, 0));
        // One KiB a second comes back.
        assert!(budgets.spend(&a, 1024, 1_000));
    }

    #[test]
    fn the_cache_holds_while_the_store_is_unchanged() {
        let mut cache = ItemCache::default();
        let items: Vec<_> = (0..10u8)
            .map(|n| (u64::from(n) * 10, MessageId([n; 32])))
            .collect();
        assert!(cache.get(&grief(), 0, 5, 0).is_none());
        cache.put(grief(), items, 5, 0);
        assert_eq!(cache.get(&grief(), 0, 5, 1).unwrap().len(), 10);
        assert_eq!(cache.get(&grief(), 45, 5, 1).unwrap().len(), 5);
        assert!(
            cache.get(&grief(), 0, 6, 1).is_none(),
            "a post came or went"
        );
        assert!(cache.get(&grief(), 0, 5, CACHE_MS).is_none(), "too old");
        cache.forget(&grief());
        assert!(cache.get(&grief(), 0, 5, 1).is_none());
    }
}
