//! `hearth chat` and `hearth run`: the commands that run a node.

use std::io::{IsTerminal, Write as _};
use std::time::Duration;

use anyhow::{Context, anyhow};
use hearth_node::{Event, NodeBuilder, NodeConfig, NodeHandle};

use crate::config::Config;
use crate::control::{self, ControlServer};
use crate::error::usage;
use crate::headless::{self, Signals};
use crate::json::JsonEvent;
use crate::logging;
use crate::tui::Closed;

/// How long to keep retrying while another process (a `hearth` command
/// reading the store) briefly holds the store.
const IN_USE_PATIENCE: Duration = Duration::from_secs(5);

/// `hearth chat`: the full-screen chat on a terminal, the headless loop
/// otherwise.
pub(crate) async fn chat(config: Config, json: bool) -> anyhow::Result<()> {
    if config.channels.is_empty() {
        usage!(
            "name at least one channel to chat in, like `hearth chat anxiety`, or set `channels` \
             in the config file"
        );
    }
    let interactive = !json && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        logging::to_file(&config.log, &config.log_file())?;
    } else {
        logging::to_stderr(&config.log, config.log_format);
    }
    let mut signals = Signals::new()?;
    let handle = start(&config).await?;
    let server = serve_control(&config, &handle);
    if interactive {
        let closed = interactive_chat(&config, &handle, &mut signals).await;
        let (result, closed) = match closed {
            Ok(closed) => (Ok(()), closed),
            Err(e) => (Err(e), Closed::default()),
        };
        return stop(handle, server, result, Output::Terminal(closed)).await;
    }
    let options = headless::Options {
        json,
        read_stdin: true,
        nick: config.nick.clone(),
        show_posts: true,
        // Lines from a pipe or a file are a program's posts: the protocol
        // asks software that posts automatically to say so.
        automated: !std::io::IsTerminal::is_terminal(&std::io::stdin()),
    };
    let result = headless::run(&handle, &config.channels, options, &mut signals).await;
    stop(handle, server, result, Output::lines(json)).await
}

/// `hearth run`: a node with no chat interface.
pub(crate) async fn run(config: Config, json: bool) -> anyhow::Result<()> {
    let mut signals = Signals::new()?;
    let handle = start(&config).await?;
    let server = serve_control(&config, &handle);
    if let Some(address) = handle.metrics_addr() {
        super::bootstrap::print_metrics(address, json)?;
    }
    let options = headless::Options {
        json,
        read_stdin: false,
        nick: None,
        show_posts: false,
        automated: false,
    };
    let result = headless::run(&handle, &config.channels, options, &mut signals).await;
    stop(handle, server, result, Output::lines(json)).await
}

async fn interactive_chat(
    config: &Config,
    handle: &NodeHandle,
    signals: &mut Signals,
) -> anyhow::Result<Closed> {
    // Subscribed before joining: a join says what waited from last time.
    let events = handle.events();
    for channel in &config.channels {
        handle
            .join(channel.clone())
            .await
            .with_context(|| format!("cannot join #{channel}"))?;
    }
    let care = crate::care::ChatCare::gather(config);
    let stop = async {
        let name = signals.recv().await;
        tracing::info!(signal = name, "shutting down");
        name
    };
    crate::tui::run(
        handle.clone(),
        config.channels.clone(),
        config.nick.clone(),
        care,
        events,
        stop,
    )
    .await
}

/// Starts the node on the configuration's data directory, after making sure
/// no other node runs there. Channels are joined later, once the caller
/// listens to events.
async fn start(config: &Config) -> anyhow::Result<NodeHandle> {
    let mut node_config = config.node_config();
    node_config.channels.clear();
    let handle = start_with(config, node_config).await?;
    // Keys trusted in the configuration, as `hearth crisis trust` would.
    for key in &config.care.crisis_trust {
        handle
            .trust_crisis_key(*key, true)
            .await
            .context("cannot trust a key for crisis line updates")?;
    }
    Ok(handle)
}

/// Starts a node with `node_config` on the configuration's data directory,
/// after making sure no other node runs there.
pub(super) async fn start_with(
    config: &Config,
    node_config: NodeConfig,
) -> anyhow::Result<NodeHandle> {
    logging::create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    control::ensure_no_node(&config.data_dir).await?;
    let started = tokio::time::Instant::now();
    loop {
        match NodeBuilder::from_config(node_config.clone()).start().await {
            Ok(handle) => return Ok(handle),
            Err(e) if control::is_store_in_use(&e) && started.elapsed() < IN_USE_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                control::ensure_no_node(&config.data_dir).await?;
            }
            Err(e) if control::is_store_in_use(&e) => {
                return Err(anyhow!(
                    "another hearth process is using the store in {}; stop it or pass another \
                     --data-dir",
                    config.data_dir.display()
                ));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("cannot start the node")),
        }
    }
}

/// Serves the control socket; without it the node still runs, but other
/// `hearth` commands cannot reach it, so say so.
pub(super) fn serve_control(config: &Config, handle: &NodeHandle) -> Option<ControlServer> {
    match ControlServer::start(&config.data_dir, handle.clone()) {
        Ok(server) => {
            tracing::debug!(path = %server.path().display(), "control socket ready");
            Some(server)
        }
        Err(e) => {
            tracing::warn!(
                "{}; other hearth commands cannot reach this node",
                crate::error::one_line(&e)
            );
            None
        }
    }
}

/// Where the last words go once the node has stopped.
pub(super) enum Output {
    /// JSON lines (`--json`).
    Json,
    /// Plain text lines.
    Plain,
    /// The terminal the chat window was on, with what the window handed
    /// over as it closed.
    Terminal(Closed),
}

impl Output {
    pub(super) fn lines(json: bool) -> Self {
        if json { Output::Json } else { Output::Plain }
    }
}

/// Closes the control socket, then shuts the node down (it waits for posts
/// still being signed and keeps them, and flushes the store), whatever
/// `result` is, and says how many own posts wait for peers.
pub(super) async fn stop(
    handle: NodeHandle,
    server: Option<ControlServer>,
    result: anyhow::Result<()>,
    output: Output,
) -> anyhow::Result<()> {
    drop(server);
    let mut events = handle.events();
    let closed = handle
        .shutdown()
        .await
        .context("cannot shut the node down cleanly");
    // The node's last event says what waits; the stream ends after it.
    let mut pending = None;
    while let Some(event) = events.next().await {
        if let Event::ShutDown { pending_posts } = event {
            pending = Some(pending_posts);
        }
    }
    if let Some(pending_posts) = pending {
        // Standard output may be gone (SIGHUP): the words are best effort.
        let _ = last_words(&output, pending_posts);
    }
    result.and(closed)
}

fn last_words(output: &Output, pending_posts: usize) -> std::io::Result<()> {
    let stopped = JsonEvent::Stopped { pending_posts };
    let mut out = std::io::stdout().lock();
    match output {
        Output::Json => {
            let line = serde_json::to_string(&stopped).map_err(std::io::Error::other)?;
            writeln!(out, "{line}")?;
        }
        Output::Plain => {
            if let Some(text) = headless::plain(&stopped) {
                writeln!(out, "{text}")?;
            }
        }
        Output::Terminal(closed) => {
            if !closed.unsaved.is_empty() {
                writeln!(
                    out,
                    "hearth: the node had stopped, so {} could not be saved; here {}:",
                    headless::count(closed.unsaved.len(), "post"),
                    if closed.unsaved.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    }
                )?;
                for text in &closed.unsaved {
                    writeln!(out, "  {text}")?;
                }
            }
            if pending_posts > 0 {
                // One line of a narrow terminal: under 80 columns.
                writeln!(
                    out,
                    "hearth: {} reached no one yet; {} out when hearth next runs.",
                    headless::count(pending_posts, "post"),
                    if pending_posts == 1 {
                        "it goes"
                    } else {
                        "they go"
                    },
                )?;
            }
        }
    }
    out.flush()
}
