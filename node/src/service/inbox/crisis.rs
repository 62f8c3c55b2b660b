//! Crisis-directory updates arriving on a publisher's moderator topic:
//! validated here like a moderator list (the topic's key must have signed
//! it); whether the publisher is trusted, and whether the update is newer
//! than the held one, the shell decides from the store
//! (`service/crisis.rs`), and an update it does not take is not relayed.

use hearth_protocol::{Kind, Message, PublicKey, ValidationContext, validate};
use libp2p::gossipsub::MessageAcceptance;

use super::{Action, Decision, Inbox};
use crate::clock::Now;

/// Whether `data` is a crisis-directory update, by its kind byte.
pub(super) fn is_crisis_update(data: &[u8]) -> bool {
    data.get(1).copied().and_then(Kind::from_code) == Some(Kind::CrisisUpdate)
}

impl Inbox {
    /// Judges a crisis-directory update fetched by history sync, whoever
    /// signed it (the caller checks that it was asked for); returns its
    /// publisher if it verified. Anything but an update is invalid there.
    pub(super) fn judge_synced_crisis(
        &self,
        data: &[u8],
        now: Now,
    ) -> (Option<PublicKey>, Decision) {
        if !is_crisis_update(data) {
            return (None, Decision::quiet(MessageAcceptance::Reject));
        }
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &self.limits.messages);
        match validate(data, &ctx) {
            Ok(verified) => match verified.message {
                Message::CrisisUpdate(update) => {
                    let publisher = update.publisher;
                    (
                        Some(publisher),
                        self.judge_crisis_update(&publisher, data, now),
                    )
                }
                _ => (None, Decision::quiet(MessageAcceptance::Reject)),
            },
            Err(e) if e.is_invalid() => (None, Decision::quiet(MessageAcceptance::Reject)),
            Err(_) => (None, Decision::quiet(MessageAcceptance::Ignore)),
        }
    }

    /// Judges a crisis-directory update gossiped on `publisher`'s topic.
    pub(super) fn judge_crisis_update(
        &self,
        publisher: &PublicKey,
        data: &[u8],
        now: Now,
    ) -> Decision {
        let ctx = ValidationContext::new(&self.network, now.wall_ms, &self.limits.messages)
            .moderator(publisher);
        let verified = match validate(data, &ctx) {
            Ok(verified) => verified,
            Err(e) => {
                tracing::debug!(%publisher, error = %e, "crisis update refused");
                return Decision::quiet(if e.is_invalid() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                });
            }
        };
        let Message::CrisisUpdate(update) = verified.message else {
            return Decision::quiet(MessageAcceptance::Reject);
        };
        Decision {
            acceptance: MessageAcceptance::Accept,
            action: Action::StoreCrisisUpdate {
                update: Box::new(update),
                bytes: verified.bytes,
            },
            penalise: false,
        }
    }
}
