//! The node's persistent state in a sled database.
//!
//! One [`Store`] owns one sled database. sled takes an exclusive file lock,
//! so one directory serves one process at a time ([`StoreError::InUse`]).
//! Values are postcard-encoded unless the table says otherwise; times are
//! ms since the Unix epoch, big-endian where they are part of a key, so
//! that byte order is time order.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `meta` | `"schema"` | [`SCHEMA_VERSION`] as `u32` BE |
//! | `meta` | `"peer_key"` | the libp2p keypair, protobuf bytes as given |
//! | `meta` | `"network"` | the network id the store belongs to, UTF-8 |
//! | `meta` | `"generation"` | the number of the last flush, `u64` BE |
//! | `meta` | `"persona_stamp/"` ++ persona key (32) | its persona stamp, `u64` BE |
//! | `meta` | `"address_ban/"` ++ range as text (`203.0.113.0/24`) | [`StoredAddressBan`] |
//! | `posts` | message id (32) | [`StoredPost`] |
//! | `by_channel` | channel ++ `0x00` ++ created_ms BE ++ id | empty |
//! | `expiry` | expires_ms BE ++ id | empty (posts with an expiry only) |
//! | `seen` | message id | until_ms `u64` BE |
//! | `seen_expiry` | until_ms BE ++ id | empty |
//! | `pending` | channel ++ `0x00` ++ id | empty |
//! | `personas` | channel name | [`PersonaRecord`] |
//! | `blocklist` | SHA-256 of the encoded entry | [`BlockEntry`](hearth_protocol::BlockEntry) |
//! | `follows` | moderator key (32) | [`Scope`](hearth_protocol::Scope) |
//! | `mod_lists` | moderator key (32) | the signed list envelope, as received |
//! | `channels` | channel name | empty |
//! | `peers` | `PeerId::to_bytes()` | [`PeerRecord`] |
//! | `reports` | channel ++ `0x00` ++ created_ms BE ++ id | [`StoredReport`] (moderators only; opened at first use) |
//!
//! `0x00` cannot occur in a channel name, so `channel ++ 0x00` prefixes
//! exactly one channel's keys. `by_channel`, `expiry` and `seen_expiry` are
//! indexes: they are written in the same sled transaction as the record
//! they point to, so a crash leaves both or neither.
//!
//! Reading never panics on bad data. A record that does not decode is
//! skipped by every listing with a `warn` log and counted
//! ([`Store::corrupt_records`]); a single lookup of one returns
//! [`StoreError::Corrupt`]. Either way the rest of the store stays
//! readable, and [`Store::sweep`] eventually deletes stale entries.
//!
//! Durability: sled writes in the background every 500 ms;
//! [`Store::flush`] is the point after which a write survives a crash.
//!
//! Damage: sled recovers its log up to the first part it cannot read and
//! drops the rest without an error, and it panics on some corruptions.
//! So every flush also counts a generation, kept in `meta` and, once the
//! flush is done, in the file `hearth-store` beside sled's files. A store
//! whose database ends at an older generation than that file names lost
//! writes that were saved, and is refused as [`StoreError::Damaged`], as
//! is one whose database is gone or unreadable, or whose opening panics.
//! A directory holding files that are not sled's or hearth's, or a sled
//! database that is not hearth's, is refused as [`StoreError::Foreign`].
//! Neither is ever reset or changed.
//!
//! Files: [`Store::open`] creates the directory readable by its user only
//! (persona secrets live in it). [`Store::temporary`] uses a fresh private
//! directory, in memory (`/dev/shm`) on Linux, deleted when the store is
//! dropped.

mod bans;
mod budget;
mod cards;
mod crisis;
mod keys;
mod posts;
mod reports;
mod settings;
mod sync;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::fmt;
use std::io::Read as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hearth_protocol::ChannelName;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::transaction::TransactionError;
use thiserror::Error;

pub use bans::{MAX_STORED_ADDRESS_BANS, StoredAddressBan};
pub use posts::SweepStats;
pub use reports::{MAX_REPORTS_PER_CHANNEL, StoredReport};

/// The layout version this code writes. A store with a higher version is
/// refused rather than misread.
pub const SCHEMA_VERSION: u32 = 1;

/// How many peers [`Store::remember_peer`] keeps; the least recently seen
/// go first.
pub const MAX_KNOWN_PEERS: usize = 256;

/// How long [`Store::open`] waits for a store that is in use to become
/// free before it returns [`StoreError::InUse`].
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

const SCHEMA_KEY: &[u8] = b"schema";
const PEER_KEY: &[u8] = b"peer_key";
/// The node's moderator signing key (32 secret bytes).
const MODERATOR_KEY: &[u8] = b"moderator_key";
/// Prefix of the `meta` keys holding the node's own personas' stamps.
const PERSONA_STAMP_PREFIX: &[u8] = b"persona_stamp/";
const NETWORK_KEY: &[u8] = b"network";
const GENERATION_KEY: &[u8] = b"generation";

/// The file beside sled's that names the last flushed generation.
pub const WITNESS_FILE: &str = "hearth-store";
/// Where the witness is written before it is renamed into place.
const WITNESS_TEMP: &str = "hearth-store.tmp";
/// The longest witness file read.
const WITNESS_MAX_BYTES: u64 = 256;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process holds the store's file lock.
    #[error("the store at {} is in use by another hearth process", .0.display())]
    InUse(PathBuf),
    /// The store was written by a newer hearth; it was left untouched.
    #[error(
        "the store was written by a newer hearth (schema version {found}, this version reads \
         up to {supported}); upgrade hearth or use another data directory"
    )]
    NewerSchema {
        /// The version found in the store.
        found: u32,
        /// The highest version this code reads.
        supported: u32,
    },
    /// A record that does not decode. Listings skip such records; a lookup
    /// of one returns this.
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
    /// The store cannot be trusted: its database lost writes that had been
    /// saved, is gone or unreadable, or could not be opened. Nothing in it
    /// was changed.
    #[error(
        "the store in {} is damaged ({reason}); move it away to start fresh: mv {} {}.broken",
        .path.display(), .path.display(), .path.display()
    )]
    Damaged {
        /// The store's directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory holds something other than a hearth store. Nothing in
    /// it was changed.
    #[error(
        "{} is not a hearth store ({reason}); use another data directory, or move it away: \
         mv {} {}.other",
        .path.display(), .path.display(), .path.display()
    )]
    Foreign {
        /// The directory.
        path: PathBuf,
        /// What is in it.
        reason: String,
    },
    /// A value could not be encoded. Every stored type encodes, so this is
    /// a bug, reported rather than panicking.
    #[error("cannot encode a record for the store: {0}")]
    Encode(String),
    /// sled failed.
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// The file system failed.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// A post as kept in the store: its exact signed bytes plus what the node
/// needs without decoding them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPost {
    /// The envelope exactly as signed.
    pub bytes: Vec<u8>,
    /// Its channel.
    pub channel: ChannelName,
    /// When it was written (author's clock).
    pub created_ms: u64,
    /// When it expires, if the author chose so.
    pub expires_ms: Option<u64>,
    /// When this node stored it.
    pub received_ms: u64,
    /// Whether this node's user wrote it.
    pub own: bool,
}

/// A stored persona: the secret key of the persona a channel speaks with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonaRecord {
    /// The ed25519 secret key bytes.
    pub secret: [u8; 32],
    /// When it was created.
    pub created_ms: u64,
}

impl fmt::Debug for PersonaRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonaRecord")
            .field("secret", &"<redacted>")
            .field("created_ms", &self.created_ms)
            .finish()
    }
}

/// A peer this node has been connected to, for redialling after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRecord {
    /// Its addresses, as multiaddr strings.
    pub addresses: Vec<String>,
    /// When it was last connected.
    pub last_seen_ms: u64,
}

/// The node's sled store. Cloning is cheap and shares the database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    path: PathBuf,
    meta: sled::Tree,
    posts: sled::Tree,
    by_channel: sled::Tree,
    expiry: sled::Tree,
    seen: sled::Tree,
    seen_expiry: sled::Tree,
    pending: sled::Tree,
    personas: sled::Tree,
    blocklist: sled::Tree,
    follows: sled::Tree,
    mod_lists: sled::Tree,
    channels: sled::Tree,
    peers: sled::Tree,
    cards: sled::Tree,
    presence: sled::Tree,
    post_count: AtomicUsize,
    corrupt: AtomicU64,
    /// The generation the next flush saves.
    generation: AtomicU64,
    /// The generation the witness file names.
    witnessed: Mutex<u64>,
    /// The per-channel byte budget and running byte counts (budget.rs).
    budget: Mutex<budget::Tracker>,
    /// Last, so it runs after every sled handle above has been dropped.
    _cleanup: RemoveOnDrop,
}

/// Deletes a temporary store's directory when the store is dropped.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let Some(dir) = &self.0 else { return };
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                dir = %dir.display(),
                error = %e,
                "could not delete a temporary store"
            ),
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `dir`, creating the directory (mode 0700 on Unix:
    /// it holds persona secrets) and the store if missing. `cache_bytes`
    /// bounds sled's page cache.
    ///
    /// Fails with [`StoreError::InUse`] when another process (or another
    /// `Store` in this one) has the directory open, after waiting up to
    /// [`LOCK_WAIT`] for it to close (this blocks the calling thread).
    /// Fails with [`StoreError::NewerSchema`] when a newer hearth wrote the
    /// store, [`StoreError::Damaged`] when it cannot be trusted and
    /// [`StoreError::Foreign`] when the directory holds something else;
    /// nothing in it is changed then.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        if dir.exists() && !dir.is_dir() {
            return Err(StoreError::Foreign {
                path: dir.to_path_buf(),
                reason: "it is a file, not a directory".to_owned(),
            });
        }
        create_private_dir(dir, true)?;
        let config = sled::Config::new().path(dir).cache_capacity(cache_bytes);
        Self::start(&config, dir.to_path_buf(), RemoveOnDrop(None))
    }

    /// A store that lives only as long as this value and its clones, in a
    /// fresh directory only this user can read (under `/dev/shm` on Linux
    /// when it is writable, so it stays in memory; else the system's
    /// temporary directory). The directory is deleted when the last clone
    /// is dropped.
    ///
    /// sled's own `temporary` mode is also set, but not relied on: sled
    /// drops its last handle from background threads, sometimes after the
    /// process has exited, which left directories (with persona secrets)
    /// behind; the store deletes its directory itself, at once.
    pub fn temporary(cache_bytes: u64) -> Result<Store, StoreError> {
        let dir = private_temp_dir()?;
        let cleanup = RemoveOnDrop(Some(dir.clone()));
        // Nothing in it outlives the process: sled's periodic flush
        // thread would only wake for nothing.
        let config = sled::Config::new()
            .path(&dir)
            .temporary(true)
            .flush_every_ms(None)
            .cache_capacity(cache_bytes);
        Self::start(&config, dir, cleanup)
    }

    fn start(
        config: &sled::Config,
        path: PathBuf,
        cleanup: RemoveOnDrop,
    ) -> Result<Store, StoreError> {
        let witness = inspect(&path)?;
        // sled panics on some corrupt logs; that is a damaged store, not a
        // crash of the program.
        CATCHING.with(|c| c.set(true));
        let opened = catch_unwind(AssertUnwindSafe(|| {
            Self::start_db(config, path.clone(), cleanup, witness)
        }));
        CATCHING.with(|c| c.set(false));
        let store = match opened {
            Ok(result) => result?,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                return Err(StoreError::Damaged {
                    path,
                    reason: format!("the database failed while opening: {message}"),
                });
            }
        };
        Ok(store)
    }

    fn start_db(
        config: &sled::Config,
        path: PathBuf,
        cleanup: RemoveOnDrop,
        witness: Option<u64>,
    ) -> Result<Store, StoreError> {
        let db = open_waiting(config, &path).map_err(|e| match e {
            StoreError::Sled(sled::Error::Corruption { .. }) => StoreError::Damaged {
                path: path.clone(),
                reason: "sled cannot read its files".to_owned(),
            },
            other => other,
        })?;
        // Check the version before any other tree is opened: opening a tree
        // creates it, and a newer store must be left exactly as it is.
        let meta = db.open_tree("meta")?;
        let mut fresh = false;
        match meta.get(SCHEMA_KEY)? {
            Some(found) => {
                let found = <[u8; 4]>::try_from(found.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt("meta schema: not a u32".to_owned()))?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                if found < SCHEMA_VERSION {
                    // Version 1 is the first; later versions migrate here.
                    return Err(StoreError::Corrupt(format!(
                        "meta schema: version {found} was never written by hearth"
                    )));
                }
            }
            None if witness.is_some() => {
                return Err(StoreError::Damaged {
                    path,
                    reason: "it held a hearth store, but its database is empty or unreadable"
                        .to_owned(),
                });
            }
            None => {
                let foreign = db
                    .tree_names()
                    .iter()
                    .any(|name| !(name.as_ref() == b"meta" || name.as_ref() == b"__sled__default"));
                if foreign || !db.is_empty() {
                    return Err(StoreError::Foreign {
                        path,
                        reason: "it holds a database without a hearth schema version".to_owned(),
                    });
                }
                fresh = true;
            }
        }
        let generation = match meta.get(GENERATION_KEY)? {
            None => 0,
            Some(value) => keys::be_u64(&value).ok_or_else(|| StoreError::Damaged {
                path: path.clone(),
                reason: "its save counter is unreadable".to_owned(),
            })?,
        };
        if let Some(saved) = witness
            && saved > generation
        {
            return Err(StoreError::Damaged {
                path,
                reason: format!(
                    "its database ends at save {generation}, but save {saved} had completed: \
                     writes that were saved are lost"
                ),
            });
        }
        let tree = |name: &str| db.open_tree(name);
        let posts = tree("posts")?;
        let inner = Inner {
            post_count: AtomicUsize::new(posts.len()),
            posts,
            by_channel: tree("by_channel")?,
            expiry: tree("expiry")?,
            seen: tree("seen")?,
            seen_expiry: tree("seen_expiry")?,
            pending: tree("pending")?,
            personas: tree("personas")?,
            blocklist: tree("blocklist")?,
            follows: tree("follows")?,
            mod_lists: tree("mod_lists")?,
            channels: tree("channels")?,
            peers: tree("peers")?,
            cards: tree("cards")?,
            presence: tree("presence")?,
            meta,
            corrupt: AtomicU64::new(0),
            generation: AtomicU64::new(generation.saturating_add(1)),
            witnessed: Mutex::new(witness.unwrap_or(0)),
            budget: Mutex::new(budget::Tracker::default()),
            path,
            db,
            _cleanup: cleanup,
        };
        let store = Store {
            inner: Arc::new(inner),
        };
        if fresh {
            store
                .inner
                .meta
                .insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        }
        if fresh || witness.is_none() {
            // A new store, or one written before the witness existed.
            store.flush()?;
        }
        Ok(store)
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many corrupt records reads have skipped or reported since the
    /// store was opened.
    pub fn corrupt_records(&self) -> u64 {
        self.inner.corrupt.load(Ordering::Relaxed)
    }

    /// Whether the store is deleted when closed ([`Store::temporary`]):
    /// then nothing in it can be made durable, and [`Store::flush`] does
    /// nothing.
    pub fn is_temporary(&self) -> bool {
        self.inner._cleanup.0.is_some()
    }

    /// Makes every write so far durable, and records the save in the
    /// witness file (see the module docs). A temporary store is deleted
    /// when closed, so there is nothing to make durable: it returns at
    /// once.
    pub fn flush(&self) -> Result<(), StoreError> {
        if self.is_temporary() {
            return Ok(());
        }
        let inner = &self.inner;
        let generation = inner.generation.fetch_add(1, Ordering::Relaxed);
        inner
            .meta
            .insert(GENERATION_KEY, &generation.to_be_bytes())?;
        inner.db.flush()?;
        // Only after sled's flush returned: the witness never names a save
        // that is not on disk. Flushes may finish out of order; the file
        // only moves forward.
        let mut witnessed = inner
            .witnessed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if generation > *witnessed {
            write_witness(&inner.path, generation)?;
            *witnessed = generation;
        }
        Ok(())
    }

    /// Makes every write so far durable, without blocking the runtime: the
    /// flush runs on tokio's blocking pool. (sled's own `flush_async` was
    /// seen to never complete under load with several stores in one
    /// process, hanging the node task that awaited it.)
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
    }

    // ---- decoding helpers ----

    /// Decodes one looked-up record; a corrupt one is counted, logged and
    /// returned as [`StoreError::Corrupt`].
    fn decode_one<T: DeserializeOwned>(
        &self,
        tree: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Result<T, StoreError> {
        decode(value).map_err(|problem| {
            self.skip_corrupt(tree, key, &problem);
            corrupt(tree, key, &problem)
        })
    }

    /// Decodes one record of a listing; a corrupt one is counted, logged
    /// and skipped.
    fn decode_listed<T: DeserializeOwned>(
        &self,
        tree: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Option<T> {
        decode(value)
            .map_err(|problem| self.skip_corrupt(tree, key, &problem))
            .ok()
    }

    fn skip_corrupt(&self, tree: &'static str, key: &[u8], problem: &str) {
        self.inner.corrupt.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            tree,
            key = %hex::encode(key),
            problem,
            "skipping a corrupt record in the store"
        );
    }
}

/// Opens the database, retrying while its lock is held, for at most
/// [`LOCK_WAIT`]. sled 0.34 releases the file lock from background threads
/// shortly *after* the last handle is dropped (spacejam/sled#1289), so a
/// node restarted in the same process would otherwise see a spurious
/// [`StoreError::InUse`].
fn open_waiting(config: &sled::Config, path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(5);
    loop {
        match config.open().map_err(|e| open_error(e, path)) {
            Err(StoreError::InUse(_)) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Maps sled's lock failure to [`StoreError::InUse`]. sled 0.34 reports it
/// as an `Other` I/O error whose message starts "could not acquire lock";
/// its version is pinned, so the message is too.
fn open_error(e: sled::Error, path: &Path) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::InUse(path.to_path_buf())
        }
        other => StoreError::Sled(other),
    }
}

/// Creates `dir` readable by this user only (on Unix); `recursive` also
/// creates missing parents and accepts an existing directory.
fn create_private_dir(dir: &Path, recursive: bool) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A new, private directory for a temporary store.
fn private_temp_dir() -> Result<PathBuf, StoreError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let shm = Path::new("/dev/shm");
    let mut bases = Vec::new();
    if cfg!(target_os = "linux") && shm.is_dir() {
        bases.push(shm.to_path_buf());
    }
    bases.push(std::env::temp_dir());
    let mut last = None;
    for base in bases {
        for _ in 0..8 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = base.join(format!("hearth-store-{}-{stamp:x}-{n}", std::process::id()));
            match create_private_dir(&dir, false) {
                Ok(()) => return Ok(dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                // Not writable: try the next base.
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
    }
    Err(StoreError::Io(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "no free name for a temporary store",
        )
    })))
}

thread_local! {
    /// Set while this thread opens a store inside `catch_unwind`.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// True on a thread that is opening a store: a panic there comes from a
/// corrupt database, is caught and returned as [`StoreError::Damaged`], so
/// a panic hook may stay quiet about it.
pub fn opening_store() -> bool {
    CATCHING.with(Cell::get)
}

/// Checks what is in a store directory before sled touches it: only
/// sled's files and the witness may be there. Returns the generation the
/// witness names, if there is a witness.
fn inspect(dir: &Path) -> Result<Option<u64>, StoreError> {
    let foreign = |reason: String| StoreError::Foreign {
        path: dir.to_path_buf(),
        reason,
    };
    let mut has_conf = false;
    let mut others = Vec::new();
    let mut witness_found = false;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        match name.as_ref() {
            "conf" => has_conf = true,
            WITNESS_FILE => witness_found = true,
            "db" | "blobs" | WITNESS_TEMP => {}
            other if other.starts_with("snap.") => {}
            other => others.push(other.to_owned()),
        }
    }
    others.sort();
    if let Some(first) = others.first() {
        let more = match others.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        return Err(foreign(format!(
            "it holds {first}{more}, which hearth did not write"
        )));
    }
    if !witness_found {
        // No store of this hearth, but perhaps one from before the witness
        // existed: sled writes `conf` before anything else.
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !has_conf {
            return Err(foreign(
                "it holds files but no sled configuration".to_owned(),
            ));
        }
        return Ok(None);
    }
    let mut text = String::new();
    std::fs::File::open(dir.join(WITNESS_FILE))?
        .take(WITNESS_MAX_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| StoreError::Damaged {
            path: dir.to_path_buf(),
            reason: format!("its {WITNESS_FILE} file is unreadable: {e}"),
        })?;
    let generation = text
        .lines()
        .find_map(|line| line.strip_prefix("generation "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    match generation {
        Some(generation) => Ok(Some(generation)),
        None => Err(StoreError::Damaged {
            path: dir.to_path_buf(),
            reason: format!("its {WITNESS_FILE} file names no save"),
        }),
    }
}

/// Writes the witness: written beside, then renamed into place, so it is
/// always whole.
fn write_witness(dir: &Path, generation: u64) -> Result<(), StoreError> {
    let temp = dir.join(WITNESS_TEMP);
    std::fs::write(
        &temp,
        format!("hearth store: the last completed save\ngeneration {generation}\n"),
    )?;
    std::fs::rename(&temp, dir.join(WITNESS_FILE))?;
    Ok(())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Encode(e.to_string()))
}

/// Decodes a whole value: trailing bytes are corruption too.
fn decode<T: DeserializeOwned>(value: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes(value) {
        Ok((decoded, [])) => Ok(decoded),
        Ok((_, rest)) => Err(format!("{} trailing bytes", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

fn corrupt(tree: &str, key: &[u8], problem: &str) -> StoreError {
    StoreError::Corrupt(format!("{tree} record {}: {problem}", hex::encode(key)))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
