//! A hostile raw libp2p gossipsub node in a channel.
//!
//! Topology: hostile node `H` (a plain libp2p swarm with only gossipsub,
//! anonymous like hearth's) is connected to hearth node `A`; `A` is also
//! connected to hearth node `B`; `A` and `B` joined the channel. `B` is only
//! reachable through `A`, so whatever `A` forwards shows at `B`.
//!
//! `H` first behaves (legitimate posts from throwaway personas, so that it
//! earns a positive gossip score), receives a legitimate post of `B`
//! through `A`, and then sends, in this order: a replay of that post's exact
//! bytes, bytes of an unknown envelope version, a truncated envelope, a
//! post with a forged signature, a post signed for another channel, a post
//! for another network, and more forgeries.
//!
//! The test proves that:
//! - `A` refuses each kind of junk with a typed reason and never shows it;
//!   the replay is neither shown again nor forwarded;
//! - `B` never sees any of it (checked with a marker post, see below);
//! - every legitimate post shows exactly once at `A` and at `B`;
//! - `H`'s score falls from positive to below the graylist, `A` bans it
//!   (`Event::PeerBanned`), `H` sees its connection closed and a redial is
//!   refused;
//! - `A` and `B` are still alive and still exchange posts afterwards.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use hearth_node::{Event, EventStream, Multiaddr, NodeHandle, PeerId};
use hearth_protocol::{ChannelName, Keypair, MessageId, NetworkId, PostDraft};
use hearth_tests::raw;
use hearth_tests::{DEADLINE, address, channel, init_tracing, now_ms, start, unique_network};
use libp2p::Swarm;
use libp2p::gossipsub::{self, IdentTopic, TopicHash};
use libp2p::swarm::SwarmEvent;
use rand::RngExt;

/// Legitimate posts `H` sends before attacking. Each accepted first
/// delivery adds 1 to its score at `A`, up to hearth's cap of 20.
const REPUTATION_POSTS: usize = 20;

/// Forgeries beyond the five kinds, so the total of invalid messages is
/// well past what the graylist needs.
const EXTRA_FORGERIES: usize = 6;

fn persona() -> Keypair {
    Keypair::from_secret_bytes(rand::rng().random())
}

/// A signed post in `channel` of `network`, by a fresh persona.
fn signed_post(network: &NetworkId, channel: &ChannelName, text: &str) -> (MessageId, Vec<u8>) {
    let signed = PostDraft::new(channel.clone(), text, now_ms())
        .sign(&persona(), network, 0)
        .expect("a valid post signs");
    (signed.id, signed.bytes)
}

// ----- the hostile node ---------------------------------------------------

/// What the hostile swarm observed, in order.
#[derive(Debug)]
enum Seen {
    Connected(PeerId),
    Closed(PeerId),
    DialFailed(String),
    Subscribed(PeerId, TopicHash),
    Message(Vec<u8>),
}

/// A raw libp2p node with gossipsub only. Nothing happens on it unless it
/// is polled, so every wait while it matters runs through [`Hostile::drive`].
struct Hostile {
    swarm: Swarm<gossipsub::Behaviour>,
    topic: IdentTopic,
    /// Added to the message id while non-zero, so that `H` can publish bytes
    /// its own duplicate cache already holds (a replay).
    replay_salt: Arc<AtomicU64>,
    log: Vec<Seen>,
}

impl Hostile {
    fn new(topic: &str) -> Self {
        let replay_salt = Arc::new(AtomicU64::new(0));
        let salt = Arc::clone(&replay_salt);
        // The content hash, as hearth computes it, so different junk has
        // different ids and `H`'s gossip ids mean the same at `A`; a salt
        // only for the replay, which `H` has already received.
        let mut config = raw::config(1 << 20);
        config.message_id_fn(move |message| {
            let mut id = MessageId::of(&message.data).as_bytes().to_vec();
            let salt = salt.load(Ordering::SeqCst);
            if salt != 0 {
                id.extend_from_slice(&salt.to_be_bytes());
            }
            gossipsub::MessageId::new(&id)
        });
        let mut behaviour = raw::gossipsub(&config).expect("an anonymous gossipsub");
        let topic = IdentTopic::new(topic);
        behaviour.subscribe(&topic).expect("subscribes");
        let swarm = raw::swarm(behaviour).expect("a raw swarm");
        Self {
            swarm,
            topic,
            replay_salt,
            log: Vec::new(),
        }
    }

    fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn record(&mut self, event: SwarmEvent<gossipsub::Event>) {
        let seen = match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => Seen::Connected(peer_id),
            SwarmEvent::ConnectionClosed { peer_id, .. } => Seen::Closed(peer_id),
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                Seen::DialFailed(error.to_string())
            }
            SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic }) => {
                Seen::Subscribed(peer_id, topic)
            }
            SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) => {
                Seen::Message(message.data)
            }
            _ => return,
        };
        self.log.push(seen);
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

    /// Waits for the first observation at or after `from` that `pick`
    /// accepts, polling the swarm, within [`DEADLINE`].
    async fn wait<T>(
        &mut self,
        from: usize,
        what: &str,
        mut pick: impl FnMut(&Seen) -> Option<T>,
    ) -> T {
        let found = tokio::time::timeout(DEADLINE, async {
            let mut next = from;
            loop {
                while let Some(seen) = self.log.get(next) {
                    if let Some(found) = pick(seen) {
                        return found;
                    }
                    next += 1;
                }
                let event = self.swarm.select_next_some().await;
                self.record(event);
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "hostile node: no {what} within {DEADLINE:?}; saw {:?}",
                self.log
            )
        })
    }

    fn publish(&mut self, bytes: Vec<u8>) {
        self.swarm
            .behaviour_mut()
            .publish(self.topic.clone(), bytes)
            .expect("the hostile node publishes");
    }

    /// Publishes bytes its own duplicate cache already holds.
    fn replay(&mut self, bytes: Vec<u8>) {
        self.replay_salt.fetch_add(1, Ordering::SeqCst);
        self.publish(bytes);
        self.replay_salt.store(0, Ordering::SeqCst);
    }
}

// ----- hearth nodes' events -----------------------------------------------

/// A hearth node's event stream that keeps every event it reads, so the
/// test can check afterwards what was and was not emitted.
struct Recorder {
    name: &'static str,
    stream: EventStream,
    log: Vec<Event>,
}

impl Recorder {
    fn new(name: &'static str, node: &NodeHandle) -> Self {
        Self {
            name,
            stream: node.events(),
            log: Vec::new(),
        }
    }

    /// Reads events until `pick` accepts one, within [`DEADLINE`].
    async fn wait<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let name = self.name;
        let found = tokio::time::timeout(DEADLINE, async {
            while let Some(event) = self.stream.next().await {
                assert!(
                    !matches!(event, Event::Lagged { .. }),
                    "{name} lagged: the event log would be incomplete"
                );
                let found = pick(&event);
                self.log.push(event);
                if found.is_some() {
                    return found;
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(found)) => found,
            Ok(None) => panic!("{name} stopped while waiting for {what}"),
            Err(_) => panic!("{name}: no {what} within {DEADLINE:?}"),
        }
    }

    async fn post(&mut self, what: &str, id: MessageId) {
        self.wait(what, |e| {
            matches!(e, Event::Post(r) if r.id == id).then_some(())
        })
        .await;
    }

    async fn posts(&mut self, what: &str, ids: &[MessageId]) {
        let mut missing: Vec<MessageId> = ids.to_vec();
        self.wait(what, |e| {
            if let Event::Post(r) = e {
                missing.retain(|id| id != &r.id);
            }
            missing.is_empty().then_some(())
        })
        .await;
    }

    async fn channel_peers(&mut self, channel: &ChannelName, peers: usize) {
        let what = format!("{peers} peers in {channel}");
        self.wait(&what, |e| {
            matches!(e, Event::ChannelPeers { channel: c, peers: n } if c == channel && *n >= peers)
                .then_some(())
        })
        .await;
    }

    /// How often each post id was emitted as `Event::Post`.
    fn post_counts(&self) -> HashMap<MessageId, usize> {
        let mut counts = HashMap::new();
        for event in &self.log {
            if let Event::Post(record) = event {
                *counts.entry(record.id).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// Every id in `expected` was shown exactly once, and nothing else was.
fn assert_exactly_once(node: &Recorder, expected: &[MessageId]) {
    let counts = node.post_counts();
    for id in expected {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "{}: post {id:?} shown {:?} times",
            node.name,
            counts.get(id)
        );
    }
    let unexpected: Vec<_> = counts.keys().filter(|id| !expected.contains(id)).collect();
    assert!(
        unexpected.is_empty(),
        "{} showed posts it should not have: {unexpected:?}",
        node.name
    );
}

// ----- the test -----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_gossipsub_peer_is_refused_scored_down_and_banned() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let topic = anxiety.topic(&network).to_string();

    // A and B in the channel, B connected to A only.
    let a = start(&network).await;
    let b = start(&network).await;
    let mut a_events = Recorder::new("A", &a);
    let mut b_events = Recorder::new("B", &b);
    a.join(anxiety.clone()).await.expect("A joins");
    b.join(anxiety.clone()).await.expect("B joins");
    let a_addr: Multiaddr = address(&a).await;
    b.dial(a_addr.clone()).await.expect("B dials A");
    a_events.channel_peers(&anxiety, 1).await;
    b_events.channel_peers(&anxiety, 1).await;

    // H connects to A. Gossipsub peers exchange messages only once they know
    // each other's subscriptions: wait until H has A's, and A has H's.
    let mut h = Hostile::new(&topic);
    let h_id = h.peer_id();
    h.swarm.dial(a_addr.clone()).expect("H dials A");
    let topic_hash = h.topic.hash();
    h.wait(0, "subscription from A", |s| {
        matches!(s, Seen::Subscribed(p, t) if *p == a.peer_id() && *t == topic_hash).then_some(())
    })
    .await;
    h.drive(a_events.channel_peers(&anxiety, 2)).await;

    // ---- H behaves first, and earns a positive score ----
    //
    // Without this, gossipsub at A graylists H after its third rejected
    // message (3² × -10 = -90 < -80) and drops everything after it before
    // hearth sees it: still not shown and not forwarded, but then only
    // three kinds of junk could be seen refused. With the score of 20
    // earned here, a fourth rejected message is still validated
    // (20 - 90 > -80) and gossipsub drops everything after it
    // (20 - 160 < -80).
    let mut legit: Vec<MessageId> = Vec::new();
    for n in 0..REPUTATION_POSTS {
        let (id, bytes) = signed_post(&network, &anxiety, &format!("hello from a newcomer, {n}"));
        h.publish(bytes);
        legit.push(id);
    }
    h.drive(a_events.posts("H's legitimate posts at A", &legit))
        .await;
    h.drive(b_events.posts("H's legitimate posts at B", &legit))
        .await;
    let earned = h
        .drive(a.peers())
        .await
        .expect("A answers")
        .into_iter()
        .find(|p| p.peer == h_id)
        .and_then(|p| p.score)
        .expect("A scores H");
    assert!(
        earned >= 15.0,
        "H's score at A after {REPUTATION_POSTS} good posts: {earned}"
    );

    // ---- a legitimate post of B, which A shows and H receives ----
    let original = h
        .drive(b.publish(anxiety.clone(), "is anyone else up?"))
        .await
        .expect("B publishes")
        .id;
    legit.push(original);
    h.drive(a_events.post("B's post at A", original)).await;
    b_events.post("B's own post", original).await;
    let original_bytes = h
        .wait(0, "B's post relayed by A", |s| match s {
            Seen::Message(data) if MessageId::of(data) == original => Some(data.clone()),
            _ => None,
        })
        .await;

    // ---- the attack ----
    let attack_start = a_events.log.len();
    let other_network = NetworkId::parse("elsewhere").expect("a valid network id");
    let grief = channel("grief");
    let (_, template) = signed_post(&network, &anxiety, "a well-formed post, never sent as is");
    let signer_at = 3 + network.as_str().len();
    assert!(network.as_str().len() < 0x80, "one-byte length varint");

    // (5) The replay: the exact bytes A already has. Gossipsub's duplicate
    // cache drops it before validation (the store's seen-set catches
    // replays older than that cache), so it produces no event at all.
    h.replay(original_bytes);
    // Bytes of an unknown envelope version: refused, but Ignore (a newer
    // version is not proof of malice), so no penalty.
    h.publish(b"\x00 definitely not a hearth envelope".to_vec());
    // (1) Malformed: a truncated envelope.
    h.publish(template[..template.len() - 10].to_vec());
    // (2) A forged signature: one bit of a real signature flipped.
    let mut forged = signed_post(&network, &anxiety, "I am someone else").1;
    *forged.last_mut().expect("not empty") ^= 1;
    h.publish(forged);
    // (3) A validly signed post for another channel.
    h.publish(signed_post(&network, &grief, "posted elsewhere").1);
    // (4) A validly signed post for another network.
    h.publish(signed_post(&other_network, &anxiety, "from another network").1);
    // More invalid messages, most of which gossipsub drops once H is
    // graylisted.
    for n in 0..EXTRA_FORGERIES {
        let (_, mut bytes) = signed_post(&network, &anxiety, &format!("forgery {n}"));
        match n % 3 {
            // Signed with another key than the one the envelope names.
            0 => bytes[signer_at..signer_at + 32].copy_from_slice(persona().public().as_bytes()),
            // Trailing garbage after the signature.
            1 => bytes.push(0),
            // A flipped signature bit.
            _ => *bytes.last_mut().expect("not empty") ^= 0x80,
        }
        h.publish(bytes);
    }

    // The score falls under the graylist: A bans H at its next maintenance
    // tick, and H sees its connection closed.
    let banned_score = h
        .drive(a_events.wait("H banned", |e| match e {
            Event::PeerBanned { peer, score } if *peer == h_id => Some(*score),
            _ => None,
        }))
        .await;
    let banned_at = a_events.log.len();
    assert!(banned_score < -80.0, "banned with score {banned_score}");
    assert!(
        banned_score < earned,
        "the score fell: {earned} -> {banned_score}"
    );
    h.wait(0, "connection to A closed", |s| {
        matches!(s, Seen::Closed(p) if *p == a.peer_id()).then_some(())
    })
    .await;

    // Everything A saw of the attack: each kind of junk refused with its
    // reason, on the channel, and not one post shown (the replay included).
    // Nothing H sent later reaches hearth: gossipsub drops RPCs of a peer
    // under the graylist, which is what the ban condition is, and the
    // connection is closed.
    let attack = &a_events.log[attack_start..];
    let refused: Vec<&str> = attack
        .iter()
        .filter_map(|e| match e {
            Event::Refused {
                channel, reason, ..
            } => {
                assert_eq!(channel.as_ref(), Some(&anxiety), "refused on the channel");
                Some(reason.as_str())
            }
            _ => None,
        })
        .collect();
    for expected in [
        "unknown envelope version",
        "malformed message",
        "bad signature",
        "post is for channel",
        "message is for network",
    ] {
        assert!(
            refused.iter().any(|r| r.contains(expected)),
            "no refusal with {expected:?} at A; refused: {refused:?}"
        );
    }
    eprintln!(
        "H's score at A: {earned:.1} earned, {banned_score:.1} when banned; refused: {refused:?}"
    );
    assert!(
        !attack.iter().any(|e| matches!(e, Event::Post(_))),
        "A showed something during the attack: {attack:?}"
    );

    // ---- nothing was forwarded to B ----
    //
    // "Nothing arrives" is observed with a marker instead of a sleep. A
    // publishes the marker after it handled every message H got through
    // (PeerBanned is emitted only once H is under the graylist, below which
    // gossipsub drops H's messages). A sends its own posts and everything
    // it forwards to B through one FIFO queue of data messages, on one
    // connection, and B handles what arrives in order. So anything A had
    // forwarded from H would reach B, and be shown or refused there, before
    // the marker. (Gossip cannot bring junk later either: a message A
    // rejects leaves its message cache.)
    let marker = a
        .publish(anxiety.clone(), "marker: still here")
        .await
        .expect("A publishes")
        .id;
    legit.push(marker);
    b_events.post("the marker at B", marker).await;
    assert!(
        !b_events
            .log
            .iter()
            .any(|e| matches!(e, Event::Refused { .. })),
        "junk reached B: {:?}",
        b_events.log
    );
    assert_exactly_once(&b_events, &legit);

    // ---- a redial is refused while H is banned ----
    let from = h.log.len();
    h.swarm.dial(a_addr.clone()).expect("H redials A");
    let mut connected = false;
    let outcome = h
        .wait(from, "the redial refused", |s| match s {
            Seen::DialFailed(error) => Some(format!("dial failed: {error}")),
            Seen::Connected(p) if *p == a.peer_id() => {
                connected = true;
                None
            }
            Seen::Closed(p) if *p == a.peer_id() => Some(format!(
                "connection closed by A (established on H's side first: {connected})"
            )),
            _ => None,
        })
        .await;
    eprintln!("redial of a banned peer: {outcome}");
    let peers = a.peers().await.expect("A answers");
    assert!(
        peers.iter().all(|p| p.peer != h_id),
        "H is connected to A again: {peers:?}"
    );

    // ---- A and B are alive and still talk ----
    let a_status = a.status().await.expect("A answers");
    let b_status = b.status().await.expect("B answers");
    assert_eq!(a_status.connected_peers, 1, "A keeps B only");
    assert_eq!(b_status.connected_peers, 1, "B keeps A");
    let after = b
        .publish(anxiety.clone(), "thanks, feeling better")
        .await
        .expect("B publishes")
        .id;
    legit.push(after);
    a_events.post("B's later post at A", after).await;
    b_events.post("B's own later post", after).await;

    // Every legitimate post was shown exactly once on both nodes (B's
    // first post, the replayed one, included), and nothing else.
    assert_exactly_once(&a_events, &legit);
    assert_exactly_once(&b_events, &legit);
    assert!(
        !a_events.log[banned_at..]
            .iter()
            .any(|e| matches!(e, Event::PeerConnected { peer, .. } if *peer == h_id)),
        "A let H in again while banned"
    );

    a.shutdown().await.expect("A stops");
    b.shutdown().await.expect("B stops");
}
