//! Two people behind home routers, each knowing only a bootstrap node on
//! the internet, meet in a channel: first through the bootstrap node's
//! relay, then, where the routers allow, directly (hole punching, DCUtR).
//!
//! The lab ([`hearth_tests::netlab`]): a public host at 198.18.0.1 runs
//! the bootstrap node (DHT, AutoNAT and relay server); homes 1 and 2 each
//! have a router doing NAT (masquerade, forwarding only connections the
//! home opened) and a host behind it running a person's node. The two
//! people's nodes are told nothing but the bootstrap address.
//!
//! What a person's node does (`node/src/service/reach.rs`): the bootstrap
//! node's identify shows it a translated address, so it reserves a relay
//! slot at once and announces the circuit address in its provider record;
//! the other finds it in the DHT and dials the circuit; DCUtR then tries a
//! direct connection.
//!
//! Two kinds of router:
//! - routers that drop unsolicited packets to themselves, like most home
//!   routers: the hole punch works, a direct connection replaces the
//!   relayed one, and posts keep flowing over it;
//! - routers that answer them (Linux's default: TCP RST): on these
//!   zero-latency links the peer's SYN reaches the router a fraction of a
//!   millisecond before the home's own SYN has left, and is reset, which
//!   ends the hole punch (measured 0 of 7 in the prototype). The relayed
//!   connection stays and carries the posts.
//!
//! The times printed are from the moment both nodes were started.
//! Root, `ip` and `nft` are needed: without them the tests are skipped
//! with a printed line, except under CI (`CI=true`), where they fail.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use hearth_node::{Event, Multiaddr, Node, NodeBuilder, PeerId};
use hearth_protocol::{ChannelName, NetworkId};
use hearth_tests::netlab::{Lab, Unsolicited};
use hearth_tests::{LabNode, channel, eventually, init_tracing, unique_network};
use libp2p::multiaddr::Protocol;

/// How long the first post may take, relay included: the figure.
const FIRST_POST: Duration = Duration::from_secs(10);

fn is_relayed(address: &Multiaddr) -> bool {
    address.iter().any(|p| p == Protocol::P2pCircuit)
}

/// A person's node in a lab home: listening on every interface of its
/// host, knowing only the bootstrap node, in `channel` from the start.
/// The lab's addresses (198.18.0.0/15) are not globally routable, so it
/// may announce them (`announce_private`); nothing else differs from a
/// person's node.
fn person(network: &NetworkId, bootstrap: &Multiaddr, channel: &ChannelName) -> NodeBuilder {
    Node::builder()
        .persona_stamp_bits(0)
        .in_memory()
        .listen("/ip4/0.0.0.0/tcp/0".parse().expect("a valid address"))
        .mdns(false)
        .network(network.clone())
        .announce_private(true)
        .bootstrap(bootstrap.clone())
        .channel(channel.clone())
}

/// Where two people's nodes ended up after meeting.
struct Outcome {
    hole_punched: bool,
}

/// Runs the meeting in a lab whose routers do `unsolicited`.
async fn meet_behind_nats(test: &str, unsolicited: Unsolicited) -> Option<Outcome> {
    init_tracing();
    let mut lab = Lab::for_test(test)?;
    let public = lab.add_public_host().expect("the public host");
    let homes = [
        lab.add_home_with(1, unsolicited).expect("home 1"),
        lab.add_home_with(2, unsolicited).expect("home 2"),
    ];
    let network = unique_network();
    let support = channel("night-shift");

    let listen: Multiaddr = format!("/ip4/{}/tcp/4001", public.addr)
        .parse()
        .expect("a valid address");
    let bootstrap = LabNode::start(
        &public.ns,
        Node::builder()
            .persona_stamp_bits(0)
            .in_memory()
            .listen(listen.clone())
            .mdns(false)
            .network(network.clone())
            .dht_server(true)
            .autonat_server(true)
            .relay_server(Some(hearth_node::RelayServerLimits::default()))
            .relay_client(false)
            .announce_listen_addrs(true)
            .announce_private(true),
    )
    .await;
    let boot_addr = listen.with(Protocol::P2p(bootstrap.handle.peer_id()));

    let started = Instant::now();
    let a = LabNode::start(&homes[0].host.ns, person(&network, &boot_addr, &support)).await;
    let b = LabNode::start(&homes[1].host.ns, person(&network, &boot_addr, &support)).await;
    let (a_id, b_id) = (a.handle.peer_id(), b.handle.peer_id());
    let since = |at: Instant| at.saturating_duration_since(started);

    // Each home is behind a NAT: each reserves a slot on the relay and
    // announces the circuit address, never its home address.
    for (node, home) in [(&a, &homes[0]), (&b, &homes[1])] {
        let (at, address) = node
            .log
            .wait_for("a relay circuit address announced", |e| match e {
                Event::AddressAnnounced { address } if is_relayed(address) => Some(address.clone()),
                _ => None,
            })
            .await;
        eprintln!(
            "{test}: home {} reachable through the relay after {:?} at {address}",
            home.n,
            since(at)
        );
        let status = node.handle.status().await.expect("status");
        assert_eq!(status.reachable, Some(false), "behind a NAT: {status:?}");
        let home_ip = home.host.addr.to_string();
        assert!(
            status
                .announced_addrs
                .iter()
                .all(|a| is_relayed(a) && !a.to_string().contains(&home_ip)),
            "only circuit addresses are announced: {:?}",
            status.announced_addrs
        );
    }

    // They find each other in the DHT; the first connection goes through
    // the relay (nothing else can reach a home).
    let (met, first) = a
        .log
        .wait_for("a connection between the two homes", |e| match e {
            Event::PeerConnected { peer, address } if *peer == b_id => Some(address.clone()),
            _ => None,
        })
        .await;
    assert!(
        is_relayed(&first),
        "the first connection between the homes is relayed: {first}"
    );
    eprintln!("{test}: connected through the relay after {:?}", since(met));

    // Posts both ways.
    let hello = a
        .handle
        .publish(support.clone(), "anyone else awake?")
        .await
        .expect("a publishes");
    let (got_hello, ()) = b
        .log
        .wait_within(FIRST_POST, "a's post at b", |e| match e {
            Event::Post(r) if r.id == hello.id => Some(()),
            _ => None,
        })
        .await;
    let reply = b
        .handle
        .publish(support.clone(), "yes, here")
        .await
        .expect("b publishes");
    let (got_reply, ()) = a
        .log
        .wait_within(FIRST_POST, "b's post at a", |e| match e {
            Event::Post(r) if r.id == reply.id => Some(()),
            _ => None,
        })
        .await;
    eprintln!(
        "{test}: first post at b after {:?}, the reply at a after {:?}",
        since(got_hello),
        since(got_reply)
    );

    // What did hole punching do? Either node may report it.
    let punch = |log: &hearth_tests::EventLog, other: PeerId| {
        let log = log.clone();
        async move {
            log.wait_for("the end of the hole punch", move |e| match e {
                Event::HolePunched { peer, address } if *peer == other => {
                    Some(Some(address.clone()))
                }
                Event::HolePunchFailed { peer } if *peer == other => Some(None),
                _ => None,
            })
            .await
        }
    };
    let (punched_at, direct) = tokio::select! {
        found = punch(&a.log, b_id) => found,
        found = punch(&b.log, a_id) => found,
    };
    let hole_punched = direct.is_some();
    match &direct {
        Some(address) => {
            assert!(!is_relayed(address), "{address}");
            eprintln!(
                "{test}: hole punched after {:?}: direct to {address}",
                since(punched_at)
            );
            if got_hello < punched_at {
                eprintln!("{test}: the first post arrived before the direct connection existed");
            }
        }
        None => eprintln!(
            "{test}: hole punching failed after {:?}; the relay carries the channel",
            since(punched_at)
        ),
    }

    // The connections now: direct only after a hole punch (the relayed
    // one is closed), still relayed otherwise.
    for (node, other) in [(&a, b_id), (&b, a_id)] {
        eventually("the connections to settle", || {
            let handle = node.handle.clone();
            async move {
                let peers = handle.peers().await.expect("peers");
                let Some(found) = peers.iter().find(|p| p.peer == other) else {
                    return false;
                };
                let relayed = found.addresses.iter().filter(|a| is_relayed(a)).count();
                let direct = found.addresses.len() - relayed;
                if hole_punched {
                    relayed == 0 && direct >= 1
                } else {
                    relayed >= 1
                }
            }
        })
        .await;
    }

    // Posts still flow, both ways, over what is left.
    for (from, to, text) in [
        (&a, &b, "still there?"),
        (&b, &a, "still here, now directly or not"),
    ] {
        let sent = from
            .handle
            .publish(support.clone(), text)
            .await
            .expect("publishes");
        let (at, ()) = to
            .log
            .wait_for("a post after the hole punch", |e| match e {
                Event::Post(r) if r.id == sent.id => Some(()),
                _ => None,
            })
            .await;
        eprintln!("{test}: '{text}' arrived after {:?}", since(at));
    }

    drop((a, b, bootstrap));
    drop(lab);
    Some(Outcome { hole_punched })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_home_routers_posts_go_through_the_relay_then_directly() {
    let Some(outcome) = meet_behind_nats("nat_dropping_routers", Unsolicited::Dropped).await else {
        return;
    };
    assert!(
        outcome.hole_punched,
        "routers that drop unsolicited packets let hole punching through"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_routers_that_reset_the_relay_keeps_carrying_the_channel() {
    let Some(outcome) = meet_behind_nats("nat_answering_routers", Unsolicited::Answered).await
    else {
        return;
    };
    // Which of the two happened is printed; both are asserted above to
    // leave a working channel. On these links it is the relay (the
    // router resets the peer's SYN before its own leaves).
    eprintln!(
        "hole punched with answering routers: {}",
        outcome.hole_punched
    );
}
