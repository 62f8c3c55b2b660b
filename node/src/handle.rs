//! The cloneable handle through which everything talks to the node task.
//!
//! Each method sends one [`Command`] to the task that owns the swarm, the
//! store and the policy, and waits for its answer. Nothing else touches
//! them.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hearth_protocol::{
    BlockEntry, CardDraft, ChannelName, ContentWarning, MessageId, NetworkId, PublicKey, Scope,
};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::Instrument;

use crate::cards::{CardInfo, PresenceInfo};
use crate::error::NodeError;
use crate::event::{
    ChannelInfo, Event, EventStream, ModeratorInfo, PeerInfo, PersonaInfo, PostRecord,
    ProviderInfo, Published, ReportRecord, ReportSent, Status,
};
use crate::metrics::http::Endpoint;

/// What to publish, beyond the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostOptions {
    /// The text.
    pub text: String,
    /// The post this answers.
    pub reply_to: Option<MessageId>,
    /// A content warning to fold the post behind.
    pub content_warning: Option<ContentWarning>,
    /// A nickname to show beside the persona's name.
    pub nickname: Option<String>,
    /// Stop showing and relaying the post after this long.
    pub expires_in: Option<Duration>,
}

impl PostOptions {
    /// Options with only a text.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

/// Which posts of a channel to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only posts created at or after this time (ms since the Unix epoch).
    pub since_ms: Option<u64>,
    /// At most this many, the newest ones, returned oldest first.
    pub limit: usize,
    /// Include posts the user's policy hides (each carries its verdict).
    pub include_hidden: bool,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        Self {
            since_ms: None,
            limit: 100,
            include_hidden: false,
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, NodeError>>;

/// A post handed to the node by [`NodeHandle::submit`]; resolves to the
/// outcome of its publish. Dropping it does not withdraw the post.
#[derive(Debug)]
#[must_use = "the post is published anyway; await this for its outcome"]
pub struct Submitted {
    answer: oneshot::Receiver<Result<Published, NodeError>>,
}

impl Future for Submitted {
    type Output = Result<Published, NodeError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.answer)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Err(NodeError::Stopped)))
    }
}

/// A request to the node task. One variant per [`NodeHandle`] method.
#[derive(Debug)]
pub(crate) enum Command {
    Join(ChannelName, Reply<PersonaInfo>),
    Leave(ChannelName, Reply<bool>),
    Channels(Reply<Vec<ChannelInfo>>),
    Publish(ChannelName, PostOptions, Reply<Published>),
    History(ChannelName, HistoryQuery, Reply<Vec<PostRecord>>),
    Post(MessageId, Reply<Option<PostRecord>>),
    Peers(Reply<Vec<PeerInfo>>),
    Providers(ChannelName, Reply<Vec<ProviderInfo>>),
    ListenAddrs(Reply<Vec<Multiaddr>>),
    Dial(Multiaddr, Reply<()>),
    Persona(ChannelName, Reply<PersonaInfo>),
    Personas(Reply<Vec<PersonaInfo>>),
    RotatePersona(ChannelName, Reply<PersonaInfo>),
    Block(BlockEntry, Reply<bool>),
    /// Entries already checked by the handle ([`NodeHandle::block_all`]).
    BlockAll(Vec<BlockEntry>, Reply<usize>),
    Unblock(BlockEntry, Reply<bool>),
    Blocklist(Reply<Vec<BlockEntry>>),
    Follow(PublicKey, Scope, Reply<()>),
    Unfollow(PublicKey, Reply<bool>),
    Follows(Reply<Vec<(PublicKey, Scope)>>),
    Moderator(Reply<ModeratorInfo>),
    PublishList(Vec<u8>, Reply<usize>),
    ChannelCard(ChannelName, Reply<Option<CardInfo>>),
    PublishCard(CardDraft, Reply<usize>),
    Presence(ChannelName, Reply<PresenceInfo>),
    SetPresence(ChannelName, bool, Reply<bool>),
    Status(Reply<Status>),
    Shutdown(Reply<()>),
    ReportKeys(ChannelName, Reply<crate::service::ReportKeys>),
    SendReport(
        ChannelName,
        hearth_protocol::report::SealedReport,
        Reply<usize>,
    ),
    Reports(Option<ChannelName>, usize, Reply<Vec<ReportRecord>>),
    Crisis(crate::crisis::CrisisCommand),
}

impl Command {
    /// The command's name, for tracing spans.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Join(..) => "join",
            Command::Leave(..) => "leave",
            Command::Channels(..) => "channels",
            Command::Publish(..) => "publish",
            Command::History(..) => "history",
            Command::Post(..) => "post",
            Command::Peers(..) => "peers",
            Command::Providers(..) => "providers",
            Command::ListenAddrs(..) => "listen_addrs",
            Command::Dial(..) => "dial",
            Command::Persona(..) => "persona",
            Command::Personas(..) => "personas",
            Command::RotatePersona(..) => "rotate_persona",
            Command::Block(..) => "block",
            Command::BlockAll(..) => "block_all",
            Command::Unblock(..) => "unblock",
            Command::Blocklist(..) => "blocklist",
            Command::Follow(..) => "follow",
            Command::Unfollow(..) => "unfollow",
            Command::Follows(..) => "follows",
            Command::Moderator(..) => "moderator",
            Command::PublishList(..) => "publish_list",
            Command::ChannelCard(..) => "channel_card",
            Command::PublishCard(..) => "publish_card",
            Command::Presence(..) => "presence",
            Command::SetPresence(..) => "set_presence",
            Command::Status(..) => "status",
            Command::Shutdown(..) => "shutdown",
            Command::ReportKeys(..) => "report_keys",
            Command::SendReport(..) => "send_report",
            Command::Reports(..) => "reports",
            Command::Crisis(..) => "crisis",
        }
    }
}

/// A handle to a running node. Cheap to clone; every clone talks to the
/// same node. The node stops when [`NodeHandle::shutdown`] is called or the
/// last handle is dropped.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    /// Weak, so that event streams end when the node task (the only strong
    /// sender) stops.
    pub(crate) events: broadcast::WeakSender<Event>,
    pub(crate) peer_id: PeerId,
    pub(crate) network: NetworkId,
    /// The metrics endpoint, when the node serves one.
    pub(crate) metrics: Option<Endpoint>,
}

impl NodeHandle {
    pub(crate) async fn request<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        let command = make(tx);
        let span = tracing::debug_span!("command", name = command.name());
        async move {
            self.commands
                .send(command)
                .await
                .map_err(|_| NodeError::Stopped)?;
            rx.await.map_err(|_| NodeError::Stopped)?
        }
        .instrument(span)
        .await
    }

    /// This node's libp2p peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The network this node is in.
    pub fn network(&self) -> &NetworkId {
        &self.network
    }

    /// The address the metrics endpoint listens on (with the port the
    /// system chose when port 0 was asked), if the node serves one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(Endpoint::addr)
    }

    /// Subscribes to the node's events from now on. On a stopped node the
    /// stream ends at once.
    pub fn events(&self) -> EventStream {
        let inner = match self.events.upgrade() {
            Some(sender) => sender.subscribe(),
            None => broadcast::channel(1).1,
        };
        EventStream { inner }
    }

    /// Joins a channel (idempotent) and returns the persona used there.
    pub async fn join(&self, channel: ChannelName) -> Result<PersonaInfo, NodeError> {
        self.request(|r| Command::Join(channel, r)).await
    }

    /// Leaves a channel; returns whether the node was in it.
    pub async fn leave(&self, channel: ChannelName) -> Result<bool, NodeError> {
        self.request(|r| Command::Leave(channel, r)).await
    }

    /// The joined channels with their peer counts and personas.
    pub async fn channels(&self) -> Result<Vec<ChannelInfo>, NodeError> {
        self.request(Command::Channels).await
    }

    /// Publishes a text post in a joined channel.
    pub async fn publish(
        &self,
        channel: ChannelName,
        text: impl Into<String>,
    ) -> Result<Published, NodeError> {
        self.publish_with(channel, PostOptions::text(text)).await
    }

    /// Publishes a post with options (reply, content warning, nickname,
    /// expiry). The post is stored and flushed before this returns; with no
    /// peers it is sent as soon as peers of the channel appear.
    pub async fn publish_with(
        &self,
        channel: ChannelName,
        options: PostOptions,
    ) -> Result<Published, NodeError> {
        self.submit(channel, options).await?.await
    }

    /// Hands a post to the node and returns as soon as the node has it,
    /// before it is signed and stamped with proof of work; await the
    /// returned [`Submitted`] for the outcome that
    /// [`NodeHandle::publish_with`] returns.
    ///
    /// Once this returns, the post is the node's: it is published even if
    /// the [`Submitted`] is dropped, and a [`NodeHandle::shutdown`] that
    /// follows waits for its proof of work and keeps it in the store,
    /// pending, to go out after the next start. Posts submitted one after
    /// the other are dated in that order. This is how an interface hands
    /// over everything typed when it is closed, without waiting for each
    /// post's proof of work in turn.
    pub async fn submit(
        &self,
        channel: ChannelName,
        options: PostOptions,
    ) -> Result<Submitted, NodeError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Publish(channel, options, reply);
        let span = tracing::debug_span!("command", name = command.name());
        self.commands
            .send(command)
            .instrument(span)
            .await
            .map_err(|_| NodeError::Stopped)?;
        Ok(Submitted { answer })
    }

    /// Stored posts of a channel (joined or not).
    pub async fn history(
        &self,
        channel: ChannelName,
        query: HistoryQuery,
    ) -> Result<Vec<PostRecord>, NodeError> {
        self.request(|r| Command::History(channel, query, r)).await
    }

    /// One stored post, hidden or not, with its verdict: what `/why` asks.
    pub async fn post(&self, id: MessageId) -> Result<Option<PostRecord>, NodeError> {
        self.request(|r| Command::Post(id, r)).await
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NodeError> {
        self.request(Command::Peers).await
    }

    /// The provider records this node's DHT store holds for `channel`:
    /// who announced it and at which addresses. Only a DHT server
    /// (`dht_server`) holds other nodes' records; any node holds its own
    /// (without addresses: it fills them in when asked). For operators
    /// and tests.
    pub async fn dht_providers(
        &self,
        channel: ChannelName,
    ) -> Result<Vec<ProviderInfo>, NodeError> {
        self.request(|r| Command::Providers(channel, r)).await
    }

    /// Full listen addresses, each ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NodeError> {
        self.request(Command::ListenAddrs).await
    }

    /// Dials an address (with or without `/p2p/<peer id>`).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), NodeError> {
        self.request(|r| Command::Dial(address, r)).await
    }

    /// The persona for a channel, created if there is none yet.
    pub async fn persona(&self, channel: ChannelName) -> Result<PersonaInfo, NodeError> {
        self.request(|r| Command::Persona(channel, r)).await
    }

    /// Every persona the node holds.
    pub async fn personas(&self) -> Result<Vec<PersonaInfo>, NodeError> {
        self.request(Command::Personas).await
    }

    /// Drops the persona of a channel and creates a new, unlinked one.
    pub async fn rotate_persona(&self, channel: ChannelName) -> Result<PersonaInfo, NodeError> {
        self.request(|r| Command::RotatePersona(channel, r)).await
    }

    /// Adds an entry to the user's own blocklist; returns whether it was new.
    /// Takes effect for every later post and for history reads.
    pub async fn block(&self, entry: BlockEntry) -> Result<bool, NodeError> {
        self.request(|r| Command::Block(entry, r)).await
    }

    /// Adds many entries to the user's own blocklist at once (an import):
    /// all of them or, if one cannot be used, none. They are written in one
    /// batch, compiled into the policy once and flushed once. Returns how
    /// many were new.
    ///
    /// The entries are checked here, on a blocking thread of the caller's
    /// runtime, so the node task does not spend the time.
    pub async fn block_all(&self, entries: Vec<BlockEntry>) -> Result<usize, NodeError> {
        let entries = tokio::task::spawn_blocking(move || {
            crate::service::check_entries(&entries).map(|()| entries)
        })
        .await
        .map_err(NodeError::Checking)??;
        self.request(|r| Command::BlockAll(entries, r)).await
    }

    /// Removes an entry from the user's own blocklist; returns whether it
    /// was there.
    pub async fn unblock(&self, entry: BlockEntry) -> Result<bool, NodeError> {
        self.request(|r| Command::Unblock(entry, r)).await
    }

    /// The user's own blocklist.
    pub async fn blocklist(&self) -> Result<Vec<BlockEntry>, NodeError> {
        self.request(Command::Blocklist).await
    }

    /// Follows a moderator's lists, for one channel or for all.
    pub async fn follow(&self, moderator: PublicKey, scope: Scope) -> Result<(), NodeError> {
        self.request(|r| Command::Follow(moderator, scope, r)).await
    }

    /// Stops following a moderator; their entries stop applying at once.
    pub async fn unfollow(&self, moderator: PublicKey) -> Result<bool, NodeError> {
        self.request(|r| Command::Unfollow(moderator, r)).await
    }

    /// The followed moderators and where each applies.
    pub async fn follows(&self) -> Result<Vec<(PublicKey, Scope)>, NodeError> {
        self.request(Command::Follows).await
    }

    /// This node's moderator identity, created (and kept in the store) at
    /// the first call. Its key signs what this node publishes as a
    /// moderator; people follow it with [`NodeHandle::follow`].
    pub async fn moderator(&self) -> Result<ModeratorInfo, NodeError> {
        self.request(Command::Moderator).await
    }

    /// Publishes a moderator list signed with
    /// [`hearth_protocol::ModeratorList::sign`]: keeps it (so this node hands
    /// it to new followers) and gossips it on the moderator's topic. Returns
    /// how many peers it was sent to now. A list older than the one held is
    /// refused with [`NodeError::StaleList`].
    pub async fn publish_moderator_list(&self, signed: Vec<u8>) -> Result<usize, NodeError> {
        self.request(|r| Command::PublishList(signed, r)).await
    }

    /// Reports `post` of `channel` to the moderators this node follows for
    /// that channel (at most 8): sealed so that only they can read it,
    /// signed inside by the channel's persona and outside by a throwaway
    /// key, with proof of work (about a million hashes, done on a blocking
    /// thread). Nothing is sent to the reported person. Fails with
    /// [`NodeError::NoModerator`] when no followed moderator covers the
    /// channel, and [`NodeError::NotJoined`] outside a joined channel.
    pub async fn report(
        &self,
        channel: ChannelName,
        post: MessageId,
        reason: impl Into<String>,
    ) -> Result<ReportSent, NodeError> {
        let keys = self
            .request(|r| Command::ReportKeys(channel.clone(), r))
            .await?;
        let moderators = keys.moderators.len();
        let draft = hearth_protocol::report::ReportDraft {
            channel: channel.clone(),
            post,
            reason: reason.into(),
            created_ms: keys.now_ms,
        };
        let sealed = tokio::task::spawn_blocking(move || keys.seal(&draft))
            .await
            .map_err(NodeError::Signing)??;
        let id = sealed.id;
        let peers = self
            .request(|r| Command::SendReport(channel, sealed, r))
            .await?;
        Ok(ReportSent {
            id,
            moderators,
            peers,
        })
    }

    /// Reports this node opened as a moderator, the newest `limit`, oldest
    /// first; of one channel or of all. Empty on a node that is no
    /// moderator or was sent none.
    pub async fn reports(
        &self,
        channel: Option<ChannelName>,
        limit: usize,
    ) -> Result<Vec<ReportRecord>, NodeError> {
        self.request(|r| Command::Reports(channel, limit, r)).await
    }

    /// The card held for `channel`, with why it is trusted; `None` when the
    /// node holds none.
    pub async fn channel_card(&self, channel: ChannelName) -> Result<Option<CardInfo>, NodeError> {
        self.request(|r| Command::ChannelCard(channel, r)).await
    }

    /// Signs `draft` with this node's moderator key (see
    /// [`NodeHandle::moderator`]) as the channel's founding key, keeps it
    /// and gossips it on the channel's topic. The card is dated now (or
    /// just after the held one, if the clock is behind it);
    /// `draft.created_ms` is ignored. Returns the peers it went to. Fails
    /// with [`NodeError::CardFounder`] if another key's card is held.
    pub async fn publish_card(&self, draft: CardDraft) -> Result<usize, NodeError> {
        self.request(|r| Command::PublishCard(draft, r)).await
    }

    /// When the declared moderators of `channel` were last heard from; ask
    /// [`PresenceInfo::quiet_at`] whether none is active.
    pub async fn moderator_presence(
        &self,
        channel: ChannelName,
    ) -> Result<PresenceInfo, NodeError> {
        self.request(|r| Command::Presence(channel, r)).await
    }

    /// Turns this node's presence heartbeats in `channel` on or off (off by
    /// default). While on, and while this node's moderator key is a
    /// declared moderator of the channel's card, the node sends a signed
    /// heartbeat every five minutes. Returns whether they were on.
    pub async fn set_moderator_presence(
        &self,
        channel: ChannelName,
        on: bool,
    ) -> Result<bool, NodeError> {
        self.request(|r| Command::SetPresence(channel, on, r)).await
    }

    /// A snapshot of the node's state.
    pub async fn status(&self) -> Result<Status, NodeError> {
        self.request(Command::Status).await
    }

    /// Stops the node: flushes the store, closes connections and the
    /// metrics endpoint, and returns when everything is written and closed.
    /// Later calls on any clone return [`NodeError::Stopped`].
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        let result = match self.request(Command::Shutdown).await {
            Ok(()) | Err(NodeError::Stopped) => Ok(()),
            Err(e) => Err(e),
        };
        if let Some(endpoint) = &self.metrics {
            endpoint.closed().await;
        }
        result
    }
}
