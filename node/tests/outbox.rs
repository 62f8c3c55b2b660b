//! Own posts written while alone: the outbox as an embedder sees it,
//! through the public API of one node with no network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hearth_node::{Event, HistoryQuery, Node, NodeHandle, PostOptions, UndeliveredReason};
use hearth_protocol::ChannelName;

/// How long to wait for an event that should come at once.
const DEADLINE: Duration = Duration::from_secs(30);

async fn lonely_node() -> NodeHandle {
    Node::builder()
        .in_memory()
        .no_listen()
        .mdns(false)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_own_post_that_expires_while_alone_is_reported_undelivered_not_dropped() {
    let node = lonely_node().await;
    let grief = ChannelName::parse("grief").unwrap();
    node.join(grief.clone()).await.unwrap();
    let mut events = node.events();
    let options = PostOptions {
        expires_in: Some(Duration::from_millis(1)),
        ..PostOptions::text("is anyone here?")
    };
    let published = node.publish_with(grief.clone(), options).await.unwrap();
    assert_eq!(published.peers, 0, "alone: the post waits");
    assert_eq!(node.status().await.unwrap().pending_posts, 1);

    // Let the post's 1 ms lifetime pass on the wall clock, then rejoin:
    // joining reviews the channel's waiting posts at once (the 10 s tick
    // would too, later).
    tokio::time::sleep(Duration::from_millis(5)).await;
    node.leave(grief.clone()).await.unwrap();
    node.join(grief.clone()).await.unwrap();

    let reason = tokio::time::timeout(DEADLINE, async {
        loop {
            match events.next().await.expect("node runs") {
                Event::Undelivered {
                    id,
                    channel,
                    reason,
                } if id == published.id => {
                    assert_eq!(channel, grief);
                    break reason;
                }
                Event::Sent { id, .. } => panic!("post {id} was sent with no peer"),
                _ => {}
            }
        }
    })
    .await
    .expect("an Undelivered event");
    assert_eq!(reason, UndeliveredReason::Expired);
    assert_eq!(node.status().await.unwrap().pending_posts, 0);
    // Past its author's expiry, the post is gone for readers at once (the
    // next sweep deletes it): history never shows an expired post.
    let history = node
        .history(
            grief,
            HistoryQuery {
                include_hidden: true,
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(history.iter().all(|r| r.id != published.id));
    node.shutdown().await.unwrap();
}
