//! The one path from received bytes to a verified message.
//!
//! [`validate()`] is what a node runs on every gossiped message. Every
//! cheap check comes before the one expensive check, the ed25519
//! signature: size limits before decoding, version and kind, envelope
//! structure, network, the kind of topic, canonical body encoding, field
//! rules, channel, time window, expiry, then the persona stamp and the
//! post's proof of work (one hash each), and only then the signature. A
//! message refused by any earlier check costs at most those hashes, never
//! a signature check. The order is the table of `docs/protocol.md`
//! section 14.2, and it decides which error a message with several defects
//! gets: a stale post with a bad signature is `TooOld`.
//!
//! [`open`] runs the same checks minus the clock, the topic and the work,
//! for bytes a node reads back from its own store or from history sync.

use crate::card::ChannelCardWire;
use crate::channel::{ChannelName, NetworkId};
use crate::crisis::CrisisUpdateWire;
use crate::envelope::{Kind, MessageId, RawEnvelope, decode_canonical};
use crate::error::ValidationError;
use crate::keys::PublicKey;
use crate::limits::{Limits, MAX_PERSONA_STAMP_BITS, MAX_POW_DIFFICULTY, MAX_PRESENCE_AGE_MS};
use crate::message::{Message, SignedMessage};
use crate::moderation::ModeratorListWire;
use crate::post::PostWire;
use crate::pow::{WorkPrefix, leading_zero_bits};
use crate::presence::PresenceWire;
use crate::stamp::stamp_hash;

/// Reports are sealed and never stored as messages: nodes check them with
/// [`crate::report::check_report`] (section 20 of `docs/protocol.md`).
const REPORT_IS_NOT_A_MESSAGE: ValidationError =
    ValidationError::Field("a report is checked with report::check_report");

/// A verified message; the same type that signing returns.
pub type Verified = SignedMessage;

/// What a validation is checked against: this node's network, its clock
/// reading, its time limits, and what the topic the bytes arrived on
/// promises.
#[derive(Debug, Clone, Copy)]
pub struct ValidationContext<'a> {
    /// This node's network.
    pub network: &'a NetworkId,
    /// The current time in ms since the Unix epoch.
    pub now_ms: u64,
    /// The time window.
    pub limits: &'a Limits,
    /// The channel of the topic a post arrived on, if any.
    pub channel: Option<&'a ChannelName>,
    /// The moderator of the topic a list arrived on, if any.
    pub moderator: Option<&'a PublicKey>,
    /// Leading zero bits of proof of work a post must carry.
    pub pow_difficulty: u8,
    /// Leading zero bits the persona stamp of a post must reach (see
    /// [`crate::stamp`]); 0 checks nothing.
    pub persona_stamp_bits: u8,
}

impl<'a> ValidationContext<'a> {
    /// A context with no topic constraint, no proof of work and persona
    /// stamp level 0. A node enforcing the protocol's rule sets the level
    /// with [`persona_stamp_bits`](Self::persona_stamp_bits), normally to
    /// [`crate::limits::DEFAULT_PERSONA_STAMP_BITS`].
    pub fn new(network: &'a NetworkId, now_ms: u64, limits: &'a Limits) -> Self {
        Self {
            network,
            now_ms,
            limits,
            channel: None,
            moderator: None,
            pow_difficulty: 0,
            persona_stamp_bits: 0,
        }
    }

    /// Posts must belong to `channel`.
    pub fn channel(mut self, channel: &'a ChannelName) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Moderator lists must be signed by `moderator`.
    pub fn moderator(mut self, moderator: &'a PublicKey) -> Self {
        self.moderator = Some(moderator);
        self
    }

    /// Posts must carry `bits` leading zero bits of proof of work (capped at
    /// the protocol maximum of 32).
    pub fn difficulty(mut self, bits: u8) -> Self {
        self.pow_difficulty = bits.min(MAX_POW_DIFFICULTY);
        self
    }

    /// Posts' persona stamps must reach `bits` leading zero bits (capped at
    /// the protocol maximum of 40).
    pub fn persona_stamp_bits(mut self, bits: u8) -> Self {
        self.persona_stamp_bits = bits.min(MAX_PERSONA_STAMP_BITS);
        self
    }
}

/// Validates received bytes completely, cheapest checks first and the
/// signature last. Deterministic; never panics.
pub fn validate(bytes: &[u8], ctx: &ValidationContext<'_>) -> Result<Verified, ValidationError> {
    let raw = envelope(bytes, ctx.network)?;
    // The kind of topic needs only the envelope: refuse before decoding.
    match raw.kind {
        Kind::Post => {
            if ctx.moderator.is_some() {
                return Err(ValidationError::Field("post on a moderator topic"));
            }
        }
        Kind::ModeratorList => {
            if ctx.channel.is_some() {
                return Err(ValidationError::Field("moderator list on a channel topic"));
            }
            if ctx.moderator.is_some_and(|m| m != &raw.signer) {
                return Err(ValidationError::Field(
                    "moderator list signed by another key than its topic names",
                ));
            }
        }
        // Travels on its publisher's moderator topic, like a list.
        Kind::CrisisUpdate => {
            if ctx.channel.is_some() {
                return Err(ValidationError::Field(
                    "crisis-directory update on a channel topic",
                ));
            }
            if ctx.moderator.is_some_and(|m| m != &raw.signer) {
                return Err(ValidationError::Field(
                    "crisis-directory update signed by another key than its topic names",
                ));
            }
        }
        Kind::Report => return Err(REPORT_IS_NOT_A_MESSAGE),
        // Cards and heartbeats are about a channel: they travel on its topic.
        Kind::ChannelCard | Kind::ModeratorPresence => {
            if ctx.moderator.is_some() {
                return Err(ValidationError::Field(
                    "channel card or presence on a moderator topic",
                ));
            }
        }
    }
    let message = body(&raw)?;
    match &message {
        Message::Post(post) => {
            if let Some(expected) = ctx.channel
                && &post.channel != expected
            {
                return Err(ValidationError::WrongChannel {
                    expected: expected.to_string(),
                    found: post.channel.to_string(),
                });
            }
            check_time(post.created_ms, ctx)?;
            let age = ctx.now_ms.saturating_sub(post.created_ms);
            if age > ctx.limits.max_age_ms {
                return Err(ValidationError::TooOld { age_ms: age });
            }
            if post.expires_ms.is_some_and(|e| e <= ctx.now_ms) {
                return Err(ValidationError::Expired);
            }
            // The stamp hash is short (two SHA-256 blocks), the work hash
            // covers the whole post: the shorter one first.
            if ctx.persona_stamp_bits > 0 {
                let found =
                    leading_zero_bits(&stamp_hash(post.persona_stamp.0, raw.network, &raw.signer));
                if found < ctx.persona_stamp_bits {
                    return Err(ValidationError::InsufficientPersonaStamp {
                        required: ctx.persona_stamp_bits,
                        found,
                    });
                }
            }
            if ctx.pow_difficulty > 0 {
                let fields_len = raw.body.len().saturating_sub(varint_len(post.nonce));
                let fields = raw.body.get(..fields_len).unwrap_or_default();
                let found = WorkPrefix::new(&raw.signer, raw.network, fields).bits(post.nonce);
                if found < ctx.pow_difficulty {
                    return Err(ValidationError::InsufficientWork {
                        required: ctx.pow_difficulty,
                        found,
                    });
                }
            }
        }
        Message::ModeratorList(list) => {
            // Lists stay in force for long, so only the future is bounded.
            check_time(list.created_ms, ctx)?;
        }
        Message::CrisisUpdate(update) => {
            // In force until replaced, like a list.
            check_time(update.created_ms, ctx)?;
        }
        Message::ChannelCard(card) => {
            check_channel(&card.channel, ctx)?;
            // A card stays in force until replaced, like a list.
            check_time(card.created_ms, ctx)?;
        }
        Message::ModeratorPresence(presence) => {
            check_channel(&presence.channel, ctx)?;
            check_time(presence.created_ms, ctx)?;
            let age = ctx.now_ms.saturating_sub(presence.created_ms);
            if age > MAX_PRESENCE_AGE_MS {
                return Err(ValidationError::TooOld { age_ms: age });
            }
        }
    }
    // Last: the only check that costs more than a hash.
    raw.verify()?;
    Ok(Verified {
        id: MessageId::of(bytes),
        bytes: bytes.to_vec(),
        message,
    })
}

/// Checks structure, canonical encoding, network, fields and signature,
/// but not time, topic, persona stamp or proof of work: for bytes read
/// back from storage.
pub fn open(bytes: &[u8], network: &NetworkId) -> Result<Verified, ValidationError> {
    let raw = envelope(bytes, network)?;
    let message = body(&raw)?;
    raw.verify()?;
    Ok(Verified {
        id: MessageId::of(bytes),
        bytes: bytes.to_vec(),
        message,
    })
}

/// [`open`] without the signature check: structure, canonical encoding,
/// network and fields. Only for bytes that passed [`validate`] or [`open`]
/// before they were stored, read back from the same store: the signature
/// costs most of `open` and cannot have changed since.
pub fn open_stored(bytes: &[u8], network: &NetworkId) -> Result<Verified, ValidationError> {
    let raw = envelope(bytes, network)?;
    let message = body(&raw)?;
    Ok(Verified {
        id: MessageId::of(bytes),
        bytes: bytes.to_vec(),
        message,
    })
}

/// A message about a channel must name the channel of its topic.
fn check_channel(
    channel: &ChannelName,
    ctx: &ValidationContext<'_>,
) -> Result<(), ValidationError> {
    if let Some(expected) = ctx.channel
        && channel != expected
    {
        return Err(ValidationError::WrongChannel {
            expected: expected.to_string(),
            found: channel.to_string(),
        });
    }
    Ok(())
}

fn check_time(created_ms: u64, ctx: &ValidationContext<'_>) -> Result<(), ValidationError> {
    let ahead = created_ms.saturating_sub(ctx.now_ms);
    if ahead > ctx.limits.max_clock_skew_ms {
        return Err(ValidationError::FromFuture { ahead_ms: ahead });
    }
    Ok(())
}

/// Size limits, version, kind, structure and network.
fn envelope<'a>(bytes: &'a [u8], network: &NetworkId) -> Result<RawEnvelope<'a>, ValidationError> {
    let raw = RawEnvelope::parse(bytes)?;
    if raw.network != network.as_str() {
        return Err(ValidationError::WrongNetwork {
            expected: network.to_string(),
            found: raw.network.chars().take(64).collect(),
        });
    }
    Ok(raw)
}

/// The canonical body and its field rules, not yet the signature.
fn body(raw: &RawEnvelope<'_>) -> Result<Message, ValidationError> {
    Ok(match raw.kind {
        Kind::Post => {
            let wire: PostWire = decode_canonical(raw.body)?;
            wire.fields.check()?;
            Message::Post(wire.fields.into_post(raw.signer, wire.nonce))
        }
        Kind::ModeratorList => {
            let wire: ModeratorListWire = decode_canonical(raw.body)?;
            wire.check()?;
            Message::ModeratorList(wire.into_list(raw.signer))
        }
        Kind::Report => return Err(REPORT_IS_NOT_A_MESSAGE),
        Kind::ChannelCard => {
            let wire: ChannelCardWire = decode_canonical(raw.body)?;
            wire.check()?;
            Message::ChannelCard(wire.into_card(raw.signer))
        }
        Kind::ModeratorPresence => {
            let wire: PresenceWire = decode_canonical(raw.body)?;
            Message::ModeratorPresence(wire.into_presence(raw.signer))
        }
        Kind::CrisisUpdate => {
            let wire: CrisisUpdateWire = decode_canonical(raw.body)?;
            wire.check()?;
            Message::CrisisUpdate(wire.into_update(raw.signer))
        }
    })
}

/// Bytes of the postcard varint encoding of `value`.
fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    //! The order of checks: which error a message with two defects gets,
    //! and proof that a message refused by a cheap check never reached the
    //! signature check.

    use super::*;
    use crate::envelope::{encode, seal};
    use crate::hash::counters;
    use crate::keys::Keypair;
    use crate::post::PostFields;
    use crate::stamp::PersonaStamp;

    const NOW: u64 = 1_700_000_000_000;
    const DAY: u64 = 24 * 60 * 60 * 1000;

    /// One defect, in the order the checks run (section 14.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Defect {
        WrongNetwork,
        PostOnModeratorTopic,
        InvisibleBody,
        WrongChannel,
        FromFuture,
        TooOld,
        Expired,
        WeakStamp,
        WeakWork,
        BadSignature,
    }

    const ALL: [Defect; 10] = [
        Defect::WrongNetwork,
        Defect::PostOnModeratorTopic,
        Defect::InvisibleBody,
        Defect::WrongChannel,
        Defect::FromFuture,
        Defect::TooOld,
        Defect::Expired,
        Defect::WeakStamp,
        Defect::WeakWork,
        Defect::BadSignature,
    ];

    impl Defect {
        /// The variant name the defect is reported as.
        fn error(self) -> &'static str {
            match self {
                Defect::WrongNetwork => "WrongNetwork",
                Defect::PostOnModeratorTopic => "Field",
                Defect::InvisibleBody => "Text",
                Defect::WrongChannel => "WrongChannel",
                Defect::FromFuture => "FromFuture",
                Defect::TooOld => "TooOld",
                Defect::Expired => "Expired",
                Defect::WeakStamp => "InsufficientPersonaStamp",
                Defect::WeakWork => "InsufficientWork",
                Defect::BadSignature => "BadSignature",
            }
        }

        /// Defects that set the same field cannot be combined.
        fn clock(self) -> bool {
            matches!(self, Defect::FromFuture | Defect::TooOld | Defect::Expired)
        }
    }

    fn variant(e: &ValidationError) -> String {
        format!("{e:?}")
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect()
    }

    /// A post with `defects`, validated by a node of network `main` on the
    /// topic of `anxiety` at `NOW` asking 16 bits of stamp and of work. The
    /// stamp and the work are real unless a defect weakens them, and the
    /// signature is real unless `BadSignature`.
    fn check(defects: &[Defect]) -> (Result<Verified, ValidationError>, (u64, u64)) {
        let has = |d| defects.contains(&d);
        let key = Keypair::from_secret_bytes([5; 32]);
        let network = NetworkId::default();
        let msg_network = if has(Defect::WrongNetwork) {
            NetworkId::parse("test").unwrap()
        } else {
            network.clone()
        };
        let created_ms = if has(Defect::FromFuture) {
            NOW + 10 * 60 * 1000
        } else if has(Defect::TooOld) {
            NOW - 31 * DAY
        } else {
            NOW - 1_000
        };
        let channel = ChannelName::parse(if has(Defect::WrongChannel) {
            "grief"
        } else {
            "anxiety"
        })
        .unwrap();
        let mut fields = PostFields {
            channel,
            created_ms,
            expires_ms: has(Defect::Expired).then_some(NOW),
            reply_to: None,
            content_warning: None,
            nickname: None,
            body: if has(Defect::InvisibleBody) {
                "\u{200B}\u{3164}".to_owned()
            } else {
                "hello".to_owned()
            },
            persona_stamp: PersonaStamp(0),
        };
        let stamp_ok =
            |s: u64| leading_zero_bits(&stamp_hash(s, msg_network.as_str(), &key.public())) >= 16;
        fields.persona_stamp.0 = (0..)
            .find(|&s| stamp_ok(s) != has(Defect::WeakStamp))
            .unwrap();
        let body_bytes = encode(&fields).unwrap();
        let prefix = WorkPrefix::new(&key.public(), msg_network.as_str(), &body_bytes);
        let nonce = (0..)
            .find(|&n| (prefix.bits(n) >= 16) != has(Defect::WeakWork))
            .unwrap();
        let body = encode(&PostWire { fields, nonce }).unwrap();
        let mut bytes = seal(Kind::Post, &msg_network, &key, &body);
        if has(Defect::BadSignature) {
            *bytes.last_mut().unwrap() ^= 0x40;
        }

        let limits = Limits::default();
        let anxiety = ChannelName::parse("anxiety").unwrap();
        let moderator = Keypair::from_secret_bytes([6; 32]).public();
        let mut ctx = ValidationContext::new(&network, NOW, &limits)
            .channel(&anxiety)
            .difficulty(16)
            .persona_stamp_bits(16);
        if has(Defect::PostOnModeratorTopic) {
            ctx = ctx.moderator(&moderator);
        }
        counters::take();
        let result = validate(&bytes, &ctx);
        (result, counters::take())
    }

    #[test]
    fn a_post_without_defects_is_valid_and_costs_one_signature_check() {
        let (result, (hashes, verifies)) = check(&[]);
        result.unwrap();
        assert_eq!(verifies, 1);
        // Stamp, work and the message id.
        assert_eq!(hashes, 3);
    }

    #[test]
    fn a_stored_post_opens_without_a_signature_check_but_with_the_other_checks() {
        let key = Keypair::from_secret_bytes([9; 32]);
        let network = NetworkId::default();
        let fields = PostFields {
            channel: ChannelName::parse("grief").unwrap(),
            created_ms: NOW,
            expires_ms: None,
            reply_to: None,
            content_warning: None,
            nickname: None,
            body: "hello".to_owned(),
            persona_stamp: PersonaStamp(0),
        };
        let body = encode(&PostWire { fields, nonce: 0 }).unwrap();
        let bytes = seal(Kind::Post, &network, &key, &body);
        counters::take();
        let opened = open_stored(&bytes, &network).unwrap();
        assert_eq!(counters::take().1, 0, "no signature check");
        assert_eq!(opened.id, MessageId::of(&bytes));
        assert_eq!(opened.message.as_post().unwrap().body, "hello");
        assert!(open(&bytes, &network).is_ok(), "and it does verify");
        let other = NetworkId::parse("test").unwrap();
        assert!(matches!(
            open_stored(&bytes, &other),
            Err(ValidationError::WrongNetwork { .. })
        ));
        assert!(open_stored(b"not an envelope", &network).is_err());
    }

    #[test]
    fn a_stale_post_with_a_bad_signature_is_reported_as_stale() {
        let (result, (_, verifies)) = check(&[Defect::TooOld, Defect::BadSignature]);
        assert!(matches!(result, Err(ValidationError::TooOld { .. })));
        assert_eq!(verifies, 0);
    }

    /// For every defect alone and every pair of defects, the error is the
    /// one of the earliest check, and no check before the signature ever
    /// verified a signature or hashed more than the stamp and the work.
    #[test]
    fn the_earliest_check_wins_and_cheap_failures_never_verify() {
        let mut table = Vec::new();
        for (i, &first) in ALL.iter().enumerate() {
            table.push(vec![first]);
            for &second in ALL.iter().skip(i + 1) {
                if !(first.clock() && second.clock()) {
                    table.push(vec![first, second]);
                }
            }
        }
        for defects in table {
            let first = defects[0];
            let (result, (hashes, verifies)) = check(&defects);
            let err = result.expect_err(&format!("{defects:?} accepted"));
            assert_eq!(variant(&err), first.error(), "{defects:?}: {err}");
            let (max_hashes, max_verifies) = match first {
                Defect::WeakStamp => (1, 0),
                Defect::WeakWork => (2, 0),
                Defect::BadSignature => (2, 1),
                _ => (0, 0),
            };
            assert_eq!(verifies, max_verifies, "{defects:?}: signature checks");
            assert_eq!(hashes, max_hashes, "{defects:?}: hashes");
        }
    }

    #[test]
    fn a_list_on_the_wrong_topic_is_refused_before_its_body_is_read() {
        let key = Keypair::from_secret_bytes([7; 32]);
        let network = NetworkId::default();
        // Not a list body at all: the topic check comes first.
        let mut bytes = seal(Kind::ModeratorList, &network, &key, &[0xff; 9]);
        *bytes.last_mut().unwrap() ^= 1;
        let limits = Limits::default();
        let grief = ChannelName::parse("grief").unwrap();
        let other = Keypair::from_secret_bytes([8; 32]).public();
        for ctx in [
            ValidationContext::new(&network, NOW, &limits).channel(&grief),
            ValidationContext::new(&network, NOW, &limits).moderator(&other),
        ] {
            counters::take();
            assert!(matches!(
                validate(&bytes, &ctx),
                Err(ValidationError::Field(_))
            ));
            assert_eq!(counters::take(), (0, 0));
        }
    }
}
