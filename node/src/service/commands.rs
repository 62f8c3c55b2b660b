//! One handler per [`Command`]: joining and leaving channels, history,
//! personas, the blocklist, follows, status. Publishing lives in
//! `outbox.rs` and moderator lists in `lists.rs`.
//!
//! Settings changes are durable before the caller hears back, and policy
//! changes in use too; the flush and the compilation run off the task
//! (`durable.rs`: [`Service::reply_flushed`], [`Service::reply_recompiled`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use hearth_protocol::{
    BlockEntry, ChannelName, ListId, Message, MessageId, NetworkId, Policy, PolicyList, Scope,
    open_stored,
};
use libp2p::PeerId;
use libp2p::gossipsub::{IdentTopic, TopicHash};
use libp2p::kad::RecordKey;

use super::discovery::LookupSchedule;
use super::{Channel, Reply, Service, dial_address};
use crate::clock::now_ms;
use crate::config::Keep;
use crate::error::{EntryError, NodeError};
use crate::event::{
    ChannelInfo, Event, ModeratorInfo, Origin, PeerInfo, PersonaInfo, PostRecord, ProviderInfo,
    Status,
};
use crate::handle::{Command, HistoryQuery};
use crate::moderation::Compiled;
use crate::personas;
use crate::store::{Store, StoredPost};
use crate::swarm::topic_score_params;

impl Service {
    pub(super) async fn on_command(&mut self, command: Command) {
        match command {
            Command::Join(channel, reply) => {
                let result = self.join(&channel);
                self.reply_flushed(result, reply);
            }
            Command::Leave(channel, reply) => {
                let result = self.leave(&channel);
                self.reply_flushed(result, reply);
            }
            Command::Channels(reply) => {
                let _ = reply.send(self.channel_infos());
            }
            Command::Publish(channel, options, reply) => self.publish(channel, options, reply),
            Command::History(channel, query, reply) => self.history(channel, query, reply),
            Command::Post(id, reply) => {
                let result = self
                    .store
                    .kept_post(&id, now_ms(), &self.config.retention)
                    .map_err(NodeError::from)
                    .map(|found| found.and_then(|stored| self.record(id, &stored)));
                let _ = reply.send(result);
            }
            Command::Peers(reply) => {
                let _ = reply.send(Ok(self.peer_infos()));
            }
            Command::Providers(channel, reply) => {
                let _ = reply.send(Ok(self.providers(&channel)));
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(Ok(self.listen_addrs.clone()));
            }
            Command::Dial(address, reply) => {
                let result =
                    self.swarm
                        .dial(dial_address(address.clone()))
                        .map_err(|e| NodeError::Dial {
                            address,
                            source: Box::new(e),
                        });
                let _ = reply.send(result);
            }
            Command::Persona(channel, reply) => {
                let result = self
                    .personas
                    .get(&self.store, &channel, now_ms())
                    .map(|(key, created)| personas::info(&channel, &key, created))
                    .map_err(NodeError::from);
                self.reply_flushed(result, reply);
            }
            Command::Personas(reply) => {
                let _ = reply.send(self.personas.list(&self.store).map_err(Into::into));
            }
            Command::RotatePersona(channel, reply) => {
                let result = match self.personas.rotate(&self.store, &channel, now_ms()) {
                    Ok((key, created)) => {
                        if self.channels.contains_key(&channel) {
                            self.prepare_persona(&channel, &key);
                        }
                        Ok(personas::info(&channel, &key, created))
                    }
                    Err(e) => Err(NodeError::from(e)),
                };
                self.reply_flushed(result, reply);
            }
            Command::Block(entry, reply) => {
                let result = match check_entry(&entry) {
                    Err(e) => Err(NodeError::InvalidEntry(e)),
                    Ok(()) => self.store.add_block(&entry).map_err(NodeError::from),
                };
                self.reply_recompiled(result, reply);
            }
            Command::BlockAll(entries, reply) => {
                let result = self.store.add_blocks(&entries).map_err(NodeError::from);
                self.reply_recompiled(result, reply);
            }
            Command::Unblock(entry, reply) => {
                let result = self.store.remove_block(&entry).map_err(NodeError::from);
                self.reply_recompiled(result, reply);
            }
            Command::Blocklist(reply) => {
                let _ = reply.send(self.store.blocklist().map_err(Into::into));
            }
            Command::Follow(moderator, scope, reply) => {
                let result = self
                    .store
                    .follow(&moderator, &scope)
                    .map_err(NodeError::from);
                if result.is_ok() {
                    self.subscribe_moderator(moderator);
                    self.sync_followed();
                }
                self.reply_recompiled(result, reply);
            }
            Command::Unfollow(moderator, reply) => {
                let result = self.store.unfollow(&moderator).map_err(NodeError::from);
                self.unsubscribe_moderator(moderator);
                self.reply_recompiled(result, reply);
            }
            Command::PublishList(bytes, reply) => {
                let result = self.publish_list(bytes).await;
                let _ = reply.send(result);
            }
            Command::Follows(reply) => {
                let _ = reply.send(self.store.follows().map_err(Into::into));
            }
            Command::Moderator(reply) => {
                let result = self
                    .personas
                    .moderator(&self.store)
                    .map(|key| {
                        let key = key.public();
                        ModeratorInfo {
                            key,
                            name: key.name(),
                        }
                    })
                    .map_err(NodeError::from);
                self.reply_flushed(result, reply);
            }
            Command::ChannelCard(channel, reply) => {
                let _ = reply.send(self.card_info(&channel));
            }
            Command::PublishCard(draft, reply) => {
                let result = self.publish_card(draft).await;
                let _ = reply.send(result);
            }
            Command::Presence(channel, reply) => {
                let _ = reply.send(self.presence_info(&channel));
            }
            Command::SetPresence(channel, on, reply) => {
                let result = self.set_presence(&channel, on);
                self.reply_flushed(result, reply);
            }
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::ReportKeys(channel, reply) => {
                let result = self.report_keys(&channel);
                let _ = reply.send(result);
            }
            Command::SendReport(channel, sealed, reply) => {
                let result = self.send_report(&channel, sealed);
                let _ = reply.send(result);
            }
            Command::Reports(channel, limit, reply) => {
                let _ = reply.send(self.kept_reports(channel.as_ref(), limit));
            }
            Command::Crisis(command) => self.on_crisis_command(command).await,
            // Handled by the loop itself.
            Command::Shutdown(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// Subscribes to a channel's topic, announces it and looks it up, and
    /// sends what waited for its peers.
    pub(super) fn join(&mut self, channel: &ChannelName) -> Result<PersonaInfo, NodeError> {
        let (persona_key, created) = self.personas.get(&self.store, channel, now_ms())?;
        let persona = personas::info(channel, &persona_key, created);
        if self.channels.contains_key(channel) {
            return Ok(persona);
        }
        let topic = IdentTopic::new(channel.topic(&self.network).to_string());
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        gossipsub
            .subscribe(&topic)
            .map_err(|source| NodeError::Subscribe {
                channel: channel.clone(),
                source,
            })?;
        // Unscored topics are skipped silently by gossipsub: every channel
        // gets its parameters.
        gossipsub
            .set_topic_params(topic.clone(), topic_score_params())
            .map_err(|reason| NodeError::TopicScore {
                channel: channel.clone(),
                reason,
            })?;
        let key = RecordKey::new(&channel.rendezvous_key(&self.network));
        let dht_known = self.dht_known();
        let (lookups, steps) = LookupSchedule::joined(Instant::now(), dht_known);
        self.channels.insert(
            channel.clone(),
            Channel {
                topic,
                key,
                lookups,
            },
        );
        self.discovery_steps(channel, steps);
        self.store.add_channel(channel)?;
        self.sync_joined(channel);
        self.emit(Event::Joined {
            channel: channel.clone(),
            persona: persona.clone(),
        });
        self.prepare_persona(channel, &persona_key);
        self.load_pending(channel);
        // Connected peers may have announced the topic before this node
        // joined it, and gossipsub reports a subscription only once: count
        // them now (a ChannelPeers event), and send what waited for them.
        self.update_channel_peers();
        self.send_pending(channel);
        Ok(persona)
    }

    fn leave(&mut self, channel: &ChannelName) -> Result<bool, NodeError> {
        let Some(state) = self.channels.remove(channel) else {
            return Ok(false);
        };
        let behaviour = self.swarm.behaviour_mut();
        behaviour.gossipsub.unsubscribe(&state.topic);
        behaviour.kad.stop_providing(&state.key);
        self.outbox.forget(channel);
        self.sync_left(channel);
        self.cards_left(channel);
        self.store.remove_channel(channel)?;
        self.emit(Event::Left {
            channel: channel.clone(),
        });
        Ok(true)
    }

    /// Answers a history query off the task, from a clone of the store
    /// and the policy in use: reading and judging a long channel does not
    /// hold up the swarm.
    fn history(
        &mut self,
        channel: ChannelName,
        query: HistoryQuery,
        reply: Reply<Vec<PostRecord>>,
    ) {
        let reader = History {
            store: self.store.clone(),
            policy: self.moderation.current(),
            network: self.network.clone(),
            keep: self.config.retention.keep(&channel),
        };
        self.reads.push(tokio::task::spawn_blocking(move || {
            let _ = reply.send(reader.read(&channel, &query));
        }));
    }

    /// A stored post as a record with the current policy's verdict.
    fn record(&self, id: MessageId, stored: &StoredPost) -> Option<PostRecord> {
        record(&self.network, &self.moderation.current(), id, stored)
    }

    fn channel_infos(&mut self) -> Result<Vec<ChannelInfo>, NodeError> {
        let now = now_ms();
        let mut infos = Vec::new();
        let mut names: Vec<_> = self.channels.keys().cloned().collect();
        names.sort();
        for channel in names {
            let peers = self.channels.get(&channel).map_or(0, |c| c.lookups.peers());
            let (key, created) = self.personas.get(&self.store, &channel, now)?;
            let stored_bytes = self.store.channel_bytes(&channel)?;
            infos.push(ChannelInfo {
                persona: personas::info(&channel, &key, created),
                channel,
                peers,
                stored_bytes,
            });
        }
        Ok(infos)
    }

    fn peer_infos(&self) -> Vec<PeerInfo> {
        let gossipsub = &self.swarm.behaviour().gossipsub;
        let topics: HashMap<PeerId, Vec<TopicHash>> = gossipsub
            .all_peers()
            .map(|(peer, topics)| (*peer, topics.into_iter().cloned().collect()))
            .collect();
        let mut peers: Vec<PeerInfo> = self
            .connections
            .iter()
            .map(|(peer, addresses)| PeerInfo {
                peer: *peer,
                addresses: addresses.clone(),
                channels: topics
                    .get(peer)
                    .into_iter()
                    .flatten()
                    .filter_map(|hash| self.channel_of(hash))
                    .collect(),
                score: gossipsub.peer_score(peer),
            })
            .collect();
        peers.sort_by_key(|p| p.peer.to_string());
        peers
    }

    fn providers(&mut self, channel: &ChannelName) -> Vec<ProviderInfo> {
        use libp2p::kad::store::RecordStore;
        let key = RecordKey::new(&channel.rendezvous_key(&self.network));
        self.swarm
            .behaviour_mut()
            .kad
            .store_mut()
            .providers(&key)
            .into_iter()
            .map(|record| ProviderInfo {
                peer: record.provider,
                addresses: record.addresses,
            })
            .collect()
    }

    fn status(&mut self) -> Result<Status, NodeError> {
        Ok(Status {
            peer_id: self.peer_id,
            network: self.network.to_string(),
            listen_addrs: self.listen_addrs.clone(),
            channels: self.channel_infos()?,
            connected_peers: self.connections.len(),
            reachable: self.reachable(),
            relay_reservations: self.reach_held(),
            announced_addrs: self.swarm.external_addresses().cloned().collect(),
            stored_posts: self.store.post_count(),
            pending_posts: self.store.pending_count(),
            blocklist_entries: self.store.blocklist()?.len(),
            followed_moderators: self.store.follows()?.len(),
        })
    }
}

/// What a history read needs, taken off the task.
struct History {
    store: Store,
    policy: Arc<Compiled>,
    network: NetworkId,
    keep: Keep,
}

impl History {
    fn read(
        &self,
        channel: &ChannelName,
        query: &HistoryQuery,
    ) -> Result<Vec<PostRecord>, NodeError> {
        // Hidden posts are filtered after reading, so read in growing
        // windows until `limit` visible posts are found or the channel ends.
        // The store leaves out what retention deleted or is about to.
        let now = now_ms();
        let mut window = query.limit.max(1);
        loop {
            let stored =
                self.store
                    .channel_posts(channel, query.since_ms, window, now, self.keep)?;
            let exhausted = stored.len() < window;
            let records: Vec<PostRecord> = stored
                .into_iter()
                .filter_map(|(id, post)| record(&self.network, &self.policy, id, &post))
                .filter(|r| query.include_hidden || !r.is_hidden())
                .collect();
            if records.len() >= query.limit || exhausted || window >= 1 << 20 {
                let skip = records.len().saturating_sub(query.limit);
                return Ok(records.into_iter().skip(skip).collect());
            }
            window = window.saturating_mul(4);
        }
    }
}

/// A stored post as a record with `policy`'s verdict; `None` (with a
/// warning) if the stored bytes no longer decode. Their signature was
/// checked before they were stored, and is not again.
fn record(
    network: &NetworkId,
    policy: &Compiled,
    id: MessageId,
    stored: &StoredPost,
) -> Option<PostRecord> {
    match open_stored(&stored.bytes, network) {
        Ok(verified) => match verified.message {
            Message::Post(post) => Some(PostRecord {
                id,
                verdict: policy.verdict(&id, &post),
                post,
                received_ms: stored.received_ms,
                own: stored.own,
                origin: Origin::Stored,
            }),
            _ => None,
        },
        Err(e) => {
            tracing::warn!(id = %id.short(), error = %e, "stored post does not decode; skipped");
            None
        }
    }
}

/// An entry the user adds must be usable: the wire rules, and for a regular
/// expression, that it compiles within the policy's limits (otherwise it
/// would be stored and then silently skipped).
fn check_entry(entry: &BlockEntry) -> Result<(), EntryError> {
    entry.check().map_err(EntryError::Rules)?;
    let probe = Policy::compile([PolicyList {
        id: ListId::Local,
        applies_to: Scope::All,
        entries: vec![entry.clone()],
    }]);
    match probe.problems().first() {
        Some(problem) => Err(EntryError::Unusable(problem.clone())),
        None => Ok(()),
    }
}

/// Checks entries to add together as [`check_entry`] does one, with one
/// probe compilation for all of them; the error names the first unusable
/// entry.
pub(crate) fn check_entries(entries: &[BlockEntry]) -> Result<(), NodeError> {
    let refused = |index: usize, source| NodeError::InvalidEntryOf {
        number: index.saturating_add(1),
        source,
    };
    for (index, entry) in entries.iter().enumerate() {
        entry
            .check()
            .map_err(|e| refused(index, EntryError::Rules(e)))?;
    }
    let probe = Policy::compile([PolicyList {
        id: ListId::Local,
        applies_to: Scope::All,
        entries: entries.to_vec(),
    }]);
    match probe.problems().first() {
        Some(problem) => Err(refused(
            problem.entry,
            EntryError::Unusable(problem.clone()),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use hearth_protocol::BlockTarget;

    use super::*;

    #[test]
    fn an_entry_that_the_policy_cannot_use_is_refused_with_the_reason() {
        let bad = BlockEntry::new(BlockTarget::Regex("(unclosed".into()), "spam");
        let refused = check_entry(&bad).unwrap_err();
        assert!(matches!(refused, EntryError::Unusable(_)));
        let message = NodeError::InvalidEntry(refused).to_string();
        assert!(
            message.starts_with("invalid blocklist entry: "),
            "{message}"
        );
        assert!(!message.contains("entry 0"), "{message}");
        let good = BlockEntry::new(BlockTarget::Keyword("spam".into()), "spam");
        assert!(check_entry(&good).is_ok());
    }
}
