//! Writes a small seed corpus for the fuzz targets: valid signed posts and
//! moderator lists covering every optional field and every entry kind.
//! Not a fuzz target; built with them (`cargo fuzz build`) and run as
//! `seed_corpus <corpus dir>`, which fills `<dir>/validate` and
//! `<dir>/signed_body`. The corpus itself is never committed.

use std::path::{Path, PathBuf};
use std::{env, fs, process};

use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, ContentWarning, CwLabel, Keypair, MessageId,
    ModeratorList, NetworkId, PostDraft, PublicKey, SignedMessage,
};

/// The "now" the validate target checks against.
const NOW: u64 = 1_700_000_000_000;
/// The key the signed_body target seals with.
const BODY_SEED: [u8; 32] = [0x42; 32];

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).expect("a valid channel name")
}

fn posts(key: &Keypair) -> Vec<SignedMessage> {
    let network = NetworkId::default();
    let plain = PostDraft::new(channel("grief/es"), "estoy aquí contigo", NOW);
    let full = PostDraft::new(channel("anxiety"), "breathe in\n\tbreathe out", NOW - 1_000)
        .with_expiry(NOW + 3_600_000)
        .with_reply_to(MessageId([0xab; 32]))
        .with_nickname("luz")
        .with_content_warning(ContentWarning::new(
            [CwLabel::SelfHarm, CwLabel::Death, CwLabel::from(200)],
            Some("pérdida".into()),
        ));
    let long = PostDraft::new(channel("recovery/en/day-1"), "ok ".repeat(600) + "€", NOW);
    let mut out = Vec::new();
    for (draft, difficulty) in [
        (plain.clone(), 0),
        (plain, 8),
        (full.clone(), 0),
        (full, 4),
        (long, 0),
    ] {
        out.push(draft.sign(key, &network, difficulty).expect("a valid post"));
    }
    out
}

fn lists(key: &Keypair) -> Vec<SignedMessage> {
    let network = NetworkId::default();
    let grief = channel("grief");
    let entries = vec![
        BlockEntry::new(BlockTarget::Persona(PublicKey([1; 32])), "spam"),
        BlockEntry::new(BlockTarget::Post(MessageId([2; 32])), "doxxing").in_channel(grief.clone()),
        BlockEntry::new(BlockTarget::Keyword("Hopeless".into()), ""),
        BlockEntry::new(BlockTarget::Regex(r"\bbuy\s+now\b".into()), "ads"),
        BlockEntry::new(BlockTarget::Regex("(unclosed".into()), "broken on purpose"),
        BlockEntry::new(BlockTarget::Channel(channel("grief/es")), "not here"),
    ];
    vec![
        ModeratorList::sign(key, &network, 1, NOW, "", vec![]).expect("a valid list"),
        ModeratorList::sign(key, &network, 7, NOW - 5, "Grief channel spam", entries)
            .expect("a valid list"),
    ]
}

/// The body of an envelope: after version, kind, network, signer and the
/// body length; before the 64-byte signature.
fn body_of(bytes: &[u8]) -> &[u8] {
    let network_len = usize::from(bytes[2]);
    let mut at = 3 + network_len + 32;
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let b = bytes[at];
        at += 1;
        len |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    &bytes[at..at + len]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create the corpus directory");
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    let Some(root) = env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: seed_corpus <corpus dir>");
        process::exit(2);
    };
    let mut count = 0;
    for (key, is_body_key) in [
        (Keypair::from_secret_bytes([9; 32]), false),
        (Keypair::from_secret_bytes(BODY_SEED), true),
    ] {
        for (selector, message) in posts(&key)
            .into_iter()
            .map(|m| (0u8, m))
            .chain(lists(&key).into_iter().map(|m| (1u8, m)))
        {
            let name = format!("seed-{}", message.id.short());
            write(&root.join("validate"), &name, &message.bytes);
            if is_body_key {
                let mut input = vec![selector];
                input.extend_from_slice(body_of(&message.bytes));
                write(&root.join("signed_body"), &name, &input);
            }
            count += 1;
        }
    }
    println!("wrote {count} seeds under {}", root.display());
}
