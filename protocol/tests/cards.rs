//! Channel cards (kind 4) and moderator presence (kind 5): what signing
//! makes validates back to the same content, every field rule holds at its
//! boundary, and the topic rules keep a card to its own channel.

use hearth_protocol::limits::{
    MAX_CARD_MODERATORS, MAX_CARD_RETENTION_DAYS, MAX_PRESENCE_AGE_MS, MAX_RULES_BYTES,
};
use hearth_protocol::{
    AgeGroup, BuildError, CardDraft, ChannelCard, ChannelName, Keypair, Kind, Limits, Message,
    ModeratorPresence, NetworkId, ValidationContext, ValidationError, open, validate,
};
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000_000;

fn ch(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn key(seed: u8) -> Keypair {
    Keypair::from_secret_bytes([seed; 32])
}

fn draft(channel: &str) -> CardDraft {
    CardDraft {
        channel: ch(channel),
        created_ms: NOW,
        age: AgeGroup::Teen,
        retention_days: 30,
        moderators: vec![key(3).public(), key(2).public(), key(3).public()],
        rules: "Be kind.\nNo methods.".to_owned(),
    }
}

#[test]
fn a_signed_card_validates_on_its_channel_topic_with_its_content() {
    let network = NetworkId::default();
    let signed = ChannelCard::sign(&key(1), &network, draft("grief")).unwrap();
    let limits = Limits::default();
    let channel = ch("grief");
    let ctx = ValidationContext::new(&network, NOW, &limits).channel(&channel);
    let verified = validate(&signed.bytes, &ctx).unwrap();
    assert_eq!(verified, signed);
    assert_eq!(signed.bytes.get(1), Some(&Kind::ChannelCard.code()));
    let Message::ChannelCard(card) = verified.message else {
        panic!("not a card")
    };
    assert_eq!(card.founder, key(1).public());
    assert_eq!(card.age, AgeGroup::Teen);
    // Sorted and deduplicated when signing.
    assert_eq!(card.moderators, {
        let mut m = vec![key(2).public(), key(3).public()];
        m.sort();
        m
    });
    assert_eq!(card.declared_moderators().len(), 3);
}

#[test]
fn a_card_for_another_channel_or_on_a_moderator_topic_is_refused() {
    let network = NetworkId::default();
    let signed = ChannelCard::sign(&key(1), &network, draft("grief")).unwrap();
    let limits = Limits::default();
    let other = ch("anxiety");
    let ctx = ValidationContext::new(&network, NOW, &limits).channel(&other);
    let err = validate(&signed.bytes, &ctx).unwrap_err();
    assert!(matches!(err, ValidationError::WrongChannel { .. }));
    assert!(err.is_invalid());
    let moderator = key(1).public();
    let ctx = ValidationContext::new(&network, NOW, &limits).moderator(&moderator);
    assert!(matches!(
        validate(&signed.bytes, &ctx),
        Err(ValidationError::Field(_))
    ));
}

#[test]
fn card_field_rules_hold_at_their_boundaries() {
    let network = NetworkId::default();
    let sign = |d: CardDraft| ChannelCard::sign(&key(1), &network, d);
    let mut d = draft("grief");
    d.retention_days = 0;
    assert!(matches!(sign(d), Err(BuildError::Field(_))));
    let mut d = draft("grief");
    d.retention_days = MAX_CARD_RETENTION_DAYS;
    assert!(sign(d).is_ok());
    let mut d = draft("grief");
    d.retention_days = MAX_CARD_RETENTION_DAYS + 1;
    assert!(sign(d).is_err());
    let mut d = draft("grief");
    d.moderators = (10u8..)
        .take(MAX_CARD_MODERATORS)
        .map(|i| key(i).public())
        .collect();
    d.rules = "r".repeat(MAX_RULES_BYTES);
    let biggest = sign(d).unwrap();
    assert!(biggest.bytes.len() <= Kind::ChannelCard.max_bytes());
    let mut d = draft("grief");
    d.moderators = (10u8..)
        .take(MAX_CARD_MODERATORS + 1)
        .map(|i| key(i).public())
        .collect();
    assert!(sign(d).is_err());
    let mut d = draft("grief");
    d.rules = "r".repeat(MAX_RULES_BYTES + 1);
    assert!(matches!(sign(d), Err(BuildError::Text(_))));
    let mut d = draft("grief");
    d.rules = "   ".to_owned();
    assert!(
        sign(d).is_err(),
        "blank rules are refused, empty ones are not"
    );
    let mut d = draft("grief");
    d.rules = String::new();
    assert!(sign(d).is_ok());
}

#[test]
fn a_card_from_the_future_is_refused_but_an_old_one_is_not() {
    let network = NetworkId::default();
    let signed = ChannelCard::sign(&key(1), &network, draft("grief")).unwrap();
    let limits = Limits::default();
    let early = NOW - limits.max_clock_skew_ms - 1;
    let ctx = ValidationContext::new(&network, early, &limits);
    assert!(matches!(
        validate(&signed.bytes, &ctx),
        Err(ValidationError::FromFuture { .. })
    ));
    let years_later = NOW + 3 * 365 * 24 * 3_600_000;
    let ctx = ValidationContext::new(&network, years_later, &limits);
    assert!(validate(&signed.bytes, &ctx).is_ok());
}

#[test]
fn presence_validates_while_fresh_and_is_too_old_after_ten_minutes() {
    let network = NetworkId::default();
    let channel = ch("grief");
    let signed = ModeratorPresence::sign(&key(1), &network, channel.clone(), NOW).unwrap();
    assert!(signed.bytes.len() <= Kind::ModeratorPresence.max_bytes());
    let limits = Limits::default();
    let ctx =
        ValidationContext::new(&network, NOW + MAX_PRESENCE_AGE_MS, &limits).channel(&channel);
    let verified = validate(&signed.bytes, &ctx).unwrap();
    assert!(matches!(
        verified.message,
        Message::ModeratorPresence(ModeratorPresence {
            created_ms: NOW,
            ..
        })
    ));
    let ctx =
        ValidationContext::new(&network, NOW + MAX_PRESENCE_AGE_MS + 1, &limits).channel(&channel);
    let err = validate(&signed.bytes, &ctx).unwrap_err();
    assert!(matches!(err, ValidationError::TooOld { .. }));
    assert!(!err.is_invalid(), "a late relay is not penalised");
    // Stored bytes still open without a clock.
    assert!(open(&signed.bytes, &network).is_ok());
}

proptest! {
    #[test]
    fn any_valid_card_round_trips_and_any_flipped_bit_is_refused(
        seed in any::<[u8; 32]>(),
        teen in any::<bool>(),
        retention in 1..=MAX_CARD_RETENTION_DAYS,
        moderators in proptest::collection::vec(any::<[u8; 32]>(), 0..=MAX_CARD_MODERATORS),
        rules in "[a-z .\n]{0,200}",
        flip in any::<proptest::sample::Index>(),
    ) {
        let network = NetworkId::default();
        let rules = if rules.trim().is_empty() { String::new() } else { rules.trim().to_owned() };
        let d = CardDraft {
            channel: ch("grief/es"),
            created_ms: NOW,
            age: if teen { AgeGroup::Teen } else { AgeGroup::Adult },
            retention_days: retention,
            moderators: moderators.into_iter().map(|s| Keypair::from_secret_bytes(s).public()).collect(),
            rules,
        };
        let signed = ChannelCard::sign(&Keypair::from_secret_bytes(seed), &network, d).unwrap();
        let opened = open(&signed.bytes, &network).unwrap();
        prop_assert_eq!(&opened, &signed);
        let mut bytes = signed.bytes.clone();
        let at = flip.index(bytes.len());
        if let Some(b) = bytes.get_mut(at) {
            *b ^= 1;
        }
        prop_assert!(open(&bytes, &network).is_err());
    }
}
