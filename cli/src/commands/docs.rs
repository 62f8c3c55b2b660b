//! `hearth completions` and `hearth man`.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::Cli;
use crate::error::usage;

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "hearth", &mut out);
    write_out(&out)
}

/// Prints the man page of hearth, or of one of its commands, in roff.
pub(crate) fn man(command: Option<&str>) -> anyhow::Result<()> {
    let cli = Cli::command();
    let page = match command {
        None => cli,
        Some(name) => {
            let Some(sub) = cli.find_subcommand(name) else {
                let names: Vec<_> = cli
                    .get_subcommands()
                    .map(|c| c.get_name().to_owned())
                    .collect();
                usage!("no command named {name:?}; use one of {}", names.join(", "));
            };
            let full = format!("hearth-{}", sub.get_name());
            sub.clone()
                .bin_name(format!("hearth {}", sub.get_name()))
                .version(env!("CARGO_PKG_VERSION"))
                .display_name(full)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    write_out(&out)
}

fn write_out(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}
