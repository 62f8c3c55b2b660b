//! Smoke tests of the mesh benchmark: the harness run on tiny networks in
//! each mode delivers every post to every node and reports well-formed
//! figures. No figure is judged here (benchmarks print figures; tests
//! never assert times).
#![cfg(target_os = "linux")]

use hearth_tests::mesh_bench::report::markdown;
use hearth_tests::mesh_bench::{Cell, CellReport, Mode, run_cell};

/// Every post reached every node but its publisher, and the figures are
/// there and sane.
fn assert_complete(report: &CellReport) {
    let cell = &report.cell;
    assert_eq!(report.publish_failures, 0, "{report:?}");
    assert_eq!(report.published, cell.posts);
    assert_eq!(report.expected, (cell.posts * (cell.nodes - 1)) as u64);
    assert_eq!(
        report.delivered, report.expected,
        "every post at every node: {report:?}"
    );
    assert_eq!(report.delivery_ratio, 1.0);
    assert_eq!(report.posts_reaching_all, cell.posts);
    let latency = report.latency_ms.expect("latencies");
    assert_eq!(latency.count as u64, report.expected);
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    assert_eq!(
        report.publish_call_ms.expect("publish calls").count,
        cell.posts
    );
    assert!(report.wire_bytes_per_payload_byte > 0.0, "{report:?}");
    assert!(report.duplicates_per_post_per_node >= 0.0);
    assert!(report.cpu_us_per_delivered_post_per_node.is_finite());
    assert_eq!(report.repeats_shown, 0, "a post shown twice: {report:?}");
    assert!(report.mesh_formed, "the mesh did not form: {report:?}");
    // The JSON line reads back as the same report (floats to the last
    // digit aside: serde_json's default float parsing may round it).
    let back: CellReport = serde_json::from_str(&report.json_line()).expect("JSON");
    assert_eq!(back.cell, report.cell);
    assert_eq!(
        (back.expected, back.delivered),
        (report.expected, report.delivered)
    );
    assert_eq!(back.latency_ms.map(|s| s.count), Some(latency.count));
}

async fn smoke(mode: Mode) -> CellReport {
    let mut cell = Cell::small(mode, 4, 8);
    cell.rate = 20.0;
    let report = run_cell(&cell).await.expect("the cell runs");
    assert_complete(&report);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_gossipsub_with_default_settings_delivers_every_post() {
    smoke(Mode::RawDefault).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_gossipsub_with_hearths_mesh_delivers_every_post() {
    smoke(Mode::RawHearth).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hearth_nodes_show_every_post_and_the_table_compares_them() {
    let hearth = smoke(Mode::Hearth).await;
    let raw = smoke(Mode::RawHearth).await;
    let table = markdown(&[raw, hearth]);
    let rows: Vec<&str> = table.lines().collect();
    // A header, a separator and one row per metric, each with 7 cells.
    assert!(rows.len() > 3, "{table}");
    for row in &rows {
        assert_eq!(row.matches('|').count(), 8, "{row}");
    }
    let delivered = rows
        .iter()
        .find(|r| r.contains("delivered %"))
        .expect("a delivery row");
    assert!(
        delivered.ends_with("| delivered % | – | 100.0 | 100.0 | – | 1.00× |"),
        "{delivered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_cross_delayed_links() {
    let mut cell = Cell::small(Mode::RawHearth, 4, 5);
    cell.delay_ms = 25;
    let report = run_cell(&cell).await.expect("the cell runs");
    assert_complete(&report);
}

/// Runs the program with `args` and returns its reports, each checked.
fn program(args: &[&str]) -> (Vec<CellReport>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mesh-bench"))
        .args(args)
        .output()
        .expect("mesh-bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    let reports: Vec<CellReport> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a report line"))
        .collect();
    for report in &reports {
        assert_complete(report);
        assert!(report.peak_rss_mib_per_node.is_some());
    }
    (reports, stdout)
}

/// The program itself: one process per cell, JSON lines, then the table.
#[test]
fn the_program_prints_a_report_per_cell_and_a_table() {
    let (reports, stdout) = program(&[
        "--nodes",
        "3",
        "--rate",
        "20",
        "--posts",
        "4",
        "--modes",
        "raw-default,hearth",
    ]);
    assert_eq!(reports.len(), 2, "{stdout}");
    assert!(
        stdout.contains("| 3, 20/s, 300 B, 0 ms, tcp | delivered % |"),
        "{stdout}"
    );
}

/// `--processes`: every node a process of its own, talking to the
/// benchmark in lines; every post still reaches every node.
#[test]
fn every_node_can_run_in_a_process_of_its_own() {
    let (reports, stdout) = program(&[
        "--nodes",
        "3",
        "--rate",
        "20",
        "--posts",
        "4",
        "--modes",
        "raw-hearth,hearth",
        "--processes",
    ]);
    assert_eq!(reports.len(), 2, "{stdout}");
    assert!(reports.iter().all(|r| r.cell.processes));
    assert!(
        stdout.contains("tcp, processes | delivered % |"),
        "{stdout}"
    );
}
