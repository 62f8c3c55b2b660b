//! The operator's node as operators run it: `hearth bootstrap id` keeps
//! one peer id in an owner-only key file; `hearth bootstrap` on loopback
//! with a metrics endpoint serves a `hearth chat` node that bootstraps from
//! it, reports the connection in `/metrics`, never prints or logs the
//! post it relays nor the other node's address, stops with code 0 on
//! SIGTERM and comes back with the same peer id.
//!
//! Each process gets its own data directory and a network no other test
//! uses; waits are on output lines with a deadline, never sleeps.

// Each test file is its own crate and uses a different part of the shared
// support: what this one does not use is not dead code.
#[allow(dead_code)]
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use hearth_node::metrics::exposition;
use nix::sys::signal::Signal;
use serde_json::Value;

use support::{CHANNEL, DEADLINE, Process, unique_network};

const POST: &str = "a post the bootstrap node relays but never shows";

/// `hearth --data-dir DIR --network NETWORK ARGS…` with an environment
/// that cannot leak into the test.
fn hearth(dir: &Path, network: &str, args: &[&str]) -> Command {
    let mut command = support::hearth();
    command
        .arg("--data-dir")
        .arg(dir)
        .args(["--network", network])
        .args(args);
    command
}

impl Process {
    /// The TCP `listening` address, complete with `/p2p/`.
    fn tcp_address(&mut self) -> String {
        let event = self.wait_for("TCP listening event", |e| {
            e["type"] == "listening"
                && e["address"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
        });
        event["address"].as_str().expect("a string").to_owned()
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
    bootstrap.wait_for("joined event", |e| {
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

    bootstrap.stop(Signal::SIGTERM);
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
    again.stop(Signal::SIGTERM);
    chat.stop(Signal::SIGTERM);
}
