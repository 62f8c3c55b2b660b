//! The crisis card, asking once more before sending a post with a crisis
//! phrase, and folding received posts by the person's choices.

use hearth_protocol::ContentWarning;

use super::*;
use crate::care::ChatCare;
use crate::care::card::CountryChoice;
use crate::care::country::Country;
use crate::care::folding::{Choice, Folding};
use crate::care::limits;

/// The window with the card of `country` and `folding`.
fn cared(country: &str, folding: Folding, first_start: bool) -> App {
    let mut app = app();
    let mut setup = ChatCare::plain("2026-12-01".parse().unwrap());
    setup.choice = CountryChoice::choose(
        Some((Country::parse(country).unwrap(), "--country".into())),
        None,
    );
    setup.folding = folding;
    setup.first_start = first_start;
    setup.warnings = vec!["crisis-lines.toml, line 3: oops; using the built-in lines".into()];
    app.set_care(setup);
    app
}

fn overlay_text(app: &App) -> Option<String> {
    app.care_overlay().map(|o| {
        let mut lines: Vec<&str> = o.lead.into_iter().collect();
        lines.extend(o.card.iter().map(String::as_str));
        lines.push(o.keys);
        lines.join("\n")
    })
}

fn items(app: &App) -> usize {
    app.current().map_or(0, |c| c.items.len())
}

#[test]
fn crisis_command_and_keys_show_the_card_of_the_person_s_country() {
    let mut app = cared("GB", Folding::default(), false);
    assert_eq!(app.care_overlay(), None);
    assert!(type_line(&mut app, "/crisis").is_empty());
    let text = overlay_text(&app).unwrap();
    assert!(
        text.contains("Crisis lines for United Kingdom (GB)"),
        "{text}"
    );
    assert!(text.contains("Call 999"), "{text}");
    assert!(text.contains("Samaritans: call 116 123"), "{text}");
    assert!(text.contains("Befrienders Worldwide"), "{text}");
    assert!(text.ends_with(CARD_KEYS), "{text}");

    // Typing goes on underneath; Esc closes the card and nothing else.
    app.pending_cw = Some(ContentWarning::new([CwLabel::Death], None));
    for c in "hi".chars() {
        app.on_key(press(KeyCode::Char(c)));
    }
    assert!(app.care_overlay().is_some());
    app.on_key(press(KeyCode::Esc));
    assert_eq!(app.care_overlay(), None);
    assert!(app.pending_cw.is_some(), "Esc only closed the card");
    assert_eq!(app.input.text(), "hi");

    // Ctrl+G and F1 open and close it.
    app.on_key(ctrl('g'));
    assert!(app.care.card_shown());
    app.on_key(ctrl('g'));
    assert!(!app.care.card_shown());
    app.on_key(press(KeyCode::F(1)));
    assert!(app.care.card_shown());
    app.on_key(press(KeyCode::F(1)));
    assert!(!app.care.card_shown());
    assert_eq!(app.input.text(), "hi");
}

#[test]
fn crisis_with_a_code_shows_another_country_and_a_bad_code_gets_a_hint() {
    let mut app = cared("GB", Folding::default(), false);
    type_line(&mut app, "/crisis fr");
    let text = overlay_text(&app).unwrap();
    assert!(text.contains("Crisis lines for France (FR)"), "{text}");
    assert!(text.contains("3114"), "{text}");
    app.on_key(press(KeyCode::Esc));
    type_line(&mut app, "/sos Narnia");
    assert_eq!(app.care_overlay(), None);
    assert!(last_notice(&app).contains("isn't a country code"));
}

#[test]
fn crisis_is_first_in_help_and_the_keys_line_names_ctrl_g() {
    let mut app = app();
    type_line(&mut app, "/help");
    let help: Vec<String> = app.channels[0]
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Notice(n) => Some(n.text.clone()),
            Item::Post(_) => None,
        })
        .collect();
    let first_command = help
        .iter()
        .find(|l| l.trim_start().starts_with('/'))
        .unwrap();
    assert!(
        first_command.trim_start().starts_with("/crisis"),
        "{first_command}"
    );
    assert!(help.iter().any(|l| l.contains("Ctrl+G")), "{help:?}");
}

#[test]
fn a_crisis_phrase_is_held_back_once_and_sent_on_the_second_enter() {
    let mut app = cared("GB", Folding::default(), false);
    let before = items(&app);
    let text = "I don't want to be here anymore";
    assert!(type_line(&mut app, text).is_empty(), "nothing is sent");
    assert_eq!(app.input.text(), text, "the text stays");
    assert!(app.care.confirming());
    let shown = overlay_text(&app).unwrap();
    assert!(shown.starts_with(CONFIRM_LEAD), "{shown}");
    assert!(shown.contains("Samaritans"), "{shown}");
    assert!(shown.ends_with(CONFIRM_KEYS), "{shown}");
    assert_eq!(items(&app), before, "nothing is said in the scrollback");

    let actions = app.on_key(press(KeyCode::Enter));
    let [Action::Publish { draft, .. }] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(draft.text, text);
    assert!(app.input.is_empty());
    assert_eq!(app.care_overlay(), None);
    assert!(!app.care.confirming());

    // Ordinary lines go at once.
    assert_eq!(type_line(&mut app, "thank you all").len(), 1);
}

#[test]
fn esc_goes_back_to_editing_and_the_next_enter_asks_again() {
    let mut app = cared("US", Folding::default(), false);
    assert!(type_line(&mut app, "Quiero morir").is_empty());
    app.on_key(press(KeyCode::Esc));
    assert_eq!(app.care_overlay(), None);
    assert_eq!(app.input.text(), "Quiero morir");
    assert!(app.on_key(press(KeyCode::Enter)).is_empty(), "asked again");
    assert!(app.care.confirming());

    // Editing the held line drops the question; Enter checks it anew.
    app.on_key(press(KeyCode::Char('.')));
    assert_eq!(app.care_overlay(), None);
    // Esc then does what it always does (here: drop a pending warning).
    app.pending_cw = Some(ContentWarning::new([CwLabel::Death], None));
    app.on_key(press(KeyCode::Esc));
    assert!(app.pending_cw.is_none());
    assert!(!app.care.confirming());
    assert!(app.on_key(press(KeyCode::Enter)).is_empty());
    assert_eq!(app.on_key(press(KeyCode::Enter)).len(), 1);

    // Replies and posts behind a warning are posts too.
    post(&mut app, record(1, "anxiety", 1, "how are you?"));
    assert!(type_line(&mut app, "/reply 1 JE VEUX MOURIR").is_empty());
    assert_eq!(app.on_key(press(KeyCode::Enter)).len(), 1);
    assert!(type_line(&mut app, "/cw suicide -- ich will sterben").is_empty());
    assert_eq!(app.on_key(press(KeyCode::Enter)).len(), 1);
    // A command that posts nothing is never held.
    assert!(type_line(&mut app, "/nick suicide").is_empty());
    assert!(!app.care.confirming());
}

#[test]
fn method_details_fold_like_warnings_and_open_with_open() {
    let mut app = cared("GB", Folding::default(), false);
    post(
        &mut app,
        record(1, "anxiety", 1, "someone asked about a lethal dose"),
    );
    post(&mut app, record(2, "anxiety", 1, "just a normal day"));
    let folded = |app: &App, n: u8| {
        let c = &app.channels[0];
        let p = c.posts_newest_first().find(|p| p.id == id(n)).unwrap();
        p.folds() && !c.opened.contains(&p.id)
    };
    assert!(folded(&app, 1));
    assert!(app.channels[0].posts_newest_first().any(|p| p.method_fold));
    assert!(!folded(&app, 2));
    type_line(&mut app, "/open");
    assert!(!folded(&app, 1), "/open alone opens the newest folded post");
    type_line(&mut app, &format!("/open {}", id(1).short()));
    assert!(folded(&app, 1), "and /open again folds it");

    // Turned off, nothing is folded for it.
    let folding = Folding {
        method_details: false,
        ..Folding::default()
    };
    let mut app = cared("GB", folding, false);
    post(
        &mut app,
        record(1, "anxiety", 1, "someone asked about a lethal dose"),
    );
    assert!(!folded(&app, 1));
    // Own posts never are.
    let mut app = cared("GB", Folding::default(), false);
    let mut own = record(3, "anxiety", 100, "a lethal dose");
    own.own = true;
    post(&mut app, own);
    assert!(
        !app.channels[0]
            .posts_newest_first()
            .next()
            .unwrap()
            .method_fold
    );
}

#[test]
fn content_warning_choices_fold_open_or_hide_by_label() {
    let mut folding = Folding::default();
    folding.labels.insert(CwLabel::Death, Choice::Open);
    folding.labels.insert(CwLabel::Violence, Choice::Hide);
    let mut app = cared("GB", folding, false);
    let with = |n: u8, labels: &[CwLabel]| {
        let mut r = record(n, "anxiety", 1, "text");
        r.post.content_warning = Some(ContentWarning::new(labels.iter().copied(), None));
        r
    };
    post(&mut app, with(1, &[CwLabel::Death]));
    post(&mut app, with(2, &[CwLabel::SelfHarm]));
    post(&mut app, with(3, &[CwLabel::Death, CwLabel::Violence]));
    let c = &app.channels[0];
    assert!(c.opened.contains(&id(1)), "death is opened");
    assert!(!c.opened.contains(&id(2)), "self-harm stays folded");
    assert!(!c.ids.contains(&id(3)), "violence is hidden");
    assert_eq!(c.posts_newest_first().count(), 2);
    // An opened one folds with /open, like any other.
    type_line(&mut app, &format!("/open {}", id(1).short()));
    assert!(!app.channels[0].opened.contains(&id(1)));
}

#[test]
fn the_first_chat_says_the_limits_and_warnings_once() {
    let mut app = cared("GB", Folding::default(), true);
    app.care_welcome();
    let said: Vec<String> = app.channels[0]
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Notice(n) => Some(n.text.clone()),
            Item::Post(_) => None,
        })
        .collect();
    for line in limits::NOTICE {
        assert!(said.iter().any(|s| s == line), "{line}");
    }
    assert!(said.iter().any(|s| s.contains("crisis-lines.toml, line 3")));
    let mut later = cared("GB", Folding::default(), false);
    later.care_welcome();
    assert!(later.channels[0].items.iter().all(|i| match i {
        Item::Notice(n) => !limits::NOTICE.contains(&n.text.as_str()),
        Item::Post(_) => true,
    }));
}

#[test]
fn a_bots_post_is_shown_not_folded() {
    let mut app = app();
    let mut r = record(1, "anxiety", 5, "daily check-in: how is everyone?");
    r.post.content_warning = Some(ContentWarning::automated());
    post(&mut app, r);
    let item = app.current().unwrap().posts_newest_first().next().unwrap();
    assert!(!item.folds(), "the automated label is not a warning");
}
