//! `attack-lab`: the abuse issue's attacks against a line of three honest
//! `hearth chat --json` processes, measured from outside (see
//! `hearth_tests::attack_lab` and docs/threat-model.md, "Attacks measured").
//!
//! ```sh
//! cargo build --release -p hearth -p hearth-tests
//! cargo run --release -p hearth-tests --bin attack-lab -- --attack fresh-personas,churn
//! ```
//!
//! Prints one JSON object per attack on standard output as it ends, then
//! the Markdown table on standard error.

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("attack-lab reads /proc, so it runs on Linux only");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod linux {
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::time::Duration;

    use clap::Parser;
    use hearth_protocol::DEFAULT_PERSONA_STAMP_BITS;
    use hearth_tests::attack_lab::{self, Attack, Options, report};
    use hearth_tests::sizing;

    /// Runs the abuse issue's attacks against honest hearth processes on
    /// loopback and prints what a person would have noticed.
    #[derive(Debug, Parser)]
    #[command(name = "attack-lab")]
    struct Args {
        /// The attacks to run (comma-separated) [default: all]
        #[arg(long, value_delimiter = ',', value_enum)]
        attack: Vec<Attack>,
        /// How long each attack lasts, in seconds
        #[arg(long, value_name = "SECS", default_value_t = 30)]
        secs: u64,
        /// CPU seconds on every core the attacker spends paying for
        /// personas before each attack
        #[arg(long, value_name = "SECS", default_value_t = 20)]
        stamp_budget: u64,
        /// The hearth binary [default: the one next to this program]
        #[arg(long, value_name = "PATH")]
        hearth: Option<PathBuf>,
    }

    pub(crate) fn main() -> ExitCode {
        let args = Args::parse();
        let hearth = match args.hearth {
            Some(path) => path,
            None => match sizing::find_hearth() {
                Ok(path) => path,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            },
        };
        let attacks = if args.attack.is_empty() {
            Attack::ALL.to_vec()
        } else {
            args.attack
        };
        let options = Options {
            hearth,
            duration: Duration::from_secs(args.secs),
            stamp_bits: DEFAULT_PERSONA_STAMP_BITS,
            stamp_budget: Duration::from_secs(args.stamp_budget),
        };
        let runtime = match tokio::runtime::Runtime::new() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut outcomes = Vec::new();
        for attack in attacks {
            eprintln!("attack {}: {} s", attack.name(), args.secs);
            match runtime.block_on(attack_lab::run(&options, attack)) {
                Ok(outcome) => {
                    println!("{}", report::json(&outcome));
                    outcomes.push(outcome);
                }
                Err(e) => {
                    eprintln!("error: attack {}: {e}", attack.name());
                    return ExitCode::FAILURE;
                }
            }
        }
        eprint!("{}", report::markdown(&outcomes));
        ExitCode::SUCCESS
    }
}
