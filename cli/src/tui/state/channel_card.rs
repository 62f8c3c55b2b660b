//! A channel's card and its moderators' presence in the chat window: the
//! card shown when it arrives (on join, or when its moderators publish a
//! new one), the warning when the card's age group is not the person's,
//! and the "no moderator active right now" banner.
//!
//! The banner needs a clock: the window's own (`App::now_ms`, moved by
//! ticks), so tests move it instead of waiting. It appears when the card
//! declares moderators and none of them was heard from for
//! [`QUIET_AFTER_MS`]. A window that has never heard one waits one
//! heartbeat interval after learning the card before saying so, because a
//! moderator who is there has had no chance yet to be heard.

use hearth_node::cards::{PRESENCE_INTERVAL_MS, QUIET_AFTER_MS};
use hearth_protocol::{AgeGroup, ChannelName};

use super::App;
use super::channel::{Item, Notice, Tone};

/// A channel card as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    /// The channel.
    pub channel: ChannelName,
    /// The founding key's name.
    pub founder_name: String,
    /// Why it is trusted: `followed`, `first-seen` or `own`.
    pub trust: String,
    /// Who the channel is for.
    pub age: AgeGroup,
    /// Days the channel asks posts to be kept.
    pub retention_days: u32,
    /// Every declared moderator's name, the founder first.
    pub moderators: Vec<String>,
    /// The rules.
    pub rules: String,
}

impl CardView {
    /// The card as lines of the scrollback.
    pub fn lines(&self) -> Vec<String> {
        let trust = match self.trust.as_str() {
            "followed" => "signed by a moderator you follow",
            "own" => "signed by your moderator key",
            _ => "the first card seen here; no moderator you follow confirmed it",
        };
        let mut lines = vec![format!(
            "#{} is a channel for {}s, founded by {} ({trust}). Posts are kept {} days.",
            self.channel,
            self.age.as_str(),
            self.founder_name,
            self.retention_days
        )];
        lines.push(format!("Moderators: {}.", self.moderators.join(", ")));
        if !self.rules.is_empty() {
            lines.push("Rules:".to_owned());
            lines.extend(self.rules.lines().map(|l| format!("  {l}")));
        }
        lines
    }
}

/// The warning for a person of `mine` in a channel for `theirs`, if they
/// differ.
pub fn age_warning(
    mine: Option<AgeGroup>,
    theirs: AgeGroup,
    channel: &ChannelName,
) -> Option<String> {
    match (mine?, theirs) {
        (AgeGroup::Teen, AgeGroup::Adult) => Some(format!(
            "Heads up: #{channel} says it is a channel for adults, and your age group is set to teen. You can /leave; /join another channel any time."
        )),
        (AgeGroup::Adult, AgeGroup::Teen) => Some(format!(
            "Heads up: #{channel} says it is a channel for teenagers, and your age group is set to adult. Please /leave unless you moderate it."
        )),
        _ => None,
    }
}

/// What the window knows of a channel's card and moderators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moderation {
    /// The card, once known.
    pub card: Option<CardView>,
    /// When the window learnt the card (its clock).
    pub card_since_ms: u64,
    /// The newest heartbeat of a declared moderator (wall ms).
    pub last_heard_ms: Option<u64>,
}

impl Moderation {
    /// Whether to say "no moderator active right now" at `now_ms`.
    pub fn quiet_at(&self, now_ms: u64) -> bool {
        if self.card.is_none() {
            return false;
        }
        let since = self.last_heard_ms.unwrap_or_else(|| {
            // Never heard: count from one heartbeat interval after the
            // card arrived, as if a moderator had been heard then.
            self.card_since_ms
                .saturating_add(PRESENCE_INTERVAL_MS)
                .saturating_sub(QUIET_AFTER_MS)
        });
        now_ms.saturating_sub(since) > QUIET_AFTER_MS
    }
}

/// The banner shown while no declared moderator is active.
pub const NO_MODERATOR: &str = "no moderator active right now · Ctrl+G shows crisis lines";

impl App {
    /// A card arrived for `card.channel`: keep it, show it in that
    /// channel, and warn if it is for the other age group.
    pub fn on_channel_card(&mut self, card: CardView) {
        let now = self.now_ms;
        let warning = age_warning(self.care.age_group(), card.age, &card.channel);
        let Some(channel) = self.channel_mut(&card.channel) else {
            return;
        };
        let same = channel.moderation.card.as_ref().is_some_and(|held| {
            // The founder announces the same card again for newcomers:
            // only a changed card is news.
            held.age == card.age
                && held.rules == card.rules
                && held.moderators == card.moderators
                && held.retention_days == card.retention_days
        });
        if channel.moderation.card.is_none() {
            channel.moderation.card_since_ms = now;
        }
        let lines = if same { Vec::new() } else { card.lines() };
        channel.moderation.card = Some(card);
        let mut say = |text: String, tone: Tone| {
            channel.items.push(Item::Notice(Notice {
                at_ms: now,
                text,
                tone,
            }));
        };
        for line in lines {
            say(line, Tone::Info);
        }
        if !same && let Some(warning) = warning {
            say(warning, Tone::Hint);
        }
        channel.scroll = 0;
        channel.trim();
    }

    /// A declared moderator of `channel` was heard from at `at_ms`.
    pub fn on_presence(&mut self, channel: &ChannelName, at_ms: u64) {
        if let Some(c) = self.channel_mut(channel) {
            let last = c.moderation.last_heard_ms.get_or_insert(at_ms);
            *last = (*last).max(at_ms);
        }
    }

    /// The banner for the channel shown, if no moderator is active there.
    pub fn presence_banner(&self) -> Option<&'static str> {
        self.current()
            .is_some_and(|c| c.moderation.quiet_at(self.now_ms))
            .then_some(NO_MODERATOR)
    }
}
