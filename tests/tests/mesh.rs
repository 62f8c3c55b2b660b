//! Nodes exchanging posts over real TCP on loopback.

use hearth_node::{Event, HistoryQuery};
use hearth_tests::{address, channel, init_tracing, start, unique_network, wait_channel_peers, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_a_post() {
    init_tracing();
    let network = unique_network();
    let anxiety = channel("anxiety");
    let a = start(&network).await;
    let b = start(&network).await;
    let mut a_events = a.events();
    let mut b_events = b.events();
    a.join(anxiety.clone()).await.unwrap();
    b.join(anxiety.clone()).await.unwrap();
    b.dial(address(&a).await).await.unwrap();
    wait_channel_peers(&a, &mut a_events, &anxiety, 1).await;
    wait_channel_peers(&b, &mut b_events, &anxiety, 1).await;

    let sent = a.publish(anxiety.clone(), "anyone awake?").await.unwrap();
    assert_eq!(sent.peers, 1);
    let got = wait_for(&mut b_events, "the post at b", |e| match e {
        Event::Post(record) if record.id == sent.id => Some(record.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.post.body, "anyone awake?");
    assert!(!got.own);
    assert!(got.verdict.is_none());
    let persona = a.persona(anxiety.clone()).await.unwrap();
    assert_eq!(got.post.author, persona.key);

    let history = b.history(anxiety, HistoryQuery::default()).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, sent.id);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
