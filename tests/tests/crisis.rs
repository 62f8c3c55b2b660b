//! Crisis-directory updates across real nodes: an update signed by a key
//! the person trusts reaches their node (by history sync, and by gossip)
//! and waits there, not accepted, until the person accepts it; an older
//! sequence does not replace a newer one; and an update by a key the
//! person does not trust is not kept, even when it arrives on a topic the
//! node listens to (a followed moderator's).

use hearth_node::Event;
use hearth_node::crisis::CrisisUpdateInfo;
use hearth_protocol::{CrisisUpdate, Keypair, NetworkId, Scope};
use hearth_tests::{
    address, channel, eventually, init_tracing, start, unique_network, wait_channel_peers, wait_for,
};

/// A directory of one line, as a crisis line file.
const DIRECTORY: &str = "[[line]]\ncountry = \"GB\"\nservice = \"Samaritans\"\nreach = [{ how = \"call\", to = \"116 123\" }]\nhours = \"24 hours, every day\"\nlanguages = [\"en\"]\nsource = \"https://www.samaritans.org/\"\nchecked = \"2026-12-01\"\n";

fn update(key: &Keypair, network: &NetworkId, sequence: u64) -> hearth_protocol::SignedMessage {
    CrisisUpdate::sign(
        key,
        network,
        sequence,
        1_700_000_000_000 + sequence,
        format!("sequence {sequence}"),
        DIRECTORY,
    )
    .unwrap()
}

/// Publishes `bytes` from `node` until a peer is subscribed to its topic
/// (the first tries may come before the subscription has spread).
async fn publish_to_a_peer(node: &hearth_node::NodeHandle, bytes: &[u8]) {
    eventually("the update sent to a peer", || async move {
        node.publish_signed_crisis_update(bytes.to_vec())
            .await
            .unwrap()
            > 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_publishers_update_waits_for_acceptance_and_others_are_not_kept() {
    init_tracing();
    let network = unique_network();
    let ch = channel("care");
    let trusted = Keypair::generate(&mut rand::rng());
    let untrusted = Keypair::generate(&mut rand::rng());
    let (host, reader, other) = (
        start(&network).await,
        start(&network).await,
        start(&network).await,
    );
    let mut r_events = reader.events();
    for node in [&host, &reader, &other] {
        node.join(ch.clone()).await.unwrap();
    }
    host.dial(address(&reader).await).await.unwrap();
    other.dial(address(&reader).await).await.unwrap();
    wait_channel_peers(&reader, &mut r_events, &ch, 2).await;

    // Off by default: the host holds an update, the reader trusts nobody
    // and has nothing.
    let first = update(&trusted, &network, 1);
    host.publish_signed_crisis_update(first.bytes.clone())
        .await
        .unwrap();
    assert!(reader.crisis_trusted().await.unwrap().is_empty());
    assert!(reader.crisis_updates().await.unwrap().is_empty());

    // Trusting the key asks peers for its update: the host serves it.
    assert!(
        !reader
            .trust_crisis_key(trusted.public(), true)
            .await
            .unwrap()
    );
    let got = wait_for(
        &mut r_events,
        "the first update at the reader",
        |e| match e {
            Event::CrisisUpdate(info) => Some((**info).clone()),
            _ => None,
        },
    )
    .await;
    assert_eq!(got.id, first.id);
    assert!(!got.accepted);
    let held = reader.crisis_updates().await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].update.sequence, 1);
    assert!(!held[0].accepted, "waiting, not applied");
    assert_eq!(held[0].update.directory, DIRECTORY);

    // A newer one arrives by gossip, and waits again.
    let fifth = update(&trusted, &network, 5);
    publish_to_a_peer(&host, &fifth.bytes).await;
    wait_for(&mut r_events, "update 5 at the reader", |e| match e {
        Event::CrisisUpdate(info) if info.id == fifth.id => Some(()),
        _ => None,
    })
    .await;
    let held = reader.crisis_updates().await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].update.sequence, held[0].accepted), (5, false));

    // Only the person's acceptance marks it accepted.
    assert!(matches!(
        reader.accept_crisis_update(first.id).await,
        Err(hearth_node::NodeError::NoCrisisUpdate(_))
    ));
    let accepted: CrisisUpdateInfo = reader.accept_crisis_update(fifth.id).await.unwrap();
    assert!(accepted.accepted);
    let held = reader.crisis_updates().await.unwrap();
    assert!(held[0].accepted);

    // An older sequence, never seen before, does not replace the newer
    // one. A post after it on the same connection marks when the reader
    // has judged it.
    let third = update(&trusted, &network, 3);
    publish_to_a_peer(&other, &third.bytes).await;
    let marker = other
        .publish(ch.clone(), "after the old update")
        .await
        .unwrap();
    wait_for(&mut r_events, "the marker after update 3", |e| match e {
        Event::CrisisUpdate(info) => panic!("an older update was taken: {info:?}"),
        Event::Post(r) => (r.id == marker.id).then_some(()),
        _ => None,
    })
    .await;
    let held = reader.crisis_updates().await.unwrap();
    assert_eq!((held[0].update.sequence, held[0].id), (5, fifth.id));
    assert!(held[0].accepted, "still the accepted one");

    // A key the reader follows as a moderator but does not trust for
    // updates: its update reaches the reader's node and is not kept.
    reader.follow(untrusted.public(), Scope::All).await.unwrap();
    let stranger = update(&untrusted, &network, 1);
    publish_to_a_peer(&other, &stranger.bytes).await;
    let marker = other
        .publish(ch.clone(), "after the stranger")
        .await
        .unwrap();
    wait_for(
        &mut r_events,
        "the marker after the stranger's update",
        |e| match e {
            Event::CrisisUpdate(info) => panic!("an untrusted update was taken: {info:?}"),
            Event::Post(r) => (r.id == marker.id).then_some(()),
            _ => None,
        },
    )
    .await;
    let held = reader.crisis_updates().await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].update.publisher, trusted.public());

    // Untrusting forgets what the key sent.
    assert!(
        reader
            .trust_crisis_key(trusted.public(), false)
            .await
            .unwrap()
    );
    assert!(reader.crisis_updates().await.unwrap().is_empty());
}
