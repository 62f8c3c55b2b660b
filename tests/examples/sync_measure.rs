//! Measures history sync between real nodes on loopback and prints the
//! figures (it asserts nothing about time):
//!
//! 1. two nodes holding 10 000 posts of one channel each, 9 990 of them
//!    shared: the bytes of reconciliation messages one node exchanges to
//!    find the 10 it lacks, against the 320 000 bytes of sending every id;
//! 2. a late joiner receiving 5 000 posts from one peer: the time from the
//!    dial until the last is stored, and the bytes exchanged.
//!
//! Run: `cargo run -p hearth-tests --example sync_measure` (add
//! `--release` for optimised code). The stores are filled directly before
//! the nodes start, in temporary directories that are deleted afterwards.
//! docs/performance.md has the figures.

use std::path::Path;
use std::time::{Duration, Instant};

use hearth_node::store::{Store, StoredPost};
use hearth_node::{Event, EventStream, Node, NodeHandle, PeerId, Retention, SyncReport};
use hearth_protocol::{ChannelName, Keypair, NetworkId, PostDraft};
use hearth_tests::{address, channel, now_ms, unique_network};

const TEXTS: [&str; 4] = [
    "Couldn't sleep again. The house is so quiet since she died.",
    "Day 40 without a drink. Some days are easier than others, today wasn't.",
    "Does anyone else feel guilty for laughing at something a week after?",
    "Thank you all for being here at 3am. It helps more than I can say.",
];

/// Signs post `n` of `channel`, created `n` seconds after `start_ms`.
fn post(
    network: &NetworkId,
    channel: &ChannelName,
    authors: &[Keypair],
    n: u64,
    start_ms: u64,
) -> (hearth_protocol::MessageId, StoredPost) {
    let created = start_ms + n * 1000;
    let text = format!("{} ({n})", TEXTS[usize::try_from(n).unwrap() % TEXTS.len()]);
    let author = &authors[usize::try_from(n).unwrap() % authors.len()];
    let signed = PostDraft::new(channel.clone(), text, created)
        .sign(author, network, 0)
        .expect("a valid post signs");
    let stored = StoredPost {
        bytes: signed.bytes,
        channel: channel.clone(),
        created_ms: created,
        expires_ms: None,
        received_ms: created,
        own: false,
    };
    (signed.id, stored)
}

/// Fills a store in `dir` with the posts for which `keep(n)` holds.
fn fill(
    dir: &Path,
    posts: &[(hearth_protocol::MessageId, StoredPost)],
    keep: impl Fn(usize) -> bool,
) {
    let store = Store::open(dir, 64 * 1024 * 1024).expect("a store");
    let far = now_ms() + 365 * 24 * 3_600_000;
    for (n, (id, post)) in posts.iter().enumerate() {
        if keep(n) {
            store.insert_post(id, post).expect("stored");
            store.mark_seen(id, far).expect("marked");
        }
    }
    store.flush().expect("flushed");
}

async fn start(dir: &Path, network: &NetworkId) -> NodeHandle {
    Node::builder()
        .persona_stamp_bits(0)
        .data_dir(dir)
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("an address"))
        .mdns(false)
        .network(network.clone())
        .retention(Retention {
            max_posts_per_channel: 100_000,
            ..Retention::default()
        })
        .start()
        .await
        .expect("the node starts")
}

/// Two nodes holding the posts of `all` that `keep_a` and `keep_b`
/// choose: what b exchanges with a to find the ones it lacks.
async fn shared(
    network: &NetworkId,
    grief: &ChannelName,
    all: &[(hearth_protocol::MessageId, StoredPost)],
    label: &str,
    keep_a: impl Fn(usize) -> bool,
    keep_b: impl Fn(usize) -> bool,
) {
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a directory"),
        tempfile::tempdir().expect("a directory"),
    );
    fill(dir_a.path(), all, keep_a);
    fill(dir_b.path(), all, keep_b);
    let a = start(dir_a.path(), network).await;
    let b = start(dir_b.path(), network).await;
    let mut b_events = b.events();
    a.join(grief.clone()).await.expect("a joins");
    b.join(grief.clone()).await.expect("b joins");
    let began = Instant::now();
    b.dial(address(&a).await).await.expect("b dials a");
    let report = report_from(&mut b_events, a.peer_id()).await;
    let took = began.elapsed();
    print_report(label, &report);
    println!(
        "  every id instead: {} bytes; from dial to done: {took:?}",
        10_000 * 32
    );
    a.shutdown().await.expect("a stops");
    b.shutdown().await.expect("b stops");
}

/// The report of the first channel sync with `peer`.
async fn report_from(events: &mut EventStream, peer: PeerId) -> SyncReport {
    let found = tokio::time::timeout(Duration::from_secs(300), async {
        while let Some(event) = events.next().await {
            if let Event::Synced(report) = event
                && report.peer == peer
                && report.channel.is_some()
            {
                return Some(*report);
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .expect("a sync report within 5 minutes")
}

fn print_report(what: &str, r: &SyncReport) {
    println!(
        "{what}: rounds {}, reconciliation {} bytes, fetch {} bytes, needed {}, requested {}, received {}, refused {}, error {:?}",
        r.rounds,
        r.reconcile_bytes,
        r.fetch_bytes,
        r.needed,
        r.requested,
        r.received,
        r.refused,
        r.error
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let network = unique_network();
    let grief = channel("grief");
    let authors: Vec<Keypair> = (0..50)
        .map(|_| Keypair::generate(&mut rand::rng()))
        .collect();
    let start_ms = now_ms() - 20 * 24 * 3_600_000;

    // ---- 1. 10 000 each, most shared -----------------------------------
    let signing = Instant::now();
    let posts: Vec<_> = (0..10_100)
        .map(|n| post(&network, &grief, &authors, n, start_ms))
        .collect();
    println!("signed {} posts in {:?}", posts.len(), signing.elapsed());
    let mean = posts.iter().map(|(_, p)| p.bytes.len()).sum::<usize>() / posts.len();
    println!("mean post envelope: {mean} bytes");
    for differing in [10, 100] {
        let step = (10_000 + differing) / differing;
        let label = format!(
            "10 000 each, {} shared, {differing} differ each way, spread out",
            10_000 - differing
        );
        let all = &posts[..10_000 + differing];
        let a = move |n: usize| n % step != step / 2;
        let b = move |n: usize| !n.is_multiple_of(step);
        shared(&network, &grief, all, &label, a, b).await;
    }
    // A node that was away lacks the newest posts, all in one stretch.
    let all = &posts[..10_000];
    let label = "a has 10 000, b the oldest 9 900 (b was away for the last 100)";
    shared(&network, &grief, all, label, |_| true, |n| n < 9_900).await;

    // ---- 2. a late joiner receives 5 000 --------------------------------
    let dir_c = tempfile::tempdir().expect("a directory");
    let dir_d = tempfile::tempdir().expect("a directory");
    fill(dir_c.path(), &posts, |n| n < 5_000);
    let c = start(dir_c.path(), &network).await;
    let d = start(dir_d.path(), &network).await;
    let mut d_events = d.events();
    c.join(grief.clone()).await.expect("c joins");
    d.join(grief.clone()).await.expect("d joins");
    let began = Instant::now();
    d.dial(address(&c).await).await.expect("d dials c");
    let report = report_from(&mut d_events, c.peer_id()).await;
    let took = began.elapsed();
    print_report("late joiner, 5 000 posts", &report);
    let total = report.reconcile_bytes + report.fetch_bytes;
    println!(
        "  from dial to the last post stored: {took:?} ({:.0} posts/s); {total} bytes in all, {} per post",
        report.received as f64 / took.as_secs_f64(),
        total / report.received.max(1) as u64
    );
    let stored = d.status().await.expect("status").stored_posts;
    println!("  d holds {stored} posts");
    c.shutdown().await.expect("c stops");
    d.shutdown().await.expect("d stops");
}
