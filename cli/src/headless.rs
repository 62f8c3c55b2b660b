//! `hearth chat` without a terminal, and `hearth run`: input lines become
//! posts in the first channel ([`input`]), and events are printed as JSON
//! lines (`--json`) or plain text. The node keeps running after the end of
//! input until SIGINT, SIGTERM or SIGHUP; the first signal stops the
//! reading of input, and the node shuts down once every line read is
//! posted.

mod input;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use anyhow::{Context, anyhow};
use hearth_node::NodeHandle;
use hearth_protocol::ChannelName;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;

use self::input::{InputTask, Poster};
use crate::json::{self, JsonEvent};
use crate::time;

/// SIGINT, SIGTERM and SIGHUP (the terminal closed), caught so that each
/// shuts the node down cleanly, keeping everything typed, instead of
/// killing the process.
#[derive(Debug)]
pub(crate) struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hang_up: Signal,
}

impl Signals {
    /// Starts catching SIGINT, SIGTERM and SIGHUP. Call before starting the
    /// node, so a signal during start-up is not lost.
    pub(crate) fn new() -> anyhow::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            hang_up: signal(SignalKind::hangup()).context("cannot catch SIGHUP")?,
        })
    }

    /// Waits for the next signal and returns its name.
    pub(crate) async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hang_up.recv() => "SIGHUP",
        }
    }
}

/// Prints events on standard output, each `listening` address and `joined`
/// channel once. JSON lines are flushed as they are written.
#[derive(Debug)]
pub(crate) struct Printer {
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
    pub(crate) fn new(json: bool, show_posts: bool) -> Self {
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
    pub(crate) fn print(&mut self, event: &JsonEvent) -> io::Result<()> {
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
pub(crate) fn plain(event: &JsonEvent) -> Option<String> {
    render(event, time::date_time)
}

/// [`plain`] with the times of posts written by `stamp`.
pub(crate) fn render(event: &JsonEvent, stamp: fn(u64) -> String) -> Option<String> {
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
        JsonEvent::InputEnd { lines, reason } => {
            let s = if *lines == 1 { "" } else { "s" };
            match reason.as_str() {
                "end" => format!("* end of input: {lines} line{s} read"),
                "signal" => format!(
                    "* stopped reading input: {lines} line{s} read, each posted before hearth exits"
                ),
                _ => format!("* stopped reading input after an error: {lines} line{s} read"),
            }
        }
        JsonEvent::Paced {
            channel, queued: 0, ..
        } => format!("* every line you wrote in #{channel} has gone out"),
        JsonEvent::Paced {
            channel,
            queued,
            next_in_ms,
        } => format!(
            "* {} of yours {} in #{channel} so the channel is not flooded; the next goes out in {} s",
            count(*queued, "line"),
            if *queued == 1 { "waits" } else { "wait" },
            next_in_ms.div_ceil(1_000),
        ),
        JsonEvent::Backlog { channel, posts } => format!(
            "* {} you wrote before hearth last stopped {} for peers of #{channel}; {} out \
             when someone is there",
            count(*posts, "post"),
            if *posts == 1 { "waits" } else { "wait" },
            if *posts == 1 { "it goes" } else { "they go" },
        ),
        JsonEvent::BacklogSent {
            channel,
            posts,
            peers,
        } => format!(
            "* {} from last time sent to {} in #{channel}",
            count(*posts, "post"),
            count(*peers, "peer")
        ),
        JsonEvent::PersonaStamping { channel, .. } => format!(
            "* preparing your name in #{channel} (a one-time proof of work, a few seconds); \
             lines typed meanwhile are posted when it is done"
        ),
        JsonEvent::PersonaReady { channel, ms } => {
            format!(
                "* your name in #{channel} is ready ({:.1} s)",
                *ms as f64 / 1000.0
            )
        }
        JsonEvent::ChannelCard(card) => crate::commands::moderator::card_lines(card)
            .iter()
            .map(|l| format!("* {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        // A heartbeat every few minutes is noise in a transcript.
        JsonEvent::ModeratorPresence { .. } => return None,
        JsonEvent::CrisisUpdate {
            id, publisher_name, ..
        } => format!(
            "* an update of the crisis lines from {publisher_name} is waiting: \
             `hearth crisis updates` shows it; nothing changes until \
             `hearth crisis accept {}`",
            id.get(..8).unwrap_or(id)
        ),
        JsonEvent::Stopped { pending_posts: 0 } => return None,
        JsonEvent::Stopped { pending_posts } => format!(
            "* stopped: {} of yours {} for peers; {} out the next time hearth runs",
            count(*pending_posts, "post"),
            if *pending_posts == 1 { "waits" } else { "wait" },
            if *pending_posts == 1 {
                "it goes"
            } else {
                "they go"
            },
        ),
        JsonEvent::Error { message } => format!("hearth: {message}"),
        JsonEvent::Report(r) => format!(
            "[{}] #{} report for you as moderator: post {} from {}: {}",
            stamp(r.received_ms),
            r.channel,
            r.post.get(..8).unwrap_or(&r.post),
            r.reporter_name,
            r.reason
        ),
        JsonEvent::Peer { .. } | JsonEvent::ChannelPeers { .. } | JsonEvent::Refused { .. } => {
            return None;
        }
    })
}

/// `1 post`, `3 posts`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// How the headless loop behaves.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Print JSON lines instead of text.
    pub json: bool,
    /// Post each line of standard input to the first channel.
    pub read_stdin: bool,
    /// The nickname to put on posts.
    pub nick: Option<String>,
    /// Print posts in plain-text mode (JSON mode always prints them).
    pub show_posts: bool,
    /// Mark every post as written by software (the `automated` label):
    /// standard input is not a terminal, so a program is posting.
    pub automated: bool,
}

/// Joins `channels`, prints events and posts input lines until a signal
/// arrives (or standard output closes). On the first signal, input is no
/// longer read, and this returns once every line read is posted; a second
/// signal gives up on the lines left (they are reported). The caller shuts
/// the node down.
pub(crate) async fn run(
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

    // What the input task has to say comes back here, so that one loop
    // prints everything in order. The channel closes when the task ends.
    let (notices_tx, mut notices) = mpsc::channel::<JsonEvent>(64);
    let input = match (options.read_stdin, channels.first()) {
        (true, Some(channel)) => Some(InputTask::stdin(Poster {
            handle: handle.clone(),
            channel: channel.clone(),
            nick: options.nick.clone(),
            automated: options.automated,
            notices: notices_tx,
        })?),
        _ => None,
    };
    let mut input_open = input.is_some();
    let mut stopping = false;

    let result = loop {
        // Biased: a signal first, then node events before the input task's
        // notices, so a post's `post` line (emitted by the node before it
        // answers the publish) comes before its `sent` line, and every
        // `post` line before the loop ends.
        let line = tokio::select! {
            biased;
            name = signals.recv() => {
                tracing::info!(signal = name, "shutting down");
                match &input {
                    Some(task) if input_open && !stopping => {
                        stopping = true;
                        task.finish();
                    }
                    Some(task) if input_open => task.abandon(),
                    _ => break Ok(()),
                }
                None
            }
            event = events.next() => match event {
                Some(event) => json::from_event(&event),
                None => break Err(anyhow!("the node stopped unexpectedly")),
            },
            notice = notices.recv(), if input_open => match notice {
                Some(notice) => Some(notice),
                None => {
                    input_open = false;
                    if stopping {
                        tracing::debug!("every line read is posted");
                        break Ok(());
                    }
                    None
                }
            },
        };
        if let Some(line) = line
            && let Err(e) = printer.print(&line)
        {
            tracing::info!(error = %e, "standard output closed; shutting down");
            break Ok(());
        }
    };
    drop(input);
    result
}
