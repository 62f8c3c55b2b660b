//! The operator's node as operators run it: `hearth bootstrap id` keeps
//! one peer id in an owner-only key file; `hearth bootstrap` on loopback
//! with a metrics endpoint serves a `hearth chat` node that bootstraps from
//! it, reports the connection in `/metrics`, never prints or logs the
//! post it relays nor the other node's address, stops with code 0 on
//! SIGTERM and comes back with the same peer id.
//!
//! Each process gets its own data directory and a network no other test
//! uses; waits are on output lines with a deadline, never sleeps.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use hearth_node::metrics::exposition;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// How long to wait for something that takes a second or two on loopback.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long a node may take to exit after SIGTERM.
const EXIT_DEADLINE: Duration = Duration::from_secs(10);
const CHANNEL: &str = "support";
const POST: &str = "a post the bootstrap node relays but never shows";

fn unique_network() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = (std::process::id(), nanos);
    format!("test-{:016x}", RandomState::new().hash_one(seed))
}

/// `hearth --data-dir DIR --network NETWORK ARGS…` with an environment
/// that cannot leak into the test.
fn hearth(dir: &Path, network: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hearth"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HEARTH_") {
            command.env_remove(key);
        }
    }
    command
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env("HOME", "/nonexistent/hearth-test-home")
        .arg("--data-dir")
        .arg(dir)
        .args(["--network", network])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A running `hearth … --json` process: its JSON lines as they arrive and
/// its standard error. Killed when dropped.
struct Process {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    events: Vec<Value>,
    open: bool,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Process {
    fn start(name: &'static str, mut command: Command) -> Self {
        let mut child = command.spawn().expect("hearth starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
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
            name,
            child,
            stdin,
            lines,
            events: Vec::new(),
            open: true,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn diagnostics(&self) -> String {
        let events: Vec<String> = self.events.iter().map(Value::to_string).collect();
        format!(
            "output of {}:\n{}\nits standard error:\n{}",
            self.name,
            events.join("\n"),
            self.stderr()
        )
    }

    fn receive(&mut self, deadline: Instant) -> bool {
        if !self.open {
            return false;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(wait) {
            Ok(line) => {
                let event: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("{} printed non-JSON ({e}): {line:?}", self.name));
                self.events.push(event);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.open = false;
                false
            }
        }
    }

    fn wait_for(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        let mut checked = 0;
        loop {
            if let Some(found) = self.events[checked..].iter().find(|e| pick(e)) {
                return found.clone();
            }
            checked = self.events.len();
            if !self.receive(deadline) {
                panic!("{}: no {what}\n{}", self.name, self.diagnostics());
            }
        }
    }

    fn wait_type(&mut self, kind: &str) -> Value {
        self.wait_for(&format!("{kind} line"), |e| e["type"] == kind)
    }

    /// The TCP `listening` address, complete with `/p2p/`.
    fn tcp_address(&mut self) -> String {
        let event = self.wait_for("TCP listening line", |e| {
            e["type"] == "listening"
                && e["address"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
        });
        event["address"].as_str().expect("a string").to_owned()
    }

    fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{}: cannot write to stdin: {e}", self.name));
    }

    /// Sends SIGTERM and checks the process exits with code 0.
    fn terminate(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        kill(pid, Signal::SIGTERM).expect("the signal is sent");
        let deadline = Instant::now() + EXIT_DEADLINE;
        while self.receive(deadline) {}
        assert!(
            !self.open,
            "{} did not exit\n{}",
            self.name,
            self.diagnostics()
        );
        let status = self.child.wait().expect("an exit status");
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM\n{}",
            self.name,
            self.diagnostics()
        );
        assert!(
            !self.stderr().contains("panicked"),
            "{}",
            self.diagnostics()
        );
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

/// `hearth bootstrap id --json`, checked to succeed.
fn bootstrap_id(dir: &Path, network: &str) -> Value {
    let output = hearth(dir, network, &["bootstrap", "id", "--json"])
        .stdin(Stdio::null())
        .output()
        .expect("hearth runs");
    assert!(
        output.status.success(),
        "bootstrap id failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

/// `hearth bootstrap` on loopback with free ports and a metrics endpoint.
fn start_bootstrap(dir: &Path, network: &str) -> Process {
    Process::start(
        "bootstrap",
        hearth(
            dir,
            network,
            &[
                "--json",
                "--log",
                "info",
                "bootstrap",
                "--listen-ip",
                "127.0.0.1",
                "--port",
                "0",
                "--metrics",
                "127.0.0.1:0",
                "--join",
                CHANNEL,
            ],
        ),
    )
}

/// One HTTP/1.1 GET over a fresh connection: the status code and body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("the endpoint accepts");
    stream
        .set_read_timeout(Some(DEADLINE))
        .expect("a read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: hearth\r\n\r\n").expect("the request is sent");
    let mut raw = String::new();
    stream
        .read_to_string(&mut raw)
        .expect("the response, then the connection closes");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (code, body.to_owned())
}

#[test]
fn bootstrap_id_keeps_one_peer_id_in_an_owner_only_key_file() {
    let dir = tempfile::tempdir().expect("a directory");
    let network = unique_network();
    let first = bootstrap_id(dir.path(), &network);
    let second = bootstrap_id(dir.path(), &network);
    let peer_id = first["peer_id"].as_str().expect("a peer id");
    assert!(peer_id.starts_with("12D3KooW"), "{first}");
    assert_eq!(second["peer_id"], first["peer_id"]);
    let key = dir.path().join("node.key");
    assert_eq!(first["key_file"], key.to_str().expect("UTF-8"));
    let mode = std::fs::metadata(&key)
        .expect("the key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // With no external address the listen addresses are shown, as a
    // template, each ending in the peer id.
    assert_eq!(first["external"], false);
    let addresses = first["addresses"].as_array().expect("addresses");
    assert_eq!(addresses.len(), 4, "{first}");
    assert!(addresses.iter().all(|a| {
        a.as_str()
            .is_some_and(|a| a.ends_with(&format!("/p2p/{peer_id}")))
    }));

    // A key file others can read stops both commands and is kept.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let before = std::fs::read(&key).expect("the key");
    let output = hearth(dir.path(), &network, &["bootstrap", "id"])
        .stdin(Stdio::null())
        .output()
        .expect("hearth runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert_eq!(std::fs::read(&key).expect("the key"), before);
}

#[test]
fn a_bootstrap_node_serves_a_peer_reports_it_and_keeps_its_id() {
    let network = unique_network();
    let operator = tempfile::tempdir().expect("a directory");
    let person = tempfile::tempdir().expect("a directory");
    let published = bootstrap_id(operator.path(), &network);

    let mut bootstrap = start_bootstrap(operator.path(), &network);
    let address = bootstrap.tcp_address();
    assert!(
        address.ends_with(published["peer_id"].as_str().expect("a peer id")),
        "the node's peer id is not the one `bootstrap id` published: {address}"
    );
    let metrics = bootstrap.wait_type("metrics");
    let endpoint: SocketAddr = metrics["address"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("a socket address");
    bootstrap.wait_for("joined line", |e| {
        e["type"] == "joined" && e["channel"] == CHANNEL
    });

    let mut chat = Process::start(
        "chat",
        hearth(
            person.path(),
            &network,
            &[
                "chat",
                CHANNEL,
                "--json",
                "--no-mdns",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--bootstrap",
                &address,
            ],
        ),
    );
    let chat_address = chat.tcp_address();
    // The bootstrap node's subscription reaching the chat node means the
    // bootstrap node has taken the connection in.
    chat.wait_for("the bootstrap node in the channel", |e| {
        e["type"] == "channel_peers" && e["peers"].as_u64().is_some_and(|n| n >= 1)
    });
    chat.say(POST);
    chat.wait_for("the post sent to a peer", |e| {
        e["type"] == "sent" && e["peers"].as_u64().is_some_and(|n| n >= 1)
    });

    let (code, body) = get(endpoint, "/metrics");
    assert_eq!(code, 200, "{body}");
    let families = exposition::parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    let value = |name: &str| exposition::value(&families, name, &[]);
    let peers = value("hearth_peers_connected").expect("the peer gauge");
    assert!(peers >= 1.0, "{body}");
    assert_eq!(value("hearth_channels_joined"), Some(1.0), "{body}");
    assert!(
        value("process_resident_memory_bytes").is_some_and(|b| b > 0.0),
        "{body}"
    );
    assert!(value("process_uptime_seconds").is_some(), "{body}");
    assert_eq!(get(endpoint, "/health"), (200, "ok".to_owned()));
    assert_eq!(get(endpoint, "/nothing").0, 404);

    bootstrap.terminate();
    assert!(
        TcpStream::connect(endpoint).is_err(),
        "the metrics endpoint outlived the node"
    );
    // What it printed: its addresses, the metrics address, its channel and
    // that it stopped; never a peer or a post. Its log at info has neither the post nor the
    // other node's address.
    for event in &bootstrap.events {
        let kind = event["type"].as_str().unwrap_or_default();
        assert!(
            ["listening", "metrics", "joined", "stopped"].contains(&kind),
            "bootstrap printed {event}"
        );
    }
    let stderr = bootstrap.stderr();
    assert!(!stderr.contains(POST), "the post is in the log:\n{stderr}");
    let chat_port = chat_address
        .split('/')
        .nth(4)
        .expect("a port in the address");
    assert!(
        !stderr.contains(&format!("/tcp/{chat_port}")),
        "the other node's address is in the log:\n{stderr}"
    );

    // Restarted, it is the same node at the same peer id.
    let mut again = start_bootstrap(operator.path(), &network);
    let restarted = again.tcp_address();
    let id = |a: &str| a.rsplit('/').next().map(str::to_owned);
    assert_eq!(id(&restarted), id(&address));
    again.terminate();
    chat.terminate();
}
