//! Signing keys: throwaway personas that sign posts, and long-lived
//! moderator keys that sign blocklists.
//!
//! Both are plain ed25519 keys. A persona is created from a caller-supplied
//! RNG and is never derived from, or linked to, the libp2p peer key: dropping
//! it leaves nothing behind that ties a person's old posts to new ones.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::error::KeyParseError;
use crate::names;

/// An ed25519 signing key: a persona when it signs posts, a moderator key
/// when it signs moderator lists.
///
/// Its secret bytes can be stored with [`Keypair::secret_bytes`] and restored
/// with [`Keypair::from_secret_bytes`]; the key is zeroised when dropped.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// Creates a fresh key from the given cryptographically secure RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            signing: SigningKey::generate(rng),
        }
    }

    /// Restores a key from its 32 secret bytes (the ed25519 seed).
    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&secret),
        }
    }

    /// The 32 secret bytes, for storage. Treat them like a password.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public half, which travels in every message this key signs.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for Keypair {
    // Never print secret material, not even in debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// An ed25519 public key: the author of a post or the owner of a moderator
/// list. Shown to people by its [`name`](PublicKey::name), written in full as
/// 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A short human-readable name derived from the key, such as
    /// `calm-otter-3f2a9c`, so people can recognise each other without
    /// accounts. Two keys can share a name by chance (1 in 2^36); the full
    /// key is what blocklists use.
    pub fn name(&self) -> String {
        names::name_for_key(&self.0)
    }

    /// The key's visual fingerprint, a coloured glyph that interfaces show
    /// beside its [`name`](PublicKey::name), so that a second key with the
    /// same name still looks different.
    pub fn fingerprint(&self) -> names::Fingerprint {
        names::fingerprint(&self.0)
    }

    /// Checks a detached signature by this key over `message`, refusing
    /// non-canonical signatures and weak keys so a signature cannot be
    /// altered into a second valid one.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        #[cfg(test)]
        crate::hash::counters::count_verify();
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.name())
    }
}

impl FromStr for PublicKey {
    type Err = KeyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex32(s).map(PublicKey)
    }
}

/// Parses exactly 64 hex digits into 32 bytes.
pub(crate) fn parse_hex32(s: &str) -> Result<[u8; 32], KeyParseError> {
    let s = s.trim();
    if s.len() != 64 {
        return Err(KeyParseError::Length(s.len()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| KeyParseError::NotHex)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_bytes_round_trip_to_the_same_public_key() {
        let key = Keypair::from_secret_bytes([1; 32]);
        let again = Keypair::from_secret_bytes(key.secret_bytes());
        assert_eq!(key.public(), again.public());
    }

    #[test]
    fn public_key_text_round_trips_and_rejects_bad_input() {
        let key = Keypair::from_secret_bytes([2; 32]).public();
        assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
        assert_eq!("abc".parse::<PublicKey>(), Err(KeyParseError::Length(3)));
        assert_eq!(
            "zz".repeat(32).parse::<PublicKey>(),
            Err(KeyParseError::NotHex)
        );
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let key = Keypair::from_secret_bytes([3; 32]);
        let debug = format!("{key:?}");
        assert!(!debug.contains(&hex::encode([3u8; 32])));
        assert!(debug.contains(&key.public().name()));
    }

    #[test]
    fn signature_verifies_only_for_its_message_and_key() {
        let key = Keypair::from_secret_bytes([4; 32]);
        let sig = key.sign(b"hello");
        assert!(key.public().verify(b"hello", &sig));
        assert!(!key.public().verify(b"hellO", &sig));
        let other = Keypair::from_secret_bytes([5; 32]).public();
        assert!(!other.verify(b"hello", &sig));
    }
}
