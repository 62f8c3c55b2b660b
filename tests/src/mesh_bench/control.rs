//! Running cells in child processes: the program starts itself again with
//! the hidden `cell` subcommand and the cell as JSON, and reads the
//! child's report, a JSON line on its standard output. Each cell then has
//! a process of its own, so its peak memory and CPU time are its own and
//! one cell's leftovers (allocator caches, lingering tasks) never weigh on
//! the next.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use tokio::process::Command;

use super::{Cell, CellReport};

/// The hidden subcommand that runs one cell.
pub const CELL_SUBCOMMAND: &str = "cell";

/// The most one cell may take, setup to shutdown, before it is killed.
const CELL_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `cell` in a child process of `program` and returns its report.
pub async fn run_in_child(program: &Path, cell: &Cell) -> anyhow::Result<CellReport> {
    let spec = serde_json::to_string(cell)?;
    let child = Command::new(program)
        .arg(CELL_SUBCOMMAND)
        .arg(&spec)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    let output = tokio::time::timeout(CELL_DEADLINE, child.wait_with_output())
        .await
        .map_err(|_| anyhow!("the cell did not finish within {CELL_DEADLINE:?}"))??;
    if !output.status.success() {
        bail!("the cell's process failed: {}", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the cell printed no report")?;
    serde_json::from_str(line).context("the cell's report")
}
