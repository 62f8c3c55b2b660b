//! Raw bytes, as a node receives them from gossipsub or history sync,
//! straight into `validate` and `open`.
//!
//! Checks: no panic on any input; whatever is accepted is returned with
//! its own bytes and id; `validate` never accepts what `open` refuses; and
//! a topic's constraints (channel, moderator, difficulty) only ever narrow
//! what is accepted.
#![no_main]

use hearth_protocol::{
    ChannelName, Limits, MessageId, NetworkId, PublicKey, ValidationContext, open, validate,
};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let network = NetworkId::default();
    let limits = Limits::default();

    let opened = open(data, &network);
    let plain = ValidationContext::new(&network, NOW, &limits);
    let validated = validate(data, &plain);
    if let Ok(verified) = &validated {
        assert_eq!(verified.bytes, data);
        assert_eq!(verified.id, MessageId::of(data));
        assert_eq!(
            opened.as_ref().ok(),
            Some(verified),
            "validate accepted what open refused"
        );
    }

    let channel = ChannelName::parse("grief/es").expect("a valid channel name");
    let on_channel = plain.channel(&channel).difficulty(8);
    if let Ok(verified) = validate(data, &on_channel) {
        assert_eq!(validated.as_ref().ok(), Some(&verified));
    }
    let moderator = PublicKey([7; 32]);
    let on_moderator = plain.moderator(&moderator);
    if let Ok(verified) = validate(data, &on_moderator) {
        assert_eq!(validated.as_ref().ok(), Some(&verified));
    }

    // Another network never accepts these bytes if this one did.
    let other = NetworkId::parse("test").expect("a valid network id");
    if validated.is_ok() {
        assert!(open(data, &other).is_err());
    }
});
