//! The node's personas: one throwaway signing key per channel.
//!
//! In [`PersonaMode::Stored`] they live in the store, so a person keeps
//! their name in a channel they come back to; in [`PersonaMode::Ephemeral`]
//! only in memory. Keys come from `rand::rng()` (a CSPRNG seeded from the
//! operating system) and are never derived from the libp2p key.
//!
//! The node's moderator key lives here too: one key per node, always kept
//! in the store (even with ephemeral personas), because people follow a
//! moderator by that key and a moderator whose key changed is a stranger.

use std::collections::HashMap;

use hearth_protocol::{ChannelName, Keypair, PersonaStamp, PublicKey};

use crate::config::PersonaMode;
use crate::event::PersonaInfo;
use crate::store::{PersonaRecord, Store, StoreError};

pub(crate) struct Personas {
    mode: PersonaMode,
    cache: HashMap<ChannelName, (Keypair, u64)>,
    /// Stamps found for personas of this run; stored ones are in the store.
    stamps: HashMap<PublicKey, PersonaStamp>,
    moderator: Option<Keypair>,
}

impl Personas {
    pub(crate) fn new(mode: PersonaMode) -> Self {
        Self {
            mode,
            cache: HashMap::new(),
            stamps: HashMap::new(),
            moderator: None,
        }
    }

    /// The node's moderator key, created and stored at the first call.
    pub(crate) fn moderator(&mut self, store: &Store) -> Result<Keypair, StoreError> {
        if let Some(key) = &self.moderator {
            return Ok(key.clone());
        }
        let key = match store.moderator_secret()? {
            Some(secret) => Keypair::from_secret_bytes(secret),
            None => {
                let key = Keypair::generate(&mut rand::rng());
                store.set_moderator_secret(&key.secret_bytes())?;
                key
            }
        };
        self.moderator = Some(key.clone());
        Ok(key)
    }

    /// The persona of `channel`, created (and stored) if there is none.
    pub(crate) fn get(
        &mut self,
        store: &Store,
        channel: &ChannelName,
        now_ms: u64,
    ) -> Result<(Keypair, u64), StoreError> {
        if let Some(found) = self.cache.get(channel) {
            return Ok(found.clone());
        }
        if self.mode == PersonaMode::Stored
            && let Some(record) = store.persona(channel)?
        {
            let found = (Keypair::from_secret_bytes(record.secret), record.created_ms);
            self.cache.insert(channel.clone(), found.clone());
            return Ok(found);
        }
        self.create(store, channel, now_ms)
    }

    /// Replaces the persona of `channel` with a new, unlinked one.
    pub(crate) fn rotate(
        &mut self,
        store: &Store,
        channel: &ChannelName,
        now_ms: u64,
    ) -> Result<(Keypair, u64), StoreError> {
        self.create(store, channel, now_ms)
    }

    fn create(
        &mut self,
        store: &Store,
        channel: &ChannelName,
        now_ms: u64,
    ) -> Result<(Keypair, u64), StoreError> {
        let key = Keypair::generate(&mut rand::rng());
        if let Some((old, _)) = self.cache.get(channel) {
            let old = old.public();
            self.stamps.remove(&old);
            if self.mode == PersonaMode::Stored {
                store.remove_persona_stamp(&old)?;
            }
        }
        if self.mode == PersonaMode::Stored {
            store.put_persona(
                channel,
                &PersonaRecord {
                    secret: key.secret_bytes(),
                    created_ms: now_ms,
                },
            )?;
        }
        self.cache.insert(channel.clone(), (key.clone(), now_ms));
        Ok((key, now_ms))
    }

    /// The stamp found for `persona`, if any: in memory, or in the store
    /// for stored personas.
    pub(crate) fn stamp(
        &mut self,
        store: &Store,
        persona: &PublicKey,
    ) -> Result<Option<PersonaStamp>, StoreError> {
        if let Some(stamp) = self.stamps.get(persona) {
            return Ok(Some(*stamp));
        }
        if self.mode != PersonaMode::Stored {
            return Ok(None);
        }
        let stamp = store.persona_stamp(persona)?;
        if let Some(stamp) = stamp {
            self.stamps.insert(*persona, stamp);
        }
        Ok(stamp)
    }

    /// Keeps the stamp found for `persona`: in the store for stored
    /// personas, so that it is searched for once, not at every start.
    pub(crate) fn set_stamp(
        &mut self,
        store: &Store,
        persona: &PublicKey,
        stamp: PersonaStamp,
    ) -> Result<(), StoreError> {
        self.stamps.insert(*persona, stamp);
        if self.mode == PersonaMode::Stored {
            store.set_persona_stamp(persona, stamp)?;
        }
        Ok(())
    }

    /// Every persona: stored ones and those only in memory.
    pub(crate) fn list(&self, store: &Store) -> Result<Vec<PersonaInfo>, StoreError> {
        let mut all: HashMap<ChannelName, PersonaInfo> = HashMap::new();
        if self.mode == PersonaMode::Stored {
            for (channel, record) in store.personas()? {
                let key = Keypair::from_secret_bytes(record.secret);
                all.insert(channel.clone(), info(&channel, &key, record.created_ms));
            }
        }
        for (channel, (key, created)) in &self.cache {
            all.insert(channel.clone(), info(channel, key, *created));
        }
        let mut list: Vec<_> = all.into_values().collect();
        list.sort_by(|a, b| a.channel.cmp(&b.channel));
        Ok(list)
    }
}

/// The public view of a persona.
pub(crate) fn info(channel: &ChannelName, key: &Keypair, created_ms: u64) -> PersonaInfo {
    let public = key.public();
    PersonaInfo {
        channel: channel.clone(),
        key: public,
        name: public.name(),
        created_ms,
    }
}
