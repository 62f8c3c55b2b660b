//! Channel cards and moderator presence: the card held for each channel
//! (its envelope bytes, as received) and the channels where this node's
//! moderator key sends presence heartbeats.

use hearth_protocol::ChannelName;

use super::{Store, StoreError, keys};

impl Store {
    /// Stores a channel's card envelope, replacing the held one. The
    /// caller checks that it may replace it.
    pub fn put_card(&self, channel: &ChannelName, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner
            .cards
            .insert(channel.as_str().as_bytes(), bytes)?;
        Ok(())
    }

    /// The card envelope held for `channel`.
    pub fn card(&self, channel: &ChannelName) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .inner
            .cards
            .get(channel.as_str().as_bytes())?
            .map(|v| v.to_vec()))
    }

    /// Turns presence heartbeats for `channel` on or off; returns whether
    /// they were on.
    pub fn set_presence(&self, channel: &ChannelName, on: bool) -> Result<bool, StoreError> {
        let key = channel.as_str().as_bytes();
        let was = if on {
            self.inner.presence.insert(key, &[])?
        } else {
            self.inner.presence.remove(key)?
        };
        Ok(was.is_some())
    }

    /// The channels where presence heartbeats are on.
    pub fn presence_channels(&self) -> Result<Vec<ChannelName>, StoreError> {
        let mut out = Vec::new();
        for item in self.inner.presence.iter() {
            let (key, _) = item?;
            match keys::channel_name(&key) {
                Some(channel) => out.push(channel),
                None => self.skip_corrupt("presence", &key, "not a channel name"),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_and_presence_settings_read_back() {
        let store = Store::temporary(4 * 1024 * 1024).unwrap();
        let grief = ChannelName::parse("grief").unwrap();
        assert_eq!(store.card(&grief).unwrap(), None);
        store.put_card(&grief, b"card bytes").unwrap();
        assert_eq!(
            store.card(&grief).unwrap().as_deref(),
            Some(&b"card bytes"[..])
        );
        assert!(!store.set_presence(&grief, true).unwrap());
        assert_eq!(store.presence_channels().unwrap(), vec![grief.clone()]);
        assert!(store.set_presence(&grief, false).unwrap());
        assert!(store.presence_channels().unwrap().is_empty());
    }
}
