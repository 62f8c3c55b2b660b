//! Finding the people of a channel through a bootstrap node, and what a
//! node tells others about itself while doing so.
//!
//! - Twenty nodes on loopback, told nothing but the bootstrap address,
//!   spread over three channels: each finds its channel's peers through
//!   the DHT and every post reaches everyone in its channel; no node ever
//!   connects to anyone but the bootstrap node and the people of its own
//!   channel.
//! - A person's node with the default settings announces no address of
//!   its own when the only address it could confirm is a loopback one: its
//!   identify info and its provider record carry nothing; a node allowed
//!   to announce private addresses (`announce_private`, the tests' opt-in)
//!   announces the confirmed loopback address, which shows that the
//!   checks can see addresses at all.

use std::collections::{HashMap, HashSet};

use hearth_node::addresses::without_p2p;
use hearth_node::{Event, Node, NodeHandle, PeerId};
use hearth_protocol::ChannelName;
use hearth_tests::{
    EventLog, address, bootstrap_node, channel, init_tracing, test_node, unique_network,
};

const NODES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_nodes_find_their_channels_through_a_bootstrap_node_and_nobody_else() {
    init_tracing();
    let network = unique_network();
    let channels = [channel("grief"), channel("sleep"), channel("shift-work")];
    let bootstrap = bootstrap_node(&network).start().await.unwrap();
    let boot_id = bootstrap.peer_id();
    let boot_addr = address(&bootstrap).await;

    // Started without a channel and joined once the log records, so that
    // every connection to anyone but the bootstrap node is in the log.
    let mut nodes: Vec<(NodeHandle, EventLog, ChannelName)> = Vec::new();
    for i in 0..NODES {
        let node = test_node(&network)
            .bootstrap(boot_addr.clone())
            .start()
            .await
            .unwrap();
        let log = EventLog::record(node.events());
        nodes.push((node, log, channels[i % channels.len()].clone()));
    }
    for (node, _, ch) in &nodes {
        node.join(ch.clone()).await.unwrap();
    }
    let members: HashMap<ChannelName, HashSet<PeerId>> = channels
        .iter()
        .map(|ch| {
            let ids = nodes
                .iter()
                .filter(|(_, _, c)| c == ch)
                .map(|(n, _, _)| n.peer_id())
                .collect();
            (ch.clone(), ids)
        })
        .collect();

    for (node, log, ch) in &nodes {
        log.wait_for(
            &format!("a peer in {ch} at {}", node.peer_id()),
            |e| match e {
                Event::ChannelPeers { channel, peers } if channel == ch && *peers >= 1 => Some(()),
                _ => None,
            },
        )
        .await;
    }

    // Everyone writes once; everyone in the channel reads every post.
    let mut posts: Vec<(hearth_protocol::MessageId, ChannelName)> = Vec::new();
    for (i, (node, _, ch)) in nodes.iter().enumerate() {
        let sent = node
            .publish(ch.clone(), format!("hello from node {i}"))
            .await
            .unwrap();
        posts.push((sent.id, ch.clone()));
    }
    for (node, log, ch) in &nodes {
        for (id, post_channel) in &posts {
            if post_channel != ch {
                continue;
            }
            let own = log
                .events()
                .iter()
                .any(|(_, e)| matches!(e, Event::Post(r) if r.id == *id && r.own));
            if own {
                continue;
            }
            log.wait_for(&format!("post {id} at {}", node.peer_id()), |e| match e {
                Event::Post(r) if r.id == *id => Some(()),
                _ => None,
            })
            .await;
        }
        // Nobody saw a post of another channel.
        for (_, event) in log.events() {
            if let Event::Post(r) = event {
                assert_eq!(&r.post.channel, ch, "a post of another channel arrived");
            }
        }
    }

    // Every connection each node ever had: the bootstrap node or someone
    // of its own channel.
    for (node, log, ch) in &nodes {
        let allowed = &members[ch];
        for (_, event) in log.events() {
            if let Event::PeerConnected { peer, address } = event {
                assert!(
                    peer == boot_id || allowed.contains(&peer),
                    "{} ({ch}) connected to {peer} at {address}, outside its channel",
                    node.peer_id()
                );
            }
        }
        for peer in node.peers().await.unwrap() {
            assert!(peer.peer == boot_id || allowed.contains(&peer.peer));
        }
    }
    let boot_channels = bootstrap.channels().await.unwrap();
    assert!(boot_channels.is_empty(), "the bootstrap node joins nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_node_announces_no_loopback_or_private_address_of_its_own() {
    init_tracing();
    let network = unique_network();
    let ch = channel("insomnia");
    // No relay here: a circuit address would carry the relay's (loopback)
    // address, and this test is about the node's own.
    let bootstrap = bootstrap_node(&network)
        .relay_server(None)
        .start()
        .await
        .unwrap();
    let boot_log = EventLog::record(bootstrap.events());
    let boot_addr = address(&bootstrap).await;

    // A person's node as it comes, but on loopback, without mDNS and
    // asking no persona stamp (the test nodes make none).
    let default = Node::builder()
        .persona_stamp_bits(0)
        .in_memory()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .mdns(false)
        .network(network.clone())
        .bootstrap(boot_addr.clone())
        .start()
        .await
        .unwrap();
    let default_log = EventLog::record(default.events());
    // The control: allowed to announce private addresses.
    let control = test_node(&network)
        .bootstrap(boot_addr)
        .start()
        .await
        .unwrap();
    let control_log = EventLog::record(control.events());
    default.join(ch.clone()).await.unwrap();
    control.join(ch.clone()).await.unwrap();

    // The AutoNAT server dials both back on loopback; only the control
    // may announce what it confirmed.
    let (_, confirmed) = control_log
        .wait_for("the control's confirmed address", |e| match e {
            Event::AddressAnnounced { address } => Some(address.clone()),
            _ => None,
        })
        .await;
    assert!(
        confirmed.to_string().starts_with("/ip4/127.0.0.1/tcp/"),
        "{confirmed}"
    );
    // The default node learns it is reachable at a loopback address only:
    // unreachable as far as the network is concerned.
    hearth_tests::eventually("the default node's AutoNAT verdict", || async {
        default.status().await.unwrap().reachable == Some(false)
    })
    .await;

    // The bootstrap node holds both provider records; the control's
    // carries its address, the default node's none.
    hearth_tests::eventually("the control's provider record with its address", || async {
        bootstrap
            .dht_providers(ch.clone())
            .await
            .unwrap()
            .iter()
            .any(|p| {
                p.peer == control.peer_id()
                    && p.addresses
                        .iter()
                        .any(|a| without_p2p(a.clone()) == confirmed)
            })
    })
    .await;
    let providers = bootstrap.dht_providers(ch.clone()).await.unwrap();
    let of_default = providers
        .iter()
        .find(|p| p.peer == default.peer_id())
        .unwrap_or_else(|| panic!("the default node's record: {providers:?}"));
    assert!(
        of_default.addresses.is_empty(),
        "the default node's provider record: {:?}",
        of_default.addresses
    );

    // identify: the control pushed its confirmed address; the default node
    // never sent one.
    boot_log
        .wait_for("the control's address in identify", |e| match e {
            Event::PeerIdentified {
                peer, listen_addrs, ..
            } if *peer == control.peer_id()
                && listen_addrs
                    .iter()
                    .any(|a| without_p2p(a.clone()) == confirmed) =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
    let mut identified = 0;
    for (_, event) in boot_log.events() {
        if let Event::PeerIdentified {
            peer, listen_addrs, ..
        } = event
            && peer == default.peer_id()
        {
            identified += 1;
            assert!(
                listen_addrs.is_empty(),
                "default node announced {listen_addrs:?}"
            );
        }
    }
    assert!(
        identified >= 1,
        "the bootstrap node identified the default node"
    );
    let status = default.status().await.unwrap();
    assert!(
        status.announced_addrs.is_empty(),
        "{:?}",
        status.announced_addrs
    );
    assert!(
        !default_log
            .events()
            .iter()
            .any(|(_, e)| matches!(e, Event::AddressAnnounced { .. })),
        "the default node announced an address"
    );
}
