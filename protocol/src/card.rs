//! Channel cards: a channel's founding moderator key says who moderates
//! the channel, its rules, how long its posts are meant to be kept and
//! whether it is for adults or for teenagers.
//!
//! A card is signed by the founding key and travels on the channel's own
//! topic; a newer card (higher `created_ms`) by the same key replaces the
//! held one. Which founding key a node trusts for a channel is a local
//! choice (`docs/protocol.md` section 21.3), not something a card can
//! claim: any key can sign a card for any channel.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::channel::ChannelName;
use crate::error::FieldError;
use crate::keys::PublicKey;
use crate::limits::{MAX_CARD_MODERATORS, MAX_CARD_RETENTION_DAYS, MAX_RULES_BYTES};
use crate::text;

/// Who a channel is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgeGroup {
    /// Adults (18 and over).
    Adult,
    /// Teenagers (13 to 17).
    Teen,
}

impl AgeGroup {
    /// The name as people type it: `adult` or `teen`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgeGroup::Adult => "adult",
            AgeGroup::Teen => "teen",
        }
    }

    /// The age group for a typed name (case-insensitive, trimmed).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "adult" => Some(AgeGroup::Adult),
            "teen" => Some(AgeGroup::Teen),
            _ => None,
        }
    }
}

impl std::fmt::Display for AgeGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified channel card. A founding moderator makes one with
/// [`ChannelCard::sign`] (in [`crate::sign`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCard {
    /// The founding moderator key that signed it.
    pub founder: PublicKey,
    /// The channel it describes.
    pub channel: ChannelName,
    /// When it was signed, ms since the Unix epoch; a newer card replaces
    /// an older one.
    pub created_ms: u64,
    /// Who the channel is for.
    pub age: AgeGroup,
    /// How many days the channel asks nodes to keep its posts.
    pub retention_days: u32,
    /// The channel's other moderators (the founder moderates too).
    pub moderators: Vec<PublicKey>,
    /// The channel's rules, a short multi-line text (may be empty).
    pub rules: String,
}

impl ChannelCard {
    /// Every declared moderator: the founder first, then the listed ones
    /// that are not the founder.
    pub fn declared_moderators(&self) -> Vec<PublicKey> {
        let mut all = vec![self.founder];
        for key in &self.moderators {
            if !all.contains(key) {
                all.push(*key);
            }
        }
        all
    }

    /// Whether `key` is one of the channel's declared moderators.
    pub fn is_moderator(&self, key: &PublicKey) -> bool {
        &self.founder == key || self.moderators.contains(key)
    }

    /// Whether this card may replace `held`: same channel, same founder,
    /// strictly newer. An older or equal card is refused, so a replayed
    /// old card cannot undo a newer one.
    pub fn may_replace(&self, held: Option<&ChannelCard>) -> Result<(), CardUpdateError> {
        match held {
            None => Ok(()),
            Some(held) if held.channel != self.channel => Err(CardUpdateError::OtherChannel),
            Some(held) if held.founder != self.founder => Err(CardUpdateError::OtherFounder),
            Some(held) if self.created_ms <= held.created_ms => Err(CardUpdateError::NotNewer {
                held: held.created_ms,
                offered: self.created_ms,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Why a card cannot replace the one held.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CardUpdateError {
    /// The new card is about another channel.
    #[error("the card is about another channel")]
    OtherChannel,
    /// The new card is signed by another key than the held one.
    #[error("the card is signed by another key than the channel's founding key")]
    OtherFounder,
    /// The new card is not newer than the held one.
    #[error("card of {offered} ms is not newer than the held one of {held} ms")]
    NotNewer {
        /// The held card's `created_ms`.
        held: u64,
        /// The offered card's `created_ms`.
        offered: u64,
    },
}

/// The body of a channel-card envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChannelCardWire {
    pub channel: ChannelName,
    pub created_ms: u64,
    pub age: AgeGroup,
    pub retention_days: u32,
    pub moderators: Vec<PublicKey>,
    pub rules: String,
}

impl ChannelCardWire {
    /// The field rules of `docs/protocol.md` section 21.1, in order.
    pub(crate) fn check(&self) -> Result<(), FieldError> {
        if self.retention_days == 0 || self.retention_days > MAX_CARD_RETENTION_DAYS {
            return Err(FieldError::Field(
                "channel card retention is not 1 to 3650 days",
            ));
        }
        if self.moderators.len() > MAX_CARD_MODERATORS {
            return Err(FieldError::Field(
                "channel card names more than 16 moderators",
            ));
        }
        // Strictly ascending: no duplicates, and one encoding per set.
        if self
            .moderators
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.as_bytes() >= b.as_bytes()))
        {
            return Err(FieldError::Field(
                "channel card moderators are not in strictly ascending order",
            ));
        }
        if !self.rules.is_empty() {
            text::check_multiline("rules", &self.rules, MAX_RULES_BYTES)?;
        }
        Ok(())
    }

    pub(crate) fn into_card(self, founder: PublicKey) -> ChannelCard {
        ChannelCard {
            founder,
            channel: self.channel,
            created_ms: self.created_ms,
            age: self.age,
            retention_days: self.retention_days,
            moderators: self.moderators,
            rules: self.rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    fn card(founder: u8, created_ms: u64) -> ChannelCard {
        ChannelCard {
            founder: Keypair::from_secret_bytes([founder; 32]).public(),
            channel: ChannelName::parse("grief").unwrap(),
            created_ms,
            age: AgeGroup::Adult,
            retention_days: 30,
            moderators: vec![],
            rules: String::new(),
        }
    }

    #[test]
    fn only_a_newer_card_by_the_same_founder_replaces() {
        let held = card(1, 100);
        assert!(card(1, 101).may_replace(Some(&held)).is_ok());
        assert!(card(1, 100).may_replace(Some(&held)).is_err());
        assert!(card(1, 99).may_replace(Some(&held)).is_err());
        assert_eq!(
            card(2, 500).may_replace(Some(&held)),
            Err(CardUpdateError::OtherFounder)
        );
        assert!(card(2, 1).may_replace(None).is_ok());
    }

    #[test]
    fn the_founder_is_always_a_declared_moderator_and_listed_once() {
        let mut c = card(1, 1);
        let other = Keypair::from_secret_bytes([2; 32]).public();
        c.moderators = vec![c.founder, other];
        assert_eq!(c.declared_moderators(), vec![c.founder, other]);
        assert!(c.is_moderator(&other));
        assert!(!c.is_moderator(&Keypair::from_secret_bytes([3; 32]).public()));
    }

    #[test]
    fn age_groups_parse_as_typed() {
        assert_eq!(AgeGroup::parse(" Teen "), Some(AgeGroup::Teen));
        assert_eq!(AgeGroup::parse("adult"), Some(AgeGroup::Adult));
        assert_eq!(AgeGroup::parse("kids"), None);
    }
}
