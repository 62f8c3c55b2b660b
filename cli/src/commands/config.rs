//! `hearth config show|init`.

use std::io::Write;

use anyhow::{Context, anyhow};

use crate::args::{ConfigCommand, GlobalArgs};
use crate::commands::{print, print_json};
use crate::config::{Config, DEFAULT_FILE};
use crate::logging::create_private_dir;

/// Runs a config command.
pub(crate) fn run(
    command: &ConfigCommand,
    config: &Config,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Show(_) => {
            if global.json {
                print_json(&config.to_settings())
            } else {
                let mut out = std::io::stdout().lock();
                out.write_all(config.to_toml().as_bytes())?;
                out.flush()?;
                Ok(())
            }
        }
        ConfigCommand::Init => {
            let path = config.init_path();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_private_dir(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let mut file = match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(anyhow!(
                        "{} already exists; edit it, or move it away to start over",
                        path.display()
                    ));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()));
                }
            };
            file.write_all(DEFAULT_FILE.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            if global.json {
                return print_json(&serde_json::json!({ "written": path }));
            }
            print(format!("wrote {}", path.display()))
        }
    }
}
