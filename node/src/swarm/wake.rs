//! Wakes the connections of a peer, to work around a stall in gossipsub
//! 0.50.1.
//!
//! gossipsub keeps one send queue per peer, shared by the handlers of all
//! the peer's connections. A handler looks at the queue only when its
//! connection task polls it, and registers a waker on the queue only once
//! it has an outbound stream. A connection that joins a peer already
//! connected, such as the direct connection hole punching opens next to a
//! relayed one, starts without that stream; once the relayed connection
//! closes, messages queued for the peer wait until something else wakes
//! the direct connection's task (ping, after up to 15 s; once more than
//! 40 s were seen). A notification to this do-nothing handler wakes the
//! connection task, which polls every handler of the connection, so
//! gossipsub sees its queue and opens its stream; from then on it is woken
//! by the queue itself.
//!
//! The node wakes the peers that ever had a second connection right after
//! it queues something for them (a command such as a publish, a gossipsub
//! event such as a forwarded message), when one of their connections
//! closes while others stay, and once a second for what gossipsub's
//! heartbeat queues on its own.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::task::{Context, Poll, Waker};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::DeniedUpgrade;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::swarm::behaviour::ConnectionEstablished;
use libp2p::swarm::handler::ConnectionEvent;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId,
    FromSwarm, NetworkBehaviour, NotifyHandler, SubstreamProtocol, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};

/// Tracks connections per peer and wakes them on request.
#[derive(Default)]
pub(crate) struct Behaviour {
    connections: HashMap<PeerId, HashSet<ConnectionId>>,
    /// Peers that had a connection join an existing one: those whose
    /// gossipsub handlers may sleep on a queued message.
    joined: HashSet<PeerId>,
    queue: VecDeque<(PeerId, ConnectionId)>,
    waker: Option<Waker>,
}

impl Behaviour {
    /// Wakes every connection of each of `peers` that ever had more than
    /// one connection at once. Cheap: one message per such connection.
    pub(crate) fn wake(&mut self, peers: impl IntoIterator<Item = PeerId>) {
        for peer in peers {
            if !self.joined.contains(&peer) {
                continue;
            }
            if let Some(ids) = self.connections.get(&peer) {
                self.queue.extend(ids.iter().map(|id| (peer, *id)));
            }
        }
        if !self.queue.is_empty()
            && let Some(waker) = self.waker.take()
        {
            waker.wake();
        }
    }
}

/// A handler that does nothing; notifying it wakes its connection.
pub(crate) struct Handler;

impl ConnectionHandler for Handler {
    type FromBehaviour = ();
    type ToBehaviour = Infallible;
    type InboundProtocol = DeniedUpgrade;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Infallible;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol> {
        SubstreamProtocol::new(DeniedUpgrade, ())
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, Infallible, Self::ToBehaviour>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, (): ()) {}

    fn on_connection_event(
        &mut self,
        _: ConnectionEvent<'_, Self::InboundProtocol, Self::OutboundProtocol, (), Infallible>,
    ) {
    }

    fn connection_keep_alive(&self) -> bool {
        false
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(Handler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(Handler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                peer_id,
                connection_id,
                other_established,
                ..
            }) => {
                self.connections
                    .entry(peer_id)
                    .or_default()
                    .insert(connection_id);
                if other_established > 0 {
                    self.joined.insert(peer_id);
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                remaining_established,
                ..
            }) => {
                if let Some(ids) = self.connections.get_mut(&peer_id) {
                    ids.remove(&connection_id);
                }
                if remaining_established == 0 {
                    self.connections.remove(&peer_id);
                    self.joined.remove(&peer_id);
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        match self.queue.pop_front() {
            Some((peer_id, id)) => Poll::Ready(ToSwarm::NotifyHandler {
                peer_id,
                handler: NotifyHandler::One(id),
                event: (),
            }),
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
