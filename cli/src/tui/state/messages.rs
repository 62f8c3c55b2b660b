//! What passes between the window and the loop around it: the node's
//! events and posts coming in, the [`Action`]s going out, and the
//! [`Outcome`]s that answer them.

use hearth_protocol::{
    BlockEntry, ChannelName, ContentWarning, MessageId, Post, PublicKey, Verdict,
};

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
    /// It came by history sync: an older post the node missed, arriving
    /// now.
    pub synced: bool,
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
    /// Look up a channel's card and when its moderators were last heard
    /// from; answer with [`Outcome::Card`].
    Card(ChannelName),
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
    /// Report a post to the moderators followed for the channel; answer
    /// with [`Outcome::Reported`].
    Report {
        /// The channel.
        channel: ChannelName,
        /// The reported post.
        post: MessageId,
        /// Why.
        reason: String,
    },
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
    /// A channel's card, as the node holds it.
    Card {
        /// The channel.
        channel: ChannelName,
        /// The card, if the node holds one.
        card: Option<Box<super::CardView>>,
        /// When a declared moderator was last heard from.
        last_heard_ms: Option<u64>,
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
    /// A report was sealed and sent.
    Reported {
        /// The reported post.
        post: MessageId,
        /// How many moderators it was sealed to.
        moderators: usize,
        /// Peers it went to now (0: nobody else was in the channel).
        peers: usize,
    },
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
    /// Own posts of a channel wait for the rate limit (0: none any more).
    Paced {
        /// The channel.
        channel: ChannelName,
        /// How many wait.
        queued: usize,
    },
    /// Own posts written before this start wait for peers of a channel.
    Backlog {
        /// The channel.
        channel: ChannelName,
        /// How many.
        posts: usize,
    },
    /// Own posts written before this start went out.
    BacklogSent {
        /// The channel.
        channel: ChannelName,
        /// How many.
        posts: usize,
    },
    /// The persona of a channel is being stamped (a few seconds, once).
    PersonaStamping {
        /// The channel.
        channel: ChannelName,
    },
    /// The persona of a channel has its stamp.
    PersonaReady {
        /// The channel.
        channel: ChannelName,
        /// How long it took.
        elapsed: std::time::Duration,
    },
    /// A report sealed to this user's moderator key arrived.
    Report {
        /// Its channel.
        channel: ChannelName,
        /// The reported post.
        post: MessageId,
        /// Why.
        reason: String,
        /// The reporting persona's name.
        reporter: String,
    },
    /// Events were missed.
    Lagged(u64),
    /// The node stopped.
    Stopped,
    /// A channel's card arrived (or was held when the channel was joined).
    ChannelCard(Box<super::CardView>),
    /// A declared moderator of a channel was heard from.
    ModeratorPresence {
        /// The channel.
        channel: ChannelName,
        /// When, ms since the Unix epoch.
        at_ms: u64,
    },
    /// An update of the crisis lines from a trusted key waits for the
    /// person to review it.
    CrisisUpdateWaiting {
        /// The publisher key's name.
        publisher: String,
        /// The update's short id.
        id: String,
    },
}
