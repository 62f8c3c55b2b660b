//! Persona stamps in the node: every persona pays once, posts that did not
//! pay are refused, and a stored persona keeps what it paid.
//!
//! Nodes here ask level [`BITS`] instead of the protocol's 25, so that a
//! search takes milliseconds, not seconds; the node's path is the same at
//! every level.

use std::time::Duration;

use hearth_node::{Event, EventStream, Node, NodeBuilder, NodeHandle};
use hearth_protocol::{ChannelName, MessageId, NetworkId, PersonaStamp, PublicKey};
use hearth_tests::{
    address, channel, init_tracing, test_node, unique_network, wait_channel_peers, wait_for,
};

/// The level the nodes of these tests ask and stamp to.
const BITS: u8 = 14;

/// A test node asking [`BITS`].
fn stamping(network: &NetworkId) -> NodeBuilder {
    test_node(network).persona_stamp_bits(BITS)
}

/// Waits for the post `id` at a node; returns its author and stamp.
async fn post_arrives(
    events: &mut EventStream,
    what: &str,
    id: MessageId,
) -> (PublicKey, PersonaStamp) {
    wait_for(events, what, |e| match e {
        Event::Post(record) if record.id == id => {
            Some((record.post.author, record.post.persona_stamp))
        }
        _ => None,
    })
    .await
}

/// Joins `channel` at `node` and waits for its persona to be ready: the
/// search starts with the join and ends in `PersonaReady`.
async fn join_and_stamp(node: &NodeHandle, channel: &ChannelName) -> Duration {
    let mut events = node.events();
    node.join(channel.clone()).await.expect("joins");
    wait_for(&mut events, "the search for the stamp", |e| match e {
        Event::PersonaStamping { channel: c, bits } if c == channel => Some(*bits),
        _ => None,
    })
    .await;
    wait_for(&mut events, "the persona ready", |e| match e {
        Event::PersonaReady {
            channel: c,
            elapsed,
        } if c == channel => Some(*elapsed),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_written_before_the_stamp_is_found_waits_for_it_and_carries_it() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let a = stamping(&network).start().await.expect("a starts");
    let b = stamping(&network).start().await.expect("b starts");
    let mut a_events = a.events();
    let mut b_events = b.events();
    b.join(anxiety.clone()).await.expect("b joins");
    b.dial(address(&a).await).await.expect("b dials a");

    // Published right after the join, while the search runs (or just
    // after it ended): either way the post must carry a stamp that meets
    // the level, and go out.
    a.join(anxiety.clone()).await.expect("a joins");
    let published = a
        .publish(anxiety.clone(), "first words")
        .await
        .expect("the post is published once the stamp is found");
    wait_for(&mut a_events, "a's persona ready", |e| {
        matches!(e, Event::PersonaReady { channel, .. } if channel == &anxiety).then_some(())
    })
    .await;
    wait_channel_peers(&b, &mut b_events, &anxiety, 1).await;
    let (author, stamp) = post_arrives(&mut b_events, "a's post at b", published.id).await;
    assert!(
        stamp.meets(&network, &author, BITS),
        "the post's stamp {stamp:?} does not reach {BITS} bits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_a_stamp_are_refused_and_never_shown() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    // `cheap` asks no stamp and makes none: its posts carry stamp 0.
    let cheap = test_node(&network).start().await.expect("cheap starts");
    let strict = stamping(&network).start().await.expect("strict starts");
    let mut strict_events = strict.events();
    let mut cheap_events = cheap.events();
    join_and_stamp(&strict, &anxiety).await;
    cheap.join(anxiety.clone()).await.expect("cheap joins");
    cheap
        .dial(address(&strict).await)
        .await
        .expect("cheap dials strict");
    wait_channel_peers(&cheap, &mut cheap_events, &anxiety, 1).await;
    wait_channel_peers(&strict, &mut strict_events, &anxiety, 1).await;

    let unpaid = cheap
        .publish(anxiety.clone(), "a persona that paid nothing")
        .await
        .expect("cheap publishes");
    assert!(unpaid.peers >= 1, "the post went out to strict");
    let reason = wait_for(&mut strict_events, "the unpaid post refused", |e| match e {
        Event::Refused { reason, .. } if reason.contains("stamp") => Some(reason.clone()),
        Event::Post(record) if record.id == unpaid.id => {
            panic!("a post without a stamp was shown")
        }
        _ => None,
    })
    .await;
    assert!(reason.contains("stamp"), "{reason}");

    // Strict's own posts still reach cheap (which asks nothing), and strict
    // still shows posts that paid: the refusal judged the post, not the
    // peer.
    let paid = strict
        .publish(anxiety.clone(), "a persona that paid")
        .await
        .expect("strict publishes");
    let (author, stamp) = post_arrives(&mut cheap_events, "strict's post", paid.id).await;
    assert!(stamp.meets(&network, &author, BITS));
    assert_eq!(
        strict.post(unpaid.id).await.expect("strict answers"),
        None,
        "the refused post is not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_persona_keeps_its_stamp_across_a_restart() {
    init_tracing();
    let network = unique_network();
    let grief = channel("grief");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let on_disk = || {
        Node::builder()
            .persona_stamp_bits(BITS)
            .data_dir(dir.path())
            .listen("/ip4/127.0.0.1/tcp/0".parse().expect("an address"))
            .mdns(false)
            .network(network.clone())
    };

    let node = on_disk().start().await.expect("first start");
    join_and_stamp(&node, &grief).await;
    let mut events = node.events();
    let first = node
        .publish(grief.clone(), "before the restart")
        .await
        .expect("publishes");
    let (author, stamp) = post_arrives(&mut events, "the first post", first.id).await;
    node.shutdown().await.expect("stops");

    let node = on_disk().start().await.expect("second start");
    let mut events = node.events();
    node.join(grief.clone()).await.expect("joins again");
    let second = node
        .publish(grief.clone(), "after the restart")
        .await
        .expect("publishes");
    // Events come in order: had the node searched again, its
    // `PersonaStamping` would come before its own post.
    let seen = wait_for(&mut events, "the second post", |e| match e {
        Event::PersonaStamping { .. } => Some(None),
        Event::Post(record) if record.id == second.id => Some(Some(record.post.clone())),
        _ => None,
    })
    .await
    .expect("no new search for a stored persona's stamp");
    assert_eq!(seen.author, author, "the same persona");
    assert_eq!(seen.persona_stamp, stamp, "the stamp it paid for once");
    node.shutdown().await.expect("stops");
}
