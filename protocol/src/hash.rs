//! The one hash function of the protocol: SHA-256 over concatenated parts.

use sha2::{Digest, Sha256};

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A hasher primed with `parts`, for callers that hash many messages sharing
/// one prefix (proof-of-work stamping).
pub(crate) fn sha256_prefix(parts: &[&[u8]]) -> Sha256 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
}

/// Finishes a hasher made by [`sha256_prefix`] with one more part.
pub(crate) fn sha256_finish(mut hasher: Sha256, last: &[u8]) -> [u8; 32] {
    hasher.update(last);
    hasher.finalize().into()
}
