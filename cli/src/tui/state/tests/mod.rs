//! Tests of the chat window's state, by what drives it, with the
//! helpers they share.

mod care;
mod channel_card;
mod dispatch;
mod keys;
mod posts;
mod synced;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use hearth_protocol::{BlockEntry, BlockTarget, CwLabel, ListId, Post, PublicKey, Verdict};

use super::commands::DEFAULT_HISTORY;
use super::*;

const T0: u64 = 1_750_000_000_000;

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn key(n: u8) -> PublicKey {
    PublicKey([n; 32])
}

fn id(n: u8) -> MessageId {
    MessageId([n; 32])
}

fn record(n: u8, channel: &str, author: u8, body: &str) -> Record {
    Record {
        id: id(n),
        post: Post {
            channel: ch(channel),
            author: key(author),
            created_ms: T0 + u64::from(n) * 1000,
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

fn persona(n: u8) -> Persona {
    Persona {
        name: key(n).name(),
        key: key(n),
    }
}

fn app() -> App {
    let mut app = App::new(Zone::utc(), T0 + 100_000, None);
    app.add_channel(ch("anxiety"), Some(persona(100)), 2);
    app.add_channel(ch("grief"), Some(persona(101)), 0);
    app
}

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn type_line(app: &mut App, text: &str) -> Vec<Action> {
    for c in text.chars() {
        app.on_key(press(KeyCode::Char(c)));
    }
    app.on_key(press(KeyCode::Enter))
}

fn last_notice(app: &App) -> String {
    let items = app.current().map_or(&app.lobby, |c| &c.items);
    items
        .iter()
        .rev()
        .find_map(|i| match i {
            Item::Notice(n) => Some(n.text.clone()),
            Item::Post(_) => None,
        })
        .unwrap_or_default()
}

fn post(app: &mut App, r: Record) {
    app.on_event(NodeEvent::Post(Box::new(r)));
}
