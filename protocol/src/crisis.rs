//! Crisis-directory updates (kind 6): a new crisis line directory, signed
//! by a publisher's key (a moderator-style ed25519 key), for people who
//! chose to trust that key for it.
//!
//! The directory itself is carried as text in the format of hearth's
//! crisis line file (`crisis-lines.toml`, described in `docs/safety.md`):
//! this crate checks only what the wire needs (sizes, text rules, the
//! sequence), and the interface that shows the card checks every entry
//! (source, date, text) exactly as it checks the shipped directory. An
//! update travels on its publisher's moderator topic, like a moderator
//! list, and a higher `sequence` by the same key replaces a lower one.
//! Nothing here decides whether a person trusts a key, or applies an
//! update: both are the person's choice (`docs/protocol.md` section 23).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::FieldError;
use crate::keys::PublicKey;
use crate::limits::{MAX_CRISIS_DIRECTORY_BYTES, MAX_CRISIS_NOTE_BYTES};
use crate::text;

/// A verified crisis-directory update. A publisher makes one with
/// [`CrisisUpdate::sign`] (in [`crate::sign`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrisisUpdate {
    /// The key that signed it.
    pub publisher: PublicKey,
    /// A higher sequence by the same key replaces a lower one.
    pub sequence: u64,
    /// When it was signed, ms since the Unix epoch (not used for ordering).
    pub created_ms: u64,
    /// What changed and why, one line (may be empty).
    pub note: String,
    /// The whole directory, as the text of a crisis line file.
    pub directory: String,
}

impl CrisisUpdate {
    /// Whether this update may replace `held`: same publisher, strictly
    /// higher sequence. An equal or lower one is refused, so a replayed
    /// old update cannot undo a newer one.
    pub fn may_replace(&self, held: Option<&CrisisUpdate>) -> Result<(), CrisisUpdateError> {
        match held {
            None => Ok(()),
            Some(held) if held.publisher != self.publisher => {
                Err(CrisisUpdateError::OtherPublisher)
            }
            Some(held) if self.sequence <= held.sequence => Err(CrisisUpdateError::NotNewer {
                held: held.sequence,
                offered: self.sequence,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Why an update cannot replace the one held.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CrisisUpdateError {
    /// The held update is another publisher's.
    #[error("the update is signed by another key than the held one")]
    OtherPublisher,
    /// The offered sequence is not higher than the held one.
    #[error("update sequence {offered} is not newer than the held {held}")]
    NotNewer {
        /// The held sequence.
        held: u64,
        /// The offered sequence.
        offered: u64,
    },
}

/// The body of a crisis-directory update envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CrisisUpdateWire {
    pub sequence: u64,
    pub created_ms: u64,
    pub note: String,
    pub directory: String,
}

impl CrisisUpdateWire {
    /// The field rules of `docs/protocol.md` section 23.1, in order.
    pub(crate) fn check(&self) -> Result<(), FieldError> {
        if !self.note.is_empty() {
            text::check_line("note", &self.note, MAX_CRISIS_NOTE_BYTES)?;
        }
        text::check_multiline("directory", &self.directory, MAX_CRISIS_DIRECTORY_BYTES)?;
        Ok(())
    }

    pub(crate) fn into_update(self, publisher: PublicKey) -> CrisisUpdate {
        CrisisUpdate {
            publisher,
            sequence: self.sequence,
            created_ms: self.created_ms,
            note: self.note,
            directory: self.directory,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    fn update(publisher: u8, sequence: u64) -> CrisisUpdate {
        CrisisUpdate {
            publisher: Keypair::from_secret_bytes([publisher; 32]).public(),
            sequence,
            created_ms: 1_700_000_000_000,
            note: String::new(),
            directory: "x".to_owned(),
        }
    }

    #[test]
    fn only_a_higher_sequence_by_the_same_key_replaces() {
        assert!(update(1, 1).may_replace(None).is_ok());
        assert!(update(1, 2).may_replace(Some(&update(1, 1))).is_ok());
        assert_eq!(
            update(1, 1).may_replace(Some(&update(1, 1))),
            Err(CrisisUpdateError::NotNewer {
                held: 1,
                offered: 1
            })
        );
        assert_eq!(
            update(1, 1).may_replace(Some(&update(1, 5))),
            Err(CrisisUpdateError::NotNewer {
                held: 5,
                offered: 1
            })
        );
        assert_eq!(
            update(2, 9).may_replace(Some(&update(1, 1))),
            Err(CrisisUpdateError::OtherPublisher)
        );
    }

    #[test]
    fn field_rules_hold() {
        let wire = |note: &str, directory: &str| CrisisUpdateWire {
            sequence: 1,
            created_ms: 0,
            note: note.to_owned(),
            directory: directory.to_owned(),
        };
        assert!(wire("", "[[line]]\ncountry = \"GB\"\n").check().is_ok());
        assert!(wire("Samaritans' hours", "a").check().is_ok());
        assert!(wire("", "").check().is_err(), "an empty directory");
        assert!(wire("two\nlines", "a").check().is_err());
        assert!(
            wire(&"n".repeat(MAX_CRISIS_NOTE_BYTES + 1), "a")
                .check()
                .is_err()
        );
        assert!(
            wire("", &"d".repeat(MAX_CRISIS_DIRECTORY_BYTES))
                .check()
                .is_ok()
        );
        assert!(
            wire("", &"d".repeat(MAX_CRISIS_DIRECTORY_BYTES + 1))
                .check()
                .is_err()
        );
        assert!(wire("", "bell \u{7}").check().is_err());
    }
}
