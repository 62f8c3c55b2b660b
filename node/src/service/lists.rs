//! Moderator lists: following a moderator's topic, the list held for each
//! moderator, and publishing a signed list. A new follower gets the
//! current list by history sync (`service/sync.rs`), not from gossip.
//!
//! Whether a received list replaces the held one is decided in
//! [`super::inbox::Inbox::judge`]. Either way the rule is the same: a list
//! replaces the held one only if its sequence is higher, and when the held
//! list cannot be read the offered one is refused, never taken: taking it
//! could roll the user's moderation back to an older list.

use hearth_protocol::{Message, ModeratorList, NetworkId, PublicKey, open};

use super::{Service, moderator_topic, subscribed_peers};
use crate::error::{HeldListError, NodeError};
use crate::event::Event;
use crate::store::Store;
use crate::swarm::topic_score_params;

/// The list held for `moderator`, with its envelope bytes; `Ok(None)` only
/// when none is stored. A store error or stored bytes that no longer
/// verify are errors, never "no list".
pub(crate) fn held_list(
    store: &Store,
    network: &NetworkId,
    moderator: &PublicKey,
) -> Result<Option<(ModeratorList, Vec<u8>)>, HeldListError> {
    let Some(bytes) = store
        .moderator_list(moderator)
        .map_err(HeldListError::Read)?
    else {
        return Ok(None);
    };
    match open(&bytes, network)
        .map_err(HeldListError::Corrupt)?
        .message
    {
        Message::ModeratorList(list) => Ok(Some((list, bytes))),
        _ => Err(HeldListError::NotAList),
    }
}

impl Service {
    pub(super) fn subscribe_moderator(&mut self, moderator: PublicKey) {
        if self.subscribe_key_topic(moderator) {
            self.moderators.insert(moderator);
        }
    }

    /// Subscribes to `key`'s topic (its lists, and its crisis-directory
    /// updates), scored like the others; false if that failed.
    pub(super) fn subscribe_key_topic(&mut self, key: PublicKey) -> bool {
        let topic = moderator_topic(&self.network, key);
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        match gossipsub.subscribe(&topic) {
            Ok(_) => {
                if let Err(e) = gossipsub.set_topic_params(topic, topic_score_params()) {
                    tracing::warn!(%key, error = %e, "moderator topic unscored");
                }
                true
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "cannot subscribe to a moderator topic");
                false
            }
        }
    }

    pub(super) fn unsubscribe_moderator(&mut self, moderator: PublicKey) {
        // A key trusted for crisis-directory updates keeps its topic.
        let crisis = self.store.trusts_crisis(&moderator).unwrap_or(true);
        if self.moderators.remove(&moderator) && !crisis {
            let topic = moderator_topic(&self.network, moderator);
            self.swarm.behaviour_mut().gossipsub.unsubscribe(&topic);
        }
    }

    /// Stores a verified list that replaces the held one, recompiles the
    /// policy off the task and says so once the new policy is in use.
    pub(super) fn keep_list(
        &mut self,
        list: &ModeratorList,
        bytes: &[u8],
    ) -> Result<(), NodeError> {
        self.store.put_moderator_list(&list.moderator, bytes)?;
        let events = self.events.clone();
        let event = Event::ModeratorList {
            moderator: list.moderator,
            sequence: list.sequence,
            entries: list.entries.len(),
        };
        self.recompile(Some(Box::new(move |done| {
            if done.is_ok() {
                let _ = events.send(event);
            }
        })));
        Ok(())
    }

    /// Publishes a signed moderator list: kept here (so this node serves it
    /// to new followers) and gossiped on the moderator's topic. Returns the
    /// peers it went to.
    pub(super) async fn publish_list(&mut self, bytes: Vec<u8>) -> Result<usize, NodeError> {
        let verified = open(&bytes, &self.network)?;
        let Message::ModeratorList(list) = verified.message else {
            return Err(NodeError::NotAList);
        };
        let moderator = list.moderator;
        let held = held_list(&self.store, &self.network, &moderator)
            .map_err(|source| NodeError::HeldList { moderator, source })?
            .map(|(held, _)| held);
        if let Some(held) = &held
            && held.sequence > list.sequence
        {
            return Err(NodeError::StaleList {
                held: held.sequence,
                offered: list.sequence,
            });
        }
        // The same sequence again is not kept twice, but is sent again.
        if list.may_replace(held.as_ref()).is_ok() {
            self.keep_list(&list, &verified.bytes)?;
        }
        self.store.flush_async().await?;
        Ok(self.gossip_list(moderator, verified.bytes))
    }

    /// Gossips a list (or a crisis-directory update) on its signer's
    /// topic; returns the peers of the topic it went to.
    pub(super) fn gossip_list(&mut self, moderator: PublicKey, bytes: Vec<u8>) -> usize {
        let topic = moderator_topic(&self.network, moderator).hash();
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        // A list sent (or received) in the last ten minutes is refused as a
        // duplicate by gossipsub: nothing went out then.
        match gossipsub.publish(topic.clone(), bytes) {
            Ok(_) => subscribed_peers(gossipsub, &topic),
            Err(e) => {
                tracing::debug!(%moderator, error = %e, "moderator list not sent");
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_protocol::{Keypair, PostDraft};

    use super::*;

    fn store() -> Store {
        Store::temporary(4 * 1024 * 1024).unwrap()
    }

    #[test]
    fn no_stored_list_is_none_and_a_stored_one_reads_back() {
        let store = store();
        let network = NetworkId::default();
        let moderator = Keypair::generate(&mut rand::rng());
        let key = moderator.public();
        assert!(held_list(&store, &network, &key).unwrap().is_none());
        let signed =
            ModeratorList::sign(&moderator, &network, 7, 1_700_000_000_000, "", vec![]).unwrap();
        store.put_moderator_list(&key, &signed.bytes).unwrap();
        let (list, bytes) = held_list(&store, &network, &key).unwrap().unwrap();
        assert_eq!((list.sequence, bytes), (7, signed.bytes));
    }

    #[test]
    fn a_corrupt_held_list_is_an_error_not_no_list() {
        let store = store();
        let network = NetworkId::default();
        let key = Keypair::generate(&mut rand::rng()).public();
        store
            .put_moderator_list(&key, b"not an envelope at all")
            .unwrap();
        assert!(matches!(
            held_list(&store, &network, &key),
            Err(HeldListError::Corrupt(_))
        ));
    }

    #[test]
    fn a_post_stored_as_a_list_is_an_error_not_no_list() {
        let store = store();
        let network = NetworkId::default();
        let author = Keypair::generate(&mut rand::rng());
        let channel = hearth_protocol::ChannelName::parse("grief").unwrap();
        let post = PostDraft::new(channel, "hello", 1_700_000_000_000)
            .sign(&author, &network, 0)
            .unwrap();
        let key = author.public();
        store.put_moderator_list(&key, &post.bytes).unwrap();
        assert!(matches!(
            held_list(&store, &network, &key),
            Err(HeldListError::NotAList)
        ));
    }
}
