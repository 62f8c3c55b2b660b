//! Making new messages: checking every field, stamping proof of work,
//! sealing the envelope and signing it.
//!
//! [`PostDraft`] builds and signs a post; [`ModeratorList::sign`] signs a
//! moderator list; [`ChannelCard::sign`] a channel card and
//! [`ModeratorPresence::sign`] a presence heartbeat. Both return a [`SignedMessage`] holding exactly what
//! [`crate::validate()`] would return for the same bytes, so this module
//! comes after [`crate::message`] and applies the same field rules
//! ([`crate::post`], [`crate::moderation`]) that receiving does.

use crate::card::{AgeGroup, ChannelCard, ChannelCardWire};
use crate::channel::{ChannelName, NetworkId};
use crate::crisis::{CrisisUpdate, CrisisUpdateWire};
use crate::envelope::{Kind, MessageId, encode, seal};
use crate::error::BuildError;
use crate::keys::Keypair;
use crate::limits::MAX_POW_DIFFICULTY;
use crate::message::{Message, SignedMessage};
use crate::moderation::{BlockEntry, ModeratorList, ModeratorListWire};
use crate::post::{ContentWarning, PostFields, PostWire};
use crate::pow::{self, WorkPrefix};
use crate::presence::{ModeratorPresence, PresenceWire};
use crate::stamp::PersonaStamp;

/// A post before signing. Build it with [`PostDraft::new`] and the `with_*`
/// methods, then [`sign`](PostDraft::sign) it with a persona.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostDraft {
    fields: PostFields,
}

impl PostDraft {
    /// A post of `body` in `channel`, written at `created_ms` (ms since the
    /// Unix epoch, from the caller's clock).
    pub fn new(channel: ChannelName, body: impl Into<String>, created_ms: u64) -> Self {
        Self {
            fields: PostFields {
                channel,
                created_ms,
                expires_ms: None,
                reply_to: None,
                content_warning: None,
                nickname: None,
                body: body.into(),
                persona_stamp: PersonaStamp::default(),
            },
        }
    }

    /// Stop showing and relaying the post at `expires_ms`.
    pub fn with_expiry(mut self, expires_ms: u64) -> Self {
        self.fields.expires_ms = Some(expires_ms);
        self
    }

    /// Mark the post as a reply to `parent`.
    pub fn with_reply_to(mut self, parent: MessageId) -> Self {
        self.fields.reply_to = Some(parent);
        self
    }

    /// Fold the post behind a content warning.
    pub fn with_content_warning(mut self, warning: ContentWarning) -> Self {
        self.fields.content_warning = Some(warning);
        self
    }

    /// Show `nickname` beside the persona's name.
    pub fn with_nickname(mut self, nickname: impl Into<String>) -> Self {
        self.fields.nickname = Some(nickname.into());
        self
    }

    /// Carry `stamp`, the persona's stamp found once with
    /// [`crate::stamp::stamp_persona`]. Without it a post carries stamp 0,
    /// which only channels asking level 0 accept.
    pub fn with_persona_stamp(mut self, stamp: PersonaStamp) -> Self {
        self.fields.persona_stamp = stamp;
        self
    }

    /// Checks every field, stamps proof of work to `difficulty` leading zero
    /// bits (0 for none) and signs with `persona` for `network`.
    pub fn sign(
        self,
        persona: &Keypair,
        network: &NetworkId,
        difficulty: u8,
    ) -> Result<SignedMessage, BuildError> {
        self.sign_with_cap(
            persona,
            network,
            difficulty,
            pow::default_iteration_cap(difficulty),
        )
    }

    /// [`sign`](PostDraft::sign) with an explicit cap on proof-of-work
    /// attempts.
    pub fn sign_with_cap(
        self,
        persona: &Keypair,
        network: &NetworkId,
        difficulty: u8,
        max_iterations: u64,
    ) -> Result<SignedMessage, BuildError> {
        if difficulty > MAX_POW_DIFFICULTY {
            return Err(BuildError::Field("proof-of-work difficulty above 32 bits"));
        }
        self.fields.check()?;
        let author = persona.public();
        let fields_bytes = encode(&self.fields)?;
        let nonce = WorkPrefix::new(&author, network.as_str(), &fields_bytes)
            .stamp(difficulty, max_iterations)
            .ok_or(BuildError::WorkNotFound {
                difficulty,
                iterations: max_iterations,
            })?;
        let wire = PostWire {
            fields: self.fields,
            nonce,
        };
        let body = encode(&wire)?;
        let bytes = seal(Kind::Post, network, persona, &body);
        if bytes.len() > Kind::Post.max_bytes() {
            return Err(BuildError::TooLarge {
                size: bytes.len(),
                limit: Kind::Post.max_bytes(),
            });
        }
        Ok(SignedMessage {
            id: MessageId::of(&bytes),
            bytes,
            message: Message::Post(wire.fields.into_post(author, nonce)),
        })
    }
}

// A list's signing lives here, not beside its type in `moderation`, so
// that `moderation` never needs `message` (which holds every kind).
impl ModeratorList {
    /// Signs a list with a moderator key for `network`.
    pub fn sign(
        moderator: &Keypair,
        network: &NetworkId,
        sequence: u64,
        created_ms: u64,
        title: impl Into<String>,
        entries: Vec<BlockEntry>,
    ) -> Result<SignedMessage, BuildError> {
        let wire = ModeratorListWire {
            sequence,
            created_ms,
            title: title.into(),
            entries,
        };
        wire.check()?;
        let body = encode(&wire)?;
        let bytes = seal(Kind::ModeratorList, network, moderator, &body);
        if bytes.len() > Kind::ModeratorList.max_bytes() {
            return Err(BuildError::TooLarge {
                size: bytes.len(),
                limit: Kind::ModeratorList.max_bytes(),
            });
        }
        Ok(SignedMessage {
            id: MessageId::of(&bytes),
            bytes,
            message: Message::ModeratorList(wire.into_list(moderator.public())),
        })
    }
}

/// Seals an encoded body of `kind` and refuses it if it is over the
/// kind's size limit.
fn seal_within_limit(
    kind: Kind,
    network: &NetworkId,
    signer: &Keypair,
    body: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let bytes = seal(kind, network, signer, body);
    if bytes.len() > kind.max_bytes() {
        return Err(BuildError::TooLarge {
            size: bytes.len(),
            limit: kind.max_bytes(),
        });
    }
    Ok(bytes)
}

/// What a channel card says, before the founding key signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDraft {
    /// The channel it describes.
    pub channel: ChannelName,
    /// When it is signed, ms since the Unix epoch.
    pub created_ms: u64,
    /// Who the channel is for.
    pub age: AgeGroup,
    /// How many days the channel asks nodes to keep its posts (1 to 3650).
    pub retention_days: u32,
    /// The other moderators (sorted and deduplicated when signing).
    pub moderators: Vec<crate::keys::PublicKey>,
    /// The rules, a short multi-line text (may be empty).
    pub rules: String,
}

impl ChannelCard {
    /// Signs a card with the channel's founding moderator key.
    pub fn sign(
        founder: &Keypair,
        network: &NetworkId,
        draft: CardDraft,
    ) -> Result<SignedMessage, BuildError> {
        let mut moderators = draft.moderators;
        moderators.sort();
        moderators.dedup();
        let wire = ChannelCardWire {
            channel: draft.channel,
            created_ms: draft.created_ms,
            age: draft.age,
            retention_days: draft.retention_days,
            moderators,
            rules: draft.rules,
        };
        wire.check()?;
        let bytes = seal_within_limit(Kind::ChannelCard, network, founder, &encode(&wire)?)?;
        Ok(SignedMessage {
            id: MessageId::of(&bytes),
            bytes,
            message: Message::ChannelCard(wire.into_card(founder.public())),
        })
    }
}

impl ModeratorPresence {
    /// Signs a presence heartbeat for `channel` with a moderator key.
    pub fn sign(
        moderator: &Keypair,
        network: &NetworkId,
        channel: ChannelName,
        created_ms: u64,
    ) -> Result<SignedMessage, BuildError> {
        let wire = PresenceWire {
            channel,
            created_ms,
        };
        let bytes =
            seal_within_limit(Kind::ModeratorPresence, network, moderator, &encode(&wire)?)?;
        Ok(SignedMessage {
            id: MessageId::of(&bytes),
            bytes,
            message: Message::ModeratorPresence(wire.into_presence(moderator.public())),
        })
    }
}

impl CrisisUpdate {
    /// Signs a crisis-directory update with its publisher's key: the whole
    /// `directory` (the text of a crisis line file), a one-line `note` on
    /// what changed (may be empty), and a `sequence` higher than the
    /// publisher's last.
    pub fn sign(
        publisher: &Keypair,
        network: &NetworkId,
        sequence: u64,
        created_ms: u64,
        note: impl Into<String>,
        directory: impl Into<String>,
    ) -> Result<SignedMessage, BuildError> {
        let wire = CrisisUpdateWire {
            sequence,
            created_ms,
            note: note.into(),
            directory: directory.into(),
        };
        wire.check()?;
        let bytes = seal_within_limit(Kind::CrisisUpdate, network, publisher, &encode(&wire)?)?;
        Ok(SignedMessage {
            id: MessageId::of(&bytes),
            bytes,
            message: Message::CrisisUpdate(wire.into_update(publisher.public())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TextError;
    use crate::limits::{MAX_BODY_BYTES, MAX_CW_TEXT_BYTES, MAX_NICKNAME_BYTES};
    use crate::post::{ContentWarning, CwLabel};

    fn draft(body: &str) -> PostDraft {
        PostDraft::new(ChannelName::parse("anxiety").unwrap(), body, 1_000)
    }

    #[test]
    fn signing_refuses_invalid_fields() {
        let key = Keypair::from_secret_bytes([1; 32]);
        let net = NetworkId::default();
        assert!(matches!(
            draft("").sign(&key, &net, 0),
            Err(BuildError::Text(TextError::Empty { .. }))
        ));
        assert!(
            draft(&"x".repeat(MAX_BODY_BYTES))
                .sign(&key, &net, 0)
                .is_ok()
        );
        assert!(matches!(
            draft(&"x".repeat(MAX_BODY_BYTES + 1)).sign(&key, &net, 0),
            Err(BuildError::Text(TextError::TooLong { .. }))
        ));
        assert!(
            draft("hi")
                .with_nickname(" pad")
                .sign(&key, &net, 0)
                .is_err()
        );
        assert!(draft("hi").with_expiry(1_000).sign(&key, &net, 0).is_err());
        assert!(
            draft("hi")
                .with_content_warning(ContentWarning::default())
                .sign(&key, &net, 0)
                .is_err()
        );
        assert!(matches!(
            draft("hi").sign(&key, &net, 33),
            Err(BuildError::Field(_))
        ));
    }

    #[test]
    fn the_largest_legal_post_fits_the_envelope_limit() {
        let key = Keypair::from_secret_bytes([1; 32]);
        let biggest = PostDraft::new(
            ChannelName::parse(&["a".repeat(32), "b".repeat(31)].join("/")).unwrap(),
            "€".repeat(MAX_BODY_BYTES / 3),
            u64::MAX - 1,
        )
        .with_expiry(u64::MAX)
        .with_reply_to(MessageId([0xff; 32]))
        .with_nickname("n".repeat(MAX_NICKNAME_BYTES))
        .with_content_warning(ContentWarning::new(
            CwLabel::KNOWN,
            Some("w".repeat(MAX_CW_TEXT_BYTES)),
        ));
        let network = NetworkId::parse(&"n".repeat(32)).unwrap();
        let signed = biggest.sign(&key, &network, 0).unwrap();
        assert!(signed.bytes.len() < Kind::Post.max_bytes());
    }
}
