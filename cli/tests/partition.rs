//! Partitions with real hosts: nothing said on either side of a broken
//! network is lost, and a node that was stopped for a while catches up.
//!
//! Every node is the real `hearth chat --json` binary, a separate process
//! on its own public host of a network lab ([`hearth_tests::netlab`]):
//! network namespaces on one bridge, addresses from 198.18.0.0/24 that
//! exist only inside them, deleted when the test ends, also when it fails.
//! Each node listens on TCP port 4001 of its host, so every address is
//! known before any node starts.
//!
//! **The partition.** Six nodes, halves A (a1, a2, a3) and B (b1, b2, b3).
//! The network is split by an nftables rule on the bridge that drops every
//! packet between the halves, as a broken link between two sites would:
//! nothing is refused, packets just vanish. The hosts give up on a TCP
//! connection after about 3 s of unanswered data (`tcp_retries2` = 3
//! instead of Linux's 15, which waits about 15 minutes), standing for a
//! partition long enough for connections to die; the test checks that they
//! did, so the halves really lost each other. Both halves then post, and
//! each half must hold its own half's posts, and none of the other's.
//! Then the rule is removed and every node must end up holding the union,
//! each post exactly once: in its event stream (each id once) and in
//! `hearth history` after it stopped.
//!
//! Nothing is dialled by the test after healing. Nodes find each other
//! again the way hearth does it: a node redials its bootstrap addresses
//! every 30 s while none of its bootstrap peers is connected. So each half
//! has a hub (a1, b1) whose bootstrap list holds its own half and the
//! other half, and two nodes whose list holds only the other half: the
//! hub dials its half (those connections survive the partition, so the hub
//! keeps quiet), and the others lose every bootstrap peer in the partition
//! and redial across it. After healing every node gets a new connection
//! across (the hub an inbound one), and a peer that subscribes to the
//! channel again is synced with (history sync), unless it was synced with
//! in the last 30 s. The partition therefore lasts at least
//! [`PARTITION_LASTS`], longer than that cooldown, as a partition worth
//! healing does: a shorter one would be left to the 5-minute anti-entropy
//! round. The time from healing until every node holds every post is
//! printed, not asserted.
//!
//! **The node that was away.** Three nodes; one is stopped (SIGTERM), the
//! other two post, and it is started again on the same data directory: it
//! must receive every post it missed (by history sync), each once.
//!
//! Needs root, `ip` and `nft`: skipped with a printed line without them,
//! failed under CI (`CI=true`). Waits are on JSON events with deadlines;
//! the one deliberate wait is the partition's duration.

#![cfg(target_os = "linux")]

// Each test file is its own crate and uses a different part of the shared
// support: what this one does not use is not dead code.
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hearth_tests::netlab::{Host, Lab, Namespace};
use nix::sys::signal::Signal;
use serde_json::Value;
use tempfile::TempDir;

use support::{CHANNEL, DEADLINE, Process, clean_env, unique_network};

/// The port every node listens on, on its own host.
const PORT: u16 = 4001;
/// How long the nodes may take to hold every post after healing: the
/// bootstrap redial period (30 s), a dial, a sync, and room for a slow
/// machine.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(75);
/// How long the partition lasts at least, from the moment all six nodes
/// were connected: longer than history sync's 30 s cooldown per peer.
const PARTITION_LASTS: Duration = Duration::from_secs(35);
/// Posts each node writes while the network is split.
const POSTS_EACH: usize = 5;

/// A host's hearth address, without a peer id: a node's identity is new
/// at every start, its address is not.
fn address(host: &Host) -> String {
    format!("/ip4/{}/tcp/{PORT}", host.addr)
}

/// Makes TCP on `host` give up on a connection after about 3 s of
/// unanswered data (retransmissions at 0.2, 0.4, 0.8 and 1.6 s).
fn short_tcp_timeout(host: &Host) {
    host.ns
        .run(|| std::fs::write("/proc/sys/net/ipv4/tcp_retries2", "3"))
        .expect("a thread in the namespace")
        .expect("set tcp_retries2");
}

/// Runs `nft` inside `ns` with `script` on standard input.
fn nft(ns: &Namespace, args: &[&str], script: &str) {
    let mut child = ns
        .command("nft")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nft starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).expect("write the rules");
    }
    let out = child.wait_with_output().expect("nft runs");
    assert!(
        out.status.success(),
        "nft {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Splits the internet: the bridge drops every packet between `one` and
/// `other`, both ways.
fn split(lab: &Lab, one: &[&Host], other: &[&Host]) {
    let set = |hosts: &[&Host]| {
        hosts
            .iter()
            .map(|h| h.addr.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (one, other) = (set(one), set(other));
    let rules = format!(
        "table bridge partition {{
            chain forward {{
                type filter hook forward priority filter; policy accept;
                ip saddr {{ {one} }} ip daddr {{ {other} }} drop
                ip saddr {{ {other} }} ip daddr {{ {one} }} drop
            }}
        }}"
    );
    nft(lab.internet(), &["-f", "-"], &rules);
}

/// Removes the split.
fn heal(lab: &Lab) {
    nft(
        lab.internet(),
        &["delete", "table", "bridge", "partition"],
        "",
    );
}

/// A post as one node saw it.
#[derive(Debug, Clone)]
struct Seen {
    /// How many `post` lines carried this id.
    count: usize,
    /// When the test read the first of them.
    first: Instant,
    /// `live` or `sync`, from the first.
    origin: String,
}

/// A running `hearth chat --json` inside a namespace, with what its events
/// said so far. Killed when dropped.
struct Proc {
    process: Process,
    peer_id: Option<String>,
    connected: BTreeSet<String>,
    channel_peers: u64,
    posts: BTreeMap<String, Seen>,
    /// Ids of this node's own posts, in order.
    own: Vec<String>,
}

impl Proc {
    /// `hearth chat support --json --no-mdns` on `host`, listening on
    /// [`PORT`], bootstrapping from `bootstrap`.
    fn start(name: &str, host: &Host, dir: &Path, network: &str, bootstrap: &[String]) -> Self {
        let mut command = host.ns.command(env!("CARGO_BIN_EXE_hearth"));
        clean_env(&mut command)
            .args(["--network", network, "--data-dir"])
            .arg(dir)
            .args(["chat", CHANNEL, "--json", "--no-mdns", "--listen"])
            .arg(format!("/ip4/0.0.0.0/tcp/{PORT}"));
        for address in bootstrap {
            command.args(["--bootstrap", address]);
        }
        // `ip netns exec` execs hearth: the child is hearth itself.
        let mut proc = Self {
            process: Process::start(name, command),
            peer_id: None,
            connected: BTreeSet::new(),
            channel_peers: 0,
            posts: BTreeMap::new(),
            own: Vec::new(),
        };
        let on_host = format!("/ip4/{}/tcp/{PORT}/p2p/", host.addr);
        proc.wait(
            "listening on its host's address",
            Instant::now() + DEADLINE,
            |p| {
                p.process.events.iter().any(|e| {
                    e["type"] == "listening"
                        && e["address"]
                            .as_str()
                            .is_some_and(|a| a.starts_with(&on_host))
                })
            },
        );
        proc
    }

    fn name(&self) -> &str {
        &self.process.name
    }

    fn peer_id(&self) -> String {
        self.peer_id.clone().expect("a listening event came")
    }

    /// Takes one event and notes what it says; false at the deadline or
    /// once standard output has closed.
    fn receive(&mut self, deadline: Instant) -> bool {
        let Some((at, event)) = self.process.next_event(deadline) else {
            return false;
        };
        let text = |key: &str| event[key].as_str().map(str::to_owned);
        match event["type"].as_str() {
            Some("listening") => self.peer_id = text("peer_id"),
            Some("peer") => {
                if let Some(peer) = text("peer_id") {
                    if event["state"] == "connected" {
                        self.connected.insert(peer);
                    } else {
                        self.connected.remove(&peer);
                    }
                }
            }
            Some("channel_peers") => self.channel_peers = event["peers"].as_u64().unwrap_or(0),
            Some("post") => {
                let id = text("id").expect("a post has an id");
                if event["own"] == true {
                    self.own.push(id.clone());
                }
                self.posts
                    .entry(id)
                    .and_modify(|seen| seen.count += 1)
                    .or_insert(Seen {
                        count: 1,
                        first: at,
                        origin: text("origin").unwrap_or_default(),
                    });
            }
            _ => {}
        }
        true
    }

    /// Takes events until `done` holds, failing at `deadline`.
    fn wait(&mut self, what: &str, deadline: Instant, done: impl Fn(&Proc) -> bool) {
        while !done(self) {
            assert!(
                self.receive(deadline),
                "{}: not {what} in time\n{}",
                self.name(),
                self.process.diagnostics()
            );
        }
    }

    /// Takes every event already printed, without waiting.
    fn drain(&mut self) {
        while self.receive(Instant::now()) {}
    }

    /// Posts `text` (a line on standard input).
    fn say(&mut self, text: &str) {
        self.process.say(text);
    }

    /// SIGTERM; waits for the exit (code 0) and takes its last events.
    fn stop(&mut self) {
        self.process.stop_within(Signal::SIGTERM, DEADLINE);
    }

    /// Asserts that no post came twice in the event stream.
    fn assert_each_post_once(&self) {
        for (id, seen) in &self.posts {
            assert_eq!(
                seen.count,
                1,
                "{}: post {id} printed {} times\n{}",
                self.name(),
                seen.count,
                self.process.diagnostics()
            );
        }
    }
}

/// The post ids `hearth history` lists for a stopped node's data
/// directory, with how many times each is listed.
fn history(network: &str, dir: &Path) -> BTreeMap<String, usize> {
    let output = support::hearth()
        .args(["--network", network, "--data-dir"])
        .arg(dir)
        .args(["history", CHANNEL, "--json", "--limit", "10000"])
        .stdin(Stdio::null())
        .output()
        .expect("hearth history runs");
    assert!(
        output.status.success(),
        "hearth history failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut ids = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let post: Value = serde_json::from_str(line).expect("a JSON line");
        let id = post["id"].as_str().expect("an id").to_owned();
        *ids.entry(id).or_insert(0) += 1;
    }
    ids
}

/// Asserts that `dir`'s history lists exactly `expected`, each once.
fn assert_history(name: &str, network: &str, dir: &Path, expected: &BTreeSet<String>) {
    let listed = history(network, dir);
    for (id, times) in &listed {
        assert_eq!(*times, 1, "{name}: post {id} listed {times} times");
    }
    let listed: BTreeSet<String> = listed.into_keys().collect();
    let missing: Vec<_> = expected.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: history lacks {missing:?} and has unexpected {extra:?}"
    );
}

#[test]
fn after_a_partition_heals_every_node_holds_every_post_of_both_halves_once() {
    let Some(mut lab) = Lab::for_test("partition_heals") else {
        return;
    };
    let hosts: Vec<Host> = (0..6)
        .map(|_| lab.add_public_host().expect("a public host"))
        .collect();
    for host in &hosts {
        short_tcp_timeout(host);
    }
    let network = unique_network();
    let dirs: Vec<TempDir> = (0..6)
        .map(|_| tempfile::tempdir().expect("a temporary directory"))
        .collect();
    let names = ["a1", "a2", "a3", "b1", "b2", "b3"];
    let addr = |i: usize| address(&hosts[i]);
    // Hubs (a1 = 0, b1 = 3) bootstrap from everyone; the others from the
    // other half only.
    let bootstrap = |i: usize| -> Vec<String> {
        let (own, other) = if i < 3 { (0..3, 3..6) } else { (3..6, 0..3) };
        let hub = own.start;
        let mut list: Vec<String> = other.map(addr).collect();
        if i == hub {
            list.extend(own.filter(|&j| j != hub).map(addr));
        }
        list
    };
    // Peers each node is connected to once all are up: the hub to its
    // half and the other half, the others to their hub and the other half.
    let degree = |i: usize| if i == 0 || i == 3 { 5 } else { 4 };

    // Started so that every dial that matters finds its target listening:
    // b2, b3, then the hub b1 (its dials to A fail: A connects to it), then
    // a2, a3 (they dial B), then the hub a1.
    let order = [4, 5, 3, 1, 2, 0];
    let mut slots: Vec<Option<Proc>> = (0..6).map(|_| None).collect();
    for i in order {
        slots[i] = Some(Proc::start(
            names[i],
            &hosts[i],
            dirs[i].path(),
            &network,
            &bootstrap(i),
        ));
    }
    let mut nodes: Vec<Proc> = slots.into_iter().map(|p| p.expect("started")).collect();
    let ids: Vec<String> = nodes.iter().map(Proc::peer_id).collect();
    let deadline = Instant::now() + DEADLINE;
    for (i, node) in nodes.iter_mut().enumerate() {
        node.wait("in the channel with all its peers", deadline, |p| {
            p.channel_peers >= degree(i)
        });
    }
    let meshed = Instant::now();

    // Split the network, and post on both sides.
    let (half_a, half_b): (Vec<&Host>, Vec<&Host>) =
        (hosts[..3].iter().collect(), hosts[3..].iter().collect());
    split(&lab, &half_a, &half_b);
    for n in 1..=POSTS_EACH {
        for node in &mut nodes {
            let text = format!("{} post {n} during the partition", node.name());
            node.say(&text);
        }
    }
    let deadline = Instant::now() + DEADLINE;
    for node in &mut nodes {
        node.wait("reporting its own posts", deadline, |p| {
            p.own.len() == POSTS_EACH
        });
    }
    let own_of = |range: std::ops::Range<usize>, nodes: &[Proc]| -> BTreeSet<String> {
        nodes[range]
            .iter()
            .flat_map(|p| p.own.iter().cloned())
            .collect()
    };
    let posts_a = own_of(0..3, &nodes);
    let posts_b = own_of(3..6, &nodes);
    let all: BTreeSet<String> = posts_a.union(&posts_b).cloned().collect();
    assert_eq!(all.len(), 6 * POSTS_EACH, "every post has its own id");

    // Each half holds its own half's posts, and has lost the other half.
    let deadline = Instant::now() + DEADLINE;
    for (i, node) in nodes.iter_mut().enumerate() {
        let (mine, theirs, their_ids) = if i < 3 {
            (&posts_a, &posts_b, &ids[3..])
        } else {
            (&posts_b, &posts_a, &ids[..3])
        };
        node.wait(
            "holding its half's posts and cut off from the other half",
            deadline,
            |p| {
                mine.iter().all(|id| p.posts.contains_key(id))
                    && their_ids.iter().all(|peer| !p.connected.contains(peer))
            },
        );
        node.drain();
        let crossed: Vec<_> = theirs
            .iter()
            .filter(|id| node.posts.contains_key(*id))
            .collect();
        assert!(
            crossed.is_empty(),
            "{}: posts of the other half crossed the partition: {crossed:?}",
            node.name()
        );
    }

    // The partition lasts long enough for a reconnection to be synced
    // (see the module documentation): this wait is the scenario, not a
    // synchronisation.
    std::thread::sleep(PARTITION_LASTS.saturating_sub(meshed.elapsed()));
    let split_for = meshed.elapsed();
    heal(&lab);
    let healed = Instant::now();

    // Nothing is dialled by hand: the nodes redial and sync on their own.
    let deadline = healed + CONVERGE_DEADLINE;
    for node in &mut nodes {
        node.wait("holding every post of both halves", deadline, |p| {
            all.iter().all(|id| p.posts.contains_key(id))
        });
    }
    let mut converged = Duration::ZERO;
    let mut synced = 0;
    for node in &mut nodes {
        node.drain();
        node.assert_each_post_once();
        for id in &all {
            let seen = &node.posts[id];
            converged = converged.max(seen.first.saturating_duration_since(healed));
            if seen.origin == "sync" {
                synced += 1;
            }
        }
    }
    for node in &mut nodes {
        node.stop();
        node.assert_each_post_once();
    }
    for (node, dir) in nodes.iter().zip(&dirs) {
        assert_history(node.name(), &network, dir.path(), &all);
    }
    eprintln!(
        "partition: 6 nodes, {} posts ({POSTS_EACH} a node) during a split of {:.1} s; \
         every node held all of them {:.1} s after healing ({synced} of {} arrivals by \
         history sync), each once in its events and its history",
        all.len(),
        split_for.as_secs_f64(),
        converged.as_secs_f64(),
        3 * all.len(),
    );
}

#[test]
fn a_node_that_was_stopped_gets_everything_posted_meanwhile_when_it_comes_back() {
    let Some(mut lab) = Lab::for_test("stopped_node_catches_up") else {
        return;
    };
    let hosts: Vec<Host> = (0..3)
        .map(|_| lab.add_public_host().expect("a public host"))
        .collect();
    let network = unique_network();
    let dirs: Vec<TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("a temporary directory"))
        .collect();
    let first = [address(&hosts[0])];
    let start = |i: usize, name: &str| {
        let bootstrap: &[String] = if i == 0 { &[] } else { &first };
        Proc::start(name, &hosts[i], dirs[i].path(), &network, bootstrap)
    };
    let mut one = start(0, "one");
    let mut two = start(1, "two");
    let mut away = start(2, "away");
    let deadline = Instant::now() + DEADLINE;
    one.wait("with both peers", deadline, |p| p.channel_peers >= 2);
    two.wait("with its peer", deadline, |p| p.channel_peers >= 1);
    away.wait("with its peer", deadline, |p| p.channel_peers >= 1);

    // A conversation everyone sees.
    for node in [&mut one, &mut two, &mut away] {
        let text = format!("{} says hello", node.name());
        node.say(&text);
    }
    let mut before = BTreeSet::new();
    let deadline = Instant::now() + DEADLINE;
    for node in [&mut one, &mut two, &mut away] {
        node.wait("reporting its post", deadline, |p| p.own.len() == 1);
        before.extend(node.own.iter().cloned());
    }
    for node in [&mut one, &mut two, &mut away] {
        node.wait("holding everyone's hello", deadline, |p| {
            before.iter().all(|id| p.posts.contains_key(id))
        });
    }

    // One goes away; the others go on talking.
    away.stop();
    drop(away);
    for n in 1..=POSTS_EACH {
        for node in [&mut one, &mut two] {
            let text = format!("{} post {n} while away was away", node.name());
            node.say(&text);
        }
    }
    let deadline = Instant::now() + DEADLINE;
    let mut meanwhile = BTreeSet::new();
    for node in [&mut one, &mut two] {
        node.wait("reporting its posts", deadline, |p| {
            p.own.len() == 1 + POSTS_EACH
        });
        meanwhile.extend(node.own[1..].iter().cloned());
    }
    for node in [&mut one, &mut two] {
        node.wait("holding the other's posts", deadline, |p| {
            meanwhile.iter().all(|id| p.posts.contains_key(id))
        });
    }

    // It comes back on the same data directory and catches up.
    let mut back = start(2, "away (back)");
    back.wait(
        "holding every post written while it was away",
        Instant::now() + DEADLINE,
        |p| meanwhile.iter().all(|id| p.posts.contains_key(id)),
    );
    back.drain();
    back.assert_each_post_once();
    for id in &meanwhile {
        assert_eq!(
            back.posts[id].origin, "sync",
            "post {id} missed while away arrives by history sync"
        );
    }
    for node in [&mut one, &mut two, &mut back] {
        node.stop();
        node.assert_each_post_once();
    }
    let everything: BTreeSet<String> = before.union(&meanwhile).cloned().collect();
    assert_history("away (back)", &network, dirs[2].path(), &everything);
}
