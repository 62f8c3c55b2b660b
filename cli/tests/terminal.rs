//! The real chat screen of the `hearth` binary, driven through tmux.
//!
//! A peer runs `hearth chat --json` as a plain child process (its standard
//! input becomes its posts, its standard output is the JSON event stream).
//! The person at the terminal runs `hearth chat` inside a detached tmux
//! session of a fixed size (100×30), bootstrapping from the peer; keys go
//! in with `tmux send-keys` and the screen comes out with
//! `tmux capture-pane`. The test checks that:
//!
//! - the status line shows the channel, the persona and one peer;
//! - a typed post shows on the screen as `HH:MM name (nick): text  <short
//!   id>` and reaches the peer, signed by the persona the status line names;
//! - a post from the peer arriving while a line is half typed is drawn above
//!   the status line, and the input line still reads exactly what was typed
//!   (non-ASCII included), with the cursor at its end;
//! - Enter then posts that line, and the input line goes back to its
//!   placeholder;
//! - `/quit` ends the process with status 0 and leaves the terminal as it
//!   found it: out of raw mode (`stty -a` run in the pane afterwards) and of
//!   the alternate screen, with the cursor shown;
//! - the peer sees the terminal's node leave the channel.
//!
//! A second test runs the chat with the network off (no listen address, no
//! mDNS, no bootstrap, so no peer can ever connect) and checks that:
//!
//! - the first chat says the honest limits, and the status line names the
//!   key to the crisis card;
//! - Ctrl+G shows the crisis card of the configured country above the
//!   input line, and Esc closes it;
//! - a drafted post with a crisis phrase is not sent on Enter: the card is
//!   shown with the question, the line stays in the input, and the store
//!   (asked through `hearth history`) has nothing; Enter again sends it.
//!
//! And that nothing typed is lost however the window ends, with a channel
//! slow enough (proof of work) that posts are still being signed when it
//! does: `/quit`, SIGTERM and a closed terminal (SIGHUP) each keep every
//! line typed (the log says how many were still being signed), `/quit` and
//! SIGTERM say on the terminal how many posts wait, and the next start
//! sends them to a peer and says so in the window.
//!
//! And that `hearth wipe` at a terminal lists what it will delete and
//! deletes nothing unless the answer is yes.
//!
//! And that once a channel's moderators go quiet, the chat says "no
//! moderator active right now" with the crisis key: a moderator's node
//! (the peer, with a channel card and presence on) is heard, then stops;
//! the window's clock is then moved 31 minutes on through the test clock
//! of debug builds (`HEARTH_TEST_CLOCK_FILE`, see `cli/src/tui/test_clock.rs`)
//! instead of waiting.
//!
//! Without tmux the tests say "skipped: tmux not installed" and pass, except
//! under CI (`CI` set), where they fail: `.ci/run` installs tmux first.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

const HEARTH: &str = env!("CARGO_BIN_EXE_hearth");
/// The tmux session (one per tmux server, and the server is ours alone).
const SESSION: &str = "hearth-test";
const WIDTH: usize = 100;
const HEIGHT: usize = 30;
const CHANNEL: &str = "support";
const NICK: &str = "sam";
/// How long anything in this test may take: a node starting, a connection,
/// a post with its proof of work going through. Generous, since other
/// builds may share the machine; nothing waits this long when all is well.
const PATIENCE: Duration = Duration::from_secs(60);
/// The pause between two looks at the screen while waiting for it to
/// change.
const POLL: Duration = Duration::from_millis(50);
const PLACEHOLDER: &str = "> type to talk · /help for commands";
/// What the shell around `hearth` prints, with the exit status, when it
/// exits.
const EXITED: &str = "hearth exited with status ";

#[test]
fn typing_posting_and_a_reply_arriving_mid_line_under_tmux() {
    if !tmux_installed() {
        return;
    }
    let started = Instant::now();
    let unique = unique();
    let network = format!("test-{unique}");

    // Dropped last (locals drop in reverse order): the processes using
    // them are stopped first.
    let peer_dir = tempfile::tempdir().expect("a temporary directory");
    let my_dir = tempfile::tempdir().expect("a temporary directory");

    let mut peer = Peer::start(peer_dir.path(), &network);
    let listening = peer.wait("its `listening` event", |e| e["type"] == "listening");
    let peer_address = listening["address"]
        .as_str()
        .expect("a listening address")
        .to_owned();
    assert!(peer_address.contains("/p2p/"), "{listening}");
    let peer_joined = peer.wait("its `joined` event", |e| e["type"] == "joined");
    let peer_name = peer_joined["persona_name"]
        .as_str()
        .expect("a persona name")
        .to_owned();

    let tmux = Tmux::start(
        &format!("hearth-test-{unique}"),
        &[
            HEARTH,
            "chat",
            CHANNEL,
            "--network",
            &network,
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--bootstrap",
            &peer_address,
            "--nick",
            NICK,
            "--data-dir",
            &my_dir.path().display().to_string(),
        ],
        my_dir.path(),
    );

    // Connected: first as the peer sees it, then on the screen.
    peer.wait("the terminal's node in the channel", |e| {
        e["type"] == "channel_peers" && e["channel"] == CHANNEL && e["peers"] == 1
    });
    let screen = tmux.wait_screen("the status line with one peer", |s| {
        status_line(s).contains("1 peer here") && input_line(s) == PLACEHOLDER
    });
    let status = status_line(&screen);
    assert!(
        status.starts_with(&format!(" #{CHANNEL} · you are ")),
        "{status}"
    );
    assert!(status.contains("connected (1)"), "{status}");
    let my_name = status
        .split("you are ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the persona in the status line")
        .to_owned();
    assert!(
        status.contains(&format!("you are {my_name} ({NICK})")),
        "{status}"
    );

    // A post typed at the terminal: on the screen and at the peer.
    tmux.type_text("hello from the terminal");
    tmux.wait_screen("the typed text on the input line", |s| {
        input_line(s) == "> hello from the terminal"
    });
    tmux.press("Enter");
    let hello = peer.wait("the terminal's post", |e| {
        e["type"] == "post" && e["text"] == "hello from the terminal"
    });
    assert_eq!(hello["own"], false, "{hello}");
    assert_eq!(hello["channel"], CHANNEL, "{hello}");
    assert_eq!(hello["author_name"], my_name.as_str(), "{hello}");
    assert_eq!(hello["nickname"], NICK, "{hello}");
    let hello_needle = post_needle(&my_name, Some(NICK), "hello from the terminal", &hello);
    let screen = tmux.wait_screen("the own post on the screen", |s| {
        post_row(s, &hello_needle).is_some() && input_line(s) == PLACEHOLDER
    });
    let hello_row = post_row(&screen, &hello_needle).expect("the post");

    // A line half typed, then the peer's post arrives.
    let partial = "half typed ünïcode line";
    let typed = format!("> {partial}");
    tmux.type_text(partial);
    tmux.wait_screen("the half-typed line", |s| input_line(s) == typed);
    assert_eq!(tmux.cursor(), (2 + partial.chars().count(), HEIGHT - 1));
    let reply_text = "a reply from the peer, while you type";
    peer.say(reply_text);
    let reply = peer.wait("the peer's own post", |e| {
        e["type"] == "post" && e["text"] == reply_text
    });
    assert_eq!(reply["own"], true, "{reply}");
    assert_eq!(
        reply["bot"], true,
        "a peer reading a pipe posts as a bot: {reply}"
    );
    let reply_needle = post_needle(&peer_name, None, reply_text, &reply);
    let screen = tmux.wait_screen("the peer's post on the screen", |s| {
        post_row(s, &reply_needle).is_some()
    });
    let reply_row = post_row(&screen, &reply_needle).expect("the reply");
    assert_eq!(
        input_line(&screen),
        typed,
        "the input line changed when a post arrived:\n{}",
        screen.join("\n")
    );
    assert_eq!(
        tmux.cursor(),
        (2 + partial.chars().count(), HEIGHT - 1),
        "the cursor moved when a post arrived:\n{}",
        screen.join("\n")
    );
    assert!(
        post_row(&screen, &hello_needle).is_some_and(|row| row < reply_row),
        "the earlier post is no longer above the reply:\n{}",
        screen.join("\n")
    );
    assert!(hello_row < HEIGHT - 2 && reply_row < HEIGHT - 2);
    assert!(
        status_line(&screen).starts_with(&format!(" #{CHANNEL} · you are {my_name}")),
        "{}",
        screen.join("\n")
    );

    // Enter posts the line that was being typed.
    tmux.press("Enter");
    let second = peer.wait("the half-typed line, posted", |e| {
        e["type"] == "post" && e["text"] == partial
    });
    assert_eq!(second["author_key"], hello["author_key"], "{second}");
    let second_needle = post_needle(&my_name, Some(NICK), partial, &second);
    let screen = tmux.wait_screen("the second own post and an empty input line", |s| {
        post_row(s, &second_needle).is_some() && input_line(s) == PLACEHOLDER
    });
    let order = [&hello_needle, &reply_needle, &second_needle].map(|n| post_row(&screen, n));
    assert!(
        order.is_sorted() && order[0].is_some(),
        "the posts are not in the order written:\n{}",
        screen.join("\n")
    );

    // /quit: exit status 0, terminal restored (the shell around `hearth`
    // reports both, then keeps the pane open so tmux can be asked about it).
    assert_eq!(tmux.format("#{alternate_on}"), "1", "the chat screen is up");
    tmux.type_text("/quit");
    tmux.press("Enter");
    let screen = tmux.wait_screen("`hearth` to exit", |s| {
        s.iter().any(|row| row.starts_with(EXITED))
    });
    assert!(
        screen.iter().any(|row| *row == format!("{EXITED}0")),
        "`hearth chat` did not exit with status 0 after /quit:\n{}",
        screen.join("\n")
    );
    assert_eq!(tmux.format("#{alternate_on}"), "0", "alternate screen left");
    assert_eq!(tmux.format("#{cursor_flag}"), "1", "cursor shown again");
    let stty = std::fs::read_to_string(&tmux.stty).expect("`stty -a` after the chat");
    let modes: Vec<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(
            modes.contains(&mode),
            "the terminal is still in raw mode ({mode} is off):\n{stty}"
        );
    }
    peer.wait("the terminal's node to disconnect", |e| {
        e["type"] == "channel_peers" && e["channel"] == CHANNEL && e["peers"] == 0
    });
    eprintln!("terminal test took {:?}", started.elapsed());
}

#[test]
fn crisis_card_with_the_network_off_and_a_post_sent_only_when_confirmed() {
    if !tmux_installed() {
        return;
    }
    let unique = unique();
    let network = format!("test-{unique}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().display().to_string();
    // No listen address and no discovery: this node can never meet a peer.
    std::fs::write(
        dir.path().join("hearth.toml"),
        "listen = []\nbootstrap = []\n",
    )
    .expect("write the config file");

    let tmux = Tmux::start(
        &format!("hearth-care-{unique}"),
        &[
            HEARTH,
            "chat",
            CHANNEL,
            "--network",
            &network,
            "--no-mdns",
            "--country",
            "GB",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    let screen = tmux.wait_screen("the chat with the first-start notice", |s| {
        input_line(s) == PLACEHOLDER && flat(s).contains("not a crisis or emergency service")
    });
    let text = flat(&screen);
    assert!(text.contains("cannot send help to anyone"), "{text}");
    assert!(
        text.contains("Ctrl+G or /crisis shows crisis lines"),
        "{text}"
    );
    assert!(text.contains("public to everyone in the channel"), "{text}");
    let status = status_line(&screen);
    assert!(status.contains("Ctrl+G crisis"), "{status}");
    assert!(status.contains("0 peers here"), "{status}");

    // The network is off: the running node listens nowhere and has no peer.
    let node = hearth_json(&[
        "status",
        "--json",
        "--network",
        &network,
        "--data-dir",
        &data,
    ]);
    assert_eq!(node["running"], true, "{node}");
    assert_eq!(node["listen_addrs"], serde_json::json!([]), "{node}");
    assert_eq!(node["connected_peers"], 0, "{node}");

    // Ctrl+G: the card, above the status line; Esc closes it.
    tmux.press("C-g");
    let screen = tmux.wait_screen("the crisis card", |s| {
        flat(s).contains("Crisis lines for United Kingdom (GB)")
    });
    let text = flat(&screen);
    for part in [
        "In danger right now? Call 999.",
        "Samaritans: call 116 123",
        "Shout: text SHOUT to 85258",
        "Befrienders Worldwide https://befrienders.org",
        "Esc or Ctrl+G closes this",
    ] {
        assert!(text.contains(part), "{part:?} not on the screen:\n{text}");
    }
    assert_eq!(input_line(&screen), PLACEHOLDER);
    tmux.press("Escape");
    tmux.wait_screen("the card to close", |s| {
        !flat(s).contains("Crisis lines for")
    });

    // A crisis phrase: held back, card and question shown, nothing stored.
    let draft = "some nights I want to end my life";
    tmux.type_text(draft);
    tmux.wait_screen("the draft", |s| input_line(s) == format!("> {draft}"));
    tmux.press("Enter");
    // Both the question and its keys: a screen read mid-draw can hold one.
    let screen = tmux.wait_screen("the question before sending", |s| {
        let text = flat(s);
        text.contains("Your post isn't sent yet") && text.contains("Esc goes back to editing")
    });
    let text = flat(&screen);
    assert!(text.contains("Samaritans: call 116 123"), "{text}");
    assert!(
        text.contains("Enter sends your post as it is · Esc goes back to editing"),
        "{text}"
    );
    assert_eq!(input_line(&screen), format!("> {draft}"), "{text}");
    let history = |what: &str| {
        hearth_lines(&[
            "history",
            CHANNEL,
            "--json",
            "--network",
            &network,
            "--data-dir",
            &data,
        ])
        .into_iter()
        .filter(|e| e["type"] == "post" && e["text"] == draft)
        .count()
            == usize::from(what == "sent")
    };
    assert!(history("held"), "the held post reached the store");

    // Enter again: sent as it was (stored, waiting for peers).
    tmux.press("Enter");
    let screen = tmux.wait_screen("the post on the screen", |s| {
        input_line(s) == PLACEHOLDER && s.iter().any(|row| row.contains(draft))
    });
    assert!(
        !screen
            .iter()
            .any(|row| row.contains("Your post isn't sent yet")),
        "{}",
        screen.join("\n")
    );
    assert!(history("sent"), "the confirmed post is not in the store");

    tmux.type_text("/quit");
    tmux.press("Enter");
    let screen = tmux.wait_screen("`hearth` to exit", |s| {
        s.iter().any(|row| row.starts_with(EXITED))
    });
    assert!(
        screen.iter().any(|row| *row == format!("{EXITED}0")),
        "{}",
        screen.join("\n")
    );
}

/// The screen as one line of words: the channel list cut off, wrapped lines
/// joined, so that a sentence is found wherever the window wrapped it.
fn flat(screen: &[String]) -> String {
    screen
        .iter()
        .map(|row| row.rsplit('│').next().unwrap_or(row))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a short `hearth` command that prints JSON lines, and returns them.
fn hearth_lines(args: &[&str]) -> Vec<Value> {
    let output = clean_env(&mut Command::new(HEARTH))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("hearth runs");
    assert!(
        output.status.success(),
        "hearth {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Runs a short `hearth` command that prints one JSON object.
fn hearth_json(args: &[&str]) -> Value {
    hearth_lines(args)
        .into_iter()
        .next()
        .expect("one JSON object")
}

/// The proof of work the quitting tests ask of their channel: a second or
/// more per post here, so posts typed just before quitting are still being
/// stamped when the window closes.
const SLOW_CHANNEL: &str = "support=21";
const NO_MODERATOR: &str = "no moderator active right now · Ctrl+G shows crisis lines";

#[test]
fn the_chat_says_no_moderator_is_active_once_the_moderators_go_quiet() {
    if !tmux_installed() {
        return;
    }
    let unique = unique();
    let network = format!("test-{unique}");
    let peer_dir = tempfile::tempdir().expect("a temporary directory");
    let my_dir = tempfile::tempdir().expect("a temporary directory");
    let moderator_data = peer_dir.path().join("data").display().to_string();
    let clock = my_dir.path().join("test-clock");
    std::fs::write(&clock, "0").expect("write the test clock");

    // The moderator signs the channel's card before its node runs.
    let card = hearth_json(&[
        "moderator",
        "card",
        CHANNEL,
        "--age",
        "adult",
        "--rules",
        "Be kind.",
        "--json",
        "--network",
        &network,
        "--data-dir",
        &moderator_data,
    ]);
    assert_eq!(card["card"]["age"], "adult", "{card}");
    let founder = card["card"]["founder_name"]
        .as_str()
        .expect("the founder's name")
        .to_owned();
    let mut moderator = Peer::start(peer_dir.path(), &network);
    let listening = moderator.wait("its `listening` event", |e| e["type"] == "listening");
    let address = listening["address"]
        .as_str()
        .expect("a listening address")
        .to_owned();

    let clock_var = format!("HEARTH_TEST_CLOCK_FILE={}", clock.display());
    let data = my_dir.path().display().to_string();
    let tmux = Tmux::start(
        &format!("hearth-quiet-{unique}"),
        &[
            "env",
            &clock_var,
            HEARTH,
            "chat",
            CHANNEL,
            "--network",
            &network,
            "--no-mdns",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--bootstrap",
            &address,
            "--country",
            "GB",
            "--data-dir",
            &data,
        ],
        my_dir.path(),
    );
    let screen = tmux.wait_screen("the channel card", |s| {
        flat(s).contains(&format!(
            "#{CHANNEL} is a channel for adults, founded by {founder}"
        ))
    });
    assert!(flat(&screen).contains("Be kind."), "{}", screen.join("\n"));

    // The moderator turns presence on: a heartbeat goes out at once. A
    // post after it on the same connection: once it is on the screen, the
    // heartbeat was heard before.
    let presence = hearth_json(&[
        "moderator",
        "presence",
        CHANNEL,
        "on",
        "--json",
        "--network",
        &network,
        "--data-dir",
        &moderator_data,
    ]);
    assert_eq!(presence["on"], true, "{presence}");
    moderator.wait("its own heartbeat", |e| e["type"] == "moderator_presence");
    moderator.say("I am around tonight");
    let screen = tmux.wait_screen("the moderator's post", |s| {
        flat(s).contains("I am around tonight")
    });
    assert!(
        !flat(&screen).contains("no moderator active"),
        "a moderator was just heard:\n{}",
        screen.join("\n")
    );

    // The moderator's node stops; the window's clock moves 31 minutes on.
    drop(moderator);
    tmux.wait_screen("the moderator gone", |s| {
        status_line(s).contains("0 peers here")
    });
    let later = 31 * 60 * 1000;
    std::fs::write(&clock, later.to_string()).expect("move the test clock");
    let screen = tmux.wait_screen("the banner", |s| flat(s).contains("no moderator active"));
    assert!(
        flat(&screen).contains(NO_MODERATOR),
        "{}",
        screen.join("\n")
    );
    // The key it names opens the crisis card.
    tmux.press("C-g");
    tmux.wait_screen("the crisis card", |s| {
        flat(s).contains("Crisis lines for United Kingdom (GB)")
    });
}

/// Waits for `hearth chat` in `tmux` to exit with status 0, having said on
/// the terminal that `n` posts wait for peers.
fn exits_saying_posts_wait(tmux: &Tmux, n: usize) {
    let screen = tmux.wait_screen("`hearth` to exit", |s| {
        s.iter().any(|row| row.starts_with(EXITED))
    });
    assert!(
        screen.iter().any(|row| *row == format!("{EXITED}0")),
        "{}",
        screen.join("\n")
    );
    assert!(
        screen.iter().any(|row| *row == waiting_line(n)),
        "no word of the posts waiting:\n{}",
        screen.join("\n")
    );
}

/// The line `hearth chat` prints after the chat screen when `n` of the
/// user's posts wait for peers.
fn waiting_line(n: usize) -> String {
    format!("hearth: {n} posts reached no one yet; they go out when hearth next runs.")
}

/// `hearth chat` on `dir`, alone or bootstrapping from `peer`, with a slow
/// channel and its logs (at `info`) in `dir`.
fn slow_chat(network: &str, dir: &Path, peer: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        HEARTH,
        "chat",
        CHANNEL,
        "--network",
        network,
        "--no-mdns",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--channel-difficulty",
        SLOW_CHANNEL,
        "--log",
        "info",
        "--data-dir",
    ]
    .map(str::to_owned)
    .into();
    args.push(dir.display().to_string());
    if let Some(peer) = peer {
        args.extend(["--bootstrap".to_owned(), peer.to_owned()]);
    }
    args
}

/// Types each line and presses Enter after it; returns once the window has
/// taken every one (the input line is empty again after the last).
fn type_lines(tmux: &Tmux, lines: &[String]) {
    for line in lines {
        tmux.type_text(line);
        tmux.wait_screen("the line typed", |s| input_line(s) == format!("> {line}"));
        tmux.press("Enter");
    }
    tmux.wait_screen("the last line taken", |s| input_line(s) == PLACEHOLDER);
}

/// `hearth history support --json` on `dir`: the texts, oldest first.
fn history(network: &str, dir: &Path) -> Vec<String> {
    let output = clean_env(&mut Command::new(HEARTH))
        .args([
            "history",
            CHANNEL,
            "--json",
            "--network",
            network,
            "--data-dir",
        ])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("hearth history runs");
    assert!(
        output.status.success(),
        "history failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let post: Value = serde_json::from_str(line).expect("a JSON line");
            post["text"].as_str().expect("a text").to_owned()
        })
        .collect()
}

/// The number in the log's line "chat window closed … signing=N": how many
/// posts were still being stamped when the window closed.
fn signing_at_close(log: &Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.contains("chat window closed"))
        .unwrap_or_else(|| panic!("no `chat window closed` in the log:\n{text}"));
    line.split("signing=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no signing count in {line:?}"))
}

#[test]
fn quit_with_posts_being_signed_keeps_them_and_the_next_start_sends_them() {
    if !tmux_installed() {
        return;
    }
    let unique = unique();
    let network = format!("test-{unique}");
    let peer_dir = tempfile::tempdir().expect("a temporary directory");
    let my_dir = tempfile::tempdir().expect("a temporary directory");
    let lines: Vec<String> = (1..=3)
        .map(|i| format!("typed before quitting {i}"))
        .collect();

    // Alone: three lines, then /quit while they are being signed.
    let args = slow_chat(&network, my_dir.path(), None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let tmux = Tmux::start(&format!("hearth-quit-{unique}"), &args, my_dir.path());
    tmux.wait_screen("the chat", |s| input_line(s) == PLACEHOLDER);
    type_lines(&tmux, &lines);
    tmux.type_text("/quit");
    tmux.press("Enter");
    exits_saying_posts_wait(&tmux, 3);
    let signing = signing_at_close(&tmux.log);
    eprintln!("{signing} of 3 posts were still being signed at /quit");
    assert!(
        signing > 0,
        "every post was signed before /quit: nothing was in flight"
    );
    drop(tmux);
    assert_eq!(
        history(&network, my_dir.path()),
        lines,
        "in the order typed"
    );

    // The next start, with a peer there: the posts go out, and it says so.
    let mut peer = Peer::start(peer_dir.path(), &network);
    let listening = peer.wait("its `listening` event", |e| e["type"] == "listening");
    let address = listening["address"]
        .as_str()
        .expect("an address")
        .to_owned();
    let args = slow_chat(&network, my_dir.path(), Some(&address));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let tmux = Tmux::start(&format!("hearth-again-{unique}"), &args, my_dir.path());
    tmux.wait_screen("the posts from last time, sent", |s| {
        s.iter()
            .any(|row| row.contains("3 posts from last time were sent to #support."))
    });
    for line in &lines {
        peer.wait("a post from last time", |e| {
            e["type"] == "post" && e["text"] == line.as_str()
        });
    }
    tmux.type_text("/quit");
    tmux.press("Enter");
    let screen = tmux.wait_screen("`hearth` to exit", |s| {
        s.iter().any(|row| row.starts_with(EXITED))
    });
    assert!(
        screen.iter().any(|row| *row == format!("{EXITED}0")),
        "{}",
        screen.join("\n")
    );
    assert!(
        !screen.iter().any(|row| row.contains("reached no one")),
        "{}",
        screen.join("\n")
    );
}

#[test]
fn sigterm_and_a_closed_terminal_keep_posts_being_signed() {
    if !tmux_installed() {
        return;
    }
    for how in ["SIGTERM", "SIGHUP"] {
        let unique = unique();
        let network = format!("test-{unique}");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let lines: Vec<String> = (1..=3).map(|i| format!("{how} line {i}")).collect();
        let args = slow_chat(&network, dir.path(), None);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let tmux = Tmux::start(&format!("hearth-{how}-{unique}"), &args, dir.path());
        tmux.wait_screen("the chat", |s| input_line(s) == PLACEHOLDER);
        let pid = tmux.hearth_pid();
        type_lines(&tmux, &lines);
        if how == "SIGTERM" {
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
                .expect("SIGTERM is sent");
            exits_saying_posts_wait(&tmux, 3);
        } else {
            // Closing the terminal: tmux hangs up the pane's terminal.
            tmux.run(&["kill-server"]);
            wait_gone(pid, &tmux.log);
        }
        let log = std::fs::read_to_string(&tmux.log).unwrap_or_default();
        assert!(
            log.contains("node stopped; store flushed"),
            "{how}: no clean stop in the log:\n{log}"
        );
        let signing = signing_at_close(&tmux.log);
        eprintln!("{how}: {signing} of 3 posts were still being signed");
        assert!(signing > 0, "{how}: nothing was in flight");
        assert!(!log.contains("panicked"), "{how}:\n{log}");
        drop(tmux);
        assert_eq!(history(&network, dir.path()), lines, "{how}");
    }
}

#[test]
fn wipe_asks_on_a_terminal_and_deletes_only_after_yes() {
    if !tmux_installed() {
        return;
    }
    let unique = unique();
    let network = format!("test-{unique}");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let made = clean_env(&mut Command::new(HEARTH))
        .args([
            "persona",
            "show",
            CHANNEL,
            "--network",
            &network,
            "--data-dir",
        ])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .expect("hearth runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let store = data.join("store");
    assert!(store.is_dir());
    let shown = data.display().to_string();
    let wipe = [HEARTH, "wipe", "--data-dir", shown.as_str()];
    for (answer, gone) in [("no", false), ("yes", true)] {
        let tmux = Tmux::start(&format!("hearth-wipe-{answer}-{unique}"), &wipe, dir.path());
        let screen = tmux.wait_screen("the question", |s| {
            s.iter().any(|row| row.ends_with("Type yes to confirm:"))
        });
        assert!(
            screen
                .iter()
                .any(|row| row.starts_with(&format!("  {shown}/store (the store: "))),
            "the store is not in the list:\n{}",
            screen.join("\n")
        );
        assert!(store.is_dir(), "deleted before the answer");
        tmux.type_text(answer);
        tmux.press("Enter");
        let screen = tmux.wait_screen("`hearth` to exit", |s| {
            s.iter().any(|row| row.starts_with(EXITED))
        });
        assert!(
            screen.iter().any(|row| *row == format!("{EXITED}0")),
            "{}",
            screen.join("\n")
        );
        let said = if gone {
            format!("deleted {shown}/store (the store: posts, personas, keys, blocklist and")
        } else {
            "nothing deleted".to_owned()
        };
        assert!(
            screen.iter().any(|row| row.starts_with(&said)),
            "no {said:?}:\n{}",
            screen.join("\n")
        );
        assert_eq!(store.exists(), !gone, "after {answer:?}");
    }
    assert!(!data.exists(), "the emptied data directory is gone too");
}

/// Waits, with a deadline, for process `pid` (not a child of the test) to
/// be gone.
fn wait_gone(pid: nix::unistd::Pid, log: &Path) {
    let deadline = Instant::now() + PATIENCE;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    while proc.exists() {
        // A zombie is gone too: it waits only for its reaper.
        let state = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
        if state
            .split(") ")
            .nth(1)
            .is_some_and(|rest| rest.starts_with('Z'))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "hearth (process {pid}) did not exit after SIGHUP; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(POLL);
    }
}

/// Whether `tmux` can be run.
/// Whether tmux is here to drive the chat. Without it a test says it
/// skipped; under CI (`CI` set), where `.ci/run` installs tmux, a missing
/// tmux fails the test instead of letting it pass unseen.
fn tmux_installed() -> bool {
    let installed = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is not installed, and under CI the terminal tests must run"
        );
        eprintln!("skipped: tmux not installed");
    }
    installed
}

/// 16 hex digits no other run of this test shares: the process id and the
/// time, hashed with the random seed of the standard library's hash maps.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(nanos);
    format!("{:016x}", hasher.finish())
}

/// Removes every `HEARTH_*` variable so that the settings of whoever runs
/// the test do not leak in.
fn clean_env(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HEARTH_") {
            command.env_remove(key);
        }
    }
    // No persona stamp to wait for: the screens compared here are those of
    // a chat whose persona is ready.
    command.env("HEARTH_PERSONA_STAMP_BITS", "0")
}

/// The row with the status line (just above the input line).
fn status_line(screen: &[String]) -> &str {
    screen.get(HEIGHT - 2).map_or("", String::as_str)
}

/// The bottom row: the input line.
fn input_line(screen: &[String]) -> &str {
    screen.get(HEIGHT - 1).map_or("", String::as_str)
}

/// What a post's line shows after its `HH:MM ` time: `name (nick): text  <short id>`.
fn post_needle(name: &str, nick: Option<&str>, text: &str, event: &Value) -> String {
    let id = event["id"].as_str().expect("a post id");
    let short = id.get(..8).expect("a 64-digit id");
    let nick = nick.map_or_else(String::new, |n| format!(" ({n})"));
    // The name comes after its key's fingerprint glyph.
    let glyph = event["author_fingerprint"]
        .as_str()
        .and_then(|f| f.chars().next())
        .expect("a fingerprint");
    // A post from software (the peer reads a pipe) is marked as a bot's.
    let bot = if event["bot"] == true { " [bot]" } else { "" };
    format!("{glyph} {name}{nick}{bot}: {text}  {short}")
}

/// The row showing a post: `needle` (from the fingerprint glyph on),
/// right after a `HH:MM ` time.
fn post_row(screen: &[String], needle: &str) -> Option<usize> {
    screen.iter().position(|row| {
        row.find(needle).is_some_and(|at| {
            let time: Vec<char> = row[..at].chars().rev().take(6).collect();
            matches!(
                time.as_slice(),
                [' ', m2, m1, ':', h2, h1]
                    if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
            )
        })
    })
}

/// The peer: `hearth chat --json` with piped standard input and output.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Value>,
    seen: Vec<Value>,
    stderr: PathBuf,
}

impl Peer {
    fn start(dir: &Path, network: &str) -> Self {
        let stderr = dir.join("peer.stderr");
        let mut child = clean_env(&mut Command::new(HEARTH))
            .args(["chat", CHANNEL, "--json", "--network", network, "--no-mdns"])
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--data-dir"])
            .arg(dir.join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("a file for the peer's stderr"))
            .spawn()
            .expect("the peer starts");
        let stdin = child.stdin.take().expect("the peer's stdin");
        let stdout = child.stdout.take().expect("the peer's stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the peer printed a non-JSON line {line:?}: {e}"));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            events,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Posts a line (the peer posts each line of its standard input).
    fn say(&mut self, text: &str) {
        writeln!(self.stdin, "{text}").expect("write to the peer");
        self.stdin.flush().expect("flush the peer's input");
    }

    /// Waits for the first event from now on that `wanted` accepts.
    fn wait(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if wanted(&event) {
                        return event;
                    }
                }
                Err(e) => {
                    let why = match e {
                        RecvTimeoutError::Timeout => "timed out",
                        RecvTimeoutError::Disconnected => "the peer's output ended",
                    };
                    panic!(
                        "{why} waiting for the peer to see {what}; its events:\n{}\nits stderr:\n{}",
                        self.seen
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join("\n"),
                        std::fs::read_to_string(&self.stderr).unwrap_or_default()
                    );
                }
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tmux server of our own (`tmux -L <socket>`), with one session running
/// `hearth chat`; the server is killed, and its socket file removed, when
/// this is dropped.
struct Tmux {
    socket: String,
    /// The server's socket file, once the server runs.
    socket_path: Option<PathBuf>,
    /// The chat's log file.
    log: PathBuf,
    /// Where the terminal's modes (`stty -a`) are written once `hearth`
    /// has exited.
    stty: PathBuf,
}

impl Tmux {
    /// Starts the session with `command`. When it exits, the shell prints
    /// `EXITED` and its status, writes the terminal's modes to a file and
    /// keeps the pane open (`cat`), so tmux can tell how the terminal was
    /// left.
    fn start(socket: &str, command: &[&str], data_dir: &Path) -> Self {
        let mut tmux = Self {
            socket: socket.to_owned(),
            socket_path: None,
            log: data_dir.join("logs").join("hearth.log"),
            stty: data_dir.join("stty-after-exit"),
        };
        let shell = format!(
            "env TERM=xterm-256color {}; status=$?; stty -a > {}; echo \"{EXITED}$status\"; exec cat",
            command
                .iter()
                .map(|arg| shell_quote(arg))
                .collect::<Vec<_>>()
                .join(" "),
            shell_quote(&tmux.stty.display().to_string()),
        );
        let (x, y) = (WIDTH.to_string(), HEIGHT.to_string());
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &x,
            "-y",
            &y,
            "-s",
            SESSION,
            &shell,
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
        ]);
        tmux.socket_path = Some(PathBuf::from(tmux.format("#{socket_path}")));
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        // No user configuration; /bin/sh runs the pane's command line.
        clean_env(&mut command)
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .env_remove("TMUX")
            .env("SHELL", "/bin/sh");
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let Output {
            status,
            stdout,
            stderr,
        } = self.command().args(args).output().expect("tmux runs");
        assert!(
            status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&stderr)
        );
        String::from_utf8(stdout).expect("tmux prints UTF-8")
    }

    /// The visible rows, trailing spaces removed.
    fn screen(&self) -> Vec<String> {
        self.run(&["capture-pane", "-p", "-t", SESSION])
            .lines()
            .map(|row| row.trim_end().to_owned())
            .collect()
    }

    /// A tmux format (`#{…}`) of the pane.
    fn format(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", SESSION, format])
            .trim()
            .to_owned()
    }

    /// The cursor, as (column, row).
    fn cursor(&self) -> (usize, usize) {
        let at = self.format("#{cursor_x} #{cursor_y}");
        let mut parts = at.split(' ').map(|n| n.parse().expect("a number"));
        (
            parts.next().expect("a column"),
            parts.next().expect("a row"),
        )
    }

    /// The process id of `hearth`: the child of the pane's shell.
    fn hearth_pid(&self) -> nix::unistd::Pid {
        let shell = self.format("#{pane_pid}");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("the shell's children");
        let pid: i32 = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("hearth runs under the pane's shell");
        nix::unistd::Pid::from_raw(pid)
    }

    /// Types `text` as it is (no key names).
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// Presses a key by its tmux name (`Enter`).
    fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", SESSION, key]);
    }

    /// Looks at the screen until `ready` accepts it. A terminal sends no
    /// event when it changes, so this polls, with a short pause between
    /// looks, and gives up after [`PATIENCE`].
    fn wait_screen(&self, what: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; the screen:\n{}\nthe chat's log:\n{}",
                    screen.join("\n"),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .arg("kill-server")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // tmux leaves the file behind.
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `arg` as one word for /bin/sh.
fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}
