//! The pure core of hearth: everything that can be decided from bytes, a
//! clock reading and a random source given as arguments.
//!
//! This crate holds the wire format ([`envelope`]), throwaway personas and
//! long-lived moderator keys ([`keys`]), posts ([`post`]), channel names and
//! gossipsub topics ([`channel`]), proof of work on posts ([`pow`]), the
//! one-time persona stamp that makes every new persona cost CPU time
//! ([`stamp`]), moderation lists with their compiled matcher
//! ([`moderation`]), channel cards ([`card`]) and moderator presence
//! heartbeats ([`presence`]), crisis-directory updates ([`crisis`]), a
//! message of any kind ([`message`]), signing new
//! messages ([`sign`]), the one validation function every received
//! byte goes through ([`validate`](mod@validate)), and reports sealed to
//! moderators ([`report`]), which are checked on their own path.
//!
//! # Module order
//!
//! The modules form a straight line: each one uses only modules before it
//! (`use crate::…`), never one after it, so there is no cycle.
//!
//! ```text
//! error → hash → limits → names → text → keys → channel → pow → stamp
//!       → envelope → post → moderation → card → presence → crisis → message → sign
//!       → validate → report
//! ```
//!
//! `error`, `hash` and `limits` depend on nothing in the crate; `envelope`
//! is the wire format and body encoding; `post` and `moderation` are the
//! content of each kind and its field rules; `message` holds every kind
//! ([`Message`], [`SignedMessage`]); `sign` and `validate` are the two ways
//! a message comes to exist, writing and receiving.
//!
//! It performs no I/O, reads no clock and draws no randomness of its own:
//! `now` and RNGs are parameters, so every function here is deterministic and
//! can be tested, fuzzed and reused by other implementations.
//!
//! ```
//! use hearth_protocol::{ChannelName, Keypair, Limits, NetworkId, PostDraft, ValidationContext, validate};
//!
//! let network = NetworkId::default();
//! let channel = ChannelName::parse("Grief/ES").unwrap();
//! let persona = Keypair::from_secret_bytes([7; 32]);
//! let now_ms = 1_700_000_000_000;
//! let draft = PostDraft::new(channel.clone(), "I'm here too.", now_ms);
//! let signed = draft.sign(&persona, &network, 0).unwrap();
//!
//! let limits = Limits::default();
//! let ctx = ValidationContext::new(&network, now_ms, &limits).channel(&channel);
//! let verified = validate(&signed.bytes, &ctx).unwrap();
//! assert_eq!(verified.id, signed.id);
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod card;
pub mod channel;
pub mod crisis;
pub mod envelope;
pub mod error;
mod hash;
pub mod keys;
pub mod limits;
pub mod message;
pub mod moderation;
pub mod names;
pub mod post;
pub mod pow;
pub mod presence;
pub mod report;
pub mod sign;
pub mod stamp;
pub mod text;
pub mod validate;

pub use card::{AgeGroup, CardUpdateError, ChannelCard};
pub use channel::{ChannelName, NetworkId, Topic};
pub use crisis::{CrisisUpdate, CrisisUpdateError};
pub use envelope::{Kind, MessageId, signer_of};
pub use error::{BuildError, ChannelNameError, TextError, ValidationError};
pub use keys::{Keypair, PublicKey};
pub use limits::{DEFAULT_PERSONA_STAMP_BITS, Limits};
pub use message::{Message, SignedMessage};
pub use moderation::{
    BlockEntry, BlockTarget, ListId, ModeratorList, Policy, PolicyError, PolicyList, Scope, Verdict,
};
pub use names::{Fingerprint, PaletteColour, fingerprint};
pub use post::{ContentWarning, CwLabel, Post};
pub use presence::ModeratorPresence;
pub use sign::{CardDraft, PostDraft};
pub use stamp::{PersonaStamp, StampSearch, stamp_persona};
pub use validate::{ValidationContext, Verified, open, open_stored, validate};
