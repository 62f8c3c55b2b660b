//! The node's typed errors.

use hearth_protocol::{BuildError, ChannelName, ValidationError};
use thiserror::Error;

use crate::store::StoreError;

/// Why a node operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The store could not be opened, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is inconsistent; the message says what to change.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Building the libp2p transport or swarm failed.
    #[error("network set-up failed: {0}")]
    Network(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: String,
        /// Why it failed.
        reason: String,
    },
    /// A dial could not be started.
    #[error("cannot dial {address}: {reason}")]
    Dial {
        /// The address asked for.
        address: String,
        /// Why it failed.
        reason: String,
    },
    /// The post could not be built or signed.
    #[error("cannot publish: {0}")]
    Post(#[from] BuildError),
    /// Bytes handed to the node (a signed list, an imported file) are not
    /// a valid message.
    #[error("invalid message: {0}")]
    Invalid(#[from] ValidationError),
    /// A blocklist entry breaks the rules or, for a regular expression, does
    /// not compile within the policy's limits.
    #[error("invalid blocklist entry: {0}")]
    InvalidEntry(String),
    /// A moderator list older than the one held was offered.
    #[error("a newer list of this moderator is held (sequence {held}, offered {offered})")]
    StaleList {
        /// The held list's sequence.
        held: u64,
        /// The offered list's sequence.
        offered: u64,
    },
    /// The operation needs the node to be in the channel first.
    #[error("not in channel {0}; join it first")]
    NotJoined(ChannelName),
    /// The node has shut down; the handle can no longer reach it.
    #[error("the node has shut down")]
    Stopped,
}
