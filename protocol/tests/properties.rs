//! Property and boundary tests of hearth's protocol core: what a user, a
//! node operator or another implementation would notice if it broke.
//!
//! * Round trips: any valid post or moderator list signs, validates and
//!   comes back with the same fields, id and bytes, in the documented
//!   layout.
//! * Tampering: any single flipped bit, truncation, extension, or a post
//!   moved to another channel or network is refused, never accepted and
//!   never a panic.
//! * Limits: every size, count and time limit holds exactly at its
//!   boundary, on the sending side (signing) and on the receiving side
//!   (validating bytes sealed by hand around over-limit fields).
//! * Moderation: policies match the right list, entry and reason, honour
//!   scopes, and survive bad entries.
//!
//! Bytes for the receiving side are built here from the layout documented
//! in `envelope.rs` (postcard body, tag-prefixed ed25519 signature), which
//! the round-trip property checks against `PostDraft::sign` byte for byte.

use ed25519_dalek::{Signer, SigningKey};
use hearth_protocol::envelope::{ENVELOPE_VERSION, SIGNATURE_TAG};
use hearth_protocol::error::TextError;
use hearth_protocol::limits::{
    MAX_BODY_BYTES, MAX_CHANNEL_LEN, MAX_CHANNEL_SEGMENT_LEN, MAX_CHANNEL_SEGMENTS,
    MAX_CW_TEXT_BYTES, MAX_KEYWORD_BYTES, MAX_LIST_ENTRIES, MAX_LIST_TITLE_BYTES,
    MAX_MODERATOR_LIST_BYTES, MAX_NETWORK_ID_LEN, MAX_NICKNAME_BYTES, MAX_POST_BYTES,
    MAX_REASON_BYTES, MAX_REGEX_BYTES,
};
use hearth_protocol::moderation::ListUpdateError;
use hearth_protocol::post::MAX_CW_LABELS;
use hearth_protocol::pow::{POW_TAG, leading_zero_bits};
use hearth_protocol::text;
use hearth_protocol::{
    BlockEntry, BlockTarget, BuildError, ChannelName, ContentWarning, CwLabel, Keypair, Kind,
    Limits, ListId, Message, MessageId, ModeratorList, NetworkId, PersonaStamp, Policy, PolicyList,
    Post, PostDraft, PublicKey, Scope, SignedMessage, ValidationContext, ValidationError, open,
    validate,
};
use hearth_protocol::{StampSearch, stamp_persona};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::string::string_regex;
use proptest::test_runner::TestCaseError;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A fixed "now" for tests that do not vary the clock.
const NOW: u64 = 1_700_000_000_000;

// ---------------------------------------------------------------------------
// Helpers: names, keys, and hand-made wire bytes.
// ---------------------------------------------------------------------------

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn key(seed: u8) -> Keypair {
    Keypair::from_secret_bytes([seed; 32])
}

fn main_net() -> NetworkId {
    NetworkId::default()
}

/// The post body exactly as postcard encodes it: the fields in wire order,
/// then the nonce. Mirrors the crate's private `PostWire`.
#[derive(Debug, Clone, Serialize)]
struct RawPost {
    fields: RawFields,
    nonce: u64,
}

/// The post fields in wire order, without the nonce: what proof of work
/// covers.
#[derive(Debug, Clone, Serialize)]
struct RawFields {
    channel: String,
    created_ms: u64,
    expires_ms: Option<u64>,
    reply_to: Option<[u8; 32]>,
    /// Label codes, then the free text.
    content_warning: Option<(Vec<u8>, Option<String>)>,
    nickname: Option<String>,
    body: String,
    persona_stamp: u64,
}

impl RawFields {
    fn simple(channel: &str, body: &str, created_ms: u64) -> Self {
        Self {
            channel: channel.to_owned(),
            created_ms,
            expires_ms: None,
            reply_to: None,
            content_warning: None,
            nickname: None,
            body: body.to_owned(),
            persona_stamp: 0,
        }
    }

    fn of(post: &Post) -> Self {
        Self {
            channel: post.channel.as_str().to_owned(),
            created_ms: post.created_ms,
            expires_ms: post.expires_ms,
            reply_to: post.reply_to.map(|id| id.0),
            content_warning: post.content_warning.as_ref().map(|cw| {
                (
                    cw.labels.iter().map(|l| u8::from(*l)).collect(),
                    cw.text.clone(),
                )
            }),
            nickname: post.nickname.clone(),
            body: post.body.clone(),
            persona_stamp: post.persona_stamp.0,
        }
    }
}

/// The moderator-list body as postcard encodes it. Mirrors the crate's
/// private `ModeratorListWire`.
#[derive(Debug, Clone, Serialize)]
struct RawList {
    sequence: u64,
    created_ms: u64,
    title: String,
    entries: Vec<BlockEntry>,
}

fn postcard_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap()
}

fn push_varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7f).unwrap() | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).unwrap());
}

/// Builds and signs an envelope by hand, following the documented layout:
/// `version kind varint(len) network signer varint(len) body signature`,
/// the signature covering `SIGNATURE_TAG || everything before it`.
fn seal_raw(seed: [u8; 32], network: &str, kind: Kind, body: &[u8]) -> Vec<u8> {
    let signing = SigningKey::from_bytes(&seed);
    let mut out = vec![ENVELOPE_VERSION, kind.code()];
    push_varint(&mut out, network.len());
    out.extend_from_slice(network.as_bytes());
    out.extend_from_slice(signing.verifying_key().as_bytes());
    push_varint(&mut out, body.len());
    out.extend_from_slice(body);
    let mut message = SIGNATURE_TAG.to_vec();
    message.extend_from_slice(&out);
    out.extend_from_slice(&signing.sign(&message).to_bytes());
    out
}

/// Seals a hand-made post body in the main network, signed by `[1; 32]`.
fn sealed_post(raw: &RawPost) -> Vec<u8> {
    seal_raw([1; 32], NetworkId::MAIN, Kind::Post, &postcard_bytes(raw))
}

/// Seals a hand-made list body in the main network, signed by `[2; 32]`.
fn sealed_list(raw: &RawList) -> Vec<u8> {
    seal_raw(
        [2; 32],
        NetworkId::MAIN,
        Kind::ModeratorList,
        &postcard_bytes(raw),
    )
}

/// The proof-of-work bits of a post, computed from the formula documented
/// in `pow.rs`.
fn work_bits(signer: &PublicKey, network: &str, fields: &RawFields, nonce: u64) -> u8 {
    let mut len = Vec::new();
    push_varint(&mut len, network.len());
    let mut hasher = Sha256::new();
    hasher.update(POW_TAG);
    hasher.update(signer.as_bytes());
    hasher.update(&len);
    hasher.update(network.as_bytes());
    hasher.update(postcard_bytes(fields));
    hasher.update(nonce.to_le_bytes());
    leading_zero_bits(&hasher.finalize().into())
}

/// A context at `now` in the main network with default limits.
fn validate_main(bytes: &[u8], now_ms: u64) -> Result<SignedMessage, ValidationError> {
    let network = main_net();
    let limits = Limits::default();
    validate(bytes, &ValidationContext::new(&network, now_ms, &limits))
}

fn the_post(message: &SignedMessage) -> &Post {
    message.message.as_post().expect("a post")
}

fn the_list(message: &SignedMessage) -> &ModeratorList {
    match &message.message {
        Message::ModeratorList(list) => list,
        _ => panic!("expected a moderator list"),
    }
}

/// `len` bytes of text: as many `c` as fit, padded with `a`.
fn text_of(c: char, len: usize) -> String {
    let mut s: String = std::iter::repeat_n(c, len / c.len_utf8()).collect();
    while s.len() < len {
        s.push('a');
    }
    s
}

fn too_long(field: &'static str, len: usize, limit: usize) -> TextError {
    TextError::TooLong { field, len, limit }
}

// ---------------------------------------------------------------------------
// Strategies generated from the protocol's rules.
// ---------------------------------------------------------------------------

fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Line breaks that are not control characters, refused in every text.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// A character allowed anywhere in text: printable ASCII mostly, any other
/// non-control, non-direction-override Unicode scalar often.
fn line_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::char::range(' ', '~'),
        2 => any::<char>().prop_filter("a control, direction override or line separator", |c| {
            !c.is_control() && !is_direction_control(*c) && !is_line_separator(*c)
        }),
    ]
}

/// An allowed character that is neither white space nor invisible.
fn visible_char() -> impl Strategy<Value = char> {
    line_char().prop_filter("white space or invisible", |c| !text::is_blank(*c))
}

/// A character allowed in a post body: also newline and tab.
fn body_char() -> impl Strategy<Value = char> {
    prop_oneof![8 => line_char(), 1 => select(vec!['\n', '\t'])]
}

/// Non-blank text of at most `max_bytes`, starting with a visible character.
fn text(
    chars: impl Strategy<Value = char>,
    max_chars: usize,
    max_bytes: usize,
) -> impl Strategy<Value = String> {
    (visible_char(), vec(chars, 0..max_chars)).prop_map(move |(first, rest)| {
        let mut s = String::from(first);
        for c in rest {
            if s.len() + c.len_utf8() > max_bytes {
                break;
            }
            s.push(c);
        }
        s
    })
}

fn line_text(max_chars: usize, max_bytes: usize) -> impl Strategy<Value = String> {
    text(line_char(), max_chars, max_bytes)
}

/// One part of a channel name or a network id.
fn segment(max: usize) -> impl Strategy<Value = String> {
    string_regex(&format!("[a-z0-9]([a-z0-9-]{{0,{}}}[a-z0-9])?", max - 2)).unwrap()
}

/// Any channel name the rules allow: 1 to 4 parts, at most 64 bytes.
fn channel_name() -> impl Strategy<Value = ChannelName> {
    vec(segment(MAX_CHANNEL_SEGMENT_LEN), 1..=MAX_CHANNEL_SEGMENTS)
        .prop_map(|parts| parts.join("/"))
        .prop_filter("longer than the channel limit", |name| {
            name.len() <= MAX_CHANNEL_LEN
        })
        .prop_map(|name| ChannelName::try_from(name).expect("generated from the rules"))
}

fn network_id() -> impl Strategy<Value = NetworkId> {
    segment(MAX_NETWORK_ID_LEN)
        .prop_map(|s| NetworkId::parse(&s).expect("generated from the rules"))
}

fn content_warning() -> impl Strategy<Value = ContentWarning> {
    (
        vec(any::<u8>().prop_map(CwLabel::from), 0..=MAX_CW_LABELS),
        option::of(line_text(24, MAX_CW_TEXT_BYTES)),
    )
        .prop_filter("neither labels nor text", |(labels, text)| {
            !labels.is_empty() || text.is_some()
        })
        .prop_map(|(labels, text)| ContentWarning::new(labels, text))
}

fn nickname() -> impl Strategy<Value = String> {
    line_text(12, MAX_NICKNAME_BYTES).prop_map(|s| s.trim_end_matches(text::is_blank).to_owned())
}

/// Everything a person chooses when writing a post.
#[derive(Debug, Clone)]
struct PostSpec {
    seed: [u8; 32],
    network: NetworkId,
    channel: ChannelName,
    body: String,
    created_ms: u64,
    expires_ms: Option<u64>,
    reply_to: Option<[u8; 32]>,
    content_warning: Option<ContentWarning>,
    nickname: Option<String>,
}

impl PostSpec {
    fn draft(&self) -> PostDraft {
        let mut draft = PostDraft::new(self.channel.clone(), self.body.clone(), self.created_ms);
        if let Some(e) = self.expires_ms {
            draft = draft.with_expiry(e);
        }
        if let Some(r) = self.reply_to {
            draft = draft.with_reply_to(MessageId(r));
        }
        if let Some(cw) = &self.content_warning {
            draft = draft.with_content_warning(cw.clone());
        }
        if let Some(n) = &self.nickname {
            draft = draft.with_nickname(n.clone());
        }
        draft
    }

    fn persona(&self) -> Keypair {
        Keypair::from_secret_bytes(self.seed)
    }

    fn sign(&self, difficulty: u8) -> SignedMessage {
        self.draft()
            .sign(&self.persona(), &self.network, difficulty)
            .expect("a valid draft signs")
    }

    fn raw_fields(&self) -> RawFields {
        RawFields {
            channel: self.channel.as_str().to_owned(),
            created_ms: self.created_ms,
            expires_ms: self.expires_ms,
            reply_to: self.reply_to,
            content_warning: self.content_warning.as_ref().map(|cw| {
                (
                    cw.labels.iter().map(|l| u8::from(*l)).collect(),
                    cw.text.clone(),
                )
            }),
            nickname: self.nickname.clone(),
            body: self.body.clone(),
            persona_stamp: 0,
        }
    }

    /// A context in which the post is valid: its network and channel, at
    /// the moment it was written.
    fn validate_at_creation(
        &self,
        bytes: &[u8],
        difficulty: u8,
    ) -> Result<SignedMessage, ValidationError> {
        let limits = Limits::default();
        let ctx = ValidationContext::new(&self.network, self.created_ms, &limits)
            .channel(&self.channel)
            .difficulty(difficulty);
        validate(bytes, &ctx)
    }
}

fn post_spec() -> impl Strategy<Value = PostSpec> {
    (
        any::<[u8; 32]>(),
        network_id(),
        channel_name(),
        text(body_char(), 300, MAX_BODY_BYTES),
        any::<u64>(),
        option::of(1..=u64::MAX),
        option::of(any::<[u8; 32]>()),
        option::of(content_warning()),
        option::of(nickname()),
    )
        .prop_map(
            |(seed, network, channel, body, created_ms, lifetime, reply_to, cw, nick)| {
                PostSpec {
                    seed,
                    network,
                    channel,
                    body,
                    created_ms,
                    // An expiry strictly after creation, when one fits in a u64.
                    expires_ms: lifetime
                        .and_then(|l| created_ms.checked_add(l))
                        .filter(|e| *e > created_ms),
                    reply_to,
                    content_warning: cw,
                    nickname: nick,
                }
            },
        )
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::All), channel_name().prop_map(Scope::Channel)]
}

fn block_target() -> impl Strategy<Value = BlockTarget> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(|k| BlockTarget::Persona(PublicKey(k))),
        any::<[u8; 32]>().prop_map(|id| BlockTarget::Post(MessageId(id))),
        line_text(40, MAX_KEYWORD_BYTES).prop_map(BlockTarget::Keyword),
        // The wire does not require a regex to compile; the policy reports
        // the ones that do not.
        line_text(80, MAX_REGEX_BYTES).prop_map(BlockTarget::Regex),
        channel_name().prop_map(BlockTarget::Channel),
    ]
}

fn block_entry() -> impl Strategy<Value = BlockEntry> {
    (
        block_target(),
        scope(),
        prop_oneof![Just(String::new()), line_text(60, MAX_REASON_BYTES)],
    )
        .prop_map(|(target, scope, reason)| BlockEntry {
            target,
            scope,
            reason,
        })
}

// ---------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any valid post validates in its own network and channel and comes
    /// back unchanged: same fields, same id, same bytes, and those bytes
    /// are the documented layout.
    #[test]
    fn any_valid_post_round_trips(spec in post_spec(), difficulty in 0u8..=6) {
        let signed = spec.sign(difficulty);
        let verified = spec.validate_at_creation(&signed.bytes, difficulty).unwrap();
        prop_assert_eq!(&verified, &signed);
        prop_assert_eq!(verified.id, MessageId::of(&signed.bytes));

        let post = the_post(&verified);
        prop_assert_eq!(&post.channel, &spec.channel);
        prop_assert_eq!(post.author, spec.persona().public());
        prop_assert_eq!(&post.body, &spec.body);
        prop_assert_eq!(post.created_ms, spec.created_ms);
        prop_assert_eq!(post.expires_ms, spec.expires_ms);
        prop_assert_eq!(post.reply_to, spec.reply_to.map(MessageId));
        prop_assert_eq!(&post.content_warning, &spec.content_warning);
        prop_assert_eq!(&post.nickname, &spec.nickname);

        // What a node reads back from its store opens the same way.
        prop_assert_eq!(&open(&signed.bytes, &spec.network).unwrap(), &signed);

        // The bytes are exactly the documented envelope around the
        // documented body, so another implementation can produce them.
        let raw = RawPost { fields: spec.raw_fields(), nonce: post.nonce };
        let by_hand = seal_raw(spec.seed, spec.network.as_str(), Kind::Post, &postcard_bytes(&raw));
        prop_assert_eq!(&by_hand, &signed.bytes);

        // Signing is deterministic: the same draft gives the same id.
        prop_assert_eq!(spec.sign(difficulty).id, signed.id);
    }

    /// Any valid moderator list validates on its moderator's topic and
    /// comes back unchanged.
    #[test]
    fn any_valid_moderator_list_round_trips(
        seed in any::<[u8; 32]>(),
        network in network_id(),
        sequence in any::<u64>(),
        created_ms in any::<u64>(),
        title in prop_oneof![Just(String::new()), line_text(20, MAX_LIST_TITLE_BYTES)],
        entries in vec(block_entry(), 0..24),
    ) {
        let moderator = Keypair::from_secret_bytes(seed);
        let signed = ModeratorList::sign(&moderator, &network, sequence, created_ms, title.clone(), entries.clone()).unwrap();
        let public = moderator.public();
        let limits = Limits::default();
        let ctx = ValidationContext::new(&network, created_ms, &limits).moderator(&public);
        let verified = validate(&signed.bytes, &ctx).unwrap();
        prop_assert_eq!(&verified, &signed);
        prop_assert_eq!(verified.id, MessageId::of(&signed.bytes));
        let list = the_list(&verified);
        prop_assert_eq!(list.moderator, public);
        prop_assert_eq!(list.sequence, sequence);
        prop_assert_eq!(list.created_ms, created_ms);
        prop_assert_eq!(&list.title, &title);
        prop_assert_eq!(&list.entries, &entries);
        prop_assert_eq!(&open(&signed.bytes, &network).unwrap(), &signed);

        let raw = RawList { sequence, created_ms, title, entries };
        let by_hand = seal_raw(seed, network.as_str(), Kind::ModeratorList, &postcard_bytes(&raw));
        prop_assert_eq!(&by_hand, &signed.bytes);

        // On another moderator's topic the list is refused.
        let other = key(0xee).public();
        prop_assume!(other != public);
        let ctx = ValidationContext::new(&network, created_ms, &limits).moderator(&other);
        prop_assert!(matches!(validate(&signed.bytes, &ctx), Err(ValidationError::Field(_))));
    }

    /// Whatever labels a caller passes, the post the signer keeps is the
    /// post every receiver decodes: a label given as `Other(code)` with a
    /// known label's code must not show as "other" to its author and as
    /// the known label to everybody else.
    #[test]
    fn signed_warning_labels_are_what_receivers_see(
        codes in vec((prop_oneof![0u8..8, any::<u8>()], any::<bool>()), 1..=MAX_CW_LABELS),
    ) {
        let labels = codes
            .into_iter()
            .map(|(code, raw)| if raw { CwLabel::Other(code) } else { CwLabel::from(code) });
        let draft = PostDraft::new(ch("anxiety"), "hi", NOW)
            .with_content_warning(ContentWarning::new(labels, None));
        match draft.sign(&key(1), &main_net(), 0) {
            Ok(signed) => prop_assert_eq!(validate_main(&signed.bytes, NOW), Ok(signed.clone())),
            Err(e) => prop_assert!(matches!(e, BuildError::Field(_)), "{:?}", e),
        }
    }

    /// Channel names typed by people normalise to the wire form: case,
    /// a leading `#` and surrounding white space do not matter.
    #[test]
    fn typed_channel_names_normalise_to_the_wire_form(name in channel_name(), pad in "[ \t]{0,3}") {
        let typed = format!("{pad}#{}{pad}", name.as_str().to_ascii_uppercase());
        prop_assert_eq!(ChannelName::parse(&typed).unwrap(), name.clone());
        // But the wire accepts only the normal form.
        if name.as_str().bytes().any(|b| b.is_ascii_lowercase()) {
            prop_assert!(ChannelName::try_from(name.as_str().to_ascii_uppercase()).is_err());
        }
    }
}

// ---------------------------------------------------------------------------
// Tampering and hostile bytes.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Flipping any one bit anywhere in a signed post makes it invalid.
    #[test]
    fn any_single_bit_flip_is_refused(spec in post_spec(), at in any::<Index>(), bit in 0u8..8) {
        let signed = spec.sign(0);
        let mut bytes = signed.bytes.clone();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let limits = Limits::default();
        let ctx = ValidationContext::new(&spec.network, spec.created_ms, &limits);
        let result = validate(&bytes, &ctx);
        prop_assert!(result.is_err(), "byte {} bit {} flipped and still valid: {:?}", i, bit, result);
        prop_assert!(open(&bytes, &spec.network).is_err());
    }

    /// Any proper prefix, and any extension, of a signed post is refused.
    #[test]
    fn truncated_or_extended_posts_are_refused(
        spec in post_spec(),
        cut in any::<Index>(),
        extra in vec(any::<u8>(), 1..16),
    ) {
        let signed = spec.sign(0);
        let short = &signed.bytes[..cut.index(signed.bytes.len())];
        prop_assert!(open(short, &spec.network).is_err());
        let mut long = signed.bytes.clone();
        long.extend_from_slice(&extra);
        prop_assert!(open(&long, &spec.network).is_err());
    }

    /// Arbitrary bytes never validate and never panic.
    #[test]
    fn random_bytes_are_refused_without_panic(
        prefix in prop_oneof![
            Just(vec![]),
            Just(vec![ENVELOPE_VERSION, Kind::Post.code()]),
            Just(vec![ENVELOPE_VERSION, Kind::ModeratorList.code()]),
            Just(vec![ENVELOPE_VERSION, Kind::Post.code(), 4, b'm', b'a', b'i', b'n']),
            Just(vec![ENVELOPE_VERSION, Kind::ModeratorList.code(), 4, b'm', b'a', b'i', b'n']),
        ],
        rest in vec(any::<u8>(), 0..1500),
    ) {
        let mut bytes = prefix;
        bytes.extend_from_slice(&rest);
        prop_assert!(validate_main(&bytes, NOW).is_err());
        prop_assert!(open(&bytes, &main_net()).is_err());
    }

    /// A well-formed envelope around an arbitrary body, with a random
    /// signer and signature, is refused without panic.
    #[test]
    fn random_bodies_in_a_well_formed_envelope_are_refused(
        kind in prop_oneof![Just(Kind::Post), Just(Kind::ModeratorList)],
        signer in any::<[u8; 32]>(),
        body in vec(any::<u8>(), 0..600),
        signature in vec(any::<u8>(), 64),
    ) {
        let mut bytes = vec![ENVELOPE_VERSION, kind.code(), 4];
        bytes.extend_from_slice(b"main");
        bytes.extend_from_slice(&signer);
        push_varint(&mut bytes, body.len());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&signature);
        prop_assert!(validate_main(&bytes, NOW).is_err());
    }

    /// A correctly signed body with one byte changed (so the signature
    /// holds and only decoding and field rules stand in the way) is either
    /// refused or, when accepted, is the one canonical encoding of the
    /// fields it decodes to: one message, one encoding, one id.
    #[test]
    fn correctly_signed_mutated_bodies_are_refused_or_canonical(
        spec in post_spec(),
        at in any::<Index>(),
        value in any::<u8>(),
    ) {
        let raw = RawPost { fields: spec.raw_fields(), nonce: 0 };
        let mut body = postcard_bytes(&raw);
        let i = at.index(body.len());
        body[i] = value;
        let bytes = seal_raw(spec.seed, spec.network.as_str(), Kind::Post, &body);
        if let Ok(verified) = open(&bytes, &spec.network) {
            let post = the_post(&verified);
            let again = postcard_bytes(&RawPost { fields: RawFields::of(post), nonce: post.nonce });
            prop_assert_eq!(again, body);
        }
    }

    /// Correctly signed but non-canonical encodings of a valid post are
    /// refused: bytes after the last field, or a number written with more
    /// varint bytes than needed. Otherwise one post could travel under
    /// many ids and dodge deduplication and post-id blocks.
    #[test]
    fn non_canonical_encodings_are_refused_even_when_signed(
        spec in post_spec(),
        extra in vec(any::<u8>(), 1..8),
        padding in 1usize..4,
    ) {
        let raw = RawPost { fields: spec.raw_fields(), nonce: 0 };
        let canonical = postcard_bytes(&raw);
        let seal = |body: &[u8]| seal_raw(spec.seed, spec.network.as_str(), Kind::Post, body);
        prop_assert!(open(&seal(&canonical), &spec.network).is_ok());

        let mut trailing = canonical.clone();
        trailing.extend_from_slice(&extra);
        prop_assert!(matches!(open(&seal(&trailing), &spec.network), Err(ValidationError::Malformed(_))));

        // The nonce is the last field: re-encode it (0) with extra
        // continuation bytes, 0x80 ... 0x00.
        let mut padded = canonical[..canonical.len() - 1].to_vec();
        padded.extend(std::iter::repeat_n(0x80, padding));
        padded.push(0);
        prop_assert!(matches!(open(&seal(&padded), &spec.network), Err(ValidationError::Malformed(_))));
    }

    /// A post signed for one channel is refused on another channel's
    /// topic, and a post signed for one network is refused in another.
    #[test]
    fn posts_stay_in_their_channel_and_network(
        spec in post_spec(),
        other_channel in channel_name(),
        other_network in network_id(),
    ) {
        let signed = spec.sign(0);
        let limits = Limits::default();

        prop_assume!(other_channel != spec.channel);
        let ctx = ValidationContext::new(&spec.network, spec.created_ms, &limits).channel(&other_channel);
        prop_assert_eq!(
            validate(&signed.bytes, &ctx),
            Err(ValidationError::WrongChannel {
                expected: other_channel.to_string(),
                found: spec.channel.to_string(),
            })
        );

        prop_assume!(other_network != spec.network);
        let ctx = ValidationContext::new(&other_network, spec.created_ms, &limits);
        let wrong_network = Err(ValidationError::WrongNetwork {
            expected: other_network.to_string(),
            found: spec.network.to_string(),
        });
        prop_assert_eq!(validate(&signed.bytes, &ctx), wrong_network.clone());
        prop_assert_eq!(open(&signed.bytes, &other_network), wrong_network);

        // Rewriting the network field to the other network, keeping the
        // signature, does not smuggle the post across: the signature
        // covers the network.
        let old = spec.network.as_str().len();
        let mut moved = vec![ENVELOPE_VERSION, Kind::Post.code()];
        push_varint(&mut moved, other_network.as_str().len());
        moved.extend_from_slice(other_network.as_str().as_bytes());
        moved.extend_from_slice(&signed.bytes[3 + old..]);
        prop_assert_eq!(validate(&moved, &ctx), Err(ValidationError::BadSignature));
    }

    /// Replacing the author key keeps the post's text but breaks the
    /// signature: nobody can re-attribute a post.
    #[test]
    fn a_post_cannot_be_reattributed(spec in post_spec(), other in any::<[u8; 32]>()) {
        let signed = spec.sign(0);
        let start = 3 + spec.network.as_str().len();
        prop_assume!(signed.bytes[start..start + 32] != other);
        let mut bytes = signed.bytes.clone();
        bytes[start..start + 32].copy_from_slice(&other);
        prop_assert_eq!(open(&bytes, &spec.network), Err(ValidationError::BadSignature));
    }
}

/// Exhaustively: every single-bit flip of one fixed post with every
/// optional field set is refused.
#[test]
fn every_bit_flip_of_a_full_post_is_refused() {
    let signed = PostDraft::new(ch("grief/es"), "estoy aquí\ncontigo", NOW)
        .with_expiry(NOW + 60_000)
        .with_reply_to(MessageId([7; 32]))
        .with_nickname("luz")
        .with_content_warning(ContentWarning::new(
            [CwLabel::Death],
            Some("pérdida".into()),
        ))
        .sign(&key(1), &main_net(), 4)
        .unwrap();
    let limits = Limits::default();
    let network = main_net();
    let channel = ch("grief/es");
    let ctx = ValidationContext::new(&network, NOW, &limits)
        .channel(&channel)
        .difficulty(4);
    assert!(validate(&signed.bytes, &ctx).is_ok());
    for i in 0..signed.bytes.len() {
        for bit in 0..8 {
            let mut bytes = signed.bytes.clone();
            bytes[i] ^= 1 << bit;
            assert!(validate(&bytes, &ctx).is_err(), "byte {i} bit {bit}");
        }
    }
}

// ---------------------------------------------------------------------------
// Limits at their boundaries.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Text limits count UTF-8 bytes: a body, nickname or content-warning
    /// text of exactly the limit is accepted and one byte more is refused,
    /// whatever characters it is made of; and the receiving side refuses
    /// the same over-limit fields when someone signs them by hand.
    #[test]
    fn post_text_limits_are_exact_in_bytes(c in visible_char()) {
        let persona = key(1);
        let network = main_net();
        let draft = || PostDraft::new(ch("anxiety"), "hi", NOW);

        let body = text_of(c, MAX_BODY_BYTES);
        prop_assert!(PostDraft::new(ch("anxiety"), body.clone(), NOW).sign(&persona, &network, 0).is_ok());
        let over = format!("{body}a");
        prop_assert_eq!(
            PostDraft::new(ch("anxiety"), over.clone(), NOW).sign(&persona, &network, 0),
            Err(BuildError::Text(too_long("post body", MAX_BODY_BYTES + 1, MAX_BODY_BYTES)))
        );
        let raw = |body: &str| RawPost { fields: RawFields::simple("anxiety", body, NOW), nonce: 0 };
        prop_assert!(validate_main(&sealed_post(&raw(&body)), NOW).is_ok());
        prop_assert_eq!(
            validate_main(&sealed_post(&raw(&over)), NOW),
            Err(ValidationError::Text(too_long("post body", MAX_BODY_BYTES + 1, MAX_BODY_BYTES)))
        );

        let nick = text_of(c, MAX_NICKNAME_BYTES);
        prop_assert!(draft().with_nickname(nick.clone()).sign(&persona, &network, 0).is_ok());
        let over = format!("{nick}a");
        prop_assert_eq!(
            draft().with_nickname(over.clone()).sign(&persona, &network, 0),
            Err(BuildError::Text(too_long("nickname", MAX_NICKNAME_BYTES + 1, MAX_NICKNAME_BYTES)))
        );
        let mut fields = RawFields::simple("anxiety", "hi", NOW);
        fields.nickname = Some(over);
        prop_assert_eq!(
            validate_main(&sealed_post(&RawPost { fields, nonce: 0 }), NOW),
            Err(ValidationError::Text(too_long("nickname", MAX_NICKNAME_BYTES + 1, MAX_NICKNAME_BYTES)))
        );

        let cw = text_of(c, MAX_CW_TEXT_BYTES);
        prop_assert!(draft()
            .with_content_warning(ContentWarning::new([], Some(cw.clone())))
            .sign(&persona, &network, 0)
            .is_ok());
        let over = format!("{cw}a");
        let field = "content-warning text";
        prop_assert_eq!(
            draft()
                .with_content_warning(ContentWarning::new([], Some(over.clone())))
                .sign(&persona, &network, 0),
            Err(BuildError::Text(too_long(field, MAX_CW_TEXT_BYTES + 1, MAX_CW_TEXT_BYTES)))
        );
        let mut fields = RawFields::simple("anxiety", "hi", NOW);
        fields.content_warning = Some((vec![], Some(over)));
        prop_assert_eq!(
            validate_main(&sealed_post(&RawPost { fields, nonce: 0 }), NOW),
            Err(ValidationError::Text(too_long(field, MAX_CW_TEXT_BYTES + 1, MAX_CW_TEXT_BYTES)))
        );
    }

    /// The clock-skew window is exact: a post or list dated exactly
    /// `max_clock_skew_ms` ahead is accepted, one millisecond more is
    /// refused. A post exactly `max_age_ms` old is accepted, one
    /// millisecond older is refused; lists have no age limit.
    #[test]
    fn time_window_is_exact(
        skew in 0u64..(1 << 40),
        max_age in 0u64..(1 << 44),
        created in (1u64 << 45)..(1u64 << 60),
    ) {
        let limits = Limits { max_clock_skew_ms: skew, max_age_ms: max_age };
        let network = main_net();
        let post = PostDraft::new(ch("anxiety"), "hi", created).sign(&key(1), &network, 0).unwrap();
        let list = ModeratorList::sign(&key(2), &network, 1, created, "", vec![]).unwrap();
        let at = |now| ValidationContext::new(&network, now, &limits);

        for signed in [&post, &list] {
            prop_assert!(validate(&signed.bytes, &at(created - skew)).is_ok());
            prop_assert_eq!(
                validate(&signed.bytes, &at(created - skew - 1)),
                Err(ValidationError::FromFuture { ahead_ms: skew + 1 })
            );
        }
        prop_assert!(validate(&post.bytes, &at(created + max_age)).is_ok());
        prop_assert_eq!(
            validate(&post.bytes, &at(created + max_age + 1)),
            Err(ValidationError::TooOld { age_ms: max_age + 1 })
        );
        // Moderator lists stay in force however old they are.
        prop_assert!(validate(&list.bytes, &at(u64::MAX)).is_ok());
    }

    /// A post is shown until its expiry and refused from that moment on.
    #[test]
    fn expiry_is_exact(created in 0u64..(1 << 60), lifetime in 1u64..(1 << 40)) {
        let expires = created + lifetime;
        let network = main_net();
        let post = PostDraft::new(ch("anxiety"), "hi", created)
            .with_expiry(expires)
            .sign(&key(1), &network, 0)
            .unwrap();
        let limits = Limits { max_clock_skew_ms: 0, max_age_ms: u64::MAX };
        let at = |now| ValidationContext::new(&network, now, &limits);
        prop_assert!(validate(&post.bytes, &at(expires - 1)).is_ok());
        prop_assert_eq!(validate(&post.bytes, &at(expires)), Err(ValidationError::Expired));
        prop_assert!(!ValidationError::Expired.is_invalid());
        // Expiry must come after creation.
        prop_assert!(matches!(
            PostDraft::new(ch("anxiety"), "hi", created).with_expiry(created).sign(&key(1), &network, 0),
            Err(BuildError::Field(_))
        ));
    }

    /// Proof of work: a post stamped at difficulty `d` validates at `d` and
    /// at the bits it actually has, and is refused one bit above, with the
    /// bits it has reported.
    #[test]
    fn proof_of_work_holds_exactly_to_its_bits(spec in post_spec(), difficulty in 1u8..=10) {
        let signed = spec.sign(difficulty);
        let post = the_post(&signed);
        let bits = work_bits(&post.author, spec.network.as_str(), &spec.raw_fields(), post.nonce);
        prop_assert!(bits >= difficulty);
        prop_assert!(spec.validate_at_creation(&signed.bytes, difficulty).is_ok());
        prop_assert!(spec.validate_at_creation(&signed.bytes, bits.min(32)).is_ok());
        prop_assume!(bits < 32);
        let refused = spec.validate_at_creation(&signed.bytes, bits + 1);
        prop_assert_eq!(
            refused.clone(),
            Err(ValidationError::InsufficientWork { required: bits + 1, found: bits })
        );
        // A node with a higher difficulty than the author's is no reason to
        // punish the relay.
        prop_assert!(!refused.unwrap_err().is_invalid());
    }
}

#[test]
fn channel_name_limits_are_exact() {
    let seg = |n| "a".repeat(n);
    assert!(ChannelName::parse(&seg(MAX_CHANNEL_SEGMENT_LEN)).is_ok());
    assert!(ChannelName::parse(&seg(MAX_CHANNEL_SEGMENT_LEN + 1)).is_err());
    // 32 + 1 + 31 = 64 bytes in total.
    let at_limit = format!("{}/{}", seg(32), seg(31));
    assert_eq!(at_limit.len(), MAX_CHANNEL_LEN);
    assert!(ChannelName::parse(&at_limit).is_ok());
    let over = format!("{}/{}", seg(32), seg(32));
    assert!(ChannelName::parse(&over).is_err());
    let four = "a/b/c/d";
    assert!(ChannelName::parse(four).is_ok());
    assert!(ChannelName::parse("a/b/c/d/e").is_err());
    assert!(NetworkId::parse(&seg(MAX_NETWORK_ID_LEN)).is_ok());
    assert!(NetworkId::parse(&seg(MAX_NETWORK_ID_LEN + 1)).is_err());

    // On the wire: a post whose channel breaks the rules does not decode,
    // even correctly signed.
    for (name, ok) in [
        (at_limit.as_str(), true),
        (over.as_str(), false),
        (four, true),
        ("a/b/c/d/e", false),
        ("Grief", false),
        ("grief//es", false),
        ("-grief", false),
    ] {
        let bytes = sealed_post(&RawPost {
            fields: RawFields::simple(name, "hi", NOW),
            nonce: 0,
        });
        let result = validate_main(&bytes, NOW);
        if ok {
            assert_eq!(the_post(&result.unwrap()).channel.as_str(), name);
        } else {
            assert!(
                matches!(result, Err(ValidationError::Malformed(_))),
                "{name}: {result:?}"
            );
        }
    }
}

#[test]
fn content_warning_label_count_is_exact() {
    let labels = |n: u8| (0..n).map(CwLabel::from).collect::<Vec<_>>();
    let draft = |n| {
        PostDraft::new(ch("anxiety"), "hi", NOW)
            .with_content_warning(ContentWarning::new(labels(n), None))
    };
    let max = u8::try_from(MAX_CW_LABELS).unwrap();
    assert!(draft(max).sign(&key(1), &main_net(), 0).is_ok());
    assert!(matches!(
        draft(max + 1).sign(&key(1), &main_net(), 0),
        Err(BuildError::Field(_))
    ));
    let mut fields = RawFields::simple("anxiety", "hi", NOW);
    fields.content_warning = Some(((0..=max).collect(), None));
    assert!(matches!(
        validate_main(
            &sealed_post(&RawPost {
                fields: fields.clone(),
                nonce: 0
            }),
            NOW
        ),
        Err(ValidationError::Field(_))
    ));
    // Labels out of order, or repeated, are refused on the wire: one
    // warning, one encoding.
    fields.content_warning = Some((vec![3, 1], None));
    assert!(matches!(
        validate_main(
            &sealed_post(&RawPost {
                fields: fields.clone(),
                nonce: 0
            }),
            NOW
        ),
        Err(ValidationError::Field(_))
    ));
    fields.content_warning = Some((vec![1, 1], None));
    assert!(matches!(
        validate_main(&sealed_post(&RawPost { fields, nonce: 0 }), NOW),
        Err(ValidationError::Field(_))
    ));
}

#[test]
fn post_envelope_size_limit_is_checked_before_decoding() {
    let mut bytes = vec![ENVELOPE_VERSION, Kind::Post.code()];
    bytes.resize(MAX_POST_BYTES, 0);
    assert!(!matches!(
        validate_main(&bytes, NOW),
        Err(ValidationError::TooLarge { .. })
    ));
    bytes.push(0);
    assert_eq!(
        validate_main(&bytes, NOW),
        Err(ValidationError::TooLarge {
            size: MAX_POST_BYTES + 1,
            limit: MAX_POST_BYTES
        })
    );
}

/// The entry count limit, at its boundary, on both sides. Persona entries
/// are 35 bytes each, so 10,001 of them fit well inside the 512 KiB list
/// envelope: what is refused is the count, not the size.
#[test]
fn list_entry_count_is_exact() {
    let persona = |i: usize| {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&(i as u64).to_le_bytes());
        BlockEntry::new(BlockTarget::Persona(PublicKey(k)), "")
    };
    let network = main_net();
    let moderator = key(2);
    let mut entries: Vec<BlockEntry> = (0..MAX_LIST_ENTRIES).map(persona).collect();

    let signed =
        ModeratorList::sign(&moderator, &network, 1, NOW, "spam", entries.clone()).unwrap();
    assert!(signed.bytes.len() <= MAX_MODERATOR_LIST_BYTES);
    let verified = validate_main(&signed.bytes, NOW).unwrap();
    assert_eq!(the_list(&verified).entries.len(), MAX_LIST_ENTRIES);

    entries.push(persona(MAX_LIST_ENTRIES));
    assert!(matches!(
        ModeratorList::sign(&moderator, &network, 1, NOW, "spam", entries.clone()),
        Err(BuildError::Field(_))
    ));
    let bytes = sealed_list(&RawList {
        sequence: 1,
        created_ms: NOW,
        title: "spam".into(),
        entries,
    });
    assert!(bytes.len() <= MAX_MODERATOR_LIST_BYTES);
    assert!(matches!(
        validate_main(&bytes, NOW),
        Err(ValidationError::Field(_))
    ));
}

/// A list within the entry count but over 512 KiB is refused when signing,
/// rather than producing bytes nobody would accept.
#[test]
fn oversized_lists_are_refused_when_signing() {
    let reason = "r".repeat(MAX_REASON_BYTES);
    let entries: Vec<BlockEntry> = (0..3_000)
        .map(|i| BlockEntry::new(BlockTarget::Keyword(format!("word{i}")), reason.clone()))
        .collect();
    assert!(matches!(
        ModeratorList::sign(&key(2), &main_net(), 1, NOW, "", entries),
        Err(BuildError::TooLarge { limit, .. }) if limit == MAX_MODERATOR_LIST_BYTES
    ));
}

#[test]
fn list_text_limits_are_exact() {
    /// An entry whose checked text is `n` bytes long.
    type EntryOfLen = fn(usize) -> BlockEntry;
    let keyword: EntryOfLen = |n| BlockEntry::new(BlockTarget::Keyword("k".repeat(n)), "");
    let regex: EntryOfLen = |n| BlockEntry::new(BlockTarget::Regex("r".repeat(n)), "");
    let reason: EntryOfLen =
        |n| BlockEntry::new(BlockTarget::Post(MessageId([0; 32])), "y".repeat(n));
    let cases = [
        (keyword, MAX_KEYWORD_BYTES, "keyword"),
        (regex, MAX_REGEX_BYTES, "regex"),
        (reason, MAX_REASON_BYTES, "reason"),
    ];
    for (entry, limit, field) in cases {
        assert!(entry(limit).check().is_ok(), "{field}");
        let expected = too_long(field, limit + 1, limit);
        assert_eq!(
            entry(limit + 1).check(),
            Err(BuildError::Text(expected.clone()))
        );
        assert!(ModeratorList::sign(&key(2), &main_net(), 1, NOW, "", vec![entry(limit)]).is_ok());
        assert_eq!(
            ModeratorList::sign(&key(2), &main_net(), 1, NOW, "", vec![entry(limit + 1)]),
            Err(BuildError::Text(expected.clone()))
        );
        let raw = RawList {
            sequence: 1,
            created_ms: NOW,
            title: String::new(),
            entries: vec![entry(limit + 1)],
        };
        assert_eq!(
            validate_main(&sealed_list(&raw), NOW),
            Err(ValidationError::Text(expected))
        );
    }

    let title = |n| "t".repeat(n);
    assert!(
        ModeratorList::sign(
            &key(2),
            &main_net(),
            1,
            NOW,
            title(MAX_LIST_TITLE_BYTES),
            vec![]
        )
        .is_ok()
    );
    let expected = too_long("list title", MAX_LIST_TITLE_BYTES + 1, MAX_LIST_TITLE_BYTES);
    assert_eq!(
        ModeratorList::sign(
            &key(2),
            &main_net(),
            1,
            NOW,
            title(MAX_LIST_TITLE_BYTES + 1),
            vec![]
        ),
        Err(BuildError::Text(expected.clone()))
    );
    let raw = RawList {
        sequence: 1,
        created_ms: NOW,
        title: title(MAX_LIST_TITLE_BYTES + 1),
        entries: vec![],
    };
    assert_eq!(
        validate_main(&sealed_list(&raw), NOW),
        Err(ValidationError::Text(expected))
    );

    // An empty reason is allowed, a blank one is not.
    assert!(reason(0).check().is_ok());
    let blank = BlockEntry::new(BlockTarget::Post(MessageId([0; 32])), "   ");
    assert!(matches!(
        blank.check(),
        Err(BuildError::Text(TextError::Empty { .. }))
    ));
}

// ---------------------------------------------------------------------------
// Moderation policy.
// ---------------------------------------------------------------------------

fn post_by(author: PublicKey, channel: &str, body: &str) -> Post {
    Post {
        channel: ch(channel),
        author,
        created_ms: NOW,
        expires_ms: None,
        reply_to: None,
        content_warning: None,
        nickname: None,
        body: body.to_owned(),
        persona_stamp: PersonaStamp::default(),
        nonce: 0,
    }
}

fn local(entries: Vec<BlockEntry>) -> PolicyList {
    PolicyList {
        id: ListId::Local,
        applies_to: Scope::All,
        entries,
    }
}

fn followed(moderator: PublicKey, applies_to: Scope, entries: Vec<BlockEntry>) -> PolicyList {
    PolicyList {
        id: ListId::Moderator(moderator),
        applies_to,
        entries,
    }
}

const ID: MessageId = MessageId([0x42; 32]);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A blocked persona's posts are hidden, and the verdict names the
    /// list, the entry's index and its reason; other personas' posts are
    /// not hidden.
    #[test]
    fn blocked_persona_is_reported_with_its_list_entry_and_reason(
        blocked in any::<[u8; 32]>(),
        fillers in vec(any::<[u8; 32]>(), 0..20),
        at in any::<Index>(),
        reason in prop_oneof![Just(String::new()), line_text(30, MAX_REASON_BYTES)],
        channel in channel_name(),
    ) {
        prop_assume!(!fillers.contains(&blocked));
        let mut entries: Vec<BlockEntry> = fillers
            .iter()
            .map(|k| BlockEntry::new(BlockTarget::Persona(PublicKey(*k)), "other"))
            .collect();
        let index = at.index(entries.len() + 1);
        let target = BlockTarget::Persona(PublicKey(blocked));
        entries.insert(index, BlockEntry::new(target.clone(), reason.clone()));
        let moderator = key(9).public();
        let policy = Policy::compile([
            local(vec![BlockEntry::new(BlockTarget::Keyword("unrelated-word".into()), "")]),
            followed(moderator, Scope::All, entries),
        ]);
        prop_assert!(policy.problems().is_empty());
        prop_assert_eq!(policy.len(), fillers.len() + 2);

        let verdict = policy.check(&ID, &post_by(PublicKey(blocked), channel.as_str(), "hello")).unwrap();
        prop_assert_eq!(verdict.list, ListId::Moderator(moderator));
        prop_assert_eq!(verdict.entry, index);
        prop_assert_eq!(verdict.target, target);
        prop_assert_eq!(verdict.reason, reason);

        let mut someone = blocked;
        someone[0] ^= 1;
        prop_assume!(!fillers.contains(&someone));
        prop_assert_eq!(policy.check(&ID, &post_by(PublicKey(someone), channel.as_str(), "hello")), None);
    }

    /// Keywords match whatever the case, in the body, the nickname or the
    /// content-warning text.
    #[test]
    fn keywords_match_case_insensitively(
        word in "[a-zA-Zéèü]{3,12}",
        flips in vec(any::<bool>(), 12),
        before in "[ .,!?0-9]{0,10}",
        after in "[ .,!?0-9]{0,10}",
    ) {
        let cased: String = word
            .chars()
            .zip(flips.iter().cycle())
            .map(|(c, up)| if *up { c.to_uppercase().collect::<String>() } else { c.to_lowercase().collect() })
            .collect();
        let text = format!("{before}{cased}{after}");
        let policy = Policy::compile([local(vec![BlockEntry::new(BlockTarget::Keyword(word.clone()), "trigger")])]);
        let author = key(1).public();

        let in_body = post_by(author, "anxiety", &text);
        let verdict = policy.check(&ID, &in_body).unwrap();
        prop_assert_eq!(verdict.list, ListId::Local);
        prop_assert_eq!(verdict.entry, 0);
        prop_assert_eq!(verdict.reason, "trigger");

        let mut in_nick = post_by(author, "anxiety", "nothing to see");
        in_nick.nickname = Some(text.trim().to_owned());
        prop_assert!(policy.check(&ID, &in_nick).is_some());

        let mut in_cw = post_by(author, "anxiety", "nothing to see");
        in_cw.content_warning = Some(ContentWarning::new([], Some(text.clone())));
        prop_assert!(policy.check(&ID, &in_cw).is_some());

        prop_assert_eq!(policy.check(&ID, &post_by(author, "anxiety", &format!("{before}{after}0"))), None);
    }

    /// A newer list from the same moderator replaces the held one; an equal
    /// or older one, or one from another moderator, does not.
    #[test]
    fn only_newer_lists_from_the_same_moderator_replace(held_seq in any::<u64>(), offered_seq in any::<u64>()) {
        let network = main_net();
        let list = |k: &Keypair, seq| {
            the_list(&ModeratorList::sign(k, &network, seq, NOW, "", vec![]).unwrap()).clone()
        };
        let (alice, bob) = (key(2), key(3));
        let held = list(&alice, held_seq);
        let offered = list(&alice, offered_seq);
        prop_assert_eq!(offered.may_replace(None), Ok(()));
        // A replay of the held list itself changes nothing.
        prop_assert_eq!(
            held.may_replace(Some(&held)),
            Err(ListUpdateError::NotNewer { held: held_seq, offered: held_seq })
        );
        if offered_seq > held_seq {
            prop_assert_eq!(offered.may_replace(Some(&held)), Ok(()));
        } else {
            prop_assert_eq!(
                offered.may_replace(Some(&held)),
                Err(ListUpdateError::NotNewer { held: held_seq, offered: offered_seq })
            );
        }
        prop_assert_eq!(
            list(&bob, held_seq.saturating_add(1)).may_replace(Some(&held)),
            Err(ListUpdateError::OtherModerator)
        );
    }
}

#[test]
fn channel_scoped_entries_cover_sub_channels_only() {
    let troll = key(1).public();
    let persona_in_grief =
        BlockEntry::new(BlockTarget::Persona(troll), "harasses grievers").in_channel(ch("grief"));
    let policy = Policy::compile([local(vec![persona_in_grief])]);
    assert!(policy.check(&ID, &post_by(troll, "grief", "x")).is_some());
    assert!(
        policy
            .check(&ID, &post_by(troll, "grief/es", "x"))
            .is_some()
    );
    assert!(
        policy
            .check(&ID, &post_by(troll, "grief/es/madrid", "x"))
            .is_some()
    );
    // Not another channel, not a parent, not a name that merely starts the
    // same.
    assert_eq!(policy.check(&ID, &post_by(troll, "anxiety", "x")), None);
    assert_eq!(policy.check(&ID, &post_by(troll, "griefs", "x")), None);
    assert_eq!(
        policy.check(&ID, &post_by(troll, "grief-support", "x")),
        None
    );
    let scoped_deep = BlockEntry::new(BlockTarget::Persona(troll), "").in_channel(ch("grief/es"));
    let policy = Policy::compile([local(vec![scoped_deep])]);
    assert_eq!(policy.check(&ID, &post_by(troll, "grief", "x")), None);
    assert_eq!(policy.check(&ID, &post_by(troll, "grief/en", "x")), None);

    // A whole-channel entry hides the channel and its sub-channels.
    let anyone = key(2).public();
    let block_channel = BlockEntry::new(BlockTarget::Channel(ch("grief")), "not for me");
    let policy = Policy::compile([local(vec![block_channel])]);
    let verdict = policy
        .check(&ID, &post_by(anyone, "grief/es", "x"))
        .unwrap();
    assert_eq!(verdict.target, BlockTarget::Channel(ch("grief")));
    assert_eq!(verdict.reason, "not for me");
    assert!(policy.check(&ID, &post_by(anyone, "grief", "x")).is_some());
    assert_eq!(
        policy.check(&ID, &post_by(anyone, "grief-support", "x")),
        None
    );
    assert_eq!(policy.check(&ID, &post_by(anyone, "anxiety", "x")), None);
}

#[test]
fn a_moderator_followed_for_one_channel_hides_nothing_elsewhere() {
    let moderator = key(9).public();
    let troll = key(1).public();
    let entries = vec![
        BlockEntry::new(BlockTarget::Persona(troll), "spam"),
        BlockEntry::new(BlockTarget::Keyword("buy now".into()), "ads"),
        BlockEntry::new(BlockTarget::Channel(ch("anxiety")), "whole channel"),
        BlockEntry::new(BlockTarget::Post(ID), "one post"),
    ];
    let policy = Policy::compile([followed(moderator, Scope::Channel(ch("grief")), entries)]);
    let in_grief = policy
        .check(&ID, &post_by(troll, "grief/es", "buy now"))
        .unwrap();
    assert_eq!(in_grief.list, ListId::Moderator(moderator));
    assert_eq!(in_grief.entry, 0);
    for channel in ["anxiety", "anxiety/es", "recovery"] {
        assert_eq!(
            policy.check(&ID, &post_by(troll, channel, "buy now")),
            None,
            "{channel}"
        );
    }

    // Unfollowing (compiling without the list) undoes it everywhere.
    let policy = Policy::compile([]);
    assert!(policy.is_empty());
    assert_eq!(policy.check(&ID, &post_by(troll, "grief", "buy now")), None);
}

#[test]
fn the_same_keyword_in_a_scoped_and_an_unscoped_list_both_apply() {
    let (a, b) = (key(8).public(), key(9).public());
    let policy = Policy::compile([
        followed(
            a,
            Scope::Channel(ch("grief")),
            vec![BlockEntry::new(BlockTarget::Keyword("Spam".into()), "a")],
        ),
        followed(
            b,
            Scope::All,
            vec![BlockEntry::new(BlockTarget::Keyword("spam".into()), "b")],
        ),
    ]);
    let anyone = key(1).public();
    let verdict = policy
        .check(&ID, &post_by(anyone, "anxiety", "SPAM here"))
        .unwrap();
    assert_eq!(verdict.list, ListId::Moderator(b));
    let regexes = Policy::compile([
        followed(
            a,
            Scope::Channel(ch("grief")),
            vec![BlockEntry::new(BlockTarget::Regex("sp+am".into()), "a")],
        ),
        followed(
            b,
            Scope::All,
            vec![BlockEntry::new(BlockTarget::Regex("sp+am".into()), "b")],
        ),
    ]);
    let verdict = regexes
        .check(&ID, &post_by(anyone, "anxiety", "SPPAM here"))
        .unwrap();
    assert_eq!(verdict.list, ListId::Moderator(b));
}

#[test]
fn a_bad_regex_is_reported_and_the_rest_of_the_list_still_applies() {
    let moderator = key(9).public();
    let troll = key(1).public();
    let entries = vec![
        BlockEntry::new(BlockTarget::Keyword("hopeless".into()), "k"),
        BlockEntry::new(BlockTarget::Regex("(unclosed".into()), "broken"),
        BlockEntry::new(BlockTarget::Regex(r"\bkill\s+yourself\b".into()), "r"),
        BlockEntry::new(BlockTarget::Persona(troll), "p"),
        // Over the keyword limit: skipped too, and reported.
        BlockEntry::new(
            BlockTarget::Keyword("k".repeat(MAX_KEYWORD_BYTES + 1)),
            "long",
        ),
    ];
    let policy = Policy::compile([local(vec![]), followed(moderator, Scope::All, entries)]);
    let problems = policy.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(
        (problems[0].list, problems[0].entry),
        (ListId::Moderator(moderator), 1)
    );
    assert_eq!(
        (problems[1].list, problems[1].entry),
        (ListId::Moderator(moderator), 4)
    );
    assert!(
        problems[1].to_string().contains("keyword"),
        "{}",
        problems[1]
    );
    assert_eq!(policy.len(), 3);

    let anyone = key(2).public();
    let hit = |body: &str, author| {
        policy
            .check(&ID, &post_by(author, "anxiety", body))
            .map(|v| v.entry)
    };
    assert_eq!(hit("I feel HOPELESS", anyone), Some(0));
    assert_eq!(hit("just Kill   Yourself", anyone), Some(2));
    assert_eq!(hit("hello", troll), Some(3));
    assert_eq!(hit("(unclosed", anyone), None);
    assert_eq!(hit("hello", anyone), None);
}

#[test]
fn a_blocked_post_id_is_hidden_in_its_scope() {
    let anyone = key(2).public();
    let policy = Policy::compile([local(vec![
        BlockEntry::new(BlockTarget::Post(ID), "doxxing").in_channel(ch("recovery")),
    ])]);
    let verdict = policy
        .check(&ID, &post_by(anyone, "recovery", "x"))
        .unwrap();
    assert_eq!(verdict.reason, "doxxing");
    assert_eq!(
        policy.check(&MessageId([1; 32]), &post_by(anyone, "recovery", "x")),
        None
    );
    assert_eq!(policy.check(&ID, &post_by(anyone, "anxiety", "x")), None);
}

// ---------------------------------------------------------------------------
// Abuse resistance: blank texts, line breaks, persona stamps, the order of
// checks and keywords in disguise.
// ---------------------------------------------------------------------------

/// A character that shows nothing: white space or invisible.
fn blank_char() -> impl Strategy<Value = char> {
    prop_oneof![
        select(vec![' ', '\t', '\u{00A0}', '\u{3000}', '\u{2003}']),
        select(vec![
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{2060}',
            '\u{2061}',
            '\u{2062}',
            '\u{2063}',
            '\u{2064}',
            '\u{FEFF}',
            '\u{3164}',
            '\u{115F}',
            '\u{1160}',
            '\u{FFA0}',
            '\u{2800}',
            '\u{00AD}',
            '\u{034F}',
            '\u{FE0F}',
            '\u{E0041}',
        ]),
    ]
}

fn sign_main(draft: PostDraft) -> Result<SignedMessage, BuildError> {
    draft.sign(&key(1), &main_net(), 0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A body or nickname made only of blank characters is refused when
    /// signing, and the same bytes sealed by hand are refused as `Text`
    /// when received.
    #[test]
    fn blank_only_texts_are_refused_everywhere(blank in vec(blank_char(), 1..12)) {
        let blank: String = blank.into_iter().collect();
        prop_assume!(blank.len() <= MAX_NICKNAME_BYTES);
        prop_assert!(
            matches!(
                sign_main(PostDraft::new(ch("anxiety"), blank.clone(), NOW)),
                Err(BuildError::Text(TextError::Empty { .. }))
            ),
            "{:?}",
            blank
        );
        prop_assert!(
            sign_main(PostDraft::new(ch("anxiety"), "hi", NOW).with_nickname(blank.clone()))
                .is_err()
        );
        let mut fields = RawFields::simple("anxiety", &blank, NOW);
        let bytes = sealed_post(&RawPost { fields: fields.clone(), nonce: 0 });
        let empty = matches!(
            validate_main(&bytes, NOW),
            Err(ValidationError::Text(TextError::Empty { .. }))
        );
        prop_assert!(empty);
        fields.body = "hi".to_owned();
        fields.nickname = Some(blank.clone());
        let bytes = sealed_post(&RawPost { fields, nonce: 0 });
        let empty = matches!(
            validate_main(&bytes, NOW),
            Err(ValidationError::Text(TextError::Empty { .. }))
        );
        prop_assert!(empty);
    }

    /// A line or paragraph separator anywhere in a nickname,
    /// content-warning text or body is refused on both sides.
    #[test]
    fn line_separators_are_refused_in_every_text(
        text in line_text(10, 20),
        at in any::<Index>(),
        sep in select(vec!['\u{2028}', '\u{2029}']),
        field in 0usize..3,
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        chars.insert(at.index(chars.len() + 1), sep);
        chars.insert(0, 'a');
        let bad: String = chars.into_iter().collect();
        let mut fields = RawFields::simple("anxiety", "hello", NOW);
        let draft = PostDraft::new(ch("anxiety"), "hello", NOW);
        let draft = match field {
            0 => {
                fields.nickname = Some(bad.clone());
                draft.with_nickname(bad.clone())
            }
            1 => {
                fields.content_warning = Some((vec![], Some(bad.clone())));
                draft.with_content_warning(ContentWarning::new([], Some(bad.clone())))
            }
            _ => {
                fields.body = bad.clone();
                PostDraft::new(ch("anxiety"), bad.clone(), NOW)
            }
        };
        let forbidden = |e: &TextError| {
            matches!(e, TextError::ForbiddenCharacter { code, .. } if *code == u32::from(sep))
        };
        prop_assert!(matches!(sign_main(draft), Err(BuildError::Text(ref e)) if forbidden(e)));
        let bytes = sealed_post(&RawPost { fields, nonce: 0 });
        prop_assert!(matches!(validate_main(&bytes, NOW), Err(ValidationError::Text(ref e)) if forbidden(e)));
    }

    /// A persona stamp found for one key and network holds exactly to its
    /// bits there, and a node asking one bit more refuses the post as a
    /// refusal (not a penalty). The same stamp is worth nothing, beyond
    /// chance, for another key.
    #[test]
    fn persona_stamps_hold_exactly_to_their_bits(
        spec in post_spec(),
        bits in 1u8..=10,
        start in any::<u64>(),
    ) {
        let persona = spec.persona().public();
        let StampSearch::Found(stamp) =
            stamp_persona(&persona, &spec.network, bits, start, 1 << 20)
        else {
            return Err(TestCaseError::fail("no stamp of at most 10 bits in 2^20 attempts"));
        };
        let found = stamp.bits(&spec.network, &persona);
        prop_assert!(found >= bits);
        let signed = spec
            .draft()
            .with_persona_stamp(stamp)
            .sign(&spec.persona(), &spec.network, 0)
            .unwrap();
        prop_assert_eq!(the_post(&signed).persona_stamp, stamp);
        let limits = Limits::default();
        let ctx = |level: u8| {
            ValidationContext::new(&spec.network, spec.created_ms, &limits)
                .channel(&spec.channel)
                .persona_stamp_bits(level)
        };
        prop_assert!(validate(&signed.bytes, &ctx(found)).is_ok());
        let err = validate(&signed.bytes, &ctx(found + 1)).unwrap_err();
        prop_assert_eq!(
            &err,
            &ValidationError::InsufficientPersonaStamp { required: found + 1, found }
        );
        prop_assert!(!err.is_invalid());
        let other = key(spec.seed[0].wrapping_add(1)).public();
        prop_assume!(other != persona);
        prop_assert_ne!(stamp.hash(&spec.network, &other), stamp.hash(&spec.network, &persona));
    }

    /// Whatever else is wrong, a post outside the time window is refused
    /// for its time, without its signature being looked at: forging the
    /// signature does not change the answer.
    #[test]
    fn stale_or_future_posts_are_refused_for_time_whatever_their_signature(
        spec in post_spec(),
        flip in any::<Index>(),
        future in any::<bool>(),
    ) {
        prop_assume!(spec.created_ms > Limits::DEFAULT_MAX_AGE_MS + 1);
        prop_assume!(spec.created_ms < u64::MAX - Limits::DEFAULT_CLOCK_SKEW_MS - 1);
        let mut bytes = spec.sign(0).bytes;
        let sig = bytes.len() - 64;
        bytes[sig + flip.index(64)] ^= 1;
        let limits = Limits::default();
        let now = if future {
            spec.created_ms - Limits::DEFAULT_CLOCK_SKEW_MS - 1
        } else {
            spec.created_ms + Limits::DEFAULT_MAX_AGE_MS + 1
        };
        prop_assume!(spec.expires_ms.is_none_or(|e| e > now));
        let ctx = ValidationContext::new(&spec.network, now, &limits).channel(&spec.channel);
        let err = validate(&bytes, &ctx).unwrap_err();
        if future {
            prop_assert!(matches!(err, ValidationError::FromFuture { .. }), "{:?}", err);
        } else {
            prop_assert!(matches!(err, ValidationError::TooOld { .. }), "{:?}", err);
        }
    }

    /// A keyword still matches when invisible characters are slipped
    /// between its letters, or when its letters are swapped for Cyrillic
    /// look-alikes.
    #[test]
    fn keywords_match_through_invisible_characters_and_look_alikes(
        word in "[acehiopsxy]{3,10}",
        invisible in vec(select(vec!['\u{200B}', '\u{200C}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{2800}']), 1..4),
        cyrillic in vec(any::<bool>(), 10),
        before in "[ .,!?]{0,5}",
    ) {
        let policy = Policy::compile([local(vec![BlockEntry::new(BlockTarget::Keyword(word.clone()), "spam")])]);
        let author = key(1).public();
        let mut spaced = before.clone();
        for (i, c) in word.chars().enumerate() {
            spaced.push(c);
            spaced.push(invisible[i % invisible.len()]);
        }
        prop_assert!(policy.check(&ID, &post_by(author, "anxiety", &spaced)).is_some(), "{:?}", spaced);
        // Cyrillic letters that look like these Latin ones.
        let look_alike: String = word
            .chars()
            .zip(cyrillic.iter().cycle())
            .map(|(c, swap)| match (c, swap) {
                ('a', true) => 'а',
                ('c', true) => 'с',
                ('e', true) => 'е',
                ('h', true) => 'һ',
                ('i', true) => 'і',
                ('o', true) => 'о',
                ('p', true) => 'р',
                ('s', true) => 'ѕ',
                ('x', true) => 'х',
                ('y', true) => 'у',
                (c, _) => c,
            })
            .collect();
        prop_assert!(policy.check(&ID, &post_by(author, "anxiety", &look_alike)).is_some(), "{:?}", look_alike);
    }
}
