//! The mesh benchmark (`mesh-bench`): N nodes on loopback publishing at a
//! set rate, in three modes side by side — plain rust-libp2p gossipsub with
//! its defaults, the same with hearth's mesh settings, and hearth nodes
//! through the embedding API — so hearth's layer shows as a ratio measured
//! in the same run.
//!
//! A run is a list of [`Cell`]s (mode × nodes × rate × size × delay ×
//! seed). [`run::run_cell`] runs one on the current runtime and returns
//! its [`CellReport`]; the program runs each in a fresh process
//! ([`control`]) so peak memory and CPU time are the cell's own.
//! `docs/performance.md` ("The mesh benchmark") has the figures.

pub mod control;
pub mod delay;
pub mod hearth;
pub mod ingest;
pub mod process;
pub mod raw;
pub mod report;
pub mod run;
pub mod stats;

use std::str::FromStr;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::{Deserialize, Serialize};

pub use report::CellReport;
pub use run::run_cell;

/// What the nodes of a cell are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Plain gossipsub, default settings.
    RawDefault,
    /// Plain gossipsub with hearth's mesh settings.
    RawHearth,
    /// hearth nodes.
    Hearth,
}

impl Mode {
    /// Every mode, in the order the table shows them.
    pub const ALL: [Mode; 3] = [Mode::RawDefault, Mode::RawHearth, Mode::Hearth];

    /// The mode's name on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Mode::RawDefault => "raw-default",
            Mode::RawHearth => "raw-hearth",
            Mode::Hearth => "hearth",
        }
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown mode {s:?} (raw-default, raw-hearth, hearth)"))
    }
}

/// The transport every node listens and dials on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    /// TCP with noise and yamux.
    Tcp,
    /// QUIC v1.
    Quic,
}

impl Transport {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Quic => "quic",
        }
    }

    /// A loopback listen address with an OS-chosen port.
    pub fn listen_addr(self) -> Multiaddr {
        let base = Multiaddr::empty().with(Protocol::Ip4(std::net::Ipv4Addr::LOCALHOST));
        match self {
            Transport::Tcp => base.with(Protocol::Tcp(0)),
            Transport::Quic => base.with(Protocol::Udp(0)).with(Protocol::QuicV1),
        }
    }
}

impl FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Transport, String> {
        match s {
            "tcp" => Ok(Transport::Tcp),
            "quic" => Ok(Transport::Quic),
            _ => Err(format!("unknown transport {s:?} (tcp, quic)")),
        }
    }
}

/// One measurement: a mode, a size of network and a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// What the nodes are.
    pub mode: Mode,
    /// Their transport.
    pub transport: Transport,
    /// How many nodes.
    pub nodes: usize,
    /// How many links each node dials (to earlier nodes, chosen by the
    /// seed).
    pub dials: usize,
    /// Posts per second, network-wide.
    pub rate: f64,
    /// How many posts in all.
    pub posts: usize,
    /// Payload bytes per post.
    pub size: usize,
    /// One-way delay of every link, in ms (0: direct).
    pub delay_ms: u64,
    /// The share of nodes that publish, in turn.
    pub publisher_share: f64,
    /// Chooses the topology and the publishers.
    pub seed: u64,
    /// Every node in a process of its own (`--processes`); only from the
    /// `mesh-bench` program, which the node processes are started from.
    #[serde(default)]
    pub processes: bool,
}

impl Cell {
    /// A small cell: `nodes` nodes of `mode` over TCP, 3 dials each, 30 %
    /// publishing `posts` 300-byte posts at 10 per second.
    pub fn small(mode: Mode, nodes: usize, posts: usize) -> Cell {
        Cell {
            mode,
            transport: Transport::Tcp,
            nodes,
            dials: 3,
            rate: 10.0,
            posts,
            size: 300,
            delay_ms: 0,
            publisher_share: 0.3,
            seed: 1,
            processes: false,
        }
    }
}
