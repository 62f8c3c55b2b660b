//! Reads for history sync.

use hearth_protocol::{ChannelName, MessageId};

use super::{Store, StoreError, keys};

impl Store {
    /// The `(created_ms, id)` of every post of `channel`, sorted by time
    /// then id: the channel's item set for reconciliation. Read from the
    /// channel index alone, without reading any post. Malformed index keys
    /// are skipped (and counted, like any corrupt record).
    pub fn channel_items(
        &self,
        channel: &ChannelName,
    ) -> Result<Vec<(u64, MessageId)>, StoreError> {
        let prefix = keys::channel_prefix(channel.as_str().as_bytes());
        let mut items = Vec::new();
        for key in self.inner.by_channel.scan_prefix(&prefix).keys() {
            let key = key?;
            match keys::parse_by_channel(&key) {
                Some((_, created_ms, id)) => items.push((created_ms, id)),
                None => self.skip_corrupt("by_channel", &key, "malformed index key"),
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::store::StoredPost;

    fn post(channel: &str, created_ms: u64) -> StoredPost {
        StoredPost {
            bytes: vec![1, 2, 3],
            channel: ChannelName::parse(channel).unwrap(),
            created_ms,
            expires_ms: None,
            received_ms: created_ms,
            own: false,
        }
    }

    #[test]
    fn a_channels_items_come_sorted_from_its_index_alone() {
        let store = Store::temporary(4 * 1024 * 1024).unwrap();
        let grief = ChannelName::parse("grief").unwrap();
        for (n, t) in [(3u8, 30), (1, 10), (2, 10)] {
            store
                .insert_post(&MessageId([n; 32]), &post("grief", t))
                .unwrap();
        }
        // A channel whose name extends this one's is not mixed in.
        store
            .insert_post(&MessageId([9; 32]), &post("grief-uk", 5))
            .unwrap();
        assert_eq!(
            store.channel_items(&grief).unwrap(),
            vec![
                (10, MessageId([1; 32])),
                (10, MessageId([2; 32])),
                (30, MessageId([3; 32]))
            ]
        );
        let nowhere = ChannelName::parse("nowhere").unwrap();
        assert!(store.channel_items(&nowhere).unwrap().is_empty());
    }
}
