//! Floods through gossipsub that a hostile peer aims at a node's memory and
//! its task, rather than at what people see (issue 9).
//!
//! The hostile peers are raw libp2p gossipsub swarms, anonymous like
//! hearth. Gossipsub only sends a message to a peer it believes subscribes
//! to the message's topic, so the flooder wears a lens
//! (`hearth_tests::raw::Lens`): a wrapper that makes it believe its victim
//! also subscribes to a topic the victim never joined. What it then sends
//! is what a hand-written attacker sends.
//!
//! - A flood of 64-byte messages on a topic the victim `V` never joined is
//!   dropped by `V`'s gossip gate before gossipsub records it (counted in
//!   `hearth_gossip_gate_dropped_total`), the flooder is banned, and posts
//!   between `V` and an honest peer still cross. Proof that gossipsub's
//!   duplicate cache never held the flood: a valid post that was part of
//!   it is shown when an honest peer sends it after `V` joins its channel
//!   (a cached id would have been dropped as a duplicate).
//! - Subscription churn: the churner is banned, and a late joiner connects
//!   and exchanges posts with `V`.
//! - A post of the largest legal size, a moderator list near the largest
//!   legal message and another post after it cross between honest nodes.

use std::future::Future;

use futures::StreamExt;
use hearth_node::metrics::exposition;
use hearth_node::{Event, EventStream, NodeHandle, PeerId};
use hearth_protocol::limits::{MAX_BODY_BYTES, MAX_MODERATOR_LIST_BYTES};
use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, Keypair, MessageId, ModeratorList, NetworkId, PostDraft,
    Scope,
};
use hearth_tests::raw::{self, Lens};
use hearth_tests::{
    DEADLINE, address, channel, init_tracing, now_ms, scrape, start, test_node, unique_network,
    wait_channel_peers, wait_for,
};
use libp2p::Swarm;
use libp2p::gossipsub::{self, IdentTopic, TopicHash};
use libp2p::swarm::SwarmEvent;
use rand::RngExt;

/// Flood messages the flooder hands to its gossipsub (it is banned long
/// before it gets through them all).
const FLOOD: u64 = 20_000;
/// Topics the churner subscribes to and leaves again, one after the other.
const CHURN_TOPICS: u32 = 2_000;
/// The gate's allowance for foreign-topic messages (`gossip_gate::FOREIGN`).
const FOREIGN_BURST: f64 = 64.0;
/// The gate's allowance for subscription changes (`gossip_gate::CHURN`).
const CHURN_BURST: f64 = 512.0;

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

fn topic(network: &NetworkId, channel: &ChannelName) -> IdentTopic {
    IdentTopic::new(channel.topic(network).to_string())
}

// ----- the raw peer -------------------------------------------------------

/// What a raw peer observed, in order.
#[derive(Debug)]
enum Seen {
    Closed(PeerId),
    Subscribed(PeerId, TopicHash),
}

/// A raw libp2p node with gossipsub only, polled only while the test
/// drives it.
struct Raw {
    swarm: Swarm<Lens>,
    log: Vec<Seen>,
}

impl Raw {
    /// Subscribed to `topics`; with `mirror`, believing that a peer that
    /// subscribes to `mirror.0` also subscribes to `mirror.1`.
    fn new(topics: &[IdentTopic], mirror: Option<(TopicHash, TopicHash)>) -> Self {
        let mut inner = raw::gossipsub(&raw::config(1 << 20)).expect("an anonymous gossipsub");
        for topic in topics {
            inner.subscribe(topic).expect("subscribes");
        }
        let swarm = raw::swarm(Lens { inner, mirror }).expect("a raw swarm");
        Self {
            swarm,
            log: Vec::new(),
        }
    }

    fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn gossipsub(&mut self) -> &mut gossipsub::Behaviour {
        &mut self.swarm.behaviour_mut().inner
    }

    fn record(&mut self, event: SwarmEvent<gossipsub::Event>) {
        let seen = match event {
            SwarmEvent::ConnectionClosed { peer_id, .. } => Seen::Closed(peer_id),
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic }) => {
                Seen::Subscribed(peer_id, topic)
            }
            _ => return,
        };
        self.log.push(seen);
    }

    fn closed_by(&self, peer: PeerId) -> bool {
        self.log
            .iter()
            .any(|s| matches!(s, Seen::Closed(p) if *p == peer))
    }

    /// Runs `future` to completion while the swarm keeps working.
    async fn drive<F: Future>(&mut self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        loop {
            tokio::select! {
                out = &mut future => return out,
                event = self.swarm.select_next_some() => self.record(event),
            }
        }
    }

    /// Lets the swarm handle what is ready (events, queued sends).
    async fn turn(&mut self) {
        tokio::task::yield_now().await;
        while let Some(Some(event)) = futures::FutureExt::now_or_never(self.swarm.next()) {
            self.record(event);
        }
    }

    /// Polls the swarm until `pick` accepts an observation, within
    /// [`DEADLINE`].
    async fn wait(&mut self, what: &str, mut pick: impl FnMut(&Seen) -> bool) {
        let found = tokio::time::timeout(DEADLINE, async {
            let mut next = 0;
            loop {
                while let Some(seen) = self.log.get(next) {
                    if pick(seen) {
                        return;
                    }
                    next += 1;
                }
                let event = self.swarm.select_next_some().await;
                self.record(event);
            }
        })
        .await;
        if found.is_err() {
            panic!(
                "raw peer: no {what} within {DEADLINE:?}; saw {:?}",
                self.log
            );
        }
    }

    /// Dials `node` and waits until gossipsub knows `node` subscribes to
    /// `topic` (which takes the connection and both hellos).
    async fn connect(&mut self, node: &NodeHandle, topic: &TopicHash) {
        let target = node.peer_id();
        self.swarm
            .dial(address(node).await)
            .expect("the raw peer dials");
        self.wait(
            &format!("{target} subscribed to {topic}"),
            |s| matches!(s, Seen::Subscribed(p, t) if *p == target && t == topic),
        )
        .await;
    }
}

// ----- helpers ------------------------------------------------------------

/// A node that serves metrics on an OS port.
async fn start_with_metrics(network: &NetworkId) -> NodeHandle {
    test_node(network)
        .metrics("127.0.0.1:0".parse().expect("a valid address"))
        .start()
        .await
        .expect("node starts")
}

/// What `node`'s gate dropped for `reason`.
async fn gate_dropped(node: &NodeHandle, reason: &str) -> f64 {
    let families = scrape(node.metrics_addr().expect("the node serves metrics")).await;
    exposition::value(
        &families,
        "hearth_gossip_gate_dropped_total",
        &[("reason", reason)],
    )
    .unwrap_or(0.0)
}

/// The test process's resident memory in MiB, as `node` reports it (0
/// without `/proc`).
async fn rss_mib(node: &NodeHandle) -> f64 {
    let families = scrape(node.metrics_addr().expect("the node serves metrics")).await;
    exposition::value(&families, "process_resident_memory_bytes", &[]).unwrap_or(0.0) / 1_048_576.0
}

/// Waits for `node` to ban `peer`.
async fn banned(events: &mut EventStream, peer: PeerId) -> f64 {
    wait_for(events, &format!("{peer} banned"), |e| match e {
        Event::PeerBanned { peer: p, score } if *p == peer => Some(*score),
        _ => None,
    })
    .await
}

/// Waits for the post `id` at the node of `events`.
async fn shown(events: &mut EventStream, what: &str, id: MessageId) {
    wait_for(events, what, |e| match e {
        Event::Post(r) if r.id == id => Some(()),
        _ => None,
    })
    .await;
}

/// `a` and `b` are in `channel`, `b` dialled `a`, and both count the
/// other.
async fn pair(
    a: &NodeHandle,
    a_events: &mut EventStream,
    b: &NodeHandle,
    b_events: &mut EventStream,
    channel: &ChannelName,
) {
    a.join(channel.clone()).await.expect("joins");
    b.join(channel.clone()).await.expect("joins");
    b.dial(address(a).await).await.expect("dials");
    wait_channel_peers(a, a_events, channel, 1).await;
    wait_channel_peers(b, b_events, channel, 1).await;
}

/// A post each way between `a` and `b` in `channel`.
async fn exchange(
    a: &NodeHandle,
    a_events: &mut EventStream,
    b: &NodeHandle,
    b_events: &mut EventStream,
    channel: &ChannelName,
    what: &str,
) {
    let from_a = a
        .publish(channel.clone(), format!("{what}: hello from a"))
        .await
        .expect("publishes")
        .id;
    shown(b_events, &format!("{what}: a's post at b"), from_a).await;
    let from_b = b
        .publish(channel.clone(), format!("{what}: hello from b"))
        .await
        .expect("publishes")
        .id;
    shown(a_events, &format!("{what}: b's post at a"), from_b).await;
}

// ----- the tests ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_on_a_topic_the_node_never_joined_is_dropped_before_gossipsub_and_the_flooder_banned()
 {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let grief = channel("grief");
    let (anxiety_topic, grief_topic) = (topic(&network, &anxiety), topic(&network, &grief));

    let v = start_with_metrics(&network).await;
    let b = start(&network).await;
    let (mut v_events, mut b_events) = (v.events(), b.events());
    pair(&v, &mut v_events, &b, &mut b_events, &anxiety).await;

    // H believes V is in grief as well as in anxiety.
    let mut h = Raw::new(
        std::slice::from_ref(&grief_topic),
        Some((anxiety_topic.hash(), grief_topic.hash())),
    );
    let h_id = h.peer_id();
    h.connect(&v, &grief_topic.hash()).await;

    let rss_before = rss_mib(&v).await;
    // A valid post for grief first, then 64-byte junk, all on grief.
    let (kept_id, kept_bytes) = signed_post(&network, &grief, "a post the flood carried");
    h.gossipsub()
        .publish(grief_topic.clone(), kept_bytes.clone())
        .expect("H publishes to V");
    let mut sent = 1;
    let mut attempts = 0u64;
    // Bounded in time too, in case V never cuts H off (the ban is then
    // missed below, with its own deadline).
    let give_up = std::time::Instant::now() + DEADLINE;
    while sent < FLOOD && !h.closed_by(v.peer_id()) && std::time::Instant::now() < give_up {
        let mut junk = [0u8; 64];
        junk[..8].copy_from_slice(&sent.to_be_bytes());
        attempts += 1;
        // An error is a full queue, or V already gone: the connection
        // gets its turn either way.
        let queued = h
            .gossipsub()
            .publish(grief_topic.clone(), junk.to_vec())
            .is_ok();
        if queued {
            sent += 1;
        }
        if !queued || attempts.is_multiple_of(64) {
            h.turn().await;
        }
    }
    let score = h.drive(banned(&mut v_events, h_id)).await;
    assert!(score < -80.0, "banned with score {score}");
    h.wait(
        "V closing the connection",
        |s| matches!(s, Seen::Closed(p) if *p == v.peer_id()),
    )
    .await;
    let dropped = gate_dropped(&v, "foreign_topic").await;
    let rss_after = rss_mib(&v).await;
    eprintln!(
        "flood: H handed {sent} messages to gossipsub; V's gate dropped {dropped}; \
         test process RSS {rss_before:.0} -> {rss_after:.0} MiB (H's own caches included)"
    );
    assert!(
        dropped > FOREIGN_BURST,
        "the gate dropped {dropped} foreign-topic messages"
    );

    // V and B still talk, and V showed nothing of the flood.
    exchange(
        &v,
        &mut v_events,
        &b,
        &mut b_events,
        &anxiety,
        "after the flood",
    )
    .await;
    let peers = v.peers().await.expect("V answers");
    assert!(peers.iter().all(|p| p.peer != h_id), "H is still connected");

    // The valid post of the flood was never in V's duplicate cache: once V
    // joins grief, an honest peer's copy of it is shown.
    v.join(grief.clone()).await.expect("V joins grief");
    let mut r = Raw::new(std::slice::from_ref(&grief_topic), None);
    r.connect(&v, &grief_topic.hash()).await;
    r.gossipsub()
        .publish(grief_topic.clone(), kept_bytes)
        .expect("R publishes to V");
    r.drive(shown(
        &mut v_events,
        "the flood's valid post from R",
        kept_id,
    ))
    .await;

    v.shutdown().await.expect("V stops");
    b.shutdown().await.expect("B stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_churner_is_banned_and_a_late_joiner_still_gets_in() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let anxiety_topic = topic(&network, &anxiety);

    let v = start_with_metrics(&network).await;
    let mut v_events = v.events();
    v.join(anxiety.clone()).await.expect("V joins");

    let mut c = Raw::new(&[], None);
    let c_id = c.peer_id();
    c.connect(&v, &anxiety_topic.hash()).await;
    // Valid hearth topics of V's network, so that nothing but the gate
    // would stop them.
    let mut changes = 0u32;
    for n in 0..CHURN_TOPICS {
        if c.closed_by(v.peer_id()) {
            break;
        }
        let churn = IdentTopic::new(format!("hearth/1/{network}/channel/churn-{n}"));
        c.gossipsub().subscribe(&churn).expect("C subscribes");
        c.gossipsub().unsubscribe(&churn);
        changes += 2;
        if n.is_multiple_of(32) {
            c.turn().await;
        }
    }
    let score = c.drive(banned(&mut v_events, c_id)).await;
    assert!(score < -80.0, "banned with score {score}");
    let dropped = gate_dropped(&v, "subscription_churn").await;
    eprintln!("churn: C announced {changes} changes; V's gate dropped {dropped}");
    assert!(dropped >= 1.0, "the gate dropped no subscription change");
    assert!(
        f64::from(changes) > CHURN_BURST,
        "C churned less than the allowance"
    );

    // A late joiner connects and talks with V.
    let l = start(&network).await;
    let mut l_events = l.events();
    pair(&v, &mut v_events, &l, &mut l_events, &anxiety).await;
    exchange(
        &v,
        &mut v_events,
        &l,
        &mut l_events,
        &anxiety,
        "late joiner",
    )
    .await;
    let peers = v.peers().await.expect("V answers");
    assert!(peers.iter().all(|p| p.peer != c_id), "C is still connected");

    v.shutdown().await.expect("V stops");
    l.shutdown().await.expect("L stops");
}

/// A moderator list of `moderator` whose signed bytes are as close under
/// the largest legal message as whole entries allow.
fn near_max_list(moderator: &Keypair, network: &NetworkId, sequence: u64) -> Vec<u8> {
    let sign = |entries: usize| {
        let entries = (0..entries)
            .map(|n| {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&u64::try_from(n).unwrap_or(u64::MAX).to_be_bytes());
                id[8..16].copy_from_slice(&sequence.to_be_bytes());
                // A 200-byte reason, the most an entry may carry.
                BlockEntry::new(BlockTarget::Post(MessageId(id)), "r".repeat(200))
            })
            .collect();
        ModeratorList::sign(
            moderator,
            network,
            sequence,
            now_ms(),
            "a long list",
            entries,
        )
        .map(|signed| signed.bytes)
    };
    let one = sign(1).expect("one entry signs").len();
    let two = sign(2).expect("two entries sign").len();
    let per_entry = two - one;
    let entries = (MAX_MODERATOR_LIST_BYTES - one) / per_entry + 1;
    let bytes = sign(entries).expect("a list just under the limit signs");
    assert!(bytes.len() <= MAX_MODERATOR_LIST_BYTES);
    assert!(bytes.len() + per_entry > MAX_MODERATOR_LIST_BYTES);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_legal_posts_and_lists_cross_between_honest_nodes_back_to_back() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let moderator = Keypair::generate(&mut rand::rng());
    let (a, b) = (start(&network).await, start(&network).await);
    let (mut a_events, mut b_events) = (a.events(), b.events());
    a.follow(moderator.public(), Scope::All)
        .await
        .expect("A follows");
    b.follow(moderator.public(), Scope::All)
        .await
        .expect("B follows");
    pair(&a, &mut a_events, &b, &mut b_events, &anxiety).await;

    // Bodies of the longest legal size, in two-byte characters.
    let body = |n: usize| {
        let mut text = format!("{n} ");
        while text.len() + 2 <= MAX_BODY_BYTES {
            text.push('é');
        }
        text
    };
    let first = a
        .publish(anxiety.clone(), body(1))
        .await
        .expect("a max-size post publishes")
        .id;
    // Two lists just under the largest legal message, back to back, and a
    // post right behind them: frames that fill gossipsub's read buffer.
    for sequence in [1, 2] {
        a.publish_moderator_list(near_max_list(&moderator, &network, sequence))
            .await
            .expect("A publishes the list");
    }
    let last = a
        .publish(anxiety.clone(), body(2))
        .await
        .expect("a max-size post publishes")
        .id;
    let mut waiting = vec![first, last];
    let mut list_seen = false;
    wait_for(&mut b_events, "the posts and the newest list at B", |e| {
        match e {
            Event::Post(r) => waiting.retain(|id| *id != r.id),
            Event::ModeratorList { sequence: 2, .. } => list_seen = true,
            _ => {}
        }
        (waiting.is_empty() && list_seen).then_some(())
    })
    .await;
    exchange(
        &a,
        &mut a_events,
        &b,
        &mut b_events,
        &anxiety,
        "after the big frames",
    )
    .await;

    a.shutdown().await.expect("A stops");
    b.shutdown().await.expect("B stops");
}
