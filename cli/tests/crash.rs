//! A node killed with SIGKILL at random moments keeps every post it said
//! it kept, and delivers each one in the end.
//!
//! A peer runs `hearth run --json` on loopback. The node under test, the
//! real binary in headless JSON mode, is started on one data directory
//! [`KILLS`] times; each time it is given lines to post and killed with
//! SIGKILL at a random moment: while it starts, between posts, or with
//! posts half done. The moments come from a seeded generator; the seed is
//! printed, and `CRASH_SEED=<seed>` repeats a run.
//!
//! After each kill, `hearth history` must open the store without error and
//! list every post the node reported kept before it died: each own `post`
//! line (printed once the post is flushed) and each `sent` line (the
//! publish returned, or a waiting post went out). At the end the node runs
//! once more, unkilled, and the peer must receive every one of them:
//! those that went out live, and those that waited in the store.
//!
//! Every node joins with `--ephemeral`, so each start speaks with a fresh
//! persona and the peer's per-persona rate limit never refuses a post.

// Each test file is its own crate and uses a different part of the shared
// support: what this one does not use is not dead code.
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use support::{CHANNEL, Process};

/// How many times the node is killed.
const KILLS: usize = 20;

/// splitmix64: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `hearth --network NETWORK --data-dir DIR` with a clean environment.
fn hearth(network: &str, dir: &Path) -> Command {
    let mut command = support::hearth();
    command.args(["--network", network, "--data-dir"]).arg(dir);
    command
}

impl Process {
    /// Writes one line to standard input, if the process still reads it:
    /// a node killed a moment ago no longer does, and that is fine here.
    fn offer(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        let _ = writeln!(stdin, "{line}").and_then(|()| stdin.flush());
    }
}

/// The ids of the posts `hearth history` lists, with their texts.
fn history(network: &str, dir: &Path) -> BTreeMap<String, String> {
    let output = hearth(network, dir)
        .args(["history", CHANNEL, "--json", "--limit", "10000"])
        .stdin(Stdio::null())
        .output()
        .expect("hearth history runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // A node killed in its first moments, before it created its store,
    // kept nothing: an empty history. Were posts reported kept, the caller
    // finds them missing and fails.
    if !output.status.success() && stderr.contains("there is no hearth store") {
        return BTreeMap::new();
    }
    assert!(
        output.status.success(),
        "the store did not open after a kill: {stderr}"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let post: Value = serde_json::from_str(line).expect("a JSON line");
            (
                post["id"].as_str().expect("an id").to_owned(),
                post["text"].as_str().expect("a text").to_owned(),
            )
        })
        .collect()
}

fn seed() -> u64 {
    match std::env::var("CRASH_SEED") {
        Ok(seed) => seed.trim().parse().expect("CRASH_SEED is a number"),
        Err(_) => SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| {
            (d.as_secs() << 30) ^ u64::from(d.subsec_nanos()) ^ u64::from(std::process::id())
        }),
    }
}

#[test]
fn a_node_killed_at_random_moments_keeps_and_delivers_every_post_it_reported() {
    let seed = seed();
    eprintln!("crash test seed: {seed} (CRASH_SEED={seed} repeats this run)");
    let mut rng = Rng(seed);
    let started = Instant::now();
    let network = format!("test-{:016x}", Rng(seed).next());
    let peer_dir = tempfile::tempdir().expect("a temporary directory");
    let dir = tempfile::tempdir().expect("a temporary directory");

    let mut peer = Process::start("peer".to_owned(), {
        let mut c = hearth(&network, peer_dir.path());
        c.args([
            "run",
            CHANNEL,
            "--json",
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ]);
        c
    });
    let listening = peer.wait_for("listening event", |e| e["type"] == "listening");
    let address = listening["address"]
        .as_str()
        .expect("an address")
        .to_owned();
    let node = |name: String| {
        let mut c = hearth(&network, dir.path());
        c.args([
            "chat",
            CHANNEL,
            "--json",
            "--no-mdns",
            "--ephemeral",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--bootstrap",
            &address,
        ]);
        Process::start(name, c)
    };

    // Every post a killed node reported kept: id → text.
    let mut kept: BTreeMap<String, String> = BTreeMap::new();
    let mut written = 0usize;
    let mut during_start = 0;
    // `sent` lines with peers and without (the post was stored to wait),
    // and posts from an earlier start that went out at a later one.
    let (mut live, mut waited, mut resent) = (0, 0, 0);
    for kill in 1..=KILLS {
        let mut victim = node(format!("node (start {kill})"));
        if rng.below(5) == 0 {
            // Somewhere in the start: opening the store, joining, dialling,
            // with lines already waiting to be read.
            during_start += 1;
            for _ in 0..rng.below(4) {
                written += 1;
                victim.offer(&format!("start {kill} line {written}"));
            }
            std::thread::sleep(Duration::from_millis(rng.below(400)));
        } else {
            // The store opened: the start reports its channel.
            victim.wait_for("joined event", |e| e["type"] == "joined");
            if rng.below(2) == 0 {
                // Posts that go out live, rather than wait in the store.
                victim.wait_for("the peer in the channel", |e| {
                    e["type"] == "channel_peers" && e["peers"].as_u64() >= Some(1)
                });
            }
            for _ in 0..=rng.below(8) {
                written += 1;
                let text = format!("start {kill} line {written}");
                victim.offer(&text);
                if rng.below(2) == 0 {
                    victim.wait_for(&format!("post {text:?}"), |e| {
                        e["type"] == "post" && e["text"] == text.as_str()
                    });
                }
            }
            // Killed at once or a little later: some posts half done.
            std::thread::sleep(Duration::from_millis(rng.below(30)));
        }
        victim.kill();
        victim.assert_no_panic();
        let mut reported = BTreeSet::new();
        for event in &victim.events {
            match event["type"].as_str() {
                Some("sent") if event["peers"] == 0 => waited += 1,
                Some("sent") => live += 1,
                Some("backlog_sent") => {
                    resent += event["posts"].as_u64().unwrap_or_default();
                }
                _ => {}
            }
            let own_post = event["type"] == "post" && event["own"] == true;
            if own_post || event["type"] == "sent" {
                reported.insert(event["id"].as_str().expect("an id").to_owned());
            }
            if own_post {
                kept.insert(
                    event["id"].as_str().expect("an id").to_owned(),
                    event["text"].as_str().expect("a text").to_owned(),
                );
            }
        }
        // A `sent` line without its `post` line is a post from an earlier
        // start going out: already kept.
        for id in reported {
            kept.entry(id).or_default();
        }
        // The store opens, and every post reported kept so far, in this
        // start or an earlier one, is there.
        let stored = history(&network, dir.path());
        for id in kept.keys() {
            assert!(
                stored.contains_key(id),
                "seed {seed}, kill {kill}: post {id} was reported kept but is not in the \
                 history\n{}",
                victim.diagnostics()
            );
        }
    }

    // Once more, left running: every post waiting in the store goes out,
    // and the peer must end up with each one reported kept.
    let mut last = node("node (last start)".to_owned());
    last.wait_for("joined event", |e| e["type"] == "joined");
    for (id, text) in &kept {
        peer.wait_for(&format!("post {text:?} ({id})"), |e| {
            e["type"] == "post" && e["id"] == id.as_str()
        });
    }
    last.kill();
    last.assert_no_panic();
    resent += last
        .events
        .iter()
        .filter(|e| e["type"] == "backlog_sent")
        .filter_map(|e| e["posts"].as_u64())
        .sum::<u64>();
    peer.kill();
    peer.assert_no_panic();
    eprintln!(
        "crash test: {KILLS} kills ({during_start} during start-up), {written} lines written, \
         {} posts reported kept ({live} `sent` lines with peers, {waited} with none; {resent} \
         posts went out at a later start), each found in the history after every kill and \
         delivered to the peer; {:?}",
        kept.len(),
        started.elapsed()
    );
    assert!(
        !kept.is_empty(),
        "seed {seed}: no post was ever reported kept"
    );
}
