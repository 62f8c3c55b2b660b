//! What a node tells its embedder, and the records it returns.

use hearth_protocol::{ChannelName, MessageId, Post, PublicKey, Verdict};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::broadcast;

/// A post as the node holds it: verified content plus what this node knows
/// about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    /// The post's id.
    pub id: MessageId,
    /// The verified post.
    pub post: Post,
    /// When this node stored it, in ms since the Unix epoch.
    pub received_ms: u64,
    /// Whether this node's user wrote it.
    pub own: bool,
    /// Why the post is hidden, if the user's policy hides it.
    pub verdict: Option<Verdict>,
    /// How it reached this node.
    pub origin: Origin,
}

/// How a post reached the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// Live: received by gossip as it was said, or written here.
    Live,
    /// From history sync: fetched from a peer because the node missed it
    /// (it was away, or joined later). Such a post is usually older than
    /// the ones already shown.
    Sync,
    /// Read back from the store ([`NodeHandle::history`], [`NodeHandle::post`]),
    /// which does not record how a post arrived.
    ///
    /// [`NodeHandle::history`]: crate::NodeHandle::history
    /// [`NodeHandle::post`]: crate::NodeHandle::post
    Stored,
}

/// What one history sync with one peer did ([`Event::Synced`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The peer.
    pub peer: PeerId,
    /// The channel reconciled, or `None` for moderator lists.
    pub channel: Option<ChannelName>,
    /// Reconciliation rounds (request and answer).
    pub rounds: usize,
    /// Encoded bytes of reconciliation messages, both ways.
    pub reconcile_bytes: u64,
    /// Encoded bytes of fetch requests and answers, both ways.
    pub fetch_bytes: u64,
    /// Posts the peer had and this node lacked, as reconciliation found.
    pub needed: usize,
    /// Posts (or lists) asked for; fewer than `needed` when some were
    /// already seen, dropped on purpose or refused.
    pub requested: usize,
    /// Posts (or lists) taken in: stored and announced as events.
    pub received: usize,
    /// Posts (or lists) delivered but refused (invalid, too old, over a
    /// rate, or not newer).
    pub refused: usize,
    /// `None` when the sync completed; otherwise why it stopped.
    pub error: Option<String>,
}

impl PostRecord {
    /// True when the user's policy hides the post.
    pub fn is_hidden(&self) -> bool {
        self.verdict.is_some()
    }
}

/// A persona as the embedder sees it: never the secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaInfo {
    /// The channel it speaks in.
    pub channel: ChannelName,
    /// Its public key.
    pub key: PublicKey,
    /// Its human-readable name.
    pub name: String,
    /// When it was created, in ms since the Unix epoch.
    pub created_ms: u64,
}

/// The node's moderator identity as the embedder sees it: never the secret
/// key. People follow a moderator by [`ModeratorInfo::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorInfo {
    /// The moderator's public key.
    pub key: PublicKey,
    /// Its human-readable name (the same scheme as persona names).
    pub name: String,
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    /// Its libp2p peer id.
    pub peer: PeerId,
    /// The addresses it is connected on (see [`Event::PeerConnected`]).
    pub addresses: Vec<Multiaddr>,
    /// The channels it shares with this node.
    pub channels: Vec<ChannelName>,
    /// Its gossip score, if scored.
    pub score: Option<f64>,
}

/// A provider record in this node's DHT store: a node that announced a
/// channel, and where it said it can be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The node.
    pub peer: PeerId,
    /// Its addresses as kept (announceable ones only, at most eight).
    pub addresses: Vec<Multiaddr>,
}

/// A joined channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The channel.
    pub channel: ChannelName,
    /// Peers subscribed to it.
    pub peers: usize,
    /// This node's persona in it.
    pub persona: PersonaInfo,
    /// Bytes its stored posts take (see `Retention::max_bytes_per_channel`).
    pub stored_bytes: u64,
}

/// The outcome of a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The post's id.
    pub id: MessageId,
    /// Peers it was sent to now. Zero is normal in a quiet channel: the post
    /// is stored and sent when peers of the channel appear.
    pub peers: usize,
}

/// A snapshot of the node's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// This node's peer id.
    pub peer_id: PeerId,
    /// The network it is in.
    pub network: String,
    /// Full listen addresses, ending in `/p2p/<peer id>`.
    pub listen_addrs: Vec<Multiaddr>,
    /// Joined channels.
    pub channels: Vec<ChannelInfo>,
    /// Connected peers.
    pub connected_peers: usize,
    /// Whether peers can dial this node directly: `Some(true)` when an
    /// AutoNAT server or the operator confirmed an announced address,
    /// `Some(false)` when it is behind a NAT or AutoNAT says private,
    /// `None` before anything was learnt.
    pub reachable: Option<bool>,
    /// Relay reservations held (peers reach the node through these relays).
    pub relay_reservations: usize,
    /// The addresses this node announces (see [`Event::AddressAnnounced`]).
    pub announced_addrs: Vec<Multiaddr>,
    /// Posts in the store.
    pub stored_posts: usize,
    /// Own posts still waiting for a peer.
    pub pending_posts: usize,
    /// Entries in the user's own blocklist.
    pub blocklist_entries: usize,
    /// Followed moderators.
    pub followed_moderators: usize,
}

/// Why an own post was given up before it reached any peer
/// ([`Event::Undelivered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UndeliveredReason {
    /// The expiry its author chose passed while it waited.
    Expired,
    /// It grew older than peers accept (`NodeLimits::messages.max_age_ms`,
    /// 7 days by default).
    TooOld,
    /// It is no longer in the store (the retention sweep deleted it).
    Deleted,
}

/// Something that happened in the node.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The node listens on a new address (full, with `/p2p/<peer id>`).
    Listening {
        /// The address.
        address: Multiaddr,
    },
    /// The node joined a channel.
    Joined {
        /// The channel.
        channel: ChannelName,
        /// The persona it speaks with there.
        persona: PersonaInfo,
    },
    /// The node left a channel.
    Left {
        /// The channel.
        channel: ChannelName,
    },
    /// A post arrived (or was written here). Hidden posts come with their
    /// verdict so an interface can say why; they are never relayed. Its
    /// [`PostRecord::origin`] says whether it came live or from history
    /// sync (an older post the node missed).
    Post(Box<PostRecord>),
    /// An own post went out to peers (at publish, or later when peers of a
    /// quiet channel appeared).
    Sent {
        /// The post.
        id: MessageId,
        /// Its channel.
        channel: ChannelName,
        /// Peers it was sent to.
        peers: usize,
    },
    /// An own post that waited for peers (it was written when the channel
    /// had none) was given up before it reached any: it would now be
    /// refused by every peer. Only sending it is abandoned: it stays in the
    /// store and the history as long as retention keeps it (an expired post
    /// is gone at once).
    Undelivered {
        /// The post.
        id: MessageId,
        /// Its channel.
        channel: ChannelName,
        /// Why it was given up.
        reason: UndeliveredReason,
    },
    /// Own posts written before this start, kept in the store because they
    /// had reached no peer yet, wait again: the channel was joined and they
    /// go out when peers of it appear ([`Event::BacklogSent`]).
    Backlog {
        /// The channel.
        channel: ChannelName,
        /// How many posts wait.
        posts: usize,
    },
    /// Own posts written before this start, kept in the store, went out to
    /// peers now (each also has its [`Event::Sent`]).
    BacklogSent {
        /// The channel.
        channel: ChannelName,
        /// How many posts went out.
        posts: usize,
        /// Peers they went to.
        peers: usize,
    },
    /// The persona of a channel needs its stamp (`docs/protocol.md`
    /// section 12.2), a one-time proof of work of a few seconds, and the
    /// node started searching for it. Posts written meanwhile wait and go
    /// out once it is found ([`Event::PersonaReady`]).
    PersonaStamping {
        /// The channel.
        channel: ChannelName,
        /// The level searched for (leading zero bits); each bit doubles the
        /// expected work.
        bits: u8,
    },
    /// The persona of a channel has its stamp and can post; stored
    /// personas keep it, so this happens once per persona.
    PersonaReady {
        /// The channel.
        channel: ChannelName,
        /// How long the search took.
        elapsed: std::time::Duration,
    },
    /// The node has stopped: every post handed to it is stored and the
    /// store is flushed. The last event of a node.
    ShutDown {
        /// Own posts that reached no peer and wait in the store; they go
        /// out after the next start, once peers of their channel appear.
        pending_posts: usize,
    },
    /// A connection to a peer opened.
    PeerConnected {
        /// The peer.
        peer: PeerId,
        /// The remote address; for a connection that came in through a
        /// relay, the relay circuit address it came in on (both contain
        /// `/p2p-circuit` when relayed).
        address: Multiaddr,
    },
    /// A peer said who it is (identify): its software and where it listens.
    /// Its addresses are now remembered for reconnecting after a restart.
    PeerIdentified {
        /// The peer.
        peer: PeerId,
        /// Its agent string, such as `hearth/0.1.0`.
        agent: String,
        /// The addresses it announces: only those it confirmed (see
        /// [`Event::AddressAnnounced`]), never its bare listen addresses.
        listen_addrs: Vec<Multiaddr>,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer was disconnected and refused for a while because its score
    /// fell below the graylist threshold.
    PeerBanned {
        /// The peer.
        peer: PeerId,
        /// Its score.
        score: f64,
    },
    /// This node now announces `address` (in identify and DHT provider
    /// records): configured, confirmed by an AutoNAT server, or a relay
    /// circuit address.
    AddressAnnounced {
        /// The address.
        address: Multiaddr,
    },
    /// This node no longer announces `address`.
    AddressWithdrawn {
        /// The address.
        address: Multiaddr,
    },
    /// A relay accepted this node's reservation: peers can reach the node
    /// through it (its circuit address follows as
    /// [`Event::AddressAnnounced`]).
    RelayReserved {
        /// The relay.
        relay: PeerId,
    },
    /// Hole punching (DCUtR) opened a direct connection to a peer that was
    /// connected through a relay; the relayed connection is closed.
    HolePunched {
        /// The peer.
        peer: PeerId,
        /// The remote address of the direct connection.
        address: Multiaddr,
    },
    /// Hole punching to a peer connected through a relay failed; the
    /// relayed connection stays.
    HolePunchFailed {
        /// The peer.
        peer: PeerId,
    },
    /// The number of peers in a channel changed.
    ChannelPeers {
        /// The channel.
        channel: ChannelName,
        /// Peers subscribed to it now.
        peers: usize,
    },
    /// Received bytes were refused. Reported so tools can count abuse; the
    /// sender is not shown to the user. Refusals are aggregated per peer,
    /// channel and reason: the first of a kind is reported at once with
    /// `count` 1, later ones every 5 seconds as one event with how many
    /// there were meanwhile, so a flood costs a few events, not one each.
    Refused {
        /// The channel topic it arrived on, if it was a channel.
        channel: Option<ChannelName>,
        /// Why.
        reason: String,
        /// How many messages were refused for this reason (from one peer)
        /// since the last report of it.
        count: u64,
    },
    /// A followed moderator's list (or one published here) was taken in,
    /// replacing an older one; the policy now applies it.
    ModeratorList {
        /// The moderator.
        moderator: PublicKey,
        /// The list's sequence number.
        sequence: u64,
        /// How many entries it has.
        entries: usize,
    },
    /// A history sync with a peer ended, complete or not.
    Synced(Box<SyncReport>),
    /// Own posts of a channel wait because sending them now would exceed
    /// the per-persona rate limit that peers apply (a newcomer's burst of
    /// 8 and 12 a minute; see `NodeLimits::newcomer`): they are stored and
    /// shown already, and go out, oldest first, as the limit allows. Sent
    /// when a post starts waiting and whenever waiting ones go out;
    /// `queued` 0 says the queue is empty again. Nothing is dropped.
    Paced {
        /// The channel.
        channel: ChannelName,
        /// Own posts of the channel waiting to be sent.
        queued: usize,
        /// When the next one can go, in ms from now (0 when none wait).
        next_in_ms: u64,
    },
    /// This subscriber fell behind and missed events.
    Lagged {
        /// How many.
        missed: u64,
    },
    /// A peer was banned, and the address range it connected from is now
    /// refused to new incoming connections of peers this node does not
    /// know, so the peer cannot come straight back under a new peer id.
    /// Peers already connected, peers this node dialled and peers known to
    /// be good are never refused by it.
    AddressBanned {
        /// The range, such as `203.0.113.7/32` or `203.0.113.0/24`.
        range: String,
        /// How long this ban lasts.
        duration: std::time::Duration,
        /// Offences from the range that are remembered, this one included
        /// (each one doubles the ban, up to a bound).
        offences: u32,
    },
    /// Every inbound slot was taken, so this inbound peer (the one with the
    /// worst standing) was disconnected to make room for a newcomer.
    PeerEvicted {
        /// The peer.
        peer: PeerId,
        /// Its gossip score.
        score: f64,
    },
    /// A report sealed to this node's moderator key arrived and was kept
    /// (see [`crate::NodeHandle::reports`]). Only the moderators a report
    /// was sealed to ever see this; the reported person never does.
    Report(Box<ReportRecord>),
    /// A channel's card was taken in (new, newer, or published here); see
    /// [`crate::cards`] for which cards a node trusts.
    ChannelCard(Box<crate::cards::CardInfo>),
    /// A trusted publisher's crisis-directory update was taken in and
    /// waits for the person to review it (see [`crate::crisis`]).
    CrisisUpdate(Box<crate::crisis::CrisisUpdateInfo>),
    /// A declared moderator of a channel sent a presence heartbeat (or this
    /// node sent one).
    ModeratorPresence {
        /// The channel.
        channel: ChannelName,
        /// The moderator key.
        moderator: PublicKey,
        /// When it was heard, ms since the Unix epoch.
        at_ms: u64,
    },
}

/// A report opened with this node's moderator key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportRecord {
    /// The report envelope's id.
    pub id: MessageId,
    /// The channel of the reported post.
    pub channel: ChannelName,
    /// When the reporter wrote it (ms since the Unix epoch).
    pub created_ms: u64,
    /// When this node opened it.
    pub received_ms: u64,
    /// The reported post.
    pub post: MessageId,
    /// Why, in the reporter's words (one line, at most 280 bytes).
    pub reason: String,
    /// The persona that reported, checked by its signature: for the
    /// moderator to notice one persona reporting everyone. Nobody else can
    /// learn it.
    pub reporter: PublicKey,
}

/// What [`crate::NodeHandle::report`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSent {
    /// The report envelope's id.
    pub id: MessageId,
    /// How many moderators it was sealed to.
    pub moderators: usize,
    /// How many peers of the channel it was sent to now (0: nobody else is
    /// in the channel, and the report is lost; reports do not wait).
    pub peers: usize,
}

/// A stream of [`Event`]s from one node. Each subscriber gets every event
/// from the moment it subscribed; one that falls behind by more than the
/// buffer receives [`Event::Lagged`] and continues.
pub struct EventStream {
    pub(crate) inner: broadcast::Receiver<Event>,
}

impl EventStream {
    /// The next event, or `None` once the node has stopped.
    pub async fn next(&mut self) -> Option<Event> {
        match self.inner.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Event::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}
