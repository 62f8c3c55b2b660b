//! Sizing the operator's node: how much memory and CPU `hearth bootstrap`
//! needs for a number of connected people, measured on one machine.
//!
//! [`measure`] starts `hearth bootstrap` as its own process on loopback
//! (temporary data directory, metrics endpoint, limits raised for the
//! run), connects [`Options::connections`] lightweight client swarms to it
//! from this process, each with its own identity, and waits until the
//! node's `/metrics` counts them all. It then samples the node for a fixed
//! window while the clients ping it and each announces and looks up DHT
//! provider records; with [`Options::circuits`], pairs of clients reserve
//! a slot on the node's relay, open circuits through it, exchange bytes,
//! and the node is sampled again. Memory comes from the node's
//! `process_resident_memory_bytes` and from `/proc/<pid>/status`; CPU time
//! from `/proc/<pid>/stat`. It reports figures and asserts nothing about
//! them.
//!
//! Bounded throughout: every stage has a deadline, every client a fixed
//! amount of work; everything runs on 127.0.0.1; the node is killed when
//! the [`Bootstrap`] guard drops, on errors and panics too. Linux only
//! (`/proc`). The program is `src/bin/sizing.rs`; docs/performance.md
//! ("Sizing the bootstrap node") has the figures and how to run it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use libp2p::identity::Keypair;
use rand::RngExt;
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

mod bootstrap;
mod client;
mod echo;
pub mod procfs;
mod report;
mod scrape;

pub use bootstrap::{Bootstrap, BootstrapLimits, find_hearth};
pub use report::{json, markdown};

use client::{Plan, Report, Role, Stage, Target};

/// Why a measurement could not be made.
#[derive(Debug, Error)]
pub enum SizingError {
    /// No `hearth` binary next to this one.
    #[error(
        "no hearth binary in {0:?}: build it first with `cargo build --release -p hearth \
         -p hearth-tests` (or give --hearth PATH)"
    )]
    HearthMissing(Vec<PathBuf>),
    /// The binary could not be started.
    #[error("cannot start {0}: {1}")]
    Spawn(PathBuf, std::io::Error),
    /// The node did not start, or stopped.
    #[error("the bootstrap node {0}")]
    Bootstrap(String),
    /// The metrics endpoint did not answer or answered nonsense.
    #[error("metrics: {0}")]
    Metrics(String),
    /// The options make no sense.
    #[error("invalid options: {0}")]
    Options(String),
    /// `/proc` did not tell.
    #[error("cannot read /proc for the bootstrap process: {0}")]
    Proc(&'static str),
    /// Anything else from the system.
    #[error(transparent)]
    Io(std::io::Error),
}

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The `hearth` binary.
    pub hearth: PathBuf,
    /// Client connections to open.
    pub connections: usize,
    /// Distinct provider records the clients announce (and look up).
    pub providers: usize,
    /// Pairs of clients that open a circuit through the node's relay
    /// (0: none).
    pub circuits: usize,
    /// How long the node is sampled while the clients work.
    pub window: Duration,
    /// Tasks the clients are spread over.
    pub tasks: usize,
    /// Dials in progress at once.
    pub dials_in_flight: usize,
}

impl Options {
    /// `connections` clients, one provider record each, no circuits, a
    /// 20 s window.
    pub fn new(hearth: PathBuf, connections: usize) -> Self {
        Self {
            hearth,
            connections,
            providers: connections,
            circuits: 0,
            window: Duration::from_secs(20),
            tasks: 4,
            dials_in_flight: 64,
        }
    }

    fn check(&self) -> Result<(), SizingError> {
        let fail = |why: &str| Err(SizingError::Options(why.to_owned()));
        if self.connections == 0 || self.connections > 100_000 {
            return fail("connections must be 1 to 100000");
        }
        if self.providers > 1_000_000 {
            return fail("providers must be at most 1000000");
        }
        if self.circuits.saturating_mul(2) > self.connections {
            return fail("each circuit takes two of the connections: circuits ≤ connections / 2");
        }
        if self.window < Duration::from_secs(1) || self.window > Duration::from_secs(3600) {
            return fail("the window must be 1 s to 1 h");
        }
        if self.tasks == 0 || self.dials_in_flight == 0 {
            return fail("tasks and dials in flight must be at least 1");
        }
        Ok(())
    }
}

/// The node's memory at one moment, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// `process_resident_memory_bytes` from its `/metrics`.
    pub metrics_rss: u64,
    /// `VmRSS` from `/proc/<pid>/status`.
    pub rss: u64,
    /// `VmHWM` (peak resident) from `/proc/<pid>/status`.
    pub peak: u64,
}

/// A sampling window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Window {
    /// Its length in seconds.
    pub seconds: f64,
    /// CPU time the node used in it, in ms.
    pub cpu_ms: f64,
    /// That CPU time as a share of one core, in percent.
    pub cpu_percent: f64,
    /// The lowest and highest `process_resident_memory_bytes` sampled
    /// (once a second).
    pub metrics_rss_range: (u64, u64),
    /// The memory at its end.
    pub end: Memory,
    /// Pings to the node answered in the window.
    pub pings_ok: usize,
    /// Pings that failed in the window.
    pub pings_failed: usize,
}

/// The DHT work of the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dht {
    /// Provider records to put.
    pub records: usize,
    /// Announcements that reached the node.
    pub announced: usize,
    /// Announcements that failed.
    pub announce_failed: usize,
    /// Lookups that finished.
    pub lookups: usize,
    /// Lookups whose answer held the record's provider: the records the
    /// node held and gave out (the metrics do not expose the store).
    pub records_found: usize,
}

/// The circuits part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Circuits {
    /// Circuits asked for.
    pub requested: usize,
    /// Why none were measured (`None`: measured, or none asked for).
    pub unavailable: Option<String>,
    /// Reservations the relay accepted.
    pub reserved: usize,
    /// Circuits that carried an echo.
    pub established: usize,
    /// Reservations and circuits that failed, with the first reason.
    pub failed: usize,
    /// The first failure's reason.
    pub first_error: Option<String>,
    /// Echoes answered during the window.
    pub echoes_ok: usize,
    /// Echoes that failed during the window.
    pub echoes_failed: usize,
    /// Bytes the echoes carried through the relay (both ways).
    pub bytes: usize,
    /// The window measured with the circuits open.
    pub window: Option<Window>,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurement {
    /// Connections asked for.
    pub connections: usize,
    /// Clients that connected and identified the node.
    pub connected: usize,
    /// Clients that could not connect.
    pub connect_failed: usize,
    /// Why the first of them could not.
    pub first_connect_error: Option<String>,
    /// Connections set up in time that closed again during the run.
    pub lost: usize,
    /// Why the first of them closed.
    pub first_lost_cause: Option<String>,
    /// Connection attempts that failed and were tried again (within three
    /// attempts per client): a failed dial, or a connection that closed
    /// before identify finished.
    pub retried: usize,
    /// Why the first of them failed.
    pub first_retry_cause: Option<String>,
    /// `hearth_peers_connected` once every client was connected.
    pub seen_in_metrics: u64,
    /// `hearth_peers_connected` after the window.
    pub seen_after_window: u64,
    /// Seconds from the first dial until the node counted every client.
    pub connect_seconds: f64,
    /// CPU time the node used in that time, in ms.
    pub connect_cpu_ms: f64,
    /// The node's memory before any client connected.
    pub idle: Memory,
    /// The window with every client connected.
    pub window: Window,
    /// The clients' DHT work.
    pub dht: Dht,
    /// The circuits part.
    pub circuits: Circuits,
    /// Load averages (1, 5, 15 min) before the node started.
    pub load_before: Option<[f64; 3]>,
    /// Load averages after the last window.
    pub load_after: Option<[f64; 3]>,
}

impl Measurement {
    /// CPU time per connection set-up, in ms.
    pub fn connect_cpu_ms_per_connection(&self) -> Option<f64> {
        (self.connected > 0).then(|| self.connect_cpu_ms / self.connected as f64)
    }
}

/// How long connecting may take: a minute plus 50 ms per connection.
fn connect_deadline(connections: usize) -> Duration {
    Duration::from_secs(60)
        + Duration::from_millis(50).saturating_mul(u32::try_from(connections).unwrap_or(u32::MAX))
}
/// How long the node may take to count connected clients in `/metrics`.
const SEEN_DEADLINE: Duration = Duration::from_secs(30);
/// How long announcements, lookups and echoes may take to finish after
/// their window.
const SETTLE_DEADLINE: Duration = Duration::from_secs(20);
/// How long reservations and circuit dials may take.
const CIRCUIT_DEADLINE: Duration = Duration::from_secs(30);
/// How long the clients may take to close.
const CLOSE_DEADLINE: Duration = Duration::from_secs(10);

/// Runs one measurement; see the module documentation.
pub async fn measure(options: &Options) -> Result<Measurement, SizingError> {
    options.check()?;
    let ticks = procfs::ticks_per_second().ok_or(SizingError::Proc("clock ticks"))?;
    let n: u64 = rand::rng().random();
    let network = format!("sizing-{n:016x}");
    let limits = BootstrapLimits {
        max_connections: options.connections + 64,
        max_pending_incoming: (options.dials_in_flight * 2).max(128),
        max_provider_keys: options.providers.max(4096),
        relay_slots: options.circuits.max(128),
    };
    let mut out = Measurement {
        connections: options.connections,
        load_before: procfs::load_average(),
        ..Measurement::default()
    };
    let mut node = Bootstrap::start(&options.hearth, &network, limits).await?;
    out.idle = memory(&mut node).await?;

    let target = Arc::new(Target {
        peer: node.peer(),
        address: node.address().clone(),
        network: network.clone(),
    });
    let (stage, stage_rx) = watch::channel(Stage::Idle);
    let (report_tx, reports) = mpsc::unbounded_channel();
    let dials = Arc::new(Semaphore::new(options.dials_in_flight));
    let mut groups = JoinSet::new();
    for group in plans(options) {
        groups.spawn(client::run_group(
            group,
            Arc::clone(&target),
            stage_rx.clone(),
            report_tx.clone(),
            Arc::clone(&dials),
        ));
    }
    drop(report_tx);
    let mut run = Run {
        node: &mut node,
        reports,
        tally: Tally::default(),
        ticks,
    };

    // Connecting, until the node counts every client that connected.
    let cpu_before = run.cpu()?;
    let started = Instant::now();
    let deadline = started + connect_deadline(options.connections);
    stage.send_replace(Stage::Connect { deadline });
    let count = options.connections;
    run.pump(deadline, |t| t.connected + t.connect_failed >= count)
        .await?;
    out.seen_in_metrics = run
        .wait_seen(run.tally.connected, Instant::now() + SEEN_DEADLINE)
        .await?;
    out.connect_cpu_ms = run.cpu_ms_since(cpu_before)?;
    out.connect_seconds = started.elapsed().as_secs_f64();
    out.connected = run.tally.connected;
    out.connect_failed = run.tally.connect_failed;
    out.first_connect_error = run.tally.first_connect_error.clone();

    // The window: pings and DHT work.
    let start = Instant::now();
    stage.send_replace(Stage::Dht {
        start,
        length: options.window,
    });
    out.window = run.window(start, options.window).await?;
    let records = options.providers;
    run.pump(Instant::now() + SETTLE_DEADLINE, |t| {
        t.announced + t.announce_failed >= records && t.lookups >= records
    })
    .await?;
    out.dht = Dht {
        records,
        announced: run.tally.announced,
        announce_failed: run.tally.announce_failed,
        lookups: run.tally.lookups,
        records_found: run.tally.records_found,
    };
    out.seen_after_window = run.seen().await?;

    out.circuits = Circuits {
        requested: options.circuits,
        ..Circuits::default()
    };
    if options.circuits > 0 {
        run.circuits(&stage, options, &mut out.circuits).await?;
    }
    out.lost = run.tally.lost;
    out.first_lost_cause = run.tally.first_lost_cause.clone();
    out.retried = run.tally.retried;
    out.first_retry_cause = run.tally.first_retry_cause.clone();
    out.load_after = procfs::load_average();

    stage.send_replace(Stage::Done);
    let closed = tokio::time::timeout(CLOSE_DEADLINE, async {
        while groups.join_next().await.is_some() {}
    })
    .await;
    if closed.is_err() {
        groups.abort_all();
    }
    node.stop().await;
    Ok(out)
}

/// Splits the clients into one group per task: keys, the records each
/// announces and looks up (client `i` announces records `j ≡ i` and looks
/// up those of its neighbour `i + 1`), and the circuit pairs (clients 0
/// and 1, 2 and 3, …).
fn plans(options: &Options) -> Vec<Vec<Plan>> {
    let count = options.connections;
    let keys: Vec<Keypair> = (0..count).map(|_| Keypair::generate_ed25519()).collect();
    let peers: Vec<_> = keys.iter().map(|k| k.public().to_peer_id()).collect();
    let tasks = options.tasks.min(count).max(1);
    let mut groups: Vec<Vec<Plan>> = (0..tasks).map(|_| Vec::new()).collect();
    for (i, key) in keys.into_iter().enumerate() {
        let announce: Vec<usize> = (i..options.providers).step_by(count).collect();
        let neighbour = (i + 1) % count;
        let lookups = (neighbour..options.providers)
            .step_by(count)
            .filter_map(|j| peers.get(neighbour).map(|p| (j, *p)))
            .collect();
        let circuit = if i < 2 * options.circuits {
            if i % 2 == 0 {
                Some(Role::Listen)
            } else {
                peers.get(i - 1).map(|p| Role::Dial(*p))
            }
        } else {
            None
        };
        let plan = Plan {
            key,
            slot: i as f64 / count as f64,
            announce,
            lookups,
            circuit,
        };
        if let Some(group) = groups.get_mut(i % tasks) {
            group.push(plan);
        }
    }
    groups
}

/// What the clients reported so far.
#[derive(Debug, Default)]
struct Tally {
    connected: usize,
    connect_failed: usize,
    first_connect_error: Option<String>,
    hop_offered: bool,
    lost: usize,
    first_lost_cause: Option<String>,
    retried: usize,
    first_retry_cause: Option<String>,
    in_window: bool,
    pings_ok: usize,
    pings_failed: usize,
    announced: usize,
    announce_failed: usize,
    lookups: usize,
    records_found: usize,
    reserved: usize,
    reserve_failed: usize,
    circuits_ok: usize,
    circuits_failed: usize,
    first_circuit_error: Option<String>,
    echoes_ok: usize,
    echoes_failed: usize,
    echo_bytes: usize,
}

impl Tally {
    fn add(&mut self, report: Report) {
        match report {
            Report::Connected { hop } => {
                self.connected += 1;
                self.hop_offered |= hop;
            }
            Report::ConnectFailed(e) => {
                self.connect_failed += 1;
                self.first_connect_error.get_or_insert(e);
            }
            Report::Lost { cause } => {
                self.lost += 1;
                self.first_lost_cause.get_or_insert(cause);
            }
            Report::Retried { cause } => {
                self.retried += 1;
                self.first_retry_cause.get_or_insert(cause);
            }
            Report::Ping { ok } if self.in_window => {
                if ok {
                    self.pings_ok += 1;
                } else {
                    self.pings_failed += 1;
                }
            }
            Report::Ping { .. } => {}
            Report::Announced { ok: true } => self.announced += 1,
            Report::Announced { ok: false } => self.announce_failed += 1,
            Report::LookedUp { found } => {
                self.lookups += 1;
                self.records_found += usize::from(found);
            }
            Report::Reserved(Ok(())) => self.reserved += 1,
            Report::Reserved(Err(e)) => {
                self.reserve_failed += 1;
                self.first_circuit_error.get_or_insert(e);
            }
            Report::Circuit(Ok(())) => self.circuits_ok += 1,
            Report::Circuit(Err(e)) => {
                self.circuits_failed += 1;
                self.first_circuit_error.get_or_insert(e);
            }
            Report::Echoed { ok, bytes } => {
                if ok {
                    self.echoes_ok += 1;
                } else {
                    self.echoes_failed += 1;
                }
                self.echo_bytes += bytes;
            }
        }
    }
}

/// The coordinator's view of a run: the node, the clients' reports.
struct Run<'a> {
    node: &'a mut Bootstrap,
    reports: mpsc::UnboundedReceiver<Report>,
    tally: Tally,
    ticks: u64,
}

impl Run<'_> {
    fn cpu(&self) -> Result<u64, SizingError> {
        procfs::cpu_ticks(self.node.pid()).ok_or(SizingError::Proc("CPU time"))
    }

    fn cpu_ms_since(&self, before: u64) -> Result<f64, SizingError> {
        let used = self.cpu()?.saturating_sub(before);
        Ok(used as f64 * 1000.0 / self.ticks as f64)
    }

    /// Takes reports until `done` holds or `deadline` passes; fails if the
    /// node exits meanwhile.
    async fn pump(
        &mut self,
        deadline: Instant,
        done: impl Fn(&Tally) -> bool,
    ) -> Result<(), SizingError> {
        let mut check = tokio::time::interval(Duration::from_secs(1));
        while !done(&self.tally) {
            tokio::select! {
                report = self.reports.recv() => match report {
                    Some(report) => self.tally.add(report),
                    None => return Ok(()),
                },
                _ = check.tick() => {
                    if let Some(e) = self.node.died() {
                        return Err(e);
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Ok(()),
            }
        }
        Ok(())
    }

    /// `hearth_peers_connected` now.
    async fn seen(&mut self) -> Result<u64, SizingError> {
        let families = scrape::scrape(self.node.metrics()).await?;
        let peers = scrape::value(&families, "hearth_peers_connected")
            .ok_or_else(|| SizingError::Metrics("no hearth_peers_connected".to_owned()))?;
        Ok(count(peers))
    }

    /// Scrapes until the node counts `expected` peers (or the deadline
    /// passes), taking reports meanwhile; the last count.
    async fn wait_seen(&mut self, expected: usize, deadline: Instant) -> Result<u64, SizingError> {
        loop {
            let seen = self.seen().await?;
            if seen >= expected as u64 || Instant::now() >= deadline {
                return Ok(seen);
            }
            let next = Instant::now() + Duration::from_millis(250);
            self.pump(next.min(deadline), |_| false).await?;
        }
    }

    /// Samples the node once a second from `start` for `length`.
    async fn window(&mut self, start: Instant, length: Duration) -> Result<Window, SizingError> {
        let cpu_before = self.cpu()?;
        let (pings_ok, pings_failed) = (self.tally.pings_ok, self.tally.pings_failed);
        self.tally.in_window = true;
        let end = start + length;
        let mut low = u64::MAX;
        let mut high = 0;
        let mut next = start;
        // Bounded by the window: one sample a second.
        while next < end {
            self.pump(next, |_| false).await?;
            let rss = metrics_rss(self.node).await?;
            low = low.min(rss);
            high = high.max(rss);
            next += Duration::from_secs(1);
        }
        self.pump(end, |_| false).await?;
        let cpu_ms = self.cpu_ms_since(cpu_before)?;
        let seconds = start.elapsed().as_secs_f64();
        self.tally.in_window = false;
        let end = memory(self.node).await?;
        Ok(Window {
            seconds,
            cpu_ms,
            cpu_percent: cpu_ms / 10.0 / seconds,
            metrics_rss_range: (low.min(high), high),
            end,
            pings_ok: self.tally.pings_ok - pings_ok,
            pings_failed: self.tally.pings_failed - pings_failed,
        })
    }

    /// Reservations, circuits, and a window with them open.
    async fn circuits(
        &mut self,
        stage: &watch::Sender<Stage>,
        options: &Options,
        out: &mut Circuits,
    ) -> Result<(), SizingError> {
        if !self.tally.hop_offered {
            out.unavailable = Some(format!(
                "relay server not available: the bootstrap node does not offer {}",
                libp2p::relay::HOP_PROTOCOL_NAME
            ));
            return Ok(());
        }
        let wanted = options.circuits;
        stage.send_replace(Stage::Reserve);
        self.pump(Instant::now() + CIRCUIT_DEADLINE, |t| {
            t.reserved + t.reserve_failed >= wanted
        })
        .await?;
        out.reserved = self.tally.reserved;
        if self.tally.reserved == 0 {
            out.failed = self.tally.reserve_failed;
            out.first_error = self.tally.first_circuit_error.clone();
            out.unavailable = Some(format!(
                "relay server not available: no reservation accepted ({})",
                out.first_error.as_deref().unwrap_or("no answer in time")
            ));
            return Ok(());
        }
        stage.send_replace(Stage::Dial);
        self.pump(Instant::now() + CIRCUIT_DEADLINE, |t| {
            t.circuits_ok + t.circuits_failed >= wanted
        })
        .await?;
        let start = Instant::now();
        stage.send_replace(Stage::Exchange {
            start,
            length: options.window,
        });
        let window = self.window(start, options.window).await?;
        let circuits = self.tally.circuits_ok;
        let echoes = circuits
            * usize::try_from(options.window.as_secs())
                .unwrap_or(usize::MAX)
                .div_ceil(2);
        self.pump(Instant::now() + SETTLE_DEADLINE, |t| {
            t.echoes_ok + t.echoes_failed >= echoes
        })
        .await?;
        out.window = Some(window);
        out.established = circuits;
        out.failed = self.tally.reserve_failed + self.tally.circuits_failed;
        out.first_error = self.tally.first_circuit_error.clone();
        out.echoes_ok = self.tally.echoes_ok;
        out.echoes_failed = self.tally.echoes_failed;
        out.bytes = self.tally.echo_bytes;
        Ok(())
    }
}

async fn metrics_rss(node: &Bootstrap) -> Result<u64, SizingError> {
    let families = scrape::scrape(node.metrics()).await?;
    let rss = scrape::value(&families, "process_resident_memory_bytes")
        .ok_or_else(|| SizingError::Metrics("no process_resident_memory_bytes".to_owned()))?;
    Ok(count(rss))
}

/// A gauge's value as a whole count: metrics are floats in the exposition;
/// a negative or non-finite one (never sent by the node) counts as 0.
fn count(value: f64) -> u64 {
    if value.is_finite() && value >= 0.0 {
        // `as` from f64 saturates at u64::MAX; the value is not negative.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = value as u64;
        whole
    } else {
        0
    }
}

async fn memory(node: &mut Bootstrap) -> Result<Memory, SizingError> {
    if let Some(e) = node.died() {
        return Err(e);
    }
    let metrics_rss = metrics_rss(node).await?;
    let status = procfs::memory(node.pid()).ok_or(SizingError::Proc("memory"))?;
    Ok(Memory {
        metrics_rss,
        rss: status.rss,
        peak: status.peak,
    })
}
