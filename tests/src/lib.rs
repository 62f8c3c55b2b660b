//! The shared harness of hearth's multi-node tests: real nodes on real
//! transports on loopback, each test in its own network id so parallel tests
//! never see each other, and waits that end on an event or a deadline —
//! never on a sleep.
//!
//! Tests that need real hosts, NATs or partitions build them with
//! [`netlab`] (Linux network namespaces, root only). [`sizing`] measures
//! what a `hearth bootstrap` process needs for many connections (the
//! `sizing` program).

use std::future::Future;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_node::{Event, EventStream, Multiaddr, Node, NodeBuilder, NodeHandle};
use hearth_protocol::{ChannelName, NetworkId};
use rand::RngExt;

/// How long a test waits for something that should happen within a second
/// or two on loopback. Generous, because CI machines are slow and busy.
pub const DEADLINE: Duration = Duration::from_secs(30);

#[cfg(target_os = "linux")]
pub mod netlab;
#[cfg(target_os = "linux")]
pub mod sizing;

/// A network id no other test uses.
pub fn unique_network() -> NetworkId {
    let n: u64 = rand::rng().random();
    NetworkId::parse(&format!("test-{n:016x}")).expect("a valid network id")
}

/// A channel name from a literal.
pub fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).expect("a valid channel name")
}

/// A builder for a test node: in memory, TCP on 127.0.0.1 with an OS port,
/// no mDNS, in `network`.
pub fn test_node(network: &NetworkId) -> NodeBuilder {
    Node::builder()
        .in_memory()
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("a valid address"))
        .mdns(false)
        .network(network.clone())
}

/// Starts a test node.
pub async fn start(network: &NetworkId) -> NodeHandle {
    test_node(network).start().await.expect("node starts")
}

/// The node's first full listen address (with `/p2p/`).
pub async fn address(node: &NodeHandle) -> Multiaddr {
    node.listen_addrs()
        .await
        .expect("node answers")
        .into_iter()
        .next()
        .expect("node listens")
}

/// Waits for the first event for which `pick` returns `Some`, failing the
/// test with `what` if the deadline passes or the node stops.
pub async fn wait_for<T>(
    events: &mut EventStream,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(event) = events.next().await {
            if let Some(found) = pick(&event) {
                return Some(found);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(found)) => found,
        Ok(None) => panic!("node stopped while waiting for {what}"),
        Err(_) => panic!("no {what} within {DEADLINE:?}"),
    }
}

/// Waits until `check` holds, re-checking after every event of `events`.
pub async fn wait_until<F, Fut>(events: &mut EventStream, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let done = tokio::time::timeout(DEADLINE, async {
        loop {
            if check().await {
                return true;
            }
            if events.next().await.is_none() {
                return false;
            }
        }
    })
    .await;
    assert!(
        done == Ok(true),
        "{what} did not happen within {DEADLINE:?}"
    );
}

/// Waits until `node` counts at least `peers` peers in `channel`.
pub async fn wait_channel_peers(
    node: &NodeHandle,
    events: &mut EventStream,
    channel: &ChannelName,
    peers: usize,
) {
    wait_until(events, &format!("{peers} peers in {channel}"), || async {
        node.channels()
            .await
            .map(|cs| cs.iter().any(|c| &c.channel == channel && c.peers >= peers))
            .unwrap_or(false)
    })
    .await;
}

/// Installs a tracing subscriber once, filtered by `RUST_LOG`, so a failing
/// test can be rerun with logs.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// The wall clock in ms since the Unix epoch, as a node reads it: for
/// signing posts by hand with a current `created_ms`.
pub fn now_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since.as_millis()).expect("a sane clock")
}

/// Whether the tests run under CI: the environment variable `CI` is `true`
/// (or `1`), as CI services set it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// For a test that cannot run here because of `why` (no root, a missing
/// tool): under CI it fails, so CI never passes a test that did not run;
/// elsewhere it prints a `SKIPPED` line and the caller returns.
pub fn skip_or_fail(test: &str, why: &str) {
    assert!(
        !in_ci(),
        "{test} must run under CI (CI=true), but cannot: {why}"
    );
    // Straight to stderr, past the test harness's output capture, so the
    // skip is visible in a passing run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why} (under CI=true this fails)"
    );
}
