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
//! However the window ends (`/quit`, Ctrl+C or Ctrl+D on an empty line, a
//! signal such as SIGHUP when the terminal is closed, the terminal failing)
//! the same things happen in order: input stops, every post typed and not
//! yet handed to the node is handed over (the node signs them, and its
//! shutdown waits for them and keeps them in the store), a last line in
//! the window says what is still being signed, and the terminal is
//! restored. It is restored on a panic too.

mod clock;
mod commands;
pub mod state;
mod test_clock;
pub mod view;

use std::future::Future;
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::{
    DisableBracketedPaste, EnableBracketedPaste, Event as TermEvent, EventStream,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::stream::FuturesOrdered;
use futures::{FutureExt as _, StreamExt as _};
use hearth_node::{
    Event, EventStream as NodeEvents, HistoryQuery, NodeHandle, Origin, PersonaInfo, PostOptions,
    PostRecord,
};
use hearth_protocol::ChannelName;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

pub use self::clock::Zone;
use self::state::{Action, App, NodeEvent, Outcome, PeerSummary, Persona, Record};
use self::test_clock::window_now_ms;

/// Most queued events handled between two drawings, so a flood of posts
/// is drawn once rather than once per post.
const DRAIN_BATCH: usize = 256;

/// Runs the chat window until the person quits or `stop` (a signal)
/// fires.
///
/// The node is already running and `channels` are joined; the first of
/// them is shown first. `events` was subscribed before the channels were
/// joined, so nothing the joins said is missed. `nick` is the nickname put
/// on posts until `/nick` changes it; `care` brings the crisis card, the
/// folding choices and whether to say the honest limits. Returns once every
/// post typed has been handed to the node, and says how many were: the
/// caller shuts the node down, which waits for their proof of work and
/// keeps them.
pub async fn run(
    handle: NodeHandle,
    channels: Vec<ChannelName>,
    nick: Option<String>,
    care: crate::care::ChatCare,
    events: NodeEvents,
    stop: impl Future<Output = &'static str>,
) -> anyhow::Result<Closed> {
    let mut app = App::new(Zone::from_system(), window_now_ms(), nick);
    app.set_care(care);
    load_initial(&handle, &channels, &mut app).await;
    app.care_welcome();

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
    let ended = event_loop(&mut screen, &mut app, events, outcomes, &mut worker, stop).await;
    // Whatever ended the window, what was typed goes to the node.
    let signing = worker.unanswered();
    if signing > 0 {
        app.closing(signing);
        // The terminal may be gone (SIGHUP): drawing is best effort.
        let _ = screen.terminal.draw(|frame| view::draw(frame, &mut app));
    }
    let unsaved = worker.finish().await;
    drop(screen);
    // Logged whatever ended the window, a failing terminal included: the
    // log is where a person (and the tests) learn what was still signing.
    let reason = match &ended {
        Ok(Ending::Quit) => "quit",
        Ok(Ending::Signal(name)) => *name,
        Ok(Ending::TerminalGone) => "the terminal is gone",
        Err(_) => "the terminal failed",
    };
    tracing::info!(
        reason,
        signing,
        unsaved = unsaved.len(),
        "chat window closed"
    );
    ended?;
    Ok(Closed { signing, unsaved })
}

/// How the chat window ended.
#[derive(Debug, Default)]
pub struct Closed {
    /// Posts handed to the node whose proof of work was still being stamped.
    pub signing: usize,
    /// Posts that could not be handed over (the node had stopped): their
    /// texts, so they can be shown rather than lost.
    pub unsaved: Vec<String>,
}

/// Why the event loop ended.
#[derive(Debug)]
enum Ending {
    /// The person quit.
    Quit,
    /// A signal arrived.
    Signal(&'static str),
    /// The terminal is gone.
    TerminalGone,
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
    let names: Vec<ChannelName> = app.channels.iter().map(|c| c.name.clone()).collect();
    for channel in names {
        let outcome = card_outcome(handle, channel).await;
        app.on_outcome(outcome);
    }
    app.switch_to(0);
    app.welcome();
    // Updates that arrived while the window was closed.
    if let Ok(updates) = handle.crisis_updates().await {
        for info in updates.iter().filter(|u| !u.accepted) {
            app.on_event(crisis_waiting(info));
        }
    }
}

/// The notice that a crisis line update waits for review.
fn crisis_waiting(info: &hearth_node::crisis::CrisisUpdateInfo) -> NodeEvent {
    NodeEvent::CrisisUpdateWaiting {
        publisher: info.update.publisher.name(),
        id: info.id.short(),
    }
}

async fn event_loop(
    screen: &mut Screen,
    app: &mut App,
    mut events: NodeEvents,
    mut outcomes: mpsc::UnboundedReceiver<Outcome>,
    worker: &mut Worker,
    stop: impl Future<Output = &'static str>,
) -> anyhow::Result<Ending> {
    let mut terminal_events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut node_open = true;
    tokio::pin!(stop);
    loop {
        screen
            .terminal
            .draw(|frame| view::draw(frame, app))
            .context("cannot draw the chat window")?;
        let mut actions = Vec::new();
        tokio::select! {
            // A signal first: nothing more is read once it came.
            name = &mut stop => return Ok(Ending::Signal(name)),
            input = terminal_events.next() => match input {
                Some(Ok(event)) => actions.extend(on_terminal_event(app, event)),
                Some(Err(e)) => return Err(e).context("cannot read the terminal"),
                // The terminal is gone: nothing more can be typed.
                None => return Ok(Ending::TerminalGone),
            },
            event = events.next(), if node_open => {
                node_open = on_node_event(app, event);
            }
            Some(outcome) = outcomes.recv() => actions.extend(app.on_outcome(outcome)),
            _ = tick.tick() => app.tick(window_now_ms()),
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
        // Every action is carried out before quitting: a line sent just
        // before /quit is handed to the node like the others.
        let mut quit = false;
        for action in actions {
            match action {
                Action::Quit => quit = true,
                Action::Redraw => screen.terminal.clear().context("cannot redraw")?,
                other => worker.start(other),
            }
        }
        if quit || app.quit {
            return Ok(Ending::Quit);
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
        Event::Report(r) => NodeEvent::Report {
            channel: r.channel,
            post: r.post,
            reason: r.reason,
            reporter: r.reporter.name(),
        },
        Event::Backlog { channel, posts } => NodeEvent::Backlog { channel, posts },
        Event::Paced {
            channel, queued, ..
        } => NodeEvent::Paced { channel, queued },
        Event::BacklogSent { channel, posts, .. } => NodeEvent::BacklogSent { channel, posts },
        Event::PersonaStamping { channel, .. } => NodeEvent::PersonaStamping { channel },
        Event::PersonaReady { channel, elapsed } => NodeEvent::PersonaReady { channel, elapsed },
        Event::ChannelCard(info) => NodeEvent::ChannelCard(Box::new(card_view(&info))),
        Event::ModeratorPresence { channel, at_ms, .. } => {
            NodeEvent::ModeratorPresence { channel, at_ms }
        }
        Event::CrisisUpdate(info) => crisis_waiting(&info),
        _ => return None,
    })
}

/// Carries actions out against the node off the drawing loop. Posts go
/// through one queue and are handed to the node in the order they were
/// written, each without waiting for the proof of work of the one before
/// (the node dates them in that order); their answers come back in that
/// order too. Other requests run side by side. Dropping the worker stops
/// its tasks; [`Worker::finish`] first hands over every post queued.
struct Worker {
    handle: NodeHandle,
    outcomes: mpsc::UnboundedSender<Outcome>,
    posts: Option<mpsc::UnboundedSender<(ChannelName, state::Draft)>>,
    /// Posts queued or handed over whose answer has not come back.
    unanswered: Arc<AtomicUsize>,
    publisher: JoinHandle<Vec<String>>,
    tasks: JoinSet<()>,
}

impl Worker {
    fn new(handle: NodeHandle, outcomes: mpsc::UnboundedSender<Outcome>) -> Self {
        let (posts, queue) = mpsc::unbounded_channel::<(ChannelName, state::Draft)>();
        let unanswered = Arc::new(AtomicUsize::new(0));
        let publisher = tokio::spawn(publish(
            handle.clone(),
            queue,
            outcomes.clone(),
            Arc::clone(&unanswered),
        ));
        Self {
            handle,
            outcomes,
            posts: Some(posts),
            unanswered,
            publisher,
            tasks: JoinSet::new(),
        }
    }

    fn start(&mut self, action: Action) {
        // Reap finished tasks so the set does not grow.
        while self.tasks.try_join_next().is_some() {}
        if let Action::Publish { channel, draft } = action {
            let queued = match &self.posts {
                Some(posts) => posts.send((channel, draft)).map_err(|e| e.0),
                None => Err((channel, draft)),
            };
            match queued {
                Ok(()) => {
                    self.unanswered.fetch_add(1, Ordering::SeqCst);
                }
                Err((channel, draft)) => {
                    let _ = self.outcomes.send(Outcome::PublishFailed {
                        channel,
                        draft,
                        error: "the sender has stopped".to_owned(),
                    });
                }
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

    /// Posts queued or handed to the node whose answer has not come back:
    /// at the end, those still being signed.
    fn unanswered(&self) -> usize {
        self.unanswered.load(Ordering::SeqCst)
    }

    /// Hands every queued post to the node and stops. Returns the texts of
    /// posts that could not be handed over (the node had stopped).
    async fn finish(mut self) -> Vec<String> {
        self.posts = None;
        self.tasks.abort_all();
        match (&mut self.publisher).await {
            Ok(unsaved) => unsaved,
            Err(e) => {
                tracing::error!(error = %e, "the post queue failed");
                Vec::new()
            }
        }
    }
}

/// The post queue: hands each post to the node as it comes, and sends the
/// answers back in order. Once the queue is closed and everything in it
/// handed over, it ends without waiting for answers (the node keeps the
/// posts), returning the texts of posts the node could not take.
async fn publish(
    handle: NodeHandle,
    mut queue: mpsc::UnboundedReceiver<(ChannelName, state::Draft)>,
    answers: mpsc::UnboundedSender<Outcome>,
    unanswered: Arc<AtomicUsize>,
) -> Vec<String> {
    let mut waiting = FuturesOrdered::new();
    let mut unsaved = Vec::new();
    loop {
        tokio::select! {
            biased;
            next = queue.recv() => {
                let Some((channel, draft)) = next else { break };
                let options = PostOptions {
                    text: draft.text.clone(),
                    reply_to: draft.reply_to,
                    content_warning: draft.content_warning.clone(),
                    nickname: draft.nickname.clone(),
                    expires_in: None,
                };
                match handle.submit(channel.clone(), options).await {
                    Ok(submitted) => waiting.push_back(async move {
                        (channel, draft, submitted.await)
                    }),
                    Err(e) => {
                        tracing::info!(error = %e, %channel, "post not handed over");
                        unsaved.push(draft.text.clone());
                        unanswered.fetch_sub(1, Ordering::SeqCst);
                        let _ = answers.send(Outcome::PublishFailed {
                            channel,
                            draft,
                            error: crate::error::one_line(&anyhow::Error::new(e)),
                        });
                    }
                }
            }
            Some((channel, draft, result)) = waiting.next(), if !waiting.is_empty() => {
                unanswered.fetch_sub(1, Ordering::SeqCst);
                let outcome = match result {
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
                let _ = answers.send(outcome);
            }
        }
    }
    unsaved
}

/// The card of a channel and its moderators' last heartbeat, as the node
/// holds them; a failed lookup is just no card (the next one arrives as an
/// event).
async fn card_outcome(handle: &NodeHandle, channel: ChannelName) -> Outcome {
    let card = match handle.channel_card(channel.clone()).await {
        Ok(card) => card.map(|info| Box::new(card_view(&info))),
        Err(e) => {
            tracing::info!(error = %e, %channel, "cannot read the channel card");
            None
        }
    };
    let last_heard_ms = handle
        .moderator_presence(channel.clone())
        .await
        .ok()
        .and_then(|p| p.last_heard_ms());
    Outcome::Card {
        channel,
        card,
        last_heard_ms,
    }
}

/// A card as the window shows it.
fn card_view(info: &hearth_node::cards::CardInfo) -> state::CardView {
    let c = &info.card;
    state::CardView {
        channel: c.channel.clone(),
        founder_name: c.founder.name(),
        trust: info.trust.as_str().to_owned(),
        age: c.age,
        retention_days: c.retention_days,
        moderators: c.declared_moderators().iter().map(|k| k.name()).collect(),
        rules: c.rules.clone(),
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
        Action::Card(channel) => card_outcome(handle, channel).await,
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
        Action::Report {
            channel,
            post,
            reason,
        } => match handle.report(channel.clone(), post, reason).await {
            Ok(sent) => Outcome::Reported {
                post,
                moderators: sent.moderators,
                peers: sent.peers,
            },
            Err(e) => failed(format!("report {} in #{channel}", post.short()), e),
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
