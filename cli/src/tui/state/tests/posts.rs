//! Posts and node events: order, caps, unread counts, what stopping
//! and leaving do.

use super::*;

#[test]
fn posts_arriving_never_touch_the_input_line() {
    let mut app = app();
    for c in "half a thou".chars() {
        app.on_key(press(KeyCode::Char(c)));
    }
    app.on_key(press(KeyCode::Left));
    for n in 1..50 {
        post(&mut app, record(n, "anxiety", 1, "noise"));
    }
    app.on_event(NodeEvent::Lagged(3));
    assert_eq!(app.input.text(), "half a thou");
    assert_eq!(app.input.cursor_chars(), 10);
}

#[test]
fn unread_counts_grow_in_other_channels_and_clear_on_switch() {
    let mut app = app();
    post(&mut app, record(1, "grief", 1, "hi"));
    post(&mut app, record(2, "grief", 1, "anyone?"));
    post(&mut app, record(2, "grief", 1, "anyone?")); // duplicate
    let mut own = record(3, "grief", 100, "mine");
    own.own = true;
    post(&mut app, own);
    let mut hidden = record(4, "grief", 9, "spam");
    hidden.verdict = Some(Verdict {
        list: ListId::Local,
        entry: 0,
        target: BlockTarget::Persona(key(9)),
        reason: "spam".into(),
    });
    post(&mut app, hidden);
    post(&mut app, record(5, "anxiety", 1, "here"));
    post(&mut app, record(6, "elsewhere", 1, "not joined"));
    assert_eq!(app.channels[1].unread, 2);
    assert_eq!(app.channels[0].unread, 0);
    app.on_key(press(KeyCode::Tab));
    assert_eq!(app.active, 1);
    assert_eq!(app.channels[1].unread, 0);
    assert_eq!(app.channels[1].items.len(), 4);
    app.on_key(ctrl('p'));
    assert_eq!(app.active, 0);
    type_line(&mut app, "/switch 2");
    assert_eq!(app.active, 1);
    type_line(&mut app, "/switch anxiety");
    assert_eq!(app.active, 0);
    type_line(&mut app, "/switch 7");
    assert!(last_notice(&app).contains("no channel 7"));
    type_line(&mut app, "/switch nowhere");
    assert!(last_notice(&app).contains("/join nowhere"));
}

#[test]
fn posts_are_kept_in_time_order_and_capped() {
    let mut app = app();
    post(&mut app, record(5, "anxiety", 1, "later"));
    post(&mut app, record(2, "anxiety", 1, "earlier"));
    let bodies: Vec<_> = app.channels[0]
        .posts_newest_first()
        .map(|p| p.body.clone())
        .collect();
    assert_eq!(bodies, vec!["later", "earlier"]);
    let c = &mut app.channels[0];
    for n in 0..(MAX_ITEMS as u64 + 10) {
        let mut r = record(0, "anxiety", 1, "x");
        let mut bytes = [1; 32];
        bytes[0] = u8::try_from(n % 251).unwrap();
        bytes[1] = u8::try_from(n / 251).unwrap();
        r.id = MessageId(bytes);
        r.post.created_ms = T0 + 10_000 + n;
        c.insert_post(PostItem::from_record(r));
    }
    assert_eq!(c.items.len(), MAX_ITEMS);
    assert_eq!(c.ids.len(), MAX_ITEMS);
}

#[test]
fn leaving_every_channel_leaves_a_usable_window() {
    let mut app = app();
    app.on_event(NodeEvent::Left {
        channel: ch("anxiety"),
    });
    app.on_event(NodeEvent::Left {
        channel: ch("grief"),
    });
    assert!(app.current().is_none());
    assert!(type_line(&mut app, "hello?").is_empty());
    assert!(last_notice(&app).contains("not in a channel"));
    assert_eq!(app.input.text(), "hello?");
    app.input.take();
    for line in [
        "/leave",
        "/newme",
        "/history",
        "/reply 1 x",
        "/cw x -- y",
        "/open",
        "/why 1",
    ] {
        assert!(type_line(&mut app, line).is_empty(), "{line}");
    }
    app.on_key(press(KeyCode::PageUp));
    app.on_key(press(KeyCode::Tab));
    app.on_event(NodeEvent::Joined {
        channel: ch("anxiety"),
        persona: persona(1),
    });
    assert!(app.current().is_some());
}

#[test]
fn failed_publish_gives_the_text_back() {
    let mut app = app();
    type_line(&mut app, "/cw death");
    let actions = type_line(&mut app, "precious words");
    let Action::Publish { channel, draft } = actions[0].clone() else {
        panic!()
    };
    app.on_outcome(Outcome::PublishFailed {
        channel,
        draft,
        error: "not in channel anxiety; join it first".into(),
    });
    assert_eq!(app.input.text(), "precious words");
    assert!(app.pending_cw.is_some());
    assert!(last_notice(&app).contains("nothing is lost"));
}

#[test]
fn own_posts_wait_for_peers_until_sent() {
    let mut app = app();
    let mut own = record(1, "anxiety", 100, "mine");
    own.own = true;
    app.on_outcome(Outcome::Published {
        channel: ch("anxiety"),
        id: id(1),
        peers: 0,
    });
    post(&mut app, own);
    assert!(app.channels[0].posts_newest_first().next().unwrap().waiting);
    app.on_event(NodeEvent::Sent {
        id: id(1),
        peers: 2,
    });
    assert!(!app.channels[0].posts_newest_first().next().unwrap().waiting);
}

#[test]
fn peers_and_stopping() {
    let mut app = app();
    app.on_event(NodeEvent::PeerConnected("a".into()));
    app.on_event(NodeEvent::PeerConnected("a".into()));
    app.on_event(NodeEvent::PeerConnected("b".into()));
    app.on_event(NodeEvent::PeerDisconnected("a".into()));
    assert_eq!(app.peers.len(), 1);
    app.on_event(NodeEvent::ChannelPeers {
        channel: ch("grief"),
        peers: 4,
    });
    assert_eq!(app.channels[1].peers, 4);
    app.on_event(NodeEvent::Stopped);
    app.on_event(NodeEvent::Stopped);
    assert!(app.stopped);
    assert!(type_line(&mut app, "hello").is_empty());
    assert_eq!(app.input.text(), "hello");
}

#[test]
fn posts_left_from_last_time_are_announced_waiting_then_sent() {
    let mut app = app();
    app.on_event(NodeEvent::Backlog {
        channel: ch("anxiety"),
        posts: 3,
    });
    let waiting = last_notice(&app);
    assert!(
        waiting
            .starts_with("3 posts you wrote last time are still waiting for someone in #anxiety."),
        "{waiting}"
    );
    app.on_event(NodeEvent::BacklogSent {
        channel: ch("anxiety"),
        posts: 3,
    });
    assert_eq!(
        last_notice(&app),
        "3 posts from last time were sent to #anxiety."
    );
    app.on_event(NodeEvent::BacklogSent {
        channel: ch("grief"),
        posts: 1,
    });
    assert_eq!(
        last_notice(&app),
        "1 post from last time was sent to #grief."
    );
}

#[test]
fn closing_with_posts_being_signed_says_they_are_kept() {
    let mut app = app();
    app.closing(2);
    let notice = last_notice(&app);
    assert!(
        notice.starts_with("Closing. 2 posts you wrote are still being signed: they are saved"),
        "{notice}"
    );
}
