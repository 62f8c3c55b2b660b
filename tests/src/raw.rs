//! Raw libp2p peers for the hostile tests and the attack lab: plain
//! gossipsub over TCP, speaking hearth's wire format by hand.
//!
//! Anonymous like hearth (no source, sequence number or signature in the
//! gossipsub message) and with hearth's content-addressed message ids, so
//! that the ids a raw peer gossips mean the same at a hearth node.

use std::time::Duration;

use hearth_protocol::MessageId;
use libp2p::gossipsub::{self, MessageAuthenticity, ValidationMode};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Swarm, SwarmBuilder, noise, tcp, yamux};

/// Gossipsub settings of a raw peer: anonymous, ids by content, frames up
/// to `max_transmit_size` bytes. Callers may change more before `build`.
pub fn config(max_transmit_size: usize) -> gossipsub::ConfigBuilder {
    let mut config = gossipsub::ConfigBuilder::default();
    config
        .validation_mode(ValidationMode::Anonymous)
        .message_id_fn(|m| gossipsub::MessageId::new(MessageId::of(&m.data).as_bytes()))
        .max_transmit_size(max_transmit_size);
    config
}

/// An anonymous gossipsub behaviour built from `config`.
pub fn gossipsub(config: &gossipsub::ConfigBuilder) -> Result<gossipsub::Behaviour, String> {
    let config = config.build().map_err(|e| e.to_string())?;
    gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config).map_err(str::to_owned)
}

/// A swarm of `behaviour` with a fresh peer id over TCP, Noise and yamux,
/// whose connections close only when the other side closes them (or after
/// 5 idle minutes).
pub fn swarm<B: NetworkBehaviour>(behaviour: B) -> Result<Swarm<B>, String> {
    Ok(SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|_| behaviour)
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build())
}
