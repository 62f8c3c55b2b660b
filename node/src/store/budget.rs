//! The per-channel byte budget: what a channel may take on disk, and which
//! posts go when it is full.
//!
//! A count cap alone lets a flood of large posts grow the store without
//! bound in bytes, and deleting the oldest posts first lets the flood
//! erase a channel's honest history (one run: 535 MB of spam, then the
//! 10,000-post cap left 70 honest posts). So every channel has a byte
//! budget ([`Retention::max_bytes_per_channel`]), checked on insert. When
//! a channel passes it, posts are deleted until it is back under
//! [`TRIM_TO_PERCENT`] of it (so the pass, which reads the channel, runs
//! once per tenth of the budget at most), in this order:
//!
//! 1. posts of personas that are new here (first stored less than
//!    [`Retention::established_after`] ago), taken from whichever of them
//!    holds the most bytes at that moment, oldest post first: a flooder's
//!    posts go before those of a newcomer who wrote a few lines;
//! 2. then, the same way, posts of established personas;
//! 3. never the node's own posts (which include its user's replies).
//!
//! The running byte count per channel lives in memory: worked out from
//! the stored records the first time a channel is written after the
//! store opened, then kept up by every insert and delete.
//!
//! [`Retention::max_bytes_per_channel`]: crate::config::Retention::max_bytes_per_channel
//! [`Retention::established_after`]: crate::config::Retention::established_after

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Duration;

use hearth_protocol::{ChannelName, MessageId, PublicKey, signer_of};

use super::posts::{Doomed, SWEEP_CHUNK};
use super::{Store, StoreError, StoredPost, decode, keys};
use crate::clock::now_ms;

/// A channel over its budget is trimmed to this share of it.
pub(crate) const TRIM_TO_PERCENT: u64 = 90;

/// One stored post, as the budget sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its author, if the stored envelope names one.
    pub author: Option<PublicKey>,
    /// Bytes of its stored record.
    pub bytes: u64,
    /// When this node stored it.
    pub received_ms: u64,
    /// When it was written.
    pub created_ms: u64,
    /// This node's user wrote it.
    pub own: bool,
}

/// The budget of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The most bytes a channel's stored posts may take.
    pub max_bytes: u64,
    /// A persona first stored this long ago is established.
    pub established_after_ms: u64,
}

impl Budget {
    /// What a channel over its budget is trimmed to.
    pub(crate) fn target(&self) -> u64 {
        self.max_bytes / 100 * TRIM_TO_PERCENT + self.max_bytes % 100 * TRIM_TO_PERCENT / 100
    }

    /// Which of `entries` (a channel's posts) to delete at `now_ms` to
    /// bring their bytes to [`Budget::target`], as indexes into `entries`.
    /// Empty when they are within [`Budget::max_bytes`]. Own posts are
    /// never chosen, so the result may leave the channel over its target.
    pub(crate) fn plan(&self, entries: &[Entry], now_ms: u64) -> Vec<usize> {
        let total: u64 = entries.iter().map(|e| e.bytes).sum();
        if total <= self.max_bytes {
            return Vec::new();
        }
        let target = self.target();

        // Per author: its posts oldest first, its bytes, when first stored.
        struct Holder {
            posts: VecDeque<usize>,
            bytes: u64,
            first_ms: u64,
        }
        let mut holders: HashMap<Option<PublicKey>, Holder> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let h = holders.entry(e.author).or_insert(Holder {
                posts: VecDeque::new(),
                bytes: 0,
                first_ms: u64::MAX,
            });
            h.first_ms = h.first_ms.min(e.received_ms);
            if !e.own {
                h.posts.push_back(i);
                h.bytes = h.bytes.saturating_add(e.bytes);
            }
        }
        let mut holders: Vec<Holder> = holders.into_values().collect();
        for h in &mut holders {
            h.posts
                .make_contiguous()
                .sort_by_key(|&i| entries.get(i).map(|e| (e.created_ms, e.received_ms)));
        }

        // New personas first (true sorts after false), the largest holder
        // first; ties by holder index, so the plan is deterministic.
        let mut heap: BinaryHeap<(bool, u64, usize)> = holders
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.posts.is_empty())
            .map(|(n, h)| {
                let new = now_ms.saturating_sub(h.first_ms) < self.established_after_ms;
                (new, h.bytes, n)
            })
            .collect();
        let mut left = total;
        let mut doomed = Vec::new();
        while left > target {
            let Some((new, _, n)) = heap.pop() else {
                break;
            };
            let Some(h) = holders.get_mut(n) else {
                continue;
            };
            let Some(i) = h.posts.pop_front() else {
                continue;
            };
            let bytes = entries.get(i).map_or(0, |e| e.bytes);
            left = left.saturating_sub(bytes);
            h.bytes = h.bytes.saturating_sub(bytes);
            doomed.push(i);
            if !h.posts.is_empty() {
                heap.push((new, h.bytes, n));
            }
        }
        doomed
    }
}

#[cfg(test)]
mod tests {
    use hearth_protocol::Keypair;

    use super::*;

    const HOUR: u64 = 60 * 60 * 1000;

    fn key(n: u8) -> Option<PublicKey> {
        Some(Keypair::from_secret_bytes([n; 32]).public())
    }

    fn post(author: u8, bytes: u64, at: u64) -> Entry {
        Entry {
            author: key(author),
            bytes,
            received_ms: at,
            created_ms: at,
            own: false,
        }
    }

    fn budget(max_bytes: u64) -> Budget {
        Budget {
            max_bytes,
            established_after_ms: HOUR,
        }
    }

    #[test]
    fn within_budget_nothing_goes_and_the_target_is_a_tenth_below() {
        let entries = vec![post(1, 500, 0), post(2, 500, 0)];
        assert!(budget(1000).plan(&entries, 0).is_empty());
        assert_eq!(budget(1000).target(), 900);
        assert_eq!(budget(32 * 1024 * 1024).target(), 30_198_988);
    }

    #[test]
    fn a_flood_goes_first_and_honest_history_stays() {
        let now = 10 * HOUR;
        let mut entries = Vec::new();
        // Established people, hours ago.
        for n in 0..20u64 {
            entries.push(post(1 + u8::try_from(n % 4).unwrap(), 200, HOUR + n));
        }
        // The node's own posts, some long.
        for n in 0..5 {
            entries.push(Entry {
                own: true,
                ..post(9, 4000, now - n)
            });
        }
        // A newcomer who wrote two lines a minute ago.
        entries.push(post(10, 150, now - 60_000));
        entries.push(post(10, 150, now - 50_000));
        // Eight flooding personas, max-size posts, just now.
        for n in 0..400u64 {
            entries.push(post(
                100 + u8::try_from(n % 8).unwrap(),
                8192,
                now - 1000 + n,
            ));
        }
        let b = budget(1024 * 1024);
        let doomed = b.plan(&entries, now);
        let kept: u64 = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !doomed.contains(i))
            .map(|(_, e)| e.bytes)
            .sum();
        assert!(kept <= b.target(), "{kept} bytes kept");
        let flood: Vec<_> = (100..108).map(key).collect();
        for &i in &doomed {
            let e = &entries[i];
            assert!(flood.contains(&e.author), "only flood posts go");
        }
        // The flooders are trimmed evenly.
        let mut per: HashMap<Option<PublicKey>, usize> = HashMap::new();
        for &i in &doomed {
            *per.entry(entries[i].author).or_default() += 1;
        }
        let (min, max) = (per.values().min().unwrap(), per.values().max().unwrap());
        assert!(max - min <= 1, "{per:?}");
    }

    #[test]
    fn established_personas_go_last_and_own_posts_never() {
        let now = 10 * HOUR;
        let entries = vec![
            post(1, 600, HOUR),
            post(1, 600, HOUR + 1),
            post(2, 100, now - 10),
            Entry {
                own: true,
                ..post(3, 5000, HOUR)
            },
        ];
        // Over budget by far: the newcomer's post goes first, then the
        // established one's oldest, then the rest; the own post stays.
        let doomed = budget(1000).plan(&entries, now);
        assert_eq!(doomed, vec![2, 0, 1]);
    }
}

/// The budget in force and the running byte count of each channel seen
/// since the store opened.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    budget: Option<Budget>,
    /// Channel (name bytes) to bytes of its stored records.
    bytes: HashMap<Vec<u8>, u64>,
}

impl Store {
    /// Sets the byte budget of every channel: at most `max_bytes` of
    /// stored posts (`0`: no budget), personas first stored
    /// `established_after` ago counting as established. Checked at each
    /// insert from now on.
    pub fn set_channel_budget(&self, max_bytes: u64, established_after: Duration) {
        let mut tracker = self.tracker();
        tracker.budget = (max_bytes > 0).then(|| Budget {
            max_bytes,
            established_after_ms: u64::try_from(established_after.as_millis()).unwrap_or(u64::MAX),
        });
    }

    /// Bytes the stored posts of `channel` take (their records, without
    /// sled's own overhead).
    pub fn channel_bytes(&self, channel: &ChannelName) -> Result<u64, StoreError> {
        let key = channel.as_str().as_bytes();
        if let Some(bytes) = self.tracker().bytes.get(key) {
            return Ok(*bytes);
        }
        Ok(self
            .read_channel(key)?
            .iter()
            .map(|(_, _, e)| e.bytes)
            .sum())
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.inner
            .budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A post of `bytes` was stored in `channel`: counts it, and trims the
    /// channel when that takes it over its budget.
    pub(super) fn charge(&self, channel: &ChannelName, bytes: u64) -> Result<(), StoreError> {
        let key = channel.as_str().as_bytes();
        let known = {
            let mut tracker = self.tracker();
            if tracker.budget.is_none() {
                return Ok(());
            }
            match tracker.bytes.get_mut(key) {
                Some(count) => {
                    *count = count.saturating_add(bytes);
                    true
                }
                None => false,
            }
        };
        if !known {
            // The first write since opening: the count from the records
            // (which include this post).
            let total = self
                .read_channel(key)?
                .iter()
                .map(|(_, _, e)| e.bytes)
                .sum();
            self.tracker().bytes.insert(key.to_vec(), total);
        }
        let (over, budget) = {
            let tracker = self.tracker();
            let count = tracker.bytes.get(key).copied().unwrap_or(0);
            match tracker.budget {
                Some(b) => (count > b.max_bytes, b),
                None => return Ok(()),
            }
        };
        if over {
            self.trim(channel, &budget)?;
        }
        Ok(())
    }

    /// Records of `channel`'s posts were deleted: `freed` is (channel
    /// bytes, record bytes) per deleted post.
    pub(super) fn discharge(&self, freed: &[(Vec<u8>, u64)]) {
        if freed.is_empty() {
            return;
        }
        let mut tracker = self.tracker();
        for (channel, bytes) in freed {
            if let Some(count) = tracker.bytes.get_mut(channel) {
                *count = count.saturating_sub(*bytes);
            }
        }
    }

    /// Deletes posts of `channel` in the budget's order until it is back
    /// at the budget's target (own posts are never deleted). Returns how
    /// many went.
    fn trim(&self, channel: &ChannelName, budget: &Budget) -> Result<usize, StoreError> {
        let key = channel.as_str().as_bytes();
        let posts = self.read_channel(key)?;
        let total: u64 = posts.iter().map(|(_, _, e)| e.bytes).sum();
        // Exact again before the deletions count down from it.
        self.tracker().bytes.insert(key.to_vec(), total);
        let entries: Vec<Entry> = posts.iter().map(|(_, _, e)| e.clone()).collect();
        let plan = budget.plan(&entries, now_ms());
        let doomed: Vec<Doomed> = plan
            .iter()
            .filter_map(|&i| posts.get(i))
            .map(|(index, id, _)| Doomed {
                id: *id,
                by_channel: Some((key.to_vec(), index.clone())),
                expiry: None,
            })
            .collect();
        let mut removed = 0;
        let mut unmarked = Vec::new();
        for chunk in doomed.chunks(SWEEP_CHUNK) {
            removed += self.delete(chunk, &mut unmarked)?;
        }
        tracing::info!(
            channel = %channel,
            removed,
            bytes_before = total,
            max_bytes = budget.max_bytes,
            "channel over its byte budget: posts of new and large holders deleted"
        );
        Ok(removed)
    }

    /// Every post of a channel: its index key, id and budget entry.
    /// Records that do not decode are skipped (the sweep deals with them).
    fn read_channel(&self, channel: &[u8]) -> Result<Vec<(Vec<u8>, MessageId, Entry)>, StoreError> {
        let inner = &self.inner;
        let mut out = Vec::new();
        for key in inner
            .by_channel
            .scan_prefix(keys::channel_prefix(channel))
            .keys()
        {
            let key = key?;
            let Some((_, _, id)) = keys::parse_by_channel(&key) else {
                continue;
            };
            let Some(value) = inner.posts.get(id.as_bytes())? else {
                continue;
            };
            let Ok(post) = decode::<StoredPost>(&value) else {
                continue;
            };
            out.push((
                key.to_vec(),
                id,
                Entry {
                    author: signer_of(&post.bytes).ok(),
                    bytes: u64::try_from(value.len()).unwrap_or(u64::MAX),
                    received_ms: post.received_ms,
                    created_ms: post.created_ms,
                    own: post.own,
                },
            ));
        }
        Ok(out)
    }
}
