//! Posts: what a person writes in a channel, signed by their persona.

use serde::{Deserialize, Serialize};

use crate::channel::{ChannelName, NetworkId};
use crate::envelope::{self, Kind, MessageId, SignedMessage};
use crate::error::{BuildError, TextError};
use crate::keys::{Keypair, PublicKey};
use crate::limits::{MAX_BODY_BYTES, MAX_CW_TEXT_BYTES, MAX_NICKNAME_BYTES, MAX_POW_DIFFICULTY};
use crate::pow::{self, WorkPrefix};
use crate::text;
use crate::validate::Message;

/// A label of the fixed content-warning vocabulary. Codes a node does not
/// know yet decode as [`CwLabel::Other`], so new labels do not break old
/// nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum CwLabel {
    /// Self-harm.
    SelfHarm,
    /// Suicide.
    Suicide,
    /// Abuse.
    Abuse,
    /// Alcohol or drug use.
    SubstanceUse,
    /// Eating disorders.
    Eating,
    /// Violence.
    Violence,
    /// Death and dying.
    Death,
    /// A label from a newer version of the vocabulary.
    Other(u8),
}

impl CwLabel {
    /// Every label this version knows, in code order.
    pub const KNOWN: [CwLabel; 7] = [
        CwLabel::SelfHarm,
        CwLabel::Suicide,
        CwLabel::Abuse,
        CwLabel::SubstanceUse,
        CwLabel::Eating,
        CwLabel::Violence,
        CwLabel::Death,
    ];

    /// The label's name as people type it (`self-harm`).
    pub fn as_str(&self) -> &'static str {
        match self {
            CwLabel::SelfHarm => "self-harm",
            CwLabel::Suicide => "suicide",
            CwLabel::Abuse => "abuse",
            CwLabel::SubstanceUse => "substance-use",
            CwLabel::Eating => "eating",
            CwLabel::Violence => "violence",
            CwLabel::Death => "death",
            CwLabel::Other(_) => "other",
        }
    }

    /// The label for a typed name, if it is one of [`CwLabel::KNOWN`].
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::KNOWN.into_iter().find(|l| l.as_str() == name)
    }
}

impl From<u8> for CwLabel {
    fn from(code: u8) -> Self {
        match code {
            0 => CwLabel::SelfHarm,
            1 => CwLabel::Suicide,
            2 => CwLabel::Abuse,
            3 => CwLabel::SubstanceUse,
            4 => CwLabel::Eating,
            5 => CwLabel::Violence,
            6 => CwLabel::Death,
            other => CwLabel::Other(other),
        }
    }
}

impl From<CwLabel> for u8 {
    fn from(label: CwLabel) -> Self {
        match label {
            CwLabel::SelfHarm => 0,
            CwLabel::Suicide => 1,
            CwLabel::Abuse => 2,
            CwLabel::SubstanceUse => 3,
            CwLabel::Eating => 4,
            CwLabel::Violence => 5,
            CwLabel::Death => 6,
            CwLabel::Other(code) => code,
        }
    }
}

/// A content warning: labels from the fixed vocabulary and an optional
/// short free text. Readers see the warning and open the post on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ContentWarning {
    /// Labels, strictly ascending by code, at most 8.
    pub labels: Vec<CwLabel>,
    /// Free text, at most 64 bytes on one line.
    pub text: Option<String>,
}

/// Most labels on one post.
pub const MAX_CW_LABELS: usize = 8;

impl ContentWarning {
    /// A warning with the given labels (sorted and deduplicated here) and
    /// optional text.
    pub fn new(labels: impl IntoIterator<Item = CwLabel>, text: Option<String>) -> Self {
        let mut labels: Vec<_> = labels.into_iter().collect();
        labels.sort_by_key(|l| u8::from(*l));
        labels.dedup();
        Self { labels, text }
    }

    fn check(&self) -> Result<(), FieldError> {
        if self.labels.is_empty() && self.text.is_none() {
            return Err(FieldError::Field(
                "content warning has neither labels nor text",
            ));
        }
        if self.labels.len() > MAX_CW_LABELS {
            return Err(FieldError::Field("content warning has more than 8 labels"));
        }
        // `Other(0)` would be sent as code 0 and read back as `SelfHarm`:
        // the signer's copy and every receiver's would differ.
        if self
            .labels
            .iter()
            .any(|l| matches!(l, CwLabel::Other(code) if CwLabel::from(*code) != *l))
        {
            return Err(FieldError::Field(
                "content-warning label Other(code) uses a known label's code",
            ));
        }
        if !self
            .labels
            .windows(2)
            .all(|w| matches!(w, [a, b] if u8::from(*a) < u8::from(*b)))
        {
            return Err(FieldError::Field(
                "content-warning labels are not in ascending order",
            ));
        }
        if let Some(text) = &self.text {
            text::check_line("content-warning text", text, MAX_CW_TEXT_BYTES)?;
        }
        Ok(())
    }
}

/// A verified post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// The channel it was written in.
    pub channel: ChannelName,
    /// The persona that signed it.
    pub author: PublicKey,
    /// When it was written, in ms since the Unix epoch (author's clock).
    pub created_ms: u64,
    /// When it stops being shown or relayed, if the author chose so.
    pub expires_ms: Option<u64>,
    /// The post it answers.
    pub reply_to: Option<MessageId>,
    /// A content warning to show before the body.
    pub content_warning: Option<ContentWarning>,
    /// A nickname the author chose for this post.
    pub nickname: Option<String>,
    /// The text.
    pub body: String,
    /// The proof-of-work nonce.
    pub nonce: u64,
}

/// The post fields in wire order, without the nonce: what the proof of work
/// covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PostFields {
    pub channel: ChannelName,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
    pub reply_to: Option<MessageId>,
    pub content_warning: Option<ContentWarning>,
    pub nickname: Option<String>,
    pub body: String,
}

/// The body of a post envelope: the fields, then the nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PostWire {
    pub fields: PostFields,
    pub nonce: u64,
}

/// A field-level problem, shared by building and validating so that both
/// apply the same rules.
#[derive(Debug)]
pub(crate) enum FieldError {
    Text(TextError),
    Field(&'static str),
}

impl From<TextError> for FieldError {
    fn from(e: TextError) -> Self {
        FieldError::Text(e)
    }
}

impl From<FieldError> for BuildError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Text(t) => BuildError::Text(t),
            FieldError::Field(f) => BuildError::Field(f),
        }
    }
}

impl PostFields {
    /// Every rule on a post's fields that needs no clock.
    pub fn check(&self) -> Result<(), FieldError> {
        text::check_multiline("post body", &self.body, MAX_BODY_BYTES)?;
        if let Some(nick) = &self.nickname {
            text::check_line("nickname", nick, MAX_NICKNAME_BYTES)?;
            if nick.trim() != nick {
                return Err(FieldError::Field(
                    "nickname starts or ends with white space",
                ));
            }
        }
        if let Some(cw) = &self.content_warning {
            cw.check()?;
        }
        if self
            .expires_ms
            .is_some_and(|expires| expires <= self.created_ms)
        {
            return Err(FieldError::Field("post expires before it was written"));
        }
        Ok(())
    }

    pub fn into_post(self, author: PublicKey, nonce: u64) -> Post {
        Post {
            channel: self.channel,
            author,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            reply_to: self.reply_to,
            content_warning: self.content_warning,
            nickname: self.nickname,
            body: self.body,
            nonce,
        }
    }
}

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
        let bytes = envelope::seal(Kind::Post, network, persona, &body);
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

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BuildError> {
    postcard::to_allocvec(value).map_err(|e| BuildError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(body: &str) -> PostDraft {
        PostDraft::new(ChannelName::parse("anxiety").unwrap(), body, 1_000)
    }

    #[test]
    fn labels_keep_their_codes_and_unknown_codes_survive() {
        for (code, label) in CwLabel::KNOWN.iter().enumerate() {
            assert_eq!(u8::from(*label) as usize, code);
            assert_eq!(CwLabel::parse(label.as_str()), Some(*label));
        }
        assert_eq!(CwLabel::from(200), CwLabel::Other(200));
        assert_eq!(u8::from(CwLabel::Other(200)), 200);
    }

    #[test]
    fn content_warning_is_sorted_and_deduplicated() {
        let cw = ContentWarning::new([CwLabel::Death, CwLabel::SelfHarm, CwLabel::Death], None);
        assert_eq!(cw.labels, vec![CwLabel::SelfHarm, CwLabel::Death]);
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
