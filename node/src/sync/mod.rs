//! History sync: how a node catches up on the posts of a channel and the
//! lists of its moderators that it missed while it was away or before it
//! joined.
//!
//! Gossip only carries what is said while a node listens. Sync is a
//! request-response protocol of its own, `/hearth/<network>/sync/2`
//! ([`protocol_name`]; `/sync/1`, without card requests, is still spoken
//! with older peers), in which a node reconciles its set of a channel's
//! posts with a peer's by range-based set reconciliation ([`reconcile`],
//! the `negentropy` crate, NIP-77) and then fetches, by id, the posts only
//! the peer has, and the channel's card. Moderator lists are asked for by
//! moderator, with the sequence held. Everything fetched goes through the same judgement as
//! gossip (`service/inbox.rs`).
//!
//! This module holds the decisions, without I/O: the messages and their
//! limits ([`wire`]), the codec ([`SyncCodec`]), reconciliation
//! ([`reconcile`]), one sync with one peer as a state machine
//! (`session`), when to sync and with whom (`schedule`), what to serve and
//! how much (`serve`), refused ids not to fetch again (`refused`), and penalties for peers that serve junk (`penalty`).
//! The shell that runs them is `service/sync.rs`. docs/protocol.md
//! specifies the protocol; docs/architecture.md describes the flow.

mod codec;
pub(crate) mod penalty;
pub mod reconcile;
pub(crate) mod refused;
pub(crate) mod schedule;
pub(crate) mod serve;
pub(crate) mod session;
pub mod wire;

use std::time::Duration;

pub use codec::SyncCodec;
pub use reconcile::{Items, ReconcileError, Reconciler, respond};
pub use wire::{
    HeldCard, Refusal, Request, Response, WantedList, WireError, legacy_protocol_name,
    protocol_name,
};

use crate::config::Rate;

/// How history sync runs, and how much it serves and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// How often each joined channel (and the followed moderators' lists)
    /// is reconciled with peers, besides the syncs on joining and on a peer
    /// appearing.
    pub interval: Duration,
    /// Each interval is moved by up to this much, earlier or later, so
    /// that nodes started together do not sync in step.
    pub jitter: Duration,
    /// Peers synced with per channel and round.
    pub peers_per_round: usize,
    /// A peer that appears again (reconnects) is not synced with again
    /// sooner than this.
    pub peer_cooldown: Duration,
    /// Requests answered per peer; more are answered `Busy`.
    pub requests_per_peer: Rate,
    /// KiB of responses sent per peer; more are answered `Busy`.
    pub kib_per_peer: Rate,
    /// Synced posts taken from one serving peer; the rest of an answer
    /// over the rate is dropped (and fetched in a later round).
    pub posts_per_peer: Rate,
    /// How long a request waits for its answer.
    pub request_timeout: Duration,
}

impl Default for SyncLimits {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5 * 60),
            jitter: Duration::from_secs(60),
            peers_per_round: 3,
            peer_cooldown: Duration::from_secs(30),
            requests_per_peer: Rate {
                per_minute: 600,
                burst: 200,
            },
            kib_per_peer: Rate {
                per_minute: 32 * 1024,
                burst: 32 * 1024,
            },
            posts_per_peer: Rate {
                per_minute: 30_000,
                burst: 10_000,
            },
            request_timeout: Duration::from_secs(20),
        }
    }
}
