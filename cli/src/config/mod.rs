//! The configuration: `hearth.toml`, then `HEARTH_*` environment variables,
//! then flags (later wins), validated into a [`Config`]. Only a `Config`
//! reaches the node, through [`Config::node_config`].
//!
//! clap reads the variables along with the flags (each argument in
//! [`crate::args`] names its variable), and says which of the two gave each
//! value; the file is read here. Every value that can be wrong is checked,
//! and the error names where the value came from (flag, variable or file
//! key) and what is accepted.
//!
//! - [`file`]: the shape of `hearth.toml` and reading it;
//! - [`layers`]: merging the layers and checking the result;
//! - [`values`]: checks of single values;
//! - [`paths`]: the data directory and the names in it;
//! - `care`: the crisis card's country and what the chat folds;
//! - `operator`: the operator's node (`hearth bootstrap`): the channels it
//!   joins, its listen IPs and ports, the relay and AutoNAT switches, and
//!   its relay, connection, memory and DHT limits.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hearth_node::{
    ChannelRetention, IdentityMode, NodeConfig, NodeLimits, PersonaMode, Retention, Storage,
};
use hearth_protocol::{ChannelName, NetworkId};
use libp2p::Multiaddr;

use crate::args::{Given, GlobalArgs, SettingArgs};
use crate::error::UsageError;

mod care;
mod file;
mod layers;
mod operator;
mod paths;
mod values;

pub(crate) use care::CareSettings;
pub(crate) use file::{DEFAULT_FILE, Settings};
pub(crate) use layers::Origin;
pub(crate) use operator::OperatorSettings;
pub(crate) use paths::platform_data_dir;
pub(crate) use values::parse_channel;

use file::{read_config_file, read_default_file};
use layers::{CliLayer, Layers};

/// Default listen addresses: any interface, a free port, TCP and QUIC.
pub(crate) const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];
/// Default log filter.
pub(crate) const DEFAULT_LOG: &str = "warn";
/// Default age after which stored posts are deleted, in days.
pub(crate) const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Default number of posts kept per channel.
pub(crate) const DEFAULT_MAX_POSTS_PER_CHANNEL: usize = 10_000;
/// Default store cache, in MiB.
pub(crate) const DEFAULT_CACHE_MB: u64 = 32;
/// MiB of posts kept per channel by default (`Retention::max_bytes_per_channel`).
pub(crate) const DEFAULT_MAX_CHANNEL_MB: u64 = 32;

/// How logs on standard error are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `text` or `json`, in any case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// Its name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

/// The validated configuration of one `hearth` invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The data directory (absolute).
    pub data_dir: PathBuf,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The network.
    pub network: NetworkId,
    /// Channels to join, without duplicates; for `chat` the first gets the
    /// input lines.
    pub channels: Vec<ChannelName>,
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap addresses.
    pub bootstrap: Vec<Multiaddr>,
    /// Externally reachable addresses to announce.
    pub external: Vec<Multiaddr>,
    /// Announce confirmed addresses that are not globally routable.
    pub announce_private: bool,
    /// Local discovery with mDNS.
    pub mdns: bool,
    /// Personas only in memory.
    pub ephemeral: bool,
    /// Keep the peer id across restarts.
    pub persistent_identity: bool,
    /// Serve the DHT.
    pub dht_server: bool,
    /// The nickname shown beside the persona's name.
    pub nick: Option<String>,
    /// The log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// Days posts are kept.
    pub retention_days: u32,
    /// Posts kept per channel.
    pub max_posts_per_channel: usize,
    /// The store's cache in MiB.
    pub cache_mb: u64,
    /// MiB of posts kept per channel (0: no limit).
    pub max_channel_mb: u64,
    /// The persona-stamp level (`NodeLimits::persona_stamp_bits`).
    pub persona_stamp_bits: u8,
    /// How logs are written.
    pub log_format: LogFormat,
    /// Where to serve metrics, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// The crisis card's country and what the chat folds.
    pub care: CareSettings,
    /// The operator's settings (`hearth bootstrap`).
    pub operator: OperatorSettings,
    /// Days posts are kept, for channels that differ from `retention_days`.
    pub channel_retention_days: BTreeMap<ChannelName, u32>,
    /// Posts kept, for channels that differ from `max_posts_per_channel`.
    pub channel_max_posts: BTreeMap<ChannelName, usize>,
    /// The proof-of-work difficulty of channels that ask for one.
    pub channel_difficulty: BTreeMap<ChannelName, u8>,
    /// For each setting, where its value came from (for `config show`).
    origins: BTreeMap<&'static str, Origin>,
    /// The file named by `--config` or `HEARTH_CONFIG`, if any.
    explicit_file: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration for one invocation: flags and variables as
    /// clap read them (`global`, and `node` for the commands that run a
    /// node or show its settings), `RUST_LOG`, and the config file
    /// (`--config`, `HEARTH_CONFIG` or `<data dir>/hearth.toml`).
    pub fn load(global: &GlobalArgs, args: SettingArgs<'_>) -> Result<Config, UsageError> {
        let rust_log = match std::env::var_os("RUST_LOG") {
            None => None,
            Some(value) => Some(value.into_string().map_err(|_| {
                UsageError::new("the environment variable RUST_LOG is not valid UTF-8")
            })?),
        };
        Self::load_from(global, args, rust_log, platform_data_dir(), true)
    }

    /// [`Config::load`] without reading any config file: what `config
    /// init` needs, since the file it writes may not exist yet.
    pub fn load_without_file(global: &GlobalArgs) -> Result<Config, UsageError> {
        Self::load_from(
            global,
            SettingArgs::default(),
            None,
            platform_data_dir(),
            false,
        )
    }

    /// [`Config::load`] with `RUST_LOG` and the platform directory given;
    /// `read_file` false skips the config file.
    pub fn load_from(
        global: &GlobalArgs,
        args: SettingArgs<'_>,
        rust_log: Option<String>,
        default_data_dir: Option<PathBuf>,
        read_file: bool,
    ) -> Result<Config, UsageError> {
        let cli = CliLayer::from_args(global, args)?;
        let named_by = match global.given.get("config") {
            Some(Given::Env(name)) => name.clone(),
            _ => "--config".to_owned(),
        };
        let file = match &global.config {
            _ if !read_file => None,
            Some(path) => read_config_file(path, Some(&named_by))?,
            // The data directory as known before reading the file: the file
            // is looked up in it, and so cannot move it.
            None => match cli.settings.data_dir.clone().or(default_data_dir.clone()) {
                Some(dir) => read_default_file(&dir)?,
                None => None,
            },
        };
        let layers = Layers {
            file,
            rust_log,
            cli,
        };
        let mut config = layers.resolve(default_data_dir)?;
        config.explicit_file = global.config.clone();
        Ok(config)
    }

    /// The node configuration for a node that joins the network.
    pub fn node_config(&self) -> NodeConfig {
        NodeConfig {
            storage: Storage::Path(self.store_dir()),
            listen: self.listen.clone(),
            bootstrap: self.bootstrap.clone(),
            mdns: self.mdns,
            network: self.network.clone(),
            personas: if self.ephemeral {
                PersonaMode::Ephemeral
            } else {
                PersonaMode::Stored
            },
            identity: if self.persistent_identity {
                IdentityMode::Persistent
            } else {
                IdentityMode::Ephemeral
            },
            dht_server: self.dht_server,
            // A DHT server is a node others connect to: it also tells them
            // whether they are reachable.
            autonat_server: self.dht_server,
            external_addrs: self.external.clone(),
            announce_private: self.announce_private,
            channels: self.channels.clone(),
            retention: self.retention(),
            limits: NodeLimits {
                channel_difficulty: self
                    .channel_difficulty
                    .iter()
                    .map(|(c, bits)| (c.clone(), *bits))
                    .collect(),
                persona_stamp_bits: self.persona_stamp_bits,
                ..NodeLimits::default()
            },
            cache_bytes: self.cache_mb.saturating_mul(1024 * 1024),
            metrics: self.metrics,
            ..NodeConfig::default()
        }
    }

    /// The node configuration of the operator's node (`hearth bootstrap`):
    /// [`NodeConfig::bootstrap`] on the data directory, with this
    /// configuration's addresses, ports, limits and metrics. It joins no
    /// channel at start (`join` is for the command to do).
    pub fn bootstrap_node_config(&self) -> NodeConfig {
        let preset = NodeConfig::bootstrap(&self.data_dir);
        NodeConfig {
            listen: self.bootstrap_listen(),
            bootstrap: self.bootstrap.clone(),
            network: self.network.clone(),
            // With public addresses given, the machine's own (often
            // private) ones are not announced.
            announce_listen_addrs: self.external.is_empty(),
            external_addrs: self.external.clone(),
            announce_private: self.announce_private,
            limits: NodeLimits {
                persona_stamp_bits: self.persona_stamp_bits,
                ..self.operator.server_limits.clone()
            },
            retention: Retention {
                max_age: Duration::from_secs(u64::from(self.retention_days) * 24 * 60 * 60),
                max_posts_per_channel: self.max_posts_per_channel,
                max_bytes_per_channel: self.max_channel_mb.saturating_mul(1024 * 1024),
                ..Retention::default()
            },
            cache_bytes: self.cache_mb.saturating_mul(1024 * 1024),
            relay_server: self.operator.relay.then_some(self.operator.relay_limits),
            autonat_server: self.operator.autonat,
            dht: self.operator.dht,
            metrics: self.metrics,
            ..preset
        }
    }

    /// Where the operator's node listens: TCP and QUIC on its IP addresses
    /// and ports.
    pub fn bootstrap_listen(&self) -> Vec<Multiaddr> {
        self.operator.listen()
    }

    /// How long posts are kept: node-wide, and per channel where set.
    pub fn retention(&self) -> Retention {
        let mut channels: HashMap<ChannelName, ChannelRetention> = HashMap::new();
        for (channel, days) in &self.channel_retention_days {
            channels.entry(channel.clone()).or_default().max_age = Some(days_to_duration(*days));
        }
        for (channel, posts) in &self.channel_max_posts {
            channels.entry(channel.clone()).or_default().max_posts = Some(*posts);
        }
        Retention {
            max_age: days_to_duration(self.retention_days),
            max_posts_per_channel: self.max_posts_per_channel,
            max_bytes_per_channel: self.max_channel_mb.saturating_mul(1024 * 1024),
            channels,
            ..Retention::default()
        }
    }

    /// The node configuration for opening the store while no node runs:
    /// no listening, no discovery, no redial of known peers, no channels,
    /// personas kept in the store.
    pub fn offline_node_config(&self) -> NodeConfig {
        NodeConfig {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            external_addrs: Vec::new(),
            mdns: false,
            dht_server: false,
            autonat_server: false,
            announce_listen_addrs: false,
            channels: Vec::new(),
            personas: PersonaMode::Stored,
            offline: true,
            ..self.node_config()
        }
    }

    /// `<data dir>/store`.
    pub fn store_dir(&self) -> PathBuf {
        paths::store_dir(&self.data_dir)
    }

    /// `<data dir>/logs/hearth.log`.
    pub fn log_file(&self) -> PathBuf {
        paths::log_file(&self.data_dir)
    }

    /// Where `config init` writes: the file named by `--config` or
    /// `HEARTH_CONFIG`, or `<data dir>/hearth.toml`.
    pub fn init_path(&self) -> PathBuf {
        self.explicit_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(paths::CONFIG_FILE_NAME))
    }

    /// Every setting as a complete [`Settings`] layer.
    pub fn to_settings(&self) -> Settings {
        let strings = |v: &[Multiaddr]| Some(v.iter().map(ToString::to_string).collect());
        let mut settings = Settings {
            data_dir: Some(self.data_dir.clone()),
            network: Some(self.network.to_string()),
            channels: Some(self.channels.iter().map(ToString::to_string).collect()),
            listen: strings(&self.listen),
            bootstrap: strings(&self.bootstrap),
            external: strings(&self.external),
            announce_private: Some(self.announce_private),
            mdns: Some(self.mdns),
            ephemeral: Some(self.ephemeral),
            persistent_identity: Some(self.persistent_identity),
            dht_server: Some(self.dht_server),
            nick: self.nick.clone(),
            log: Some(self.log.clone()),
            retention_days: Some(self.retention_days),
            max_posts_per_channel: Some(self.max_posts_per_channel),
            cache_mb: Some(self.cache_mb),
            max_channel_mb: Some(self.max_channel_mb),
            persona_stamp_bits: Some(self.persona_stamp_bits),
            channel_retention_days: Some(by_name(&self.channel_retention_days)),
            channel_max_posts: Some(by_name(&self.channel_max_posts)),
            channel_difficulty: Some(by_name(&self.channel_difficulty)),
            log_format: Some(self.log_format.as_str().to_owned()),
            metrics: Some(self.metrics.map(|a| a.to_string()).unwrap_or_default()),
            ..Settings::default()
        };
        self.care.fill(&mut settings);
        self.operator.fill(&mut settings);
        settings
    }

    /// Where the value of the setting `key` came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// The effective configuration as TOML, each line noting where its
    /// value came from.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# The effective hearth configuration: defaults, then the config file, then\n\
             # HEARTH_* environment variables, then flags (later wins).\n",
        );
        match &self.config_file {
            Some(path) => out.push_str(&format!("# Config file: {}\n", path.display())),
            None => out.push_str("# Config file: none\n"),
        }
        let table = toml::Table::try_from(self.to_settings()).unwrap_or_default();
        for (key, value) in &table {
            let note = self.origin(key).map(Origin::note).unwrap_or_default();
            out.push_str(&format!("{key} = {value}  # {note}\n"));
        }
        match self.origin("nick") {
            _ if self.nick.is_some() => {}
            Some(origin @ (Origin::Env(_) | Origin::Flag(_) | Origin::File(_))) => {
                out.push_str(&format!("# nick is not set  # {}\n", origin.note()));
            }
            _ => out.push_str("# nick is not set\n"),
        }
        out
    }
}

fn days_to_duration(days: u32) -> Duration {
    Duration::from_secs(u64::from(days) * 24 * 60 * 60)
}

fn by_name<T: Copy>(values: &BTreeMap<ChannelName, T>) -> BTreeMap<String, T> {
    values.iter().map(|(c, v)| (c.to_string(), *v)).collect()
}

#[cfg(test)]
mod tests;
