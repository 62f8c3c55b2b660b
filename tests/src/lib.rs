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
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hearth_node::metrics::exposition;
use hearth_node::{
    Event, EventStream, Multiaddr, Node, NodeBuilder, NodeHandle, NodeLimits, RelayServerLimits,
};
use hearth_protocol::{ChannelName, NetworkId};
use rand::RngExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// How long a test waits for something that should happen within a second
/// or two on loopback. Generous, because CI machines are slow and busy.
pub const DEADLINE: Duration = Duration::from_secs(30);

#[cfg(target_os = "linux")]
pub mod attack_lab;
#[cfg(target_os = "linux")]
pub mod mesh_bench;
#[cfg(target_os = "linux")]
pub mod netlab;
pub mod raw;
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
/// no mDNS, in `network`, asking no persona stamp. It may announce loopback addresses once an
/// AutoNAT server confirmed them (`announce_private`): on loopback nothing
/// else is reachable.
pub fn test_node(network: &NetworkId) -> NodeBuilder {
    Node::builder()
        .in_memory()
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("a valid address"))
        .mdns(false)
        .network(network.clone())
        .announce_private(true)
        // The raw libp2p peers of the tests sign with stamp 0; the stamps
        // themselves are tested in `tests/stamps.rs`.
        .persona_stamp_bits(0)
}

/// The node's default limits with the test nodes' persona-stamp level
/// (none): for tests that set limits of their own with
/// [`NodeBuilder::limits`], which replaces them all.
pub fn test_limits() -> NodeLimits {
    NodeLimits {
        persona_stamp_bits: 0,
        ..NodeLimits::default()
    }
}

/// A builder for a test bootstrap node, like an operator's: a DHT server,
/// an AutoNAT server and a relay server (libp2p's default limits), whose
/// loopback listen address counts as confirmed; no relay client.
pub fn bootstrap_node(network: &NetworkId) -> NodeBuilder {
    test_node(network)
        .dht_server(true)
        .autonat_server(true)
        .relay_server(Some(RelayServerLimits::default()))
        .relay_client(false)
        .announce_listen_addrs(true)
}

/// `GET /metrics` from a node's metrics endpoint, parsed with hearth's
/// OpenMetrics reader.
pub async fn scrape(address: SocketAddr) -> Vec<exposition::MetricFamily> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("the metrics endpoint accepts");
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("the response is read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    exposition::parse(body).unwrap_or_else(|e| panic!("{e}\n{body}"))
}

/// Every event of one node, kept with the moment it arrived, from the
/// moment [`EventLog::record`] was called: for tests that look at the
/// order of several things (a relayed connection, a post, a hole punch)
/// without a wait for one consuming the events of another.
#[derive(Clone)]
pub struct EventLog {
    events: Arc<Mutex<Vec<(Instant, Event)>>>,
    changed: Arc<Notify>,
}

impl EventLog {
    /// Starts recording `stream` on a task of the current runtime; it
    /// ends when the node stops.
    pub fn record(mut stream: EventStream) -> EventLog {
        let log = EventLog {
            events: Arc::new(Mutex::new(Vec::new())),
            changed: Arc::new(Notify::new()),
        };
        let writer = log.clone();
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                writer
                    .events
                    .lock()
                    .expect("the log lock")
                    .push((Instant::now(), event));
                writer.changed.notify_waiters();
            }
        });
        log
    }

    /// The events so far.
    pub fn events(&self) -> Vec<(Instant, Event)> {
        self.events.lock().expect("the log lock").clone()
    }

    /// The first event so far, or the first to come, for which `pick`
    /// returns `Some`, with the moment it arrived; fails the test with
    /// `what` after `deadline`.
    pub async fn wait_within<T>(
        &self,
        deadline: Duration,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> (Instant, T) {
        let found = tokio::time::timeout(deadline, async {
            let mut seen = 0;
            loop {
                let changed = self.changed.notified();
                {
                    let events = self.events.lock().expect("the log lock");
                    for (at, event) in &events[seen..] {
                        if let Some(found) = pick(event) {
                            return (*at, found);
                        }
                    }
                    seen = events.len();
                }
                changed.await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no {what} within {deadline:?}"))
    }

    /// [`EventLog::wait_within`] with [`DEADLINE`].
    pub async fn wait_for<T>(
        &self,
        what: &str,
        pick: impl FnMut(&Event) -> Option<T>,
    ) -> (Instant, T) {
        self.wait_within(DEADLINE, what, pick).await
    }
}

/// A node running on its own thread inside a network namespace of a lab,
/// with every event it emitted from the start. Dropping it stops that
/// thread's runtime (and the node with it) and joins the thread.
#[cfg(target_os = "linux")]
pub struct LabNode {
    /// The node.
    pub handle: NodeHandle,
    /// Its events since it started.
    pub log: EventLog,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<netlab::NsThread<()>>,
}

#[cfg(target_os = "linux")]
impl LabNode {
    /// Starts `builder`'s node on a runtime inside `namespace`, so every
    /// socket it opens is there.
    pub async fn start(namespace: &netlab::Namespace, builder: NodeBuilder) -> LabNode {
        use tokio::sync::oneshot;
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = namespace
            .spawn_runtime(move || async move {
                match builder.start().await {
                    Ok(handle) => {
                        let events = handle.events();
                        let _ = ready_tx.send(Ok((handle.clone(), events)));
                        let _ = stop_rx.await;
                        let _ = handle.shutdown().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                    }
                }
            })
            .expect("a runtime in the namespace");
        let name = namespace.name();
        let (handle, events) = match tokio::time::timeout(DEADLINE, ready_rx).await {
            Ok(Ok(Ok(started))) => started,
            Ok(Ok(Err(e))) => panic!("node in {name} did not start: {e}"),
            Ok(Err(_)) => panic!("the thread of the node in {name} ended"),
            Err(_) => panic!("node in {name} not started within {DEADLINE:?}"),
        };
        LabNode {
            handle,
            log: EventLog::record(events),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for LabNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic there has failed the test already; this must not
            // panic again.
            let _ = thread.join_result();
        }
    }
}

/// Waits until `check` holds, asking again every 100 ms: for state that
/// shows in no event (metrics, for one), with the same deadline as
/// [`wait_for`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let done = tokio::time::timeout(DEADLINE, async {
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            every.tick().await;
            if check().await {
                return;
            }
        }
    })
    .await;
    assert!(done.is_ok(), "{what} did not happen within {DEADLINE:?}");
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
