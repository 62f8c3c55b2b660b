//! The layers of settings and how they merge: the defaults, the config
//! file, `RUST_LOG`, then what clap read from `HEARTH_*` variables and flags
//! (a flag wins over its variable; clap says which one gave each value).
//! [`Layers::resolve`] checks the winner of every setting and remembers
//! where it came from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hearth_protocol::limits::{MAX_PERSONA_STAMP_BITS, MAX_POW_DIFFICULTY};
use hearth_protocol::{ChannelName, DEFAULT_PERSONA_STAMP_BITS, NetworkId};
use libp2p::Multiaddr;

use super::file::Settings;
use super::values::{
    BOOTSTRAP_EXAMPLE, LISTEN_EXAMPLE, check_nick, dedup, parse_bool, parse_multiaddr,
    parse_number, parse_socket_addr,
};
use super::{
    Config, DEFAULT_CACHE_MB, DEFAULT_LISTEN, DEFAULT_LOG, DEFAULT_MAX_CHANNEL_MB,
    DEFAULT_MAX_POSTS_PER_CHANNEL, DEFAULT_RETENTION_DAYS, LogFormat,
};
use crate::args::{Given, GlobalArgs, SettingArgs};
use crate::error::UsageError;

/// Largest store cache, in MiB (1 TiB).
const MAX_CACHE_MB: u64 = 1 << 20;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nobody set it.
    Default,
    /// The config file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// This flag, or the positional arguments.
    Flag(String),
}

impl From<&Given> for Origin {
    fn from(given: &Given) -> Self {
        match given {
            Given::Flag(flag) => Origin::Flag(flag.clone()),
            Given::Env(name) => Origin::Env(name.clone()),
        }
    }
}

impl Origin {
    /// The value's source, for error messages: `--listen`,
    /// `HEARTH_LISTEN`, `` `listen` in /path/hearth.toml ``.
    pub fn describe(&self, key: &str) -> String {
        match self {
            Origin::Default => format!("the default {key}"),
            Origin::File(path) => format!("`{key}` in {}", path.display()),
            Origin::Env(name) => name.clone(),
            Origin::Flag(flag) => flag.clone(),
        }
    }

    /// A short note for `config show`.
    pub fn note(&self) -> String {
        match self {
            Origin::Default => "default".to_owned(),
            Origin::File(path) => format!("from {}", path.display()),
            Origin::Env(name) | Origin::Flag(name) => format!("from {name}"),
        }
    }

    /// The value as it was given, for error messages:
    /// `HEARTH_MDNS="maybe"`, `--cache-mb "lots"`.
    pub(super) fn given(&self, key: &str, value: &str) -> String {
        match self {
            Origin::Env(name) => format!("{name}={value:?}"),
            other => format!("{} {value:?}", other.describe(key)),
        }
    }
}

/// The settings given on the command line and in the environment, as
/// clap read them, with where each came from.
#[derive(Debug, Clone, Default)]
pub(super) struct CliLayer {
    /// The values.
    pub settings: Settings,
    /// Where each value came from, by key.
    pub origins: BTreeMap<String, Origin>,
}

impl CliLayer {
    /// The layer `global` and a command's setting arguments give, with
    /// booleans and numbers checked.
    pub(super) fn from_args(
        global: &GlobalArgs,
        args: SettingArgs<'_>,
    ) -> Result<Self, UsageError> {
        // Argument ids are the settings' keys, except `--no-mdns`, which
        // gives `mdns`.
        let mut origins: BTreeMap<String, Origin> = global
            .given
            .iter()
            .map(|(id, given)| (id.clone(), Origin::from(given)))
            .collect();
        if let Some(no_mdns) = origins.remove("no_mdns")
            && args.node.is_some_and(|n| n.no_mdns)
        {
            origins.insert("mdns".to_owned(), no_mdns);
        }
        // `--port` gives both ports at its layer, unless they are given.
        if let Some(port) = origins.get("port").cloned() {
            for key in ["tcp_port", "quic_port"] {
                origins
                    .entry(key.to_owned())
                    .or_insert_with(|| port.clone());
            }
        }
        let layer = CliLayer {
            settings: Settings::default(),
            origins,
        };
        let boolean = |key, value: &Option<String>| typed(&layer, key, value, parse_bool);
        let mut settings = Settings {
            data_dir: global.data_dir.clone(),
            network: global.network.clone(),
            log: global.log.clone(),
            log_format: global.log_format.clone(),
            retention_days: typed(
                &layer,
                "retention_days",
                &global.retention_days,
                parse_number,
            )?,
            max_posts_per_channel: typed(
                &layer,
                "max_posts_per_channel",
                &global.max_posts_per_channel,
                parse_number,
            )?,
            cache_mb: typed(&layer, "cache_mb", &global.cache_mb, parse_number)?,
            max_channel_mb: typed(
                &layer,
                "max_channel_mb",
                &global.max_channel_mb,
                parse_number,
            )?,
            persona_stamp_bits: typed(
                &layer,
                "persona_stamp_bits",
                &global.persona_stamp_bits,
                parse_number,
            )?,
            channel_retention_days: pairs(
                &layer,
                "channel_retention_days",
                &global.channel_retention_days,
                "DAYS",
                "7",
            )?,
            channel_max_posts: pairs(
                &layer,
                "channel_max_posts",
                &global.channel_max_posts,
                "N",
                "500",
            )?,
            ..Settings::default()
        };
        let list = |key: &str, values: &[String]| list_from(values, &layer_origin(&layer, key));
        if let Some(node) = args.node {
            settings.channels = list("channels", &node.channels);
            settings.listen = list("listen", &node.listen);
            settings.bootstrap = list("bootstrap", &node.bootstrap);
            settings.external = list("external", &node.serve.external);
            settings.announce_private = boolean("announce_private", &node.serve.announce_private)?;
            settings.mdns = if node.no_mdns {
                Some(false)
            } else {
                boolean("mdns", &node.mdns)?
            };
            settings.ephemeral = boolean("ephemeral", &node.ephemeral)?;
            settings.persistent_identity =
                boolean("persistent_identity", &node.serve.persistent_identity)?;
            settings.dht_server = boolean("dht_server", &node.serve.dht_server)?;
            settings.nick = node.nick.clone();
            settings.metrics = node.serve.metrics.clone();
            settings.channel_difficulty = pairs(
                &layer,
                "channel_difficulty",
                &node.channel_difficulty,
                "BITS",
                "20",
            )?;
        }
        if let Some(run) = args.bootstrap {
            settings.bootstrap = list("bootstrap", &run.bootstrap);
            settings.external = list("external", &run.external);
            settings.announce_private = boolean("announce_private", &run.announce_private)?;
            settings.metrics = run.metrics.clone();
        }
        if let Some(op) = args.operator {
            super::operator::from_args(&layer, op, &mut settings)?;
        }
        super::care::from_args(&layer, &global.care, &mut settings)?;
        Ok(CliLayer { settings, ..layer })
    }
}

/// A value clap gave as text, parsed by `parse`, whose error names it as
/// it was given.
pub(super) fn typed<T>(
    layer: &CliLayer,
    key: &str,
    value: &Option<String>,
    parse: fn(&str, &str) -> Result<T, UsageError>,
) -> Result<Option<T>, UsageError> {
    value
        .as_deref()
        .map(|v| parse(v, &layer_origin(layer, key).given(key, v)))
        .transpose()
}

/// `CHANNEL=VALUE` pairs clap gave: `None` when nothing was given. The
/// channel names are checked later, with the other layers' keys.
fn pairs<T: std::str::FromStr>(
    layer: &CliLayer,
    key: &str,
    values: &[String],
    unit: &str,
    example: &str,
) -> Result<Option<BTreeMap<String, T>>, UsageError> {
    let Some(values) = list_from(values, &layer_origin(layer, key)) else {
        return Ok(None);
    };
    let origin = layer_origin(layer, key);
    let mut out = BTreeMap::new();
    for value in values {
        let parsed = value
            .split_once('=')
            .and_then(|(channel, n)| Some((channel.trim(), n.trim().parse::<T>().ok()?)));
        let Some((channel, n)) = parsed.filter(|(channel, _)| !channel.is_empty()) else {
            return Err(UsageError::new(format!(
                "invalid {}: use CHANNEL={unit} with a whole number, like grief={example}",
                origin.given(key, &value)
            )));
        };
        out.insert(channel.to_owned(), n);
    }
    Ok(Some(out))
}

pub(super) fn layer_origin(layer: &CliLayer, key: &str) -> Origin {
    layer
        .origins
        .get(key)
        .cloned()
        .unwrap_or_else(|| Origin::Flag(format!("--{}", key.replace('_', "-"))))
}

/// A list clap gave: `None` when nothing was given. Items of a variable
/// (comma-separated) are trimmed and empty ones dropped, so `a, b,` is two.
pub(super) fn list_from(values: &[String], origin: &Origin) -> Option<Vec<String>> {
    if values.is_empty() {
        return None;
    }
    Some(match origin {
        Origin::Env(_) => values
            .iter()
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => values.to_vec(),
    })
}

/// Every layer, lowest first: the defaults (in [`Layers::resolve`]), the
/// config file, `RUST_LOG`, then flags and `HEARTH_*` variables.
#[derive(Debug, Clone, Default)]
pub(super) struct Layers {
    /// The config file and where it was read from.
    pub file: Option<(PathBuf, Settings)>,
    /// `RUST_LOG`, the log filter when `HEARTH_LOG` and `--log` are unset.
    pub rust_log: Option<String>,
    /// Flags and `HEARTH_*` variables.
    pub cli: CliLayer,
}

impl Layers {
    /// The highest layer's value of one setting, with its origin.
    pub(super) fn pick<T>(
        &self,
        key: &'static str,
        get: impl Fn(&Settings) -> Option<T>,
    ) -> Option<(T, Origin)> {
        if let Some(v) = get(&self.cli.settings) {
            return Some((v, layer_origin(&self.cli, key)));
        }
        if key == "log"
            && let Some(filter) = &self.rust_log
            && let Some(v) = get(&Settings {
                log: Some(filter.clone()),
                ..Settings::default()
            })
        {
            return Some((v, Origin::Env("RUST_LOG".to_owned())));
        }
        let (path, file) = self.file.as_ref()?;
        get(file).map(|v| (v, Origin::File(path.clone())))
    }

    /// The value or a default, with its origin.
    pub(super) fn pick_or<T>(
        &self,
        key: &'static str,
        get: impl Fn(&Settings) -> Option<T>,
        default: T,
    ) -> (T, Origin) {
        self.pick(key, get).unwrap_or((default, Origin::Default))
    }

    /// Validates the merged settings into a [`Config`]. `default_data_dir`
    /// is the platform's data directory, if there is one.
    pub(super) fn resolve(&self, default_data_dir: Option<PathBuf>) -> Result<Config, UsageError> {
        let mut origins = BTreeMap::new();

        let (data_dir, o) = match self.pick("data_dir", |s| s.data_dir.clone()) {
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
                o.describe("data_dir")
            )));
        }
        origins.insert("data_dir", o);
        let data_dir = super::paths::absolute(&data_dir);

        let (network, o) =
            self.pick_or("network", |s| s.network.clone(), NetworkId::MAIN.to_owned());
        let network = NetworkId::parse(&network)
            .map_err(|e| UsageError::new(with_origin(e.to_string(), &o, "network")))?;
        origins.insert("network", o);

        let (channels, o) = self.pick_or("channels", |s| s.channels.clone(), Vec::new());
        let channels = channels
            .iter()
            .map(|c| ChannelName::parse(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UsageError::new(with_origin(e.to_string(), &o, "channels")))?;
        let channels = dedup(channels);
        origins.insert("channels", o);

        let default_listen = DEFAULT_LISTEN.iter().map(|s| (*s).to_owned()).collect();
        let (listen, o) = self.pick_or("listen", |s| s.listen.clone(), default_listen);
        let listen = parse_addrs(&listen, &o, "listen", LISTEN_EXAMPLE)?;
        origins.insert("listen", o);

        let (bootstrap, o) = self.pick_or("bootstrap", |s| s.bootstrap.clone(), Vec::new());
        let bootstrap = parse_addrs(&bootstrap, &o, "bootstrap", BOOTSTRAP_EXAMPLE)?;
        origins.insert("bootstrap", o);

        let (external, o) = self.pick_or("external", |s| s.external.clone(), Vec::new());
        let external = parse_addrs(&external, &o, "external", BOOTSTRAP_EXAMPLE)?;
        origins.insert("external", o);
        let (announce_private, o) = self.pick_or("announce_private", |s| s.announce_private, false);
        origins.insert("announce_private", o);

        let (mdns, o) = self.pick_or("mdns", |s| s.mdns, true);
        origins.insert("mdns", o);
        let (ephemeral, o) = self.pick_or("ephemeral", |s| s.ephemeral, false);
        origins.insert("ephemeral", o);
        let (persistent_identity, o) =
            self.pick_or("persistent_identity", |s| s.persistent_identity, false);
        origins.insert("persistent_identity", o);
        let (dht_server, o) = self.pick_or("dht_server", |s| s.dht_server, false);
        origins.insert("dht_server", o);

        let (nick, o) = self.pick_or("nick", |s| s.nick.clone(), String::new());
        let nick = if nick.is_empty() {
            None
        } else {
            Some(check_nick(&nick).map_err(|e| UsageError::new(with_origin(e, &o, "nick")))?)
        };
        origins.insert("nick", o);

        let (log, o) = self.pick_or("log", |s| s.log.clone(), DEFAULT_LOG.to_owned());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            return Err(UsageError::new(format!(
                "invalid log filter {log:?} in {}: {e}; use a level (error, warn, info, debug, \
                 trace) or directives like hearth_node=debug,warn",
                o.describe("log")
            )));
        }
        origins.insert("log", o);

        let (retention_days, o) = self.pick_or(
            "retention_days",
            |s| s.retention_days,
            DEFAULT_RETENTION_DAYS,
        );
        at_least_one(u64::from(retention_days), &o, "retention_days")?;
        origins.insert("retention_days", o);
        let (max_posts_per_channel, o) = self.pick_or(
            "max_posts_per_channel",
            |s| s.max_posts_per_channel,
            DEFAULT_MAX_POSTS_PER_CHANNEL,
        );
        let max_posts = u64::try_from(max_posts_per_channel).unwrap_or(u64::MAX);
        at_least_one(max_posts, &o, "max_posts_per_channel")?;
        origins.insert("max_posts_per_channel", o);
        let (cache_mb, o) = self.pick_or("cache_mb", |s| s.cache_mb, DEFAULT_CACHE_MB);
        at_least_one(cache_mb, &o, "cache_mb")?;
        if cache_mb > MAX_CACHE_MB {
            return Err(UsageError::new(format!(
                "{} is {cache_mb} MiB; use at most {MAX_CACHE_MB} (1 TiB)",
                o.describe("cache_mb")
            )));
        }
        origins.insert("cache_mb", o);
        let (max_channel_mb, o) = self.pick_or(
            "max_channel_mb",
            |s| s.max_channel_mb,
            DEFAULT_MAX_CHANNEL_MB,
        );
        origins.insert("max_channel_mb", o);
        let (persona_stamp_bits, o) = self.pick_or(
            "persona_stamp_bits",
            |s| s.persona_stamp_bits,
            DEFAULT_PERSONA_STAMP_BITS,
        );
        if persona_stamp_bits > MAX_PERSONA_STAMP_BITS {
            return Err(UsageError::new(format!(
                "{} is {persona_stamp_bits}; use at most {MAX_PERSONA_STAMP_BITS}",
                o.describe("persona_stamp_bits")
            )));
        }
        origins.insert("persona_stamp_bits", o);
        let care = super::care::resolve(self, &mut origins)?;

        let (log_format, o) = self.pick_or("log_format", |s| s.log_format.clone(), "text".into());
        let log_format = LogFormat::parse(&log_format).ok_or_else(|| {
            UsageError::new(format!(
                "invalid log format {log_format:?} in {}; use text or json",
                o.describe("log_format")
            ))
        })?;
        origins.insert("log_format", o);

        let (metrics, o) = self.pick_or("metrics", |s| s.metrics.clone(), String::new());
        let metrics = if metrics.trim().is_empty() {
            None
        } else {
            Some(parse_socket_addr(&metrics, &o.describe("metrics"))?)
        };
        origins.insert("metrics", o);

        let operator = super::operator::resolve(self, &mut origins)?;

        let (days, o) = self.pick_or(
            "channel_retention_days",
            |s| s.channel_retention_days.clone(),
            BTreeMap::new(),
        );
        let channel_retention_days = by_channel(days, &o, "channel_retention_days", |days| {
            at_least_one(u64::from(*days), &o, "channel_retention_days")
        })?;
        origins.insert("channel_retention_days", o);
        let (posts, o) = self.pick_or(
            "channel_max_posts",
            |s| s.channel_max_posts.clone(),
            BTreeMap::new(),
        );
        let channel_max_posts = by_channel(posts, &o, "channel_max_posts", |n| {
            at_least_one(
                u64::try_from(*n).unwrap_or(u64::MAX),
                &o,
                "channel_max_posts",
            )
        })?;
        origins.insert("channel_max_posts", o);
        let (bits, o) = self.pick_or(
            "channel_difficulty",
            |s| s.channel_difficulty.clone(),
            BTreeMap::new(),
        );
        let channel_difficulty = by_channel(bits, &o, "channel_difficulty", |bits| {
            if *bits > MAX_POW_DIFFICULTY {
                return Err(UsageError::new(format!(
                    "{} asks for {bits} bits of proof of work; use at most {MAX_POW_DIFFICULTY}",
                    o.describe("channel_difficulty")
                )));
            }
            Ok(())
        })?;
        origins.insert("channel_difficulty", o);

        Ok(Config {
            data_dir,
            config_file: self.file.as_ref().map(|(p, _)| p.clone()),
            network,
            channels,
            listen,
            bootstrap,
            external,
            announce_private,
            mdns,
            ephemeral,
            persistent_identity,
            dht_server,
            nick,
            log,
            retention_days,
            max_posts_per_channel,
            cache_mb,
            max_channel_mb,
            persona_stamp_bits,
            log_format,
            metrics,
            care,
            operator,
            channel_retention_days,
            channel_max_posts,
            channel_difficulty,
            origins,
            explicit_file: None,
        })
    }
}

/// `message`, followed by where the value came from unless the message
/// already names a flag or it is the default.
pub(super) fn with_origin(message: String, origin: &Origin, key: &str) -> String {
    match origin {
        Origin::Flag(_) | Origin::Default => message,
        _ => format!("{message} (from {})", origin.describe(key)),
    }
}

/// A setting by channel name, with the names and each value checked.
fn by_channel<T>(
    values: BTreeMap<String, T>,
    origin: &Origin,
    key: &str,
    check: impl Fn(&T) -> Result<(), UsageError>,
) -> Result<BTreeMap<ChannelName, T>, UsageError> {
    let mut out = BTreeMap::new();
    for (name, value) in values {
        let channel = ChannelName::parse(&name)
            .map_err(|e| UsageError::new(with_origin(e.to_string(), origin, key)))?;
        check(&value)?;
        out.insert(channel, value);
    }
    Ok(out)
}

pub(super) fn at_least_one(value: u64, origin: &Origin, key: &str) -> Result<(), UsageError> {
    if value == 0 {
        return Err(UsageError::new(format!(
            "{} is 0; use a whole number of at least 1",
            origin.describe(key)
        )));
    }
    Ok(())
}

fn parse_addrs(
    values: &[String],
    origin: &Origin,
    key: &str,
    example: &str,
) -> Result<Vec<Multiaddr>, UsageError> {
    values
        .iter()
        .map(|v| parse_multiaddr(v, &origin.describe(key), example))
        .collect()
}
