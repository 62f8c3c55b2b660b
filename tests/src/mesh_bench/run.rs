//! One cell of the benchmark: N nodes of one mode, the topology, the
//! mesh, the publishing and the counting, down to a [`CellReport`].

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use hearth_node::metrics::exposition::MetricFamily;
use hearth_protocol::NetworkId;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::delay::DelayProxy;
use super::hearth::{HearthNode, bench_channel};
use super::process::{ProcessCounters, ProcessNode};
use super::raw::{RawNode, Settings};
use super::report::CellReport;
use super::stats::Summary;
use super::{Cell, Mode, Transport};

/// How long the mesh may take to form before publishing starts anyway
/// (the report then says it did not form).
const MESH_DEADLINE: Duration = Duration::from_secs(20);

/// How long after the last publish the cell waits for posts still on
/// their way.
const DRAIN_DEADLINE: Duration = Duration::from_secs(15);

/// The first word of every benchmark payload.
const MAGIC: &str = "mb";

/// splitmix64: the seeded choices of a cell (topology, publishers), the
/// same for every mode so the modes are compared on the same graph.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n).unwrap_or(u64::MAX).max(1);
        usize::try_from(self.next() % n64).unwrap_or(0)
    }
}

/// The links of a cell: node `i` dials `dials` distinct earlier nodes
/// (all of them when fewer exist), chosen by `seed`. Returns `(from, to)`
/// pairs.
pub fn topology(nodes: usize, dials: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut mix = Mix(seed);
    let mut links = Vec::new();
    for i in 1..nodes {
        let mut earlier: Vec<usize> = (0..i).collect();
        for _ in 0..dials.min(i) {
            let pick = earlier.swap_remove(mix.below(earlier.len()));
            links.push((i, pick));
        }
    }
    links
}

/// Which nodes publish: `share` of them (at least one), chosen by `seed`.
pub fn publishers(nodes: usize, share: f64, seed: u64) -> Vec<usize> {
    let mut mix = Mix(seed ^ 0x5eed);
    let mut order: Vec<usize> = (0..nodes).collect();
    for i in (1..nodes).rev() {
        order.swap(i, mix.below(i + 1));
    }
    let wanted = (nodes as f64 * share).ceil();
    // `wanted` is a whole number in 0..=nodes.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let count = (wanted.max(1.0) as usize).min(nodes);
    order.truncate(count);
    order
}

/// The payload of post `seq`: `mb <seq> <sent ns> ` and padding to `size`
/// bytes. The send time is on the recorder's monotonic clock, so every
/// receiver in the process computes the latency from the same origin.
pub fn payload(seq: usize, sent_ns: u64, size: usize) -> String {
    let mut text = format!("{MAGIC} {seq} {sent_ns} ");
    while text.len() < size {
        text.push('x');
    }
    text
}

/// The sequence number and send time of a benchmark payload.
pub fn parse_payload(data: &[u8]) -> Option<(usize, u64)> {
    let text = std::str::from_utf8(data.get(..data.len().min(64))?).ok()?;
    let mut words = text.split(' ');
    if words.next()? != MAGIC {
        return None;
    }
    let seq = words.next()?.parse().ok()?;
    let sent = words.next()?.parse().ok()?;
    Some((seq, sent))
}

/// What every node of a cell received: the first arrival of each post at
/// each node, as a latency from its send time.
pub struct Recorder {
    publisher_of: Vec<usize>,
    nodes: usize,
    arrivals: Mutex<Arrivals>,
    delivered: watch::Sender<u64>,
    /// In a node process of `--processes`: where arrivals go instead (to
    /// the parent, which records them).
    forward: Option<mpsc::UnboundedSender<(usize, u64)>>,
}

struct Arrivals {
    /// Per post, per node: the latency in ns of its first arrival.
    latency_ns: Vec<Vec<Option<u64>>>,
    /// Posts shown (or handed to the application) again at a node that
    /// had them already.
    repeats: u64,
}

impl Recorder {
    /// A recorder for `publisher_of.len()` posts, post `s` published by
    /// node `publisher_of[s]`, among `nodes` nodes.
    pub fn new(nodes: usize, publisher_of: Vec<usize>) -> Recorder {
        let posts = publisher_of.len();
        Recorder {
            publisher_of,
            nodes,
            arrivals: Mutex::new(Arrivals {
                latency_ns: vec![vec![None; nodes]; posts],
                repeats: 0,
            }),
            delivered: watch::channel(0).0,
            forward: None,
        }
    }

    /// A recorder for a node process: every arrival of a benchmark post
    /// (sequence number, latency in ns) goes to `forward`.
    pub fn forwarding(forward: mpsc::UnboundedSender<(usize, u64)>) -> Recorder {
        let mut recorder = Recorder::new(0, Vec::new());
        recorder.forward = Some(forward);
        recorder
    }

    /// The system's monotonic clock in ns (`CLOCK_MONOTONIC`): one origin
    /// for every process on the machine, so a node process computes the
    /// latency of a post another process sent.
    pub fn now_ns(&self) -> u64 {
        monotonic_ns()
    }

    /// Node `node` received (or showed) `data`. Anything that is not a
    /// benchmark payload, and a publisher's own post, is ignored.
    pub fn record(&self, node: usize, data: &[u8]) {
        let now = self.now_ns();
        let Some((seq, sent)) = parse_payload(data) else {
            return;
        };
        if let Some(forward) = &self.forward {
            let _ = forward.send((seq, now.saturating_sub(sent)));
            return;
        }
        self.arrive(node, seq, now.saturating_sub(sent));
    }

    /// Post `seq` reached node `node` after `latency_ns`; a publisher's
    /// own post and repeats count as no arrival.
    pub fn arrive(&self, node: usize, seq: usize, latency_ns: u64) {
        if self.publisher_of.get(seq) == Some(&node) || node >= self.nodes {
            return;
        }
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(slot) = arrivals
            .latency_ns
            .get_mut(seq)
            .and_then(|p| p.get_mut(node))
        else {
            return;
        };
        if slot.is_some() {
            arrivals.repeats += 1;
            return;
        }
        *slot = Some(latency_ns);
        drop(arrivals);
        self.delivered.send_modify(|d| *d += 1);
    }

    /// Waits until `expected` arrivals were recorded or `deadline` passed;
    /// returns the count.
    pub async fn wait_delivered(&self, expected: u64, deadline: Duration) -> u64 {
        let mut delivered = self.delivered.subscribe();
        let _ = tokio::time::timeout(deadline, delivered.wait_for(|d| *d >= expected)).await;
        *delivered.borrow()
    }

    /// Per-arrival latencies in ms, the time each post took to reach every
    /// other node (for the posts in `published` that did), and the repeats.
    fn latencies(&self, published: &[bool]) -> (Vec<f64>, Vec<f64>, u64) {
        let arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        let mut each = Vec::new();
        let mut reach_all = Vec::new();
        for (seq, post) in arrivals.latency_ns.iter().enumerate() {
            if !published.get(seq).copied().unwrap_or(false) {
                continue;
            }
            let publisher = self.publisher_of.get(seq).copied();
            let mut all = true;
            let mut slowest = 0u64;
            for (node, latency) in post.iter().enumerate() {
                if Some(node) == publisher {
                    continue;
                }
                match latency {
                    Some(ns) => {
                        each.push(*ns as f64 / 1e6);
                        slowest = slowest.max(*ns);
                    }
                    None => all = false,
                }
            }
            if all {
                reach_all.push(slowest as f64 / 1e6);
            }
        }
        (each, reach_all, arrivals.repeats)
    }
}

/// `CLOCK_MONOTONIC` in ns.
pub fn monotonic_ns() -> u64 {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        u64::try_from(t.tv_sec())
            .unwrap_or(0)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(t.tv_nsec()).unwrap_or(0))
    })
}

/// The gossipsub and bandwidth counters of one node that the report
/// needs, summed over topics, protocols and directions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Bytes received on every connection (each byte on the wire counted
    /// once, at its receiver).
    pub bytes_in: f64,
    /// Gossip messages received, duplicates included.
    pub received: f64,
    /// Gossip messages received, duplicates filtered out.
    pub unique: f64,
}

impl Counters {
    /// Reads the counters from a node's metrics, whatever prefix they
    /// were registered under.
    pub fn from_metrics(families: &[MetricFamily]) -> Counters {
        let mut counters = Counters::default();
        for sample in families.iter().flat_map(|f| &f.samples) {
            let name = sample.name.as_str();
            if name.ends_with("bandwidth_bytes_total")
                && sample
                    .labels
                    .iter()
                    .any(|(k, v)| k == "direction" && v.eq_ignore_ascii_case("inbound"))
            {
                counters.bytes_in += sample.value;
            } else if name.ends_with("topic_msg_recv_counts_unfiltered_total") {
                counters.received += sample.value;
            } else if name.ends_with("topic_msg_recv_counts_total") {
                counters.unique += sample.value;
            }
        }
        counters
    }

    fn minus(self, before: Counters) -> Counters {
        Counters {
            bytes_in: self.bytes_in - before.bytes_in,
            received: self.received - before.received,
            unique: self.unique - before.unique,
        }
    }
}

/// The network id of the cell with `seed`.
pub fn network(seed: u64) -> anyhow::Result<NetworkId> {
    NetworkId::parse(&format!("bench-{seed:x}")).map_err(|e| anyhow!("network id: {e}"))
}

/// The nodes of a cell, of either kind, in this process or each in its
/// own.
#[derive(Clone)]
enum Net {
    Raw(Arc<Vec<RawNode>>),
    Hearth(Arc<Vec<HearthNode>>),
    Processes(Arc<Vec<ProcessNode>>),
}

impl Net {
    async fn start(cell: &Cell, recorder: &Arc<Recorder>) -> anyhow::Result<Net> {
        let mut failures = 0;
        let network = network(cell.seed)?;
        if cell.processes {
            let program = std::env::current_exe().context("this program's path")?;
            let mut nodes = Vec::with_capacity(cell.nodes);
            for i in 0..cell.nodes {
                nodes.push(
                    ProcessNode::start(
                        &program,
                        cell.mode,
                        cell.transport,
                        i,
                        cell.seed,
                        recorder.clone(),
                    )
                    .await?,
                );
            }
            return Ok(Net::Processes(Arc::new(nodes)));
        }
        match cell.mode {
            Mode::RawDefault | Mode::RawHearth => {
                let settings = if cell.mode == Mode::RawDefault {
                    Settings::Default
                } else {
                    Settings::Hearth
                };
                let mut nodes = Vec::with_capacity(cell.nodes);
                for i in 0..cell.nodes {
                    nodes
                        .push(RawNode::start(i, settings, cell.transport, recorder.clone()).await?);
                }
                Ok(Net::Raw(Arc::new(nodes)))
            }
            Mode::Hearth => {
                let mut nodes = Vec::with_capacity(cell.nodes);
                for i in 0..cell.nodes {
                    match HearthNode::start(i, &network, cell.transport, recorder.clone()).await {
                        Ok(node) => nodes.push(node),
                        Err(e) if failures < 3 => {
                            failures += 1;
                            eprintln!(
                                "mesh-bench: hearth node {i} did not start ({e:#}); retrying"
                            );
                        }
                        Err(e) => return Err(e),
                    }
                }
                if nodes.len() < cell.nodes {
                    bail!(
                        "only {} of {} hearth nodes started",
                        nodes.len(),
                        cell.nodes
                    );
                }
                Ok(Net::Hearth(Arc::new(nodes)))
            }
        }
    }

    fn listen(&self, i: usize) -> Option<(Multiaddr, PeerId)> {
        match self {
            Net::Raw(nodes) => nodes.get(i).map(|n| (n.listen.clone(), n.peer_id)),
            Net::Hearth(nodes) => nodes.get(i).map(|n| (n.listen.clone(), n.handle.peer_id())),
            Net::Processes(nodes) => nodes.get(i).map(|n| (n.listen.clone(), n.peer_id)),
        }
    }

    fn mesh_n_low(&self, mode: Mode) -> usize {
        match mode {
            Mode::RawDefault => RawNode::mesh_n_low(Settings::Default),
            Mode::RawHearth | Mode::Hearth => RawNode::mesh_n_low(Settings::Hearth),
        }
    }

    async fn dial(&self, i: usize, address: Multiaddr) -> anyhow::Result<()> {
        match self {
            Net::Raw(nodes) => nodes.get(i).context("node")?.dial(address).await,
            Net::Hearth(nodes) => Ok(nodes.get(i).context("node")?.handle.dial(address).await?),
            Net::Processes(nodes) => nodes.get(i).context("node")?.dial(&address).await,
        }
    }

    /// Publishes post `seq` from node `i`; a node process says how long
    /// its publish call took (else the caller times it).
    async fn publish(
        &self,
        i: usize,
        seq: usize,
        payload: String,
    ) -> anyhow::Result<Option<Duration>> {
        match self {
            Net::Raw(nodes) => {
                let node = nodes.get(i).context("node")?;
                node.publish(payload.into_bytes()).await.map(|()| None)
            }
            Net::Hearth(nodes) => {
                let node = nodes.get(i).context("node")?;
                node.handle.publish(bench_channel()?, payload).await?;
                Ok(None)
            }
            Net::Processes(nodes) => {
                let node = nodes.get(i).context("node")?;
                node.publish(seq, &payload).await.map(Some)
            }
        }
    }

    async fn mesh_peers(&self, i: usize) -> anyhow::Result<usize> {
        match self {
            Net::Raw(nodes) => nodes.get(i).context("node")?.mesh_peers().await,
            Net::Hearth(nodes) => nodes.get(i).context("node")?.channel_peers().await,
            Net::Processes(nodes) => nodes.get(i).context("node")?.mesh_peers().await,
        }
    }

    /// The counters of node `i`, with its process's CPU time and peak
    /// memory when it has a process of its own (else zero).
    async fn counters(&self, i: usize) -> anyhow::Result<ProcessCounters> {
        let families = match self {
            Net::Raw(nodes) => nodes.get(i).context("node")?.metrics()?,
            Net::Hearth(nodes) => nodes.get(i).context("node")?.metrics().await?,
            Net::Processes(nodes) => return nodes.get(i).context("node")?.counters().await,
        };
        Ok(ProcessCounters {
            counters: Counters::from_metrics(&families),
            ..ProcessCounters::default()
        })
    }

    /// Every node's counters, summed.
    async fn all_counters(&self, nodes: usize) -> anyhow::Result<ProcessCounters> {
        let mut total = ProcessCounters::default();
        for i in 0..nodes {
            let c = self.counters(i).await?;
            total.counters.bytes_in += c.counters.bytes_in;
            total.counters.received += c.counters.received;
            total.counters.unique += c.counters.unique;
            total.cpu_s += c.cpu_s;
            total.peak_rss += c.peak_rss;
        }
        Ok(total)
    }

    async fn shutdown(self) {
        match &self {
            Net::Hearth(nodes) => {
                for node in nodes.iter() {
                    let _ = node.handle.shutdown().await;
                }
            }
            Net::Processes(nodes) => {
                for node in nodes.iter() {
                    node.quit().await;
                }
            }
            Net::Raw(_) => {}
        }
    }
}

/// The address to dial node `to` at: its listen address, or its delaying
/// proxy's, with its peer id.
fn dial_address(
    listen: &Multiaddr,
    peer: PeerId,
    proxy: Option<&DelayProxy>,
) -> anyhow::Result<Multiaddr> {
    let mut address = match proxy {
        Some(proxy) => Multiaddr::empty()
            .with(Protocol::Ip4(std::net::Ipv4Addr::LOCALHOST))
            .with(Protocol::Tcp(proxy.addr().port())),
        None => listen
            .iter()
            .filter(|p| !matches!(p, Protocol::P2p(_)))
            .collect(),
    };
    address.push(Protocol::P2p(peer));
    Ok(address)
}

/// The TCP socket address of a `/ip4/…/tcp/…` listen address.
fn tcp_socket(listen: &Multiaddr) -> Option<std::net::SocketAddr> {
    let mut ip = None;
    let mut port = None;
    for protocol in listen.iter() {
        match protocol {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    Some(std::net::SocketAddr::new(ip?, port?))
}

/// CPU time of this process so far (user + system), in seconds.
pub fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            secs(usage.user_time()) + secs(usage.system_time())
        }
        Err(_) => f64::NAN,
    }
}

/// Runs one cell on the current runtime and reports it. Peak memory per
/// node is only meaningful when the cell is the only thing this process
/// ran (the benchmark runs each cell in a fresh process).
pub async fn run_cell(cell: &Cell) -> anyhow::Result<CellReport> {
    if cell.nodes < 2 || cell.posts == 0 || cell.rate <= 0.0 || !cell.rate.is_finite() {
        bail!("a cell needs at least 2 nodes, 1 post and a positive rate");
    }
    if cell.delay_ms > 0 && cell.transport == Transport::Quic {
        bail!("per-link delay is a TCP proxy: use --transport tcp with --delay-ms");
    }
    let pid = std::process::id();
    let memory_before = crate::sizing::procfs::memory(pid);
    let chosen = publishers(cell.nodes, cell.publisher_share, cell.seed);
    let publisher_of: Vec<usize> = (0..cell.posts)
        .map(|s| chosen.get(s % chosen.len()).copied().unwrap_or(0))
        .collect();
    let recorder = Arc::new(Recorder::new(cell.nodes, publisher_of.clone()));
    let net = Net::start(cell, &recorder).await?;

    // Links, through delaying proxies when asked.
    let mut proxies = Vec::new();
    let delay = Duration::from_millis(cell.delay_ms);
    for i in 0..cell.nodes {
        if cell.delay_ms == 0 {
            proxies.push(None);
            continue;
        }
        let (listen, _) = net.listen(i).context("node")?;
        let target = tcp_socket(&listen).context("a TCP listen address")?;
        proxies.push(Some(DelayProxy::start(target, delay).await?));
    }
    let links = topology(cell.nodes, cell.dials, cell.seed);
    let mut degree = vec![0usize; cell.nodes];
    let mesh_started = Instant::now();
    for &(from, to) in &links {
        let (listen, peer) = net.listen(to).context("node")?;
        let proxy = proxies.get(to).and_then(Option::as_ref);
        net.dial(from, dial_address(&listen, peer, proxy)?).await?;
        if let Some(d) = degree.get_mut(from) {
            *d += 1;
        }
        if let Some(d) = degree.get_mut(to) {
            *d += 1;
        }
    }

    // The mesh: every node with at least mesh_n_low mesh peers (or all
    // its links, when it has fewer).
    let n_low = net.mesh_n_low(cell.mode);
    let mut mesh_formed = false;
    while mesh_started.elapsed() < MESH_DEADLINE {
        let mut ready = true;
        for (i, d) in degree.iter().enumerate() {
            if net.mesh_peers(i).await? < n_low.min(*d) {
                ready = false;
                break;
            }
        }
        if ready {
            mesh_formed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mesh_ms = mesh_started.elapsed().as_secs_f64() * 1e3;

    // Publishing: post s at s/rate from the start, each from its own task
    // so a slow publish call does not delay the next post.
    let before = net.all_counters(cell.nodes).await?;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / cell.rate);
    let mut publishing = JoinSet::new();
    for (seq, from) in publisher_of.iter().copied().enumerate() {
        let at = started + interval.mul_f64(seq as f64);
        tokio::time::sleep_until(at.into()).await;
        let net = net.clone();
        let recorder = recorder.clone();
        let size = cell.size;
        publishing.spawn(async move {
            let text = payload(seq, recorder.now_ns(), size);
            let called = Instant::now();
            let result = net.publish(from, seq, text).await;
            let took = called.elapsed();
            (seq, result.map(|own| own.unwrap_or(took)))
        });
    }
    let mut published = vec![false; cell.posts];
    let mut publish_ms = Vec::with_capacity(cell.posts);
    let mut failures = 0usize;
    let mut first_failure = None;
    while let Some(done) = publishing.join_next().await {
        let (seq, result) = done.context("a publish task")?;
        match result {
            Ok(took) => {
                if let Some(p) = published.get_mut(seq) {
                    *p = true;
                }
                publish_ms.push(took.as_secs_f64() * 1e3);
            }
            Err(e) => {
                failures += 1;
                first_failure.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    if let Some(e) = &first_failure {
        eprintln!("mesh-bench: {failures} publishes failed, the first: {e}");
    }
    let ok = published.iter().filter(|p| **p).count();
    let receivers = u64::try_from(cell.nodes - 1).unwrap_or(u64::MAX);
    let expected = u64::try_from(ok).unwrap_or(u64::MAX) * receivers;
    let delivered = recorder.wait_delivered(expected, DRAIN_DEADLINE).await;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let after = net.all_counters(cell.nodes).await?;
    let memory_after = crate::sizing::procfs::memory(pid);
    net.shutdown().await;
    drop(proxies);

    let peak_rss_mib_per_node = match (memory_before, memory_after) {
        (Some(b), Some(a)) => {
            Some(a.peak.saturating_sub(b.rss) as f64 / cell.nodes as f64 / (1024.0 * 1024.0))
        }
        _ => None,
    };
    let counted = after.counters.minus(before.counters);
    // Node processes account their own CPU time and memory.
    let (cpu, peak_rss_mib_per_node) = if cell.processes {
        (
            after.cpu_s - before.cpu_s,
            Some(after.peak_rss / cell.nodes as f64 / (1024.0 * 1024.0)),
        )
    } else {
        (cpu, peak_rss_mib_per_node)
    };
    let (mut each, mut reach_all, repeats) = recorder.latencies(&published);
    let per_post_node = (ok * cell.nodes).max(1) as f64;
    Ok(CellReport {
        cell: cell.clone(),
        publishers: chosen.len(),
        published: ok,
        publish_failures: failures,
        expected,
        delivered,
        delivery_ratio: if expected == 0 {
            0.0
        } else {
            delivered as f64 / expected as f64
        },
        latency_ms: Summary::of(&mut each),
        posts_reaching_all: reach_all.len(),
        reach_all_ms: Summary::of(&mut reach_all),
        repeats_shown: repeats,
        duplicates_per_post_per_node: (counted.received - counted.unique) / per_post_node,
        wire_bytes_per_post_per_node: counted.bytes_in / per_post_node,
        wire_bytes_per_payload_byte: counted.bytes_in / per_post_node / cell.size.max(1) as f64,
        cpu_seconds: cpu,
        cpu_us_per_delivered_post_per_node: cpu * 1e6 / delivered.max(1) as f64,
        peak_rss_mib_per_node,
        mesh_formed,
        mesh_ms,
        publish_call_ms: Summary::of(&mut publish_ms),
        wall_seconds: wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_have_their_size() {
        let text = payload(42, 123_456_789, 300);
        assert_eq!(text.len(), 300);
        assert_eq!(parse_payload(text.as_bytes()), Some((42, 123_456_789)));
        assert_eq!(parse_payload(b"hello there"), None);
    }

    #[test]
    fn every_node_dials_distinct_earlier_nodes() {
        let links = topology(20, 3, 7);
        for i in 1..20 {
            let mut to: Vec<usize> = links.iter().filter(|l| l.0 == i).map(|l| l.1).collect();
            assert_eq!(to.len(), i.min(3));
            assert!(to.iter().all(|t| *t < i));
            to.sort_unstable();
            to.dedup();
            assert_eq!(to.len(), i.min(3));
        }
        assert_eq!(links, topology(20, 3, 7), "the same seed, the same graph");
    }

    #[test]
    fn thirty_percent_publish() {
        let p = publishers(10, 0.3, 1);
        assert_eq!(p.len(), 3);
        assert_eq!(publishers(2, 0.3, 1).len(), 1);
    }
}
