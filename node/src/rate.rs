//! Token-bucket rate limits keyed by persona or peer.
//!
//! Time is a parameter, so the limiter is tested without a clock. The node
//! feeds it monotonic ms since start ([`crate::clock::Uptime`]), never wall
//! time: a bucket remembers when it last refilled, and a wall clock stepped
//! back by an hour would have frozen every bucket for that hour. Memory is
//! bounded: past `max_keys` buckets, the ones that have refilled completely
//! (idle keys) are dropped first, and if none have, the new key is refused
//! a bucket and judged by a shared overflow bucket.

use std::collections::HashMap;
use std::hash::Hash;

use crate::config::Rate;

pub(crate) mod authors;

/// One token bucket: `tokens` as of `last_ms` (monotonic).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last_ms: u64,
}

impl Bucket {
    /// A full bucket of `rate` at `now_ms`.
    pub(crate) fn full(rate: Rate, now_ms: u64) -> Self {
        Self {
            tokens: f64::from(rate.burst),
            last_ms: now_ms,
        }
    }

    /// Takes `n` tokens at `now_ms`; false, taking none, when it has fewer.
    pub(crate) fn take(&mut self, rate: Rate, n: u32, now_ms: u64) -> bool {
        take(self, rate, n, now_ms)
    }

    /// Milliseconds from `now_ms` until it holds a whole token (0 when it
    /// does now; `u64::MAX` for a rate that never refills).
    pub(crate) fn next_in_ms(&self, rate: Rate, now_ms: u64) -> u64 {
        let missing = 1.0 - refilled(self, rate, now_ms);
        if missing <= 0.0 {
            return 0;
        }
        if rate.per_minute == 0 {
            return u64::MAX;
        }
        let per_ms = f64::from(rate.per_minute) / 60_000.0;
        // Rounded up, so that a caller waking after this long finds the
        // token there. Positive and at most 60 000 (a whole token at one a
        // minute), so the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = (missing / per_ms).ceil() as u64;
        ms
    }
}

/// Rate limits for many keys.
#[derive(Debug)]
pub(crate) struct RateLimiter<K> {
    rate: Rate,
    buckets: HashMap<K, Bucket>,
    overflow: Bucket,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub(crate) fn new(rate: Rate, max_keys: usize) -> Self {
        Self {
            rate,
            buckets: HashMap::new(),
            overflow: Bucket {
                tokens: f64::from(rate.burst),
                last_ms: 0,
            },
            max_keys,
        }
    }

    /// Takes one token for `key` at `now_ms` (monotonic); false when the
    /// key is over its rate.
    pub(crate) fn allow(&mut self, key: &K, now_ms: u64) -> bool {
        self.allow_n(key, 1, now_ms)
    }

    /// Takes `n` tokens for `key` at `now_ms` (monotonic); false, taking
    /// none, when the key has fewer.
    pub(crate) fn allow_n(&mut self, key: &K, n: u32, now_ms: u64) -> bool {
        let rate = self.rate;
        if !self.buckets.contains_key(key) && self.buckets.len() >= self.max_keys {
            self.evict_idle(now_ms);
        }
        let full = Bucket {
            tokens: f64::from(rate.burst),
            last_ms: now_ms,
        };
        let bucket = if self.buckets.len() < self.max_keys || self.buckets.contains_key(key) {
            self.buckets.entry(key.clone()).or_insert(full)
        } else {
            &mut self.overflow
        };
        take(bucket, rate, n, now_ms)
    }

    /// Whether `key` holds at least one token at `now_ms`, taking none.
    pub(crate) fn has_token(&self, key: &K, now_ms: u64) -> bool {
        let bucket = match self.buckets.get(key) {
            Some(bucket) => bucket,
            // A new key starts full, unless it would share the overflow.
            None if self.buckets.len() < self.max_keys => return self.rate.burst >= 1,
            None => &self.overflow,
        };
        refilled(bucket, self.rate, now_ms) >= 1.0
    }

    fn evict_idle(&mut self, now_ms: u64) {
        let rate = self.rate;
        self.buckets
            .retain(|_, b| refilled(b, rate, now_ms) < f64::from(rate.burst));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.len()
    }
}

fn refilled(bucket: &Bucket, rate: Rate, now_ms: u64) -> f64 {
    let elapsed = now_ms.saturating_sub(bucket.last_ms) as f64;
    let per_ms = f64::from(rate.per_minute) / 60_000.0;
    (bucket.tokens + elapsed * per_ms).min(f64::from(rate.burst))
}

fn take(bucket: &mut Bucket, rate: Rate, n: u32, now_ms: u64) -> bool {
    bucket.tokens = refilled(bucket, rate, now_ms);
    bucket.last_ms = bucket.last_ms.max(now_ms);
    let n = f64::from(n);
    if bucket.tokens >= n {
        bucket.tokens -= n;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        per_minute: 60,
        burst: 3,
    };

    #[test]
    fn burst_then_refill_at_the_rate() {
        let mut limiter = RateLimiter::new(RATE, 10);
        assert!((0..3).all(|_| limiter.allow(&"a", 0)));
        assert!(!limiter.allow(&"a", 0));
        // One token per second.
        assert!(!limiter.allow(&"a", 999));
        assert!(limiter.allow(&"a", 1_000));
        // Other keys are independent.
        assert!(limiter.allow(&"b", 1_000));
    }

    #[test]
    fn a_key_can_be_asked_without_taking_a_token() {
        let mut limiter = RateLimiter::new(RATE, 10);
        assert!(limiter.has_token(&"a", 0));
        assert!((0..3).all(|_| limiter.allow(&"a", 0)));
        assert!(!limiter.has_token(&"a", 0));
        assert!(limiter.has_token(&"a", 1_000));
        assert!(limiter.has_token(&"a", 1_000), "asking took nothing");
    }

    #[test]
    fn a_bucket_says_when_its_next_token_comes() {
        let mut bucket = Bucket::full(RATE, 0);
        assert_eq!(bucket.next_in_ms(RATE, 0), 0);
        assert!((0..3).all(|_| bucket.take(RATE, 1, 0)));
        assert_eq!(bucket.next_in_ms(RATE, 0), 1_000);
        assert_eq!(bucket.next_in_ms(RATE, 400), 600);
        let frozen = Rate {
            per_minute: 0,
            burst: 1,
        };
        let mut empty = Bucket::full(frozen, 0);
        assert!(empty.take(frozen, 1, 0));
        assert_eq!(empty.next_in_ms(frozen, 5), u64::MAX);
    }

    #[test]
    fn memory_stays_bounded_and_idle_keys_are_dropped() {
        let mut limiter = RateLimiter::new(RATE, 2);
        assert!(limiter.allow(&1, 0));
        assert!(limiter.allow(&2, 0));
        // Both buckets are partly used: a third key shares the overflow.
        assert!(limiter.allow(&3, 0));
        assert_eq!(limiter.len(), 2);
        // After a full refill, idle keys make room.
        assert!(limiter.allow(&4, 10_000));
        assert!(limiter.len() <= 2);
    }
}
