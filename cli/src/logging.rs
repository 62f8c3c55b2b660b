//! Where logs go: standard error, or a file while the full-screen chat owns
//! the terminal.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Sends logs matching `filter` (tracing `EnvFilter` syntax, already
/// validated by the config) to standard error, as text or JSON lines.
pub(crate) fn to_stderr(filter: &str, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter))
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// Sends logs matching `filter` to `path` (appending; the directory is
/// created owner-only), never to the terminal.
pub(crate) fn to_file(filter: &str, path: &Path) -> anyhow::Result<()> {
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
    EnvFilter::try_new(directives(filter))
        .unwrap_or_else(|_| EnvFilter::new(crate::config::DEFAULT_LOG))
}

/// Targets that log peers' IP addresses at `info`, kept at `warn` unless
/// the filter names them: a node's log at `info` names no one's address.
const ADDRESS_LOGGERS: [&str; 1] = [
    // "discovered peer on address" for every LAN neighbour.
    "libp2p_mdns",
];

/// `filter` with [`ADDRESS_LOGGERS`] held at `warn` where it does not
/// name them itself.
fn directives(filter: &str) -> String {
    let mut out = filter.trim().to_owned();
    for target in ADDRESS_LOGGERS {
        let named = filter
            .split(',')
            .any(|d| d.trim().split(['=', '[']).next() == Some(target));
        if !named {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(target);
            out.push_str("=warn");
        }
    }
    out
}

/// Creates `dir` and its parents; a directory created here is owner-only
/// (it may hold persona secrets, the control socket and logs).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_logging_targets_stay_at_warn_unless_named() {
        assert_eq!(directives("info"), "info,libp2p_mdns=warn");
        assert_eq!(directives(""), "libp2p_mdns=warn");
        assert_eq!(
            directives("warn,libp2p_mdns=debug"),
            "warn,libp2p_mdns=debug"
        );
        assert_eq!(directives("libp2p_mdns[x]=trace"), "libp2p_mdns[x]=trace");
        assert_eq!(
            directives("libp2p_mdns_extra=debug"),
            "libp2p_mdns_extra=debug,libp2p_mdns=warn"
        );
        EnvFilter::try_new(directives("hearth_node=debug,warn")).unwrap();
    }
}
