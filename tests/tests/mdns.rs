//! Discovery on the LAN through mDNS: two nodes that are given no address
//! of each other (no dial, no bootstrap, nothing stored) find each other by
//! multicast DNS and exchange posts.
//!
//! The LAN is private to the test: two network namespaces joined by a veth
//! pair, with addresses from 10.231.0.0/16 that exist only inside them. Each
//! node runs on a thread that moved into its namespace with `setns` before
//! building its tokio runtime, so every socket it opens (mDNS multicast,
//! netlink for interface discovery, TCP) lives there. No multicast is sent
//! on the machine's real interfaces. The namespaces are deleted when the
//! test ends, also when it fails.
//!
//! Creating namespaces needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the
//! `ip` tool; without them the test says why on stderr and passes without
//! running. CI runs it as root.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::Command;
use std::thread::JoinHandle;

use hearth_node::{Event, Multiaddr, Node, NodeHandle};
use hearth_protocol::NetworkId;
use hearth_tests::{
    DEADLINE, channel, init_tracing, unique_network, wait_channel_peers, wait_for, wait_until,
};
use libp2p::multiaddr::Protocol;
use nix::sched::{CloneFlags, setns};
use tokio::sync::oneshot;

/// The private subnet of the test LAN: `.1` in one namespace, `.2` in the
/// other.
const SUBNET: [u8; 3] = [10, 231, 7];

/// Why this test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("not running as root: creating network namespaces needs root".into());
    }
    // Root in a container may lack the capabilities all the same.
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    for (cap, name) in [
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
    ] {
        if effective & (1 << cap) == 0 {
            return Some(format!(
                "root, but without {name}: cannot create network namespaces"
            ));
        }
    }
    match Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`ip -V` failed ({}): iproute2 is needed",
            out.status
        )),
        Err(e) => Some(format!("the `ip` tool (iproute2) is missing: {e}")),
    }
}

/// Runs `ip` with `args`; the error says what failed.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two network namespaces joined by a veth pair; deleted on drop (which
/// also deletes the veth pair inside them).
struct Lan {
    namespaces: Vec<String>,
}

impl Lan {
    /// Names unique to this process, so parallel or leftover runs never
    /// clash. Interface names stay under the kernel's 15 bytes.
    fn create() -> Result<Lan, String> {
        let pid = std::process::id();
        let names = [
            format!("hearth-mdns-{pid}-a"),
            format!("hearth-mdns-{pid}-b"),
        ];
        let links = [format!("hm{pid}a"), format!("hm{pid}b")];
        let mut lan = Lan {
            namespaces: Vec::new(),
        };
        for name in &names {
            // A namespace left by an earlier process with this pid.
            let _ = ip(&["netns", "del", name]);
            ip(&["netns", "add", name])?;
            lan.namespaces.push(name.clone());
        }
        // Both ends are created directly inside their namespaces: nothing
        // appears in the host's namespace, not even for a moment.
        ip(&[
            "link", "add", &links[0], "netns", &names[0], "type", "veth", "peer", "name",
            &links[1], "netns", &names[1],
        ])?;
        for (i, (name, link)) in names.iter().zip(&links).enumerate() {
            let [a, b, c] = SUBNET;
            let cidr = format!("{a}.{b}.{c}.{}/24", i + 1);
            ip(&["-n", name, "addr", "add", &cidr, "dev", link])?;
            ip(&["-n", name, "link", "set", "lo", "up"])?;
            ip(&["-n", name, "link", "set", link, "up"])?;
        }
        Ok(lan)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for name in &self.namespaces {
            if let Err(e) = ip(&["netns", "del", name]) {
                eprintln!("cleaning up the test LAN: {e}");
            }
        }
    }
}

/// A node running on its own thread inside a network namespace. Dropping
/// it stops that thread's runtime (and the node with it) and joins it.
struct NamespacedNode {
    handle: NodeHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl NamespacedNode {
    async fn start(namespace: &str, network: &NetworkId) -> NamespacedNode {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let path = format!("/var/run/netns/{namespace}");
        let network = network.clone();
        let thread = std::thread::Builder::new()
            .name(format!("node in {namespace}"))
            .spawn(move || run_in_namespace(&path, network, ready_tx, stop_rx))
            .expect("a thread for the node");
        NamespacedNode {
            handle: match tokio::time::timeout(DEADLINE, ready_rx).await {
                Ok(Ok(Ok(handle))) => handle,
                Ok(Ok(Err(e))) => panic!("node in {namespace} did not start: {e}"),
                Ok(Err(_)) => panic!("the thread of the node in {namespace} ended"),
                Err(_) => panic!("node in {namespace} not started within {DEADLINE:?}"),
            },
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for NamespacedNode {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The body of a node's thread: enter the namespace, then build the runtime
/// (its threads and sockets inherit the namespace) and run the node until
/// told to stop.
fn run_in_namespace(
    path: &str,
    network: NetworkId,
    ready: oneshot::Sender<Result<NodeHandle, String>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = File::open(path)
        .map_err(|e| format!("open {path}: {e}"))
        .and_then(|ns| {
            setns(&ns, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {path}: {e}"))
        })
        .and_then(|()| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("runtime: {e}"))
        });
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        let started = Node::builder()
            .in_memory()
            .listen("/ip4/0.0.0.0/tcp/0".parse().expect("a valid address"))
            .mdns(true)
            .network(network)
            .start()
            .await;
        match started {
            Ok(handle) => {
                let _ = ready.send(Ok(handle));
                // Until the test says stop, or drops the sender on failure.
                let _ = stop.await;
            }
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
            }
        }
    });
}

/// The IPv4 address of a multiaddr, if it has one.
fn ipv4(address: &Multiaddr) -> Option<Ipv4Addr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(ip),
        _ => None,
    })
}

fn on_test_lan(address: &Multiaddr) -> bool {
    ipv4(address).is_some_and(|ip| ip.octets()[..3] == SUBNET)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_a_lan_find_each_other_through_mdns() {
    init_tracing();
    if let Some(why) = skip_reason() {
        // Straight to stderr, past the test harness's output capture, so the
        // skip is visible in a passing run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED nodes_on_a_lan_find_each_other_through_mdns: {why}"
        );
        return;
    }
    let started = tokio::time::Instant::now();
    let lan = Lan::create().expect("the test LAN is set up");
    let network = unique_network();
    let peer_support = channel("peer-support");

    let a = NamespacedNode::start(&lan.namespaces[0], &network).await;
    let b = NamespacedNode::start(&lan.namespaces[1], &network).await;
    let (a_node, b_node) = (&a.handle, &b.handle);
    // Each node sees only its namespace's interfaces: the test LAN and its
    // own loopback, so mDNS (which finds interfaces the same way) cannot
    // multicast anywhere else. Neither is told anything about the other.
    for node in [a_node, b_node] {
        let addrs = node.listen_addrs().await.expect("node answers");
        assert!(
            addrs.iter().any(on_test_lan),
            "not on the test LAN: {addrs:?}"
        );
        assert!(
            addrs
                .iter()
                .all(|a| on_test_lan(a) || ipv4(a).is_some_and(|ip| ip.is_loopback())),
            "a node outside its namespace: {addrs:?}"
        );
    }
    let mut a_events = a_node.events();
    let mut b_events = b_node.events();

    // if-watch reports the veth address, mDNS queries and answers on it,
    // and each node dials the other as soon as it hears of it: connected
    // within the deadline, usually in a few ms. Both at once is common,
    // and must not end in a failed TCP simultaneous open.
    for (node, events, other) in [
        (a_node, &mut a_events, b_node.peer_id()),
        (b_node, &mut b_events, a_node.peer_id()),
    ] {
        wait_until(events, &format!("a connection to {other}"), || async {
            node.peers()
                .await
                .is_ok_and(|peers| peers.iter().any(|p| p.peer == other))
        })
        .await;
    }
    let discovered = started.elapsed();

    // Joining after the peers connected, as on a LAN where nodes find each
    // other at start: each must count the other, which announced the
    // channel before it joined it.
    a_node.join(peer_support.clone()).await.expect("a joins");
    b_node.join(peer_support.clone()).await.expect("b joins");
    wait_channel_peers(a_node, &mut a_events, &peer_support, 1).await;
    wait_channel_peers(b_node, &mut b_events, &peer_support, 1).await;
    for (node, other) in [(a_node, b_node), (b_node, a_node)] {
        let peers = node.peers().await.expect("node answers");
        let found = peers
            .iter()
            .find(|p| p.peer == other.peer_id())
            .unwrap_or_else(|| panic!("{} not among the peers: {peers:?}", other.peer_id()));
        assert!(
            found.addresses.iter().any(on_test_lan),
            "connected, but not over the test LAN: {found:?}"
        );
        assert_eq!(found.channels, vec![peer_support.clone()]);
    }

    let sent = a_node
        .publish(peer_support.clone(), "is anyone on this network?")
        .await
        .expect("a publishes");
    assert_eq!(sent.peers, 1);
    let got = wait_for(&mut b_events, "a's post at b", |e| match e {
        Event::Post(record) if record.id == sent.id => Some((**record).clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.post.body, "is anyone on this network?");
    let reply = b_node
        .publish(peer_support.clone(), "yes, one room over")
        .await
        .expect("b publishes");
    let got = wait_for(&mut a_events, "b's post at a", |e| match e {
        Event::Post(record) if record.id == reply.id => Some((**record).clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        got.post.author,
        b_node.persona(peer_support).await.expect("persona").key
    );

    a_node.shutdown().await.expect("a stops");
    b_node.shutdown().await.expect("b stops");
    eprintln!(
        "mDNS discovery took {discovered:?}; the whole test {:?}",
        started.elapsed()
    );
    // The nodes' threads are joined, then the namespaces deleted, in this
    // order also when an assertion above fails: drops run in reverse.
    drop((a, b));
    drop(lan);
}
