//! The inbox's decisions, without a swarm: the node's state is a
//! [`FakeView`] (or, where the store itself matters, a real temporary
//! store), and time is whatever the test says.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use hearth_protocol::{
    BlockEntry, BlockTarget, Keypair, ListId, PersonaStamp, Policy, PolicyList, PostDraft, Scope,
    SignedMessage, StampSearch, stamp_persona,
};

use super::*;
use crate::config::{ChannelRetention, Rate};

const T: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;
/// The persona-stamp level of these tests: real stamps, found in
/// microseconds.
const STAMP_BITS: u8 = 8;

/// The node's state as a test sets it.
#[derive(Default)]
struct FakeView {
    joined: HashSet<ChannelName>,
    follows: HashSet<PublicKey>,
    seen: HashSet<MessageId>,
    seen_unreadable: bool,
    held: HashMap<PublicKey, ModeratorList>,
    held_unreadable: bool,
    blocked: Vec<BlockEntry>,
}

impl NodeView for FakeView {
    fn joined(&self, channel: &ChannelName) -> bool {
        self.joined.contains(channel)
    }

    fn follows(&self, moderator: &PublicKey) -> bool {
        self.follows.contains(moderator)
    }

    fn is_seen(&self, id: &MessageId) -> Result<bool, StoreError> {
        if self.seen_unreadable {
            return Err(StoreError::Io(std::io::Error::other("disk on fire")));
        }
        Ok(self.seen.contains(id))
    }

    fn held_list(&self, moderator: &PublicKey) -> Result<Option<ModeratorList>, HeldListError> {
        if self.held_unreadable {
            let e = std::io::Error::other("disk on fire");
            return Err(HeldListError::Read(StoreError::Io(e)));
        }
        Ok(self.held.get(moderator).cloned())
    }

    fn verdict(&self, id: &MessageId, post: &Post) -> Option<Verdict> {
        Policy::compile([PolicyList {
            id: ListId::Local,
            applies_to: Scope::All,
            entries: self.blocked.clone(),
        }])
        .check(id, post)
    }
}

struct Setup {
    network: NetworkId,
    channel: ChannelName,
    author: Keypair,
    stamp: PersonaStamp,
    peer: PeerId,
    view: FakeView,
}

fn setup() -> Setup {
    let channel = ChannelName::parse("grief").unwrap();
    let mut view = FakeView::default();
    view.joined.insert(channel.clone());
    let network = NetworkId::default();
    let author = Keypair::generate(&mut rand::rng());
    let StampSearch::Found(stamp) =
        stamp_persona(&author.public(), &network, STAMP_BITS, 0, u64::MAX)
    else {
        unreachable!("an unbounded search ends with a stamp")
    };
    Setup {
        network,
        channel,
        author,
        stamp,
        peer: PeerId::random(),
        view,
    }
}

/// The node's defaults, at the tests' stamp level.
fn test_limits() -> NodeLimits {
    NodeLimits {
        persona_stamp_bits: STAMP_BITS,
        ..NodeLimits::default()
    }
}

fn limits(per_persona: Rate, per_peer: Rate) -> NodeLimits {
    NodeLimits {
        per_persona,
        per_peer,
        ..test_limits()
    }
}

fn inbox(s: &Setup) -> Inbox {
    Inbox::new(s.network.clone(), test_limits())
}

fn at(wall_ms: u64, mono_ms: u64) -> Now {
    Now { wall_ms, mono_ms }
}

impl Setup {
    fn post(&self, text: &str, created_ms: u64) -> SignedMessage {
        PostDraft::new(self.channel.clone(), text, created_ms)
            .with_persona_stamp(self.stamp)
            .sign(&self.author, &self.network, 0)
            .unwrap()
    }

    /// A signed post with one bit of its signature flipped.
    fn forged(&self) -> Vec<u8> {
        let mut bytes = self.post("forged", T).bytes;
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        bytes
    }

    fn topic(&self) -> String {
        self.channel.topic(&self.network).to_string()
    }

    fn judge(&self, inbox: &mut Inbox, bytes: &[u8], now: Now) -> Decision {
        inbox.judge(&self.peer, &self.topic(), bytes, now, &self.view)
    }
}

fn stored(decision: &Decision) -> Option<&NewPost> {
    match &decision.action {
        Action::StorePost(new) => Some(new),
        _ => None,
    }
}

fn refused(decision: &Decision) -> Option<&str> {
    match &decision.action {
        Action::Refuse { reason, .. } => Some(reason),
        _ => None,
    }
}

// ----- posts ------------------------------------------------------------------

#[test]
fn a_fresh_post_is_accepted_stored_remembered_and_announced() {
    let s = setup();
    let post = s.post("is anyone awake?", T);
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T + 1_000, 0));
    assert_eq!(decision.acceptance, MessageAcceptance::Accept);
    let new = stored(&decision).unwrap();
    assert_eq!(new.id, post.id);
    assert_eq!(new.stored.bytes, post.bytes);
    assert_eq!(new.stored.received_ms, T + 1_000);
    assert!(!new.stored.own && !new.record.own);
    assert_eq!(new.record.post.body, "is anyone awake?");
    assert_eq!(new.record.verdict, None);
    // Remembered for as long as validation would accept a replay.
    let limits = NodeLimits::default().messages;
    assert_eq!(
        new.seen_until,
        T + limits.max_age_ms + limits.max_clock_skew_ms
    );
}

#[test]
fn a_post_whose_persona_did_not_pay_is_refused_without_punishing_the_relay() {
    let s = setup();
    // A stamp below the level: the first nonce that misses it.
    let weak = (0..)
        .map(PersonaStamp)
        .find(|stamp| !stamp.meets(&s.network, &s.author.public(), STAMP_BITS))
        .unwrap();
    let post = PostDraft::new(s.channel.clone(), "free persona", T)
        .with_persona_stamp(weak)
        .sign(&s.author, &s.network, 0)
        .unwrap();
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T, 0));
    assert_eq!(
        decision.acceptance,
        MessageAcceptance::Ignore,
        "not relayed, and the relay is not penalised"
    );
    assert!(refused(&decision).unwrap().contains("persona stamp"));
    // The same post with its stamp is taken.
    let paid = s.post("free persona", T);
    let decision = s.judge(&mut inbox(&s), &paid.bytes, at(T, 0));
    assert!(stored(&decision).is_some());
}

#[test]
fn a_replay_of_a_seen_post_is_ignored_without_an_event() {
    let mut s = setup();
    let post = s.post("hello", T);
    s.view.seen.insert(post.id);
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T, 0));
    assert_eq!(
        decision,
        Decision::quiet(MessageAcceptance::Ignore),
        "no store write, no event"
    );
}

#[test]
fn a_post_older_than_the_channel_keeps_is_not_taken_in() {
    let s = setup();
    let mut retention = Retention::default();
    retention.channels.insert(
        s.channel.clone(),
        ChannelRetention {
            max_age: Some(Duration::from_secs(60)),
            max_posts: None,
        },
    );
    let mut inbox = inbox(&s).with_retention(retention);
    let old = s.post("an hour ago", T);
    let decision = s.judge(&mut inbox, &old.bytes, at(T + 3_600_000, 0));
    assert_eq!(
        decision,
        Decision::quiet(MessageAcceptance::Ignore),
        "not stored, shown or relayed"
    );
    let recent = s.post("a minute ago", T);
    let decision = s.judge(&mut inbox, &recent.bytes, at(T + 60_000, 0));
    assert!(stored(&decision).is_some(), "{decision:?}");
}

#[test]
fn a_post_is_ignored_when_the_seen_set_cannot_be_read() {
    let mut s = setup();
    s.view.seen_unreadable = true;
    let post = s.post("hello", T);
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T, 0));
    assert_eq!(decision, Decision::quiet(MessageAcceptance::Ignore));
}

#[test]
fn a_post_in_a_channel_not_joined_is_ignored_quietly() {
    let mut s = setup();
    s.view.joined.clear();
    let post = s.post("hello", T);
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T, 0));
    assert_eq!(decision, Decision::quiet(MessageAcceptance::Ignore));
}

#[test]
fn a_message_on_another_networks_topic_is_ignored_quietly() {
    let s = setup();
    let post = s.post("hello", T);
    let other = NetworkId::parse("elsewhere").unwrap();
    let topic = s.channel.topic(&other).to_string();
    let decision = inbox(&s).judge(&s.peer, &topic, &post.bytes, at(T, 0), &s.view);
    assert_eq!(decision, Decision::quiet(MessageAcceptance::Ignore));
    let decision = inbox(&s).judge(&s.peer, "not/a/topic", &post.bytes, at(T, 0), &s.view);
    assert_eq!(decision, Decision::quiet(MessageAcceptance::Ignore));
}

#[test]
fn forged_bytes_are_rejected_and_reported() {
    let s = setup();
    let decision = s.judge(&mut inbox(&s), &s.forged(), at(T, 0));
    assert_eq!(decision.acceptance, MessageAcceptance::Reject);
    assert!(refused(&decision).is_some());
}

#[test]
fn a_post_an_honest_relay_could_forward_is_ignored_not_rejected() {
    let s = setup();
    // Dated beyond the age window: stale, not forged.
    let post = s.post("hello", T);
    let week = NodeLimits::default().messages.max_age_ms;
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T + week + HOUR, 0));
    assert_eq!(decision.acceptance, MessageAcceptance::Ignore);
    assert!(refused(&decision).is_some_and(|r| r.contains("old")));
}

#[test]
fn a_hidden_post_is_stored_with_its_verdict_and_not_relayed_without_punishing_the_relay() {
    let mut s = setup();
    s.view.blocked.push(BlockEntry::new(
        BlockTarget::Persona(s.author.public()),
        "spam",
    ));
    let post = s.post("buy now", T);
    let decision = s.judge(&mut inbox(&s), &post.bytes, at(T, 0));
    assert_eq!(decision.acceptance, MessageAcceptance::Ignore);
    let new = stored(&decision).unwrap();
    assert_eq!(new.record.verdict.as_ref().unwrap().reason, "spam");
}

// ----- rates ------------------------------------------------------------------

#[test]
fn a_flooding_peer_is_ignored_before_its_bytes_are_even_validated() {
    let s = setup();
    let per_peer = Rate {
        per_minute: 60,
        burst: 2,
    };
    let mut inbox = Inbox::new(
        s.network.clone(),
        limits(NodeLimits::default().per_persona, per_peer),
    );
    let forged = s.forged();
    for _ in 0..2 {
        let decision = s.judge(&mut inbox, &forged, at(T, 0));
        assert_eq!(decision.acceptance, MessageAcceptance::Reject);
    }
    // Over the rate: not validated, so neither rejected nor reported.
    assert_eq!(
        s.judge(&mut inbox, &forged, at(T, 0)),
        Decision::quiet(MessageAcceptance::Ignore)
    );
}

#[test]
fn an_author_over_its_rate_is_refused_with_a_reason() {
    let s = setup();
    let per_persona = Rate {
        per_minute: 60,
        burst: 2,
    };
    let mut inbox = Inbox::new(
        s.network.clone(),
        limits(per_persona, NodeLimits::default().per_peer),
    );
    for n in 0..2 {
        let post = s.post(&format!("post {n}"), T);
        assert_eq!(
            s.judge(&mut inbox, &post.bytes, at(T, 0)).acceptance,
            MessageAcceptance::Accept
        );
    }
    let third = s.post("post 2", T);
    let decision = s.judge(&mut inbox, &third.bytes, at(T, 0));
    assert_eq!(decision.acceptance, MessageAcceptance::Ignore);
    assert!(refused(&decision).is_some_and(|r| r.contains("rate limit")));
}

#[test]
fn rate_buckets_keep_refilling_across_a_backward_wall_clock_step() {
    let s = setup();
    let per_persona = Rate {
        per_minute: 60,
        burst: 2,
    };
    let mut inbox = Inbox::new(
        s.network.clone(),
        limits(per_persona, NodeLimits::default().per_peer),
    );
    for n in 0..2 {
        let post = s.post(&format!("before {n}"), T);
        let decision = s.judge(&mut inbox, &post.bytes, at(T, 0));
        assert_eq!(decision.acceptance, MessageAcceptance::Accept);
    }
    // The wall clock is set back an hour; a second passes on the monotonic
    // clock, which refills one token. (A limiter on wall time would see no
    // time pass for an hour and refuse.)
    let wall = T - HOUR;
    let post = s.post("after the step", wall);
    let decision = s.judge(&mut inbox, &post.bytes, at(wall + 1_000, 1_000));
    assert_eq!(decision.acceptance, MessageAcceptance::Accept);
    // And the wall clock jumping forward does not hand out tokens either.
    let wall = T + HOUR;
    let post = s.post("after the jump", wall);
    let decision = s.judge(&mut inbox, &post.bytes, at(wall, 1_000));
    assert_eq!(decision.acceptance, MessageAcceptance::Ignore);
    assert!(refused(&decision).is_some_and(|r| r.contains("rate limit")));
}

// ----- moderator lists --------------------------------------------------------

struct Lists {
    s: Setup,
    moderator: Keypair,
}

impl Lists {
    fn new() -> Self {
        let mut s = setup();
        let moderator = Keypair::generate(&mut rand::rng());
        s.view.follows.insert(moderator.public());
        Self { s, moderator }
    }

    fn list(&self, sequence: u64) -> SignedMessage {
        let entry = BlockEntry::new(BlockTarget::Keyword("spam".into()), "ads");
        ModeratorList::sign(
            &self.moderator,
            &self.s.network,
            sequence,
            T,
            "",
            vec![entry],
        )
        .unwrap()
    }

    fn hold(&mut self, sequence: u64) {
        let Message::ModeratorList(list) = self.list(sequence).message else {
            unreachable!()
        };
        self.s.view.held.insert(self.moderator.public(), list);
    }

    fn judge(&self, bytes: &[u8]) -> Decision {
        let topic = Topic::Moderator {
            network: self.s.network.clone(),
            moderator: self.moderator.public(),
        }
        .to_string();
        inbox(&self.s).judge(&self.s.peer, &topic, bytes, at(T, 0), &self.s.view)
    }
}

fn kept(decision: &Decision) -> Option<u64> {
    match &decision.action {
        Action::StoreList { list, .. } => Some(list.sequence),
        _ => None,
    }
}

#[test]
fn a_followed_moderators_first_list_is_accepted_and_kept() {
    let l = Lists::new();
    let decision = l.judge(&l.list(1).bytes);
    assert_eq!(decision.acceptance, MessageAcceptance::Accept);
    assert_eq!(kept(&decision), Some(1));
}

#[test]
fn a_list_of_a_moderator_not_followed_is_ignored() {
    let mut l = Lists::new();
    l.s.view.follows.clear();
    assert_eq!(
        l.judge(&l.list(1).bytes),
        Decision::quiet(MessageAcceptance::Ignore)
    );
}

#[test]
fn only_a_newer_list_replaces_the_held_one() {
    let mut l = Lists::new();
    l.hold(5);
    assert_eq!(kept(&l.judge(&l.list(6).bytes)), Some(6));
    for old in [4, 5] {
        assert_eq!(
            l.judge(&l.list(old).bytes),
            Decision::quiet(MessageAcceptance::Ignore),
            "sequence {old}"
        );
    }
}

#[test]
fn a_list_is_refused_never_taken_when_the_held_one_cannot_be_read() {
    let mut l = Lists::new();
    l.hold(5);
    l.s.view.held_unreadable = true;
    // Even an older list: without the held sequence it could be a rollback.
    for sequence in [1, 9] {
        assert_eq!(
            l.judge(&l.list(sequence).bytes),
            Decision::quiet(MessageAcceptance::Ignore)
        );
    }
}

#[test]
fn a_forged_list_is_rejected() {
    let l = Lists::new();
    let mut bytes = l.list(1).bytes;
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(l.judge(&bytes), Decision::quiet(MessageAcceptance::Reject));
}

#[test]
fn a_corrupt_held_list_in_the_store_refuses_the_offered_list_and_stays() {
    // The shell's view over a real store whose held list is corrupt.
    let l = Lists::new();
    let store = Store::temporary(4 * 1024 * 1024).unwrap();
    let key = l.moderator.public();
    store.put_moderator_list(&key, b"\x01garbage").unwrap();
    let channels = HashMap::new();
    let moderators: HashSet<PublicKey> = [key].into();
    let moderation = Moderation::new();
    let view = View {
        channels: &channels,
        moderators: &moderators,
        store: &store,
        network: &l.s.network,
        moderation: &moderation,
    };
    let topic = Topic::Moderator {
        network: l.s.network.clone(),
        moderator: key,
    }
    .to_string();
    let decision = inbox(&l.s).judge(&l.s.peer, &topic, &l.list(1).bytes, at(T, 0), &view);
    assert_eq!(decision, Decision::quiet(MessageAcceptance::Ignore));
    assert_eq!(
        store.moderator_list(&key).unwrap().as_deref(),
        Some(&b"\x01garbage"[..])
    );
}

// ----- history sync ---------------------------------------------------------

const DAY: u64 = 24 * HOUR;

/// An inbox whose sync window is the default retention age, 30 days.
fn sync_inbox(s: &Setup) -> Inbox {
    inbox(s).with_sync_window(30 * DAY)
}

#[test]
fn a_synced_post_older_than_gossip_accepts_is_taken_within_the_sync_window() {
    let s = setup();
    let post = s.post("said ten days ago", T);
    let now = at(T + 10 * DAY, 0);
    // Gossip refuses a ten-day-old post ...
    let live = s.judge(&mut sync_inbox(&s), &post.bytes, now);
    assert_eq!(live.acceptance, MessageAcceptance::Ignore);
    assert!(refused(&live).is_some());
    // ... sync takes it, as history, and says so.
    let synced = sync_inbox(&s).judge_synced_post(&s.channel, &post.bytes, now, &s.view);
    let new = stored(&synced).unwrap();
    assert_eq!(new.record.origin, Origin::Sync);
    assert_eq!(new.record.post.body, "said ten days ago");
    // Remembered as seen for the longer of the two windows.
    let skew = NodeLimits::default().messages.max_clock_skew_ms;
    assert_eq!(new.seen_until, T + 30 * DAY + skew);
    // Older than the node keeps posts: refused, not penalised.
    let ancient =
        sync_inbox(&s).judge_synced_post(&s.channel, &post.bytes, at(T + 31 * DAY, 0), &s.view);
    assert_eq!(ancient.acceptance, MessageAcceptance::Ignore);
    assert!(refused(&ancient).is_some());
    assert_eq!(sync_inbox(&s).sync_since(T + 31 * DAY), T + DAY);
}

#[test]
fn live_posts_say_they_came_live() {
    let s = setup();
    let post = s.post("now", T);
    let decision = s.judge(&mut sync_inbox(&s), &post.bytes, at(T, 0));
    assert_eq!(stored(&decision).unwrap().record.origin, Origin::Live);
}

#[test]
fn synced_posts_go_through_the_same_checks_as_gossip() {
    let mut s = setup();
    let mut inbox = sync_inbox(&s);
    // Forged: rejected, so the serving peer is penalised.
    let forged = inbox.judge_synced_post(&s.channel, &s.forged(), at(T, 0), &s.view);
    assert_eq!(forged.acceptance, MessageAcceptance::Reject);
    assert!(refused(&forged).is_some());
    // Another channel's post asked for in this one: rejected.
    let elsewhere = ChannelName::parse("elsewhere").unwrap();
    s.view.joined.insert(elsewhere.clone());
    let post = s.post("hello", T);
    let wrong = inbox.judge_synced_post(&elsewhere, &post.bytes, at(T, 0), &s.view);
    assert_eq!(wrong.acceptance, MessageAcceptance::Reject);
    // Seen already: nothing happens.
    s.view.seen.insert(post.id);
    let seen = inbox.judge_synced_post(&s.channel, &post.bytes, at(T, 0), &s.view);
    assert_eq!(seen, Decision::quiet(MessageAcceptance::Ignore));
    // Hidden by the policy: stored with its verdict, like gossip.
    let hidden = s.post("buy cheap pills", T + 1);
    s.view.blocked.push(BlockEntry::new(
        BlockTarget::Keyword("pills".into()),
        "spam",
    ));
    let decision = inbox.judge_synced_post(&s.channel, &hidden.bytes, at(T + 1, 0), &s.view);
    assert!(stored(&decision).unwrap().record.verdict.is_some());
    // A channel not joined: ignored.
    s.view.joined.clear();
    let other = s.post("late", T + 2);
    let left = inbox.judge_synced_post(&s.channel, &other.bytes, at(T + 2, 0), &s.view);
    assert_eq!(left, Decision::quiet(MessageAcceptance::Ignore));
}

#[test]
fn a_personas_history_arrives_at_once_but_the_serving_peer_is_rate_limited() {
    let s = setup();
    let mut limits = limits(
        Rate {
            per_minute: 30,
            burst: 10,
        },
        Rate {
            per_minute: 3000,
            burst: 500,
        },
    );
    limits.sync.posts_per_peer = Rate {
        per_minute: 60,
        burst: 20,
    };
    let mut inbox = Inbox::new(s.network.clone(), limits).with_sync_window(30 * DAY);
    let server = PeerId::random();
    // Twenty posts of one persona, over its live burst of ten.
    for n in 0..20u64 {
        assert!(inbox.admit_synced(&server, at(T, 0)));
        let post = s.post(&format!("post {n}"), T - n * HOUR);
        let decision = inbox.judge_synced_post(&s.channel, &post.bytes, at(T, 0), &s.view);
        assert!(stored(&decision).is_some(), "post {n}");
    }
    // The serving peer's burst of twenty is used up; another peer's is not.
    assert!(!inbox.admit_synced(&server, at(T, 0)));
    assert!(inbox.admit_synced(&PeerId::random(), at(T, 0)));
    assert!(inbox.admit_synced(&server, at(T, 1_000)));
}

#[test]
fn a_synced_list_is_taken_however_old_and_junk_is_rejected() {
    let l = Lists::new();
    let mut inbox = sync_inbox(&l.s);
    // Signed at T, taken a week later.
    let list = l.list(4);
    let (moderator, decision) = inbox.judge_synced_list(&list.bytes, at(T + 7 * DAY, 0), &l.s.view);
    assert_eq!(moderator, Some(l.moderator.public()));
    assert_eq!(kept(&decision), Some(4));
    let mut forged = list.bytes.clone();
    if let Some(last) = forged.last_mut() {
        *last ^= 1;
    }
    let (moderator, decision) = inbox.judge_synced_list(&forged, at(T, 0), &l.s.view);
    assert_eq!(
        (moderator, decision.acceptance),
        (None, MessageAcceptance::Reject)
    );
    // A post where a list was asked for.
    let post = l.s.post("not a list", T);
    let (_, decision) = inbox.judge_synced_list(&post.bytes, at(T, 0), &l.s.view);
    assert_eq!(decision.acceptance, MessageAcceptance::Reject);
}
