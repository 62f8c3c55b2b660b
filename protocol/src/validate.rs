//! The one path from received bytes to a verified message.
//!
//! [`validate()`] is what a node runs on every gossiped message: size limits
//! before decoding, envelope structure, canonical encoding, network, kind,
//! signature, fields, channel, time window and proof of work. [`open`] runs
//! the same checks minus the clock, the channel and the work, for bytes a
//! node reads back from its own store or from history sync.

use crate::channel::{ChannelName, NetworkId};
use crate::envelope::{Kind, MessageId, RawEnvelope, decode_canonical};
use crate::error::ValidationError;
use crate::keys::PublicKey;
use crate::limits::{Limits, MAX_POW_DIFFICULTY};
use crate::message::{Message, SignedMessage};
use crate::moderation::ModeratorListWire;
use crate::post::PostWire;
use crate::pow::WorkPrefix;

/// A verified message; the same type that signing returns.
pub type Verified = SignedMessage;

/// What a validation is checked against: this node's network, its clock
/// reading, its time limits, and what the topic the bytes arrived on
/// promises.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    /// This node's network.
    pub network: &'a NetworkId,
    /// The current time in ms since the Unix epoch.
    pub now_ms: u64,
    /// The time window.
    pub limits: &'a Limits,
    /// The channel of the topic a post arrived on, if any.
    pub channel: Option<&'a ChannelName>,
    /// The moderator of the topic a list arrived on, if any.
    pub moderator: Option<&'a PublicKey>,
    /// Leading zero bits of proof of work a post must carry.
    pub pow_difficulty: u8,
}

impl<'a> ValidationContext<'a> {
    /// A context with no topic constraint and no proof of work.
    pub fn new(network: &'a NetworkId, now_ms: u64, limits: &'a Limits) -> Self {
        Self {
            network,
            now_ms,
            limits,
            channel: None,
            moderator: None,
            pow_difficulty: 0,
        }
    }

    /// Posts must belong to `channel`.
    pub fn channel(mut self, channel: &'a ChannelName) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Moderator lists must be signed by `moderator`.
    pub fn moderator(mut self, moderator: &'a PublicKey) -> Self {
        self.moderator = Some(moderator);
        self
    }

    /// Posts must carry `bits` leading zero bits of proof of work (capped at
    /// the protocol maximum of 32).
    pub fn difficulty(mut self, bits: u8) -> Self {
        self.pow_difficulty = bits.min(MAX_POW_DIFFICULTY);
        self
    }
}

/// Validates received bytes completely. Deterministic; never panics.
pub fn validate(bytes: &[u8], ctx: &ValidationContext<'_>) -> Result<Verified, ValidationError> {
    let (raw, message) = decode(bytes, ctx.network)?;
    match &message {
        Message::Post(post) => {
            if ctx.moderator.is_some() {
                return Err(ValidationError::Field("post on a moderator topic"));
            }
            if let Some(expected) = ctx.channel
                && &post.channel != expected
            {
                return Err(ValidationError::WrongChannel {
                    expected: expected.to_string(),
                    found: post.channel.to_string(),
                });
            }
            check_time(post.created_ms, ctx)?;
            let age = ctx.now_ms.saturating_sub(post.created_ms);
            if age > ctx.limits.max_age_ms {
                return Err(ValidationError::TooOld { age_ms: age });
            }
            if post.expires_ms.is_some_and(|e| e <= ctx.now_ms) {
                return Err(ValidationError::Expired);
            }
            if ctx.pow_difficulty > 0 {
                let fields_len = raw.body.len().saturating_sub(varint_len(post.nonce));
                let fields = raw.body.get(..fields_len).unwrap_or_default();
                let found = WorkPrefix::new(&raw.signer, raw.network, fields).bits(post.nonce);
                if found < ctx.pow_difficulty {
                    return Err(ValidationError::InsufficientWork {
                        required: ctx.pow_difficulty,
                        found,
                    });
                }
            }
        }
        Message::ModeratorList(list) => {
            if ctx.channel.is_some() {
                return Err(ValidationError::Field("moderator list on a channel topic"));
            }
            if ctx.moderator.is_some_and(|m| m != &list.moderator) {
                return Err(ValidationError::Field(
                    "moderator list signed by another key than its topic names",
                ));
            }
            // Lists stay in force for long, so only the future is bounded.
            check_time(list.created_ms, ctx)?;
        }
    }
    Ok(Verified {
        id: MessageId::of(bytes),
        bytes: bytes.to_vec(),
        message,
    })
}

/// Checks structure, canonical encoding, network, signature and fields, but
/// not time, channel or proof of work: for bytes read back from storage.
pub fn open(bytes: &[u8], network: &NetworkId) -> Result<Verified, ValidationError> {
    let (_, message) = decode(bytes, network)?;
    Ok(Verified {
        id: MessageId::of(bytes),
        bytes: bytes.to_vec(),
        message,
    })
}

fn check_time(created_ms: u64, ctx: &ValidationContext<'_>) -> Result<(), ValidationError> {
    let ahead = created_ms.saturating_sub(ctx.now_ms);
    if ahead > ctx.limits.max_clock_skew_ms {
        return Err(ValidationError::FromFuture { ahead_ms: ahead });
    }
    Ok(())
}

fn decode<'a>(
    bytes: &'a [u8],
    network: &NetworkId,
) -> Result<(RawEnvelope<'a>, Message), ValidationError> {
    let raw = RawEnvelope::parse(bytes)?;
    if raw.network != network.as_str() {
        return Err(ValidationError::WrongNetwork {
            expected: network.to_string(),
            found: raw.network.chars().take(64).collect(),
        });
    }
    // Decode before verifying: decoding is cheaper than a signature check,
    // and malformed bodies are the commonest junk.
    let message = match raw.kind {
        Kind::Post => {
            let wire: PostWire = decode_canonical(raw.body)?;
            wire.fields.check()?;
            Message::Post(wire.fields.into_post(raw.signer, wire.nonce))
        }
        Kind::ModeratorList => {
            let wire: ModeratorListWire = decode_canonical(raw.body)?;
            wire.check()?;
            Message::ModeratorList(wire.into_list(raw.signer))
        }
    };
    raw.verify()?;
    Ok((raw, message))
}

/// Bytes of the postcard varint encoding of `value`.
fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}
