//! Human-readable names for public keys: `adjective-animal-xxxx`.
//!
//! The name is derived from `SHA-256("hearth/name/1" || key)`: byte 0 picks
//! the adjective (mod 64), byte 1 the animal (mod 64), and bytes 2 and 3
//! give four hex digits. The word lists are part of the protocol (see
//! `docs/protocol.md`): changing them renames everybody.

use crate::hash::sha256;

/// Domain tag hashed before the key when deriving a name.
pub const NAME_TAG: &[u8] = b"hearth/name/1";

/// The 64 adjectives, in protocol order.
pub const ADJECTIVES: [&str; 64] = [
    "amber", "brave", "bright", "calm", "candid", "cheery", "clever", "cosy", "curious", "dapper",
    "deep", "eager", "earnest", "easy", "fair", "fond", "frank", "gentle", "glad", "golden",
    "good", "grand", "happy", "hardy", "honest", "hopeful", "humble", "jolly", "keen", "kind",
    "lively", "loyal", "lucid", "merry", "mellow", "mild", "modest", "neat", "nimble", "noble",
    "open", "patient", "peaceful", "plucky", "polite", "proud", "quiet", "rapid", "ready", "sage",
    "serene", "silver", "sincere", "snug", "steady", "sunny", "swift", "tender", "tidy", "true",
    "warm", "wise", "witty", "zesty",
];

/// The 64 animals, in protocol order.
pub const ANIMALS: [&str; 64] = [
    "badger", "bat", "bear", "beaver", "bee", "bison", "crane", "crow", "deer", "dolphin", "dove",
    "duck", "eagle", "eel", "elk", "falcon", "ferret", "finch", "fox", "frog", "gecko", "goat",
    "goose", "hare", "hawk", "hedgehog", "heron", "ibis", "jay", "koala", "lark", "lemur", "lion",
    "lynx", "marten", "mole", "moose", "moth", "newt", "otter", "owl", "panda", "pelican",
    "penguin", "puffin", "quail", "rabbit", "raven", "robin", "seal", "shrew", "sparrow", "stork",
    "swan", "tapir", "tern", "toad", "trout", "turtle", "vole", "walrus", "whale", "wren", "yak",
];

/// The name for a 32-byte public key.
pub fn name_for_key(key: &[u8; 32]) -> String {
    let [a, b, c, d, ..] = sha256(&[NAME_TAG, key]);
    // Both lists have 64 entries, so the masked index is always in range.
    let adjective = ADJECTIVES
        .get(usize::from(a) & 63)
        .copied()
        .unwrap_or_default();
    let animal = ANIMALS
        .get(usize::from(b) & 63)
        .copied()
        .unwrap_or_default();
    format!("{adjective}-{animal}-{c:02x}{d:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn word_lists_are_distinct_and_url_safe() {
        for list in [&ADJECTIVES, &ANIMALS] {
            let set: HashSet<_> = list.iter().collect();
            assert_eq!(set.len(), 64);
            assert!(
                list.iter()
                    .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
            );
        }
    }

    #[test]
    fn names_are_stable_and_differ_between_keys() {
        let a = name_for_key(&[0; 32]);
        assert_eq!(a, name_for_key(&[0; 32]));
        assert_ne!(a, name_for_key(&[1; 32]));
        let parts: Vec<_> = a.split('-').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[2].len(), 4);
    }
}
