//! An honest person: a `hearth chat CHANNEL --json` process on loopback,
//! fed lines on standard input, whose JSON events are kept with the moment
//! each was read.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::LabError;

/// The events a process printed, in order, with when each was read.
#[derive(Debug, Default)]
struct Log {
    events: Vec<(Instant, Value)>,
    closed: bool,
}

/// A running `hearth chat --json`; dropping it kills the process and
/// deletes its data directory.
pub struct Honest {
    /// Its name in the report (`h1`, `v`, `h3`, `late`).
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    log: Arc<(Mutex<Log>, Condvar)>,
    dir: tempfile::TempDir,
}

/// How a process is started.
pub struct Start<'a> {
    /// The `hearth` binary.
    pub hearth: &'a Path,
    /// The network id, fresh for each attack.
    pub network: &'a str,
    /// The channel.
    pub channel: &'a str,
    /// The victim's address, for everyone but the victim.
    pub bootstrap: Option<&'a str>,
}

impl Honest {
    /// Starts the process; it joins the channel and listens on
    /// 127.0.0.1.
    pub fn start(name: &str, start: &Start<'_>) -> Result<Self, LabError> {
        let dir = tempfile::tempdir().map_err(LabError::Io)?;
        let mut command = Command::new(start.hearth);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("HEARTH_") {
                command.env_remove(key);
            }
        }
        command
            .args(["--network", start.network, "--data-dir"])
            .arg(dir.path())
            .args([
                "chat",
                start.channel,
                "--json",
                "--no-mdns",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
            ])
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(address) = start.bootstrap {
            command.args(["--bootstrap", address]);
        }
        let mut child = command
            .spawn()
            .map_err(|e| LabError::Start(start.hearth.to_path_buf(), e))?;
        let stdout = child.stdout.take().ok_or(LabError::NoPipe)?;
        let stdin = child.stdin.take();
        let log = Arc::new((Mutex::new(Log::default()), Condvar::new()));
        let writer = Arc::clone(&log);
        std::thread::spawn(move || {
            let (lock, ready) = &*writer;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if let Ok(mut log) = lock.lock() {
                    log.events.push((Instant::now(), value));
                }
                ready.notify_all();
            }
            if let Ok(mut log) = lock.lock() {
                log.closed = true;
            }
            ready.notify_all();
        });
        Ok(Self {
            name: name.to_owned(),
            child,
            stdin,
            log,
            dir,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Posts `line` (written to standard input).
    pub fn say(&mut self, line: &str) -> Result<(), LabError> {
        let stdin = self.stdin.as_mut().ok_or(LabError::NoPipe)?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(LabError::Io)
    }

    /// Waits until an event `pick` accepts has been printed, within
    /// `deadline`; returns it.
    pub fn wait_for<T>(
        &self,
        what: &str,
        deadline: Duration,
        mut pick: impl FnMut(&Value) -> Option<T>,
    ) -> Result<T, LabError> {
        let until = Instant::now() + deadline;
        let (lock, ready) = &*self.log;
        let mut log = lock.lock().map_err(|_| LabError::Poisoned)?;
        let mut next = 0;
        loop {
            while let Some((_, event)) = log.events.get(next) {
                if let Some(found) = pick(event) {
                    return Ok(found);
                }
                next += 1;
            }
            let now = Instant::now();
            if log.closed || now >= until {
                return Err(LabError::Missing(format!("{}: {what}", self.name)));
            }
            log = ready
                .wait_timeout(log, until - now)
                .map_err(|_| LabError::Poisoned)?
                .0;
        }
    }

    /// Every `post` event printed so far: text, when read.
    pub fn posts(&self) -> Vec<(String, Instant)> {
        let (lock, _) = &*self.log;
        let Ok(log) = lock.lock() else {
            return Vec::new();
        };
        log.events
            .iter()
            .filter(|(_, e)| e["type"] == "post")
            .filter_map(|(at, e)| Some((e["text"].as_str()?.to_owned(), *at)))
            .collect()
    }

    /// When the first event `pick` accepts was read, if one was.
    pub fn first_at(&self, mut pick: impl FnMut(&Value) -> bool) -> Option<Instant> {
        let (lock, _) = &*self.log;
        let log = lock.lock().ok()?;
        log.events.iter().find(|(_, e)| pick(e)).map(|(at, _)| *at)
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Honest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
