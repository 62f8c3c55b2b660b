//! `sizing`: how much memory and CPU `hearth bootstrap` needs for a number
//! of connected people, measured on this machine (see
//! `hearth_tests::sizing` and docs/performance.md, "Sizing the bootstrap
//! node").
//!
//! ```sh
//! cargo build --release -p hearth -p hearth-tests
//! cargo run --release -p hearth-tests --bin sizing -- --connections 100,1000
//! ```
//!
//! One run per connection count, each against a fresh `hearth bootstrap`
//! (the `hearth` binary next to this one, or `--hearth PATH`) on
//! 127.0.0.1. Prints a Markdown table, or with `--json` one JSON object.
//! Ctrl-C stops the node and exits.

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("sizing reads /proc, so it runs on Linux only");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::time::Duration;

    use anyhow::Context;
    use clap::Parser;
    use hearth_tests::sizing::{self, Options, procfs};

    /// Measures the memory and CPU `hearth bootstrap` needs for N
    /// connections, one run per count, on loopback.
    #[derive(Debug, Parser)]
    #[command(name = "sizing")]
    struct Args {
        /// Connection counts, one run each (comma-separated, like 100,1000)
        #[arg(long, value_delimiter = ',', required = true, value_name = "N,…")]
        connections: Vec<usize>,
        /// Distinct DHT provider records the clients announce and look up
        /// [default: one per connection]
        #[arg(long, value_name = "N")]
        providers: Option<usize>,
        /// Pairs of clients that reserve on the node's relay and open a
        /// circuit through it
        #[arg(long, value_name = "N", default_value_t = 0)]
        circuits: usize,
        /// How long the node is sampled, in seconds
        #[arg(long, value_name = "SECS", default_value_t = 20)]
        window: u64,
        /// The hearth binary [default: the one next to this program]
        #[arg(long, value_name = "PATH")]
        hearth: Option<PathBuf>,
        /// Print one JSON object instead of the Markdown table
        #[arg(long)]
        json: bool,
    }

    pub(crate) fn main() -> ExitCode {
        let args = Args::parse();
        // The clients' logs, for looking into a failed run: RUST_LOG, off
        // by default.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
            )
            .with_writer(std::io::stderr)
            .try_init();
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        runtime.block_on(async {
            let mut terminate =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(signal) => signal,
                    Err(e) => {
                        eprintln!("error: cannot watch SIGTERM: {e}");
                        return ExitCode::FAILURE;
                    }
                };
            // Dropping the measurement future drops the node's guard,
            // which kills it.
            tokio::select! {
                result = run(args) => match result {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::FAILURE
                    }
                },
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("interrupted: the bootstrap node is stopped");
                    ExitCode::from(130)
                }
                _ = terminate.recv() => {
                    eprintln!("terminated: the bootstrap node is stopped");
                    ExitCode::from(143)
                }
            }
        })
    }

    async fn run(args: Args) -> anyhow::Result<()> {
        let hearth = match args.hearth {
            Some(path) => path,
            None => sizing::find_hearth()?,
        };
        let most = args.connections.iter().copied().max().unwrap_or(0);
        // One descriptor per client connection here and one per
        // connection in the node (which inherits the limit), with room.
        let wanted = u64::try_from(most).unwrap_or(u64::MAX).saturating_mul(2) + 1024;
        let (soft, hard) = procfs::raise_open_files(wanted).context("cannot raise `ulimit -n`")?;
        if soft < wanted {
            eprintln!(
                "warning: open files limited to {soft} (hard limit {hard}); {most} connections \
                 need about {wanted}: raise it with `ulimit -Hn`"
            );
        }
        let machine = procfs::machine();
        eprintln!(
            "{} ({} cores, {:.1} GiB), kernel {}; node: {}",
            machine.cpu,
            machine.cores,
            machine.memory as f64 / (1024.0 * 1024.0 * 1024.0),
            machine.kernel,
            hearth.display()
        );
        let mut runs = Vec::new();
        for connections in args.connections {
            let options = Options {
                providers: args.providers.unwrap_or(connections),
                circuits: args.circuits,
                window: Duration::from_secs(args.window),
                ..Options::new(hearth.clone(), connections)
            };
            eprintln!("measuring {connections} connections…");
            let measurement = sizing::measure(&options)
                .await
                .with_context(|| format!("the run with {connections} connections failed"))?;
            eprintln!(
                "  {} connected in {:.1} s, load average {:?} → {:?}",
                measurement.connected,
                measurement.connect_seconds,
                measurement.load_before,
                measurement.load_after
            );
            runs.push(measurement);
        }
        if args.json {
            println!("{}", sizing::json(&machine, &hearth, &runs));
        } else {
            println!(
                "{}, {} cores, {:.1} GiB, kernel {}\n",
                machine.cpu,
                machine.cores,
                machine.memory as f64 / (1024.0 * 1024.0 * 1024.0),
                machine.kernel
            );
            print!("{}", sizing::markdown(&runs));
        }
        Ok(())
    }
}
