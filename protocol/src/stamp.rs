//! Persona stamps: a one-time proof of work that makes every new persona
//! cost some seconds of CPU, so that one machine cannot mint personas by
//! the thousand to get around per-persona limits and blocks.
//!
//! ```text
//! stamp hash = SHA-256(stamp as u64 little-endian || "hearth/persona-stamp/1"
//!                      || varint(len) network || persona key:[u8;32])
//! ```
//!
//! A stamp meets level `B` when its hash has at least `B` leading zero bits.
//! The nonce comes first so that every attempt costs the whole hash (two
//! SHA-256 compressions): no implementation can reuse a cached midstate,
//! so the measured cost per attempt is everyone's cost. The stamp is found
//! once per persona and carried in every post it signs; checking it is one
//! hash.
//!
//! [`stamp_persona`] searches a caller-chosen range of nonces with a
//! caller-chosen budget and says [`StampSearch::NotYet`] when the budget is
//! spent, so a caller can run it in slices, off its main thread, and stop
//! at any time. It draws no randomness: pick `start` from an RNG to keep
//! two searches for the same key from doing the same work.

use serde::{Deserialize, Serialize};

use crate::channel::NetworkId;
use crate::hash::{sha256, varint};
use crate::keys::PublicKey;
use crate::limits::MAX_PERSONA_STAMP_BITS;
use crate::pow::leading_zero_bits;

/// Domain tag of the persona-stamp hash.
pub const PERSONA_STAMP_TAG: &[u8] = b"hearth/persona-stamp/1";

/// The persona-stamp nonce a post carries: proof that its persona's key
/// was paid for (see the [module](self) documentation).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct PersonaStamp(pub u64);

impl PersonaStamp {
    /// The stamp hash of this nonce for `persona` in `network`.
    pub fn hash(&self, network: &NetworkId, persona: &PublicKey) -> [u8; 32] {
        stamp_hash(self.0, network.as_str(), persona)
    }

    /// The level this stamp reaches for `persona` in `network`: the
    /// leading zero bits of its hash.
    pub fn bits(&self, network: &NetworkId, persona: &PublicKey) -> u8 {
        leading_zero_bits(&self.hash(network, persona))
    }

    /// Whether this stamp reaches level `bits` for `persona` in `network`.
    /// Level 0 accepts every stamp without hashing.
    pub fn meets(&self, network: &NetworkId, persona: &PublicKey, bits: u8) -> bool {
        bits == 0 || self.bits(network, persona) >= bits
    }
}

/// The outcome of one slice of a stamp search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampSearch {
    /// A stamp that meets the level.
    Found(PersonaStamp),
    /// The budget ran out; search on from `next` to continue where this
    /// slice stopped.
    NotYet {
        /// The first nonce this slice did not try.
        next: u64,
    },
}

/// Searches for a stamp of at least `bits` leading zero bits for `persona`
/// in `network`, trying at most `attempts` nonces from `start` upward
/// (wrapping at `u64::MAX`). Level 0 returns `start` at once; levels above
/// [`MAX_PERSONA_STAMP_BITS`] are searched at that maximum.
///
/// The expected number of attempts is `2^bits`; see `docs/protocol.md`
/// section 12.2 for what that costs.
pub fn stamp_persona(
    persona: &PublicKey,
    network: &NetworkId,
    bits: u8,
    start: u64,
    attempts: u64,
) -> StampSearch {
    let bits = bits.min(MAX_PERSONA_STAMP_BITS);
    if bits == 0 {
        return StampSearch::Found(PersonaStamp(start));
    }
    let mut nonce = start;
    for _ in 0..attempts {
        if leading_zero_bits(&stamp_hash(nonce, network.as_str(), persona)) >= bits {
            return StampSearch::Found(PersonaStamp(nonce));
        }
        nonce = nonce.wrapping_add(1);
    }
    StampSearch::NotYet { next: nonce }
}

/// The stamp hash over the nonce, tag, network (with its length varint,
/// one byte since network ids have at most 32 bytes) and key.
pub(crate) fn stamp_hash(nonce: u64, network: &str, persona: &PublicKey) -> [u8; 32] {
    // Network ids are at most 32 bytes: a one-byte varint. A longer string
    // (never a valid network) still gets a distinct, minimal varint.
    let mut len = [0u8; 5];
    let len = varint(network.len(), &mut len);
    sha256(&[
        &nonce.to_le_bytes(),
        PERSONA_STAMP_TAG,
        len,
        network.as_bytes(),
        persona.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    #[test]
    fn a_found_stamp_meets_its_level_and_is_bound_to_key_and_network() {
        let net = NetworkId::default();
        let StampSearch::Found(stamp) = stamp_persona(&key(1), &net, 10, 0, 1 << 20) else {
            panic!("10 bits in 2^20 attempts");
        };
        assert!(stamp.bits(&net, &key(1)) >= 10);
        assert!(stamp.meets(&net, &key(1), 10));
        // Another key or network gives an unrelated hash.
        let test = NetworkId::parse("test").unwrap();
        assert_ne!(stamp.hash(&net, &key(1)), stamp.hash(&net, &key(2)));
        assert_ne!(stamp.hash(&net, &key(1)), stamp.hash(&test, &key(1)));
    }

    #[test]
    fn a_search_in_slices_finds_what_one_search_finds() {
        let net = NetworkId::default();
        let StampSearch::Found(whole) = stamp_persona(&key(3), &net, 12, 100, 1 << 22) else {
            panic!("12 bits in 2^22 attempts");
        };
        let mut next = 100;
        let sliced = loop {
            match stamp_persona(&key(3), &net, 12, next, 1000) {
                StampSearch::Found(s) => break s,
                StampSearch::NotYet { next: n } => {
                    assert_eq!(n, next + 1000);
                    next = n;
                }
            }
        };
        assert_eq!(sliced, whole);
    }

    #[test]
    fn level_zero_takes_the_start_and_the_search_wraps() {
        let net = NetworkId::default();
        assert_eq!(
            stamp_persona(&key(1), &net, 0, 42, 0),
            StampSearch::Found(PersonaStamp(42))
        );
        assert_eq!(
            stamp_persona(&key(1), &net, 40, u64::MAX - 1, 3),
            StampSearch::NotYet { next: 1 }
        );
        assert!(PersonaStamp(7).meets(&net, &key(1), 0));
    }

    #[test]
    fn varint_is_minimal() {
        let mut buf = [0u8; 5];
        assert_eq!(varint(4, &mut buf), &[4]);
        assert_eq!(varint(127, &mut buf), &[0x7f]);
        assert_eq!(varint(128, &mut buf), &[0x80, 0x01]);
        assert_eq!(varint(300, &mut buf), &[0xac, 0x02]);
    }
}
