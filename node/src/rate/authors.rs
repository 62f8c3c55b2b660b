//! Rate limits per author (persona), with a harder limit for newcomers.
//!
//! A persona is a *newcomer* until it has had [`Tiers::newcomer_posts`]
//! posts accepted **and** [`Tiers::newcomer_ms`] have passed since its
//! first post was seen; until then its posts are judged by the newcomer
//! rate, afterwards by the established rate. Both conditions, so that a
//! persona cannot be aged in silence, nor established by a quick burst.
//!
//! Past its limit, a persona has a second allowance of the same size, the
//! *tolerance*: posts in it are refused ([`Judged::Over`]) but blamed on
//! nobody, because an honest relay can deliver them (a persona posting at
//! exactly its rate reaches this node with network jitter, or through two
//! entry points at once). Only posts beyond the tolerance
//! ([`Judged::Flood`]) are evidence against the peer that delivered them:
//! a relay that applies the same limits before forwarding never delivers
//! them, because it would have refused them itself.
//!
//! Memory is bounded: at most `capacity` personas are remembered, and the
//! one used least recently is forgotten first. A forgotten persona starts
//! again as a newcomer, which only ever makes it slower.
//!
//! Time is a parameter (monotonic ms), so everything here is tested
//! without a clock.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use super::Bucket;
use crate::config::{NodeLimits, Rate};

/// The two tiers of per-persona limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tiers {
    /// The rate of a newcomer persona.
    pub newcomer: Rate,
    /// The rate of an established persona.
    pub established: Rate,
    /// Posts accepted before a persona can be established.
    pub newcomer_posts: u32,
    /// Time since its first post before a persona can be established.
    pub newcomer_ms: u64,
}

impl Tiers {
    /// The tiers of `limits`.
    pub(crate) fn of(limits: &NodeLimits) -> Self {
        Self {
            newcomer: limits.newcomer,
            established: limits.per_persona,
            newcomer_posts: limits.newcomer_posts,
            newcomer_ms: u64::try_from(limits.newcomer_for.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The same tiers with `margin` tokens less burst: what a publisher
    /// paces its own posts by, so that its peers, judging by the full
    /// burst, always have a token more than it used, whatever the network
    /// delayed.
    pub(crate) fn with_margin(self, margin: u32) -> Self {
        let less = |rate: Rate| Rate {
            per_minute: rate.per_minute,
            burst: rate.burst.saturating_sub(margin).max(1),
        };
        Self {
            newcomer: less(self.newcomer),
            established: less(self.established),
            ..self
        }
    }
}

/// How one post of an author was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judged {
    /// Within the author's limit.
    Accept,
    /// Over the limit, within the tolerance: refused, nobody blamed.
    Over,
    /// Beyond the tolerance: refused, and evidence against the peer that
    /// delivered it.
    Flood,
}

/// What is remembered of one author.
#[derive(Debug, Clone, Copy)]
struct Author {
    first_ms: u64,
    accepted: u32,
    bucket: Bucket,
    tolerance: Bucket,
    /// Its place in the least-recently-used order.
    used: u64,
}

/// Per-author limits for many authors, least recently used forgotten
/// first.
#[derive(Debug)]
pub(crate) struct Authors<K> {
    tiers: Tiers,
    capacity: usize,
    authors: HashMap<K, Author>,
    /// Use counter → author, oldest first.
    order: BTreeMap<u64, K>,
    clock: u64,
}

impl<K: Hash + Eq + Clone> Authors<K> {
    /// Limits by `tiers` for at most `capacity` authors (at least one).
    pub(crate) fn new(tiers: Tiers, capacity: usize) -> Self {
        Self {
            tiers,
            capacity: capacity.max(1),
            authors: HashMap::new(),
            order: BTreeMap::new(),
            clock: 0,
        }
    }

    /// Judges one post of `key` at `now_ms`, and counts it.
    pub(crate) fn judge(&mut self, key: &K, now_ms: u64) -> Judged {
        let tiers = self.tiers;
        let author = self.touch(key, now_ms);
        let rate = rate_of(author, tiers, now_ms);
        if author.bucket.take(rate, 1, now_ms) {
            author.accepted = author.accepted.saturating_add(1);
            Judged::Accept
        } else if author.tolerance.take(rate, 1, now_ms) {
            Judged::Over
        } else {
            Judged::Flood
        }
    }

    /// Takes a token for one post of `key` at `now_ms` if it has one (the
    /// post may go), or says in how many ms the next one comes. Never
    /// touches the tolerance: for pacing own posts.
    pub(crate) fn take(&mut self, key: &K, now_ms: u64) -> Result<(), u64> {
        let tiers = self.tiers;
        let author = self.touch(key, now_ms);
        let rate = rate_of(author, tiers, now_ms);
        if author.bucket.take(rate, 1, now_ms) {
            author.accepted = author.accepted.saturating_add(1);
            Ok(())
        } else {
            Err(author.bucket.next_in_ms(rate, now_ms))
        }
    }

    /// Milliseconds from `now_ms` until `key` has a token (0 for an
    /// unknown key, which starts full).
    pub(crate) fn next_in_ms(&self, key: &K, now_ms: u64) -> u64 {
        self.authors.get(key).map_or(0, |author| {
            author
                .bucket
                .next_in_ms(rate_of(author, self.tiers, now_ms), now_ms)
        })
    }

    /// Whether `key` is established at `now_ms` (unknown keys are not).
    #[cfg(test)]
    fn is_established(&self, key: &K, now_ms: u64) -> bool {
        self.authors
            .get(key)
            .is_some_and(|a| established(a, self.tiers, now_ms))
    }

    /// How many authors are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.authors.len()
    }

    /// The author's state, created (as a newcomer seen first at `now_ms`)
    /// if unknown, and marked as used most recently.
    fn touch(&mut self, key: &K, now_ms: u64) -> &mut Author {
        self.clock += 1;
        let clock = self.clock;
        if let Some(used) = self.authors.get(key).map(|author| author.used) {
            self.order.remove(&used);
        } else {
            while self.authors.len() >= self.capacity {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.authors.remove(&oldest);
            }
        }
        self.order.insert(clock, key.clone());
        let rate = self.tiers.newcomer;
        let author = self.authors.entry(key.clone()).or_insert_with(|| Author {
            first_ms: now_ms,
            accepted: 0,
            bucket: Bucket::full(rate, now_ms),
            tolerance: Bucket::full(rate, now_ms),
            used: clock,
        });
        author.used = clock;
        author
    }
}

fn established(author: &Author, tiers: Tiers, now_ms: u64) -> bool {
    author.accepted >= tiers.newcomer_posts
        && now_ms.saturating_sub(author.first_ms) >= tiers.newcomer_ms
}

fn rate_of(author: &Author, tiers: Tiers, now_ms: u64) -> Rate {
    if established(author, tiers, now_ms) {
        tiers.established
    } else {
        tiers.newcomer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    fn tiers() -> Tiers {
        Tiers::of(&NodeLimits::default())
    }

    #[test]
    fn the_default_tiers_are_the_documented_ones() {
        let t = tiers();
        assert_eq!(
            (t.newcomer.burst, t.newcomer.per_minute),
            (8, 12),
            "newcomer"
        );
        assert_eq!(
            (t.established.burst, t.established.per_minute),
            (20, 40),
            "established"
        );
        assert_eq!((t.newcomer_posts, t.newcomer_ms), (20, 10 * MINUTE));
    }

    #[test]
    fn a_newcomer_gets_its_burst_then_a_tolerance_then_is_a_flood() {
        let mut authors = Authors::new(tiers(), 10);
        let judged: Vec<Judged> = (0..20).map(|_| authors.judge(&"new", 0)).collect();
        assert!(judged[..8].iter().all(|j| *j == Judged::Accept));
        assert!(judged[8..16].iter().all(|j| *j == Judged::Over));
        assert!(judged[16..].iter().all(|j| *j == Judged::Flood));
        // Twelve a minute: one token every five seconds.
        assert_eq!(authors.judge(&"new", 4_999), Judged::Flood);
        assert_eq!(authors.judge(&"new", 5_000), Judged::Accept);
        // Another author is judged on its own.
        assert_eq!(authors.judge(&"other", 0), Judged::Accept);
    }

    #[test]
    fn a_persona_is_established_after_twenty_posts_and_ten_minutes_not_either_alone() {
        let mut authors = Authors::new(tiers(), 10);
        // Twenty posts, one every ten seconds (within the newcomer rate).
        for n in 0..20 {
            assert_eq!(authors.judge(&"p", n * 10_000), Judged::Accept, "post {n}");
        }
        assert!(!authors.is_established(&"p", 200_000), "posts alone");
        assert!(authors.is_established(&"p", 10 * MINUTE));
        // Established: a burst of twenty goes through.
        let later = 20 * MINUTE;
        assert!((0..20).all(|_| authors.judge(&"p", later) == Judged::Accept));
        assert_eq!(authors.judge(&"p", later), Judged::Over);

        // Ten minutes with one post is not enough either.
        authors.judge(&"quiet", 0);
        assert!(!authors.is_established(&"quiet", 60 * MINUTE));
    }

    #[test]
    fn memory_is_bounded_and_the_least_recently_used_author_is_forgotten() {
        let mut authors = Authors::new(tiers(), 2);
        authors.judge(&1, 0);
        authors.judge(&2, 0);
        authors.judge(&1, 1);
        authors.judge(&3, 2);
        assert_eq!(authors.len(), 2);
        // 2 was used least recently: forgotten, so it starts full again;
        // 1 kept its count.
        assert_eq!(authors.authors.get(&1).map(|a| a.accepted), Some(2));
        assert!(!authors.authors.contains_key(&2));
        assert_eq!(authors.order.len(), 2);
    }

    #[test]
    fn pacing_takes_tokens_and_says_when_the_next_comes_without_the_tolerance() {
        let mut own = Authors::new(tiers().with_margin(1), 4);
        // Burst 8 less the margin of one.
        assert!((0..7).all(|_| own.take(&"grief", 0).is_ok()));
        assert_eq!(own.take(&"grief", 0), Err(5_000));
        assert_eq!(own.take(&"grief", 2_000), Err(3_000));
        assert_eq!(own.take(&"grief", 5_000), Ok(()));
    }

    #[test]
    fn twenty_short_lines_in_thirty_seconds_all_go_out_paced_under_the_defaults() {
        // A newcomer typing a line every 1.5 s: the publisher queues what
        // its peers would refuse and sends it when tokens come back.
        let tiers = tiers();
        let mut own = Authors::new(tiers.with_margin(1), 4);
        let mut peer = Authors::new(tiers, 4);
        let mut queue: std::collections::VecDeque<u64> = (0..20).map(|n| n * 1_500).collect();
        let mut now = 0;
        let mut sent = 0;
        while let Some(&written) = queue.front() {
            now = now.max(written);
            match own.take(&"me", now) {
                Ok(()) => {
                    queue.pop_front();
                    // Up to 200 ms of network delay, never in order.
                    let arrives = now + (sent * 37) % 200;
                    assert_eq!(peer.judge(&"me", arrives), Judged::Accept, "line {sent}");
                    sent += 1;
                }
                Err(wait) => now += wait,
            }
        }
        assert_eq!(sent, 20);
        // Nine go out as written (burst 7 plus what 12 s refilled), then
        // one every 5 s: the last about 65 s after the first was written.
        assert!((65_000..=65_010).contains(&now), "{now}");
    }
}
