//! Settings and identities: personas, the user's blocklist, followed
//! moderators and their lists, joined channels, known peers and the
//! persistent peer key.

use hearth_protocol::{BlockEntry, ChannelName, PersonaStamp, PublicKey, Scope};
use libp2p::PeerId;
use sled::Transactional;
use sled::transaction::ConflictableTransactionResult;

use super::{
    MAX_KNOWN_PEERS, MODERATOR_KEY, NETWORK_KEY, PEER_KEY, PERSONA_STAMP_PREFIX, PeerRecord,
    PersonaRecord, Store, StoreError, encode, keys, sha256,
};

impl Store {
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

    /// Adds entries to the user's blocklist in one atomic batch: all or
    /// none. Returns how many were new.
    pub fn add_blocks(&self, entries: &[BlockEntry]) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut keys = std::collections::HashSet::new();
        for entry in entries {
            let value = encode(entry)?;
            let key = sha256(&value);
            if !self.inner.blocklist.contains_key(key)? && keys.insert(key) {
                batch.insert(&key[..], value);
            }
        }
        self.inner.blocklist.apply_batch(batch)?;
        Ok(keys.len())
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
    pub fn put_moderator_list(
        &self,
        moderator: &PublicKey,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
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
        out.sort_by_key(|(_, record)| std::cmp::Reverse(record.last_seen_ms));
        out.truncate(limit);
        Ok(out)
    }

    // ---- the network the store belongs to ----

    /// The network id recorded at first use, if any.
    pub fn network(&self) -> Result<Option<String>, StoreError> {
        match self.inner.meta.get(NETWORK_KEY)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes.to_vec())
                .map(Some)
                .map_err(|_| StoreError::Corrupt("meta network: not UTF-8".to_owned())),
        }
    }

    /// Records the network id the store belongs to.
    pub fn set_network(&self, network: &str) -> Result<(), StoreError> {
        self.inner.meta.insert(NETWORK_KEY, network.as_bytes())?;
        Ok(())
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

    // ---- the moderator key ----

    /// The stored moderator secret key, if one was created. A value of the
    /// wrong length is corruption, not "none": the key must never be
    /// silently replaced, or the moderator's followers lose them.
    pub fn moderator_secret(&self) -> Result<Option<[u8; 32]>, StoreError> {
        let Some(value) = self.inner.meta.get(MODERATOR_KEY)? else {
            return Ok(None);
        };
        <[u8; 32]>::try_from(value.as_ref())
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("moderator key of {} bytes", value.len())))
    }

    /// Stores the moderator secret key.
    pub fn set_moderator_secret(&self, secret: &[u8; 32]) -> Result<(), StoreError> {
        self.inner.meta.insert(MODERATOR_KEY, secret.as_slice())?;
        Ok(())
    }

    // ---- persona stamps ----

    /// The persona stamp found for `persona`, if one was kept.
    pub fn persona_stamp(&self, persona: &PublicKey) -> Result<Option<PersonaStamp>, StoreError> {
        let Some(value) = self.inner.meta.get(stamp_key(persona))? else {
            return Ok(None);
        };
        <[u8; 8]>::try_from(value.as_ref())
            .map(|bytes| Some(PersonaStamp(u64::from_be_bytes(bytes))))
            .map_err(|_| StoreError::Corrupt(format!("persona stamp of {} bytes", value.len())))
    }

    /// Keeps the persona stamp found for `persona`, so that it is searched
    /// for once per persona, not once per start.
    pub fn set_persona_stamp(
        &self,
        persona: &PublicKey,
        stamp: PersonaStamp,
    ) -> Result<(), StoreError> {
        self.inner
            .meta
            .insert(stamp_key(persona), &stamp.0.to_be_bytes())?;
        Ok(())
    }

    /// Forgets the persona stamp of a persona that was replaced.
    pub fn remove_persona_stamp(&self, persona: &PublicKey) -> Result<(), StoreError> {
        self.inner.meta.remove(stamp_key(persona))?;
        Ok(())
    }
}

/// The `meta` key of a persona's stamp: the prefix, then the 32-byte key.
fn stamp_key(persona: &PublicKey) -> Vec<u8> {
    [PERSONA_STAMP_PREFIX, persona.as_bytes().as_slice()].concat()
}
