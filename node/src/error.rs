//! The node's typed errors.
//!
//! Each variant says what failed; the cause, where there is one, is its
//! [`source`](std::error::Error::source), so a caller that prints the
//! chain (`anyhow`'s `{:#}`) gets the whole story and one that matches on
//! the variant gets a value, never a string to parse.

use std::io;

use hearth_protocol::{BuildError, ChannelName, PolicyError, PublicKey, ValidationError};
use libp2p::gossipsub::{ConfigBuilderError, SubscriptionError};
use libp2p::identity::DecodingError;
use libp2p::swarm::{DialError, InvalidProtocol};
use libp2p::{Multiaddr, TransportError, noise};
use thiserror::Error;
use tokio::task::JoinError;

use crate::store::StoreError;

/// Why a node operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The store could not be opened, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task that opens the store panicked or was cancelled.
    #[error("the task opening the store failed")]
    StoreTask(#[source] JoinError),
    /// The data directory belongs to another network: its posts would not
    /// verify here, so opening it would silently hide everything.
    #[error(
        "this data directory belongs to network {recorded:?}, not {configured:?}; \
         use another data directory or --network {recorded}"
    )]
    WrongNetwork {
        /// The network recorded in the store.
        recorded: String,
        /// The network the node was configured for.
        configured: String,
    },
    /// The libp2p key kept in the store does not decode, or a new one does
    /// not encode.
    #[error("the stored peer key is unreadable")]
    PeerKey(#[source] DecodingError),
    /// The libp2p transport or behaviours could not be built.
    #[error("cannot set up the network")]
    Setup(#[source] SetupError),
    /// A configured bootstrap address is not a form the node can dial.
    #[error("bootstrap address {address}: {source}")]
    BootstrapAddress {
        /// The address as configured.
        address: Multiaddr,
        /// What is wrong with it.
        #[source]
        source: crate::addresses::AddressError,
    },
    /// A listen address could not be bound.
    #[error("cannot listen on {address}")]
    Listen {
        /// The address asked for.
        address: Multiaddr,
        /// Why.
        #[source]
        source: TransportError<io::Error>,
    },
    /// The metrics endpoint could not be bound or started.
    #[error("cannot serve metrics on {address}")]
    Metrics {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The key file of a node with a persistent identity could not be
    /// read, created or trusted.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    /// A listener failed or closed before it reported an address.
    #[error("the listener on {address} failed")]
    Listener {
        /// The address it was started on.
        address: Multiaddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A dial could not be started.
    #[error("cannot dial {address}")]
    Dial {
        /// The address asked for.
        address: Multiaddr,
        /// Why (boxed: libp2p's dial error is large, and every node
        /// result carries this type).
        #[source]
        source: Box<DialError>,
    },
    /// The node could not subscribe to a channel's topic.
    #[error("cannot subscribe to channel {channel}")]
    Subscribe {
        /// The channel.
        channel: ChannelName,
        /// Why.
        #[source]
        source: SubscriptionError,
    },
    /// Gossipsub refused the scoring parameters of a channel's topic.
    #[error("cannot score channel {channel}'s topic: {reason}")]
    TopicScore {
        /// The channel.
        channel: ChannelName,
        /// Gossipsub's reason (it gives no error type).
        reason: &'static str,
    },
    /// The post could not be built or signed.
    #[error("cannot publish: {0}")]
    Post(#[from] BuildError),
    /// The background task stamping a post's proof of work panicked or was
    /// cancelled; the post was not stored.
    #[error("the proof-of-work task failed")]
    Signing(#[source] JoinError),
    /// The blocking task checking blocklist entries panicked or was
    /// cancelled; nothing was added.
    #[error("the task checking blocklist entries failed")]
    Checking(#[source] JoinError),
    /// The persona has no stamp, so the post could not be signed; it was
    /// not stored.
    #[error("cannot publish: {0}")]
    PersonaStamp(#[from] StampFailed),
    /// Bytes handed to the node (a signed list, an imported file) are not
    /// a valid message.
    #[error("invalid message: {0}")]
    Invalid(#[from] ValidationError),
    /// Bytes handed to the node as a moderator list are a valid message of
    /// another kind.
    #[error("the message is not a moderator list")]
    NotAList,
    /// A blocklist entry breaks the rules or, for a regular expression, does
    /// not compile within the policy's limits.
    #[error("invalid blocklist entry: {0}")]
    InvalidEntry(#[source] EntryError),
    /// One entry of several to add cannot be used; none was added.
    #[error("invalid blocklist entry {number} (none was added): {source}")]
    InvalidEntryOf {
        /// The entry's place in the list, from 1.
        number: usize,
        /// Why it was refused.
        #[source]
        source: EntryError,
    },
    /// A moderator list older than the one held was offered.
    #[error("a newer list of this moderator is held (sequence {held}, offered {offered})")]
    StaleList {
        /// The held list's sequence.
        held: u64,
        /// The offered list's sequence.
        offered: u64,
    },
    /// The list held for a moderator cannot be read, so whether an offered
    /// list is newer cannot be told; nothing was replaced.
    #[error("cannot read the list held for moderator {moderator}")]
    HeldList {
        /// The moderator.
        moderator: PublicKey,
        /// Why.
        #[source]
        source: HeldListError,
    },
    /// A channel card by another founding key is held for the channel, so
    /// this node's card would not be taken by anyone who holds that one.
    #[error("channel {channel} already has a card by another founding key ({founder})")]
    CardFounder {
        /// The channel.
        channel: ChannelName,
        /// The held card's founding key.
        founder: PublicKey,
    },
    /// The operation needs the node to be in the channel first.
    #[error("not in channel {0}; join it first")]
    NotJoined(ChannelName),
    /// Too many own posts of the channel wait to be sent (for peers, or
    /// for the rate limit); the post was not taken. Try again later.
    #[error("{queued} posts of channel {channel} still wait to be sent; try again in a minute")]
    QueueFull {
        /// The channel.
        channel: ChannelName,
        /// How many wait.
        queued: usize,
    },
    /// The node has shut down; the handle can no longer reach it.
    #[error("the node has shut down")]
    Stopped,
    /// A report needs a followed moderator whose scope covers the channel.
    #[error(
        "you follow no moderator for #{0}, so there is nobody to report to; \
         `hearth moderator follow KEY` adds one"
    )]
    NoModerator(ChannelName),
    /// No update held from a trusted key has this id.
    #[error("no crisis-directory update {0} is waiting; `hearth crisis updates` lists them")]
    NoCrisisUpdate(hearth_protocol::MessageId),
}

/// Which part of the libp2p set-up failed. These are bugs or an
/// environment without the needed resources (sockets, DNS configuration),
/// never bad input.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The gossipsub mesh sizes break the rules gossipsub assumes.
    #[error(
        "gossipsub mesh parameters must satisfy 1 <= mesh_n_low <= mesh_n <= mesh_n_high \
         and mesh_outbound_min <= mesh_n_low, mesh_outbound_min * 2 <= mesh_n"
    )]
    MeshParams,
    /// The topic subscription filter does not compile.
    #[error("the topic filter does not compile")]
    TopicFilter(#[source] regex::Error),
    /// Gossipsub refused its configuration.
    #[error("the gossipsub configuration is invalid")]
    GossipsubConfig(#[source] ConfigBuilderError),
    /// Gossipsub refused to start (it gives no error type).
    #[error("gossipsub refused to start: {0}")]
    Gossipsub(&'static str),
    /// Gossipsub refused the peer-scoring parameters (it gives a message,
    /// no error type).
    #[error("gossipsub refused the scoring parameters: {0}")]
    Scoring(String),
    /// The DHT protocol name is not a valid protocol name.
    #[error("the DHT protocol name is invalid")]
    KadProtocol(#[source] InvalidProtocol),
    /// The history sync protocol name could not be built.
    #[error("the sync protocol name is invalid")]
    SyncProtocol(#[source] InvalidProtocol),
    /// mDNS could not start.
    #[error("mDNS could not start")]
    Mdns(#[source] io::Error),
    /// The noise handshake configuration could not be built.
    #[error("the noise handshake could not be set up")]
    Noise(#[source] noise::Error),
    /// The DNS resolver could not read the system configuration.
    #[error("the DNS resolver could not be set up")]
    Dns(#[source] io::Error),
}

impl From<SetupError> for NodeError {
    fn from(e: SetupError) -> Self {
        NodeError::Setup(e)
    }
}

/// Why a blocklist entry was refused. Shown to the person who typed the
/// entry, so [`NodeError::InvalidEntry`] repeats it in its own message.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The entry breaks the wire rules (field sizes, text rules).
    #[error(transparent)]
    Rules(BuildError),
    /// The policy cannot use the entry (a regular expression that does not
    /// compile within the limits). Shown as the problem alone: the list
    /// and index in the policy's error are those of a one-entry probe.
    #[error("{}", .0.problem)]
    Unusable(PolicyError),
}

/// Why the list held for a moderator could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HeldListError {
    /// The store could not be read.
    #[error("the store could not be read")]
    Read(#[source] StoreError),
    /// The stored bytes no longer verify.
    #[error("the stored list does not verify")]
    Corrupt(#[source] ValidationError),
    /// The stored bytes are a valid message, but not a moderator list.
    #[error("the stored record is not a moderator list")]
    NotAList,
}

/// Why a persona has no stamp (`docs/protocol.md` section 12.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StampFailed {
    /// The node stopped before the search ended.
    #[error("the node stopped before the persona stamp was found")]
    Cancelled,
    /// The search task panicked.
    #[error("the persona-stamp search failed: {0}")]
    Task(String),
}
