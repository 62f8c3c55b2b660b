//! The one hash function of the protocol: SHA-256 over concatenated parts.

use sha2::{Digest, Sha256};

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    #[cfg(test)]
    counters::count_hash();
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Writes the minimal LEB128 varint of `value` (postcard's encoding of a
/// length) into `buf` and returns the written part. Lengths here are of
/// strings and bodies within the message limits, far below the 35 bits five
/// bytes hold; longer values are cut at five bytes.
pub(crate) fn varint(mut value: usize, buf: &mut [u8; 5]) -> &[u8] {
    let mut used = 0;
    for slot in buf.iter_mut() {
        used += 1;
        // Masked to seven bits, so the conversion cannot fail.
        let low = u8::try_from(value & 0x7f).unwrap_or(0);
        if value < 0x80 {
            *slot = low;
            break;
        }
        *slot = low | 0x80;
        value >>= 7;
    }
    buf.get(..used).unwrap_or_default()
}

/// Appends the minimal LEB128 varint of `value` to `out`.
pub(crate) fn push_varint(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(varint(value, &mut [0; 5]));
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
    #[cfg(test)]
    counters::count_hash();
    hasher.update(last);
    hasher.finalize().into()
}

/// Per-thread counts of the expensive operations, so tests can prove that
/// a message refused by a cheap check never reached the signature check.
#[cfg(test)]
pub(crate) mod counters {
    use std::cell::Cell;

    thread_local! {
        static HASHES: Cell<u64> = const { Cell::new(0) };
        static VERIFIES: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn count_hash() {
        HASHES.with(|c| c.set(c.get() + 1));
    }

    pub(crate) fn count_verify() {
        VERIFIES.with(|c| c.set(c.get() + 1));
    }

    /// (hashes, signature checks) since the last reset, and reset.
    pub(crate) fn take() -> (u64, u64) {
        (
            HASHES.with(|c| c.replace(0)),
            VERIFIES.with(|c| c.replace(0)),
        )
    }
}
