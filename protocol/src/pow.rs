//! Proof-of-work stamps: a cost a channel can ask of every post, so that
//! flooding it from free keys costs CPU time.
//!
//! ```text
//! work = SHA-256("hearth/pow/1" || signer:[u8;32] || varint(len) network
//!                || post fields without the nonce || nonce as u64 little-endian)
//! ```
//!
//! The difficulty is the number of leading zero bits of `work`. The signer
//! and network are hashed in so that work done for one persona or network
//! cannot be reused by another.

use sha2::Sha256;

use crate::hash::{sha256_finish, sha256_prefix, varint};
use crate::keys::PublicKey;

/// Domain tag of the proof-of-work hash.
pub const POW_TAG: &[u8] = b"hearth/pow/1";

/// The most attempts [`crate::PostDraft::sign`] makes: 64 times the
/// expected number, capped at 2^40, so a stamp is found with overwhelming
/// probability but a bad difficulty cannot hang the caller.
pub fn default_iteration_cap(difficulty: u8) -> u64 {
    1u64 << (u32::from(difficulty) + 6).min(40)
}

/// Leading zero bits of a hash, saturating at 255 for the all-zero hash.
pub fn leading_zero_bits(hash: &[u8; 32]) -> u8 {
    let mut bits = 0u8;
    for byte in hash {
        if *byte == 0 {
            bits = bits.saturating_add(8);
        } else {
            // leading_zeros of a non-zero u8 is at most 7.
            return bits + u8::try_from(byte.leading_zeros()).unwrap_or(8);
        }
    }
    bits
}

/// The hashing state shared by every nonce tried for one post.
#[derive(Clone)]
pub(crate) struct WorkPrefix(Sha256);

impl WorkPrefix {
    pub(crate) fn new(signer: &PublicKey, network: &str, fields: &[u8]) -> Self {
        let mut buf = [0; 5];
        let len = varint(network.len(), &mut buf);
        Self(sha256_prefix(&[
            POW_TAG,
            signer.as_bytes(),
            len,
            network.as_bytes(),
            fields,
        ]))
    }

    /// The work hash for `nonce`.
    pub(crate) fn hash(&self, nonce: u64) -> [u8; 32] {
        sha256_finish(self.0.clone(), &nonce.to_le_bytes())
    }

    /// The leading zero bits of the work hash for `nonce`.
    pub(crate) fn bits(&self, nonce: u64) -> u8 {
        leading_zero_bits(&self.hash(nonce))
    }

    /// The first nonce from 0 upward whose hash has `difficulty` leading
    /// zero bits, trying at most `max_iterations` nonces.
    pub(crate) fn stamp(&self, difficulty: u8, max_iterations: u64) -> Option<u64> {
        if difficulty == 0 {
            return Some(0);
        }
        (0..max_iterations).find(|&nonce| self.bits(nonce) >= difficulty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        let mut h = [0xffu8; 32];
        assert_eq!(leading_zero_bits(&h), 0);
        h[0] = 0;
        h[1] = 0x10;
        assert_eq!(leading_zero_bits(&h), 11);
        assert_eq!(leading_zero_bits(&[0; 32]), 255);
    }

    #[test]
    fn stamp_meets_difficulty_and_verifies() {
        let prefix = WorkPrefix::new(&PublicKey([1; 32]), "main", b"fields");
        let nonce = prefix.stamp(10, default_iteration_cap(10)).unwrap();
        assert!(prefix.bits(nonce) >= 10);
        let other_signer = WorkPrefix::new(&PublicKey([2; 32]), "main", b"fields");
        let other_network = WorkPrefix::new(&PublicKey([1; 32]), "test", b"fields");
        assert_ne!(prefix.hash(nonce), other_signer.hash(nonce));
        assert_ne!(prefix.hash(nonce), other_network.hash(nonce));
    }

    #[test]
    fn stamp_gives_up_at_the_cap() {
        let prefix = WorkPrefix::new(&PublicKey([1; 32]), "main", b"fields");
        assert_eq!(prefix.stamp(32, 16), None);
    }
}
