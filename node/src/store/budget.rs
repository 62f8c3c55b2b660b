//! The per-channel budget: how many bytes and posts a channel may keep,
//! and which posts go when it is full.
//!
//! A count cap alone lets a flood of large posts grow the store without
//! bound in bytes, and deleting the oldest posts first lets a flood erase
//! a channel's honest history (one run: 535 MB of spam, then the
//! 10,000-post cap left 70 honest posts). So every channel has a byte
//! budget ([`Retention::max_bytes_per_channel`]) and a count cap
//! ([`Retention::max_posts_per_channel`]), both checked on insert. When a
//! channel passes either, posts are deleted until it is back under
//! [`TRIM_TO_PERCENT`] of the limit it passed (so the pass, which reads
//! the channel, runs once per tenth of the limit at most). The sweep's
//! count cap uses the same order ([`eviction_order`]), in this order:
//!
//! 1. posts of personas that are new here (first stored less than
//!    [`Retention::established_after`] ago), the persona first stored
//!    last going first (then, between personas first stored in the same
//!    millisecond, the one holding the most bytes), each one's oldest post
//!    first: a flood, from one persona or from a thousand fresh ones,
//!    goes before the newcomers who were there when it began, whatever
//!    they wrote;
//! 2. then, the same way, posts of established personas;
//! 3. never the node's own posts (which include its user's replies).
//!
//! The running byte and post counts per channel live in memory: worked
//! out from the stored records the first time a channel is written after
//! the store opened, then kept up by every insert and delete.
//!
//! [`Retention::max_bytes_per_channel`]: crate::config::Retention::max_bytes_per_channel
//! [`Retention::max_posts_per_channel`]: crate::config::Retention::max_posts_per_channel
//! [`Retention::established_after`]: crate::config::Retention::established_after

use std::collections::{BinaryHeap, HashMap, VecDeque};

use hearth_protocol::{ChannelName, MessageId, PublicKey, signer_of};

use super::posts::{Doomed, SWEEP_CHUNK};
use super::{Store, StoreError, StoredPost, decode, keys};
use crate::clock::now_ms;
use crate::config::Retention;

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

/// How far to trim a channel: delete until both hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Goal {
    /// At most this many bytes of stored records.
    pub bytes: u64,
    /// At most this many posts.
    pub posts: usize,
}

/// The budget of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The most bytes a channel's stored posts may take (`u64::MAX`: no
    /// byte budget).
    pub max_bytes: u64,
    /// The most posts a channel may keep.
    pub max_posts: usize,
    /// A persona first stored this long ago is established.
    pub established_after_ms: u64,
}

/// `percent` of `n`, without overflow.
fn share(n: u64, percent: u64) -> u64 {
    n / 100 * percent + n % 100 * percent / 100
}

impl Budget {
    /// The budget of `channel` under `retention`.
    pub(crate) fn of(retention: &Retention, channel: &ChannelName) -> Budget {
        Budget {
            max_bytes: match retention.max_bytes_per_channel {
                0 => u64::MAX,
                n => n,
            },
            max_posts: retention.keep(channel).max_posts,
            established_after_ms: u64::try_from(retention.established_after.as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    /// What a channel of `bytes` in `posts` posts is trimmed to: within
    /// both limits, and [`TRIM_TO_PERCENT`] of each limit it passed.
    /// `None` when it is within both.
    pub(crate) fn goal(&self, bytes: u64, posts: usize) -> Option<Goal> {
        let over_bytes = bytes > self.max_bytes;
        let over_posts = posts > self.max_posts;
        if !over_bytes && !over_posts {
            return None;
        }
        let max_posts = u64::try_from(self.max_posts).unwrap_or(u64::MAX);
        Some(Goal {
            bytes: if over_bytes {
                share(self.max_bytes, TRIM_TO_PERCENT)
            } else {
                self.max_bytes
            },
            posts: if over_posts {
                usize::try_from(share(max_posts, TRIM_TO_PERCENT)).unwrap_or(self.max_posts)
            } else {
                self.max_posts
            },
        })
    }

    /// Which of `entries` (a channel's posts) to delete at `now_ms` to
    /// bring them to [`Budget::goal`], as indexes into `entries`. Empty
    /// when they are within the budget. Own posts are never chosen, so the
    /// result may leave the channel over its goal. (The store trims with
    /// [`eviction_order`] directly, on its running counts.)
    #[cfg(test)]
    pub(crate) fn plan(&self, entries: &[Entry], now_ms: u64) -> Vec<usize> {
        let bytes: u64 = entries.iter().map(|e| e.bytes).sum();
        match self.goal(bytes, entries.len()) {
            Some(goal) => eviction_order(entries, now_ms, self.established_after_ms, goal),
            None => Vec::new(),
        }
    }
}

/// The posts of a channel to delete, in the order they go, to bring
/// `entries` within `goal` at `now_ms`: new personas' posts first (first
/// stored less than `established_after_ms` ago), the persona first stored
/// last first (ties: the largest holder in bytes), each one's oldest post
/// first; then established personas' posts the same way; never own posts. The one order in which
/// both the budget and the sweep's count cap delete. Returns indexes into
/// `entries`.
pub(crate) fn eviction_order(
    entries: &[Entry],
    now_ms: u64,
    established_after_ms: u64,
    goal: Goal,
) -> Vec<usize> {
    let total: u64 = entries.iter().map(|e| e.bytes).sum();
    if total <= goal.bytes && entries.len() <= goal.posts {
        return Vec::new();
    }

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

    // New personas first (true sorts after false), the youngest first,
    // then the largest holder; ties by holder index, so the order is
    // deterministic.
    let mut heap: BinaryHeap<(bool, u64, u64, usize)> = holders
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.posts.is_empty())
        .map(|(n, h)| {
            let new = now_ms.saturating_sub(h.first_ms) < established_after_ms;
            (new, h.first_ms, h.bytes, n)
        })
        .collect();
    let mut left = total;
    let mut posts_left = entries.len();
    let mut doomed = Vec::new();
    while left > goal.bytes || posts_left > goal.posts {
        let Some((new, first_ms, _, n)) = heap.pop() else {
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
        posts_left = posts_left.saturating_sub(1);
        h.bytes = h.bytes.saturating_sub(bytes);
        doomed.push(i);
        if !h.posts.is_empty() {
            heap.push((new, first_ms, h.bytes, n));
        }
    }
    doomed
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
            max_posts: usize::MAX,
            established_after_ms: HOUR,
        }
    }

    fn bytes_goal(b: &Budget) -> u64 {
        b.goal(u64::MAX, 0).unwrap().bytes
    }

    #[test]
    fn within_budget_nothing_goes_and_the_target_is_a_tenth_below() {
        let entries = vec![post(1, 500, 0), post(2, 500, 0)];
        assert!(budget(1000).plan(&entries, 0).is_empty());
        assert_eq!(bytes_goal(&budget(1000)), 900);
        assert_eq!(bytes_goal(&budget(32 * 1024 * 1024)), 30_198_988);
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
        assert!(kept <= bytes_goal(&b), "{kept} bytes kept");
        let flood: Vec<_> = (100..108).map(key).collect();
        for &i in &doomed {
            let e = &entries[i];
            assert!(flood.contains(&e.author), "only flood posts go");
        }
        // The flooder first seen last goes first, oldest post first.
        assert_eq!(entries[doomed[0]].author, key(107));
        assert_eq!(entries[doomed[0]].created_ms, now - 1000 + 7);
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

    #[test]
    fn a_count_flood_of_small_posts_goes_before_honest_history() {
        let now = 10 * HOUR;
        let mut entries = Vec::new();
        // 40 posts of established people, hours old, and 10 own posts.
        for n in 0..40u64 {
            entries.push(post(1 + u8::try_from(n % 4).unwrap(), 300, HOUR + n));
        }
        for n in 0..10 {
            entries.push(Entry {
                own: true,
                ..post(9, 300, HOUR + n)
            });
        }
        // 200 fresh personas, one tiny post each, just now: fewer bytes
        // than the honest history, but more posts than the cap.
        for n in 0..200u64 {
            let mut secret = [7u8; 32];
            secret[..8].copy_from_slice(&n.to_be_bytes());
            entries.push(Entry {
                author: Some(Keypair::from_secret_bytes(secret).public()),
                ..post(0, 20, now - 1000 + n)
            });
        }
        let b = Budget {
            max_bytes: u64::MAX,
            max_posts: 100,
            established_after_ms: HOUR,
        };
        let doomed = b.plan(&entries, now);
        // Trimmed to 90 posts: 160 go, every one a flood post.
        assert_eq!(entries.len() - doomed.len(), 90);
        assert!(doomed.iter().all(|&i| i >= 50), "only flood posts go");
        // The oldest-first rule would have deleted the honest ones.
        assert!(entries[..50].iter().all(|e| e.created_ms < now - 1000));
    }
}

/// A post of a channel as read for the budget: its index key, id and entry.
type Listed = (Vec<u8>, MessageId, Entry);
/// An index entry whose record is missing or corrupt: its key and id.
type Broken = (Vec<u8>, MessageId);

/// The limits in force and the running byte and post counts of each
/// channel seen since the store opened.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    retention: Option<Retention>,
    /// Channel (name bytes) to (bytes of its stored records, posts).
    counts: HashMap<Vec<u8>, (u64, usize)>,
}

impl Store {
    /// Sets the budget of every channel from `retention`: at most
    /// `max_bytes_per_channel` bytes of stored posts (`0`: no byte
    /// budget) and the channel's maximum count of posts, personas first
    /// stored `established_after` ago counting as established. Checked at
    /// each insert from now on.
    pub fn set_channel_budget(&self, retention: &Retention) {
        self.tracker().retention = Some(retention.clone());
    }

    /// Bytes the stored posts of `channel` take (their records, without
    /// sled's own overhead).
    pub fn channel_bytes(&self, channel: &ChannelName) -> Result<u64, StoreError> {
        let key = channel.as_str().as_bytes();
        if let Some((bytes, _)) = self.tracker().counts.get(key) {
            return Ok(*bytes);
        }
        Ok(self
            .read_channel(key)?
            .0
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
        let (budget, counted) = {
            let mut tracker = self.tracker();
            let Some(budget) = tracker.retention.as_ref().map(|r| Budget::of(r, channel)) else {
                return Ok(());
            };
            let counted = tracker.counts.get_mut(key).map(|(b, n)| {
                *b = b.saturating_add(bytes);
                *n = n.saturating_add(1);
                (*b, *n)
            });
            (budget, counted)
        };
        let (total, posts) = match counted {
            Some(counted) => counted,
            None => {
                // The first write since opening: the counts from the
                // records (which include this post).
                let (entries, _) = self.read_channel(key)?;
                let counts = (entries.iter().map(|(_, _, e)| e.bytes).sum(), entries.len());
                self.tracker().counts.insert(key.to_vec(), counts);
                counts
            }
        };
        if budget.goal(total, posts).is_some() {
            self.trim(
                channel,
                |bytes, posts| budget.goal(bytes, posts),
                &budget,
                now_ms(),
                &mut Vec::new(),
            )?;
        }
        Ok(())
    }

    /// Records of posts were deleted: `freed` is (channel bytes, record
    /// bytes) per deleted post.
    pub(super) fn discharge(&self, freed: &[(Vec<u8>, u64)]) {
        if freed.is_empty() {
            return;
        }
        let mut tracker = self.tracker();
        for (channel, bytes) in freed {
            if let Some((b, n)) = tracker.counts.get_mut(channel) {
                *b = b.saturating_sub(*bytes);
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Deletes posts of `channel` beyond `max_posts` in the budget's order
    /// (own posts are never deleted), at `now_ms`: the sweep's count cap.
    /// Returns how many went; pending marks removed are added to
    /// `pending`.
    pub(super) fn trim_to_count(
        &self,
        channel: &ChannelName,
        retention: &Retention,
        now_ms: u64,
        pending: &mut Vec<(ChannelName, MessageId)>,
    ) -> Result<usize, StoreError> {
        let budget = Budget::of(retention, channel);
        let max_posts = budget.max_posts;
        self.trim(
            channel,
            |_, posts| {
                (posts > max_posts).then_some(Goal {
                    bytes: u64::MAX,
                    posts: max_posts,
                })
            },
            &budget,
            now_ms,
            pending,
        )
    }

    /// Deletes posts of `channel` in [`eviction_order`] until it reaches
    /// the goal `goal` gives for its bytes and posts (own posts are never
    /// deleted). Returns how many went; pending marks removed are added
    /// to `pending`.
    fn trim(
        &self,
        channel: &ChannelName,
        goal: impl Fn(u64, usize) -> Option<Goal>,
        budget: &Budget,
        now_ms: u64,
        pending: &mut Vec<(ChannelName, MessageId)>,
    ) -> Result<usize, StoreError> {
        let key = channel.as_str().as_bytes();
        let (posts, broken) = self.read_channel(key)?;
        let total: u64 = posts.iter().map(|(_, _, e)| e.bytes).sum();
        // Exact again before the deletions count down from it.
        self.tracker()
            .counts
            .insert(key.to_vec(), (total, posts.len()));
        let Some(goal) = goal(total, posts.len() + broken.len()) else {
            return Ok(0);
        };
        let entries: Vec<Entry> = posts.iter().map(|(_, _, e)| e.clone()).collect();
        let plan = eviction_order(&entries, now_ms, budget.established_after_ms, goal);
        // Index entries of missing or corrupt records go first: nobody
        // can read them.
        let doomed: Vec<Doomed> = broken
            .iter()
            .map(|(k, id)| (k, id))
            .chain(
                plan.iter()
                    .filter_map(|&i| posts.get(i))
                    .map(|(k, id, _)| (k, id)),
            )
            .map(|(index, id)| Doomed {
                id: *id,
                by_channel: Some((key.to_vec(), index.clone())),
                expiry: None,
            })
            .collect();
        let mut removed = 0;
        for chunk in doomed.chunks(SWEEP_CHUNK) {
            removed += self.delete(chunk, pending)?;
        }
        tracing::info!(
            channel = %channel,
            removed,
            bytes_before = total,
            posts_before = posts.len(),
            max_bytes = budget.max_bytes,
            max_posts = budget.max_posts,
            "channel over its budget: posts of new and large holders deleted"
        );
        Ok(removed)
    }

    /// Every post of a channel: its index key, id and budget entry; and
    /// the index keys and ids of records that are missing or do not
    /// decode.
    fn read_channel(&self, channel: &[u8]) -> Result<(Vec<Listed>, Vec<Broken>), StoreError> {
        let inner = &self.inner;
        let mut out = Vec::new();
        let mut broken = Vec::new();
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
                broken.push((key.to_vec(), id));
                continue;
            };
            let Ok(post) = decode::<StoredPost>(&value) else {
                broken.push((key.to_vec(), id));
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
        Ok((out, broken))
    }
}
