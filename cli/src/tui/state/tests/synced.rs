//! Posts from history sync: placed in time order, earlier history marked
//! by a divider, never counted as news.

use super::*;

fn synced(n: u8, channel: &str, body: &str) -> Record {
    let mut r = record(n, channel, 1, body);
    r.synced = true;
    r
}

fn bodies(app: &App, channel: usize) -> Vec<String> {
    let mut bodies: Vec<String> = app.channels[channel]
        .posts_newest_first()
        .map(|p| p.body.clone())
        .collect();
    bodies.reverse();
    bodies
}

#[test]
fn earlier_history_goes_above_what_is_shown_with_a_divider_under_it() {
    let mut app = app();
    post(&mut app, record(50, "anxiety", 2, "live one"));
    post(&mut app, record(60, "anxiety", 2, "live two"));
    post(&mut app, synced(10, "anxiety", "said before"));
    post(&mut app, synced(30, "anxiety", "said later, still before"));
    post(&mut app, synced(20, "anxiety", "in between"));
    assert_eq!(
        bodies(&app, 0),
        vec![
            "said before",
            "in between",
            "said later, still before",
            "live one",
            "live two"
        ]
    );
    // The divider sits under the newest earlier post, and does not move
    // up for an older one.
    assert_eq!(app.channels[0].earlier, Some(id(30)));
    // History is not news.
    assert_eq!(app.channels[0].unread, 0);
}

#[test]
fn synced_posts_newer_than_anything_shown_are_news_without_a_divider() {
    let mut app = app();
    post(&mut app, record(10, "grief", 2, "before I went away"));
    // Back after a while: what was said meanwhile comes by sync.
    post(&mut app, synced(20, "grief", "while you were away"));
    post(&mut app, synced(21, "grief", "also meanwhile"));
    assert_eq!(
        bodies(&app, 1),
        vec![
            "before I went away",
            "while you were away",
            "also meanwhile"
        ]
    );
    assert_eq!(app.channels[1].earlier, None);
    // grief is not the channel shown: all three are unread.
    assert_eq!(app.channels[1].unread, 3);
}

#[test]
fn a_channel_opened_empty_fills_with_history_without_a_divider() {
    let mut app = app();
    for n in 1..=5 {
        post(&mut app, synced(n, "anxiety", &format!("history {n}")));
    }
    assert_eq!(app.channels[0].earlier, None);
    assert_eq!(bodies(&app, 0).len(), 5);
    // Once something is shown, older history arriving gets the divider.
    post(&mut app, record(9, "anxiety", 2, "live"));
    post(&mut app, synced(7, "anxiety", "late history"));
    assert_eq!(app.channels[0].earlier, Some(id(7)));
}

#[test]
fn history_arriving_under_a_notice_is_marked_as_earlier() {
    // A late joiner: "You joined" is shown, then the channel's history
    // arrives above it.
    let mut app = app();
    app.on_outcome(Outcome::Joined {
        channel: ch("anxiety"),
        persona: persona(100),
    });
    post(&mut app, synced(1, "anxiety", "from before you came"));
    assert_eq!(app.channels[0].earlier, Some(id(1)));
    assert!(matches!(
        app.channels[0].items.last(),
        Some(Item::Notice(_))
    ));
}

#[test]
fn synced_posts_never_move_a_scrolled_back_view_or_repeat() {
    let mut app = app();
    for n in 40..60 {
        post(&mut app, record(n, "anxiety", 2, "live"));
    }
    app.on_key(press(KeyCode::PageUp));
    let scroll = app.channels[0].scroll;
    assert!(scroll > 0);
    post(&mut app, synced(10, "anxiety", "old"));
    post(&mut app, synced(10, "anxiety", "old"));
    let mut middle = synced(200, "anxiety", "in the middle");
    middle.post.created_ms = T0 + 45_500;
    post(&mut app, middle);
    // The state never touches the scroll position; the view keeps the
    // post at its bottom in place (tested in the view's tests).
    assert_eq!(app.channels[0].scroll, scroll);
    assert_eq!(app.channels[0].ids.len(), 22);
    assert_eq!(app.channels[0].earlier, Some(id(200)));
}
