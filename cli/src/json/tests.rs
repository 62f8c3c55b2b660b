//! Tests that the `--json` field names and values stay as documented.

use super::*;
use hearth_protocol::{Keypair, NetworkId, PostDraft};
use serde_json::json;

fn record(verdict: Option<Verdict>) -> PostRecord {
    let channel = ChannelName::parse("grief/es").unwrap();
    let key = Keypair::from_secret_bytes([7; 32]);
    let signed = PostDraft::new(channel, "I'm here too.", 1_700_000_000_000)
        .with_nickname("sam")
        .with_reply_to(MessageId([1; 32]))
        .with_content_warning(ContentWarning::new([CwLabel::Death], Some("loss".into())))
        .sign(&key, &NetworkId::default(), 0)
        .unwrap();
    let hearth_protocol::Message::Post(post) = signed.message else {
        panic!("not a post")
    };
    PostRecord {
        id: signed.id,
        post,
        received_ms: 1_700_000_000_500,
        own: false,
        verdict,
        origin: Origin::Live,
    }
}

#[test]
fn post_lines_have_fixed_field_names() {
    let r = record(None);
    let value = serde_json::to_value(from_record(&r)).unwrap();
    let key = r.post.author.to_string();
    assert_eq!(
        value,
        json!({
            "type": "post",
            "id": r.id.to_string(),
            "channel": "grief/es",
            "author_key": key,
            "author_fingerprint": crate::json::fingerprint_text(&r.post.author),
            "author_name": r.post.author.name(),
            "nickname": "sam",
            "text": "I'm here too.",
            "time_ms": 1_700_000_000_000u64,
            "received_ms": 1_700_000_000_500u64,
            "expires_ms": null,
            "content_warning": {"labels": ["death"], "text": "loss"},
            "reply_to": MessageId([1; 32]).to_string(),
            "own": false,
            "origin": "live",
            "bot": false,
        })
    );
}

#[test]
fn a_post_with_the_automated_label_is_a_bot_post() {
    let mut r = record(None);
    r.post.content_warning = Some(ContentWarning::automated());
    let value = serde_json::to_value(from_record(&r)).unwrap();
    assert_eq!(value["bot"], true);
    assert_eq!(value["content_warning"]["labels"], json!(["automated"]));
}

#[test]
fn post_lines_say_whether_they_came_live_or_from_sync_and_history_lines_do_not() {
    let mut r = record(None);
    r.origin = Origin::Sync;
    let value = serde_json::to_value(from_record(&r)).unwrap();
    assert_eq!(value["origin"], "sync");
    // Read back from the store (`history`): no origin field at all.
    r.origin = Origin::Stored;
    let value = serde_json::to_value(from_record(&r)).unwrap();
    assert!(value.get("origin").is_none(), "{value}");
    // Lines without it (older hearth) still parse.
    let JsonEvent::Post(post) = from_record(&r) else {
        panic!("a post line")
    };
    let line = serde_json::to_string(&JsonEvent::Post(post.clone())).unwrap();
    assert_eq!(
        serde_json::from_str::<JsonEvent>(&line).unwrap(),
        JsonEvent::Post(post)
    );
}

#[test]
fn hidden_posts_say_why_and_never_carry_the_text() {
    let verdict = Verdict {
        list: ListId::Local,
        entry: 0,
        target: BlockTarget::Keyword("here".into()),
        reason: "testing".into(),
    };
    let r = record(Some(verdict));
    let line = serde_json::to_string(&from_record(&r)).unwrap();
    assert!(!line.contains("here too"), "{line}");
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["type"], "hidden");
    assert_eq!(value["list"], "local");
    assert_eq!(value["moderator"], serde_json::Value::Null);
    assert_eq!(value["rule"], "keyword");
    assert_eq!(value["reason"], "testing");
    assert_eq!(value["channel"], "grief/es");
}

#[test]
fn other_events_have_fixed_field_names() {
    let channel = ChannelName::parse("anxiety").unwrap();
    let peer = libp2p::PeerId::random();
    let address: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}")
        .parse()
        .unwrap();
    let persona = PersonaInfo {
        channel: channel.clone(),
        key: PublicKey([2; 32]),
        name: PublicKey([2; 32]).name(),
        created_ms: 5,
    };
    let cases = [
        (
            Event::Listening {
                address: address.clone(),
            },
            json!({"type": "listening", "address": address.to_string(), "peer_id": peer.to_string()}),
        ),
        (
            Event::Joined {
                channel: channel.clone(),
                persona: persona.clone(),
            },
            json!({"type": "joined", "channel": "anxiety", "persona_key": "02".repeat(32),
                   "persona_name": persona.name}),
        ),
        (
            Event::Sent {
                id: MessageId([3; 32]),
                channel: channel.clone(),
                peers: 2,
            },
            json!({"type": "sent", "id": "03".repeat(32), "channel": "anxiety", "peers": 2}),
        ),
        (
            Event::PeerConnected {
                peer,
                address: address.clone(),
            },
            json!({"type": "peer", "state": "connected", "peer_id": peer.to_string(),
                   "address": address.to_string(), "score": null}),
        ),
        (
            Event::PeerDisconnected { peer },
            json!({"type": "peer", "state": "disconnected", "peer_id": peer.to_string(),
                   "address": null, "score": null}),
        ),
        (
            Event::ChannelPeers {
                channel: channel.clone(),
                peers: 4,
            },
            json!({"type": "channel_peers", "channel": "anxiety", "peers": 4}),
        ),
        (
            Event::Refused {
                channel: Some(channel.clone()),
                reason: "bad signature".into(),
                count: 12,
            },
            json!({"type": "refused", "channel": "anxiety", "reason": "bad signature",
                   "count": 12}),
        ),
        (
            Event::Paced {
                channel: channel.clone(),
                queued: 3,
                next_in_ms: 4_200,
            },
            json!({"type": "paced", "channel": "anxiety", "queued": 3, "next_in_ms": 4200}),
        ),
        (
            Event::Backlog {
                channel: channel.clone(),
                posts: 3,
            },
            json!({"type": "backlog", "channel": "anxiety", "posts": 3}),
        ),
        (
            Event::BacklogSent {
                channel: channel.clone(),
                posts: 3,
                peers: 1,
            },
            json!({"type": "backlog_sent", "channel": "anxiety", "posts": 3, "peers": 1}),
        ),
        (
            Event::ShutDown { pending_posts: 2 },
            json!({"type": "stopped", "pending_posts": 2}),
        ),
        (
            Event::Lagged { missed: 3 },
            json!({"type": "error", "message": "output fell behind and missed 3 events"}),
        ),
    ];
    for (event, expected) in cases {
        let line = from_event(&event).unwrap();
        assert_eq!(serde_json::to_value(&line).unwrap(), expected, "{event:?}");
        let text = serde_json::to_string(&line).unwrap();
        assert!(!text.contains('\n'));
        assert_eq!(serde_json::from_str::<JsonEvent>(&text).unwrap(), line);
    }
    // Not a node event: the end of standard input in headless mode.
    let end = JsonEvent::InputEnd {
        lines: 12,
        reason: "signal".into(),
    };
    assert_eq!(
        serde_json::to_value(&end).unwrap(),
        json!({"type": "input_end", "lines": 12, "reason": "signal"})
    );
}

#[test]
fn block_entries_round_trip_and_bad_ones_are_explained() {
    let entries = [
        BlockEntry::new(BlockTarget::Persona(PublicKey([9; 32])), "spam"),
        BlockEntry::new(BlockTarget::Keyword("buy now".into()), "")
            .in_channel(ChannelName::parse("anxiety").unwrap()),
        BlockEntry::new(BlockTarget::Regex("^free .*$".into()), ""),
        BlockEntry::new(BlockTarget::Channel(ChannelName::parse("x/y").unwrap()), ""),
        BlockEntry::new(BlockTarget::Post(MessageId([4; 32])), ""),
    ];
    for entry in entries {
        let json = block_entry(&entry);
        assert_eq!(json.to_entry().unwrap(), entry);
    }
    let bad = |kind: &str, value: &str| BlockEntryJson {
        kind: kind.into(),
        value: value.into(),
        scope: None,
        reason: String::new(),
    };
    assert!(
        bad("persona", "abc")
            .to_entry()
            .unwrap_err()
            .contains("64 hex digits")
    );
    assert!(
        bad("colour", "x")
            .to_entry()
            .unwrap_err()
            .contains("persona, post")
    );
    assert!(
        bad("regex", "(")
            .to_entry()
            .unwrap_err()
            .starts_with("invalid regular expression")
    );
    assert!(bad("keyword", &"k".repeat(101)).to_entry().is_err());
    assert!(
        bad("channel", "A B")
            .to_entry()
            .unwrap_err()
            .contains("a-z")
    );
}

#[test]
fn report_lines_have_fixed_field_names() {
    let reporter = hearth_protocol::PublicKey([9; 32]);
    let record = hearth_node::ReportRecord {
        id: MessageId([1; 32]),
        channel: ChannelName::parse("grief").unwrap(),
        created_ms: 1_700_000_000_000,
        received_ms: 1_700_000_000_100,
        post: MessageId([2; 32]),
        reason: "spam".into(),
        reporter,
    };
    let line = from_event(&Event::Report(Box::new(record))).unwrap();
    assert_eq!(
        serde_json::to_value(&line).unwrap(),
        json!({
            "type": "report",
            "id": MessageId([1; 32]).to_string(),
            "channel": "grief",
            "post": MessageId([2; 32]).to_string(),
            "reason": "spam",
            "reporter_key": reporter.to_string(),
            "reporter_name": reporter.name(),
            "created_ms": 1_700_000_000_000u64,
            "received_ms": 1_700_000_000_100u64,
        })
    );
}
