//! Where logs go: standard error, or a file while the full-screen chat owns
//! the terminal.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Sends logs matching `filter` (tracing `EnvFilter` syntax, already
/// validated by the config) to standard error.
pub fn to_stderr(filter: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}

/// Sends logs matching `filter` to `path` (appending; the directory is
/// created owner-only), never to the terminal.
pub fn to_file(filter: &str, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)
            .with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter))
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Ok(())
}

fn env_filter(filter: &str) -> EnvFilter {
    EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new(crate::config::DEFAULT_LOG))
}

/// Creates `dir` and its parents; a directory created here is owner-only
/// (it may hold persona secrets, the control socket and logs).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
