//! History sync between real nodes on loopback: nothing said in a channel
//! is lost to someone who joins late or was away, blocked posts stay
//! blocked, a peer that serves forgeries is banned, and a newly followed
//! moderator's list arrives however long ago it was published.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use hearth_node::sync::{Items, Request, Response, SyncCodec, protocol_name, respond};
use hearth_node::{
    Event, EventStream, HistoryQuery, Node, NodeBuilder, NodeHandle, Origin, PeerId, PostRecord,
    SyncReport,
};
use hearth_protocol::{
    BlockEntry, BlockTarget, ChannelName, Keypair, MessageId, ModeratorList, NetworkId, PostDraft,
    Scope,
};
use hearth_tests::{
    DEADLINE, address, channel, init_tracing, now_ms, start, test_limits, test_node,
    unique_network, wait_channel_peers, wait_for,
};
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{SwarmBuilder, noise, tcp, yamux};
use tokio::sync::mpsc;

/// A test node on a data directory (so it can be stopped and started
/// again with what it stored).
fn on_disk(dir: &Path, network: &NetworkId) -> NodeBuilder {
    Node::builder()
        .persona_stamp_bits(0)
        .data_dir(dir)
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("a valid address"))
        .mdns(false)
        .network(network.clone())
}

/// Two nodes in `channel`, the second dialled by the first, each seeing
/// the other in it.
async fn connect(
    a: &NodeHandle,
    a_events: &mut EventStream,
    b: &NodeHandle,
    b_events: &mut EventStream,
    channel: &ChannelName,
) {
    a.dial(address(b).await).await.expect("dials");
    wait_channel_peers(a, a_events, channel, 1).await;
    wait_channel_peers(b, b_events, channel, 1).await;
}

/// Every post event until a sync with each of `peers` has ended; returns
/// the posts (in order) and the reports.
async fn until_synced_with(
    events: &mut EventStream,
    peers: &[PeerId],
) -> (Vec<PostRecord>, HashMap<PeerId, SyncReport>) {
    let mut posts = Vec::new();
    let mut reports = HashMap::new();
    wait_for(events, "sync with every peer", |e| {
        match e {
            Event::Post(record) => posts.push((**record).clone()),
            Event::Synced(report) if report.channel.is_some() && peers.contains(&report.peer) => {
                reports.insert(report.peer, (**report).clone());
            }
            _ => {}
        }
        (reports.len() == peers.len()).then_some(())
    })
    .await;
    (posts, reports)
}

/// Waits until a post event has come for each of `ids`, in any order.
async fn all_posts(events: &mut EventStream, what: &str, ids: &[MessageId]) {
    let mut missing = ids.to_vec();
    wait_for(events, what, |e| {
        if let Event::Post(r) = e {
            missing.retain(|id| *id != r.id);
        }
        missing.is_empty().then_some(())
    })
    .await;
}

fn count(posts: &[PostRecord], id: MessageId) -> usize {
    posts.iter().filter(|r| r.id == id).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_what_was_said_before_it_came_once_each_by_sync() {
    init_tracing();
    let network = unique_network();
    let grief = channel("grief");
    let (a, b) = (start(&network).await, start(&network).await);
    let (mut a_events, mut b_events) = (a.events(), b.events());
    a.join(grief.clone()).await.expect("a joins");
    b.join(grief.clone()).await.expect("b joins");
    connect(&a, &mut a_events, &b, &mut b_events, &grief).await;

    let mut said = Vec::new();
    for (node, text) in [
        (&a, "my mother died on tuesday"),
        (&b, "I am so sorry"),
        (&a, "I keep setting the table for two"),
        (&b, "that went on for months for me"),
    ] {
        let sent = node.publish(grief.clone(), text).await.expect("publishes");
        said.push((sent.id, text));
    }
    let ids: Vec<MessageId> = said.iter().map(|(id, _)| *id).collect();
    all_posts(&mut a_events, "every post at a", &ids).await;
    all_posts(&mut b_events, "every post at b", &ids).await;

    // C joins later and meets both.
    let c = start(&network).await;
    let mut c_events = c.events();
    c.join(grief.clone()).await.expect("c joins");
    c.dial(address(&a).await).await.expect("c dials a");
    c.dial(address(&b).await).await.expect("c dials b");
    let (posts, reports) = until_synced_with(&mut c_events, &[a.peer_id(), b.peer_id()]).await;

    for (id, text) in &said {
        assert_eq!(
            count(&posts, *id),
            1,
            "{text:?} shown {} times",
            count(&posts, *id)
        );
        let record = posts.iter().find(|r| r.id == *id).expect("shown");
        assert_eq!(record.post.body, *text);
        assert_eq!(record.origin, Origin::Sync);
    }
    assert_eq!(posts.len(), said.len(), "nothing else: {posts:?}");
    for report in reports.values() {
        assert_eq!(report.error, None, "{report:?}");
        // Less when the other peer's session delivered some first.
        assert!(report.needed <= said.len(), "{report:?}");
    }
    // Each post was stored once, whichever peer delivered it.
    let received: usize = reports.values().map(|r| r.received).sum();
    assert_eq!(received, said.len());
    // And they are history like any other post, oldest first.
    let history = c
        .history(grief.clone(), HistoryQuery::default())
        .await
        .expect("history");
    assert_eq!(history.len(), said.len());
    assert!(
        history
            .windows(2)
            .all(|w| w[0].post.created_ms <= w[1].post.created_ms)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_was_away_gets_what_was_said_meanwhile_and_nothing_twice() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (a, c) = (start(&network).await, start(&network).await);
    let b = on_disk(dir.path(), &network)
        .start()
        .await
        .expect("b starts");
    let (mut a_events, mut b_events, mut c_events) = (a.events(), b.events(), c.events());
    for node in [&a, &b, &c] {
        node.join(anxiety.clone()).await.expect("joins");
    }
    connect(&b, &mut b_events, &a, &mut a_events, &anxiety).await;
    c.dial(address(&a).await).await.expect("c dials a");
    wait_channel_peers(&c, &mut c_events, &anxiety, 1).await;

    // B is there for the first post, then goes away.
    let before = c
        .publish(anxiety.clone(), "can't sleep again")
        .await
        .expect("c publishes");
    wait_for(&mut b_events, "the first post at b", |e| {
        matches!(e, Event::Post(r) if r.id == before.id).then_some(())
    })
    .await;
    b.shutdown().await.expect("b stops");

    let mut meanwhile = Vec::new();
    for text in [
        "anyone else up?",
        "the 3am thoughts are loud",
        "ok, tea helps",
    ] {
        let sent = c.publish(anxiety.clone(), text).await.expect("c publishes");
        wait_for(&mut a_events, "the post at a", |e| {
            matches!(e, Event::Post(r) if r.id == sent.id).then_some(())
        })
        .await;
        meanwhile.push((sent.id, text));
    }

    // B comes back on the same store and meets A again.
    let b = on_disk(dir.path(), &network)
        .start()
        .await
        .expect("b starts again");
    let mut b_events = b.events();
    b.join(anxiety.clone()).await.expect("b joins again");
    b.dial(address(&a).await).await.expect("b dials a");
    let (posts, reports) = until_synced_with(&mut b_events, &[a.peer_id()]).await;

    for (id, text) in &meanwhile {
        assert_eq!(count(&posts, *id), 1, "{text:?}");
        let record = posts.iter().find(|r| r.id == *id).expect("shown");
        assert_eq!(
            (record.post.body.as_str(), record.origin),
            (*text, Origin::Sync)
        );
    }
    // What B had before it went away is not fetched again.
    assert_eq!(count(&posts, before.id), 0);
    let report = &reports[&a.peer_id()];
    assert_eq!(report.error, None);
    assert_eq!(
        (report.needed, report.requested, report.received),
        (3, 3, 3)
    );
    let history = b
        .history(anxiety.clone(), HistoryQuery::default())
        .await
        .expect("history");
    assert_eq!(history.len(), 4);
    b.shutdown().await.expect("b stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_posts_are_neither_served_nor_fetched_again() {
    init_tracing();
    let network = unique_network();
    let recovery = channel("recovery");
    let (a, b) = (start(&network).await, start(&network).await);
    let (mut a_events, mut b_events) = (a.events(), b.events());
    a.join(recovery.clone()).await.expect("a joins");
    b.join(recovery.clone()).await.expect("b joins");
    connect(&a, &mut a_events, &b, &mut b_events, &recovery).await;
    let spam = b
        .publish(recovery.clone(), "cheap pills, message me")
        .await
        .expect("b publishes");
    let fine = b
        .publish(recovery.clone(), "day 40 sober today")
        .await
        .expect("b publishes");
    all_posts(&mut a_events, "b's posts at a", &[spam.id, fine.id]).await;
    // A hides the spam; B goes away, so A is the only one to ask.
    let entry = BlockEntry::new(BlockTarget::Post(spam.id), "spam");
    assert!(a.block(entry.clone()).await.expect("a blocks"));
    b.shutdown().await.expect("b stops");

    // Not served: C, joining late, gets the fine post from A and never the
    // spam.
    let c = start(&network).await;
    let mut c_events = c.events();
    c.join(recovery.clone()).await.expect("c joins");
    c.dial(address(&a).await).await.expect("c dials a");
    let (posts, reports) = until_synced_with(&mut c_events, &[a.peer_id()]).await;
    assert_eq!(count(&posts, fine.id), 1);
    assert_eq!(count(&posts, spam.id), 0);
    assert!(c.post(spam.id).await.expect("c answers").is_none());
    let report = &reports[&a.peer_id()];
    // A advertises what it holds, so C asks for both; A leaves the spam out.
    assert_eq!((report.requested, report.received), (2, 1), "{report:?}");

    // Never fetched: D blocks the spam by its id before it joins, then
    // syncs with A and C again and again. A still advertises the spam (it
    // holds it, hidden); D never asks anyone for it.
    let mut limits = test_limits();
    limits.sync.interval = Duration::from_millis(500);
    limits.sync.jitter = Duration::ZERO;
    let d = test_node(&network)
        .limits(limits)
        .start()
        .await
        .expect("d starts");
    let mut d_events = d.events();
    assert!(d.block(entry).await.expect("d blocks"));
    d.join(recovery.clone()).await.expect("d joins");
    d.dial(address(&a).await).await.expect("d dials a");
    d.dial(address(&c).await).await.expect("d dials c");
    let mut has_fine = false;
    let mut spam_shown = 0;
    // Sessions that were running when the fine post arrived (one per peer
    // at most) may have asked for it; the ones after have nothing to ask.
    let mut in_flight = 2;
    let mut later: Vec<SyncReport> = Vec::new();
    wait_for(
        &mut d_events,
        "six syncs at d once it has the fine post",
        |e| {
            match e {
                Event::Post(r) if r.id == spam.id => spam_shown += 1,
                Event::Post(r) if r.id == fine.id => has_fine = true,
                Event::Synced(report) if report.channel.is_some() => {
                    assert_eq!(report.error, None, "{report:?}");
                    assert!(report.requested <= 1, "only the fine post: {report:?}");
                    if has_fine && in_flight > 0 {
                        in_flight -= 1;
                    } else if has_fine {
                        later.push((**report).clone());
                    }
                }
                _ => {}
            }
            (later.len() >= 6).then_some(())
        },
    )
    .await;
    assert_eq!(spam_shown, 0);
    assert!(later.iter().all(|r| r.requested == 0), "{later:?}");
    assert!(
        later.iter().any(|r| r.peer == a.peer_id() && r.needed == 1),
        "a advertises the spam: {later:?}"
    );
}

// ----- a peer that serves forgeries -----------------------------------------

/// A raw libp2p peer with gossipsub (to be in the channel) and hearth's
/// sync protocol, serving forged posts.
#[derive(NetworkBehaviour)]
struct ForgerBehaviour {
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
}

/// What the forger saw.
#[derive(Debug)]
enum Seen {
    Served(usize),
    Closed,
}

/// Starts the forger: it dials `address`, joins `channel`'s topic and
/// answers sync requests from `forgeries` (envelopes and their times).
fn start_forger(
    network: &NetworkId,
    channel: &ChannelName,
    address: libp2p::Multiaddr,
    forgeries: Vec<(u64, Vec<u8>)>,
) -> (PeerId, mpsc::UnboundedReceiver<Seen>) {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .build()
        .expect("a valid gossipsub config");
    let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)
        .expect("an anonymous gossipsub");
    gossipsub
        .subscribe(&IdentTopic::new(channel.topic(network).to_string()))
        .expect("subscribes");
    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(
            protocol_name(network).expect("a protocol name"),
            ProtocolSupport::Full,
        )],
        request_response::Config::default(),
    );
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("a TCP transport")
        .with_behaviour(|_| ForgerBehaviour { gossipsub, sync })
        .expect("a behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    let peer = *swarm.local_peer_id();
    let items = Items::new(
        forgeries
            .iter()
            .map(|(t, bytes)| (*t, MessageId::of(bytes))),
    )
    .expect("an item set");
    let by_id: HashMap<MessageId, Vec<u8>> = forgeries
        .into_iter()
        .map(|(_, bytes)| (MessageId::of(&bytes), bytes))
        .collect();
    swarm.dial(address).expect("dials");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = swarm.next().await {
            match event {
                SwarmEvent::Behaviour(ForgerBehaviourEvent::Sync(
                    request_response::Event::Message {
                        message:
                            request_response::Message::Request {
                                request, channel, ..
                            },
                        ..
                    },
                )) => {
                    let response = match request {
                        Request::Reconcile { frame, .. } => Response::Reconcile {
                            frame: respond(&items, &frame).expect("a frame"),
                        },
                        Request::Posts { ids, .. } => {
                            let posts: Vec<Vec<u8>> =
                                ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
                            let _ = tx.send(Seen::Served(posts.len()));
                            Response::Posts { posts }
                        }
                        Request::Lists { .. } | Request::CrisisUpdates { .. } => Response::Lists {
                            lists: Vec::new(),
                            complete: true,
                        },
                        Request::Card { .. } => Response::Card { card: None },
                    };
                    let _ = swarm.behaviour_mut().sync.send_response(channel, response);
                }
                SwarmEvent::ConnectionClosed { .. } => {
                    let _ = tx.send(Seen::Closed);
                }
                _ => {}
            }
        }
    });
    (peer, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_forged_posts_is_refused_and_banned() {
    init_tracing();
    let network = unique_network();
    let lonely = channel("lonely");
    let a = start(&network).await;
    let mut a_events = a.events();
    a.join(lonely.clone()).await.expect("a joins");

    // Five well-formed posts from a week ago, each with one bit of its
    // signature flipped.
    let forgeries: Vec<(u64, Vec<u8>)> = (0..5u64)
        .map(|n| {
            let created = now_ms() - 7 * 24 * 3_600_000 + n;
            let mut bytes = PostDraft::new(lonely.clone(), "trust me", created)
                .sign(&Keypair::generate(&mut rand::rng()), &network, 0)
                .expect("signs")
                .bytes;
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            (created, bytes)
        })
        .collect();
    let forged_ids: Vec<MessageId> = forgeries.iter().map(|(_, b)| MessageId::of(b)).collect();
    let (forger, mut seen) = start_forger(&network, &lonely, address(&a).await, forgeries);

    let mut shown = Vec::new();
    let mut report = None;
    let banned = wait_for(&mut a_events, "the forger banned", |e| {
        match e {
            Event::Post(r) => shown.push(r.id),
            Event::Synced(r) if r.peer == forger => report = Some((**r).clone()),
            Event::PeerBanned { peer, score } if *peer == forger => return Some(*score),
            _ => {}
        }
        None
    })
    .await;
    assert!(banned < -80.0, "score {banned}");
    assert!(shown.iter().all(|id| !forged_ids.contains(id)), "{shown:?}");
    let report = report.expect("the sync ended before the ban");
    assert_eq!(
        (report.requested, report.received, report.refused),
        (5, 0, 5)
    );
    assert!(
        a.history(lonely, HistoryQuery::default())
            .await
            .expect("history")
            .is_empty()
    );
    // The forger served them, and was then cut off.
    let closed = tokio::time::timeout(DEADLINE, async {
        let mut served = 0;
        while let Some(s) = seen.recv().await {
            match s {
                Seen::Served(n) => served += n,
                Seen::Closed => return served,
            }
        }
        served
    })
    .await
    .expect("the forger's connection closes");
    assert_eq!(closed, 5);
}

// ----- moderator lists --------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newly_followed_moderators_old_list_arrives_by_sync() {
    init_tracing();
    let network = unique_network();
    let grief = channel("grief");
    let moderator = Keypair::generate(&mut rand::rng());
    let (host, reader) = (start(&network).await, start(&network).await);
    let (mut host_events, mut reader_events) = (host.events(), reader.events());
    host.join(grief.clone()).await.expect("host joins");
    reader.join(grief.clone()).await.expect("reader joins");
    connect(&host, &mut host_events, &reader, &mut reader_events, &grief).await;

    // The list was signed and published three hours ago; the host, which
    // follows the moderator, holds it. Gossip delivered it long ago, to
    // whoever listened then.
    let three_hours_ago = now_ms() - 3 * 3_600_000;
    let entry = BlockEntry::new(BlockTarget::Keyword("pills".into()), "spam");
    let list = ModeratorList::sign(
        &moderator,
        &network,
        7,
        three_hours_ago,
        "grief helpers",
        vec![entry],
    )
    .expect("signs")
    .bytes;
    host.follow(moderator.public(), Scope::All)
        .await
        .expect("host follows");
    host.publish_moderator_list(list)
        .await
        .expect("host keeps the list");

    reader
        .follow(moderator.public(), Scope::All)
        .await
        .expect("reader follows");
    let mut report = None;
    wait_for(&mut reader_events, "the list, by sync", |e| match e {
        Event::Synced(r) if r.channel.is_none() && r.peer == host.peer_id() => {
            report = Some((**r).clone());
            None
        }
        Event::ModeratorList {
            moderator: m,
            sequence: 7,
            entries: 1,
        } if *m == moderator.public() => Some(()),
        _ => None,
    })
    .await;
    // The list applies: a post it blocks is hidden at the reader.
    let spam = host
        .publish(grief.clone(), "cheap pills")
        .await
        .expect("host publishes");
    let record = wait_for(&mut reader_events, "the spam at the reader", |e| match e {
        Event::Post(r) if r.id == spam.id => Some((**r).clone()),
        _ => None,
    })
    .await;
    assert!(record.verdict.is_some(), "hidden by the synced list");
    if let Some(report) = report {
        assert_eq!(report.error, None);
    }
}

/// A late joiner gets the last day of a busy channel: 5 000 posts by 50
/// people, held by one peer from before the joiner existed, all arrive by
/// sync in one session, each stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_last_day_of_a_channel_of_5000_posts() {
    use hearth_node::store::{Store, StoredPost};

    init_tracing();
    let network = unique_network();
    let grief = channel("grief");
    let authors: Vec<Keypair> = (0..50)
        .map(|_| Keypair::generate(&mut rand::rng()))
        .collect();
    // Spread over the last day, one every 17 s, the newest a minute old.
    let newest = now_ms() - 60_000;
    let posts: Vec<(MessageId, StoredPost)> = (0..5_000u64)
        .map(|n| {
            let created = newest - (4_999 - n) * 17_000;
            let author = &authors[usize::try_from(n).unwrap() % authors.len()];
            let signed = PostDraft::new(grief.clone(), format!("still here, hour {n}"), created)
                .sign(author, &network, 0)
                .expect("a valid post signs");
            let stored = StoredPost {
                bytes: signed.bytes,
                channel: grief.clone(),
                created_ms: created,
                expires_ms: None,
                received_ms: created,
                own: false,
            };
            (signed.id, stored)
        })
        .collect();
    let held = tempfile::tempdir().expect("a directory");
    {
        let store = Store::open(held.path(), 64 * 1024 * 1024).expect("a store");
        for (id, post) in &posts {
            store.insert_post(id, post).expect("stored");
        }
        store.flush().expect("flushed");
    }
    let keeper = on_disk(held.path(), &network)
        .start()
        .await
        .expect("starts");
    let joiner = start(&network).await;
    let mut joiner_events = joiner.events();
    keeper.join(grief.clone()).await.expect("joins");
    joiner.join(grief.clone()).await.expect("joins");
    joiner
        .dial(address(&keeper).await)
        .await
        .expect("dials the keeper");

    // One session fetches everything; its report says so. Post events are
    // not counted: 5 000 of them can overrun an event stream's buffer.
    let report = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(event) = joiner_events.next().await {
            if let Event::Synced(report) = event
                && report.peer == keeper.peer_id()
                && report.channel.is_some()
                && report.received > 0
            {
                return Some(*report);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("a sync report from the keeper within 3 minutes");
    assert_eq!(report.error, None, "{report:?}");
    assert_eq!(report.needed, 5_000, "{report:?}");
    assert_eq!(report.received, 5_000, "{report:?}");

    let history = joiner
        .history(
            grief.clone(),
            HistoryQuery {
                limit: 10_000,
                ..HistoryQuery::default()
            },
        )
        .await
        .expect("history");
    let want: std::collections::HashSet<MessageId> = posts.iter().map(|(id, _)| *id).collect();
    let got: std::collections::HashSet<MessageId> = history.iter().map(|r| r.id).collect();
    assert_eq!(history.len(), 5_000, "each post stored once");
    assert_eq!(got, want, "exactly the day's posts");
    keeper.shutdown().await.expect("stops");
    joiner.shutdown().await.expect("stops");
}
