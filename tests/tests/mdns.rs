//! Discovery on the LAN through mDNS: two nodes that are given no address
//! of each other (no dial, no bootstrap, nothing stored) find each other by
//! multicast DNS and exchange posts.
//!
//! The LAN is private to the test: two public hosts of a network lab
//! ([`hearth_tests::netlab`]), network namespaces on one bridge with
//! addresses from 198.18.0.0/24 that exist only inside them. Each node runs
//! on a thread that entered its namespace before building its tokio
//! runtime, so every socket it opens (mDNS multicast, netlink for interface
//! discovery, TCP) lives there. No multicast is sent on the machine's real
//! interfaces. The namespaces are deleted when the test ends, also when it
//! fails.
//!
//! The lab needs root, `ip` and `nft`: without them the test prints why and
//! is skipped, except under CI (`CI=true`), where it fails.

#![cfg(target_os = "linux")]

use std::net::Ipv4Addr;

use hearth_node::{Event, Multiaddr, Node, NodeHandle};
use hearth_protocol::NetworkId;
use hearth_tests::netlab::{INTERNET_SUBNET, Lab, Namespace, NsThread};
use hearth_tests::{
    DEADLINE, channel, init_tracing, unique_network, wait_channel_peers, wait_for, wait_until,
};
use libp2p::multiaddr::Protocol;
use tokio::sync::oneshot;

/// A node running on its own thread inside a network namespace. Dropping
/// it stops that thread's runtime (and the node with it) and joins it.
struct NamespacedNode {
    handle: NodeHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<NsThread<()>>,
}

impl NamespacedNode {
    async fn start(namespace: &Namespace, network: &NetworkId) -> NamespacedNode {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let network = network.clone();
        let thread = namespace
            .spawn_runtime(move || async move {
                let started = Node::builder()
                    .persona_stamp_bits(0)
                    .in_memory()
                    .listen("/ip4/0.0.0.0/tcp/0".parse().expect("a valid address"))
                    .mdns(true)
                    .network(network)
                    .start()
                    .await;
                match started {
                    Ok(handle) => {
                        let _ = ready_tx.send(Ok(handle));
                        // Until the test says stop, or drops the sender on
                        // failure.
                        let _ = stop_rx.await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                    }
                }
            })
            .expect("a runtime in the namespace");
        let name = namespace.name();
        NamespacedNode {
            handle: match tokio::time::timeout(DEADLINE, ready_rx).await {
                Ok(Ok(Ok(handle))) => handle,
                Ok(Ok(Err(e))) => panic!("node in {name} did not start: {e}"),
                Ok(Err(_)) => panic!("the thread of the node in {name} ended"),
                Err(_) => panic!("node in {name} not started within {DEADLINE:?}"),
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
            // The runtime ends as soon as the stop channel closes. A panic
            // there has failed the test already; this must not panic again.
            let _ = thread.join_result();
        }
    }
}

/// The IPv4 address of a multiaddr, if it has one.
fn ipv4(address: &Multiaddr) -> Option<Ipv4Addr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(ip),
        _ => None,
    })
}

/// On the lab's internet, 198.18.0.0/24: the LAN of this test.
fn on_test_lan(address: &Multiaddr) -> bool {
    let (subnet, _) = INTERNET_SUBNET;
    ipv4(address).is_some_and(|ip| ip.octets()[..3] == subnet.octets()[..3])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_a_lan_find_each_other_through_mdns() {
    init_tracing();
    let Some(mut lab) = Lab::for_test("nodes_on_a_lan_find_each_other_through_mdns") else {
        return;
    };
    let started = tokio::time::Instant::now();
    let hosts = [
        lab.add_public_host().expect("host a"),
        lab.add_public_host().expect("host b"),
    ];
    let network = unique_network();
    let peer_support = channel("peer-support");

    let a = NamespacedNode::start(&hosts[0].ns, &network).await;
    let b = NamespacedNode::start(&hosts[1].ns, &network).await;
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
    drop(lab);
}
