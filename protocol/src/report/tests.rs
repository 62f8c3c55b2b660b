//! Sealing and opening reports: only the moderators sealed to can read
//! one, tampering is refused, and every report of a channel has one size.

use super::*;

const NOW: u64 = 1_700_000_000_000;
/// Low work keeps the tests fast; the checks are the same at 20 bits.
const BITS: u8 = 4;

fn secrets(first: u8) -> ReportSecrets {
    ReportSecrets {
        signer: [first; 32],
        ephemeral: [first.wrapping_add(1); 32],
        content_key: [first.wrapping_add(2); 32],
        filler: [first.wrapping_add(3); 32],
    }
}

fn draft(reason: &str) -> ReportDraft {
    ReportDraft {
        channel: ChannelName::parse("grief").unwrap(),
        post: MessageId([7; 32]),
        reason: reason.into(),
        created_ms: NOW,
    }
}

fn moderator(n: u8) -> Keypair {
    Keypair::from_secret_bytes([100 + n; 32])
}

fn reporter() -> Keypair {
    Keypair::from_secret_bytes([42; 32])
}

fn sealed_to(moderators: &[Keypair], reason: &str) -> SealedReport {
    let keys: Vec<PublicKey> = moderators.iter().map(Keypair::public).collect();
    seal_report(
        &draft(reason),
        &reporter(),
        &keys,
        &NetworkId::default(),
        &secrets(1),
        BITS,
    )
    .unwrap()
}

fn check(bytes: &[u8]) -> Result<ReportOuter, ValidationError> {
    let network = NetworkId::default();
    let limits = Limits::default();
    check_report(
        bytes,
        &ReportContext::new(&network, NOW, &limits).pow_bits(BITS),
    )
}

#[test]
fn every_moderator_sealed_to_opens_the_report() {
    let mods = [moderator(1), moderator(2), moderator(3)];
    let sealed = sealed_to(&mods, "threatens another person");
    assert!(is_report(&sealed.bytes));
    let outer = check(&sealed.bytes).unwrap();
    assert_eq!(outer.id, sealed.id);
    for m in &mods {
        let report = outer.open(m).unwrap().expect("sealed to this moderator");
        assert_eq!(report.post, MessageId([7; 32]));
        assert_eq!(report.reason, "threatens another person");
        assert_eq!(report.reporter, reporter().public());
        assert_eq!(report.channel.as_str(), "grief");
        assert_eq!(report.created_ms, NOW);
    }
}

#[test]
fn another_key_cannot_open_it() {
    let sealed = sealed_to(&[moderator(1)], "spam");
    let outer = check(&sealed.bytes).unwrap();
    assert_eq!(outer.open(&moderator(2)).unwrap(), None);
    assert_eq!(outer.open(&reporter()).unwrap(), None);
    // Nobody without a key finds the reason or the reporter in the bytes.
    let reporter_key = reporter().public();
    assert!(
        !sealed
            .bytes
            .windows(32)
            .any(|w| w == reporter_key.as_bytes())
    );
    assert!(!sealed.bytes.windows(4).any(|w| w == b"spam"));
    assert!(!sealed.bytes.windows(32).any(|w| w == [7; 32]));
}

#[test]
fn padding_makes_reports_of_a_channel_one_size() {
    let short = sealed_to(&[moderator(1)], "x");
    let long = sealed_to(
        &[moderator(1), moderator(2), moderator(3), moderator(4)],
        &"y".repeat(MAX_REPORT_REASON_BYTES),
    );
    assert_eq!(short.bytes.len(), long.bytes.len());
    assert!(short.bytes.len() <= Kind::Report.max_bytes());
}

#[test]
fn every_flipped_bit_is_refused_or_unreadable() {
    let m = moderator(1);
    let sealed = sealed_to(std::slice::from_ref(&m), "spam");
    for at in 0..sealed.bytes.len() {
        let mut bytes = sealed.bytes.clone();
        bytes[at] ^= 0x01;
        // The outer signature covers every byte before it, and the
        // signature itself is checked: no flip passes.
        if let Ok(outer) = check(&bytes) {
            panic!("flip at {at} passed the outer checks: {outer:?}");
        }
    }
}

#[test]
fn a_report_resigned_by_another_throwaway_key_does_not_open() {
    // Sealing binds the signer: a relay cannot re-sign someone's report.
    let m = moderator(1);
    let keys = [m.public()];
    let first = seal_report(
        &draft("spam"),
        &reporter(),
        &keys,
        &NetworkId::default(),
        &secrets(1),
        0,
    )
    .unwrap();
    let mut other = secrets(1);
    other.signer = [99; 32];
    let second = seal_report(
        &draft("spam"),
        &reporter(),
        &keys,
        &NetworkId::default(),
        &other,
        0,
    )
    .unwrap();
    // Same ephemeral and content keys, different signer: splice the first
    // report's sealed parts under the second signer and it must not open.
    let network = NetworkId::default();
    let limits = Limits::default();
    let ctx = ReportContext::new(&network, NOW, &limits).pow_bits(0);
    let a = check_report(&first.bytes, &ctx).unwrap();
    let mut b = check_report(&second.bytes, &ctx).unwrap();
    assert_ne!(a.sealed, b.sealed);
    b.sealed = a.sealed.clone();
    assert!(b.open(&m).is_err());
}

#[test]
fn outer_checks_refuse_bad_context() {
    let sealed = sealed_to(&[moderator(1)], "spam");
    let network = NetworkId::default();
    let limits = Limits::default();
    let other = ChannelName::parse("anxiety").unwrap();
    let ctx = ReportContext::new(&network, NOW, &limits).pow_bits(BITS);
    assert!(matches!(
        check_report(&sealed.bytes, &ctx.channel(&other)),
        Err(ValidationError::WrongChannel { .. })
    ));
    assert!(matches!(
        check_report(&sealed.bytes, &ctx.pow_bits(30)),
        Err(ValidationError::InsufficientWork { required: 30, .. })
    ));
    let late = NOW + limits.max_age_ms + 1;
    assert!(matches!(
        check_report(
            &sealed.bytes,
            &ReportContext {
                now_ms: late,
                ..ctx
            }
        ),
        Err(ValidationError::TooOld { .. })
    ));
    let early = NOW - limits.max_clock_skew_ms - 1;
    assert!(matches!(
        check_report(
            &sealed.bytes,
            &ReportContext {
                now_ms: early,
                ..ctx
            }
        ),
        Err(ValidationError::FromFuture { .. })
    ));
    let elsewhere = NetworkId::parse("test").unwrap();
    assert!(matches!(
        check_report(&sealed.bytes, &ReportContext::new(&elsewhere, NOW, &limits)),
        Err(ValidationError::WrongNetwork { .. })
    ));
}

#[test]
fn every_truncation_is_refused_without_panic() {
    let sealed = sealed_to(&[moderator(1)], "spam");
    for len in 0..sealed.bytes.len() {
        assert!(check(&sealed.bytes[..len]).is_err(), "len {len}");
    }
}

#[test]
fn validate_refuses_reports_and_names_the_other_path() {
    let sealed = sealed_to(&[moderator(1)], "spam");
    let network = NetworkId::default();
    let limits = Limits::default();
    let ctx = crate::validate::ValidationContext::new(&network, NOW, &limits);
    assert_eq!(
        crate::validate::validate(&sealed.bytes, &ctx).unwrap_err(),
        ValidationError::Field("a report is checked with report::check_report")
    );
}

#[test]
fn sealing_refuses_bad_input() {
    let network = NetworkId::default();
    let seal = |reason: &str, mods: &[PublicKey]| {
        seal_report(&draft(reason), &reporter(), mods, &network, &secrets(1), 0)
    };
    let one = [moderator(1).public()];
    assert!(matches!(seal("", &one), Err(BuildError::Text(_))));
    assert!(matches!(seal("two\nlines", &one), Err(BuildError::Text(_))));
    assert!(matches!(
        seal(&"z".repeat(MAX_REPORT_REASON_BYTES + 1), &one),
        Err(BuildError::Text(_))
    ));
    assert!(matches!(seal("spam", &[]), Err(BuildError::Field(_))));
    let nine: Vec<PublicKey> = (0..9).map(|n| moderator(n).public()).collect();
    assert!(matches!(seal("spam", &nine), Err(BuildError::Field(_))));
}

#[test]
fn a_report_with_a_forged_reporter_signature_is_refused_by_the_moderator() {
    // Built by hand: a valid seal around an inner body whose signature is
    // not the reporter's.
    let m = moderator(1);
    let network = NetworkId::default();
    let s = secrets(1);
    let signer = Keypair::from_secret_bytes(s.signer);
    let ephemeral = MontgomeryPoint::mul_base_clamped(s.ephemeral).to_bytes();
    let d = draft("spam");
    let head = header(&network, &d.channel, NOW, &ephemeral, &signer.public());
    let point = montgomery(&m.public()).unwrap();
    let shared = point.mul_clamped(s.ephemeral).to_bytes();
    let mut slots = aead_seal(
        &slot_key(&shared, &ephemeral, &point.to_bytes()),
        &head,
        &s.content_key,
    )
    .unwrap();
    slots.resize(REPORT_SLOTS * REPORT_SLOT_BYTES, 0);
    let inner = InnerWire {
        post: d.post.0,
        reason: d.reason.clone(),
        reporter: *reporter().public().as_bytes(),
        signature: vec![0; 64],
    };
    let mut padded = encode(&inner).unwrap();
    padded.resize(REPORT_INNER_BYTES, 0);
    let wire = ReportWire {
        channel: d.channel.clone(),
        created_ms: NOW,
        ephemeral,
        slots,
        sealed: aead_seal(&s.content_key, &head, &padded).unwrap(),
        nonce: 0,
    };
    let bytes = seal(Kind::Report, &network, &signer, &encode(&wire).unwrap());
    let limits = Limits::default();
    let outer = check_report(
        &bytes,
        &ReportContext::new(&network, NOW, &limits).pow_bits(0),
    )
    .unwrap();
    assert_eq!(outer.open(&m).unwrap_err(), ValidationError::BadSignature);
}
