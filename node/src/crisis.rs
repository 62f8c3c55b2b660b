//! Crisis-directory updates on the node: what is held from the keys the
//! person trusts, and the commands that trust a key, list held updates,
//! record that one was accepted, and publish one.
//!
//! Off by default: a node that trusts no key subscribes to no publisher's
//! topic for this, stores nothing and says nothing. An update from a
//! trusted key is only *held*; applying it (writing the person's crisis
//! line file) is the interface's job, and only after the person reviewed
//! it and said yes (`hearth crisis accept`). Which entries an update
//! holds, and whether they pass the checks of the shipped directory, is
//! also the interface's: the node sees the directory as text.

use hearth_protocol::{CrisisUpdate, MessageId, PublicKey};

use crate::error::NodeError;
use crate::handle::{Command, NodeHandle};

/// An update held from a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisUpdateInfo {
    /// Its message id, which `accept` names.
    pub id: MessageId,
    /// The update.
    pub update: CrisisUpdate,
    /// Whether the person accepted it (it is then no longer pending).
    pub accepted: bool,
}

/// What the node is asked about crisis-directory updates.
#[derive(Debug)]
pub(crate) enum CrisisCommand {
    /// Trust or stop trusting a key; answers whether it was trusted.
    Trust(PublicKey, bool, Reply<bool>),
    /// The trusted keys.
    Trusted(Reply<Vec<PublicKey>>),
    /// The updates held from trusted keys.
    Updates(Reply<Vec<CrisisUpdateInfo>>),
    /// Record that the person accepted the held update with this id.
    Accepted(MessageId, Reply<CrisisUpdateInfo>),
    /// Keep (if newer than held) and gossip an update signed elsewhere.
    PublishSigned(Vec<u8>, Reply<usize>),
    /// Sign a directory with the node's moderator key and publish it.
    Publish {
        note: String,
        directory: String,
        reply: Reply<(CrisisUpdateInfo, usize)>,
    },
}

type Reply<T> = tokio::sync::oneshot::Sender<Result<T, NodeError>>;

impl NodeHandle {
    /// Trusts `publisher` for crisis-directory updates (or, with `on`
    /// false, stops trusting it and forgets what it sent). Returns whether
    /// it was trusted.
    pub async fn trust_crisis_key(
        &self,
        publisher: PublicKey,
        on: bool,
    ) -> Result<bool, NodeError> {
        self.request(|r| Command::Crisis(CrisisCommand::Trust(publisher, on, r)))
            .await
    }

    /// The keys trusted for crisis-directory updates.
    pub async fn crisis_trusted(&self) -> Result<Vec<PublicKey>, NodeError> {
        self.request(|r| Command::Crisis(CrisisCommand::Trusted(r)))
            .await
    }

    /// The newest update held from each trusted key, accepted or not.
    pub async fn crisis_updates(&self) -> Result<Vec<CrisisUpdateInfo>, NodeError> {
        self.request(|r| Command::Crisis(CrisisCommand::Updates(r)))
            .await
    }

    /// Records that the person accepted the held update `id` (after the
    /// interface applied it). Fails with [`NodeError::NoCrisisUpdate`] if
    /// no trusted key's held update has that id.
    pub async fn accept_crisis_update(&self, id: MessageId) -> Result<CrisisUpdateInfo, NodeError> {
        self.request(|r| Command::Crisis(CrisisCommand::Accepted(id, r)))
            .await
    }

    /// Publishes an update signed elsewhere (by a publisher key this node
    /// does not hold): kept here if newer than the one held from that key,
    /// so that this node serves it by history sync, and gossiped on the
    /// key's topic. Returns the peers it went to.
    pub async fn publish_signed_crisis_update(&self, bytes: Vec<u8>) -> Result<usize, NodeError> {
        self.request(|r| Command::Crisis(CrisisCommand::PublishSigned(bytes, r)))
            .await
    }

    /// Signs `directory` (the text of a crisis line file) and `note` with
    /// this node's moderator key, with the sequence after the last one it
    /// published, and gossips it on the key's topic. Returns the update
    /// and the peers it went to.
    pub async fn publish_crisis_update(
        &self,
        note: String,
        directory: String,
    ) -> Result<(CrisisUpdateInfo, usize), NodeError> {
        self.request(|reply| {
            Command::Crisis(CrisisCommand::Publish {
                note,
                directory,
                reply,
            })
        })
        .await
    }
}
