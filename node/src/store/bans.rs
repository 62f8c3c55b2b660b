//! Address bans kept across restarts.
//!
//! A node that forgot its address bans when it restarted would let a
//! banned attacker straight back in under a new peer id, and start its
//! escalation again from the first, shortest ban. So each address range's
//! ban is kept in `meta` under [`ADDRESS_BAN_PREFIX`] ++ the range as text
//! (`203.0.113.0/24`), valued [`StoredAddressBan`], and read back at start.
//! A range's record is replaced at each offence, and deleted once the
//! admission table would have forgotten it (the caller says when).

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, encode};

/// Prefix of the `meta` keys holding address bans.
pub(super) const ADDRESS_BAN_PREFIX: &[u8] = b"address_ban/";

/// The most address bans read back at start: as many as the admission
/// table holds by default.
pub const MAX_STORED_ADDRESS_BANS: usize = 4096;

/// An address range's ban, as kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAddressBan {
    /// Offences remembered from the range.
    pub offences: u32,
    /// When its ban ends, ms since the Unix epoch.
    pub until_ms: u64,
}

impl Store {
    /// Keeps the ban of `range` (an address range as text, `base/len`).
    pub fn put_address_ban(&self, range: &str, ban: StoredAddressBan) -> Result<(), StoreError> {
        self.inner.meta.insert(ban_key(range), encode(&ban)?)?;
        Ok(())
    }

    /// The kept address bans whose ranges `keep` accepts (at most
    /// [`MAX_STORED_ADDRESS_BANS`]); the others, and records that do not
    /// decode, are deleted.
    pub fn address_bans(
        &self,
        keep: impl Fn(&str, &StoredAddressBan) -> bool,
    ) -> Result<Vec<(String, StoredAddressBan)>, StoreError> {
        let meta = &self.inner.meta;
        let mut out = Vec::new();
        let mut stale = Vec::new();
        for item in meta.scan_prefix(ADDRESS_BAN_PREFIX) {
            let (key, value) = item?;
            let range = key
                .get(ADDRESS_BAN_PREFIX.len()..)
                .and_then(|r| std::str::from_utf8(r).ok());
            let ban = self.decode_listed::<StoredAddressBan>("meta", &key, &value);
            match (range, ban) {
                (Some(range), Some(ban))
                    if out.len() < MAX_STORED_ADDRESS_BANS && keep(range, &ban) =>
                {
                    out.push((range.to_owned(), ban));
                }
                _ => stale.push(key),
            }
        }
        for key in stale {
            meta.remove(key)?;
        }
        Ok(out)
    }
}

fn ban_key(range: &str) -> Vec<u8> {
    [ADDRESS_BAN_PREFIX, range.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn address_bans_survive_a_reopen_and_stale_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        {
            let store = Store::open(&path, 1 << 20).unwrap();
            let ban = |offences, until_ms| StoredAddressBan { offences, until_ms };
            store
                .put_address_ban("203.0.113.9/32", ban(1, 100))
                .unwrap();
            store
                .put_address_ban("203.0.113.9/32", ban(2, 500))
                .unwrap();
            store
                .put_address_ban("198.51.100.0/24", ban(1, 50))
                .unwrap();
            store.flush().unwrap();
        }
        let store = Store::open(&path, 1 << 20).unwrap();
        let kept = store.address_bans(|_, b| b.until_ms > 60).unwrap();
        assert_eq!(
            kept,
            vec![(
                "203.0.113.9/32".to_owned(),
                StoredAddressBan {
                    offences: 2,
                    until_ms: 500
                }
            )]
        );
        // The stale one is gone for good.
        assert_eq!(store.address_bans(|_, _| true).unwrap().len(), 1);
    }
}
