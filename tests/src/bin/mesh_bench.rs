//! `mesh-bench`: the mesh benchmark. N nodes on loopback publish at a set
//! rate network-wide, in three modes in the same invocation — plain
//! rust-libp2p gossipsub with its defaults (`raw-default`), the same with
//! hearth's mesh settings (`raw-hearth`), and hearth nodes through the
//! embedding API (`hearth`) — and the program prints one JSON line per
//! cell and a Markdown table with hearth's figures as ratios of raw's.
//!
//! ```text
//! cargo run --release -p hearth-tests --bin mesh-bench -- \
//!     --nodes 10,25,50 --rate 10,100 --seeds 1 [--transport tcp|quic] \
//!     [--delay-ms 0,25,100] [--size 300,1024]
//! ```
//!
//! Each cell runs in a fresh process of this program (the hidden `cell`
//! subcommand), so its peak memory and CPU time are its own. See
//! `docs/performance.md`, "The mesh benchmark".

use std::io::Write;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hearth_tests::mesh_bench::control::{CELL_SUBCOMMAND, run_in_child};
use hearth_tests::mesh_bench::ingest::{IngestReport, run_ingest};
use hearth_tests::mesh_bench::process::{NODE_SUBCOMMAND, serve_node};
use hearth_tests::mesh_bench::report::markdown;
use hearth_tests::mesh_bench::{Cell, Mode, Transport, run_cell};

#[derive(Parser)]
#[command(
    name = "mesh-bench",
    about = "hearth against raw gossipsub, side by side"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one cell given as JSON and prints its report (used by the
    /// benchmark itself, one process per cell).
    #[command(name = CELL_SUBCOMMAND, hide = true)]
    Cell {
        /// The cell, as JSON.
        spec: String,
    },
    /// Runs one node and serves the benchmark's lines on standard input
    /// and output (used by `--processes`, one process per node).
    #[command(name = NODE_SUBCOMMAND, hide = true)]
    Node {
        /// raw-default, raw-hearth or hearth.
        mode: Mode,
        /// tcp or quic.
        transport: Transport,
        /// The node's index.
        index: usize,
        /// The cell's seed (the network id).
        seed: u64,
    },
    /// The ingest benchmark: posts per second through decode → validate →
    /// policy → store on one core, beside bare and batch ed25519
    /// verification.
    Ingest {
        /// Posts per measurement.
        #[arg(long, default_value_t = 5_000)]
        posts: usize,
        /// Body bytes per post.
        #[arg(long, default_value_t = 300)]
        size: usize,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Network sizes.
    #[arg(long, value_delimiter = ',', default_values_t = vec![10, 25, 50])]
    nodes: Vec<usize>,
    /// Posts per second, network-wide.
    #[arg(long, value_delimiter = ',', default_values_t = vec![10.0, 100.0])]
    rate: Vec<f64>,
    /// Seeds per cell (topology and publishers); the table shows medians.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// The transport.
    #[arg(long, default_value = "tcp")]
    transport: Transport,
    /// One-way delay of every link in ms (a delaying TCP proxy).
    #[arg(long = "delay-ms", value_delimiter = ',', default_values_t = vec![0])]
    delay_ms: Vec<u64>,
    /// Payload bytes per post.
    #[arg(long, value_delimiter = ',', default_values_t = vec![300])]
    size: Vec<usize>,
    /// The modes to run.
    #[arg(long, value_delimiter = ',', default_values = ["raw-default", "raw-hearth", "hearth"])]
    modes: Vec<Mode>,
    /// Seconds of publishing per cell (posts = rate × seconds).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Posts per cell, instead of rate × seconds.
    #[arg(long)]
    posts: Option<usize>,
    /// Links each node dials to earlier nodes.
    #[arg(long, default_value_t = 3)]
    dials: usize,
    /// The share of nodes that publish.
    #[arg(long, default_value_t = 0.3)]
    publishers: f64,
    /// Runs every node in a process of its own (headline figures: each
    /// node has its own runtime, allocator and CPU account).
    #[arg(long)]
    processes: bool,
    /// Runs every cell in this process instead of one process per cell
    /// (quicker; peak memory then accumulates across cells).
    #[arg(long)]
    in_process: bool,
}

impl RunArgs {
    fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for &size in &self.size {
            for &delay_ms in &self.delay_ms {
                for &nodes in &self.nodes {
                    for &rate in &self.rate {
                        for seed in 1..=self.seeds.max(1) {
                            for &mode in &self.modes {
                                let posts = self.posts.unwrap_or_else(|| {
                                    // A whole, positive number of posts.
                                    #[allow(
                                        clippy::cast_possible_truncation,
                                        clippy::cast_sign_loss
                                    )]
                                    let n = (rate * self.seconds).ceil().max(1.0) as usize;
                                    n
                                });
                                cells.push(Cell {
                                    mode,
                                    transport: self.transport,
                                    nodes,
                                    dials: self.dials,
                                    rate,
                                    posts,
                                    size,
                                    delay_ms,
                                    publisher_share: self.publishers,
                                    seed,
                                    processes: self.processes,
                                });
                            }
                        }
                    }
                }
            }
        }
        cells
    }
}

/// The ingest figures as a Markdown table.
fn ingest_markdown(r: &IngestReport) -> String {
    format!(
        "| per second, one core | {} B posts |\n|---|---:|\n\
         | bare ed25519 verify (strict) | {:.0} |\n\
         | batch verify, batches of {} | {:.0} |\n\
         | decode + validate | {:.0} |\n\
         | decode → validate → policy → store | {:.0} ({:.2}× bare verify) |\n\
         | the same with batch verification (estimate) | {:.0} ({:.2}× bare verify) |\n",
        r.post_bytes,
        r.verify_per_s,
        hearth_tests::mesh_bench::ingest::BATCH,
        r.batch_verify_per_s,
        r.validate_per_s,
        r.ingest_per_s,
        r.ingest_to_verify,
        r.ingest_with_batch_estimate_per_s,
        r.ingest_with_batch_to_verify,
    )
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Cell { spec }) => {
            let cell: Cell = serde_json::from_str(&spec).context("the cell's JSON")?;
            let report = runtime()?.block_on(run_cell(&cell))?;
            println!("{}", report.json_line());
            return Ok(());
        }
        Some(Command::Ingest { posts, size }) => {
            let report = run_ingest(posts, size)?;
            println!("{}", report.json_line());
            println!("\n{}", ingest_markdown(&report));
            return Ok(());
        }
        Some(Command::Node {
            mode,
            transport,
            index,
            seed,
        }) => {
            return runtime()?.block_on(serve_node(mode, transport, index, seed));
        }
        None => {}
    }
    let args = cli.run;
    let program = std::env::current_exe().context("this program's path")?;
    let runtime = runtime()?;
    let mut reports = Vec::new();
    let stdout = std::io::stdout();
    for cell in args.cells() {
        eprintln!(
            "mesh-bench: {} N={} rate={}/s size={} delay={} ms seed={} ({} posts)",
            cell.mode.name(),
            cell.nodes,
            cell.rate,
            cell.size,
            cell.delay_ms,
            cell.seed,
            cell.posts
        );
        let result = if args.in_process {
            runtime.block_on(run_cell(&cell))
        } else {
            runtime.block_on(run_in_child(&program, &cell))
        };
        match result {
            Ok(report) => {
                writeln!(stdout.lock(), "{}", report.json_line())?;
                reports.push(report);
            }
            Err(e) => eprintln!("mesh-bench: the cell failed: {e:#}"),
        }
    }
    writeln!(stdout.lock(), "\n{}", markdown(&reports))?;
    Ok(())
}
