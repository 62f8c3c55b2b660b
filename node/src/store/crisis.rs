//! Crisis-directory updates: the keys the person trusts to publish them,
//! the newest update held from each such key (its envelope bytes, as
//! received), and which of them the person accepted.
//!
//! One tree, `crisis`, opened when first used, with a one-byte prefix per
//! record: `t ++ key` (trusted, empty value), `u ++ key` (the held update)
//! and `a ++ key` (the id of the update accepted from that key).

use hearth_protocol::{MessageId, PublicKey};

use super::{Store, StoreError};

const TREE: &str = "crisis";
const TRUSTED: u8 = b't';
const UPDATE: u8 = b'u';
const ACCEPTED: u8 = b'a';

fn key(prefix: u8, publisher: &PublicKey) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = prefix;
    key[1..].copy_from_slice(publisher.as_bytes());
    key
}

impl Store {
    fn crisis_tree(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.inner.db.open_tree(TREE)?)
    }

    /// Trusts (or stops trusting) `publisher` for crisis-directory updates;
    /// returns whether it was trusted. Untrusting forgets its held update
    /// and what was accepted from it.
    pub fn set_crisis_trust(&self, publisher: &PublicKey, on: bool) -> Result<bool, StoreError> {
        let tree = self.crisis_tree()?;
        let was = if on {
            tree.insert(key(TRUSTED, publisher), &[])?
        } else {
            tree.remove(key(UPDATE, publisher))?;
            tree.remove(key(ACCEPTED, publisher))?;
            tree.remove(key(TRUSTED, publisher))?
        };
        Ok(was.is_some())
    }

    /// Whether `publisher` is trusted for crisis-directory updates.
    pub fn trusts_crisis(&self, publisher: &PublicKey) -> Result<bool, StoreError> {
        Ok(self.crisis_tree()?.contains_key(key(TRUSTED, publisher))?)
    }

    /// The keys trusted for crisis-directory updates.
    pub fn crisis_trusted(&self) -> Result<Vec<PublicKey>, StoreError> {
        let mut out = Vec::new();
        for item in self.crisis_tree()?.scan_prefix([TRUSTED]) {
            let (k, _) = item?;
            match k.get(1..).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
                Some(bytes) => out.push(PublicKey(bytes)),
                None => self.skip_corrupt(TREE, &k, "key is not a public key"),
            }
        }
        Ok(out)
    }

    /// Keeps `publisher`'s update envelope in place of the held one. The
    /// caller checks that it is trusted and newer.
    pub fn put_crisis_update(&self, publisher: &PublicKey, bytes: &[u8]) -> Result<(), StoreError> {
        self.crisis_tree()?.insert(key(UPDATE, publisher), bytes)?;
        Ok(())
    }

    /// The update envelope held from `publisher`.
    pub fn crisis_update(&self, publisher: &PublicKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .crisis_tree()?
            .get(key(UPDATE, publisher))?
            .map(|v| v.to_vec()))
    }

    /// Records that the person accepted update `id` from `publisher`.
    pub fn set_crisis_accepted(
        &self,
        publisher: &PublicKey,
        id: &MessageId,
    ) -> Result<(), StoreError> {
        self.crisis_tree()?
            .insert(key(ACCEPTED, publisher), id.as_bytes())?;
        Ok(())
    }

    /// The update the person last accepted from `publisher`.
    pub fn crisis_accepted(&self, publisher: &PublicKey) -> Result<Option<MessageId>, StoreError> {
        let Some(value) = self.crisis_tree()?.get(key(ACCEPTED, publisher))? else {
            return Ok(None);
        };
        match <[u8; 32]>::try_from(value.as_ref()) {
            Ok(bytes) => Ok(Some(MessageId(bytes))),
            Err(_) => {
                self.skip_corrupt(TREE, &key(ACCEPTED, publisher), "not a message id");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_updates_and_acceptance_read_back_and_untrusting_forgets() {
        let store = Store::temporary(4 * 1024 * 1024).unwrap();
        let key = PublicKey([7; 32]);
        assert!(!store.trusts_crisis(&key).unwrap());
        assert!(!store.set_crisis_trust(&key, true).unwrap());
        assert!(store.set_crisis_trust(&key, true).unwrap(), "already");
        assert!(store.trusts_crisis(&key).unwrap());
        assert_eq!(store.crisis_trusted().unwrap(), vec![key]);
        store.put_crisis_update(&key, b"update").unwrap();
        assert_eq!(
            store.crisis_update(&key).unwrap().as_deref(),
            Some(&b"update"[..])
        );
        let id = MessageId([3; 32]);
        store.set_crisis_accepted(&key, &id).unwrap();
        assert_eq!(store.crisis_accepted(&key).unwrap(), Some(id));
        assert!(store.set_crisis_trust(&key, false).unwrap());
        assert!(store.crisis_trusted().unwrap().is_empty());
        assert_eq!(store.crisis_update(&key).unwrap(), None);
        assert_eq!(store.crisis_accepted(&key).unwrap(), None);
    }
}
