//! The lab's figures as JSON and as the Markdown table of
//! `docs/threat-model.md`.

use serde_json::{Value, json};

use super::Outcome;

/// The `q` quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // The smallest rank r (1-based) with r >= q * n.
    let wanted = q.clamp(0.0, 1.0) * sorted.len() as f64;
    let rank = (1..=sorted.len())
        .find(|r| *r as f64 >= wanted)
        .unwrap_or(sorted.len());
    sorted.get(rank - 1).copied()
}

/// One JSON object per attack.
pub fn json(outcome: &Outcome) -> Value {
    let shown: serde_json::Map<String, Value> = outcome
        .hostile_shown
        .iter()
        .map(|(name, n)| (name.clone(), json!(n)))
        .collect();
    json!({
        "attack": outcome.attack.name(),
        "honest_expected": outcome.honest_expected,
        "honest_delivered": outcome.honest_delivered,
        "delivery": outcome.delivery(),
        "latency_p50_ms": quantile(&outcome.latencies_ms, 0.5),
        "latency_p99_ms": quantile(&outcome.latencies_ms, 0.99),
        "slowest": outcome.slowest.iter().map(|p| json!({
            "author": p.author,
            "reader": p.reader,
            "written_ms": p.written_ms,
            "latency_ms": p.latency_ms,
        })).collect::<Vec<_>>(),
        "hostile_shown": shown,
        "victim_peak_mib": outcome.victim_peak_mib,
        "victim_store_mib": outcome.victim_store_mib,
        "late_joiner_in_ms": outcome.late_joiner_in.map(|d| d.as_secs_f64() * 1000.0),
        "honest_crashed": outcome.honest_crashed,
        "attacker": {
            "personas": outcome.attacker.personas,
            "ids": outcome.attacker.ids,
            "sent": outcome.attacker.sent,
            "established": outcome.attacker.established,
            "established_after_ban": outcome.attacker.established_after_ban,
            "first_closed_ms": outcome.attacker.first_closed.map(|d| d.as_secs_f64() * 1000.0),
            "dials_failed": outcome.attacker.dials_failed,
        },
    })
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"))
}

/// The Markdown table: one row per attack.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| attack | attacker sent (personas, ids) | honest delivered | honest p50 / p99 ms | hostile shown h1 / v / h3 | v peak RSS MiB | v store MiB | attacker first cut off | late joiner in |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let shown: Vec<String> = o.hostile_shown.iter().map(|(_, n)| n.to_string()).collect();
        out.push_str(&format!(
            "| {} | {} ({}, {}) | {:.1} % ({}/{}) | {} / {} | {} | {:.0} | {:.1} | {} | {} |\n",
            o.attack.name(),
            o.attacker.sent,
            o.attacker.personas,
            o.attacker.ids,
            o.delivery() * 100.0,
            o.honest_delivered,
            o.honest_expected,
            ms(quantile(&o.latencies_ms, 0.5)),
            ms(quantile(&o.latencies_ms, 0.99)),
            shown.join(" / "),
            o.victim_peak_mib,
            o.victim_store_mib,
            o.attacker.first_closed.map_or_else(
                || "never".to_owned(),
                |d| format!("{:.1} s", d.as_secs_f64())
            ),
            o.late_joiner_in
                .map_or_else(|| "no".to_owned(), |d| format!("{:.1} s", d.as_secs_f64())),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), Some(50.0));
        assert_eq!(quantile(&values, 0.99), Some(99.0));
        assert_eq!(quantile(&values, 1.0), Some(100.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
