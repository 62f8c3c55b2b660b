//! The measured process: `hearth bootstrap` on loopback in a temporary
//! data directory, with a metrics endpoint and the limits the run needs.
//! [`Bootstrap`] is its guard: dropping it (a return, an error, a panic, a
//! cancelled future on Ctrl-C) kills the process and deletes the directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::SizingError;
use super::scrape::scrape;

/// How long the node may take to print its addresses and answer on its
/// metrics endpoint (a debug build on a busy machine is slow to start).
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long the node may take to exit after SIGTERM before it is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// How much of the node's standard error is kept for error messages.
const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// Most lines read from the node's standard output while it starts.
const MAX_START_LINES: usize = 64;

/// The `hearth` binary next to the running executable: `cargo build -p
/// hearth -p hearth-tests` puts both in the same target directory (the
/// sizing binary in `target/<profile>/`, a test in
/// `target/<profile>/deps/`).
pub fn find_hearth() -> Result<PathBuf, SizingError> {
    let exe = std::env::current_exe().map_err(SizingError::Io)?;
    let mut dirs = Vec::new();
    if let Some(dir) = exe.parent() {
        dirs.push(dir.to_path_buf());
        if dir.file_name().is_some_and(|n| n == "deps")
            && let Some(up) = dir.parent()
        {
            dirs.push(up.to_path_buf());
        }
    }
    dirs.iter()
        .map(|dir| dir.join("hearth"))
        .find(|candidate| candidate.is_file())
        .ok_or(SizingError::HearthMissing(dirs))
}

/// Limits the bootstrap node is started with, raised for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapLimits {
    /// `--max-connections`.
    pub max_connections: usize,
    /// `--max-pending-incoming`.
    pub max_pending_incoming: usize,
    /// `--dht-max-provider-keys`.
    pub max_provider_keys: usize,
    /// `--relay-max-reservations` and `--relay-max-circuits`.
    pub relay_slots: usize,
}

/// A running `hearth bootstrap`.
#[derive(Debug)]
pub struct Bootstrap {
    // Dropped first: `kill_on_drop` kills the process before its data
    // directory is deleted.
    child: Child,
    pid: u32,
    peer: PeerId,
    address: Multiaddr,
    metrics: SocketAddr,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Bootstrap {
    /// Starts `hearth bootstrap` from `hearth` in `network` and waits until
    /// it listens on TCP and its metrics endpoint answers.
    pub async fn start(
        hearth: &Path,
        network: &str,
        limits: BootstrapLimits,
    ) -> Result<Self, SizingError> {
        let dir = tempfile::Builder::new()
            .prefix("hearth-sizing-")
            .tempdir()
            .map_err(SizingError::Io)?;
        let mut command = Command::new(hearth);
        // The environment must not change the node under measurement.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HEARTH_") {
                command.env_remove(key);
            }
        }
        let number = |n: usize| n.to_string();
        command
            .env_remove("RUST_LOG")
            .env("HOME", dir.path())
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--network", network, "--json", "--log", "warn", "bootstrap"])
            .args(["--listen-ip", "127.0.0.1", "--port", "0"])
            .args(["--metrics", "127.0.0.1:0"])
            // Everything runs on loopback: without this the node announces
            // no address, serves no relay slot and keeps no provider record
            // whose only address is a loopback one.
            .arg("--announce-private")
            .args(["--max-connections", &number(limits.max_connections)])
            // 0: no limit of their own (the total above applies).
            .args(["--max-inbound-connections", "0"])
            .args(["--max-connections-per-ip", "0"])
            .args([
                "--max-pending-incoming",
                &number(limits.max_pending_incoming),
            ])
            .args(["--max-memory-mb", "0"])
            .args(["--dht-max-provider-keys", &number(limits.max_provider_keys)])
            .args(["--relay-max-reservations", &number(limits.relay_slots)])
            .args(["--relay-max-circuits", &number(limits.relay_slots)])
            .args(["--relay-max-circuit-secs", "600"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| SizingError::Spawn(hearth.to_path_buf(), e))?;
        let pid = child
            .id()
            .ok_or_else(|| SizingError::Bootstrap("exited at once".to_owned()))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            tokio::spawn(keep_tail(pipe, Arc::clone(&stderr)));
        }
        let lines = match child.stdout.take() {
            Some(pipe) => forward_lines(pipe),
            None => return Err(SizingError::Bootstrap("no standard output".to_owned())),
        };
        let mut bootstrap = Self {
            child,
            pid,
            peer: PeerId::random(),
            address: Multiaddr::empty(),
            metrics: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            _dir: dir,
        };
        let deadline = Instant::now() + START_DEADLINE;
        bootstrap.read_addresses(lines, deadline).await?;
        bootstrap.wait_for_metrics(deadline).await?;
        Ok(bootstrap)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The node's peer id.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// Its TCP address on 127.0.0.1, ending in `/p2p/<peer id>`.
    pub fn address(&self) -> &Multiaddr {
        &self.address
    }

    /// Its metrics endpoint.
    pub fn metrics(&self) -> SocketAddr {
        self.metrics
    }

    /// The end of what it wrote to standard error.
    pub fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How it ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// An error for a node that stopped while it was measured.
    pub fn died(&mut self) -> Option<SizingError> {
        let status = self.exited()?;
        Some(SizingError::Bootstrap(format!(
            "exited ({status}) during the run; its standard error ends with:\n{}",
            self.stderr_tail()
        )))
    }

    /// Stops the node: SIGTERM, then SIGKILL if it has not exited within
    /// a few seconds.
    pub async fn stop(mut self) {
        if self.exited().is_some() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.pid)
            && kill(Pid::from_raw(pid), Signal::SIGTERM).is_ok()
            && tokio::time::timeout(STOP_DEADLINE, self.child.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.child.kill().await;
    }

    async fn read_addresses(
        &mut self,
        mut lines: mpsc::Receiver<String>,
        deadline: Instant,
    ) -> Result<(), SizingError> {
        let mut tcp = None;
        let mut metrics = None;
        for _ in 0..MAX_START_LINES {
            if let (Some(_), Some(_)) = (&tcp, &metrics) {
                break;
            }
            let line = match tokio::time::timeout_at(deadline, lines.recv()).await {
                Ok(Some(line)) => line,
                Ok(None) => return Err(self.failed_to_start("it exited")),
                Err(_) => return Err(self.failed_to_start("no addresses in time")),
            };
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let address = event.get("address").and_then(|a| a.as_str());
            match (event.get("type").and_then(|t| t.as_str()), address) {
                (Some("listening"), Some(address)) => {
                    if let Ok(address) = address.parse::<Multiaddr>()
                        && let Some(peer) = loopback_tcp_peer(&address)
                    {
                        tcp = Some((address, peer));
                    }
                }
                (Some("metrics"), Some(address)) => metrics = address.parse().ok(),
                _ => {}
            }
        }
        match (tcp, metrics) {
            (Some((address, peer)), Some(metrics)) => {
                self.address = address;
                self.peer = peer;
                self.metrics = metrics;
                Ok(())
            }
            _ => Err(self.failed_to_start("no TCP or metrics address printed")),
        }
    }

    async fn wait_for_metrics(&mut self, deadline: Instant) -> Result<(), SizingError> {
        let mut last = None;
        while Instant::now() < deadline {
            match scrape(self.metrics).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
            if let Some(e) = self.died() {
                return Err(e);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last.unwrap_or_else(|| self.failed_to_start("the metrics endpoint did not answer")))
    }

    fn failed_to_start(&mut self, why: &str) -> SizingError {
        SizingError::Bootstrap(format!(
            "did not start ({why}); its standard error ends with:\n{}",
            self.stderr_tail()
        ))
    }
}

/// The peer id of a `/ip4/127.0.0.1/tcp/<port>/p2p/<peer>` address.
fn loopback_tcp_peer(address: &Multiaddr) -> Option<PeerId> {
    let mut parts = address.iter();
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(_)), Some(Protocol::P2p(peer)), None)
            if ip.is_loopback() =>
        {
            Some(peer)
        }
        _ => None,
    }
}

/// Forwards the lines of `pipe` until it closes. Once nobody listens they
/// are read and dropped, so the pipe never fills and blocks the node.
fn forward_lines(pipe: impl AsyncRead + Unpin + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if !tx.is_closed() {
                let _ = tx.send(line).await;
            }
        }
    });
    rx
}

/// Keeps the last [`STDERR_TAIL_BYTES`] of `pipe` in `tail`.
async fn keep_tail(mut pipe: impl AsyncRead + Unpin, tail: Arc<Mutex<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf).await {
        let Some(read) = buf.get(..n).filter(|r| !r.is_empty()) else {
            break;
        };
        if let Ok(mut tail) = tail.lock() {
            tail.push_str(&String::from_utf8_lossy(read));
            if tail.len() > STDERR_TAIL_BYTES {
                let mut cut = tail.len() - STDERR_TAIL_BYTES;
                while !tail.is_char_boundary(cut) {
                    cut += 1;
                }
                tail.drain(..cut);
            }
        }
    }
}
