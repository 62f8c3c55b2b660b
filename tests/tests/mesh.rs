//! Nodes exchanging posts over real TCP on loopback.

use hearth_node::{Event, HistoryQuery};
use hearth_tests::{
    address, bootstrap_node, channel, init_tracing, start, test_node, unique_network,
    wait_channel_peers, wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_a_post() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let a = start(&network).await;
    let b = start(&network).await;
    let mut a_events = a.events();
    let mut b_events = b.events();
    a.join(anxiety.clone()).await.unwrap();
    b.join(anxiety.clone()).await.unwrap();
    b.dial(address(&a).await).await.unwrap();
    wait_channel_peers(&a, &mut a_events, &anxiety, 1).await;
    wait_channel_peers(&b, &mut b_events, &anxiety, 1).await;

    let sent = a.publish(anxiety.clone(), "anyone awake?").await.unwrap();
    assert_eq!(sent.peers, 1);
    let got = wait_for(&mut b_events, "the post at b", |e| match e {
        Event::Post(record) if record.id == sent.id => Some(record.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.post.body, "anyone awake?");
    assert!(!got.own);
    assert!(got.verdict.is_none());
    let persona = a.persona(anxiety.clone()).await.unwrap();
    assert_eq!(got.post.author, persona.key);

    let history = b.history(anxiety, HistoryQuery::default()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, sent.id);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middle_of_a_line_of_three_relays() {
    init_tracing();
    let network = unique_network();
    let grief = channel("grief/es");
    let (a, b, c) = (
        start(&network).await,
        start(&network).await,
        start(&network).await,
    );
    let mut a_events = a.events();
    let mut b_events = b.events();
    let mut c_events = c.events();
    for node in [&a, &b, &c] {
        node.join(grief.clone()).await.unwrap();
    }
    // a - b - c: a and c never connect to each other.
    a.dial(address(&b).await).await.unwrap();
    c.dial(address(&b).await).await.unwrap();
    wait_channel_peers(&b, &mut b_events, &grief, 2).await;
    wait_channel_peers(&a, &mut a_events, &grief, 1).await;
    wait_channel_peers(&c, &mut c_events, &grief, 1).await;

    let sent = a
        .publish(grief.clone(), "it has been a year today")
        .await
        .unwrap();
    let at_c = wait_for(&mut c_events, "a's post at c", |e| match e {
        Event::Post(r) if r.id == sent.id => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(at_c.post.body, "it has been a year today");
    let a_peer = a.peer_id();
    let c_peers: Vec<_> = c
        .peers()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.peer)
        .collect();
    assert!(
        !c_peers.contains(&a_peer),
        "a and c must not be connected directly"
    );

    // And back the other way.
    let reply = c.publish(grief.clone(), "I remember too").await.unwrap();
    wait_for(&mut a_events, "c's post at a", |e| match e {
        Event::Post(r) if r.id == reply.id => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_nodes_each_receive_every_post_exactly_once() {
    init_tracing();
    const N: usize = 10;
    let network = unique_network();
    let lonely = channel("loneliness");
    let mut nodes = Vec::new();
    for _ in 0..N {
        nodes.push(start(&network).await);
    }
    let mut streams: Vec<_> = nodes.iter().map(|n| n.events()).collect();
    for node in &nodes {
        node.join(lonely.clone()).await.unwrap();
    }
    // A ring with one chord per node: every node has 3-4 neighbours, and
    // most pairs are several hops apart, so posts must be relayed.
    for i in 0..N {
        let next = address(&nodes[(i + 1) % N]).await;
        nodes[i].dial(next).await.unwrap();
        if i % 2 == 0 {
            let across = address(&nodes[(i + N / 2) % N]).await;
            nodes[i].dial(across).await.unwrap();
        }
    }
    for (node, events) in nodes.iter().zip(streams.iter_mut()) {
        wait_channel_peers(node, events, &lonely, 2).await;
    }

    let mut ids = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let sent = node
            .publish(lonely.clone(), format!("hello from node {i}"))
            .await
            .unwrap();
        assert!(sent.peers >= 2);
        ids.push(sent.id);
    }
    // Every node sees all N posts (its own included) and then none twice:
    // count Post events until every id was seen, then ask the store.
    for (i, events) in streams.iter_mut().enumerate() {
        let mut seen = std::collections::HashMap::new();
        wait_for(events, &format!("all posts at node {i}"), |e| {
            if let Event::Post(r) = e {
                *seen.entry(r.id).or_insert(0usize) += 1;
            }
            (ids.iter().all(|id| seen.contains_key(id))).then_some(())
        })
        .await;
        assert!(
            seen.values().all(|&n| n == 1),
            "node {i} saw a post more than once: {seen:?}"
        );
    }
    // A last round: each node publishes once more; by the time every node
    // has all of those, any late duplicate of the first round would have
    // arrived (gossip is ordered per connection) and shown up as an event.
    let mut last = Vec::new();
    for node in &nodes {
        last.push(node.publish(lonely.clone(), "goodnight").await.unwrap().id);
    }
    for (i, events) in streams.iter_mut().enumerate() {
        let mut pending: std::collections::HashSet<_> = last.iter().copied().collect();
        wait_for(events, &format!("last round at node {i}"), |e| {
            if let Event::Post(r) = e {
                assert!(
                    !ids.contains(&r.id),
                    "node {i} got a first-round post twice"
                );
                assert!(
                    pending.remove(&r.id),
                    "node {i} got a last-round post twice"
                );
            }
            pending.is_empty().then_some(())
        })
        .await;
    }
    for node in &nodes {
        let history = node
            .history(lonely.clone(), HistoryQuery::default())
            .await
            .unwrap();
        assert_eq!(history.len(), 2 * N);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_written_alone_reaches_a_node_that_joins_later() {
    init_tracing();
    let network = unique_network();
    let recovery = channel("recovery");
    let a = start(&network).await;
    let mut a_events = a.events();
    a.join(recovery.clone()).await.unwrap();
    let sent = a.publish(recovery.clone(), "day 30 sober").await.unwrap();
    assert_eq!(sent.peers, 0, "nobody is there yet");
    assert_eq!(a.status().await.unwrap().pending_posts, 1);

    let b = start(&network).await;
    let mut b_events = b.events();
    b.join(recovery.clone()).await.unwrap();
    b.dial(address(&a).await).await.unwrap();
    let got = wait_for(&mut b_events, "the early post at b", |e| match e {
        Event::Post(r) if r.id == sent.id => Some(r.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.post.body, "day 30 sober");
    wait_for(&mut a_events, "a's sent event", |e| match e {
        Event::Sent { id, peers, .. } if *id == sent.id && *peers >= 1 => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(a.status().await.unwrap().pending_posts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_find_each_other_through_a_bootstrap_node_outside_the_channel() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let bootstrap = bootstrap_node(&network).start().await.unwrap();
    let boot_addr = address(&bootstrap).await;
    let a = test_node(&network)
        .bootstrap(boot_addr.clone())
        .start()
        .await
        .unwrap();
    let b = test_node(&network)
        .bootstrap(boot_addr)
        .start()
        .await
        .unwrap();
    let mut a_events = a.events();
    let mut b_events = b.events();
    a.join(anxiety.clone()).await.unwrap();
    b.join(anxiety.clone()).await.unwrap();
    // Nobody dials anybody: the DHT provider records under the channel's
    // rendezvous key bring a and b together.
    wait_channel_peers(&a, &mut a_events, &anxiety, 1).await;
    wait_channel_peers(&b, &mut b_events, &anxiety, 1).await;
    let boot_channels = bootstrap.channels().await.unwrap();
    assert!(boot_channels.is_empty(), "the bootstrap node never joins");

    let sent = b.publish(anxiety.clone(), "found you").await.unwrap();
    assert!(sent.peers >= 1);
    wait_for(&mut a_events, "b's post at a", |e| match e {
        Event::Post(r) if r.id == sent.id => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_talk_over_quic() {
    init_tracing();
    let network = unique_network();
    let quic: hearth_node::Multiaddr = "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap();
    let start_quic = || {
        hearth_node::Node::builder()
            .persona_stamp_bits(0)
            .in_memory()
            .listen(quic.clone())
            .mdns(false)
            .network(network.clone())
            .start()
    };
    let a = start_quic().await.unwrap();
    let b = start_quic().await.unwrap();
    let a_addr = address(&a).await;
    assert!(a_addr.to_string().contains("/quic-v1/"), "{a_addr}");
    let ch = channel("anxiety");
    let mut b_events = b.events();
    a.join(ch.clone()).await.unwrap();
    b.join(ch.clone()).await.unwrap();
    b.dial(a_addr).await.unwrap();
    wait_channel_peers(&b, &mut b_events, &ch, 1).await;
    let mut a_events = a.events();
    wait_channel_peers(&a, &mut a_events, &ch, 1).await;
    let sent = a.publish(ch, "over quic").await.unwrap();
    wait_for(&mut b_events, "the quic post", |e| match e {
        Event::Post(r) if r.id == sent.id => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_in_more_than_a_hundred_channels_still_meet_in_each() {
    init_tracing();
    // gossipsub's default subscription filter drops subscription messages
    // with more than 100 topics; hearth's must not.
    const CHANNELS: usize = 150;
    let network = unique_network();
    let a = start(&network).await;
    let b = start(&network).await;
    let names: Vec<_> = (0..CHANNELS)
        .map(|i| channel(&format!("topic-{i}")))
        .collect();
    for name in &names {
        a.join(name.clone()).await.unwrap();
        b.join(name.clone()).await.unwrap();
    }
    let mut b_events = b.events();
    b.dial(address(&a).await).await.unwrap();
    let last = names.last().unwrap().clone();
    wait_channel_peers(&b, &mut b_events, &last, 1).await;
    let counts = b.channels().await.unwrap();
    assert_eq!(counts.len(), CHANNELS);
    assert!(
        counts.iter().all(|c| c.peers == 1),
        "every channel has its peer"
    );
    let sent = a.publish(last.clone(), "still here").await.unwrap();
    assert_eq!(sent.peers, 1);
    wait_for(&mut b_events, "a post in the 150th channel", |e| match e {
        Event::Post(r) if r.id == sent.id => Some(()),
        _ => None,
    })
    .await;
}
