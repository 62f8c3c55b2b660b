//! Persona stamps for the node's own personas (`docs/protocol.md` section
//! 12.2): searched for once per persona, on the blocking pool so that the
//! swarm keeps being polled, and kept with the persona.
//!
//! A search is shared: the join that starts it early and every post
//! written before it ends wait for the same future, so a persona is never
//! searched for twice at once. The search runs in slices and stops between
//! two when the node shuts down with nothing waiting for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, Shared};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use hearth_protocol::{
    ChannelName, Keypair, NetworkId, PersonaStamp, PublicKey, StampSearch, stamp_persona,
};
use rand::RngExt;

use super::Service;
use crate::error::{NodeError, StampFailed};
use crate::event::Event;

/// Attempts per slice: about a tenth of a second on a laptop core, so a
/// cancelled search ends quickly.
const SLICE: u64 = 1 << 20;

/// The outcome of one search, shared by everyone waiting for it.
pub(super) type StampResult = Result<PersonaStamp, StampFailed>;

/// A search that may still be running.
pub(super) type StampFuture = Shared<BoxFuture<'static, StampResult>>;

/// A search that ended.
pub(super) struct Stamped {
    channel: ChannelName,
    persona: PublicKey,
    result: StampResult,
    elapsed: Duration,
}

/// The searches in progress.
pub(super) struct Stamping {
    running: HashMap<PublicKey, StampFuture>,
    done: FuturesUnordered<BoxFuture<'static, Stamped>>,
    cancel: Arc<AtomicBool>,
}

impl Stamping {
    pub(super) fn new() -> Self {
        Self {
            running: HashMap::new(),
            done: FuturesUnordered::new(),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The next search to end; pending forever while none runs.
    pub(super) async fn next_done(&mut self) -> Stamped {
        match self.done.next().await {
            Some(done) => done,
            None => std::future::pending().await,
        }
    }

    /// Whether a search runs.
    pub(super) fn is_running(&self) -> bool {
        !self.done.is_empty()
    }

    /// Asks every running search to stop at its next slice.
    pub(super) fn cancel_all(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Service {
    /// The stamp of `persona`, the persona of `channel`: at once when it was
    /// found before, else the search for it, started now if none runs.
    pub(super) fn persona_stamp(
        &mut self,
        channel: &ChannelName,
        persona: &Keypair,
    ) -> Result<StampFuture, NodeError> {
        let bits = self.config.limits.persona_stamp_bits;
        let public = persona.public();
        if bits == 0 {
            return Ok(ready(PersonaStamp::default()));
        }
        if let Some(stamp) = self.personas.stamp(&self.store, &public)?
            && stamp.meets(&self.network, &public, bits)
        {
            return Ok(ready(stamp));
        }
        if let Some(running) = self.stamping.running.get(&public) {
            return Ok(running.clone());
        }
        let network = self.network.clone();
        let cancel = Arc::clone(&self.stamping.cancel);
        // Two searches for one key must not repeat each other's work.
        let start: u64 = rand::rng().random();
        let task =
            tokio::task::spawn_blocking(move || search(&public, &network, bits, start, &cancel));
        let search = async move {
            match task.await {
                Ok(result) => result,
                Err(e) => Err(StampFailed::Task(e.to_string())),
            }
        }
        .boxed()
        .shared();
        self.stamping.running.insert(public, search.clone());
        let watched = search.clone();
        let channel_name = channel.clone();
        let started = Instant::now();
        self.stamping.done.push(
            async move {
                Stamped {
                    channel: channel_name,
                    persona: public,
                    result: watched.await,
                    elapsed: started.elapsed(),
                }
            }
            .boxed(),
        );
        tracing::info!(%channel, bits, "searching for the persona stamp");
        self.emit(Event::PersonaStamping {
            channel: channel.clone(),
            bits,
        });
        Ok(search)
    }

    /// Starts the search for the stamp of `channel`'s persona early (on
    /// join), so that the first post does not wait for it.
    pub(super) fn prepare_persona(&mut self, channel: &ChannelName, persona: &Keypair) {
        if let Err(e) = self.persona_stamp(channel, persona) {
            tracing::warn!(%channel, error = %e, "cannot read the persona stamp");
        }
    }

    /// A search ended: keep the stamp with the persona and say so.
    pub(super) fn on_stamped(&mut self, done: Stamped) {
        self.stamping.running.remove(&done.persona);
        match done.result {
            Ok(stamp) => {
                if let Err(e) = self.personas.set_stamp(&self.store, &done.persona, stamp) {
                    // Posts carry the stamp anyway; the next start searches
                    // again.
                    tracing::warn!(error = %e, "cannot keep the persona stamp");
                }
                self.flush_soon();
                tracing::info!(channel = %done.channel, elapsed = ?done.elapsed, "persona stamp found");
                self.emit(Event::PersonaReady {
                    channel: done.channel,
                    elapsed: done.elapsed,
                });
            }
            Err(StampFailed::Cancelled) => {}
            Err(e) => tracing::error!(channel = %done.channel, error = %e, "persona stamp"),
        }
    }
}

fn ready(stamp: PersonaStamp) -> StampFuture {
    futures::future::ready(Ok(stamp)).boxed().shared()
}

/// Searches slice by slice until a stamp is found or `cancel` is set.
fn search(
    persona: &PublicKey,
    network: &NetworkId,
    bits: u8,
    start: u64,
    cancel: &AtomicBool,
) -> StampResult {
    let mut next = start;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(StampFailed::Cancelled);
        }
        match stamp_persona(persona, network, bits, next, SLICE) {
            StampSearch::Found(stamp) => return Ok(stamp),
            StampSearch::NotYet { next: after } => next = after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_finds_a_stamp_of_the_level_and_stops_when_cancelled() {
        let key = Keypair::from_secret_bytes([7; 32]).public();
        let network = NetworkId::parse("main").unwrap();
        let stamp = search(&key, &network, 12, 0, &AtomicBool::new(false)).unwrap();
        assert!(stamp.meets(&network, &key, 12));
        assert_eq!(
            search(&key, &network, 40, 0, &AtomicBool::new(true)),
            Err(StampFailed::Cancelled)
        );
    }
}
