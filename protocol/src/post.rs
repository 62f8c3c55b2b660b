//! Posts: what a person writes in a channel, signed by their persona.
//!
//! This module holds a post's content and wire form and the rules on its
//! fields; [`crate::sign`] writes new posts ([`crate::PostDraft`]) and
//! [`crate::validate`](mod@crate::validate) reads received ones.

use serde::{Deserialize, Serialize};

use crate::channel::ChannelName;
use crate::envelope::MessageId;
use crate::error::FieldError;
use crate::keys::PublicKey;
use crate::limits::{MAX_BODY_BYTES, MAX_CW_TEXT_BYTES, MAX_NICKNAME_BYTES};
use crate::stamp::PersonaStamp;
use crate::text;

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
    /// Not a warning: the post was written by software that posts
    /// automatically (a bot). Interfaces show it and do not fold the post
    /// for it; version-2 nodes that predate it show it as "other".
    Automated,
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
            CwLabel::Automated => "automated",
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
            7 => CwLabel::Automated,
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
            CwLabel::Automated => 7,
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

    /// The warning of a post written by software: only the
    /// [`CwLabel::Automated`] label.
    pub fn automated() -> Self {
        Self::new([CwLabel::Automated], None)
    }

    /// Whether the post is marked as written by software.
    pub fn is_automated(&self) -> bool {
        self.labels.contains(&CwLabel::Automated)
    }

    /// Whether there is anything to warn about: a label other than
    /// [`CwLabel::Automated`], or a text. A post marked only as automated
    /// is not folded.
    pub fn warns(&self) -> bool {
        self.text.is_some() || self.labels.iter().any(|l| *l != CwLabel::Automated)
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
    /// The persona stamp: proof that the author's key was paid for
    /// ([`crate::stamp`]). Checked by validation at the level the context
    /// asks.
    pub persona_stamp: PersonaStamp,
    /// The proof-of-work nonce.
    pub nonce: u64,
}

/// The post fields in wire order, without the nonce: what the proof of work
/// covers (the persona stamp included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PostFields {
    pub channel: ChannelName,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
    pub reply_to: Option<MessageId>,
    pub content_warning: Option<ContentWarning>,
    pub nickname: Option<String>,
    pub body: String,
    pub persona_stamp: PersonaStamp,
}

/// The body of a post envelope: the fields, then the nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PostWire {
    pub fields: PostFields,
    pub nonce: u64,
}

impl PostFields {
    /// Every rule on a post's fields that needs no clock.
    pub(crate) fn check(&self) -> Result<(), FieldError> {
        text::check_multiline("post body", &self.body, MAX_BODY_BYTES)?;
        if let Some(nick) = &self.nickname {
            text::check_nickname(nick, MAX_NICKNAME_BYTES).map_err(|e| match e {
                text::NicknameError::Text(t) => FieldError::Text(t),
                text::NicknameError::Padded => FieldError::Field(text::NICKNAME_PADDED),
            })?;
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

    pub(crate) fn into_post(self, author: PublicKey, nonce: u64) -> Post {
        Post {
            channel: self.channel,
            author,
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            reply_to: self.reply_to,
            content_warning: self.content_warning,
            nickname: self.nickname,
            body: self.body,
            persona_stamp: self.persona_stamp,
            nonce,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
