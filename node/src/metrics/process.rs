//! The process's own metrics, read from `/proc` at each scrape: resident
//! memory (what the memory connection limit compares with) and uptime.
//! On systems without `/proc` they are left out, never reported as zero.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// Adds `process_resident_memory_bytes` and `process_uptime_seconds`.
#[derive(Debug)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        if let Some(bytes) = resident_bytes() {
            let gauge = ConstGauge::new(i64::try_from(bytes).unwrap_or(i64::MAX));
            let metric = encoder.encode_descriptor(
                "process_resident_memory",
                "Resident memory size of the process in bytes.",
                Some(&Unit::Bytes),
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        if let Some(seconds) = uptime_seconds() {
            let gauge = ConstGauge::new(seconds);
            let metric = encoder.encode_descriptor(
                "process_uptime",
                "Time since the process started in seconds.",
                Some(&Unit::Seconds),
                gauge.metric_type(),
            )?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

/// Resident pages (`/proc/self/statm`, second field) times the page size.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages = parse_statm_resident(&statm)?;
    let page_size = sysconf(nix::unistd::SysconfVar::PAGE_SIZE)?;
    pages.checked_mul(page_size)
}

/// Seconds since boot (`/proc/uptime`) minus the process's start in clock
/// ticks since boot (`/proc/self/stat`, field 22): no wall clock involved,
/// so a clock step does not change it.
fn uptime_seconds() -> Option<f64> {
    let since_boot = std::fs::read_to_string("/proc/uptime").ok()?;
    let since_boot: f64 = since_boot.split_whitespace().next()?.parse().ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let start_ticks = parse_stat_start(&stat)?;
    let ticks_per_second = sysconf(nix::unistd::SysconfVar::CLK_TCK)?;
    if ticks_per_second == 0 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let started = start_ticks as f64 / ticks_per_second as f64;
    Some((since_boot - started).max(0.0))
}

fn sysconf(variable: nix::unistd::SysconfVar) -> Option<u64> {
    let value = nix::unistd::sysconf(variable).ok()??;
    u64::try_from(value).ok()
}

fn parse_statm_resident(statm: &str) -> Option<u64> {
    statm.split_whitespace().nth(1)?.parse().ok()
}

/// Field 22 of `/proc/self/stat`. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself, so fields are
/// counted from the last `)`.
fn parse_stat_start(stat: &str) -> Option<u64> {
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    // Field 3 (the state) is the first after the name.
    after_name.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn proc_files_are_parsed_by_their_fields() {
        assert_eq!(
            parse_statm_resident("5473 1201 788 226 0 1302 0\n"),
            Some(1201)
        );
        assert_eq!(parse_statm_resident("5473"), None);
        let stat = "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1048 0 0 0 3 1 0 0 20 0 \
                    1 0 987654 10182656 1201 18446744073709551615";
        assert_eq!(parse_stat_start(stat), Some(987_654));
        assert_eq!(parse_stat_start("4242 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_has_memory_and_an_uptime() {
        if !std::path::Path::new("/proc/self/statm").exists() {
            return;
        }
        assert!(resident_bytes().unwrap() > 1024 * 1024);
        assert!(uptime_seconds().unwrap() >= 0.0);
    }
}
