//! Enter and the slash commands, with the answers they wait for.

use super::*;

#[test]
fn typing_and_enter_publish_in_the_channel_shown() {
    let mut app = app();
    let actions = type_line(&mut app, "hello, I'm new here");
    assert_eq!(
        actions,
        vec![Action::Publish {
            channel: ch("anxiety"),
            draft: Draft {
                text: "hello, I'm new here".into(),
                reply_to: None,
                content_warning: None,
                nickname: None,
            }
        }]
    );
    assert!(app.input.is_empty());
    assert!(type_line(&mut app, "   ").is_empty());
}

#[test]
fn replies_by_number_and_id_one_step_and_two_step() {
    let mut app = app();
    post(&mut app, record(1, "anxiety", 1, "first"));
    post(&mut app, record(2, "anxiety", 2, "second"));
    let short = id(1).short();
    let actions = type_line(&mut app, &format!("/reply {short} I hear you"));
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!(draft.reply_to, Some(id(1)));
    assert_eq!(draft.text, "I hear you");
    assert!(app.pending_reply.is_none());

    assert!(type_line(&mut app, "/reply 1").is_empty());
    assert!(last_notice(&app).contains("answers"));
    let actions = type_line(&mut app, "same here");
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(draft.reply_to, Some(id(2)));
    let actions = type_line(&mut app, "and a plain one");
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(draft.reply_to, None);

    // Numbers count back over other people's posts.
    let mut own = record(3, "anxiety", 100, "mine");
    own.own = true;
    post(&mut app, own);
    type_line(&mut app, "/reply 1");
    assert_eq!(app.pending_reply, Some((ch("anxiety"), id(2))));
    type_line(&mut app, "/reply 2");
    assert_eq!(app.pending_reply, Some((ch("anxiety"), id(1))));
    app.on_key(press(KeyCode::Esc));
    assert!(app.pending_reply.is_none());
    type_line(&mut app, "/reply 9");
    assert!(last_notice(&app).contains("no post #9"));
    type_line(&mut app, "/reply abcdef12 hi");
    assert!(last_notice(&app).contains("can't find"));
}

#[test]
fn ambiguous_prefixes_ask_for_more_digits() {
    let mut app = app();
    let mut a = record(1, "anxiety", 1, "a");
    a.id = MessageId([0xab; 32]);
    let mut b = record(2, "anxiety", 1, "b");
    let mut bytes = [0xab; 32];
    bytes[3] = 0;
    b.id = MessageId(bytes);
    post(&mut app, a);
    post(&mut app, b);
    type_line(&mut app, "/why abab");
    assert!(last_notice(&app).contains("More than one"));
    assert_eq!(
        type_line(&mut app, "/why abababab"),
        vec![Action::Why {
            id: MessageId([0xab; 32])
        }]
    );
}

#[test]
fn content_warnings_two_step_inline_and_folding() {
    let mut app = app();
    type_line(&mut app, "/cw self-harm");
    assert!(app.pending_cw.is_some());
    let actions = type_line(&mut app, "it was a hard night");
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(
        draft.content_warning,
        Some(ContentWarning::new([CwLabel::SelfHarm], None))
    );
    assert!(app.pending_cw.is_none());

    let actions = type_line(&mut app, "/cw death -- he died");
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(draft.text, "he died");
    assert!(draft.content_warning.is_some());

    let mut folded = record(7, "anxiety", 3, "heavy");
    folded.post.content_warning = Some(ContentWarning::new([CwLabel::Death], None));
    post(&mut app, folded);
    post(&mut app, record(8, "anxiety", 3, "light"));
    type_line(&mut app, "/open");
    assert!(app.channels[0].opened.contains(&id(7)));
    type_line(&mut app, "/open");
    assert!(last_notice(&app).contains("Nothing here is folded"));
    type_line(&mut app, &format!("/open {}", id(7).short()));
    assert!(!app.channels[0].opened.contains(&id(7)));
    type_line(&mut app, "/open 1");
    assert!(last_notice(&app).contains("no content warning"));
}

#[test]
fn nick_applies_to_following_posts() {
    let mut app = app();
    type_line(&mut app, "/nick Sam");
    let actions = type_line(&mut app, "hi");
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(draft.nickname.as_deref(), Some("Sam"));
    type_line(&mut app, "/nick -");
    let actions = type_line(&mut app, "hi");
    let Action::Publish { draft, .. } = &actions[0] else {
        panic!()
    };
    assert_eq!(draft.nickname, None);
}

#[test]
fn block_by_name_nick_and_id_and_never_yourself() {
    let mut app = app();
    let mut r = record(1, "anxiety", 1, "mean words");
    r.post.nickname = Some("Troll".into());
    post(&mut app, r);
    let mut own = record(2, "anxiety", 100, "mine");
    own.own = true;
    post(&mut app, own);
    let name = key(1).name();
    let expected = vec![Action::Block {
        entry: BlockEntry::new(BlockTarget::Persona(key(1)), "cruel"),
        what: name.clone(),
    }];
    assert_eq!(
        type_line(&mut app, &format!("/block {name} cruel")),
        expected
    );
    assert_eq!(
        type_line(&mut app, &format!("/block {} cruel", name.to_uppercase())),
        expected
    );
    assert_eq!(type_line(&mut app, "/block troll cruel"), expected);
    assert_eq!(
        type_line(&mut app, &format!("/block {} cruel", id(1).short())),
        expected
    );
    assert!(type_line(&mut app, &format!("/block {}", key(100).name())).is_empty());
    assert!(last_notice(&app).contains("That's you"));
    assert!(type_line(&mut app, "/block nobody").is_empty());
    assert!(last_notice(&app).contains("can't see anyone"));

    app.on_outcome(Outcome::Blocked {
        entry: BlockEntry::new(BlockTarget::Persona(key(1)), "cruel"),
        what: name.clone(),
        new: true,
    });
    assert!(last_notice(&app).contains("won't see"));
    let hidden = app.channels[0]
        .posts_newest_first()
        .find(|p| p.id == id(1))
        .unwrap();
    assert_eq!(hidden.hidden_by.as_deref(), Some(OWN_LIST));
}

#[test]
fn hide_and_why() {
    let mut app = app();
    post(&mut app, record(1, "anxiety", 1, "a"));
    assert_eq!(
        type_line(&mut app, "/hide 1 not for me"),
        vec![Action::Block {
            entry: BlockEntry::new(BlockTarget::Post(id(1)), "not for me"),
            what: format!("Post {}", id(1).short()),
        }]
    );
    let full = id(9).to_string();
    assert_eq!(
        type_line(&mut app, &format!("/why {full}")),
        vec![Action::Why { id: id(9) }]
    );
    assert!(type_line(&mut app, "/why 99999999").is_empty());

    let mut r = record(1, "anxiety", 1, "a");
    r.verdict = Some(Verdict {
        list: ListId::Moderator(key(50)),
        entry: 3,
        target: BlockTarget::Keyword("x".into()),
        reason: "slurs".into(),
    });
    app.on_outcome(Outcome::Why {
        id: id(1),
        record: Some(Box::new(r.clone())),
    });
    let text = last_notice(&app);
    assert!(text.contains("hidden by moderator"), "{text}");
    assert!(text.contains("keyword entry"), "{text}");
    assert!(text.contains("slurs"), "{text}");
    r.verdict = None;
    app.on_outcome(Outcome::Why {
        id: id(1),
        record: Some(Box::new(r)),
    });
    assert!(last_notice(&app).contains("isn't hidden"));
    app.on_outcome(Outcome::Why {
        id: id(1),
        record: None,
    });
    assert!(last_notice(&app).contains("no stored post"));
}

#[test]
fn join_leave_newme_history_peers_quit() {
    let mut app = app();
    assert_eq!(type_line(&mut app, "/join grief"), Vec::<Action>::new());
    assert_eq!(app.active, 1);
    assert_eq!(
        type_line(&mut app, "/join recovery"),
        vec![Action::Join(ch("recovery"))]
    );
    let follow = app.on_outcome(Outcome::Joined {
        channel: ch("recovery"),
        persona: persona(102),
    });
    assert_eq!(app.current().unwrap().name, ch("recovery"));
    assert_eq!(
        follow,
        vec![
            Action::History {
                channel: ch("recovery"),
                limit: DEFAULT_HISTORY,
                announce: false
            },
            Action::Card(ch("recovery")),
        ]
    );
    app.on_outcome(Outcome::History {
        channel: ch("recovery"),
        records: vec![
            record(1, "recovery", 1, "old"),
            record(2, "recovery", 2, "older"),
        ],
        announce: false,
    });
    assert_eq!(app.current().unwrap().posts_newest_first().count(), 2);
    assert_eq!(app.current().unwrap().unread, 0);

    assert_eq!(
        type_line(&mut app, "/history 5"),
        vec![Action::History {
            channel: ch("recovery"),
            limit: 5,
            announce: true
        }]
    );
    app.on_outcome(Outcome::History {
        channel: ch("recovery"),
        records: vec![record(1, "recovery", 1, "old")],
        announce: true,
    });
    assert!(last_notice(&app).contains("No earlier posts"));

    assert_eq!(
        type_line(&mut app, "/newme"),
        vec![Action::RotatePersona(ch("recovery"))]
    );
    app.on_outcome(Outcome::Rotated {
        channel: ch("recovery"),
        persona: persona(103),
    });
    assert_eq!(app.current().unwrap().persona, Some(persona(103)));

    assert_eq!(
        type_line(&mut app, "/leave"),
        vec![Action::Leave(ch("recovery"))]
    );
    app.on_outcome(Outcome::Left {
        channel: ch("recovery"),
    });
    assert_eq!(app.channels.len(), 2);
    assert!(app.active < 2);
    assert!(type_line(&mut app, "/leave nowhere").is_empty());

    assert_eq!(type_line(&mut app, "/peers"), vec![Action::Peers]);
    app.on_outcome(Outcome::Peers(vec![PeerSummary {
        id: "12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz".into(),
        channels: vec![ch("anxiety")],
    }]));
    assert!(last_notice(&app).contains("#anxiety"));
    assert!(last_notice(&app).contains("12D3Ko…UvWxYz"));

    assert_eq!(type_line(&mut app, "/quit"), vec![Action::Quit]);
    assert!(app.quit);
}

#[test]
fn mistyped_commands_hint_and_can_be_recalled() {
    let mut app = app();
    assert!(type_line(&mut app, "/jion grief").is_empty());
    assert!(last_notice(&app).contains("did you mean /join?"));
    assert!(app.input.is_empty());
    app.on_key(press(KeyCode::Up));
    assert_eq!(app.input.text(), "/jion grief");
}

#[test]
fn help_fills_the_view() {
    let mut app = app();
    type_line(&mut app, "/help");
    let helps = app.channels[0]
        .items
        .iter()
        .filter(|i| matches!(i, Item::Notice(n) if n.tone == Tone::Help))
        .count();
    assert!(helps >= commands::HELP.len());
}

#[test]
fn report_by_number_or_id_and_what_the_reporter_and_moderator_see() {
    let mut app = app();
    post(&mut app, record(1, "anxiety", 1, "a"));
    assert_eq!(
        type_line(&mut app, "/report 1 threatens someone"),
        vec![Action::Report {
            channel: ch("anxiety"),
            post: id(1),
            reason: "threatens someone".into(),
        }]
    );
    let full = id(9).to_string();
    assert_eq!(
        type_line(&mut app, &format!("/report {full} spam")),
        vec![Action::Report {
            channel: ch("anxiety"),
            post: id(9),
            reason: "spam".into(),
        }]
    );
    assert!(type_line(&mut app, "/report 1").is_empty());
    assert!(
        last_notice(&app).contains("say why"),
        "{}",
        last_notice(&app)
    );
    assert!(type_line(&mut app, "/report 7 spam").is_empty());
    assert!(last_notice(&app).contains("no post #7"));

    app.on_outcome(Outcome::Reported {
        post: id(1),
        moderators: 2,
        peers: 3,
    });
    let sent = last_notice(&app);
    assert!(sent.contains("the 2 moderators"), "{sent}");
    assert!(sent.contains("Nothing was sent to the person"), "{sent}");
    app.on_outcome(Outcome::Reported {
        post: id(1),
        moderators: 1,
        peers: 0,
    });
    assert!(last_notice(&app).contains("Nobody else is in this channel"));

    app.on_event(NodeEvent::Report {
        channel: ch("anxiety"),
        post: id(1),
        reason: "spam".into(),
        reporter: key(5).name(),
    });
    let seen = last_notice(&app);
    assert!(seen.contains("Report for you as moderator"), "{seen}");
    assert!(seen.contains(&key(5).name()), "{seen}");
    assert!(seen.contains(&id(1).short()), "{seen}");
}
