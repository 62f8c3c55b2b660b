//! `hearth block add|remove|list|export|import`.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

use crate::args::{BlockCommand, BlockKind};
use crate::commands::{print, print_json, table};
use crate::config::{Config, parse_channel};
use crate::control::{self, Reply, Request};
use crate::error::UsageError;
use crate::json::{self, BlockEntryJson, BlocklistFile};

/// Largest blocklist file `import` reads.
const MAX_IMPORT_BYTES: u64 = 64 * 1024 * 1024;

/// Runs a block command.
pub(crate) async fn run(command: BlockCommand, config: Config, json: bool) -> anyhow::Result<()> {
    match command {
        BlockCommand::Add {
            kind,
            value,
            scope,
            reason,
        } => {
            let entry = BlockEntryJson {
                kind: kind_name(kind).to_owned(),
                value,
                scope: scope
                    .as_deref()
                    .map(parse_channel)
                    .transpose()?
                    .map(|c| c.to_string()),
                reason: reason.unwrap_or_default(),
            };
            // Checked here too, so a bad entry is a usage error (exit 2).
            let checked = entry.to_entry().map_err(UsageError::new)?;
            let entry = json::block_entry(&checked);
            let request = Request::Block {
                entries: vec![entry.clone()],
            };
            let (added, _) = blocked(control::request(&config, request).await?.0)?;
            if json {
                return print_json(&serde_json::json!({ "added": added == 1 }));
            }
            let what = describe(&entry);
            if added == 1 {
                print(format!("blocked {what}"))
            } else {
                print(format!("already blocked: {what}"))
            }
        }
        BlockCommand::Remove { kind, value, scope } => {
            let kind = kind_name(kind).to_owned();
            json::block_target(&kind, &value).map_err(UsageError::new)?;
            let scope = scope
                .as_deref()
                .map(parse_channel)
                .transpose()?
                .map(|c| c.to_string());
            let request = Request::Unblock {
                kind: kind.clone(),
                value: value.clone(),
                scope,
            };
            let reply = control::request(&config, request).await?.0;
            let Reply::Unblocked { removed } = reply else {
                bail!("unexpected answer from the node: {reply:?}");
            };
            if json {
                return print_json(&serde_json::json!({ "removed": removed }));
            }
            match removed {
                0 => print(format!(
                    "nothing to remove: no entry blocks {kind} {value:?}"
                )),
                1 => print("removed 1 entry"),
                n => print(format!("removed {n} entries")),
            }
        }
        BlockCommand::List => {
            let entries = list(&config).await?;
            if json {
                return entries.iter().try_for_each(print_json);
            }
            if entries.is_empty() {
                return print("your blocklist is empty");
            }
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.kind.clone(),
                        format!("{:?}", e.value),
                        match &e.scope {
                            Some(c) => format!("in #{c}"),
                            None => "everywhere".to_owned(),
                        },
                        e.reason.clone(),
                    ]
                })
                .collect();
            table(&rows)
                .into_iter()
                .try_for_each(|l| print(l.trim_end()))
        }
        BlockCommand::Export { file } => {
            let entries = list(&config).await?;
            let count = entries.len();
            let mut text = serde_json::to_string_pretty(&BlocklistFile::new(entries))?;
            text.push('\n');
            match file {
                None => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                    Ok(())
                }
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    if json {
                        return print_json(&serde_json::json!({ "exported": count }));
                    }
                    print(format!("wrote {count} entries to {}", path.display()))
                }
            }
        }
        BlockCommand::Import { file } => {
            let entries = read_import(&file)?;
            let request = Request::Block { entries };
            let (added, existing) = blocked(control::request(&config, request).await?.0)?;
            if json {
                return print_json(&serde_json::json!({ "added": added, "existing": existing }));
            }
            print(format!(
                "imported {added} new entries ({existing} were already there)"
            ))
        }
    }
}

fn kind_name(kind: BlockKind) -> &'static str {
    match kind {
        BlockKind::Persona => "persona",
        BlockKind::Post => "post",
        BlockKind::Keyword => "keyword",
        BlockKind::Regex => "regex",
        BlockKind::Channel => "channel",
    }
}

fn describe(entry: &BlockEntryJson) -> String {
    let place = match &entry.scope {
        Some(c) => format!("in #{c}"),
        None => "in every channel".to_owned(),
    };
    format!("{} {:?} {place}", entry.kind, entry.value)
}

fn blocked(reply: Reply) -> anyhow::Result<(usize, usize)> {
    match reply {
        Reply::Blocked { added, existing } => Ok((added, existing)),
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}

async fn list(config: &Config) -> anyhow::Result<Vec<BlockEntryJson>> {
    match control::request(config, Request::Blocklist).await?.0 {
        Reply::Blocklist { entries } => Ok(entries),
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}

/// Reads and checks a blocklist file (`-` for standard input). Every entry
/// is checked before any is added, so a bad file changes nothing.
fn read_import(path: &Path) -> anyhow::Result<Vec<BlockEntryJson>> {
    let mut text = String::new();
    let shown = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(MAX_IMPORT_BYTES)
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        "standard input".to_owned()
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_IMPORT_BYTES).read_to_string(&mut text))
            .map_err(|e| UsageError::new(format!("cannot read {}: {e}", path.display())))?;
        path.display().to_string()
    };
    parse_import(&shown, &text).map_err(Into::into)
}

/// Parses the text of a blocklist file; `shown` names it in errors.
fn parse_import(shown: &str, text: &str) -> Result<Vec<BlockEntryJson>, UsageError> {
    let file: BlocklistFile = serde_json::from_str(text).map_err(|e| {
        UsageError::new(format!(
            "{shown} is not a blocklist written by `hearth block export`: {e}"
        ))
    })?;
    if file.format != BlocklistFile::FORMAT || file.version != 1 {
        return Err(UsageError::new(format!(
            "{shown} is a {:?} version {} file; hearth reads \"{}\" version 1",
            file.format,
            file.version,
            BlocklistFile::FORMAT
        )));
    }
    for (i, entry) in file.entries.iter().enumerate() {
        if let Err(e) = entry.to_entry() {
            return Err(UsageError::new(format!("{shown}, entry {}: {e}", i + 1)));
        }
    }
    Ok(file.entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_checks_the_format_and_every_entry() {
        let good = r#"{"format":"hearth-blocklist","version":1,"entries":[
            {"kind":"keyword","value":"spam","scope":null,"reason":""},
            {"kind":"channel","value":"ads"}]}"#;
        assert_eq!(parse_import("f", good).unwrap().len(), 2);
        let err = parse_import("f", "[]").unwrap_err();
        assert!(err.0.starts_with("f is not a blocklist"), "{err}");
        let err = parse_import("f", r#"{"format":"x","version":1,"entries":[]}"#).unwrap_err();
        assert!(err.0.contains("hearth reads"), "{err}");
        let bad = r#"{"format":"hearth-blocklist","version":1,"entries":[
            {"kind":"keyword","value":"ok"},{"kind":"persona","value":"zz"}]}"#;
        let err = parse_import("f", bad).unwrap_err();
        assert!(
            err.0.starts_with("f, entry 2: invalid persona key"),
            "{err}"
        );
    }
}
