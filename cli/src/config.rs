//! The configuration: `hearth.toml`, `HEARTH_*` environment variables and
//! flags, merged in that order (later wins) and validated into a [`Config`].
//! Only a `Config` reaches the node, through [`Config::node_config`].
//!
//! Every value that can be wrong is checked here, and the error names where
//! the value came from (flag, variable or file key) and what is accepted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hearth_node::{IdentityMode, NodeConfig, PersonaMode, Retention, Storage};
use hearth_protocol::limits::MAX_NICKNAME_BYTES;
use hearth_protocol::{ChannelName, NetworkId, text};
use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

use crate::args::{GlobalArgs, NodeArgs, RunArgs};
use crate::error::UsageError;

/// The configuration file's name inside the data directory.
pub const CONFIG_FILE_NAME: &str = "hearth.toml";
/// The store's directory inside the data directory.
pub const STORE_DIR_NAME: &str = "store";
/// The log directory inside the data directory (full-screen chat only).
pub const LOG_DIR_NAME: &str = "logs";

/// Default listen addresses: any interface, a free port, TCP and QUIC.
pub const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];
/// Default log filter.
pub const DEFAULT_LOG: &str = "warn";
/// Default age after which stored posts are deleted, in days.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Default number of posts kept per channel.
pub const DEFAULT_MAX_POSTS_PER_CHANNEL: usize = 10_000;
/// Default store cache, in MiB.
pub const DEFAULT_CACHE_MB: u64 = 32;

/// One layer of settings as given: every field optional, nothing checked
/// yet. This is also the shape of `hearth.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// The network id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Channels to join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    /// Listen addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<Vec<String>>,
    /// Bootstrap addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Vec<String>>,
    /// Externally reachable addresses to announce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<Vec<String>>,
    /// Local discovery with mDNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mdns: Option<bool>,
    /// Personas only in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
    /// Keep the peer id across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_identity: Option<bool>,
    /// Serve the DHT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dht_server: Option<bool>,
    /// The nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// The log filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Days posts are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Posts kept per channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_posts_per_channel: Option<usize>,
    /// The store's cache in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_mb: Option<u64>,
}

/// How one setting is spelled in each place it can come from.
#[derive(Debug, Clone, Copy)]
struct Field {
    key: &'static str,
    env: &'static str,
    flag: &'static str,
}

const fn field(key: &'static str, env: &'static str, flag: &'static str) -> Field {
    Field { key, env, flag }
}

const DATA_DIR: Field = field("data_dir", "HEARTH_DATA_DIR", "--data-dir");
const NETWORK: Field = field("network", "HEARTH_NETWORK", "--network");
const CHANNELS: Field = field("channels", "HEARTH_CHANNELS", "the CHANNEL arguments");
const LISTEN: Field = field("listen", "HEARTH_LISTEN", "--listen");
const BOOTSTRAP: Field = field("bootstrap", "HEARTH_BOOTSTRAP", "--bootstrap");
const EXTERNAL: Field = field("external", "HEARTH_EXTERNAL", "--external");
const MDNS: Field = field("mdns", "HEARTH_MDNS", "--no-mdns");
const EPHEMERAL: Field = field("ephemeral", "HEARTH_EPHEMERAL", "--ephemeral");
const PERSISTENT_IDENTITY: Field = field(
    "persistent_identity",
    "HEARTH_PERSISTENT_IDENTITY",
    "--persistent-identity",
);
const DHT_SERVER: Field = field("dht_server", "HEARTH_DHT_SERVER", "--dht-server");
const NICK: Field = field("nick", "HEARTH_NICK", "--nick");
const LOG: Field = field("log", "HEARTH_LOG", "RUST_LOG");
const RETENTION_DAYS: Field = field("retention_days", "HEARTH_RETENTION_DAYS", "");
const MAX_POSTS: Field = field("max_posts_per_channel", "HEARTH_MAX_POSTS_PER_CHANNEL", "");
const CACHE_MB: Field = field("cache_mb", "HEARTH_CACHE_MB", "");

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "HEARTH_CONFIG";

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Default,
    File(PathBuf),
    Env,
    Flag,
}

impl Origin {
    /// The value's source, for error messages: `--listen`,
    /// `HEARTH_LISTEN`, `` `listen` in /path/hearth.toml ``.
    fn describe(&self, field: Field) -> String {
        match self {
            Origin::Default => format!("the default {}", field.key),
            Origin::File(path) => format!("`{}` in {}", field.key, path.display()),
            Origin::Env => field.env.to_owned(),
            Origin::Flag => field.flag.to_owned(),
        }
    }

    /// A short note for `config show`.
    fn note(&self, field: Field) -> String {
        match self {
            Origin::Default => "default".to_owned(),
            Origin::File(path) => format!("from {}", path.display()),
            Origin::Env => format!("from {}", field.env),
            Origin::Flag => format!("from {}", field.flag),
        }
    }
}

impl Settings {
    /// Reads the `HEARTH_*` variables (and `RUST_LOG`) from `vars`. Lists
    /// are comma-separated; booleans are `true`/`false`, `1`/`0`,
    /// `yes`/`no` or `on`/`off`.
    pub fn from_env<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, UsageError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut s = Settings::default();
        let mut rust_log = None;
        for (key, value) in vars {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "HEARTH_DATA_DIR" => s.data_dir = Some(PathBuf::from(value)),
                "HEARTH_NETWORK" => s.network = Some(value.to_owned()),
                "HEARTH_CHANNELS" => s.channels = Some(split_list(value)),
                "HEARTH_LISTEN" => s.listen = Some(split_list(value)),
                "HEARTH_BOOTSTRAP" => s.bootstrap = Some(split_list(value)),
                "HEARTH_EXTERNAL" => s.external = Some(split_list(value)),
                "HEARTH_MDNS" => s.mdns = Some(env_bool(key, value)?),
                "HEARTH_EPHEMERAL" => s.ephemeral = Some(env_bool(key, value)?),
                "HEARTH_PERSISTENT_IDENTITY" => {
                    s.persistent_identity = Some(env_bool(key, value)?);
                }
                "HEARTH_DHT_SERVER" => s.dht_server = Some(env_bool(key, value)?),
                "HEARTH_NICK" => s.nick = Some(value.to_owned()),
                "HEARTH_LOG" => s.log = Some(value.to_owned()),
                "RUST_LOG" => rust_log = Some(value.to_owned()),
                "HEARTH_RETENTION_DAYS" => s.retention_days = Some(env_number(key, value)?),
                "HEARTH_MAX_POSTS_PER_CHANNEL" => {
                    s.max_posts_per_channel = Some(env_number(key, value)?);
                }
                "HEARTH_CACHE_MB" => s.cache_mb = Some(env_number(key, value)?),
                _ => {}
            }
        }
        // HEARTH_LOG wins over RUST_LOG.
        if s.log.is_none() {
            s.log = rust_log;
        }
        Ok(s)
    }

    /// Parses the text of a config file. Errors give the file, the line and
    /// what is wrong.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self, UsageError> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text.get(..span.start).unwrap_or("").matches('\n').count() + 1);
            let message = e.message().trim().trim_end_matches('.');
            match line {
                Some(line) => UsageError::new(format!(
                    "invalid config file {}, line {line}: {message}",
                    path.display()
                )),
                None => {
                    UsageError::new(format!("invalid config file {}: {message}", path.display()))
                }
            }
        })
    }

    /// The settings a node-running command's flags give.
    pub fn from_node_args(channels: &[String], args: &NodeArgs) -> Self {
        Settings {
            channels: non_empty(channels),
            listen: non_empty(&args.listen),
            bootstrap: non_empty(&args.bootstrap),
            mdns: args.no_mdns.then_some(false),
            ephemeral: args.ephemeral.then_some(true),
            nick: args.nick.clone(),
            ..Settings::default()
        }
    }

    /// The settings `hearth run`'s flags give.
    pub fn from_run_args(args: &RunArgs) -> Self {
        Settings {
            persistent_identity: args.persistent_identity.then_some(true),
            dht_server: args.dht_server.then_some(true),
            external: non_empty(&args.external),
            ..Settings::from_node_args(&args.channels, &args.node)
        }
    }
}

fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn env_bool(key: &str, value: &str) -> Result<bool, UsageError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(UsageError::new(format!(
            "invalid {key}={value:?}: use true or false (also 1/0, yes/no, on/off)"
        ))),
    }
}

fn env_number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, UsageError> {
    value.trim().parse().map_err(|_| {
        UsageError::new(format!(
            "invalid {key}={value:?}: use a whole number like 30"
        ))
    })
}

/// The three layers, lowest first.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// The config file and where it was read from.
    pub file: Option<(PathBuf, Settings)>,
    /// The environment.
    pub env: Settings,
    /// The flags.
    pub flags: Settings,
}

impl Layers {
    /// The highest layer's value of one setting, with its origin.
    fn pick<T>(&self, get: impl Fn(&Settings) -> Option<T>) -> Option<(T, Origin)> {
        if let Some(v) = get(&self.flags) {
            return Some((v, Origin::Flag));
        }
        if let Some(v) = get(&self.env) {
            return Some((v, Origin::Env));
        }
        let (path, file) = self.file.as_ref()?;
        get(file).map(|v| (v, Origin::File(path.clone())))
    }

    /// The value or a default, with its origin.
    fn pick_or<T>(&self, get: impl Fn(&Settings) -> Option<T>, default: T) -> (T, Origin) {
        self.pick(get).unwrap_or((default, Origin::Default))
    }

    /// Validates the merged settings into a [`Config`]. `default_data_dir`
    /// is the platform's data directory, if there is one.
    pub fn resolve(&self, default_data_dir: Option<PathBuf>) -> Result<Config, UsageError> {
        let mut origins = BTreeMap::new();
        let mut note = |f: Field, origin: &Origin| {
            origins.insert(f.key, origin.note(f));
        };

        let (data_dir, o) = match self.pick(|s| s.data_dir.clone()) {
            Some(found) => found,
            None => (
                default_data_dir.ok_or_else(|| {
                    UsageError::new(
                        "cannot find a data directory for this user (is HOME set?); \
                         pass --data-dir DIR or set HEARTH_DATA_DIR",
                    )
                })?,
                Origin::Default,
            ),
        };
        if data_dir.as_os_str().is_empty() {
            return Err(UsageError::new(format!(
                "{} is empty; give a directory path",
                o.describe(DATA_DIR)
            )));
        }
        note(DATA_DIR, &o);
        let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);

        let (network, o) = self.pick_or(|s| s.network.clone(), NetworkId::MAIN.to_owned());
        let network = NetworkId::parse(&network)
            .map_err(|e| UsageError::new(with_origin(e.to_string(), &o, NETWORK)))?;
        note(NETWORK, &o);

        let (channels, o) = self.pick_or(|s| s.channels.clone(), Vec::new());
        let channels = channels
            .iter()
            .map(|c| ChannelName::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UsageError::new(with_origin(e.to_string(), &o, CHANNELS)))?;
        let channels = dedup(channels);
        note(CHANNELS, &o);

        let default_listen = DEFAULT_LISTEN.iter().map(|s| (*s).to_owned()).collect();
        let (listen, o) = self.pick_or(|s| s.listen.clone(), default_listen);
        let listen = parse_addrs(&listen, &o, LISTEN, LISTEN_EXAMPLE)?;
        note(LISTEN, &o);

        let (bootstrap, o) = self.pick_or(|s| s.bootstrap.clone(), Vec::new());
        let bootstrap = parse_addrs(&bootstrap, &o, BOOTSTRAP, BOOTSTRAP_EXAMPLE)?;
        note(BOOTSTRAP, &o);

        let (external, o) = self.pick_or(|s| s.external.clone(), Vec::new());
        let external = parse_addrs(&external, &o, EXTERNAL, BOOTSTRAP_EXAMPLE)?;
        note(EXTERNAL, &o);

        let (mdns, o) = self.pick_or(|s| s.mdns, true);
        note(MDNS, &o);
        let (ephemeral, o) = self.pick_or(|s| s.ephemeral, false);
        note(EPHEMERAL, &o);
        let (persistent_identity, o) = self.pick_or(|s| s.persistent_identity, false);
        note(PERSISTENT_IDENTITY, &o);
        let (dht_server, o) = self.pick_or(|s| s.dht_server, false);
        note(DHT_SERVER, &o);

        let (nick, o) = self.pick_or(|s| s.nick.clone(), String::new());
        let nick = if nick.is_empty() {
            None
        } else {
            Some(check_nick(&nick).map_err(|e| UsageError::new(with_origin(e, &o, NICK)))?)
        };
        note(NICK, &o);

        let (log, o) = self.pick_or(|s| s.log.clone(), DEFAULT_LOG.to_owned());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            return Err(UsageError::new(format!(
                "invalid log filter {log:?} in {}: {e}; use a level (error, warn, info, debug, \
                 trace) or directives like hearth_node=debug,warn",
                o.describe(LOG)
            )));
        }
        note(LOG, &o);

        let (retention_days, o) = self.pick_or(|s| s.retention_days, DEFAULT_RETENTION_DAYS);
        at_least_one(u64::from(retention_days), &o, RETENTION_DAYS)?;
        note(RETENTION_DAYS, &o);
        let (max_posts_per_channel, o) =
            self.pick_or(|s| s.max_posts_per_channel, DEFAULT_MAX_POSTS_PER_CHANNEL);
        at_least_one(
            u64::try_from(max_posts_per_channel).unwrap_or(u64::MAX),
            &o,
            MAX_POSTS,
        )?;
        note(MAX_POSTS, &o);
        let (cache_mb, o) = self.pick_or(|s| s.cache_mb, DEFAULT_CACHE_MB);
        at_least_one(cache_mb, &o, CACHE_MB)?;
        if cache_mb > 1 << 20 {
            return Err(UsageError::new(format!(
                "{} is {cache_mb} MiB; use at most 1048576 (1 TiB)",
                o.describe(CACHE_MB)
            )));
        }
        note(CACHE_MB, &o);

        Ok(Config {
            data_dir,
            config_file: self.file.as_ref().map(|(p, _)| p.clone()),
            network,
            channels,
            listen,
            bootstrap,
            external,
            mdns,
            ephemeral,
            persistent_identity,
            dht_server,
            nick,
            log,
            retention_days,
            max_posts_per_channel,
            cache_mb,
            origins,
            explicit_file: None,
        })
    }
}

const LISTEN_EXAMPLE: &str = "/ip4/0.0.0.0/tcp/4001 or /ip4/0.0.0.0/udp/4001/quic-v1";
const BOOTSTRAP_EXAMPLE: &str =
    "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW… or /dns4/hearth.example.org/tcp/4001";

fn with_origin(message: String, origin: &Origin, field: Field) -> String {
    match origin {
        Origin::Flag | Origin::Default => message,
        _ => format!("{message} (from {})", origin.describe(field)),
    }
}

fn at_least_one(value: u64, origin: &Origin, field: Field) -> Result<(), UsageError> {
    if value == 0 {
        return Err(UsageError::new(format!(
            "{} is 0; use a whole number of at least 1",
            origin.describe(field)
        )));
    }
    Ok(())
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn parse_addrs(
    values: &[String],
    origin: &Origin,
    field: Field,
    example: &str,
) -> Result<Vec<Multiaddr>, UsageError> {
    values
        .iter()
        .map(|v| parse_multiaddr(v, &origin.describe(field), example))
        .collect()
}

/// Parses a multiaddress given for `what` (a flag, variable or file key);
/// the error says what is wrong and shows an `example` of what is accepted.
pub fn parse_multiaddr(input: &str, what: &str, example: &str) -> Result<Multiaddr, UsageError> {
    let trimmed = input.trim();
    let problem = if trimmed.is_empty() {
        "it is empty".to_owned()
    } else if !trimmed.starts_with('/') {
        "it does not start with '/'".to_owned()
    } else {
        match trimmed.parse::<Multiaddr>() {
            Ok(addr) if !addr.is_empty() => return Ok(addr),
            Ok(_) => "it is empty".to_owned(),
            Err(e) => e.to_string(),
        }
    };
    Err(UsageError::new(format!(
        "invalid multiaddress {input:?} in {what}: {problem}; use one like {example}"
    )))
}

/// Checks a nickname as the protocol does: one line, at most 32 bytes, no
/// control characters, no white space at either end.
pub fn check_nick(nick: &str) -> Result<String, String> {
    let fail = |problem: String| {
        format!(
            "invalid nickname {nick:?}: {problem}; use one line of at most \
             {MAX_NICKNAME_BYTES} bytes with no control characters"
        )
    };
    text::check_line("nickname", nick, MAX_NICKNAME_BYTES).map_err(|e| fail(e.to_string()))?;
    if nick.trim() != nick {
        return Err(fail("it starts or ends with white space".to_owned()));
    }
    Ok(nick.to_owned())
}

/// Parses a channel name a person typed; the error says what is accepted.
pub fn parse_channel(input: &str) -> Result<ChannelName, UsageError> {
    ChannelName::parse(input).map_err(|e| UsageError::new(e.to_string()))
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
    /// For each setting, where its value came from (for `config show`).
    origins: BTreeMap<&'static str, String>,
    /// The file named by `--config` or `HEARTH_CONFIG`, if any.
    explicit_file: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration for one invocation: flags (`global` and the
    /// command's `flags`), the process environment, and the config file
    /// (`--config`, `HEARTH_CONFIG` or `<data dir>/hearth.toml`).
    pub fn load(global: &GlobalArgs, flags: Settings) -> Result<Config, UsageError> {
        Self::load_from(
            global,
            flags,
            std::env::vars_os(),
            platform_data_dir(),
            true,
        )
    }

    /// [`Config::load`] without reading any config file: what `config
    /// init` needs, since the file it writes may not exist yet.
    pub fn load_without_file(global: &GlobalArgs) -> Result<Config, UsageError> {
        let env = std::env::vars_os();
        Self::load_from(global, Settings::default(), env, platform_data_dir(), false)
    }

    /// [`Config::load`] with the environment and platform directory given;
    /// `read_file` false skips the config file.
    pub fn load_from<K, V>(
        global: &GlobalArgs,
        mut flags: Settings,
        env: impl IntoIterator<Item = (K, V)>,
        default_data_dir: Option<PathBuf>,
        read_file: bool,
    ) -> Result<Config, UsageError>
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut config_env = None;
        let mut vars = Vec::new();
        for (k, v) in env {
            let (Some(k), v) = (k.as_ref().to_str(), v.as_ref()) else {
                continue;
            };
            if !(k.starts_with("HEARTH_") || k == "RUST_LOG") {
                continue;
            }
            let Some(v) = v.to_str() else {
                return Err(UsageError::new(format!(
                    "the environment variable {k} is not valid UTF-8"
                )));
            };
            if k == CONFIG_ENV {
                config_env = Some(PathBuf::from(v));
            } else {
                vars.push((k.to_owned(), v.to_owned()));
            }
        }
        let env = Settings::from_env(vars)?;
        if let Some(dir) = &global.data_dir {
            flags.data_dir = Some(dir.clone());
        }
        if let Some(network) = &global.network {
            flags.network = Some(network.clone());
        }
        // Where to look for hearth.toml: the data directory as known before
        // reading the file (the file may still move it with `data_dir`).
        let early = Layers {
            file: None,
            env: env.clone(),
            flags: flags.clone(),
        };
        let explicit = global
            .config
            .clone()
            .map(|p| (p, "--config"))
            .or_else(|| config_env.map(|p| (p, CONFIG_ENV)));
        let explicit_file = explicit.as_ref().map(|(p, _)| p.clone());
        let file = match explicit {
            _ if !read_file => None,
            Some((path, from)) => read_config_file(&path, true, from)?,
            None => {
                let dir = early
                    .pick(|s| s.data_dir.clone())
                    .map(|(d, _)| d)
                    .or_else(|| default_data_dir.clone());
                match dir {
                    Some(dir) => in_data_dir(
                        &dir,
                        read_config_file(&dir.join(CONFIG_FILE_NAME), false, "")?,
                    )?,
                    None => None,
                }
            }
        };
        let layers = Layers { file, env, flags };
        let mut config = layers.resolve(default_data_dir)?;
        config.explicit_file = explicit_file;
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
            external_addrs: self.external.clone(),
            channels: self.channels.clone(),
            retention: Retention {
                max_age: Duration::from_secs(u64::from(self.retention_days) * 24 * 60 * 60),
                max_posts_per_channel: self.max_posts_per_channel,
                ..Retention::default()
            },
            cache_bytes: self.cache_mb.saturating_mul(1024 * 1024),
            ..NodeConfig::default()
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
            announce_listen_addrs: false,
            channels: Vec::new(),
            personas: PersonaMode::Stored,
            offline: true,
            ..self.node_config()
        }
    }

    /// `<data dir>/store`.
    pub fn store_dir(&self) -> PathBuf {
        self.data_dir.join(STORE_DIR_NAME)
    }

    /// `<data dir>/logs/hearth.log`.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_DIR_NAME).join("hearth.log")
    }

    /// Where `config init` writes: the file named by `--config` or
    /// `HEARTH_CONFIG`, or `<data dir>/hearth.toml`.
    pub fn init_path(&self) -> PathBuf {
        self.explicit_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(CONFIG_FILE_NAME))
    }

    /// Every setting as a complete [`Settings`] layer.
    pub fn to_settings(&self) -> Settings {
        let strings = |v: &[Multiaddr]| Some(v.iter().map(ToString::to_string).collect());
        Settings {
            data_dir: Some(self.data_dir.clone()),
            network: Some(self.network.to_string()),
            channels: Some(self.channels.iter().map(ToString::to_string).collect()),
            listen: strings(&self.listen),
            bootstrap: strings(&self.bootstrap),
            external: strings(&self.external),
            mdns: Some(self.mdns),
            ephemeral: Some(self.ephemeral),
            persistent_identity: Some(self.persistent_identity),
            dht_server: Some(self.dht_server),
            nick: self.nick.clone(),
            log: Some(self.log.clone()),
            retention_days: Some(self.retention_days),
            max_posts_per_channel: Some(self.max_posts_per_channel),
            cache_mb: Some(self.cache_mb),
        }
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
            let note = self.origins.get(key.as_str()).map_or("", String::as_str);
            out.push_str(&format!("{key} = {value}  # {note}\n"));
        }
        if self.nick.is_none() {
            out.push_str("# nick is not set\n");
        }
        out
    }
}

/// Checks the `data_dir` key of the data directory's own `hearth.toml`: it
/// cannot move the directory the file was found in (only a file named by
/// `--config` or `HEARTH_CONFIG` can), but may repeat it, as `config show`
/// writes it.
fn in_data_dir(
    dir: &Path,
    file: Option<(PathBuf, Settings)>,
) -> Result<Option<(PathBuf, Settings)>, UsageError> {
    let Some((path, mut settings)) = file else {
        return Ok(None);
    };
    if let Some(named) = settings.data_dir.take() {
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if absolute(&named) != absolute(dir) {
            return Err(UsageError::new(format!(
                "`data_dir` in {} names {}, but that file is read because it is in {}; remove the \
                 key, or name the file with --config",
                path.display(),
                named.display(),
                dir.display()
            )));
        }
    }
    Ok(Some((path, settings)))
}

/// The platform's data directory for hearth, if the platform has one.
pub fn platform_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "hearth").map(|d| d.data_dir().to_path_buf())
}

/// Reads and parses a config file. A missing file is an error only when it
/// was named explicitly (`from` is the flag or variable that named it).
fn read_config_file(
    path: &Path,
    explicit: bool,
    from: &str,
) -> Result<Option<(PathBuf, Settings)>, UsageError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
            let settings = Settings::from_toml(&path, &text)?;
            Ok(Some((path, settings)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(UsageError::new(format!(
            "the config file {} named by {from} does not exist; create it with `hearth config \
             init` or leave {from} out",
            path.display()
        ))),
        Err(e) => Err(UsageError::new(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))),
    }
}

/// The commented default `hearth.toml` that `config init` writes.
pub const DEFAULT_FILE: &str = r#"# hearth configuration. Every setting is optional; the values shown are the
# defaults. HEARTH_* environment variables override this file, and flags
# override both. `hearth config show` prints the effective configuration.

# The network to join; nodes of different networks never see each other.
# Env: HEARTH_NETWORK. Flag: --network.
# network = "main"

# Channels `hearth run` joins, and `hearth chat` when given none.
# Env: HEARTH_CHANNELS (comma-separated). Arguments: hearth chat anxiety grief/es
# channels = []

# Addresses to listen on. Port 0 picks a free port.
# Env: HEARTH_LISTEN (comma-separated). Flag: --listen (repeatable).
# listen = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]

# Nodes to dial at start to find the others, with their /p2p/ peer id.
# Env: HEARTH_BOOTSTRAP (comma-separated). Flag: --bootstrap (repeatable).
# bootstrap = []

# Addresses this node is reachable at from outside (bootstrap nodes).
# Env: HEARTH_EXTERNAL (comma-separated). Flag: hearth run --external.
# external = []

# Find other hearth nodes on the local network with mDNS.
# Env: HEARTH_MDNS. Flag: --no-mdns.
# mdns = true

# Keep personas in memory only: a new name in every channel at every start.
# Env: HEARTH_EPHEMERAL. Flag: --ephemeral.
# ephemeral = false

# Keep the same peer id across restarts (bootstrap nodes need this so their
# address stays valid). Env: HEARTH_PERSISTENT_IDENTITY.
# Flag: hearth run --persistent-identity.
# persistent_identity = false

# Serve the DHT for other nodes (bootstrap nodes).
# Env: HEARTH_DHT_SERVER. Flag: hearth run --dht-server.
# dht_server = false

# A nickname shown beside your persona's name (at most 32 bytes).
# Env: HEARTH_NICK. Flag: --nick.
# nick = "sam"

# What to log (tracing filter syntax). Env: HEARTH_LOG, then RUST_LOG.
# log = "warn"

# Posts older than this many days are deleted. Env: HEARTH_RETENTION_DAYS.
# retention_days = 30

# At most this many posts are kept per channel.
# Env: HEARTH_MAX_POSTS_PER_CHANNEL.
# max_posts_per_channel = 10000

# Memory for the store's cache, in MiB. Env: HEARTH_CACHE_MB.
# cache_mb = 32
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Settings {
        use crate::args::{Cli, Command};
        use clap::Parser;
        let cli =
            Cli::try_parse_from(std::iter::once("hearth").chain(args.iter().copied())).unwrap();
        let settings = match cli.command {
            Command::Chat(chat) => Settings::from_node_args(&chat.channels, &chat.node),
            Command::Run(run) => Settings::from_run_args(&run),
            _ => Settings::default(),
        };
        Settings {
            network: cli.global.network,
            ..settings
        }
    }

    fn env(vars: &[(&str, &str)]) -> Settings {
        Settings::from_env(vars.iter().copied()).unwrap()
    }

    fn file(text: &str) -> Option<(PathBuf, Settings)> {
        let path = PathBuf::from("/etc/hearth.toml");
        let settings = Settings::from_toml(&path, text).unwrap();
        Some((path, settings))
    }

    fn resolve(layers: Layers) -> Result<Config, UsageError> {
        layers.resolve(Some(PathBuf::from("/home/sam/.local/share/hearth")))
    }

    #[test]
    fn defaults_need_no_file() {
        let config = resolve(Layers::default()).unwrap();
        assert_eq!(
            config.data_dir,
            PathBuf::from("/home/sam/.local/share/hearth")
        );
        assert_eq!(config.network.as_str(), "main");
        assert!(config.mdns);
        assert!(!config.ephemeral);
        assert_eq!(config.listen.len(), 2);
        assert!(config.bootstrap.is_empty());
        assert_eq!(config.log, "warn");
        let node = config.node_config();
        assert_eq!(
            node.storage,
            Storage::Path(PathBuf::from("/home/sam/.local/share/hearth/store"))
        );
        assert_eq!(node.personas, PersonaMode::Stored);
        assert_eq!(node.identity, IdentityMode::Ephemeral);
        assert_eq!(node.cache_bytes, 32 * 1024 * 1024);
    }

    #[test]
    fn env_overrides_file_and_flags_override_both() {
        let layers = Layers {
            file: file(
                "network = \"file-net\"\nnick = \"from-file\"\nmdns = false\n\
                 listen = [\"/ip4/127.0.0.1/tcp/1\"]\nretention_days = 7\n",
            ),
            env: env(&[
                ("HEARTH_NICK", "from-env"),
                (
                    "HEARTH_LISTEN",
                    "/ip4/127.0.0.1/tcp/2, /ip4/127.0.0.1/tcp/3",
                ),
                ("HEARTH_RETENTION_DAYS", "9"),
            ]),
            flags: flags(&["chat", "x", "--listen", "/ip4/127.0.0.1/tcp/4"]),
        };
        let config = resolve(layers).unwrap();
        assert_eq!(config.network.as_str(), "file-net", "file beats default");
        assert!(!config.mdns, "file beats default");
        assert_eq!(config.nick.as_deref(), Some("from-env"), "env beats file");
        assert_eq!(config.retention_days, 9, "env beats file");
        assert_eq!(
            config.listen,
            ["/ip4/127.0.0.1/tcp/4".parse::<Multiaddr>().unwrap()]
        );
        assert_eq!(config.channels, [ChannelName::parse("x").unwrap()]);

        let layers = Layers {
            file: file("nick = \"from-file\"\nephemeral = false\n"),
            env: env(&[("HEARTH_NICK", "from-env"), ("HEARTH_MDNS", "off")]),
            flags: flags(&["chat", "x", "--nick", "from-flag", "--ephemeral"]),
        };
        let config = resolve(layers).unwrap();
        assert_eq!(config.nick.as_deref(), Some("from-flag"));
        assert!(config.ephemeral);
        assert!(!config.mdns);
        assert_eq!(config.node_config().personas, PersonaMode::Ephemeral);
    }

    #[test]
    fn unset_bool_flags_do_not_override_lower_layers() {
        let layers = Layers {
            file: file("mdns = false\nephemeral = true\n"),
            env: Settings::default(),
            flags: flags(&["chat", "x"]),
        };
        let config = resolve(layers).unwrap();
        assert!(!config.mdns);
        assert!(config.ephemeral);
    }

    #[test]
    fn run_flags_set_bootstrap_node_options() {
        let config = resolve(Layers {
            flags: flags(&[
                "run",
                "--persistent-identity",
                "--dht-server",
                "--external",
                "/ip4/192.0.2.7/tcp/4001",
            ]),
            ..Layers::default()
        })
        .unwrap();
        let node = config.node_config();
        assert_eq!(node.identity, IdentityMode::Persistent);
        assert!(node.dht_server);
        assert_eq!(node.external_addrs.len(), 1);
    }

    #[test]
    fn data_dir_comes_from_flag_then_env_then_file() {
        let mut layers = Layers {
            file: file("data_dir = \"/from/file\"\n"),
            ..Layers::default()
        };
        assert_eq!(
            resolve(layers.clone()).unwrap().data_dir,
            PathBuf::from("/from/file")
        );
        layers.env = env(&[("HEARTH_DATA_DIR", "/from/env")]);
        assert_eq!(
            resolve(layers.clone()).unwrap().data_dir,
            PathBuf::from("/from/env")
        );
        layers.flags.data_dir = Some(PathBuf::from("/from/flag"));
        assert_eq!(
            resolve(layers).unwrap().data_dir,
            PathBuf::from("/from/flag")
        );
        let err = Layers::default().resolve(None).unwrap_err();
        assert!(err.0.contains("--data-dir"), "{err}");
    }

    #[test]
    fn invalid_channels_say_what_is_accepted_and_where_they_came_from() {
        let err = resolve(Layers {
            flags: flags(&["chat", "Bad Name"]),
            ..Layers::default()
        })
        .unwrap_err();
        assert!(
            err.0.starts_with("invalid channel name \"Bad Name\""),
            "{err}"
        );
        assert!(err.0.contains("a-z"), "{err}");

        let err = resolve(Layers {
            env: env(&[("HEARTH_CHANNELS", "ok,no_underscores")]),
            ..Layers::default()
        })
        .unwrap_err();
        assert!(err.0.contains("no_underscores"), "{err}");
        assert!(err.0.ends_with("(from HEARTH_CHANNELS)"), "{err}");

        let err = resolve(Layers {
            file: file("channels = [\"a//b\"]"),
            ..Layers::default()
        })
        .unwrap_err();
        assert!(
            err.0.ends_with("(from `channels` in /etc/hearth.toml)"),
            "{err}"
        );
    }

    #[test]
    fn channels_are_normalised_and_deduplicated() {
        let config = resolve(Layers {
            flags: flags(&["chat", "#Grief/ES", "grief/es", "anxiety"]),
            ..Layers::default()
        })
        .unwrap();
        let names: Vec<_> = config.channels.iter().map(ChannelName::as_str).collect();
        assert_eq!(names, ["grief/es", "anxiety"]);
    }

    #[test]
    fn invalid_multiaddrs_name_their_source_and_show_an_example() {
        let err = resolve(Layers {
            flags: flags(&["chat", "x", "--listen", "/ip4/999.0.0.1/tcp/1"]),
            ..Layers::default()
        })
        .unwrap_err();
        assert!(
            err.0
                .starts_with("invalid multiaddress \"/ip4/999.0.0.1/tcp/1\" in --listen: "),
            "{err}"
        );
        assert!(
            err.0.contains("use one like /ip4/0.0.0.0/tcp/4001"),
            "{err}"
        );

        let err = resolve(Layers {
            env: env(&[("HEARTH_BOOTSTRAP", "localhost:4001")]),
            ..Layers::default()
        })
        .unwrap_err();
        assert!(
            err.0
                .contains("in HEARTH_BOOTSTRAP: it does not start with '/'"),
            "{err}"
        );
        assert!(err.0.contains("/p2p/"), "{err}");

        let err = resolve(Layers {
            file: file("bootstrap = [\"/ip4/1.2.3.4/tcpx/1\"]"),
            ..Layers::default()
        })
        .unwrap_err();
        assert!(
            err.0.contains("in `bootstrap` in /etc/hearth.toml"),
            "{err}"
        );
        assert!(!err.0.contains('\n'));
    }

    #[test]
    fn other_values_are_checked_too() {
        let bad = [
            Layers {
                flags: flags(&["chat", "x", "--network", "Main Net"]),
                ..Layers::default()
            },
            Layers {
                flags: flags(&["chat", "x", "--nick", " padded"]),
                ..Layers::default()
            },
            Layers {
                env: env(&[("HEARTH_NICK", &"n".repeat(33))]),
                ..Layers::default()
            },
            Layers {
                env: env(&[("HEARTH_LOG", "hearth=loud")]),
                ..Layers::default()
            },
            Layers {
                file: file("retention_days = 0"),
                ..Layers::default()
            },
        ];
        for layers in bad {
            let err = resolve(layers).unwrap_err();
            assert!(!err.0.is_empty() && !err.0.contains('\n'), "{err}");
        }
        let err = Settings::from_env([("HEARTH_MDNS", "maybe")]).unwrap_err();
        assert_eq!(
            err.0,
            "invalid HEARTH_MDNS=\"maybe\": use true or false (also 1/0, yes/no, on/off)"
        );
        let err = Settings::from_env([("HEARTH_CACHE_MB", "lots")]).unwrap_err();
        assert!(err.0.contains("HEARTH_CACHE_MB"), "{err}");
    }

    #[test]
    fn empty_nick_means_none_and_hearth_log_beats_rust_log() {
        let s = env(&[
            ("HEARTH_NICK", ""),
            ("RUST_LOG", "debug"),
            ("HEARTH_LOG", "info"),
        ]);
        let config = resolve(Layers {
            env: s,
            ..Layers::default()
        })
        .unwrap();
        assert_eq!(config.nick, None);
        assert_eq!(config.log, "info");
        let s = env(&[("RUST_LOG", "debug")]);
        assert_eq!(
            resolve(Layers {
                env: s,
                ..Layers::default()
            })
            .unwrap()
            .log,
            "debug"
        );
    }

    #[test]
    fn config_file_errors_give_file_line_and_accepted_keys() {
        let path = Path::new("/x/hearth.toml");
        let err = Settings::from_toml(path, "network = \"a\"\ncolour = 3\n").unwrap_err();
        assert!(
            err.0
                .starts_with("invalid config file /x/hearth.toml, line 2: unknown field `colour`"),
            "{err}"
        );
        assert!(err.0.contains("`bootstrap`"), "{err}");
        assert!(!err.0.contains('\n'), "{err}");
        let err = Settings::from_toml(path, "mdns = \"yes\"\n").unwrap_err();
        assert!(err.0.contains("line 1"), "{err}");
        let err = Settings::from_toml(path, "[[[").unwrap_err();
        assert!(err.0.starts_with("invalid config file"), "{err}");
    }

    #[test]
    fn the_default_file_parses_and_uncommented_gives_the_defaults() {
        let path = Path::new("/x/hearth.toml");
        assert_eq!(
            Settings::from_toml(path, DEFAULT_FILE).unwrap(),
            Settings::default()
        );
        let uncommented: String = DEFAULT_FILE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = ") && !l.starts_with("nick"))
            .map(|l| format!("{l}\n"))
            .collect();
        let settings = Settings::from_toml(path, &uncommented).unwrap();
        let from_file = resolve(Layers {
            file: Some((path.to_path_buf(), settings)),
            ..Layers::default()
        })
        .unwrap();
        let defaults = resolve(Layers::default()).unwrap();
        assert_eq!(from_file.to_settings(), defaults.to_settings());
    }

    #[test]
    fn config_show_round_trips_through_toml() {
        let config = resolve(Layers {
            flags: flags(&[
                "chat",
                "anxiety",
                "--nick",
                "sam",
                "--bootstrap",
                "/ip4/192.0.2.7/tcp/4001",
            ]),
            ..Layers::default()
        })
        .unwrap();
        let text = config.to_toml();
        assert!(text.contains("nick = \"sam\"  # from --nick"), "{text}");
        assert!(text.contains("network = \"main\"  # default"), "{text}");
        let again = Settings::from_toml(Path::new("/x"), &text).unwrap();
        assert_eq!(again, config.to_settings());
    }

    #[test]
    fn explicit_config_file_must_exist_but_the_default_one_need_not() {
        let dir = tempfile::tempdir().unwrap();
        let global = GlobalArgs {
            data_dir: Some(dir.path().to_path_buf()),
            ..GlobalArgs::default()
        };
        let none: [(&str, &str); 0] = [];
        let config = Config::load_from(&global, Settings::default(), none, None, true).unwrap();
        assert_eq!(config.config_file, None);

        std::fs::write(dir.path().join(CONFIG_FILE_NAME), "nick = \"in-dir\"\n").unwrap();
        let config = Config::load_from(&global, Settings::default(), none, None, true).unwrap();
        assert_eq!(config.nick.as_deref(), Some("in-dir"));

        std::fs::write(
            dir.path().join(CONFIG_FILE_NAME),
            "data_dir = \"/elsewhere\"\n",
        )
        .unwrap();
        let err = Config::load_from(&global, Settings::default(), none, None, true).unwrap_err();
        assert!(
            err.0
                .contains("remove the key, or name the file with --config"),
            "{err}"
        );
        let same = format!("data_dir = {:?}\nnick = \"in-dir\"\n", dir.path());
        std::fs::write(dir.path().join(CONFIG_FILE_NAME), same).unwrap();
        let config = Config::load_from(&global, Settings::default(), none, None, true).unwrap();
        assert_eq!(config.nick.as_deref(), Some("in-dir"));

        let missing = GlobalArgs {
            config: Some(dir.path().join("nope.toml")),
            ..global.clone()
        };
        let err = Config::load_from(&missing, Settings::default(), none, None, true).unwrap_err();
        assert!(err.0.contains("named by --config does not exist"), "{err}");
        let config = Config::load_from(&missing, Settings::default(), none, None, false).unwrap();
        assert_eq!(config.init_path(), dir.path().join("nope.toml"));

        let other = dir.path().join("other.toml");
        std::fs::write(&other, "nick = \"other\"\n").unwrap();
        let config = Config::load_from(
            &global,
            Settings::default(),
            [("HEARTH_CONFIG", other.as_os_str())],
            None,
            true,
        )
        .unwrap();
        assert_eq!(config.nick.as_deref(), Some("other"));
    }
}
