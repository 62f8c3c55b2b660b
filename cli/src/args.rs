//! The command line as clap parses it: raw strings and flags, not yet
//! validated. [`crate::config`] turns them into a checked `Config`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The data directory: store, hearth.toml, control socket and logs
    /// [env: HEARTH_DATA_DIR] [default: the platform's data directory]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Read the configuration from FILE instead of <data dir>/hearth.toml
    /// [env: HEARTH_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print newline-delimited JSON instead of text (schema in docs/cli.md)
    #[arg(long, global = true)]
    pub json: bool,
    /// The hearth network; networks never see each other's posts. Give the
    /// same one to every command on a data directory [env: HEARTH_NETWORK]
    /// [default: main]
    #[arg(long, global = true, value_name = "ID")]
    pub network: Option<String>,
}

/// Options of every command that runs a node (`chat`, `run`).
#[derive(Debug, Clone, Default, Args)]
pub struct NodeArgs {
    /// Listen on this address (repeatable) [env: HEARTH_LISTEN, comma-separated]
    /// [default: /ip4/0.0.0.0/tcp/0 and /ip4/0.0.0.0/udp/0/quic-v1]
    #[arg(long, value_name = "MULTIADDR")]
    pub listen: Vec<String>,
    /// Dial this node at start to find others (repeatable)
    /// [env: HEARTH_BOOTSTRAP, comma-separated]
    #[arg(long, value_name = "MULTIADDR")]
    pub bootstrap: Vec<String>,
    /// Do not look for peers on the local network with mDNS [env: HEARTH_MDNS=false]
    #[arg(long)]
    pub no_mdns: bool,
    /// Keep personas only in memory: a new name in every channel at every
    /// start, nothing written to disk [env: HEARTH_EPHEMERAL]
    #[arg(long)]
    pub ephemeral: bool,
    /// A nickname shown beside your persona's name [env: HEARTH_NICK]
    #[arg(long, value_name = "NAME")]
    pub nick: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a node, join channels and chat in them
    ///
    /// On a terminal this opens the chat screen. Otherwise each line of
    /// standard input is posted to the first channel, and posts are printed
    /// (as JSON events with --json). The node keeps running after the end of
    /// input until SIGINT or SIGTERM.
    Chat(ChatArgs),
    /// Run a node without a chat interface: join the configured channels,
    /// store and relay posts for your community
    Run(RunArgs),
    /// Your personas: the throwaway names you speak with, one per channel
    #[command(subcommand)]
    Persona(PersonaCommand),
    /// Your own blocklist: what you do not want to see or relay
    #[command(subcommand)]
    Block(BlockCommand),
    /// Print the stored posts of a channel
    History(HistoryArgs),
    /// List the connected peers of the running node
    Peers,
    /// Show the node's state
    Status,
    /// Show or create the configuration file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print the man page (roff), of hearth or of one command
    Man(ManArgs),
}

/// `hearth chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Channels to join, like anxiety or grief/es; lines you type go to the
    /// first [default: the `channels` of the config]
    #[arg(value_name = "CHANNEL")]
    pub channels: Vec<String>,
    /// Node options.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// `hearth run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Channels to join [default: the `channels` of the config]
    #[arg(value_name = "CHANNEL")]
    pub channels: Vec<String>,
    /// Node options.
    #[command(flatten)]
    pub node: NodeArgs,
    /// Keep the same peer id across restarts, so the address others
    /// bootstrap from stays valid [env: HEARTH_PERSISTENT_IDENTITY]
    #[arg(long)]
    pub persistent_identity: bool,
    /// Serve the DHT for other nodes (bootstrap nodes) [env: HEARTH_DHT_SERVER]
    #[arg(long)]
    pub dht_server: bool,
    /// Announce this address as reachable from outside (repeatable)
    /// [env: HEARTH_EXTERNAL, comma-separated]
    #[arg(long, value_name = "MULTIADDR")]
    pub external: Vec<String>,
}

/// `hearth persona …`.
#[derive(Debug, Subcommand)]
pub enum PersonaCommand {
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

/// What a block entry matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlockKind {
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
pub enum BlockCommand {
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
pub struct HistoryArgs {
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
pub enum ConfigCommand {
    /// Print the effective configuration (file, environment and flags
    /// combined) as TOML
    Show,
    /// Write a commented default hearth.toml (never overwrites)
    Init,
}

/// `hearth man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, like chat [default: hearth's own page]
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// `hearth completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn node_flags_are_repeatable_and_globals_go_anywhere() {
        let cli = Cli::try_parse_from([
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
        let Command::Chat(chat) = cli.command else {
            panic!("not chat")
        };
        assert_eq!(chat.channels, ["anxiety", "grief/es"]);
        assert_eq!(chat.node.listen.len(), 2);
        assert!(chat.node.no_mdns);
    }
}
