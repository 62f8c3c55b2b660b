//! `hearth wipe`: deletes everything hearth keeps in the data directory.
//!
//! Only what hearth writes is deleted, by name: the store (sled's files and
//! the witness, nothing else), the chat's log files, the config file, the
//! control socket and its staging directories. Anything else found there
//! is kept and listed, so `--data-dir ~` by mistake deletes nothing of the
//! person's own. Nothing is deleted while a node runs on the directory, and
//! nothing without a confirmation typed at a terminal or `--yes`.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use serde::Serialize;

use crate::args::WipeArgs;
use crate::commands::{print, print_json};
use crate::config::Config;
use crate::control::{self, Reply, Request};
use crate::error::usage;

/// Names sled and the store write inside the store directory.
fn store_file(name: &str) -> bool {
    matches!(
        name,
        "conf" | "db" | "blobs" | "hearth-store" | "hearth-store.tmp"
    ) || name.starts_with("snap.")
}

/// Names of the chat's log files inside the log directory.
fn log_file(name: &str) -> bool {
    name.starts_with("hearth.log")
}

/// What the deletion would touch.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Paths to delete, with what they are, in order.
    delete: Vec<(PathBuf, &'static str)>,
    /// Paths found that hearth did not write: left alone.
    keep: Vec<PathBuf>,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report {
    deleted: Vec<PathBuf>,
    kept: Vec<PathBuf>,
}

/// `hearth wipe`.
pub(crate) async fn run(args: WipeArgs, config: Config, json: bool) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    refuse_while_running(dir).await?;
    let plan = plan(dir, &config.store_dir())
        .with_context(|| format!("cannot look into the data directory {}", dir.display()))?;
    if plan.delete.is_empty() {
        if json {
            return print_json(&Report {
                deleted: Vec::new(),
                kept: plan.keep,
            });
        }
        print(format!(
            "nothing of hearth's to delete in {}",
            dir.display()
        ))?;
        return report_kept(&plan.keep);
    }
    if !args.yes {
        if !io::stdin().is_terminal() {
            usage!(
                "wipe deletes everything hearth keeps in {}; standard input is not a terminal to \
                 confirm it on, so pass --yes",
                dir.display()
            );
        }
        let confirmed = tokio::task::spawn_blocking({
            let prompt = prompt(dir, &plan);
            move || confirm(&prompt)
        })
        .await
        .context("cannot read the confirmation")??;
        if !confirmed {
            return print("nothing deleted");
        }
    }
    let mut deleted = Vec::new();
    for (path, what) in &plan.delete {
        remove(path).with_context(|| format!("cannot delete {} ({what})", path.display()))?;
        deleted.push((path.clone(), *what));
    }
    // The directories emptied above, then the data directory itself.
    for emptied in [config.store_dir(), dir.join("logs"), dir.clone()] {
        if is_empty_dir(&emptied) {
            fs::remove_dir(&emptied)
                .with_context(|| format!("cannot delete {}", emptied.display()))?;
            let what = if emptied == *dir {
                "the data directory, now empty"
            } else {
                "now empty"
            };
            deleted.push((emptied, what));
        }
    }
    if json {
        return print_json(&Report {
            deleted: deleted.into_iter().map(|(p, _)| p).collect(),
            kept: plan.keep,
        });
    }
    for (path, what) in &deleted {
        print(format!("deleted {} ({what})", path.display()))?;
    }
    report_kept(&plan.keep)?;
    print(
        "Posts you sent may still be kept by the people who received them: deletion on other \
         people's machines is best effort.",
    )
}

/// Fails while a node serves the data directory's control socket (a stale
/// socket is removed by the check).
async fn refuse_while_running(dir: &Path) -> anyhow::Result<()> {
    match control::call(dir, &Request::Ping).await {
        Ok(None) => Ok(()),
        Ok(Some(Reply::Pong { pid })) => Err(anyhow!(
            "a hearth node (process {pid}) is running on {}; stop it first (quit its chat, or \
             send it SIGTERM), then wipe",
            dir.display()
        )),
        Ok(Some(_)) | Err(_) => Err(anyhow!(
            "another process is serving {}; stop it first, then wipe",
            control::socket_path(dir).display()
        )),
    }
}

/// Lists what to delete and what to keep in the data directory `dir`.
fn plan(dir: &Path, store: &Path) -> io::Result<Plan> {
    let mut plan = Plan::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(plan),
        Err(e) => return Err(e),
    };
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry?;
        names.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    names.sort();
    for (name, path) in names {
        let is_dir = fs::symlink_metadata(&path)?.is_dir();
        match name.as_str() {
            _ if path == store && is_dir => {
                plan_inside(&path, store_file, &mut plan)?;
                if plan.keep.iter().all(|kept| !kept.starts_with(&path)) {
                    // Only hearth's files: the store goes as a whole.
                    plan.delete.retain(|(p, _)| !p.starts_with(&path));
                    plan.delete.push((
                        path,
                        "the store: posts, personas, keys, blocklist and follows",
                    ));
                }
            }
            "logs" if is_dir => plan_inside(&path, log_file, &mut plan)?,
            "hearth.toml" if !is_dir => plan.delete.push((path, "the config file")),
            control::SOCKET_NAME if !is_dir => plan.delete.push((path, "the control socket")),
            n if n.starts_with(".control-") && is_dir => {
                plan.delete
                    .push((path, "a control socket left being set up"));
            }
            _ => plan.keep.push(path),
        }
    }
    Ok(plan)
}

/// Plans the entries of `dir` that `ours` names for deletion, the rest
/// for keeping.
fn plan_inside(dir: &Path, ours: fn(&str) -> bool, plan: &mut Plan) -> io::Result<()> {
    let mut names: Vec<(String, PathBuf)> = fs::read_dir(dir)?
        .map(|e| e.map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())))
        .collect::<io::Result<_>>()?;
    names.sort();
    for (name, path) in names {
        if ours(&name) {
            let what = if dir.ends_with("logs") {
                "a log of the chat"
            } else {
                "part of the store"
            };
            plan.delete.push((path, what));
        } else {
            plan.keep.push(path);
        }
    }
    Ok(())
}

fn prompt(dir: &Path, plan: &Plan) -> String {
    let mut text = format!(
        "This deletes everything hearth keeps in {}:\n",
        dir.display()
    );
    for (path, what) in &plan.delete {
        text.push_str(&format!("  {} ({what})\n", path.display()));
    }
    text.push_str(
        "It cannot be undone. Posts you already sent may be kept by the people who received \
         them.\nDelete all of this? Type yes to confirm: ",
    );
    text
}

/// Asks on standard error and reads the answer from standard input.
fn confirm(prompt: &str) -> anyhow::Result<bool> {
    let mut err = io::stderr().lock();
    err.write_all(prompt.as_bytes())?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    let answer = answer.trim().to_ascii_lowercase();
    Ok(answer == "yes" || answer == "y")
}

fn report_kept(kept: &[PathBuf]) -> anyhow::Result<()> {
    for path in kept {
        print(format!("kept {}: hearth did not write it", path.display()))?;
    }
    Ok(())
}

/// Deletes a file, a symbolic link (not what it points to) or a directory
/// with its contents.
fn remove(path: &Path) -> io::Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn is_empty_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
        && fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"x").unwrap();
    }

    #[test]
    fn only_what_hearth_writes_is_planned_for_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let store = d.join("store");
        for name in [
            "conf",
            "db",
            "hearth-store",
            "snap.0000000000000001",
            "blobs/7",
        ] {
            touch(&store.join(name));
        }
        touch(&d.join("logs/hearth.log"));
        touch(&d.join("logs/notes.txt"));
        touch(&d.join("hearth.toml"));
        touch(&d.join("control.sock"));
        touch(&d.join("photos/cat.jpg"));
        let plan = plan(d, &store).unwrap();
        let deleted: Vec<&Path> = plan.delete.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(
            deleted,
            [
                d.join("control.sock"),
                d.join("hearth.toml"),
                d.join("logs/hearth.log"),
                store.clone(),
            ]
            .iter()
            .map(PathBuf::as_path)
            .collect::<Vec<_>>()
        );
        assert_eq!(plan.keep, [d.join("logs/notes.txt"), d.join("photos")]);
    }

    #[test]
    fn a_store_with_strange_files_keeps_them_and_loses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        touch(&store.join("db"));
        touch(&store.join("mine.txt"));
        let plan = plan(dir.path(), &store).unwrap();
        let deleted: Vec<&Path> = plan.delete.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(deleted, [store.join("db").as_path()]);
        assert_eq!(plan.keep, [store.join("mine.txt")]);
    }

    #[test]
    fn a_missing_data_directory_plans_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nothing-here");
        assert_eq!(plan(&gone, &gone.join("store")).unwrap(), Plan::default());
    }
}
