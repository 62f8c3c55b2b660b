//! Crisis-directory updates as the person reviews them: what an update
//! would change in the directory in use (entries added, removed, changed),
//! whether its entries pass the checks of the shipped directory, and
//! applying an accepted one by writing the person's `crisis-lines.toml`.
//!
//! An update is held by the node only if a key the person trusts signed it
//! (`hearth crisis trust KEY`); nothing here runs for anyone else, and
//! nothing is applied without `hearth crisis accept ID`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use hearth_node::crisis::CrisisUpdateInfo;
use serde::{Deserialize, Serialize};

use super::directory::{Directory, Emergency, FILE_NAME, International, Line};

/// One held update, as `hearth crisis updates --json` prints it and the
/// control socket carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UpdateJson {
    /// Its message id (64 hex digits); `accept` takes it or its first 8.
    pub id: String,
    /// The publisher's key.
    pub publisher_key: String,
    /// The publisher key's name.
    pub publisher_name: String,
    /// The publisher's sequence number.
    pub sequence: u64,
    /// When it was signed, ms since the Unix epoch.
    pub created_ms: u64,
    /// What the publisher says changed.
    pub note: String,
    /// Whether the person accepted it already.
    pub accepted: bool,
    /// The directory text; left out of the `updates` listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
}

impl UpdateJson {
    /// The node's view of a held update.
    pub(crate) fn of(info: &CrisisUpdateInfo) -> Self {
        Self {
            id: info.id.to_string(),
            publisher_key: info.update.publisher.to_string(),
            publisher_name: info.update.publisher.name(),
            sequence: info.update.sequence,
            created_ms: info.update.created_ms,
            note: info.update.note.clone(),
            accepted: info.accepted,
            directory: Some(info.update.directory.clone()),
        }
    }

    /// Whether `wanted` names this update: its full id or a prefix of at
    /// least 8 hex digits.
    pub(crate) fn is_named(&self, wanted: &str) -> bool {
        let wanted = wanted.trim().to_ascii_lowercase();
        wanted.len() >= 8 && self.id.starts_with(&wanted)
    }
}

/// What reviewing an update shows: the update, whether its directory is
/// valid, and what it would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Review {
    /// The update (without its directory text).
    #[serde(flatten)]
    pub update: UpdateJson,
    /// Why it cannot be accepted, if its directory fails the checks.
    pub error: Option<String>,
    /// Entries it adds, in words.
    pub added: Vec<String>,
    /// Entries it removes.
    pub removed: Vec<String>,
    /// Entries it changes: `before → after`.
    pub changed: Vec<String>,
}

impl Review {
    /// Compares the update's directory with `current`, the one in use.
    pub(crate) fn of(mut update: UpdateJson, current: &Directory) -> Self {
        let text = update.directory.take().unwrap_or_default();
        let mut review = Review {
            update,
            error: None,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
        };
        match parse(&review.update.id, &text) {
            Ok(mut offered) => {
                // As when the file is loaded: without its own services for
                // anywhere, the built-in ones stay.
                if offered.international.is_empty() {
                    offered.international = Directory::built_in().international.clone();
                }
                let (added, removed, changed) = diff(&entries(current), &entries(&offered));
                review.added = added;
                review.removed = removed;
                review.changed = changed;
            }
            Err(e) => review.error = Some(e),
        }
        review
    }

    /// The review in words, for people.
    pub(crate) fn lines(&self) -> Vec<String> {
        let u = &self.update;
        let short = u.id.get(..8).unwrap_or(&u.id);
        let mut lines = vec![format!(
            "update {short} from {} (sequence {}){}",
            u.publisher_name,
            u.sequence,
            if u.note.is_empty() {
                String::new()
            } else {
                format!(": {}", u.note)
            }
        )];
        if let Some(error) = &self.error {
            lines.push(format!("  cannot be accepted: {error}"));
            return lines;
        }
        lines.extend(self.added.iter().map(|e| format!("  + {e}")));
        lines.extend(self.removed.iter().map(|e| format!("  - {e}")));
        lines.extend(self.changed.iter().map(|e| format!("  ~ {e}")));
        if self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty() {
            lines.push("  no change to the crisis lines you use".to_owned());
        }
        lines.push(format!("  accept it with `hearth crisis accept {short}`"));
        lines
    }
}

/// Parses an update's directory with the checks of the shipped one.
pub(crate) fn parse(id: &str, text: &str) -> Result<Directory, String> {
    let name = format!("(update {}) {FILE_NAME}", id.get(..8).unwrap_or(id));
    Directory::parse(Path::new(&name), text).map_err(|e| e.to_string())
}

/// Every entry of a directory, by what identifies it, in words.
fn entries(directory: &Directory) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in &directory.lines {
        out.insert(
            format!("{} {}", line.country.code(), line.service),
            describe_line(line),
        );
    }
    for emergency in &directory.emergency {
        let countries: Vec<&str> = emergency.countries.iter().map(|c| c.code()).collect();
        out.insert(
            format!("{} emergency", countries.join(",")),
            describe_emergency(emergency),
        );
    }
    for service in &directory.international {
        out.insert(
            format!("anywhere {}", service.service),
            describe_international(service),
        );
    }
    out
}

fn describe_line(line: &Line) -> String {
    let reach: Vec<String> = line.reach.iter().map(|r| r.describe()).collect();
    format!(
        "{} {}: {} · {} · {} (source {}, checked {})",
        line.country.code(),
        line.service,
        reach.join(", "),
        line.hours,
        line.languages.join(", "),
        line.checked.source,
        line.checked.on
    )
}

fn describe_emergency(entry: &Emergency) -> String {
    let countries: Vec<&str> = entry.countries.iter().map(|c| c.code()).collect();
    format!(
        "{} emergency: {} (source {}, checked {})",
        countries.join(","),
        entry.numbers.join(", "),
        entry.checked.source,
        entry.checked.on
    )
}

fn describe_international(entry: &International) -> String {
    format!(
        "anywhere {}: {} (source {}, checked {})",
        entry.service, entry.address, entry.checked.source, entry.checked.on
    )
}

/// Entries only in `offered`, only in `current`, and in both but different
/// (as `before → after`).
fn diff(
    current: &BTreeMap<String, String>,
    offered: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = offered
        .iter()
        .filter(|(k, _)| !current.contains_key(*k))
        .map(|(_, v)| v.clone())
        .collect();
    let removed = current
        .iter()
        .filter(|(k, _)| !offered.contains_key(*k))
        .map(|(_, v)| v.clone())
        .collect();
    let changed = offered
        .iter()
        .filter_map(|(k, after)| {
            let before = current.get(k)?;
            (before != after).then(|| format!("{before} → {after}"))
        })
        .collect();
    (added, removed, changed)
}

/// Writes an accepted update's directory as the person's crisis line file
/// in `data_dir`, after checking it like the shipped one; an earlier file
/// is kept beside it as `crisis-lines.toml.bak`. Returns the file.
pub(crate) fn apply(data_dir: &Path, update: &UpdateJson) -> anyhow::Result<PathBuf> {
    let text = update.directory.as_deref().unwrap_or_default();
    parse(&update.id, text).map_err(|e| anyhow::anyhow!("the update cannot be accepted: {e}"))?;
    let path = data_dir.join(FILE_NAME);
    if path.exists() {
        let backup = data_dir.join(format!("{FILE_NAME}.bak"));
        std::fs::copy(&path, &backup)
            .with_context(|| format!("cannot keep a copy of {}", path.display()))?;
    }
    let temp = data_dir.join(format!("{FILE_NAME}.new"));
    let mut file =
        std::fs::File::create(&temp).with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[line]]
country = "GB"
service = "Samaritans"
reach = [{ how = "call", to = "116 123" }]
hours = "24 hours, every day"
languages = ["en"]
source = "https://www.samaritans.org/"
checked = "2026-12-01"

[[emergency]]
countries = ["GB"]
numbers = ["999", "112"]
source = "https://www.gov.uk/"
checked = "2026-12-01"
"#;

    fn update(directory: &str) -> UpdateJson {
        UpdateJson {
            id: "3f2a9c1d".repeat(8),
            publisher_key: "00".repeat(32),
            publisher_name: "calm-otter".to_owned(),
            sequence: 2,
            created_ms: 0,
            note: "Shout added".to_owned(),
            accepted: false,
            directory: Some(directory.to_owned()),
        }
    }

    /// The directory in use when the person's file is `ONE`.
    fn in_use() -> Directory {
        let mut current = parse("current", ONE).unwrap();
        current.international = Directory::built_in().international.clone();
        current
    }

    #[test]
    fn a_review_lists_entries_added_removed_and_changed() {
        let current = in_use();
        let offered = ONE.replace("\"999\", \"112\"", "\"999\"").replace(
            "[[emergency]]",
            "[[line]]\ncountry = \"GB\"\nservice = \"Shout\"\nreach = [{ how = \"text\", to = \"85258\", message = \"SHOUT\" }]\nhours = \"24 hours, every day\"\nlanguages = [\"en\"]\nsource = \"https://giveusashout.org/\"\nchecked = \"2026-12-01\"\n\n[[emergency]]",
        );
        let review = Review::of(update(&offered), &current);
        assert_eq!(review.error, None);
        assert_eq!(review.added.len(), 1, "{review:?}");
        assert!(review.added[0].contains("GB Shout: text SHOUT to 85258"));
        assert!(review.removed.is_empty());
        assert_eq!(review.changed.len(), 1);
        assert!(review.changed[0].contains("999, 112") && review.changed[0].contains("→"));
        let text = review.lines().join("\n");
        assert!(text.contains("+ GB Shout"), "{text}");
        assert!(text.contains("hearth crisis accept 3f2a9c1d"), "{text}");

        let removed = Review::of(update(&ONE.replace("[[emergency]]\ncountries = [\"GB\"]\nnumbers = [\"999\", \"112\"]\nsource = \"https://www.gov.uk/\"\nchecked = \"2026-12-01\"\n", "")), &current);
        assert_eq!(removed.removed.len(), 1, "{removed:?}");
    }

    #[test]
    fn entries_failing_the_shipped_checks_cannot_be_accepted() {
        let current = in_use();
        for bad in [
            ONE.replace("source = \"https://www.samaritans.org/\"\n", ""),
            ONE.replace("2026-12-01", "last week"),
            ONE.replace("Samaritans", "Sama\u{202e}ritans"),
            "not toml at all [".to_owned(),
        ] {
            let review = Review::of(update(&bad), &current);
            assert!(review.error.is_some(), "{bad}");
            assert!(review.added.is_empty() && review.changed.is_empty());
            let dir = tempfile::tempdir().unwrap();
            assert!(apply(dir.path(), &update(&bad)).is_err());
            assert!(!dir.path().join(FILE_NAME).exists(), "nothing written");
        }
    }

    #[test]
    fn applying_writes_the_file_and_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "# mine\n").unwrap();
        let path = apply(dir.path(), &update(ONE)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), ONE);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("crisis-lines.toml.bak")).unwrap(),
            "# mine\n"
        );
        let (loaded, warning) = Directory::load(dir.path());
        assert_eq!(warning, None);
        assert_eq!(loaded.lines.len(), 1);
    }

    #[test]
    fn an_update_is_named_by_its_id_or_a_prefix_of_eight() {
        let u = update(ONE);
        assert!(u.is_named(&u.id));
        assert!(u.is_named("3F2A9C1D"));
        assert!(!u.is_named("3f2a9c"), "too short to be sure");
        assert!(!u.is_named("00000000"));
    }
}
