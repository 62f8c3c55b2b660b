//! The chat window's state, apart from any terminal.
//!
//! [`App`] takes what happens (node events, answers to earlier requests,
//! keys, pastes, clock ticks) and returns [`Action`]s for the loop to carry
//! out against the node. It never blocks and never touches the terminal, so
//! every behaviour is tested here without one.
//!
//! The parts: `messages` (what comes in and goes out), `channel` (one
//! channel's scrollback), `input` (the line being typed), and the
//! behaviours of [`App`] by what drives them: `events` (the node's events
//! and answers), `keys` (key presses and pastes) and `dispatch` (Enter and
//! the slash commands); `care` holds the crisis card, the check before
//! sending and how received posts are folded; `channel_card` a channel's
//! card, the age-group warning and the moderator presence banner.

mod care;
mod channel;
mod channel_card;
mod dispatch;
mod events;
mod input;
mod keys;
mod messages;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use hearth_protocol::{ChannelName, ContentWarning, MessageId};

use super::clock::Zone;
use super::commands;
use crate::care::folding::Placement;

pub use self::care::{CARD_KEYS, CONFIRM_KEYS, CONFIRM_LEAD, Care, CareOverlay};
pub use self::channel::{ChannelView, Item, MAX_ITEMS, Notice, Placed, PostItem, Tone};
pub use self::channel_card::{CardView, Moderation, NO_MODERATOR, age_warning};
pub use self::input::{InputLine, MAX_INPUT_BYTES};
pub use self::messages::{Action, Draft, NodeEvent, Outcome, PeerSummary, Persona, Record};

/// How the user's own list is named when this window hides something.
pub const OWN_LIST: &str = "your own blocklist";

/// The whole chat window.
#[derive(Debug)]
pub struct App {
    /// Joined channels, in the order shown.
    pub channels: Vec<ChannelView>,
    /// The index of the channel shown.
    pub active: usize,
    /// Notices shown while no channel is joined.
    pub lobby: Vec<Item>,
    /// The input line.
    pub input: InputLine,
    /// The nickname put on new posts.
    pub nick: Option<String>,
    /// The post the next message answers.
    pub pending_reply: Option<(ChannelName, MessageId)>,
    /// The warning the next message carries.
    pub pending_cw: Option<ContentWarning>,
    /// Connected peers.
    pub peers: HashSet<String>,
    /// The clock, ms since the Unix epoch.
    pub now_ms: u64,
    /// The local time zone.
    pub zone: Zone,
    /// The node has stopped.
    pub stopped: bool,
    /// Screen lines of the message area at the last drawing.
    pub page: usize,
    /// Set once the user asked to leave.
    pub quit: bool,
    /// The crisis card, the check before sending, what is folded.
    pub care: Care,
    recall: Vec<String>,
    recall_at: Option<usize>,
    recall_draft: String,
    waiting: HashSet<MessageId>,
}

impl App {
    /// An empty window.
    pub fn new(zone: Zone, now_ms: u64, nick: Option<String>) -> Self {
        let today = zone.local(now_ms).date();
        Self {
            channels: Vec::new(),
            active: 0,
            lobby: Vec::new(),
            input: InputLine::default(),
            nick: nick.filter(|n| !n.trim().is_empty()),
            pending_reply: None,
            pending_cw: None,
            peers: HashSet::new(),
            now_ms,
            zone,
            stopped: false,
            page: 20,
            quit: false,
            care: Care::new(crate::care::ChatCare::plain(today)),
            recall: Vec::new(),
            recall_at: None,
            recall_draft: String::new(),
            waiting: HashSet::new(),
        }
    }

    /// The channel shown, if any.
    pub fn current(&self) -> Option<&ChannelView> {
        self.channels.get(self.active)
    }

    /// The channel shown, mutably.
    pub fn current_mut(&mut self) -> Option<&mut ChannelView> {
        self.channels.get_mut(self.active)
    }

    fn channel_index(&self, name: &ChannelName) -> Option<usize> {
        self.channels.iter().position(|c| c.name == *name)
    }

    fn channel_mut(&mut self, name: &ChannelName) -> Option<&mut ChannelView> {
        self.channels.iter_mut().find(|c| c.name == *name)
    }

    /// Adds a joined channel (or updates its persona and peers).
    pub fn add_channel(&mut self, name: ChannelName, persona: Option<Persona>, peers: usize) {
        match self.channel_mut(&name) {
            Some(existing) => {
                if persona.is_some() {
                    existing.persona = persona;
                }
                existing.peers = peers.max(existing.peers);
            }
            None => self.channels.push(ChannelView::new(name, persona, peers)),
        }
    }

    /// The friendly first lines.
    pub fn welcome(&mut self) {
        let text = match self.current() {
            Some(c) => {
                let who = c
                    .persona
                    .as_ref()
                    .map_or_else(String::new, |p| format!(" as {}", p.name));
                format!(
                    "Welcome. You're in #{}{who}. Type and press Enter to talk; /help shows what else you can do.",
                    c.name
                )
            }
            None => "Welcome. Join a channel with /join NAME (for example /join anxiety); /help shows what else you can do.".to_owned(),
        };
        self.notice(text, Tone::Info);
    }

    /// Adds a notice to the channel shown.
    pub fn notice(&mut self, text: impl Into<String>, tone: Tone) {
        let item = Item::Notice(Notice {
            at_ms: self.now_ms,
            text: text.into(),
            tone,
        });
        match self.channels.get_mut(self.active) {
            Some(channel) => {
                // Notices always go at the bottom, where the person looks.
                channel.items.push(item);
                channel.scroll = 0;
                channel.trim();
            }
            None => {
                self.lobby.push(item);
                if self.lobby.len() > MAX_ITEMS {
                    self.lobby.remove(0);
                }
            }
        }
    }

    fn hint(&mut self, text: impl Into<String>) {
        self.notice(text, Tone::Hint);
    }

    /// The window is closing with `signing` posts handed to the node and
    /// not yet answered: say that they are kept.
    pub fn closing(&mut self, signing: usize) {
        let text = if signing == 1 {
            "Closing. 1 post you wrote is still being signed: it is saved, and goes out now or the next time you start hearth.".to_owned()
        } else {
            format!(
                "Closing. {signing} posts you wrote are still being signed: they are saved, and go out now or the next time you start hearth."
            )
        };
        self.notice(text, Tone::Info);
    }

    /// The clock moved on.
    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
    }

    /// Shows another channel.
    pub fn switch_to(&mut self, index: usize) {
        if let Some(channel) = self.channels.get_mut(index) {
            channel.unread = 0;
            self.active = index;
        }
    }

    fn switch_by(&mut self, step: isize) {
        let n = self.channels.len();
        if n > 1 {
            let next = (self.active as isize + step).rem_euclid(n as isize);
            self.switch_to(usize::try_from(next).unwrap_or(0));
        }
    }

    fn remove_channel(&mut self, name: &ChannelName) -> bool {
        let Some(index) = self.channel_index(name) else {
            return false;
        };
        self.channels.remove(index);
        if index < self.active || self.active >= self.channels.len() {
            self.active = self.active.saturating_sub(1);
        }
        if let Some(c) = self.channels.get_mut(self.active) {
            c.unread = 0;
        }
        if self
            .pending_reply
            .as_ref()
            .is_some_and(|(channel, _)| channel == name)
        {
            self.pending_reply = None;
        }
        true
    }

    fn add_post(&mut self, record: Record, count_unread: bool) {
        let Some(index) = self.channel_index(&record.post.channel) else {
            return;
        };
        let synced = record.synced;
        let mut item = PostItem::from_record(record);
        if item.own && self.waiting.contains(&item.id) {
            item.waiting = true;
        }
        let placement = self.care_place(&item);
        if placement == Placement::Hide {
            return;
        }
        item.method_fold = placement == Placement::FoldMethod;
        let id = item.id;
        let visible = item.hidden_by.is_none() && !item.own;
        let active = index == self.active;
        let Some(channel) = self.channels.get_mut(index) else {
            return;
        };
        let new = if synced {
            // Earlier history is not news: it does not count as unread.
            channel.insert_synced(item) == Placed::Newest
        } else {
            channel.insert_post(item)
        };
        if placement == Placement::Open {
            channel.opened.insert(id);
        }
        if new && count_unread && visible && !active {
            channel.unread += 1;
        }
    }
}
