//! The figures as one JSON object and as a Markdown table.

use std::fmt::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::procfs::Machine;
use super::{Circuits, Measurement, Memory, Window};

const MIB: f64 = 1024.0 * 1024.0;

/// All runs as one JSON object: the machine, the binary, and per run
/// every figure measured (bytes, ms, seconds, percent of one core).
pub fn json(machine: &Machine, hearth: &Path, runs: &[Measurement]) -> Value {
    json!({
        "machine": {
            "cpu": machine.cpu,
            "cores": machine.cores,
            "memory_bytes": machine.memory,
            "kernel": machine.kernel,
        },
        "hearth": hearth.display().to_string(),
        "runs": runs.iter().map(run).collect::<Vec<_>>(),
    })
}

fn run(m: &Measurement) -> Value {
    json!({
        "connections": m.connections,
        "connected": m.connected,
        "connect_failed": m.connect_failed,
        "first_connect_error": m.first_connect_error,
        "lost": m.lost,
        "first_lost_cause": m.first_lost_cause,
        "retried": m.retried,
        "first_retry_cause": m.first_retry_cause,
        "seen_in_metrics": m.seen_in_metrics,
        "seen_after_window": m.seen_after_window,
        "connect": {
            "seconds": round(m.connect_seconds, 2),
            "cpu_ms": round(m.connect_cpu_ms, 0),
            "cpu_ms_per_connection": m.connect_cpu_ms_per_connection().map(|v| round(v, 2)),
        },
        "idle": memory(&m.idle),
        "window": window(&m.window),
        "dht": {
            "records": m.dht.records,
            "announced": m.dht.announced,
            "announce_failed": m.dht.announce_failed,
            "lookups": m.dht.lookups,
            "records_found": m.dht.records_found,
        },
        "circuits": circuits(&m.circuits),
        "load_average": {
            "before": m.load_before,
            "after": m.load_after,
        },
    })
}

fn memory(m: &Memory) -> Value {
    json!({
        "metrics_rss_bytes": m.metrics_rss,
        "vm_rss_bytes": m.rss,
        "vm_hwm_bytes": m.peak,
    })
}

fn window(w: &Window) -> Value {
    json!({
        "seconds": round(w.seconds, 2),
        "cpu_ms": round(w.cpu_ms, 0),
        "cpu_percent_of_one_core": round(w.cpu_percent, 2),
        "metrics_rss_min_bytes": w.metrics_rss_range.0,
        "metrics_rss_max_bytes": w.metrics_rss_range.1,
        "end": memory(&w.end),
        "pings_ok": w.pings_ok,
        "pings_failed": w.pings_failed,
    })
}

fn circuits(c: &Circuits) -> Value {
    json!({
        "requested": c.requested,
        "unavailable": c.unavailable,
        "reserved": c.reserved,
        "established": c.established,
        "failed": c.failed,
        "first_error": c.first_error,
        "echoes_ok": c.echoes_ok,
        "echoes_failed": c.echoes_failed,
        "bytes": c.bytes,
        "window": c.window.as_ref().map(window),
    })
}

/// A Markdown table, one row per run, with a line on what each column is;
/// a second table for runs that measured circuits.
pub fn markdown(runs: &[Measurement]) -> String {
    let mut out = String::new();
    out.push_str(
        "| connections | idle RSS MiB | RSS MiB | peak RSS MiB | CPU % of one core | \
         CPU ms per connection set-up | provider records held | circuits | load avg (1 min) |\n",
    );
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for m in runs {
        let connections = if m.connected == m.connections {
            m.connections.to_string()
        } else {
            format!("{} of {}", m.connected, m.connections)
        };
        let _ = writeln!(
            out,
            "| {connections} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} of {} | {} | {} |",
            m.idle.rss as f64 / MIB,
            m.window.end.rss as f64 / MIB,
            m.window.end.peak as f64 / MIB,
            m.window.cpu_percent,
            m.connect_cpu_ms_per_connection()
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}")),
            m.dht.records_found,
            m.dht.records,
            circuit_cell(&m.circuits),
            load(m.load_before, m.load_after),
        );
    }
    out.push_str(
        "\nRSS: VmRSS of the node at the end of the window (the node's own \
         process_resident_memory_bytes agrees); peak: VmHWM. CPU %: user + system \
         time of the node during the window over its length. Set-up: the node's CPU \
         time from the first dial until /metrics counted every client, over the \
         connections. Records held: lookups that got the record's provider back.\n",
    );
    let mut problems = String::new();
    for m in runs {
        notes(&mut problems, m);
    }
    if !problems.is_empty() {
        out.push('\n');
        out.push_str(&problems);
    }
    let with_circuits: Vec<_> = runs
        .iter()
        .filter_map(|m| m.circuits.window.as_ref().map(|w| (m, w)))
        .collect();
    if !with_circuits.is_empty() {
        out.push_str(
            "\n| connections | circuits open | RSS MiB | peak RSS MiB | CPU % of one core | \
             echoes ok | KiB relayed |\n|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for (m, w) in with_circuits {
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {} of {} | {:.0} |",
                m.connected,
                m.circuits.established,
                w.end.rss as f64 / MIB,
                w.end.peak as f64 / MIB,
                w.cpu_percent,
                m.circuits.echoes_ok,
                m.circuits.echoes_ok + m.circuits.echoes_failed,
                m.circuits.bytes as f64 / 1024.0,
            );
        }
    }
    out
}

/// A line for each thing that went wrong in a run, so a table never
/// hides it.
fn notes(out: &mut String, m: &Measurement) {
    let n = m.connections;
    if m.connect_failed > 0 {
        let _ = writeln!(
            out,
            "- {n} connections: {} clients could not connect ({})",
            m.connect_failed,
            m.first_connect_error.as_deref().unwrap_or("?")
        );
    }
    if m.retried > 0 {
        let _ = writeln!(
            out,
            "- {n} connections: {} connection attempts failed and were tried again ({})",
            m.retried,
            m.first_retry_cause.as_deref().unwrap_or("?")
        );
    }
    if m.lost > 0 {
        let _ = writeln!(
            out,
            "- {n} connections: {} connections closed during the run ({})",
            m.lost,
            m.first_lost_cause.as_deref().unwrap_or("?")
        );
    }
    if m.seen_in_metrics != m.connected as u64 || m.seen_after_window != m.connected as u64 {
        let _ = writeln!(
            out,
            "- {n} connections: /metrics counted {} peers once connected and {} after the \
             window, for {} clients connected",
            m.seen_in_metrics, m.seen_after_window, m.connected
        );
    }
    if m.window.pings_failed > 0 || m.dht.announce_failed > 0 {
        let _ = writeln!(
            out,
            "- {n} connections: {} pings and {} announcements failed",
            m.window.pings_failed, m.dht.announce_failed
        );
    }
}

fn circuit_cell(c: &Circuits) -> String {
    match (&c.unavailable, c.requested) {
        (_, 0) => "–".to_owned(),
        (Some(why), _) => why.clone(),
        (None, requested) => format!("{} of {requested}", c.established),
    }
}

fn load(before: Option<[f64; 3]>, after: Option<[f64; 3]>) -> String {
    match (before, after) {
        (Some([b, ..]), Some([a, ..])) => format!("{b:.2} → {a:.2}"),
        _ => "?".to_owned(),
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}
