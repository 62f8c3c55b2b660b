//! Arbitrary parameters for a post or a moderator list, built through the
//! public API: whatever `sign` accepts must validate in its own network,
//! channel and time and come back identical (same fields, id and bytes);
//! whatever `sign` refuses must be refused with a typed error, not a panic.
#![no_main]

use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, ContentWarning, CwLabel, Keypair, Limits, MessageId,
    ModeratorList, NetworkId, PostDraft, PublicKey, Scope, ValidationContext, open, validate,
};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    Post(PostInput),
    List(ListInput),
}

#[derive(Arbitrary, Debug)]
struct PostInput {
    seed: [u8; 32],
    network: Option<String>,
    channel: String,
    body: String,
    created_ms: u64,
    expires_ms: Option<u64>,
    reply_to: Option<[u8; 32]>,
    warning: Option<(Vec<u8>, Option<String>)>,
    nickname: Option<String>,
    difficulty: u8,
}

#[derive(Arbitrary, Debug)]
struct ListInput {
    seed: [u8; 32],
    sequence: u64,
    created_ms: u64,
    title: String,
    entries: Vec<EntryInput>,
}

#[derive(Arbitrary, Debug)]
struct EntryInput {
    kind: u8,
    key: [u8; 32],
    text: String,
    scope: Option<String>,
    reason: String,
}

fn network(name: Option<&str>) -> NetworkId {
    name.and_then(|n| NetworkId::parse(n).ok())
        .unwrap_or_default()
}

fn post(input: PostInput) {
    let Ok(channel) = ChannelName::parse(&input.channel) else {
        return;
    };
    let network = network(input.network.as_deref());
    // Keep proof of work cheap: at most 6 bits.
    let difficulty = input.difficulty % 7;
    let mut draft = PostDraft::new(channel.clone(), input.body.clone(), input.created_ms);
    if let Some(e) = input.expires_ms {
        draft = draft.with_expiry(e);
    }
    if let Some(r) = input.reply_to {
        draft = draft.with_reply_to(MessageId(r));
    }
    let warning = input
        .warning
        .map(|(labels, text)| ContentWarning::new(labels.into_iter().map(CwLabel::from), text));
    if let Some(cw) = &warning {
        draft = draft.with_content_warning(cw.clone());
    }
    if let Some(n) = &input.nickname {
        draft = draft.with_nickname(n.clone());
    }
    let persona = Keypair::from_secret_bytes(input.seed);
    let Ok(signed) = draft.sign(&persona, &network, difficulty) else {
        return;
    };

    let limits = Limits::default();
    let ctx = ValidationContext::new(&network, input.created_ms, &limits)
        .channel(&channel)
        .difficulty(difficulty);
    assert_eq!(validate(&signed.bytes, &ctx).as_ref(), Ok(&signed));
    assert_eq!(open(&signed.bytes, &network).as_ref(), Ok(&signed));
    assert_eq!(signed.id, MessageId::of(&signed.bytes));
    let post = signed.message.as_post().expect("a post");
    assert_eq!(post.channel, channel);
    assert_eq!(post.author, persona.public());
    assert_eq!(post.body, input.body);
    assert_eq!(post.created_ms, input.created_ms);
    assert_eq!(post.expires_ms, input.expires_ms);
    assert_eq!(post.reply_to, input.reply_to.map(MessageId));
    assert_eq!(post.content_warning, warning);
    assert_eq!(post.nickname, input.nickname);
}

fn list(input: ListInput) {
    let entries: Vec<BlockEntry> = input
        .entries
        .into_iter()
        .filter_map(|e| {
            let target = match e.kind % 5 {
                0 => BlockTarget::Persona(PublicKey(e.key)),
                1 => BlockTarget::Post(MessageId(e.key)),
                2 => BlockTarget::Keyword(e.text),
                3 => BlockTarget::Regex(e.text),
                _ => BlockTarget::Channel(ChannelName::parse(&e.text).ok()?),
            };
            let scope = match e.scope {
                None => Scope::All,
                Some(name) => Scope::Channel(ChannelName::parse(&name).ok()?),
            };
            Some(BlockEntry {
                target,
                scope,
                reason: e.reason,
            })
        })
        .collect();
    let network = NetworkId::default();
    let moderator = Keypair::from_secret_bytes(input.seed);
    let Ok(signed) = ModeratorList::sign(
        &moderator,
        &network,
        input.sequence,
        input.created_ms,
        input.title.clone(),
        entries.clone(),
    ) else {
        // Refused with a typed error (an entry or the title breaks the
        // rules, or the list is too large): nothing more to check.
        return;
    };
    let limits = Limits::default();
    let public = moderator.public();
    let ctx = ValidationContext::new(&network, input.created_ms, &limits).moderator(&public);
    assert_eq!(validate(&signed.bytes, &ctx).as_ref(), Ok(&signed));
    assert_eq!(open(&signed.bytes, &network).as_ref(), Ok(&signed));
    match &signed.message {
        hearth_protocol::Message::ModeratorList(list) => {
            assert_eq!(list.moderator, public);
            assert_eq!(list.sequence, input.sequence);
            assert_eq!(list.created_ms, input.created_ms);
            assert_eq!(list.title, input.title);
            assert_eq!(list.entries, entries);
        }
        other => panic!("expected a list, got {other:?}"),
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Post(p) => post(p),
        Input::List(l) => list(l),
    }
});
