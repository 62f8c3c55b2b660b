//! `hearth.toml`: the shape of a layer of settings, reading and parsing the
//! file (which may be hostile: capped, every error names the file, the line
//! and the key), and the commented default that `config init` writes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::paths::{CONFIG_FILE_NAME, absolute};
use crate::error::UsageError;

/// Largest config file read. A real one is a few hundred bytes; the cap
/// keeps `--config /dev/zero` from filling memory.
pub(super) const MAX_FILE_BYTES: u64 = 1024 * 1024;

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
    /// Announce confirmed non-global addresses too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_private: Option<bool>,
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
    /// MiB of posts kept per channel (0: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_channel_mb: Option<u64>,
    /// The persona-stamp level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_stamp_bits: Option<u8>,
    /// The log format on standard error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// The metrics endpoint's address; empty for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
    /// Channels the operator's node joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<Vec<String>>,
    /// The IP addresses the operator's node listens on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_ips: Option<Vec<String>>,
    /// The operator's node's TCP and QUIC port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The operator's node's TCP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_port: Option<u16>,
    /// The operator's node's QUIC port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quic_port: Option<u16>,
    /// Serve as a circuit relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<bool>,
    /// Serve AutoNAT probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonat: Option<bool>,
    /// Relay reservations at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_max_reservations: Option<u32>,
    /// Relay reservations per peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_max_reservations_per_peer: Option<u32>,
    /// Relay reservation lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_reservation_secs: Option<u64>,
    /// Relayed connections at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_max_circuits: Option<u32>,
    /// Relayed connections per peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_max_circuits_per_peer: Option<u32>,
    /// Relayed connection lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_max_circuit_secs: Option<u64>,
    /// Relayed connection byte budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_max_circuit_bytes: Option<u64>,
    /// Connections in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    /// Incoming connections; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inbound_connections: Option<u32>,
    /// Connections per peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_peer: Option<u32>,
    /// Connections per IP address; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections_per_ip: Option<u32>,
    /// Incoming handshakes at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_incoming: Option<u32>,
    /// Outgoing dials at once; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pending_outgoing: Option<u32>,
    /// Memory limit in MiB; 0 for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory_mb: Option<u64>,
    /// DHT keys with providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dht_max_provider_keys: Option<u32>,
    /// DHT providers per key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dht_max_providers_per_key: Option<u32>,
    /// DHT provider record lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dht_provider_ttl_secs: Option<u64>,
    /// DHT value records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dht_max_records: Option<u32>,
    /// The country for the crisis card (ISO 3166 code; empty: the locale's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Fold received posts that may describe ways of self-harm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold_method_details: Option<bool>,
    /// The person's age group (`adult` or `teen`; empty: unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_group: Option<String>,
    /// Keys trusted for crisis-line updates (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crisis_trust: Option<Vec<String>>,
    /// Fold, open or hide posts behind content warnings, by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_warnings: Option<std::collections::BTreeMap<String, String>>,
    /// Days posts are kept, by channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_retention_days: Option<BTreeMap<String, u32>>,
    /// Posts kept, by channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_max_posts: Option<BTreeMap<String, usize>>,
    /// Proof-of-work difficulty, by channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_difficulty: Option<BTreeMap<String, u8>>,
}

impl Settings {
    /// Parses the text of a config file. Errors give the file, the line, the
    /// key and what is wrong, on one line.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self, UsageError> {
        toml::from_str(text).map_err(|e| {
            let mut place = path.display().to_string();
            if let Some(span) = e.span() {
                let line = text.get(..span.start).unwrap_or("").matches('\n').count() + 1;
                place.push_str(&format!(", line {line}"));
            }
            let message = e.message().trim().trim_end_matches('.');
            let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
            match key_of(&e).filter(|key| !message.contains(&format!("`{key}`"))) {
                Some(key) => {
                    UsageError::new(format!("invalid config file {place}: `{key}`: {message}"))
                }
                None => UsageError::new(format!("invalid config file {place}: {message}")),
            }
        })
    }
}

/// The key a TOML error is about, if it names one. The parser keeps the
/// key path private but writes it as "in `key`" when shown without the
/// document.
fn key_of(error: &toml::de::Error) -> Option<String> {
    let mut bare = error.clone();
    bare.set_input(None);
    bare.to_string().lines().find_map(|line| {
        let key = line.strip_prefix("in `")?.strip_suffix('`')?;
        (!key.is_empty()).then(|| key.to_owned())
    })
}

/// Reads and parses a config file. A missing file is an error only when it
/// was named (`named_by` is the flag or variable that named it).
pub(super) fn read_config_file(
    path: &Path,
    named_by: Option<&str>,
) -> Result<Option<(PathBuf, Settings)>, UsageError> {
    let cannot = |e: &dyn std::fmt::Display| {
        UsageError::new(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match named_by {
                None => Ok(None),
                Some(from) => Err(UsageError::new(format!(
                    "the config file {} named by {from} does not exist; create it with \
                     `hearth config init` or leave {from} out",
                    path.display()
                ))),
            };
        }
        Err(e) => return Err(cannot(&e)),
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(cannot(&"it is a directory; name a TOML file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(&e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(cannot(&format!(
            "it is larger than {} KiB; a config file is a few lines of TOML",
            MAX_FILE_BYTES / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| cannot(&"it is not UTF-8 text"))?;
    let path = absolute(path);
    let settings = Settings::from_toml(&path, &text)?;
    Ok(Some((path, settings)))
}

/// Checks the `data_dir` key of the data directory's own `hearth.toml`: it
/// cannot move the directory the file was found in (only a file named by
/// `--config` or `HEARTH_CONFIG` can), but may repeat it, as `config show`
/// writes it.
pub(super) fn in_data_dir(
    dir: &Path,
    file: Option<(PathBuf, Settings)>,
) -> Result<Option<(PathBuf, Settings)>, UsageError> {
    let Some((path, mut settings)) = file else {
        return Ok(None);
    };
    if let Some(named) = settings.data_dir.take()
        && absolute(&named) != absolute(dir)
    {
        return Err(UsageError::new(format!(
            "`data_dir` in {} names {}, but that file is read because it is in {}; remove the \
             key, or name the file with --config",
            path.display(),
            named.display(),
            dir.display()
        )));
    }
    Ok(Some((path, settings)))
}

/// Reads `<dir>/hearth.toml` if it exists.
pub(super) fn read_default_file(dir: &Path) -> Result<Option<(PathBuf, Settings)>, UsageError> {
    in_data_dir(dir, read_config_file(&dir.join(CONFIG_FILE_NAME), None)?)
}

/// The commented default `hearth.toml` that `config init` writes.
pub(crate) const DEFAULT_FILE: &str = r#"# hearth configuration. Every setting is optional; the values shown are the
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
# Env: HEARTH_EXTERNAL (comma-separated). Flag: --external (repeatable).
# external = []

# Also announce confirmed addresses that are not globally routable
# (loopback, 10/8, 192.168/16, …): for a network on a LAN or VPN. Off, a
# node never tells others its private addresses.
# Env: HEARTH_ANNOUNCE_PRIVATE. Flag: --announce-private.
# announce_private = false

# Find other hearth nodes on the local network with mDNS.
# Env: HEARTH_MDNS. Flag: --mdns=false or --no-mdns.
# mdns = true

# Keep personas in memory only: a new name in every channel at every start.
# Env: HEARTH_EPHEMERAL. Flag: --ephemeral.
# ephemeral = false

# Keep the same peer id across restarts (bootstrap nodes need this so their
# address stays valid). Env: HEARTH_PERSISTENT_IDENTITY.
# Flag: --persistent-identity.
# persistent_identity = false

# Serve the DHT for other nodes, and answer their AutoNAT probes (bootstrap
# nodes). Env: HEARTH_DHT_SERVER. Flag: --dht-server.
# dht_server = false

# A nickname shown beside your persona's name (at most 32 bytes).
# Env: HEARTH_NICK. Flag: --nick.
# nick = "sam"

# What to log (tracing filter syntax).
# Env: HEARTH_LOG, then RUST_LOG. Flag: --log.
# log = "warn"

# Posts older than this many days are deleted.
# Env: HEARTH_RETENTION_DAYS. Flag: --retention-days.
# retention_days = 30

# At most this many posts are kept per channel.
# Env: HEARTH_MAX_POSTS_PER_CHANNEL. Flag: --max-posts-per-channel.
# max_posts_per_channel = 10000

# At most this many MiB of posts are kept per channel (0: no limit). Over
# it, posts of personas new to the channel go first, yours never.
# Env: HEARTH_MAX_CHANNEL_MB. Flag: --max-channel-mb.
# max_channel_mb = 32

# Memory for the store's cache, in MiB.
# Env: HEARTH_CACHE_MB. Flag: --cache-mb.
# cache_mb = 32

# The persona-stamp level (leading zero bits): the one-time proof of work
# every persona pays for, asked of every post (docs/protocol.md 12.2). Keep
# the protocol's 25 on the public network; lower it only in a private or
# test network, whose nodes must all agree.
# Env: HEARTH_PERSONA_STAMP_BITS. Flag: --persona-stamp-bits.
# persona_stamp_bits = 25

# Retention for single channels, overriding the two settings above: days,
# and posts kept. A table of channel names, like {grief=7, "grief/es"=14}.
# Env: HEARTH_CHANNEL_RETENTION_DAYS="grief=7,grief/es=14" and
# HEARTH_CHANNEL_MAX_POSTS. Flags: --channel-retention-days grief=7 and
# --channel-max-posts grief=500 (repeatable).
# channel_retention_days = {}
# channel_max_posts = {}

# Proof of work (leading zero bits, 0 to 32) that posts in a channel must
# carry, like {grief=20}. Posts with less are refused, so every node of the
# channel should use the same value; each bit doubles the cost of a post.
# Env: HEARTH_CHANNEL_DIFFICULTY="grief=20". Flag: --channel-difficulty
# grief=20 (repeatable).
# channel_difficulty = {}

# Your country, for the crisis card (Ctrl+G or /crisis in the chat, and
# `hearth crisis`): an ISO 3166 code like "GB". Empty: the country of your
# locale (LC_ALL, LC_MESSAGES, LANG). hearth never guesses it from the network.
# Env: HEARTH_COUNTRY. Flag: --country.
# country = ""

# Your age group, "adult" or "teen": the chat warns before you join a channel
# whose card says it is for the other group. Empty: no warning.
# Env: HEARTH_AGE_GROUP. Flag: --age-group.
# age_group = ""

# Keys (64 hex digits) you trust to send updates of the crisis lines, as
# `hearth crisis trust KEY` does: their updates wait for you (`hearth crisis
# updates`) and apply only when you accept one. Empty: none (the default).
# Env: HEARTH_CRISIS_TRUST (comma-separated). Flag: --crisis-trust.
# crisis_trust = []

# Fold received posts that may describe ways of self-harm (/open shows one).
# Env: HEARTH_FOLD_METHOD_DETAILS. Flag: --fold-method-details=false.
# fold_method_details = true

# Posts behind content warnings, by label: "fold" (the default), "open" or
# "hide". Labels: self-harm, suicide, abuse, substance-use, eating, violence,
# death. For example {death="open", violence="hide"}; the variable and the
# flag take the short form death=open,violence=hide.
# Env: HEARTH_CONTENT_WARNINGS. Flag: --content-warnings.
# content_warnings = {}

# The format of logs on standard error: "text" or "json".
# Env: HEARTH_LOG_FORMAT. Flag: --log-format.
# log_format = "text"

# Serve Prometheus metrics (GET /metrics) and GET /health on an address
# like "127.0.0.1:9464" (run, chat and bootstrap); port 0 picks a free one.
# Keep it private: bind to 127.0.0.1 or firewall it. Empty for none.
# Env: HEARTH_METRICS. Flag: --metrics.
# metrics = ""

# ---- The operator's node (`hearth bootstrap`) ----------------------------
# Only `hearth bootstrap` reads these. It also reads external, bootstrap and
# metrics, but not listen: it listens on the IP addresses and ports below.

# IP addresses to listen on; 0.0.0.0 and :: are every IPv4 and IPv6
# interface. Env: HEARTH_LISTEN_IPS (comma-separated). Flag: --listen-ip.
# listen_ips = ["0.0.0.0", "::"]

# Channels it joins and relays; posts are checked, stored and relayed,
# never printed. Env: HEARTH_JOIN (comma-separated). Flag: --join.
# join = []

# TCP and QUIC ports, on every IPv4 and IPv6 interface. `port` sets both;
# tcp_port and quic_port win over it. Env: HEARTH_PORT, HEARTH_TCP_PORT,
# HEARTH_QUIC_PORT. Flags: --port, --tcp-port, --quic-port.
# port = 4001
# tcp_port = 4001
# quic_port = 4001

# Relay connections for people behind home routers, and tell nodes whether
# they are reachable. Env: HEARTH_RELAY, HEARTH_AUTONAT.
# Flags: --relay=BOOL, --autonat=BOOL.
# relay = true
# autonat = true

# Relay limits. Env: HEARTH_RELAY_MAX_RESERVATIONS,
# HEARTH_RELAY_MAX_RESERVATIONS_PER_PEER, HEARTH_RELAY_RESERVATION_SECS,
# HEARTH_RELAY_MAX_CIRCUITS, HEARTH_RELAY_MAX_CIRCUITS_PER_PEER,
# HEARTH_RELAY_MAX_CIRCUIT_SECS, HEARTH_RELAY_MAX_CIRCUIT_BYTES; flags of
# the same names (--relay-max-reservations, …).
# relay_max_reservations = 128
# relay_max_reservations_per_peer = 4
# relay_reservation_secs = 3600
# relay_max_circuits = 16
# relay_max_circuits_per_peer = 4
# relay_max_circuit_secs = 120
# relay_max_circuit_bytes = 131072

# Connection and memory limits; 0 turns the inbound, per-IP, outgoing and
# memory limits off. Env: HEARTH_MAX_CONNECTIONS,
# HEARTH_MAX_INBOUND_CONNECTIONS, HEARTH_MAX_CONNECTIONS_PER_PEER,
# HEARTH_MAX_CONNECTIONS_PER_IP, HEARTH_MAX_PENDING_INCOMING,
# HEARTH_MAX_PENDING_OUTGOING, HEARTH_MAX_MEMORY_MB; flags of the same names.
# max_connections = 1024
# max_inbound_connections = 960
# max_connections_per_peer = 2
# max_connections_per_ip = 16
# max_pending_incoming = 128
# max_pending_outgoing = 64
# max_memory_mb = 512

# What the DHT keeps for others. Env: HEARTH_DHT_MAX_PROVIDER_KEYS,
# HEARTH_DHT_MAX_PROVIDERS_PER_KEY, HEARTH_DHT_PROVIDER_TTL_SECS,
# HEARTH_DHT_MAX_RECORDS; flags of the same names.
# dht_max_provider_keys = 4096
# dht_max_providers_per_key = 32
# dht_provider_ttl_secs = 3600
# dht_max_records = 1024
"#;
