//! Posts and their indexes, seen ids, pending own posts, and retention.
//!
//! Retention is applied twice: [`Store::sweep`] deletes what is past the
//! limits, and the reads ([`Store::channel_posts`], [`Store::kept_post`])
//! never return what the sweep would delete at the time they are given, so
//! a post is gone for every reader from the moment it is past its limits,
//! however long ago the last sweep ran.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_protocol::{ChannelName, MessageId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, ConflictableTransactionResult};

use super::{Store, StoreError, StoredPost, decode, encode, keys};
use crate::config::{Keep, Retention};

/// How many deletions [`Store::sweep`] groups into one transaction.
pub(super) const SWEEP_CHUNK: usize = 256;

/// What one [`Store::sweep`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Posts past their author's expiry.
    pub expired: usize,
    /// Posts older than the maximum age.
    pub too_old: usize,
    /// The oldest posts of channels over their maximum count.
    pub over_count: usize,
    /// Seen ids past their replay-protection time.
    pub seen_forgotten: usize,
    /// Own posts that were still waiting for peers (marked pending) and
    /// were deleted: they will never be sent.
    pub pending_deleted: Vec<(ChannelName, MessageId)>,
    /// The sweep was stopped before it was done; the next one goes on.
    pub interrupted: bool,
}

impl SweepStats {
    /// Posts deleted, for every reason.
    pub fn posts(&self) -> usize {
        self.expired + self.too_old + self.over_count
    }
}

/// A post to delete, with the index keys by which it was found: they are
/// removed even when the post record itself is missing or corrupt, so
/// dangling index entries clean themselves up.
pub(super) struct Doomed {
    pub(super) id: MessageId,
    /// `(channel bytes, by_channel key)`.
    pub(super) by_channel: Option<(Vec<u8>, Vec<u8>)>,
    pub(super) expiry: Option<[u8; keys::TIME_ID_LEN]>,
}

impl Store {
    /// Stores a post, with its channel index (and expiry index) in the same
    /// transaction. Returns false, changing nothing, if a post with this id
    /// is already stored.
    ///
    /// One sled transaction over the three trees rather than a batch per
    /// tree: sled seals a transaction's writes into the log as one unit, so
    /// after a crash the post and its index entries are all there or all
    /// missing, and the "already stored?" check and the writes cannot
    /// interleave with a concurrent insert of the same id.
    pub fn insert_post(&self, id: &MessageId, post: &StoredPost) -> Result<bool, StoreError> {
        let record = PostRecord::of(id, post)?;
        let inner = &self.inner;
        let inserted = (&inner.posts, &inner.by_channel, &inner.expiry).transaction(
            |(posts, by_channel, by_expiry)| record.insert_in(posts, by_channel, by_expiry),
        )?;
        self.inserted(post, inserted, record.value.len());
        Ok(inserted)
    }

    /// [`Store::insert_post`] and [`Store::mark_seen`] in one transaction:
    /// what a node does with every post it takes. Every sled transaction
    /// takes a lock shared by every store of the process, so one instead
    /// of two halves that cost on the receiving path. Returns whether the
    /// post was new.
    pub fn insert_seen_post(
        &self,
        id: &MessageId,
        post: &StoredPost,
        seen_until_ms: u64,
    ) -> Result<bool, StoreError> {
        let record = PostRecord::of(id, post)?;
        let inner = &self.inner;
        let inserted = (
            &inner.posts,
            &inner.by_channel,
            &inner.expiry,
            &inner.seen,
            &inner.seen_expiry,
        )
            .transaction(|(posts, by_channel, by_expiry, seen, seen_by_time)| {
                mark_seen_in(seen, seen_by_time, id, seen_until_ms)?;
                record.insert_in(posts, by_channel, by_expiry)
            })?;
        self.inserted(post, inserted, record.value.len());
        Ok(inserted)
    }

    /// Counts a post just inserted (if it was new) and charges its
    /// channel's byte budget.
    fn inserted(&self, post: &StoredPost, inserted: bool, len: usize) {
        let inner = &self.inner;
        if inserted {
            inner.post_count.fetch_add(1, Ordering::Relaxed);
            // The post is stored whatever the budget's pass does; a failure
            // there only leaves the channel over budget until the next.
            let bytes = u64::try_from(len).unwrap_or(u64::MAX);
            if let Err(e) = self.charge(&post.channel, bytes) {
                tracing::warn!(error = %e, channel = %post.channel, "byte budget not applied");
            }
        }
    }

    /// A stored post. A record that does not decode is reported as
    /// [`StoreError::Corrupt`].
    pub fn get_post(&self, id: &MessageId) -> Result<Option<StoredPost>, StoreError> {
        match self.inner.posts.get(id.as_bytes())? {
            None => Ok(None),
            Some(value) => self.decode_one("posts", id.as_bytes(), &value).map(Some),
        }
    }

    /// Whether a post with this id is stored.
    pub fn contains_post(&self, id: &MessageId) -> Result<bool, StoreError> {
        Ok(self.inner.posts.contains_key(id.as_bytes())?)
    }

    /// Deletes a post with its index entries and pending marker. Returns
    /// whether it was stored.
    pub fn remove_post(&self, id: &MessageId) -> Result<bool, StoreError> {
        let removed = self.delete(
            &[Doomed {
                id: *id,
                by_channel: None,
                expiry: None,
            }],
            &mut Vec::new(),
        )?;
        Ok(removed > 0)
    }

    /// The newest `limit` posts of `channel` created at or after
    /// `since_ms` that are kept at `now_ms` under `keep`, returned oldest
    /// first. Posts created in the same millisecond are ordered by id.
    ///
    /// Kept means what [`Store::sweep`] would leave at `now_ms`: not past
    /// its author's expiry, not older than `keep.max_age_ms`, and among the
    /// newest `keep.max_posts` of the channel. So a post past its limits is
    /// never returned, whenever the last sweep ran. Corrupt records are
    /// skipped (and do not count towards `limit`).
    pub fn channel_posts(
        &self,
        channel: &ChannelName,
        since_ms: Option<u64>,
        limit: usize,
        now_ms: u64,
        keep: Keep,
    ) -> Result<Vec<(MessageId, StoredPost)>, StoreError> {
        let mut out = Vec::new();
        if limit == 0 || keep.max_posts == 0 {
            return Ok(out);
        }
        let name = channel.as_str().as_bytes();
        let oldest = keep.oldest_kept(now_ms);
        let start = keys::channel_at(name, oldest.max(since_ms.unwrap_or(0)));
        let end = keys::channel_end(name);
        // Newer posts count towards the channel's maximum even when
        // `since_ms` leaves them out, as they do for the sweep.
        let mut counted = 0usize;
        let mut newer = self.inner.by_channel.range(start..end).rev();
        for item in &mut newer {
            let (key, _) = item?;
            let Some((_, _, id)) = keys::parse_by_channel(&key) else {
                self.skip_corrupt("by_channel", &key, "malformed index key");
                continue;
            };
            let value = self.inner.posts.get(id.as_bytes())?;
            let post = value
                .as_deref()
                .and_then(|value| self.decode_listed::<StoredPost>("posts", id.as_bytes(), value));
            if post
                .as_ref()
                .is_some_and(|p| p.expires_ms.is_some_and(|at| at <= now_ms))
            {
                continue;
            }
            counted += 1;
            if counted > keep.max_posts {
                break;
            }
            // An index entry whose post is gone, or corrupt: cleaned by
            // the sweep.
            if let Some(post) = post {
                out.push((id, post));
                if out.len() >= limit {
                    break;
                }
            }
        }
        out.reverse();
        Ok(out)
    }

    /// A stored post, if it is kept at `now_ms` under `retention` (see
    /// [`Store::channel_posts`]): what serving a post by its id must use. A
    /// record that does not decode is reported as [`StoreError::Corrupt`].
    pub fn kept_post(
        &self,
        id: &MessageId,
        now_ms: u64,
        retention: &Retention,
    ) -> Result<Option<StoredPost>, StoreError> {
        let Some(post) = self.get_post(id)? else {
            return Ok(None);
        };
        let keep = retention.keep(&post.channel);
        if post.expires_ms.is_some_and(|at| at <= now_ms)
            || post.created_ms < keep.oldest_kept(now_ms)
        {
            return Ok(None);
        }
        // Among the newest `max_posts`? Count the channel's newer entries;
        // only when there are that many index entries is it worth decoding
        // them to leave expired ones out of the count.
        let name = post.channel.as_str().as_bytes();
        let after = keys::by_channel(&post.channel, post.created_ms, id);
        let end = keys::channel_end(name);
        let newer = || {
            self.inner.by_channel.range::<&[u8], _>((
                Bound::Excluded(after.as_slice()),
                Bound::Excluded(end.as_slice()),
            ))
        };
        let mut entries = 0usize;
        for item in newer() {
            item?;
            entries += 1;
            if entries >= keep.max_posts {
                break;
            }
        }
        if entries < keep.max_posts {
            return Ok(Some(post));
        }
        let mut counted = 0usize;
        for item in newer() {
            let (key, _) = item?;
            let expired = match keys::parse_by_channel(&key) {
                Some((_, _, newer_id)) => self
                    .inner
                    .posts
                    .get(newer_id.as_bytes())?
                    .and_then(|value| decode::<StoredPost>(&value).ok())
                    .is_some_and(|p| p.expires_ms.is_some_and(|at| at <= now_ms)),
                None => false,
            };
            if !expired {
                counted += 1;
                if counted >= keep.max_posts {
                    return Ok(None);
                }
            }
        }
        Ok(Some(post))
    }

    /// How many posts are stored. Kept in memory (counted once at open),
    /// so this is cheap.
    pub fn post_count(&self) -> usize {
        self.inner.post_count.load(Ordering::Relaxed)
    }

    /// How many posts of `channel` are stored (a scan of its index).
    pub fn channel_post_count(&self, channel: &ChannelName) -> Result<usize, StoreError> {
        let prefix = keys::channel_prefix(channel.as_str().as_bytes());
        let mut count = 0;
        for key in self.inner.by_channel.scan_prefix(prefix).keys() {
            key?;
            count += 1;
        }
        Ok(count)
    }

    // ---- seen ids ----

    /// Remembers that a message was seen, until `until_ms` (kept beyond
    /// the post's retention, so a replay of a deleted post is recognised).
    /// Returns false if it was already seen; its time is then raised to
    /// `until_ms` if that is later, never lowered.
    pub fn mark_seen(&self, id: &MessageId, until_ms: u64) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let fresh = (&inner.seen, &inner.seen_expiry).transaction(
            |(seen, by_time)| -> ConflictableTransactionResult<bool, StoreError> {
                mark_seen_in(seen, by_time, id, until_ms)
            },
        )?;
        Ok(fresh)
    }

    /// Whether a message was seen (and not yet forgotten by a sweep).
    pub fn is_seen(&self, id: &MessageId) -> Result<bool, StoreError> {
        Ok(self.inner.seen.contains_key(id.as_bytes())?)
    }

    // ---- own posts waiting for a first peer ----

    /// Marks an own post as not yet sent to any peer.
    pub fn add_pending(&self, channel: &ChannelName, id: &MessageId) -> Result<(), StoreError> {
        let key = keys::pending(channel.as_str().as_bytes(), id);
        self.inner.pending.insert(key, &[][..])?;
        Ok(())
    }

    /// Clears the pending mark of an own post.
    pub fn remove_pending(&self, channel: &ChannelName, id: &MessageId) -> Result<(), StoreError> {
        let key = keys::pending(channel.as_str().as_bytes(), id);
        self.inner.pending.remove(key)?;
        Ok(())
    }

    /// The pending own posts of `channel`, oldest first (by the post's
    /// `created_ms`; ids whose post is missing or corrupt come last).
    pub fn pending(&self, channel: &ChannelName) -> Result<Vec<MessageId>, StoreError> {
        let prefix = keys::channel_prefix(channel.as_str().as_bytes());
        let mut found = Vec::new();
        for key in self.inner.pending.scan_prefix(&prefix).keys() {
            let key = key?;
            let Some(id) = key.get(prefix.len()..).and_then(keys::message_id) else {
                self.skip_corrupt("pending", &key, "malformed key");
                continue;
            };
            let created = match self.inner.posts.get(id.as_bytes())? {
                Some(value) => decode::<StoredPost>(&value).ok().map(|p| p.created_ms),
                None => None,
            };
            found.push((created.unwrap_or(u64::MAX), id));
        }
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    /// How many own posts wait for a peer, in all channels.
    pub fn pending_count(&self) -> usize {
        self.inner.pending.len()
    }

    // ---- retention ----

    /// Applies retention at `now_ms`, in this order: deletes posts whose
    /// `expires_ms <= now_ms`; then, channel by channel with the limits
    /// `retention` gives it, posts created before `now_ms - max_age` and
    /// posts beyond `max_posts` in the budget's order (budget.rs: new
    /// personas' first, never own posts); and forgets seen ids whose
    /// `until_ms <= now_ms`. Every deleted post loses its index entries and
    /// its pending mark (own posts follow the same rules; the stats list
    /// those that were pending). Nothing else is touched.
    ///
    /// Blocking and possibly long (deletions go in transactions of 256):
    /// run it off the async runtime. It checks `stop` between transactions
    /// and channels and returns early, with what it did so far, once it is
    /// set.
    pub fn sweep(
        &self,
        now_ms: u64,
        retention: &Retention,
        stop: &AtomicBool,
    ) -> Result<SweepStats, StoreError> {
        let mut stats = SweepStats::default();
        let stopped = || stop.load(Ordering::Relaxed);
        let inner = &self.inner;

        // Expired: a range scan of the expiry index up to now.
        let mut doomed = Vec::new();
        let expired = match keys::time_id_upper(now_ms) {
            Some(upper) => inner.expiry.range(..upper),
            None => inner.expiry.iter(),
        };
        for key in expired.keys() {
            let key = key?;
            match keys::parse_time_id(&key) {
                Some((_, id)) => doomed.push(Doomed {
                    id,
                    by_channel: None,
                    expiry: <[u8; keys::TIME_ID_LEN]>::try_from(key.as_ref()).ok(),
                }),
                None => {
                    self.skip_corrupt("expiry", &key, "malformed index key");
                    inner.expiry.remove(key)?;
                }
            }
            stats.expired += self.delete_when_full(&mut doomed, &mut stats.pending_deleted)?;
            if stopped() {
                break;
            }
        }
        stats.expired += self.delete(&doomed, &mut stats.pending_deleted)?;

        // Too old and over count: channel by channel along the index.
        let mut next: Vec<u8> = Vec::new();
        while !stopped() {
            let Some(first) = inner.by_channel.range(next.as_slice()..).keys().next() else {
                break;
            };
            let first = first?;
            let Some((channel, _)) = keys::split_channel(&first) else {
                self.skip_corrupt("by_channel", &first, "malformed index key");
                inner.by_channel.remove(&first)?;
                continue;
            };
            let channel = channel.to_vec();
            next = keys::channel_end(&channel);
            let keep = match keys::channel_name(&channel) {
                Some(name) => retention.keep(&name),
                // Not a channel name: a corrupt key, under the node-wide
                // limits.
                None => Keep {
                    max_age_ms: u64::try_from(retention.max_age.as_millis()).unwrap_or(u64::MAX),
                    max_posts: retention.max_posts_per_channel,
                },
            };

            let old = inner.by_channel.range(
                keys::channel_prefix(&channel)
                    ..keys::channel_at(&channel, keep.oldest_kept(now_ms)),
            );
            stats.too_old += self.delete_index_range(&channel, old, &mut stats.pending_deleted)?;

            let count = self.count_range(&channel)?;
            if count > keep.max_posts {
                // The budget's order, not the oldest first: a flood of
                // small posts must not push out the channel's history.
                // Own posts stay, so a channel may stay over its count.
                match keys::channel_name(&channel) {
                    Some(name) => {
                        stats.over_count += self.trim_to_count(
                            &name,
                            retention,
                            now_ms,
                            &mut stats.pending_deleted,
                        )?;
                    }
                    None => {
                        let oldest = inner
                            .by_channel
                            .scan_prefix(keys::channel_prefix(&channel))
                            .take(count - keep.max_posts);
                        stats.over_count +=
                            self.delete_index_range(&channel, oldest, &mut stats.pending_deleted)?;
                    }
                }
            }
        }

        if stopped() {
            stats.interrupted = true;
            return Ok(stats);
        }
        stats.seen_forgotten = self.forget_seen(now_ms)?;
        Ok(stats)
    }

    fn count_range(&self, channel: &[u8]) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self
            .inner
            .by_channel
            .scan_prefix(keys::channel_prefix(channel))
            .keys()
        {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// Deletes the posts of `channel` whose index entries `entries` yields.
    fn delete_index_range(
        &self,
        channel: &[u8],
        entries: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
        pending: &mut Vec<(ChannelName, MessageId)>,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut doomed = Vec::new();
        for item in entries {
            let (key, _) = item?;
            match keys::parse_by_channel(&key) {
                Some((_, _, id)) => doomed.push(Doomed {
                    id,
                    by_channel: Some((channel.to_vec(), key.to_vec())),
                    expiry: None,
                }),
                None => {
                    self.skip_corrupt("by_channel", &key, "malformed index key");
                    self.inner.by_channel.remove(key)?;
                }
            }
            removed += self.delete_when_full(&mut doomed, pending)?;
        }
        Ok(removed + self.delete(&doomed, pending)?)
    }

    fn delete_when_full(
        &self,
        doomed: &mut Vec<Doomed>,
        pending: &mut Vec<(ChannelName, MessageId)>,
    ) -> Result<usize, StoreError> {
        if doomed.len() < SWEEP_CHUNK {
            return Ok(0);
        }
        let removed = self.delete(doomed, pending)?;
        doomed.clear();
        Ok(removed)
    }

    /// Deletes posts with every index entry and pending mark that points
    /// to them, in one transaction. Returns how many post records existed;
    /// the pending marks it removed are added to `pending`.
    pub(super) fn delete(
        &self,
        doomed: &[Doomed],
        pending: &mut Vec<(ChannelName, MessageId)>,
    ) -> Result<usize, StoreError> {
        if doomed.is_empty() {
            return Ok(0);
        }
        let inner = &self.inner;
        let trees = (
            &inner.posts,
            &inner.by_channel,
            &inner.expiry,
            &inner.pending,
        );
        let (removed, unmarked, freed) =
            trees.transaction(|(posts, by_channel, by_expiry, marks)| {
                // A transaction may run more than once: start afresh each time.
                let mut removed = 0;
                let mut freed: Vec<(Vec<u8>, u64)> = Vec::new();
                let mut unmarked: Vec<(Vec<u8>, MessageId)> = Vec::new();
                let mut unmark = |channel: &[u8], id: &MessageId| {
                    let key = keys::pending(channel, id);
                    let was = marks.remove(key)?;
                    if was.is_some() {
                        unmarked.push((channel.to_vec(), *id));
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                };
                for d in doomed {
                    if let Some((channel, key)) = &d.by_channel {
                        by_channel.remove(key.as_slice())?;
                        unmark(channel, &d.id)?;
                    }
                    if let Some(key) = &d.expiry {
                        by_expiry.remove(&key[..])?;
                    }
                    let Some(value) = posts.remove(&d.id.as_bytes()[..])? else {
                        continue;
                    };
                    removed += 1;
                    // A corrupt record is still deleted; only the index entries
                    // it was found by can then be removed.
                    if let Ok(post) = decode::<StoredPost>(&value) {
                        let channel = post.channel.as_str().as_bytes();
                        freed.push((
                            channel.to_vec(),
                            u64::try_from(value.len()).unwrap_or(u64::MAX),
                        ));
                        by_channel.remove(keys::by_channel(
                            &post.channel,
                            post.created_ms,
                            &d.id,
                        ))?;
                        unmark(channel, &d.id)?;
                        if let Some(at) = post.expires_ms {
                            by_expiry.remove(&keys::time_id(at, &d.id)[..])?;
                        }
                    }
                }
                Ok::<_, ConflictableTransactionError<StoreError>>((removed, unmarked, freed))
            })?;
        self.discharge(&freed);
        // The count only moves by what a committed transaction removed.
        let _ = inner
            .post_count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(removed))
            });
        pending.extend(
            unmarked
                .into_iter()
                .filter_map(|(channel, id)| keys::channel_name(&channel).map(|c| (c, id))),
        );
        Ok(removed)
    }

    /// Forgets seen ids whose time has come, along the `seen_expiry` index.
    fn forget_seen(&self, now_ms: u64) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let due = match keys::time_id_upper(now_ms) {
            Some(upper) => inner.seen_expiry.range(..upper),
            None => inner.seen_expiry.iter(),
        };
        let mut forgotten = 0;
        let mut chunk = Vec::new();
        let mut keys_iter = due.keys();
        loop {
            let next = keys_iter.next().transpose()?;
            let done = next.is_none();
            if let Some(key) = next {
                chunk.push(key);
            }
            if chunk.len() >= SWEEP_CHUNK || (done && !chunk.is_empty()) {
                forgotten += (&inner.seen, &inner.seen_expiry).transaction(
                    |(seen, by_time)| -> ConflictableTransactionResult<usize, StoreError> {
                        let mut forgotten = 0;
                        for key in &chunk {
                            by_time.remove(key.as_ref())?;
                            let Some((until, id)) = keys::parse_time_id(key) else {
                                continue;
                            };
                            // Only if the entry still ends at this time: a
                            // later mark_seen may have extended it.
                            let current = seen.get(&id.as_bytes()[..])?;
                            // A value that is not a time is dropped too.
                            let Some(current) = current else { continue };
                            if keys::be_u64(&current).is_none_or(|t| t == until) {
                                seen.remove(&id.as_bytes()[..])?;
                                forgotten += 1;
                            }
                        }
                        Ok(forgotten)
                    },
                )?;
                chunk.clear();
            }
            if done {
                return Ok(forgotten);
            }
        }
    }
}

/// [`Store::mark_seen`] inside a transaction on the `seen` and
/// `seen_expiry` trees.
/// A post's stored value and index keys, made once outside the
/// transaction (which sled may run more than once).
struct PostRecord<'a> {
    id: &'a MessageId,
    value: Vec<u8>,
    index: Vec<u8>,
    expiry: Option<[u8; keys::TIME_ID_LEN]>,
}

impl<'a> PostRecord<'a> {
    fn of(id: &'a MessageId, post: &StoredPost) -> Result<Self, StoreError> {
        Ok(Self {
            id,
            value: encode(post)?,
            index: keys::by_channel(&post.channel, post.created_ms, id),
            expiry: post.expires_ms.map(|at| keys::time_id(at, id)),
        })
    }

    /// Writes the post and its index entries unless a post with its id is
    /// stored; returns whether it wrote.
    fn insert_in(
        &self,
        posts: &sled::transaction::TransactionalTree,
        by_channel: &sled::transaction::TransactionalTree,
        by_expiry: &sled::transaction::TransactionalTree,
    ) -> ConflictableTransactionResult<bool, StoreError> {
        if posts.get(self.id.as_bytes())?.is_some() {
            return Ok(false);
        }
        posts.insert(&self.id.as_bytes()[..], self.value.as_slice())?;
        by_channel.insert(self.index.as_slice(), &[][..])?;
        if let Some(key) = &self.expiry {
            by_expiry.insert(&key[..], &[][..])?;
        }
        Ok(true)
    }
}

fn mark_seen_in(
    seen: &sled::transaction::TransactionalTree,
    by_time: &sled::transaction::TransactionalTree,
    id: &MessageId,
    until_ms: u64,
) -> ConflictableTransactionResult<bool, StoreError> {
    let key = id.as_bytes();
    let old = seen.get(&key[..])?;
    let old_until = old.as_deref().and_then(keys::be_u64);
    if let Some(old_until) = old_until {
        if old_until >= until_ms {
            return Ok(false);
        }
        by_time.remove(&keys::time_id(old_until, id)[..])?;
    }
    seen.insert(&key[..], &until_ms.to_be_bytes()[..])?;
    by_time.insert(&keys::time_id(until_ms, id)[..], &[][..])?;
    Ok(old.is_none())
}
