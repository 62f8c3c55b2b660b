//! A message of any kind: the decoded content ([`Message`]) and the signed
//! envelope it came in ([`SignedMessage`]).
//!
//! These sit above the content modules ([`crate::post`],
//! [`crate::moderation`]) because they hold every kind, and below the two
//! ways a message comes to exist: signing ([`crate::sign`]) and receiving
//! ([`crate::validate`](mod@crate::validate)).

use crate::card::ChannelCard;
use crate::crisis::CrisisUpdate;
use crate::envelope::{Kind, MessageId};
use crate::moderation::ModeratorList;
use crate::post::Post;
use crate::presence::ModeratorPresence;

/// A verified message's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A post.
    Post(Post),
    /// A moderator list.
    ModeratorList(ModeratorList),
    /// A channel card.
    ChannelCard(ChannelCard),
    /// A moderator's presence heartbeat.
    ModeratorPresence(ModeratorPresence),
    /// A crisis-directory update.
    CrisisUpdate(CrisisUpdate),
}

impl Message {
    /// The kind of this message.
    pub fn kind(&self) -> Kind {
        match self {
            Message::Post(_) => Kind::Post,
            Message::ModeratorList(_) => Kind::ModeratorList,
            Message::ChannelCard(_) => Kind::ChannelCard,
            Message::ModeratorPresence(_) => Kind::ModeratorPresence,
            Message::CrisisUpdate(_) => Kind::CrisisUpdate,
        }
    }

    /// The post, if this is one.
    pub fn as_post(&self) -> Option<&Post> {
        match self {
            Message::Post(p) => Some(p),
            Message::ModeratorList(_)
            | Message::ChannelCard(_)
            | Message::ModeratorPresence(_)
            | Message::CrisisUpdate(_) => None,
        }
    }
}

/// A message whose signature and structure have been checked (or that was
/// just signed here): its id, its exact bytes and its decoded content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// SHA-256 of `bytes`.
    pub id: MessageId,
    /// The envelope exactly as signed and sent.
    pub bytes: Vec<u8>,
    /// The decoded content.
    pub message: Message,
}
