//! `--processes`: every node in a process of its own (the program started
//! again with the hidden `node` subcommand), for headline figures in
//! which each node has its own runtime, allocator and CPU account, as on
//! people's machines.
//!
//! The parent talks to each node process in lines. To the node (its
//! standard input): `dial <address>`, `publish <seq> <payload>`, `mesh`,
//! `counters`, `quit`. From the node (its standard output): first
//! `listen <address> <peer id>`, then `r <seq> <latency ns>` for every
//! benchmark post it receives or shows, `published <seq> ok <call ns>` or
//! `published <seq> err <why>`, `mesh <peers>`, and `counters <bytes in>
//! <received> <unique> <cpu s> <peak rss bytes>`. Payloads carry their
//! send time on `CLOCK_MONOTONIC`, which every process on the machine
//! shares, so a node process computes latencies itself.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use libp2p::{Multiaddr, PeerId};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::hearth::{HearthNode, bench_channel};
use super::raw::{RawNode, Settings};
use super::run::{Counters, Recorder};
use super::{Mode, Transport};

/// The hidden subcommand that runs one node.
pub const NODE_SUBCOMMAND: &str = "node";

/// How long a node process may take to answer a question.
const ANSWER_DEADLINE: Duration = Duration::from_secs(30);

/// What a node process answered to `counters`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCounters {
    /// The node's counters.
    pub counters: Counters,
    /// The process's CPU time so far, in s.
    pub cpu_s: f64,
    /// The process's peak resident memory, in bytes.
    pub peak_rss: f64,
}

type PublishReplies = Arc<Mutex<HashMap<usize, oneshot::Sender<Result<Duration, String>>>>>;
type QueryReply = Arc<Mutex<Option<oneshot::Sender<String>>>>;

/// The parent's side of one node process.
pub struct ProcessNode {
    /// Its listen address.
    pub listen: Multiaddr,
    /// Its peer id.
    pub peer_id: PeerId,
    stdin: tokio::sync::Mutex<ChildStdin>,
    publishes: PublishReplies,
    query: QueryReply,
    asking: tokio::sync::Mutex<()>,
    reader: JoinHandle<()>,
    child: Mutex<Option<Child>>,
}

impl Drop for ProcessNode {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl ProcessNode {
    /// Starts node `index` of `mode` as a process of `program`; the posts
    /// it receives go to `recorder`.
    pub async fn start(
        program: &std::path::Path,
        mode: Mode,
        transport: Transport,
        index: usize,
        seed: u64,
        recorder: Arc<Recorder>,
    ) -> anyhow::Result<ProcessNode> {
        let mut child = Command::new(program)
            .arg(NODE_SUBCOMMAND)
            .arg(mode.name())
            .arg(transport.name())
            .arg(index.to_string())
            .arg(seed.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdin = child.stdin.take().context("the node's stdin")?;
        let stdout = child.stdout.take().context("the node's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(ANSWER_DEADLINE, lines.next_line())
            .await
            .context("the node process did not start in time")??
            .context("the node process ended before it listened")?;
        let mut words = first.split(' ');
        let (Some("listen"), Some(listen), Some(peer)) = (words.next(), words.next(), words.next())
        else {
            bail!("the node process said {first:?}");
        };
        let listen: Multiaddr = listen.parse()?;
        let peer_id: PeerId = peer.parse()?;
        let publishes: PublishReplies = Arc::default();
        let query: QueryReply = Arc::default();
        let reader = {
            let publishes = publishes.clone();
            let query = query.clone();
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut words = line.splitn(3, ' ');
                    match (words.next(), words.next(), words.next()) {
                        (Some("r"), Some(seq), Some(latency)) => {
                            if let (Ok(seq), Ok(latency)) = (seq.parse(), latency.parse()) {
                                recorder.arrive(index, seq, latency);
                            }
                        }
                        (Some("published"), Some(seq), Some(rest)) => {
                            let Ok(seq) = seq.parse::<usize>() else {
                                continue;
                            };
                            let result = match rest.split_once(' ') {
                                Some(("ok", ns)) => ns
                                    .parse()
                                    .map(Duration::from_nanos)
                                    .map_err(|e| e.to_string()),
                                _ => Err(rest.to_owned()),
                            };
                            let reply = publishes
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .remove(&seq);
                            if let Some(reply) = reply {
                                let _ = reply.send(result);
                            }
                        }
                        _ => {
                            let reply = query.lock().unwrap_or_else(PoisonError::into_inner).take();
                            if let Some(reply) = reply {
                                let _ = reply.send(line);
                            }
                        }
                    }
                }
            })
        };
        Ok(ProcessNode {
            listen,
            peer_id,
            stdin: tokio::sync::Mutex::new(stdin),
            publishes,
            query,
            asking: tokio::sync::Mutex::new(()),
            reader,
            child: Mutex::new(Some(child)),
        })
    }

    async fn send(&self, line: &str) -> anyhow::Result<()> {
        let mut stdin = self.stdin.lock().await;
        stdin.write_all(line.as_bytes()).await?;
        stdin.write_all(b"\n").await?;
        stdin.flush().await?;
        Ok(())
    }

    async fn ask(&self, question: &str) -> anyhow::Result<String> {
        let _one_at_a_time = self.asking.lock().await;
        let (reply, answer) = oneshot::channel();
        *self.query.lock().unwrap_or_else(PoisonError::into_inner) = Some(reply);
        self.send(question).await?;
        tokio::time::timeout(ANSWER_DEADLINE, answer)
            .await
            .map_err(|_| anyhow!("no answer to {question:?}"))?
            .map_err(|_| anyhow!("the node process ended"))
    }

    /// Dials `address`.
    pub async fn dial(&self, address: &Multiaddr) -> anyhow::Result<()> {
        self.send(&format!("dial {address}")).await
    }

    /// Publishes post `seq` with `payload`; returns how long the node's
    /// publish call took.
    pub async fn publish(&self, seq: usize, payload: &str) -> anyhow::Result<Duration> {
        let (reply, answer) = oneshot::channel();
        self.publishes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(seq, reply);
        self.send(&format!("publish {seq} {payload}")).await?;
        answer
            .await
            .map_err(|_| anyhow!("the node process ended"))?
            .map_err(|e| anyhow!("publish: {e}"))
    }

    /// Its mesh size.
    pub async fn mesh_peers(&self) -> anyhow::Result<usize> {
        let answer = self.ask("mesh").await?;
        answer
            .strip_prefix("mesh ")
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("the node process said {answer:?}"))
    }

    /// Its counters, CPU time and peak memory.
    pub async fn counters(&self) -> anyhow::Result<ProcessCounters> {
        let answer = self.ask("counters").await?;
        let numbers: Vec<f64> = answer
            .strip_prefix("counters ")
            .unwrap_or_default()
            .split(' ')
            .filter_map(|n| n.parse().ok())
            .collect();
        let [bytes_in, received, unique, cpu_s, peak_rss] = numbers[..] else {
            bail!("the node process said {answer:?}");
        };
        Ok(ProcessCounters {
            counters: Counters {
                bytes_in,
                received,
                unique,
            },
            cpu_s,
            peak_rss,
        })
    }

    /// Stops the node process.
    pub async fn quit(&self) {
        let _ = self.send("quit").await;
        let child = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut child) = child
            && tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// The node of a node process.
enum OneNode {
    Raw(RawNode),
    Hearth(HearthNode),
}

/// The node process: starts the node, says where it listens, then serves
/// the parent's lines until `quit` or the end of its input.
pub async fn serve_node(
    mode: Mode,
    transport: Transport,
    index: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let (arrivals, mut arrived) = mpsc::unbounded_channel();
    let recorder = Arc::new(Recorder::forwarding(arrivals));
    let node = match mode {
        Mode::RawDefault => OneNode::Raw(
            RawNode::start(index, Settings::Default, transport, recorder.clone()).await?,
        ),
        Mode::RawHearth => OneNode::Raw(
            RawNode::start(index, Settings::Hearth, transport, recorder.clone()).await?,
        ),
        Mode::Hearth => OneNode::Hearth(
            HearthNode::start(
                index,
                &super::run::network(seed)?,
                transport,
                recorder.clone(),
            )
            .await?,
        ),
    };
    let node = Arc::new(node);
    let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
    // Standard input and output on threads of their own: tokio's are not
    // among the workspace's tokio features, and a line at a time is all
    // this needs.
    let writer = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let stdout = std::io::stdout();
        while let Some(line) = outgoing.blocking_recv() {
            let mut stdout = stdout.lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
    });
    let (lines_in, mut lines) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_in.send(line).is_err() {
                break;
            }
        }
    });
    let (listen, peer) = match node.as_ref() {
        OneNode::Raw(n) => (n.listen.clone(), n.peer_id),
        OneNode::Hearth(n) => (
            n.listen
                .iter()
                .filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
                .collect(),
            n.handle.peer_id(),
        ),
    };
    let _ = out.send(format!("listen {listen} {peer}"));
    loop {
        tokio::select! {
            Some((seq, latency)) = arrived.recv() => {
                let _ = out.send(format!("r {seq} {latency}"));
            }
            line = lines.recv() => {
                let Some(line) = line else { break };
                let mut words = line.splitn(3, ' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("dial"), Some(address), None) => {
                        if let Ok(address) = address.parse::<Multiaddr>() {
                            let _ = match node.as_ref() {
                                OneNode::Raw(n) => n.dial(address).await,
                                OneNode::Hearth(n) => n.handle.dial(address).await.map_err(Into::into),
                            };
                        }
                    }
                    (Some("publish"), Some(seq), Some(payload)) => {
                        let (node, out) = (node.clone(), out.clone());
                        let (seq, payload) = (seq.to_owned(), payload.to_owned());
                        tokio::spawn(async move {
                            let called = std::time::Instant::now();
                            let result = match node.as_ref() {
                                OneNode::Raw(n) => n.publish(payload.into_bytes()).await,
                                OneNode::Hearth(n) => match bench_channel() {
                                    Ok(channel) => n.handle.publish(channel, payload).await.map(|_| ()).map_err(Into::into),
                                    Err(e) => Err(e),
                                },
                            };
                            let took = called.elapsed().as_nanos();
                            let _ = out.send(match result {
                                Ok(()) => format!("published {seq} ok {took}"),
                                Err(e) => format!("published {seq} err {}", format!("{e:#}").replace('\n', " ")),
                            });
                        });
                    }
                    (Some("mesh"), None, None) => {
                        let peers = match node.as_ref() {
                            OneNode::Raw(n) => n.mesh_peers().await.unwrap_or(0),
                            OneNode::Hearth(n) => n.channel_peers().await.unwrap_or(0),
                        };
                        let _ = out.send(format!("mesh {peers}"));
                    }
                    (Some("counters"), None, None) => {
                        let families = match node.as_ref() {
                            OneNode::Raw(n) => n.metrics().unwrap_or_default(),
                            OneNode::Hearth(n) => n.metrics().await.unwrap_or_default(),
                        };
                        let c = Counters::from_metrics(&families);
                        let peak = crate::sizing::procfs::memory(std::process::id())
                            .map_or(0, |m| m.peak);
                        let _ = out.send(format!(
                            "counters {} {} {} {} {peak}",
                            c.bytes_in,
                            c.received,
                            c.unique,
                            super::run::cpu_seconds()
                        ));
                    }
                    (Some("quit"), None, None) => break,
                    _ => {}
                }
            }
        }
    }
    if let OneNode::Hearth(n) = node.as_ref() {
        let _ = n.handle.shutdown().await;
    }
    drop(out);
    let _ = writer.await;
    Ok(())
}
