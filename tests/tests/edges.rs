//! The edges of a node under attack, over real loopback libp2p: bans that
//! survive a new peer id and a restart, a banned peer's redial storm
//! refused before handshakes, inbound slots that keep room for a late
//! joiner, and the per-channel byte budget and post count under floods.
//!
//! The attackers are raw libp2p swarms with only gossipsub, anonymous like
//! hearth's (as in `hostile.rs`). Everything here runs on 127.0.0.1, so
//! every peer shares one address: exactly the NAT case the address ban
//! must handle (known peers of a banned address keep their place).

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use hearth_node::{
    AdmissionLimits, Event, EventStream, HistoryQuery, Multiaddr, NodeHandle, NodeLimits, PeerId,
    Retention,
};
use hearth_protocol::{ChannelName, Keypair, MessageId, NetworkId, PostDraft};
use hearth_tests::raw;
use hearth_tests::{
    DEADLINE, address, channel, eventually, init_tracing, now_ms, scrape, test_node,
    unique_network, wait_for,
};
use libp2p::Swarm;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::swarm::SwarmEvent;
use rand::RngExt;

fn persona() -> Keypair {
    Keypair::from_secret_bytes(rand::rng().random())
}

/// A signed post in `channel` by a fresh persona.
fn signed_post(network: &NetworkId, channel: &ChannelName, text: &str) -> (MessageId, Vec<u8>) {
    let signed = PostDraft::new(channel.clone(), text, now_ms())
        .sign(&persona(), network, 0)
        .expect("a valid post signs");
    (signed.id, signed.bytes)
}

/// What a raw swarm saw.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Connected(PeerId),
    Closed(PeerId),
    Subscribed(PeerId),
}

/// A raw libp2p node with gossipsub only, subscribed to one topic.
struct Raw {
    swarm: Swarm<gossipsub::Behaviour>,
    topic: IdentTopic,
    log: Vec<Seen>,
}

impl Raw {
    fn new(topic: &str) -> Self {
        let mut behaviour =
            raw::gossipsub(&raw::config(64 * 1024)).expect("an anonymous gossipsub");
        let topic = IdentTopic::new(topic);
        behaviour.subscribe(&topic).expect("subscribes");
        let swarm = raw::swarm(behaviour).expect("a raw swarm");
        Self {
            swarm,
            topic,
            log: Vec::new(),
        }
    }

    fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn record(&mut self, event: &SwarmEvent<gossipsub::Event>) {
        let seen = match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => Seen::Connected(*peer_id),
            SwarmEvent::ConnectionClosed { peer_id, .. } => Seen::Closed(*peer_id),
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, .. }) => {
                Seen::Subscribed(*peer_id)
            }
            _ => return,
        };
        self.log.push(seen);
    }

    /// Waits, polling the swarm, until `seen` was observed (within
    /// [`DEADLINE`]).
    async fn wait_for(&mut self, seen: Seen) {
        let found = tokio::time::timeout(DEADLINE, async {
            while !self.log.contains(&seen) {
                let event = self.swarm.select_next_some().await;
                self.record(&event);
            }
        })
        .await;
        assert!(found.is_ok(), "raw node: no {seen:?}; saw {:?}", self.log);
    }

    fn publish(&mut self, bytes: Vec<u8>) {
        // Publishing fails only when no peer is subscribed; the caller
        // waits for that first.
        let _ = self
            .swarm
            .behaviour_mut()
            .publish(self.topic.clone(), bytes);
    }
}

/// Polls every raw swarm while `future` runs, so their connections live.
async fn driving<F: Future>(raws: &mut [&mut Raw], future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        let polls = futures::future::select_all(
            raws.iter_mut()
                .map(|r| Box::pin(r.swarm.select_next_some()))
                .collect::<Vec<_>>(),
        );
        tokio::select! {
            out = &mut future => return out,
            (event, i, _) = polls => {
                if let Some(raw) = raws.get_mut(i) {
                    raw.record(&event);
                }
            }
        }
    }
}

async fn connected(node: &NodeHandle, peer: PeerId) -> bool {
    node.peers()
        .await
        .expect("the node answers")
        .iter()
        .any(|p| p.peer == peer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_attacker_back_under_a_new_peer_id_is_refused_and_a_known_peer_of_its_address_stays()
 {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let topic = anxiety.topic(&network).to_string();
    // Everything here is on loopback, which is not banned by default.
    let builder = test_node(&network);
    let mut limits = builder.config().limits.clone();
    limits.admission.ban_loopback = true;
    let v = builder
        .limits(limits)
        .metrics("127.0.0.1:0".parse().expect("an address"))
        .start()
        .await
        .expect("V starts");
    let b = test_node(&network).start().await.expect("B starts");
    let mut v_events = v.events();
    v.join(anxiety.clone()).await.expect("V joins");
    b.join(anxiety.clone()).await.expect("B joins");
    // V dialled B: a peer V chose, known to be good.
    v.dial(address(&b).await).await.expect("V dials B");
    let v_addr: Multiaddr = address(&v).await;
    eventually("V and B connected", || connected(&v, b.peer_id())).await;

    // H joins the channel and sends forgeries until V bans it.
    let mut h = Raw::new(&topic);
    let h_id = h.peer_id();
    h.swarm.dial(v_addr.clone()).expect("H dials V");
    h.wait_for(Seen::Subscribed(v.peer_id())).await;
    for n in 0..8 {
        let (_, mut forged) = signed_post(&network, &anxiety, &format!("forgery {n}"));
        if let Some(last) = forged.last_mut() {
            *last ^= 1;
        }
        h.publish(forged);
    }
    let range = driving(&mut [&mut h], async {
        wait_for(&mut v_events, "H banned", |e| {
            matches!(e, Event::PeerBanned { peer, .. } if *peer == h_id).then_some(())
        })
        .await;
        wait_for(&mut v_events, "H's address banned", |e| match e {
            Event::AddressBanned { range, .. } => Some(range.clone()),
            _ => None,
        })
        .await
    })
    .await;
    assert_eq!(range, "127.0.0.1/32");

    // H comes back under a new peer id from the same address: refused.
    let mut h2 = Raw::new(&topic);
    let h2_id = h2.peer_id();
    h2.swarm.dial(v_addr.clone()).expect("H2 dials V");
    let metrics = v.metrics_addr().expect("V serves metrics");
    driving(
        &mut [&mut h2],
        eventually("the address ban to refuse H2", || async {
            let m = scrape(metrics).await;
            hearth_node::metrics::exposition::value(
                &m,
                "hearth_connections_denied_total",
                &[("direction", "inbound"), ("reason", "address_ban")],
            )
            .unwrap_or(0.0)
                >= 1.0
        }),
    )
    .await;
    assert!(!connected(&v, h2_id).await, "H2 holds no connection to V");
    assert!(!h2.log.contains(&Seen::Subscribed(v.peer_id())));

    // B, a known peer of the same address, was never cut and still talks.
    assert!(connected(&v, b.peer_id()).await, "B is still connected");
    let mut v_events = v.events();
    let id = b
        .publish(anxiety.clone(), "still here after the ban")
        .await
        .expect("B publishes")
        .id;
    wait_for(&mut v_events, "B's post at V", |e| {
        matches!(e, Event::Post(r) if r.id == id).then_some(())
    })
    .await;
}

/// `hearth_connections_denied_total` of inbound connections for `reason`.
async fn denied(metrics: std::net::SocketAddr, reason: &str) -> f64 {
    let m = scrape(metrics).await;
    hearth_node::metrics::exposition::value(
        &m,
        "hearth_connections_denied_total",
        &[("direction", "inbound"), ("reason", reason)],
    )
    .unwrap_or(0.0)
}

/// Sends forgeries from `h` (subscribed at `v`) until `v` bans it.
async fn forge_until_banned(
    h: &mut Raw,
    v_events: &mut EventStream,
    network: &NetworkId,
    channel: &ChannelName,
) {
    let h_id = h.peer_id();
    for n in 0..8 {
        let (_, mut forged) = signed_post(network, channel, &format!("forgery {n}"));
        if let Some(last) = forged.last_mut() {
            *last ^= 1;
        }
        h.publish(forged);
    }
    driving(
        &mut [h],
        wait_for(v_events, "H banned", |e| {
            matches!(e, Event::PeerBanned { peer, .. } if *peer == h_id).then_some(())
        }),
    )
    .await;
}

/// Dials `to` from `raw` and waits for the attempt to end: refused, or
/// connected and closed again.
async fn dial_until_ended(raw: &mut Raw, to: &Multiaddr) {
    raw.swarm.dial(to.clone()).expect("the raw peer dials");
    let ended = tokio::time::timeout(DEADLINE, async {
        loop {
            match raw.swarm.select_next_some().await {
                SwarmEvent::ConnectionClosed {
                    num_established: 0, ..
                }
                | SwarmEvent::OutgoingConnectionError { .. } => return,
                _ => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "a banned peer's dial neither failed nor ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_peers_redial_storm_is_refused_before_handshakes_and_a_newcomer_still_joins() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let topic = anxiety.topic(&network).to_string();
    // Loopback is not banned by address (the default): the storm is
    // judged by the banned peer id it keeps revealing.
    let v = test_node(&network)
        .metrics("127.0.0.1:0".parse().expect("an address"))
        .start()
        .await
        .expect("V starts");
    let metrics = v.metrics_addr().expect("V serves metrics");
    let mut v_events = v.events();
    v.join(anxiety.clone()).await.expect("V joins");
    let v_addr = address(&v).await;

    let mut h = Raw::new(&topic);
    h.swarm.dial(v_addr.clone()).expect("H dials V");
    h.wait_for(Seen::Subscribed(v.peer_id())).await;
    forge_until_banned(&mut h, &mut v_events, &network, &anxiety).await;

    // H redials at once, again and again, under its banned id.
    const STORM: usize = 60;
    for _ in 0..STORM {
        dial_until_ended(&mut h, &v_addr).await;
    }
    let handshaken = denied(metrics, "blocked").await;
    let limited = denied(metrics, "handshake_limit").await;
    assert!(
        limited >= (STORM / 2) as f64,
        "{limited} of {STORM} redials refused before the handshake ({handshaken} after it)"
    );
    assert!(
        handshaken < (STORM / 2) as f64,
        "{handshaken} of {STORM} redials cost a handshake"
    );
    assert!(!connected(&v, h.peer_id()).await, "H is kept out");

    // A new person on the same address joins the channel.
    let c = test_node(&network).start().await.expect("C starts");
    c.join(anxiety.clone()).await.expect("C joins");
    let c_id = c.peer_id();
    eventually("C to get in at V", || async {
        if connected(&v, c_id).await {
            return true;
        }
        let _ = c.dial(v_addr.clone()).await;
        false
    })
    .await;
    let id = c
        .publish(anxiety.clone(), "hello, I am new here")
        .await
        .expect("C publishes")
        .id;
    wait_for(&mut v_events, "C's post at V", |e| {
        matches!(e, Event::Post(r) if r.id == id).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_ban_survives_a_restart_of_the_node() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let topic = anxiety.topic(&network).to_string();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let start = || {
        let builder = test_node(&network).data_dir(dir.path());
        let mut limits = builder.config().limits.clone();
        limits.admission.ban_loopback = true;
        builder
            .limits(limits)
            .metrics("127.0.0.1:0".parse().expect("an address"))
            .start()
    };
    let v = start().await.expect("V starts");
    let mut v_events = v.events();
    v.join(anxiety.clone()).await.expect("V joins");
    let mut h = Raw::new(&topic);
    h.swarm.dial(address(&v).await).expect("H dials V");
    h.wait_for(Seen::Subscribed(v.peer_id())).await;
    forge_until_banned(&mut h, &mut v_events, &network, &anxiety).await;
    let range = driving(
        &mut [&mut h],
        wait_for(&mut v_events, "H's address banned", |e| match e {
            Event::AddressBanned { range, .. } => Some(range.clone()),
            _ => None,
        }),
    )
    .await;
    assert_eq!(range, "127.0.0.1/32");
    v.shutdown().await.expect("V stops");
    drop(v);

    // V again, from its data directory: H under a new id is refused.
    let v = start().await.expect("V starts again");
    v.join(anxiety.clone()).await.expect("V joins");
    let metrics = v.metrics_addr().expect("V serves metrics");
    let mut h2 = Raw::new(&topic);
    let v_addr = address(&v).await;
    dial_until_ended(&mut h2, &v_addr).await;
    eventually("the kept address ban to refuse H2", || async {
        denied(metrics, "address_ban").await >= 1.0
    })
    .await;
    assert!(!connected(&v, h2.peer_id()).await, "H2 holds no connection");
    assert!(!h2.log.contains(&Seen::Subscribed(v.peer_id())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_a_slot_while_fresh_ids_hold_every_inbound_slot() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let topic = anxiety.topic(&network).to_string();
    let builder = test_node(&network);
    let limits = NodeLimits {
        max_inbound_connections: Some(4),
        admission: AdmissionLimits {
            inbound_grace: Duration::from_secs(2),
            ..AdmissionLimits::default()
        },
        ..builder.config().limits.clone()
    };
    let v = builder.limits(limits).start().await.expect("V starts");
    v.join(anxiety.clone()).await.expect("V joins");
    let v_addr = address(&v).await;
    let mut v_events = v.events();

    // Four fresh ids take every inbound slot and do nothing useful.
    let mut holders: Vec<Raw> = (0..4).map(|_| Raw::new(&topic)).collect();
    for raw in &mut holders {
        raw.swarm.dial(v_addr.clone()).expect("a holder dials V");
        raw.wait_for(Seen::Connected(v.peer_id())).await;
    }
    let holder_ids: Vec<PeerId> = holders.iter().map(Raw::peer_id).collect();
    let mut refs: Vec<&mut Raw> = holders.iter_mut().collect();
    driving(
        &mut refs,
        eventually("the four holders connected to V", || async {
            let peers = v.peers().await.expect("V answers");
            holder_ids
                .iter()
                .all(|h| peers.iter().any(|p| p.peer == *h))
        }),
    )
    .await;

    // A person comes later and dials until V lets them in.
    let late = test_node(&network).start().await.expect("L starts");
    late.join(anxiety.clone()).await.expect("L joins");
    let late_id = late.peer_id();
    driving(
        &mut refs,
        eventually("L to get a slot at V", || async {
            if connected(&v, late_id).await {
                return true;
            }
            let _ = late.dial(v_addr.clone()).await;
            false
        }),
    )
    .await;
    let evicted = driving(
        &mut refs,
        wait_for(&mut v_events, "a holder pushed out", |e| match e {
            Event::PeerEvicted { peer, .. } => Some(*peer),
            _ => None,
        }),
    )
    .await;
    assert!(holder_ids.contains(&evicted), "an idle holder made room");
    assert_ne!(evicted, late_id);
    let peers = driving(&mut refs, v.peers()).await.expect("V answers");
    assert!(peers.iter().any(|p| p.peer == late_id), "L holds a slot");
    let held = peers
        .iter()
        .filter(|p| holder_ids.contains(&p.peer))
        .count();
    assert!(held <= 3, "{held} holders still connected");
}

/// What a flood of posts from fresh personas left of a channel at V.
struct AfterFlood {
    /// Bytes V's store holds for the channel.
    stored_bytes: u64,
    /// The posts V still has.
    kept: Vec<MessageId>,
    /// The channel's honest history before the flood: V's own posts and
    /// those of B, a neighbour.
    honest: Vec<MessageId>,
    /// The flood's posts.
    flood: Vec<MessageId>,
}

/// V (keeping posts under `retention`) and B write the channel's history,
/// then a raw peer floods `count` posts of `body_bytes` from fresh
/// personas, each stored at V.
async fn flood_after_history(retention: Retention, body_bytes: usize, count: usize) -> AfterFlood {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let topic = anxiety.topic(&network).to_string();
    let v = test_node(&network)
        .retention(retention)
        .start()
        .await
        .expect("V starts");
    let b = test_node(&network).start().await.expect("B starts");
    v.join(anxiety.clone()).await.expect("V joins");
    b.join(anxiety.clone()).await.expect("B joins");
    v.dial(address(&b).await).await.expect("V dials B");
    let mut v_events = v.events();

    let mut honest = Vec::new();
    for n in 0..3 {
        honest.push(
            v.publish(anxiety.clone(), &format!("my own post {n}"))
                .await
                .expect("V publishes")
                .id,
        );
    }
    let mut from_b = Vec::new();
    for n in 0..5 {
        // Stored and sent as soon as B sees V in the channel.
        let id = b
            .publish(anxiety.clone(), &format!("B's line {n}"))
            .await
            .expect("B publishes")
            .id;
        from_b.push(id);
    }
    let mut missing = from_b.clone();
    wait_for(&mut v_events, "B's posts at V", |e| {
        if let Event::Post(r) = e {
            missing.retain(|id| *id != r.id);
        }
        missing.is_empty().then_some(())
    })
    .await;
    honest.extend(from_b);

    // A raw peer floods posts from fresh personas.
    let mut h = Raw::new(&topic);
    h.swarm.dial(address(&v).await).expect("H dials V");
    h.wait_for(Seen::Subscribed(v.peer_id())).await;
    let text = "x".repeat(body_bytes);
    let mut flood = Vec::new();
    for _ in 0..count {
        let (id, bytes) = signed_post(&network, &anxiety, &text);
        flood.push(id);
        h.publish(bytes);
    }
    let mut seen = 0;
    driving(
        &mut [&mut h],
        wait_for(&mut v_events, "the flood stored at V", |e| {
            if let Event::Post(r) = e
                && flood.contains(&r.id)
            {
                seen += 1;
            }
            (seen == count).then_some(())
        }),
    )
    .await;

    let info = v.channels().await.expect("V answers");
    let stored_bytes = info
        .iter()
        .find(|c| c.channel == anxiety)
        .expect("V is in the channel")
        .stored_bytes;
    let kept: Vec<MessageId> = v
        .history(
            anxiety.clone(),
            HistoryQuery {
                limit: 10_000,
                ..HistoryQuery::default()
            },
        )
        .await
        .expect("V's history")
        .into_iter()
        .map(|r| r.id)
        .collect();
    AfterFlood {
        stored_bytes,
        kept,
        honest,
        flood,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_keeps_a_channels_honest_history_under_a_max_size_flood() {
    const BUDGET: u64 = 256 * 1024;
    const FLOOD: usize = 120;
    let after = flood_after_history(
        Retention {
            max_bytes_per_channel: BUDGET,
            ..Retention::default()
        },
        hearth_protocol::limits::MAX_BODY_BYTES,
        FLOOD,
    )
    .await;
    let stored = after.stored_bytes;
    assert!(stored <= BUDGET, "{stored} bytes stored, budget {BUDGET}");
    assert!(stored > BUDGET / 2, "the budget was used: {stored} bytes");
    for id in &after.honest {
        assert!(after.kept.contains(id), "honest post {id:?} was deleted");
    }
    let flood_kept = after
        .kept
        .iter()
        .filter(|id| after.flood.contains(id))
        .count();
    assert!(
        flood_kept < FLOOD,
        "the flood was trimmed ({flood_kept} of {FLOOD} kept)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_post_count_cap_keeps_a_channels_honest_history_under_a_flood_of_small_posts() {
    const CAP: usize = 40;
    const FLOOD: usize = 120;
    let after = flood_after_history(
        Retention {
            max_posts_per_channel: CAP,
            ..Retention::default()
        },
        10,
        FLOOD,
    )
    .await;
    // A few hundred bytes: the byte budget never came into it.
    assert!(
        after.stored_bytes < 64 * 1024,
        "{} bytes",
        after.stored_bytes
    );
    assert!(after.kept.len() <= CAP, "{} posts kept", after.kept.len());
    for id in &after.honest {
        assert!(after.kept.contains(id), "honest post {id:?} was deleted");
    }
    let flood_kept = after
        .kept
        .iter()
        .filter(|id| after.flood.contains(id))
        .count();
    assert!(flood_kept > 0, "the flood filled what the history left");
    assert_eq!(flood_kept + after.honest.len(), after.kept.len());
}
