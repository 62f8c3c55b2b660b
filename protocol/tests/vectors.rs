//! Checks the published test vectors in `docs/test-vectors.json` against
//! this implementation, so the specification's vectors and the code cannot
//! drift apart.
//!
//! The tests read and check: for every positive vector they sign the given
//! inputs with the given seed and compare every byte, recompute the hashes
//! of the layout from the specification's formulas, then validate the
//! bytes; for every negative vector they check that validation fails with
//! the named error and the named penalty class. One more test checks that
//! the file is exactly what `support/vector_gen.rs` writes, so it is never
//! edited by hand.

#[path = "support/vector_gen.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod vector_gen;

use ed25519_dalek::{Signature, VerifyingKey};
use hearth_protocol::channel::TOPIC_VERSION;
use hearth_protocol::envelope::{ENVELOPE_VERSION, SIGNATURE_TAG};
use hearth_protocol::moderation::{BlockEntry, BlockTarget, ModeratorList, Scope};
use hearth_protocol::names::{ADJECTIVES, ANIMALS, FINGERPRINT_TAG, GLYPHS, NAME_TAG, PALETTE};
use hearth_protocol::pow::{POW_TAG, leading_zero_bits};
use hearth_protocol::stamp::PERSONA_STAMP_TAG;
use hearth_protocol::text::keyword_form;
use hearth_protocol::{
    ChannelName, ContentWarning, CwLabel, DEFAULT_PERSONA_STAMP_BITS, Keypair, Kind, Limits,
    Message, MessageId, NetworkId, PersonaStamp, PostDraft, PublicKey, StampSearch, Topic,
    ValidationContext, ValidationError, open, stamp_persona, validate,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const VECTORS: &str = include_str!("../../docs/test-vectors.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    about: String,
    envelope_version: u8,
    default_persona_stamp_bits: u8,
    limits: VectorLimits,
    posts: Vec<PostVector>,
    moderator_lists: Vec<ListVector>,
    channel_cards: Vec<SignedVector<CardInput>>,
    moderator_presence: Vec<SignedVector<PresenceInput>>,
    crisis_updates: Vec<SignedVector<CrisisInput>>,
    names: Vec<NameVector>,
    persona_stamps: Vec<StampVector>,
    keyword_forms: Vec<FormVector>,
    negative: Vec<Negative>,
    reports: Vec<ReportVector>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportVector {
    name: String,
    network: String,
    signer_seed: String,
    ephemeral_secret: String,
    content_key: String,
    filler_seed: String,
    reporter_seed: String,
    reporter_key: String,
    moderator_seeds: Vec<String>,
    moderator_slots: Vec<usize>,
    input: ReportInput,
    pow_bits: u8,
    ephemeral_public: String,
    envelope_hex: String,
    message_id: String,
    validate_at_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportInput {
    channel: String,
    post: String,
    reason: String,
    created_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StampVector {
    public_key: String,
    network: String,
    bits: u8,
    stamp: u64,
    stamp_hash: String,
    stamp_bits: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormVector {
    text: String,
    form: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FingerprintVector {
    colour: u8,
    colour_name: String,
    glyph: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorLimits {
    max_clock_skew_ms: u64,
    max_age_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostVector {
    name: String,
    seed: String,
    network: String,
    difficulty: u8,
    persona_stamp_bits: u8,
    input: PostInput,
    public_key: String,
    persona_name: String,
    fingerprint: FingerprintVector,
    persona_stamp: u64,
    persona_stamp_hash: String,
    nonce: u64,
    body_hex: String,
    signed_data_hex: String,
    envelope_hex: String,
    signature_hex: String,
    message_id: String,
    topic: String,
    rendezvous_key: String,
    validate_at_ms: u64,
    #[serde(default)]
    pow_hash: Option<String>,
    #[serde(default)]
    pow_bits: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostInput {
    channel: String,
    created_ms: u64,
    expires_ms: Option<u64>,
    reply_to: Option<String>,
    content_warning: Option<CwInput>,
    nickname: Option<String>,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CwInput {
    labels: Vec<u8>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListVector {
    name: String,
    seed: String,
    network: String,
    input: ListInput,
    public_key: String,
    persona_name: String,
    body_hex: String,
    signed_data_hex: String,
    envelope_hex: String,
    signature_hex: String,
    message_id: String,
    topic: String,
    validate_at_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListInput {
    sequence: u64,
    created_ms: u64,
    title: String,
    entries: Vec<EntryInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryInput {
    target: String,
    value: String,
    scope: Option<String>,
    reason: String,
}

/// A card or presence vector: inputs and the bytes they sign to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedVector<I> {
    name: String,
    seed: String,
    network: String,
    input: I,
    public_key: String,
    body_hex: String,
    signed_data_hex: String,
    envelope_hex: String,
    signature_hex: String,
    message_id: String,
    topic: String,
    validate_at_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrisisInput {
    sequence: u64,
    created_ms: u64,
    note: String,
    directory: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardInput {
    channel: String,
    created_ms: u64,
    age: String,
    retention_days: u32,
    moderators: Vec<String>,
    rules: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceInput {
    channel: String,
    created_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameVector {
    public_key: String,
    name: String,
    fingerprint_colour: u8,
    fingerprint_colour_name: String,
    fingerprint_glyph: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Negative {
    name: String,
    bytes_hex: String,
    #[serde(default)]
    zero_pad_to: Option<usize>,
    check: String,
    network: String,
    #[serde(default)]
    now_ms: Option<u64>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    moderator: Option<String>,
    #[serde(default)]
    difficulty: Option<u8>,
    #[serde(default)]
    persona_stamp_bits: Option<u8>,
    error: String,
    invalid: bool,
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).unwrap_or_else(|e| panic!("docs/test-vectors.json: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

fn unhex32(s: &str) -> [u8; 32] {
    unhex(s)
        .try_into()
        .unwrap_or_else(|_| panic!("not 32 bytes: {s:?}"))
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push(u8::try_from(value & 0x7f).unwrap() | 0x80);
        value >>= 7;
    }
    out.push(u8::try_from(value).unwrap());
    out
}

fn network(s: &str) -> NetworkId {
    let id = NetworkId::try_from(s.to_owned()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(id.as_str(), s, "vector networks are in wire form");
    id
}

fn channel(s: &str) -> ChannelName {
    ChannelName::try_from(s.to_owned()).unwrap_or_else(|e| panic!("{e}"))
}

fn limits(v: &Vectors) -> Limits {
    let limits = Limits {
        max_clock_skew_ms: v.limits.max_clock_skew_ms,
        max_age_ms: v.limits.max_age_ms,
    };
    assert_eq!(limits, Limits::default(), "vectors use the default limits");
    limits
}

/// Checks the layout rules of the specification on one envelope: the
/// envelope is the concatenation of its parts, the signed data is the tag
/// plus everything before the signature, the signature verifies strictly
/// and the id is SHA-256 of the envelope.
#[allow(clippy::too_many_arguments)]
fn check_layout(
    name: &str,
    kind: Kind,
    network: &str,
    public_key: &str,
    body_hex: &str,
    signed_data_hex: &str,
    envelope_hex: &str,
    signature_hex: &str,
    message_id: &str,
) {
    let body = unhex(body_hex);
    let signature = unhex(signature_hex);
    let mut envelope = vec![ENVELOPE_VERSION, kind.code()];
    envelope.extend(varint(network.len() as u64));
    envelope.extend_from_slice(network.as_bytes());
    envelope.extend(unhex(public_key));
    envelope.extend(varint(body.len() as u64));
    envelope.extend_from_slice(&body);
    let mut signed = SIGNATURE_TAG.to_vec();
    signed.extend_from_slice(&envelope);
    assert_eq!(hex::encode(&signed), signed_data_hex, "{name}: signed data");
    envelope.extend_from_slice(&signature);
    assert_eq!(
        hex::encode(&envelope),
        envelope_hex,
        "{name}: envelope layout"
    );
    let id: [u8; 32] = Sha256::digest(&envelope).into();
    assert_eq!(
        hex::encode(id),
        message_id,
        "{name}: id = SHA-256(envelope)"
    );
    let key = VerifyingKey::from_bytes(&unhex32(public_key)).unwrap_or_else(|e| panic!("{e}"));
    let signature = Signature::from_slice(&signature).unwrap_or_else(|e| panic!("{e}"));
    key.verify_strict(&signed, &signature)
        .unwrap_or_else(|e| panic!("{name}: signature over the signed data: {e}"));
}

#[test]
fn post_vectors_sign_to_the_given_bytes_and_validate() {
    let v = vectors();
    assert!(v.about.contains("docs/protocol.md"));
    let limits = limits(&v);
    assert!(v.posts.len() >= 3);
    for p in &v.posts {
        let name = p.name.as_str();
        let key = Keypair::from_secret_bytes(unhex32(&p.seed));
        let net = network(&p.network);
        let ch = channel(&p.input.channel);
        let mut draft = PostDraft::new(ch.clone(), p.input.body.clone(), p.input.created_ms)
            .with_persona_stamp(PersonaStamp(p.persona_stamp));
        if let Some(expires) = p.input.expires_ms {
            draft = draft.with_expiry(expires);
        }
        if let Some(parent) = &p.input.reply_to {
            draft = draft.with_reply_to(MessageId(unhex32(parent)));
        }
        if let Some(cw) = &p.input.content_warning {
            let labels = cw.labels.iter().map(|&c| CwLabel::from(c));
            draft = draft.with_content_warning(ContentWarning::new(labels, cw.text.clone()));
        }
        if let Some(nick) = &p.input.nickname {
            draft = draft.with_nickname(nick.clone());
        }
        let signed = draft
            .sign(&key, &net, p.difficulty)
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(key.public().to_string(), p.public_key, "{name}: public key");
        assert_eq!(key.public().name(), p.persona_name, "{name}: persona name");
        assert_eq!(
            name_by_spec(&key.public().0),
            p.persona_name,
            "{name}: name formula"
        );
        let (colour, colour_name, glyph) = fingerprint_by_spec(&key.public().0);
        assert_eq!(
            (colour, colour_name, glyph),
            (
                p.fingerprint.colour,
                p.fingerprint.colour_name.clone(),
                p.fingerprint.glyph.clone()
            ),
            "{name}: fingerprint"
        );
        let stamp_hash = stamp_hash_by_spec(p.persona_stamp, &p.network, &key.public().0);
        assert_eq!(
            hex::encode(stamp_hash),
            p.persona_stamp_hash,
            "{name}: stamp hash"
        );
        assert!(
            leading_zero_bits(&stamp_hash) >= p.persona_stamp_bits,
            "{name}: stamp level"
        );
        assert_eq!(
            hex::encode(&signed.bytes),
            p.envelope_hex,
            "{name}: envelope"
        );
        assert_eq!(signed.id.to_string(), p.message_id, "{name}: message id");
        let post = signed.message.as_post().unwrap_or_else(|| panic!("{name}"));
        assert_eq!(post.nonce, p.nonce, "{name}: nonce");
        if let Some(cw) = &p.input.content_warning {
            let codes: Vec<u8> = post
                .content_warning
                .iter()
                .flat_map(|w| w.labels.iter().map(|&l| u8::from(l)))
                .collect();
            assert_eq!(codes, cw.labels, "{name}: label codes kept in order");
        }
        check_layout(
            name,
            Kind::Post,
            &p.network,
            &p.public_key,
            &p.body_hex,
            &p.signed_data_hex,
            &p.envelope_hex,
            &p.signature_hex,
            &p.message_id,
        );

        // The body ends with the stamp varint, then the nonce varint; the
        // work covers everything before the nonce.
        let body = unhex(&p.body_hex);
        let nonce = varint(p.nonce);
        assert!(body.ends_with(&nonce), "{name}: nonce is the last field");
        let stamp = varint(p.persona_stamp);
        assert!(
            body[..body.len() - nonce.len()].ends_with(&stamp),
            "{name}: the persona stamp comes just before the nonce"
        );
        let fields = body.get(..body.len() - nonce.len()).unwrap_or_default();
        let work: [u8; 32] = Sha256::new()
            .chain_update(POW_TAG)
            .chain_update(unhex(&p.public_key))
            .chain_update(varint(p.network.len() as u64))
            .chain_update(p.network.as_bytes())
            .chain_update(fields)
            .chain_update(p.nonce.to_le_bytes())
            .finalize()
            .into();
        assert!(leading_zero_bits(&work) >= p.difficulty, "{name}: work");
        if let Some(expected) = &p.pow_hash {
            assert_eq!(&hex::encode(work), expected, "{name}: work hash");
            assert_eq!(
                Some(leading_zero_bits(&work)),
                p.pow_bits,
                "{name}: work bits"
            );
        }

        assert_eq!(ch.topic(&net).to_string(), p.topic, "{name}: topic");
        assert_eq!(
            Topic::parse(&p.topic).ok(),
            Some(ch.topic(&net)),
            "{name}: topic parse"
        );
        assert!(p.topic.starts_with(&format!("hearth/{TOPIC_VERSION}/")));
        assert_eq!(
            hex::encode(ch.rendezvous_key(&net)),
            p.rendezvous_key,
            "{name}: rendezvous"
        );

        let bytes = unhex(&p.envelope_hex);
        let ctx = ValidationContext::new(&net, p.validate_at_ms, &limits)
            .channel(&ch)
            .difficulty(p.difficulty)
            .persona_stamp_bits(p.persona_stamp_bits);
        let verified = validate(&bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.id, signed.id, "{name}");
        assert_eq!(verified.message, signed.message, "{name}: decoded content");
        let opened = open(&bytes, &net).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(opened.message, signed.message, "{name}: open");
    }
}

#[test]
fn moderator_list_vectors_sign_to_the_given_bytes_and_validate() {
    let v = vectors();
    let limits = limits(&v);
    assert!(!v.moderator_lists.is_empty());
    for l in &v.moderator_lists {
        let name = l.name.as_str();
        let key = Keypair::from_secret_bytes(unhex32(&l.seed));
        let net = network(&l.network);
        let entries: Vec<BlockEntry> = l
            .input
            .entries
            .iter()
            .map(|e| {
                let target = match e.target.as_str() {
                    "persona" => BlockTarget::Persona(PublicKey(unhex32(&e.value))),
                    "post" => BlockTarget::Post(MessageId(unhex32(&e.value))),
                    "keyword" => BlockTarget::Keyword(e.value.clone()),
                    "regex" => BlockTarget::Regex(e.value.clone()),
                    "channel" => BlockTarget::Channel(channel(&e.value)),
                    other => panic!("{name}: unknown target kind {other:?}"),
                };
                BlockEntry {
                    target,
                    scope: e
                        .scope
                        .as_deref()
                        .map_or(Scope::All, |c| Scope::Channel(channel(c))),
                    reason: e.reason.clone(),
                }
            })
            .collect();
        let signed = ModeratorList::sign(
            &key,
            &net,
            l.input.sequence,
            l.input.created_ms,
            l.input.title.clone(),
            entries.clone(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));

        assert_eq!(key.public().to_string(), l.public_key, "{name}: public key");
        assert_eq!(key.public().name(), l.persona_name, "{name}: name");
        assert_eq!(
            hex::encode(&signed.bytes),
            l.envelope_hex,
            "{name}: envelope"
        );
        assert_eq!(signed.id.to_string(), l.message_id, "{name}: message id");
        check_layout(
            name,
            Kind::ModeratorList,
            &l.network,
            &l.public_key,
            &l.body_hex,
            &l.signed_data_hex,
            &l.envelope_hex,
            &l.signature_hex,
            &l.message_id,
        );
        let topic = Topic::Moderator {
            network: net.clone(),
            moderator: key.public(),
        };
        assert_eq!(topic.to_string(), l.topic, "{name}: topic");
        assert_eq!(
            Topic::parse(&l.topic).ok(),
            Some(topic),
            "{name}: topic parse"
        );

        let bytes = unhex(&l.envelope_hex);
        let moderator = key.public();
        let ctx = ValidationContext::new(&net, l.validate_at_ms, &limits).moderator(&moderator);
        let verified = validate(&bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.id, signed.id, "{name}");
        match &verified.message {
            Message::ModeratorList(list) => {
                assert_eq!(list.entries, entries, "{name}: entries");
                assert_eq!(list.sequence, l.input.sequence, "{name}: sequence");
                assert_eq!(list.moderator, moderator, "{name}: moderator");
            }
            _ => panic!("{name}: decoded as another kind"),
        }
    }
}

/// Checks a card or presence vector's layout, bytes and topic, and
/// validates it on its topic; returns the verified message.
fn check_signed_vector<I>(
    kind: Kind,
    v: &SignedVector<I>,
    signed: &hearth_protocol::SignedMessage,
    channel_name: &str,
    limits: &Limits,
) -> Message {
    let name = v.name.as_str();
    let net = network(&v.network);
    assert_eq!(
        hex::encode(&signed.bytes),
        v.envelope_hex,
        "{name}: envelope"
    );
    assert_eq!(signed.id.to_string(), v.message_id, "{name}: message id");
    check_layout(
        name,
        kind,
        &v.network,
        &v.public_key,
        &v.body_hex,
        &v.signed_data_hex,
        &v.envelope_hex,
        &v.signature_hex,
        &v.message_id,
    );
    let ch = channel(channel_name);
    assert_eq!(ch.topic(&net).to_string(), v.topic, "{name}: topic");
    let ctx = ValidationContext::new(&net, v.validate_at_ms, limits).channel(&ch);
    let verified =
        validate(&unhex(&v.envelope_hex), &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
    verified.message
}

#[test]
fn channel_card_and_presence_vectors_sign_to_the_given_bytes_and_validate() {
    let v = vectors();
    let limits = limits(&v);
    assert!(!v.channel_cards.is_empty() && !v.moderator_presence.is_empty());
    for c in &v.channel_cards {
        let key = Keypair::from_secret_bytes(unhex32(&c.seed));
        let age = hearth_protocol::AgeGroup::parse(&c.input.age)
            .unwrap_or_else(|| panic!("{}: age", c.name));
        let draft = hearth_protocol::CardDraft {
            channel: channel(&c.input.channel),
            created_ms: c.input.created_ms,
            age,
            retention_days: c.input.retention_days,
            moderators: c
                .input
                .moderators
                .iter()
                .map(|m| PublicKey(unhex32(m)))
                .collect(),
            rules: c.input.rules.clone(),
        };
        let signed = hearth_protocol::ChannelCard::sign(&key, &network(&c.network), draft)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        match check_signed_vector(Kind::ChannelCard, c, &signed, &c.input.channel, &limits) {
            Message::ChannelCard(card) => {
                assert_eq!(card.founder, key.public(), "{}: founder", c.name);
                assert_eq!(card.age, age, "{}: age", c.name);
                assert_eq!(card.rules, c.input.rules, "{}: rules", c.name);
            }
            _ => panic!("{}: not decoded as a card", c.name),
        }
    }
    for p in &v.moderator_presence {
        let key = Keypair::from_secret_bytes(unhex32(&p.seed));
        let signed = hearth_protocol::ModeratorPresence::sign(
            &key,
            &network(&p.network),
            channel(&p.input.channel),
            p.input.created_ms,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        match check_signed_vector(
            Kind::ModeratorPresence,
            p,
            &signed,
            &p.input.channel,
            &limits,
        ) {
            Message::ModeratorPresence(presence) => {
                assert_eq!(presence.moderator, key.public(), "{}: moderator", p.name);
                assert_eq!(presence.created_ms, p.input.created_ms, "{}", p.name);
            }
            _ => panic!("{}: not decoded as presence", p.name),
        }
    }
}

/// The name of section 11, computed from the formula.
fn name_by_spec(key: &[u8; 32]) -> String {
    let h: [u8; 32] = Sha256::new()
        .chain_update(NAME_TAG)
        .chain_update(key)
        .finalize()
        .into();
    format!(
        "{}-{}-{}",
        ADJECTIVES[usize::from(h[0] % 64)],
        ANIMALS[usize::from(h[1] % 64)],
        hex::encode(&h[2..5])
    )
}

/// The fingerprint of section 11, computed from the formula: colour
/// index, colour name and glyph.
fn fingerprint_by_spec(key: &[u8; 32]) -> (u8, String, String) {
    let f: [u8; 32] = Sha256::new()
        .chain_update(FINGERPRINT_TAG)
        .chain_update(key)
        .finalize()
        .into();
    let colour = f[0] >> 4;
    (
        colour,
        PALETTE[usize::from(colour)].name.to_owned(),
        GLYPHS[usize::from(f[0] & 0x0f)].to_string(),
    )
}

/// The persona-stamp hash of section 12.2, computed from the formula.
fn stamp_hash_by_spec(stamp: u64, network: &str, key: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(stamp.to_le_bytes())
        .chain_update(PERSONA_STAMP_TAG)
        .chain_update(varint(network.len() as u64))
        .chain_update(network.as_bytes())
        .chain_update(key)
        .finalize()
        .into()
}

#[test]
fn name_vectors_match() {
    for n in vectors().names {
        let key = PublicKey(unhex32(&n.public_key));
        assert_eq!(key.name(), n.name, "{}", n.public_key);
        assert_eq!(name_by_spec(&key.0), n.name, "{}: formula", n.public_key);
        let f = key.fingerprint();
        assert_eq!(
            (f.colour, f.palette().name, f.glyph.to_string()),
            (
                n.fingerprint_colour,
                n.fingerprint_colour_name.as_str(),
                n.fingerprint_glyph.clone()
            ),
            "{}",
            n.public_key
        );
        assert_eq!(
            fingerprint_by_spec(&key.0),
            (
                n.fingerprint_colour,
                n.fingerprint_colour_name.clone(),
                n.fingerprint_glyph.clone()
            ),
            "{}: formula",
            n.public_key
        );
    }
}

#[test]
fn persona_stamp_vectors_match_and_are_the_first_from_zero() {
    let v = vectors();
    assert_eq!(v.default_persona_stamp_bits, DEFAULT_PERSONA_STAMP_BITS);
    assert_eq!(v.envelope_version, ENVELOPE_VERSION);
    for s in &v.persona_stamps {
        let key = PublicKey(unhex32(&s.public_key));
        let net = network(&s.network);
        let stamp = PersonaStamp(s.stamp);
        let hash = stamp_hash_by_spec(s.stamp, &s.network, &key.0);
        assert_eq!(hex::encode(hash), s.stamp_hash, "{}", s.public_key);
        assert_eq!(stamp.hash(&net, &key), hash);
        assert_eq!(leading_zero_bits(&hash), s.stamp_bits);
        assert_eq!(stamp.bits(&net, &key), s.stamp_bits);
        assert!(stamp.meets(&net, &key, s.bits));
        // The reference search from 0 finds exactly this nonce.
        assert_eq!(
            stamp_persona(&key, &net, s.bits, 0, s.stamp + 1),
            StampSearch::Found(stamp)
        );
    }
}

#[test]
fn keyword_form_vectors_match() {
    for f in vectors().keyword_forms {
        assert_eq!(keyword_form(&f.text), f.form, "{:?}", f.text);
    }
}

#[test]
fn the_file_is_what_the_generator_writes() {
    let generated = vector_gen::generate();
    assert!(
        generated == VECTORS,
        "docs/test-vectors.json differs from what protocol/tests/support/vector_gen.rs writes; \
         regenerate it with `cargo run -p hearth-protocol --example test_vectors > \
         docs/test-vectors.json` and review the change: it is a protocol change"
    );
}

/// The variant name of an error, from its `Debug` form (`TooLarge { .. }`,
/// `Malformed("..")`, `BadSignature`).
fn variant(e: &ValidationError) -> String {
    format!("{e:?}")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

#[test]
fn negative_vectors_fail_with_the_named_error() {
    let v = vectors();
    let limits = limits(&v);
    assert!(v.negative.len() >= 5);
    for n in &v.negative {
        let name = n.name.as_str();
        let mut bytes = unhex(&n.bytes_hex);
        if let Some(len) = n.zero_pad_to {
            bytes.resize(len, 0);
        }
        let net = network(&n.network);
        let ch = n.channel.as_deref().map(channel);
        let moderator = n.moderator.as_deref().map(|m| PublicKey(unhex32(m)));
        let result = match n.check.as_str() {
            "validate" => {
                let now = n.now_ms.unwrap_or_else(|| panic!("{name}: now_ms"));
                let mut ctx = ValidationContext::new(&net, now, &limits)
                    .difficulty(n.difficulty.unwrap_or(0))
                    .persona_stamp_bits(n.persona_stamp_bits.unwrap_or(0));
                if let Some(ch) = &ch {
                    ctx = ctx.channel(ch);
                }
                if let Some(m) = &moderator {
                    ctx = ctx.moderator(m);
                }
                validate(&bytes, &ctx)
            }
            "open" => open(&bytes, &net),
            other => panic!("{name}: unknown check {other:?}"),
        };
        let err = match result {
            Ok(_) => panic!("{name}: accepted, expected {}", n.error),
            Err(e) => e,
        };
        assert_eq!(variant(&err), n.error, "{name}: {err}");
        assert_eq!(err.is_invalid(), n.invalid, "{name}: is_invalid for {err}");
    }
}

#[test]
fn report_vectors_seal_to_the_given_bytes_and_open_for_their_moderators_only() {
    use hearth_protocol::report::{
        ReportContext, ReportDraft, ReportSecrets, check_report, seal_report,
    };
    for v in vectors().reports {
        let network = network(&v.network);
        let secrets = ReportSecrets {
            signer: unhex32(&v.signer_seed),
            ephemeral: unhex32(&v.ephemeral_secret),
            content_key: unhex32(&v.content_key),
            filler: unhex32(&v.filler_seed),
        };
        let reporter = Keypair::from_secret_bytes(unhex32(&v.reporter_seed));
        assert_eq!(reporter.public().to_string(), v.reporter_key, "{}", v.name);
        let moderators: Vec<Keypair> = v
            .moderator_seeds
            .iter()
            .map(|s| Keypair::from_secret_bytes(unhex32(s)))
            .collect();
        assert_eq!(v.moderator_slots.len(), moderators.len());
        let keys: Vec<PublicKey> = moderators.iter().map(Keypair::public).collect();
        let draft = ReportDraft {
            channel: channel(&v.input.channel),
            post: v.input.post.parse().unwrap(),
            reason: v.input.reason.clone(),
            created_ms: v.input.created_ms,
        };
        let sealed = seal_report(&draft, &reporter, &keys, &network, &secrets, v.pow_bits).unwrap();
        assert_eq!(hex::encode(&sealed.bytes), v.envelope_hex, "{}", v.name);
        assert_eq!(sealed.id.to_string(), v.message_id);
        assert_eq!(
            hex::encode(sha256(&sealed.bytes)),
            v.message_id,
            "id = SHA-256(envelope)"
        );
        assert_eq!(Kind::from_code(sealed.bytes[1]), Some(Kind::Report));
        // The ephemeral key is written right after the channel and time.
        let envelope_text = v.envelope_hex.clone();
        assert!(envelope_text.contains(&v.ephemeral_public), "{}", v.name);
        let limits = Limits::default();
        let ctx = ReportContext::new(&network, v.validate_at_ms, &limits)
            .channel(&draft.channel)
            .pow_bits(v.pow_bits);
        let outer = check_report(&sealed.bytes, &ctx).unwrap();
        for moderator in &moderators {
            let report = outer.open(moderator).unwrap().expect("sealed to it");
            assert_eq!(report.reason, v.input.reason);
            assert_eq!(report.post.to_string(), v.input.post);
            assert_eq!(report.reporter, reporter.public());
        }
        assert_eq!(outer.open(&reporter).unwrap(), None);
        // validate() refuses a report: it has its own path.
        let vctx = ValidationContext::new(&network, v.validate_at_ms, &limits);
        assert!(matches!(
            validate(&sealed.bytes, &vctx),
            Err(ValidationError::Field(_))
        ));
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[test]
fn crisis_update_vectors_sign_to_the_given_bytes_and_validate_on_their_topic() {
    let v = vectors();
    let limits = limits(&v);
    assert!(!v.crisis_updates.is_empty());
    for c in &v.crisis_updates {
        let name = c.name.as_str();
        let key = Keypair::from_secret_bytes(unhex32(&c.seed));
        let net = network(&c.network);
        let signed = hearth_protocol::CrisisUpdate::sign(
            &key,
            &net,
            c.input.sequence,
            c.input.created_ms,
            c.input.note.clone(),
            c.input.directory.clone(),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            hex::encode(&signed.bytes),
            c.envelope_hex,
            "{name}: envelope"
        );
        assert_eq!(signed.id.to_string(), c.message_id, "{name}: message id");
        check_layout(
            name,
            Kind::CrisisUpdate,
            &c.network,
            &c.public_key,
            &c.body_hex,
            &c.signed_data_hex,
            &c.envelope_hex,
            &c.signature_hex,
            &c.message_id,
        );
        let publisher = key.public();
        let topic = Topic::Moderator {
            network: net.clone(),
            moderator: publisher,
        };
        assert_eq!(topic.to_string(), c.topic, "{name}: topic");
        let ctx = ValidationContext::new(&net, c.validate_at_ms, &limits).moderator(&publisher);
        let verified =
            validate(&unhex(&c.envelope_hex), &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        match verified.message {
            Message::CrisisUpdate(update) => {
                assert_eq!(update.publisher, publisher, "{name}: publisher");
                assert_eq!(update.sequence, c.input.sequence, "{name}: sequence");
                assert_eq!(update.note, c.input.note, "{name}: note");
                assert_eq!(update.directory, c.input.directory, "{name}: directory");
            }
            _ => panic!("{name}: not decoded as a crisis update"),
        }
    }
}
