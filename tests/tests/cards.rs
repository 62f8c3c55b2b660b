//! Channel cards and moderator presence across real nodes: a card published
//! by a channel's founding moderator reaches the channel and a late joiner,
//! a card signed by another key is ignored, a late joiner gets the card by
//! history sync from another node after the founder has gone, and once the moderator's
//! heartbeats stop, the channel reads as having no moderator active (judged
//! at a later time given to the node's answer, not by waiting 30 minutes).

use hearth_node::Event;
use hearth_node::cards::{CardTrust, QUIET_AFTER_MS};
use hearth_protocol::{AgeGroup, CardDraft, ChannelName};
use hearth_tests::{
    address, channel, init_tracing, now_ms, start, unique_network, wait_channel_peers, wait_for,
};

fn draft(channel: &ChannelName, rules: &str) -> CardDraft {
    CardDraft {
        channel: channel.clone(),
        created_ms: 0,
        age: AgeGroup::Teen,
        retention_days: 14,
        moderators: vec![],
        rules: rules.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderators_card_reaches_the_channel_and_a_late_joiner_and_a_forged_one_is_ignored() {
    init_tracing();
    let network = unique_network();
    let ch = channel("grief");
    let (moderator, reader) = (start(&network).await, start(&network).await);
    let mut m_events = moderator.events();
    let mut r_events = reader.events();
    moderator.join(ch.clone()).await.unwrap();
    reader.join(ch.clone()).await.unwrap();
    reader.dial(address(&moderator).await).await.unwrap();
    wait_channel_peers(&moderator, &mut m_events, &ch, 1).await;
    wait_channel_peers(&reader, &mut r_events, &ch, 1).await;

    let founder = moderator.moderator().await.unwrap().key;
    let peers = moderator
        .publish_card(draft(&ch, "Be kind."))
        .await
        .unwrap();
    assert_eq!(peers, 1);
    let got = wait_for(&mut r_events, "the card at the reader", |e| match e {
        Event::ChannelCard(info) => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.card.founder, founder);
    assert_eq!(got.card.age, AgeGroup::Teen);
    assert_eq!(got.card.rules, "Be kind.");
    assert_eq!(got.trust, CardTrust::FirstSeen);
    let held = reader.channel_card(ch.clone()).await.unwrap().unwrap();
    assert_eq!(held.card.founder, founder);
    let own = moderator.channel_card(ch.clone()).await.unwrap().unwrap();
    assert_eq!(own.trust, CardTrust::Own);

    // Someone else signs a card for the same channel with their own key,
    // before meeting anyone: once connected, their node would hold the
    // founder's card (by sync) and refuse to sign another. It announces
    // its own card again when the reader subscribes.
    let forger = start(&network).await;
    let mut f_events = forger.events();
    forger.join(ch.clone()).await.unwrap();
    let forged_key = forger.moderator().await.unwrap().key;
    assert_ne!(forged_key, founder);
    let peers = forger
        .publish_card(draft(&ch, "Anything goes. DM me."))
        .await
        .unwrap();
    assert_eq!(peers, 0);
    forger.dial(address(&reader).await).await.unwrap();
    wait_channel_peers(&forger, &mut f_events, &ch, 1).await;
    // A post after it on the same connection: once the reader has it, the
    // reader has judged the forged card before.
    let marker = forger.publish(ch.clone(), "marker").await.unwrap();
    wait_for(
        &mut r_events,
        "the forger's marker at the reader",
        |e| match e {
            Event::ChannelCard(info) => {
                assert_ne!(info.card.founder, forged_key, "the forged card was taken");
                None
            }
            Event::Post(r) => (r.id == marker.id).then_some(()),
            _ => None,
        },
    )
    .await;
    let held = reader.channel_card(ch.clone()).await.unwrap().unwrap();
    assert_eq!(held.card.founder, founder, "the founder's card stays");
    assert_eq!(held.card.rules, "Be kind.");

    // A late joiner that connects to the founder's node gets the card,
    // announced again for it.
    let late = start(&network).await;
    let mut l_events = late.events();
    late.join(ch.clone()).await.unwrap();
    late.dial(address(&moderator).await).await.unwrap();
    let got = wait_for(&mut l_events, "the card at the late joiner", |e| match e {
        Event::ChannelCard(info) => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.card.founder, founder);
    assert_eq!(got.card.rules, "Be kind.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_card_by_sync_from_another_node_after_the_founder_has_gone() {
    init_tracing();
    let network = unique_network();
    let ch = channel("grief");
    let (moderator, reader) = (start(&network).await, start(&network).await);
    let mut m_events = moderator.events();
    let mut r_events = reader.events();
    moderator.join(ch.clone()).await.unwrap();
    reader.join(ch.clone()).await.unwrap();
    reader.dial(address(&moderator).await).await.unwrap();
    wait_channel_peers(&moderator, &mut m_events, &ch, 1).await;
    wait_channel_peers(&reader, &mut r_events, &ch, 1).await;
    let founder = moderator.moderator().await.unwrap().key;
    moderator
        .publish_card(draft(&ch, "Be kind."))
        .await
        .unwrap();
    wait_for(&mut r_events, "the card at the reader", |e| match e {
        Event::ChannelCard(_) => Some(()),
        _ => None,
    })
    .await;
    let held = reader.channel_card(ch.clone()).await.unwrap().unwrap();
    moderator.shutdown().await.unwrap();

    // The founder is gone: only the reader can hand the card on.
    let late = start(&network).await;
    let mut l_events = late.events();
    late.join(ch.clone()).await.unwrap();
    late.dial(address(&reader).await).await.unwrap();
    let got = wait_for(&mut l_events, "the card at the late joiner", |e| match e {
        Event::ChannelCard(info) => Some(info.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got.card.founder, founder);
    assert_eq!(got.card, held.card, "the founder's card, as signed");
    assert_eq!(got.trust, CardTrust::FirstSeen);
    let kept = late.channel_card(ch.clone()).await.unwrap().unwrap();
    assert_eq!(kept.card.rules, "Be kind.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_moderators_heartbeats_stop_the_channel_has_no_moderator_active() {
    init_tracing();
    let network = unique_network();
    let ch = channel("night-owls");
    let (moderator, reader) = (start(&network).await, start(&network).await);
    let mut m_events = moderator.events();
    let mut r_events = reader.events();
    moderator.join(ch.clone()).await.unwrap();
    reader.join(ch.clone()).await.unwrap();
    reader.dial(address(&moderator).await).await.unwrap();
    wait_channel_peers(&moderator, &mut m_events, &ch, 1).await;

    let quiet = reader.moderator_presence(ch.clone()).await.unwrap();
    assert!(
        quiet.declared.is_empty(),
        "no card yet: no declared moderator"
    );
    assert!(!quiet.quiet_at(now_ms()), "no card: nothing to warn about");

    moderator.publish_card(draft(&ch, "")).await.unwrap();
    wait_for(&mut r_events, "the card at the reader", |e| match e {
        Event::ChannelCard(_) => Some(()),
        _ => None,
    })
    .await;
    let founder = moderator.moderator().await.unwrap().key;
    assert!(
        !moderator
            .set_moderator_presence(ch.clone(), true)
            .await
            .unwrap()
    );
    let heard = wait_for(&mut r_events, "a heartbeat at the reader", |e| match e {
        Event::ModeratorPresence {
            channel,
            moderator,
            at_ms,
        } if channel == &ch => Some((*moderator, *at_ms)),
        _ => None,
    })
    .await;
    assert_eq!(heard.0, founder);

    moderator.shutdown().await.unwrap();
    let info = reader.moderator_presence(ch.clone()).await.unwrap();
    assert_eq!(info.declared, vec![founder]);
    assert_eq!(info.last_heard_ms(), Some(heard.1));
    assert!(info.active_at(heard.1), "active right after the heartbeat");
    assert!(!info.quiet_at(heard.1 + QUIET_AFTER_MS));
    assert!(
        info.quiet_at(heard.1 + QUIET_AFTER_MS + 1),
        "30 minutes after the last heartbeat, no moderator is active"
    );
}
