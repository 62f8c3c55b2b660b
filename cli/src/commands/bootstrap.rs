//! `hearth bootstrap` and `hearth bootstrap id`: the operator's node.
//!
//! The node is [`hearth_node::NodeConfig::bootstrap`] with the
//! configuration's addresses and limits. It joins only the `join`
//! channels, prints its own addresses and the metrics address, and never
//! prints peers (whose IP addresses its output has no need of) or posts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use hearth_node::identity::{self, KeySource};
use hearth_node::store::Store;
use hearth_node::{Multiaddr, PeerId};
use libp2p::multiaddr::Protocol;
use serde::Serialize;

use super::node::{Output, serve_control, start_with, stop};
use super::{print, print_json};
use crate::config::Config;
use crate::headless::Signals;
use crate::json;

/// The key file's name in the data directory.
pub(crate) use hearth_node::config::NODE_KEY_FILE;

/// `hearth bootstrap`: runs the operator's node until SIGINT or SIGTERM.
pub(crate) async fn run(config: Config, json: bool) -> anyhow::Result<()> {
    let mut signals = Signals::new()?;
    let handle = start_with(&config, config.bootstrap_node_config()).await?;
    let server = serve_control(&config, &handle);
    let result = async {
        let mut events = handle.events();
        for address in handle.listen_addrs().await? {
            print_event(&json::listening(&address), json)?;
        }
        if let Some(address) = handle.metrics_addr() {
            print_metrics(address, json)?;
        }
        for channel in &config.operator.join {
            let persona = handle
                .join(channel.clone())
                .await
                .with_context(|| format!("cannot join #{channel}"))?;
            print_event(&json::joined(channel, &persona), json)?;
        }
        tracing::info!(
            peer_id = %handle.peer_id(),
            channels = config.operator.join.len(),
            relay = config.operator.relay,
            "bootstrap node running"
        );
        loop {
            tokio::select! {
                name = signals.recv() => {
                    tracing::info!(signal = name, "shutting down");
                    return Ok(());
                }
                event = events.next() => match event {
                    // New addresses (an interface came up) are printed; peers
                    // and posts never are.
                    Some(hearth_node::Event::Listening { address }) => {
                        print_event(&json::listening(&address), json)?;
                    }
                    Some(_) => {}
                    None => return Err(anyhow!("the node stopped unexpectedly")),
                },
            }
        }
    }
    .await;
    stop(handle, server, result, Output::lines(json)).await
}

/// Prints a `listening` or `joined` event as JSON or plain text.
fn print_event(event: &json::JsonEvent, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        print_json(event)
    } else if let Some(line) = crate::headless::plain(event) {
        print(line)
    } else {
        Ok(())
    }
}

/// The `metrics` line: where the endpoint listens.
#[derive(Debug, Serialize)]
struct MetricsJson {
    #[serde(rename = "type")]
    kind: &'static str,
    address: String,
    url: String,
}

/// Prints where the metrics endpoint listens: `{"type":"metrics",…}` or
/// `* metrics on http://…/metrics`.
pub(crate) fn print_metrics(address: SocketAddr, as_json: bool) -> anyhow::Result<()> {
    let url = format!("http://{address}/metrics");
    if as_json {
        print_json(&MetricsJson {
            kind: "metrics",
            address: address.to_string(),
            url,
        })
    } else {
        print(format!("* metrics on {url}"))
    }
}

/// What `bootstrap id --json` prints.
#[derive(Debug, Serialize)]
struct IdJson {
    peer_id: String,
    key_file: PathBuf,
    /// The full addresses to publish (`/p2p/<peer id>` at the end).
    addresses: Vec<String>,
    /// False when no `external` address is set and `addresses` are the
    /// listen addresses, which must be replaced by public ones.
    external: bool,
}

/// `hearth bootstrap id`: the peer id and the addresses to publish,
/// without starting the node. The key file is created if missing (from
/// the store's key when an older node kept one there).
pub(crate) fn id(config: &Config, json: bool) -> anyhow::Result<()> {
    crate::logging::create_private_dir(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let path = config.data_dir.join(NODE_KEY_FILE);
    let peer_id = peer_id(&path, config)?;
    let external = !config.external.is_empty();
    let addresses: Vec<String> = if external {
        config.external.clone()
    } else {
        config.bootstrap_listen()
    }
    .into_iter()
    .map(|a| with_p2p(a, peer_id).to_string())
    .collect();
    if json {
        return print_json(&IdJson {
            peer_id: peer_id.to_string(),
            key_file: path,
            addresses,
            external,
        });
    }
    print(format!("peer id: {peer_id}"))?;
    print(format!("key file: {}", path.display()))?;
    if external {
        print("addresses to publish:")?;
    } else {
        print(
            "listen addresses (no --external address is set: publish these with the \
             machine's public IP address or DNS name in place of 0.0.0.0 or ::, like \
             /dns4/hearth.example.org/tcp/4001/p2p/…):",
        )?;
    }
    for address in addresses {
        print(format!("  {address}"))?;
    }
    Ok(())
}

/// The peer id of the key in `path`, creating the file if needed.
fn peer_id(path: &Path, config: &Config) -> anyhow::Result<PeerId> {
    if let Some(key) = identity::load(path)? {
        return Ok(key.public().to_peer_id());
    }
    // An older operator's node kept its key in the store: take it over, so
    // the peer id stays the same.
    let stored = stored_key(config)?;
    let (key, source) = identity::load_or_create(path, stored.as_deref())?;
    match source {
        KeySource::Migrated => tracing::info!(
            path = %path.display(),
            "the store's peer key was written to the key file; the peer id is unchanged"
        ),
        KeySource::Created => tracing::info!(path = %path.display(), "new node key file created"),
        KeySource::Loaded => {}
    }
    Ok(key.public().to_peer_id())
}

/// The peer key an older node kept in the store, if there is a store.
fn stored_key(config: &Config) -> anyhow::Result<Option<Vec<u8>>> {
    let dir = config.store_dir();
    if !dir.exists() {
        return Ok(None);
    }
    let store = Store::open(&dir, 1024 * 1024).with_context(|| {
        format!(
            "cannot open the store in {} to look for a peer key (is a node running on \
             this data directory?)",
            dir.display()
        )
    })?;
    Ok(store.peer_key()?)
}

/// `address` ending in `/p2p/<peer id>`.
fn with_p2p(address: Multiaddr, peer: PeerId) -> Multiaddr {
    if matches!(address.iter().last(), Some(Protocol::P2p(_))) {
        address
    } else {
        address.with(Protocol::P2p(peer))
    }
}
