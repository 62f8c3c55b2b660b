//! The newline-delimited JSON that `--json` prints: one object per line,
//! each with a `"type"` tag. This schema is documented in `docs/cli.md` and
//! is stable: fields are never renamed or removed, and consumers must
//! ignore types and fields they do not know, because new ones may be added.
//!
//! Keys, ids and peer ids are strings (64 lowercase hex digits for keys and
//! post ids, base58 for peer ids); times are integers, ms since the Unix
//! epoch.

use hearth_node::{Event, Origin, PeerInfo, PersonaInfo, PostRecord, Status};
use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, ContentWarning, CwLabel, ListId, MessageId, PublicKey,
    Scope, Verdict,
};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::{Deserialize, Serialize};

/// One line of `--json` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum JsonEvent {
    /// The node listens on an address. Printed once per address.
    Listening {
        /// The full address, ending in `/p2p/<peer id>`.
        address: String,
        /// This node's peer id.
        peer_id: String,
    },
    /// The node joined a channel.
    Joined {
        /// The channel.
        channel: String,
        /// The persona's public key.
        persona_key: String,
        /// The persona's name.
        persona_name: String,
    },
    /// The node left a channel.
    Left {
        /// The channel.
        channel: String,
    },
    /// A post to show (received, or written here).
    Post(PostJson),
    /// A post the user's blocklists hide; its text is not shown.
    Hidden(HiddenJson),
    /// An own post went out to peers.
    Sent {
        /// The post's id.
        id: String,
        /// Its channel.
        channel: String,
        /// How many peers it was sent to.
        peers: usize,
    },
    /// A peer connected, disconnected or was banned.
    Peer {
        /// `connected`, `disconnected` or `banned`.
        state: String,
        /// Its peer id.
        peer_id: String,
        /// The remote address (`connected` only).
        #[serde(default)]
        address: Option<String>,
        /// Its gossip score (`banned` only).
        #[serde(default)]
        score: Option<f64>,
    },
    /// The number of peers in a channel changed.
    ChannelPeers {
        /// The channel.
        channel: String,
        /// Peers subscribed to it now.
        peers: usize,
    },
    /// Received bytes were refused (invalid, forged, rate-limited…).
    /// Aggregated per peer, channel and reason: the first of a kind at
    /// once, then one line every 5 s with how many there were meanwhile.
    Refused {
        /// The channel it arrived on, if any.
        #[serde(default)]
        channel: Option<String>,
        /// Why.
        reason: String,
        /// How many messages this line stands for (1 for the first of a
        /// kind; lines without it, from older versions, mean 1).
        #[serde(default = "one")]
        count: u64,
    },
    /// Own posts wait so that the channel's per-persona rate limit is not
    /// exceeded: they are stored and shown already and go out as it
    /// allows. `queued` 0: none wait any more.
    Paced {
        /// The channel.
        channel: String,
        /// Own posts of the channel waiting to be sent.
        queued: usize,
        /// When the next one goes, in ms from now (0 when none wait).
        next_in_ms: u64,
    },
    /// Own posts written before this start, kept in the store because they
    /// had reached nobody, wait for peers of a joined channel again; they
    /// go out when someone is there (`backlog_sent`).
    Backlog {
        /// The channel.
        channel: String,
        /// How many posts wait.
        posts: usize,
    },
    /// The channel's persona needs its stamp, a one-time proof of work of
    /// a few seconds; posts written meanwhile wait for it.
    PersonaStamping {
        /// The channel.
        channel: String,
        /// The level searched for (leading zero bits).
        bits: u8,
    },
    /// The channel's persona has its stamp; waiting posts go out.
    PersonaReady {
        /// The channel.
        channel: String,
        /// How long the search took, in ms.
        ms: u64,
    },
    /// Own posts written before this start went out to peers now (each
    /// also has its `sent` line).
    BacklogSent {
        /// The channel.
        channel: String,
        /// How many posts went out.
        posts: usize,
        /// Peers they went to.
        peers: usize,
    },
    /// The node has stopped and its store is flushed: the last line `chat`
    /// and `run` print. Every post handed to the node is stored.
    Stopped {
        /// Own posts that reached nobody yet: they wait in the store and go
        /// out after the next start, when peers of their channel appear.
        pending_posts: usize,
    },
    /// Standard input is no longer read (`chat` without a terminal): at its
    /// end, on SIGINT, SIGTERM or SIGHUP, or after a read error. Each of the
    /// `lines` lines read is posted or reported before hearth exits.
    InputEnd {
        /// How many lines were read, blank and skipped ones included.
        lines: u64,
        /// `end`, `signal` or `error`.
        reason: String,
    },
    /// A report sealed to this node's moderator key (only moderators
    /// ever print this).
    Report(ReportJson),
    /// Something went wrong that did not stop the node (a line that could
    /// not be posted, missed events).
    Error {
        /// What went wrong.
        message: String,
    },
    /// A channel's card arrived or changed (see `docs/safety.md`).
    ChannelCard(CardJson),
    /// A declared moderator of a channel sent a presence heartbeat.
    ModeratorPresence {
        /// The channel.
        channel: String,
        /// The moderator's key.
        moderator_key: String,
        /// The moderator key's name.
        moderator_name: String,
        /// When it was heard, ms since the Unix epoch.
        at_ms: u64,
    },
    /// An update of the crisis lines from a trusted key waits for review
    /// (`hearth crisis updates`); nothing is applied.
    CrisisUpdate {
        /// Its id.
        id: String,
        /// The publisher's key.
        publisher_key: String,
        /// The publisher key's name.
        publisher_name: String,
        /// The publisher's sequence number.
        sequence: u64,
        /// What the publisher says changed.
        note: String,
    },
}

/// A channel card, as `channel_card` lines and `moderator card --json`
/// print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CardJson {
    /// The channel.
    pub channel: String,
    /// The founding moderator key that signed it.
    pub founder_key: String,
    /// That key's name.
    pub founder_name: String,
    /// Why it is trusted: `followed` (a moderator you follow for the
    /// channel), `first-seen` (the first card seen for the channel) or
    /// `own` (your own moderator key).
    pub trust: String,
    /// `adult` or `teen`.
    pub age: String,
    /// How many days the channel asks posts to be kept.
    pub retention_days: u32,
    /// The other moderators' keys.
    pub moderators: Vec<String>,
    /// The rules (may be empty).
    pub rules: String,
    /// When it was signed, ms since the Unix epoch.
    pub created_ms: u64,
}

/// A post, as `post` events and `history --json` print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PostJson {
    /// The post's id.
    pub id: String,
    /// Its channel.
    pub channel: String,
    /// The author persona's public key.
    pub author_key: String,
    /// The author persona's name, derived from the key.
    pub author_name: String,
    /// The author key's visual fingerprint, glyph then colour name
    /// (`"◆ teal"`; `docs/protocol.md` section 11): two personas with the
    /// same name still differ here.
    #[serde(default)]
    pub author_fingerprint: String,
    /// The nickname the author chose, if any.
    pub nickname: Option<String>,
    /// The text.
    pub text: String,
    /// When it was written (author's clock).
    pub time_ms: u64,
    /// When this node stored it.
    pub received_ms: u64,
    /// When it expires, if it does.
    pub expires_ms: Option<u64>,
    /// The content warning to show before the text, if any.
    pub content_warning: Option<ContentWarningJson>,
    /// The id of the post this answers, if any.
    pub reply_to: Option<String>,
    /// Whether this node's user wrote it.
    pub own: bool,
    /// How it reached this node, in events: `live` (gossip as it was said,
    /// or written here) or `sync` (history sync: an older post this node
    /// missed while away or before it joined). Absent from `history`
    /// lines: the store does not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Written by software that posts automatically (its content warning
    /// carries the `automated` label); such a post is not folded for it.
    #[serde(default)]
    pub bot: bool,
}

/// A content warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContentWarningJson {
    /// Labels such as `self-harm`; a label from a newer vocabulary is
    /// `unknown-<code>`.
    pub labels: Vec<String>,
    /// Free text, if any.
    pub text: Option<String>,
}

/// A post hidden by the user's blocklists: who wrote it and why it is
/// hidden, never its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HiddenJson {
    /// The post's id.
    pub id: String,
    /// Its channel.
    pub channel: String,
    /// The author persona's public key.
    pub author_key: String,
    /// The author persona's name.
    pub author_name: String,
    /// When it was written.
    pub time_ms: u64,
    /// Which list hid it: `local` (your own) or `moderator`.
    pub list: String,
    /// The moderator's key when `list` is `moderator`.
    pub moderator: Option<String>,
    /// What the matching entry blocks: `persona`, `post`, `keyword`,
    /// `regex` or `channel`.
    pub rule: String,
    /// The entry's reason (may be empty).
    pub reason: String,
}

/// A persona.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PersonaJson {
    /// The channel it speaks in.
    pub channel: String,
    /// Its public key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_ms: u64,
}

/// A report opened with this node's moderator key, as `report` events and
/// `hearth moderator reports --json` print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportJson {
    /// The report's id.
    pub id: String,
    /// The channel of the reported post.
    pub channel: String,
    /// The reported post's id.
    pub post: String,
    /// Why, in the reporter's words.
    pub reason: String,
    /// The reporting persona's key.
    pub reporter_key: String,
    /// The reporting persona's name.
    pub reporter_name: String,
    /// When the reporter wrote it (ms since the Unix epoch).
    pub created_ms: u64,
    /// When this node received it.
    pub received_ms: u64,
}

/// A moderator identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModeratorJson {
    /// Its public key: what people follow.
    pub key: String,
    /// Its name.
    pub name: String,
}

/// A followed moderator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FollowJson {
    /// The moderator's key.
    pub key: String,
    /// The moderator's name.
    pub name: String,
    /// The channel they are followed in; every channel if absent.
    pub channel: Option<String>,
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PeerJson {
    /// Its peer id.
    pub peer_id: String,
    /// The addresses it is connected on.
    pub addresses: Vec<String>,
    /// Channels it shares with this node.
    pub channels: Vec<String>,
    /// Its gossip score, if scored.
    pub score: Option<f64>,
}

/// A joined channel in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChannelJson {
    /// The channel.
    pub channel: String,
    /// Peers subscribed to it.
    pub peers: usize,
    /// This node's persona in it.
    pub persona: PersonaJson,
    /// Bytes its stored posts take (at most the channel byte budget).
    #[serde(default)]
    pub stored_bytes: u64,
}

/// The node's state, as `status --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatusJson {
    /// Whether a node is running on the data directory. When false the
    /// store was opened directly and the network fields are empty.
    pub running: bool,
    /// The data directory.
    pub data_dir: String,
    /// The node's peer id (when running).
    pub peer_id: Option<String>,
    /// The network.
    pub network: String,
    /// Full listen addresses.
    pub listen_addrs: Vec<String>,
    /// Joined channels.
    pub channels: Vec<ChannelJson>,
    /// Connected peers.
    pub connected_peers: usize,
    /// Posts in the store.
    pub stored_posts: usize,
    /// Own posts waiting for a peer.
    pub pending_posts: usize,
    /// Entries in the user's own blocklist.
    pub blocklist_entries: usize,
    /// Followed moderators.
    pub followed_moderators: usize,
}

/// One blocklist entry, as `block list --json` and `block export` write
/// it and `block import` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockEntryJson {
    /// `persona`, `post`, `keyword`, `regex` or `channel`.
    pub kind: String,
    /// The key, post id, keyword, regular expression or channel.
    pub value: String,
    /// The channel it is limited to, or null for every channel.
    #[serde(default)]
    pub scope: Option<String>,
    /// Why (may be empty).
    #[serde(default)]
    pub reason: String,
}

/// The file `block export` writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlocklistFile {
    /// Always `hearth-blocklist`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The entries.
    pub entries: Vec<BlockEntryJson>,
}

impl BlocklistFile {
    /// The format name.
    pub(crate) const FORMAT: &'static str = "hearth-blocklist";

    /// A file holding `entries`.
    pub(crate) fn new(entries: Vec<BlockEntryJson>) -> Self {
        Self {
            format: Self::FORMAT.to_owned(),
            version: 1,
            entries,
        }
    }
}

/// The JSON line for a node event, or `None` for events `--json` does not
/// print.
/// The count of a `refused` line that does not say.
fn one() -> u64 {
    1
}

pub(crate) fn from_event(event: &Event) -> Option<JsonEvent> {
    Some(match event {
        Event::Listening { address } => listening(address),
        Event::Joined { channel, persona } => joined(channel, persona),
        Event::Left { channel } => JsonEvent::Left {
            channel: channel.to_string(),
        },
        Event::Post(record) => from_record(record),
        Event::Sent { id, channel, peers } => JsonEvent::Sent {
            id: id.to_string(),
            channel: channel.to_string(),
            peers: *peers,
        },
        Event::PeerConnected { peer, address } => JsonEvent::Peer {
            state: "connected".to_owned(),
            peer_id: peer.to_string(),
            address: Some(address.to_string()),
            score: None,
        },
        Event::PeerDisconnected { peer } => JsonEvent::Peer {
            state: "disconnected".to_owned(),
            peer_id: peer.to_string(),
            address: None,
            score: None,
        },
        Event::PeerBanned { peer, score } => JsonEvent::Peer {
            state: "banned".to_owned(),
            peer_id: peer.to_string(),
            address: None,
            score: Some(*score),
        },
        Event::ChannelPeers { channel, peers } => JsonEvent::ChannelPeers {
            channel: channel.to_string(),
            peers: *peers,
        },
        Event::Refused {
            channel,
            reason,
            count,
        } => JsonEvent::Refused {
            channel: channel.as_ref().map(ToString::to_string),
            reason: reason.clone(),
            count: *count,
        },
        Event::Paced {
            channel,
            queued,
            next_in_ms,
        } => JsonEvent::Paced {
            channel: channel.to_string(),
            queued: *queued,
            next_in_ms: *next_in_ms,
        },
        Event::Backlog { channel, posts } => JsonEvent::Backlog {
            channel: channel.to_string(),
            posts: *posts,
        },
        Event::PersonaStamping { channel, bits } => JsonEvent::PersonaStamping {
            channel: channel.to_string(),
            bits: *bits,
        },
        Event::PersonaReady { channel, elapsed } => JsonEvent::PersonaReady {
            channel: channel.to_string(),
            ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        },
        Event::BacklogSent {
            channel,
            posts,
            peers,
        } => JsonEvent::BacklogSent {
            channel: channel.to_string(),
            posts: *posts,
            peers: *peers,
        },
        Event::ShutDown { pending_posts } => JsonEvent::Stopped {
            pending_posts: *pending_posts,
        },
        Event::Lagged { missed } => JsonEvent::Error {
            message: format!("output fell behind and missed {missed} events"),
        },
        Event::Report(r) => JsonEvent::Report(report(r)),
        Event::ChannelCard(info) => JsonEvent::ChannelCard(card(info)),
        Event::ModeratorPresence {
            channel,
            moderator,
            at_ms,
        } => JsonEvent::ModeratorPresence {
            channel: channel.to_string(),
            moderator_key: moderator.to_string(),
            moderator_name: moderator.name(),
            at_ms: *at_ms,
        },
        Event::CrisisUpdate(info) => JsonEvent::CrisisUpdate {
            id: info.id.to_string(),
            publisher_key: info.update.publisher.to_string(),
            publisher_name: info.update.publisher.name(),
            sequence: info.update.sequence,
            note: info.update.note.clone(),
        },
        _ => return None,
    })
}

/// The JSON form of a kept report.
pub(crate) fn report(record: &hearth_node::ReportRecord) -> ReportJson {
    ReportJson {
        id: record.id.to_string(),
        channel: record.channel.to_string(),
        post: record.post.to_string(),
        reason: record.reason.clone(),
        reporter_key: record.reporter.to_string(),
        reporter_name: record.reporter.name(),
        created_ms: record.created_ms,
        received_ms: record.received_ms,
    }
}

/// A `listening` line for a full address.
pub(crate) fn listening(address: &Multiaddr) -> JsonEvent {
    let peer_id = address
        .iter()
        .find_map(|p| match p {
            Protocol::P2p(peer) => Some(peer.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    JsonEvent::Listening {
        address: address.to_string(),
        peer_id,
    }
}

/// A `joined` line.
pub(crate) fn joined(channel: &ChannelName, persona: &PersonaInfo) -> JsonEvent {
    JsonEvent::Joined {
        channel: channel.to_string(),
        persona_key: persona.key.to_string(),
        persona_name: persona.name.clone(),
    }
}

/// A `post` line, or a `hidden` line when the user's policy hides it.
pub(crate) fn from_record(record: &PostRecord) -> JsonEvent {
    match &record.verdict {
        Some(verdict) => JsonEvent::Hidden(hidden(record, verdict)),
        None => JsonEvent::Post(post(record)),
    }
}

/// The JSON form of a shown post.
pub(crate) fn post(record: &PostRecord) -> PostJson {
    let p = &record.post;
    PostJson {
        id: record.id.to_string(),
        channel: p.channel.to_string(),
        author_key: p.author.to_string(),
        author_name: p.author.name(),
        author_fingerprint: fingerprint_text(&p.author),
        nickname: p.nickname.clone(),
        text: p.body.clone(),
        time_ms: p.created_ms,
        received_ms: record.received_ms,
        expires_ms: p.expires_ms,
        content_warning: p.content_warning.as_ref().map(content_warning),
        reply_to: p.reply_to.as_ref().map(MessageId::to_string),
        own: record.own,
        origin: origin(record.origin),
        bot: p
            .content_warning
            .as_ref()
            .is_some_and(ContentWarning::is_automated),
    }
}

/// A key's fingerprint as JSON carries it: glyph, space, colour name.
pub(crate) fn fingerprint_text(key: &hearth_protocol::PublicKey) -> String {
    let print = hearth_protocol::fingerprint(&key.0);
    format!("{} {}", print.glyph, print.palette().name)
}

/// The `origin` field: known for events, not for stored posts.
fn origin(origin: Origin) -> Option<String> {
    match origin {
        Origin::Live => Some("live".to_owned()),
        Origin::Sync => Some("sync".to_owned()),
        _ => None,
    }
}

fn hidden(record: &PostRecord, verdict: &Verdict) -> HiddenJson {
    let p = &record.post;
    let (list, moderator) = match verdict.list {
        ListId::Local => ("local", None),
        ListId::Moderator(key) => ("moderator", Some(key.to_string())),
    };
    HiddenJson {
        id: record.id.to_string(),
        channel: p.channel.to_string(),
        author_key: p.author.to_string(),
        author_name: p.author.name(),
        time_ms: p.created_ms,
        list: list.to_owned(),
        moderator,
        rule: verdict.target.kind().to_owned(),
        reason: verdict.reason.clone(),
    }
}

fn content_warning(cw: &ContentWarning) -> ContentWarningJson {
    ContentWarningJson {
        labels: cw.labels.iter().map(|l| label(*l)).collect(),
        text: cw.text.clone(),
    }
}

fn label(label: CwLabel) -> String {
    match label {
        CwLabel::Other(code) => format!("unknown-{code}"),
        known => known.as_str().to_owned(),
    }
}

/// The JSON form of a persona.
pub(crate) fn persona(info: &PersonaInfo) -> PersonaJson {
    PersonaJson {
        channel: info.channel.to_string(),
        key: info.key.to_string(),
        name: info.name.clone(),
        created_ms: info.created_ms,
    }
}

/// The JSON form of a channel card.
pub(crate) fn card(info: &hearth_node::cards::CardInfo) -> CardJson {
    let c = &info.card;
    CardJson {
        channel: c.channel.to_string(),
        founder_key: c.founder.to_string(),
        founder_name: c.founder.name(),
        trust: info.trust.as_str().to_owned(),
        age: c.age.as_str().to_owned(),
        retention_days: c.retention_days,
        moderators: c.moderators.iter().map(ToString::to_string).collect(),
        rules: c.rules.clone(),
        created_ms: c.created_ms,
    }
}

/// The JSON form of a moderator identity.
pub(crate) fn moderator(info: &hearth_node::ModeratorInfo) -> ModeratorJson {
    ModeratorJson {
        key: info.key.to_string(),
        name: info.name.clone(),
    }
}

/// The JSON form of a follow.
pub(crate) fn follow((key, scope): &(hearth_protocol::PublicKey, Scope)) -> FollowJson {
    FollowJson {
        key: key.to_string(),
        name: key.name(),
        channel: match scope {
            Scope::All => None,
            Scope::Channel(c) => Some(c.to_string()),
        },
    }
}

/// The JSON form of a peer.
pub(crate) fn peer(info: &PeerInfo) -> PeerJson {
    PeerJson {
        peer_id: info.peer.to_string(),
        addresses: info.addresses.iter().map(ToString::to_string).collect(),
        channels: info.channels.iter().map(ToString::to_string).collect(),
        score: info.score.filter(|s| s.is_finite()),
    }
}

/// The JSON form of a status snapshot; `running` says whether it comes from
/// a running node or a store opened directly.
pub(crate) fn status(status: &Status, running: bool, data_dir: &str) -> StatusJson {
    StatusJson {
        running,
        data_dir: data_dir.to_owned(),
        peer_id: running.then(|| status.peer_id.to_string()),
        network: status.network.clone(),
        listen_addrs: status
            .listen_addrs
            .iter()
            .map(ToString::to_string)
            .collect(),
        channels: status
            .channels
            .iter()
            .map(|c| ChannelJson {
                channel: c.channel.to_string(),
                peers: c.peers,
                persona: persona(&c.persona),
                stored_bytes: c.stored_bytes,
            })
            .collect(),
        connected_peers: status.connected_peers,
        stored_posts: status.stored_posts,
        pending_posts: status.pending_posts,
        blocklist_entries: status.blocklist_entries,
        followed_moderators: status.followed_moderators,
    }
}

/// The JSON form of a blocklist entry.
pub(crate) fn block_entry(entry: &BlockEntry) -> BlockEntryJson {
    let value = match &entry.target {
        BlockTarget::Persona(key) => key.to_string(),
        BlockTarget::Post(id) => id.to_string(),
        BlockTarget::Keyword(k) => k.clone(),
        BlockTarget::Regex(r) => r.clone(),
        BlockTarget::Channel(c) => c.to_string(),
    };
    BlockEntryJson {
        kind: entry.target.kind().to_owned(),
        value,
        scope: match &entry.scope {
            Scope::All => None,
            Scope::Channel(c) => Some(c.to_string()),
        },
        reason: entry.reason.clone(),
    }
}

/// What a blocklist entry's `kind` may be.
pub(crate) const BLOCK_KINDS: &str = "persona, post, keyword, regex or channel";

/// Parses the target of a blocklist entry: `kind` as in
/// [`BLOCK_KINDS`], `value` as that kind requires.
pub(crate) fn block_target(kind: &str, value: &str) -> Result<BlockTarget, String> {
    Ok(match kind {
        "persona" => BlockTarget::Persona(value.trim().parse::<PublicKey>().map_err(|e| {
            format!("invalid persona key {value:?}: {e}; give the key `hearth history` shows")
        })?),
        "post" => BlockTarget::Post(
            value
                .trim()
                .parse::<MessageId>()
                .map_err(|e| format!("invalid post id {value:?}: {e}"))?,
        ),
        "keyword" => BlockTarget::Keyword(value.to_owned()),
        "regex" => BlockTarget::Regex(value.to_owned()),
        "channel" => BlockTarget::Channel(ChannelName::parse(value).map_err(|e| e.to_string())?),
        other => return Err(format!("unknown block kind {other:?}; use {BLOCK_KINDS}")),
    })
}

impl BlockEntryJson {
    /// The entry this describes, checked as the protocol checks entries
    /// (lengths, characters, and regular expressions that compile within
    /// limits).
    pub(crate) fn to_entry(&self) -> Result<BlockEntry, String> {
        let target = block_target(&self.kind, &self.value)?;
        let scope = match &self.scope {
            None => Scope::All,
            Some(c) => Scope::Channel(ChannelName::parse(c).map_err(|e| e.to_string())?),
        };
        let entry = BlockEntry {
            target,
            scope,
            reason: self.reason.clone(),
        };
        entry.check().map_err(|e| e.to_string())?;
        if let BlockTarget::Regex(_) = &entry.target {
            let policy = hearth_protocol::Policy::compile([hearth_protocol::PolicyList {
                id: ListId::Local,
                applies_to: Scope::All,
                entries: vec![entry.clone()],
            }]);
            if let Some(problem) = policy.problems().first() {
                let first_line = problem.problem.lines().last().unwrap_or_default().trim();
                return Err(format!(
                    "invalid regular expression {:?}: {first_line}",
                    self.value
                ));
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests;
