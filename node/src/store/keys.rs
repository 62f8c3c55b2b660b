//! Key layouts of the store's trees and the small codecs around them.
//!
//! Every multi-part key puts the channel name first, then a `0x00`
//! separator: channel names are `a-z`, `0-9`, `-` and `/` only, so `0x00`
//! never occurs inside one, and a prefix scan over `channel ++ 0x00` sees
//! that channel alone (not `grief-uk` when asked for `grief`). Times are
//! big-endian `u64`, so byte order is time order.

use hearth_protocol::{ChannelName, MessageId};

/// Separates the channel name from the rest of a key.
pub(super) const SEPARATOR: u8 = 0x00;
/// The byte after [`SEPARATOR`]: `channel ++ END` is the exclusive end of a
/// channel's key range.
const END: u8 = 0x01;
/// Length of a `time ++ id` key.
pub(super) const TIME_ID_LEN: usize = 8 + 32;

/// `channel ++ 0x00`: the prefix of all of a channel's keys.
pub(super) fn channel_prefix(channel: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(channel.len() + 1 + TIME_ID_LEN);
    key.extend_from_slice(channel);
    key.push(SEPARATOR);
    key
}

/// `channel ++ 0x01`: the exclusive end of a channel's key range, and the
/// first key of the next channel's range.
pub(super) fn channel_end(channel: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(channel.len() + 1);
    key.extend_from_slice(channel);
    key.push(END);
    key
}

/// `by_channel` key: `channel ++ 0x00 ++ created_ms BE ++ id`.
pub(super) fn by_channel(channel: &ChannelName, created_ms: u64, id: &MessageId) -> Vec<u8> {
    let mut key = channel_prefix(channel.as_str().as_bytes());
    key.extend_from_slice(&created_ms.to_be_bytes());
    key.extend_from_slice(id.as_bytes());
    key
}

/// `channel ++ 0x00 ++ time BE`: where a channel's entries at `time` start.
pub(super) fn channel_at(channel: &[u8], time: u64) -> Vec<u8> {
    let mut key = channel_prefix(channel);
    key.extend_from_slice(&time.to_be_bytes());
    key
}

/// Splits a `channel ++ 0x00 ++ rest` key.
pub(super) fn split_channel(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = key.iter().position(|b| *b == SEPARATOR)?;
    let channel = key.get(..at)?;
    let rest = key.get(at.checked_add(1)?..)?;
    (!channel.is_empty()).then_some((channel, rest))
}

/// Parses a `by_channel` key into its channel bytes, time and id.
pub(super) fn parse_by_channel(key: &[u8]) -> Option<(&[u8], u64, MessageId)> {
    let (channel, rest) = split_channel(key)?;
    let (time, id) = parse_time_id(rest)?;
    Some((channel, time, id))
}

/// `pending` key: `channel ++ 0x00 ++ id`.
pub(super) fn pending(channel: &[u8], id: &MessageId) -> Vec<u8> {
    let mut key = channel_prefix(channel);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `expiry` and `seen_expiry` key: `time BE ++ id`.
pub(super) fn time_id(time: u64, id: &MessageId) -> [u8; TIME_ID_LEN] {
    let mut key = [0u8; TIME_ID_LEN];
    let (t, i) = key.split_at_mut(8);
    t.copy_from_slice(&time.to_be_bytes());
    i.copy_from_slice(id.as_bytes());
    key
}

/// The exclusive upper bound of `time_id` keys whose time is at most
/// `time`; `None` when every key qualifies.
pub(super) fn time_id_upper(time: u64) -> Option<[u8; 8]> {
    time.checked_add(1).map(u64::to_be_bytes)
}

/// Parses a `time BE ++ id` key.
pub(super) fn parse_time_id(key: &[u8]) -> Option<(u64, MessageId)> {
    if key.len() != TIME_ID_LEN {
        return None;
    }
    let (time, id) = key.split_at(8);
    Some((be_u64(time)?, message_id(id)?))
}

/// A message id from exactly 32 bytes.
pub(super) fn message_id(bytes: &[u8]) -> Option<MessageId> {
    <[u8; 32]>::try_from(bytes).ok().map(MessageId)
}

/// A big-endian `u64` from exactly 8 bytes.
pub(super) fn be_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// A channel name from key bytes.
pub(super) fn channel_name(bytes: &[u8]) -> Option<ChannelName> {
    let name = String::from_utf8(bytes.to_vec()).ok()?;
    ChannelName::try_from(name).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn by_channel_keys_round_trip_and_sort_by_time() {
        let channel = ChannelName::parse("grief/es").unwrap();
        let id = MessageId([7; 32]);
        let key = by_channel(&channel, 42, &id);
        let (c, t, i) = parse_by_channel(&key).unwrap();
        assert_eq!((c, t, i), (&b"grief/es"[..], 42, id));
        assert!(by_channel(&channel, 41, &MessageId([255; 32])) < key);
        assert!(key < channel_end(b"grief/es"));
        // Another channel that extends this one's name sorts outside it.
        let other = ChannelName::parse("grief/es-mx").unwrap();
        assert!(by_channel(&other, 0, &id) > channel_end(b"grief/es"));
    }

    #[test]
    fn malformed_keys_are_none_not_panics() {
        assert_eq!(parse_by_channel(b""), None);
        assert_eq!(parse_by_channel(b"\0abc"), None);
        assert_eq!(parse_by_channel(b"grief\0short"), None);
        assert_eq!(parse_time_id(&[0; 39]), None);
        assert_eq!(time_id_upper(u64::MAX), None);
    }
}
