//! The signed envelope that carries every message kind, message ids, and
//! the canonical encoding of the bodies inside.
//!
//! Layout (all integers are postcard varints unless a width is given):
//!
//! ```text
//! envelope  = version:u8  kind:u8  varint(len) network  signer:[u8;32]
//!             varint(len) body  signature:[u8;64]
//! signed    = "hearth/sig/1" || envelope without its last 64 bytes
//! id        = SHA-256(envelope)
//! ```
//!
//! This is exactly postcard's encoding of the struct
//! `{ version: u8, kind: u8, network: String, signer: [u8; 32], body: Vec<u8>,
//! signature: [u8; 64] }`, written out by hand because the signature is wider
//! than serde's arrays and because the decoder must refuse non-minimal
//! varints: one message has one encoding, so one id.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::channel::NetworkId;
use crate::error::{BuildError, KeyParseError, ValidationError};
use crate::hash::{push_varint, sha256};
use crate::keys::{Keypair, PublicKey, parse_hex32};
use crate::limits::{
    MAX_CARD_BYTES, MAX_CRISIS_UPDATE_BYTES, MAX_MESSAGE_BYTES, MAX_MODERATOR_LIST_BYTES,
    MAX_POST_BYTES, MAX_PRESENCE_BYTES, MAX_REPORT_BYTES,
};

/// The envelope version this code writes and reads. Version 2 added the
/// persona stamp to the post body; version-1 envelopes are refused as
/// [`ValidationError::UnknownVersion`].
pub const ENVELOPE_VERSION: u8 = 2;

/// Domain-separation tag prefixed to the bytes every signature covers.
pub const SIGNATURE_TAG: &[u8] = b"hearth/sig/1";

/// The kinds of signed message. New kinds get new numbers; a node that does
/// not know a kind refuses it with [`ValidationError::UnknownKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A post in a channel.
    Post = 1,
    /// A moderator's signed blocklist.
    ModeratorList = 2,
    /// A report sealed to moderators ([`crate::report`]).
    Report = 3,
    /// A channel's card, signed by its founding moderator key.
    ChannelCard = 4,
    /// A moderator's presence heartbeat in a channel.
    ModeratorPresence = 5,
    /// A crisis-directory update, signed by its publisher's key.
    CrisisUpdate = 6,
}

impl Kind {
    /// The wire number of this kind.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The kind for a wire number.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Kind::Post),
            2 => Some(Kind::ModeratorList),
            3 => Some(Kind::Report),
            4 => Some(Kind::ChannelCard),
            5 => Some(Kind::ModeratorPresence),
            6 => Some(Kind::CrisisUpdate),
            _ => None,
        }
    }

    /// The largest envelope of this kind.
    pub fn max_bytes(self) -> usize {
        match self {
            Kind::Post => MAX_POST_BYTES,
            Kind::ModeratorList => MAX_MODERATOR_LIST_BYTES,
            Kind::Report => MAX_REPORT_BYTES,
            Kind::ChannelCard => MAX_CARD_BYTES,
            Kind::ModeratorPresence => MAX_PRESENCE_BYTES,
            Kind::CrisisUpdate => MAX_CRISIS_UPDATE_BYTES,
        }
    }
}

/// The id of a message: SHA-256 of its complete envelope bytes. Used as the
/// gossipsub message id, the store key and the sync cursor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The id of the given envelope bytes.
    pub fn of(envelope: &[u8]) -> Self {
        MessageId(sha256(&[envelope]))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 hex digits, for people (`/reply 3f2a9c1d`).
    pub fn short(&self) -> String {
        hex::encode(self.0.get(..4).unwrap_or_default())
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.short())
    }
}

impl FromStr for MessageId {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex32(s).map(MessageId)
    }
}

/// The key an envelope names as its signer (a post's author), read
/// within the size limits but without checking the signature or decoding
/// the body. For local bookkeeping of bytes that were validated before
/// they were stored (which persona holds how much of a channel's disk
/// budget); never a reason to trust anything.
pub fn signer_of(bytes: &[u8]) -> Result<PublicKey, ValidationError> {
    RawEnvelope::parse(bytes).map(|raw| raw.signer)
}

/// An envelope split into its parts, borrowed from the input bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEnvelope<'a> {
    pub kind: Kind,
    pub network: &'a str,
    pub signer: PublicKey,
    pub body: &'a [u8],
    /// Everything before the signature: what the signature covers, after
    /// the tag.
    pub signed_part: &'a [u8],
    pub signature: [u8; 64],
}

impl<'a> RawEnvelope<'a> {
    /// Splits `bytes` into an envelope, enforcing the size limits before
    /// anything is decoded and refusing any encoding that is not the one
    /// canonical form.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, ValidationError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ValidationError::TooLarge {
                size: bytes.len(),
                limit: MAX_MESSAGE_BYTES,
            });
        }
        let mut reader = Reader { bytes, pos: 0 };
        let version = reader.u8()?;
        if version != ENVELOPE_VERSION {
            return Err(ValidationError::UnknownVersion(version));
        }
        let code = reader.u8()?;
        let kind = Kind::from_code(code).ok_or(ValidationError::UnknownKind(code))?;
        if bytes.len() > kind.max_bytes() {
            return Err(ValidationError::TooLarge {
                size: bytes.len(),
                limit: kind.max_bytes(),
            });
        }
        let network_bytes = reader.len_prefixed()?;
        let network = std::str::from_utf8(network_bytes)
            .map_err(|_| ValidationError::Malformed("network id is not UTF-8"))?;
        let signer = PublicKey(reader.array::<32>()?);
        let body = reader.len_prefixed()?;
        let signed_len = reader.pos;
        let signature = reader.array::<64>()?;
        if reader.pos != bytes.len() {
            return Err(ValidationError::Malformed(
                "trailing bytes after the signature",
            ));
        }
        let signed_part = bytes
            .get(..signed_len)
            .ok_or(ValidationError::Malformed("truncated"))?;
        Ok(Self {
            kind,
            network,
            signer,
            body,
            signed_part,
            signature,
        })
    }

    /// Checks the signature over the tag and the signed part.
    pub(crate) fn verify(&self) -> Result<(), ValidationError> {
        let mut message = Vec::with_capacity(SIGNATURE_TAG.len() + self.signed_part.len());
        message.extend_from_slice(SIGNATURE_TAG);
        message.extend_from_slice(self.signed_part);
        if self.signer.verify(&message, &self.signature) {
            Ok(())
        } else {
            Err(ValidationError::BadSignature)
        }
    }
}

/// Builds and signs an envelope around an encoded body.
pub(crate) fn seal(kind: Kind, network: &NetworkId, signer: &Keypair, body: &[u8]) -> Vec<u8> {
    let network = network.as_str().as_bytes();
    let mut out = Vec::with_capacity(2 + 5 + network.len() + 32 + 5 + body.len() + 64);
    out.push(ENVELOPE_VERSION);
    out.push(kind.code());
    push_varint(&mut out, network.len());
    out.extend_from_slice(network);
    out.extend_from_slice(signer.public().as_bytes());
    push_varint(&mut out, body.len());
    out.extend_from_slice(body);
    let mut message = Vec::with_capacity(SIGNATURE_TAG.len() + out.len());
    message.extend_from_slice(SIGNATURE_TAG);
    message.extend_from_slice(&out);
    out.extend_from_slice(&signer.sign(&message));
    out
}

/// Encodes a message body (postcard) for [`seal`].
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BuildError> {
    postcard::to_allocvec(value).map_err(|e| BuildError::Encode(e.to_string()))
}

/// Decodes a postcard body and refuses it unless re-encoding gives the
/// same bytes: one message, one encoding, one id.
pub(crate) fn decode_canonical<T: DeserializeOwned + Serialize>(
    body: &[u8],
) -> Result<T, ValidationError> {
    let value: T = postcard::from_bytes(body)
        .map_err(|_| ValidationError::Malformed("body does not decode"))?;
    let again = postcard::to_allocvec(&value)
        .map_err(|_| ValidationError::Malformed("body does not re-encode"))?;
    if again != body {
        return Err(ValidationError::Malformed(
            "body is not in canonical encoding",
        ));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ValidationError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ValidationError::Malformed("length overflow"))?;
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or(ValidationError::Malformed("truncated"))?;
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, ValidationError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ValidationError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// A minimal unsigned LEB128 varint of at most 32 bits.
    fn varint(&mut self) -> Result<usize, ValidationError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.u8()?;
            let bits = u32::from(byte & 0x7f);
            if i == 4 && bits > 0x0f {
                return Err(ValidationError::Malformed("length varint too large"));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if i > 0 && byte == 0 {
                    return Err(ValidationError::Malformed("non-minimal length varint"));
                }
                return usize::try_from(value)
                    .map_err(|_| ValidationError::Malformed("length varint too large"));
            }
        }
        Err(ValidationError::Malformed("length varint too long"))
    }

    fn len_prefixed(&mut self) -> Result<&'a [u8], ValidationError> {
        let len = self.varint()?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> Vec<u8> {
        let key = Keypair::from_secret_bytes([9; 32]);
        seal(Kind::Post, &NetworkId::default(), &key, &[1, 2, 3])
    }

    #[test]
    fn the_signer_is_read_without_verifying() {
        let key = Keypair::from_secret_bytes([9; 32]);
        let bytes = sealed();
        assert_eq!(signer_of(&bytes).unwrap(), key.public());
        assert!(signer_of(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn sealed_envelope_parses_and_verifies() {
        let bytes = sealed();
        let raw = RawEnvelope::parse(&bytes).unwrap();
        assert_eq!(raw.kind, Kind::Post);
        assert_eq!(raw.network, "main");
        assert_eq!(raw.body, &[1, 2, 3]);
        raw.verify().unwrap();
    }

    #[test]
    fn unknown_version_and_kind_are_typed_errors() {
        for old_or_new in [1, 3] {
            let mut bytes = sealed();
            bytes[0] = old_or_new;
            assert_eq!(
                RawEnvelope::parse(&bytes).unwrap_err(),
                ValidationError::UnknownVersion(old_or_new)
            );
        }
        let mut bytes = sealed();
        bytes[1] = 77;
        assert_eq!(
            RawEnvelope::parse(&bytes).unwrap_err(),
            ValidationError::UnknownKind(77)
        );
    }

    #[test]
    fn non_minimal_varints_and_trailing_bytes_are_refused() {
        let bytes = sealed();
        // Re-encode the network length (4) as the two-byte form 0x84 0x00.
        let mut padded = bytes[..2].to_vec();
        padded.extend_from_slice(&[0x84, 0x00]);
        padded.extend_from_slice(&bytes[3..]);
        assert!(matches!(
            RawEnvelope::parse(&padded),
            Err(ValidationError::Malformed(_))
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            RawEnvelope::parse(&trailing),
            Err(ValidationError::Malformed(_))
        ));
    }

    #[test]
    fn every_truncation_is_refused_without_panic() {
        let bytes = sealed();
        for len in 0..bytes.len() {
            assert!(RawEnvelope::parse(&bytes[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let bytes = vec![1u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            RawEnvelope::parse(&bytes),
            Err(ValidationError::TooLarge { .. })
        ));
        let mut post = vec![ENVELOPE_VERSION, Kind::Post.code()];
        post.resize(MAX_POST_BYTES + 1, 0);
        assert_eq!(
            RawEnvelope::parse(&post).unwrap_err(),
            ValidationError::TooLarge {
                size: MAX_POST_BYTES + 1,
                limit: MAX_POST_BYTES
            }
        );
    }

    #[test]
    fn message_id_text_round_trips() {
        let id = MessageId::of(b"x");
        assert_eq!(id.to_string().parse::<MessageId>().unwrap(), id);
        assert_eq!(id.short().len(), 8);
    }
}
