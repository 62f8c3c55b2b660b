//! Prometheus metrics: a [`Metrics`] registry the node's parts record
//! into, and an HTTP endpoint serving it (`GET /metrics` in the OpenMetrics
//! text format, `GET /health`), started by [`crate::NodeBuilder::start`]
//! when [`crate::NodeConfig::metrics`] is set.
//!
//! Every metric is registered before the endpoint starts: the registry is
//! then shared read-only with the server, and the metrics themselves
//! (counters, gauges, families) are cheap handles that the recording side
//! keeps and updates without locks. What is registered today:
//!
//! - `process_resident_memory_bytes` and `process_uptime_seconds`, read
//!   from `/proc` at each scrape (absent on systems without it);
//! - `hearth_peers_connected`, `hearth_channels_joined`,
//!   `hearth_posts_stored` and `hearth_posts_pending`, asked of the node
//!   task at each scrape (one status round trip, bounded by a timeout);
//! - what the node task records as it goes (see `metrics/node.rs`):
//!   libp2p's metrics (`libp2p_swarm_…`, `libp2p_identify_…`,
//!   `libp2p_kad_…`, `libp2p_ping_…`, `libp2p_relay_…`, `libp2p_dcutr_…`,
//!   `libp2p_gossipsub_…`), the bandwidth (`libp2p_bandwidth_bytes_total`),
//!   gossipsub's per-topic metrics for joined channels (`gossipsub_…`),
//!   and hearth's connections, denials by limit, relay reservations and
//!   circuits, hole punches, announced addresses and DHT records and
//!   requests (`hearth_…`).
//!
//! Names given to [`Metrics::counter`], [`Metrics::gauge`] and the family
//! functions get the `hearth_` prefix; counters also get `_total`. Help
//! texts are given without a final period (the encoder adds one).
//! [`Metrics::registry_mut`] is the root, for libp2p's own metrics
//! (`libp2p_metrics::Metrics::new`, which adds `libp2p_`).

use std::fmt;
use std::hash::Hash;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub mod exposition;
pub(crate) mod http;
pub(crate) mod node;
mod process;
pub(crate) mod status;

pub use prometheus_client;

/// The content type of `GET /metrics`, as prometheus-client documents for
/// its text encoder.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The prefix of hearth's own metric names.
pub const PREFIX: &str = "hearth";

/// A registry of metrics, filled while the node is built and then served.
pub struct Metrics {
    registry: Registry,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry holding the process metrics.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(process::ProcessCollector));
        Self { registry }
    }

    /// The root registry, without a prefix: for libp2p's metrics and the
    /// swarm builder's bandwidth metrics.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Registers a counter `hearth_<name>_total`.
    pub fn counter(&mut self, name: &str, help: &str) -> Counter {
        let counter = Counter::default();
        self.registry
            .register(prefixed(name), help, counter.clone());
        counter
    }

    /// Registers a gauge `hearth_<name>`.
    pub fn gauge(&mut self, name: &str, help: &str) -> Gauge {
        let gauge = Gauge::default();
        self.registry.register(prefixed(name), help, gauge.clone());
        gauge
    }

    /// Registers a family of counters `hearth_<name>_total`, one per label
    /// set (keep the label values few: a peer id is not a label).
    pub fn counter_family<L>(&mut self, name: &str, help: &str) -> Family<L, Counter>
    where
        L: EncodeLabelSet + Clone + Hash + Eq + fmt::Debug + Send + Sync + 'static,
    {
        let family = Family::<L, Counter>::default();
        self.registry.register(prefixed(name), help, family.clone());
        family
    }

    /// Registers a family of gauges `hearth_<name>`, one per label set.
    pub fn gauge_family<L>(&mut self, name: &str, help: &str) -> Family<L, Gauge>
    where
        L: EncodeLabelSet + Clone + Hash + Eq + fmt::Debug + Send + Sync + 'static,
    {
        let family = Family::<L, Gauge>::default();
        self.registry.register(prefixed(name), help, family.clone());
        family
    }

    /// The current values in the OpenMetrics text format, as `GET
    /// /metrics` serves them.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        encode(&self.registry)
    }

    /// The registry, for serving.
    pub(crate) fn into_registry(self) -> Registry {
        self.registry
    }
}

fn prefixed(name: &str) -> String {
    format!("{PREFIX}_{name}")
}

/// `registry` in the OpenMetrics text format, ending with `# EOF`.
pub(crate) fn encode(registry: &Registry) -> Result<String, fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn registered_metrics_are_encoded_with_the_prefix_and_parse() {
        #[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
        struct Why {
            reason: String,
        }
        let mut metrics = Metrics::new();
        let received = metrics.counter("posts_received", "Posts received");
        let peers = metrics.gauge("example_peers", "Peers");
        let refused = metrics.counter_family::<Why>("posts_refused", "Posts refused");
        received.inc_by(3);
        peers.set(2);
        refused
            .get_or_create(&Why {
                reason: "forged \"sig\"".into(),
            })
            .inc();
        let text = metrics.encode().unwrap();
        let families = exposition::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let value = |name: &str| exposition::value(&families, name, &[]);
        assert_eq!(value("hearth_posts_received_total"), Some(3.0), "{text}");
        assert_eq!(value("hearth_example_peers"), Some(2.0), "{text}");
        assert_eq!(
            exposition::value(
                &families,
                "hearth_posts_refused_total",
                &[("reason", "forged \"sig\"")]
            ),
            Some(1.0),
            "{text}"
        );
        if std::path::Path::new("/proc/self/statm").exists() {
            assert!(
                value("process_resident_memory_bytes").unwrap() > 1e6,
                "{text}"
            );
            assert!(value("process_uptime_seconds").unwrap() >= 0.0, "{text}");
        }
    }
}
