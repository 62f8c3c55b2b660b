//! Generates `docs/test-vectors.json` from the reference implementation.
//!
//! Run `cargo run -p hearth-protocol --example test_vectors >
//! docs/test-vectors.json` to rewrite the file; the test
//! `protocol/tests/vectors.rs: the_file_is_what_the_generator_writes`
//! fails whenever the file and this generator disagree, and the other
//! tests there check every vector against the code independently.
//!
//! Positive vectors are signed through the public API. Negative vectors
//! that need bytes the API refuses to make (non-canonical encodings,
//! invisible texts, old versions) are written here by hand from the layout
//! in `docs/protocol.md` and signed with ed25519-dalek directly, so each
//! carries a correct signature and only the named defect.

use ed25519_dalek::{Signer, SigningKey};
use hearth_protocol::envelope::SIGNATURE_TAG;
use hearth_protocol::limits::DEFAULT_PERSONA_STAMP_BITS;
use hearth_protocol::moderation::{BlockEntry, BlockTarget, ModeratorList};
use hearth_protocol::pow::{POW_TAG, leading_zero_bits};
use hearth_protocol::text::keyword_form;
use hearth_protocol::{
    AgeGroup, CardDraft, ChannelCard, ChannelName, ContentWarning, CrisisUpdate, CwLabel, Keypair,
    Limits, MessageId, ModeratorPresence, NetworkId, PersonaStamp, PostDraft, PublicKey,
    SignedMessage, StampSearch, Topic, stamp_persona,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The directory of the crisis-update vector: a crisis line file with one
/// line (the format of `docs/safety.md`).
const CRISIS_DIRECTORY: &str = "[[line]]\ncountry = \"GB\"\nservice = \"Samaritans\"\nreach = [{ how = \"call\", to = \"116 123\" }]\nhours = \"24 hours, every day\"\nlanguages = [\"en\"]\nsource = \"https://www.samaritans.org/how-we-can-help/contact-samaritan/\"\nchecked = \"2026-12-01\"\n";

/// The envelope version the vectors are of.
const VERSION: u8 = hearth_protocol::envelope::ENVELOPE_VERSION;

fn seed(first: u8) -> [u8; 32] {
    std::array::from_fn(|i| first.wrapping_add(u8::try_from(i).unwrap()))
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

fn string(s: &[u8]) -> Vec<u8> {
    let mut out = varint(s.len() as u64);
    out.extend_from_slice(s);
    out
}

fn net(s: &str) -> NetworkId {
    NetworkId::parse(s).expect("network")
}

fn chan(s: &str) -> ChannelName {
    ChannelName::parse(s).expect("channel")
}

/// The first stamp from nonce 0 that reaches `bits` (nonce 0 at level 0).
fn stamp_for(key: &PublicKey, network: &NetworkId, bits: u8) -> PersonaStamp {
    match stamp_persona(key, network, bits, 0, 1 << 32) {
        StampSearch::Found(stamp) => stamp,
        StampSearch::NotYet { .. } => panic!("no stamp at {bits} bits"),
    }
}

/// The body of an envelope whose network has `network_len` bytes (under
/// 128, so a one-byte length varint).
fn body_of(bytes: &[u8], network_len: usize) -> &[u8] {
    let head = 2 + 1 + network_len + 32;
    let rest = bytes.len() - head - 64;
    let len_bytes = (1..=5)
        .find(|n| varint((rest - n) as u64).len() == *n)
        .expect("a length varint");
    &bytes[head + len_bytes..bytes.len() - 64]
}

/// An envelope sealed by hand: `version kind varint(len) network signer
/// varint(len) body signature`, the signature by `seed` over the tag and
/// everything before it.
fn seal(version: u8, kind: u8, network: &str, seed: [u8; 32], body: &[u8]) -> Vec<u8> {
    let key = SigningKey::from_bytes(&seed);
    let mut out = vec![version, kind];
    out.extend(string(network.as_bytes()));
    out.extend_from_slice(key.verifying_key().as_bytes());
    out.extend(string(body));
    let mut signed = SIGNATURE_TAG.to_vec();
    signed.extend_from_slice(&out);
    out.extend_from_slice(&key.sign(&signed).to_bytes());
    out
}

/// A post body written field by field, each field already encoded.
struct Body {
    channel: Vec<u8>,
    created: Vec<u8>,
    expires: Vec<u8>,
    reply_to: Vec<u8>,
    warning: Vec<u8>,
    nickname: Vec<u8>,
    text: Vec<u8>,
    stamp: Vec<u8>,
    nonce: Vec<u8>,
}

impl Body {
    /// The minimal post's fields: `anxiety`, `hello`, created at
    /// 1700000000000, stamp 0, nonce 0.
    fn minimal() -> Self {
        Self {
            channel: string(b"anxiety"),
            created: varint(1_700_000_000_000),
            expires: vec![0],
            reply_to: vec![0],
            warning: vec![0],
            nickname: vec![0],
            text: string(b"hello"),
            stamp: vec![0],
            nonce: vec![0],
        }
    }

    fn bytes(&self) -> Vec<u8> {
        [
            &self.channel,
            &self.created,
            &self.expires,
            &self.reply_to,
            &self.warning,
            &self.nickname,
            &self.text,
            &self.stamp,
            &self.nonce,
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect()
    }

    /// Sealed in `main` by the minimal post's key.
    fn sealed(&self) -> Vec<u8> {
        seal(VERSION, 1, "main", seed(0), &self.bytes())
    }
}

struct PostCase {
    name: &'static str,
    seed: [u8; 32],
    network: &'static str,
    difficulty: u8,
    stamp_bits: u8,
    channel: &'static str,
    created_ms: u64,
    expires_ms: Option<u64>,
    reply_to: Option<[u8; 32]>,
    warning: Option<(Vec<u8>, Option<&'static str>)>,
    nickname: Option<&'static str>,
    body: &'static str,
}

struct PostOut {
    json: Value,
    signed: SignedMessage,
    pow_bits: u8,
}

fn post_vector(case: &PostCase) -> PostOut {
    let key = Keypair::from_secret_bytes(case.seed);
    let public = key.public();
    let network = net(case.network);
    let channel = chan(case.channel);
    let stamp = stamp_for(&public, &network, case.stamp_bits);
    let mut draft =
        PostDraft::new(channel.clone(), case.body, case.created_ms).with_persona_stamp(stamp);
    if let Some(e) = case.expires_ms {
        draft = draft.with_expiry(e);
    }
    if let Some(r) = case.reply_to {
        draft = draft.with_reply_to(MessageId(r));
    }
    if let Some((labels, text)) = &case.warning {
        draft = draft.with_content_warning(ContentWarning::new(
            labels.iter().map(|&c| CwLabel::from(c)),
            text.map(str::to_owned),
        ));
    }
    if let Some(n) = case.nickname {
        draft = draft.with_nickname(n);
    }
    let signed = draft
        .sign(&key, &network, case.difficulty)
        .expect("the vector signs");
    let bytes = &signed.bytes;
    let post = signed.message.as_post().expect("a post");
    let body = body_of(bytes, case.network.len());
    let signature = &bytes[bytes.len() - 64..];
    let mut signed_data = SIGNATURE_TAG.to_vec();
    signed_data.extend_from_slice(&bytes[..bytes.len() - 64]);
    let fields = &body[..body.len() - varint(post.nonce).len()];
    let work: [u8; 32] = Sha256::new()
        .chain_update(POW_TAG)
        .chain_update(public.as_bytes())
        .chain_update(string(case.network.as_bytes()))
        .chain_update(fields)
        .chain_update(post.nonce.to_le_bytes())
        .finalize()
        .into();
    let fingerprint = public.fingerprint();
    let mut json = json!({
        "name": case.name,
        "seed": hex::encode(case.seed),
        "network": case.network,
        "difficulty": case.difficulty,
        "persona_stamp_bits": case.stamp_bits,
        "input": {
            "channel": case.channel,
            "created_ms": case.created_ms,
            "expires_ms": case.expires_ms,
            "reply_to": case.reply_to.map(hex::encode),
            "content_warning": case.warning.as_ref().map(|(labels, text)| json!({
                "labels": labels, "text": text,
            })),
            "nickname": case.nickname,
            "body": case.body,
        },
        "public_key": public.to_string(),
        "persona_name": public.name(),
        "fingerprint": {
            "colour": fingerprint.colour,
            "colour_name": fingerprint.palette().name,
            "glyph": fingerprint.glyph.to_string(),
        },
        "persona_stamp": stamp.0,
        "persona_stamp_hash": hex::encode(stamp.hash(&network, &public)),
        "nonce": post.nonce,
        "body_hex": hex::encode(body),
        "signed_data_hex": hex::encode(&signed_data),
        "envelope_hex": hex::encode(bytes),
        "signature_hex": hex::encode(signature),
        "message_id": signed.id.to_string(),
        "topic": channel.topic(&network).to_string(),
        "rendezvous_key": hex::encode(channel.rendezvous_key(&network)),
        "validate_at_ms": case.created_ms,
    });
    if case.difficulty > 0 {
        json["pow_hash"] = json!(hex::encode(work));
        json["pow_bits"] = json!(leading_zero_bits(&work));
    }
    PostOut {
        json,
        pow_bits: leading_zero_bits(&work),
        signed: signed.clone(),
    }
}

/// A positive vector of a kind other than a post or a list: its inputs
/// and every byte it signs to.
fn signed_vector(
    name: &str,
    seed: [u8; 32],
    signed: &SignedMessage,
    input: &Value,
    topic: &str,
    validate_at_ms: u64,
) -> Value {
    let b = &signed.bytes;
    let mut signed_data = SIGNATURE_TAG.to_vec();
    signed_data.extend_from_slice(&b[..b.len() - 64]);
    let key = Keypair::from_secret_bytes(seed).public();
    json!({
        "name": name,
        "seed": hex::encode(seed),
        "network": "main",
        "input": input,
        "public_key": key.to_string(),
        "body_hex": hex::encode(body_of(b, 4)),
        "signed_data_hex": hex::encode(&signed_data),
        "envelope_hex": hex::encode(b),
        "signature_hex": hex::encode(&b[b.len() - 64..]),
        "message_id": signed.id.to_string(),
        "topic": topic,
        "validate_at_ms": validate_at_ms,
    })
}

/// One negative vector.
#[allow(clippy::too_many_arguments)]
fn negative(
    name: &str,
    bytes: &[u8],
    check: &str,
    network: &str,
    now_ms: Option<u64>,
    ctx: &[(&str, Value)],
    error: &str,
    invalid: bool,
) -> Value {
    let mut v = json!({
        "name": name,
        "bytes_hex": hex::encode(bytes),
        "check": check,
        "network": network,
        "error": error,
        "invalid": invalid,
    });
    if let Some(now) = now_ms {
        v["now_ms"] = json!(now);
    }
    for (k, val) in ctx {
        v[*k] = val.clone();
    }
    v
}

/// The whole file, as written to `docs/test-vectors.json`.
pub(crate) fn generate() -> String {
    let limits = Limits::default();
    const T: u64 = 1_700_000_000_000;

    let minimal = post_vector(&PostCase {
        name: "minimal post",
        seed: seed(0),
        network: "main",
        difficulty: 0,
        stamp_bits: 0,
        channel: "anxiety",
        created_ms: T,
        expires_ms: None,
        reply_to: None,
        warning: None,
        nickname: None,
        body: "hello",
    });
    let minimal_id = minimal.signed.id.0;
    let every = post_vector(&PostCase {
        name: "post with every optional field and a persona stamp of 12 bits",
        seed: seed(0x20),
        network: "test-net",
        difficulty: 0,
        stamp_bits: 12,
        channel: "grief/es",
        created_ms: T + 1,
        expires_ms: Some(T + 86_400_001),
        reply_to: Some(minimal_id),
        warning: Some((vec![1, 6], Some("pérdida de un padre"))),
        nickname: Some("Ana María"),
        body: "Hola a todos.\nMi madre murió hace un año.\n\tHoy es difícil — ¿alguien más? 🌱",
    });
    let worked = post_vector(&PostCase {
        name: "post with proof of work at difficulty 8 and a persona stamp of 8 bits",
        seed: seed(0x40),
        network: "main",
        difficulty: 8,
        stamp_bits: 8,
        channel: "anxiety",
        created_ms: T + 2,
        expires_ms: None,
        reply_to: None,
        warning: None,
        nickname: None,
        body: "Breathing exercises help me at night.",
    });
    let label = post_vector(&PostCase {
        name: "content warning with a label code unknown to this version (kept as Other)",
        seed: seed(0x60),
        network: "main",
        difficulty: 0,
        stamp_bits: 0,
        channel: "recovery",
        created_ms: T + 3,
        expires_ms: None,
        reply_to: None,
        warning: Some((vec![3, 42], None)),
        nickname: None,
        body: "Day 100 sober.",
    });
    let stamped = post_vector(&PostCase {
        name: "post with a persona stamp of 16 bits, invisible joiners inside real text",
        seed: seed(0xa0),
        network: "main",
        difficulty: 0,
        stamp_bits: 16,
        channel: "anxiety",
        created_ms: T + 4,
        expires_ms: None,
        reply_to: None,
        warning: None,
        nickname: Some("می\u{200C}خواهم"),
        body: "Family 👩\u{200D}👩\u{200D}👧 dinner went well.",
    });

    // The moderator list.
    let mod_seed = seed(0x80);
    let moderator = Keypair::from_secret_bytes(mod_seed);
    let mod_key = moderator.public();
    let minimal_key = Keypair::from_secret_bytes(seed(0)).public();
    let entries_in = json!([
        {"target": "persona", "value": minimal_key.to_string(), "scope": null, "reason": "spam account"},
        {"target": "post", "value": hex::encode(minimal_id), "scope": "grief", "reason": ""},
        {"target": "keyword", "value": "Buy Now", "scope": null, "reason": "advertising"},
        {"target": "regex", "value": "free\\s+money\\b", "scope": "grief", "reason": "scam"},
        {"target": "channel", "value": "spam", "scope": null, "reason": "off-topic channel"},
    ]);
    let entries = vec![
        BlockEntry::new(BlockTarget::Persona(minimal_key), "spam account"),
        BlockEntry::new(BlockTarget::Post(MessageId(minimal_id)), "").in_channel(chan("grief")),
        BlockEntry::new(BlockTarget::Keyword("Buy Now".into()), "advertising"),
        BlockEntry::new(BlockTarget::Regex("free\\s+money\\b".into()), "scam")
            .in_channel(chan("grief")),
        BlockEntry::new(BlockTarget::Channel(chan("spam")), "off-topic channel"),
    ];
    let main = net("main");
    let list = ModeratorList::sign(&moderator, &main, 7, T + 10, "Grief channel spam", entries)
        .expect("the list signs");
    let lb = &list.bytes;
    let mut list_signed = SIGNATURE_TAG.to_vec();
    list_signed.extend_from_slice(&lb[..lb.len() - 64]);
    let list_json = json!({
        "name": "moderator list with one entry of each target kind and both scopes",
        "seed": hex::encode(mod_seed),
        "network": "main",
        "input": {"sequence": 7, "created_ms": T + 10, "title": "Grief channel spam", "entries": entries_in},
        "public_key": mod_key.to_string(),
        "persona_name": mod_key.name(),
        "body_hex": hex::encode(body_of(lb, 4)),
        "signed_data_hex": hex::encode(&list_signed),
        "envelope_hex": hex::encode(lb),
        "signature_hex": hex::encode(&lb[lb.len() - 64..]),
        "message_id": list.id.to_string(),
        "topic": Topic::Moderator { network: main.clone(), moderator: mod_key }.to_string(),
        "validate_at_ms": T + 10,
    });

    // The channel card and a presence heartbeat (sections 21 and 22).
    let card_draft = CardDraft {
        channel: chan("grief"),
        created_ms: T + 20,
        age: AgeGroup::Teen,
        retention_days: 14,
        moderators: vec![minimal_key],
        rules: "Be kind.\nNo details of methods.".to_owned(),
    };
    let card = ChannelCard::sign(&moderator, &main, card_draft).expect("the card signs");
    let card_json = signed_vector(
        "channel card for a teen channel with one other moderator",
        mod_seed,
        &card,
        &json!({
            "channel": "grief",
            "created_ms": T + 20,
            "age": "teen",
            "retention_days": 14,
            "moderators": [minimal_key.to_string()],
            "rules": "Be kind.\nNo details of methods.",
        }),
        &chan("grief").topic(&main).to_string(),
        T + 20,
    );
    let presence = ModeratorPresence::sign(&moderator, &main, chan("grief"), T + 30)
        .expect("the heartbeat signs");
    let presence_json = signed_vector(
        "moderator presence heartbeat",
        mod_seed,
        &presence,
        &json!({"channel": "grief", "created_ms": T + 30}),
        &chan("grief").topic(&main).to_string(),
        T + 30,
    );

    // A crisis-directory update (section 23), on its publisher's topic.
    let crisis_input = json!({
        "sequence": 3,
        "created_ms": T + 40,
        "note": "Samaritans checked again",
        "directory": CRISIS_DIRECTORY,
    });
    let crisis = CrisisUpdate::sign(
        &moderator,
        &main,
        3,
        T + 40,
        "Samaritans checked again",
        CRISIS_DIRECTORY,
    )
    .expect("the crisis update signs");
    let crisis_json = signed_vector(
        "crisis-directory update with one line",
        mod_seed,
        &crisis,
        &crisis_input,
        &Topic::Moderator {
            network: main.clone(),
            moderator: mod_key,
        }
        .to_string(),
        T + 40,
    );

    // Names and fingerprints.
    let name_keys = [[0u8; 32], [0xff; 32], minimal_key.0, mod_key.0];
    let names: Vec<Value> = name_keys
        .iter()
        .map(|k| {
            let key = PublicKey(*k);
            let f = key.fingerprint();
            json!({
                "public_key": key.to_string(),
                "name": key.name(),
                "fingerprint_colour": f.colour,
                "fingerprint_colour_name": f.palette().name,
                "fingerprint_glyph": f.glyph.to_string(),
            })
        })
        .collect();

    // Persona stamps on their own: key, network, level, stamp, hash.
    let stamp_cases = [
        (PublicKey([0; 32]), "main", 0u8),
        (minimal_key, "main", 16),
        (minimal_key, "test-net", 16),
        (mod_key, "main", 20),
    ];
    let stamps: Vec<Value> = stamp_cases
        .iter()
        .map(|(key, network, bits)| {
            let network = net(network);
            let stamp = stamp_for(key, &network, *bits);
            json!({
                "public_key": key.to_string(),
                "network": network.as_str(),
                "bits": bits,
                "stamp": stamp.0,
                "stamp_hash": hex::encode(stamp.hash(&network, key)),
                "stamp_bits": stamp.bits(&network, key),
            })
        })
        .collect();

    // Keyword forms (section 16.3).
    let forms: Vec<Value> = [
        "spam",
        "SPAM",
        "s\u{200B}pam",
        "\u{0455}\u{0440}\u{0430}m",
        "\u{0405}\u{0420}\u{0410}M",
        "Buy Now",
        "ΛΌΓΟΣ λόγος",
        "Ｆｒｅｅ",
    ]
    .iter()
    .map(|t| json!({"text": t, "form": keyword_form(t)}))
    .collect();

    // Negative vectors.
    let mb = &minimal.signed.bytes;
    let mut neg = Vec::new();
    let main_now = Some(T);
    let v = |name: &str, bytes: &[u8], error: &str, invalid: bool| {
        negative(
            name,
            bytes,
            "validate",
            "main",
            main_now,
            &[],
            error,
            invalid,
        )
    };

    let mut b = mb[..2].to_vec();
    b.extend_from_slice(&[0x84, 0x00]);
    b.extend_from_slice(&mb[3..]);
    neg.push(v(
        "non-minimal varint for the network length (0x84 0x00 for 4)",
        &b,
        "Malformed",
        true,
    ));
    let mut b = mb.clone();
    b.push(0);
    neg.push(v(
        "one trailing byte after the signature",
        &b,
        "Malformed",
        true,
    ));
    neg.push(v(
        "truncated: the last signature byte missing",
        &mb[..mb.len() - 1],
        "Malformed",
        true,
    ));
    neg.push(v("empty input", &[], "Malformed", true));
    let mut b = mb.clone();
    b[0] = 1;
    neg.push(v(
        "envelope version 1 (the format before persona stamps), otherwise the minimal post",
        &b,
        "UnknownVersion",
        false,
    ));
    let mut b = mb.clone();
    b[0] = 3;
    neg.push(v("unknown envelope version 3", &b, "UnknownVersion", false));
    let mut b = mb.clone();
    b[1] = 9;
    neg.push(v("unknown kind 9", &b, "UnknownKind", false));
    let mut big = negative(
        "post-kind envelope of 8193 bytes (one over the post limit)",
        &[VERSION, 1],
        "validate",
        "main",
        main_now,
        &[],
        "TooLarge",
        true,
    );
    big["zero_pad_to"] = json!(8193);
    neg.push(big);
    let sig = mb.len() - 64;
    let mut b = mb.clone();
    b[sig] ^= 1;
    neg.push(v(
        "bad signature: one bit of R flipped",
        &b,
        "BadSignature",
        true,
    ));
    let mut b = mb.clone();
    b[sig + 32] ^= 1;
    neg.push(v(
        "bad signature: one bit of S flipped",
        &b,
        "BadSignature",
        true,
    ));
    // S + L, little-endian: still verifies under lax rules.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut b = mb.clone();
    let mut carry = 0u16;
    for (i, l) in L.iter().enumerate() {
        let sum = u16::from(b[sig + 32 + i]) + u16::from(*l) + carry;
        b[sig + 32 + i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    neg.push(v(
        "non-canonical signature: S replaced by S + L (accepted by lax verifiers)",
        &b,
        "BadSignature",
        true,
    ));
    let identity = {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    };
    let unsigned = |r: [u8; 32], s: [u8; 32]| {
        let mut out = vec![VERSION, 1];
        out.extend(string(b"main"));
        out.extend_from_slice(&identity);
        out.extend(string(&Body::minimal().bytes()));
        out.extend_from_slice(&r);
        out.extend_from_slice(&s);
        out
    };
    neg.push(v(
        "small-order signer key (identity) with R = identity, S = 0 (valid for any message under lax verification)",
        &unsigned(identity, [0; 32]),
        "BadSignature",
        true,
    ));
    // R = [0x1234567]B, so [S]B = R + [k]A holds for any message when A
    // is the identity.
    let r: [u8; 32] =
        hex::decode("93c9449be4e3975f799a691f11d3bdab8ac6348ba2afbdfb9310fdb6b32ebdd7")
            .expect("hex")
            .try_into()
            .expect("32 bytes");
    let mut s = [0u8; 32];
    s[..4].copy_from_slice(&0x0123_4567u32.to_le_bytes());
    neg.push(v(
        "small-order signer key (identity) with R = [S]B, S = 0x1234567: R is not small-order, the equation holds, only the key check refuses it",
        &unsigned(r, s),
        "BadSignature",
        true,
    ));
    neg.push(negative(
        "post for network main validated by a node of network test",
        mb,
        "validate",
        "test",
        main_now,
        &[],
        "WrongNetwork",
        true,
    ));
    neg.push(negative(
        "post of #anxiety arriving on the topic of #grief",
        mb,
        "validate",
        "main",
        main_now,
        &[("channel", json!("grief"))],
        "WrongChannel",
        true,
    ));
    neg.push(v(
        "post one ms older than the default 30-day window",
        mb,
        "TooOld",
        false,
    ));
    let last = neg.len() - 1;
    neg[last]["now_ms"] = json!(T + limits.max_age_ms + 1);
    let mut b = mb.clone();
    b[sig + 5] ^= 0x10;
    neg.push(negative(
        "post one ms older than the 30-day window AND with a bad signature: the cheap time check comes first",
        &b,
        "validate",
        "main",
        Some(T + limits.max_age_ms + 1),
        &[],
        "TooOld",
        false,
    ));
    neg.push(negative(
        "post dated one ms beyond the default 5-minute clock skew",
        mb,
        "validate",
        "main",
        Some(T - limits.max_clock_skew_ms - 1),
        &[],
        "FromFuture",
        false,
    ));
    neg.push(negative(
        "post validated exactly at its expiry time",
        &every.signed.bytes,
        "validate",
        "test-net",
        Some(T + 86_400_001),
        &[("channel", json!("grief/es"))],
        "Expired",
        false,
    ));
    neg.push(negative(
        "proof-of-work post checked at one bit more than its hash has",
        &worked.signed.bytes,
        "validate",
        "main",
        Some(T + 2),
        &[
            ("channel", json!("anxiety")),
            ("difficulty", json!(worked.pow_bits + 1)),
        ],
        "InsufficientWork",
        false,
    ));
    // Persona stamps.
    assert!(PersonaStamp(0).bits(&main, &minimal_key) < DEFAULT_PERSONA_STAMP_BITS);
    neg.push(negative(
        "post with persona stamp 0 where the channel asks the default level",
        mb,
        "validate",
        "main",
        main_now,
        &[("persona_stamp_bits", json!(DEFAULT_PERSONA_STAMP_BITS))],
        "InsufficientPersonaStamp",
        false,
    ));
    let stamped_post = stamped.signed.message.as_post().expect("a post");
    let own_bits = stamped_post.persona_stamp.bits(&main, &stamped_post.author);
    neg.push(negative(
        "stamped post checked at one bit more than its stamp hash has",
        &stamped.signed.bytes,
        "validate",
        "main",
        Some(T + 4),
        &[("persona_stamp_bits", json!(own_bits + 1))],
        "InsufficientPersonaStamp",
        false,
    ));
    // Another key's 16-bit stamp is worth nothing for this key.
    let borrowed = stamped_post.persona_stamp;
    assert!(borrowed.bits(&main, &minimal_key) < 16);
    let mut body = Body::minimal();
    body.stamp = varint(borrowed.0);
    neg.push(negative(
        "post carrying another persona's 16-bit stamp, checked at 16 bits",
        &body.sealed(),
        "validate",
        "main",
        main_now,
        &[("persona_stamp_bits", json!(16))],
        "InsufficientPersonaStamp",
        false,
    ));
    let mut b = mb.clone();
    b[sig] ^= 0x80;
    neg.push(negative(
        "post with persona stamp 0 and a bad signature, checked at the default level: the stamp (one hash) comes before the signature",
        &b,
        "validate",
        "main",
        main_now,
        &[("persona_stamp_bits", json!(DEFAULT_PERSONA_STAMP_BITS))],
        "InsufficientPersonaStamp",
        false,
    ));
    neg.push(negative(
        "post arriving on a moderator topic",
        mb,
        "validate",
        "main",
        main_now,
        &[("moderator", json!(mod_key.to_string()))],
        "Field",
        true,
    ));

    // Hand-made bodies, correctly signed.
    let mut body = Body::minimal();
    body.created = vec![0x80, 0xd0, 0x95, 0xff, 0xbc, 0xb1, 0x00];
    neg.push(v(
        "signed post whose created_ms varint has a redundant 0x00 continuation byte",
        &body.sealed(),
        "Malformed",
        true,
    ));
    let mut body = Body::minimal();
    body.nonce = vec![0, 0];
    neg.push(v(
        "signed post body with one extra byte after the nonce",
        &body.sealed(),
        "Malformed",
        true,
    ));
    let mut body = Body::minimal();
    body.expires = vec![2];
    neg.push(v(
        "signed post with Option tag 0x02 for expires_ms",
        &body.sealed(),
        "Malformed",
        true,
    ));
    let mut body = Body::minimal();
    body.text = string(&[0xff, 0xfe]);
    neg.push(v(
        "signed post whose body text is not UTF-8",
        &body.sealed(),
        "Malformed",
        true,
    ));
    let mut body = Body::minimal();
    body.channel = string(b"Anxiety");
    neg.push(v(
        "signed post whose channel name is not in normal form (Anxiety)",
        &body.sealed(),
        "Malformed",
        true,
    ));
    // (name, body, nickname, content-warning text, error)
    type TextCase<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, &'a str);
    let text_cases: [TextCase<'_>; 10] = [
        (
            "signed post whose body holds an ESC control character",
            "red \u{1b}[31m",
            None,
            None,
            "Text",
        ),
        (
            "signed post whose body is only white space",
            " \n\t ",
            None,
            None,
            "Text",
        ),
        (
            "signed post whose body is only invisible characters (U+200B, U+2060, U+FEFF)",
            "\u{200B}\u{2060}\u{FEFF}",
            None,
            None,
            "Text",
        ),
        (
            "signed post whose body is only filler characters (U+3164 HANGUL FILLER, U+2800 BRAILLE PATTERN BLANK, U+115F, U+1160, U+FFA0)",
            "\u{3164}\u{2800}\u{115F}\u{1160}\u{FFA0}",
            None,
            None,
            "Text",
        ),
        (
            "signed post whose body holds U+2029 PARAGRAPH SEPARATOR",
            "one\u{2029}two",
            None,
            None,
            "Text",
        ),
        (
            "signed post whose nickname is only U+2800 BRAILLE PATTERN BLANK",
            "hello",
            Some("\u{2800}"),
            None,
            "Text",
        ),
        (
            "signed post whose nickname holds U+2028 LINE SEPARATOR",
            "hello",
            Some("Sam\u{2028}Admin"),
            None,
            "Text",
        ),
        (
            "signed post whose nickname starts with U+200B ZERO WIDTH SPACE",
            "hello",
            Some("\u{200B}Sam"),
            None,
            "Field",
        ),
        (
            "signed post whose nickname ends with a space",
            "hello",
            Some("Sam "),
            None,
            "Field",
        ),
        (
            "signed post whose content-warning text holds U+2028 LINE SEPARATOR",
            "hello",
            None,
            Some("grief\u{2028}loss"),
            "Text",
        ),
    ];
    for (name, text, nick, cw_text, error) in text_cases {
        let mut body = Body::minimal();
        body.text = string(text.as_bytes());
        if let Some(n) = nick {
            body.nickname = [vec![1], string(n.as_bytes())].concat();
        }
        if let Some(c) = cw_text {
            body.warning = [vec![1, 0, 1], string(c.as_bytes())].concat();
        }
        neg.push(v(name, &body.sealed(), error, true));
    }
    let mut body = Body::minimal();
    body.expires = [vec![1], varint(1_700_000_000_000)].concat();
    neg.push(v(
        "signed post that expires at the instant it was written",
        &body.sealed(),
        "Field",
        true,
    ));
    let mut body = Body::minimal();
    body.warning = vec![1, 2, 6, 1, 0];
    neg.push(v(
        "signed post with content-warning labels out of order (6, 1)",
        &body.sealed(),
        "Field",
        true,
    ));

    // Moderator lists.
    neg.push(negative(
        "moderator list arriving on another moderator's topic",
        lb,
        "validate",
        "main",
        Some(T + 10),
        &[("moderator", json!(minimal_key.to_string()))],
        "Field",
        true,
    ));
    neg.push(negative(
        "moderator list arriving on a channel topic",
        lb,
        "validate",
        "main",
        Some(T + 10),
        &[("channel", json!("grief"))],
        "Field",
        true,
    ));
    neg.push(negative(
        "moderator list dated one ms beyond the clock skew",
        lb,
        "validate",
        "main",
        Some(T + 10 - limits.max_clock_skew_ms - 1),
        &[("moderator", json!(mod_key.to_string()))],
        "FromFuture",
        false,
    ));
    let list_body = |entries: &[u8], count: u8| {
        let mut body = varint(1);
        body.extend(varint(T));
        body.extend(string(b""));
        body.push(count);
        body.extend_from_slice(entries);
        seal(VERSION, 2, "main", mod_seed, &body)
    };
    let ctx_mod = [("moderator", json!(mod_key.to_string()))];
    neg.push(negative(
        "signed moderator list with an entry of unknown target variant 5",
        &list_body(&[5, 0, 0], 1),
        "validate",
        "main",
        main_now,
        &ctx_mod,
        "Malformed",
        true,
    ));
    neg.push(negative(
        "signed moderator list with a blank keyword",
        &list_body(&[2, 1, b' ', 0, 0], 1),
        "validate",
        "main",
        main_now,
        &ctx_mod,
        "Text",
        true,
    ));
    neg.push(negative(
        "signed moderator list with a keyword of invisible characters only (U+200B U+200C)",
        &list_body(
            &[&[2u8][..], &string("\u{200B}\u{200C}".as_bytes()), &[0, 0]].concat(),
            1,
        ),
        "validate",
        "main",
        main_now,
        &ctx_mod,
        "Text",
        true,
    ));
    let mut b = lb.clone();
    let at = b.len() - 1;
    b[at] ^= 1;
    neg.push(negative(
        "moderator list with a bad signature on a channel topic: the topic check comes first",
        &b,
        "validate",
        "main",
        Some(T + 10),
        &[("channel", json!("grief"))],
        "Field",
        true,
    ));
    // Channel cards and presence.
    neg.push(negative(
        "channel card on another channel's topic",
        &card.bytes,
        "validate",
        "main",
        Some(T + 20),
        &[("channel", json!("anxiety"))],
        "WrongChannel",
        true,
    ));
    neg.push(negative(
        "presence heartbeat on a moderator topic",
        &presence.bytes,
        "validate",
        "main",
        Some(T + 30),
        &[("moderator", json!(mod_key.to_string()))],
        "Field",
        true,
    ));
    neg.push(negative(
        "presence heartbeat older than ten minutes",
        &presence.bytes,
        "validate",
        "main",
        Some(T + 30 + 600_001),
        &[("channel", json!("grief"))],
        "TooOld",
        false,
    ));
    let card_body = |age: u64, retention: u64| {
        let mut b = string(b"grief");
        b.extend(varint(T + 20));
        b.extend(varint(age));
        b.extend(varint(retention));
        b.extend(varint(0));
        b.extend(string(b""));
        b
    };
    neg.push(negative(
        "crisis-directory update on a channel topic",
        &crisis.bytes,
        "validate",
        "main",
        Some(T + 40),
        &[("channel", json!("grief"))],
        "Field",
        true,
    ));
    neg.push(negative(
        "crisis-directory update on another key's topic",
        &crisis.bytes,
        "validate",
        "main",
        Some(T + 40),
        &[("moderator", json!(minimal_key.to_string()))],
        "Field",
        true,
    ));
    neg.push(negative(
        "crisis-directory update dated more than the clock skew ahead",
        &crisis.bytes,
        "validate",
        "main",
        Some(T + 40 - limits.max_clock_skew_ms - 1),
        &[],
        "FromFuture",
        false,
    ));
    let crisis_body = |note: &[u8], directory: &[u8]| {
        let mut b = varint(3);
        b.extend(varint(T + 40));
        b.extend(string(note));
        b.extend(string(directory));
        b
    };
    neg.push(v(
        "crisis-directory update with an empty directory",
        &seal(VERSION, 6, "main", mod_seed, &crisis_body(b"", b"")),
        "Text",
        true,
    ));
    neg.push(v(
        "crisis-directory update whose note has two lines",
        &seal(VERSION, 6, "main", mod_seed, &crisis_body(b"a\nb", b"x")),
        "Text",
        true,
    ));
    neg.push(v(
        "channel card asking a retention of 0 days",
        &seal(VERSION, 4, "main", mod_seed, &card_body(0, 0)),
        "Field",
        true,
    ));
    neg.push(v(
        "channel card with an unknown age group 2",
        &seal(VERSION, 4, "main", mod_seed, &card_body(2, 30)),
        "Malformed",
        true,
    ));

    let mut b = mb.clone();
    b[sig + 7] ^= 4;
    neg.push(negative(
        "open(): stored bytes with a corrupted signature",
        &b,
        "open",
        "main",
        None,
        &[],
        "BadSignature",
        true,
    ));

    let reports = vec![report_vector(
        "report of the minimal post, sealed to two moderators, with 8 bits of work",
        "main",
        &[seed(0x80), seed(0xc0)],
        &hex::encode(minimal_id),
        "tells people to hurt themselves",
        T + 20,
        8,
    )];

    let file = json!({
        "about": format!(
            "Test vectors for the hearth wire protocol, envelope version {VERSION}. \
             Generated by protocol/tests/support/vector_gen.rs \
             (cargo run -p hearth-protocol --example test_vectors) and checked by \
             protocol/tests/vectors.rs. See docs/protocol.md, section 'Test vectors', \
             for the meaning of every field."
        ),
        "envelope_version": VERSION,
        "default_persona_stamp_bits": DEFAULT_PERSONA_STAMP_BITS,
        "limits": {
            "max_clock_skew_ms": limits.max_clock_skew_ms,
            "max_age_ms": limits.max_age_ms,
        },
        "posts": [minimal.json, every.json, worked.json, label.json, stamped.json],
        "moderator_lists": [list_json],
        "channel_cards": [card_json],
        "moderator_presence": [presence_json],
        "crisis_updates": [crisis_json],
        "names": names,
        "persona_stamps": stamps,
        "keyword_forms": forms,
        "negative": neg,
        "reports": reports,
    });
    let mut out = serde_json::to_string_pretty(&file).expect("json");
    out.push('\n');
    out
}

/// A sealed report with every random input fixed (section 20).
fn report_vector(
    name: &str,
    network: &str,
    moderator_seeds: &[[u8; 32]],
    post: &str,
    reason: &str,
    created_ms: u64,
    pow_bits: u8,
) -> Value {
    use hearth_protocol::report::{ReportDraft, ReportSecrets, seal_report};
    let secrets = ReportSecrets {
        signer: seed(0x11),
        ephemeral: seed(0x22),
        content_key: seed(0x33),
        filler: seed(0x44),
    };
    let reporter_seed = seed(0x55);
    let reporter = Keypair::from_secret_bytes(reporter_seed);
    let moderators: Vec<PublicKey> = moderator_seeds
        .iter()
        .map(|s| Keypair::from_secret_bytes(*s).public())
        .collect();
    let draft = ReportDraft {
        channel: chan("grief"),
        post: post.parse().expect("post id"),
        reason: reason.to_owned(),
        created_ms,
    };
    let sealed = seal_report(
        &draft,
        &reporter,
        &moderators,
        &net(network),
        &secrets,
        pow_bits,
    )
    .expect("the report seals");
    let ephemeral = curve25519_dalek::MontgomeryPoint::mul_base_clamped(secrets.ephemeral);
    json!({
        "name": name,
        "network": network,
        "signer_seed": hex::encode(secrets.signer),
        "ephemeral_secret": hex::encode(secrets.ephemeral),
        "content_key": hex::encode(secrets.content_key),
        "filler_seed": hex::encode(secrets.filler),
        "reporter_seed": hex::encode(reporter_seed),
        "reporter_key": reporter.public().to_string(),
        "moderator_seeds": moderator_seeds.iter().map(hex::encode).collect::<Vec<_>>(),
        "moderator_slots": (0..moderator_seeds.len()).collect::<Vec<_>>(),
        "input": {"channel": "grief", "post": post, "reason": reason, "created_ms": created_ms},
        "pow_bits": pow_bits,
        "ephemeral_public": hex::encode(ephemeral.to_bytes()),
        "envelope_hex": hex::encode(&sealed.bytes),
        "message_id": sealed.id.to_string(),
        "validate_at_ms": created_ms,
    })
}
