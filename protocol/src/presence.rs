//! Moderator presence: a small signed heartbeat a moderator's node sends
//! on a channel's topic while it runs, so the people in the channel can
//! tell whether any moderator is around.
//!
//! A heartbeat says only "this moderator key is running, for this
//! channel, at this time". It counts only if the key is one of the
//! channel's declared moderators (its [`crate::card::ChannelCard`]); that
//! is the receiver's judgement, not a wire rule.

use serde::{Deserialize, Serialize};

use crate::channel::ChannelName;
use crate::keys::PublicKey;

/// A verified presence heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorPresence {
    /// The moderator key that signed it.
    pub moderator: PublicKey,
    /// The channel it is for.
    pub channel: ChannelName,
    /// When it was sent, ms since the Unix epoch.
    pub created_ms: u64,
}

/// The body of a presence envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PresenceWire {
    pub channel: ChannelName,
    pub created_ms: u64,
}

impl PresenceWire {
    pub(crate) fn into_presence(self, moderator: PublicKey) -> ModeratorPresence {
        ModeratorPresence {
            moderator,
            channel: self.channel,
            created_ms: self.created_ms,
        }
    }
}
