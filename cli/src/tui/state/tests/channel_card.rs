//! A channel's card in the window: shown when it arrives, the warning when
//! its age group is not the person's, and the "no moderator active" banner
//! driven by the window's clock (ticks), never by waiting.

use hearth_node::cards::{PRESENCE_INTERVAL_MS, QUIET_AFTER_MS};
use hearth_protocol::AgeGroup;

use super::*;
use crate::care::ChatCare;

fn card(channel: &str, age: AgeGroup) -> CardView {
    CardView {
        channel: ch(channel),
        founder_name: key(7).name(),
        trust: "first-seen".to_owned(),
        age,
        retention_days: 14,
        moderators: vec![key(7).name(), key(8).name()],
        rules: "Be kind.\nNo details of methods.".to_owned(),
    }
}

/// The window for a person whose age group is `age`.
fn aged(age: Option<AgeGroup>) -> App {
    let mut app = app();
    let mut setup = ChatCare::plain("2026-12-01".parse().unwrap());
    setup.age_group = age;
    app.set_care(setup);
    app
}

fn notices(app: &App, channel: &str) -> Vec<String> {
    app.channels
        .iter()
        .find(|c| c.name == ch(channel))
        .map(|c| {
            c.items
                .iter()
                .filter_map(|i| match i {
                    Item::Notice(n) => Some(n.text.clone()),
                    Item::Post(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_card_is_shown_in_its_channel_with_rules_and_moderators() {
    let mut app = aged(None);
    app.on_event(NodeEvent::ChannelCard(Box::new(card(
        "grief",
        AgeGroup::Adult,
    ))));
    let said = notices(&app, "grief").join("\n");
    assert!(said.contains("#grief is a channel for adults"), "{said}");
    assert!(said.contains("Posts are kept 14 days"), "{said}");
    assert!(said.contains("No details of methods."), "{said}");
    assert!(said.contains(&key(8).name()), "{said}");
    assert!(
        said.contains("no moderator you follow confirmed it"),
        "{said}"
    );
    assert!(!said.contains("Heads up"), "no age group set: no warning");
    // The founder announcing the same card again for a newcomer is not news.
    let before = notices(&app, "grief").len();
    app.on_event(NodeEvent::ChannelCard(Box::new(card(
        "grief",
        AgeGroup::Adult,
    ))));
    assert_eq!(notices(&app, "grief").len(), before);
}

#[test]
fn a_teen_is_warned_about_an_adult_channel_and_an_adult_about_a_teen_one() {
    let mut teen = aged(Some(AgeGroup::Teen));
    teen.on_event(NodeEvent::ChannelCard(Box::new(card(
        "grief",
        AgeGroup::Adult,
    ))));
    let said = notices(&teen, "grief").join("\n");
    assert!(
        said.contains("Heads up: #grief says it is a channel for adults"),
        "{said}"
    );
    assert!(said.contains("/leave"), "{said}");

    let mut adult = aged(Some(AgeGroup::Adult));
    adult.on_event(NodeEvent::ChannelCard(Box::new(card(
        "grief",
        AgeGroup::Teen,
    ))));
    let said = notices(&adult, "grief").join("\n");
    assert!(said.contains("channel for teenagers"), "{said}");

    let mut same = aged(Some(AgeGroup::Teen));
    same.on_event(NodeEvent::ChannelCard(Box::new(card(
        "grief",
        AgeGroup::Teen,
    ))));
    assert!(!notices(&same, "grief").join("\n").contains("Heads up"));
}

#[test]
fn the_banner_shows_thirty_minutes_after_the_last_heartbeat_and_goes_with_the_next() {
    let mut app = aged(None);
    app.switch_to(1); // #grief
    assert_eq!(app.presence_banner(), None, "no card: nothing to say");
    let start = app.now_ms;
    app.on_event(NodeEvent::ChannelCard(Box::new(card(
        "grief",
        AgeGroup::Adult,
    ))));
    app.on_event(NodeEvent::ModeratorPresence {
        channel: ch("grief"),
        at_ms: start,
    });
    app.tick(start + QUIET_AFTER_MS);
    assert_eq!(
        app.presence_banner(),
        None,
        "heard 30 minutes ago: still active"
    );
    app.tick(start + QUIET_AFTER_MS + 1_000);
    assert_eq!(app.presence_banner(), Some(NO_MODERATOR));
    assert!(
        NO_MODERATOR.contains("Ctrl+G"),
        "the banner gives the crisis key"
    );
    // Another channel without a card shows nothing.
    app.switch_to(0);
    assert_eq!(app.presence_banner(), None);
    app.switch_to(1);
    app.on_event(NodeEvent::ModeratorPresence {
        channel: ch("grief"),
        at_ms: start + QUIET_AFTER_MS + 2_000,
    });
    assert_eq!(app.presence_banner(), None, "a moderator is back");
}

#[test]
fn a_card_with_no_heartbeat_ever_gets_one_interval_of_grace() {
    let mut app = aged(None);
    app.switch_to(1);
    let start = app.now_ms;
    app.on_outcome(Outcome::Card {
        channel: ch("grief"),
        card: Some(Box::new(card("grief", AgeGroup::Adult))),
        last_heard_ms: None,
    });
    app.tick(start + PRESENCE_INTERVAL_MS);
    assert_eq!(app.presence_banner(), None);
    app.tick(start + PRESENCE_INTERVAL_MS + 1_000);
    assert_eq!(app.presence_banner(), Some(NO_MODERATOR));
}

#[test]
fn joining_asks_for_the_channel_card() {
    let mut app = aged(None);
    let actions = app.on_outcome(Outcome::Joined {
        channel: ch("hope"),
        persona: persona(102),
    });
    assert!(actions.contains(&Action::Card(ch("hope"))), "{actions:?}");
}

#[test]
fn a_waiting_crisis_line_update_is_said_with_how_to_review_and_accept_it() {
    let mut app = aged(None);
    // Said where the person looks: the channel shown.
    app.switch_to(1);
    app.on_event(NodeEvent::CrisisUpdateWaiting {
        publisher: "calm-otter-3f2a1b".to_owned(),
        id: "3f2a9c1d".to_owned(),
    });
    let said = notices(&app, "grief").join("\n");
    assert!(
        said.contains("update of the crisis lines from calm-otter-3f2a1b"),
        "{said}"
    );
    assert!(said.contains("`hearth crisis updates`"), "{said}");
    assert!(said.contains("`hearth crisis accept 3f2a9c1d`"), "{said}");
    assert!(said.contains("nothing changes until"), "{said}");
    assert!(
        notices(&app, "anxiety")
            .iter()
            .all(|n| !n.contains("crisis lines from"))
    );
}
