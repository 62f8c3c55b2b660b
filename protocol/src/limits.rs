//! Hard limits of the protocol, and the time limits a node chooses.
//!
//! The constants are part of the wire protocol: a message over any of them is
//! invalid everywhere. [`Limits`] holds the time window, which each node sets
//! for itself.

/// Largest envelope of any kind, checked before anything is decoded.
pub const MAX_MESSAGE_BYTES: usize = MAX_MODERATOR_LIST_BYTES;
/// Largest signed post envelope.
pub const MAX_POST_BYTES: usize = 8 * 1024;
/// Largest signed moderator list envelope.
pub const MAX_MODERATOR_LIST_BYTES: usize = 512 * 1024;
/// Largest report envelope (`docs/protocol.md` section 20); every report
/// is about 1.2 KiB, its padding makes them alike.
pub const MAX_REPORT_BYTES: usize = 2 * 1024;
/// Largest signed channel-card envelope.
pub const MAX_CARD_BYTES: usize = 4 * 1024;
/// Largest signed moderator-presence envelope.
pub const MAX_PRESENCE_BYTES: usize = 256;
/// Largest signed crisis-directory update envelope.
pub const MAX_CRISIS_UPDATE_BYTES: usize = 64 * 1024;
/// Longest directory text in a crisis-directory update, in UTF-8 bytes
/// (the built-in directory is a few KiB).
pub const MAX_CRISIS_DIRECTORY_BYTES: usize = 60 * 1024;
/// Longest note of a crisis-directory update, in UTF-8 bytes.
pub const MAX_CRISIS_NOTE_BYTES: usize = 200;

/// Most moderators one channel card names (besides its founder).
pub const MAX_CARD_MODERATORS: usize = 16;
/// Longest channel rules text, in UTF-8 bytes.
pub const MAX_RULES_BYTES: usize = 1024;
/// Longest retention a channel card may ask for, in days (ten years).
pub const MAX_CARD_RETENTION_DAYS: u32 = 3650;
/// Oldest a presence heartbeat may be when received, in ms: heartbeats
/// report the present, so an old one says nothing.
pub const MAX_PRESENCE_AGE_MS: u64 = 10 * 60 * 1000;

/// Longest post body, in UTF-8 bytes.
pub const MAX_BODY_BYTES: usize = 4096;
/// Longest nickname, in UTF-8 bytes.
pub const MAX_NICKNAME_BYTES: usize = 32;
/// Longest free text of a content warning, in UTF-8 bytes.
pub const MAX_CW_TEXT_BYTES: usize = 64;

/// Longest network id.
pub const MAX_NETWORK_ID_LEN: usize = 32;
/// Longest channel name, separators included.
pub const MAX_CHANNEL_LEN: usize = 64;
/// Longest part of a channel name between `/`.
pub const MAX_CHANNEL_SEGMENT_LEN: usize = 32;
/// Most parts in a channel name (`grief/es` has two).
pub const MAX_CHANNEL_SEGMENTS: usize = 4;

/// Most entries in one moderator list.
pub const MAX_LIST_ENTRIES: usize = 10_000;
/// Longest moderator list title, in UTF-8 bytes.
pub const MAX_LIST_TITLE_BYTES: usize = 64;
/// Longest reason attached to a block entry, in UTF-8 bytes.
pub const MAX_REASON_BYTES: usize = 200;
/// Longest keyword entry, in UTF-8 bytes.
pub const MAX_KEYWORD_BYTES: usize = 100;
/// Longest regular-expression entry, in UTF-8 bytes.
pub const MAX_REGEX_BYTES: usize = 256;

/// Highest proof-of-work difficulty (leading zero bits) a channel may ask.
pub const MAX_POW_DIFFICULTY: u8 = 32;

/// Highest persona-stamp level (leading zero bits) a channel may ask.
pub const MAX_PERSONA_STAMP_BITS: u8 = 40;
/// The persona-stamp level every channel asks unless its card says
/// otherwise (see `docs/protocol.md` section 12.2): 2^25 attempts on
/// average, about 3.5 s on one core with SHA extensions (measured 9.7
/// million attempts per second), about three times that without them.
/// Nodes stamp new personas
/// to this level; [`crate::validate::ValidationContext::new`] still
/// starts at level 0, and a node asks for this level with
/// `ValidationContext::persona_stamp_bits`.
pub const DEFAULT_PERSONA_STAMP_BITS: u8 = 25;

/// The time window a node accepts messages in. Not part of the wire format:
/// each node chooses, and the defaults suit a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How far in the future a message may be dated (clock skew), in ms.
    pub max_clock_skew_ms: u64,
    /// How old a message may be when received, in ms.
    pub max_age_ms: u64,
}

impl Limits {
    /// Five minutes of clock skew.
    pub const DEFAULT_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
    /// Thirty days of history.
    pub const DEFAULT_MAX_AGE_MS: u64 = 30 * 24 * 60 * 60 * 1000;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_clock_skew_ms: Self::DEFAULT_CLOCK_SKEW_MS,
            max_age_ms: Self::DEFAULT_MAX_AGE_MS,
        }
    }
}
