//! What a cell measured, as one JSON line, and the cells of a run as a
//! Markdown table that puts hearth beside both raw modes.

use serde::{Deserialize, Serialize};

use super::stats::Summary;
use super::{Cell, Mode};

/// The figures of one cell. Per-node figures divide the process's totals
/// by the number of nodes; "per post per node" divides by the posts
/// published times the nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellReport {
    /// What ran.
    pub cell: Cell,
    /// How many nodes published.
    pub publishers: usize,
    /// Posts whose publish call succeeded.
    pub published: usize,
    /// Publish calls that failed.
    pub publish_failures: usize,
    /// Arrivals expected: every published post at every node but its
    /// publisher.
    pub expected: u64,
    /// Arrivals seen (first arrivals only).
    pub delivered: u64,
    /// `delivered / expected`.
    pub delivery_ratio: f64,
    /// Publish → received (raw) or shown (`Event::Post`, hearth), per
    /// arrival, in ms.
    pub latency_ms: Option<Summary>,
    /// Per post that reached every node: publish → the last node, in ms.
    pub reach_all_ms: Option<Summary>,
    /// Posts that reached every node.
    pub posts_reaching_all: usize,
    /// Posts handed to the application again at a node that had them.
    pub repeats_shown: u64,
    /// Gossip messages a node received again (gossipsub's unfiltered
    /// count minus its filtered count), per post per node.
    pub duplicates_per_post_per_node: f64,
    /// Bytes received on libp2p streams during the publish phase (every
    /// protocol, after noise and yamux framing are removed), per post per
    /// node.
    pub wire_bytes_per_post_per_node: f64,
    /// The same divided by the payload size.
    pub wire_bytes_per_payload_byte: f64,
    /// CPU time of the process (user + system) during the publish phase.
    pub cpu_seconds: f64,
    /// That CPU time per delivered post (arrival), in µs: the CPU one node
    /// spends on one post.
    pub cpu_us_per_delivered_post_per_node: f64,
    /// The process's peak resident memory over its resident memory before
    /// the nodes started, per node, in MiB.
    pub peak_rss_mib_per_node: Option<f64>,
    /// Whether every node reached its mesh size before publishing began.
    pub mesh_formed: bool,
    /// From the first dial to the mesh formed (or the deadline), in ms.
    pub mesh_ms: f64,
    /// How long a publish call took, in ms.
    pub publish_call_ms: Option<Summary>,
    /// From the first publish to the last arrival (or the drain
    /// deadline), in s.
    pub wall_seconds: f64,
}

impl CellReport {
    /// The report as one JSON line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// A row of the table: a name and how to read the figure from a report.
struct Metric {
    name: &'static str,
    read: fn(&CellReport) -> Option<f64>,
    decimals: usize,
}

const METRICS: &[Metric] = &[
    Metric {
        name: "delivered %",
        read: |r| Some(r.delivery_ratio * 100.0),
        decimals: 1,
    },
    Metric {
        name: "latency p50 ms",
        read: |r| r.latency_ms.map(|s| s.p50),
        decimals: 2,
    },
    Metric {
        name: "latency p99 ms",
        read: |r| r.latency_ms.map(|s| s.p99),
        decimals: 2,
    },
    Metric {
        name: "latency max ms",
        read: |r| r.latency_ms.map(|s| s.max),
        decimals: 1,
    },
    Metric {
        name: "reach every node p99 ms",
        read: |r| r.reach_all_ms.map(|s| s.p99),
        decimals: 1,
    },
    Metric {
        name: "CPU µs per post per node",
        read: |r| Some(r.cpu_us_per_delivered_post_per_node),
        decimals: 0,
    },
    Metric {
        name: "publish call p50 ms",
        read: |r| r.publish_call_ms.map(|s| s.p50),
        decimals: 3,
    },
    Metric {
        name: "peak RSS MiB per node",
        read: |r| r.peak_rss_mib_per_node,
        decimals: 2,
    },
    Metric {
        name: "duplicates per post per node",
        read: |r| Some(r.duplicates_per_post_per_node),
        decimals: 2,
    },
    Metric {
        name: "wire bytes per payload byte",
        read: |r| Some(r.wire_bytes_per_payload_byte),
        decimals: 2,
    },
    Metric {
        name: "mesh formed ms",
        read: |r| Some(r.mesh_ms),
        decimals: 0,
    },
];

/// The median of the figures, over seeds.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values.get(mid).copied()
    } else {
        Some((values.get(mid.checked_sub(1)?)? + values.get(mid)?) / 2.0)
    }
}

fn format(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

fn ratio(hearth: Option<f64>, raw: Option<f64>) -> String {
    match (hearth, raw) {
        (Some(h), Some(r)) if r > 0.0 => format!("{:.2}×", h / r),
        _ => "–".to_owned(),
    }
}

/// The reports as a Markdown table: per cell (nodes, rate, size, delay,
/// transport) and metric, the median over seeds of each mode, and
/// hearth's figure as a ratio of each raw mode's.
pub fn markdown(reports: &[CellReport]) -> String {
    let mut groups: Vec<(String, Vec<&CellReport>)> = Vec::new();
    for report in reports {
        let c = &report.cell;
        let key = format!(
            "{}, {}/s, {} B, {} ms, {}{}",
            c.nodes,
            c.rate,
            c.size,
            c.delay_ms,
            c.transport.name(),
            if c.processes { ", processes" } else { "" }
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(report),
            None => groups.push((key, vec![report])),
        }
    }
    let mut out = String::from(
        "| N, rate, size, delay, transport | metric | raw (defaults) | raw (hearth's mesh) | hearth | hearth / raw defaults | hearth / raw hearth's mesh |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for (key, members) in &groups {
        for metric in METRICS {
            let of = |mode: Mode| {
                median(
                    members
                        .iter()
                        .filter(|r| r.cell.mode == mode)
                        .filter_map(|r| (metric.read)(r))
                        .collect(),
                )
            };
            let (raw, raw_hearth, hearth) =
                (of(Mode::RawDefault), of(Mode::RawHearth), of(Mode::Hearth));
            out.push_str(&format!(
                "| {key} | {} | {} | {} | {} | {} | {} |\n",
                metric.name,
                format(raw, metric.decimals),
                format(raw_hearth, metric.decimals),
                format(hearth, metric.decimals),
                ratio(hearth, raw),
                ratio(hearth, raw_hearth),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
