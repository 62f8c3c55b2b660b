//! The attacker: plain libp2p gossipsub swarms that speak hearth's wire
//! format (`docs/protocol.md`) and dial the victim, one per peer id.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hearth_protocol::{
    ChannelName, Keypair, NetworkId, PersonaStamp, PostDraft, StampSearch, stamp_persona,
};
use libp2p::gossipsub::IdentTopic;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, Swarm};
use rand::RngExt;

use super::{Attack, LabError};
use crate::raw::Lens;

/// A persona the attacker paid for.
#[derive(Clone)]
pub struct Persona {
    key: Keypair,
    stamp: PersonaStamp,
}

/// What the attacker did and saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttackerStats {
    /// Messages handed to gossipsub.
    pub sent: u64,
    /// Peer ids used.
    pub ids: usize,
    /// Connections the victim accepted.
    pub established: u64,
    /// Connections after the first one the victim closed: a banned
    /// attacker coming back with a new peer id.
    pub established_after_ban: u64,
    /// From the start of the attack to the first connection the victim
    /// closed.
    pub first_closed: Option<Duration>,
    /// Dials that failed.
    pub dials_failed: u64,
    /// Personas it could pay for before the attack.
    pub personas: usize,
}

/// Pays for as many personas as `budget` of every core buys at level
/// `bits` (at least one).
pub fn buy_personas(network: &NetworkId, bits: u8, budget: Duration) -> Vec<Persona> {
    let until = Instant::now() + budget;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let network = network.clone();
            std::thread::spawn(move || {
                let mut bought = Vec::new();
                loop {
                    let key = Keypair::generate(&mut rand::rng());
                    let mut next: u64 = rand::rng().random();
                    let stamp = loop {
                        match stamp_persona(&key.public(), &network, bits, next, 1 << 16) {
                            StampSearch::Found(stamp) => break Some(stamp),
                            StampSearch::NotYet { next: after } => next = after,
                        }
                        // The first thread finishes its first persona, so
                        // there is always one.
                        if Instant::now() >= until && !(thread == 0 && bought.is_empty()) {
                            break None;
                        }
                    };
                    match stamp {
                        Some(stamp) => bought.push(Persona { key, stamp }),
                        None => return bought,
                    }
                    if Instant::now() >= until {
                        return bought;
                    }
                }
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect()
}

/// Where and what the attacker sends.
#[derive(Clone)]
pub struct Target {
    /// The victim's address, with `/p2p/`.
    pub address: Multiaddr,
    /// The network.
    pub network: NetworkId,
    /// The channel.
    pub channel: ChannelName,
    /// The personas it paid for.
    pub personas: Vec<Persona>,
}

type Raw = Swarm<Lens>;

/// A raw swarm; with `mirror` `(real, foreign)`, believing that a peer
/// subscribed to `real` also subscribes to `foreign`.
fn raw_swarm(mirror: Option<(&IdentTopic, &IdentTopic)>) -> Result<Raw, LabError> {
    let inner = crate::raw::gossipsub(&crate::raw::config(1 << 20)).map_err(LabError::Attacker)?;
    let mirror = mirror.map(|(real, foreign)| (real.hash(), foreign.hash()));
    crate::raw::swarm(Lens { inner, mirror }).map_err(LabError::Attacker)
}

/// One spam post: valid, signed by persona `n` modulo the personas.
fn spam(target: &Target, n: u64, size: usize) -> Option<Vec<u8>> {
    let personas = target.personas.len().max(1) as u64;
    let persona = target.personas.get(usize::try_from(n % personas).ok()?)?;
    let mut text = format!("spam {n} ");
    while text.len() < size {
        text.push('x');
    }
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_millis(),
    )
    .ok()?;
    PostDraft::new(target.channel.clone(), text, now)
        .with_persona_stamp(persona.stamp)
        .sign(&persona.key, &target.network, 0)
        .ok()
        .map(|signed| signed.bytes)
}

/// A post whose signature is broken.
fn forged(target: &Target, n: u64) -> Option<Vec<u8>> {
    let mut bytes = spam(target, n, 0)?;
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    Some(bytes)
}

/// Runs `attack` against `target` from `start` until `until`.
pub async fn run(attack: Attack, target: Target, start: Instant, until: Instant) -> AttackerStats {
    let stop = Arc::new(AtomicBool::new(false));
    let ids = match attack {
        Attack::FreshPersonas | Attack::NewIdAfterBan | Attack::ForeignTopic => 1,
        Attack::EightIds | Attack::MaxSize => 8,
        Attack::Churn => 3,
        Attack::Connections => 126,
    };
    let mut tasks = Vec::new();
    for index in 0..ids {
        let target = target.clone();
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            one_id(attack, index, ids, target, start, until, &stop).await
        }));
    }
    let mut total = AttackerStats {
        ids: 0,
        personas: target.personas.len(),
        ..AttackerStats::default()
    };
    for task in tasks {
        let Ok(stats) = task.await else { continue };
        total.sent += stats.sent;
        total.ids += stats.ids;
        total.established += stats.established;
        total.established_after_ban += stats.established_after_ban;
        total.dials_failed += stats.dials_failed;
        total.first_closed = match (total.first_closed, stats.first_closed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    stop.store(true, Ordering::Relaxed);
    total
}

/// One attacking peer id (and, for [`Attack::NewIdAfterBan`], the ones
/// that replace it after each ban).
async fn one_id(
    attack: Attack,
    index: usize,
    ids: usize,
    target: Target,
    start: Instant,
    until: Instant,
    stop: &AtomicBool,
) -> AttackerStats {
    let mut stats = AttackerStats::default();
    let topic = IdentTopic::new(target.channel.topic(&target.network).to_string());
    // A channel's topic v never joined: where the foreign-topic attack
    // sends.
    let foreign = IdentTopic::new(format!("hearth/1/{}/elsewhere", target.network.as_str()));
    // Messages per second of this id: the whole attack's rate shared out.
    let per_second: u64 = match attack {
        Attack::FreshPersonas | Attack::EightIds => 400,
        Attack::MaxSize => 200,
        Attack::ForeignTopic => 2000,
        Attack::NewIdAfterBan => 50,
        Attack::Churn | Attack::Connections => 0,
    };
    let interval = (1_000_000 * ids as u64)
        .checked_div(per_second)
        .map_or(Duration::from_millis(10), Duration::from_micros);
    let mut n = index as u64;
    let mut banned = false;
    'ids: while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        let mirror = (attack == Attack::ForeignTopic).then_some((&topic, &foreign));
        let Ok(mut swarm) = raw_swarm(mirror) else {
            return stats;
        };
        stats.ids += 1;
        if attack != Attack::Connections {
            let _ = swarm.behaviour_mut().inner.subscribe(&topic);
        }
        if attack == Attack::ForeignTopic {
            let _ = swarm.behaviour_mut().inner.subscribe(&foreign);
        }
        if swarm.dial(target.address.clone()).is_err() {
            stats.dials_failed += 1;
            continue;
        }
        let mut tick = tokio::time::interval(interval);
        let mut churn = 0u64;
        loop {
            let deadline = tokio::time::Instant::from_std(until);
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break 'ids,
                event = swarm.select_next_some() => match event {
                    SwarmEvent::ConnectionEstablished { .. } => {
                        stats.established += 1;
                        if banned {
                            stats.established_after_ban += 1;
                        }
                    }
                    SwarmEvent::ConnectionClosed { .. } => {
                        stats.first_closed.get_or_insert_with(|| start.elapsed());
                        banned = true;
                        if attack == Attack::NewIdAfterBan {
                            // Back at once with a new peer id.
                            continue 'ids;
                        }
                        // Come back with the same id after a moment.
                        if swarm.dial(target.address.clone()).is_err() {
                            stats.dials_failed += 1;
                        }
                    }
                    SwarmEvent::OutgoingConnectionError { .. } => {
                        stats.dials_failed += 1;
                        if attack == Attack::NewIdAfterBan {
                            continue 'ids;
                        }
                    }
                    _ => {}
                },
                _ = tick.tick() => {
                    let bytes = match attack {
                        Attack::FreshPersonas | Attack::EightIds => spam(&target, n, 0),
                        Attack::MaxSize => spam(&target, n, 4000),
                        Attack::ForeignTopic => {
                            let mut junk = vec![0u8; 64];
                            junk[..8].copy_from_slice(&n.to_be_bytes());
                            if swarm.behaviour_mut().inner.publish(foreign.clone(), junk).is_ok() {
                                stats.sent += 1;
                            }
                            None
                        }
                        Attack::NewIdAfterBan => forged(&target, n),
                        Attack::Churn => {
                            // 100 subscriptions and unsubscriptions a tick.
                            for _ in 0..100 {
                                let junk = IdentTopic::new(format!("hearth/1/{}/junk-{}", target.network.as_str(), churn % 10_000));
                                let _ = swarm.behaviour_mut().inner.subscribe(&junk);
                                let _ = swarm.behaviour_mut().inner.unsubscribe(&junk);
                                churn += 1;
                                stats.sent += 2;
                            }
                            None
                        }
                        Attack::Connections => None,
                    };
                    if let Some(bytes) = bytes
                        && swarm.behaviour_mut().inner.publish(topic.clone(), bytes).is_ok()
                    {
                        stats.sent += 1;
                    }
                    n += ids as u64;
                }
            }
        }
    }
    stats
}
