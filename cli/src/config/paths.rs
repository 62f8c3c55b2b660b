//! Where hearth keeps things: the data directory and the names inside it.

use std::path::{Path, PathBuf};

/// The configuration file's name inside the data directory.
pub(super) const CONFIG_FILE_NAME: &str = "hearth.toml";
/// The store's directory inside the data directory.
pub(super) const STORE_DIR_NAME: &str = "store";
/// The log directory inside the data directory (full-screen chat only).
pub(super) const LOG_DIR_NAME: &str = "logs";

/// The platform's data directory for hearth, if the platform has one.
pub(crate) fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "hearth").map(|d| d.data_dir().to_path_buf())
}

/// `path` made absolute against the working directory, or as it is if
/// that cannot be done.
pub(super) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `<data dir>/store`.
pub(super) fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(STORE_DIR_NAME)
}

/// `<data dir>/logs/hearth.log`.
pub(super) fn log_file(data_dir: &Path) -> PathBuf {
    data_dir.join(LOG_DIR_NAME).join("hearth.log")
}
