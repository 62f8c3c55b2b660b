//! Raw libp2p peers for the hostile tests and the attack lab: plain
//! gossipsub over TCP, speaking hearth's wire format by hand.
//!
//! Anonymous like hearth (no source, sequence number or signature in the
//! gossipsub message) and with hearth's content-addressed message ids, so
//! that the ids a raw peer gossips mean the same at a hearth node.

use std::task::{Context, Poll};
use std::time::Duration;

use hearth_protocol::MessageId;
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::gossipsub::{self, MessageAuthenticity, TopicHash, ValidationMode};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, noise, tcp, yamux};

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

/// Gossipsub's handler event (not exported by libp2p-gossipsub, reachable
/// through the behaviour's handler).
type GossipHandlerEvent = THandlerOutEvent<gossipsub::Behaviour>;

/// Gossipsub, optionally believing that whoever subscribes to `real` also
/// subscribes to `mirror`: gossipsub only sends a message to a peer it
/// believes subscribes to its topic, so with a lens a raw peer sends what a
/// hand-written attacker sends to a node that never joined `mirror`.
pub struct Lens {
    /// The gossipsub behaviour.
    pub inner: gossipsub::Behaviour,
    /// `(real, mirror)`: a subscription to `real` counts for `mirror` too.
    pub mirror: Option<(TopicHash, TopicHash)>,
}

impl NetworkBehaviour for Lens {
    type ConnectionHandler = <gossipsub::Behaviour as NetworkBehaviour>::ConnectionHandler;
    type ToSwarm = gossipsub::Event;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.inner
            .handle_pending_inbound_connection(connection_id, local_addr, remote_addr)
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_inbound_connection(
            connection_id,
            peer,
            local_addr,
            remote_addr,
        )
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(
            connection_id,
            maybe_peer,
            addresses,
            effective_role,
        )
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.inner.handle_established_outbound_connection(
            connection_id,
            peer,
            addr,
            role_override,
            port_use,
        )
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        mut event: THandlerOutEvent<Self>,
    ) {
        if let (Some((real, mirror)), GossipHandlerEvent::Message { rpc, .. }) =
            (&self.mirror, &mut event)
        {
            let mirrored: Vec<_> = rpc
                .subscriptions
                .iter()
                .filter(|s| &s.topic_hash == real)
                .map(|s| {
                    let mut s = s.clone();
                    s.topic_hash = mirror.clone();
                    s
                })
                .collect();
            rpc.subscriptions.extend(mirrored);
        }
        self.inner
            .on_connection_handler_event(peer_id, connection_id, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.inner.poll(cx)
    }
}
