//! The control socket: how `persona`, `block`, `history`, `peers` and
//! `status` reach a node that is running on the same data directory.
//!
//! sled lets one process open a store, so a running node (`chat`, `run`)
//! serves `<data dir>/control.sock`, a Unix domain socket only its owner
//! may use (mode 0600). A client connects, writes one JSON request on one
//! line, and reads one JSON response line. A request line longer than
//! 1 MiB, or not UTF-8, is answered with an error like any invalid
//! request. With no node running, the commands open the store themselves
//! through a node that neither listens nor dials
//! ([`crate::config::Config::offline_node_config`]); both paths run the
//! same [`execute`], so the answers are the same.
//!
//! A socket file left by a crashed node refuses connections; it is
//! detected and removed.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::StreamExt as _;
use hearth_node::store::StoreError;
use hearth_node::{HistoryQuery, NodeError, NodeHandle};
use hearth_protocol::ChannelName;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::FramedRead;

use crate::care::updates::UpdateJson;
use crate::config::Config;
use crate::json::{
    self, BlockEntryJson, CardJson, FollowJson, JsonEvent, ModeratorJson, PeerJson, PersonaJson,
    ReportJson, StatusJson,
};
use crate::lines::{BadLine, BoundedLines};

/// The socket's file name inside the data directory.
pub(crate) const SOCKET_NAME: &str = "control.sock";

/// Longest request line the server reads.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Longest response line the client reads.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// How long the server waits for a client's request line.
const REQUEST_PATIENCE: Duration = Duration::from_secs(30);
/// How long a client waits for a running node's answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to keep retrying while another process briefly holds the store.
const IN_USE_PATIENCE: Duration = Duration::from_secs(5);

/// `<data dir>/control.sock`.
pub(crate) fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// A request to the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Is a node there?
    Ping,
    /// Every persona.
    Personas,
    /// The persona of a channel, created if there is none.
    Persona {
        /// The channel.
        channel: String,
    },
    /// Drop a channel's persona and create a new one.
    RotatePersona {
        /// The channel.
        channel: String,
    },
    /// Add blocklist entries (one for `block add`, many for `block
    /// import`).
    Block {
        /// The entries.
        entries: Vec<BlockEntryJson>,
    },
    /// Remove the blocklist entries with this target (and scope, if given).
    Unblock {
        /// `persona`, `post`, `keyword`, `regex` or `channel`.
        kind: String,
        /// What it blocks.
        value: String,
        /// Only the entry limited to this channel; `None` removes the entry
        /// in every scope.
        #[serde(default)]
        scope: Option<String>,
    },
    /// The user's own blocklist.
    Blocklist,
    /// Stored posts of a channel.
    History {
        /// The channel.
        channel: String,
        /// Only posts written at or after this time.
        #[serde(default)]
        since_ms: Option<u64>,
        /// At most this many, the newest.
        limit: usize,
        /// Include hidden posts (as `hidden` entries).
        #[serde(default)]
        include_hidden: bool,
    },
    /// Connected peers.
    Peers,
    /// The node's state.
    Status,
    /// The node's moderator key, created if there is none.
    Moderator,
    /// Follow a moderator.
    Follow {
        /// The moderator's key (hex).
        key: String,
        /// Only in this channel; every channel if absent.
        #[serde(default)]
        channel: Option<String>,
    },
    /// Stop following a moderator.
    Unfollow {
        /// The moderator's key (hex).
        key: String,
    },
    /// The followed moderators.
    Follows,
    /// Reports kept by this node as a moderator.
    Reports {
        /// Only of this channel; every channel if absent.
        #[serde(default)]
        channel: Option<String>,
        /// At most this many, the newest.
        limit: usize,
    },
    /// The card held for a channel.
    Card {
        /// The channel.
        channel: String,
    },
    /// Sign a channel card with the node's moderator key and publish it.
    PublishCard {
        /// The channel.
        channel: String,
        /// `adult` or `teen`.
        age: String,
        /// Days the channel asks posts to be kept.
        retention_days: u32,
        /// The other moderators' keys (hex).
        #[serde(default)]
        moderators: Vec<String>,
        /// The rules.
        #[serde(default)]
        rules: String,
    },
    /// Turn presence heartbeats in a channel on or off.
    SetPresence {
        /// The channel.
        channel: String,
        /// On or off.
        on: bool,
    },
    /// Trust or stop trusting a key for crisis-directory updates.
    CrisisTrust {
        /// The publisher's key (hex).
        key: String,
        /// Trust (true) or stop trusting.
        on: bool,
    },
    /// The keys trusted for crisis-directory updates.
    CrisisTrusted,
    /// The updates held from trusted keys, with their directories.
    CrisisUpdates,
    /// Record that the person accepted a held update (already applied).
    CrisisAccepted {
        /// Its full id (hex).
        id: String,
    },
    /// Sign a crisis directory with the node's moderator key and publish
    /// it.
    CrisisPublish {
        /// What changed, one line (may be empty).
        #[serde(default)]
        note: String,
        /// The directory file's text.
        directory: String,
    },
}

impl Request {
    /// True for requests that only read: with no node running, they never
    /// create a store where there is none.
    pub(crate) fn is_read_only(&self) -> bool {
        matches!(
            self,
            Request::Ping
                | Request::Personas
                | Request::Blocklist
                | Request::History { .. }
                | Request::Peers
                | Request::Status
                | Request::Follows
                | Request::Reports { .. }
                | Request::Card { .. }
                | Request::CrisisTrusted
                | Request::CrisisUpdates
        )
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub(crate) enum Reply {
    /// A node is there.
    Pong {
        /// Its process id.
        pid: u32,
    },
    /// Personas.
    Personas {
        /// The personas.
        personas: Vec<PersonaJson>,
    },
    /// One persona.
    Persona {
        /// The persona.
        persona: PersonaJson,
    },
    /// The result of a block.
    Blocked {
        /// How many entries were new.
        added: usize,
        /// How many were already there.
        existing: usize,
    },
    /// The result of an unblock.
    Unblocked {
        /// How many entries were removed.
        removed: usize,
    },
    /// The blocklist.
    Blocklist {
        /// Its entries.
        entries: Vec<BlockEntryJson>,
    },
    /// Posts, oldest first, as `post` and `hidden` lines.
    Posts {
        /// The posts.
        posts: Vec<JsonEvent>,
    },
    /// Peers.
    Peers {
        /// The peers.
        peers: Vec<PeerJson>,
    },
    /// The node's state.
    Status {
        /// The state.
        status: StatusJson,
    },
    /// The node's moderator identity.
    Moderator {
        /// The moderator.
        moderator: ModeratorJson,
    },
    /// The result of a follow or unfollow.
    Followed {
        /// Whether anything changed.
        changed: bool,
    },
    /// The followed moderators.
    Follows {
        /// The follows.
        follows: Vec<FollowJson>,
    },
    /// Kept reports, oldest first.
    Reports {
        /// The reports.
        reports: Vec<ReportJson>,
    },
    /// The card held for a channel.
    Card {
        /// The card, if one is held.
        card: Option<CardJson>,
    },
    /// A card was published.
    CardPublished {
        /// The card as signed.
        card: Option<CardJson>,
        /// Peers it went to.
        peers: usize,
    },
    /// Presence heartbeats were turned on or off.
    Presence {
        /// Whether they were on before.
        was_on: bool,
    },
    /// A key was trusted or untrusted for crisis-directory updates.
    CrisisTrust {
        /// Whether it was trusted before.
        was: bool,
    },
    /// The keys trusted for crisis-directory updates.
    CrisisTrusted {
        /// The keys and their names.
        keys: Vec<ModeratorJson>,
    },
    /// The updates held from trusted keys.
    CrisisUpdates {
        /// The updates, with their directories.
        updates: Vec<UpdateJson>,
    },
    /// An update was marked accepted, or published.
    CrisisUpdate {
        /// The update.
        update: UpdateJson,
        /// Peers it went to, when published.
        #[serde(default)]
        peers: usize,
    },
}

/// What the server writes back: `{"ok": …}` or `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Response {
    /// It worked.
    Ok(Reply),
    /// It failed; the message says why.
    Error(String),
}

/// Runs one request against a node. `running` says whether the node is the
/// one serving the network (true) or a store opened for this command.
pub(crate) async fn execute(
    handle: &NodeHandle,
    request: Request,
    running: bool,
    data_dir: &Path,
) -> anyhow::Result<Reply> {
    Ok(match request {
        Request::Ping => Reply::Pong {
            pid: std::process::id(),
        },
        Request::Personas => Reply::Personas {
            personas: handle.personas().await?.iter().map(json::persona).collect(),
        },
        Request::Persona { channel } => Reply::Persona {
            persona: json::persona(&handle.persona(channel_name(&channel)?).await?),
        },
        Request::RotatePersona { channel } => Reply::Persona {
            persona: json::persona(&handle.rotate_persona(channel_name(&channel)?).await?),
        },
        Request::Block { entries } => {
            let entries = entries
                .iter()
                .enumerate()
                .map(|(i, e)| e.to_entry().map_err(|e| anyhow!("entry {}: {e}", i + 1)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            // An entry that blocks the same thing in the same place is
            // already there, whatever its reason says.
            let mut present: HashSet<_> = handle
                .blocklist()
                .await?
                .into_iter()
                .map(|e| (e.target, e.scope))
                .collect();
            let total = entries.len();
            let new: Vec<_> = entries
                .into_iter()
                .filter(|e| present.insert((e.target.clone(), e.scope.clone())))
                .collect();
            // One batch, one policy compilation, one flush; all or nothing.
            let added = handle.block_all(new).await?;
            let existing = total.saturating_sub(added);
            Reply::Blocked { added, existing }
        }
        Request::Unblock { kind, value, scope } => {
            let target = json::block_target(&kind, &value).map_err(|e| anyhow!(e))?;
            let scope = scope.as_deref().map(channel_name).transpose()?;
            let mut removed = 0;
            for entry in handle.blocklist().await? {
                let scope_matches = match (&scope, &entry.scope) {
                    (None, _) => true,
                    (Some(c), hearth_protocol::Scope::Channel(s)) => c == s,
                    (Some(_), hearth_protocol::Scope::All) => false,
                };
                if entry.target == target && scope_matches && handle.unblock(entry).await? {
                    removed += 1;
                }
            }
            Reply::Unblocked { removed }
        }
        Request::Blocklist => Reply::Blocklist {
            entries: handle
                .blocklist()
                .await?
                .iter()
                .map(json::block_entry)
                .collect(),
        },
        Request::History {
            channel,
            since_ms,
            limit,
            include_hidden,
        } => {
            let query = HistoryQuery {
                since_ms,
                limit,
                include_hidden,
            };
            let posts = handle.history(channel_name(&channel)?, query).await?;
            Reply::Posts {
                posts: posts.iter().map(json::from_record).collect(),
            }
        }
        Request::Peers => Reply::Peers {
            peers: handle.peers().await?.iter().map(json::peer).collect(),
        },
        Request::Moderator => Reply::Moderator {
            moderator: json::moderator(&handle.moderator().await?),
        },
        Request::Follow { key, channel } => {
            let key = moderator_key(&key)?;
            let scope = match channel.as_deref() {
                None => hearth_protocol::Scope::All,
                Some(c) => hearth_protocol::Scope::Channel(channel_name(c)?),
            };
            let changed = !handle
                .follows()
                .await?
                .iter()
                .any(|(k, s)| *k == key && *s == scope);
            handle.follow(key, scope).await?;
            Reply::Followed { changed }
        }
        Request::Unfollow { key } => Reply::Followed {
            changed: handle.unfollow(moderator_key(&key)?).await?,
        },
        Request::Follows => Reply::Follows {
            follows: handle.follows().await?.iter().map(json::follow).collect(),
        },
        Request::Reports { channel, limit } => {
            let channel = channel.as_deref().map(channel_name).transpose()?;
            Reply::Reports {
                reports: handle
                    .reports(channel, limit)
                    .await?
                    .iter()
                    .map(json::report)
                    .collect(),
            }
        }
        Request::Card { channel } => Reply::Card {
            card: handle
                .channel_card(channel_name(&channel)?)
                .await?
                .as_ref()
                .map(json::card),
        },
        Request::PublishCard {
            channel,
            age,
            retention_days,
            moderators,
            rules,
        } => {
            let channel = channel_name(&channel)?;
            let draft = hearth_protocol::CardDraft {
                channel: channel.clone(),
                created_ms: 0,
                age: hearth_protocol::AgeGroup::parse(&age)
                    .ok_or_else(|| anyhow!("age group {age:?}: give adult or teen"))?,
                retention_days,
                moderators: moderators
                    .iter()
                    .map(|k| moderator_key(k))
                    .collect::<anyhow::Result<_>>()?,
                rules,
            };
            let peers = handle.publish_card(draft).await?;
            Reply::CardPublished {
                card: handle.channel_card(channel).await?.as_ref().map(json::card),
                peers,
            }
        }
        Request::CrisisTrust { key, on } => Reply::CrisisTrust {
            was: handle.trust_crisis_key(moderator_key(&key)?, on).await?,
        },
        Request::CrisisTrusted => Reply::CrisisTrusted {
            keys: handle
                .crisis_trusted()
                .await?
                .into_iter()
                .map(|key| ModeratorJson {
                    key: key.to_string(),
                    name: key.name(),
                })
                .collect(),
        },
        Request::CrisisUpdates => Reply::CrisisUpdates {
            updates: handle
                .crisis_updates()
                .await?
                .iter()
                .map(UpdateJson::of)
                .collect(),
        },
        Request::CrisisAccepted { id } => {
            let id = id
                .trim()
                .parse()
                .map_err(|e| anyhow!("not an update id ({e}): give its 64 hex digits"))?;
            Reply::CrisisUpdate {
                update: UpdateJson::of(&handle.accept_crisis_update(id).await?),
                peers: 0,
            }
        }
        Request::CrisisPublish { note, directory } => {
            let (info, peers) = handle.publish_crisis_update(note, directory).await?;
            Reply::CrisisUpdate {
                update: UpdateJson::of(&info),
                peers,
            }
        }
        Request::SetPresence { channel, on } => Reply::Presence {
            was_on: handle
                .set_moderator_presence(channel_name(&channel)?, on)
                .await?,
        },
        Request::Status => {
            let status = handle.status().await?;
            Reply::Status {
                status: json::status(&status, running, &data_dir.display().to_string()),
            }
        }
    })
}

fn channel_name(input: &str) -> anyhow::Result<ChannelName> {
    Ok(ChannelName::parse(input)?)
}

fn moderator_key(input: &str) -> anyhow::Result<hearth_protocol::PublicKey> {
    input
        .trim()
        .parse()
        .map_err(|e| anyhow!("not a moderator key ({e}): give the 64 hex digits it is shown as"))
}

/// The server side, running inside a `chat` or `run` process. The socket
/// file is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct ControlServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl ControlServer {
    /// Binds `<data dir>/control.sock` (owner-only) and serves requests
    /// with `handle`. Call [`ensure_no_node`] first: an existing socket
    /// file is replaced.
    pub(crate) fn start(data_dir: &Path, handle: NodeHandle) -> anyhow::Result<Self> {
        let path = socket_path(data_dir);
        let listener = bind_private(data_dir, &path)
            .with_context(|| format!("cannot serve the control socket {}", path.display()))?;
        let data_dir = data_dir.to_path_buf();
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let handle = handle.clone();
                        let data_dir = data_dir.clone();
                        tokio::spawn(async move {
                            if let Err(e) = serve_connection(stream, &handle, &data_dir).await {
                                tracing::debug!(error = %e, "control connection failed");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(Self { path, task })
    }

    /// The socket's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the control socket");
        }
    }
}

/// Binds the socket in a fresh owner-only directory, makes it owner-only,
/// then moves it into place, so it is never reachable with looser
/// permissions.
fn bind_private(data_dir: &Path, path: &Path) -> anyhow::Result<UnixListener> {
    use std::os::unix::fs::DirBuilderExt;
    let staging = data_dir.join(format!(".control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let staged = staging.join(SOCKET_NAME);
    let result = (|| -> anyhow::Result<UnixListener> {
        let listener = UnixListener::bind(&staged)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        std::fs::rename(&staged, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

async fn serve_connection(
    stream: UnixStream,
    handle: &NodeHandle,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = FramedRead::new(read, BoundedLines::new(MAX_REQUEST_BYTES));
    let first = tokio::time::timeout(REQUEST_PATIENCE, lines.next())
        .await
        .map_err(|_| anyhow!("no request within {} s", REQUEST_PATIENCE.as_secs()))?;
    let response = match first {
        None => return Err(anyhow!("the connection closed without a request")),
        Some(Err(e)) => return Err(e).context("cannot read the request"),
        Some(Ok(Ok(line))) => match serde_json::from_str::<Request>(&line) {
            Ok(request) => match execute(handle, request, true, data_dir).await {
                Ok(reply) => Response::Ok(reply),
                Err(e) => Response::Error(crate::error::one_line(&e)),
            },
            Err(e) => Response::Error(format!("invalid request: {e}")),
        },
        Some(Ok(Err(BadLine::TooLong))) => {
            // Read the rest (the codec drops it as it comes), so that a
            // client still writing it gets this answer, not a broken pipe.
            let rest = async { while let Some(Ok(_)) = lines.next().await {} };
            let _ = tokio::time::timeout(REQUEST_PATIENCE, rest).await;
            Response::Error(format!(
                "invalid request: longer than {MAX_REQUEST_BYTES} bytes"
            ))
        }
        Some(Ok(Err(BadLine::NotUtf8))) => {
            Response::Error("invalid request: not valid UTF-8".to_owned())
        }
    };
    let mut out = serde_json::to_vec(&response)?;
    out.push(b'\n');
    write.write_all(&out).await?;
    write.shutdown().await?;
    Ok(())
}

/// Connects to a running node's socket: `None` when no node runs there (no
/// socket file, or a stale one, which is removed).
pub(crate) async fn connect(data_dir: &Path) -> anyhow::Result<Option<UnixStream>> {
    let path = socket_path(data_dir);
    match UnixStream::connect(&path).await {
        Ok(stream) => Ok(Some(stream)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::debug!(path = %path.display(), "removing a stale control socket");
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| {
                    format!("cannot remove the stale control socket {}", path.display())
                }),
            }
        }
        // A path too long for a socket address: no node can serve there
        // either.
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(None),
        Err(e) => Err(e)
            .with_context(|| format!("cannot reach the node's control socket {}", path.display())),
    }
}

/// Sends one request to the node running on `data_dir`; `None` when no
/// node runs there.
pub(crate) async fn call(data_dir: &Path, request: &Request) -> anyhow::Result<Option<Reply>> {
    let Some(stream) = connect(data_dir).await? else {
        return Ok(None);
    };
    let exchange = async {
        let (read, mut write) = stream.into_split();
        let mut line = serde_json::to_vec(request)?;
        if line.len() > MAX_REQUEST_BYTES {
            return Err(anyhow!(
                "the request is {} bytes, more than the {MAX_REQUEST_BYTES} a node reads \
                 (import a long blocklist in parts)",
                line.len()
            ));
        }
        line.push(b'\n');
        write.write_all(&line).await?;
        write.shutdown().await?;
        let mut lines = FramedRead::new(read, BoundedLines::new(MAX_RESPONSE_BYTES));
        let answer = match lines.next().await {
            Some(Ok(Ok(answer))) => answer,
            Some(Ok(Err(BadLine::TooLong))) => {
                return Err(anyhow!(
                    "the node's answer is longer than {MAX_RESPONSE_BYTES} bytes"
                ));
            }
            Some(Ok(Err(BadLine::NotUtf8))) => {
                return Err(anyhow!("the node's answer is not valid UTF-8"));
            }
            Some(Err(e)) => return Err(e).context("cannot read the node's answer"),
            None => return Err(anyhow!("the node closed the connection without answering")),
        };
        let response: Response = serde_json::from_str(&answer)
            .context("the node's answer is not valid (is it another hearth version?)")?;
        match response {
            Response::Ok(reply) => Ok(reply),
            Response::Error(message) => Err(anyhow!(message)),
        }
    };
    match tokio::time::timeout(CLIENT_TIMEOUT, exchange).await {
        Ok(result) => result.map(Some),
        Err(_) => Err(anyhow!(
            "the node on {} did not answer within {} s",
            data_dir.display(),
            CLIENT_TIMEOUT.as_secs()
        )),
    }
}

/// Fails with a clear message when a node already runs on the data
/// directory (and removes a stale socket when none does).
pub(crate) async fn ensure_no_node(data_dir: &Path) -> anyhow::Result<()> {
    match call(data_dir, &Request::Ping).await {
        Ok(None) => Ok(()),
        Ok(Some(Reply::Pong { pid })) => Err(anyhow!(
            "a hearth node (process {pid}) is already running on {}; use its chat, stop it, \
             or pass another --data-dir",
            data_dir.display()
        )),
        Ok(Some(_)) | Err(_) => Err(anyhow!(
            "another hearth process is serving {}; stop it or pass another --data-dir",
            socket_path(data_dir).display()
        )),
    }
}

/// True when `error` says the store is open in another process.
pub(crate) fn is_store_in_use(error: &NodeError) -> bool {
    matches!(error, NodeError::Store(StoreError::InUse(_)))
}

/// Runs `request` on the node serving the data directory, or, with none
/// running, on the store opened directly for this one request. Returns the
/// reply and whether a running node answered.
pub(crate) async fn request(config: &Config, request: Request) -> anyhow::Result<(Reply, bool)> {
    let started = tokio::time::Instant::now();
    loop {
        if let Some(reply) = call(&config.data_dir, &request).await? {
            return Ok((reply, true));
        }
        if request.is_read_only() && !config.store_dir().exists() {
            return Err(anyhow!(
                "there is no hearth store in {} yet (nothing has run on this data directory); \
                 start with `hearth chat CHANNEL`, or check --data-dir",
                config.data_dir.display()
            ));
        }
        let node = hearth_node::NodeBuilder::from_config(config.offline_node_config())
            .start()
            .await;
        let handle = match node {
            Ok(handle) => handle,
            // A node is starting, or another command holds the store for a
            // moment: ask again.
            Err(e) if is_store_in_use(&e) && started.elapsed() < IN_USE_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot open the store in {}",
                    config.data_dir.display()
                )));
            }
        };
        let result = execute(&handle, request, false, &config.data_dir).await;
        handle
            .shutdown()
            .await
            .context("cannot close the store cleanly")?;
        return result.map(|reply| (reply, false));
    }
}

#[cfg(test)]
mod tests;
