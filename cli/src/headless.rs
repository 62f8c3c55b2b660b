//! `hearth chat` without a terminal, and `hearth run`: input lines become
//! posts in the first channel, and events are printed as JSON lines
//! (`--json`) or plain text. The node keeps running after the end of input
//! until SIGINT or SIGTERM.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, Read, Write};

use anyhow::{Context, anyhow};
use hearth_node::{NodeHandle, PostOptions};
use hearth_protocol::ChannelName;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use crate::json::{self, JsonEvent};
use crate::time;

/// Longest input line read; longer lines are reported and skipped.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// SIGINT and SIGTERM, caught so that both shut the node down cleanly.
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Starts catching SIGINT and SIGTERM. Call before starting the node,
    /// so a signal during start-up is not lost.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
        })
    }

    /// Waits for the next signal and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

/// Prints events on standard output, each `listening` address and `joined`
/// channel once. JSON lines are flushed as they are written.
#[derive(Debug)]
pub struct Printer {
    json: bool,
    show_posts: bool,
    listening: HashSet<String>,
    joined: HashSet<(String, String)>,
    connected: HashSet<String>,
    channel_peers: HashMap<String, usize>,
}

impl Printer {
    /// A printer of JSON lines (`json`) or plain text; plain text leaves
    /// posts out unless `show_posts` (a relay's log is no place for what
    /// people wrote).
    pub fn new(json: bool, show_posts: bool) -> Self {
        Self {
            json,
            show_posts,
            listening: HashSet::new(),
            joined: HashSet::new(),
            connected: HashSet::new(),
            channel_peers: HashMap::new(),
        }
    }

    /// Prints one event unless it repeats what was already printed (an
    /// address, a join, a connected peer, a channel's peer count). Fails
    /// when standard output is closed.
    pub fn print(&mut self, event: &JsonEvent) -> io::Result<()> {
        let skip = match event {
            JsonEvent::Listening { address, .. } => !self.listening.insert(address.clone()),
            JsonEvent::Joined {
                channel,
                persona_key,
                ..
            } => !self.joined.insert((channel.clone(), persona_key.clone())),
            JsonEvent::Left { channel } => {
                self.joined.retain(|(c, _)| c != channel);
                self.channel_peers.remove(channel);
                false
            }
            JsonEvent::Peer { state, peer_id, .. } if state == "connected" => {
                !self.connected.insert(peer_id.clone())
            }
            JsonEvent::Peer { state, peer_id, .. } if state == "banned" => {
                self.connected.remove(peer_id);
                false
            }
            JsonEvent::Peer { peer_id, .. } => !self.connected.remove(peer_id),
            JsonEvent::ChannelPeers { channel, peers } => {
                self.channel_peers.insert(channel.clone(), *peers) == Some(*peers)
            }
            JsonEvent::Post(_) | JsonEvent::Hidden(_) | JsonEvent::Sent { .. } => {
                !self.json && !self.show_posts
            }
            _ => false,
        };
        if skip {
            return Ok(());
        }
        if self.json {
            let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
            line.push(b'\n');
            let mut out = io::stdout().lock();
            out.write_all(&line)?;
            out.flush()
        } else if let JsonEvent::Error { message } = event {
            eprintln!("hearth: {message}");
            Ok(())
        } else if let Some(text) = plain(event) {
            let mut out = io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()
        } else {
            Ok(())
        }
    }
}

/// The plain-text form of an event, or `None` for events plain output
/// leaves out (peer changes, refusals).
pub fn plain(event: &JsonEvent) -> Option<String> {
    render(event, time::date_time)
}

/// [`plain`] with the times of posts written by `stamp`.
pub fn render(event: &JsonEvent, stamp: fn(u64) -> String) -> Option<String> {
    Some(match event {
        JsonEvent::Listening { address, .. } => format!("* listening on {address}"),
        JsonEvent::Joined {
            channel,
            persona_name,
            ..
        } => format!("* joined #{channel} as {persona_name}"),
        JsonEvent::Left { channel } => format!("* left #{channel}"),
        JsonEvent::Post(p) => {
            let mut line = format!("[{}] #{} {}", stamp(p.time_ms), p.channel, p.author_name);
            if let Some(nick) = &p.nickname {
                line.push_str(&format!(" ({nick})"));
            }
            line.push(':');
            if let Some(parent) = &p.reply_to {
                line.push_str(&format!(
                    " [reply to {}]",
                    parent.get(..8).unwrap_or(parent)
                ));
            }
            if let Some(cw) = &p.content_warning {
                let mut parts = cw.labels.clone();
                parts.extend(cw.text.clone());
                line.push_str(&format!(" [content warning: {}]", parts.join(", ")));
            }
            let mut lines = p.text.lines();
            line.push(' ');
            line.push_str(lines.next().unwrap_or_default());
            for more in lines {
                line.push_str("\n    ");
                line.push_str(more);
            }
            line
        }
        JsonEvent::Hidden(h) => {
            let source = match &h.moderator {
                Some(key) => format!("moderator {}", key.get(..8).unwrap_or(key)),
                None => "your blocklist".to_owned(),
            };
            let reason = if h.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", h.reason)
            };
            format!(
                "[{}] #{} a post by {} is hidden ({} rule in {source}{reason})",
                stamp(h.time_ms),
                h.channel,
                h.author_name,
                h.rule
            )
        }
        JsonEvent::Sent { id, peers, .. } => {
            let short = id.get(..8).unwrap_or(id);
            if *peers == 0 {
                format!("* {short} stored; it goes out when peers of the channel appear")
            } else {
                format!("* {short} sent to {peers} peers")
            }
        }
        JsonEvent::Error { message } => format!("hearth: {message}"),
        JsonEvent::Peer { .. } | JsonEvent::ChannelPeers { .. } | JsonEvent::Refused { .. } => {
            return None;
        }
    })
}

/// How the headless loop behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Print JSON lines instead of text.
    pub json: bool,
    /// Post each line of standard input to the first channel.
    pub read_stdin: bool,
    /// The nickname to put on posts.
    pub nick: Option<String>,
    /// Print posts in plain-text mode (JSON mode always prints them).
    pub show_posts: bool,
}

/// Joins `channels`, prints events and posts input lines until a signal
/// arrives (or standard output closes). The caller shuts the node down.
pub async fn run(
    handle: &NodeHandle,
    channels: &[ChannelName],
    options: Options,
    signals: &mut Signals,
) -> anyhow::Result<()> {
    let mut printer = Printer::new(options.json, options.show_posts);
    // Subscribe first, so nothing between the listing below and the loop
    // is missed; repeats are filtered by the printer.
    let mut events = handle.events();
    for address in handle.listen_addrs().await? {
        printer.print(&json::listening(&address))?;
    }
    for channel in channels {
        let persona = handle
            .join(channel.clone())
            .await
            .with_context(|| format!("cannot join #{channel}"))?;
        printer.print(&json::joined(channel, &persona))?;
    }
    // Peers that connected before the subscription (bootstrap, known
    // peers) and the channels' peer counts so far.
    for peer in handle.peers().await? {
        printer.print(&JsonEvent::Peer {
            state: "connected".to_owned(),
            peer_id: peer.peer.to_string(),
            address: peer.addresses.first().map(ToString::to_string),
            score: None,
        })?;
    }
    for info in handle.channels().await? {
        if info.peers > 0 {
            printer.print(&JsonEvent::ChannelPeers {
                channel: info.channel.to_string(),
                peers: info.peers,
            })?;
        }
    }

    // What the publisher has to say comes back here, so that one loop
    // prints everything in order.
    let (notice_tx, mut notices) = mpsc::channel::<JsonEvent>(64);
    let publisher = match (options.read_stdin, channels.first()) {
        (true, Some(channel)) => {
            let (tx, rx) = mpsc::channel(64);
            spawn_stdin_reader(tx)?;
            Some(tokio::spawn(publish_lines(
                handle.clone(),
                channel.clone(),
                options.nick.clone(),
                rx,
                notice_tx,
            )))
        }
        _ => None,
    };

    let result = loop {
        // Biased: a signal first, then node events before the publisher's
        // notices, so a post's `post` line (emitted by the node before it
        // answers the publish) comes before its `sent` line.
        let line = tokio::select! {
            biased;
            name = signals.recv() => {
                tracing::info!(signal = name, "shutting down");
                break Ok(());
            }
            event = events.next() => match event {
                Some(event) => json::from_event(&event),
                None => break Err(anyhow!("the node stopped unexpectedly")),
            },
            Some(notice) = notices.recv() => Some(notice),
        };
        if let Some(line) = line
            && let Err(e) = printer.print(&line)
        {
            tracing::info!(error = %e, "standard output closed; shutting down");
            break Ok(());
        }
    };
    if let Some(task) = publisher {
        task.abort();
    }
    result
}

/// One input line with its number, or why it cannot be posted.
type Line = (u64, Result<String, String>);

/// Reads standard input on its own thread (a blocking read must not hold
/// up the runtime's shutdown) and sends each line.
fn spawn_stdin_reader(tx: mpsc::Sender<Line>) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("hearth-stdin".to_owned())
        .spawn(move || {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            let mut number = 0u64;
            loop {
                number += 1;
                let line = match read_line(&mut input, MAX_LINE_BYTES) {
                    Ok(None) => break,
                    Ok(Some(Ok(bytes))) => String::from_utf8(bytes)
                        .map_err(|_| format!("input line {number} is not valid UTF-8; not posted")),
                    Ok(Some(Err(len))) => Err(format!(
                        "input line {number} is longer than {MAX_LINE_BYTES} bytes ({len} read); \
                         not posted"
                    )),
                    Err(e) => {
                        let _ = tx.blocking_send((
                            number,
                            Err(format!("cannot read standard input: {e}")),
                        ));
                        break;
                    }
                };
                if tx.blocking_send((number, line)).is_err() {
                    break;
                }
            }
            tracing::debug!("end of standard input");
        })
        .context("cannot start the input thread")?;
    Ok(())
}

/// Reads one line without its `\n` or `\r\n`: `None` at the end of input,
/// `Err(length)` when the line is longer than `limit` (the rest of it is
/// skipped).
fn read_line(input: &mut impl BufRead, limit: usize) -> io::Result<Option<Result<Vec<u8>, usize>>> {
    let mut buf = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let n = input.by_ref().take(cap).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() > limit {
        // Skip to the end of this line.
        let mut skipped = buf.len();
        loop {
            let mut rest = Vec::new();
            let n = input.by_ref().take(cap).read_until(b'\n', &mut rest)?;
            skipped += n;
            if n == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Some(Err(skipped)));
    }
    Ok(Some(Ok(buf)))
}

async fn publish_lines(
    handle: NodeHandle,
    channel: ChannelName,
    nick: Option<String>,
    mut lines: mpsc::Receiver<Line>,
    notices: mpsc::Sender<JsonEvent>,
) {
    while let Some((number, line)) = lines.recv().await {
        let print = |event: JsonEvent| notices.send(event);
        let text = match line {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => text,
            Err(message) => {
                let _ = print(JsonEvent::Error { message }).await;
                continue;
            }
        };
        let options = PostOptions {
            text,
            nickname: nick.clone(),
            ..PostOptions::default()
        };
        let notice = match handle.publish_with(channel.clone(), options).await {
            // With peers the node reports `sent` itself; with none, say the
            // post is stored and waiting.
            Ok(published) if published.peers == 0 => JsonEvent::Sent {
                id: published.id.to_string(),
                channel: channel.to_string(),
                peers: 0,
            },
            Ok(published) => {
                tracing::debug!(id = %published.id, peers = published.peers, "posted");
                continue;
            }
            Err(hearth_node::NodeError::Stopped) => break,
            Err(e) => JsonEvent::Error {
                message: format!("input line {number} not posted: {e}"),
            },
        };
        if print(notice).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{ContentWarningJson, PostJson};

    #[test]
    fn lines_are_split_without_their_endings_and_long_ones_skipped() {
        let mut input = io::Cursor::new(b"one\r\ntwo\n\nlooooong\nlast".to_vec());
        let mut next = || read_line(&mut input, 5).unwrap();
        assert_eq!(next(), Some(Ok(b"one".to_vec())));
        assert_eq!(next(), Some(Ok(b"two".to_vec())));
        assert_eq!(next(), Some(Ok(Vec::new())));
        assert_eq!(next(), Some(Err(9)));
        assert_eq!(next(), Some(Ok(b"last".to_vec())));
        assert_eq!(next(), None);
    }

    #[test]
    fn plain_text_shows_posts_readably() {
        let post = PostJson {
            id: "ab".repeat(32),
            channel: "anxiety".into(),
            author_key: "cd".repeat(32),
            author_name: "calm-otter-3f2a".into(),
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
}
