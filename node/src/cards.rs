//! Channel cards and moderator presence as the node decides them: which
//! founding key it trusts for a channel, whether an offered card replaces
//! the held one, and whether any declared moderator is active.
//!
//! Every function here is pure: the shell (`service/cards.rs`) reads the
//! store and the clock and passes them in.
//!
//! **Which founding key a node trusts.** If the person follows moderators
//! for a channel (`hearth moderator follow KEY --channel C`, or for every
//! channel), only a card signed by one of them is taken: following is the
//! person's own choice of whom to trust. Otherwise the first card seen for
//! the channel is taken and its key recorded (trust on first use); later
//! cards must be signed by the same key. Which of the two applies is shown
//! with the card ([`CardTrust`]), so an interface can say "first seen, not
//! confirmed by a moderator you follow".

use std::collections::HashMap;

use hearth_protocol::{ChannelCard, PublicKey};

/// How long after the last heartbeat a moderator still counts as active:
/// 30 minutes.
pub const QUIET_AFTER_MS: u64 = 30 * 60 * 1000;

/// How often a moderator node sends a presence heartbeat in a channel where
/// it has presence on: every 5 minutes, so a few lost ones do not make the
/// channel look unmoderated.
pub const PRESENCE_INTERVAL_MS: u64 = 5 * 60 * 1000;

/// Why the node holds a channel's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardTrust {
    /// Signed by a moderator the person follows for this channel.
    Followed,
    /// The first card seen for the channel, from a key nobody the person
    /// follows vouched for (trust on first use).
    FirstSeen,
    /// Signed by this node's own moderator key.
    Own,
}

impl CardTrust {
    /// A word for interfaces and JSON: `followed`, `first-seen` or `own`.
    pub fn as_str(self) -> &'static str {
        match self {
            CardTrust::Followed => "followed",
            CardTrust::FirstSeen => "first-seen",
            CardTrust::Own => "own",
        }
    }
}

/// A channel's card as the node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    /// The verified card.
    pub card: ChannelCard,
    /// Why it is trusted.
    pub trust: CardTrust,
}

/// Why an offered card is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardRefusal {
    /// The person follows moderators for the channel and the signer is not
    /// one of them.
    #[error("signed by a key that is not a moderator you follow for this channel")]
    NotFollowed,
    /// Another key's card is held (trust on first use, or a followed
    /// moderator's).
    #[error("signed by another key than the channel's founding key")]
    OtherFounder,
    /// Not newer than the held card.
    #[error("not newer than the held card")]
    NotNewer,
}

/// Whether an offered card is taken in place of `held`, and how it is
/// trusted. `followed` are the moderators the person follows for the
/// card's channel (for that channel or for all).
pub fn judge_card(
    offered: &ChannelCard,
    held: Option<&ChannelCard>,
    followed: &[PublicKey],
) -> Result<CardTrust, CardRefusal> {
    let trust = if followed.is_empty() {
        CardTrust::FirstSeen
    } else if followed.contains(&offered.founder) {
        CardTrust::Followed
    } else {
        return Err(CardRefusal::NotFollowed);
    };
    let Some(held) = held else { return Ok(trust) };
    if held.founder != offered.founder {
        // A followed moderator's card displaces one taken on first use;
        // nothing else displaces a held founder.
        let held_followed = followed.contains(&held.founder);
        return if trust == CardTrust::Followed && !held_followed {
            Ok(trust)
        } else {
            Err(CardRefusal::OtherFounder)
        };
    }
    offered
        .may_replace(Some(held))
        .map(|()| trust)
        .map_err(|_| CardRefusal::NotNewer)
}

/// How the declared moderators of a channel were last heard from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PresenceInfo {
    /// The channel's declared moderators (from its card); empty without a
    /// card.
    pub declared: Vec<PublicKey>,
    /// When each declared moderator last sent a heartbeat this node
    /// received (wall ms), if it did since the node started.
    pub last_heard: Vec<(PublicKey, u64)>,
}

impl PresenceInfo {
    /// The newest heartbeat of any declared moderator.
    pub fn last_heard_ms(&self) -> Option<u64> {
        self.last_heard.iter().map(|(_, at)| *at).max()
    }

    /// Whether some declared moderator was heard from within
    /// [`QUIET_AFTER_MS`] of `now_ms`. A channel without a card has no
    /// declared moderators and is never "active".
    pub fn active_at(&self, now_ms: u64) -> bool {
        self.last_heard_ms()
            .is_some_and(|at| now_ms.saturating_sub(at) <= QUIET_AFTER_MS)
    }

    /// Whether the channel has a card with moderators and none of them was
    /// heard from within [`QUIET_AFTER_MS`] of `now_ms`: when interfaces
    /// say "no moderator active right now".
    pub fn quiet_at(&self, now_ms: u64) -> bool {
        !self.declared.is_empty() && !self.active_at(now_ms)
    }
}

/// The last heartbeat heard from each moderator, per channel, in memory.
#[derive(Debug, Default)]
pub(crate) struct Presence {
    heard: HashMap<hearth_protocol::ChannelName, HashMap<PublicKey, u64>>,
}

impl Presence {
    /// Records a heartbeat from `moderator` in `channel` at `at_ms`
    /// (never moving a moderator's time backwards).
    pub(crate) fn heard(
        &mut self,
        channel: &hearth_protocol::ChannelName,
        moderator: PublicKey,
        at_ms: u64,
    ) {
        let last = self
            .heard
            .entry(channel.clone())
            .or_default()
            .entry(moderator)
            .or_insert(at_ms);
        *last = (*last).max(at_ms);
    }

    /// What is known for `channel`, given its card.
    pub(crate) fn info(
        &self,
        channel: &hearth_protocol::ChannelName,
        card: Option<&ChannelCard>,
    ) -> PresenceInfo {
        let Some(card) = card else {
            return PresenceInfo::default();
        };
        let declared = card.declared_moderators();
        let heard = self.heard.get(channel);
        let last_heard = declared
            .iter()
            .filter_map(|m| heard.and_then(|h| h.get(m)).map(|at| (*m, *at)))
            .collect();
        PresenceInfo {
            declared,
            last_heard,
        }
    }

    /// Forgets a channel (left).
    pub(crate) fn forget(&mut self, channel: &hearth_protocol::ChannelName) {
        self.heard.remove(channel);
    }
}

#[cfg(test)]
mod tests {
    use hearth_protocol::{AgeGroup, ChannelName, Keypair};

    use super::*;

    fn key(seed: u8) -> PublicKey {
        Keypair::from_secret_bytes([seed; 32]).public()
    }

    fn card(founder: u8, created_ms: u64, moderators: &[u8]) -> ChannelCard {
        ChannelCard {
            founder: key(founder),
            channel: ChannelName::parse("grief").unwrap(),
            created_ms,
            age: AgeGroup::Adult,
            retention_days: 30,
            moderators: moderators.iter().map(|s| key(*s)).collect(),
            rules: String::new(),
        }
    }

    #[test]
    fn the_first_card_is_trusted_on_first_use_and_pins_its_key() {
        assert_eq!(
            judge_card(&card(1, 10, &[]), None, &[]),
            Ok(CardTrust::FirstSeen)
        );
        let held = card(1, 10, &[]);
        assert_eq!(
            judge_card(&card(2, 99, &[]), Some(&held), &[]),
            Err(CardRefusal::OtherFounder)
        );
        assert_eq!(
            judge_card(&card(1, 11, &[]), Some(&held), &[]),
            Ok(CardTrust::FirstSeen)
        );
        assert_eq!(
            judge_card(&card(1, 10, &[]), Some(&held), &[]),
            Err(CardRefusal::NotNewer)
        );
    }

    #[test]
    fn followed_moderators_decide_and_displace_a_first_seen_card() {
        let followed = [key(5)];
        assert_eq!(
            judge_card(&card(1, 10, &[]), None, &followed),
            Err(CardRefusal::NotFollowed)
        );
        let first_seen = card(1, 10, &[]);
        assert_eq!(
            judge_card(&card(5, 1, &[]), Some(&first_seen), &followed),
            Ok(CardTrust::Followed)
        );
        // Two followed moderators: the held one stays until unfollowed.
        let held = card(5, 1, &[]);
        assert_eq!(
            judge_card(&card(6, 2, &[]), Some(&held), &[key(5), key(6)]),
            Err(CardRefusal::OtherFounder)
        );
    }

    #[test]
    fn a_channel_is_quiet_thirty_minutes_after_the_last_heartbeat() {
        let grief = ChannelName::parse("grief").unwrap();
        let c = card(1, 10, &[2]);
        let mut presence = Presence::default();
        assert!(presence.info(&grief, Some(&c)).quiet_at(0), "never heard");
        presence.heard(&grief, key(2), 1_000);
        presence.heard(&grief, key(9), 5_000); // not declared: does not count
        let info = presence.info(&grief, Some(&c));
        assert_eq!(info.last_heard_ms(), Some(1_000));
        assert!(info.active_at(1_000 + QUIET_AFTER_MS));
        assert!(info.quiet_at(1_000 + QUIET_AFTER_MS + 1));
        // No card, no declared moderators: nothing to warn about.
        assert!(!presence.info(&grief, None).quiet_at(u64::MAX));
    }
}
