#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use super::*;
use crate::sync::reconcile::respond;

fn channel() -> ChannelName {
    ChannelName::parse("grief").unwrap()
}

/// A stand-in post: any bytes do, the session never opens them.
fn post(n: u32) -> (u64, MessageId, Vec<u8>) {
    let bytes = format!("post number {n}").into_bytes();
    (
        1_700_000_000_000 + u64::from(n),
        MessageId::of(&bytes),
        bytes,
    )
}

/// A peer holding posts `range`, answering like a real responder.
struct Peer {
    items: Items,
    posts: HashMap<MessageId, Vec<u8>>,
    /// Ids it leaves out of fetch answers.
    omits: HashSet<MessageId>,
    /// The card envelope it holds.
    card: Option<Vec<u8>>,
}

impl Peer {
    fn new(range: std::ops::Range<u32>) -> Self {
        let posts: Vec<_> = range.map(post).collect();
        Self {
            items: Items::new(posts.iter().map(|(t, id, _)| (*t, *id))).unwrap(),
            posts: posts.into_iter().map(|(_, id, b)| (id, b)).collect(),
            omits: HashSet::new(),
            card: None,
        }
    }

    fn answer(&self, request: &Request) -> Response {
        match request {
            Request::Reconcile { frame, .. } => Response::Reconcile {
                frame: respond(&self.items, frame).unwrap(),
            },
            Request::Posts { ids, .. } => Response::Posts {
                posts: ids
                    .iter()
                    .filter(|id| !self.omits.contains(id))
                    .filter_map(|id| self.posts.get(id).cloned())
                    .collect(),
            },
            Request::Lists { .. } | Request::CrisisUpdates { .. } => {
                Response::Refused(Refusal::BadRequest)
            }
            Request::Card { .. } => Response::Card {
                card: self.card.clone(),
            },
        }
    }
}

fn mine(range: std::ops::Range<u32>) -> Items {
    Items::new(range.map(post).map(|(t, id, _)| (t, id))).unwrap()
}

/// Runs a session against `peer` until it ends; returns what it delivered.
fn run(
    session: &mut PostSession,
    first: Request,
    peer: &Peer,
    have: &mut HashSet<MessageId>,
) -> Result<Vec<MessageId>, Failure> {
    let mut delivered = Vec::new();
    let mut request = Some(first);
    while let Some(r) = request.take() {
        for bytes in session.on_response(peer.answer(&r))? {
            let id = MessageId::of(&bytes);
            have.insert(id);
            delivered.push(id);
        }
        let known = have.clone();
        request = session.next(&|id| !known.contains(id), &|_| false);
    }
    Ok(delivered)
}

#[test]
fn a_session_fetches_exactly_what_the_node_lacks() {
    let peer = Peer::new(0..1_000);
    let mut have: HashSet<_> = (0..990).map(|n| post(n).1).collect();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..990)).unwrap();
    let delivered = run(&mut session, first, &peer, &mut have).unwrap();
    let expected: HashSet<_> = (990..1_000).map(|n| post(n).1).collect();
    assert_eq!(delivered.iter().copied().collect::<HashSet<_>>(), expected);
    assert_eq!(delivered.len(), 10);
    let counts = session.counts();
    assert_eq!(
        (counts.needed, counts.requested, counts.delivered),
        (10, 10, 10)
    );
    assert!(counts.reconcile_bytes > 0 && counts.fetch_bytes > 0);
}

#[test]
fn posts_dropped_on_purpose_are_never_asked_for() {
    let peer = Peer::new(0..100);
    // The node holds 0..50 and dropped 50..60 on purpose (blocked,
    // expired, refused): they are in its seen set, not its item set.
    let mut have: HashSet<_> = (0..60).map(|n| post(n).1).collect();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..50)).unwrap();
    let delivered = run(&mut session, first, &peer, &mut have).unwrap();
    assert_eq!(delivered.len(), 40);
    assert!(
        delivered
            .iter()
            .all(|id| !(50..60).any(|n| post(n).1 == *id))
    );
    assert_eq!(session.counts().requested, 40);
}

#[test]
fn a_late_joiner_fetches_in_bounded_batches() {
    let peer = Peer::new(0..1_000);
    let mut have = HashSet::new();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    let mut request = Some(first);
    let mut fetches = 0;
    while let Some(r) = request.take() {
        if let Request::Posts { ids, .. } = &r {
            assert!(ids.len() <= MAX_FETCH_IDS);
            fetches += 1;
        }
        for bytes in session.on_response(peer.answer(&r)).unwrap() {
            have.insert(MessageId::of(&bytes));
        }
        let known = have.clone();
        request = session.next(&|id| !known.contains(id), &|_| false);
    }
    assert_eq!(have.len(), 1_000);
    assert_eq!(fetches, 1_000usize.div_ceil(MAX_FETCH_IDS));
}

#[test]
fn a_peer_that_omits_posts_ends_the_session_without_them() {
    let mut peer = Peer::new(0..20);
    peer.omits = (10..20).map(|n| post(n).1).collect();
    let mut have = HashSet::new();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    let delivered = run(&mut session, first, &peer, &mut have).unwrap();
    assert_eq!(delivered.len(), 10);
    // Each id asked once: omitted posts are left for another peer.
    assert_eq!(session.counts().requested, 20);
}

#[test]
fn posts_nobody_asked_for_are_a_violation() {
    let peer = Peer::new(0..5);
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    session.on_response(peer.answer(&first)).unwrap();
    let request = session.next(&|_| true, &|_| false).unwrap();
    assert!(matches!(request, Request::Posts { .. }));
    let forged = Response::Posts {
        posts: vec![b"something else".to_vec()],
    };
    assert!(session.on_response(forged).unwrap_err().is_violation());
    // The same post twice is also one nobody asked for.
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    session.on_response(peer.answer(&first)).unwrap();
    let request = session.next(&|_| true, &|_| false).unwrap();
    let Response::Posts { posts } = peer.answer(&request) else {
        panic!()
    };
    let twice = Response::Posts {
        posts: vec![posts[0].clone(), posts[0].clone()],
    };
    assert!(session.on_response(twice).unwrap_err().is_violation());
}

#[test]
fn answers_of_the_wrong_kind_and_bad_frames_are_violations() {
    let (mut session, _) = PostSession::start(channel(), 0, mine(0..10)).unwrap();
    let wrong = Response::Posts { posts: vec![] };
    assert!(session.on_response(wrong).unwrap_err().is_violation());
    let (mut session, _) = PostSession::start(channel(), 0, mine(0..10)).unwrap();
    let bad = Response::Reconcile {
        frame: vec![0x61, 0, 7],
    };
    assert!(session.on_response(bad).unwrap_err().is_violation());
    let (mut session, _) = PostSession::start(channel(), 0, mine(0..10)).unwrap();
    assert_eq!(
        session.on_response(Response::Refused(Refusal::Busy)),
        Err(Failure::Refused(Refusal::Busy))
    );
}

#[test]
fn posts_another_session_is_fetching_are_asked_for_last() {
    let peer = Peer::new(0..10);
    let busy: HashSet<_> = (0..5).map(|n| post(n).1).collect();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    session.on_response(peer.answer(&first)).unwrap();
    let Some(Request::Posts { ids, .. }) = session.next(&|_| true, &|id| busy.contains(id)) else {
        panic!()
    };
    assert_eq!(ids.len(), 5);
    assert!(ids.iter().all(|id| !busy.contains(id)));
    session
        .on_response(peer.answer(&Request::Posts {
            channel: channel(),
            ids: ids.clone(),
        }))
        .unwrap();
    // Only the busy ones are left, and the other session has not delivered
    // them: asked for here too.
    let Some(Request::Posts { ids, .. }) = session.next(&|_| true, &|id| busy.contains(id)) else {
        panic!()
    };
    assert_eq!(ids.iter().copied().collect::<HashSet<_>>(), busy);
}

fn moderator(n: u8) -> PublicKey {
    PublicKey([n; 32])
}

#[test]
fn a_list_session_asks_in_chunks_and_again_when_cut() {
    let moderators: Vec<_> = (0..70).map(moderator).collect();
    let held = |m: &PublicKey| m.0[0].is_multiple_of(2).then_some(u64::from(m.0[0]));
    let (mut session, first) = ListSession::start(moderators, &held).unwrap();
    let Request::Lists { wanted } = &first else {
        panic!()
    };
    assert_eq!(wanted.len(), MAX_WANTED_LISTS);
    assert_eq!(wanted[2].held, Some(2));
    assert_eq!(wanted[3].held, None);
    // Cut: the same moderators again.
    let cut = Response::Lists {
        lists: vec![b"a list".to_vec()],
        complete: false,
    };
    assert_eq!(session.on_response(cut).unwrap().len(), 1);
    assert_eq!(session.next(&held), Some(first.clone()));
    // Complete: the remaining six.
    let done = Response::Lists {
        lists: vec![],
        complete: true,
    };
    session.on_response(done.clone()).unwrap();
    let Some(Request::Lists { wanted }) = session.next(&held) else {
        panic!()
    };
    assert_eq!(wanted.len(), 6);
    assert!(session.asked(&moderator(69)));
    session.on_response(done).unwrap();
    assert_eq!(session.next(&held), None);
}

#[test]
fn a_list_session_refuses_junk_answers() {
    let held = |_: &PublicKey| None;
    assert!(ListSession::start(vec![], &held).is_none());
    let (mut session, _) = ListSession::start(vec![moderator(1)], &held).unwrap();
    let empty_cut = Response::Lists {
        lists: vec![],
        complete: false,
    };
    assert!(session.on_response(empty_cut).unwrap_err().is_violation());
    let (mut session, _) = ListSession::start(vec![moderator(1)], &held).unwrap();
    let too_many = Response::Lists {
        lists: vec![vec![1], vec![2]],
        complete: true,
    };
    assert!(session.on_response(too_many).unwrap_err().is_violation());
    // A peer that says "cut" forever is asked a bounded number of times.
    let (mut session, _) = ListSession::start(vec![moderator(1)], &held).unwrap();
    let mut requests = 1;
    loop {
        let cut = Response::Lists {
            lists: vec![vec![1]],
            complete: false,
        };
        session.on_response(cut).unwrap();
        if session.next(&held).is_none() {
            break;
        }
        requests += 1;
    }
    assert_eq!(requests, MAX_LIST_REQUESTS);
}

#[test]
fn computed_lengths_match_the_encoding() {
    let requests = [
        Request::Reconcile {
            channel: channel(),
            since_ms: 1_700_000_000_000,
            frame: vec![1; 300],
        },
        Request::Posts {
            channel: channel(),
            ids: vec![MessageId([3; 32]); 128],
        },
        Request::Lists {
            wanted: vec![
                WantedList {
                    moderator: moderator(1),
                    held: Some(300),
                },
                WantedList {
                    moderator: moderator(2),
                    held: None,
                },
            ],
        },
        Request::Card {
            channel: channel(),
            held: None,
        },
        Request::CrisisUpdates {
            wanted: vec![WantedList {
                moderator: moderator(4),
                held: Some(2),
            }],
        },
        Request::Card {
            channel: channel(),
            held: Some(HeldCard {
                founder: moderator(3),
                created_ms: 1_700_000_000_000,
            }),
        },
    ];
    for request in &requests {
        assert_eq!(request_len(request), request.encode().unwrap().len() as u64);
    }
    let responses = [
        Response::Reconcile {
            frame: vec![1; 20_000],
        },
        Response::Posts {
            posts: vec![vec![2; 200], vec![3; 8000]],
        },
        Response::Lists {
            lists: vec![vec![4; 70_000]],
            complete: true,
        },
        Response::Refused(Refusal::NotJoined),
        Response::Card { card: None },
        Response::Card {
            card: Some(vec![5; 4000]),
        },
    ];
    for response in &responses {
        assert_eq!(
            response_len(response),
            response.encode().unwrap().len() as u64
        );
    }
}

#[test]
fn a_peer_that_serves_nothing_asked_for_is_given_up_on() {
    let mut peer = Peer::new(0..2_000);
    peer.omits = (0..2_000).map(|n| post(n).1).collect();
    let mut have = HashSet::new();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    let delivered = run(&mut session, first, &peer, &mut have).unwrap();
    assert!(delivered.is_empty());
    assert_eq!(
        session.counts().requested,
        MAX_EMPTY_ANSWERS * MAX_FETCH_IDS
    );
}

#[test]
fn a_session_ends_by_asking_for_the_card_with_the_one_held() {
    let mut peer = Peer::new(0..5);
    peer.card = Some(b"the card".to_vec());
    let held = HeldCard {
        founder: moderator(9),
        created_ms: 42,
    };
    let mut have = HashSet::new();
    let (mut session, first) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    session.set_held_card(Some(held));
    let mut request = Some(first);
    let mut card_requests = Vec::new();
    while let Some(r) = request.take() {
        if let Request::Card { channel: c, held } = &r {
            assert_eq!(c, &channel());
            card_requests.push(*held);
        }
        for bytes in session.on_response(peer.answer(&r)).unwrap() {
            have.insert(MessageId::of(&bytes));
        }
        let known = have.clone();
        request = session.next(&|id| !known.contains(id), &|_| false);
    }
    assert_eq!(have.len(), 5, "the posts came first");
    assert_eq!(card_requests, vec![Some(held)], "the card asked once, last");
    assert_eq!(session.take_card().as_deref(), Some(&b"the card"[..]));
    assert_eq!(session.take_card(), None);
    // A card answer out of turn is a violation.
    let (mut session, _) = PostSession::start(channel(), 0, mine(0..0)).unwrap();
    let early = Response::Card { card: None };
    assert!(session.on_response(early).unwrap_err().is_violation());
}

#[test]
fn a_crisis_session_asks_for_updates_with_the_sequences_held() {
    let held = |p: &PublicKey| (p == &moderator(1)).then_some(4);
    let (mut session, first) =
        ListSession::crisis(vec![moderator(1), moderator(2)], &held).unwrap();
    let Request::CrisisUpdates { wanted } = first else {
        panic!("not a crisis request: {first:?}")
    };
    assert_eq!(
        wanted,
        vec![
            WantedList {
                moderator: moderator(1),
                held: Some(4)
            },
            WantedList {
                moderator: moderator(2),
                held: None
            }
        ]
    );
    assert!(session.asked(&moderator(2)));
    let lists = session
        .on_response(Response::Lists {
            lists: vec![b"update".to_vec()],
            complete: true,
        })
        .unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(session.next(&held), None);
    assert!(ListSession::crisis(vec![], &held).is_none());
}
