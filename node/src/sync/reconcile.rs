//! Range-based set reconciliation of a channel's posts, with the
//! `negentropy` crate (NIP-77, protocol version `0x61`).
//!
//! An item is `(created_ms, post id)`; items sort by time, then id. The
//! initiator ([`Reconciler`]) sends fingerprints of ranges of its items;
//! the responder ([`respond`]) answers each range whose fingerprint differs
//! with finer ranges, or with the ids themselves once a range is small,
//! until the initiator knows which ids only the responder has (`need`) and
//! which only it has (`have`). Two sets that share most items exchange
//! fingerprints of the few ranges that differ, not every id.
//!
//! The responder keeps no state between rounds: each round is answered
//! from its items alone. Frames are bounded by [`FRAME_LIMIT`] on both
//! sides; a difference too large for one frame takes more rounds.

use hearth_protocol::MessageId;
use negentropy::{Id, Negentropy, NegentropyStorageVector};
use thiserror::Error;

use super::wire::FRAME_LIMIT;

/// Most rounds one reconciliation may take. With [`FRAME_LIMIT`] of
/// 32 KiB a round lists about a thousand ids, so this covers a peer with
/// some 60 000 posts the requester lacks.
pub const MAX_ROUNDS: usize = 64;

/// Most ids one reconciliation may report as needed; a peer claiming more
/// is cut off there (the rest comes in a later round).
pub const MAX_NEED: usize = 50_000;

/// Why a reconciliation failed.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The peer's frame does not parse, or the items could not be stored.
    #[error("negentropy: {0}")]
    Negentropy(#[from] negentropy::Error),
    /// The reconciliation took more than [`MAX_ROUNDS`] rounds.
    #[error("reconciliation did not finish in {MAX_ROUNDS} rounds")]
    TooManyRounds,
    /// A frame over [`FRAME_LIMIT`].
    #[error("reconciliation frame over {FRAME_LIMIT} bytes")]
    FrameTooLarge,
}

/// A sealed, sorted set of items, ready to reconcile or answer from.
#[derive(Debug, Clone)]
pub struct Items(NegentropyStorageVector);

impl Items {
    /// The set of `(created_ms, id)` items.
    pub fn new(items: impl IntoIterator<Item = (u64, MessageId)>) -> Result<Self, ReconcileError> {
        let mut storage = NegentropyStorageVector::new();
        for (created_ms, id) in items {
            storage.insert(created_ms, Id::from_byte_array(id.0))?;
        }
        storage.seal()?;
        Ok(Self(storage))
    }
}

/// What one round told the initiator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Send this frame to the responder and feed its answer back.
    Continue(Vec<u8>),
    /// Reconciliation is complete.
    Done,
}

/// The initiator's side of one reconciliation.
#[derive(Debug)]
pub struct Reconciler {
    negentropy: Negentropy<'static, NegentropyStorageVector>,
    rounds: usize,
    need: Vec<MessageId>,
    have: usize,
}

impl Reconciler {
    /// Starts a reconciliation of `items`; returns the first frame to send.
    pub fn start(items: Items) -> Result<(Self, Vec<u8>), ReconcileError> {
        let mut negentropy = Negentropy::owned(items.0, frame_limit())?;
        let frame = negentropy.initiate()?;
        check_frame(&frame)?;
        let reconciler = Self {
            negentropy,
            rounds: 0,
            need: Vec::new(),
            have: 0,
        };
        Ok((reconciler, frame))
    }

    /// Takes the responder's frame; says whether to send another.
    pub fn on_frame(&mut self, frame: &[u8]) -> Result<Round, ReconcileError> {
        check_frame(frame)?;
        self.rounds += 1;
        if self.rounds > MAX_ROUNDS {
            return Err(ReconcileError::TooManyRounds);
        }
        let mut have = Vec::new();
        let mut need = Vec::new();
        let next = self
            .negentropy
            .reconcile_with_ids(frame, &mut have, &mut need)?;
        self.have = self.have.saturating_add(have.len());
        let room = MAX_NEED.saturating_sub(self.need.len());
        self.need.extend(
            need.into_iter()
                .take(room)
                .map(|id| MessageId(id.to_bytes())),
        );
        match next {
            Some(frame) if self.need.len() < MAX_NEED => {
                check_frame(&frame)?;
                Ok(Round::Continue(frame))
            }
            _ => Ok(Round::Done),
        }
    }

    /// The ids only the responder has, found so far (drained).
    pub fn take_need(&mut self) -> Vec<MessageId> {
        std::mem::take(&mut self.need)
    }

    /// How many ids only this side has, found so far.
    pub fn have(&self) -> usize {
        self.have
    }

    /// Rounds answered so far.
    pub fn rounds(&self) -> usize {
        self.rounds
    }
}

/// The responder's answer to one frame, from its items alone.
pub fn respond(items: &Items, frame: &[u8]) -> Result<Vec<u8>, ReconcileError> {
    check_frame(frame)?;
    let mut negentropy = Negentropy::borrowed(&items.0, frame_limit())?;
    let answer = negentropy.reconcile(frame)?;
    check_frame(&answer)?;
    Ok(answer)
}

fn frame_limit() -> u64 {
    u64::try_from(FRAME_LIMIT).unwrap_or(u64::MAX)
}

fn check_frame(frame: &[u8]) -> Result<(), ReconcileError> {
    if frame.len() > FRAME_LIMIT {
        Err(ReconcileError::FrameTooLarge)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use super::*;

    fn id(n: u32) -> MessageId {
        MessageId(hearth_protocol::MessageId::of(&n.to_be_bytes()).0)
    }

    /// `n` items a minute apart, from `first`.
    fn items(range: std::ops::Range<u32>) -> Vec<(u64, MessageId)> {
        range
            .map(|n| (1_700_000_000_000 + u64::from(n) * 60_000, id(n)))
            .collect()
    }

    struct Outcome {
        need: HashSet<MessageId>,
        have: usize,
        rounds: usize,
        bytes: usize,
    }

    fn reconcile(mine: &[(u64, MessageId)], theirs: &[(u64, MessageId)]) -> Outcome {
        let theirs = Items::new(theirs.iter().copied()).unwrap();
        let (mut me, mut frame) =
            Reconciler::start(Items::new(mine.iter().copied()).unwrap()).unwrap();
        let mut bytes = frame.len();
        loop {
            let answer = respond(&theirs, &frame).unwrap();
            assert!(answer.len() <= FRAME_LIMIT);
            bytes += answer.len();
            match me.on_frame(&answer).unwrap() {
                Round::Continue(next) => {
                    assert!(next.len() <= FRAME_LIMIT);
                    bytes += next.len();
                    frame = next;
                }
                Round::Done => break,
            }
        }
        Outcome {
            need: me.take_need().into_iter().collect(),
            have: me.have(),
            rounds: me.rounds(),
            bytes,
        }
    }

    #[test]
    fn finds_exactly_what_each_side_lacks() {
        // Shared 0..900; only mine 900..950; only theirs 950..1000.
        let mut mine = items(0..950);
        let mut theirs = items(0..900);
        theirs.extend(items(950..1000));
        mine.reverse();
        let outcome = reconcile(&mine, &theirs);
        let expected: HashSet<_> = items(950..1000).into_iter().map(|(_, id)| id).collect();
        assert_eq!(outcome.need, expected);
        assert_eq!(outcome.have, 50);
    }

    #[test]
    fn identical_sets_agree_in_one_round_of_a_few_bytes() {
        let both = items(0..10_000);
        let outcome = reconcile(&both, &both);
        assert!(outcome.need.is_empty());
        assert_eq!(outcome.rounds, 1);
        assert!(outcome.bytes < 1024, "{} bytes", outcome.bytes);
    }

    #[test]
    fn sets_sharing_99_9_percent_exchange_kilobytes_not_every_id() {
        // 10 000 each, 9 990 shared: each side lacks 10 of the other's,
        // spread over the whole time range.
        let all = items(0..10_010);
        let mine: Vec<_> = (0..10_010)
            .filter(|n| n % 1001 != 500)
            .map(|n| all[usize::try_from(n).unwrap()])
            .collect();
        let theirs: Vec<_> = (0..10_010)
            .filter(|n| n % 1001 != 0)
            .map(|n| all[usize::try_from(n).unwrap()])
            .collect();
        assert_eq!((mine.len(), theirs.len()), (10_000, 10_000));
        let only_theirs: HashSet<_> = theirs
            .iter()
            .filter(|item| !mine.contains(item))
            .map(|(_, id)| *id)
            .collect();
        let outcome = reconcile(&mine, &theirs);
        assert_eq!(outcome.need, only_theirs);
        assert_eq!(outcome.have, 10);
        // Every id would be 320 KiB.
        assert!(outcome.bytes < 32 * 1024, "{} bytes", outcome.bytes);
    }

    #[test]
    fn an_empty_side_learns_everything_over_several_bounded_rounds() {
        let theirs = items(0..5_000);
        let outcome = reconcile(&[], &theirs);
        assert_eq!(outcome.need.len(), 5_000);
        assert!(outcome.rounds > 1);
    }

    #[test]
    fn junk_frames_are_errors_not_panics() {
        let theirs = Items::new(items(0..100)).unwrap();
        for junk in [
            &b""[..],
            &[0x61][..],
            &[0x62, 0, 0][..],
            &[0x61, 0xff, 0xff, 0xff][..],
            &[0x61, 0, 0, 2, 0xc0, 0x80, 0x80, 0x80, 0x00][..],
            &[0x61, 0, 40][..],
            &[0x61, 1, 0, 1, 1, 2][..],
        ] {
            // Either an error or a frame within the limit: never a panic.
            if let Ok(answer) = respond(&theirs, junk) {
                assert!(answer.len() <= FRAME_LIMIT);
            }
        }
        let (mut me, _) = Reconciler::start(Items::new(items(0..10)).unwrap()).unwrap();
        assert!(me.on_frame(&[0x50]).is_err());
        assert_eq!(
            me.on_frame(&vec![0x61; FRAME_LIMIT + 1]),
            Err(ReconcileError::FrameTooLarge)
        );
    }

    #[test]
    fn a_responder_that_never_finishes_is_cut_off() {
        let (mut me, _) = Reconciler::start(Items::new(items(0..1000)).unwrap()).unwrap();
        // An answer that asks for more every time: our own first frame
        // answered as if it were theirs.
        let (_, bait) = Reconciler::start(Items::new(items(500..1500)).unwrap()).unwrap();
        let mut result = Ok(Round::Done);
        for _ in 0..=MAX_ROUNDS {
            result = me.on_frame(&bait);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ReconcileError::TooManyRounds));
    }
}
