//! At most N established incoming connections per remote IP address.
//!
//! libp2p-connection-limits counts totals, pending handshakes and
//! connections per peer, nothing per IP; one machine can make peer ids
//! without end, so a per-peer limit does not stop it taking every slot.
//! This behaviour refuses an incoming connection whose IP already holds
//! `max` established incoming connections: first before the handshake
//! (cheap), and again once established, because many handshakes from one
//! IP can run at once. It counts a connection only when the swarm reports
//! it established, which happens only after every behaviour accepted it,
//! so a refusal by a later behaviour cannot leave a count behind
//! (rust-libp2p#4870). Relayed connections carry no IP of their own and
//! are not counted; outgoing connections are never limited.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::{ConnectedPoint, Endpoint};
use libp2p::swarm::behaviour::ConnectionEstablished;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use crate::addresses::{first_ip, is_relayed};

/// The refusal: `ip` already holds the most incoming connections allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooManyFromIp {
    /// The remote IP address.
    pub ip: IpAddr,
    /// The limit.
    pub max: u32,
}

impl fmt::Display for TooManyFromIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at most {} incoming connections from one IP address ({})",
            self.max, self.ip
        )
    }
}

impl std::error::Error for TooManyFromIp {}

/// The per-IP limit; `None` refuses nothing.
pub(crate) struct Behaviour {
    max: Option<u32>,
    by_ip: HashMap<IpAddr, u32>,
    counted: HashMap<ConnectionId, IpAddr>,
}

/// The IP of an incoming connection's remote address, unless relayed.
fn remote_ip(remote: &Multiaddr) -> Option<IpAddr> {
    if is_relayed(remote) {
        None
    } else {
        first_ip(remote)
    }
}

impl Behaviour {
    pub(crate) fn new(max: Option<u32>) -> Self {
        Self {
            max,
            by_ip: HashMap::new(),
            counted: HashMap::new(),
        }
    }

    fn check(&self, remote: &Multiaddr) -> Result<(), ConnectionDenied> {
        let (Some(max), Some(ip)) = (self.max, remote_ip(remote)) else {
            return Ok(());
        };
        if self.by_ip.get(&ip).copied().unwrap_or(0) >= max {
            return Err(ConnectionDenied::new(TooManyFromIp { ip, max }));
        }
        Ok(())
    }

    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> u32 {
        self.by_ip.get(&ip).copied().unwrap_or(0)
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check(remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(remote)?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match event {
            FromSwarm::ConnectionEstablished(ConnectionEstablished {
                connection_id,
                endpoint: ConnectedPoint::Listener { send_back_addr, .. },
                ..
            }) => {
                if let Some(ip) = remote_ip(send_back_addr) {
                    *self.by_ip.entry(ip).or_default() += 1;
                    self.counted.insert(connection_id, ip);
                }
            }
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) => {
                if let Some(ip) = self.counted.remove(&connection_id)
                    && let Some(n) = self.by_ip.get_mut(&ip)
                {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.by_ip.remove(&ip);
                    }
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
        libp2p::core::util::unreachable(event)
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::Ipv4Addr;

    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    fn establish(
        b: &mut Behaviour,
        id: ConnectionId,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let local = addr("/ip4/198.18.0.1/tcp/4001");
        b.handle_pending_inbound_connection(id, &local, remote)?;
        b.handle_established_inbound_connection(id, PeerId::random(), &local, remote)?;
        let endpoint = ConnectedPoint::Listener {
            local_addr: local,
            send_back_addr: remote.clone(),
        };
        b.on_swarm_event(FromSwarm::ConnectionEstablished(ConnectionEstablished {
            peer_id: PeerId::random(),
            connection_id: id,
            endpoint: &endpoint,
            failed_addresses: &[],
            other_established: 0,
        }));
        Ok(())
    }

    fn close(b: &mut Behaviour, id: ConnectionId, remote: &Multiaddr) {
        let endpoint = ConnectedPoint::Listener {
            local_addr: addr("/ip4/198.18.0.1/tcp/4001"),
            send_back_addr: remote.clone(),
        };
        b.on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed {
            peer_id: PeerId::random(),
            connection_id: id,
            endpoint: &endpoint,
            cause: None,
            remaining_established: 0,
        }));
    }

    #[test]
    fn an_ip_gets_at_most_its_share_and_a_closed_connection_frees_a_slot() {
        let mut b = Behaviour::new(Some(2));
        let one = addr("/ip4/198.18.0.101/tcp/5000");
        let two = addr("/ip4/198.18.0.101/tcp/5001");
        let three = addr("/ip4/198.18.0.101/tcp/5002");
        let other = addr("/ip4/198.18.0.102/tcp/5000");
        let ids: Vec<_> = (0..4)
            .map(|_| ConnectionId::new_unchecked(rand_id()))
            .collect();
        establish(&mut b, ids[0], &one).unwrap();
        establish(&mut b, ids[1], &two).unwrap();
        let denied = establish(&mut b, ids[2], &three).unwrap_err();
        let reason = denied.downcast_ref::<TooManyFromIp>().unwrap();
        assert_eq!(reason.ip, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 101)));
        establish(&mut b, ids[3], &other).unwrap();
        close(&mut b, ids[0], &one);
        assert_eq!(b.count(IpAddr::V4(Ipv4Addr::new(198, 18, 0, 101))), 1);
        establish(&mut b, ids[2], &three).unwrap();
    }

    #[test]
    fn relayed_connections_and_no_limit_are_never_refused() {
        let mut b = Behaviour::new(Some(1));
        let relayed = addr(
            "/ip4/198.18.0.1/tcp/4001/p2p/12D3KooWCGnnwM3pKK7GbShByLSJFB3PcC7dDBp4BV1DU1HyhnKQ/p2p-circuit",
        );
        for _ in 0..3 {
            establish(&mut b, ConnectionId::new_unchecked(rand_id()), &relayed).unwrap();
        }
        let mut open = Behaviour::new(None);
        for port in 0..100 {
            let remote = addr(&format!("/ip4/127.0.0.1/tcp/{}", 40000 + port));
            establish(&mut open, ConnectionId::new_unchecked(rand_id()), &remote).unwrap();
        }
    }

    fn rand_id() -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(1_000_000);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}
