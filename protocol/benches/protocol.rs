//! Benchmarks of hearth's pure protocol core: signing, opening and
//! validating posts (and refusing one for its persona stamp), proof-of-work
//! stamping, persona-stamp attempts and what a forger of names pays per
//! key, compiling and matching a 10,000-entry moderation policy, and
//! validating a full-size moderator list.
//!
//! Run with `cargo bench -p hearth-protocol` (or `scripts/bench-protocol.sh`).
//! Criterion prints its usual report while it runs; at the end this binary
//! prints one JSON object per line for every benchmark that ran, read from
//! criterion's `new/estimates.json` files:
//!
//! ```text
//! {"bench":"post/validate","mean_ns":..,"ops_per_sec":..,"element":"post",..}
//! ```
//!
//! `elements` is how many `element`s one iteration handles (65,536 hashes
//! for `pow/attempts_65536`, one post for most others), so
//! `ns_per_element` and `elements_per_sec` are comparable across benches.
//! Figures and how to read them: `docs/performance.md`.

use std::cell::Cell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use hearth_protocol::limits::MAX_BODY_BYTES;
use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, Keypair, Limits, ListId, MessageId, ModeratorList,
    NetworkId, Policy, PolicyList, Post, PostDraft, PublicKey, Scope, ValidationContext, open,
    stamp_persona, validate,
};

/// When every post and list in these benchmarks was written; validation
/// runs one second later.
const NOW_MS: u64 = 1_750_000_000_000;

/// A typical post in English: a few sentences, with a nickname.
const BODY_EN: &str = "Tonight is harder than usual. It has been three months since my mum \
died and everyone around me seems to have moved on already. I keep picking up my phone to \
call her before I remember. Does it get easier, or do you just get used to carrying it? \
Thank you for being here; reading this channel helps more than I can say.";

/// A typical post in Spanish: the same length, with non-ASCII letters.
const BODY_ES: &str = "Hoy se cumplen seis meses desde que murió mi padre. Todavía oigo su \
voz cuando abro la puerta de casa, y a veces me sorprendo guardándole la última taza de café. \
¿A alguien más le pasa que el duelo vuelve en oleadas, justo cuando creía que ya estaba mejor? \
Gracias por leerme, de verdad.";

/// A post in Russian: no ASCII letters at all, so keyword matching takes
/// the confusable tables for every letter.
const BODY_RU: &str = "Сегодня ровно полгода, как умер мой отец. Я до сих пор слышу его \
голос, когда открываю дверь, и иногда ловлю себя на том, что ставлю ему чашку кофе. Бывает ли \
у вас так, что горе возвращается волнами, именно тогда, когда кажется, что стало легче? \
Спасибо, что читаете.";

/// A spam post that contains one of the blocked keywords ("free bonus").
const BODY_SPAM: &str = "Hi all, sorry to intrude on this channel. I was in a dark place too \
until a friend showed me how to claim a free bonus every single day, it changed everything \
for me and my family. Message me and I will send you the details, no strings attached.";

// ---------------------------------------------------------------------------
// Fixtures.

/// splitmix64: a tiny deterministic generator for key and id bytes.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }
}

struct Fixture {
    network: NetworkId,
    channel: ChannelName,
    persona: Keypair,
    limits: Limits,
}

impl Fixture {
    fn new() -> Self {
        Self {
            network: NetworkId::default(),
            channel: ChannelName::parse("grief/es").expect("channel name"),
            persona: Keypair::from_secret_bytes([7; 32]),
            limits: Limits::default(),
        }
    }

    fn draft(&self, body: &str, created_ms: u64) -> PostDraft {
        PostDraft::new(self.channel.clone(), body, created_ms).with_nickname("willow")
    }

    fn signed_post(&self, body: &str) -> (MessageId, Post, Vec<u8>) {
        let signed = self
            .draft(body, NOW_MS)
            .sign(&self.persona, &self.network, 0)
            .expect("sign");
        let post = signed.message.as_post().expect("a post").clone();
        (signed.id, post, signed.bytes)
    }
}

const SPAM_WORDS: [&str; 50] = [
    "free",
    "cheap",
    "instant",
    "guaranteed",
    "miracle",
    "casino",
    "crypto",
    "bitcoin",
    "forex",
    "payday",
    "bonus",
    "lottery",
    "jackpot",
    "viagra",
    "diet",
    "weightloss",
    "followers",
    "likes",
    "giveaway",
    "airdrop",
    "nft",
    "token",
    "mlm",
    "investment",
    "passive",
    "cashback",
    "coupon",
    "promo",
    "discount",
    "betting",
    "slots",
    "poker",
    "escort",
    "dating",
    "hookup",
    "replica",
    "pharmacy",
    "pills",
    "steroids",
    "loan",
    "credit",
    "debt",
    "trading",
    "signals",
    "pump",
    "presale",
    "whitelist",
    "mining",
    "clickbait",
    "seo",
];

const SPAM_NOUNS: [&str; 30] = [
    "bonus",
    "offer",
    "deal",
    "profit",
    "giveaway",
    "followers",
    "cure",
    "trial",
    "code",
    "voucher",
    "reward",
    "prize",
    "winnings",
    "income",
    "returns",
    "signals",
    "tips",
    "pills",
    "spins",
    "credits",
    "coins",
    "tokens",
    "access",
    "membership",
    "leads",
    "traffic",
    "views",
    "cash",
    "money",
    "gift",
];

const REASONS: [&str; 8] = [
    "spam, repeated links",
    "scam: fake pharmacy",
    "harassing members",
    "ban evasion",
    "impersonating staff",
    "doxxing a member",
    "encourages self-harm",
    "unsolicited advertising",
];

/// Obfuscation-tolerant pattern for a word: `casino` -> `c[a4@]s[i1!]n[o0]`.
fn leet(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'a' => "[a4@]".to_owned(),
            'e' => "[e3]".to_owned(),
            'i' => "[i1!]".to_owned(),
            'o' => "[o0]".to_owned(),
            's' => "[s5$]".to_owned(),
            't' => "[t7]".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// 10,000 entries in the mix a busy moderator's list might hold: 6,000
/// persona keys, 2,000 post ids, 1,500 keywords, 400 regular expressions
/// and 100 channels, interleaved the way a list grows over time.
fn policy_entries() -> Vec<BlockEntry> {
    let mut mix = Mix(0x6865_6172_7468);
    let mut reasons = REASONS.iter().cycle();
    let mut reason = || (*reasons.next().expect("cycle")).to_owned();

    let personas: Vec<_> = (0..6_000)
        .map(|_| BlockTarget::Persona(PublicKey(mix.bytes32())))
        .collect();
    let posts: Vec<_> = (0..2_000)
        .map(|_| BlockTarget::Post(MessageId(mix.bytes32())))
        .collect();
    let keywords: Vec<_> = SPAM_WORDS
        .iter()
        .flat_map(|a| {
            SPAM_NOUNS
                .iter()
                .map(move |b| BlockTarget::Keyword(format!("{a} {b}")))
        })
        .collect();
    let mut regexes = Vec::new();
    for (i, word) in SPAM_WORDS.iter().enumerate().take(40) {
        let w = leet(word);
        regexes.push(format!(r"\b{w}\b"));
        regexes.push(format!(r"{w}\s*(?:now|today|here)"));
        regexes.push(format!(r"(?:buy|get|win)\s+{w}"));
        regexes.push(format!(r"{w}[\s._-]*\d{{2,}}"));
        regexes.push(format!(r"\b{w}s?\s+(?:for|4)\s+(?:free|fr[e3]{{2}})"));
        let noun = SPAM_NOUNS.get(i % SPAM_NOUNS.len()).expect("noun");
        regexes.push(format!(
            r"https?://(?:[a-z0-9-]+\.)*{word}-?{noun}\.(?:com|net|xyz|top)\b"
        ));
        regexes.push(format!(r"(?:t\.me|telegram\.me|wa\.me)/{word}_?{noun}\d*"));
        regexes.push(format!(r"(?:dm|message|text)\s+me\s+(?:for|about)\s+{w}"));
        regexes.push(format!(r"{word}\.{noun}@[a-z0-9-]+\.[a-z]{{2,}}"));
        regexes.push(format!(r"\+?\d[\d ()-]{{7,}}\s*(?:for\s+)?{w}"));
    }
    let regexes: Vec<_> = regexes.into_iter().map(BlockTarget::Regex).collect();
    let langs = ["en", "es", "de", "fr", "pt"];
    let channels: Vec<_> = SPAM_WORDS
        .iter()
        .take(20)
        .flat_map(|w| {
            langs.iter().map(move |l| {
                BlockTarget::Channel(ChannelName::parse(&format!("{w}/{l}")).expect("channel"))
            })
        })
        .collect();
    assert_eq!(
        (
            personas.len(),
            posts.len(),
            keywords.len(),
            regexes.len(),
            channels.len()
        ),
        (6_000, 2_000, 1_500, 400, 100)
    );

    // Interleave: personas and posts throughout, rules and channels mixed in.
    let mut kinds: Vec<std::vec::IntoIter<BlockTarget>> = vec![
        personas.into_iter(),
        posts.into_iter(),
        keywords.into_iter(),
        regexes.into_iter(),
        channels.into_iter(),
    ];
    let weights = [60usize, 20, 15, 4, 1];
    let mut entries = Vec::with_capacity(10_000);
    while entries.len() < 10_000 {
        for (it, &w) in kinds.iter_mut().zip(&weights) {
            for target in it.by_ref().take(w) {
                entries.push(BlockEntry::new(target, reason()));
            }
        }
    }
    entries
}

// ---------------------------------------------------------------------------
// Benchmark bookkeeping and the JSON report.

/// One registered benchmark, for the JSON report.
struct Row {
    group: &'static str,
    name: String,
    elements: u64,
    element: &'static str,
}

/// A criterion group that also records its benchmarks for the JSON report.
struct Group<'a> {
    inner: BenchmarkGroup<'a, WallTime>,
    name: &'static str,
    rows: &'a mut Vec<Row>,
}

impl<'a> Group<'a> {
    fn new(c: &'a mut Criterion, rows: &'a mut Vec<Row>, name: &'static str) -> Self {
        Self {
            inner: c.benchmark_group(name),
            name,
            rows,
        }
    }

    fn times(&mut self, warm_up_s: u64, measurement_s: u64, samples: usize) -> &mut Self {
        self.inner
            .warm_up_time(Duration::from_secs(warm_up_s))
            .measurement_time(Duration::from_secs(measurement_s))
            .sample_size(samples);
        self
    }

    fn bench(
        &mut self,
        name: &str,
        elements: u64,
        element: &'static str,
        f: impl FnMut(&mut criterion::Bencher<'_, WallTime>),
    ) -> &mut Self {
        self.inner.throughput(Throughput::Elements(elements));
        self.inner.bench_function(name, f);
        self.rows.push(Row {
            group: self.name,
            name: name.to_owned(),
            elements,
            element,
        });
        self
    }

    fn finish(self) {
        self.inner.finish();
    }
}

/// Where criterion writes its results, found the way criterion finds it:
/// `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the target
/// directory `cargo metadata` reports, else `target/criterion`. The result
/// is also handed to criterion, so both always agree.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .and_then(|meta| meta.get("target_directory")?.as_str().map(PathBuf::from))
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// Prints one JSON line per benchmark whose estimates this run wrote.
/// Benchmarks filtered out, or run in `--test`/`--list` mode, have no fresh
/// estimates and are left out.
fn print_json(dir: &Path, rows: &[Row], started: SystemTime) {
    let mut printed = 0;
    for row in rows {
        let path = dir
            .join(row.group)
            .join(&row.name)
            .join("new")
            .join("estimates.json");
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        if !fresh {
            continue;
        }
        let Some(est) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        else {
            eprintln!("could not read {}", path.display());
            continue;
        };
        let get = |stat: &str, field: &[&str]| {
            field
                .iter()
                .try_fold(est.get(stat)?, |v, f| v.get(f))
                .and_then(serde_json::Value::as_f64)
        };
        let Some(mean) = get("mean", &["point_estimate"]).filter(|m| *m > 0.0) else {
            continue;
        };
        let elements = row.elements as f64;
        let line = serde_json::json!({
            "bench": format!("{}/{}", row.group, row.name),
            "group": row.group,
            "name": row.name,
            "mean_ns": mean,
            "mean_ci95_low_ns": get("mean", &["confidence_interval", "lower_bound"]),
            "mean_ci95_high_ns": get("mean", &["confidence_interval", "upper_bound"]),
            "median_ns": get("median", &["point_estimate"]),
            "std_dev_ns": get("std_dev", &["point_estimate"]),
            "ops_per_sec": 1e9 / mean,
            "elements": row.elements,
            "element": row.element,
            "ns_per_element": mean / elements,
            "elements_per_sec": elements * 1e9 / mean,
        });
        println!("{line}");
        printed += 1;
    }
    if printed == 0 {
        eprintln!(
            "no fresh criterion estimates in {}: no JSON figures",
            dir.display()
        );
    }
}

// ---------------------------------------------------------------------------
// The benchmarks.

/// Signing, opening and validating one typical post.
fn post_benches(c: &mut Criterion, rows: &mut Vec<Row>) {
    let fx = Fixture::new();
    let (_, _, bytes) = fx.signed_post(BODY_EN);
    let ctx = ValidationContext::new(&fx.network, NOW_MS + 1_000, &fx.limits).channel(&fx.channel);
    validate(&bytes, &ctx).expect("the typical post validates");
    eprintln!(
        "typical post: {}-byte body, {}-byte envelope",
        BODY_EN.len(),
        bytes.len()
    );

    // A post carrying 16 bits of work, validated where the channel asks it.
    let worked = fx
        .draft(BODY_EN, NOW_MS)
        .sign(&fx.persona, &fx.network, 16)
        .expect("stamp 16 bits")
        .bytes;
    let ctx16 = ctx.difficulty(16);
    validate(&worked, &ctx16).expect("the worked post validates");

    let mut g = Group::new(c, rows, "post");
    g.times(1, 3, 50);
    g.bench("sign", 1, "post", |b| {
        b.iter_batched(
            || fx.draft(BODY_EN, NOW_MS),
            |d| d.sign(&fx.persona, &fx.network, 0).expect("sign"),
            BatchSize::SmallInput,
        )
    });
    g.bench("open", 1, "post", |b| {
        b.iter(|| open(black_box(&bytes), &fx.network).expect("open"))
    });
    g.bench("validate", 1, "post", |b| {
        b.iter(|| validate(black_box(&bytes), &ctx).expect("validate"))
    });
    // The same typical post checked for a persona stamp: one more short
    // hash, whatever the level (the stamp is not searched here, so the
    // check fails just before the signature).
    let ctx_stamp = ctx.persona_stamp_bits(40);
    assert!(validate(&bytes, &ctx_stamp).is_err());
    g.bench("refuse_weak_stamp", 1, "post", |b| {
        b.iter(|| validate(black_box(&bytes), &ctx_stamp).expect_err("weak stamp"))
    });
    g.bench("validate_pow16", 1, "post", |b| {
        b.iter(|| validate(black_box(&worked), &ctx16).expect("validate"))
    });
    g.finish();
}

/// Proof-of-work: the cost of one attempt, and of whole stamps.
fn pow_benches(c: &mut Criterion, rows: &mut Vec<Row>) {
    let fx = Fixture::new();
    let mut g = Group::new(c, rows, "pow");
    g.inner.sampling_mode(SamplingMode::Flat);

    // Exactly 65,536 attempts: asking for 32 bits with a cap of 2^16 tries
    // every nonce below the cap and gives up (a 32-bit hit below 2^16 has
    // odds of 1 in 65,536 per post, and would only make one sample faster).
    // An attempt finishes a SHA-256 whose prefix is shared by all nonces;
    // the 8-byte nonce and padding fit the last partial block only when the
    // prefix leaves at most 47 bytes in it, else each attempt costs two
    // compressions. The typical post is a one-block case; the padded one a
    // two-block case.
    const ATTEMPTS: u64 = 1 << 16;
    let one_block = fx.draft(BODY_EN, NOW_MS);
    assert_eq!(finish_blocks(&fx, BODY_EN), 1);
    let padded = two_block_body(&fx);
    let two_blocks = fx.draft(&padded, NOW_MS);
    g.times(1, 3, 20);
    for (name, draft) in [
        ("attempts_65536", &one_block),
        ("attempts_65536_two_block", &two_blocks),
    ] {
        g.bench(name, ATTEMPTS, "hash", |b| {
            b.iter_batched(
                || draft.clone(),
                |d| d.sign_with_cap(&fx.persona, &fx.network, 32, ATTEMPTS),
                BatchSize::SmallInput,
            )
        });
    }

    // Whole stamps (including the signature): every iteration stamps a
    // different post, so the mean is over many independent searches.
    let next = Cell::new(0u64);
    let fresh = || {
        let n = next.get();
        next.set(n + 1);
        fx.draft(BODY_EN, NOW_MS + n)
    };
    for (bits, warm_up_s, measurement_s, samples) in [
        (8u8, 1, 3, 20),
        (12, 1, 4, 20),
        (16, 2, 8, 10),
        (20, 3, 25, 10),
    ] {
        g.times(warm_up_s, measurement_s, samples);
        g.bench(&format!("stamp_{bits}"), 1, "stamp", |b| {
            b.iter_batched(
                fresh,
                |d| d.sign(&fx.persona, &fx.network, bits).expect("stamp"),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// The persona stamp: the cost of one attempt (the whole search at the
/// default level is `2^DEFAULT_PERSONA_STAMP_BITS` attempts on average),
/// and what a forger of names pays per key: a fresh ed25519 key, its name
/// and its fingerprint.
fn identity_benches(c: &mut Criterion, rows: &mut Vec<Row>) {
    let fx = Fixture::new();
    let persona = fx.persona.public();
    let mut g = Group::new(c, rows, "identity");
    g.inner.sampling_mode(SamplingMode::Flat);
    g.times(1, 5, 20);
    // Asking for the maximum level with a budget of 2^16 tries exactly
    // 2^16 nonces (a 40-bit hit has odds of 1 in 2^24 per sample).
    const ATTEMPTS: u64 = 1 << 16;
    let start = Cell::new(0u64);
    g.bench("stamp_attempts_65536", ATTEMPTS, "hash", |b| {
        b.iter(|| {
            let from = start.get();
            start.set(from.wrapping_add(ATTEMPTS));
            stamp_persona(&persona, &fx.network, 40, from, ATTEMPTS)
        })
    });
    let mut mix = Mix(0x0073_7461_6d70);
    g.times(1, 3, 30);
    g.bench("keygen_name_fingerprint", 1, "key", |b| {
        b.iter_batched(
            || mix.bytes32(),
            |seed| {
                let key = Keypair::from_secret_bytes(seed).public();
                (key.name(), key.fingerprint())
            },
            BatchSize::SmallInput,
        )
    });
    g.bench("name", 1, "key", |b| b.iter(|| black_box(&persona).name()));
    g.finish();
}

/// SHA-256 compressions each proof-of-work attempt costs for a post with
/// `body`, from the layouts documented in `envelope.rs` and `pow.rs`:
/// the envelope is `1 + 1 + varint(len) network + 32 + varint(len) body +
/// 64` bytes, the body is the fields then the nonce (one byte for nonce 0),
/// and the work hash is over `tag(12) || signer(32) || varint(len) network
/// || fields || nonce(8)`.
fn finish_blocks(fx: &Fixture, body: &str) -> usize {
    let (_, _, bytes) = fx.signed_post(body);
    let network = fx.network.as_str().len();
    let fixed = 1 + 1 + 1 + network + 32 + 64;
    let rest = bytes.len() - fixed; // varint(len) body + body
    let body_len = if rest - 1 < 128 { rest - 1 } else { rest - 2 };
    let fields = body_len - 1;
    let prefix = 12 + 32 + 1 + network + fields;
    // Last partial block: prefix remainder + 8-byte nonce + 0x80 + 8-byte length.
    if prefix % 64 + 8 + 1 + 8 <= 64 { 1 } else { 2 }
}

/// The typical English body with dots appended until each attempt costs
/// two compressions.
fn two_block_body(fx: &Fixture) -> String {
    let mut body = BODY_EN.to_owned();
    while finish_blocks(fx, &body) == 1 {
        body.push('.');
    }
    body
}

/// Compiling and matching a 10,000-entry policy, and validating the same
/// entries as one signed moderator list.
fn moderation_benches(c: &mut Criterion, rows: &mut Vec<Row>) {
    let fx = Fixture::new();
    let moderator = Keypair::from_secret_bytes([9; 32]);
    let entries = policy_entries();
    let list = PolicyList {
        id: ListId::Moderator(moderator.public()),
        applies_to: Scope::All,
        entries: entries.clone(),
    };
    let policy = Policy::compile([list.clone()]);
    assert!(policy.problems().is_empty(), "{:?}", policy.problems());
    assert_eq!(policy.len(), 10_000);

    let (id_en, post_en, _) = fx.signed_post(BODY_EN);
    let (id_es, post_es, _) = fx.signed_post(BODY_ES);
    let (id_spam, post_spam, _) = fx.signed_post(BODY_SPAM);
    // The longest body a post may carry (4 KiB), in Spanish.
    let body_es_4k = BODY_ES.repeat(MAX_BODY_BYTES / BODY_ES.len());
    let (id_es_4k, post_es_4k, _) = fx.signed_post(&body_es_4k);
    let (id_en_4k, post_en_4k, _) = fx.signed_post(&BODY_EN.repeat(MAX_BODY_BYTES / BODY_EN.len()));
    let (id_ru_4k, post_ru_4k, _) = fx.signed_post(&BODY_RU.repeat(MAX_BODY_BYTES / BODY_RU.len()));
    let blocked_author = entries
        .iter()
        .find_map(|e| match &e.target {
            BlockTarget::Persona(k) => Some(*k),
            _ => None,
        })
        .expect("a persona entry");
    let post_blocked_author = Post {
        author: blocked_author,
        ..post_en.clone()
    };
    assert_eq!(policy.check(&id_en, &post_en), None);
    assert_eq!(policy.check(&id_es, &post_es), None);
    assert_eq!(policy.check(&id_es_4k, &post_es_4k), None);
    assert_eq!(policy.check(&id_en_4k, &post_en_4k), None);
    assert_eq!(policy.check(&id_ru_4k, &post_ru_4k), None);
    let hit = policy.check(&id_spam, &post_spam).expect("spam matches");
    assert!(matches!(hit.target, BlockTarget::Keyword(_)), "{hit:?}");
    let hit = policy
        .check(&id_en, &post_blocked_author)
        .expect("author matches");
    assert!(matches!(hit.target, BlockTarget::Persona(_)), "{hit:?}");

    let signed = ModeratorList::sign(
        &moderator,
        &fx.network,
        1,
        NOW_MS,
        "grief channels: spam and abuse",
        entries,
    )
    .expect("the list fits");
    let modkey = moderator.public();
    let ctx = ValidationContext::new(&fx.network, NOW_MS + 1_000, &fx.limits).moderator(&modkey);
    validate(&signed.bytes, &ctx).expect("the list validates");
    eprintln!(
        "moderator list: {} entries, {} bytes ({:.1} KiB)",
        policy.len(),
        signed.bytes.len(),
        signed.bytes.len() as f64 / 1024.0
    );

    let mut g = Group::new(c, rows, "moderation");
    g.times(1, 3, 50);
    g.bench("check_10k_no_match", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_en), black_box(&post_en)))
    });
    g.bench("check_10k_keyword", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_spam), black_box(&post_spam)))
    });
    g.bench("check_10k_persona", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_en), black_box(&post_blocked_author)))
    });
    g.bench("check_10k_no_match_4k", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_en_4k), black_box(&post_en_4k)))
    });
    // Non-ASCII text: see docs/performance.md on Unicode word boundaries.
    g.inner.sampling_mode(SamplingMode::Flat);
    g.times(1, 3, 20);
    g.bench("check_10k_no_match_non_ascii", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_es), black_box(&post_es)))
    });
    g.times(1, 5, 10);
    g.bench("check_10k_no_match_non_ascii_4k", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_es_4k), black_box(&post_es_4k)))
    });
    g.bench("check_10k_no_match_cyrillic_4k", 1, "post", |b| {
        b.iter(|| policy.check(black_box(&id_ru_4k), black_box(&post_ru_4k)))
    });
    g.times(2, 10, 10);
    g.bench("compile_10k", 1, "policy", |b| {
        b.iter_batched(|| [list.clone()], Policy::compile, BatchSize::LargeInput)
    });
    g.times(1, 5, 20);
    g.bench("validate_list_10k", 1, "list", |b| {
        b.iter(|| validate(black_box(&signed.bytes), &ctx).expect("validate"))
    });
    g.finish();
}

fn main() {
    let started = SystemTime::now();
    let dir = criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    let mut rows = Vec::new();
    post_benches(&mut c, &mut rows);
    pow_benches(&mut c, &mut rows);
    identity_benches(&mut c, &mut rows);
    moderation_benches(&mut c, &mut rows);
    c.final_summary();
    print_json(&dir, &rows, started);
}
