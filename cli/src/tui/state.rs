//! The chat window's state, apart from any terminal.
//!
//! [`App`] takes what happens (node events, answers to earlier requests,
//! keys, pastes, clock ticks) and returns [`Action`]s for the loop to carry
//! out against the node. It never blocks and never touches the terminal, so
//! every behaviour is tested here without one.

use std::collections::{HashMap, HashSet};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use hearth_protocol::limits::MAX_BODY_BYTES;
use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, ContentWarning, MessageId, Post, PublicKey, Verdict,
};

use super::clock::Zone;
use super::commands::{
    self, BlockWho, Command, CwChange, DEFAULT_HISTORY, Input, NickChange, PostRef, SwitchTo,
};

/// Most lines kept per channel; older ones drop off the top (they stay in
/// the store, and `/history` brings them back).
pub const MAX_ITEMS: usize = 2000;
/// Most bytes the input line holds: a full post plus room for a command.
pub const MAX_INPUT_BYTES: usize = MAX_BODY_BYTES + 512;
/// Most lines remembered for Up/Down recall.
const MAX_RECALL: usize = 100;
/// How the user's own list is named when this window hides something.
pub const OWN_LIST: &str = "your own blocklist";

/// A post as the window receives it (from a node event, a history read or
/// a `/why` lookup).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its id.
    pub id: MessageId,
    /// The verified post.
    pub post: Post,
    /// Whether this user wrote it.
    pub own: bool,
    /// Why the user's policy hides it, if it does.
    pub verdict: Option<Verdict>,
}

/// The persona the user speaks with in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persona {
    /// Its readable name.
    pub name: String,
    /// Its key.
    pub key: PublicKey,
}

/// A connected peer, for `/peers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSummary {
    /// The peer id as text.
    pub id: String,
    /// Channels shared with it.
    pub channels: Vec<ChannelName>,
}

/// A post to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The text.
    pub text: String,
    /// The post it answers.
    pub reply_to: Option<MessageId>,
    /// Its content warning.
    pub content_warning: Option<ContentWarning>,
    /// The nickname shown beside the persona name.
    pub nickname: Option<String>,
}

/// Something the loop must ask the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Publish a post; answer with [`Outcome::Published`] or
    /// [`Outcome::PublishFailed`].
    Publish {
        /// Where.
        channel: ChannelName,
        /// What.
        draft: Draft,
    },
    /// Join a channel; answer with [`Outcome::Joined`].
    Join(ChannelName),
    /// Leave a channel; answer with [`Outcome::Left`].
    Leave(ChannelName),
    /// Rotate the persona of a channel; answer with [`Outcome::Rotated`].
    RotatePersona(ChannelName),
    /// Add an entry to the user's own blocklist; answer with
    /// [`Outcome::Blocked`].
    Block {
        /// The entry.
        entry: BlockEntry,
        /// Who or what it blocks, in words.
        what: String,
    },
    /// Look a post up with its verdict; answer with [`Outcome::Why`].
    Why {
        /// The post.
        id: MessageId,
    },
    /// Read stored posts; answer with [`Outcome::History`].
    History {
        /// Of this channel.
        channel: ChannelName,
        /// At most this many, the newest.
        limit: usize,
        /// Say how many were loaded.
        announce: bool,
    },
    /// List peers; answer with [`Outcome::Peers`].
    Peers,
    /// Clear and redraw the whole screen.
    Redraw,
    /// Leave the chat window.
    Quit,
}

/// The answer to an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A post was stored and sent to `peers` peers.
    Published {
        /// Its channel.
        channel: ChannelName,
        /// Its id.
        id: MessageId,
        /// Peers it went to now.
        peers: usize,
    },
    /// A post could not be published.
    PublishFailed {
        /// Its channel.
        channel: ChannelName,
        /// What was to be published, so nothing typed is lost.
        draft: Draft,
        /// Why.
        error: String,
    },
    /// A channel was joined.
    Joined {
        /// The channel.
        channel: ChannelName,
        /// The persona there.
        persona: Persona,
    },
    /// A channel was left.
    Left {
        /// The channel.
        channel: ChannelName,
    },
    /// The persona of a channel was replaced.
    Rotated {
        /// The channel.
        channel: ChannelName,
        /// The new persona.
        persona: Persona,
    },
    /// A blocklist entry was added.
    Blocked {
        /// The entry.
        entry: BlockEntry,
        /// Who or what it blocks, in words.
        what: String,
        /// False when the entry was already there.
        new: bool,
    },
    /// A post looked up for `/why`.
    Why {
        /// The id asked about.
        id: MessageId,
        /// The stored post, if there is one.
        record: Option<Box<Record>>,
    },
    /// Stored posts of a channel.
    History {
        /// The channel.
        channel: ChannelName,
        /// Oldest first.
        records: Vec<Record>,
        /// Say how many were loaded.
        announce: bool,
    },
    /// Connected peers.
    Peers(Vec<PeerSummary>),
    /// A request failed; `what` says which, in words (“join grief”).
    Failed {
        /// What was being done.
        what: String,
        /// Why it failed.
        error: String,
    },
}

/// What the node reports, as far as the window cares.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeEvent {
    /// A channel was joined (possibly by another interface).
    Joined {
        /// The channel.
        channel: ChannelName,
        /// The persona there.
        persona: Persona,
    },
    /// A channel was left.
    Left {
        /// The channel.
        channel: ChannelName,
    },
    /// A post arrived or was written here.
    Post(Box<Record>),
    /// An own post went out.
    Sent {
        /// The post.
        id: MessageId,
        /// Peers it went to.
        peers: usize,
    },
    /// A peer connected.
    PeerConnected(String),
    /// A peer's last connection closed.
    PeerDisconnected(String),
    /// The number of peers in a channel changed.
    ChannelPeers {
        /// The channel.
        channel: ChannelName,
        /// Peers now.
        peers: usize,
    },
    /// Events were missed.
    Lagged(u64),
    /// The node stopped.
    Stopped,
}

/// How a notice should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something that happened.
    Info,
    /// A gentle correction.
    Hint,
    /// Help text.
    Help,
}

/// A line from the window itself, never sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// When it was said, ms since the Unix epoch.
    pub at_ms: u64,
    /// What.
    pub text: String,
    /// How it looks.
    pub tone: Tone,
}

/// A post as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostItem {
    /// Its id.
    pub id: MessageId,
    /// Its author.
    pub author: PublicKey,
    /// The author's persona name.
    pub author_name: String,
    /// The nickname on the post.
    pub nickname: Option<String>,
    /// When it was written (author's clock).
    pub created_ms: u64,
    /// The text.
    pub body: String,
    /// The post it answers.
    pub reply_to: Option<MessageId>,
    /// Its content warning.
    pub content_warning: Option<ContentWarning>,
    /// Whether this user wrote it.
    pub own: bool,
    /// The list that hides it, in words, if one does.
    pub hidden_by: Option<String>,
    /// An own post not yet sent to any peer.
    pub waiting: bool,
}

impl PostItem {
    fn from_record(record: Record) -> Self {
        let Record {
            id,
            post,
            own,
            verdict,
        } = record;
        PostItem {
            id,
            author: post.author,
            author_name: post.author.name(),
            nickname: post.nickname,
            created_ms: post.created_ms,
            body: post.body,
            reply_to: post.reply_to,
            content_warning: post.content_warning,
            own,
            hidden_by: verdict.map(|v| v.list.to_string()),
            waiting: false,
        }
    }

    /// The first words of the body, for reply lines.
    pub fn snippet(&self, max_chars: usize) -> String {
        let flat: String = self.body.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= max_chars {
            flat
        } else {
            let cut: String = flat.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{}…", cut.trim_end())
        }
    }
}

/// One line of a channel's scrollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A post.
    Post(Box<PostItem>),
    /// A notice from the window.
    Notice(Notice),
}

impl Item {
    fn at_ms(&self) -> u64 {
        match self {
            Item::Post(p) => p.created_ms,
            Item::Notice(n) => n.at_ms,
        }
    }
}

/// A joined channel and what the window shows of it.
#[derive(Debug, Clone)]
pub struct ChannelView {
    /// The channel.
    pub name: ChannelName,
    /// The user's persona there, once known.
    pub persona: Option<Persona>,
    /// Peers subscribed to it.
    pub peers: usize,
    /// Posts and notices, in time order.
    pub items: Vec<Item>,
    /// Posts that arrived while another channel was shown.
    pub unread: usize,
    /// Screen lines scrolled up from the bottom.
    pub scroll: usize,
    /// Items added at the bottom since the last drawing, so a scrolled-back
    /// view can stay where it is while posts arrive.
    pub appended: usize,
    /// The width of the last drawing.
    pub rendered_width: u16,
    /// Posts whose content warning the user opened.
    pub opened: HashSet<MessageId>,
    ids: HashSet<MessageId>,
}

impl ChannelView {
    fn new(name: ChannelName, persona: Option<Persona>, peers: usize) -> Self {
        Self {
            name,
            persona,
            peers,
            items: Vec::new(),
            unread: 0,
            scroll: 0,
            appended: 0,
            rendered_width: 0,
            opened: HashSet::new(),
            ids: HashSet::new(),
        }
    }

    /// The posts, newest first.
    pub fn posts_newest_first(&self) -> impl Iterator<Item = &PostItem> {
        self.items.iter().rev().filter_map(|i| match i {
            Item::Post(p) => Some(p.as_ref()),
            Item::Notice(_) => None,
        })
    }

    fn post_mut(&mut self, id: &MessageId) -> Option<&mut PostItem> {
        self.items.iter_mut().find_map(|i| match i {
            Item::Post(p) if p.id == *id => Some(p.as_mut()),
            _ => None,
        })
    }

    /// Inserts a post in time order; false if it was already there.
    fn insert_post(&mut self, post: PostItem) -> bool {
        if let Some(existing) = self.post_mut(&post.id) {
            // A later sighting may carry a newer verdict.
            if post.hidden_by.is_some() {
                existing.hidden_by = post.hidden_by;
            }
            return false;
        }
        self.ids.insert(post.id);
        self.insert(Item::Post(Box::new(post)));
        true
    }

    fn insert(&mut self, item: Item) {
        let at = item.at_ms();
        let index = self.items.partition_point(|i| i.at_ms() <= at);
        if index == self.items.len() {
            self.appended += 1;
        }
        self.items.insert(index, item);
        self.trim();
    }

    /// Drops the oldest lines beyond [`MAX_ITEMS`].
    fn trim(&mut self) {
        if self.items.len() > MAX_ITEMS {
            let excess = self.items.len() - MAX_ITEMS;
            for gone in self.items.drain(..excess) {
                if let Item::Post(p) = gone {
                    self.ids.remove(&p.id);
                    self.opened.remove(&p.id);
                }
            }
        }
    }
}

/// The line being typed, with a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputLine {
    text: String,
    /// A byte offset, always on a character boundary.
    cursor: usize,
}

impl InputLine {
    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor as a count of characters before it.
    #[cfg(test)]
    pub fn cursor_chars(&self) -> usize {
        self.before().chars().count()
    }

    /// The text before the cursor.
    pub fn before(&self) -> &str {
        self.text.get(..self.cursor).unwrap_or(&self.text)
    }

    fn after(&self) -> &str {
        self.text.get(self.cursor..).unwrap_or("")
    }

    /// True when nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Replaces the text; the cursor goes to the end.
    pub fn set(&mut self, text: &str) {
        self.text.clear();
        self.cursor = 0;
        self.insert_str(text);
    }

    /// Takes the text out, leaving the line empty.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// Inserts text at the cursor, cleaned of control characters (tabs
    /// become spaces, line ends become newlines). Returns false if some of
    /// it did not fit.
    pub fn insert_str(&mut self, text: &str) -> bool {
        let text = text.replace("\r\n", "\n");
        let mut all = true;
        for c in text.chars() {
            let clean = match c {
                '\r' | '\n' => "\n".to_owned(),
                '\t' => "    ".to_owned(),
                c if c.is_control() || is_direction_control(c) => continue,
                c => c.to_string(),
            };
            if self.text.len() + clean.len() > MAX_INPUT_BYTES {
                all = false;
                break;
            }
            self.text.insert_str(self.cursor, &clean);
            self.cursor += clean.len();
        }
        all
    }

    fn backspace(&mut self) {
        if let Some(c) = self.before().chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    fn left(&mut self) {
        if let Some(c) = self.before().chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    fn right(&mut self) {
        if let Some(c) = self.after().chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    fn word_left(&mut self) {
        let before = self.before();
        let trimmed = before.trim_end();
        let start = trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        self.cursor = start;
    }

    fn word_right(&mut self) {
        let after = self.after();
        let skip_space = after.len() - after.trim_start().len();
        let rest = after.get(skip_space..).unwrap_or("");
        let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.cursor += skip_space + word;
    }

    fn delete_word_back(&mut self) {
        let end = self.cursor;
        self.word_left();
        self.text.replace_range(self.cursor..end, "");
    }

    fn home(&mut self) {
        self.cursor = 0;
    }

    fn end(&mut self) {
        self.cursor = self.text.len();
    }

    fn kill_to_start(&mut self) {
        self.text.replace_range(..self.cursor, "");
        self.cursor = 0;
    }

    fn kill_to_end(&mut self) {
        self.text.truncate(self.cursor);
    }
}

fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

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
    recall: Vec<String>,
    recall_at: Option<usize>,
    recall_draft: String,
    waiting: HashSet<MessageId>,
}

impl App {
    /// An empty window.
    pub fn new(zone: Zone, now_ms: u64, nick: Option<String>) -> Self {
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
        let mut item = PostItem::from_record(record);
        if item.own && self.waiting.contains(&item.id) {
            item.waiting = true;
        }
        let visible = item.hidden_by.is_none() && !item.own;
        let active = index == self.active;
        if let Some(channel) = self.channels.get_mut(index)
            && channel.insert_post(item)
            && count_unread
            && visible
            && !active
        {
            channel.unread += 1;
        }
    }

    /// Takes a node event.
    pub fn on_event(&mut self, event: NodeEvent) -> Vec<Action> {
        match event {
            NodeEvent::Joined { channel, persona } => {
                self.add_channel(channel, Some(persona), 0);
            }
            NodeEvent::Left { channel } => {
                self.remove_channel(&channel);
            }
            NodeEvent::Post(record) => self.add_post(*record, true),
            NodeEvent::Sent { id, peers } => {
                if peers > 0 {
                    self.waiting.remove(&id);
                    for channel in &mut self.channels {
                        if let Some(post) = channel.post_mut(&id) {
                            post.waiting = false;
                        }
                    }
                }
            }
            NodeEvent::PeerConnected(peer) => {
                self.peers.insert(peer);
            }
            NodeEvent::PeerDisconnected(peer) => {
                self.peers.remove(&peer);
            }
            NodeEvent::ChannelPeers { channel, peers } => {
                if let Some(c) = self.channel_mut(&channel) {
                    c.peers = peers;
                }
            }
            NodeEvent::Lagged(missed) => self.notice(
                format!(
                    "{missed} updates were missed while things were busy; /history reloads this channel."
                ),
                Tone::Info,
            ),
            NodeEvent::Stopped => {
                if !self.stopped {
                    self.stopped = true;
                    self.notice(
                        "The node has stopped, so nothing more can be sent or received. /quit closes this window.",
                        Tone::Info,
                    );
                }
            }
        }
        Vec::new()
    }

    /// Takes the answer to an earlier action.
    pub fn on_outcome(&mut self, outcome: Outcome) -> Vec<Action> {
        match outcome {
            Outcome::Published { id, peers, .. } => {
                if peers == 0 {
                    self.waiting.insert(id);
                    for channel in &mut self.channels {
                        if let Some(post) = channel.post_mut(&id) {
                            post.waiting = true;
                        }
                    }
                }
            }
            Outcome::PublishFailed {
                channel,
                draft,
                error,
            } => {
                let restored = self.input.is_empty();
                if restored {
                    self.input.set(&draft.text);
                    if let Some(parent) = draft.reply_to {
                        self.pending_reply = Some((channel.clone(), parent));
                    }
                    if draft.content_warning.is_some() {
                        self.pending_cw = draft.content_warning;
                    }
                }
                let tail = if restored {
                    " It's back in the input line, so nothing is lost."
                } else {
                    ""
                };
                self.hint(format!(
                    "That message to #{channel} wasn't sent: {error}.{tail}"
                ));
            }
            Outcome::Joined { channel, persona } => {
                let name = persona.name.clone();
                self.add_channel(channel.clone(), Some(persona), 0);
                if let Some(index) = self.channel_index(&channel) {
                    self.switch_to(index);
                }
                self.notice(format!("You joined #{channel} as {name}."), Tone::Info);
                return vec![Action::History {
                    channel,
                    limit: DEFAULT_HISTORY,
                    announce: false,
                }];
            }
            Outcome::Left { channel } => {
                self.remove_channel(&channel);
                let next = match self.current() {
                    Some(c) => format!(" Now showing #{}.", c.name),
                    None => " /join NAME joins another.".to_owned(),
                };
                self.notice(format!("You left #{channel}.{next}"), Tone::Info);
            }
            Outcome::Rotated { channel, persona } => {
                let name = persona.name.clone();
                if let Some(c) = self.channel_mut(&channel) {
                    c.persona = Some(persona);
                }
                let nick = match &self.nick {
                    Some(nick) => {
                        format!(" Your nickname “{nick}” still shows; /nick - drops it.")
                    }
                    None => String::new(),
                };
                self.notice(
                    format!(
                        "You are now {name} in #{channel}: a new persona, not linked to the old one.{nick}"
                    ),
                    Tone::Info,
                );
            }
            Outcome::Blocked { entry, what, new } => {
                self.apply_block(&entry.target);
                let text = match (&entry.target, new) {
                    (_, false) => format!("{what} was already in your own blocklist."),
                    (BlockTarget::Persona(_), true) => {
                        format!("You won't see {what} any more. It's in your own blocklist.")
                    }
                    (_, true) => format!("{what} is hidden now. It's in your own blocklist."),
                };
                self.notice(text, Tone::Info);
            }
            Outcome::Why { id, record } => {
                let short = id.short();
                let text = match record.map(|r| r.verdict) {
                    None => format!("There's no stored post {short}."),
                    Some(None) => format!("{short} isn't hidden by any list."),
                    Some(Some(v)) => {
                        let reason = if v.reason.trim().is_empty() {
                            "no reason given".to_owned()
                        } else {
                            format!("reason: “{}”", v.reason)
                        };
                        format!(
                            "{short} is hidden by {}: a {} entry, {reason}.",
                            v.list,
                            v.target.kind()
                        )
                    }
                };
                self.notice(text, Tone::Info);
            }
            Outcome::History {
                channel,
                records,
                announce,
            } => {
                let mut added = 0;
                for record in records {
                    if record.post.channel != channel {
                        continue;
                    }
                    let before = self.channel_mut(&channel).map_or(0, |c| c.ids.len());
                    self.add_post(record, false);
                    let after = self.channel_mut(&channel).map_or(0, |c| c.ids.len());
                    added += after.saturating_sub(before);
                }
                if announce {
                    let text = match added {
                        0 => "No earlier posts here that aren't already shown.".to_owned(),
                        1 => "Loaded 1 earlier post.".to_owned(),
                        n => format!("Loaded {n} earlier posts."),
                    };
                    self.notice(text, Tone::Info);
                }
            }
            Outcome::Peers(peers) => {
                if peers.is_empty() {
                    self.notice(
                        "No peers connected yet. hearth keeps looking; your posts wait and go out when someone appears.",
                        Tone::Info,
                    );
                } else {
                    let count = peers.len();
                    let s = if count == 1 { "" } else { "s" };
                    self.notice(format!("Connected to {count} peer{s}:"), Tone::Info);
                    for peer in peers {
                        let channels: Vec<String> =
                            peer.channels.iter().map(|c| format!("#{c}")).collect();
                        let shared = if channels.is_empty() {
                            "no shared channels".to_owned()
                        } else {
                            channels.join(" ")
                        };
                        self.notice(format!("  {}  {shared}", short_peer(&peer.id)), Tone::Info);
                    }
                }
            }
            Outcome::Failed { what, error } => {
                self.hint(format!("Couldn't {what}: {error}."));
            }
        }
        Vec::new()
    }

    fn apply_block(&mut self, target: &BlockTarget) {
        for channel in &mut self.channels {
            for item in &mut channel.items {
                if let Item::Post(post) = item {
                    let hit = match target {
                        BlockTarget::Persona(key) => post.author == *key,
                        BlockTarget::Post(id) => post.id == *id,
                        _ => false,
                    };
                    if hit && post.hidden_by.is_none() {
                        post.hidden_by = Some(OWN_LIST.to_owned());
                    }
                }
            }
        }
    }

    /// Takes pasted text: it goes into the input line, never sent by
    /// itself.
    pub fn on_paste(&mut self, text: &str) {
        self.recall_at = None;
        if !self.input.insert_str(text) {
            self.hint(format!(
                "That was more than one post can hold ({MAX_BODY_BYTES} bytes); the first part is in the input line."
            ));
        }
    }

    /// Takes a key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('c') if ctrl => {
                if self.input.is_empty() {
                    self.quit = true;
                    return vec![Action::Quit];
                }
                let text = self.input.take();
                self.remember(text);
            }
            KeyCode::Char('d') if ctrl => {
                if self.input.is_empty() {
                    self.quit = true;
                    return vec![Action::Quit];
                }
                self.input.delete();
            }
            KeyCode::Char('a') if ctrl => self.input.home(),
            KeyCode::Char('e') if ctrl => self.input.end(),
            KeyCode::Char('b') if ctrl => self.input.left(),
            KeyCode::Char('f') if ctrl => self.input.right(),
            KeyCode::Char('u') if ctrl => self.input.kill_to_start(),
            KeyCode::Char('k') if ctrl => self.input.kill_to_end(),
            KeyCode::Char('w') if ctrl => self.input.delete_word_back(),
            KeyCode::Char('h') if ctrl => self.input.backspace(),
            KeyCode::Char('n') if ctrl => self.switch_by(1),
            KeyCode::Char('p') if ctrl => self.switch_by(-1),
            KeyCode::Char('l') if ctrl => return vec![Action::Redraw],
            KeyCode::Char('j') if ctrl => return self.submit(),
            KeyCode::Char('b') if alt => self.input.word_left(),
            KeyCode::Char('f') if alt => self.input.word_right(),
            KeyCode::Char(c) if alt && c.is_ascii_digit() => {
                let n = c.to_digit(10).map_or(0, |d| d as usize);
                let index = if n == 0 { 9 } else { n - 1 };
                self.switch_to(index);
            }
            KeyCode::Char(_) if ctrl || alt => {}
            KeyCode::Char(c) => {
                self.recall_at = None;
                let mut buf = [0u8; 4];
                self.input.insert_str(c.encode_utf8(&mut buf));
            }
            KeyCode::Enter if alt || key.modifiers.contains(KeyModifiers::SHIFT) => {
                self.input.insert_str("\n");
            }
            KeyCode::Enter => return self.submit(),
            KeyCode::Backspace if alt || ctrl => self.input.delete_word_back(),
            KeyCode::Backspace => self.input.backspace(),
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left if ctrl || alt => self.input.word_left(),
            KeyCode::Right if ctrl || alt => self.input.word_right(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home if ctrl => self.scroll_by(isize::MAX / 2),
            KeyCode::End if ctrl => self.scroll_to_bottom(),
            KeyCode::Home => self.input.home(),
            KeyCode::End => self.input.end(),
            KeyCode::Up if ctrl || alt => self.scroll_by(1),
            KeyCode::Down if ctrl || alt => self.scroll_by(-1),
            KeyCode::Up => self.recall_older(),
            KeyCode::Down => self.recall_newer(),
            KeyCode::PageUp => self.scroll_by(self.page_step()),
            KeyCode::PageDown => self.scroll_by(-self.page_step()),
            KeyCode::Tab => self.switch_by(1),
            KeyCode::BackTab => self.switch_by(-1),
            KeyCode::Esc => self.escape(),
            _ => {}
        }
        Vec::new()
    }

    fn page_step(&self) -> isize {
        isize::try_from(self.page.saturating_sub(2).max(1)).unwrap_or(1)
    }

    fn scroll_by(&mut self, lines: isize) {
        if let Some(c) = self.current_mut() {
            c.scroll = c.scroll.saturating_add_signed(lines);
        }
    }

    fn scroll_to_bottom(&mut self) {
        if let Some(c) = self.current_mut() {
            c.scroll = 0;
        }
    }

    fn escape(&mut self) {
        let had_pending = self.pending_reply.is_some() || self.pending_cw.is_some();
        self.pending_reply = None;
        self.pending_cw = None;
        self.scroll_to_bottom();
        if had_pending {
            self.notice("Reply and content warning cancelled.", Tone::Info);
        }
    }

    fn remember(&mut self, line: String) {
        self.recall_at = None;
        if line.trim().is_empty() || self.recall.last() == Some(&line) {
            return;
        }
        self.recall.push(line);
        if self.recall.len() > MAX_RECALL {
            self.recall.remove(0);
        }
    }

    fn recall_older(&mut self) {
        if self.recall.is_empty() {
            return;
        }
        let at = match self.recall_at {
            None => {
                self.recall_draft = self.input.text().to_owned();
                self.recall.len() - 1
            }
            Some(at) => at.saturating_sub(1),
        };
        self.recall_at = Some(at);
        if let Some(line) = self.recall.get(at).cloned() {
            self.input.set(&line);
        }
    }

    fn recall_newer(&mut self) {
        let Some(at) = self.recall_at else {
            return;
        };
        if at + 1 >= self.recall.len() {
            self.recall_at = None;
            let draft = std::mem::take(&mut self.recall_draft);
            self.input.set(&draft);
        } else {
            self.recall_at = Some(at + 1);
            if let Some(line) = self.recall.get(at + 1).cloned() {
                self.input.set(&line);
            }
        }
    }

    /// Enter: send the line or run the command.
    pub fn submit(&mut self) -> Vec<Action> {
        let parsed = commands::parse(self.input.text());
        match parsed {
            Input::Empty => {
                self.input.take();
                self.scroll_to_bottom();
                Vec::new()
            }
            Input::Message(text) => {
                if text.len() > MAX_BODY_BYTES {
                    self.hint(format!(
                        "That's {} bytes; one post holds {MAX_BODY_BYTES}. Could you split it in two? It's still in the input line.",
                        text.len()
                    ));
                    return Vec::new();
                }
                let Some(channel) = self.current().map(|c| c.name.clone()) else {
                    self.hint(
                        "You're not in a channel yet: /join NAME first (your text is still here).",
                    );
                    return Vec::new();
                };
                let line = self.input.take();
                self.remember(line);
                self.send(channel, text, None)
            }
            Input::Hint(hint) => {
                let line = self.input.take();
                self.remember(line);
                self.hint(hint);
                Vec::new()
            }
            Input::Command(command) => {
                let line = self.input.take();
                self.remember(line);
                self.run(command)
            }
        }
    }

    /// Builds the publish action for `text` with the pending reply and
    /// warning (or `cw`).
    fn send(
        &mut self,
        channel: ChannelName,
        text: String,
        cw: Option<ContentWarning>,
    ) -> Vec<Action> {
        if self.stopped {
            self.input.set(&text);
            self.hint("The node has stopped, so this can't be sent. /quit closes the window.");
            return Vec::new();
        }
        let reply_to = match self.pending_reply.take() {
            Some((reply_channel, id)) if reply_channel == channel => Some(id),
            other => {
                self.pending_reply = other;
                None
            }
        };
        let content_warning = cw.or_else(|| self.pending_cw.take());
        self.scroll_to_bottom();
        vec![Action::Publish {
            channel,
            draft: Draft {
                text,
                reply_to,
                content_warning,
                nickname: self.nick.clone(),
            },
        }]
    }

    /// Finds the post a reference means: numbers count back in the channel
    /// shown; ids are looked for there first, then everywhere.
    fn resolve(&self, reference: &PostRef) -> Result<&PostItem, String> {
        match reference {
            PostRef::Number(n) => self
                .current()
                .and_then(|c| {
                    c.posts_newest_first()
                        .filter(|p| !p.own)
                        .nth(n.saturating_sub(1))
                })
                .ok_or_else(|| {
                    format!("There's no post #{n} here; 1 is the newest from someone else.")
                }),
            PostRef::Id(prefix) => {
                let mut found: HashMap<MessageId, &PostItem> = HashMap::new();
                let ordered = self.current().into_iter().chain(self.channels.iter());
                for channel in ordered {
                    for post in channel.posts_newest_first() {
                        if post.id.to_string().starts_with(prefix.as_str()) {
                            found.entry(post.id).or_insert(post);
                        }
                    }
                    if !found.is_empty() {
                        break;
                    }
                }
                match found.len() {
                    0 => Err(format!("I can't find a post {prefix} in this window.")),
                    1 => found
                        .into_values()
                        .next()
                        .ok_or_else(|| format!("I can't find a post {prefix}.")),
                    _ => Err(format!(
                        "More than one post starts with {prefix}; a few more digits will pick one."
                    )),
                }
            }
        }
    }

    /// A post id from a reference: a shown post, or a full 64-digit id.
    fn resolve_id(&self, reference: &PostRef) -> Result<MessageId, String> {
        match self.resolve(reference) {
            Ok(post) => Ok(post.id),
            Err(e) => match reference {
                PostRef::Id(hex) if hex.len() == 64 => hex.parse().map_err(|_| e),
                _ => Err(e),
            },
        }
    }

    fn current_name(&mut self) -> Option<ChannelName> {
        let name = self.current().map(|c| c.name.clone());
        if name.is_none() {
            self.hint("You're not in a channel yet: /join NAME first.");
        }
        name
    }

    fn run(&mut self, command: Command) -> Vec<Action> {
        match command {
            Command::Join(channel) => {
                if let Some(index) = self.channel_index(&channel) {
                    self.switch_to(index);
                    return Vec::new();
                }
                vec![Action::Join(channel)]
            }
            Command::Leave(channel) => {
                let channel = match channel {
                    Some(c) => c,
                    None => match self.current_name() {
                        Some(c) => c,
                        None => return Vec::new(),
                    },
                };
                if self.channel_index(&channel).is_none() {
                    self.hint(format!("You're not in #{channel}."));
                    return Vec::new();
                }
                vec![Action::Leave(channel)]
            }
            Command::Switch(SwitchTo::Number(n)) => {
                if n >= 1 && n <= self.channels.len() {
                    self.switch_to(n - 1);
                } else {
                    let count = self.channels.len();
                    self.hint(format!(
                        "There's no channel {n} in the list; it has {count}."
                    ));
                }
                Vec::new()
            }
            Command::Switch(SwitchTo::Name(channel)) => {
                match self.channel_index(&channel) {
                    Some(index) => self.switch_to(index),
                    None => self.hint(format!(
                        "You're not in #{channel} yet; /join {channel} joins it."
                    )),
                }
                Vec::new()
            }
            Command::Nick(change) => {
                match change {
                    NickChange::Show => {
                        let text = match &self.nick {
                            Some(nick) => format!(
                                "Your posts show the nickname “{nick}”. /nick NAME changes it, /nick - drops it."
                            ),
                            None => "You post without a nickname. /nick NAME adds one.".to_owned(),
                        };
                        self.notice(text, Tone::Info);
                    }
                    NickChange::Clear => {
                        self.nick = None;
                        self.notice("Your next posts show just your persona name.", Tone::Info);
                    }
                    NickChange::Set(nick) => {
                        self.notice(
                            format!("Your next posts show “{nick}” beside your persona name."),
                            Tone::Info,
                        );
                        self.nick = Some(nick);
                    }
                }
                Vec::new()
            }
            Command::NewMe => match self.current_name() {
                Some(channel) => vec![Action::RotatePersona(channel)],
                None => Vec::new(),
            },
            Command::Reply { target: None, .. } => {
                if self.pending_reply.take().is_some() {
                    self.notice("Reply cancelled.", Tone::Info);
                } else {
                    self.hint("/reply takes a post id, like /reply 3f2a9c1d, or 1 for the newest.");
                }
                Vec::new()
            }
            Command::Reply {
                target: Some(target),
                text,
            } => {
                let Some(channel) = self.current_name() else {
                    return Vec::new();
                };
                let (id, who) = match self.resolve(&target) {
                    Ok(post) => (post.id, post.author_name.clone()),
                    Err(e) => {
                        self.hint(e);
                        return Vec::new();
                    }
                };
                self.pending_reply = Some((channel.clone(), id));
                match text {
                    Some(text) => self.send(channel, text, None),
                    None => {
                        self.notice(
                            format!(
                                "Your next message answers {who} ({}). Esc cancels.",
                                id.short()
                            ),
                            Tone::Info,
                        );
                        Vec::new()
                    }
                }
            }
            Command::Cw(CwChange::Show) => {
                let text = match &self.pending_cw {
                    Some(w) => format!(
                        "Your next post is folded behind: {}. /cw off drops it.",
                        commands::describe_warning(w)
                    ),
                    None => "No content warning is set. /cw self-harm (or /help cw) sets one for your next post.".to_owned(),
                };
                self.notice(text, Tone::Info);
                Vec::new()
            }
            Command::Cw(CwChange::Clear) => {
                self.pending_cw = None;
                self.notice("No content warning on your next post.", Tone::Info);
                Vec::new()
            }
            Command::Cw(CwChange::Set { warning, text }) => match text {
                Some(text) => match self.current_name() {
                    Some(channel) => self.send(channel, text, Some(warning)),
                    None => Vec::new(),
                },
                None => {
                    self.notice(
                        format!(
                            "Your next post will be folded behind: {}. /cw off drops it.",
                            commands::describe_warning(&warning)
                        ),
                        Tone::Info,
                    );
                    self.pending_cw = Some(warning);
                    Vec::new()
                }
            },
            Command::Open(target) => {
                let id = match target {
                    Some(target) => match self.resolve(&target) {
                        Ok(post) if post.content_warning.is_some() => Ok(post.id),
                        Ok(post) => Err(format!(
                            "{} has no content warning; it's shown as it is.",
                            post.id.short()
                        )),
                        Err(e) => Err(e),
                    },
                    None => self
                        .current()
                        .and_then(|c| {
                            c.posts_newest_first()
                                .find(|p| {
                                    p.content_warning.is_some()
                                        && p.hidden_by.is_none()
                                        && !p.own
                                        && !c.opened.contains(&p.id)
                                })
                                .map(|p| p.id)
                        })
                        .ok_or_else(|| "Nothing here is folded behind a warning.".to_owned()),
                };
                match id {
                    Ok(id) => {
                        let Some(channel) = self.current_mut() else {
                            return Vec::new();
                        };
                        if !channel.opened.remove(&id) {
                            channel.opened.insert(id);
                        }
                    }
                    Err(e) => self.hint(e),
                }
                Vec::new()
            }
            Command::Block { who, reason } => {
                let found = match &who {
                    BlockWho::Post(target) => self
                        .resolve(target)
                        .map(|p| (p.author, p.author_name.clone(), p.own)),
                    BlockWho::Name(name) => self.find_author(name),
                };
                match found {
                    Ok((_, _, true)) => {
                        self.hint("That's you. /newme gives you a new, unlinked persona instead.");
                        Vec::new()
                    }
                    Ok((key, name, false)) => vec![Action::Block {
                        entry: BlockEntry::new(BlockTarget::Persona(key), reason),
                        what: name,
                    }],
                    Err(e) => {
                        self.hint(e);
                        Vec::new()
                    }
                }
            }
            Command::Hide { target, reason } => match self.resolve_id(&target) {
                Ok(id) => vec![Action::Block {
                    entry: BlockEntry::new(BlockTarget::Post(id), reason),
                    what: format!("Post {}", id.short()),
                }],
                Err(e) => {
                    self.hint(e);
                    Vec::new()
                }
            },
            Command::Why(target) => match self.resolve_id(&target) {
                Ok(id) => vec![Action::Why { id }],
                Err(e) => {
                    self.hint(e);
                    Vec::new()
                }
            },
            Command::History(limit) => match self.current_name() {
                Some(channel) => vec![Action::History {
                    channel,
                    limit,
                    announce: true,
                }],
                None => Vec::new(),
            },
            Command::Peers => vec![Action::Peers],
            Command::Help(topic) => {
                for line in commands::help(topic.as_deref()) {
                    self.notice(line, Tone::Help);
                }
                Vec::new()
            }
            Command::Quit => {
                self.quit = true;
                vec![Action::Quit]
            }
        }
    }

    /// The author shown under a persona name (or, if only one author
    /// uses it, a nickname): the channel shown first, then everywhere.
    fn find_author(&self, name: &str) -> Result<(PublicKey, String, bool), String> {
        let name = name.trim().trim_start_matches('@').to_lowercase();
        let channels = self.current().into_iter().chain(self.channels.iter());
        let mut by_nick: HashMap<PublicKey, (String, bool)> = HashMap::new();
        for channel in channels {
            for post in channel.posts_newest_first() {
                if post.author_name.to_lowercase() == name {
                    return Ok((post.author, post.author_name.clone(), post.own));
                }
                if post
                    .nickname
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase() == name)
                {
                    by_nick
                        .entry(post.author)
                        .or_insert((post.author_name.clone(), post.own));
                }
            }
        }
        let shown: String = name.chars().take(40).collect();
        match by_nick.len() {
            1 => by_nick
                .into_iter()
                .next()
                .map(|(key, (n, own))| (key, n, own))
                .ok_or_else(|| format!("I can't see anyone called {shown} here.")),
            0 => Err(format!(
                "I can't see anyone called {shown} here. Use the name before their post, or its id: /block 3f2a9c1d."
            )),
            _ => Err(format!(
                "Several people use the nickname {shown}; use the name before the post, or its id."
            )),
        }
    }
}

/// A peer id short enough to read: `12D3Ko…x9AbCd`.
pub fn short_peer(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 16 {
        return id.to_owned();
    }
    let head: String = chars.iter().take(6).collect();
    let tail: String = chars.iter().skip(chars.len() - 6).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_protocol::{CwLabel, ListId};

    const T0: u64 = 1_750_000_000_000;

    fn ch(name: &str) -> ChannelName {
        ChannelName::parse(name).unwrap()
    }

    fn key(n: u8) -> PublicKey {
        PublicKey([n; 32])
    }

    fn id(n: u8) -> MessageId {
        MessageId([n; 32])
    }

    fn record(n: u8, channel: &str, author: u8, body: &str) -> Record {
        Record {
            id: id(n),
            post: Post {
                channel: ch(channel),
                author: key(author),
                created_ms: T0 + u64::from(n) * 1000,
                expires_ms: None,
                reply_to: None,
                content_warning: None,
                nickname: None,
                body: body.to_owned(),
                persona_stamp: Default::default(),
                nonce: 0,
            },
            own: false,
            verdict: None,
        }
    }

    fn persona(n: u8) -> Persona {
        Persona {
            name: key(n).name(),
            key: key(n),
        }
    }

    fn app() -> App {
        let mut app = App::new(Zone::utc(), T0 + 100_000, None);
        app.add_channel(ch("anxiety"), Some(persona(100)), 2);
        app.add_channel(ch("grief"), Some(persona(101)), 0);
        app
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_line(app: &mut App, text: &str) -> Vec<Action> {
        for c in text.chars() {
            app.on_key(press(KeyCode::Char(c)));
        }
        app.on_key(press(KeyCode::Enter))
    }

    fn last_notice(app: &App) -> String {
        let items = app.current().map_or(&app.lobby, |c| &c.items);
        items
            .iter()
            .rev()
            .find_map(|i| match i {
                Item::Notice(n) => Some(n.text.clone()),
                Item::Post(_) => None,
            })
            .unwrap_or_default()
    }

    fn post(app: &mut App, r: Record) {
        app.on_event(NodeEvent::Post(Box::new(r)));
    }

    #[test]
    fn typing_and_enter_publish_in_the_channel_shown() {
        let mut app = app();
        let actions = type_line(&mut app, "hello, I'm new here");
        assert_eq!(
            actions,
            vec![Action::Publish {
                channel: ch("anxiety"),
                draft: Draft {
                    text: "hello, I'm new here".into(),
                    reply_to: None,
                    content_warning: None,
                    nickname: None,
                }
            }]
        );
        assert!(app.input.is_empty());
        assert!(type_line(&mut app, "   ").is_empty());
    }

    #[test]
    fn posts_arriving_never_touch_the_input_line() {
        let mut app = app();
        for c in "half a thou".chars() {
            app.on_key(press(KeyCode::Char(c)));
        }
        app.on_key(press(KeyCode::Left));
        for n in 1..50 {
            post(&mut app, record(n, "anxiety", 1, "noise"));
        }
        app.on_event(NodeEvent::Lagged(3));
        assert_eq!(app.input.text(), "half a thou");
        assert_eq!(app.input.cursor_chars(), 10);
    }

    #[test]
    fn unread_counts_grow_in_other_channels_and_clear_on_switch() {
        let mut app = app();
        post(&mut app, record(1, "grief", 1, "hi"));
        post(&mut app, record(2, "grief", 1, "anyone?"));
        post(&mut app, record(2, "grief", 1, "anyone?")); // duplicate
        let mut own = record(3, "grief", 100, "mine");
        own.own = true;
        post(&mut app, own);
        let mut hidden = record(4, "grief", 9, "spam");
        hidden.verdict = Some(Verdict {
            list: ListId::Local,
            entry: 0,
            target: BlockTarget::Persona(key(9)),
            reason: "spam".into(),
        });
        post(&mut app, hidden);
        post(&mut app, record(5, "anxiety", 1, "here"));
        post(&mut app, record(6, "elsewhere", 1, "not joined"));
        assert_eq!(app.channels[1].unread, 2);
        assert_eq!(app.channels[0].unread, 0);
        app.on_key(press(KeyCode::Tab));
        assert_eq!(app.active, 1);
        assert_eq!(app.channels[1].unread, 0);
        assert_eq!(app.channels[1].items.len(), 4);
        app.on_key(ctrl('p'));
        assert_eq!(app.active, 0);
        type_line(&mut app, "/switch 2");
        assert_eq!(app.active, 1);
        type_line(&mut app, "/switch anxiety");
        assert_eq!(app.active, 0);
        type_line(&mut app, "/switch 7");
        assert!(last_notice(&app).contains("no channel 7"));
        type_line(&mut app, "/switch nowhere");
        assert!(last_notice(&app).contains("/join nowhere"));
    }

    #[test]
    fn posts_are_kept_in_time_order_and_capped() {
        let mut app = app();
        post(&mut app, record(5, "anxiety", 1, "later"));
        post(&mut app, record(2, "anxiety", 1, "earlier"));
        let bodies: Vec<_> = app.channels[0]
            .posts_newest_first()
            .map(|p| p.body.clone())
            .collect();
        assert_eq!(bodies, vec!["later", "earlier"]);
        let c = &mut app.channels[0];
        for n in 0..(MAX_ITEMS as u64 + 10) {
            let mut r = record(0, "anxiety", 1, "x");
            r.id = MessageId([
                (n % 251) as u8,
                (n / 251) as u8,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
                1,
            ]);
            r.post.created_ms = T0 + 10_000 + n;
            c.insert_post(PostItem::from_record(r));
        }
        assert_eq!(c.items.len(), MAX_ITEMS);
        assert_eq!(c.ids.len(), MAX_ITEMS);
    }

    #[test]
    fn replies_by_number_and_id_one_step_and_two_step() {
        let mut app = app();
        post(&mut app, record(1, "anxiety", 1, "first"));
        post(&mut app, record(2, "anxiety", 2, "second"));
        let short = id(1).short();
        let actions = type_line(&mut app, &format!("/reply {short} I hear you"));
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(draft.reply_to, Some(id(1)));
        assert_eq!(draft.text, "I hear you");
        assert!(app.pending_reply.is_none());

        assert!(type_line(&mut app, "/reply 1").is_empty());
        assert!(last_notice(&app).contains("answers"));
        let actions = type_line(&mut app, "same here");
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!()
        };
        assert_eq!(draft.reply_to, Some(id(2)));
        let actions = type_line(&mut app, "and a plain one");
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!()
        };
        assert_eq!(draft.reply_to, None);

        // Numbers count back over other people's posts.
        let mut own = record(3, "anxiety", 100, "mine");
        own.own = true;
        post(&mut app, own);
        type_line(&mut app, "/reply 1");
        assert_eq!(app.pending_reply, Some((ch("anxiety"), id(2))));
        type_line(&mut app, "/reply 2");
        assert_eq!(app.pending_reply, Some((ch("anxiety"), id(1))));
        app.on_key(press(KeyCode::Esc));
        assert!(app.pending_reply.is_none());
        type_line(&mut app, "/reply 9");
        assert!(last_notice(&app).contains("no post #9"));
        type_line(&mut app, "/reply abcdef12 hi");
        assert!(last_notice(&app).contains("can't find"));
    }

    #[test]
    fn ambiguous_prefixes_ask_for_more_digits() {
        let mut app = app();
        let mut a = record(1, "anxiety", 1, "a");
        a.id = MessageId([0xab; 32]);
        let mut b = record(2, "anxiety", 1, "b");
        let mut bytes = [0xab; 32];
        bytes[3] = 0;
        b.id = MessageId(bytes);
        post(&mut app, a);
        post(&mut app, b);
        type_line(&mut app, "/why abab");
        assert!(last_notice(&app).contains("More than one"));
        assert_eq!(
            type_line(&mut app, "/why abababab"),
            vec![Action::Why {
                id: MessageId([0xab; 32])
            }]
        );
    }

    #[test]
    fn content_warnings_two_step_inline_and_folding() {
        let mut app = app();
        type_line(&mut app, "/cw self-harm");
        assert!(app.pending_cw.is_some());
        let actions = type_line(&mut app, "it was a hard night");
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!()
        };
        assert_eq!(
            draft.content_warning,
            Some(ContentWarning::new([CwLabel::SelfHarm], None))
        );
        assert!(app.pending_cw.is_none());

        let actions = type_line(&mut app, "/cw death -- he died");
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!()
        };
        assert_eq!(draft.text, "he died");
        assert!(draft.content_warning.is_some());

        let mut folded = record(7, "anxiety", 3, "heavy");
        folded.post.content_warning = Some(ContentWarning::new([CwLabel::Death], None));
        post(&mut app, folded);
        post(&mut app, record(8, "anxiety", 3, "light"));
        type_line(&mut app, "/open");
        assert!(app.channels[0].opened.contains(&id(7)));
        type_line(&mut app, "/open");
        assert!(last_notice(&app).contains("Nothing here is folded"));
        type_line(&mut app, &format!("/open {}", id(7).short()));
        assert!(!app.channels[0].opened.contains(&id(7)));
        type_line(&mut app, "/open 1");
        assert!(last_notice(&app).contains("no content warning"));
    }

    #[test]
    fn nick_applies_to_following_posts() {
        let mut app = app();
        type_line(&mut app, "/nick Sam");
        let actions = type_line(&mut app, "hi");
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!()
        };
        assert_eq!(draft.nickname.as_deref(), Some("Sam"));
        type_line(&mut app, "/nick -");
        let actions = type_line(&mut app, "hi");
        let Action::Publish { draft, .. } = &actions[0] else {
            panic!()
        };
        assert_eq!(draft.nickname, None);
    }

    #[test]
    fn block_by_name_nick_and_id_and_never_yourself() {
        let mut app = app();
        let mut r = record(1, "anxiety", 1, "mean words");
        r.post.nickname = Some("Troll".into());
        post(&mut app, r);
        let mut own = record(2, "anxiety", 100, "mine");
        own.own = true;
        post(&mut app, own);
        let name = key(1).name();
        let expected = vec![Action::Block {
            entry: BlockEntry::new(BlockTarget::Persona(key(1)), "cruel"),
            what: name.clone(),
        }];
        assert_eq!(
            type_line(&mut app, &format!("/block {name} cruel")),
            expected
        );
        assert_eq!(
            type_line(&mut app, &format!("/block {} cruel", name.to_uppercase())),
            expected
        );
        assert_eq!(type_line(&mut app, "/block troll cruel"), expected);
        assert_eq!(
            type_line(&mut app, &format!("/block {} cruel", id(1).short())),
            expected
        );
        assert!(type_line(&mut app, &format!("/block {}", key(100).name())).is_empty());
        assert!(last_notice(&app).contains("That's you"));
        assert!(type_line(&mut app, "/block nobody").is_empty());
        assert!(last_notice(&app).contains("can't see anyone"));

        app.on_outcome(Outcome::Blocked {
            entry: BlockEntry::new(BlockTarget::Persona(key(1)), "cruel"),
            what: name.clone(),
            new: true,
        });
        assert!(last_notice(&app).contains("won't see"));
        let hidden = app.channels[0]
            .posts_newest_first()
            .find(|p| p.id == id(1))
            .unwrap();
        assert_eq!(hidden.hidden_by.as_deref(), Some(OWN_LIST));
    }

    #[test]
    fn hide_and_why() {
        let mut app = app();
        post(&mut app, record(1, "anxiety", 1, "a"));
        assert_eq!(
            type_line(&mut app, "/hide 1 not for me"),
            vec![Action::Block {
                entry: BlockEntry::new(BlockTarget::Post(id(1)), "not for me"),
                what: format!("Post {}", id(1).short()),
            }]
        );
        let full = id(9).to_string();
        assert_eq!(
            type_line(&mut app, &format!("/why {full}")),
            vec![Action::Why { id: id(9) }]
        );
        assert!(type_line(&mut app, "/why 99999999").is_empty());

        let mut r = record(1, "anxiety", 1, "a");
        r.verdict = Some(Verdict {
            list: ListId::Moderator(key(50)),
            entry: 3,
            target: BlockTarget::Keyword("x".into()),
            reason: "slurs".into(),
        });
        app.on_outcome(Outcome::Why {
            id: id(1),
            record: Some(Box::new(r.clone())),
        });
        let text = last_notice(&app);
        assert!(text.contains("hidden by moderator"), "{text}");
        assert!(text.contains("keyword entry"), "{text}");
        assert!(text.contains("slurs"), "{text}");
        r.verdict = None;
        app.on_outcome(Outcome::Why {
            id: id(1),
            record: Some(Box::new(r)),
        });
        assert!(last_notice(&app).contains("isn't hidden"));
        app.on_outcome(Outcome::Why {
            id: id(1),
            record: None,
        });
        assert!(last_notice(&app).contains("no stored post"));
    }

    #[test]
    fn join_leave_newme_history_peers_quit() {
        let mut app = app();
        assert_eq!(type_line(&mut app, "/join grief"), Vec::<Action>::new());
        assert_eq!(app.active, 1);
        assert_eq!(
            type_line(&mut app, "/join recovery"),
            vec![Action::Join(ch("recovery"))]
        );
        let follow = app.on_outcome(Outcome::Joined {
            channel: ch("recovery"),
            persona: persona(102),
        });
        assert_eq!(app.current().unwrap().name, ch("recovery"));
        assert_eq!(
            follow,
            vec![Action::History {
                channel: ch("recovery"),
                limit: DEFAULT_HISTORY,
                announce: false
            }]
        );
        app.on_outcome(Outcome::History {
            channel: ch("recovery"),
            records: vec![
                record(1, "recovery", 1, "old"),
                record(2, "recovery", 2, "older"),
            ],
            announce: false,
        });
        assert_eq!(app.current().unwrap().posts_newest_first().count(), 2);
        assert_eq!(app.current().unwrap().unread, 0);

        assert_eq!(
            type_line(&mut app, "/history 5"),
            vec![Action::History {
                channel: ch("recovery"),
                limit: 5,
                announce: true
            }]
        );
        app.on_outcome(Outcome::History {
            channel: ch("recovery"),
            records: vec![record(1, "recovery", 1, "old")],
            announce: true,
        });
        assert!(last_notice(&app).contains("No earlier posts"));

        assert_eq!(
            type_line(&mut app, "/newme"),
            vec![Action::RotatePersona(ch("recovery"))]
        );
        app.on_outcome(Outcome::Rotated {
            channel: ch("recovery"),
            persona: persona(103),
        });
        assert_eq!(app.current().unwrap().persona, Some(persona(103)));

        assert_eq!(
            type_line(&mut app, "/leave"),
            vec![Action::Leave(ch("recovery"))]
        );
        app.on_outcome(Outcome::Left {
            channel: ch("recovery"),
        });
        assert_eq!(app.channels.len(), 2);
        assert!(app.active < 2);
        assert!(type_line(&mut app, "/leave nowhere").is_empty());

        assert_eq!(type_line(&mut app, "/peers"), vec![Action::Peers]);
        app.on_outcome(Outcome::Peers(vec![PeerSummary {
            id: "12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz".into(),
            channels: vec![ch("anxiety")],
        }]));
        assert!(last_notice(&app).contains("#anxiety"));
        assert!(last_notice(&app).contains("12D3Ko…UvWxYz"));

        assert_eq!(type_line(&mut app, "/quit"), vec![Action::Quit]);
        assert!(app.quit);
    }

    #[test]
    fn leaving_every_channel_leaves_a_usable_window() {
        let mut app = app();
        app.on_event(NodeEvent::Left {
            channel: ch("anxiety"),
        });
        app.on_event(NodeEvent::Left {
            channel: ch("grief"),
        });
        assert!(app.current().is_none());
        assert!(type_line(&mut app, "hello?").is_empty());
        assert!(last_notice(&app).contains("not in a channel"));
        assert_eq!(app.input.text(), "hello?");
        app.input.take();
        for line in [
            "/leave",
            "/newme",
            "/history",
            "/reply 1 x",
            "/cw x -- y",
            "/open",
            "/why 1",
        ] {
            assert!(type_line(&mut app, line).is_empty(), "{line}");
        }
        app.on_key(press(KeyCode::PageUp));
        app.on_key(press(KeyCode::Tab));
        app.on_event(NodeEvent::Joined {
            channel: ch("anxiety"),
            persona: persona(1),
        });
        assert!(app.current().is_some());
    }

    #[test]
    fn failed_publish_gives_the_text_back() {
        let mut app = app();
        type_line(&mut app, "/cw death");
        let actions = type_line(&mut app, "precious words");
        let Action::Publish { channel, draft } = actions[0].clone() else {
            panic!()
        };
        app.on_outcome(Outcome::PublishFailed {
            channel,
            draft,
            error: "not in channel anxiety; join it first".into(),
        });
        assert_eq!(app.input.text(), "precious words");
        assert!(app.pending_cw.is_some());
        assert!(last_notice(&app).contains("nothing is lost"));
    }

    #[test]
    fn own_posts_wait_for_peers_until_sent() {
        let mut app = app();
        let mut own = record(1, "anxiety", 100, "mine");
        own.own = true;
        app.on_outcome(Outcome::Published {
            channel: ch("anxiety"),
            id: id(1),
            peers: 0,
        });
        post(&mut app, own);
        assert!(app.channels[0].posts_newest_first().next().unwrap().waiting);
        app.on_event(NodeEvent::Sent {
            id: id(1),
            peers: 2,
        });
        assert!(!app.channels[0].posts_newest_first().next().unwrap().waiting);
    }

    #[test]
    fn peers_and_stopping() {
        let mut app = app();
        app.on_event(NodeEvent::PeerConnected("a".into()));
        app.on_event(NodeEvent::PeerConnected("a".into()));
        app.on_event(NodeEvent::PeerConnected("b".into()));
        app.on_event(NodeEvent::PeerDisconnected("a".into()));
        assert_eq!(app.peers.len(), 1);
        app.on_event(NodeEvent::ChannelPeers {
            channel: ch("grief"),
            peers: 4,
        });
        assert_eq!(app.channels[1].peers, 4);
        app.on_event(NodeEvent::Stopped);
        app.on_event(NodeEvent::Stopped);
        assert!(app.stopped);
        assert!(type_line(&mut app, "hello").is_empty());
        assert_eq!(app.input.text(), "hello");
    }

    #[test]
    fn editing_keys_work_on_unicode() {
        let mut app = app();
        for c in "héllo wörld 🙂".chars() {
            app.on_key(press(KeyCode::Char(c)));
        }
        app.on_key(press(KeyCode::Backspace));
        assert_eq!(app.input.text(), "héllo wörld ");
        app.on_key(ctrl('w'));
        assert_eq!(app.input.text(), "héllo ");
        app.on_key(press(KeyCode::Home));
        app.on_key(press(KeyCode::Right));
        app.on_key(press(KeyCode::Delete));
        assert_eq!(app.input.text(), "hllo ");
        app.on_key(press(KeyCode::End));
        app.on_key(press(KeyCode::Left));
        app.on_key(ctrl('k'));
        assert_eq!(app.input.text(), "hllo");
        app.on_key(ctrl('u'));
        assert!(app.input.is_empty());
        for _ in 0..5 {
            app.on_key(press(KeyCode::Backspace));
            app.on_key(press(KeyCode::Delete));
            app.on_key(press(KeyCode::Left));
            app.on_key(press(KeyCode::Right));
            app.on_key(ctrl('w'));
            app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
        }
        app.input.set("one two  three");
        app.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(app.input.cursor_chars(), 9);
        app.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(app.input.cursor_chars(), 4);
        app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
        assert_eq!(app.input.cursor_chars(), 7);
    }

    #[test]
    fn pastes_are_cleaned_capped_and_never_sent_alone() {
        let mut app = app();
        app.on_paste("line one\r\nline\ttwo\u{1b}[31m\u{202E}\n");
        assert_eq!(app.input.text(), "line one\nline    two[31m\n");
        assert!(app.input.text().len() <= MAX_INPUT_BYTES);
        app.on_paste(&"ü".repeat(10_000));
        assert!(app.input.text().len() <= MAX_INPUT_BYTES);
        assert!(last_notice(&app).contains("more than one post"));
        let actions = app.on_key(press(KeyCode::Enter));
        assert!(actions.is_empty());
        assert!(last_notice(&app).contains("split"));
        assert!(!app.input.is_empty());
    }

    #[test]
    fn up_and_down_recall_sent_lines() {
        let mut app = app();
        type_line(&mut app, "first");
        type_line(&mut app, "second");
        for c in "draft".chars() {
            app.on_key(press(KeyCode::Char(c)));
        }
        app.on_key(press(KeyCode::Up));
        assert_eq!(app.input.text(), "second");
        app.on_key(press(KeyCode::Up));
        app.on_key(press(KeyCode::Up));
        assert_eq!(app.input.text(), "first");
        app.on_key(press(KeyCode::Down));
        assert_eq!(app.input.text(), "second");
        app.on_key(press(KeyCode::Down));
        assert_eq!(app.input.text(), "draft");
    }

    #[test]
    fn mistyped_commands_hint_and_can_be_recalled() {
        let mut app = app();
        assert!(type_line(&mut app, "/jion grief").is_empty());
        assert!(last_notice(&app).contains("did you mean /join?"));
        assert!(app.input.is_empty());
        app.on_key(press(KeyCode::Up));
        assert_eq!(app.input.text(), "/jion grief");
    }

    #[test]
    fn ctrl_c_clears_then_quits_and_scrolling_is_bounded_below() {
        let mut app = app();
        app.on_key(press(KeyCode::Char('x')));
        assert!(app.on_key(ctrl('c')).is_empty());
        assert!(app.input.is_empty());
        app.on_key(press(KeyCode::PageDown));
        assert_eq!(app.channels[0].scroll, 0);
        app.on_key(press(KeyCode::PageUp));
        assert!(app.channels[0].scroll > 0);
        app.on_key(press(KeyCode::Esc));
        assert_eq!(app.channels[0].scroll, 0);
        assert_eq!(app.on_key(ctrl('c')), vec![Action::Quit]);
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..press(KeyCode::Char('z'))
        };
        app.on_key(release);
        assert!(app.input.is_empty());
    }

    #[test]
    fn help_fills_the_view() {
        let mut app = app();
        type_line(&mut app, "/help");
        let helps = app.channels[0]
            .items
            .iter()
            .filter(|i| matches!(i, Item::Notice(n) if n.tone == Tone::Help))
            .count();
        assert!(helps >= commands::HELP.len());
    }
}
