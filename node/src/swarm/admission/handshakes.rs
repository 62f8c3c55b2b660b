//! A limit on new incoming handshakes from an address that keeps coming
//! back as banned peers.
//!
//! A peer id is known only once the Noise handshake has revealed it, so a
//! banned peer that redials at once costs the node a handshake per attempt
//! before the ban refuses it (measured: about 1,000 a second from one
//! cut-off attacker). The address is known before the handshake, but many
//! honest people may share it (a NAT, or every process of one machine on
//! loopback), so an address is limited only on evidence: handshakes from
//! it that revealed a banned peer (refused by a peer ban or an address
//! ban). After [`Policy::strikes`] of those within [`Policy::window`], new
//! incoming connections from the address are let through at most
//! [`Policy::per_second`] a second (none at first) until a window has
//! passed without another; the others are refused before the handshake,
//! which costs the node an accepted and closed socket.
//!
//! Only new incoming connections are limited: open connections, dials of
//! the node's own, and addresses without evidence never are. Loopback is
//! judged like any address (the evidence is the banned peer, not the
//! address), so a hostile process on the machine is slowed while the
//! machine's honest processes, which never come back as banned peers, are
//! limited only while it storms.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How the limit judges and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Handshakes revealing a banned peer, within `window`, that limit an
    /// address.
    pub strikes: u32,
    /// How long evidence counts, and how long a limited address stays
    /// limited after its last strike.
    pub window: Duration,
    /// New incoming connections let through a second from a limited
    /// address.
    pub per_second: u32,
    /// The most addresses tracked.
    pub max_tracked: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            strikes: 3,
            window: Duration::from_secs(10),
            per_second: 2,
            max_tracked: 4096,
        }
    }
}

/// The refusal of a new incoming connection before its handshake: its
/// address keeps coming back as banned peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HandshakesLimited {
    /// The address.
    pub ip: IpAddr,
}

impl fmt::Display for HandshakesLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} keeps coming back as banned peers: its handshakes are limited",
            self.ip
        )
    }
}

impl std::error::Error for HandshakesLimited {}

#[derive(Debug, Clone, Copy)]
struct Record {
    /// Strikes since `since`.
    strikes: u32,
    since: Instant,
    last_strike: Instant,
    /// Limited until then.
    limited_until: Option<Instant>,
    /// Handshakes that may go through now, and when that was counted.
    allowance: f64,
    counted: Instant,
}

/// The addresses with evidence, and their limits.
#[derive(Debug)]
pub(crate) struct Handshakes {
    policy: Policy,
    ips: HashMap<IpAddr, Record>,
}

impl Handshakes {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy,
            ips: HashMap::new(),
        }
    }

    /// A handshake from `ip` revealed a banned peer at `now`.
    pub(crate) fn strike(&mut self, ip: IpAddr, now: Instant) {
        if !self.ips.contains_key(&ip) && self.ips.len() >= self.policy.max_tracked {
            self.forget(now);
            if self.ips.len() >= self.policy.max_tracked
                && let Some(oldest) = self
                    .ips
                    .iter()
                    .min_by_key(|(_, r)| r.last_strike)
                    .map(|(ip, _)| *ip)
            {
                self.ips.remove(&oldest);
            }
        }
        let window = self.policy.window;
        let record = self.ips.entry(ip).or_insert(Record {
            strikes: 0,
            since: now,
            last_strike: now,
            limited_until: None,
            allowance: 0.0,
            counted: now,
        });
        if now.saturating_duration_since(record.since) > window {
            record.strikes = 0;
            record.since = now;
        }
        record.strikes = record.strikes.saturating_add(1);
        record.last_strike = now;
        if record.strikes >= self.policy.strikes {
            if record.limited_until.is_none_or(|until| until <= now) {
                // Newly limited: nothing goes through until it is earned.
                record.allowance = 0.0;
                record.counted = now;
            }
            record.limited_until = Some(now + window);
        }
    }

    /// Whether a new incoming connection from `ip` may start its
    /// handshake at `now`; counts it if so.
    pub(crate) fn admit(&mut self, ip: IpAddr, now: Instant) -> Result<(), HandshakesLimited> {
        let per_second = f64::from(self.policy.per_second);
        let Some(record) = self.ips.get_mut(&ip) else {
            return Ok(());
        };
        match record.limited_until {
            Some(until) if until > now => {}
            _ => return Ok(()),
        }
        let elapsed = now.saturating_duration_since(record.counted).as_secs_f64();
        record.allowance = (record.allowance + elapsed * per_second).min(per_second.max(1.0));
        record.counted = now;
        if record.allowance >= 1.0 {
            record.allowance -= 1.0;
            Ok(())
        } else {
            Err(HandshakesLimited { ip })
        }
    }

    /// Forgets addresses whose evidence and limit have passed.
    pub(crate) fn forget(&mut self, now: Instant) {
        let window = self.policy.window;
        self.ips.retain(|_, r| {
            now.saturating_duration_since(r.last_strike) <= window
                || r.limited_until.is_some_and(|until| until > now)
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ips.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn an_address_that_keeps_coming_back_banned_is_limited_then_let_go() {
        let mut h = Handshakes::new(Policy::default());
        let t0 = Instant::now();
        let attacker: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        // Two banned handshakes are not yet evidence.
        h.strike(attacker, t0);
        h.strike(attacker, t0 + ms(1));
        assert!(h.admit(attacker, t0 + ms(2)).is_ok());
        // The third is: its storm is refused before the handshake.
        h.strike(attacker, t0 + ms(3));
        let refused = (0..1000)
            .filter(|n| {
                h.admit(attacker, t0 + ms(4) + Duration::from_micros(*n))
                    .is_err()
            })
            .count();
        assert_eq!(refused, 1000);
        // Another address is untouched.
        assert!(h.admit(other, t0 + ms(5)).is_ok());
        // Two a second get through: an honest newcomer of the address
        // waits at most half a second for its turn.
        assert!(h.admit(attacker, t0 + ms(510)).is_ok());
        assert!(h.admit(attacker, t0 + ms(511)).is_err());
        assert!(h.admit(attacker, t0 + ms(1020)).is_ok());
        // A window after the last strike, the address is free again.
        let later = t0 + ms(3) + Policy::default().window + ms(1);
        assert!((0..10).all(|_| h.admit(attacker, later).is_ok()));
        h.forget(later);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn strikes_spread_wider_than_the_window_do_not_limit() {
        let mut h = Handshakes::new(Policy::default());
        let t0 = Instant::now();
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        for n in 0..10u64 {
            h.strike(ip, t0 + Duration::from_secs(11 * n));
            assert!(
                h.admit(ip, t0 + Duration::from_secs(11 * n) + ms(1))
                    .is_ok()
            );
        }
    }
}
