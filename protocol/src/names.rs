//! Human-readable names for public keys, `adjective-animal-xxxxxx`, and
//! a visual fingerprint (a coloured glyph) that interfaces show beside
//! them.
//!
//! The name is derived from `SHA-256("hearth/name/2" || key)`: byte 0 picks
//! the adjective (low 6 bits), byte 1 the animal (low 6 bits), and bytes 2
//! to 4 give six hex digits: 36 bits in all. The fingerprint is derived
//! from `SHA-256("hearth/fingerprint/1" || key)`: the high 4 bits of byte 0
//! pick the colour, the low 4 bits the glyph, 8 more bits that a forger
//! must match too. The word lists, glyphs and palette are part of the
//! protocol (see `docs/protocol.md` section 11): changing them renames
//! everybody.

use crate::hash::sha256;

/// Domain tag hashed before the key when deriving a name.
pub const NAME_TAG: &[u8] = b"hearth/name/2";

/// Domain tag hashed before the key when deriving a fingerprint.
pub const FINGERPRINT_TAG: &[u8] = b"hearth/fingerprint/1";

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

/// The name for a 32-byte public key: `adjective-animal-xxxxxx`.
pub fn name_for_key(key: &[u8; 32]) -> String {
    let [a, b, c, d, e, ..] = sha256(&[NAME_TAG, key]);
    // Both lists have 64 entries, so the masked index is always in range.
    let adjective = ADJECTIVES
        .get(usize::from(a) & 63)
        .copied()
        .unwrap_or_default();
    let animal = ANIMALS
        .get(usize::from(b) & 63)
        .copied()
        .unwrap_or_default();
    format!("{adjective}-{animal}-{c:02x}{d:02x}{e:02x}")
}

/// One colour of the fingerprint palette: a name for people and screen
/// readers, an sRGB value, and the nearest colour of the xterm 256-colour
/// palette for terminals without true colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaletteColour {
    /// The colour's name (`teal`).
    pub name: &'static str,
    /// sRGB red, green, blue.
    pub rgb: [u8; 3],
    /// Index into the xterm 256-colour palette.
    pub xterm: u8,
}

/// The 16 fingerprint colours, in protocol order. Chosen to stay apart
/// from each other and readable on light and dark backgrounds.
pub const PALETTE: [PaletteColour; 16] = [
    colour("red", [0xe6, 0x19, 0x4b], 161),
    colour("green", [0x3c, 0xb4, 0x4b], 71),
    colour("yellow", [0xff, 0xe1, 0x19], 220),
    colour("blue", [0x43, 0x63, 0xd8], 62),
    colour("orange", [0xf5, 0x82, 0x31], 209),
    colour("purple", [0x91, 0x1e, 0xb4], 91),
    colour("cyan", [0x42, 0xd4, 0xf4], 81),
    colour("magenta", [0xf0, 0x32, 0xe6], 206),
    colour("lime", [0xbf, 0xef, 0x45], 155),
    colour("pink", [0xfa, 0xbe, 0xd4], 218),
    colour("teal", [0x46, 0x99, 0x90], 66),
    colour("lavender", [0xdc, 0xbe, 0xff], 183),
    colour("brown", [0x9a, 0x63, 0x24], 94),
    colour("maroon", [0x80, 0x00, 0x00], 88),
    colour("olive", [0x80, 0x80, 0x00], 100),
    colour("grey", [0xa9, 0xa9, 0xa9], 248),
];

const fn colour(name: &'static str, rgb: [u8; 3], xterm: u8) -> PaletteColour {
    PaletteColour { name, rgb, xterm }
}

/// The 16 fingerprint glyphs, in protocol order: one terminal cell each
/// (none has East Asian width W or F, none defaults to emoji
/// presentation), and distinct in shape.
pub const GLYPHS: [char; 16] = [
    '●', '■', '▲', '▼', '◆', '★', '♥', '♠', '♣', '♪', '✚', '✕', '✿', '☾', '◐', '◎',
];

/// A key's visual fingerprint: a glyph drawn in a colour, shown beside
/// its name so that two keys with the same name (by chance or forged)
/// still look different.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Index into [`PALETTE`] (0..16).
    pub colour: u8,
    /// One of [`GLYPHS`].
    pub glyph: char,
}

impl Fingerprint {
    /// The palette entry of [`colour`](Self::colour).
    pub fn palette(&self) -> PaletteColour {
        let [first, ..] = PALETTE;
        PALETTE
            .get(usize::from(self.colour))
            .copied()
            .unwrap_or(first)
    }
}

/// The fingerprint of a 32-byte public key.
pub fn fingerprint(key: &[u8; 32]) -> Fingerprint {
    let [f, ..] = sha256(&[FINGERPRINT_TAG, key]);
    Fingerprint {
        colour: f >> 4,
        glyph: GLYPHS.get(usize::from(f & 15)).copied().unwrap_or('●'),
    }
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
        assert_eq!(parts[2].len(), 6);
    }

    #[test]
    fn fingerprints_use_every_colour_and_glyph() {
        let mut colours = HashSet::new();
        let mut glyphs = HashSet::new();
        for n in 0..=255u8 {
            let f = fingerprint(&[n; 32]);
            assert!(usize::from(f.colour) < PALETTE.len());
            assert_eq!(f.palette(), PALETTE[usize::from(f.colour)]);
            colours.insert(f.colour);
            glyphs.insert(f.glyph);
        }
        assert_eq!((colours.len(), glyphs.len()), (16, 16));
        let names: HashSet<_> = PALETTE.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), 16);
        let distinct: HashSet<_> = GLYPHS.iter().collect();
        assert_eq!(distinct.len(), 16);
    }
}
