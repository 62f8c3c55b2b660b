//! Keys and pastes: editing, recall, quitting and scrolling.

use super::*;

#[test]
fn editing_keys_work_on_unicode() {
    let mut app = app();
    for c in "héllo wörld 🙂".chars() {
        app.on_key(press(KeyCode::Char(c)));
    }
    app.on_key(press(KeyCode::Backspace));
    assert_eq!(app.input.text(), "héllo wörld ");
    app.on_key(ctrl('w'));
    assert_eq!(app.input.text(), "héllo ");
    app.on_key(press(KeyCode::Home));
    app.on_key(press(KeyCode::Right));
    app.on_key(press(KeyCode::Delete));
    assert_eq!(app.input.text(), "hllo ");
    app.on_key(press(KeyCode::End));
    app.on_key(press(KeyCode::Left));
    app.on_key(ctrl('k'));
    assert_eq!(app.input.text(), "hllo");
    app.on_key(ctrl('u'));
    assert!(app.input.is_empty());
    for _ in 0..5 {
        app.on_key(press(KeyCode::Backspace));
        app.on_key(press(KeyCode::Delete));
        app.on_key(press(KeyCode::Left));
        app.on_key(press(KeyCode::Right));
        app.on_key(ctrl('w'));
        app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
    }
    app.input.set("one two  three");
    app.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
    assert_eq!(app.input.cursor_chars(), 9);
    app.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
    assert_eq!(app.input.cursor_chars(), 4);
    app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
    assert_eq!(app.input.cursor_chars(), 7);
}

#[test]
fn pastes_are_cleaned_capped_and_never_sent_alone() {
    let mut app = app();
    app.on_paste("line one\r\nline\ttwo\u{1b}[31m\u{202E}\n");
    assert_eq!(app.input.text(), "line one\nline    two[31m\n");
    assert!(app.input.text().len() <= MAX_INPUT_BYTES);
    app.on_paste(&"ü".repeat(10_000));
    assert!(app.input.text().len() <= MAX_INPUT_BYTES);
    assert!(last_notice(&app).contains("more than one post"));
    let actions = app.on_key(press(KeyCode::Enter));
    assert!(actions.is_empty());
    assert!(last_notice(&app).contains("split"));
    assert!(!app.input.is_empty());
}

#[test]
fn up_and_down_recall_sent_lines() {
    let mut app = app();
    type_line(&mut app, "first");
    type_line(&mut app, "second");
    for c in "draft".chars() {
        app.on_key(press(KeyCode::Char(c)));
    }
    app.on_key(press(KeyCode::Up));
    assert_eq!(app.input.text(), "second");
    app.on_key(press(KeyCode::Up));
    app.on_key(press(KeyCode::Up));
    assert_eq!(app.input.text(), "first");
    app.on_key(press(KeyCode::Down));
    assert_eq!(app.input.text(), "second");
    app.on_key(press(KeyCode::Down));
    assert_eq!(app.input.text(), "draft");
}

#[test]
fn ctrl_c_clears_then_quits_and_scrolling_is_bounded_below() {
    let mut app = app();
    app.on_key(press(KeyCode::Char('x')));
    assert!(app.on_key(ctrl('c')).is_empty());
    assert!(app.input.is_empty());
    app.on_key(press(KeyCode::PageDown));
    assert_eq!(app.channels[0].scroll, 0);
    app.on_key(press(KeyCode::PageUp));
    assert!(app.channels[0].scroll > 0);
    app.on_key(press(KeyCode::Esc));
    assert_eq!(app.channels[0].scroll, 0);
    assert_eq!(app.on_key(ctrl('c')), vec![Action::Quit]);
    let release = KeyEvent {
        kind: KeyEventKind::Release,
        ..press(KeyCode::Char('z'))
    };
    app.on_key(release);
    assert!(app.input.is_empty());
}
