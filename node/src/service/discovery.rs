//! Finding peers: channel lookups and announcements in the DHT, bootstrap
//! nodes, mDNS, identify, and dials.
//!
//! [`LookupSchedule`] decides, per joined channel, when to look its
//! rendezvous key up and when to announce it again; it takes `now`
//! (monotonic) and what happened as parameters and never sees the swarm.
//! The `impl Service` below feeds it swarm events and carries out its
//! [`Steps`].
//!
//! # How often a lonely channel is looked up
//!
//! A channel with no peer is looked up when joined, again 1 s later (the
//! first lookup often races the other side's announcement: a real bug,
//! where a first meeting through a bootstrap node took 11 s), and then
//! after gaps that double, 2 s, 4 s, … 512 s, up to a cap of 10 min
//! ([`LOOKUP_LONELY_MAX`]). Lookups fall at 0, 1, 3, 7, 15, 31, 63, 127,
//! 255, 511, 1023 s and then every 600 s (1623, 2223, 2823, 3423 s …):
//!
//! - **15 lookups in the first hour**, then **6 per hour** (one every
//!   10 min), where the old schedule made 360 per hour forever.
//!
//! Thousands of lonely clients therefore cost a handful of bootstrap
//! servers about 6 queries per client and channel per hour, not one every
//! 10 s. The schedule starts over at 1 s when the DHT routing table gains
//! a peer it did not have (the node may now reach providers it could not
//! before), when the channel loses its last peer, and when the channel is
//! joined. A channel with peers is looked up every 2 min
//! ([`LOOKUP_BUSY`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::kad::{self, GetProvidersOk, QueryResult};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, identify};

use super::{Service, dial_address, subscribed_peers};
use crate::addresses::{is_announceable, is_relayed, without_p2p};
use crate::clock::now_ms;
use crate::event::Event;
use crate::store::PeerRecord;
use crate::swarm::kad_protocol;

/// The second lookup of a channel with no peer comes this long after the
/// first; each later gap is twice the one before, up to
/// [`LOOKUP_LONELY_MAX`].
pub(crate) const LOOKUP_FIRST: Duration = Duration::from_secs(1);
/// The longest gap between lookups of a channel with no peer.
pub(crate) const LOOKUP_LONELY_MAX: Duration = Duration::from_secs(10 * 60);
/// The gap between lookups of a channel that has peers.
pub(crate) const LOOKUP_BUSY: Duration = Duration::from_secs(120);
/// A channel is looked up at most this often, whatever happens.
const LOOKUP_AGAIN_MIN: Duration = Duration::from_secs(1);
/// A channel is announced again, when the routing table gains a peer, at
/// most this often.
const REPROVIDE_MIN: Duration = Duration::from_secs(30);
/// A channel is announced again, when the node's announced addresses
/// change, at most this often (a reservation confirms two circuit
/// addresses at once, TCP and QUIC).
const ADDRESSES_REANNOUNCE_MIN: Duration = Duration::from_secs(1);
/// Addresses kept per provider record received by a DHT server.
pub(crate) const PROVIDER_ADDRESSES: usize = 8;

/// What to do for one channel now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Steps {
    /// Announce the channel in the DHT (`start_providing`).
    pub announce: bool,
    /// Look up the channel's providers (`get_providers`).
    pub lookup: bool,
}

/// When one channel is looked up and announced.
#[derive(Debug, Clone)]
pub(crate) struct LookupSchedule {
    peers: usize,
    /// The gap after the next lookup, while the channel has no peer.
    gap: Duration,
    next_lookup: Instant,
    last_lookup: Instant,
    /// `None` while the channel has not been announced to any DHT peer.
    last_announce: Option<Instant>,
    /// The node's addresses changed since the last announcement.
    announce_pending: bool,
    /// The last announcement made because the addresses changed.
    last_address_announce: Option<Instant>,
}

impl LookupSchedule {
    /// A channel joined at `now`: announce it and look it up at once.
    /// `dht_known` says whether the routing table has any peer; without
    /// one the announcement reaches nobody and counts as not made, so the
    /// first routing update repeats it.
    pub(super) fn joined(now: Instant, dht_known: bool) -> (Self, Steps) {
        let mut schedule = Self {
            peers: 0,
            gap: LOOKUP_FIRST,
            next_lookup: now,
            last_lookup: now,
            last_announce: dht_known.then_some(now),
            announce_pending: false,
            last_address_announce: None,
        };
        schedule.looked_up(now);
        let steps = Steps {
            announce: true,
            lookup: true,
        };
        (schedule, steps)
    }

    /// Peers subscribed to the channel, as last reported.
    pub(super) fn peers(&self) -> usize {
        self.peers
    }

    /// The number of peers in the channel changed.
    pub(super) fn set_peers(&mut self, peers: usize, now: Instant) {
        if peers > 0 && self.peers == 0 {
            self.next_lookup = now + LOOKUP_BUSY;
        }
        if peers == 0 && self.peers > 0 {
            // Alone again: look for others soon, then back off.
            self.gap = LOOKUP_FIRST;
            self.next_lookup = now + LOOKUP_FIRST;
        }
        self.peers = peers;
    }

    /// The timer: a lookup when one is due at `now`, and an announcement
    /// that [`LookupSchedule::addresses_changed`] put off.
    pub(super) fn poll(&mut self, now: Instant) -> Steps {
        let announce = self.announce_pending && self.address_announce_allowed(now);
        if announce {
            self.announce_pending = false;
            self.last_announce = Some(now);
            self.last_address_announce = Some(now);
        }
        let lookup = now >= self.next_lookup;
        if lookup {
            self.looked_up(now);
        }
        Steps { announce, lookup }
    }

    /// The node's announced addresses changed: announce the channel again
    /// so its provider records carry them, at once or, within
    /// [`ADDRESSES_REANNOUNCE_MIN`] of the last announcement made for
    /// this reason, at the first poll after that. A channel not yet
    /// announced to any DHT peer waits for the first routing update, which
    /// announces it anyway.
    pub(super) fn addresses_changed(&mut self, now: Instant) -> Steps {
        if self.last_announce.is_none() {
            return Steps::default();
        }
        if self.address_announce_allowed(now) {
            self.last_announce = Some(now);
            self.last_address_announce = Some(now);
            self.announce_pending = false;
            Steps {
                announce: true,
                lookup: false,
            }
        } else {
            self.announce_pending = true;
            Steps::default()
        }
    }

    fn address_announce_allowed(&self, now: Instant) -> bool {
        self.last_address_announce
            .is_none_or(|at| now.saturating_duration_since(at) >= ADDRESSES_REANNOUNCE_MIN)
    }

    /// The DHT routing table changed; `new_peer` when it gained a peer it
    /// did not have (not merely a new address of one it had).
    pub(super) fn routing_updated(&mut self, now: Instant, new_peer: bool) -> Steps {
        let announce = match self.last_announce {
            None => true,
            Some(at) => new_peer && now.saturating_duration_since(at) > REPROVIDE_MIN,
        };
        if announce {
            self.last_announce = Some(now);
            self.announce_pending = false;
        }
        if self.peers == 0 && (new_peer || announce) {
            // Providers may be reachable now that were not: start over
            // quick, but never more than one lookup a second.
            self.gap = LOOKUP_FIRST;
            self.next_lookup = self.next_lookup.min(self.last_lookup + LOOKUP_AGAIN_MIN);
        }
        Steps {
            announce,
            lookup: self.poll(now).lookup,
        }
    }

    /// The announcement could not be started; the next routing update
    /// tries again.
    pub(super) fn announce_failed(&mut self) {
        self.last_announce = None;
    }

    fn looked_up(&mut self, now: Instant) {
        self.last_lookup = now;
        if self.peers == 0 {
            self.next_lookup = now + self.gap;
            self.gap = (self.gap * 2).min(LOOKUP_LONELY_MAX);
        } else {
            self.next_lookup = now + LOOKUP_BUSY;
        }
    }
}

impl Service {
    /// Carries out one channel's steps.
    pub(super) fn discovery_steps(&mut self, channel: &hearth_protocol::ChannelName, steps: Steps) {
        let Some(state) = self.channels.get_mut(channel) else {
            return;
        };
        let kad = &mut self.swarm.behaviour_mut().kad;
        if steps.announce {
            tracing::debug!(%channel, "announcing the channel");
        }
        if steps.announce
            && let Err(e) = kad.start_providing(state.key.clone())
        {
            tracing::warn!(%channel, error = %e, "cannot announce channel in the DHT");
            state.lookups.announce_failed();
        }
        if steps.lookup {
            kad.get_providers(state.key.clone());
        }
    }

    /// Whether the DHT routing table has any peer.
    pub(super) fn dht_known(&mut self) -> bool {
        self.swarm
            .behaviour_mut()
            .kad
            .kbuckets()
            .any(|bucket| bucket.num_entries() > 0)
    }

    /// The lookups (and put-off announcements) the timer says are due.
    pub(super) fn run_lookups(&mut self, now: Instant) {
        let due: Vec<_> = self
            .channels
            .iter_mut()
            .map(|(name, channel)| (name.clone(), channel.lookups.poll(now)))
            .filter(|(_, steps)| steps.lookup || steps.announce)
            .collect();
        for (channel, steps) in due {
            self.discovery_steps(&channel, steps);
        }
    }

    /// The announced addresses changed: announce the joined channels again.
    pub(super) fn reannounce_channels(&mut self, now: Instant) {
        let due: Vec<_> = self
            .channels
            .iter_mut()
            .map(|(name, channel)| (name.clone(), channel.lookups.addresses_changed(now)))
            .filter(|(_, steps)| steps.announce)
            .collect();
        for (channel, steps) in due {
            self.discovery_steps(&channel, steps);
        }
    }

    /// Recounts the peers of every joined channel from gossipsub's view of
    /// subscriptions and emits `ChannelPeers` for the ones that changed.
    pub(super) fn update_channel_peers(&mut self) {
        let now = Instant::now();
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let mut changed = Vec::new();
        for (name, channel) in &mut self.channels {
            let peers = subscribed_peers(gossipsub, &channel.topic.hash());
            if peers != channel.lookups.peers() {
                channel.lookups.set_peers(peers, now);
                changed.push((name.clone(), peers));
            }
        }
        for (channel, peers) in changed {
            self.emit(Event::ChannelPeers { channel, peers });
        }
    }

    pub(super) fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed {
                result:
                    QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders { providers, .. })),
                ..
            } => {
                // Dial now, while the query still holds the providers'
                // addresses for the dial to use.
                for peer in providers {
                    if peer != self.peer_id && !self.connections.contains_key(&peer) {
                        self.dial_peer(peer, Vec::new());
                    }
                }
            }
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::AddProvider {
                        record: Some(record),
                    },
            } => self.keep_provider(record),
            kad::Event::RoutingUpdated { is_new_peer, .. } => {
                let now = Instant::now();
                let work: Vec<_> = self
                    .channels
                    .iter_mut()
                    .map(|(name, c)| (name.clone(), c.lookups.routing_updated(now, is_new_peer)))
                    .filter(|(_, steps)| steps.announce || steps.lookup)
                    .collect();
                for (channel, steps) in work {
                    self.discovery_steps(&channel, steps);
                }
            }
            _ => {}
        }
    }

    /// An outbound connection to a bootstrap address: into the routing
    /// table with it, and fill the table from there.
    pub(super) fn on_bootstrap_connected(&mut self, peer: PeerId, address: Multiaddr) {
        self.bootstrap_peers.insert(peer);
        let kad = &mut self.swarm.behaviour_mut().kad;
        kad.add_address(&peer, without_p2p(address));
        if let Err(e) = kad.bootstrap() {
            tracing::debug!(error = %e, "DHT bootstrap not started");
        }
    }

    /// A provider record another node announced to this DHT server
    /// (kad leaves storing to the node, `StoreInserts::FilterBoth`): only
    /// its announceable addresses are kept, at most
    /// [`PROVIDER_ADDRESSES`], so the server never hands out what the
    /// provider should not have announced, nor an unbounded list.
    fn keep_provider(&mut self, mut record: kad::ProviderRecord) {
        use kad::store::RecordStore;
        let private = self.config.announce_private;
        tracing::trace!(provider = %record.provider, addresses = ?record.addresses, "provider record received");
        record.addresses.retain(|a| is_announceable(a, private));
        record.addresses.truncate(PROVIDER_ADDRESSES);
        let key = record.key.clone();
        match self
            .swarm
            .behaviour_mut()
            .kad
            .store_mut()
            .add_provider(record)
        {
            Ok(()) => {
                self.provider_keys.insert(key);
            }
            Err(e) => {
                tracing::debug!(error = %e, "provider record not kept");
                self.metrics.dht_request("add_provider_refused");
            }
        }
    }

    /// Drops expired provider records of others (kad's memory store only
    /// drops them when they are asked for) and counts the rest.
    pub(super) fn count_provider_records(&mut self) {
        use kad::store::RecordStore;
        let now = Instant::now();
        let store = self.swarm.behaviour_mut().kad.store_mut();
        let mut held = 0;
        self.provider_keys.retain(|key| {
            let mut live = 0;
            for record in store.providers(key) {
                if record.is_expired(now) {
                    store.remove_provider(key, &record.provider);
                } else {
                    live += 1;
                }
            }
            held += live;
            live > 0
        });
        self.metrics.provider_records(held);
    }

    /// A peer said who it is: DHT servers go into the routing table, and
    /// every peer's addresses are remembered for the next start: those it
    /// announces (confirmed ones only), and the one this node reached it
    /// at when it dialled.
    pub(super) fn on_identified(&mut self, peer: PeerId, info: identify::Info) {
        self.reach_identified(peer, &info);
        let dialled = self
            .links
            .values()
            .find(|l| l.peer == peer && l.dialer)
            .map(|l| without_p2p(l.address.clone()));
        let mut addresses = info.listen_addrs.clone();
        if let Some(dialled) = dialled
            && !addresses.contains(&dialled)
        {
            addresses.push(dialled);
        }
        let kad_protocol = kad_protocol(&self.network).ok();
        let serves_dht = kad_protocol.is_some_and(|p| info.protocols.contains(&p));
        if serves_dht {
            for address in addresses.iter().filter(|a| !is_relayed(a)) {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, address.clone());
            }
        }
        let record = PeerRecord {
            addresses: addresses.iter().map(ToString::to_string).collect(),
            last_seen_ms: now_ms(),
        };
        if let Err(e) = self.store.remember_peer(&peer, &record) {
            tracing::warn!(error = %e, "cannot remember peer");
        }
        self.flush_soon();
        self.emit(Event::PeerIdentified {
            peer,
            agent: info.agent_version,
            listen_addrs: info.listen_addrs,
        });
    }

    pub(super) fn on_mdns_discovered(&mut self, found: Vec<(PeerId, Multiaddr)>) {
        let mut by_peer: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
        for (peer, address) in found {
            if peer != self.peer_id {
                by_peer.entry(peer).or_default().push(address);
            }
        }
        for (peer, addresses) in by_peer {
            self.dial_peer(peer, addresses);
        }
    }

    fn dial_peer(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if self.bans.is_banned(&peer) {
            return;
        }
        // From a fresh port, not the listen port: two nodes that discover
        // each other at the same instant (mDNS answers both ways at once)
        // would otherwise open one TCP connection from both ends at once
        // (a TCP simultaneous open), on which both run the noise handshake
        // as initiator and fail, and neither dials again (libp2p/specs#389).
        // Hole punching makes its own dials, from the listen port.
        let opts = DialOpts::peer_id(peer)
            .addresses(addresses)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .allocate_new_port()
            .build();
        if let Err(e) = self.swarm.dial(opts) {
            tracing::debug!(%peer, error = %e, "not dialled");
        }
    }

    pub(super) fn dial_bootstrap(&mut self) {
        for address in self.config.bootstrap.clone() {
            if let Some(Protocol::P2p(peer)) = address.iter().last() {
                if self.connections.contains_key(&peer) || self.bans.is_banned(&peer) {
                    continue;
                }
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, without_p2p(address.clone()));
            }
            if let Err(e) = self.swarm.dial(dial_address(address.clone())) {
                tracing::warn!(%address, error = %e, "cannot dial bootstrap node");
            }
        }
    }

    pub(super) fn is_bootstrap_address(&self, address: &Multiaddr) -> bool {
        let address = without_p2p(address.clone());
        self.config
            .bootstrap
            .iter()
            .any(|b| without_p2p(b.clone()) == address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Joins at `t0` and ticks once a second, as the node does, for
    /// `seconds`; returns the second of every lookup (the join's included).
    fn lonely_lookups(t0: Instant, seconds: u64) -> Vec<u64> {
        let (mut schedule, steps) = LookupSchedule::joined(t0, true);
        let mut at = vec![0];
        assert!(steps.lookup && steps.announce);
        for s in 1..seconds {
            if schedule.poll(t0 + secs(s)).lookup {
                at.push(s);
            }
        }
        at
    }

    #[test]
    fn a_lonely_channel_is_looked_up_again_after_one_second() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        assert!(!schedule.poll(t0 + Duration::from_millis(999)).lookup);
        assert!(schedule.poll(t0 + secs(1)).lookup);
    }

    #[test]
    fn a_lonely_channel_makes_at_most_15_lookups_in_its_first_hour_and_6_an_hour_after() {
        let t0 = Instant::now();
        let lookups = lonely_lookups(t0, 3 * 3600);
        let first_hour: Vec<u64> = lookups.iter().copied().filter(|s| *s < 3600).collect();
        assert_eq!(
            first_hour,
            [
                0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 1623, 2223, 2823, 3423
            ]
        );
        for hour in 1..3 {
            let in_hour = lookups
                .iter()
                .filter(|s| (hour * 3600..(hour + 1) * 3600).contains(*s))
                .count();
            assert!(in_hour <= 6, "hour {hour}: {in_hour} lookups");
        }
        // Never more than ten minutes apart, never less than a second.
        for pair in lookups.windows(2) {
            let gap = pair[1] - pair[0];
            assert!((1..=600).contains(&gap), "gap {gap} s");
        }
    }

    #[test]
    fn a_new_dht_peer_starts_the_lonely_schedule_over() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        for s in 1..7200 {
            schedule.poll(t0 + secs(s));
        }
        // Backed off to ten minutes by now: a new routing peer brings a
        // lookup at once, then 1 s later, then 2 s after that.
        let t = t0 + secs(7200);
        assert!(schedule.routing_updated(t, true).lookup);
        assert!(!schedule.poll(t + Duration::from_millis(500)).lookup);
        assert!(schedule.poll(t + secs(1)).lookup);
        assert!(!schedule.poll(t + secs(2)).lookup);
        assert!(schedule.poll(t + secs(3)).lookup);
    }

    #[test]
    fn a_new_address_of_a_known_dht_peer_changes_nothing() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        for s in 1..7200 {
            schedule.poll(t0 + secs(s));
        }
        let steps = schedule.routing_updated(t0 + secs(7200), false);
        assert_eq!(steps, Steps::default());
    }

    #[test]
    fn a_burst_of_routing_updates_looks_up_at_most_once_a_second() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        // A new DHT peer every 100 ms for ten seconds.
        let lookups = (1..=100)
            .filter(|i| {
                schedule
                    .routing_updated(t0 + Duration::from_millis(100 * i), true)
                    .lookup
            })
            .count();
        assert!(lookups <= 10, "{lookups} lookups in 10 s");
    }

    #[test]
    fn a_channel_joined_before_any_dht_peer_is_announced_at_the_first_one() {
        let t0 = Instant::now();
        let (mut schedule, steps) = LookupSchedule::joined(t0, false);
        assert!(steps.announce);
        let first = schedule.routing_updated(t0 + secs(5), true);
        assert!(first.announce && first.lookup);
        // Announced now: another new peer soon after does not repeat it.
        assert!(!schedule.routing_updated(t0 + secs(10), true).announce);
        assert!(schedule.routing_updated(t0 + secs(40), true).announce);
    }

    #[test]
    fn a_channel_joined_with_dht_peers_is_not_announced_twice_at_once() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        assert!(!schedule.routing_updated(t0 + secs(2), true).announce);
    }

    #[test]
    fn a_failed_announcement_is_repeated_at_the_next_routing_update() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        schedule.announce_failed();
        assert!(schedule.routing_updated(t0 + secs(2), false).announce);
    }

    #[test]
    fn new_addresses_are_announced_at_once_and_a_burst_of_them_once_more() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        // A relay circuit confirmed 40 ms after the join: announced at
        // once, although the join announced a moment ago.
        let first = schedule.addresses_changed(t0 + Duration::from_millis(40));
        assert!(first.announce && !first.lookup);
        // Its QUIC twin 5 ms later waits for the next poll a second on.
        assert!(
            !schedule
                .addresses_changed(t0 + Duration::from_millis(45))
                .announce
        );
        assert!(!schedule.poll(t0 + Duration::from_millis(900)).announce);
        assert!(schedule.poll(t0 + Duration::from_millis(1040)).announce);
        assert!(!schedule.poll(t0 + secs(3)).announce);
        // Not yet announced to any DHT peer: the first routing update will.
        let (mut alone, _) = LookupSchedule::joined(t0, false);
        assert!(!alone.addresses_changed(t0 + secs(1)).announce);
        assert!(!alone.poll(t0 + secs(5)).announce);
    }

    #[test]
    fn a_busy_channel_is_looked_up_every_two_minutes_and_quickly_once_alone() {
        let t0 = Instant::now();
        let (mut schedule, _) = LookupSchedule::joined(t0, true);
        schedule.set_peers(2, t0 + secs(1));
        let busy: Vec<u64> = (2..=600)
            .filter(|s| schedule.poll(t0 + secs(*s)).lookup)
            .collect();
        assert_eq!(busy, [121, 241, 361, 481]);
        // The last peer leaves: look again a second later.
        schedule.set_peers(0, t0 + secs(700));
        assert!(schedule.poll(t0 + secs(701)).lookup);
        // A new routing peer does not hurry a busy channel.
        schedule.set_peers(1, t0 + secs(702));
        assert!(!schedule.routing_updated(t0 + secs(800), true).lookup);
    }
}
