//! Drawing tests on ratatui's test backend: what a person would see.

use super::super::clock::Zone;
use super::super::state::{MAX_ITEMS, NodeEvent, Persona, Record};
use super::messages::{INDENT, tail_lines};
use super::text::wrap;
use super::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hearth_protocol::{
    BlockTarget, ChannelName, ContentWarning, CwLabel, ListId, MessageId, Post, PublicKey, Verdict,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const T0: u64 = 1_750_000_000_000; // 2025-06-15 15:06:40 UTC

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn record(n: u8, author: u8, body: &str) -> Record {
    Record {
        id: MessageId([n; 32]),
        post: Post {
            channel: ch("anxiety"),
            author: PublicKey([author; 32]),
            created_ms: T0 + u64::from(n) * 60_000,
            expires_ms: None,
            reply_to: None,
            content_warning: None,
            nickname: None,
            body: body.to_owned(),
            persona_stamp: Default::default(),
            nonce: 0,
        },
        own: false,
        verdict: None,
        synced: false,
    }
}

fn app() -> App {
    let mut app = App::new(Zone::utc(), T0 + 3_600_000, Some("Sam".into()));
    app.add_channel(
        ch("anxiety"),
        Some(Persona {
            name: PublicKey([100; 32]).name(),
            key: PublicKey([100; 32]),
        }),
        3,
    );
    app.add_channel(ch("grief/es"), None, 0);
    app
}

fn render(app: &mut App, width: u16, height: u16) -> (Vec<String>, (u16, u16)) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let rows = (0..height)
        .map(|y| {
            let mut row = String::new();
            let mut x = 0;
            while x < width {
                let cell = &buffer[(x, y)];
                row.push_str(cell.symbol());
                x += 1;
            }
            row
        })
        .collect();
    let cursor = terminal.get_cursor_position().unwrap();
    (rows, (cursor.x, cursor.y))
}

fn screen(rows: &[String]) -> String {
    rows.join("\n")
}

#[test]
fn the_screen_shows_posts_status_and_prompt() {
    let mut app = app();
    let mut r = record(1, 1, "I'm here too");
    r.post.nickname = Some("Ana".into());
    app.on_event(NodeEvent::Post(Box::new(r)));
    app.on_event(NodeEvent::PeerConnected("p".into()));
    let (rows, cursor) = render(&mut app, 100, 12);
    let text = screen(&rows);
    let name = PublicKey([1; 32]).name();
    let glyph = hearth_protocol::fingerprint(&[1; 32]).glyph;
    assert!(
        text.contains(&format!("15:07 {glyph} {name} (Ana): I'm here too")),
        "{text}"
    );
    assert!(
        !text.contains("another persona here uses this name"),
        "{text}"
    );
    assert!(text.contains(&MessageId([1; 32]).short()));
    let status = &rows[10];
    assert!(status.contains("#anxiety"), "{status}");
    assert!(status.contains(&PublicKey([100; 32]).name()), "{status}");
    assert!(status.contains("(Sam)"), "{status}");
    assert!(status.contains("3 peers here"), "{status}");
    assert!(status.contains("connected (1)"), "{status}");
    assert!(status.contains("16:06"), "{status}");
    assert!(rows[11].starts_with("> "), "{}", rows[11]);
    assert_eq!(cursor, (2, 11));
    assert!(text.contains("1 #anxiety"));
    assert!(text.contains("2 #grief/es"));
}

#[test]
fn the_status_line_says_when_own_lines_are_queued_for_the_pace() {
    let mut app = app();
    let anxiety = hearth_protocol::ChannelName::parse("anxiety").unwrap();
    app.on_event(NodeEvent::Paced {
        channel: anxiety.clone(),
        queued: 3,
    });
    let (rows, _) = render(&mut app, 160, 12);
    assert!(
        rows[10].contains("3 lines queued, going out slowly"),
        "{}",
        rows[10]
    );
    app.on_event(NodeEvent::Paced {
        channel: anxiety,
        queued: 0,
    });
    let (rows, _) = render(&mut app, 160, 12);
    assert!(!rows[10].contains("queued"), "{}", rows[10]);
}

#[test]
fn typed_text_stays_while_posts_arrive() {
    let mut app = app();
    for c in "still typing héllo 🙂".chars() {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    for n in 1..40 {
        app.on_event(NodeEvent::Post(Box::new(record(
            n,
            2,
            &"words ".repeat(30),
        ))));
        let (rows, cursor) = render(&mut app, 70, 10);
        assert!(
            rows[9].starts_with("> still typing héllo 🙂"),
            "{}",
            rows[9]
        );
        assert_eq!(cursor, (2 + 21, 9));
    }
}

#[test]
fn long_input_scrolls_sideways_to_keep_the_cursor_visible() {
    let mut app = app();
    app.on_paste(&"abcdefghij".repeat(30));
    let (rows, cursor) = render(&mut app, 40, 6);
    assert!(rows[5].starts_with("> "));
    assert!(
        rows[5].ends_with("hij") || rows[5].trim_end().ends_with('j'),
        "{}",
        rows[5]
    );
    assert!(cursor.0 < 40);
    app.on_key(KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
    let (rows, cursor) = render(&mut app, 40, 6);
    assert!(rows[5].starts_with("> abcdefghij"));
    assert_eq!(cursor, (2, 5));
}

#[test]
fn hidden_posts_are_one_dim_line_and_warnings_fold() {
    let mut app = app();
    let mut hidden = record(1, 9, "something awful");
    hidden.verdict = Some(Verdict {
        list: ListId::Local,
        entry: 0,
        target: BlockTarget::Persona(PublicKey([9; 32])),
        reason: "spam".into(),
    });
    app.on_event(NodeEvent::Post(Box::new(hidden)));
    let mut folded = record(2, 3, "the heavy part");
    folded.post.content_warning = Some(ContentWarning::new(
        [CwLabel::SelfHarm],
        Some("last night".into()),
    ));
    app.on_event(NodeEvent::Post(Box::new(folded)));
    let (rows, _) = render(&mut app, 110, 10);
    let text = screen(&rows);
    let short = MessageId([1; 32]).short();
    assert!(
        text.contains(&format!("hidden by your own blocklist (use /why {short})")),
        "{text}"
    );
    assert!(!text.contains("awful"));
    assert!(text.contains("⚠ self-harm — “last night”"), "{text}");
    assert!(!text.contains("heavy part"));
    app.current_mut().unwrap().opened.insert(MessageId([2; 32]));
    let (rows, _) = render(&mut app, 110, 10);
    assert!(screen(&rows).contains("the heavy part"));
}

#[test]
fn replies_show_what_they_answer() {
    let mut app = app();
    app.on_event(NodeEvent::Post(Box::new(record(
        1,
        1,
        "Does anyone else wake at 4am?",
    ))));
    let mut reply = record(2, 2, "Every night, lately.");
    reply.post.reply_to = Some(MessageId([1; 32]));
    app.on_event(NodeEvent::Post(Box::new(reply)));
    let (rows, _) = render(&mut app, 100, 10);
    let text = screen(&rows);
    assert!(
        text.contains(&format!(
            "↳ re {}: Does anyone else wake at 4am?",
            PublicKey([1; 32]).name()
        )),
        "{text}"
    );
}

#[test]
fn multi_line_and_long_posts_wrap_under_the_time_column() {
    let lines = wrap(
        &[
            Span::raw("12:00 name: "),
            Span::raw("alpha beta gamma delta epsilon"),
        ],
        24,
        INDENT,
    );
    let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        texts,
        vec![
            "12:00 name: alpha beta",
            "      gamma delta",
            "      epsilon"
        ]
    );
    // A space that overflows is where the line breaks; no other space
    // is lost.
    let texts: Vec<String> = wrap(&[Span::raw("aaaa bbbb cccc dddd")], 14, 2)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert_eq!(texts, vec!["aaaa bbbb cccc", "  dddd"]);
    let texts: Vec<String> = wrap(&[Span::raw("aaaa bbbb cc dddd eeee")], 15, 2)
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert_eq!(texts, vec!["aaaa bbbb cc", "  dddd eeee"]);
    for line in &lines {
        assert!(line.width() <= 24);
    }
    // No spaces to break at: cut anywhere, still within the width.
    let lines = wrap(&[Span::raw("x".repeat(50))], 20, INDENT);
    assert!(lines.iter().all(|l| l.width() <= 20));
    assert_eq!(
        lines
            .iter()
            .map(|l| l.to_string().trim().len())
            .sum::<usize>(),
        50
    );
    // Wide characters never overflow.
    let lines = wrap(&[Span::raw("界".repeat(30))], 11, INDENT);
    assert!(lines.iter().all(|l| l.width() <= 11));
    assert!(wrap(&[Span::raw("abc")], 0, INDENT).is_empty());
    assert_eq!(wrap(&[Span::raw("界")], 1, INDENT).len(), 1);
}

#[test]
fn no_size_or_content_breaks_drawing() {
    let mut app = app();
    let mut r = record(
        1,
        1,
        "line one\n\n\tindented\nzalgo z̷̢̛a̵l̶g̸o 👩‍👩‍👧 \u{FFFD} العربية\n",
    );
    r.post.nickname = Some("🙂🙂🙂".into());
    app.on_event(NodeEvent::Post(Box::new(r)));
    app.on_paste("multi\nline paste");
    for (w, h) in [
        (1, 1),
        (2, 2),
        (5, 3),
        (10, 4),
        (30, 5),
        (55, 7),
        (56, 7),
        (200, 60),
    ] {
        render(&mut app, w, h);
    }
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    render(&mut app, 40, 8);
    let (rows, _) = render(&mut app, 80, 8);
    assert!(screen(&rows).contains("multi⏎line paste"));
    // Without any channel the lobby still draws.
    app.on_event(NodeEvent::Left {
        channel: ch("anxiety"),
    });
    app.on_event(NodeEvent::Left {
        channel: ch("grief/es"),
    });
    app.welcome();
    let (rows, _) = render(&mut app, 80, 8);
    assert!(screen(&rows).contains("/join NAME"));
}

#[test]
fn scrolling_back_holds_still_while_posts_arrive() {
    let mut app = app();
    for n in 1..30 {
        app.on_event(NodeEvent::Post(Box::new(record(
            n,
            1,
            &format!("post {n}"),
        ))));
    }
    render(&mut app, 80, 10);
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    let (before, _) = render(&mut app, 80, 10);
    assert!(screen(&before).contains("reading back"));
    for n in 30..35 {
        app.on_event(NodeEvent::Post(Box::new(record(
            n,
            1,
            &format!("post {n}"),
        ))));
    }
    let (after, _) = render(&mut app, 80, 10);
    assert_eq!(before[..6], after[..6]);
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let (bottom, _) = render(&mut app, 80, 10);
    assert!(screen(&bottom).contains("post 34"));
    // Scrolling far up stops at the first line.
    for _ in 0..50 {
        app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    }
    let (top, _) = render(&mut app, 80, 10);
    assert!(screen(&top).contains("post 1 "), "{}", screen(&top));
}

#[test]
fn history_arriving_by_sync_never_moves_a_scrolled_back_view() {
    let mut app = app();
    for n in 10..40 {
        app.on_event(NodeEvent::Post(Box::new(record(
            n,
            1,
            &format!("post {n}"),
        ))));
    }
    render(&mut app, 80, 10);
    app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
    let (before, _) = render(&mut app, 80, 10);
    // Earlier history above the view, and a missed post between the view
    // and the bottom, each a few lines long.
    let mut old = record(2, 2, "long ago\nsecond line");
    old.synced = true;
    let mut missed = record(200, 2, "missed while away\nand a second line");
    missed.post.created_ms = T0 + 37 * 60_000 + 30_000;
    missed.synced = true;
    for r in [old, missed] {
        app.on_event(NodeEvent::Post(Box::new(r)));
    }
    let (after, _) = render(&mut app, 80, 10);
    assert_eq!(
        before[..6],
        after[..6],
        "\n{}\n--\n{}",
        screen(&before),
        screen(&after)
    );
    // At the bottom, the divider shows under the newest earlier post.
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    let (all, _) = render(&mut app, 80, 60);
    let text = screen(&all);
    let divider = text.find("earlier messages").expect("a divider");
    let missed = text.find("missed while away").expect("the missed post");
    let after_it = text.find("post 38").expect("a live post");
    assert!(missed < divider && divider < after_it, "{text}");
}

#[test]
fn unread_counts_show_in_the_channel_list() {
    let mut app = app();
    let mut r = record(1, 1, "over here");
    r.post.channel = ch("grief/es");
    app.on_event(NodeEvent::Post(Box::new(r)));
    let (rows, _) = render(&mut app, 90, 8);
    assert!(rows[2].contains("2 #grief/es 1"), "{}", rows[2]);
    let (rows, _) = render(&mut app, 40, 8);
    assert!(rows[6].contains("1 unread"), "{}", rows[6]);
}

/// A post id whose short form is `n` in hex.
fn numbered(n: u32) -> MessageId {
    let mut id = [7; 32];
    id[..4].copy_from_slice(&n.to_be_bytes());
    MessageId(id)
}

#[test]
fn a_long_channel_wraps_only_the_posts_that_show() {
    let mut app = app();
    for n in 0..10_000u32 {
        let text = format!("post {n}: {}", "an ordinary sentence ".repeat(4));
        let mut r = record(0, 1, text.trim_end());
        r.id = numbered(n);
        r.post.created_ms = T0 + u64::from(n) * 1000;
        app.on_event(NodeEvent::Post(Box::new(r)));
    }
    let channel = app.current().unwrap();
    assert_eq!(channel.items.len(), MAX_ITEMS, "older posts dropped off");
    // Each post wraps to two lines at this width: filling 38 rows takes
    // the newest 19 posts, not the 2,000 kept.
    let (lines, complete) = tail_lines(&channel.items, &Zone::utc(), 90, Some(channel), 38);
    assert!(!complete, "it went back to the oldest post");
    assert_eq!(lines.len(), 38, "{lines:#?}");

    let (rows, _) = render(&mut app, 120, 40);
    // 38 rows of messages above the status and input lines, the newest
    // post at the bottom.
    assert!(
        rows[36].contains("post 9999: an ordinary"),
        "{}",
        screen(&rows)
    );
    assert!(
        rows[37].contains(&numbered(9999).short()),
        "{}",
        screen(&rows)
    );
    assert!(
        rows[0].contains("post 9981: an ordinary"),
        "{}",
        screen(&rows)
    );
}

#[test]
fn two_personas_under_one_name_are_told_apart_and_flagged() {
    let mut app = app();
    let mut real = record(1, 1, "I'm a listener, ask me anything");
    real.post.nickname = Some("Listener Jo".into());
    let mut fake = record(2, 2, "DM me your address");
    fake.post.nickname = Some("listener jo".into());
    let other = record(3, 3, "hello all");
    for r in [real, fake, other] {
        app.on_event(NodeEvent::Post(Box::new(r)));
    }
    let (rows, _) = render(&mut app, 120, 12);
    let text = screen(&rows);
    let glyph = |n: u8| hearth_protocol::fingerprint(&[n; 32]).glyph;
    assert!(text.contains(&format!("{} {}", glyph(1), PublicKey([1; 32]).name())));
    assert!(text.contains(&format!("{} {}", glyph(2), PublicKey([2; 32]).name())));
    let flagged: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("⚠ another persona"))
        .collect();
    assert_eq!(flagged.len(), 2, "{text}");
    assert!(flagged.iter().all(|r| !r.contains("hello all")), "{text}");
}
