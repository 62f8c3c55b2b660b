//! Which addresses a node may tell others about, and which bootstrap
//! addresses it accepts.
//!
//! A node announces an address (in identify and in its DHT provider
//! records) only when it is confirmed: configured by the operator
//! (`external_addrs`, or `announce_listen_addrs` on an operator's node),
//! confirmed by an AutoNAT server that dialled it back, or a relay circuit
//! address of a reservation the relay accepted. Of those, an address whose
//! IP is not globally routable (loopback, the private ranges, link-local,
//! carrier NAT, 198.18.0.0/15 and the other special-purpose blocks) is
//! announced only with [`crate::NodeConfig::announce_private`]: without it
//! a node on a LAN would tell the whole network its home addresses, which
//! nobody outside can use anyway (mDNS serves the LAN).
//!
//! A relay circuit address (`…/p2p/<relay>/p2p-circuit`) is judged by the
//! relay's part: it says where the relay is, nothing about the node.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use thiserror::Error;

/// The IP address an address starts with, if it starts with one.
pub fn first_ip(address: &Multiaddr) -> Option<IpAddr> {
    match address.iter().next() {
        Some(Protocol::Ip4(ip)) => Some(IpAddr::V4(ip)),
        Some(Protocol::Ip6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

/// Whether the address goes through a relay (`/p2p-circuit`).
pub fn is_relayed(address: &Multiaddr) -> bool {
    address.iter().any(|p| p == Protocol::P2pCircuit)
}

/// The address without a trailing `/p2p/<peer id>`.
pub fn without_p2p(mut address: Multiaddr) -> Multiaddr {
    if matches!(address.iter().last(), Some(Protocol::P2p(_))) {
        address.pop();
    }
    address
}

/// The peer id a trailing `/p2p/<peer id>` names, if any.
pub fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    match address.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

/// Whether `ip` is globally routable: not loopback, unspecified, private
/// (RFC 1918, IPv6 unique local), link-local, carrier-grade NAT
/// (100.64.0.0/10), benchmarking (198.18.0.0/15), documentation,
/// reserved, broadcast or multicast of a scope other than global. The
/// rules of the standard library's unstable `is_global`, which
/// libp2p-autonat uses too.
pub fn is_global_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_global_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_global_v4(v4),
            None => is_global_v6(ip),
        },
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    // 192.0.0.9 and 192.0.0.10 are the only global addresses in 192.0.0.0/24.
    if u32::from(ip) == 0xc000_0009 || u32::from(ip) == 0xc000_000a {
        return true;
    }
    let shared = a == 100 && (b & 0b1100_0000) == 0b0100_0000;
    let protocol_assignments = a == 192 && b == 0 && c == 0;
    let benchmarking = a == 198 && (b & 0xfe) == 18;
    let reserved = (a & 0xf0) == 0xf0;
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || shared
        || protocol_assignments
        || benchmarking
        || reserved
        || a == 0)
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    if ip.is_multicast() {
        // Only multicast of global scope.
        return first & 0x000f == 0x000e;
    }
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    let benchmarking = first == 0x2001 && ip.segments()[1] == 0x0002 && ip.segments()[2] == 0;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || unique_local
        || link_local
        || documentation
        || benchmarking)
}

/// Whether a confirmed address may be announced to the network: it names a
/// globally routable IP or a DNS name, or `private` allows every scope
/// ([`crate::NodeConfig::announce_private`]). Relay circuit addresses are
/// judged by the relay's part. An address that is neither IP nor DNS
/// based (`/memory`, `/unix`…) is never announced, nor is an unspecified
/// IP (`0.0.0.0`, `::`), which no peer can dial.
pub fn is_announceable(address: &Multiaddr, private: bool) -> bool {
    match address.iter().next() {
        Some(Protocol::Ip4(ip)) if ip.is_unspecified() => false,
        Some(Protocol::Ip6(ip)) if ip.is_unspecified() => false,
        Some(Protocol::Ip4(ip)) => private || is_global_ip(IpAddr::V4(ip)),
        Some(Protocol::Ip6(ip)) => private || is_global_ip(IpAddr::V6(ip)),
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_)) => {
            true
        }
        _ => false,
    }
}

/// How a bootstrap address names its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootstrapForm {
    /// `/ip4/…` or `/ip6/…`: dialled as it is.
    Ip,
    /// `/dns/…`, `/dns4/…` or `/dns6/…`: the name is resolved (A or AAAA
    /// records) when dialling.
    Dns,
    /// `/dnsaddr/<name>`: the TXT records of `_dnsaddr.<name>` are
    /// resolved when dialling, each a `dnsaddr=<multiaddr>` entry (which
    /// may itself be DNS-based). With a trailing `/p2p/<peer id>` only the
    /// entries ending in that peer id are dialled; without one every entry
    /// is tried in turn until one connects.
    DnsAddr,
}

/// Why a bootstrap address was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AddressError {
    /// The address does not start with `/ip4`, `/ip6`, `/dns`, `/dns4`,
    /// `/dns6` or `/dnsaddr`.
    #[error("a bootstrap address starts with /ip4, /ip6, /dns, /dns4, /dns6 or /dnsaddr")]
    Start,
    /// An unspecified IP (`0.0.0.0`, `::`) names no host to dial.
    #[error("0.0.0.0 and :: name no host to dial")]
    Unspecified,
    /// After the host comes `/tcp/<port>` or `/udp/<port>/quic-v1`.
    #[error("after the host comes /tcp/<port> or /udp/<port>/quic-v1")]
    Transport,
    /// Port 0 cannot be dialled.
    #[error("port 0 cannot be dialled")]
    PortZero,
    /// `/dnsaddr/<name>` is followed by nothing but an optional
    /// `/p2p/<peer id>`: its TXT records hold the transport.
    #[error("/dnsaddr/<name> takes only an optional /p2p/<peer id> after it")]
    DnsAddrSuffix,
    /// Something follows the transport other than one `/p2p/<peer id>`.
    #[error("only /p2p/<peer id> may follow the transport")]
    Trailing,
}

/// Checks that `address` is a form a node can dial as a bootstrap node:
/// `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>` or
/// `…/udp/<port>/quic-v1`, or `/dnsaddr/<name>`, each with an optional
/// trailing `/p2p/<peer id>`. The peer id is recommended: the node then
/// puts the bootstrap node into its DHT routing table before the first
/// connection, and a dnsaddr name that lists several nodes is narrowed to
/// the one meant.
pub fn check_bootstrap(address: &Multiaddr) -> Result<BootstrapForm, AddressError> {
    let mut parts = address.iter();
    let form = match parts.next() {
        Some(Protocol::Ip4(ip)) if ip.is_unspecified() => return Err(AddressError::Unspecified),
        Some(Protocol::Ip6(ip)) if ip.is_unspecified() => return Err(AddressError::Unspecified),
        Some(Protocol::Ip4(_) | Protocol::Ip6(_)) => BootstrapForm::Ip,
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)) => BootstrapForm::Dns,
        Some(Protocol::Dnsaddr(_)) => {
            return match (parts.next(), parts.next()) {
                (None, _) | (Some(Protocol::P2p(_)), None) => Ok(BootstrapForm::DnsAddr),
                _ => Err(AddressError::DnsAddrSuffix),
            };
        }
        _ => return Err(AddressError::Start),
    };
    match parts.next() {
        Some(Protocol::Tcp(0)) => return Err(AddressError::PortZero),
        Some(Protocol::Tcp(_)) => {}
        Some(Protocol::Udp(0)) => return Err(AddressError::PortZero),
        Some(Protocol::Udp(_)) => {
            if parts.next() != Some(Protocol::QuicV1) {
                return Err(AddressError::Transport);
            }
        }
        _ => return Err(AddressError::Transport),
    }
    match (parts.next(), parts.next()) {
        (None, _) | (Some(Protocol::P2p(_)), None) => Ok(form),
        _ => Err(AddressError::Trailing),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().unwrap()
    }

    const PEER: &str = "12D3KooWCGnnwM3pKK7GbShByLSJFB3PcC7dDBp4BV1DU1HyhnKQ";

    #[test]
    fn every_bootstrap_form_is_accepted_with_and_without_a_peer_id() {
        let cases = [
            ("/ip4/203.0.113.7/tcp/4001", BootstrapForm::Ip),
            ("/ip4/203.0.113.7/udp/4001/quic-v1", BootstrapForm::Ip),
            ("/ip6/2001:db8::7/tcp/4001", BootstrapForm::Ip),
            ("/ip6/2001:db8::7/udp/4001/quic-v1", BootstrapForm::Ip),
            ("/dns/boot.example.org/tcp/4001", BootstrapForm::Dns),
            ("/dns4/boot.example.org/tcp/4001", BootstrapForm::Dns),
            (
                "/dns6/boot.example.org/udp/4001/quic-v1",
                BootstrapForm::Dns,
            ),
            ("/dnsaddr/example.org", BootstrapForm::DnsAddr),
        ];
        for (text, form) in cases {
            assert_eq!(check_bootstrap(&addr(text)), Ok(form), "{text}");
            let with_peer = format!("{text}/p2p/{PEER}");
            assert_eq!(check_bootstrap(&addr(&with_peer)), Ok(form), "{with_peer}");
        }
    }

    #[test]
    fn bootstrap_addresses_that_cannot_be_dialled_are_refused_with_the_reason() {
        let cases = [
            ("/ip4/0.0.0.0/tcp/4001", AddressError::Unspecified),
            ("/ip6/::/tcp/4001", AddressError::Unspecified),
            ("/ip4/203.0.113.7/tcp/0", AddressError::PortZero),
            ("/ip4/203.0.113.7/udp/4001", AddressError::Transport),
            ("/ip4/203.0.113.7", AddressError::Transport),
            (
                "/dns4/boot.example.org/udp/4001/quic",
                AddressError::Transport,
            ),
            ("/dnsaddr/example.org/tcp/4001", AddressError::DnsAddrSuffix),
            (
                &format!("/dnsaddr/example.org/p2p/{PEER}/p2p-circuit"),
                AddressError::DnsAddrSuffix,
            ),
            (
                &format!("/ip4/203.0.113.7/tcp/4001/p2p/{PEER}/p2p-circuit"),
                AddressError::Trailing,
            ),
            ("/ip4/203.0.113.7/tcp/4001/ws", AddressError::Trailing),
            ("/memory/4001", AddressError::Start),
            (&format!("/p2p/{PEER}"), AddressError::Start),
            ("/unix/tmp%2Fhearth.sock", AddressError::Start),
        ];
        for (text, error) in cases {
            assert_eq!(check_bootstrap(&addr(text)), Err(error), "{text}");
        }
        assert_eq!(
            check_bootstrap(&Multiaddr::empty()),
            Err(AddressError::Start)
        );
    }

    #[test]
    fn only_global_addresses_are_announced_unless_private_ones_are_allowed() {
        let global = [
            "/ip4/203.0.114.1/tcp/4001",
            "/ip4/1.1.1.1/udp/4001/quic-v1",
            "/ip6/2a01:4f8::1/tcp/4001",
            "/dns4/boot.example.org/tcp/4001",
            "/dnsaddr/example.org",
            "/ip4/203.0.114.1/tcp/4001/p2p/12D3KooWCGnnwM3pKK7GbShByLSJFB3PcC7dDBp4BV1DU1HyhnKQ/p2p-circuit",
        ];
        let local = [
            "/ip4/127.0.0.1/tcp/4001",
            "/ip4/10.1.2.3/tcp/4001",
            "/ip4/172.16.0.9/tcp/4001",
            "/ip4/192.168.1.20/udp/4001/quic-v1",
            "/ip4/169.254.3.4/tcp/4001",
            "/ip4/100.64.0.1/tcp/4001",
            "/ip4/198.18.0.1/tcp/4001",
            "/ip4/198.19.1.2/tcp/4001",
            "/ip4/203.0.113.7/tcp/4001",
            "/ip6/::1/tcp/4001",
            "/ip6/fd00::1/tcp/4001",
            "/ip6/fe80::1/tcp/4001",
            "/ip6/::ffff:192.168.1.1/tcp/4001",
            "/ip4/198.18.0.1/tcp/4001/p2p/12D3KooWCGnnwM3pKK7GbShByLSJFB3PcC7dDBp4BV1DU1HyhnKQ/p2p-circuit",
        ];
        let never = ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/0", "/memory/7"];
        for text in global {
            assert!(is_announceable(&addr(text), false), "{text}");
            assert!(is_announceable(&addr(text), true), "{text}");
        }
        for text in local {
            assert!(!is_announceable(&addr(text), false), "{text}");
            assert!(is_announceable(&addr(text), true), "{text}");
        }
        for text in never {
            assert!(!is_announceable(&addr(text), true), "{text}");
        }
    }

    #[test]
    fn address_helpers() {
        let relayed = addr(&format!(
            "/ip4/198.18.0.1/tcp/4001/p2p/{PEER}/p2p-circuit/p2p/{PEER}"
        ));
        assert!(is_relayed(&relayed));
        assert_eq!(peer_of(&relayed), Some(PEER.parse().unwrap()));
        assert_eq!(
            without_p2p(relayed),
            addr(&format!("/ip4/198.18.0.1/tcp/4001/p2p/{PEER}/p2p-circuit"))
        );
        assert_eq!(
            first_ip(&addr("/ip6/::1/tcp/1")),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(first_ip(&addr("/dns4/a.example/tcp/1")), None);
    }
}
