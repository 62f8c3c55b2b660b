//! `hearth moderator reports`: what a moderator's store holds is listed,
//! per channel or all, as text and as JSON, with no node running.

// Each test file is its own crate and uses a different part of the shared
// support: what this one does not use is not dead code.
#[allow(dead_code)]
mod support;

use std::process::{Command, Output};

use hearth_node::ReportRecord;
use hearth_node::store::Store;
use hearth_protocol::{ChannelName, MessageId, PublicKey};
use serde_json::Value;

use support::{assert_no_panic, hearth, unique_network};

fn run(command: &mut Command) -> Output {
    command.output().expect("hearth runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_moderator_lists_the_reports_sent_to_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let network = unique_network();
    let hearth_in = |args: &[&str]| {
        let mut command = hearth();
        command
            .arg("--data-dir")
            .arg(dir.path())
            .args(["--network", &network])
            .args(args);
        let output = run(&mut command);
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        assert_no_panic("moderator reports", &stderr);
        text(&output.stdout)
    };
    // The store, with a moderator key, as `moderator key` leaves it.
    hearth_in(&["moderator", "key"]);
    let none = hearth_in(&["moderator", "reports"]);
    assert!(none.contains("no reports"), "{none}");

    // Reports as the node keeps them when they arrive (tests/tests/reports.rs
    // covers the arrival over the network).
    {
        let store = Store::open(&dir.path().join("store"), 1 << 20).expect("the store opens");
        for (n, channel, reason) in [(1u8, "grief", "threatens someone"), (2, "anxiety", "spam")] {
            let record = ReportRecord {
                id: MessageId([n; 32]),
                channel: ChannelName::parse(channel).unwrap(),
                created_ms: 1_764_600_000_000 + u64::from(n),
                received_ms: 1_764_600_000_100 + u64::from(n),
                post: MessageId([0x40 + n; 32]),
                reason: reason.to_owned(),
                reporter: PublicKey([0x70 + n; 32]),
            };
            assert!(store.put_report(&record).unwrap());
        }
        store.flush().unwrap();
    }

    let all: Vec<Value> = hearth_in(&["moderator", "reports", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0]["channel"], "grief");
    assert_eq!(all[0]["reason"], "threatens someone");
    assert_eq!(all[0]["post"], MessageId([0x41; 32]).to_string());
    assert_eq!(all[0]["reporter_key"], PublicKey([0x71; 32]).to_string());
    assert_eq!(all[0]["reporter_name"], PublicKey([0x71; 32]).name());
    assert_eq!(all[1]["channel"], "anxiety");

    let grief = hearth_in(&["moderator", "reports", "grief"]);
    assert!(grief.contains("#grief"), "{grief}");
    assert!(grief.contains("threatens someone"), "{grief}");
    assert!(!grief.contains("spam"), "{grief}");
    assert!(grief.contains(&PublicKey([0x71; 32]).name()), "{grief}");
}
