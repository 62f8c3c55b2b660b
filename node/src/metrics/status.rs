//! Gauges read from the node task's status at each scrape: connected
//! peers, joined channels, stored and pending posts. One status round trip
//! per scrape; the server bounds how long it waits.

use std::sync::Arc;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{mpsc, oneshot};

use super::Metrics;
use super::http::Refresh;
use crate::event::Status;
use crate::handle::Command;

/// The status gauges.
#[derive(Debug)]
pub(crate) struct StatusGauges {
    peers: Gauge,
    channels: Gauge,
    stored: Gauge,
    pending: Gauge,
}

impl StatusGauges {
    /// Registers the gauges in `metrics`.
    pub(crate) fn register(metrics: &mut Metrics) -> Self {
        Self {
            peers: metrics.gauge("peers_connected", "Peers with an open connection"),
            channels: metrics.gauge("channels_joined", "Channels this node is in"),
            stored: metrics.gauge("posts_stored", "Posts in the store"),
            pending: metrics.gauge("posts_pending", "Own posts still waiting for a peer"),
        }
    }

    fn set(&self, status: &Status) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.peers.set(count(status.connected_peers));
        self.channels.set(count(status.channels.len()));
        self.stored.set(count(status.stored_posts));
        self.pending.set(count(status.pending_posts));
    }

    /// A refresh that asks the node for its status. It holds the command
    /// channel weakly, so the metrics endpoint never keeps a node alive
    /// that every handle has let go of.
    pub(crate) fn refresher(self, commands: mpsc::WeakSender<Command>) -> Refresh {
        let gauges = Arc::new(self);
        Arc::new(move || {
            let gauges = Arc::clone(&gauges);
            let commands = commands.clone();
            Box::pin(async move {
                let Some(commands) = commands.upgrade() else {
                    return;
                };
                let (reply, answer) = oneshot::channel();
                let sent = commands.send(Command::Status(reply)).await;
                drop(commands);
                if sent.is_ok()
                    && let Ok(Ok(status)) = answer.await
                {
                    gauges.set(&status);
                }
            })
        })
    }
}
