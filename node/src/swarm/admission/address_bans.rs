//! Bans that outlive a peer id: by address, then by subnet.
//!
//! A peer id costs nothing, so a peer banned for a low gossip score comes
//! back a second later under a new one. Its address costs more: this table
//! remembers the ranges banned peers connected from and refuses new
//! incoming connections from them for a while.
//!
//! Many honest people share one address (a home router, carrier NAT, a
//! university), so an address ban is narrow in what it touches: it refuses
//! only *new incoming* connections of peers the node does not already know
//! (the caller checks that), never an open connection, a dial of the
//! node's own, or a peer that earned a good standing before. A subnet is
//! banned only on evidence from several banned peers at different
//! addresses in it.
//!
//! Each offence from a range doubles its ban (first short, then longer, up
//! to a bound), and a range is forgotten once it has kept quiet for the
//! longest ban after its last one. The table holds at most a fixed number
//! of ranges; when it is full, the one closest to being forgotten goes.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// An address range: an IP address masked to a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Prefix {
    /// The first address of the range.
    pub base: IpAddr,
    /// The prefix length in bits.
    pub len: u8,
}

impl Prefix {
    /// The range one host holds: an IPv4 address (/32), or an IPv6 /64 (a
    /// host is usually given a whole /64 and picks addresses in it freely).
    pub(crate) fn host(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::of(ip, 32),
            IpAddr::V6(_) => Self::of(ip, 64),
        }
    }

    /// The range one network holds: an IPv4 /24, or an IPv6 /56 (what a
    /// provider usually hands a customer).
    pub(crate) fn subnet(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::of(ip, 24),
            IpAddr::V6(_) => Self::of(ip, 56),
        }
    }

    /// `ip` masked to `len` bits (at most the address's own length).
    pub(crate) fn of(ip: IpAddr, len: u8) -> Self {
        match ip {
            IpAddr::V4(v4) => {
                let len = len.min(32);
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                Self {
                    base: IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask)),
                    len,
                }
            }
            IpAddr::V6(v6) => {
                let len = len.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                Self {
                    base: IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask)),
                    len,
                }
            }
        }
    }

    /// A range written as by [`Display`](fmt::Display) (`203.0.113.0/24`);
    /// `None` unless it is exactly that (no host bits set).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (base, len) = text.split_once('/')?;
        let base: IpAddr = base.parse().ok()?;
        let len: u8 = len.parse().ok()?;
        let prefix = Self::of(base, len);
        (prefix.base == base && prefix.len == len).then_some(prefix)
    }

    /// Whether `ip` is in this range.
    #[cfg(test)]
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        Self::of(ip, self.len) == *self
    }

    /// Whether this is a host range rather than a subnet.
    pub(crate) fn is_host(&self) -> bool {
        matches!(
            (self.base, self.len),
            (IpAddr::V4(_), 32) | (IpAddr::V6(_), 64)
        )
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.len)
    }
}

/// How address bans grow and how much the table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The first ban of a range.
    pub first: Duration,
    /// The longest ban; also how long a range's offences are remembered
    /// after its last ban ends.
    pub max: Duration,
    /// Banned peers from this many different host ranges of one subnet ban
    /// the subnet.
    pub subnet_after: usize,
    /// The most ranges remembered.
    pub max_ranges: usize,
}

/// An address ban in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddressBan {
    /// The range.
    pub range: Prefix,
    /// How long this ban lasts, from the offence that set it.
    pub duration: Duration,
    /// Offences from the range that are remembered, this one included.
    pub offences: u32,
}

#[derive(Debug, Clone)]
struct Record {
    offences: u32,
    until: Instant,
    /// The host ranges whose banned peers count towards a subnet ban (a
    /// subnet's record only; at most `subnet_after`).
    hosts: Vec<Prefix>,
}

/// The banned ranges.
#[derive(Debug)]
pub(crate) struct AddressBans {
    policy: Policy,
    ranges: HashMap<Prefix, Record>,
}

impl AddressBans {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy,
            ranges: HashMap::new(),
        }
    }

    /// The ban length after `offences` offences: `first` doubled for each
    /// one after the first, at most `max`.
    pub(crate) fn duration(&self, offences: u32) -> Duration {
        let doublings = offences.saturating_sub(1).min(30);
        self.policy
            .first
            .saturating_mul(1u32 << doublings)
            .min(self.policy.max)
    }

    /// A peer that connected from `ip` was banned at `now`. Bans its host
    /// range (longer for each offence), and its subnet once banned peers
    /// came from enough different hosts in it. Returns the bans this set.
    pub(crate) fn offence(&mut self, ip: IpAddr, now: Instant) -> Vec<AddressBan> {
        self.forget(now);
        let host = Prefix::host(ip);
        let subnet = Prefix::subnet(ip);
        let mut set = Vec::new();
        set.push(self.escalate(host, now));
        let widen = {
            self.make_room(subnet, now);
            let record = self.ranges.entry(subnet).or_insert(Record {
                offences: 0,
                until: now,
                hosts: Vec::new(),
            });
            if !record.hosts.contains(&host) && record.hosts.len() < self.policy.subnet_after {
                record.hosts.push(host);
            }
            record.hosts.len() >= self.policy.subnet_after.max(2)
        };
        if widen {
            set.push(self.escalate(subnet, now));
        }
        set
    }

    /// One more offence of `range`, banned from `now` for its new length.
    fn escalate(&mut self, range: Prefix, now: Instant) -> AddressBan {
        self.make_room(range, now);
        let offences = self
            .ranges
            .get(&range)
            .map_or(0, |r| r.offences)
            .saturating_add(1);
        let duration = self.duration(offences);
        let record = self.ranges.entry(range).or_insert(Record {
            offences: 0,
            until: now,
            hosts: Vec::new(),
        });
        record.offences = offences;
        record.until = record.until.max(now + duration);
        AddressBan {
            range,
            duration,
            offences,
        }
    }

    /// Puts back a ban kept from before a restart: `offences` offences,
    /// banned until `until`. A range already in the table keeps the
    /// longer of the two.
    pub(crate) fn restore(&mut self, range: Prefix, offences: u32, until: Instant, now: Instant) {
        if until + self.policy.max <= now || offences == 0 {
            return;
        }
        self.make_room(range, now);
        let record = self.ranges.entry(range).or_insert(Record {
            offences: 0,
            until,
            hosts: Vec::new(),
        });
        record.offences = record.offences.max(offences);
        record.until = record.until.max(until);
    }

    /// The ban in force at `now` on a range holding `ip`, if any (the
    /// widest first).
    pub(crate) fn refusal(&self, ip: IpAddr, now: Instant) -> Option<AddressBan> {
        [Prefix::subnet(ip), Prefix::host(ip)]
            .into_iter()
            .find_map(|range| {
                let record = self.ranges.get(&range)?;
                (record.offences > 0 && record.until > now).then(|| AddressBan {
                    range,
                    duration: record.until - now,
                    offences: record.offences,
                })
            })
    }

    /// Drops the ranges that kept quiet for `max` after their ban ended.
    pub(crate) fn forget(&mut self, now: Instant) {
        let memory = self.policy.max;
        self.ranges.retain(|_, r| r.until + memory > now);
    }

    /// Frees a place for `range` when the table is full: the range
    /// closest to being forgotten goes.
    fn make_room(&mut self, range: Prefix, now: Instant) {
        if self.ranges.contains_key(&range) || self.ranges.len() < self.policy.max_ranges {
            return;
        }
        self.forget(now);
        if self.ranges.len() < self.policy.max_ranges {
            return;
        }
        if let Some(oldest) = self
            .ranges
            .iter()
            .min_by_key(|(_, r)| r.until)
            .map(|(p, _)| *p)
        {
            self.ranges.remove(&oldest);
        }
    }

    /// How many ranges are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy() -> Policy {
        Policy {
            first: secs(60),
            max: secs(3600),
            subnet_after: 3,
            max_ranges: 16,
        }
    }

    #[test]
    fn a_restored_ban_refuses_and_escalates_from_where_it_was() {
        let mut bans = AddressBans::new(policy());
        let now = Instant::now();
        let range = Prefix::parse("203.0.113.9/32").unwrap();
        assert_eq!(Prefix::parse("203.0.113.9/24"), None, "host bits set");
        assert_eq!(Prefix::parse("nonsense"), None);
        bans.restore(range, 2, now + secs(100), now);
        let ban = bans.refusal(ip("203.0.113.9"), now).unwrap();
        assert_eq!((ban.range, ban.offences), (range, 2));
        // The next offence is the third: four times the first ban.
        let set = bans.offence(ip("203.0.113.9"), now);
        assert_eq!(set[0].duration, secs(240));
        // A ban whose memory ran out is not put back.
        let mut fresh = AddressBans::new(policy());
        fresh.restore(range, 1, now, now + secs(3600));
        assert_eq!(fresh.len(), 0);
    }

    #[test]
    fn prefixes_mask_and_contain() {
        let p = Prefix::subnet(ip("203.0.113.77"));
        assert_eq!(p.to_string(), "203.0.113.0/24");
        assert!(p.contains(ip("203.0.113.1")));
        assert!(!p.contains(ip("203.0.114.1")));
        assert_eq!(
            Prefix::host(ip("203.0.113.77")).to_string(),
            "203.0.113.77/32"
        );
        assert_eq!(
            Prefix::host(ip("2001:db8:1:2:3:4:5:6")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            Prefix::subnet(ip("2001:db8:1:2ff:3:4:5:6")).to_string(),
            "2001:db8:1:200::/56"
        );
        assert!(Prefix::host(ip("::1")).is_host());
        assert!(!Prefix::subnet(ip("::1")).is_host());
        assert_eq!(Prefix::of(ip("10.1.2.3"), 0).to_string(), "0.0.0.0/0");
    }

    #[test]
    fn the_first_ban_is_short_and_repeated_offences_double_it_up_to_the_bound() {
        let t0 = Instant::now();
        let mut bans = AddressBans::new(policy());
        let a = ip("198.51.100.7");
        let mut lengths = Vec::new();
        for n in 0..10 {
            let set = bans.offence(a, t0 + secs(n));
            lengths.push(set[0].duration.as_secs());
        }
        assert_eq!(
            lengths,
            [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]
        );
        // Refused while the ban lasts, then let in again.
        assert!(bans.refusal(a, t0 + secs(3000)).is_some());
        assert!(bans.refusal(a, t0 + secs(9 + 3600)).is_none());
        assert!(bans.refusal(ip("198.51.100.8"), t0).is_none());
    }

    #[test]
    fn a_subnet_is_banned_only_on_evidence_from_several_hosts() {
        let t0 = Instant::now();
        let mut bans = AddressBans::new(policy());
        // Many banned ids from one address: that address only.
        for _ in 0..5 {
            let set = bans.offence(ip("192.0.2.10"), t0);
            assert!(set.iter().all(|b| b.range.is_host()), "{set:?}");
        }
        assert!(bans.refusal(ip("192.0.2.11"), t0).is_none());
        bans.offence(ip("192.0.2.11"), t0);
        assert!(bans.refusal(ip("192.0.2.12"), t0).is_none());
        // A third host of the /24: the whole /24.
        let set = bans.offence(ip("192.0.2.12"), t0);
        assert_eq!(set.len(), 2);
        assert_eq!(set[1].range.to_string(), "192.0.2.0/24");
        let refused = bans.refusal(ip("192.0.2.200"), t0 + secs(1)).unwrap();
        assert_eq!(refused.range.to_string(), "192.0.2.0/24");
        assert!(bans.refusal(ip("192.0.3.1"), t0).is_none());
    }

    #[test]
    fn quiet_ranges_are_forgotten_and_the_table_stays_bounded() {
        let t0 = Instant::now();
        let mut bans = AddressBans::new(policy());
        bans.offence(ip("198.51.100.7"), t0);
        bans.forget(t0 + secs(60 + 3600));
        assert_eq!(bans.len(), 0);
        // The offence count starts again.
        let set = bans.offence(ip("198.51.100.7"), t0 + secs(5000));
        assert_eq!(set[0].offences, 1);

        for n in 0u32..1000 {
            let a = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n * 256));
            bans.offence(a, t0 + secs(5000) + Duration::from_millis(u64::from(n)));
            assert!(bans.len() <= 16);
        }
        // The newest offender is among those kept.
        let newest = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + 999 * 256));
        assert!(bans.refusal(newest, t0 + secs(5001)).is_some());
    }
}
