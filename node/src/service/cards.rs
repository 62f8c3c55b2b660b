//! Channel cards and moderator presence, the shell's part: the held card
//! of each channel, taking received cards and heartbeats (trust decided by
//! [`crate::cards::judge_card`]), publishing this node's card, announcing
//! it again when a late joiner subscribes, and the presence heartbeat.
//!
//! A late joiner gets the card from the founding moderator's node: when a
//! peer subscribes to a channel whose held card this node's moderator key
//! signed, the node signs the card again with the current time (a new
//! message: a republished identical one would be dropped by gossipsub's
//! duplicate cache) and gossips it, at most once a minute per channel; and
//! it does so every 30 minutes anyway, for newcomers who are not its
//! direct peers. History sync carries the card too (`service/sync.rs`):
//! a newcomer that joins while the founder is offline gets it from any
//! peer of the channel that holds it, judged by the same trust rules.

use std::collections::{HashMap, HashSet};

use hearth_protocol::{
    CardDraft, ChannelCard, ChannelName, Keypair, Message, ModeratorPresence, PublicKey, open,
};
use libp2p::gossipsub::IdentTopic;
use libp2p::gossipsub::{PublishError, TopicHash};

use super::{Service, subscribed_peers};
use crate::cards::{CardInfo, CardTrust, PRESENCE_INTERVAL_MS, Presence, PresenceInfo, judge_card};
use crate::clock::now_ms;
use crate::error::NodeError;
use crate::event::Event;

/// A card is announced again for a new subscriber at most this often.
const REANNOUNCE_EVERY_MS: u64 = 60_000;
/// The founder's node announces its cards again this often anyway, so
/// newcomers who are not its direct peers get them too.
const REFRESH_EVERY_MS: u64 = 30 * 60 * 1000;

/// Cards and presence state of the service.
#[derive(Debug, Default)]
pub(super) struct CardState {
    presence: Presence,
    /// When each channel's card was last announced again.
    announced: HashMap<ChannelName, u64>,
    /// Channels where a newcomer came within the minute after the last
    /// announcement: announced once that minute is over.
    deferred: HashSet<ChannelName>,
    /// When the next round of heartbeats is due (wall ms).
    next_heartbeat_ms: u64,
    /// When the founder's cards are next announced again anyway (wall ms).
    next_refresh_ms: u64,
}

impl Service {
    /// The card held for `channel`. Stored bytes that no longer verify are
    /// treated as no card (and logged): the next card replaces them.
    pub(super) fn held_card(
        &self,
        channel: &ChannelName,
    ) -> Result<Option<ChannelCard>, NodeError> {
        let Some(bytes) = self.store.card(channel)? else {
            return Ok(None);
        };
        match open(&bytes, &self.network).map(|v| v.message) {
            Ok(Message::ChannelCard(card)) if &card.channel == channel => Ok(Some(card)),
            Ok(_) => {
                tracing::warn!(%channel, "stored card is another message; ignored");
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(%channel, error = %e, "stored card unreadable; ignored");
                Ok(None)
            }
        }
    }

    /// The moderators the person follows for `channel` (for it, a parent
    /// channel, or every channel).
    fn followed_for(&self, channel: &ChannelName) -> Result<Vec<PublicKey>, NodeError> {
        Ok(self
            .store
            .follows()?
            .into_iter()
            .filter(|(_, scope)| scope.covers(channel))
            .map(|(key, _)| key)
            .collect())
    }

    /// The held card of `channel` and why it is trusted.
    pub(super) fn card_info(&self, channel: &ChannelName) -> Result<Option<CardInfo>, NodeError> {
        let Some(card) = self.held_card(channel)? else {
            return Ok(None);
        };
        let own = self
            .store
            .moderator_secret()?
            .map(|secret| Keypair::from_secret_bytes(secret).public());
        let trust = if own == Some(card.founder) {
            CardTrust::Own
        } else if self.followed_for(channel)?.contains(&card.founder) {
            CardTrust::Followed
        } else {
            CardTrust::FirstSeen
        };
        Ok(Some(CardInfo { card, trust }))
    }

    /// Takes a verified card received on its channel's topic if it is
    /// trusted and newer; false (not relayed) otherwise.
    pub(super) fn take_card(&mut self, card: ChannelCard, bytes: &[u8]) -> bool {
        let judged = self.held_card(&card.channel).and_then(|held| {
            let followed = self.followed_for(&card.channel)?;
            Ok(judge_card(&card, held.as_ref(), &followed))
        });
        let trust = match judged {
            Ok(Ok(trust)) => trust,
            Ok(Err(refusal)) => {
                tracing::debug!(channel = %card.channel, founder = %card.founder, %refusal, "channel card not taken");
                return false;
            }
            Err(e) => {
                tracing::error!(channel = %card.channel, error = %e, "held card unreadable; offered card ignored");
                return false;
            }
        };
        if let Err(e) = self.store.put_card(&card.channel, bytes) {
            tracing::error!(channel = %card.channel, error = %e, "cannot store channel card");
            return false;
        }
        self.flush_soon();
        self.emit(Event::ChannelCard(Box::new(CardInfo { card, trust })));
        true
    }

    /// Records a heartbeat from a declared moderator of its channel; false
    /// (not relayed) for anyone else's.
    pub(super) fn take_presence(&mut self, presence: &ModeratorPresence) -> bool {
        let card = match self.held_card(&presence.channel) {
            Ok(card) => card,
            Err(e) => {
                tracing::error!(error = %e, "held card unreadable; heartbeat ignored");
                return false;
            }
        };
        if !card.is_some_and(|c| c.is_moderator(&presence.moderator)) {
            return false;
        }
        // Heard now: the heartbeat's own date is the sender's clock.
        self.heard(&presence.channel, presence.moderator, now_ms());
        true
    }

    fn heard(&mut self, channel: &ChannelName, moderator: PublicKey, at_ms: u64) {
        self.cards.presence.heard(channel, moderator, at_ms);
        self.emit(Event::ModeratorPresence {
            channel: channel.clone(),
            moderator,
            at_ms,
        });
    }

    /// When the declared moderators of `channel` were last heard from.
    pub(super) fn presence_info(&self, channel: &ChannelName) -> Result<PresenceInfo, NodeError> {
        let card = self.held_card(channel)?;
        Ok(self.cards.presence.info(channel, card.as_ref()))
    }

    /// Forgets the presence of a channel left.
    pub(super) fn cards_left(&mut self, channel: &ChannelName) {
        self.cards.presence.forget(channel);
        self.cards.announced.remove(channel);
        self.cards.deferred.remove(channel);
    }

    /// Signs, keeps and gossips this node's card for `draft.channel`.
    pub(super) async fn publish_card(&mut self, draft: CardDraft) -> Result<usize, NodeError> {
        let founder = self.personas.moderator(&self.store)?;
        let channel = draft.channel.clone();
        let held = self.held_card(&channel)?;
        if let Some(held) = &held
            && held.founder != founder.public()
        {
            return Err(NodeError::CardFounder {
                channel,
                founder: held.founder,
            });
        }
        let created_ms = dated_after(held.as_ref(), now_ms());
        let peers = self
            .sign_and_send_card(
                &founder,
                CardDraft {
                    created_ms,
                    ..draft
                },
            )
            .await?;
        Ok(peers)
    }

    async fn sign_and_send_card(
        &mut self,
        founder: &Keypair,
        draft: CardDraft,
    ) -> Result<usize, NodeError> {
        let channel = draft.channel.clone();
        let signed = ChannelCard::sign(founder, &self.network, draft)?;
        self.store.put_card(&channel, &signed.bytes)?;
        self.store.flush_async().await?;
        let topic = self.channel_topic(&channel);
        let peers = self.gossip_note(&topic, signed.bytes);
        if let Message::ChannelCard(card) = signed.message {
            self.emit(Event::ChannelCard(Box::new(CardInfo {
                card,
                trust: CardTrust::Own,
            })));
        }
        Ok(peers)
    }

    fn channel_topic(&self, channel: &ChannelName) -> TopicHash {
        IdentTopic::new(channel.topic(&self.network).to_string()).hash()
    }

    /// Gossips a card or heartbeat; returns the peers of its topic.
    fn gossip_note(&mut self, topic: &TopicHash, bytes: Vec<u8>) -> usize {
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        match gossipsub.publish(topic.clone(), bytes) {
            Ok(_) => subscribed_peers(gossipsub, topic),
            Err(PublishError::NoPeersSubscribedToTopic) => 0,
            Err(e) => {
                tracing::debug!(error = %e, "card or heartbeat not sent");
                0
            }
        }
    }

    /// A peer subscribed to `channel`: if this node founded its card,
    /// announce it again (signed anew) so the newcomer gets it.
    pub(super) fn announce_card_to_newcomer(&mut self, channel: &ChannelName) {
        let now = now_ms();
        if self
            .cards
            .announced
            .get(channel)
            .is_some_and(|at| now.saturating_sub(*at) < REANNOUNCE_EVERY_MS)
        {
            self.cards.deferred.insert(channel.clone());
            return;
        }
        let Some(founder) = self.own_moderator_key() else {
            return;
        };
        let Ok(Some(held)) = self.held_card(channel) else {
            return;
        };
        if held.founder != founder.public() {
            return;
        }
        let draft = CardDraft {
            channel: held.channel.clone(),
            created_ms: dated_after(Some(&held), now),
            age: held.age,
            retention_days: held.retention_days,
            moderators: held.moderators.clone(),
            rules: held.rules.clone(),
        };
        match ChannelCard::sign(&founder, &self.network, draft) {
            Ok(signed) => {
                if let Err(e) = self.store.put_card(channel, &signed.bytes) {
                    tracing::warn!(%channel, error = %e, "cannot store re-signed card");
                    return;
                }
                self.flush_soon();
                let topic = self.channel_topic(channel);
                let peers = self.gossip_note(&topic, signed.bytes);
                tracing::debug!(%channel, peers, "channel card announced again");
                self.cards.announced.insert(channel.clone(), now);
            }
            Err(e) => tracing::warn!(%channel, error = %e, "cannot re-sign channel card"),
        }
    }

    /// This node's moderator key, if it has one; never creates one (a node
    /// that never moderated has nothing to announce).
    fn own_moderator_key(&mut self) -> Option<Keypair> {
        match self.store.moderator_secret() {
            Ok(Some(_)) => self.personas.moderator(&self.store).ok(),
            _ => None,
        }
    }

    /// Turns heartbeats for `channel` on or off; on sends one at once.
    pub(super) fn set_presence(
        &mut self,
        channel: &ChannelName,
        on: bool,
    ) -> Result<bool, NodeError> {
        let was = self.store.set_presence(channel, on)?;
        if on {
            self.send_heartbeat(channel);
        }
        Ok(was)
    }

    /// The 1 s tick: sends heartbeats every [`PRESENCE_INTERVAL_MS`] and
    /// announces this node's cards again every 30 minutes.
    pub(super) fn presence_tick(&mut self) {
        let now = now_ms();
        if self.cards.next_refresh_ms == 0 {
            // Not at start: peers are not there yet.
            self.cards.next_refresh_ms = now.saturating_add(REFRESH_EVERY_MS);
        } else if now >= self.cards.next_refresh_ms {
            self.cards.next_refresh_ms = now.saturating_add(REFRESH_EVERY_MS);
            let joined: Vec<ChannelName> = self.channels.keys().cloned().collect();
            for channel in joined {
                self.cards.announced.remove(&channel);
                self.announce_card_to_newcomer(&channel);
            }
        }
        let due: Vec<ChannelName> = self
            .cards
            .deferred
            .iter()
            .filter(|c| {
                self.cards
                    .announced
                    .get(*c)
                    .is_none_or(|at| now.saturating_sub(*at) >= REANNOUNCE_EVERY_MS)
            })
            .cloned()
            .collect();
        for channel in due {
            self.cards.deferred.remove(&channel);
            self.announce_card_to_newcomer(&channel);
        }
        if now < self.cards.next_heartbeat_ms {
            return;
        }
        self.cards.next_heartbeat_ms = now.saturating_add(PRESENCE_INTERVAL_MS);
        let channels = match self.store.presence_channels() {
            Ok(channels) => channels,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read presence settings");
                return;
            }
        };
        for channel in channels {
            self.send_heartbeat(&channel);
        }
    }

    /// Sends one heartbeat in `channel` if the node is in it and its
    /// moderator key is a declared moderator of the held card.
    fn send_heartbeat(&mut self, channel: &ChannelName) {
        if !self.channels.contains_key(channel) {
            return;
        }
        let Some(key) = self.own_moderator_key() else {
            return;
        };
        let Ok(Some(card)) = self.held_card(channel) else {
            return;
        };
        if !card.is_moderator(&key.public()) {
            return;
        }
        let now = now_ms();
        match ModeratorPresence::sign(&key, &self.network, channel.clone(), now) {
            Ok(signed) => {
                let topic = self.channel_topic(channel);
                self.gossip_note(&topic, signed.bytes);
                self.heard(channel, key.public(), now);
            }
            Err(e) => tracing::warn!(%channel, error = %e, "cannot sign heartbeat"),
        }
    }
}

/// A date for a new card: now, or just after the held card if the clock is
/// behind it (a card must be strictly newer to replace it).
fn dated_after(held: Option<&ChannelCard>, now_ms: u64) -> u64 {
    held.map_or(now_ms, |h| now_ms.max(h.created_ms.saturating_add(1)))
}
