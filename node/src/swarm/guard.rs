//! A wrapper that keeps a behaviour from announcing addresses on its own.
//!
//! Two libp2p behaviours would otherwise put addresses in front of peers
//! that hearth has not judged:
//!
//! - AutoNAT confirms the address a server dialled back
//!   (`ToSwarm::ExternalAddrConfirmed`), which the swarm then announces
//!   through identify and kad at once, whatever its scope: a server on a
//!   LAN would confirm a private address. Guarded, the confirmation is
//!   dropped and the node task decides from AutoNAT's events
//!   ([`crate::addresses::is_announceable`]).
//! - Kademlia answers a provider lookup for the node's own records with its
//!   listen addresses plus its external ones (kad 0.49 stores its own
//!   records without addresses and fills them in on demand). Guarded, kad
//!   never hears of listen addresses, so it answers with the confirmed
//!   external ones only. Kad uses listen addresses for nothing else.

use std::ops::{Deref, DerefMut};
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// What a [`Guarded`] behaviour is kept from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Guard {
    /// Drop the external addresses the behaviour confirms.
    pub confirmations: bool,
    /// Do not tell the behaviour about listen addresses.
    pub listen_addrs: bool,
}

/// `B`, with what [`Guard`] says taken away.
pub(crate) struct Guarded<B> {
    inner: B,
    guard: Guard,
}

impl<B> Guarded<B> {
    pub(crate) fn new(inner: B, guard: Guard) -> Self {
        Self { inner, guard }
    }
}

impl<B> Deref for Guarded<B> {
    type Target = B;
    fn deref(&self) -> &B {
        &self.inner
    }
}

impl<B> DerefMut for Guarded<B> {
    fn deref_mut(&mut self) -> &mut B {
        &mut self.inner
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for Guarded<B> {
    type ConnectionHandler = B::ConnectionHandler;
    type ToSwarm = B::ToSwarm;

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
        if self.guard.listen_addrs
            && matches!(
                event,
                FromSwarm::NewListenAddr(_) | FromSwarm::ExpiredListenAddr(_)
            )
        {
            return;
        }
        self.inner.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.inner
            .on_connection_handler_event(peer_id, connection_id, event);
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        loop {
            match self.inner.poll(cx) {
                Poll::Ready(ToSwarm::ExternalAddrConfirmed(address))
                    if self.guard.confirmations =>
                {
                    tracing::trace!(%address, "confirmation left to the node task");
                }
                other => return other,
            }
        }
    }
}
