//! `hearth`: peer-to-peer support channels from the terminal.
//!
//! The command line is parsed into `args::Cli`, validated into a
//! `config::Config`, and only the `Config` reaches the node. Errors are
//! printed as one line, `hearth: <what went wrong>`, with exit code 2 for
//! usage errors and 1 for runtime failures. See `docs/cli.md`.
//!
//! The binary (`src/main.rs`) only calls [`main`]. This library exists so
//! that the benchmarks (`cli/benches/`) can reach the chat window's drawing
//! through [`tui`]; it is not an API for other programs.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::io::Write as _;
use std::process::ExitCode;

mod args;
mod care;
mod commands;
mod config;
mod control;
mod error;
mod headless;
mod json;
mod lines;
mod logging;
mod time;
pub mod tui;

/// Runs the `hearth` command with the process's arguments and returns its
/// exit code.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match args::Cli::parse_from_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with code 0; errors to stderr
            // with code 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `hearth … | head` closing the pipe early is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Standard error may be gone with the terminal (SIGHUP):
            // failing to say so must not become a panic.
            let _ = writeln!(std::io::stderr(), "hearth: {}", error::one_line(&e));
            ExitCode::from(error::exit_code(&e))
        }
    }
}

/// Runs the command line.
fn run(cli: args::Cli) -> anyhow::Result<()> {
    commands::dispatch(cli)
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A panic is a bug in hearth, never something the user did: print one line
/// saying so instead of a backtrace (unless `RUST_BACKTRACE` asks for one).
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A damaged store makes its database panic while it opens; the
        // store catches that and reports the damage, so say nothing here.
        if hearth_node::store::opening_store() {
            return;
        }
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            default(info);
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "hearth: internal error{location}: {}; this is a bug in hearth, please report it",
            message.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }));
}
