//! Reports this node opened as a moderator: the `reports` tree.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `reports` | channel ++ `0x00` ++ created_ms BE ++ report id | [`StoredReport`] |
//!
//! Only a node holding a moderator key that a report was sealed to writes
//! here; relays store nothing of a report. At most
//! [`MAX_REPORTS_PER_CHANNEL`] are kept per channel, the oldest go first.
//! The tree is opened at first use, so stores written before reports
//! existed read the same.

use hearth_protocol::ChannelName;

use crate::event::ReportRecord;

use super::keys::{by_channel, channel_end, channel_prefix};
use super::{Store, StoreError};

/// Most reports kept per channel.
pub const MAX_REPORTS_PER_CHANNEL: usize = 1_000;

/// A report as kept by the moderator it was sealed to.
pub type StoredReport = ReportRecord;

impl Store {
    fn reports_tree(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.inner.db.open_tree("reports")?)
    }

    /// Keeps a report; false when it was kept already. Drops the oldest of
    /// its channel beyond [`MAX_REPORTS_PER_CHANNEL`].
    pub fn put_report(&self, report: &StoredReport) -> Result<bool, StoreError> {
        let tree = self.reports_tree()?;
        let key = by_channel(&report.channel, report.created_ms, &report.id);
        if tree.contains_key(&key)? {
            return Ok(false);
        }
        let value = postcard::to_allocvec(report).map_err(|e| StoreError::Encode(e.to_string()))?;
        tree.insert(key, value)?;
        let channel = report.channel.as_str().as_bytes();
        let kept: Vec<sled::IVec> = tree
            .range(channel_prefix(channel)..channel_end(channel))
            .keys()
            .collect::<Result<_, _>>()?;
        let excess = kept.len().saturating_sub(MAX_REPORTS_PER_CHANNEL);
        for old in kept.iter().take(excess) {
            tree.remove(old)?;
        }
        Ok(true)
    }

    /// The newest `limit` reports of `channel` (every channel when `None`),
    /// oldest first. Records that do not decode are skipped and counted.
    pub fn reports(
        &self,
        channel: Option<&ChannelName>,
        limit: usize,
    ) -> Result<Vec<StoredReport>, StoreError> {
        let tree = self.reports_tree()?;
        let entries: Box<dyn DoubleEndedIterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            match channel {
                Some(c) => {
                    let c = c.as_str().as_bytes();
                    Box::new(tree.range(channel_prefix(c)..channel_end(c)))
                }
                None => Box::new(tree.iter()),
            };
        let mut found = Vec::new();
        for entry in entries {
            let (key, value) = entry?;
            match postcard::from_bytes::<StoredReport>(&value) {
                Ok(report) => found.push(report),
                Err(e) => self.skip_corrupt("reports", &key, &e.to_string()),
            }
        }
        // Across channels the tree is in channel order: sort by time.
        found.sort_by_key(|r| (r.created_ms, r.id));
        let skip = found.len().saturating_sub(limit);
        Ok(found.split_off(skip))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hearth_protocol::{MessageId, PublicKey};

    fn report(channel: &str, created_ms: u64, n: u8) -> StoredReport {
        StoredReport {
            id: MessageId([n; 32]),
            channel: ChannelName::parse(channel).unwrap(),
            created_ms,
            received_ms: created_ms + 1,
            post: MessageId([200; 32]),
            reason: format!("reason {n}"),
            reporter: PublicKey([9; 32]),
        }
    }

    #[test]
    fn reports_are_kept_once_per_channel_and_listed_oldest_first() {
        let store = Store::temporary(1 << 20).unwrap();
        assert!(store.put_report(&report("grief", 20, 2)).unwrap());
        assert!(store.put_report(&report("grief", 10, 1)).unwrap());
        assert!(!store.put_report(&report("grief", 10, 1)).unwrap());
        assert!(store.put_report(&report("grief-uk", 15, 3)).unwrap());
        let grief = ChannelName::parse("grief").unwrap();
        let ids: Vec<u8> = store
            .reports(Some(&grief), 10)
            .unwrap()
            .iter()
            .map(|r| r.id.0[0])
            .collect();
        assert_eq!(ids, [1, 2]);
        let all: Vec<u8> = store
            .reports(None, 10)
            .unwrap()
            .iter()
            .map(|r| r.id.0[0])
            .collect();
        assert_eq!(all, [1, 3, 2]);
        assert_eq!(store.reports(None, 1).unwrap()[0].id.0[0], 2);
    }

    #[test]
    fn a_channel_keeps_only_the_newest_reports() {
        let store = Store::temporary(1 << 20).unwrap();
        let grief = ChannelName::parse("grief").unwrap();
        for n in 0..(MAX_REPORTS_PER_CHANNEL + 5) {
            let mut r = report("grief", n as u64, 0);
            r.id = MessageId([0; 32]);
            r.id.0[..8].copy_from_slice(&(n as u64).to_be_bytes());
            store.put_report(&r).unwrap();
        }
        let kept = store.reports(Some(&grief), usize::MAX).unwrap();
        assert_eq!(kept.len(), MAX_REPORTS_PER_CHANNEL);
        assert_eq!(kept[0].created_ms, 5);
    }
}
