//! Rate limits judge authors, not relays; and a person writing quickly is
//! paced, never silently dropped.
//!
//! `honest_posts_cross_a_relay_under_a_flood_and_only_the_flooder_is_cut_off`:
//! the line `h1 — v — h3` of hearth nodes on loopback, plus a raw libp2p
//! gossipsub peer `H` (anonymous, like hearth) connected to `v` only.
//! `H` sends valid posts from many fresh personas: first each within its
//! newcomer burst (more posts in all than the old per-peer limit of 500
//! let a relay carry), then each far over it. Meanwhile `h1` and `h3` talk
//! across `v`. The test proves that:
//! - every honest post crossing `v` arrives at the other end;
//! - no persona of `H` shows more posts anywhere than its newcomer burst;
//! - `v` bans `H` (its score sinks for delivering posts beyond the limits)
//!   and `H` sees its connection closed;
//! - nobody bans an honest node, and the honest nodes stay connected.
//!
//! `twenty_lines_written_at_once_all_arrive_paced`: a node whose user
//! writes twenty lines as fast as possible sends what the limit allows,
//! queues the rest with a `Paced` event, and every line arrives at its
//! peer. (The test's limit refills at two a second, so it finishes in
//! seconds; that the defaults carry twenty lines in thirty seconds is the
//! unit test `rate::authors::tests`.)

use std::collections::{HashMap, HashSet};
use std::future::Future;

use futures::StreamExt;
use hearth_node::{Event, EventStream, NodeHandle, NodeLimits, PeerId, Rate};
use hearth_protocol::{ChannelName, Keypair, MessageId, NetworkId, PostDraft, PublicKey};
use hearth_tests::raw;
use hearth_tests::{
    DEADLINE, EventLog, address, channel, init_tracing, now_ms, start, test_limits, test_node,
    unique_network, wait_channel_peers,
};
use libp2p::Swarm;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::swarm::SwarmEvent;
use rand::RngExt;

/// Fresh personas `H` posts from within their limit: 70 × 8 = 560 posts,
/// more than the old per-peer limit's burst of 500.
const POLITE_PERSONAS: usize = 70;
/// Fresh personas `H` then floods from, each far over its limit.
const FLOOD_PERSONAS: usize = 20;
/// Posts of each flooding persona.
const FLOOD_POSTS: usize = 30;
/// Honest posts each of `h1` and `h3` writes (under the publisher's
/// burst, so none waits for the pace).
const HONEST_POSTS: usize = 3;

fn persona() -> Keypair {
    Keypair::from_secret_bytes(rand::rng().random())
}

fn sign(network: &NetworkId, channel: &ChannelName, author: &Keypair, text: &str) -> Vec<u8> {
    PostDraft::new(channel.clone(), text, now_ms())
        .sign(author, network, 0)
        .expect("a valid post signs")
        .bytes
}

// ----- the hostile node ---------------------------------------------------

/// A raw libp2p node with gossipsub only, anonymous like hearth.
struct Hostile {
    swarm: Swarm<gossipsub::Behaviour>,
    topic: IdentTopic,
    subscribed: HashSet<PeerId>,
    closed: HashSet<PeerId>,
}

impl Hostile {
    fn new(topic: &str) -> Self {
        let mut behaviour =
            raw::gossipsub(&raw::config(256 * 1024)).expect("an anonymous gossipsub");
        let topic = IdentTopic::new(topic);
        behaviour.subscribe(&topic).expect("subscribes");
        let swarm = raw::swarm(behaviour).expect("a raw swarm");
        Self {
            swarm,
            topic,
            subscribed: HashSet::new(),
            closed: HashSet::new(),
        }
    }

    fn record(&mut self, event: SwarmEvent<gossipsub::Event>) {
        match event {
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.closed.insert(peer_id);
            }
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic })
                if topic == self.topic.hash() =>
            {
                self.subscribed.insert(peer_id);
            }
            _ => {}
        }
    }

    /// Runs `future` to completion while the hostile swarm keeps working.
    async fn drive<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        loop {
            tokio::select! {
                out = &mut future => return out,
                event = self.swarm.select_next_some() => self.record(event),
            }
        }
    }

    /// Polls the swarm until `done` holds, within [`DEADLINE`].
    async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let reached = tokio::time::timeout(DEADLINE, async {
            while !done(self) {
                let event = self.swarm.select_next_some().await;
                self.record(event);
            }
        })
        .await;
        assert!(
            reached.is_ok(),
            "hostile node: no {what} within {DEADLINE:?}"
        );
    }

    /// Publishes, unless gossipsub refuses (it does once its only peer is
    /// gone): returns whether it took the message.
    fn publish(&mut self, bytes: Vec<u8>) -> bool {
        self.swarm
            .behaviour_mut()
            .publish(self.topic.clone(), bytes)
            .is_ok()
    }
}

// ----- helpers --------------------------------------------------------------

/// Posts shown (as `Event::Post`) in `log`, by author.
fn shown_by_author(log: &EventLog) -> HashMap<PublicKey, usize> {
    let mut shown = HashMap::new();
    for (_, event) in log.events() {
        if let Event::Post(record) = event {
            *shown.entry(record.post.author).or_insert(0) += 1;
        }
    }
    shown
}

fn bans(log: &EventLog) -> Vec<PeerId> {
    log.events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::PeerBanned { peer, .. } => Some(peer),
            _ => None,
        })
        .collect()
}

async fn publish_all(node: &NodeHandle, channel: &ChannelName, who: &str) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for n in 0..HONEST_POSTS {
        let text = format!("{who}: honest line {n}");
        ids.push(
            node.publish(channel.clone(), text)
                .await
                .expect("publishes")
                .id,
        );
    }
    ids
}

async fn wait_posts(log: &EventLog, name: &str, ids: &[MessageId]) {
    for id in ids {
        log.wait_for(&format!("{name} shows post {id:?}"), |e| {
            matches!(e, Event::Post(r) if r.id == *id).then_some(())
        })
        .await;
    }
}

// ----- the tests ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_posts_cross_a_relay_under_a_flood_and_only_the_flooder_is_cut_off() {
    init_tracing();
    let network = unique_network();
    let support = channel("support");
    let topic = support.topic(&network).to_string();

    let h1 = start(&network).await;
    let v = start(&network).await;
    let h3 = start(&network).await;
    let (h1_log, v_log, h3_log) = (
        EventLog::record(h1.events()),
        EventLog::record(v.events()),
        EventLog::record(h3.events()),
    );
    let mut v_events = v.events();
    for node in [&h1, &v, &h3] {
        node.join(support.clone()).await.expect("joins");
    }
    let v_addr = address(&v).await;
    h1.dial(v_addr.clone()).await.expect("h1 dials v");
    h3.dial(v_addr.clone()).await.expect("h3 dials v");
    wait_channel_peers(&v, &mut v_events, &support, 2).await;

    // H connects to v and learns its subscription.
    let mut h = Hostile::new(&topic);
    let h_id = *h.swarm.local_peer_id();
    h.swarm.dial(v_addr.clone()).expect("H dials v");
    h.until("subscription from v", |h| {
        h.subscribed.contains(&v.peer_id())
    })
    .await;
    h.drive(wait_channel_peers(&v, &mut v_events, &support, 3))
        .await;

    // ---- many fresh personas, each within its newcomer burst ----
    let newcomer = NodeLimits::default().newcomer.burst as usize;
    let mut hostile_personas = Vec::new();
    for p in 0..POLITE_PERSONAS {
        let author = persona();
        for n in 0..newcomer {
            h.publish(sign(&network, &support, &author, &format!("ad {p}/{n}")));
        }
        hostile_personas.push(author.public());
    }
    // The honest talk crosses v while v relays the lot.
    let h1_ids = h.drive(publish_all(&h1, &support, "h1")).await;
    let h3_ids = h.drive(publish_all(&h3, &support, "h3")).await;
    h.drive(wait_posts(&h3_log, "h3", &h1_ids)).await;
    h.drive(wait_posts(&h1_log, "h1", &h3_ids)).await;

    // ---- then personas far over their limits ----
    let flood_start = std::time::Instant::now();
    for p in 0..FLOOD_PERSONAS {
        let author = persona();
        hostile_personas.push(author.public());
        for n in 0..FLOOD_POSTS {
            h.publish(sign(&network, &support, &author, &format!("flood {p}/{n}")));
        }
    }
    // v bans H; H sees the connection closed.
    h.drive(v_log.wait_for("v bans H", |e| {
        matches!(e, Event::PeerBanned { peer, .. } if *peer == h_id).then_some(())
    }))
    .await;
    h.until("its connection to v closed", |h| {
        h.closed.contains(&v.peer_id())
    })
    .await;
    // A figure for the record, never asserted.
    eprintln!(
        "H cut off {:?} after the flood began",
        flood_start.elapsed()
    );

    // More honest talk after the ban: it still crosses v.
    let h1_after = h.drive(publish_all(&h1, &support, "h1 later")).await;
    let h3_after = h.drive(publish_all(&h3, &support, "h3 later")).await;
    wait_posts(&h3_log, "h3", &h1_after).await;
    wait_posts(&h1_log, "h1", &h3_after).await;

    let h1_key = persona_key(&h1, &support).await;
    let h3_key = persona_key(&h3, &support).await;
    // No persona of H shows more than its newcomer burst anywhere.
    for (name, log) in [("h1", &h1_log), ("v", &v_log), ("h3", &h3_log)] {
        let shown = shown_by_author(log);
        let hostile: usize = hostile_personas
            .iter()
            .map(|p| {
                let n = shown.get(p).copied().unwrap_or(0);
                assert!(
                    n <= newcomer,
                    "{name} showed {n} posts of one hostile persona"
                );
                n
            })
            .sum();
        let honest =
            shown.get(&h1_key).copied().unwrap_or(0) + shown.get(&h3_key).copied().unwrap_or(0);
        eprintln!(
            "{name}: {hostile} hostile posts shown, {honest} honest posts of {}",
            4 * HONEST_POSTS
        );
        assert!(
            hostile <= hostile_personas.len() * newcomer,
            "{name}: {hostile} hostile posts shown"
        );
    }
    // Nobody banned an honest node; the line is still connected.
    let v_bans = bans(&v_log);
    assert!(v_bans.iter().all(|p| *p == h_id), "v banned {v_bans:?}");
    assert!(bans(&h1_log).is_empty(), "h1 banned {:?}", bans(&h1_log));
    assert!(bans(&h3_log).is_empty(), "h3 banned {:?}", bans(&h3_log));
    let v_peers: Vec<PeerId> = v
        .peers()
        .await
        .expect("v answers")
        .into_iter()
        .map(|p| p.peer)
        .collect();
    assert!(v_peers.contains(&h1.peer_id()) && v_peers.contains(&h3.peer_id()));
    assert!(!v_peers.contains(&h_id), "H is cut off");
}

/// The persona of `node` in `channel`.
async fn persona_key(node: &NodeHandle, channel: &ChannelName) -> PublicKey {
    node.channels()
        .await
        .expect("answers")
        .into_iter()
        .find(|c| &c.channel == channel)
        .expect("joined")
        .persona
        .key
}

/// Waits for a `Paced` event of `channel` for which `pick` holds.
async fn paced(events: &mut EventStream, channel: &ChannelName, pick: impl Fn(usize) -> bool) {
    hearth_tests::wait_for(events, "a paced event", |e| match e {
        Event::Paced {
            channel: c, queued, ..
        } if c == channel && pick(*queued) => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_lines_written_at_once_all_arrive_paced() {
    init_tracing();
    let network = unique_network();
    let ch = channel("night-owls");
    // The default newcomer burst, refilled at two a second instead of
    // twelve a minute, so the test does not wait a minute.
    let limits = NodeLimits {
        newcomer: Rate {
            per_minute: 120,
            burst: NodeLimits::default().newcomer.burst,
        },
        ..test_limits()
    };
    let a = test_node(&network)
        .limits(limits.clone())
        .start()
        .await
        .expect("a starts");
    let b = test_node(&network)
        .limits(limits)
        .start()
        .await
        .expect("b starts");
    let b_log = EventLog::record(b.events());
    let mut a_events = a.events();
    a.join(ch.clone()).await.expect("a joins");
    b.join(ch.clone()).await.expect("b joins");
    b.dial(address(&a).await).await.expect("b dials a");
    wait_channel_peers(&a, &mut a_events, &ch, 1).await;

    let mut ids = Vec::new();
    for n in 0..20 {
        let text = format!("line {n}");
        ids.push(a.publish(ch.clone(), text).await.expect("publishes").id);
    }
    // Some had to wait, and the person was told; then the queue emptied.
    paced(&mut a_events, &ch, |queued| queued > 0).await;
    paced(&mut a_events, &ch, |queued| queued == 0).await;
    wait_posts(&b_log, "b", &ids).await;
    let refused = b_log
        .events()
        .into_iter()
        .filter(|(_, e)| matches!(e, Event::Refused { .. }))
        .count();
    assert_eq!(refused, 0, "b refused nothing");
    // Every line once, in the order written.
    let shown: Vec<MessageId> = b_log
        .events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::Post(r) => Some(r.id),
            _ => None,
        })
        .collect();
    assert_eq!(shown, ids);
}
