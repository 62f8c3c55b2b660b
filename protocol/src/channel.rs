//! Channel names, network ids and the gossipsub topic strings built from them.
//!
//! A channel name is one to four parts joined by `/` (`anxiety`,
//! `grief/es`), each part lowercase `a-z`, `0-9` and `-`, not starting or
//! ending with `-`. A network id follows the same rules with one part; it
//! keeps separate meshes (a test net, a community's private net) apart.
//!
//! Topics are versioned strings so a format change is one place:
//! `hearth/1/<network>/channel/<channel>` and
//! `hearth/1/<network>/mod/<moderator key hex>`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ChannelNameError, KeyParseError, TopicError};
use crate::hash::sha256;
use crate::keys::{PublicKey, parse_hex32};
use crate::limits::{
    MAX_CHANNEL_LEN, MAX_CHANNEL_SEGMENT_LEN, MAX_CHANNEL_SEGMENTS, MAX_NETWORK_ID_LEN,
};

/// The topic protocol version, the second part of every topic string.
pub const TOPIC_VERSION: &str = "1";

/// Domain tag of the DHT key under which a channel's peers announce
/// themselves.
pub const RENDEZVOUS_TAG: &[u8] = b"hearth/rendezvous/1";

/// A valid, normalised channel name such as `anxiety` or `grief/es`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChannelName(String);

impl ChannelName {
    /// Normalises what a person typed (trims white space, drops a leading
    /// `#`, lowercases ASCII) and validates it.
    pub fn parse(input: &str) -> Result<Self, ChannelNameError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_prefix('#').unwrap_or(trimmed);
        Self::strict(trimmed.to_ascii_lowercase(), input)
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The gossipsub topic of this channel in `network`.
    pub fn topic(&self, network: &NetworkId) -> Topic {
        Topic::Channel {
            network: network.clone(),
            channel: self.clone(),
        }
    }

    /// The 32-byte DHT key under which peers of this channel in `network`
    /// announce themselves: `SHA-256("hearth/rendezvous/1" || network ||
    /// 0x00 || channel)`. Hashed so the key does not spell out the channel.
    pub fn rendezvous_key(&self, network: &NetworkId) -> [u8; 32] {
        sha256(&[
            RENDEZVOUS_TAG,
            network.as_str().as_bytes(),
            &[0],
            self.0.as_bytes(),
        ])
    }

    fn strict(name: String, shown: &str) -> Result<Self, ChannelNameError> {
        let fail = |problem| ChannelNameError::Invalid {
            what: "channel name",
            input: shown.chars().take(80).collect(),
            problem,
            max_segment: MAX_CHANNEL_SEGMENT_LEN,
            segments: ", up to 4 parts joined by '/' (like grief/es)",
        };
        if name.is_empty() {
            return Err(fail("it is empty"));
        }
        if name.len() > MAX_CHANNEL_LEN {
            return Err(fail("it is longer than 64 characters"));
        }
        let mut segments = 0;
        for segment in name.split('/') {
            segments += 1;
            check_segment(segment, MAX_CHANNEL_SEGMENT_LEN).map_err(fail)?;
        }
        if segments > MAX_CHANNEL_SEGMENTS {
            return Err(fail("it has more than 4 parts"));
        }
        Ok(Self(name))
    }
}

fn check_segment(segment: &str, max: usize) -> Result<(), &'static str> {
    if segment.is_empty() {
        return Err("it has an empty part");
    }
    if segment.len() > max {
        return Err("a part is too long");
    }
    if !segment
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("it has a character other than a-z, 0-9, '-' and '/'");
    }
    if segment.starts_with('-') || segment.ends_with('-') {
        return Err("a part starts or ends with '-'");
    }
    Ok(())
}

impl TryFrom<String> for ChannelName {
    type Error = ChannelNameError;

    /// Accepts only names already in normal form: what arrives on the wire
    /// is never rewritten, so the signed bytes stay the bytes shown.
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let shown = value.clone();
        Self::strict(value, &shown)
    }
}

impl From<ChannelName> for String {
    fn from(value: ChannelName) -> Self {
        value.0
    }
}

impl FromStr for ChannelName {
    type Err = ChannelNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The id of a hearth network: one part of lowercase `a-z`, `0-9` and `-`.
/// The public network is `main`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NetworkId(String);

impl NetworkId {
    /// The public network's id.
    pub const MAIN: &'static str = "main";

    /// Normalises (trim, lowercase ASCII) and validates a network id.
    pub fn parse(input: &str) -> Result<Self, ChannelNameError> {
        Self::strict(input.trim().to_ascii_lowercase(), input)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn strict(id: String, shown: &str) -> Result<Self, ChannelNameError> {
        check_segment(&id, MAX_NETWORK_ID_LEN)
            .map(|()| Self(id))
            .map_err(|problem| ChannelNameError::Invalid {
                what: "network id",
                input: shown.chars().take(80).collect(),
                problem,
                max_segment: MAX_NETWORK_ID_LEN,
                segments: "",
            })
    }
}

impl Default for NetworkId {
    fn default() -> Self {
        Self(Self::MAIN.to_owned())
    }
}

impl TryFrom<String> for NetworkId {
    type Error = ChannelNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let shown = value.clone();
        Self::strict(value, &shown)
    }
}

impl From<NetworkId> for String {
    fn from(value: NetworkId) -> Self {
        value.0
    }
}

impl FromStr for NetworkId {
    type Err = ChannelNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetworkId({})", self.0)
    }
}

/// A hearth gossipsub topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Posts of one channel.
    Channel {
        /// The network.
        network: NetworkId,
        /// The channel.
        channel: ChannelName,
    },
    /// Lists published by one moderator.
    Moderator {
        /// The network.
        network: NetworkId,
        /// The moderator's key.
        moderator: PublicKey,
    },
}

impl Topic {
    /// Parses a topic string strictly: no normalisation, every part valid.
    pub fn parse(topic: &str) -> Result<Self, TopicError> {
        let not_hearth = || TopicError::NotHearth(topic.chars().take(120).collect());
        let rest = topic.strip_prefix("hearth/").ok_or_else(not_hearth)?;
        let (version, rest) = rest.split_once('/').ok_or_else(not_hearth)?;
        if version != TOPIC_VERSION {
            return Err(TopicError::Version(version.chars().take(16).collect()));
        }
        let (network, rest) = rest.split_once('/').ok_or_else(not_hearth)?;
        let network = NetworkId::try_from(network.to_owned())?;
        let (kind, name) = rest.split_once('/').ok_or_else(not_hearth)?;
        match kind {
            "channel" => Ok(Topic::Channel {
                network,
                channel: ChannelName::try_from(name.to_owned())?,
            }),
            "mod" => {
                // Exactly 64 lowercase hex digits, as `Display` writes them:
                // one key, one topic string.
                let moderator = PublicKey(parse_hex32(name)?);
                if moderator.to_string() != name {
                    return Err(TopicError::Key(KeyParseError::NotHex));
                }
                Ok(Topic::Moderator { network, moderator })
            }
            _ => Err(not_hearth()),
        }
    }

    /// The network this topic belongs to.
    pub fn network(&self) -> &NetworkId {
        match self {
            Topic::Channel { network, .. } | Topic::Moderator { network, .. } => network,
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Channel { network, channel } => {
                write!(f, "hearth/{TOPIC_VERSION}/{network}/channel/{channel}")
            }
            Topic::Moderator { network, moderator } => {
                write!(f, "hearth/{TOPIC_VERSION}/{network}/mod/{moderator}")
            }
        }
    }
}

impl FromStr for Topic {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_input_is_normalised() {
        assert_eq!(
            ChannelName::parse("  #Grief/ES ").unwrap().as_str(),
            "grief/es"
        );
        assert_eq!(ChannelName::parse("anxiety").unwrap().as_str(), "anxiety");
    }

    #[test]
    fn invalid_names_say_what_is_allowed() {
        for bad in [
            "",
            "a b",
            "grief//es",
            "-sad",
            "sad-",
            "a/b/c/d/e",
            "ünï",
            "a_b",
        ] {
            let err = ChannelName::parse(bad).unwrap_err().to_string();
            assert!(err.contains("a-z"), "{bad:?}: {err}");
        }
        let long = "a".repeat(33);
        assert!(ChannelName::parse(&long).is_err());
        assert!(ChannelName::parse(&"a".repeat(32)).is_ok());
        let at_limit = ["a".repeat(32), "b".repeat(31)].join("/");
        assert_eq!(at_limit.len(), 64);
        assert!(ChannelName::parse(&at_limit).is_ok());
        let over = ["a".repeat(32), "b".repeat(32)].join("/");
        assert!(ChannelName::parse(&over).is_err());
    }

    #[test]
    fn wire_names_must_already_be_normal() {
        assert!(ChannelName::try_from("Grief".to_owned()).is_err());
        assert!(ChannelName::try_from("grief".to_owned()).is_ok());
    }

    #[test]
    fn topics_round_trip_and_carry_the_network() {
        let net = NetworkId::parse("test-net").unwrap();
        let ch = ChannelName::parse("grief/es").unwrap();
        let topic = ch.topic(&net);
        assert_eq!(topic.to_string(), "hearth/1/test-net/channel/grief/es");
        assert_eq!(Topic::parse(&topic.to_string()).unwrap(), topic);
        let m = Topic::Moderator {
            network: net,
            moderator: PublicKey([0xab; 32]),
        };
        assert_eq!(Topic::parse(&m.to_string()).unwrap(), m);
    }

    #[test]
    fn foreign_and_future_topics_are_refused() {
        assert!(matches!(
            Topic::parse("meshsub/foo"),
            Err(TopicError::NotHearth(_))
        ));
        assert!(matches!(
            Topic::parse("hearth/2/main/channel/x"),
            Err(TopicError::Version(_))
        ));
        assert!(Topic::parse("hearth/1/main/channel/Bad").is_err());
        assert!(Topic::parse("hearth/1/main/other/x").is_err());
        let upper = format!("hearth/1/main/mod/{}", "AB".repeat(32));
        assert!(matches!(Topic::parse(&upper), Err(TopicError::Key(_))));
        let padded = format!("hearth/1/main/mod/ {}", "ab".repeat(32));
        assert!(matches!(Topic::parse(&padded), Err(TopicError::Key(_))));
    }

    #[test]
    fn rendezvous_keys_differ_by_network_and_channel() {
        let a = ChannelName::parse("a").unwrap();
        let b = ChannelName::parse("b").unwrap();
        let main = NetworkId::default();
        let test = NetworkId::parse("test").unwrap();
        assert_ne!(a.rendezvous_key(&main), b.rendezvous_key(&main));
        assert_ne!(a.rendezvous_key(&main), a.rendezvous_key(&test));
    }
}
