//! One sync with one peer, as a state machine that takes responses and
//! returns requests: a [`PostSession`] reconciles a channel, fetches what
//! the peer has and this node lacks, and last asks for the channel's card
//! (so a late joiner gets it while its founder is away); a [`ListSession`] asks
//! for newer moderator lists. Neither sees the swarm or the store: what the
//! node already has comes in as a predicate, what arrives goes out to be
//! judged by the shell.

use std::collections::{HashSet, VecDeque};

use hearth_protocol::{ChannelName, MessageId, PublicKey};

use super::reconcile::{Items, ReconcileError, Reconciler, Round};
use super::wire::{
    HeldCard, MAX_FETCH_IDS, MAX_WANTED_LISTS, Refusal, Request, Response, WantedList,
};

/// Most [`Request::Lists`] one list session sends.
pub(crate) const MAX_LIST_REQUESTS: usize = 32;

/// A post session stops fetching after this many answers in a row that
/// delivered nothing asked for: the peer advertises posts it does not
/// serve (its policy hides them, or it lies), and asking on costs both
/// sides for nothing. What it left out is fetched from other peers.
pub(crate) const MAX_EMPTY_ANSWERS: usize = 4;

/// Why a session ended before it was complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The peer refused the request.
    Refused(Refusal),
    /// The peer broke the protocol: an answer of the wrong kind, a frame
    /// that does not parse, posts or lists nobody asked for. Penalised.
    Violation(String),
    /// The request did not reach the peer or its answer did not come back
    /// (timeout, closed connection, the peer does not speak sync, a
    /// message over its limit). Not penalised unless the message was
    /// malformed, which the shell decides.
    Transport(String),
}

impl Failure {
    /// Whether the peer misbehaved.
    pub(crate) fn is_violation(&self) -> bool {
        matches!(self, Failure::Violation(_))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(refusal) => write!(f, "refused: {refusal:?}"),
            Failure::Violation(what) => write!(f, "protocol violation: {what}"),
            Failure::Transport(what) => write!(f, "{what}"),
        }
    }
}

impl From<ReconcileError> for Failure {
    fn from(e: ReconcileError) -> Self {
        Failure::Violation(e.to_string())
    }
}

/// Counts kept while a session runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Reconciliation rounds.
    pub rounds: usize,
    /// Encoded bytes of reconciliation requests and responses.
    pub reconcile_bytes: u64,
    /// Encoded bytes of fetch requests and responses.
    pub fetch_bytes: u64,
    /// Ids only the peer had.
    pub needed: usize,
    /// Ids only this node had.
    pub had: usize,
    /// Ids asked for.
    pub requested: usize,
    /// Posts or lists delivered.
    pub delivered: usize,
}

enum Phase {
    Reconciling(Reconciler),
    Fetching,
    /// The card request is in flight.
    Card,
    /// The card was asked for: nothing is left.
    Done,
}

/// Syncing one channel's posts with one peer: reconcile, then fetch.
pub(crate) struct PostSession {
    channel: ChannelName,
    since_ms: u64,
    phase: Phase,
    /// The next reconciliation frame to send.
    pending_frame: Option<Vec<u8>>,
    /// Needed ids not yet asked for.
    queue: VecDeque<MessageId>,
    /// The ids of the request in flight.
    asked: HashSet<MessageId>,
    /// Fetch answers in a row that delivered nothing.
    empty_answers: usize,
    /// Ids asked for and left out of the last answer.
    omitted: Vec<MessageId>,
    /// The card this node holds for the channel, sent with the card
    /// request so that the peer leaves it out if it has no other.
    held_card: Option<HeldCard>,
    /// The card envelope the peer's last answer delivered.
    card: Option<Vec<u8>>,
    counts: Counts,
}

impl std::fmt::Debug for PostSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostSession")
            .field("channel", &self.channel)
            .field("queue", &self.queue.len())
            .field("asked", &self.asked.len())
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl PostSession {
    /// Starts reconciling this node's `items` of `channel`, created at or
    /// after `since_ms`; returns the first request.
    pub(crate) fn start(
        channel: ChannelName,
        since_ms: u64,
        items: Items,
    ) -> Result<(Self, Request), ReconcileError> {
        let (reconciler, frame) = Reconciler::start(items)?;
        let mut session = Self {
            channel,
            since_ms,
            phase: Phase::Reconciling(reconciler),
            pending_frame: None,
            queue: VecDeque::new(),
            asked: HashSet::new(),
            empty_answers: 0,
            omitted: Vec::new(),
            held_card: None,
            card: None,
            counts: Counts::default(),
        };
        let request = session.reconcile_request(frame);
        Ok((session, request))
    }

    /// The channel.
    pub(crate) fn channel(&self) -> &ChannelName {
        &self.channel
    }

    /// Says which card this node holds for the channel, if any; the card
    /// request at the end of the session carries it.
    pub(crate) fn set_held_card(&mut self, held: Option<HeldCard>) {
        self.held_card = held;
    }

    /// The card envelope the last answer delivered (drained), to be judged
    /// by the shell like a gossiped card.
    pub(crate) fn take_card(&mut self) -> Option<Vec<u8>> {
        self.card.take()
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether `id` is in the fetch request in flight.
    pub(crate) fn is_asking(&self, id: &MessageId) -> bool {
        self.asked.contains(id)
    }

    /// Takes the answer to the request in flight. Returns the post
    /// envelopes it delivered (to be judged by the shell), then
    /// [`PostSession::next`] says what to send.
    pub(crate) fn on_response(&mut self, response: Response) -> Result<Vec<Vec<u8>>, Failure> {
        let size = response_len(&response);
        match (&mut self.phase, response) {
            (_, Response::Refused(refusal)) => Err(Failure::Refused(refusal)),
            (Phase::Reconciling(reconciler), Response::Reconcile { frame }) => {
                self.counts.reconcile_bytes += size;
                let round = reconciler.on_frame(&frame)?;
                self.counts.rounds = reconciler.rounds();
                let need = reconciler.take_need();
                self.counts.needed += need.len();
                self.queue.extend(need);
                match round {
                    Round::Continue(frame) => {
                        self.pending_frame = Some(frame);
                    }
                    Round::Done => {
                        self.counts.had = reconciler.have();
                        self.phase = Phase::Fetching;
                    }
                }
                Ok(Vec::new())
            }
            (Phase::Fetching, Response::Posts { posts }) => {
                self.counts.fetch_bytes += size;
                let mut asked = std::mem::take(&mut self.asked);
                let mut delivered = Vec::with_capacity(posts.len());
                for bytes in posts {
                    let id = MessageId::of(&bytes);
                    // Each id once: a second copy was not asked for either.
                    if !asked.remove(&id) {
                        return Err(Failure::Violation(format!(
                            "post {} was not asked for",
                            id.short()
                        )));
                    }
                    delivered.push(bytes);
                }
                self.omitted = asked.into_iter().collect();
                self.counts.delivered += delivered.len();
                if delivered.is_empty() {
                    self.empty_answers += 1;
                } else {
                    self.empty_answers = 0;
                }
                Ok(delivered)
            }
            (Phase::Card, Response::Card { card }) => {
                self.counts.fetch_bytes += size;
                self.phase = Phase::Done;
                self.card = card;
                Ok(Vec::new())
            }
            (_, other) => Err(Failure::Violation(format!(
                "unexpected answer {}",
                response_kind(&other)
            ))),
        }
    }

    /// The ids asked for that the last answer left out (drained).
    pub(crate) fn take_omitted(&mut self) -> Vec<MessageId> {
        std::mem::take(&mut self.omitted)
    }

    /// The next request, or `None` when the session is complete.
    /// `lacks(id)` says whether the node still lacks a post (not stored,
    /// not dropped on purpose, not refused); `busy(id)` whether another
    /// session is fetching it right now. Busy ids are asked for only when
    /// nothing else is left, so a peer that omits a post another peer was
    /// asked for does not lose it for this round.
    pub(crate) fn next(
        &mut self,
        lacks: &dyn Fn(&MessageId) -> bool,
        busy: &dyn Fn(&MessageId) -> bool,
    ) -> Option<Request> {
        if let Some(frame) = self.pending_frame.take() {
            return Some(self.reconcile_request(frame));
        }
        if !matches!(self.phase, Phase::Fetching) {
            return None;
        }
        if self.empty_answers >= MAX_EMPTY_ANSWERS {
            return Some(self.card_request());
        }
        let mut batch = Vec::new();
        let mut later = Vec::new();
        while batch.len() < MAX_FETCH_IDS {
            let Some(id) = self.queue.pop_front() else {
                break;
            };
            if !lacks(&id) {
                continue;
            }
            if busy(&id) {
                later.push(id);
            } else {
                batch.push(id);
            }
        }
        if batch.is_empty() {
            // Only posts another session is fetching are left: ask for them
            // too, in case that peer leaves them out.
            let take = later.len().min(MAX_FETCH_IDS);
            batch.extend(later.drain(..take));
        }
        for id in later.into_iter().rev() {
            self.queue.push_front(id);
        }
        if batch.is_empty() {
            return Some(self.card_request());
        }
        self.counts.requested += batch.len();
        self.asked = batch.iter().copied().collect();
        let request = Request::Posts {
            channel: self.channel.clone(),
            ids: batch,
        };
        self.counts.fetch_bytes += request_len(&request);
        Some(request)
    }

    fn card_request(&mut self) -> Request {
        self.phase = Phase::Card;
        let request = Request::Card {
            channel: self.channel.clone(),
            held: self.held_card,
        };
        self.counts.fetch_bytes += request_len(&request);
        request
    }

    fn reconcile_request(&mut self, frame: Vec<u8>) -> Request {
        let request = Request::Reconcile {
            channel: self.channel.clone(),
            since_ms: self.since_ms,
            frame,
        };
        self.counts.reconcile_bytes += request_len(&request);
        request
    }
}

/// Asking one peer for newer moderator lists, or for newer
/// crisis-directory updates of trusted publishers (the same exchange with
/// another request: [`ListSession::crisis`]).
#[derive(Debug)]
pub(crate) struct ListSession {
    /// Crisis-directory updates rather than moderator lists.
    crisis: bool,
    /// Moderators not yet asked about, with nothing else known.
    queue: VecDeque<PublicKey>,
    /// The moderators of the request in flight.
    asked: Vec<PublicKey>,
    /// Ask the same moderators again: the last answer was cut.
    again: bool,
    requests: usize,
    counts: Counts,
}

impl ListSession {
    /// A session about `moderators`; `held(m)` is the sequence of the list
    /// held for `m`. Returns `None` when there is nobody to ask about.
    pub(crate) fn start(
        moderators: Vec<PublicKey>,
        held: &dyn Fn(&PublicKey) -> Option<u64>,
    ) -> Option<(Self, Request)> {
        let mut session = Self {
            crisis: false,
            queue: moderators.into(),
            asked: Vec::new(),
            again: false,
            requests: 0,
            counts: Counts::default(),
        };
        let request = session.next(held)?;
        Some((session, request))
    }

    /// A session about the crisis-directory updates of `publishers`;
    /// `held(p)` is the sequence of the update held from `p`.
    pub(crate) fn crisis(
        publishers: Vec<PublicKey>,
        held: &dyn Fn(&PublicKey) -> Option<u64>,
    ) -> Option<(Self, Request)> {
        let mut session = Self {
            crisis: true,
            queue: publishers.into(),
            asked: Vec::new(),
            again: false,
            requests: 0,
            counts: Counts::default(),
        };
        let request = session.next(held)?;
        Some((session, request))
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether `moderator` was asked about in the request in flight.
    pub(crate) fn asked(&self, moderator: &PublicKey) -> bool {
        self.asked.contains(moderator)
    }

    /// Takes the answer; returns the list envelopes it delivered, to be
    /// judged by the shell (which also checks that each is the list of a
    /// moderator asked about).
    pub(crate) fn on_response(&mut self, response: Response) -> Result<Vec<Vec<u8>>, Failure> {
        let size = response_len(&response);
        match response {
            Response::Refused(refusal) => Err(Failure::Refused(refusal)),
            Response::Lists { lists, complete } => {
                self.counts.fetch_bytes += size;
                if lists.len() > self.asked.len() {
                    return Err(Failure::Violation("more lists than asked for".to_owned()));
                }
                if !complete && lists.is_empty() {
                    // Every list fits in a response, so a cut answer holds
                    // at least one.
                    return Err(Failure::Violation(
                        "an empty answer said to be cut".to_owned(),
                    ));
                }
                self.again = !complete;
                self.counts.delivered += lists.len();
                Ok(lists)
            }
            other => Err(Failure::Violation(format!(
                "unexpected answer {}",
                response_kind(&other)
            ))),
        }
    }

    /// The next request, or `None` when done.
    pub(crate) fn next(&mut self, held: &dyn Fn(&PublicKey) -> Option<u64>) -> Option<Request> {
        if self.requests >= MAX_LIST_REQUESTS {
            return None;
        }
        if !std::mem::take(&mut self.again) {
            let take = self.queue.len().min(MAX_WANTED_LISTS);
            self.asked = self.queue.drain(..take).collect();
        }
        if self.asked.is_empty() {
            return None;
        }
        self.requests += 1;
        let wanted = self
            .asked
            .iter()
            .map(|moderator| WantedList {
                moderator: *moderator,
                held: held(moderator),
            })
            .collect();
        self.counts.requested += self.asked.len();
        let request = if self.crisis {
            Request::CrisisUpdates { wanted }
        } else {
            Request::Lists { wanted }
        };
        self.counts.fetch_bytes += request_len(&request);
        Some(request)
    }
}

fn response_kind(response: &Response) -> &'static str {
    match response {
        Response::Reconcile { .. } => "reconcile",
        Response::Posts { .. } => "posts",
        Response::Lists { .. } => "lists",
        Response::Refused(_) => "refused",
        Response::Card { .. } => "card",
    }
}

/// Encoded length of a request.
pub(crate) fn request_len(request: &Request) -> u64 {
    let len = match request {
        Request::Reconcile {
            channel,
            since_ms,
            frame,
        } => 1 + bytes_len(channel.as_str().len()) + varint_len(*since_ms) + bytes_len(frame.len()),
        Request::Posts { channel, ids } => {
            1 + bytes_len(channel.as_str().len()) + varint_len(len_u64(ids.len())) + 32 * ids.len()
        }
        Request::Lists { wanted } | Request::CrisisUpdates { wanted } => {
            1 + varint_len(len_u64(wanted.len()))
                + wanted
                    .iter()
                    .map(|w| 32 + 1 + w.held.map_or(0, varint_len))
                    .sum::<usize>()
        }
        Request::Card { channel, held } => {
            1 + bytes_len(channel.as_str().len())
                + 1
                + held.map_or(0, |h| 32 + varint_len(h.created_ms))
        }
    };
    len_u64(len)
}

/// Encoded length of a response, computed without encoding it.
pub(crate) fn response_len(response: &Response) -> u64 {
    let list = |items: &[Vec<u8>]| {
        varint_len(len_u64(items.len())) + items.iter().map(|i| bytes_len(i.len())).sum::<usize>()
    };
    let len = match response {
        Response::Reconcile { frame } => 1 + bytes_len(frame.len()),
        Response::Posts { posts } => 1 + list(posts),
        Response::Lists { lists, .. } => 1 + list(lists) + 1,
        Response::Refused(_) => 2,
        Response::Card { card } => 1 + 1 + card.as_ref().map_or(0, |c| bytes_len(c.len())),
    };
    len_u64(len)
}

/// Bytes of a length-prefixed byte string of `len` bytes.
fn bytes_len(len: usize) -> usize {
    varint_len(len_u64(len)) + len
}

fn varint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
