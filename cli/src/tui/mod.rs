//! The full-screen chat window for people at a terminal (ratatui and
//! crossterm).
//!
//! [`run`] sets the terminal up, then loops over three sources: keys and
//! pastes from the terminal, events from the node, and the answers to
//! requests it made of the node. The window's state lives in
//! [`state::App`], which turns each of those into [`state::Action`]s; this
//! module carries the actions out on background tasks so that a slow
//! request (a post with proof of work, a history read) never freezes
//! typing. Drawing is in [`view`], slash commands in `commands`.
//!
//! The terminal is restored however the window ends: on quit, on an
//! error, when the caller drops the future (a signal), and on a panic.

mod clock;
mod commands;
pub mod state;
pub mod view;

use std::io::{self, Stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, EventStream,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::{FutureExt as _, StreamExt as _};
use hearth_node::{
    Event, EventStream as NodeEvents, HistoryQuery, NodeHandle, Origin, PersonaInfo, PostOptions,
    PostRecord,
};
use hearth_protocol::ChannelName;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use self::clock::Zone;
use self::state::{Action, App, NodeEvent, Outcome, PeerSummary, Persona, Record};
use crate::time::now_ms;

/// Most queued events handled between two drawings, so a flood of posts
/// is drawn once rather than once per post.
const DRAIN_BATCH: usize = 256;

/// Runs the chat window until the person quits.
///
/// The node is already running and `channels` are joined; the first of
/// them is shown first. `nick` is the nickname put on posts until `/nick`
/// changes it. Returns when the person quits (`/quit`, Ctrl+C on an empty
/// line), or with an error if the terminal fails; the caller shuts the
/// node down.
pub async fn run(
    handle: NodeHandle,
    channels: Vec<ChannelName>,
    nick: Option<String>,
) -> anyhow::Result<()> {
    // Subscribe before reading anything so that no post falls in between.
    let events = handle.events();
    let mut app = App::new(Zone::from_system(), now_ms(), nick);
    load_initial(&handle, &channels, &mut app).await;

    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let mut worker = Worker::new(handle, outcomes_tx);
    for channel in app
        .channels
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
    {
        worker.start(Action::History {
            channel,
            limit: commands::DEFAULT_HISTORY,
            announce: false,
        });
    }

    let mut screen = Screen::enter().context("cannot set up the terminal")?;
    let result = event_loop(&mut screen, &mut app, events, outcomes, &mut worker).await;
    drop(screen);
    result
}

/// Fills the window with the joined channels, their personas and the
/// connected peers.
async fn load_initial(handle: &NodeHandle, wanted: &[ChannelName], app: &mut App) {
    match handle.channels().await {
        Ok(mut joined) => {
            // The channels asked for come first, in the order asked.
            joined.sort_by_key(|c| {
                wanted
                    .iter()
                    .position(|w| *w == c.channel)
                    .unwrap_or(usize::MAX)
            });
            for info in joined {
                app.add_channel(info.channel, Some(persona(info.persona)), info.peers);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot list channels");
            for channel in wanted {
                app.add_channel(channel.clone(), None, 0);
            }
        }
    }
    for channel in wanted {
        if !app.channels.iter().any(|c| c.name == *channel) {
            app.add_channel(channel.clone(), None, 0);
        }
    }
    if let Ok(peers) = handle.peers().await {
        for peer in peers {
            app.on_event(NodeEvent::PeerConnected(peer.peer.to_string()));
        }
    }
    app.switch_to(0);
    app.welcome();
}

async fn event_loop(
    screen: &mut Screen,
    app: &mut App,
    mut events: NodeEvents,
    mut outcomes: mpsc::UnboundedReceiver<Outcome>,
    worker: &mut Worker,
) -> anyhow::Result<()> {
    let mut terminal_events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut node_open = true;
    loop {
        screen
            .terminal
            .draw(|frame| view::draw(frame, app))
            .context("cannot draw the chat window")?;
        let mut actions = Vec::new();
        tokio::select! {
            input = terminal_events.next() => match input {
                Some(Ok(event)) => actions.extend(on_terminal_event(app, event)),
                Some(Err(e)) => return Err(e).context("cannot read the terminal"),
                // The terminal is gone: nothing more can be typed.
                None => return Ok(()),
            },
            event = events.next(), if node_open => {
                node_open = on_node_event(app, event);
            }
            Some(outcome) = outcomes.recv() => actions.extend(app.on_outcome(outcome)),
            _ = tick.tick() => app.tick(now_ms()),
        }
        // Take whatever else is already waiting before drawing again.
        for _ in 0..DRAIN_BATCH {
            if node_open && let Some(event) = events.next().now_or_never() {
                node_open = on_node_event(app, event);
            } else if let Ok(outcome) = outcomes.try_recv() {
                actions.extend(app.on_outcome(outcome));
            } else {
                break;
            }
        }
        for action in actions {
            match action {
                Action::Quit => return Ok(()),
                Action::Redraw => screen.terminal.clear().context("cannot redraw")?,
                other => worker.start(other),
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// Takes one node event; false once the node has stopped.
fn on_node_event(app: &mut App, event: Option<Event>) -> bool {
    match event {
        Some(event) => {
            if let Some(event) = convert(event) {
                app.on_event(event);
            }
            true
        }
        None => {
            app.on_event(NodeEvent::Stopped);
            false
        }
    }
}

fn on_terminal_event(app: &mut App, event: TermEvent) -> Vec<Action> {
    match event {
        TermEvent::Key(key) => app.on_key(key),
        TermEvent::Paste(text) => {
            app.on_paste(&text);
            Vec::new()
        }
        // A resize only needs the redraw that follows every event.
        _ => Vec::new(),
    }
}

fn persona(info: PersonaInfo) -> Persona {
    Persona {
        name: info.name,
        key: info.key,
    }
}

fn record(record: PostRecord) -> Record {
    Record {
        id: record.id,
        post: record.post,
        own: record.own,
        verdict: record.verdict,
        synced: record.origin == Origin::Sync,
    }
}

/// The node events the window shows; the rest are for logs and tools.
fn convert(event: Event) -> Option<NodeEvent> {
    Some(match event {
        Event::Joined {
            channel,
            persona: p,
        } => NodeEvent::Joined {
            channel,
            persona: persona(p),
        },
        Event::Left { channel } => NodeEvent::Left { channel },
        Event::Post(r) => NodeEvent::Post(Box::new(record(*r))),
        Event::Sent { id, peers, .. } => NodeEvent::Sent { id, peers },
        Event::PeerConnected { peer, .. } => NodeEvent::PeerConnected(peer.to_string()),
        Event::PeerDisconnected { peer } => NodeEvent::PeerDisconnected(peer.to_string()),
        Event::ChannelPeers { channel, peers } => NodeEvent::ChannelPeers { channel, peers },
        Event::Lagged { missed } => NodeEvent::Lagged(missed),
        _ => return None,
    })
}

/// Carries actions out against the node off the drawing loop. Posts go
/// through one queue so they keep the order they were written in; other
/// requests run side by side. Dropping the worker stops its tasks.
struct Worker {
    handle: NodeHandle,
    outcomes: mpsc::UnboundedSender<Outcome>,
    posts: mpsc::UnboundedSender<(ChannelName, state::Draft)>,
    tasks: JoinSet<()>,
}

impl Worker {
    fn new(handle: NodeHandle, outcomes: mpsc::UnboundedSender<Outcome>) -> Self {
        let mut tasks = JoinSet::new();
        let (posts, mut queue) = mpsc::unbounded_channel::<(ChannelName, state::Draft)>();
        let publisher = handle.clone();
        let answers = outcomes.clone();
        tasks.spawn(async move {
            while let Some((channel, draft)) = queue.recv().await {
                let options = PostOptions {
                    text: draft.text.clone(),
                    reply_to: draft.reply_to,
                    content_warning: draft.content_warning.clone(),
                    nickname: draft.nickname.clone(),
                    expires_in: None,
                };
                let outcome = match publisher.publish_with(channel.clone(), options).await {
                    Ok(published) => Outcome::Published {
                        channel,
                        id: published.id,
                        peers: published.peers,
                    },
                    Err(e) => {
                        tracing::info!(error = %e, %channel, "publish failed");
                        Outcome::PublishFailed {
                            channel,
                            draft,
                            error: crate::error::one_line(&anyhow::Error::new(e)),
                        }
                    }
                };
                if answers.send(outcome).is_err() {
                    break;
                }
            }
        });
        Self {
            handle,
            outcomes,
            posts,
            tasks,
        }
    }

    fn start(&mut self, action: Action) {
        // Reap finished tasks so the set does not grow.
        while self.tasks.try_join_next().is_some() {}
        if let Action::Publish { channel, draft } = action {
            if let Err(mpsc::error::SendError((channel, draft))) = self.posts.send((channel, draft))
            {
                let _ = self.outcomes.send(Outcome::PublishFailed {
                    channel,
                    draft,
                    error: "the sender has stopped".to_owned(),
                });
            }
            return;
        }
        let handle = self.handle.clone();
        let outcomes = self.outcomes.clone();
        self.tasks.spawn(async move {
            if let Some(outcome) = perform(&handle, action).await {
                let _ = outcomes.send(outcome);
            }
        });
    }
}

/// One request to the node, and its answer for the window.
async fn perform(handle: &NodeHandle, action: Action) -> Option<Outcome> {
    let failed = |what: String, e: hearth_node::NodeError| {
        tracing::info!(error = %e, what, "request failed");
        Outcome::Failed {
            what,
            error: crate::error::one_line(&anyhow::Error::new(e)),
        }
    };
    Some(match action {
        Action::Join(channel) => match handle.join(channel.clone()).await {
            Ok(info) => Outcome::Joined {
                channel,
                persona: persona(info),
            },
            Err(e) => failed(format!("join #{channel}"), e),
        },
        Action::Leave(channel) => match handle.leave(channel.clone()).await {
            Ok(_) => Outcome::Left { channel },
            Err(e) => failed(format!("leave #{channel}"), e),
        },
        Action::RotatePersona(channel) => match handle.rotate_persona(channel.clone()).await {
            Ok(info) => Outcome::Rotated {
                channel,
                persona: persona(info),
            },
            Err(e) => failed(format!("make a new persona in #{channel}"), e),
        },
        Action::Block { entry, what } => match handle.block(entry.clone()).await {
            Ok(new) => Outcome::Blocked { entry, what, new },
            Err(e) => failed(format!("block {what}"), e),
        },
        Action::Why { id } => match handle.post(id).await {
            Ok(found) => Outcome::Why {
                id,
                record: found.map(|r| Box::new(record(r))),
            },
            Err(e) => failed(format!("look up {}", id.short()), e),
        },
        Action::History {
            channel,
            limit,
            announce,
        } => {
            let query = HistoryQuery {
                since_ms: None,
                limit,
                include_hidden: true,
            };
            match handle.history(channel.clone(), query).await {
                Ok(records) => Outcome::History {
                    channel,
                    records: records.into_iter().map(record).collect(),
                    announce,
                },
                Err(e) if announce => failed(format!("load the history of #{channel}"), e),
                Err(e) => {
                    tracing::info!(error = %e, %channel, "initial history failed");
                    return None;
                }
            }
        }
        Action::Peers => match handle.peers().await {
            Ok(peers) => Outcome::Peers(
                peers
                    .into_iter()
                    .map(|p| PeerSummary {
                        id: p.peer.to_string(),
                        channels: p.channels,
                    })
                    .collect(),
            ),
            Err(e) => failed("list peers".to_owned(), e),
        },
        Action::Publish { .. } | Action::Redraw | Action::Quit => return None,
    })
}

/// Whether the terminal is in chat mode and needs restoring.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// The terminal in chat mode (raw, alternate screen, bracketed paste);
/// restored when dropped.
struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    fn enter() -> io::Result<Self> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_terminal();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
        let set_up = crossterm::execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match set_up {
            Ok(terminal) => {
                // From here on, dropping the screen restores the terminal.
                let mut screen = Self { terminal };
                screen.terminal.clear()?;
                Ok(screen)
            }
            Err(e) => {
                restore_terminal();
                Err(e)
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Puts the terminal back as it was; does nothing if it already is.
fn restore_terminal() {
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = crossterm::execute!(
            io::stdout(),
            DisableBracketedPaste,
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
    }
}
