//! Moderation across real nodes: what a user blocks is hidden and not
//! relayed, a followed moderator's list applies, and unfollowing undoes it.

use hearth_node::metrics::exposition;
use hearth_node::{Event, HistoryQuery};
use hearth_protocol::{BlockEntry, BlockTarget, Keypair, ListId, ModeratorList, Scope};
use hearth_tests::{
    address, channel, init_tracing, scrape, start, test_node, unique_network, wait_channel_peers,
    wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_persona_is_hidden_with_a_reason_and_not_relayed() {
    init_tracing();
    let network = unique_network();
    let ch = channel("anxiety");
    let (a, b, c) = (
        start(&network).await,
        start(&network).await,
        start(&network).await,
    );
    let mut b_events = b.events();
    let mut c_events = c.events();
    for node in [&a, &b, &c] {
        node.join(ch.clone()).await.unwrap();
    }
    // a - b - c: everything a says reaches c only through b.
    a.dial(address(&b).await).await.unwrap();
    c.dial(address(&b).await).await.unwrap();
    wait_channel_peers(&b, &mut b_events, &ch, 2).await;
    wait_channel_peers(&c, &mut c_events, &ch, 1).await;

    let troll = a.persona(ch.clone()).await.unwrap();
    let entry = BlockEntry::new(BlockTarget::Persona(troll.key), "kept mocking people");
    assert!(b.block(entry.clone()).await.unwrap());
    assert!(
        !b.block(entry.clone()).await.unwrap(),
        "a second block is a no-op"
    );

    let nasty = a.publish(ch.clone(), "you are all pathetic").await.unwrap();
    let at_b = wait_for(&mut b_events, "the blocked post at b", |e| match e {
        Event::Post(r) if r.id == nasty.id => Some(r.clone()),
        _ => None,
    })
    .await;
    let verdict = at_b.verdict.expect("hidden at b");
    assert_eq!(verdict.list, ListId::Local);
    assert_eq!(verdict.reason, "kept mocking people");

    // b refused to relay it. b's own marker travels the same connection to
    // c after the moment b decided on the blocked post, so had b forwarded
    // it, c would see it before the marker.
    let marker = b.publish(ch.clone(), "marker").await.unwrap();
    wait_for(&mut c_events, "b's marker at c", |e| match e {
        Event::Post(r) => {
            assert_ne!(r.id, nasty.id, "b relayed a post it hides");
            (r.id == marker.id).then_some(())
        }
        _ => None,
    })
    .await;

    let visible = b
        .history(ch.clone(), HistoryQuery::default())
        .await
        .unwrap();
    assert!(visible.iter().all(|r| r.id != nasty.id));
    let why = b.post(nasty.id).await.unwrap().expect("stored");
    assert_eq!(why.verdict.unwrap().reason, "kept mocking people");

    assert!(b.unblock(entry).await.unwrap());
    // An entry that could never match is refused, not stored and skipped.
    let broken = BlockEntry::new(BlockTarget::Regex("(unclosed".into()), "typo");
    assert!(matches!(
        b.block(broken).await,
        Err(hearth_node::NodeError::InvalidEntry(_))
    ));
    assert!(b.blocklist().await.unwrap().is_empty());
    let visible = b
        .history(ch.clone(), HistoryQuery::default())
        .await
        .unwrap();
    assert!(
        visible
            .iter()
            .any(|r| r.id == nasty.id && r.verdict.is_none())
    );
}

/// A list of `entries` signed by `moderator`, at `sequence`.
fn signed_list(
    moderator: &Keypair,
    network: &hearth_protocol::NetworkId,
    sequence: u64,
    entries: Vec<BlockEntry>,
) -> Vec<u8> {
    ModeratorList::sign(
        moderator,
        network,
        sequence,
        1_700_000_000_000 + sequence,
        "recovery spam",
        entries,
    )
    .unwrap()
    .bytes
}

/// Publishes a list on `host` and waits until `reader` has taken it in.
async fn publish_and_apply(
    host: &hearth_node::NodeHandle,
    reader_events: &mut hearth_node::EventStream,
    list: Vec<u8>,
    sequence: u64,
) {
    host.publish_moderator_list(list).await.unwrap();
    wait_for(
        reader_events,
        &format!("list {sequence} at the reader"),
        |e| match e {
            Event::ModeratorList { sequence: s, .. } if *s == sequence => Some(()),
            _ => None,
        },
    )
    .await;
}

/// Whether `node` hides the post `id`.
async fn hidden(node: &hearth_node::NodeHandle, id: hearth_protocol::MessageId) -> bool {
    node.post(id).await.unwrap().unwrap().verdict.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_moderators_list_applies_and_unfollowing_undoes_it() {
    init_tracing();
    let network = unique_network();
    let ch = channel("recovery");
    let moderator = Keypair::generate(&mut rand::rng());
    let (host, spammer, reader) = (
        start(&network).await,
        start(&network).await,
        start(&network).await,
    );
    let mut reader_events = reader.events();
    for node in [&host, &spammer, &reader] {
        node.join(ch.clone()).await.unwrap();
    }
    host.dial(address(&reader).await).await.unwrap();
    spammer.dial(address(&reader).await).await.unwrap();
    wait_channel_peers(&reader, &mut reader_events, &ch, 2).await;

    let spam_persona = spammer.persona(ch.clone()).await.unwrap();
    let list = signed_list(
        &moderator,
        &network,
        1,
        vec![
            BlockEntry::new(BlockTarget::Persona(spam_persona.key), "sells pills")
                .in_channel(ch.clone()),
        ],
    );
    // The moderator's list lives on the host node before anyone follows.
    host.publish_moderator_list(list.clone()).await.unwrap();

    let spam = spammer
        .publish(ch.clone(), "cheap pills here")
        .await
        .unwrap();
    let before = wait_for(&mut reader_events, "spam before following", |e| match e {
        Event::Post(r) if r.id == spam.id => Some(r.clone()),
        _ => None,
    })
    .await;
    assert!(before.verdict.is_none(), "nothing hides it yet");

    // Following subscribes to the moderator's topic and asks peers for the
    // moderator's list by history sync; the host holds it and serves it.
    reader.follow(moderator.public(), Scope::All).await.unwrap();
    wait_for(&mut reader_events, "the moderator's list", |e| match e {
        Event::ModeratorList {
            moderator: m,
            sequence: 1,
            entries: 1,
        } if *m == moderator.public() => Some(()),
        _ => None,
    })
    .await;
    let record = reader.post(spam.id).await.unwrap().unwrap();
    let verdict = record.verdict.expect("hidden by the list");
    assert_eq!(verdict.list, ListId::Moderator(moderator.public()));
    assert_eq!(verdict.reason, "sells pills");
    let history = reader
        .history(ch.clone(), HistoryQuery::default())
        .await
        .unwrap();
    assert!(history.iter().all(|r| r.id != spam.id));

    // An older list replayed later must not replace the newer one.
    let newer = signed_list(&moderator, &network, 2, vec![]);
    publish_and_apply(&host, &mut reader_events, newer, 2).await;
    assert!(!hidden(&reader, spam.id).await);
    let stale = host.publish_moderator_list(list).await;
    assert!(matches!(
        stale,
        Err(hearth_node::NodeError::StaleList {
            held: 2,
            offered: 1
        })
    ));

    // Unfollowing drops the moderator's entries at once.
    let relisted = signed_list(
        &moderator,
        &network,
        3,
        vec![BlockEntry::new(
            BlockTarget::Persona(spam_persona.key),
            "sells pills",
        )],
    );
    publish_and_apply(&host, &mut reader_events, relisted, 3).await;
    assert!(hidden(&reader, spam.id).await);
    assert!(reader.unfollow(moderator.public()).await.unwrap());
    assert!(!hidden(&reader, spam.id).await);
    let history = reader.history(ch, HistoryQuery::default()).await.unwrap();
    assert!(history.iter().any(|r| r.id == spam.id));
}

/// The node's count of `name` (a counter without labels).
async fn counter(node: &hearth_node::NodeHandle, name: &str) -> f64 {
    let endpoint = node.metrics_addr().expect("the node serves metrics");
    exposition::value(&scrape(endpoint).await, name, &[]).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_entry_import_applies_at_once_with_one_compilation_or_not_at_all() {
    init_tracing();
    let network = unique_network();
    let ch = channel("grief");
    // On disk: an in-memory store has nothing to flush.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let node = test_node(&network)
        .data_dir(dir.path())
        .metrics("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    node.join(ch.clone()).await.unwrap();
    let entries = |n: usize| -> Vec<BlockEntry> {
        (0..n)
            .map(|i| BlockEntry::new(BlockTarget::Keyword(format!("spamword{i}")), "spam"))
            .collect()
    };
    let spam = node
        .publish(ch.clone(), "buy now, spamword9999 inside")
        .await
        .unwrap();
    assert!(!hidden(&node, spam.id).await);

    // One unusable entry among 10,000: nothing is added.
    let mut broken = entries(10_000);
    broken[7_000] = BlockEntry::new(BlockTarget::Regex("(unclosed".into()), "typo");
    let compiles = counter(&node, "hearth_policy_compiles_total").await;
    let refused = node.block_all(broken).await.unwrap_err();
    assert!(
        matches!(
            refused,
            hearth_node::NodeError::InvalidEntryOf { number: 7_001, .. }
        ),
        "{refused}"
    );
    assert!(node.blocklist().await.unwrap().is_empty());
    assert!(!hidden(&node, spam.id).await);
    assert_eq!(
        counter(&node, "hearth_policy_compiles_total").await,
        compiles
    );

    // 10,000 good ones: one batch, one compilation, and in use when the
    // call returns.
    let flushes = counter(&node, "hearth_store_flushes_total").await;
    assert_eq!(node.block_all(entries(10_000)).await.unwrap(), 10_000);
    assert!(hidden(&node, spam.id).await);
    assert_eq!(node.blocklist().await.unwrap().len(), 10_000);
    assert_eq!(
        counter(&node, "hearth_policy_compiles_total").await,
        compiles + 1.0,
        "one compilation for the whole import"
    );
    let flushed = counter(&node, "hearth_store_flushes_total").await - flushes;
    // One for the import; a lone node has little else to flush.
    assert!(
        (1.0..=3.0).contains(&flushed),
        "{flushed} flushes for one import"
    );
    // Importing the same again adds nothing.
    assert_eq!(node.block_all(entries(10_000)).await.unwrap(), 0);
}
