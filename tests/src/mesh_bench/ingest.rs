//! The ingest benchmark: posts per second through what a node does with a
//! post it receives — decode and validate (every cheap check, then the
//! ed25519 signature), the moderation policy, and the store (seen check,
//! insert, seen mark, a flush per burst) — on one core, as a ratio to bare
//! ed25519 verification of the same number of signatures over messages of
//! the same length, in the same run; and batch verification (batches of
//! [`BATCH`]) as a figure of what posts that queue up could cost.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hearth_node::store::{Store, StoredPost};
use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, Keypair, Limits, ListId, MessageId, NetworkId, Policy,
    PolicyList, PostDraft, PublicKey, Scope, ValidationContext, validate,
};
use serde::{Deserialize, Serialize};

/// Posts verified together in the batch figures; a node would batch the
/// posts that queued up while it was busy.
pub const BATCH: usize = 64;

/// Posts stored between two flushes of the store, as a node flushes once
/// per burst of received posts.
const FLUSH_EVERY: usize = 64;

/// What the ingest benchmark measured. Rates are per second on one core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Posts (and signatures) per measurement.
    pub posts: usize,
    /// Length of one signed post, in bytes.
    pub post_bytes: usize,
    /// Whether the process was pinned to one core.
    pub pinned: bool,
    /// Bare `verify_strict` (what hearth uses) per second.
    pub verify_per_s: f64,
    /// `verify_batch` in batches of [`BATCH`], signatures per second.
    pub batch_verify_per_s: f64,
    /// Decode and validate only, per second.
    pub validate_per_s: f64,
    /// Decode → validate → policy → store, per second.
    pub ingest_per_s: f64,
    /// `ingest_per_s / verify_per_s`.
    pub ingest_to_verify: f64,
    /// An estimate, not a measurement: ingest with its signature check
    /// replaced by a share of a batch check (the protocol crate has no
    /// batch validation yet), per second.
    pub ingest_with_batch_estimate_per_s: f64,
    /// That estimate over `verify_per_s`.
    pub ingest_with_batch_to_verify: f64,
}

impl IngestReport {
    /// The report as one JSON line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn per_second(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64().max(1e-9)
}

/// Pins this thread (and the threads it starts later, such as the
/// store's) to the first core it may use: the figures are for one core.
fn pin_to_one_core() -> bool {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    let Ok(allowed) = sched_getaffinity(Pid::from_raw(0)) else {
        return false;
    };
    let Some(core) = (0..CpuSet::count()).find(|c| allowed.is_set(*c).unwrap_or(false)) else {
        return false;
    };
    let mut one = CpuSet::new();
    one.set(core).is_ok() && sched_setaffinity(Pid::from_raw(0), &one).is_ok()
}

/// A policy like a careful user's: a few hundred blocked personas and
/// keywords.
fn policy() -> Policy {
    let mut entries = Vec::new();
    for i in 0..500u32 {
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(&i.to_le_bytes());
        key[31] = 0x5a;
        entries.push(BlockEntry::new(
            BlockTarget::Persona(PublicKey(key)),
            "spam",
        ));
    }
    for word in ["casino", "crypto", "payday", "bonus", "forex"] {
        for noun in ["offer", "deal", "link", "code"] {
            entries.push(BlockEntry::new(
                BlockTarget::Keyword(format!("{word} {noun}")),
                "spam",
            ));
        }
    }
    Policy::compile([PolicyList {
        id: ListId::Moderator(Keypair::from_secret_bytes([9; 32]).public()),
        applies_to: Scope::All,
        entries,
    }])
}

/// Runs the ingest benchmark over `posts` posts of about `size` bytes of
/// body, written by 64 personas.
pub fn run_ingest(posts: usize, size: usize) -> anyhow::Result<IngestReport> {
    let pinned = pin_to_one_core();
    let network = NetworkId::default();
    let channel = ChannelName::parse("ingest").map_err(|e| anyhow!("channel: {e}"))?;
    let limits = Limits::default();
    let now_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let personas: Vec<Keypair> = (0..64u8)
        .map(|i| Keypair::from_secret_bytes([i.wrapping_add(1); 32]))
        .collect();
    let mut signed = Vec::with_capacity(posts);
    for i in 0..posts {
        let mut body = format!("post {i}: it helps to read that others feel this too. ");
        while body.len() < size {
            body.push('.');
        }
        let persona = personas.get(i % personas.len()).context("a persona")?;
        let draft = PostDraft::new(channel.clone(), body, now_ms);
        signed.push(
            draft
                .sign(persona, &network, 0)
                .map_err(|e| anyhow!("sign: {e}"))?,
        );
    }
    let post_bytes = signed.first().map_or(0, |s| s.bytes.len());

    // Bare verification: one signature per post, over a message as long
    // as the post, by keys as many as the personas.
    let keys: Vec<SigningKey> = (0..64u8)
        .map(|i| SigningKey::from_bytes(&[i.wrapping_add(1); 32]))
        .collect();
    let mut messages = Vec::with_capacity(posts);
    let mut signatures = Vec::with_capacity(posts);
    let mut verifying = Vec::with_capacity(posts);
    for (i, post) in signed.iter().enumerate() {
        let key = keys.get(i % keys.len()).context("a key")?;
        signatures.push(key.sign(&post.bytes));
        messages.push(post.bytes.clone());
        verifying.push(key.verifying_key());
    }
    let started = Instant::now();
    for ((message, signature), key) in messages.iter().zip(&signatures).zip(&verifying) {
        key.verify_strict(message, signature)
            .map_err(|e| anyhow!("verify: {e}"))?;
    }
    let verify_per_s = per_second(posts, started.elapsed());

    let started = Instant::now();
    for ((m, s), k) in messages
        .chunks(BATCH)
        .zip(signatures.chunks(BATCH))
        .zip(verifying.chunks(BATCH))
    {
        let m: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
        let s: Vec<Signature> = s.to_vec();
        let k: Vec<VerifyingKey> = k.to_vec();
        ed25519_dalek::verify_batch(&m, &s, &k).map_err(|e| anyhow!("batch: {e}"))?;
    }
    let batch_verify_per_s = per_second(posts, started.elapsed());

    let ctx = ValidationContext::new(&network, now_ms, &limits).channel(&channel);
    let started = Instant::now();
    for post in &signed {
        validate(&post.bytes, &ctx).map_err(|e| anyhow!("validate: {e}"))?;
    }
    let validate_per_s = per_second(posts, started.elapsed());

    let policy = policy();
    let store = Store::temporary(64 * 1024 * 1024).context("a temporary store")?;
    let seen_until = now_ms + limits.max_age_ms;
    let started = Instant::now();
    for (i, post) in signed.iter().enumerate() {
        let verified = validate(&post.bytes, &ctx).map_err(|e| anyhow!("validate: {e}"))?;
        let id: MessageId = verified.id;
        let body = verified.message.as_post().context("a post")?;
        if policy.check(&id, body).is_some() || store.is_seen(&id)? {
            continue;
        }
        store.insert_seen_post(
            &id,
            &StoredPost {
                bytes: verified.bytes.clone(),
                channel: body.channel.clone(),
                created_ms: body.created_ms,
                expires_ms: body.expires_ms,
                received_ms: now_ms,
                own: false,
            },
            seen_until,
        )?;
        if (i + 1) % FLUSH_EVERY == 0 {
            store.flush()?;
        }
    }
    store.flush()?;
    let ingest_per_s = per_second(posts, started.elapsed());

    // Per post: ingest time − one strict verify + a share of a batch.
    let estimate_s = 1.0 / ingest_per_s - 1.0 / verify_per_s + 1.0 / batch_verify_per_s;
    let ingest_with_batch_estimate_per_s = 1.0 / estimate_s.max(1e-12);
    Ok(IngestReport {
        posts,
        post_bytes,
        pinned,
        verify_per_s,
        batch_verify_per_s,
        validate_per_s,
        ingest_per_s,
        ingest_to_verify: ingest_per_s / verify_per_s,
        ingest_with_batch_estimate_per_s,
        ingest_with_batch_to_verify: ingest_with_batch_estimate_per_s / verify_per_s,
    })
}
