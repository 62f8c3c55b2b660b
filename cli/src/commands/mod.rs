//! One module per command group. [`dispatch`] loads the configuration,
//! sets up logging and runs the command.

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use crate::args::{BootstrapCommand, Cli, Command, ConfigCommand, SettingArgs};
use crate::config::Config;
use crate::logging;

pub(crate) mod block;
pub(crate) mod bootstrap;
pub(crate) mod config;
pub(crate) mod crisis;
pub(crate) mod docs;
pub(crate) mod history;
pub(crate) mod info;
pub(crate) mod moderator;
pub(crate) mod node;
pub(crate) mod persona;
pub(crate) mod wipe;

/// Runs the parsed command line.
pub(crate) fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    let json = global.json;
    match command {
        Command::Crisis { action: None } => crisis::run(&global),
        Command::Crisis {
            action: Some(action),
        } => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(crisis::act(action, config, json))
        }
        Command::Completions(args) => docs::completions(args.shell),
        Command::Man(args) => docs::man(args.command.as_deref()),
        Command::Config(command) => {
            let config = match &command {
                ConfigCommand::Show(args) => Config::load(&global, SettingArgs::show(args))?,
                ConfigCommand::Init => Config::load_without_file(&global)?,
            };
            logging::to_stderr(&config.log, config.log_format);
            config::run(&command, &config, &global)
        }
        Command::Chat(args) => {
            let config = Config::load(&global, SettingArgs::node(&args))?;
            // Logging is set up inside: the full-screen chat logs to a file.
            block_on(node::chat(config, json))
        }
        Command::Run(args) => {
            let config = Config::load(&global, SettingArgs::node(&args))?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(node::run(config, json))
        }
        Command::Bootstrap(args) => match &args.command {
            Some(BootstrapCommand::Id(id)) => {
                let config = Config::load(&global, SettingArgs::bootstrap(id))?;
                logging::to_stderr(&config.log, config.log_format);
                bootstrap::id(&config, json)
            }
            None => {
                let config = Config::load(&global, SettingArgs::bootstrap(&args.run))?;
                logging::to_stderr(&config.log, config.log_format);
                block_on(bootstrap::run(config, json))
            }
        },
        Command::Persona(command) => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(persona::run(command, config, json))
        }
        Command::Block(command) => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(block::run(command, config, json))
        }
        Command::Moderator(command) => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(moderator::run(command, config, json))
        }
        Command::History(args) => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(history::run(args, config, json))
        }
        Command::Peers => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(info::peers(config, json))
        }
        Command::Wipe(args) => {
            // The data directory's own hearth.toml cannot move the data
            // directory, and a broken one must not keep it from being
            // deleted: only a file named by --config is read.
            let config = if global.config.is_some() {
                Config::load(&global, SettingArgs::default())?
            } else {
                Config::load_without_file(&global)?
            };
            logging::to_stderr(&config.log, config.log_format);
            block_on(wipe::run(args, config, json))
        }
        Command::Status => {
            let config = Config::load(&global, SettingArgs::default())?;
            logging::to_stderr(&config.log, config.log_format);
            block_on(info::status(config, json))
        }
    }
}

/// Runs `future` on a multi-thread tokio runtime built for it, and gives
/// stray tasks a moment to end after it finishes.
fn block_on(future: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hearth")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(future);
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// Prints one line of text on standard output.
pub(crate) fn print(text: impl Display) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// Prints one value as a JSON line on standard output.
pub(crate) fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    print(serde_json::to_string(value)?)
}

/// Pads `cells` into columns separated by two spaces; the last column is
/// not padded.
pub(crate) fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let width = widths.get(i).copied().unwrap_or(0);
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![
            vec!["#a".to_owned(), "long-name".to_owned(), "x".to_owned()],
            vec!["#bbb".to_owned(), "n".to_owned(), "y".to_owned()],
        ];
        assert_eq!(table(&rows), ["#a    long-name  x", "#bbb  n          y"]);
    }
}
