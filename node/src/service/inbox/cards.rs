//! Channel cards and moderator presence arriving on a channel's topic:
//! validated here like posts (the same per-peer charge, the topic's
//! channel as context); whether a card is trusted, or a heartbeat comes
//! from a declared moderator, the shell decides from the store
//! (`service/cards.rs`), and a message it does not take is not relayed.

use hearth_protocol::{ChannelName, Kind, Message, ValidationContext, validate};
use libp2p::gossipsub::MessageAcceptance;

use super::{Action, Decision, Inbox, NodeView};
use crate::clock::Now;

/// Whether `data` is a channel card or a presence heartbeat, by its kind
/// byte (the second envelope byte); anything else goes the post path.
pub(super) fn is_channel_note(data: &[u8]) -> bool {
    matches!(
        data.get(1).copied().and_then(Kind::from_code),
        Some(Kind::ChannelCard | Kind::ModeratorPresence)
    )
}

impl Inbox {
    /// Judges a card of `channel` fetched by history sync: anything but a
    /// card (a heartbeat, a post) is invalid there; a card is judged as if
    /// it was gossiped on the channel's topic.
    pub(super) fn judge_synced_card(
        &self,
        channel: &ChannelName,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> Decision {
        if data.get(1).copied().and_then(Kind::from_code) != Some(Kind::ChannelCard) {
            return Decision::quiet(MessageAcceptance::Reject);
        }
        self.judge_channel_note(channel, data, now, view)
    }

    /// Judges a channel card or presence heartbeat gossiped on `channel`'s
    /// topic.
    pub(super) fn judge_channel_note(
        &self,
        channel: &ChannelName,
        data: &[u8],
        now: Now,
        view: &impl NodeView,
    ) -> Decision {
        if !view.joined(channel) {
            return Decision::quiet(MessageAcceptance::Ignore);
        }
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &self.limits.messages)
            .channel(channel);
        let verified = match validate(data, &ctx) {
            Ok(verified) => verified,
            Err(e) => {
                tracing::debug!(%channel, error = %e, "card or presence refused");
                return Decision::quiet(if e.is_invalid() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                });
            }
        };
        let action = match verified.message {
            Message::ChannelCard(card) => Action::StoreCard {
                card: Box::new(card),
                bytes: verified.bytes,
            },
            Message::ModeratorPresence(presence) => Action::Presence(presence),
            // The kind byte said otherwise; validate decoded what it named.
            _ => return Decision::quiet(MessageAcceptance::Reject),
        };
        Decision {
            acceptance: MessageAcceptance::Accept,
            action,
            penalise: false,
        }
    }
}
