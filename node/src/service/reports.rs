//! Reports to moderators: sending one, and what a node does with one it
//! receives (`docs/protocol.md` section 20).
//!
//! A report travels on the channel's own topic, like a post, so the
//! reporter's node does not reveal which peer is the moderator. Every node
//! of the channel checks its outer body (size, time, proof of work,
//! throwaway signature) and relays it; a node holding a moderator key
//! tries to open it, and keeps and announces the ones sealed to it
//! ([`Event::Report`]). Other nodes keep nothing of a report.
//!
//! Sealing costs about a million hashes, so the handle seals on a blocking
//! thread between two commands: [`Command::ReportKeys`] hands out what it
//! needs, [`Command::SendReport`] gossips the result.
//!
//! [`Command::ReportKeys`]: crate::handle::Command::ReportKeys
//! [`Command::SendReport`]: crate::handle::Command::SendReport

use hearth_protocol::report::{
    REPORT_POW_BITS, REPORT_SLOTS, ReportContext, ReportDraft, ReportSecrets, SealedReport,
    check_report, seal_report,
};
use hearth_protocol::{BuildError, ChannelName, Keypair, Limits, NetworkId, PublicKey, Topic};
use libp2p::PeerId;
use libp2p::gossipsub::{self, MessageAcceptance};

use super::{Service, subscribed_peers};
use crate::clock::now_ms;
use crate::config::Rate;
use crate::error::NodeError;
use crate::event::{Event, ReportRecord};
use crate::rate::RateLimiter;

/// How old a report may be when it arrives. Reports are not kept by
/// relays nor served by history sync: they reach the moderators online
/// when they are sent. Together with the clock skew this stays within
/// gossipsub's ten-minute duplicate cache, so a replay inside the window
/// is dropped by gossipsub and one after it is refused as too old.
const REPORT_MAX_AGE_MS: u64 = 5 * 60 * 1000;
/// Reports each forwarding peer may pass on: honest peers relay few.
const PER_PEER: Rate = Rate {
    per_minute: 30,
    burst: 30,
};
/// Reports a moderator keeps from one reporting persona: someone
/// reporting everyone is slowed down without silencing them.
const PER_REPORTER: Rate = Rate {
    per_minute: 2,
    burst: 10,
};
/// Most keys each limiter tracks.
const RATE_KEYS: usize = 10_000;

/// The receiving side's limits.
#[derive(Debug)]
pub(crate) struct Reports {
    per_peer: RateLimiter<PeerId>,
    per_reporter: RateLimiter<PublicKey>,
}

impl Reports {
    pub(super) fn new() -> Self {
        Self {
            per_peer: RateLimiter::new(PER_PEER, RATE_KEYS),
            per_reporter: RateLimiter::new(PER_REPORTER, RATE_KEYS),
        }
    }
}

/// What sealing a report needs from the node task.
#[derive(Debug)]
pub(crate) struct ReportKeys {
    /// The channel's persona, which signs inside.
    reporter: Keypair,
    /// The followed moderators whose scope covers the channel.
    pub(crate) moderators: Vec<PublicKey>,
    network: NetworkId,
    /// The date of the report.
    pub(crate) now_ms: u64,
}

impl ReportKeys {
    /// Seals `draft` with fresh secrets and [`REPORT_POW_BITS`] of work.
    pub(crate) fn seal(&self, draft: &ReportDraft) -> Result<SealedReport, BuildError> {
        let secrets = ReportSecrets::generate(&mut rand::rng());
        seal_report(
            draft,
            &self.reporter,
            &self.moderators,
            &self.network,
            &secrets,
            REPORT_POW_BITS,
        )
    }
}

impl Service {
    /// The persona and moderators a report of `channel` is sealed with.
    pub(super) fn report_keys(&mut self, channel: &ChannelName) -> Result<ReportKeys, NodeError> {
        if !self.channels.contains_key(channel) {
            return Err(NodeError::NotJoined(channel.clone()));
        }
        let mut moderators: Vec<PublicKey> = self
            .store
            .follows()?
            .into_iter()
            .filter(|(_, scope)| scope.covers(channel))
            .map(|(key, _)| key)
            .collect();
        if moderators.is_empty() {
            return Err(NodeError::NoModerator(channel.clone()));
        }
        moderators.sort();
        moderators.dedup();
        if moderators.len() > REPORT_SLOTS {
            tracing::info!(
                %channel,
                followed = moderators.len(),
                "a report reaches the first {REPORT_SLOTS} followed moderators"
            );
            moderators.truncate(REPORT_SLOTS);
        }
        let now = now_ms();
        let (reporter, _) = self.personas.get(&self.store, channel, now)?;
        Ok(ReportKeys {
            reporter,
            moderators,
            network: self.network.clone(),
            now_ms: now,
        })
    }

    /// Gossips a sealed report on its channel's topic; returns to how many
    /// peers.
    pub(super) fn send_report(
        &mut self,
        channel: &ChannelName,
        sealed: SealedReport,
    ) -> Result<usize, NodeError> {
        use libp2p::gossipsub::PublishError;
        let Some(state) = self.channels.get(channel) else {
            return Err(NodeError::NotJoined(channel.clone()));
        };
        let hash = state.topic.hash();
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        Ok(match gossipsub.publish(hash.clone(), sealed.bytes) {
            Ok(_) | Err(PublishError::Duplicate) => subscribed_peers(gossipsub, &hash),
            Err(PublishError::NoPeersSubscribedToTopic) => 0,
            Err(e) => {
                tracing::warn!(%channel, error = %e, "report not sent");
                0
            }
        })
    }

    /// Kept reports, newest `limit`, oldest first.
    pub(super) fn kept_reports(
        &self,
        channel: Option<&ChannelName>,
        limit: usize,
    ) -> Result<Vec<ReportRecord>, NodeError> {
        Ok(self.store.reports(channel, limit)?)
    }

    /// Judges a report gossiped on `topic`, keeps and announces it when it
    /// is sealed to this node's moderator key, and reports the result to
    /// gossipsub exactly once.
    pub(super) fn on_report(
        &mut self,
        source: PeerId,
        message_id: &gossipsub::MessageId,
        message: &gossipsub::Message,
    ) {
        let acceptance = self.judge_report(&source, message.topic.as_str(), &message.data);
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message_id, &source, acceptance);
    }

    fn judge_report(&mut self, source: &PeerId, topic: &str, data: &[u8]) -> MessageAcceptance {
        let channel = match Topic::parse(topic) {
            Ok(Topic::Channel { network, channel })
                if network == self.network && self.channels.contains_key(&channel) =>
            {
                channel
            }
            // Reports belong on a joined channel's topic only.
            _ => return MessageAcceptance::Ignore,
        };
        let now = self.now();
        // Charged before any hashing, as for posts.
        if !self.reports.per_peer.allow(source, now.mono_ms) {
            return MessageAcceptance::Ignore;
        }
        let limits = Limits {
            max_clock_skew_ms: self.config.limits.messages.max_clock_skew_ms,
            max_age_ms: REPORT_MAX_AGE_MS,
        };
        let ctx = ReportContext::new(&self.network, now.wall_ms, &limits).channel(&channel);
        let outer = match check_report(data, &ctx) {
            Ok(outer) => outer,
            Err(e) => {
                tracing::debug!(%channel, error = %e, "report refused");
                let reason = format!("report: {e}");
                let mono_ms = now.mono_ms;
                if let Some(report) =
                    self.refusals
                        .refuse(Some(*source), Some(channel), reason, mono_ms)
                {
                    self.report_refusals(report);
                }
                return if e.is_invalid() {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Ignore
                };
            }
        };
        // Never create a moderator key here: a node without one is a relay.
        let key = match self.store.moderator_secret() {
            Ok(Some(secret)) => Keypair::from_secret_bytes(secret),
            Ok(None) => return MessageAcceptance::Accept,
            Err(e) => {
                tracing::error!(error = %e, "moderator key unreadable; report relayed unread");
                return MessageAcceptance::Accept;
            }
        };
        let report = match outer.open(&key) {
            Ok(Some(report)) => report,
            Ok(None) => return MessageAcceptance::Accept,
            // Sealed to this moderator but broken inside: whoever sealed
            // it is at fault, which relays cannot see; relay it like any.
            Err(e) => {
                tracing::info!(%channel, error = %e, "a report sealed to this moderator is broken");
                return MessageAcceptance::Accept;
            }
        };
        if !self
            .reports
            .per_reporter
            .allow(&report.reporter, now.mono_ms)
        {
            tracing::info!(
                %channel,
                reporter = %report.reporter.name(),
                "reporter over its rate; report not kept"
            );
            return MessageAcceptance::Accept;
        }
        let record = ReportRecord {
            id: report.id,
            channel: report.channel,
            created_ms: report.created_ms,
            received_ms: now.wall_ms,
            post: report.post,
            reason: report.reason,
            reporter: report.reporter,
        };
        match self.store.put_report(&record) {
            Ok(true) => {
                self.flush_soon();
                self.emit(Event::Report(Box::new(record)));
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot keep a report"),
        }
        // Relayed whether or not it was for this node: a moderator's node
        // behaves like every other.
        MessageAcceptance::Accept
    }
}
