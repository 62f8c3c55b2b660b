//! One joined channel's scrollback: posts and notices in time order,
//! capped, with what the person opened and what is unread.
//!
//! Posts that history sync delivers are older than what is shown, as a
//! rule: they go into their place in time order, and when they land above
//! something already shown, a divider ("earlier messages") goes under the
//! newest of them, so the person sees that history arrived above. Where
//! the view stands while scrolled back is kept by the view (an anchor post
//! and the lines below it), so posts inserted anywhere never move what the
//! person is reading.

use std::collections::HashSet;

use hearth_protocol::{ChannelName, ContentWarning, MessageId, PublicKey};

use super::messages::{Persona, Record};

/// Most lines kept per channel; older ones drop off the top (they stay in
/// the store, and `/history` brings them back).
pub const MAX_ITEMS: usize = 2000;

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
    /// Folded because it may describe ways of self-harm.
    pub method_fold: bool,
}

impl PostItem {
    pub(super) fn from_record(record: Record) -> Self {
        let Record {
            id,
            post,
            own,
            verdict,
            synced: _,
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
            method_fold: false,
        }
    }

    /// Whether it is shown folded until opened: behind its content warning,
    /// or because it may describe ways of self-harm.
    pub fn folds(&self) -> bool {
        // A bot's post carries the automated label, which warns of nothing.
        self.content_warning
            .as_ref()
            .is_some_and(ContentWarning::warns)
            || self.method_fold
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

/// Where a synced post went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// At the bottom: nothing shown is newer.
    Newest,
    /// Above posts already shown: earlier history.
    Earlier,
    /// It was there already.
    Already,
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
    /// Items were inserted or dropped since the last drawing.
    pub changed: bool,
    /// The width of the last drawing.
    pub rendered_width: u16,
    /// While scrolled back: the post at the bottom of the view at the
    /// last drawing and the screen lines below it then. The view keeps
    /// that post where it was when lines come or go below it.
    pub anchor: Option<(MessageId, usize)>,
    /// The newest post that history sync placed above posts already shown;
    /// the "earlier messages" divider is drawn under it.
    pub earlier: Option<MessageId>,
    /// Posts whose content warning the user opened.
    pub opened: HashSet<MessageId>,
    /// The ids of the posts in `items`.
    pub(super) ids: HashSet<MessageId>,
    /// Own posts waiting to go out at the channel's pace (the status line
    /// says so).
    pub paced: usize,
    /// The channel's card and when its moderators were last heard from.
    pub moderation: super::channel_card::Moderation,
}

impl ChannelView {
    pub(super) fn new(name: ChannelName, persona: Option<Persona>, peers: usize) -> Self {
        Self {
            name,
            persona,
            peers,
            items: Vec::new(),
            unread: 0,
            scroll: 0,
            appended: 0,
            changed: false,
            rendered_width: 0,
            anchor: None,
            earlier: None,
            opened: HashSet::new(),
            ids: HashSet::new(),
            paced: 0,
            moderation: super::channel_card::Moderation::default(),
        }
    }

    /// The posts, newest first.
    pub fn posts_newest_first(&self) -> impl Iterator<Item = &PostItem> {
        self.items.iter().rev().filter_map(|i| match i {
            Item::Post(p) => Some(p.as_ref()),
            Item::Notice(_) => None,
        })
    }

    pub(super) fn post_mut(&mut self, id: &MessageId) -> Option<&mut PostItem> {
        self.items.iter_mut().find_map(|i| match i {
            Item::Post(p) if p.id == *id => Some(p.as_mut()),
            _ => None,
        })
    }

    /// Inserts a post in time order; false if it was already there.
    pub(super) fn insert_post(&mut self, post: PostItem) -> bool {
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

    /// Inserts a post that history sync delivered, in time order. One
    /// that lands above something already shown is earlier history: the
    /// divider moves under it if it is the newest such post.
    pub(super) fn insert_synced(&mut self, post: PostItem) -> Placed {
        let at = post.created_ms;
        let id = post.id;
        let above = self.items.partition_point(|i| i.at_ms() <= at) < self.items.len();
        if !self.insert_post(post) {
            return Placed::Already;
        }
        if !above {
            return Placed::Newest;
        }
        let newer_than_divider = match self.earlier.and_then(|d| self.created_ms_of(&d)) {
            Some(divider_at) => at >= divider_at,
            None => true,
        };
        if newer_than_divider {
            self.earlier = Some(id);
        }
        Placed::Earlier
    }

    fn created_ms_of(&self, id: &MessageId) -> Option<u64> {
        self.items.iter().find_map(|i| match i {
            Item::Post(p) if p.id == *id => Some(p.created_ms),
            _ => None,
        })
    }

    fn insert(&mut self, item: Item) {
        let at = item.at_ms();
        let index = self.items.partition_point(|i| i.at_ms() <= at);
        if index == self.items.len() {
            self.appended += 1;
        }
        self.changed = true;
        self.items.insert(index, item);
        self.trim();
    }

    /// Drops the oldest lines beyond [`MAX_ITEMS`].
    pub(super) fn trim(&mut self) {
        if self.items.len() > MAX_ITEMS {
            self.changed = true;
            let excess = self.items.len() - MAX_ITEMS;
            for gone in self.items.drain(..excess) {
                if let Item::Post(p) = gone {
                    self.ids.remove(&p.id);
                    self.opened.remove(&p.id);
                    if self.earlier == Some(p.id) {
                        self.earlier = None;
                    }
                }
            }
        }
    }
}
