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
//! | `posts` | message id (32) | [`StoredPost`] |
//! | `by_channel` | channel ++ `0x00` ++ created_ms BE ++ id | empty |
//! | `expiry` | expires_ms BE ++ id | empty (posts with an expiry only) |
//! | `seen` | message id | until_ms `u64` BE |
//! | `seen_expiry` | until_ms BE ++ id | empty |
//! | `pending` | channel ++ `0x00` ++ id | empty |
//! | `personas` | channel name | [`PersonaRecord`] |
//! | `blocklist` | SHA-256 of the encoded entry | [`BlockEntry`] |
//! | `follows` | moderator key (32) | [`Scope`] |
//! | `mod_lists` | moderator key (32) | the signed list envelope, as received |
//! | `channels` | channel name | empty |
//! | `peers` | `PeerId::to_bytes()` | [`PeerRecord`] |
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

mod keys;
mod posts;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use hearth_protocol::{BlockEntry, ChannelName, PublicKey, Scope};
use libp2p::PeerId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionResult, TransactionError};
use thiserror::Error;

pub use posts::SweepStats;

/// The layout version this code writes. A store with a higher version is
/// refused rather than misread.
pub const SCHEMA_VERSION: u32 = 1;

/// How many peers [`Store::remember_peer`] keeps; the least recently seen
/// go first.
pub const MAX_KNOWN_PEERS: usize = 256;

const SCHEMA_KEY: &[u8] = b"schema";
const PEER_KEY: &[u8] = b"peer_key";

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
    post_count: AtomicUsize,
    corrupt: AtomicU64,
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
    /// `Store` in this one) has the directory open, and with
    /// [`StoreError::NewerSchema`] when a newer hearth wrote it; in that
    /// case nothing in the store is changed.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let config = sled::Config::new().path(dir).cache_capacity(cache_bytes);
        Self::start(&config, dir.to_path_buf())
    }

    /// A store that lives only as long as this value and its clones: sled
    /// keeps it in a fresh temporary directory (under `/dev/shm` on Linux)
    /// and deletes it when the last clone is dropped.
    pub fn temporary(cache_bytes: u64) -> Result<Store, StoreError> {
        let config = sled::Config::new()
            .temporary(true)
            .cache_capacity(cache_bytes);
        // `get_path` is public but hidden in sled 0.34: the generated
        // temporary directory, so `path()` can report where it lives.
        let path = config.get_path();
        Self::start(&config, path)
    }

    fn start(config: &sled::Config, path: PathBuf) -> Result<Store, StoreError> {
        let db = config.open().map_err(|e| open_error(e, &path))?;
        // Check the version before any other tree is opened: opening a tree
        // creates it, and a newer store must be left exactly as it is.
        let meta = db.open_tree("meta")?;
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
            None => {
                let foreign = db
                    .tree_names()
                    .iter()
                    .any(|name| !(name.as_ref() == b"meta" || name.as_ref() == b"__sled__default"));
                if foreign || !db.is_empty() {
                    return Err(StoreError::Corrupt(format!(
                        "{} holds a database without a hearth schema version; \
                         it is not a hearth store",
                        path.display()
                    )));
                }
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
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
            meta,
            corrupt: AtomicU64::new(0),
            path,
            db,
        };
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// The directory the store lives in (for a temporary store, the one
    /// sled generated).
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many corrupt records reads have skipped or reported since the
    /// store was opened.
    pub fn corrupt_records(&self) -> u64 {
        self.inner.corrupt.load(Ordering::Relaxed)
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Makes every write so far durable, without blocking the runtime: the
    /// work runs on sled's own thread pool.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        self.inner.db.flush_async().await?;
        Ok(())
    }

    // ---- personas ----

    /// The persona stored for `channel`.
    pub fn persona(&self, channel: &ChannelName) -> Result<Option<PersonaRecord>, StoreError> {
        let key = channel.as_str().as_bytes();
        match self.inner.personas.get(key)? {
            None => Ok(None),
            Some(value) => self.decode_one("personas", key, &value).map(Some),
        }
    }

    /// Stores (or replaces) the persona for `channel`.
    pub fn put_persona(
        &self,
        channel: &ChannelName,
        record: &PersonaRecord,
    ) -> Result<(), StoreError> {
        self.inner
            .personas
            .insert(channel.as_str().as_bytes(), encode(record)?)?;
        Ok(())
    }

    /// Removes the persona of `channel`, so the next one is fresh. Returns
    /// whether there was one.
    pub fn remove_persona(&self, channel: &ChannelName) -> Result<bool, StoreError> {
        Ok(self
            .inner
            .personas
            .remove(channel.as_str().as_bytes())?
            .is_some())
    }

    /// Every stored persona, by channel name.
    pub fn personas(&self) -> Result<Vec<(ChannelName, PersonaRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.inner.personas.iter() {
            let (key, value) = item?;
            let Some(channel) = keys::channel_name(&key) else {
                self.skip_corrupt("personas", &key, "key is not a channel name");
                continue;
            };
            if let Some(record) = self.decode_listed("personas", &key, &value) {
                out.push((channel, record));
            }
        }
        Ok(out)
    }

    // ---- the user's own blocklist ----

    /// Adds an entry to the user's blocklist. Returns false if the same
    /// entry (target, scope and reason) is already there.
    pub fn add_block(&self, entry: &BlockEntry) -> Result<bool, StoreError> {
        let value = encode(entry)?;
        let key = sha256(&value);
        let swapped = self.inner.blocklist.compare_and_swap(
            key,
            None as Option<&[u8]>,
            Some(value.as_slice()),
        )?;
        Ok(swapped.is_ok())
    }

    /// Removes an entry from the user's blocklist. Returns whether it was
    /// there.
    pub fn remove_block(&self, entry: &BlockEntry) -> Result<bool, StoreError> {
        let key = sha256(&encode(entry)?);
        Ok(self.inner.blocklist.remove(key)?.is_some())
    }

    /// The user's blocklist. The order is stable (by the entries' hashes)
    /// but not the order they were added in.
    pub fn blocklist(&self) -> Result<Vec<BlockEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.inner.blocklist.iter() {
            let (key, value) = item?;
            out.extend(self.decode_listed("blocklist", &key, &value));
        }
        Ok(out)
    }

    // ---- followed moderators ----

    /// Follows a moderator in `scope` (replacing an earlier scope).
    pub fn follow(&self, moderator: &PublicKey, scope: &Scope) -> Result<(), StoreError> {
        self.inner
            .follows
            .insert(moderator.as_bytes(), encode(scope)?)?;
        Ok(())
    }

    /// Stops following a moderator and drops its stored list, in one
    /// transaction. Returns whether it was followed.
    pub fn unfollow(&self, moderator: &PublicKey) -> Result<bool, StoreError> {
        let key = moderator.as_bytes();
        let followed = (&self.inner.follows, &self.inner.mod_lists).transaction(
            |(follows, lists)| -> ConflictableTransactionResult<bool, StoreError> {
                lists.remove(&key[..])?;
                Ok(follows.remove(&key[..])?.is_some())
            },
        )?;
        Ok(followed)
    }

    /// The followed moderators and where each applies.
    pub fn follows(&self) -> Result<Vec<(PublicKey, Scope)>, StoreError> {
        let mut out = Vec::new();
        for item in self.inner.follows.iter() {
            let (key, value) = item?;
            let Ok(bytes) = <[u8; 32]>::try_from(key.as_ref()) else {
                self.skip_corrupt("follows", &key, "key is not 32 bytes");
                continue;
            };
            if let Some(scope) = self.decode_listed("follows", &key, &value) {
                out.push((PublicKey(bytes), scope));
            }
        }
        Ok(out)
    }

    /// Stores a moderator's latest signed list (its envelope bytes),
    /// replacing the previous one. The caller checks it is newer.
    pub fn put_moderator_list(&self, moderator: &PublicKey, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.mod_lists.insert(moderator.as_bytes(), bytes)?;
        Ok(())
    }

    /// A moderator's stored list envelope.
    pub fn moderator_list(&self, moderator: &PublicKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .inner
            .mod_lists
            .get(moderator.as_bytes())?
            .map(|v| v.to_vec()))
    }

    // ---- joined channels ----

    /// Records that the node is in `channel`.
    pub fn add_channel(&self, channel: &ChannelName) -> Result<(), StoreError> {
        self.inner
            .channels
            .insert(channel.as_str().as_bytes(), &[][..])?;
        Ok(())
    }

    /// Records that the node left `channel`. Returns whether it was in it.
    pub fn remove_channel(&self, channel: &ChannelName) -> Result<bool, StoreError> {
        Ok(self
            .inner
            .channels
            .remove(channel.as_str().as_bytes())?
            .is_some())
    }

    /// The joined channels, sorted by name.
    pub fn channels(&self) -> Result<Vec<ChannelName>, StoreError> {
        let mut out = Vec::new();
        for key in self.inner.channels.iter().keys() {
            let key = key?;
            match keys::channel_name(&key) {
                Some(channel) => out.push(channel),
                None => self.skip_corrupt("channels", &key, "key is not a channel name"),
            }
        }
        Ok(out)
    }

    // ---- known peers ----

    /// Stores what is known of a peer, replacing its previous record, and
    /// keeps at most [`MAX_KNOWN_PEERS`], dropping the least recently seen.
    pub fn remember_peer(&self, peer: &PeerId, record: &PeerRecord) -> Result<(), StoreError> {
        let peers = &self.inner.peers;
        peers.insert(peer.to_bytes(), encode(record)?)?;
        let count = peers.len();
        if count <= MAX_KNOWN_PEERS {
            return Ok(());
        }
        let mut all = Vec::with_capacity(count);
        for item in peers.iter() {
            let (key, value) = item?;
            // Undecodable records sort first, so they are dropped first.
            let last_seen = self
                .decode_listed::<PeerRecord>("peers", &key, &value)
                .map(|r| r.last_seen_ms);
            all.push((last_seen, key));
        }
        all.sort();
        for (_, key) in all.into_iter().take(count.saturating_sub(MAX_KNOWN_PEERS)) {
            peers.remove(key)?;
        }
        Ok(())
    }

    /// Up to `limit` known peers, most recently seen first.
    pub fn known_peers(&self, limit: usize) -> Result<Vec<(PeerId, PeerRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.inner.peers.iter() {
            let (key, value) = item?;
            let Ok(peer) = PeerId::from_bytes(&key) else {
                self.skip_corrupt("peers", &key, "key is not a peer id");
                continue;
            };
            if let Some(record) = self.decode_listed::<PeerRecord>("peers", &key, &value) {
                out.push((peer, record));
            }
        }
        out.sort_by(|a, b| b.1.last_seen_ms.cmp(&a.1.last_seen_ms));
        out.truncate(limit);
        Ok(out)
    }

    // ---- the persistent libp2p identity ----

    /// The stored libp2p keypair (protobuf encoding), if one was set.
    pub fn peer_key(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.meta.get(PEER_KEY)?.map(|v| v.to_vec()))
    }

    /// Stores the libp2p keypair (protobuf encoding).
    pub fn set_peer_key(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.meta.insert(PEER_KEY, bytes)?;
        Ok(())
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

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
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
