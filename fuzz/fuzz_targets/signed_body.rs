//! Arbitrary message bodies inside a correctly signed envelope, so that
//! the fuzzer explores what lies behind the signature check: body decoding,
//! canonical encoding, field rules, time checks and moderation matching.
//!
//! The first input byte picks the kind (by its value modulo 4: post,
//! moderator list, channel card, moderator presence);
//! the rest is the body, sealed with a fixed key in the `main` network as
//! `docs/protocol.md` and `envelope.rs` describe.
//!
//! Checks, besides "no panic":
//! * a post that opens is valid in its own channel at the time it claims
//!   to be written; a list that opens is valid on its moderator's topic;
//! * one message, one encoding: re-signing what was decoded through the
//!   public API gives back the very same bytes (for posts, when the nonce
//!   is the one `sign` would pick);
//! * policies built from any accepted list compile and match without
//!   panicking, and account for every entry.
#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::{Signer, SigningKey};
use hearth_protocol::envelope::{ENVELOPE_VERSION, SIGNATURE_TAG};
use hearth_protocol::{
    BlockEntry, BlockTarget, CardDraft, ChannelCard, ChannelName, CrisisUpdate, Keypair, Kind,
    Limits, ListId, Message, ModeratorList, ModeratorPresence, NetworkId, Policy, PolicyList,
    PostDraft, Scope, ValidationContext, open, validate,
};
use libfuzzer_sys::fuzz_target;

const SEED: [u8; 32] = [0x42; 32];

fn push_varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn seal(kind: Kind, network: &str, body: &[u8]) -> Vec<u8> {
    let signing = SigningKey::from_bytes(&SEED);
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

/// A policy with one entry of every kind, compiled once.
fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let grief = ChannelName::parse("grief").expect("valid");
        Policy::compile([PolicyList {
            id: ListId::Local,
            applies_to: Scope::All,
            entries: vec![
                BlockEntry::new(BlockTarget::Keyword("hopeless".into()), "k"),
                BlockEntry::new(BlockTarget::Regex(r"(?i)\bbuy\s+now\b".into()), "r"),
                BlockEntry::new(BlockTarget::Channel(grief.clone()), "c"),
                BlockEntry::new(
                    BlockTarget::Persona(Keypair::from_secret_bytes([1; 32]).public()),
                    "p",
                )
                .in_channel(grief),
            ],
        }])
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = match selector % 5 {
        0 => Kind::Post,
        1 => Kind::ModeratorList,
        2 => Kind::ChannelCard,
        3 => Kind::ModeratorPresence,
        _ => Kind::CrisisUpdate,
    };
    let network = NetworkId::default();
    let limits = Limits::default();
    let bytes = seal(kind, network.as_str(), body);
    let key = Keypair::from_secret_bytes(SEED);

    // The time checks, at a fixed "now".
    let _ = validate(
        &bytes,
        &ValidationContext::new(&network, 1_700_000_000_000, &limits),
    );

    let Ok(opened) = open(&bytes, &network) else {
        return;
    };
    assert_eq!(opened.bytes, bytes);
    match &opened.message {
        Message::Post(post) => {
            assert_eq!(post.author, key.public());
            let ctx =
                ValidationContext::new(&network, post.created_ms, &limits).channel(&post.channel);
            assert_eq!(
                validate(&bytes, &ctx).as_ref(),
                Ok(&opened),
                "opens but is not valid when written"
            );

            if post.nonce == 0 {
                let mut draft =
                    PostDraft::new(post.channel.clone(), post.body.clone(), post.created_ms)
                        .with_persona_stamp(post.persona_stamp);
                if let Some(e) = post.expires_ms {
                    draft = draft.with_expiry(e);
                }
                if let Some(r) = post.reply_to {
                    draft = draft.with_reply_to(r);
                }
                if let Some(cw) = &post.content_warning {
                    draft = draft.with_content_warning(cw.clone());
                }
                if let Some(n) = &post.nickname {
                    draft = draft.with_nickname(n.clone());
                }
                let again = draft.sign(&key, &network, 0).expect("accepted fields sign");
                assert_eq!(
                    again, opened,
                    "a second encoding of the same post was accepted"
                );
            }
            let _ = policy().check(&opened.id, post);
        }
        Message::ModeratorList(list) => {
            assert_eq!(list.moderator, key.public());
            let ctx = ValidationContext::new(&network, list.created_ms, &limits)
                .moderator(&list.moderator);
            assert_eq!(
                validate(&bytes, &ctx).as_ref(),
                Ok(&opened),
                "opens but is not valid when written"
            );

            let again = ModeratorList::sign(
                &key,
                &network,
                list.sequence,
                list.created_ms,
                list.title.clone(),
                list.entries.clone(),
            )
            .expect("accepted lists sign");
            assert_eq!(
                again, opened,
                "a second encoding of the same list was accepted"
            );

            let compiled = Policy::compile([PolicyList {
                id: ListId::Moderator(list.moderator),
                applies_to: Scope::All,
                entries: list.entries.clone(),
            }]);
            assert_eq!(
                compiled.len() + compiled.problems().len(),
                list.entries.len()
            );
            if let Some(first) = list.entries.first() {
                // Exercise the matcher with the list's own texts.
                let text = match &first.target {
                    BlockTarget::Keyword(k) | BlockTarget::Regex(k) => k.clone(),
                    _ => first.reason.clone(),
                };
                if !text.trim().is_empty() {
                    let post =
                        PostDraft::new(ChannelName::parse("grief/es").expect("valid"), text, 1)
                            .sign(&key, &network, 0);
                    if let Ok(signed) = post
                        && let Some(post) = signed.message.as_post()
                    {
                        let _ = compiled.check(&signed.id, post);
                    }
                }
            }
        }
        Message::ChannelCard(card) => {
            let ctx =
                ValidationContext::new(&network, card.created_ms, &limits).channel(&card.channel);
            assert_eq!(validate(&bytes, &ctx).as_ref(), Ok(&opened));
            let again = ChannelCard::sign(
                &key,
                &network,
                CardDraft {
                    channel: card.channel.clone(),
                    created_ms: card.created_ms,
                    age: card.age,
                    retention_days: card.retention_days,
                    moderators: card.moderators.clone(),
                    rules: card.rules.clone(),
                },
            )
            .expect("accepted cards sign");
            assert_eq!(
                again, opened,
                "a second encoding of the same card was accepted"
            );
        }
        Message::ModeratorPresence(presence) => {
            let again = ModeratorPresence::sign(
                &key,
                &network,
                presence.channel.clone(),
                presence.created_ms,
            )
            .expect("accepted heartbeats sign");
            assert_eq!(
                again, opened,
                "a second encoding of the same heartbeat was accepted"
            );
        }
        Message::CrisisUpdate(update) => {
            let again = CrisisUpdate::sign(
                &key,
                &network,
                update.sequence,
                update.created_ms,
                update.note.clone(),
                update.directory.clone(),
            )
            .expect("accepted crisis updates sign");
            assert_eq!(
                again, opened,
                "a second encoding of the same update was accepted"
            );
        }
    }
});
