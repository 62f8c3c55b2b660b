//! Typed errors, one enum per operation. Every message says what was wrong
//! and, where it helps, what is accepted.

use thiserror::Error;

/// Why a piece of text (post body, nickname, content-warning text, reason,
/// keyword) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TextError {
    /// The text is empty or only white space.
    #[error("{field} is empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// The text is longer than its limit.
    #[error("{field} is {len} bytes, over the limit of {limit} bytes")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length in UTF-8 bytes.
        len: usize,
        /// The limit in UTF-8 bytes.
        limit: usize,
    },
    /// The text holds a control or direction-override character.
    #[error("{field} contains the character U+{code:04X}, which is not allowed")]
    ForbiddenCharacter {
        /// Which field.
        field: &'static str,
        /// The code point.
        code: u32,
    },
}

/// Why a channel name or network id was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChannelNameError {
    /// The name breaks the rules; the message says which rule.
    #[error(
        "invalid {what} {input:?}: {problem}; use lowercase letters a-z, digits and '-', \
         up to {max_segment} characters a part{segments}"
    )]
    Invalid {
        /// "channel name" or "network id".
        what: &'static str,
        /// The input as given (cut to a sane length).
        input: String,
        /// The broken rule.
        problem: &'static str,
        /// The longest part allowed.
        max_segment: usize,
        /// Extra text about segments, for channels.
        segments: &'static str,
    },
}

/// Why a hex key or id could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyParseError {
    /// Not 64 characters long.
    #[error("expected 64 hex digits, got {0} characters")]
    Length(usize),
    /// Not hexadecimal.
    #[error("expected 64 hex digits (0-9, a-f)")]
    NotHex,
}

/// Why a topic string is not a hearth topic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The string does not have the `hearth/1/<network>/<kind>/<name>` shape.
    #[error("not a hearth topic: {0:?}")]
    NotHearth(String),
    /// The topic uses a protocol version this code does not know.
    #[error("unsupported topic version {0:?}")]
    Version(String),
    /// The network or channel part is invalid.
    #[error(transparent)]
    Name(#[from] ChannelNameError),
    /// The moderator key part is invalid.
    #[error("invalid moderator key in topic: {0}")]
    Key(#[from] KeyParseError),
}

/// Why a post or moderator list could not be built and signed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A text field breaks its rules.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A field is outside its allowed range.
    #[error("{0}")]
    Field(&'static str),
    /// The encoded message would exceed the size limit for its kind.
    #[error("the message would be {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The limit for this kind.
        limit: usize,
    },
    /// Proof of work at this difficulty was not found within the iteration cap.
    #[error("no proof of work at difficulty {difficulty} found in {iterations} attempts")]
    WorkNotFound {
        /// Required leading zero bits.
        difficulty: u8,
        /// Attempts made.
        iterations: u64,
    },
    /// The encoder failed (only on out-of-memory-like conditions).
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// A field-level problem, shared by building and validating so that both
/// apply the same rules; it becomes a [`BuildError`] when signing and a
/// [`ValidationError`] when receiving.
#[derive(Debug)]
pub(crate) enum FieldError {
    Text(TextError),
    Field(&'static str),
}

impl From<TextError> for FieldError {
    fn from(e: TextError) -> Self {
        FieldError::Text(e)
    }
}

impl From<FieldError> for BuildError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Text(t) => BuildError::Text(t),
            FieldError::Field(f) => BuildError::Field(f),
        }
    }
}

impl From<FieldError> for ValidationError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Text(t) => ValidationError::Text(t),
            FieldError::Field(f) => ValidationError::Field(f),
        }
    }
}

/// Why received bytes were refused. Produced by [`crate::validate()`] and
/// [`crate::open`]; never by a panic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// More bytes than any message of this kind may have; checked before
    /// decoding.
    #[error("message is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// The bytes do not decode as a hearth envelope or body.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// An envelope version this code does not know.
    #[error("unknown envelope version {0}")]
    UnknownVersion(u8),
    /// A message kind this code does not know.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The signature does not verify for the signer and bytes.
    #[error("bad signature")]
    BadSignature,
    /// The message belongs to another network.
    #[error("message is for network {found:?}, not {expected:?}")]
    WrongNetwork {
        /// This node's network.
        expected: String,
        /// The message's network.
        found: String,
    },
    /// The post names another channel than the topic it arrived on.
    #[error("post is for channel {found:?}, but arrived on {expected:?}")]
    WrongChannel {
        /// The topic's channel.
        expected: String,
        /// The post's channel.
        found: String,
    },
    /// The message is dated too far in the future.
    #[error("message is dated {ahead_ms} ms in the future, more than the allowed clock skew")]
    FromFuture {
        /// How far ahead of `now`.
        ahead_ms: u64,
    },
    /// The message is older than the node accepts.
    #[error("message is {age_ms} ms old, older than accepted")]
    TooOld {
        /// How old.
        age_ms: u64,
    },
    /// The post's expiry time has passed.
    #[error("post expired")]
    Expired,
    /// The proof of work is below the channel's difficulty.
    #[error("not enough proof of work: {found} bits, {required} required")]
    InsufficientWork {
        /// Required leading zero bits.
        required: u8,
        /// Leading zero bits found.
        found: u8,
    },
    /// The persona stamp is below the level the channel asks.
    #[error("persona stamp too weak: {found} bits, {required} required")]
    InsufficientPersonaStamp {
        /// Required leading zero bits.
        required: u8,
        /// Leading zero bits found.
        found: u8,
    },
    /// A text field breaks its rules.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A field is outside its allowed range.
    #[error("invalid field: {0}")]
    Field(&'static str),
}

impl ValidationError {
    /// True when the bytes themselves are invalid (malformed, forged,
    /// wrong network): a peer that forwards them deserves a penalty. False
    /// for refusals that an honest relay could cause: old, expired,
    /// future-dated by a skewed clock, below this node's difficulty or
    /// persona-stamp level, or of a newer version.
    pub fn is_invalid(&self) -> bool {
        !matches!(
            self,
            ValidationError::FromFuture { .. }
                | ValidationError::TooOld { .. }
                | ValidationError::Expired
                | ValidationError::InsufficientWork { .. }
                | ValidationError::InsufficientPersonaStamp { .. }
                | ValidationError::UnknownVersion(_)
                | ValidationError::UnknownKind(_)
        )
    }
}
