//! `hearth chat` and `hearth run`: the commands that run a node.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, anyhow};
use hearth_node::{NodeBuilder, NodeConfig, NodeHandle};

use crate::config::Config;
use crate::control::{self, ControlServer};
use crate::error::usage;
use crate::headless::{self, Signals};
use crate::logging;

/// How long to keep retrying while another process (a `hearth` command
/// reading the store) briefly holds the store.
const IN_USE_PATIENCE: Duration = Duration::from_secs(5);

/// `hearth chat`: the full-screen chat on a terminal, the headless loop
/// otherwise.
pub async fn chat(config: Config, json: bool) -> anyhow::Result<()> {
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
    let result = if interactive {
        interactive_chat(&config, &handle, &mut signals).await
    } else {
        let options = headless::Options {
            json,
            read_stdin: true,
            nick: config.nick.clone(),
            show_posts: true,
        };
        headless::run(&handle, &config.channels, options, &mut signals).await
    };
    stop(handle, server, result).await
}

/// `hearth run`: a node with no chat interface.
pub async fn run(config: Config, json: bool) -> anyhow::Result<()> {
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
    };
    let result = headless::run(&handle, &config.channels, options, &mut signals).await;
    stop(handle, server, result).await
}

async fn interactive_chat(
    config: &Config,
    handle: &NodeHandle,
    signals: &mut Signals,
) -> anyhow::Result<()> {
    for channel in &config.channels {
        handle
            .join(channel.clone())
            .await
            .with_context(|| format!("cannot join #{channel}"))?;
    }
    let care = crate::care::ChatCare::gather(config);
    let tui = crate::tui::run(
        handle.clone(),
        config.channels.clone(),
        config.nick.clone(),
        care,
    );
    tokio::select! {
        result = tui => result,
        name = signals.recv() => {
            tracing::info!(signal = name, "shutting down");
            Ok(())
        }
    }
}

/// Starts the node on the configuration's data directory, after making sure
/// no other node runs there. Channels are joined later, once the caller
/// listens to events.
async fn start(config: &Config) -> anyhow::Result<NodeHandle> {
    let mut node_config = config.node_config();
    node_config.channels.clear();
    start_with(config, node_config).await
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

/// Closes the control socket, then shuts the node down (flushing the
/// store), whatever `result` is.
pub(super) async fn stop(
    handle: NodeHandle,
    server: Option<ControlServer>,
    result: anyhow::Result<()>,
) -> anyhow::Result<()> {
    drop(server);
    let closed = handle
        .shutdown()
        .await
        .context("cannot shut the node down cleanly");
    result.and(closed)
}
