//! N hearth nodes through the embedding API (`hearth_node::Node`), each
//! with the in-memory store, its metrics endpoint on loopback, the
//! cheapest proof of work the configuration allows (none) and the
//! per-author and per-peer rate limits lifted, as the node's own bench
//! does: the benchmark measures the cost of hearth's layer, not its flood
//! limits.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use hearth_node::metrics::exposition;
use hearth_node::{Event, Multiaddr, Node, NodeHandle, NodeLimits, Rate};
use hearth_protocol::{ChannelName, NetworkId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::Transport;
use super::run::Recorder;

/// One hearth node and the task that hands its shown posts to the
/// recorder.
pub struct HearthNode {
    /// The node.
    pub handle: NodeHandle,
    /// Its listen address (without `/p2p/`).
    pub listen: Multiaddr,
    metrics: SocketAddr,
    shown: JoinHandle<()>,
}

impl Drop for HearthNode {
    fn drop(&mut self) {
        self.shown.abort();
    }
}

/// The channel every node joins.
pub fn bench_channel() -> anyhow::Result<ChannelName> {
    ChannelName::parse("mesh-bench").map_err(|e| anyhow!("channel: {e}"))
}

impl HearthNode {
    /// Starts node `index` in `network`, listening on loopback over
    /// `transport`, joined to the benchmark channel; every post it shows
    /// goes to `recorder`.
    pub async fn start(
        index: usize,
        network: &NetworkId,
        transport: Transport,
        recorder: Arc<Recorder>,
    ) -> anyhow::Result<HearthNode> {
        let unlimited = Rate {
            per_minute: u32::MAX,
            burst: u32::MAX,
        };
        // Lifted, as in the node's own bench: the flood limits would
        // (rightly) cut a publishing persona off; no persona stamp, so the
        // nodes start at once.
        let limits = NodeLimits {
            per_persona: unlimited,
            newcomer: unlimited,
            per_peer_kib: unlimited,
            persona_stamp_bits: 0,
            ..NodeLimits::default()
        };
        let handle = Node::builder()
            .in_memory()
            .listen(transport.listen_addr())
            .mdns(false)
            .network(network.clone())
            .announce_private(true)
            .limits(limits)
            .metrics(SocketAddr::from(([127, 0, 0, 1], 0)))
            .start()
            .await
            .context("hearth node starts")?;
        let mut events = handle.events();
        handle.join(bench_channel()?).await.context("join")?;
        let listen = handle
            .listen_addrs()
            .await
            .context("listen addresses")?
            .into_iter()
            .next()
            .context("the node listens")?;
        let metrics = handle.metrics_addr().context("a metrics endpoint")?;
        let shown = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let Event::Post(record) = event {
                    recorder.record(index, record.post.body.as_bytes());
                }
            }
        });
        Ok(HearthNode {
            handle,
            listen,
            metrics,
            shown,
        })
    }

    /// Peers subscribed to the benchmark channel, as the node counts
    /// them: what "mesh formed" waits for on a hearth node. The embedding
    /// API has no mesh count, and gossipsub's mesh gauge is only set at
    /// heartbeats (the first 6 s after start), which would time the first
    /// heartbeat, not the mesh; with flood publishing a post reaches every
    /// subscribed peer anyway.
    pub async fn channel_peers(&self) -> anyhow::Result<usize> {
        let channel = bench_channel()?;
        Ok(self
            .handle
            .channels()
            .await?
            .iter()
            .find(|c| c.channel == channel)
            .map_or(0, |c| c.peers))
    }

    /// The node's metrics, read from its endpoint.
    pub async fn metrics(&self) -> anyhow::Result<Vec<exposition::MetricFamily>> {
        let mut stream = tokio::net::TcpStream::connect(self.metrics)
            .await
            .context("metrics endpoint")?;
        let request = format!(
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.metrics
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .context("an HTTP response")?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(anyhow!("metrics endpoint: {head}"));
        }
        exposition::parse(body).map_err(|e| anyhow!("{e}"))
    }
}
