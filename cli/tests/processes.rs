//! Integration tests of the real `hearth` binary, run as separate processes
//! the way people and scripts run it: usage errors and exit codes, the
//! crisis card shown with no node and no network (text and JSON), three
//! nodes finding each other through a `hearth run --dht-server` bootstrap,
//! `hearth block add` reaching a running node through its control socket,
//! a clean shutdown on SIGTERM that loses no post, not even one read
//! from standard input and still waiting to be posted, the same on SIGTERM
//! and SIGHUP with posts still being stamped (kept for the next start and
//! sent then), `hearth wipe`, damaged or foreign stores refused with
//! what to do, and crisis line updates from a trusted key that wait for
//! `hearth crisis accept`.
//!
//! Every process gets its own temporary data directory, a network id no
//! other test uses (`test-<random>`), no mDNS and a loopback listen address
//! with an OS port, so parallel tests never meet. Standard output is read
//! on a thread, and the tests wait for specific JSON events with a
//! deadline, never with a sleep. A process still running when its test
//! ends (or fails) is killed by its guard.

// Each test file is its own crate and uses a different part of the shared
// support: what this one does not use is not dead code.
#[allow(dead_code)]
mod support;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;

use nix::sys::signal::{Signal, kill};
use serde_json::Value;
use tempfile::TempDir;

use support::{CHANNEL, DEADLINE, Process, assert_no_panic, hearth, pid, unique_network};

/// Lines written at once in the SIGTERM test (they fit in one PIPE_BUF).
const BURST: usize = 300;

/// Runs a short command to completion, killing it if it takes longer than
/// the deadline.
fn run(command: &mut Command) -> Output {
    let child = command.spawn().expect("hearth starts");
    let pid = pid(&child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(output) => output.expect("hearth's output is readable"),
        Err(_) => {
            let _ = kill(pid, Signal::SIGKILL);
            panic!("{command:?} did not finish within {DEADLINE:?}");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON lines of a command's standard output.
fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

/// One data directory and network: the options every command on it takes.
struct Place {
    dir: TempDir,
    network: String,
}

impl Place {
    fn new(network: &str) -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            network: network.to_owned(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `hearth --data-dir <dir> --network <network> ARGS…`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = hearth();
        command
            .arg("--data-dir")
            .arg(self.path())
            .args(["--network", &self.network])
            .args(args);
        command
    }

    /// `hearth history support --json`: the posts and hidden posts it
    /// lists, after checking it succeeded.
    fn history(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["history", CHANNEL, "--json"];
        args.extend_from_slice(extra);
        let output = run(&mut self.command(&args));
        let stderr = text(&output.stderr);
        assert!(
            output.status.success(),
            "history failed ({}): {stderr}",
            output.status
        );
        assert_no_panic("history", &stderr);
        json_lines(&output)
    }

    fn socket(&self) -> PathBuf {
        self.path().join("control.sock")
    }
}

/// What only these tests ask of a running `hearth chat --json`.
impl Process {
    /// `hearth chat support --json …` on `place`, listening on loopback
    /// and allowed to announce its loopback address once confirmed.
    fn chat(name: &'static str, place: &Place, bootstrap: Option<&str>) -> Self {
        let mut args = vec![
            "chat",
            CHANNEL,
            "--json",
            "--no-mdns",
            "--announce-private",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ];
        if let Some(address) = bootstrap {
            args.extend(["--bootstrap", address]);
        }
        Self::start(name, place.command(&args))
    }

    /// The full address (with `/p2p/`) of the `listening` event.
    fn address(&mut self) -> String {
        let event = self.wait_type("listening");
        let address = event["address"].as_str().expect("address is a string");
        assert!(
            address.starts_with("/ip4/127.0.0.1/tcp/") && address.contains("/p2p/"),
            "{}: not a full loopback address: {address}",
            self.name
        );
        assert!(address.ends_with(event["peer_id"].as_str().expect("peer id")));
        address.to_owned()
    }

    /// The persona of the `joined` event: (key, name).
    fn persona(&mut self) -> (String, String) {
        let joined = self.wait_for("joined event", |e| {
            e["type"] == "joined" && e["channel"] == CHANNEL
        });
        let key = joined["persona_key"].as_str().expect("key").to_owned();
        let name = joined["persona_name"].as_str().expect("name").to_owned();
        assert_eq!(key.len(), 64, "{joined}");
        (key, name)
    }

    fn wait_channel_peers(&mut self) {
        self.wait_for("peer in the channel", |e| {
            e["type"] == "channel_peers"
                && e["channel"] == CHANNEL
                && e["peers"].as_u64().is_some_and(|n| n >= 1)
        });
    }

    /// Waits for the `post` event with this text.
    fn wait_post(&mut self, text: &str) -> Value {
        self.wait_for(&format!("post {text:?}"), |e| {
            e["type"] == "post" && e["text"] == text
        })
    }

    /// Writes lines to standard input in one write of at most `PIPE_BUF`
    /// (4096) bytes, which the pipe takes all at once: a reader gets all the
    /// lines or none.
    fn say_at_once(&mut self, lines: &[String]) {
        let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
        assert!(
            text.len() <= 4096,
            "{} bytes is more than PIPE_BUF",
            text.len()
        );
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{}: cannot write to stdin: {e}", self.name));
    }
}

/// Posts of `history --json` whose text is `text`.
fn count_text(posts: &[Value], text: &str) -> usize {
    posts
        .iter()
        .filter(|p| p["type"] == "post" && p["text"] == text)
        .count()
}

/// Two chat nodes on `network` in the channel, the second dialling the
/// first, both seeing the other in the channel.
fn connected_pair(network: &str) -> (Place, Process, Place, Process) {
    let place2 = Place::new(network);
    let place3 = Place::new(network);
    let mut p2 = Process::chat("P2", &place2, None);
    let address = p2.address();
    let mut p3 = Process::chat("P3", &place3, Some(&address));
    p2.wait_channel_peers();
    p3.wait_channel_peers();
    (place2, p2, place3, p3)
}

#[test]
fn help_and_usage_errors() {
    let place = Place::new(&unique_network());

    let help = run(hearth().arg("--help"));
    assert!(help.status.success(), "--help: {}", help.status);
    let out = text(&help.stdout);
    assert!(out.contains("chat"), "help does not mention chat:\n{out}");
    assert_no_panic("--help", &text(&help.stderr));

    // Each case: the arguments, and what the one error line must say.
    let config = place.path().join("broken.toml");
    std::fs::write(&config, "network = \"unterminated\n").expect("write");
    let config = config.to_str().expect("a UTF-8 path");
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["chat", "Bad Name!"],
            &["Bad Name!", "a-z", "0-9", "'-'", "32 characters"],
        ),
        (
            &["chat", "anxiety", "--listen", "not-an-addr"],
            &["not-an-addr", "--listen", "multiaddress"],
        ),
        (
            &["--config", config, "chat", "anxiety"],
            &["invalid config file", config, "line 1"],
        ),
    ];
    for (args, wanted) in cases {
        let output = run(&mut place.command(args));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_no_panic(&format!("{args:?}"), &stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line: {stderr}");
        assert!(lines[0].starts_with("hearth: "), "{args:?}: {stderr}");
        for part in wanted {
            assert!(lines[0].contains(part), "{args:?}: no {part:?} in {stderr}");
        }
        assert!(output.stdout.is_empty(), "{args:?}: printed on stdout");
    }
    // No node ran, so nothing was stored anywhere.
    assert!(!place.path().join("store").exists());
}

#[test]
fn crisis_shows_the_card_offline_as_text_and_json() {
    let place = Place::new(&unique_network());
    let crisis = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = place.command(args);
        for name in ["LC_ALL", "LC_MESSAGES", "LANG", "HEARTH_COUNTRY"] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let output = run(&mut command);
        let stderr = text(&output.stderr);
        assert_no_panic(&format!("{args:?}"), &stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        (text(&output.stdout), stderr, output)
    };

    let (out, err, _) = crisis(&["crisis", "--country", "GB"], &[("LANG", "fr_FR.UTF-8")]);
    assert!(err.is_empty(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Crisis lines for United Kingdom (GB)", "{out}");
    assert_eq!(lines[1], "In danger right now? Call 999.", "{out}");
    for part in [
        "Samaritans: call 116 123",
        "Shout: text SHOUT to 85258",
        "Befrienders Worldwide https://befrienders.org",
        "Find A Helpline https://findahelpline.com",
        "Country GB is set by --country. To change it:",
    ] {
        assert!(out.contains(part), "{part:?} not in:\n{out}");
    }

    // The locale when nothing is set; a variable beats it.
    let (out, _, _) = crisis(&["crisis"], &[("LANG", "en_NZ.UTF-8")]);
    assert!(
        out.contains("New Zealand (NZ)") && out.contains("call 1737"),
        "{out}"
    );
    assert!(out.contains("from your locale (LANG=en_NZ.UTF-8)"), "{out}");
    let (out, _, _) = crisis(
        &["crisis"],
        &[("LANG", "en_NZ.UTF-8"), ("HEARTH_COUNTRY", "au")],
    );
    assert!(
        out.contains("Australia (AU)") && out.contains("Call 000."),
        "{out}"
    );

    let (out, _, output) = crisis(&["crisis", "--country", "GB", "--json"], &[]);
    let card = json_lines(&output);
    assert_eq!(card.len(), 1, "{out}");
    let card = &card[0];
    assert_eq!(card["country"], "GB");
    assert_eq!(card["country_from"], "--country");
    assert_eq!(card["emergency"][0]["number"], "999");
    assert_eq!(card["lines"][0]["service"], "Samaritans");
    assert_eq!(card["lines"][0]["reach"][0]["to"], "116 123");
    assert_eq!(card["lines"][0]["checked"], "2026-12-01");
    assert!(
        card["lines"][0]["source"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(card["international"].as_array().unwrap().len(), 2);
    assert_eq!(card["warnings"], serde_json::json!([]));

    // No country anywhere: still the emergency advice and the fallback.
    let (out, _, _) = crisis(&["crisis"], &[("LANG", "C.UTF-8")]);
    assert!(out.contains("Call your local emergency number."), "{out}");
    assert!(out.contains("Befrienders Worldwide"), "{out}");

    // Broken settings and a broken directory file warn; the card shows.
    std::fs::write(
        place.path().join("crisis-lines.toml"),
        "[[line]]\ncountry = 1\n",
    )
    .expect("write");
    let (out, err, output) = crisis(
        &["crisis", "--country", "Narnia", "--json"],
        &[("LANG", "de_DE.UTF-8")],
    );
    let card = &json_lines(&output)[0];
    assert_eq!(card["country"], "DE", "{out}");
    let warnings = card["warnings"].to_string();
    assert!(
        warnings.contains("invalid country \\\"Narnia\\\" in --country"),
        "{warnings}"
    );
    assert!(warnings.contains("crisis-lines.toml, line 2"), "{warnings}");
    assert!(err.is_empty(), "{err}");
    let (out, err, _) = crisis(&["crisis", "--country", "DE"], &[]);
    assert!(
        out.contains("TelefonSeelsorge: call 0800 111 0 111"),
        "{out}"
    );
    assert!(
        err.starts_with("hearth: warning: invalid crisis line directory"),
        "{err}"
    );
    assert!(err.contains("crisis-lines.toml, line 2"), "{err}");

    // No node ran: nothing was stored.
    assert!(!place.path().join("store").exists());
}

#[test]
fn settings_come_from_variables_and_flags_and_times_name_their_zone() {
    let place = Place::new(&unique_network());
    let show = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = place.command(args);
        command.envs(env.iter().copied());
        let output = run(&mut command);
        let stderr = text(&output.stderr);
        assert_no_panic(&format!("{args:?}"), &stderr);
        (output.status.code(), text(&output.stdout), stderr)
    };

    let env = [
        ("HEARTH_NICK", "sam"),
        ("HEARTH_CHANNELS", "anxiety, grief/es"),
        ("HEARTH_EPHEMERAL", "on"),
    ];
    let (code, out, err) = show(&["config", "show"], &env);
    assert_eq!(code, Some(0), "{err}");
    for line in [
        "nick = \"sam\"  # from HEARTH_NICK",
        "channels = [\"anxiety\", \"grief/es\"]  # from HEARTH_CHANNELS",
        "ephemeral = true  # from HEARTH_EPHEMERAL",
        "mdns = true  # default",
        "network = ",
    ] {
        assert!(out.contains(line), "no {line:?} in:\n{out}");
    }
    let (_, out, _) = show(
        &["config", "show", "--nick", "flagged", "--ephemeral=no"],
        &env,
    );
    assert!(out.contains("nick = \"flagged\"  # from --nick"), "{out}");
    assert!(
        out.contains("ephemeral = false  # from --ephemeral"),
        "{out}"
    );

    let (code, out, err) = show(&["status"], &[("HEARTH_RETENTION_DAYS", "soon")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err.trim_end(),
        "hearth: invalid HEARTH_RETENTION_DAYS=\"soon\": use a whole number like 30"
    );

    // A persona's creation time, shown in the zone TZ names, or in UTC
    // when TZ cannot be read.
    let (code, _, err) = show(&["persona", "show", CHANNEL], &[]);
    assert_eq!(code, Some(0), "{err}");
    for (tz, zone) in [("<+05>-5", " +05 "), ("/dev/zero", " UTC "), ("", " UTC ")] {
        let (code, out, err) = show(&["persona", "list"], &[("TZ", tz)]);
        assert_eq!(code, Some(0), "TZ={tz:?}: {err}");
        assert!(out.contains(zone), "TZ={tz:?}: {out}");
    }
}

#[test]
fn three_processes_find_each_other_through_a_dht_bootstrap() {
    let network = unique_network();
    let place1 = Place::new(&network);
    let place2 = Place::new(&network);
    let place3 = Place::new(&network);

    // P1 serves the DHT and joins no channel: P2 and P3 can only find each
    // other by looking the channel up through it. As a DHT server it also
    // answers AutoNAT probes, which confirm P2's and P3's loopback
    // addresses; on loopback nothing else is reachable, so all three may
    // announce private addresses.
    let mut p1 = Process::start(
        "P1",
        place1.command(&[
            "run",
            "--json",
            "--dht-server",
            "--announce-private",
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ]),
    );
    let bootstrap = p1.address();
    // A node that joins before its bootstrap connection is up announces
    // the channel to nobody and looks again only 10 s later (the node's
    // LOOKUP_EMPTY), so this test takes either well under a second or
    // about 11 s.
    let mut p2 = Process::chat("P2", &place2, Some(&bootstrap));
    let mut p3 = Process::chat("P3", &place3, Some(&bootstrap));
    let (key2, name2) = p2.persona();
    let (key3, name3) = p3.persona();
    assert_ne!(key2, key3);
    p2.wait_channel_peers();
    p3.wait_channel_peers();

    p2.say("hello from P2");
    let own = p2.wait_post("hello from P2");
    assert_eq!(own["own"], true, "{own}");
    let got = p3.wait_post("hello from P2");
    assert_eq!(got["author_name"], name2.as_str(), "{got}");
    assert_eq!(got["author_key"], key2.as_str(), "{got}");
    assert_eq!(got["own"], false, "{got}");
    assert_eq!(got["channel"], CHANNEL, "{got}");
    assert_eq!(got["id"], own["id"], "the same post at both ends");

    p3.say("and back from P3");
    let got = p2.wait_post("and back from P3");
    assert_eq!(got["author_name"], name3.as_str(), "{got}");
    assert_eq!(got["author_key"], key3.as_str(), "{got}");

    // P1 relays but joined no channel, so it printed no post.
    assert!(p1.events.iter().all(|e| e["type"] != "post"));

    // SIGINT stops all three cleanly, like SIGTERM.
    for node in [&mut p2, &mut p3, &mut p1] {
        node.stop(Signal::SIGINT);
    }
}

#[test]
fn block_add_reaches_the_running_node_through_its_socket() {
    let network = unique_network();
    let (_place2, mut p2, place3, mut p3) = connected_pair(&network);
    let (key2, _) = p2.persona();

    p2.say("before the block");
    p3.wait_post("before the block");
    p3.say("P3 keeps talking");
    p3.wait_post("P3 keeps talking");
    assert!(place3.socket().exists(), "P3 serves its control socket");

    // P3's store is open in P3; the command must go through the socket.
    let output = run(&mut place3.command(&[
        "block", "add", "persona", &key2, "--reason", "spam", "--json",
    ]));
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "block add failed: {stderr}");
    // Not a word on standard error: no "database locked", no waiting.
    assert!(stderr.trim().is_empty(), "block add complained: {stderr}");
    assert_eq!(json_lines(&output), [serde_json::json!({"added": true})]);

    p2.say("after the block");
    let sent = p2.wait_post("after the block");
    let hidden = p3.wait_for("hidden event", |e| {
        e["type"] == "hidden" && e["id"] == sent["id"]
    });
    assert_eq!(hidden["list"], "local", "{hidden}");
    assert_eq!(hidden["rule"], "persona", "{hidden}");
    assert_eq!(hidden["reason"], "spam", "{hidden}");
    assert_eq!(hidden["author_key"], key2.as_str(), "{hidden}");
    assert!(hidden.get("text").is_none(), "a hidden post has no text");
    assert_eq!(count_text(&p3.events, "after the block"), 0);

    // History, asked through the socket while P3 runs: the block applies
    // to stored posts too, so neither of P2's posts is listed.
    let posts = place3.history(&[]);
    assert_eq!(count_text(&posts, "P3 keeps talking"), 1, "{posts:?}");
    assert!(
        posts.iter().all(|p| p["author_key"] != key2.as_str()),
        "history shows a blocked persona's post: {posts:?}"
    );
    // With --hidden they are listed as hidden, without their text.
    let all = place3.history(&["--hidden"]);
    let hidden: Vec<&Value> = all.iter().filter(|p| p["type"] == "hidden").collect();
    assert_eq!(hidden.len(), 2, "{all:?}");
    assert!(hidden.iter().any(|h| h["id"] == sent["id"]), "{all:?}");
    assert!(hidden.iter().all(|h| h.get("text").is_none()), "{all:?}");

    assert!(place3.socket().exists(), "P3 still serves its socket");
    assert_no_panic("P3", &p3.stderr());
}

#[test]
fn a_moderator_key_is_kept_and_follows_are_listed_and_undone() {
    let place = Place::new(&unique_network());
    let json = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--json");
        let output = run(&mut place.command(&args));
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        assert_no_panic("moderator", &stderr);
        json_lines(&output)
    };
    let first = json(&["moderator", "key"]);
    let key = first[0]["key"].as_str().expect("a key").to_owned();
    assert_eq!(key.len(), 64, "{first:?}");
    // The same key at the next start: followers keep their moderator.
    assert_eq!(json(&["moderator", "key"]), first);

    let other = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    assert_eq!(
        json(&["moderator", "follow", other, "--channel", CHANNEL]),
        [serde_json::json!({"followed": true})]
    );
    assert_eq!(
        json(&["moderator", "follow", other, "--channel", CHANNEL]),
        [serde_json::json!({"followed": false})]
    );
    let follows = json(&["moderator", "following"]);
    assert_eq!(follows.len(), 1, "{follows:?}");
    assert_eq!(follows[0]["key"], other);
    assert_eq!(follows[0]["channel"], CHANNEL);
    let listed = text(&run(&mut place.command(&["moderator", "following"])).stdout);
    assert!(listed.contains(&format!("#{CHANNEL}")), "{listed}");
    assert_eq!(
        json(&["moderator", "unfollow", other]),
        [serde_json::json!({"unfollowed": true})]
    );
    assert!(json(&["moderator", "following"]).is_empty());

    let bad = run(&mut place.command(&["moderator", "follow", "not-a-key"]));
    assert_eq!(bad.status.code(), Some(2), "a bad key is a usage error");
    assert!(text(&bad.stderr).contains("not a moderator key"));
}

#[test]
fn a_channel_card_is_published_with_the_moderator_key_and_shown_back() {
    let place = Place::new(&unique_network());
    let json = |args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--json");
        let output = run(&mut place.command(&args));
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        assert_no_panic("moderator card", &stderr);
        json_lines(&output)
    };
    let key = json(&["moderator", "key"])[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        json(&["moderator", "card", CHANNEL]),
        [serde_json::json!({"card": null})]
    );
    let other = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    let published = json(&[
        "moderator",
        "card",
        CHANNEL,
        "--age",
        "teen",
        "--rules",
        "Be kind.\\nNo methods.",
        "--keep-days",
        "14",
        "--moderator",
        other,
    ]);
    let card = &published[0]["card"];
    assert_eq!(card["founder_key"], key.as_str());
    assert_eq!(card["age"], "teen");
    assert_eq!(card["trust"], "own");
    assert_eq!(card["retention_days"], 14);
    assert_eq!(card["rules"], "Be kind.\nNo methods.");
    assert_eq!(card["moderators"], serde_json::json!([other]));
    assert_eq!(
        published[0]["peers"], 0,
        "no node runs: nobody to send it to yet"
    );
    // Kept in the store: shown back, and in words without --json.
    assert_eq!(json(&["moderator", "card", CHANNEL])[0]["card"], *card);
    let shown = text(&run(&mut place.command(&["moderator", "card", CHANNEL])).stdout);
    assert!(shown.contains("teen channel"), "{shown}");
    assert!(shown.contains("  No methods."), "{shown}");

    for bad in [
        vec!["moderator", "card", CHANNEL, "--age", "kids"],
        vec![
            "moderator",
            "card",
            CHANNEL,
            "--age",
            "adult",
            "--keep-days",
            "0",
        ],
        vec![
            "moderator",
            "card",
            CHANNEL,
            "--age",
            "adult",
            "--moderator",
            "nope",
        ],
        vec!["moderator", "card", CHANNEL, "--rules", "no age given"],
    ] {
        let out = run(&mut place.command(&bad));
        assert_eq!(out.status.code(), Some(2), "{bad:?} is a usage error");
    }
}

/// A crisis line file with two lines for GB, as a publisher sends it.
const UPDATED_LINES: &str = r#"[[line]]
country = "GB"
service = "Samaritans"
reach = [{ how = "call", to = "116 123" }]
hours = "24 hours, every day"
languages = ["en", "cy"]
source = "https://www.samaritans.org/how-we-can-help/contact-samaritan/"
checked = "2026-12-01"

[[line]]
country = "GB"
service = "Shout"
reach = [{ how = "text", to = "85258", message = "SHOUT" }]
hours = "24 hours, every day"
languages = ["en"]
source = "https://giveusashout.org/get-help/"
checked = "2026-12-01"
"#;

/// The reader's own crisis line file before the update.
const OWN_LINES: &str = r#"[[line]]
country = "GB"
service = "Samaritans"
reach = [{ how = "call", to = "116 123" }]
hours = "24 hours, every day"
languages = ["en"]
source = "https://www.samaritans.org/how-we-can-help/contact-samaritan/"
checked = "2026-12-01"
"#;

#[test]
fn crisis_updates_from_a_trusted_key_wait_and_apply_only_when_accepted() {
    let network = unique_network();
    let publisher = Place::new(&network);
    let reader = Place::new(&network);
    let json = |place: &Place, args: &[&str]| {
        let mut args = args.to_vec();
        args.push("--json");
        let output = run(&mut place.command(&args));
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        assert_no_panic("crisis", &stderr);
        json_lines(&output)
    };
    // Off by default: nothing trusted, nothing waiting, no store made.
    assert!(json(&reader, &["crisis", "updates"]).is_empty());
    assert!(json(&reader, &["crisis", "trusted"]).is_empty());
    assert!(!reader.path().join("store").exists());

    let key = json(&publisher, &["moderator", "key"])[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = publisher.path().join("lines.toml");
    std::fs::write(&file, UPDATED_LINES).unwrap();
    let published = json(
        &publisher,
        &[
            "crisis",
            "publish",
            file.to_str().unwrap(),
            "--note",
            "Shout added",
        ],
    );
    assert_eq!(published[0]["sequence"], 1, "{published:?}");
    assert_eq!(published[0]["peers"], 0, "no node runs yet");

    std::fs::write(reader.path().join("crisis-lines.toml"), OWN_LINES).unwrap();
    assert_eq!(
        json(&reader, &["crisis", "trust", &key]),
        [serde_json::json!({"trusted": true})]
    );
    assert_eq!(
        json(&reader, &["crisis", "trusted"])[0]["key"],
        key.as_str()
    );

    // The reader's node meets the publisher's and asks it for updates; the
    // chat says one waits.
    let mut p = Process::chat("publisher", &publisher, None);
    let address = p.address();
    let mut r = Process::chat("reader", &reader, Some(&address));
    let waiting = r.wait_type("crisis_update");
    assert_eq!(waiting["publisher_key"], key.as_str(), "{waiting}");
    assert_eq!(waiting["sequence"], 1, "{waiting}");
    assert_eq!(waiting["note"], "Shout added", "{waiting}");
    let id = waiting["id"].as_str().unwrap().to_owned();

    // Listed with what it would change; the reader's file is untouched.
    let updates = json(&reader, &["crisis", "updates"]);
    assert_eq!(updates.len(), 1, "{updates:?}");
    let u = &updates[0];
    assert_eq!(u["id"], id.as_str());
    assert_eq!(u["publisher_key"], key.as_str());
    assert_eq!(u["accepted"], false);
    assert_eq!(u["error"], serde_json::Value::Null);
    let added = u["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{u}");
    assert!(
        added[0]
            .as_str()
            .unwrap()
            .starts_with("GB Shout: text SHOUT to 85258"),
        "{u}"
    );
    assert_eq!(u["removed"], serde_json::json!([]), "{u}");
    let changed = u["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{u}");
    assert!(changed[0].as_str().unwrap().contains("· en ("), "{u}");
    assert!(changed[0].as_str().unwrap().contains("· en, cy ("), "{u}");
    assert_eq!(
        std::fs::read_to_string(reader.path().join("crisis-lines.toml")).unwrap(),
        OWN_LINES,
        "nothing applied before accepting"
    );

    // An id nobody sent is a usage error; the right one applies it.
    let wrong = run(&mut reader.command(&["crisis", "accept", "00000000"]));
    assert_eq!(wrong.status.code(), Some(2), "{}", text(&wrong.stderr));
    let accepted = json(&reader, &["crisis", "accept", &id[..8]]);
    assert_eq!(accepted[0]["accepted"], id.as_str(), "{accepted:?}");
    assert_eq!(accepted[0]["sequence"], 1);
    let applied = reader.path().join("crisis-lines.toml");
    assert_eq!(accepted[0]["file"], applied.display().to_string());
    assert_eq!(std::fs::read_to_string(&applied).unwrap(), UPDATED_LINES);
    assert_eq!(
        std::fs::read_to_string(reader.path().join("crisis-lines.toml.bak")).unwrap(),
        OWN_LINES
    );
    assert!(
        json(&reader, &["crisis", "updates"]).is_empty(),
        "no longer waiting"
    );
    let card = json(&reader, &["crisis", "--country", "GB"]);
    let services: Vec<&str> = card[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["service"].as_str())
        .collect();
    assert_eq!(services, ["Samaritans", "Shout"], "{card:?}");
    drop(r);
    drop(p);
}

#[test]
fn sigterm_shuts_down_cleanly_and_loses_nothing() {
    let network = unique_network();
    let (place2, mut p2, place3, mut p3) = connected_pair(&network);

    let from2: Vec<String> = (1..=4).map(|i| format!("P2 line {i}")).collect();
    let from3: Vec<String> = (1..=2).map(|i| format!("P3 line {i}")).collect();
    for line in &from2 {
        p2.say(line);
    }
    for line in &from3 {
        p3.say(line);
    }
    for line in &from2 {
        p3.wait_post(line);
    }
    for line in &from3 {
        p2.wait_post(line);
    }

    // Standard input is still open: the node stops on the signal alone.
    p3.stop(Signal::SIGTERM);
    p2.wait_for("P3 disconnecting", |e| {
        e["type"] == "peer" && e["state"] == "disconnected"
    });

    // Now P2, alone, is given many lines in one write, and SIGTERM as soon
    // as the first is posted: the rest are still waiting to be posted, and
    // none may be lost. A write of at most PIPE_BUF bytes reaches the pipe
    // all at once, so when P2 has read the first line it has read them all.
    // With no peer left, each post is stored and waits.
    let burst: Vec<String> = (1..=BURST).map(|i| format!("burst {i}")).collect();
    p2.say_at_once(&burst);
    p2.wait_post(&burst[0]);
    let posted_before = burst
        .iter()
        .filter(|line| count_text(&p2.events, line) > 0)
        .count();
    p2.stop(Signal::SIGTERM);
    let end = p2.wait_type("input_end");
    assert_eq!(end["reason"], "signal", "{end}");
    // Lines count from the start of input: P2's first lines came first.
    let read = end["lines"].as_u64().and_then(|n| usize::try_from(n).ok());
    assert_eq!(
        read,
        Some(from2.len() + BURST),
        "P2 did not count every line it had read\n{}",
        p2.diagnostics()
    );
    eprintln!(
        "{} of the {BURST} lines were posted after the signal",
        BURST - posted_before
    );
    // Each line was posted and reported stored and waiting before the
    // process exited.
    let waiting: HashSet<&Value> = p2
        .events
        .iter()
        .filter(|e| e["type"] == "sent" && e["peers"] == 0)
        .map(|e| &e["id"])
        .collect();
    for line in &burst {
        let posts: Vec<&Value> = p2
            .events
            .iter()
            .filter(|e| e["type"] == "post" && e["text"] == line.as_str())
            .collect();
        assert_eq!(posts.len(), 1, "{line:?}: {posts:?}");
        assert!(
            waiting.contains(&posts[0]["id"]),
            "{line:?} was not reported stored and waiting\n{}",
            p2.diagnostics()
        );
    }
    let ends = p2
        .events
        .iter()
        .filter(|e| e["type"] == "input_end")
        .count();
    let errors = p2.events.iter().filter(|e| e["type"] == "error").count();
    assert_eq!((ends, errors), (1, 0), "{}", p2.diagnostics());

    for (name, place, expected) in [
        (
            "P2",
            &place2,
            from2.iter().chain(&from3).chain(&burst).collect::<Vec<_>>(),
        ),
        ("P3", &place3, from2.iter().chain(&from3).collect()),
    ] {
        assert!(
            !place.socket().exists(),
            "{name} left its control socket behind"
        );
        // No node runs now: history opens the store itself.
        let posts = place.history(&["--limit", "10000"]);
        for line in &expected {
            assert_eq!(
                count_text(&posts, line),
                1,
                "{name}'s history lacks {line:?}: {posts:?}"
            );
        }
        assert_eq!(posts.len(), expected.len(), "{posts:?}");
    }
}

/// The proof of work the tests with posts in flight ask of their channel:
/// a few tenths of a second a post here, so a post is still being stamped
/// when a signal follows its line.
const SLOW_CHANNEL: &str = "support=20";

/// `hearth chat support --json` on `place` whose channel asks for
/// [`SLOW_CHANNEL`] work.
fn slow_chat(name: &'static str, place: &Place, bootstrap: Option<&str>) -> Process {
    let mut args = vec![
        "chat",
        CHANNEL,
        "--json",
        "--no-mdns",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--channel-difficulty",
        SLOW_CHANNEL,
    ];
    if let Some(address) = bootstrap {
        args.extend(["--bootstrap", address]);
    }
    Process::start(name, place.command(&args))
}

#[test]
fn sigterm_and_sighup_with_posts_in_flight_keep_every_line_for_the_next_start() {
    for signal in [Signal::SIGTERM, Signal::SIGHUP] {
        let network = unique_network();
        let place = Place::new(&network);
        let lines: Vec<String> = (1..=3).map(|i| format!("{signal} line {i}")).collect();

        // Alone: nobody to send to. The three lines arrive in one write;
        // the signal comes as soon as the first is stored, while the
        // second is being stamped and the third waits its turn.
        let mut alone = slow_chat("alone", &place, None);
        alone.persona();
        alone.say_at_once(&lines);
        alone.wait_post(&lines[0]);
        // With time for the posts still to be stamped.
        alone.stop_within(signal, DEADLINE);
        let end = alone.wait_type("input_end");
        assert_eq!(end["reason"], "signal", "{end}");
        for line in &lines {
            alone.wait_post(line);
        }
        let stopped = alone.wait_type("stopped");
        assert_eq!(stopped["pending_posts"], 3, "{}", alone.diagnostics());
        let last = alone.events.last().expect("events");
        assert_eq!(last["type"], "stopped", "the last line says what waits");
        let posts = place.history(&[]);
        for line in &lines {
            assert_eq!(count_text(&posts, line), 1, "{line:?}: {posts:?}");
        }

        // The next start says what waited from last time, and sends it as
        // soon as a peer is there.
        let peer_place = Place::new(&network);
        let mut peer = Process::chat("peer", &peer_place, None);
        let address = peer.address();
        let mut again = slow_chat("again", &place, Some(&address));
        let backlog = again.wait_type("backlog");
        assert_eq!(backlog["channel"], CHANNEL, "{backlog}");
        assert_eq!(backlog["posts"], 3, "{backlog}");
        let sent = again.wait_type("backlog_sent");
        assert_eq!(sent["posts"], 3, "{sent}");
        for line in &lines {
            let got = peer.wait_post(line);
            assert_eq!(got["own"], false, "{got}");
        }
        again.stop(Signal::SIGTERM);
        assert_eq!(again.wait_type("stopped")["pending_posts"], 0);
        peer.stop(Signal::SIGINT);
    }
}

#[test]
fn wipe_deletes_what_hearth_wrote_after_asking_and_never_under_a_running_node() {
    let place = Place::new(&unique_network());
    let dir = place.path();
    std::fs::write(dir.join("hearth.toml"), "nick = \"sam\"\n").expect("write");
    let mut node = Process::chat("node", &place, None);
    node.persona();
    node.say("something to forget");
    node.wait_post("something to forget");
    std::fs::write(dir.join("mine.txt"), "keep me").expect("write");
    let store = dir.join("store");

    // While the node runs: refused, nothing deleted.
    let output = run(&mut place.command(&["wipe", "--yes"]));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is running on"), "{stderr}");
    assert!(stderr.contains("stop it first"), "{stderr}");
    assert!(store.is_dir() && dir.join("hearth.toml").is_file());
    node.stop(Signal::SIGTERM);

    // No terminal to confirm on, and no --yes: refused.
    let output = run(&mut place.command(&["wipe"]));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(store.is_dir());

    let output = run(&mut place.command(&["wipe", "--yes"]));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_no_panic("wipe", &text(&output.stderr));
    let shown = dir.display();
    for line in [
        format!("deleted {shown}/hearth.toml (the config file)"),
        format!("deleted {shown}/store (the store: posts, personas, keys, blocklist and follows)"),
        format!("kept {shown}/mine.txt: hearth did not write it"),
        "Posts you sent may still be kept by the people who received them: deletion on other \
         people's machines is best effort."
            .to_owned(),
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in:\n{stdout}"
        );
    }
    assert!(!store.exists(), "the store is gone");
    assert!(!dir.join("hearth.toml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("mine.txt"))
            .ok()
            .as_deref(),
        Some("keep me")
    );

    // Once the rest is gone, the data directory goes too.
    std::fs::remove_file(dir.join("mine.txt")).expect("remove");
    let logs = dir.join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(logs.join("hearth.log"), "a log").expect("write");
    let output = run(&mut place.command(&["wipe", "--yes", "--json"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        json_lines(&output),
        [serde_json::json!({
            "deleted": [logs.join("hearth.log"), logs, dir],
            "kept": [],
        })]
    );
    assert!(!dir.exists());
}

#[test]
fn a_damaged_or_foreign_store_is_refused_with_what_to_do_and_never_reset() {
    let network = unique_network();
    let place = Place::new(&network);
    let mut node = Process::chat("node", &place, None);
    node.persona();
    node.say("a post to keep");
    node.wait_post("a post to keep");
    node.stop(Signal::SIGTERM);
    let store = place.path().join("store");
    let db = store.join("db");
    let pristine = std::fs::read(&db).expect("the store's log");

    type Damage = fn(&Path, &[u8]);
    let damages: [(&str, Damage); 2] = [
        ("cut in half", |db, bytes| {
            std::fs::write(db, &bytes[..bytes.len() / 2]).expect("write");
        }),
        // The store's database panics on this one while opening.
        ("garbled at the start", |db, bytes| {
            let mut bytes = bytes.to_vec();
            for b in bytes.iter_mut().take(600) {
                *b ^= 0x5a;
            }
            std::fs::write(db, bytes).expect("write");
        }),
    ];
    let expected_end = format!(
        "; move it away to start fresh: mv {0} {0}.broken",
        store.display()
    );
    for (what, damage) in damages {
        damage(&db, &pristine);
        for args in [
            &["history", CHANNEL][..],
            &[
                "chat",
                CHANNEL,
                "--json",
                "--no-mdns",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
            ][..],
        ] {
            let output = run(&mut place.command(args));
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{what}, {args:?}: {stderr}");
            assert_no_panic(&format!("{what}, {args:?}"), &stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{what}, {args:?}: not one line: {stderr}");
            assert!(
                lines[0].contains(&format!("the store in {} is damaged (", store.display())),
                "{what}, {args:?}: {stderr}"
            );
            assert!(
                lines[0].ends_with(&expected_end),
                "{what}, {args:?}: {stderr}"
            );
        }
    }
    // Doing what it says gives a fresh start.
    let broken = place.path().join("store.broken");
    std::fs::rename(&store, &broken).expect("mv");
    let output = run(&mut place.command(&["persona", "show", CHANNEL]));
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::remove_dir_all(&broken).expect("clean up");

    // A directory of something else where the store should be.
    let other = Place::new(&network);
    let store = other.path().join("store");
    std::fs::create_dir(&store).expect("mkdir");
    std::fs::write(store.join("notes.txt"), "mine").expect("write");
    let output = run(&mut other.command(&["persona", "show", CHANNEL]));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is not a hearth store (it holds notes.txt, which hearth did not write)",
            store.display()
        )),
        "{stderr}"
    );
    let names: Vec<_> = std::fs::read_dir(&store)
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["notes.txt"], "nothing was written into it");
}
