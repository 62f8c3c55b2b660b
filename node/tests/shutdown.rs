//! What a shutdown does with posts still in flight, through the public API:
//! posts handed to the node whose proof of work is still being stamped are
//! waited for and kept in the store, pending; after a restart they are
//! announced as left from last time and go out when a peer appears.
//!
//! A channel difficulty of [`SLOW`] bits makes each stamp take a good
//! fraction of a second (far more in a debug build), so posts submitted
//! just before the shutdown are still being stamped when it begins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use hearth_node::{
    Event, EventStream, HistoryQuery, Multiaddr, Node, NodeHandle, NodeLimits, PostOptions,
};
use hearth_protocol::{ChannelName, NetworkId};

/// How long to wait for an event that should come soon.
const DEADLINE: Duration = Duration::from_secs(60);
/// The proof-of-work difficulty of the channel: slow enough that posts are
/// still being stamped when the shutdown follows their submission.
const SLOW: u8 = 18;

fn network() -> NetworkId {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    NetworkId::parse(&format!(
        "test-{:016x}",
        u64::try_from(nanos % u128::from(u64::MAX)).unwrap() ^ u64::from(std::process::id())
    ))
    .unwrap()
}

fn channel() -> ChannelName {
    ChannelName::parse("support").unwrap()
}

/// A node on `dir` (or in memory), listening on loopback, whose channel
/// asks for [`SLOW`] bits of work.
async fn node(network: &NetworkId, dir: Option<&Path>) -> NodeHandle {
    let limits = NodeLimits {
        channel_difficulty: HashMap::from([(channel(), SLOW)]),
        ..NodeLimits::default()
    };
    let builder = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .mdns(false)
        .network(network.clone())
        .limits(limits);
    let builder = match dir {
        Some(dir) => builder.data_dir(dir),
        None => builder.in_memory(),
    };
    builder.start().await.unwrap()
}

/// The first event `pick` accepts, within [`DEADLINE`].
async fn wait<T>(
    events: &mut EventStream,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    tokio::time::timeout(DEADLINE, async {
        while let Some(event) = events.next().await {
            if let Some(found) = pick(event) {
                return found;
            }
        }
        panic!("the node stopped before {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within {DEADLINE:?}"))
}

async fn texts(node: &NodeHandle) -> Vec<String> {
    node.history(channel(), HistoryQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.post.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_posts_still_being_signed_and_they_go_out_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let network = network();
    let lines: Vec<String> = (1..=3)
        .map(|i| format!("typed before quitting {i}"))
        .collect();

    // Alone, three posts are handed over and the node is stopped at once.
    let alone = node(&network, Some(dir.path())).await;
    alone.join(channel()).await.unwrap();
    let mut events = alone.events();
    let mut submitted = Vec::new();
    for line in &lines {
        submitted.push(
            alone
                .submit(channel(), PostOptions::text(line))
                .await
                .unwrap(),
        );
    }
    // Posts already stored when the shutdown begins (none, with this much
    // work to do per post).
    let mut stored = Vec::new();
    while let Some(Some(event)) = events.next().now_or_never() {
        if let Event::Post(record) = event {
            stored.push(record.post.body);
        }
    }
    let in_flight = lines.len() - stored.len();
    assert!(in_flight > 0, "every post was stamped before the shutdown");
    let stopping = Instant::now();
    alone.shutdown().await.unwrap();
    eprintln!(
        "{in_flight} posts were being stamped when the shutdown began; it took {:?}",
        stopping.elapsed()
    );
    // Each submitted post was signed, stored and answered: waiting, not sent.
    for answer in submitted {
        assert_eq!(answer.await.unwrap().peers, 0);
    }
    let pending = loop {
        match events.next().await.expect("the ShutDown event comes last") {
            Event::Post(record) => stored.push(record.post.body),
            Event::Sent { id, .. } => panic!("{id} was sent during shutdown"),
            Event::ShutDown { pending_posts } => break pending_posts,
            _ => {}
        }
    };
    assert_eq!(pending, lines.len());
    // Stored as their stamps were found, in any order.
    stored.sort();
    assert_eq!(stored, lines, "every post stored");
    assert!(events.next().await.is_none(), "nothing after ShutDown");

    // After a restart the posts are there, in order, and announced as
    // waiting from last time.
    let again = node(&network, Some(dir.path())).await;
    let mut events = again.events();
    again.join(channel()).await.unwrap();
    let backlog = wait(&mut events, "a Backlog event", |e| match e {
        Event::Backlog { channel: c, posts } if c == channel() => Some(posts),
        _ => None,
    })
    .await;
    assert_eq!(backlog, lines.len());
    assert_eq!(texts(&again).await, lines, "dated in the order handed over");
    assert_eq!(again.status().await.unwrap().pending_posts, lines.len());

    // A peer appears: the posts go out, and the node says so.
    let peer = node(&network, None).await;
    let mut peer_events = peer.events();
    peer.join(channel()).await.unwrap();
    let address: Multiaddr = peer.listen_addrs().await.unwrap().remove(0);
    again.dial(address).await.unwrap();
    let (posts, peers) = wait(&mut events, "a BacklogSent event", |e| match e {
        Event::BacklogSent {
            channel: c,
            posts,
            peers,
        } if c == channel() => Some((posts, peers)),
        _ => None,
    })
    .await;
    assert_eq!((posts, peers), (lines.len(), 1));
    let mut received = Vec::new();
    while received.len() < lines.len() {
        received.push(
            wait(&mut peer_events, "the posts at the peer", |e| match e {
                Event::Post(record) if !record.own => Some(record.post.body),
                _ => None,
            })
            .await,
        );
    }
    received.sort();
    assert_eq!(received, lines);
    assert_eq!(again.status().await.unwrap().pending_posts, 0);
    again.shutdown().await.unwrap();
    peer.shutdown().await.unwrap();
}
