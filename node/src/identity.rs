//! The node's libp2p key in a file of its own: what an operator's node
//! needs so that its peer id, and so the address people configure, survives
//! restarts, backups and moves.
//!
//! The file holds the key in libp2p's protobuf encoding (the same bytes
//! [`IdentityMode::Persistent`](crate::IdentityMode::Persistent) keeps in
//! the store). It is owner-only (mode 0600) and created atomically: the key
//! is written to a temporary file in the same directory, synced, and linked
//! into place only if no file is there yet, so a crash never leaves half a
//! key and two processes creating it at once end up with the same one.
//!
//! A file that others may read is refused, never used: the key is the
//! node's identity, and whoever has it can impersonate the node. A file
//! that is not a key is refused too and left as it is; replacing it would
//! silently change the peer id everyone has configured.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use libp2p::identity::Keypair;
use thiserror::Error;

/// Largest key file read. An ed25519 key is 68 bytes; the cap keeps a
/// mistaken path (a log, a device) from being read whole.
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Why the key file could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Reading, creating or syncing the file (or its directory) failed.
    #[error("cannot {action} the node key file {}: {source}", path.display())]
    Io {
        /// What was being done: `read`, `create`, …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// Others than the owner may read or write the file.
    #[error(
        "the node key file {} can be read or written by others (mode {mode:04o}); \
         whoever reads it can pose as this node. Run `chmod 600 {}` (and consider \
         the key exposed if others did read it)",
        path.display(),
        path.display()
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The path is not a regular file (a directory, a device…).
    #[error("the node key file {} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file does not hold a libp2p key this node can use.
    #[error(
        "the node key file {} is not a hearth node key ({reason}); it was left untouched. \
         Restore it from a backup, or move it away to create a new key (which changes \
         the peer id others have configured)",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A key given to be written (the store's) could not be used.
    #[error("the key to write to {} is unusable: {reason}", path.display())]
    BadKey {
        /// The file it was for.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where the key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The file existed.
    Loaded,
    /// The file did not exist; the key given to migrate (the store's) was
    /// written to it.
    Migrated,
    /// The file did not exist; a new key was created and written.
    Created,
}

/// Reads the key in `path`; `None` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<Keypair>, IdentityError> {
    let io = |action, source| IdentityError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", e)),
    };
    // The opened file's metadata, not the path's: what is checked is what
    // is read.
    let meta = file.metadata().map_err(|e| io("inspect", e))?;
    if !meta.is_file() {
        return Err(IdentityError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    let corrupt = |reason: String| IdentityError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(corrupt(format!(
            "it has {} bytes, a key has fewer than {MAX_KEY_FILE_BYTES}",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io("read", e))?;
    if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(corrupt("it grew while being read".to_owned()));
    }
    decode(&bytes).map(Some).map_err(corrupt)
}

/// Reads the key in `path`, or creates the file: with the key `migrate`
/// (libp2p protobuf bytes, such as the store's) when one is given, with a
/// new ed25519 key otherwise. The parent directory is created owner-only
/// if missing.
pub fn load_or_create(
    path: &Path,
    migrate: Option<&[u8]>,
) -> Result<(Keypair, KeySource), IdentityError> {
    if let Some(key) = load(path)? {
        return Ok((key, KeySource::Loaded));
    }
    let (key, source) = match migrate {
        Some(bytes) => {
            let key = decode(bytes).map_err(|reason| IdentityError::BadKey {
                path: path.to_path_buf(),
                reason,
            })?;
            (key, KeySource::Migrated)
        }
        None => (Keypair::generate_ed25519(), KeySource::Created),
    };
    let bytes = key
        .to_protobuf_encoding()
        .map_err(|e| IdentityError::BadKey {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if create(path, &bytes)? {
        Ok((key, source))
    } else {
        // Another process created the file first: its key is the one.
        let key = load(path)?.ok_or_else(|| IdentityError::Io {
            action: "read",
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::NotFound, "it vanished after being created"),
        })?;
        Ok((key, KeySource::Loaded))
    }
}

/// A key from its protobuf bytes, if it is an ed25519 key.
fn decode(bytes: &[u8]) -> Result<Keypair, String> {
    let key = Keypair::from_protobuf_encoding(bytes).map_err(|e| e.to_string())?;
    if key.clone().try_into_ed25519().is_err() {
        return Err(format!("a {:?} key, not ed25519", key.key_type()));
    }
    Ok(key)
}

/// Writes `bytes` to a new owner-only file at `path`, atomically. False
/// when a file already exists there (it is left as it is).
fn create(path: &Path, bytes: &[u8]) -> Result<bool, IdentityError> {
    let io = |action, source| IdentityError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| io("create the directory of", e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "node.key".to_owned());
    let temp = dir.join(format!(
        ".{name}.{}-{:016x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    let result = write_new(&temp, bytes)
        .map_err(|e| io("create", e))
        .and_then(|()| {
            // A hard link never replaces an existing file, unlike a rename.
            match std::fs::hard_link(&temp, path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                // File systems without hard links: rename, which is atomic
                // but could replace a file created in the meantime.
                Err(_) if !path.exists() => std::fs::rename(&temp, path)
                    .map(|()| true)
                    .map_err(|e| io("create", e)),
                Err(_) => Ok(false),
            }
        });
    let _ = std::fs::remove_file(&temp);
    let created = result?;
    if created {
        // Make the new directory entry durable too.
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync the directory of", e))?;
    }
    Ok(created)
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask cannot widen 0600, but may have narrowed it: set it as
    // meant.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_key_is_created_once_owner_only_and_the_same_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("node.key");
        let (first, source) = load_or_create(&path, None).unwrap();
        assert_eq!(source, KeySource::Created);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let written = std::fs::read(&path).unwrap();

        let (again, source) = load_or_create(&path, None).unwrap();
        assert_eq!(source, KeySource::Loaded);
        assert_eq!(again.public().to_peer_id(), first.public().to_peer_id());
        assert_eq!(std::fs::read(&path).unwrap(), written, "file rewritten");
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded.public().to_peer_id(), first.public().to_peer_id());
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("node.key")]);
    }

    #[test]
    fn a_missing_file_takes_the_key_to_migrate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let old = Keypair::generate_ed25519();
        let bytes = old.to_protobuf_encoding().unwrap();
        let (key, source) = load_or_create(&path, Some(&bytes)).unwrap();
        assert_eq!(source, KeySource::Migrated);
        assert_eq!(key.public().to_peer_id(), old.public().to_peer_id());
        // Once the file exists it wins over what is offered.
        let other = Keypair::generate_ed25519().to_protobuf_encoding().unwrap();
        let (key, source) = load_or_create(&path, Some(&other)).unwrap();
        assert_eq!(source, KeySource::Loaded);
        assert_eq!(key.public().to_peer_id(), old.public().to_peer_id());
        assert!(matches!(
            load_or_create(&dir.path().join("b.key"), Some(b"junk")),
            Err(IdentityError::BadKey { .. })
        ));
        assert!(!dir.path().join("b.key").exists());
    }

    #[test]
    fn a_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        load_or_create(&path, None).unwrap();
        let before = std::fs::read(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&path, None).unwrap_err();
        assert!(
            matches!(err, IdentityError::Exposed { mode: 0o644, .. }),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(
            mode(&path),
            0o644,
            "permissions changed behind the owner's back"
        );
    }

    #[test]
    fn a_corrupt_or_foreign_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, Vec<u8>); 4] = [
            ("empty", Vec::new()),
            ("text", b"-----BEGIN PRIVATE KEY-----\n".to_vec()),
            ("truncated", {
                let mut key = Keypair::generate_ed25519().to_protobuf_encoding().unwrap();
                key.truncate(10);
                key
            }),
            (
                "huge",
                vec![0x08; usize::try_from(MAX_KEY_FILE_BYTES).unwrap() + 1],
            ),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            write_new(&path, &bytes).unwrap();
            let err = load_or_create(&path, None).unwrap_err();
            assert!(
                matches!(err, IdentityError::Corrupt { .. }),
                "{name}: {err}"
            );
            assert!(err.to_string().contains("left untouched"), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was changed");
        }
        let err = load_or_create(dir.path(), None).unwrap_err();
        assert!(matches!(err, IdentityError::NotAFile { .. }), "{err}");
    }
}
