//! The attack lab: the abuse issue's attacks, measured from outside.
//!
//! Each attack gets a fresh network: three honest `hearth chat --json`
//! processes in a line, `h1 — v — h3` (h1 and h3 know only the victim v),
//! each posting a line every 6 s, and an attacker of plain libp2p gossipsub
//! swarms ([`attacker`]) that dials v. Five seconds into the attack a late
//! joiner starts, also knowing only v. The lab measures what a person
//! would notice: how many honest posts arrived, how late, how many hostile
//! posts were shown, v's peak memory and store, and when v cut the
//! attacker off.
//!
//! The honest processes stamp their personas at the protocol's level; the
//! attacker pays for its personas before the attack with a budget of CPU
//! time on every core (`--stamp-budget`), which is what stamps are for.

pub mod attacker;
pub mod honest;
pub mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hearth_protocol::{ChannelName, NetworkId};
use libp2p::Multiaddr;

use crate::sizing::procfs;
use attacker::{AttackerStats, Target};
use honest::{Honest, Start};

/// The channel every attack runs in.
pub const CHANNEL: &str = "anxiety";

/// How often each honest process posts: within a new persona's limit
/// (a burst of 8, then 12 a minute), so that what the lab measures is the
/// attack, not the node pacing its own person.
const HONEST_EVERY: Duration = Duration::from_secs(6);
/// How long a process may take to start, stamp its persona and meet its
/// neighbours.
const SETUP_DEADLINE: Duration = Duration::from_secs(120);
/// How long after the attack honest posts may still arrive.
const GRACE: Duration = Duration::from_secs(5);

/// The attacks of the abuse issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Attack {
    /// Valid posts from every persona the attacker paid for, through one
    /// connection.
    FreshPersonas,
    /// The same through 8 peer ids.
    EightIds,
    /// Near-maximum valid posts through 8 peer ids.
    MaxSize,
    /// 64-byte messages on a topic v never joined, through one peer id.
    ForeignTopic,
    /// Subscribe/unsubscribe churn from 3 peer ids over 10,000 topics.
    Churn,
    /// 126 connections from fresh peer ids, held.
    Connections,
    /// Forged posts, and a new peer id after each disconnection.
    NewIdAfterBan,
}

impl Attack {
    /// Every attack, in the order.
    pub const ALL: [Attack; 7] = [
        Attack::FreshPersonas,
        Attack::EightIds,
        Attack::MaxSize,
        Attack::ForeignTopic,
        Attack::Churn,
        Attack::Connections,
        Attack::NewIdAfterBan,
    ];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Attack::FreshPersonas => "fresh-personas",
            Attack::EightIds => "eight-ids",
            Attack::MaxSize => "max-size",
            Attack::ForeignTopic => "foreign-topic",
            Attack::Churn => "churn",
            Attack::Connections => "connections",
            Attack::NewIdAfterBan => "new-id-after-ban",
        }
    }
}

/// What can go wrong in the lab (not in the attacked nodes: those are
/// measured).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// An I/O error.
    #[error("I/O: {0}")]
    Io(#[source] std::io::Error),
    /// The hearth binary did not start.
    #[error("cannot start {0}: {1}")]
    Start(PathBuf, #[source] std::io::Error),
    /// A process's pipes were not set up.
    #[error("a process has no pipe")]
    NoPipe,
    /// A lock was poisoned by a panicking thread.
    #[error("a reader thread panicked")]
    Poisoned,
    /// Something the lab waited for did not happen.
    #[error("did not happen in time: {0}")]
    Missing(String),
    /// The attacker's swarm could not be built.
    #[error("attacker: {0}")]
    Attacker(String),
}

/// One honest post's way and lateness.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowPost {
    /// The process that wrote it.
    pub author: String,
    /// The process that showed it.
    pub reader: String,
    /// When it was written, from the start of the attack, in ms.
    pub written_ms: f64,
    /// Write → shown, in ms.
    pub latency_ms: f64,
}

/// How many of the slowest posts an outcome keeps.
const SLOWEST: usize = 3;

/// How the lab runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `hearth` binary.
    pub hearth: PathBuf,
    /// How long each attack lasts.
    pub duration: Duration,
    /// The persona-stamp level the network asks (the protocol's 25).
    pub stamp_bits: u8,
    /// CPU time on every core the attacker spends on personas first.
    pub stamp_budget: Duration,
}

/// What one attack did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The attack.
    pub attack: Attack,
    /// Honest posts written during the attack, times the honest readers
    /// that should show each.
    pub honest_expected: usize,
    /// Of those, shown.
    pub honest_delivered: usize,
    /// Latencies of the delivered ones, write → shown, in ms, sorted.
    pub latencies_ms: Vec<f64>,
    /// The slowest few delivered posts, slowest first: with a p99 of a
    /// few dozen posts, where and when the slowest ones went is what
    /// explains it.
    pub slowest: Vec<SlowPost>,
    /// Hostile posts shown, per honest process.
    pub hostile_shown: Vec<(String, usize)>,
    /// v's resident memory at its peak, in MiB.
    pub victim_peak_mib: f64,
    /// v's data directory at the end, in MiB.
    pub victim_store_mib: f64,
    /// When the late joiner first counted a peer in the channel, from the
    /// start of the attack.
    pub late_joiner_in: Option<Duration>,
    /// Whether an honest process died.
    pub honest_crashed: bool,
    /// What the attacker did.
    pub attacker: AttackerStats,
}

impl Outcome {
    /// Honest delivery as a share.
    pub fn delivery(&self) -> f64 {
        if self.honest_expected == 0 {
            return 1.0;
        }
        self.honest_delivered as f64 / self.honest_expected as f64
    }
}

/// A fresh network id for one attack.
fn network_id(attack: Attack) -> String {
    let salt: u32 = rand::random();
    format!("lab-{}-{salt:08x}", attack.name())
}

/// The address a process listens on, from its `listening` event.
fn listening(process: &Honest) -> Result<String, LabError> {
    process.wait_for("a listen address", SETUP_DEADLINE, |e| {
        (e["type"] == "listening")
            .then(|| e["address"].as_str().map(str::to_owned))
            .flatten()
    })
}

/// Waits until `process`'s persona is ready and it counts `peers` peers
/// in the channel.
fn ready(process: &Honest, peers: u64) -> Result<(), LabError> {
    // A fresh data directory: the persona is stamped before it can post.
    process.wait_for("its persona ready", SETUP_DEADLINE, |e| {
        (e["type"] == "persona_ready").then_some(())
    })?;
    process.wait_for("its neighbours", SETUP_DEADLINE, |e| {
        (e["type"] == "channel_peers" && e["peers"].as_u64() >= Some(peers)).then_some(())
    })
}

/// Runs one attack and measures it.
pub async fn run(options: &Options, attack: Attack) -> Result<Outcome, LabError> {
    let network = network_id(attack);
    let start = |bootstrap| Start {
        hearth: &options.hearth,
        network: &network,
        channel: CHANNEL,
        bootstrap,
    };
    let mut v = Honest::start("v", &start(None))?;
    let v_address = listening(&v)?;
    let mut h1 = Honest::start("h1", &start(Some(&v_address)))?;
    let mut h3 = Honest::start("h3", &start(Some(&v_address)))?;
    ready(&v, 2)?;
    ready(&h1, 1)?;
    ready(&h3, 1)?;

    let network_id = NetworkId::parse(&network).map_err(|e| LabError::Attacker(e.to_string()))?;
    let channel = ChannelName::parse(CHANNEL).map_err(|e| LabError::Attacker(e.to_string()))?;
    let bits = options.stamp_bits;
    let budget = options.stamp_budget;
    let personas = {
        let network_id = network_id.clone();
        tokio::task::spawn_blocking(move || attacker::buy_personas(&network_id, bits, budget))
            .await
            .unwrap_or_default()
    };
    let address: Multiaddr = v_address
        .parse()
        .map_err(|e: libp2p::multiaddr::Error| LabError::Attacker(e.to_string()))?;
    let target = Target {
        address,
        network: network_id,
        channel,
        personas,
    };

    let begin = Instant::now();
    let until = begin + options.duration;
    let attack_task = tokio::spawn(attacker::run(attack, target, begin, until));

    // Honest posts during the attack: text → (author, when written).
    let mut written: HashMap<String, (usize, Instant)> = HashMap::new();
    let mut late: Option<Honest> = None;
    let mut seq = 0u64;
    let mut next = Instant::now();
    while Instant::now() < until {
        for (index, process) in [&mut h1, &mut v, &mut h3].into_iter().enumerate() {
            seq += 1;
            let text = format!("{} honest {seq}", process.name);
            if process.say(&text).is_ok() {
                written.insert(text, (index, Instant::now()));
            }
        }
        if late.is_none() && begin.elapsed() >= Duration::from_secs(5) {
            late = Some(Honest::start("late", &start(Some(&v_address)))?);
        }
        next += HONEST_EVERY;
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
    }
    let attacker = attack_task.await.unwrap_or_default();
    // Let what is on its way arrive; the processes keep running.
    tokio::time::sleep(GRACE).await;

    let readers = [&h1, &v, &h3];
    let mut honest_expected = 0;
    let mut honest_delivered = 0;
    let mut delivered: Vec<SlowPost> = Vec::new();
    for (index, reader) in readers.iter().enumerate() {
        let shown: HashMap<String, Instant> = reader.posts().into_iter().collect();
        for (text, (author, at)) in &written {
            if *author == index {
                continue;
            }
            honest_expected += 1;
            if let Some(arrived) = shown.get(text) {
                honest_delivered += 1;
                delivered.push(SlowPost {
                    author: readers
                        .get(*author)
                        .map_or_else(String::new, |a| a.name.clone()),
                    reader: reader.name.clone(),
                    written_ms: at.saturating_duration_since(begin).as_secs_f64() * 1000.0,
                    latency_ms: arrived.saturating_duration_since(*at).as_secs_f64() * 1000.0,
                });
            }
        }
    }
    delivered.sort_by(|a, b| b.latency_ms.total_cmp(&a.latency_ms));
    let mut latencies_ms: Vec<f64> = delivered.iter().map(|p| p.latency_ms).collect();
    latencies_ms.sort_by(f64::total_cmp);
    delivered.truncate(SLOWEST);
    let slowest = delivered;
    let hostile_shown = readers
        .iter()
        .map(|r| {
            let spam = r
                .posts()
                .iter()
                .filter(|(text, _)| text.starts_with("spam "))
                .count();
            (r.name.clone(), spam)
        })
        .collect();
    let victim_peak_mib = procfs::memory(v.pid()).map_or(0.0, |m| m.peak as f64 / 1048576.0);
    let victim_store_mib = dir_bytes(&v.dir()) as f64 / 1048576.0;
    let late_joiner_in = late
        .as_ref()
        .and_then(|late| {
            late.first_at(|e| e["type"] == "channel_peers" && e["peers"].as_u64() >= Some(1))
        })
        .map(|at| at.saturating_duration_since(begin));
    let honest_crashed = v.exited() || h1.exited() || h3.exited();
    Ok(Outcome {
        attack,
        honest_expected,
        honest_delivered,
        latencies_ms,
        slowest,
        hostile_shown,
        victim_peak_mib,
        victim_store_mib,
        late_joiner_in,
        honest_crashed,
        attacker,
    })
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}
