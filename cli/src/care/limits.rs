//! Honest limits: what hearth says, once, the first time someone opens the
//! full-screen chat on a data directory. A marker file in the data
//! directory remembers that it was said; it holds nothing but its name.

use std::path::{Path, PathBuf};

/// The marker file's name in the data directory.
pub(crate) const MARKER: &str = "limits-shown";

/// What hearth says at the first chat: what it is not, what it cannot do,
/// where help is, and who can read what is posted.
pub(crate) const NOTICE: [&str; 4] = [
    "Before you start: hearth is peer support, people like you. It is not a crisis or emergency service.",
    "hearth cannot send help to anyone, and nobody here is watching over you.",
    "If you are in danger, call your local emergency number. Ctrl+G or /crisis shows crisis lines for your country, even offline.",
    "What you post is public to everyone in the channel, and others may keep a copy.",
];

/// The marker's path.
pub(crate) fn marker(data_dir: &Path) -> PathBuf {
    data_dir.join(MARKER)
}

/// Whether the notice is still to be shown on this data directory; when it
/// is, the marker is written so that it is shown only once. A marker that
/// cannot be written means the notice shows again next time, which is the
/// safer way to fail.
pub(crate) fn first_start(data_dir: &Path) -> bool {
    let path = marker(data_dir);
    if path.exists() {
        return false;
    }
    if let Err(e) = std::fs::write(&path, b"") {
        tracing::debug!(error = %e, "cannot write the limits notice marker");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_is_due_once_per_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(first_start(dir.path()));
        assert!(marker(dir.path()).exists());
        assert!(!first_start(dir.path()));
        let other = tempfile::tempdir().unwrap();
        assert!(first_start(other.path()));
        // A data directory that cannot be written shows it every time.
        let missing = dir.path().join("no-such-dir");
        assert!(first_start(&missing));
        assert!(first_start(&missing));
    }

    #[test]
    fn the_notice_says_the_four_things_plainly() {
        let text = NOTICE.join("\n");
        for part in [
            "not a crisis or emergency service",
            "cannot send help",
            "/crisis",
            "public to everyone in the channel",
            "may keep a copy",
        ] {
            assert!(text.contains(part), "{part}");
        }
    }
}
