//! Tests of the event printer and of the plain-text form of events.

use super::*;
use crate::json::{ContentWarningJson, PostJson};

#[test]
fn plain_text_shows_posts_readably() {
    let post = PostJson {
        id: "ab".repeat(32),
        channel: "anxiety".into(),
        author_key: "cd".repeat(32),
        author_name: "calm-otter-3f2a".into(),
        author_fingerprint: "◆ teal".into(),
        nickname: Some("sam".into()),
        text: "first\nsecond".into(),
        time_ms: 1_700_000_000_000,
        received_ms: 1_700_000_000_000,
        expires_ms: None,
        content_warning: Some(ContentWarningJson {
            labels: vec!["death".into()],
            text: Some("loss".into()),
        }),
        reply_to: Some("ef".repeat(32)),
        own: false,
        origin: Some("live".into()),
        bot: false,
    };
    fn utc(ms: u64) -> String {
        time::date_time_in(ms, &jiff::tz::TimeZone::UTC)
    }
    assert_eq!(
        render(&JsonEvent::Post(post), utc).unwrap(),
        "[2023-11-14 22:13 UTC] #anxiety calm-otter-3f2a (sam): [reply to efefefef] \
         [content warning: death, loss] first\n    second"
    );
    assert!(
        plain(&JsonEvent::ChannelPeers {
            channel: "a".into(),
            peers: 1
        })
        .is_none()
    );
}

#[test]
fn plain_text_says_where_reading_input_ended() {
    let end = |lines, reason: &str| {
        plain(&JsonEvent::InputEnd {
            lines,
            reason: reason.into(),
        })
        .unwrap()
    };
    assert_eq!(end(1, "end"), "* end of input: 1 line read");
    assert_eq!(
        end(12, "signal"),
        "* stopped reading input: 12 lines read, each posted before hearth exits"
    );
}

#[test]
fn the_printer_prints_each_address_and_join_once() {
    let mut printer = Printer::new(false, true);
    let listening = JsonEvent::Listening {
        address: "/ip4/127.0.0.1/tcp/1/p2p/x".into(),
        peer_id: "x".into(),
    };
    printer.print(&listening).unwrap();
    assert_eq!(printer.listening.len(), 1);
    printer.print(&listening).unwrap();
    assert_eq!(printer.listening.len(), 1);
    let joined = JsonEvent::Joined {
        channel: "a".into(),
        persona_key: "k".into(),
        persona_name: "n".into(),
    };
    printer.print(&joined).unwrap();
    printer
        .print(&JsonEvent::Left {
            channel: "a".into(),
        })
        .unwrap();
    assert!(printer.joined.is_empty());
    let peer = |state: &str| JsonEvent::Peer {
        state: state.into(),
        peer_id: "p".into(),
        address: None,
        score: None,
    };
    printer.print(&peer("connected")).unwrap();
    printer.print(&peer("connected")).unwrap();
    assert_eq!(printer.connected.len(), 1);
    printer.print(&peer("disconnected")).unwrap();
    assert!(printer.connected.is_empty());
}
