//! What the process tests share for driving a real `hearth` binary: a
//! command with an environment that cannot leak into the test, a network
//! id no other test uses, and [`Process`], a running `hearth … --json`
//! whose events the test waits for with a deadline, never with a sleep.
//!
//! Each test file includes this module (`mod support;`) and adds what is
//! its own, in free functions or in an `impl support::Process` block of
//! its own.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// How long to wait for something that takes a second or two on loopback:
/// a start, a connection, a delivery. Generous, because CI machines are
/// slow and busy.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);
/// How long a node may take to exit after SIGINT or SIGTERM.
pub(crate) const EXIT_DEADLINE: Duration = Duration::from_secs(10);
/// The channel the tests talk in.
pub(crate) const CHANNEL: &str = "support";
/// What must never appear on standard error: each is printed only when
/// hearth panics.
pub(crate) const PANIC_SIGNS: [&str; 3] = ["panicked", "RUST_BACKTRACE", "internal error"];

/// A network id no other test (or test run) uses.
pub(crate) fn unique_network() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = (
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos,
    );
    format!("test-{:016x}", RandomState::new().hash_one(seed))
}

/// The persona-stamp level of every test process.
pub(crate) const TEST_STAMP_BITS: &str = "8";

/// Takes out of `command` whatever of the environment of whoever runs the
/// test could change what hearth does: `HEARTH_*` variables, a log filter,
/// a backtrace request, the data directories (with a home directory that
/// does not exist: the tests always pass `--data-dir`).
pub(crate) fn clean_env(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HEARTH_") {
            command.env_remove(key);
        }
    }
    command
        // A persona stamp at the protocol's level takes seconds; tests that
        // start many personas ask a level that takes microseconds but
        // still goes through the whole search and check.
        .env("HEARTH_PERSONA_STAMP_BITS", TEST_STAMP_BITS)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env("HOME", "/nonexistent/hearth-test-home")
        .env_remove("XDG_DATA_HOME")
}

/// `hearth` with a clean environment ([`clean_env`]), no standard input,
/// and its output piped.
pub(crate) fn hearth() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    clean_env(&mut command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A child's process id, for signals.
pub(crate) fn pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"))
}

/// Asserts that `stderr`, what `who` printed, shows no sign of a panic.
pub(crate) fn assert_no_panic(who: &str, stderr: &str) {
    for sign in PANIC_SIGNS {
        assert!(
            !stderr.contains(sign),
            "{who} printed {sign:?} on standard error:\n{stderr}"
        );
    }
}

/// A running `hearth … --json` (`chat`, `run`, `bootstrap`): its events as
/// they arrive, its standard input, and its standard error for
/// diagnostics. Killed when dropped.
pub(crate) struct Process {
    /// Who it is in failure messages.
    pub(crate) name: String,
    pub(crate) child: Child,
    /// Its standard input: lines written here are posts.
    pub(crate) stdin: Option<ChildStdin>,
    /// Lines of standard output, with the moment each was read.
    lines: Receiver<(Instant, String)>,
    /// Every event printed so far, in order.
    pub(crate) events: Vec<Value>,
    /// False once standard output has closed (the process is exiting).
    pub(crate) open: bool,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Process {
    /// Starts `command`, which must print JSON events, with its standard
    /// input, output and error piped.
    pub(crate) fn start(name: impl Into<String>, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hearth starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        Self {
            name: name.into(),
            child,
            stdin,
            lines,
            events: Vec::new(),
            open: true,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// Everything printed on standard error so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The events so far and standard error, for a failure message.
    pub(crate) fn diagnostics(&self) -> String {
        let events: Vec<String> = self.events.iter().map(Value::to_string).collect();
        format!(
            "events of {}:\n{}\nits standard error:\n{}",
            self.name,
            events.join("\n"),
            self.stderr()
        )
    }

    /// Takes one line from standard output, checks it is a JSON event and
    /// keeps it: the event, with the moment it was read. None when the
    /// deadline passed or standard output closed.
    pub(crate) fn next_event(&mut self, deadline: Instant) -> Option<(Instant, &Value)> {
        if !self.open {
            return None;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        let (at, line) = match self.lines.recv_timeout(wait) {
            Ok(read) => read,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => {
                self.open = false;
                return None;
            }
        };
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "{} printed a line that is not JSON ({e}): {line:?}",
                self.name
            )
        });
        assert!(
            event["type"].is_string(),
            "{} printed an event without a type: {line}",
            self.name
        );
        self.events.push(event);
        self.events.last().map(|event| (at, event))
    }

    /// Takes one event, as [`Process::next_event`]: false when the
    /// deadline passed or standard output closed.
    pub(crate) fn receive(&mut self, deadline: Instant) -> bool {
        self.next_event(deadline).is_some()
    }

    /// The first event so far, or from now until [`DEADLINE`], for which
    /// `pick` holds.
    pub(crate) fn wait_for(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        let mut checked = 0;
        loop {
            if let Some(found) = self.events[checked..].iter().find(|e| pick(e)) {
                return found.clone();
            }
            checked = self.events.len();
            if !self.receive(deadline) {
                let why = if self.open {
                    format!("within {DEADLINE:?}")
                } else {
                    "before its output closed".to_owned()
                };
                panic!("{}: no {what} {why}\n{}", self.name, self.diagnostics());
            }
        }
    }

    /// The first event of type `kind`, as [`Process::wait_for`].
    pub(crate) fn wait_type(&mut self, kind: &str) -> Value {
        self.wait_for(&format!("{kind} event"), |e| e["type"] == kind)
    }

    /// Writes one line to standard input: a post in the first channel.
    pub(crate) fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{}: cannot write to stdin: {e}", self.name));
    }

    /// Sends `signal` to the process.
    pub(crate) fn signal(&self, signal: Signal) {
        kill(pid(&self.child), signal).expect("the signal is sent");
    }

    /// Waits for the process to exit (its output closes) within `within`,
    /// keeping the events it printed on the way out, and for all of its
    /// standard error.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        while self.receive(deadline) {}
        assert!(
            !self.open,
            "{} did not exit within {within:?}\n{}",
            self.name,
            self.diagnostics()
        );
        let status = self.child.wait().expect("the exit status is readable");
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        status
    }

    /// Stops the process with `signal` and checks it exits with code 0
    /// within `within`, having printed nothing alarming.
    pub(crate) fn stop_within(&mut self, signal: Signal, within: Duration) {
        self.signal(signal);
        let status = self.wait_exit(within);
        assert!(
            status.success(),
            "{} exited with {status} after {signal}\n{}",
            self.name,
            self.diagnostics()
        );
        self.assert_no_panic();
    }

    /// [`Process::stop_within`] [`EXIT_DEADLINE`].
    pub(crate) fn stop(&mut self, signal: Signal) {
        self.stop_within(signal, EXIT_DEADLINE);
    }

    /// SIGKILL, then every event it printed before it died.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while self.receive(Instant::now() + DEADLINE) {}
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
    }

    /// Asserts that standard error so far shows no sign of a panic.
    pub(crate) fn assert_no_panic(&self) {
        assert_no_panic(&self.name, &self.stderr());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
