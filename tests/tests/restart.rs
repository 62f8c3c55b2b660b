//! Restart: personas, posts and blocklists survive; the in-memory mode
//! leaves nothing on disk.
//!
//! A node on a data directory is stopped with [`NodeHandle::shutdown`] and
//! started again on the same directory: what it wrote and what it received
//! is still there, its own blocklist and follows still apply, and only a
//! persistent identity keeps its peer id. A second node cannot open a
//! directory in use. An in-memory node, run in a child process whose working
//! and temporary directories are an empty scratch directory, keeps its store
//! in memory only and leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth_node::store::StoreError;
use hearth_node::{Event, HistoryQuery, IdentityMode, Node, NodeBuilder, NodeError};
use hearth_protocol::{BlockEntry, BlockTarget, Keypair, ListId, NetworkId, Scope};
use hearth_tests::{
    address, channel, init_tracing, start, unique_network, wait_channel_peers, wait_for,
};

/// A test node on a data directory: TCP on loopback, no mDNS.
fn on_disk(dir: &Path, network: &NetworkId) -> NodeBuilder {
    Node::builder()
        .persona_stamp_bits(0)
        .data_dir(dir)
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("a valid address"))
        .mdns(false)
        .network(network.clone())
}

/// `wait_for` an `Event::Post` with this id; returns its record.
async fn post_event(
    events: &mut hearth_node::EventStream,
    what: &str,
    id: hearth_protocol::MessageId,
) -> hearth_node::PostRecord {
    wait_for(events, what, |e| match e {
        Event::Post(record) if record.id == id => Some((**record).clone()),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personas_posts_blocklist_and_follows_survive_a_restart() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    // A directory the node creates itself, as on a first run.
    let data = scratch.path().join("hearth");

    let a = on_disk(&data, &network).start().await.expect("node starts");
    let b = start(&network).await;
    let mut a_events = a.events();
    let mut b_events = b.events();
    let persona = a.join(anxiety.clone()).await.expect("a joins");
    let other = b.join(anxiety.clone()).await.expect("b joins");
    b.dial(address(&a).await).await.expect("b dials a");
    wait_channel_peers(&a, &mut a_events, &anxiety, 1).await;
    wait_channel_peers(&b, &mut b_events, &anxiety, 1).await;

    let own = a
        .publish(anxiety.clone(), "first night back")
        .await
        .expect("a publishes");
    // Received while nothing blocks b: shown.
    let before = b
        .publish(anxiety.clone(), "you are not alone")
        .await
        .expect("b publishes");
    let got = post_event(&mut a_events, "b's first post at a", before.id).await;
    assert!(got.verdict.is_none(), "nothing blocks b yet: {got:?}");

    let entry = BlockEntry::new(BlockTarget::Persona(other.key), "harassment");
    assert!(a.block(entry.clone()).await.expect("a blocks"));
    let moderator = Keypair::generate(&mut rand::rng()).public();
    let scope = Scope::Channel(anxiety.clone());
    a.follow(moderator, scope.clone()).await.expect("a follows");

    // Received after the block: stored, hidden. Shut down right after it
    // arrived, so it is likely still unflushed (received posts are flushed
    // in groups a few ms apart): the graceful shutdown has to get it to
    // disk.
    let after = b
        .publish(anxiety.clone(), "are you there?")
        .await
        .expect("b publishes again");
    let got = post_event(&mut a_events, "b's second post at a", after.id).await;
    assert_eq!(got.verdict.as_ref().map(|v| &v.list), Some(&ListId::Local));
    a.shutdown().await.expect("a stops");
    b.shutdown().await.expect("b stops");

    let a = on_disk(&data, &network)
        .start()
        .await
        .expect("node restarts on the same directory");
    // The persona is the stored one, before and after joining again.
    assert_eq!(a.persona(anxiety.clone()).await.expect("persona"), persona);
    assert_eq!(a.join(anxiety.clone()).await.expect("a rejoins"), persona);
    assert_eq!(a.personas().await.expect("personas"), vec![persona.clone()]);

    let all = a
        .history(
            anxiety.clone(),
            HistoryQuery {
                include_hidden: true,
                ..HistoryQuery::default()
            },
        )
        .await
        .expect("history");
    let mut ids: Vec<_> = all.iter().map(|r| r.id).collect();
    let mut expected = vec![own.id, before.id, after.id];
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected, "every post survived: {all:#?}");
    for record in &all {
        if record.id == own.id {
            assert!(record.own);
            assert_eq!(record.post.author, persona.key);
            assert_eq!(record.post.body, "first night back");
            assert!(record.verdict.is_none(), "own post hidden: {record:?}");
        } else {
            // Both of b's posts, the one received before the block too, are
            // hidden by the restored local blocklist.
            assert!(!record.own);
            assert_eq!(record.post.author, other.key);
            let verdict = record.verdict.as_ref().expect("b's posts are hidden");
            assert_eq!(verdict.list, ListId::Local);
            assert_eq!(verdict.target, BlockTarget::Persona(other.key));
            assert_eq!(verdict.reason, "harassment");
        }
    }
    let shown = a
        .history(anxiety.clone(), HistoryQuery::default())
        .await
        .expect("history");
    assert_eq!(
        shown.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![own.id],
        "hidden posts are left out by default"
    );
    assert_eq!(a.blocklist().await.expect("blocklist"), vec![entry]);
    assert_eq!(
        a.follows().await.expect("follows"),
        vec![(moderator, scope)]
    );
    a.shutdown().await.expect("a stops again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_persistent_identity_keeps_its_peer_id() {
    init_tracing();
    let network = unique_network();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run = |mode: IdentityMode| {
        let builder = on_disk(dir.path(), &network).identity(mode);
        async move {
            let node = builder.start().await.expect("node starts");
            let id = node.peer_id();
            node.shutdown().await.expect("node stops");
            id
        }
    };
    let first = run(IdentityMode::Persistent).await;
    let second = run(IdentityMode::Persistent).await;
    assert_eq!(first, second, "a persistent peer id survives a restart");
    let third = run(IdentityMode::Ephemeral).await;
    let fourth = run(IdentityMode::default()).await;
    assert_ne!(
        third, first,
        "an ephemeral node ignores the stored peer key"
    );
    assert_ne!(fourth, third, "the default identity changes at every start");
    assert_ne!(fourth, first);
    // The stored key was left alone by the ephemeral runs.
    assert_eq!(run(IdentityMode::Persistent).await, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_in_use_is_refused_with_a_clear_error() {
    init_tracing();
    let network = unique_network();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = on_disk(dir.path(), &network)
        .start()
        .await
        .expect("node starts");
    let err = on_disk(dir.path(), &network)
        .start()
        .await
        .expect_err("a second node on the same directory is refused");
    match &err {
        NodeError::Store(StoreError::InUse(path)) => assert_eq!(path, dir.path()),
        other => panic!("expected StoreError::InUse, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("in use") && message.contains(&dir.path().display().to_string()),
        "unclear error: {message}"
    );
    // The first node is unharmed, and the directory is free once it stops.
    first.status().await.expect("the first node still answers");
    first.shutdown().await.expect("node stops");
    let again = on_disk(dir.path(), &network)
        .start()
        .await
        .expect("the directory is free after shutdown");
    again.shutdown().await.expect("node stops");
}

/// Set in the child process of [`an_in_memory_node_leaves_nothing_on_disk`].
const CHILD: &str = "HEARTH_TEST_IN_MEMORY_CHILD";

/// Proves that `.in_memory()` writes nothing to disk and leaves nothing
/// behind.
///
/// The work runs in a child process (this test binary again, running only
/// this test), because what is checked is per process: its working
/// directory, `TMPDIR` (which `std::env::temp_dir()` reads) and `HOME` all
/// point at an empty scratch directory, and every file it holds open is
/// listed from `/proc/self/fd`. Changing those in this process would affect
/// the other tests of the binary, which run in parallel, and their files
/// would be mixed with this one's.
///
/// The child checks that every regular file it has open while its nodes run
/// (that is the sled store of an in-memory node: sled's temporary mode puts
/// it in `/dev/shm` on Linux) lives on a memory file system (tmpfs), and
/// that none of those files exist once the nodes have shut down. The parent
/// then checks the scratch directory is still empty, so nothing was written
/// relative to the working directory, in the temporary directory or in the
/// home directory either.
#[cfg(target_os = "linux")]
#[test]
fn an_in_memory_node_leaves_nothing_on_disk() {
    if std::env::var_os(CHILD).is_some() {
        in_memory_child();
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(exe)
        .args([
            "an_in_memory_node_leaves_nothing_on_disk",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("TMPDIR", scratch.path())
        .env("HOME", scratch.path())
        .current_dir(scratch.path())
        .output()
        .expect("the child test runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the in-memory child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The child must really have run the test, not filtered it out.
    assert!(
        stdout.contains("in-memory child: done"),
        "the child did not run the check:\n{stdout}\n{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(scratch.path())
        .expect("scratch is readable")
        .map(|e| e.map(|e| e.path()))
        .collect();
    assert!(
        left.is_empty(),
        "an in-memory node left files behind: {left:?}"
    );
}

#[cfg(target_os = "linux")]
fn in_memory_child() {
    let scratch = std::env::current_dir().expect("a working directory");
    assert_eq!(std::env::temp_dir(), scratch, "TMPDIR is redirected");
    let before = open_files();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let store_files = runtime.block_on(async {
        let network = unique_network();
        let grief = channel("grief");
        let a = start(&network).await;
        let b = start(&network).await;
        let mut a_events = a.events();
        let mut b_events = b.events();
        a.join(grief.clone()).await.expect("a joins");
        let other = b.join(grief.clone()).await.expect("b joins");
        b.dial(address(&a).await).await.expect("b dials a");
        wait_channel_peers(&a, &mut a_events, &grief, 1).await;
        wait_channel_peers(&b, &mut b_events, &grief, 1).await;
        a.publish(grief.clone(), "some days are heavy")
            .await
            .expect("a publishes");
        let theirs = b
            .publish(grief.clone(), "I know those days")
            .await
            .expect("b publishes");
        post_event(&mut a_events, "b's post at a", theirs.id).await;
        a.block(BlockEntry::new(BlockTarget::Persona(other.key), "test"))
            .await
            .expect("a blocks");
        let moderator = Keypair::generate(&mut rand::rng()).public();
        a.follow(moderator, Scope::All).await.expect("a follows");
        a.rotate_persona(grief.clone()).await.expect("a rotates");

        let held: Vec<PathBuf> = open_files()
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        assert!(
            !held.is_empty(),
            "no open store file found: the check would prove nothing"
        );
        for file in &held {
            let fs = filesystem_of(file);
            assert!(
                fs == "tmpfs" || fs == "ramfs",
                "{} is on a {fs} file system, not in memory",
                file.display()
            );
        }
        println!("in-memory child: stores held in memory at {held:?}");
        a.shutdown().await.expect("a stops");
        b.shutdown().await.expect("b stops");
        held
    });
    // Still inside the runtime's lifetime: the files must be gone as soon as
    // `shutdown` returned, not only once the runtime is dropped.
    for file in &store_files {
        assert!(
            !file.exists(),
            "{} is still there after shutdown",
            file.display()
        );
        if let Some(dir) = file.parent() {
            assert!(
                !dir.exists(),
                "{} is still there after shutdown",
                dir.display()
            );
        }
    }
    drop(runtime);
    println!("in-memory child: done");
}

/// The regular files this process holds open.
#[cfg(target_os = "linux")]
fn open_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd is readable") {
        let Ok(entry) = entry else { continue };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if target.is_absolute() && std::fs::metadata(&target).is_ok_and(|m| m.is_file()) {
            files.push(target);
        }
    }
    files.sort();
    files.dedup();
    files
}

/// The file system type of the mount that holds `path`.
#[cfg(target_os = "linux")]
fn filesystem_of(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("/proc/self/mounts");
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _source = fields.next()?;
            let point = fields.next()?.replace("\\040", " ");
            let fs = fields.next()?;
            path.starts_with(&point)
                .then(|| (point.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_publishes_shares_flushes_and_every_post_is_kept() {
    init_tracing();
    let network = unique_network();
    let grief = channel("grief");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let node = on_disk(scratch.path(), &network)
        .metrics("127.0.0.1:0".parse().expect("a valid address"))
        .start()
        .await
        .expect("node starts");
    node.join(grief.clone()).await.expect("joins");
    let endpoint = node.metrics_addr().expect("the node serves metrics");
    let flushes = || async {
        hearth_node::metrics::exposition::value(
            &hearth_tests::scrape(endpoint).await,
            "hearth_store_flushes_total",
            &[],
        )
        .unwrap_or(0.0)
    };
    // Every publish answers only once its post is durable; a burst of
    // them shares flushes (group commit) instead of taking one each.
    const BURST: usize = 100;
    let before = flushes().await;
    let published = futures::future::join_all(
        (0..BURST).map(|i| node.publish(grief.clone(), format!("a night like this, {i}"))),
    )
    .await;
    let mut ids: Vec<_> = published
        .into_iter()
        .map(|p| p.expect("published").id)
        .collect();
    let flushed = flushes().await - before;
    assert!(
        flushed >= 1.0 && flushed < BURST as f64,
        "{flushed} flushes for {BURST} publishes"
    );
    node.shutdown().await.expect("stops");

    let node = on_disk(scratch.path(), &network)
        .start()
        .await
        .expect("starts again");
    let kept = node
        .history(
            grief.clone(),
            HistoryQuery {
                limit: 2 * BURST,
                ..HistoryQuery::default()
            },
        )
        .await
        .expect("history");
    let mut kept: Vec<_> = kept.iter().map(|r| r.id).collect();
    ids.sort();
    kept.sort();
    assert_eq!(kept, ids, "every published post is kept");
    node.shutdown().await.expect("stops again");
}
