//! Crisis-directory updates, the shell's part: trusting a publisher's key
//! (which subscribes to its topic, the same moderator topic its lists use),
//! holding the newest update from each trusted key, listing them, marking
//! one accepted, and publishing this node's own.
//!
//! A received update is validated by the inbox like a moderator list
//! (`inbox/crisis.rs`); here it is held only if its signer is trusted and
//! its sequence is higher than the held one's. It is never applied here:
//! the interface shows it and writes the directory only when the person
//! accepts it.

use hearth_protocol::{CrisisUpdate, Keypair, Message, PublicKey, open};

use super::{Service, moderator_topic};
use crate::clock::now_ms;
use crate::crisis::{CrisisCommand, CrisisUpdateInfo};
use crate::error::NodeError;
use crate::event::Event;

impl Service {
    pub(super) async fn on_crisis_command(&mut self, command: CrisisCommand) {
        match command {
            CrisisCommand::Trust(publisher, on, reply) => {
                let result = self.trust_crisis(publisher, on);
                self.reply_flushed(result, reply);
            }
            CrisisCommand::Trusted(reply) => {
                let _ = reply.send(self.store.crisis_trusted().map_err(Into::into));
            }
            CrisisCommand::Updates(reply) => {
                let _ = reply.send(self.crisis_updates());
            }
            CrisisCommand::Accepted(id, reply) => {
                let result = self.accept_crisis(id);
                self.reply_flushed(result, reply);
            }
            CrisisCommand::PublishSigned(bytes, reply) => {
                let result = self.publish_signed_crisis(bytes).await;
                let _ = reply.send(result.map(|(_, peers)| peers));
            }
            CrisisCommand::Publish {
                note,
                directory,
                reply,
            } => {
                let result = self.publish_crisis(note, directory).await;
                let _ = reply.send(result);
            }
        }
    }

    /// Subscribes to the topics of every trusted publisher and asks peers
    /// for their updates (at start).
    pub(super) fn subscribe_crisis_publishers(&mut self) -> Result<(), NodeError> {
        let trusted = self.store.crisis_trusted()?;
        for publisher in &trusted {
            self.subscribe_key_topic(*publisher);
        }
        self.sync_crisis_keys(trusted.into_iter().collect());
        Ok(())
    }

    fn trust_crisis(&mut self, publisher: PublicKey, on: bool) -> Result<bool, NodeError> {
        let was = self.store.set_crisis_trust(&publisher, on)?;
        if on {
            self.subscribe_key_topic(publisher);
        } else if !self.moderators.contains(&publisher) {
            // Still needed for the lists of a followed moderator.
            let topic = moderator_topic(&self.network, publisher);
            self.swarm.behaviour_mut().gossipsub.unsubscribe(&topic);
        }
        let trusted = self.store.crisis_trusted()?;
        self.sync_crisis_keys(trusted.into_iter().collect());
        Ok(was)
    }

    /// The sequence of the update held from `publisher` (for sync).
    pub(super) fn held_crisis_sequence(
        &self,
        publisher: &PublicKey,
    ) -> Result<Option<u64>, NodeError> {
        Ok(self.held_crisis(publisher)?.map(|h| h.update.sequence))
    }

    /// The update this node serves for `publisher` by history sync, with
    /// its sequence: the one held from a trusted publisher, or this node's
    /// own.
    pub(super) fn servable_crisis(&self, publisher: &PublicKey) -> Option<(u64, Vec<u8>)> {
        let held = self.held_crisis(publisher).ok()??;
        let bytes = self.store.crisis_update(publisher).ok()??;
        Some((held.update.sequence, bytes))
    }

    /// The update held from `publisher`, with its id. Stored bytes that no
    /// longer verify are treated as none (and logged): the next update
    /// replaces them.
    fn held_crisis(&self, publisher: &PublicKey) -> Result<Option<CrisisUpdateInfo>, NodeError> {
        let Some(bytes) = self.store.crisis_update(publisher)? else {
            return Ok(None);
        };
        let verified = match open(&bytes, &self.network) {
            Ok(verified) => verified,
            Err(e) => {
                tracing::warn!(%publisher, error = %e, "held crisis update unreadable; ignored");
                return Ok(None);
            }
        };
        let Message::CrisisUpdate(update) = verified.message else {
            tracing::warn!(%publisher, "held crisis update is another message; ignored");
            return Ok(None);
        };
        let accepted = self.store.crisis_accepted(publisher)? == Some(verified.id);
        Ok(Some(CrisisUpdateInfo {
            id: verified.id,
            update,
            accepted,
        }))
    }

    fn crisis_updates(&self) -> Result<Vec<CrisisUpdateInfo>, NodeError> {
        let mut out = Vec::new();
        for publisher in self.store.crisis_trusted()? {
            out.extend(self.held_crisis(&publisher)?);
        }
        Ok(out)
    }

    fn accept_crisis(
        &mut self,
        id: hearth_protocol::MessageId,
    ) -> Result<CrisisUpdateInfo, NodeError> {
        let held = self
            .crisis_updates()?
            .into_iter()
            .find(|info| info.id == id)
            .ok_or(NodeError::NoCrisisUpdate(id))?;
        self.store
            .set_crisis_accepted(&held.update.publisher, &held.id)?;
        Ok(CrisisUpdateInfo {
            accepted: true,
            ..held
        })
    }

    /// Takes a verified update received on its publisher's topic if the
    /// publisher is trusted and the update newer than the held one; false
    /// (not relayed) otherwise.
    pub(super) fn take_crisis_update(&mut self, update: CrisisUpdate, bytes: &[u8]) -> bool {
        let publisher = update.publisher;
        match self.store.trusts_crisis(&publisher) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => {
                tracing::error!(error = %e, "cannot read crisis trust; update ignored");
                return false;
            }
        }
        let held = match self.held_crisis(&publisher) {
            Ok(held) => held,
            Err(e) => {
                // Without the held sequence an older update could replace
                // a newer one: refuse rather than guess.
                tracing::error!(%publisher, error = %e, "held crisis update unreadable; offered one ignored");
                return false;
            }
        };
        if let Err(e) = update.may_replace(held.as_ref().map(|h| &h.update)) {
            tracing::debug!(%publisher, error = %e, "crisis update not taken");
            return false;
        }
        if let Err(e) = self.store.put_crisis_update(&publisher, bytes) {
            tracing::error!(%publisher, error = %e, "cannot store crisis update");
            return false;
        }
        self.flush_soon();
        self.emit(Event::CrisisUpdate(Box::new(CrisisUpdateInfo {
            id: hearth_protocol::MessageId::of(bytes),
            update,
            accepted: false,
        })));
        true
    }

    async fn publish_crisis(
        &mut self,
        note: String,
        directory: String,
    ) -> Result<(CrisisUpdateInfo, usize), NodeError> {
        let key: Keypair = self.personas.moderator(&self.store)?;
        let held = self.held_crisis(&key.public())?;
        let sequence = held.map_or(1, |h| h.update.sequence.saturating_add(1));
        let signed = CrisisUpdate::sign(&key, &self.network, sequence, now_ms(), note, directory)?;
        self.publish_signed_crisis(signed.bytes).await
    }

    /// Keeps a signed update if it is newer than the one held from its
    /// publisher, and gossips it on the publisher's topic.
    async fn publish_signed_crisis(
        &mut self,
        bytes: Vec<u8>,
    ) -> Result<(CrisisUpdateInfo, usize), NodeError> {
        let verified = open(&bytes, &self.network)?;
        let Message::CrisisUpdate(update) = verified.message else {
            return Err(NodeError::NoCrisisUpdate(verified.id));
        };
        let publisher = update.publisher;
        let held = self.held_crisis(&publisher)?;
        if update.may_replace(held.as_ref().map(|h| &h.update)).is_ok() {
            self.store.put_crisis_update(&publisher, &verified.bytes)?;
            self.store.flush_async().await?;
        }
        let peers = self.gossip_list(publisher, verified.bytes);
        Ok((
            CrisisUpdateInfo {
                id: verified.id,
                update,
                accepted: false,
            },
            peers,
        ))
    }
}
