//! The sync protocol's messages, their limits and their encoding.
//!
//! Every message is one postcard value, alone on its stream (request-response
//! writes a request, closes its side, reads one response). Sizes are checked
//! twice: the byte length before anything is decoded
//! ([`MAX_REQUEST_BYTES`], [`MAX_RESPONSE_BYTES`]), then the counts and
//! lengths inside the decoded value ([`Request::check`],
//! [`Response::check`]). docs/protocol.md section "History sync" specifies
//! the encoding byte by byte.

use hearth_protocol::limits::{MAX_CARD_BYTES, MAX_MODERATOR_LIST_BYTES, MAX_POST_BYTES};
use hearth_protocol::{ChannelName, MessageId, NetworkId, PublicKey};
use libp2p::StreamProtocol;
use libp2p::swarm::InvalidProtocol;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The largest negentropy frame either side sends or accepts, in bytes.
/// Both sides build their negentropy instances with this frame size limit;
/// a reconciliation whose differences do not fit in one frame takes more
/// rounds instead.
pub const FRAME_LIMIT: usize = 32 * 1024;

/// Most post ids in one [`Request::Posts`]. Chosen so that the answer,
/// every post at its largest, still fits in [`MAX_RESPONSE_BYTES`]: a
/// missing post is then always an omission, never a cut.
pub const MAX_FETCH_IDS: usize = 128;

/// Most moderators in one [`Request::Lists`].
pub const MAX_WANTED_LISTS: usize = 64;

/// The largest encoded request: a reconciliation frame, a channel name and
/// the framing around them.
pub const MAX_REQUEST_BYTES: usize = FRAME_LIMIT + 1024;

/// The largest encoded response: [`MAX_FETCH_IDS`] posts of the largest
/// size with their length prefixes, or as many moderator lists as fit.
pub const MAX_RESPONSE_BYTES: usize = MAX_FETCH_IDS * MAX_POST_BYTES + 4096;

/// The protocol name of history sync in `network`:
/// `/hearth/<network>/sync/2`, the version with [`Request::Card`].
pub fn protocol_name(network: &NetworkId) -> Result<StreamProtocol, InvalidProtocol> {
    StreamProtocol::try_from_owned(format!("/hearth/{network}/sync/2"))
}

/// The first version's name, `/hearth/<network>/sync/1`: the same messages
/// without [`Request::Card`] and [`Request::CrisisUpdates`], still spoken with peers that know no other
/// (a request they cannot decode would cost the asker a penalty there).
pub fn legacy_protocol_name(network: &NetworkId) -> Result<StreamProtocol, InvalidProtocol> {
    StreamProtocol::try_from_owned(format!("/hearth/{network}/sync/1"))
}

/// Whether `request` may be sent on `protocol`: everything may on the
/// current version; card and crisis-update requests not on the first.
pub fn speaks(protocol: &StreamProtocol, request: &Request) -> bool {
    let new = matches!(
        request,
        Request::Card { .. } | Request::CrisisUpdates { .. }
    );
    !(new && protocol.as_ref().ends_with("/sync/1"))
}

/// What one peer asks another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// One round of range-based set reconciliation (negentropy, NIP-77
    /// version `0x61`) over the posts of `channel` created at or after
    /// `since_ms`, each item being `(created_ms, post id)`.
    Reconcile {
        /// The channel; the responder must have joined it.
        channel: ChannelName,
        /// The start of the window reconciled (the requester's retention).
        since_ms: u64,
        /// The requester's negentropy message, at most [`FRAME_LIMIT`].
        frame: Vec<u8>,
    },
    /// The posts with these ids, which must belong to `channel`.
    Posts {
        /// The channel; the responder must have joined it.
        channel: ChannelName,
        /// At most [`MAX_FETCH_IDS`] ids.
        ids: Vec<MessageId>,
    },
    /// The moderator lists of these moderators, where newer than held.
    Lists {
        /// At most [`MAX_WANTED_LISTS`] moderators.
        wanted: Vec<WantedList>,
    },
    /// The channel card the responder holds for `channel`, unless it is
    /// the one held already (or older, by the same founder).
    Card {
        /// The channel; the responder must have joined it.
        channel: ChannelName,
        /// The card the requester holds, if any.
        held: Option<HeldCard>,
    },
    /// The crisis-directory updates of these publishers, where newer than
    /// held; answered with [`Response::Lists`].
    CrisisUpdates {
        /// At most [`MAX_WANTED_LISTS`] publishers, with the sequence held.
        wanted: Vec<WantedList>,
    },
}

/// The card a requester holds for a channel: its founding key and date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldCard {
    /// The key that signed it.
    pub founder: PublicKey,
    /// Its `created_ms`.
    pub created_ms: u64,
}

impl HeldCard {
    /// Whether a card by `founder` dated `created_ms` could replace this
    /// one: another founder's always could (the requester's trust rules
    /// decide), the same founder's only if newer.
    pub fn is_outdated_by(&self, founder: &PublicKey, created_ms: u64) -> bool {
        &self.founder != founder || created_ms > self.created_ms
    }
}

/// A moderator whose list is asked for, with the sequence already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantedList {
    /// The moderator's key.
    pub moderator: PublicKey,
    /// The sequence of the list the requester holds; only a higher one is
    /// sent.
    pub held: Option<u64>,
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The responder's negentropy message, at most [`FRAME_LIMIT`].
    Reconcile {
        /// The frame.
        frame: Vec<u8>,
    },
    /// The asked-for posts the responder serves, as their exact signed
    /// envelopes, in the order asked. Posts it does not have, does not
    /// serve (its policy hides them, they expired) or that are not in the
    /// channel are left out.
    Posts {
        /// At most [`MAX_FETCH_IDS`] envelopes of at most 8 KiB each.
        posts: Vec<Vec<u8>>,
    },
    /// Moderator lists newer than the ones held, as their exact signed
    /// envelopes, in the order asked.
    Lists {
        /// The envelopes.
        lists: Vec<Vec<u8>>,
        /// False when lists were left out to keep the response under
        /// [`MAX_RESPONSE_BYTES`]: ask again.
        complete: bool,
    },
    /// The request is not served.
    Refused(Refusal),
    /// The channel card the responder holds, as its exact signed envelope,
    /// or none when it holds none the requester lacks.
    Card {
        /// At most `MAX_CARD_BYTES`.
        card: Option<Vec<u8>>,
    },
}

/// Why a request is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The responder is not in the channel.
    NotJoined,
    /// The requester is over its request or byte rate; try later.
    Busy,
    /// The request broke a rule (a frame that does not parse, too many
    /// ids).
    BadRequest,
}

/// Why bytes are not a valid sync message.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// More bytes than the message may have; nothing was decoded.
    #[error("sync message of more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not one postcard value of the expected type.
    #[error("sync message does not decode: {0}")]
    Decode(String),
    /// Bytes after the value.
    #[error("{0} trailing bytes after a sync message")]
    Trailing(usize),
    /// A count or length inside the message is over its limit.
    #[error("sync message breaks a limit: {0}")]
    Limit(&'static str),
    /// A value that cannot be encoded (a bug, reported rather than
    /// panicking).
    #[error("cannot encode a sync message: {0}")]
    Encode(String),
}

impl Request {
    /// Checks the counts and lengths inside a decoded request.
    pub fn check(&self) -> Result<(), WireError> {
        match self {
            Request::Reconcile { frame, .. } if frame.len() > FRAME_LIMIT => Err(WireError::Limit(
                "reconciliation frame over the frame limit",
            )),
            Request::Posts { ids, .. } if ids.len() > MAX_FETCH_IDS => {
                Err(WireError::Limit("too many post ids"))
            }
            Request::Lists { wanted } | Request::CrisisUpdates { wanted }
                if wanted.len() > MAX_WANTED_LISTS =>
            {
                Err(WireError::Limit("too many moderators"))
            }
            _ => Ok(()),
        }
    }

    /// Decodes a request, the size checked before anything is decoded.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let request: Request = decode_limited(bytes, MAX_REQUEST_BYTES)?;
        request.check()?;
        Ok(request)
    }

    /// Encodes a request; fails if it breaks a limit.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        self.check()?;
        encode_limited(self, MAX_REQUEST_BYTES)
    }
}

impl Response {
    /// Checks the counts and lengths inside a decoded response.
    pub fn check(&self) -> Result<(), WireError> {
        match self {
            Response::Reconcile { frame } if frame.len() > FRAME_LIMIT => Err(WireError::Limit(
                "reconciliation frame over the frame limit",
            )),
            Response::Posts { posts } if posts.len() > MAX_FETCH_IDS => {
                Err(WireError::Limit("too many posts"))
            }
            Response::Posts { posts } if posts.iter().any(|p| p.len() > MAX_POST_BYTES) => {
                Err(WireError::Limit("a post over the post size limit"))
            }
            Response::Lists { lists, .. } if lists.len() > MAX_WANTED_LISTS => {
                Err(WireError::Limit("too many moderator lists"))
            }
            Response::Lists { lists, .. }
                if lists.iter().any(|l| l.len() > MAX_MODERATOR_LIST_BYTES) =>
            {
                Err(WireError::Limit(
                    "a moderator list over the list size limit",
                ))
            }
            Response::Card { card: Some(card) } if card.len() > MAX_CARD_BYTES => {
                Err(WireError::Limit("a channel card over the card size limit"))
            }
            _ => Ok(()),
        }
    }

    /// Decodes a response, the size checked before anything is decoded.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let response: Response = decode_limited(bytes, MAX_RESPONSE_BYTES)?;
        response.check()?;
        Ok(response)
    }

    /// Encodes a response; fails if it breaks a limit.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        self.check()?;
        encode_limited(self, MAX_RESPONSE_BYTES)
    }
}

fn decode_limited<T: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, WireError> {
    if bytes.len() > limit {
        return Err(WireError::TooLarge { limit });
    }
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(WireError::Trailing(rest.len())),
        Err(e) => Err(WireError::Decode(e.to_string())),
    }
}

fn encode_limited<T: Serialize>(value: &T, limit: usize) -> Result<Vec<u8>, WireError> {
    let bytes = postcard::to_allocvec(value).map_err(|e| WireError::Encode(e.to_string()))?;
    if bytes.len() > limit {
        return Err(WireError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn channel() -> ChannelName {
        ChannelName::parse("grief").unwrap()
    }

    #[test]
    fn messages_round_trip() {
        let requests = [
            Request::Reconcile {
                channel: channel(),
                since_ms: 1_700_000_000_000,
                frame: vec![0x61, 0, 0],
            },
            Request::Posts {
                channel: channel(),
                ids: vec![MessageId([7; 32]); MAX_FETCH_IDS],
            },
            Request::Lists {
                wanted: vec![WantedList {
                    moderator: PublicKey([1; 32]),
                    held: Some(3),
                }],
            },
            Request::Card {
                channel: channel(),
                held: Some(HeldCard {
                    founder: PublicKey([2; 32]),
                    created_ms: 1_700_000_000_000,
                }),
            },
            Request::CrisisUpdates {
                wanted: vec![WantedList {
                    moderator: PublicKey([3; 32]),
                    held: None,
                }],
            },
        ];
        for request in requests {
            let bytes = request.encode().unwrap();
            assert!(bytes.len() <= MAX_REQUEST_BYTES);
            assert_eq!(Request::decode(&bytes).unwrap(), request);
        }
        let responses = [
            Response::Reconcile {
                frame: vec![0x61; FRAME_LIMIT],
            },
            Response::Posts {
                posts: vec![vec![9; MAX_POST_BYTES]; MAX_FETCH_IDS],
            },
            Response::Lists {
                lists: vec![vec![1; 10]],
                complete: false,
            },
            Response::Refused(Refusal::Busy),
            Response::Card {
                card: Some(vec![4; MAX_CARD_BYTES]),
            },
            Response::Card { card: None },
        ];
        for response in responses {
            let bytes = response.encode().unwrap();
            assert!(bytes.len() <= MAX_RESPONSE_BYTES);
            assert_eq!(Response::decode(&bytes).unwrap(), response);
        }
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        // Variant index, channel as length-prefixed UTF-8, since_ms as a
        // LEB128 varint, the frame as length-prefixed bytes.
        let request = Request::Reconcile {
            channel: channel(),
            since_ms: 300,
            frame: vec![0x61],
        };
        let mut expected = vec![0, 5];
        expected.extend_from_slice(b"grief");
        expected.extend_from_slice(&[0xac, 0x02, 1, 0x61]);
        assert_eq!(request.encode().unwrap(), expected);
        // Ids are 32 raw bytes, without a length prefix.
        let request = Request::Posts {
            channel: channel(),
            ids: vec![MessageId([7; 32])],
        };
        let bytes = request.encode().unwrap();
        assert_eq!(bytes.len(), 1 + 6 + 1 + 32);
        assert_eq!(
            Response::Refused(Refusal::BadRequest).encode().unwrap(),
            vec![3, 2]
        );
        // A card request with none held; an answer with no card.
        let request = Request::Card {
            channel: channel(),
            held: None,
        };
        let mut expected = vec![3, 5];
        expected.extend_from_slice(b"grief");
        expected.push(0);
        assert_eq!(request.encode().unwrap(), expected);
        assert_eq!(Response::Card { card: None }.encode().unwrap(), vec![4, 0]);
    }

    #[test]
    fn limits_hold_before_and_after_decoding() {
        let big = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            Request::decode(&big),
            Err(WireError::TooLarge {
                limit: MAX_REQUEST_BYTES
            })
        );
        let too_many = Request::Posts {
            channel: channel(),
            ids: vec![MessageId([7; 32]); MAX_FETCH_IDS + 1],
        };
        assert!(too_many.encode().is_err());
        let bytes = postcard::to_allocvec(&too_many).unwrap();
        assert!(matches!(Request::decode(&bytes), Err(WireError::Limit(_))));
        let big_frame = Request::Reconcile {
            channel: channel(),
            since_ms: 0,
            frame: vec![0; FRAME_LIMIT + 1],
        };
        let bytes = postcard::to_allocvec(&big_frame).unwrap();
        assert!(matches!(Request::decode(&bytes), Err(WireError::Limit(_))));
        let big_post = Response::Posts {
            posts: vec![vec![0; MAX_POST_BYTES + 1]],
        };
        let bytes = postcard::to_allocvec(&big_post).unwrap();
        assert!(matches!(Response::decode(&bytes), Err(WireError::Limit(_))));
        let big_card = Response::Card {
            card: Some(vec![0; MAX_CARD_BYTES + 1]),
        };
        let bytes = postcard::to_allocvec(&big_card).unwrap();
        assert!(matches!(Response::decode(&bytes), Err(WireError::Limit(_))));
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            &[0xff][..],
            &[0, 200, 1][..],
            &[1, 5, b'G', b'R', b'I', b'E', b'F', 0][..],
            &[1, 1, b'a', 0xff, 0xff, 0xff, 0xff, 0x0f][..],
            &[9][..],
        ] {
            assert!(Request::decode(junk).is_err(), "{junk:?}");
        }
        for junk in [
            &b""[..],
            &[0xff][..],
            &[1, 200][..],
            &[3, 9][..],
            &[2, 1][..],
        ] {
            assert!(Response::decode(junk).is_err(), "{junk:?}");
        }
        // A valid request with a trailing byte.
        let mut bytes = Request::Lists { wanted: vec![] }.encode().unwrap();
        bytes.push(0);
        assert_eq!(Request::decode(&bytes), Err(WireError::Trailing(1)));
    }
}
