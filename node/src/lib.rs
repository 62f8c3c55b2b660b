//! A hearth node: the libp2p swarm, the sled store and the moderation
//! engine, run by one task behind a cloneable [`NodeHandle`].
//!
//! ```no_run
//! use hearth_node::Node;
//! use hearth_protocol::ChannelName;
//!
//! # async fn demo() -> Result<(), hearth_node::NodeError> {
//! let node = Node::builder().in_memory().start().await?;
//! let channel = ChannelName::parse("anxiety").expect("a valid name");
//! node.join(channel.clone()).await?;
//! let mut events = node.events();
//! let sent = node.publish(channel, "Is anyone awake?").await?;
//! println!("post {} reached {} peers", sent.id, sent.peers);
//! while let Some(event) = events.next().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! The task owns everything that has state: the swarm, the store, the
//! personas and the policy. [`NodeHandle`] methods send it commands and
//! wait for answers; [`NodeHandle::events`] streams what happens. See
//! `docs/architecture.md` for the data flow and `docs/embedding.md` for a
//! guide.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod addresses;
pub mod cards;
mod clock;
pub mod config;
pub mod crisis;
mod error;
mod event;
mod handle;
pub mod identity;
pub mod metrics;
mod moderation;
mod node;
mod personas;
mod rate;
mod service;
pub mod store;
mod swarm;
pub mod sync;

pub use config::{
    AdmissionLimits, ChannelRetention, DhtLimits, IdentityMode, Keep, NodeConfig, NodeLimits,
    PersonaMode, Rate, RelayServerLimits, Retention, Storage,
};
pub use error::{EntryError, HeldListError, NodeError, SetupError, StampFailed};
pub use event::{
    ChannelInfo, Event, EventStream, ModeratorInfo, Origin, PeerInfo, PersonaInfo, PostRecord,
    ProviderInfo, Published, Status, SyncReport, UndeliveredReason,
};
pub use event::{ReportRecord, ReportSent};
pub use handle::{HistoryQuery, NodeHandle, PostOptions, Submitted};
pub use libp2p::{Multiaddr, PeerId};
pub use node::{Node, NodeBuilder};
pub use swarm::{MESH, MeshParams};
pub use sync::SyncLimits;
