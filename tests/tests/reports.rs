//! Reports to moderators across real nodes: a report reaches the
//! moderator the reporter follows, with its reason and post, and the node
//! that relays it (itself a moderator, and the reported person) cannot
//! read it and is told nothing.

use hearth_node::{Event, NodeError, ReportRecord};
use hearth_protocol::Scope;
use hearth_tests::{
    address, channel, init_tracing, start, unique_network, wait_channel_peers, wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_reaches_only_the_followed_moderator() {
    init_tracing();
    let network = unique_network();
    let ch = channel("grief");
    // reporter - relay - moderator: the report can reach the moderator
    // only through the relay, who also wrote the reported post.
    let (reporter, relay, moderator) = (
        start(&network).await,
        start(&network).await,
        start(&network).await,
    );
    let mut relay_events = relay.events();
    let mut moderator_events = moderator.events();
    let mut reporter_events = reporter.events();
    for node in [&reporter, &relay, &moderator] {
        node.join(ch.clone()).await.unwrap();
    }
    reporter.dial(address(&relay).await).await.unwrap();
    moderator.dial(address(&relay).await).await.unwrap();
    wait_channel_peers(&relay, &mut relay_events, &ch, 2).await;
    wait_channel_peers(&reporter, &mut reporter_events, &ch, 1).await;
    wait_channel_peers(&moderator, &mut moderator_events, &ch, 1).await;

    // Both the moderator and the relay hold moderator keys; the reporter
    // follows only the first.
    let followed = moderator.moderator().await.unwrap();
    let _unfollowed = relay.moderator().await.unwrap();

    let nasty = relay
        .publish(ch.clone(), "nobody would miss you")
        .await
        .unwrap();
    wait_for(
        &mut reporter_events,
        "the post at the reporter",
        |e| match e {
            Event::Post(r) if r.id == nasty.id => Some(()),
            _ => None,
        },
    )
    .await;

    // Following nobody for the channel: a clear error, nothing sent.
    assert!(matches!(
        reporter.report(ch.clone(), nasty.id, "cruel").await,
        Err(NodeError::NoModerator(c)) if c == ch
    ));
    reporter
        .follow(followed.key, Scope::Channel(ch.clone()))
        .await
        .unwrap();
    let sent = reporter
        .report(ch.clone(), nasty.id, "tells someone to die")
        .await
        .unwrap();
    assert_eq!(sent.moderators, 1);
    assert!(sent.peers >= 1, "the relay is in the channel");

    let got: ReportRecord =
        wait_for(
            &mut moderator_events,
            "the report at the moderator",
            |e| match e {
                Event::Report(r) => Some((**r).clone()),
                _ => None,
            },
        )
        .await;
    assert_eq!(got.id, sent.id);
    assert_eq!(got.post, nasty.id);
    assert_eq!(got.reason, "tells someone to die");
    assert_eq!(got.channel, ch);
    let persona = reporter.persona(ch.clone()).await.unwrap();
    assert_eq!(
        got.reporter, persona.key,
        "the moderator can tell who reported"
    );
    assert_eq!(
        moderator.reports(Some(ch.clone()), 10).await.unwrap(),
        vec![got.clone()]
    );

    // The relay forwarded the report before the moderator had it, so it
    // has judged it already. A marker sent after it by the reporter comes
    // through the relay later; until then the relay must say nothing.
    let marker = reporter.publish(ch.clone(), "marker").await.unwrap();
    wait_for(&mut relay_events, "the marker at the relay", |e| match e {
        Event::Report(_) => panic!("the relay opened a report not sealed to it"),
        Event::Post(r) => (r.id == marker.id).then_some(()),
        _ => None,
    })
    .await;
    assert!(relay.reports(None, 10).await.unwrap().is_empty());
    assert!(reporter.reports(None, 10).await.unwrap().is_empty());
    // Nothing about the report is stored as a post anywhere.
    for node in [&reporter, &relay, &moderator] {
        assert!(node.post(sent.id).await.unwrap().is_none());
    }
}
