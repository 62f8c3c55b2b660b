//! The command line as clap parses it: raw strings and flags, not yet
//! validated. [`crate::config`] turns them into a checked `Config`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command as ClapCommand, CommandFactory, FromArgMatches};
use clap::{Parser, Subcommand, ValueEnum};

/// hearth: peer-to-peer support channels from the terminal.
#[derive(Debug, Parser)]
#[command(
    name = "hearth",
    version,
    about = "Peer-to-peer support channels: talk with people who have been there, with no server in the middle",
    long_about = "Peer-to-peer support channels: talk with people who have been there, with no \
                  server in the middle.\n\nhearth is peer support, not a crisis service. If you \
                  are in danger, call your local emergency number.",
    after_help = "Start with `hearth chat anxiety`. The full guide is docs/cli.md.",
    propagate_version = true
)]
pub(crate) struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `argv` (with the program name first) and the `HEARTH_*`
    /// variables clap reads for the arguments, noting in
    /// [`GlobalArgs::given`] how each setting was given.
    pub(crate) fn parse_from_args<I, T>(argv: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = Cli::command();
        let matches = command.try_get_matches_from_mut(argv)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.global.given = given(&command, &matches);
        Ok(cli)
    }
}

/// How each argument of the invoked command (and the commands above it)
/// was given, by argument id.
fn given(root: &ClapCommand, matches: &ArgMatches) -> GivenBy {
    let mut out = GivenBy::new();
    let mut level = Some((root, matches));
    while let Some((command, matches)) = level {
        for id in matches.ids() {
            let id = id.as_str();
            let Some(arg) = command
                .get_arguments()
                .chain(root.get_arguments())
                .find(|a| a.get_id() == id)
            else {
                continue;
            };
            let how = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => Given::Flag(flag_name(arg)),
                Some(ValueSource::EnvVariable) => match arg.get_env() {
                    Some(name) => Given::Env(name.to_string_lossy().into_owned()),
                    None => continue,
                },
                _ => continue,
            };
            out.insert(id.to_owned(), how);
        }
        level = matches
            .subcommand()
            .and_then(|(name, sub)| command.find_subcommand(name).map(|c| (c, sub)));
    }
    out
}

/// `--listen`, or `the CHANNEL arguments` for a positional argument.
fn flag_name(arg: &Arg) -> String {
    match arg.get_long() {
        Some(long) => format!("--{long}"),
        None => {
            let name = arg
                .get_value_names()
                .and_then(|names| names.first())
                .map_or_else(|| arg.get_id().to_string(), ToString::to_string);
            format!("the {name} arguments")
        }
    }
}

/// Where a setting given to clap came from: a flag (or the positional
/// arguments) or the environment variable clap read for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// A flag such as `--listen`, or `the CHANNEL arguments`.
    Flag(String),
    /// An environment variable such as `HEARTH_LISTEN`.
    Env(String),
}

/// How each argument (by its id, which is the setting's key) was given;
/// arguments left at their defaults are absent.
pub(crate) type GivenBy = BTreeMap<String, Given>;

/// The help heading of the options every command accepts.
const GLOBAL: &str = "Global options";

/// Options every command accepts.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The data directory: store, hearth.toml, control socket and logs
    /// [default: the platform's data directory]
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "HEARTH_DATA_DIR",
        help_heading = GLOBAL
    )]
    pub data_dir: Option<PathBuf>,
    /// Read the configuration from FILE instead of <data dir>/hearth.toml
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "HEARTH_CONFIG",
        help_heading = GLOBAL
    )]
    pub config: Option<PathBuf>,
    /// Print newline-delimited JSON instead of text (schema in docs/cli.md)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// The hearth network; networks never see each other's posts. Give the
    /// same one to every command on a data directory [default: main]
    #[arg(
        long,
        global = true,
        value_name = "ID",
        env = "HEARTH_NETWORK",
        help_heading = GLOBAL
    )]
    pub network: Option<String>,
    /// What to log: a level (error, warn, info, debug, trace) or directives
    /// like hearth_node=debug,warn; RUST_LOG too, if this is not set
    /// [default: warn]
    #[arg(
        long,
        global = true,
        value_name = "FILTER",
        env = "HEARTH_LOG",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub log: Option<String>,
    /// Log format on standard error: text or json (one JSON object a line)
    /// [default: text]
    #[arg(
        long,
        global = true,
        value_name = "FORMAT",
        env = "HEARTH_LOG_FORMAT",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub log_format: Option<String>,
    /// Delete stored posts older than this many days [default: 30]
    #[arg(
        long,
        global = true,
        value_name = "DAYS",
        env = "HEARTH_RETENTION_DAYS",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub retention_days: Option<String>,
    /// Keep at most this many posts per channel [default: 10000]
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "HEARTH_MAX_POSTS_PER_CHANNEL",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub max_posts_per_channel: Option<String>,
    /// Keep at most this many MiB of posts per channel; over it, posts of
    /// new personas go first, yours never (0: no limit) [default: 32]
    #[arg(
        long,
        global = true,
        value_name = "MIB",
        env = "HEARTH_MAX_CHANNEL_MB",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub max_channel_mb: Option<String>,
    /// Delete one channel's stored posts older than DAYS, like grief=7
    /// (repeatable) [default: --retention-days]
    #[arg(
        long,
        global = true,
        value_name = "CHANNEL=DAYS",
        env = "HEARTH_CHANNEL_RETENTION_DAYS",
        value_delimiter = ',',
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub channel_retention_days: Vec<String>,
    /// Keep at most N posts of one channel, like grief=500 (repeatable)
    /// [default: --max-posts-per-channel]
    #[arg(
        long,
        global = true,
        value_name = "CHANNEL=N",
        env = "HEARTH_CHANNEL_MAX_POSTS",
        value_delimiter = ',',
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub channel_max_posts: Vec<String>,
    /// Memory for the store's cache, in MiB [default: 32]
    #[arg(
        long,
        global = true,
        value_name = "MIB",
        env = "HEARTH_CACHE_MB",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub cache_mb: Option<String>,
    /// The persona-stamp level asked of posts and made for own personas,
    /// in leading zero bits [default: 25, the protocol's]; lower only in a
    /// private or test network
    #[arg(
        long,
        global = true,
        value_name = "BITS",
        env = "HEARTH_PERSONA_STAMP_BITS",
        help_heading = GLOBAL,
        hide_short_help = true
    )]
    pub persona_stamp_bits: Option<String>,
    /// The crisis card's country and what the chat folds.
    #[command(flatten)]
    pub care: crate::care::args::CareArgs,
    /// How each of the settings above and below was given; filled in by
    /// [`Cli::parse_from`].
    #[arg(skip)]
    pub given: GivenBy,
}

/// The settings of a node, for the commands that run one (`chat`, `run`)
/// and for `config show`, which shows what they would use.
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// Channels to join, like anxiety or grief/es; in chat, lines you type go
    /// to the first [default: the `channels` of the config]
    #[arg(value_name = "CHANNEL", env = "HEARTH_CHANNELS", value_delimiter = ',')]
    pub channels: Vec<String>,
    /// Listen on this address (repeatable)
    /// [default: /ip4/0.0.0.0/tcp/0 and /ip4/0.0.0.0/udp/0/quic-v1]
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "HEARTH_LISTEN",
        value_delimiter = ','
    )]
    pub listen: Vec<String>,
    /// Dial this node at start to find others (repeatable)
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "HEARTH_BOOTSTRAP",
        value_delimiter = ','
    )]
    pub bootstrap: Vec<String>,
    /// Look for peers on the local network with mDNS [default: true]
    #[arg(long, value_name = "BOOL", env = "HEARTH_MDNS", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub mdns: Option<String>,
    /// Do not look for peers on the local network (--mdns=false)
    #[arg(long)]
    pub no_mdns: bool,
    /// Keep personas only in memory: a new name in every channel at every
    /// start, nothing written to disk [default: false]
    #[arg(long, value_name = "BOOL", env = "HEARTH_EPHEMERAL", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub ephemeral: Option<String>,
    /// A nickname shown beside your persona's name; empty for none
    #[arg(long, value_name = "NAME", env = "HEARTH_NICK")]
    pub nick: Option<String>,
    /// Proof of work (leading zero bits, 0 to 32) that posts in one channel
    /// must carry, like grief=20 (repeatable); give every node of the
    /// channel the same [default: 0]
    #[arg(
        long,
        value_name = "CHANNEL=BITS",
        env = "HEARTH_CHANNEL_DIFFICULTY",
        value_delimiter = ','
    )]
    pub channel_difficulty: Vec<String>,
    /// Options for nodes that serve others.
    #[command(flatten, next_help_heading = "Serving others (bootstrap nodes)")]
    pub serve: ServeArgs,
}

/// Options for nodes that serve others: bootstrap and relay nodes.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Keep the same peer id across restarts, so the address others
    /// bootstrap from stays valid [default: false]
    #[arg(long, value_name = "BOOL", env = "HEARTH_PERSISTENT_IDENTITY", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub persistent_identity: Option<String>,
    /// Serve the DHT for other nodes, and answer their AutoNAT probes
    /// [default: false]
    #[arg(long, value_name = "BOOL", env = "HEARTH_DHT_SERVER", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub dht_server: Option<String>,
    /// Announce this address as reachable from outside (repeatable)
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "HEARTH_EXTERNAL",
        value_delimiter = ','
    )]
    pub external: Vec<String>,
    /// Also announce confirmed addresses that are not globally routable
    /// (loopback, private ranges): for networks on a LAN or VPN, and tests
    /// [default: false]
    #[arg(long, value_name = "BOOL", env = "HEARTH_ANNOUNCE_PRIVATE", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub announce_private: Option<String>,
    /// Serve Prometheus metrics (GET /metrics) and GET /health on this
    /// address, like 127.0.0.1:9464; port 0 picks a free one; empty for none
    /// [default: none]
    #[arg(long, value_name = "ADDR", env = "HEARTH_METRICS")]
    pub metrics: Option<String>,
}

/// `hearth bootstrap`: run the operator's node, or print its identity.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct BootstrapArgs {
    /// Print the peer id and the addresses to publish, without starting.
    #[command(subcommand)]
    pub command: Option<BootstrapCommand>,
    /// The node's settings.
    #[command(flatten)]
    pub run: BootstrapRunArgs,
}

/// `hearth bootstrap …`.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum BootstrapCommand {
    /// Print the node's peer id and the full addresses to publish (creating
    /// the key file if there is none yet), without starting the node
    Id(Box<BootstrapRunArgs>),
}

/// The settings of an operator's node: where it listens and what it
/// announces, and [`OperatorArgs`].
#[derive(Debug, Clone, Default, Args)]
pub struct BootstrapRunArgs {
    /// The public address people dial, like /dns4/hearth.example.org/tcp/4001
    /// (repeatable); announced, and printed by `bootstrap id`
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "HEARTH_EXTERNAL",
        value_delimiter = ','
    )]
    pub external: Vec<String>,
    /// Also announce confirmed addresses that are not globally routable
    /// (loopback, private ranges), and dial back and keep such addresses of
    /// others: for a network on a LAN or VPN [default: false]
    #[arg(long, value_name = "BOOL", env = "HEARTH_ANNOUNCE_PRIVATE", num_args = 0..=1,
          require_equals = true, default_missing_value = "true")]
    pub announce_private: Option<String>,
    /// Dial this other bootstrap node at start (repeatable)
    #[arg(
        long,
        value_name = "MULTIADDR",
        env = "HEARTH_BOOTSTRAP",
        value_delimiter = ','
    )]
    pub bootstrap: Vec<String>,
    /// Serve Prometheus metrics (GET /metrics) and GET /health on this
    /// address, like 127.0.0.1:9464; port 0 picks a free one; empty for none
    /// [default: none]
    #[arg(long, value_name = "ADDR", env = "HEARTH_METRICS")]
    pub metrics: Option<String>,
    /// Ports, limits and channels.
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// Settings only an operator's node reads: ports, the relay, limits and
/// the channels it joins.
#[derive(Debug, Clone, Default, Args)]
pub struct OperatorArgs {
    /// Join and relay these channels; posts are checked, stored and
    /// relayed, never printed [default: none]
    #[arg(long, value_name = "CHANNEL", env = "HEARTH_JOIN", num_args = 1..,
          value_delimiter = ',', help_heading = OPERATOR)]
    pub join: Vec<String>,
    /// Listen on this IP address, on the TCP and QUIC ports (repeatable)
    /// [default: 0.0.0.0 and ::, every interface]
    #[arg(id = "listen_ips", long = "listen-ip", value_name = "IP", env = "HEARTH_LISTEN_IPS",
          value_delimiter = ',', help_heading = OPERATOR)]
    pub listen_ips: Vec<String>,
    /// The TCP and QUIC port [default: 4001]
    #[arg(long, value_name = "PORT", env = "HEARTH_PORT", help_heading = OPERATOR)]
    pub port: Option<String>,
    /// The TCP port, over --port [default: 4001]
    #[arg(long, value_name = "PORT", env = "HEARTH_TCP_PORT", help_heading = OPERATOR)]
    pub tcp_port: Option<String>,
    /// The QUIC (UDP) port, over --port [default: 4001]
    #[arg(long, value_name = "PORT", env = "HEARTH_QUIC_PORT", help_heading = OPERATOR)]
    pub quic_port: Option<String>,
    /// Relay connections for people behind home routers [default: true]
    #[arg(long, value_name = "BOOL", env = "HEARTH_RELAY", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", help_heading = OPERATOR)]
    pub relay: Option<String>,
    /// Tell other nodes whether they are reachable (AutoNAT) [default: true]
    #[arg(long, value_name = "BOOL", env = "HEARTH_AUTONAT", num_args = 0..=1,
          require_equals = true, default_missing_value = "true", help_heading = OPERATOR)]
    pub autonat: Option<String>,
    /// Most relay reservations at once [default: 128]
    #[arg(long, value_name = "N", env = "HEARTH_RELAY_MAX_RESERVATIONS",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_max_reservations: Option<String>,
    /// Most relay reservations of one peer [default: 4]
    #[arg(long, value_name = "N", env = "HEARTH_RELAY_MAX_RESERVATIONS_PER_PEER",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_max_reservations_per_peer: Option<String>,
    /// How long a relay reservation lasts, in seconds [default: 3600]
    #[arg(long, value_name = "SECS", env = "HEARTH_RELAY_RESERVATION_SECS",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_reservation_secs: Option<String>,
    /// Most relayed connections at once [default: 16]
    #[arg(long, value_name = "N", env = "HEARTH_RELAY_MAX_CIRCUITS",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_max_circuits: Option<String>,
    /// Most relayed connections of one peer [default: 4]
    #[arg(long, value_name = "N", env = "HEARTH_RELAY_MAX_CIRCUITS_PER_PEER",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_max_circuits_per_peer: Option<String>,
    /// A relayed connection is closed after this many seconds [default: 120]
    #[arg(long, value_name = "SECS", env = "HEARTH_RELAY_MAX_CIRCUIT_SECS",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_max_circuit_secs: Option<String>,
    /// A relayed connection is closed after this many bytes [default: 131072]
    #[arg(long, value_name = "BYTES", env = "HEARTH_RELAY_MAX_CIRCUIT_BYTES",
          help_heading = LIMITS, hide_short_help = true)]
    pub relay_max_circuit_bytes: Option<String>,
    /// Most connections in all [default: 1024]
    #[arg(long, value_name = "N", env = "HEARTH_MAX_CONNECTIONS",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_connections: Option<String>,
    /// Most incoming connections; 0 for no limit of its own [default: 960]
    #[arg(long, value_name = "N", env = "HEARTH_MAX_INBOUND_CONNECTIONS",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_inbound_connections: Option<String>,
    /// Most connections to one peer [default: 2]
    #[arg(long, value_name = "N", env = "HEARTH_MAX_CONNECTIONS_PER_PEER",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_connections_per_peer: Option<String>,
    /// Most connections from one IP address; 0 for no limit [default: 16]
    #[arg(long, value_name = "N", env = "HEARTH_MAX_CONNECTIONS_PER_IP",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_connections_per_ip: Option<String>,
    /// Most incoming connections in their handshake [default: 128]
    #[arg(long, value_name = "N", env = "HEARTH_MAX_PENDING_INCOMING",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_pending_incoming: Option<String>,
    /// Most outgoing dials at once; 0 for no limit [default: 64]
    #[arg(long, value_name = "N", env = "HEARTH_MAX_PENDING_OUTGOING",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_pending_outgoing: Option<String>,
    /// Refuse new connections while the process uses more memory than this,
    /// in MiB; 0 for no limit [default: 512]
    #[arg(long, value_name = "MIB", env = "HEARTH_MAX_MEMORY_MB",
          help_heading = LIMITS, hide_short_help = true)]
    pub max_memory_mb: Option<String>,
    /// Most channel keys the DHT keeps providers for [default: 4096]
    #[arg(long, value_name = "N", env = "HEARTH_DHT_MAX_PROVIDER_KEYS",
          help_heading = LIMITS, hide_short_help = true)]
    pub dht_max_provider_keys: Option<String>,
    /// Most providers kept per key [default: 32]
    #[arg(long, value_name = "N", env = "HEARTH_DHT_MAX_PROVIDERS_PER_KEY",
          help_heading = LIMITS, hide_short_help = true)]
    pub dht_max_providers_per_key: Option<String>,
    /// Provider records expire after this many seconds [default: 3600]
    #[arg(long, value_name = "SECS", env = "HEARTH_DHT_PROVIDER_TTL_SECS",
          help_heading = LIMITS, hide_short_help = true)]
    pub dht_provider_ttl_secs: Option<String>,
    /// Most value records the DHT keeps [default: 1024]
    #[arg(long, value_name = "N", env = "HEARTH_DHT_MAX_RECORDS",
          help_heading = LIMITS, hide_short_help = true)]
    pub dht_max_records: Option<String>,
}

/// The help heading of the operator's settings.
const OPERATOR: &str = "Operator's node";
/// The help heading of the operator's limits.
const LIMITS: &str = "Limits (operator's node)";

/// The arguments a command gives for its settings, for
/// [`crate::config::Config::load`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingArgs<'a> {
    /// The node options of `chat`, `run` and `config show`.
    pub node: Option<&'a NodeArgs>,
    /// The options of `bootstrap` and `bootstrap id`.
    pub bootstrap: Option<&'a BootstrapRunArgs>,
    /// The operator's settings `config show` takes.
    pub operator: Option<&'a OperatorArgs>,
}

impl<'a> SettingArgs<'a> {
    /// The node options of `chat` or `run`.
    pub fn node(node: &'a NodeArgs) -> Self {
        Self {
            node: Some(node),
            ..Self::default()
        }
    }

    /// The options of `bootstrap` or `bootstrap id`.
    pub fn bootstrap(args: &'a BootstrapRunArgs) -> Self {
        Self {
            bootstrap: Some(args),
            operator: Some(&args.operator),
            ..Self::default()
        }
    }

    /// The options of `config show`.
    pub fn show(args: &'a ShowArgs) -> Self {
        Self {
            node: Some(&args.node),
            operator: Some(&args.operator),
            ..Self::default()
        }
    }
}

/// `hearth config show`: the node options of `chat` and `run`, and the
/// operator's settings of `bootstrap`.
#[derive(Debug, Clone, Default, Args)]
pub struct ShowArgs {
    /// The options of `chat` and `run`.
    #[command(flatten)]
    pub node: NodeArgs,
    /// The operator's settings.
    #[command(flatten)]
    pub operator: OperatorArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show crisis lines and emergency numbers for your country
    ///
    /// Works with no network and no node: the lines are built into hearth
    /// (or read from crisis-lines.toml in the data directory). The country
    /// comes from --country, HEARTH_COUNTRY or `country` in hearth.toml,
    /// else from your locale; never from your network. The subcommands
    /// manage signed updates of the lines from keys you chose to trust
    /// (none by default).
    Crisis {
        /// What to do instead of showing the card.
        #[command(subcommand)]
        action: Option<CrisisCommand>,
    },
    /// Start a node, join channels and chat in them
    ///
    /// On a terminal this opens the chat screen. Otherwise each line of
    /// standard input is posted to the first channel, and posts are printed
    /// (as JSON events with --json). The node keeps running after the end of
    /// input until SIGINT, SIGTERM or SIGHUP. However it ends, every line
    /// already typed is posted or kept to go out at the next start.
    Chat(NodeArgs),
    /// Run a node without a chat interface: join the configured channels,
    /// store and relay posts for your community
    Run(NodeArgs),
    /// Run the operator's node: a bootstrap, DHT and relay server with a
    /// public address that helps people's nodes find and reach each other
    ///
    /// Its peer id comes from <data dir>/node.key (created at the first
    /// start, owner-only), so the address people configure stays valid. It
    /// listens on TCP and QUIC, IPv4 and IPv6, joins no channel unless told
    /// to, and never prints or logs posts. It runs until SIGINT or SIGTERM.
    /// `hearth bootstrap id` prints the peer id and the addresses to publish.
    Bootstrap(Box<BootstrapArgs>),
    /// Your personas: the throwaway names you speak with, one per channel
    #[command(subcommand)]
    Persona(PersonaCommand),
    /// Your own blocklist: what you do not want to see or relay
    #[command(subcommand)]
    Block(BlockCommand),
    /// Moderating: your moderator key, and the moderators you follow
    ///
    /// A moderator is a key, not a person's persona: its lists hide posts
    /// for the people who follow it, in the channels they follow it for.
    #[command(subcommand)]
    Moderator(ModeratorCommand),
    /// Print the stored posts of a channel
    History(HistoryArgs),
    /// List the connected peers of the running node
    Peers,
    /// Show the node's state
    Status,
    /// Show or create the configuration file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Delete everything hearth keeps on this machine: store, keys, logs,
    /// config
    ///
    /// Deletes, in the data directory, the store (posts, personas, keys,
    /// blocklist, follows), the chat's logs, hearth.toml and the control
    /// socket; anything else found there is kept and listed. Asks first on
    /// a terminal; refuses while a node runs on the data directory. Posts
    /// you sent may still be kept by the people who received them.
    Wipe(WipeArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (roff), of hearth or of one command
    Man(ManArgs),
}

/// `hearth crisis …`: signed updates of the crisis lines. Off by default:
/// with no trusted key, nothing is received, kept or shown.
#[derive(Debug, Subcommand)]
pub(crate) enum CrisisCommand {
    /// Trust a key to send you updates of the crisis lines
    ///
    /// Updates it signs are kept and shown to you (`hearth crisis
    /// updates`), never applied until you accept one.
    Trust {
        /// The publisher's key (64 hex digits).
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// Stop trusting a key for updates; what it sent is forgotten
    Untrust {
        /// The publisher's key (64 hex digits).
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// List the keys you trust for updates
    Trusted,
    /// List the updates waiting for you, with what each would change
    Updates,
    /// Apply a waiting update: it replaces crisis-lines.toml in the data
    /// directory (the old file is kept as crisis-lines.toml.bak)
    Accept {
        /// The update's id, or its first 8 hex digits.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Sign a crisis line file with your moderator key and send it to the
    /// people who trust that key
    Publish {
        /// The file, in the format of crisis-lines.toml.
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// What changed, one line.
        #[arg(long, value_name = "TEXT", default_value = "")]
        note: String,
    },
}

/// `hearth persona …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PersonaCommand {
    /// List every persona
    List,
    /// Show the persona of a channel (created if there is none yet)
    Show {
        /// The channel.
        #[arg(value_name = "CHANNEL")]
        channel: String,
    },
    /// Drop the persona of a channel and start a new, unlinked one
    Rotate {
        /// The channel.
        #[arg(value_name = "CHANNEL")]
        channel: String,
    },
}

/// `hearth moderator …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ModeratorCommand {
    /// Show your moderator key (created at the first use), the key people
    /// follow to take your lists
    Key,
    /// Follow a moderator: their lists hide posts for you, in one channel
    /// (and its sub-channels) or everywhere
    Follow {
        /// The moderator's key (64 hex digits).
        #[arg(value_name = "KEY")]
        key: String,
        /// Follow them only in this channel [default: every channel]
        #[arg(long, value_name = "CHANNEL")]
        channel: Option<String>,
    },
    /// Stop following a moderator; their entries stop applying at once
    Unfollow {
        /// The moderator's key (64 hex digits).
        #[arg(value_name = "KEY")]
        key: String,
    },
    /// List the moderators you follow
    Following,
    /// List the reports people sent you as a moderator, oldest first
    ///
    /// A report is sealed to the moderators its reporter follows for the
    /// channel: only they can read it. It names the post, the reason and
    /// the reporting persona. Reports arrive only while hearth runs.
    Reports {
        /// Only the reports about this channel [default: every channel]
        #[arg(value_name = "CHANNEL")]
        channel: Option<String>,
        /// At most this many, the newest
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
    },
    /// Publish a channel card signed with your moderator key (as the
    /// channel's founding key), or show the card held for a channel
    ///
    /// With `--age`, signs and publishes a card naming the channel's rules,
    /// age group, retention and other moderators; your node announces it
    /// again whenever someone joins the channel. Without any option, shows
    /// the card held for the channel and why it is trusted.
    Card(CardArgs),
    /// Send presence heartbeats in a channel where you are a declared
    /// moderator (every 5 minutes while hearth runs), or stop them
    Presence {
        /// The channel.
        #[arg(value_name = "CHANNEL")]
        channel: String,
        /// `on` or `off`.
        #[arg(value_name = "on|off", value_parser = ["on", "off"])]
        state: String,
    },
}

/// `hearth moderator card …`.
#[derive(Debug, clap::Args)]
pub(crate) struct CardArgs {
    /// The channel.
    #[arg(value_name = "CHANNEL")]
    pub channel: String,
    /// Who the channel is for; giving it publishes a card
    #[arg(long, value_name = "adult|teen", value_parser = ["adult", "teen"])]
    pub age: Option<String>,
    /// The channel's rules (a short text; `\n` starts a new line)
    #[arg(long, value_name = "TEXT", requires = "age")]
    pub rules: Option<String>,
    /// How many days the channel asks posts to be kept (1 to 3650); not
    /// `--retention-days`, which is how long your own node keeps posts
    #[arg(long, value_name = "N", default_value = "30", requires = "age")]
    pub keep_days: String,
    /// Another moderator of the channel (their moderator key); repeat for
    /// more (at most 16)
    #[arg(long = "moderator", value_name = "KEY", requires = "age")]
    pub moderators: Vec<String>,
}

/// What a block entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BlockKind {
    /// Every post of a persona (64 hex digits)
    Persona,
    /// One post (its 64 hex digit id)
    Post,
    /// Posts containing a word or phrase (case-insensitive)
    Keyword,
    /// Posts matching a regular expression (case-insensitive)
    Regex,
    /// A whole channel and its sub-channels
    Channel,
}

/// `hearth block …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BlockCommand {
    /// Add an entry to your blocklist
    Add {
        /// What the entry matches.
        #[arg(value_enum, value_name = "KIND")]
        kind: BlockKind,
        /// The key, post id, keyword, regular expression or channel.
        #[arg(value_name = "VALUE")]
        value: String,
        /// Apply only in this channel (and its sub-channels)
        #[arg(long = "in", value_name = "CHANNEL")]
        scope: Option<String>,
        /// Why, for yourself later
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Remove entries from your blocklist
    Remove {
        /// What the entry matches.
        #[arg(value_enum, value_name = "KIND")]
        kind: BlockKind,
        /// The key, post id, keyword, regular expression or channel.
        #[arg(value_name = "VALUE")]
        value: String,
        /// Remove only the entry limited to this channel
        #[arg(long = "in", value_name = "CHANNEL")]
        scope: Option<String>,
    },
    /// List your blocklist
    List,
    /// Write your blocklist as JSON, to FILE or standard output
    Export {
        /// Where to write it [default: standard output]
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Add every entry of a blocklist written by `block export`
    Import {
        /// The file to read, or `-` for standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// `hearth history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// The channel.
    #[arg(value_name = "CHANNEL")]
    pub channel: String,
    /// Only posts written since then: 2h, 7d, 2026-11-22, 2026-11-22T14:30Z
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// At most this many posts, the newest ones
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Include posts your blocklists hide, marked with why
    #[arg(long)]
    pub hidden: bool,
}

/// `hearth config …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective configuration (file, environment and flags
    /// combined) as TOML, with where each value came from; node options
    /// given here show what `chat`, `run` or `bootstrap` would use with them
    Show(Box<ShowArgs>),
    /// Write a commented default hearth.toml (never overwrites)
    Init,
}

/// `hearth wipe`.
#[derive(Debug, Args)]
pub(crate) struct WipeArgs {
    /// Do not ask: for scripts (without a terminal, wipe refuses to run
    /// without it)
    #[arg(long)]
    pub yes: bool,
}

/// `hearth man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The command whose page to print, like chat [default: hearth's own page]
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `hearth completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn node_flags_are_repeatable_and_globals_go_anywhere() {
        let cli = Cli::parse_from_args([
            "hearth",
            "chat",
            "anxiety",
            "grief/es",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--listen",
            "/ip4/127.0.0.1/udp/0/quic-v1",
            "--no-mdns",
            "--json",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.data_dir, Some(PathBuf::from("/tmp/x")));
        let given = &cli.global.given;
        assert_eq!(given["data_dir"], Given::Flag("--data-dir".into()));
        assert_eq!(given["listen"], Given::Flag("--listen".into()));
        assert_eq!(given["no_mdns"], Given::Flag("--no-mdns".into()));
        assert_eq!(
            given["channels"],
            Given::Flag("the CHANNEL arguments".into())
        );
        let Command::Chat(chat) = cli.command else {
            panic!("not chat")
        };
        assert_eq!(chat.channels, ["anxiety", "grief/es"]);
        assert_eq!(chat.listen.len(), 2);
        assert!(chat.no_mdns);
    }

    #[test]
    fn boolean_options_take_an_optional_value_and_never_eat_a_channel() {
        let cli = Cli::parse_from_args([
            "hearth",
            "run",
            "--ephemeral",
            "anxiety",
            "--dht-server=off",
            "--persistent-identity",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.channels, ["anxiety"]);
        assert_eq!(run.ephemeral.as_deref(), Some("true"));
        assert_eq!(run.serve.dht_server.as_deref(), Some("off"));
        assert_eq!(run.serve.persistent_identity.as_deref(), Some("true"));
        assert_eq!(run.mdns, None);
    }
}
