use std::ffi::OsStr;
use std::path::Path;

use clap::{Arg, CommandFactory};

use super::layers::{CliLayer, Layers};
use super::*;
use crate::args::{BootstrapCommand, Cli, Command, ConfigCommand, Given, SettingArgs};

const HOME_DATA: &str = "/home/sam/.local/share/hearth";

/// Every argument of the command line, in every command.
fn all_args(command: &clap::Command) -> Vec<Arg> {
    let mut out: Vec<Arg> = command.get_arguments().cloned().collect();
    for sub in command.get_subcommands() {
        out.extend(all_args(sub));
    }
    out
}

/// The argument of the command `argv` invokes that reads the variable
/// `name`, if it has one.
fn arg_reading(argv: &[&str], name: &str) -> Option<Arg> {
    let root = Cli::command();
    let mut command = &root;
    for word in argv {
        if let Some(sub) = command.find_subcommand(word) {
            command = sub;
        }
    }
    let found = root
        .get_arguments()
        .chain(command.get_arguments())
        .find(|a| a.get_env() == Some(OsStr::new(name)))
        .cloned();
    if found.is_none() {
        assert!(
            all_args(&root)
                .iter()
                .any(|a| a.get_env() == Some(OsStr::new(name))),
            "no argument reads {name}"
        );
    }
    found
}

/// The command line `argv` (after `hearth`) with the variables `env` as
/// clap reads them: a variable counts only when its flag is not given.
/// Tests cannot set the process environment, so each variable is passed
/// as its argument and then marked as coming from the variable.
fn cli(argv: &[&str], env: &[(&str, &str)]) -> Cli {
    let mut args: Vec<String> = std::iter::once("hearth")
        .chain(argv.iter().copied())
        .map(str::to_owned)
        .collect();
    let flags_only = Cli::parse_from_args(&args).unwrap();
    let mut from_env = Vec::new();
    for (name, value) in env.iter().filter(|(name, _)| *name != "RUST_LOG") {
        let Some(arg) = arg_reading(argv, name) else {
            continue;
        };
        let id = arg.get_id().to_string();
        if flags_only.global.given.contains_key(&id) {
            continue;
        }
        match arg.get_long() {
            Some(long) => args.push(format!("--{long}={value}")),
            None => args.push((*value).to_owned()),
        }
        from_env.push((id, (*name).to_owned()));
    }
    let mut cli = Cli::parse_from_args(&args).unwrap();
    for (id, name) in from_env {
        cli.global.given.insert(id, Given::Env(name));
    }
    cli
}

fn node_args(cli: &Cli) -> SettingArgs<'_> {
    match &cli.command {
        Command::Chat(node) | Command::Run(node) => SettingArgs::node(node),
        Command::Config(ConfigCommand::Show(show)) => SettingArgs::show(show),
        Command::Bootstrap(args) => match &args.command {
            Some(BootstrapCommand::Id(id)) => SettingArgs::bootstrap(id),
            None => SettingArgs::bootstrap(&args.run),
        },
        _ => SettingArgs::default(),
    }
}

fn file(text: &str) -> Option<(PathBuf, Settings)> {
    let path = PathBuf::from("/etc/hearth.toml");
    let settings = Settings::from_toml(&path, text).unwrap();
    Some((path, settings))
}

/// Resolves the command line `argv`, the variables `env` and the config
/// file `text`.
fn resolve(argv: &[&str], env: &[(&str, &str)], text: Option<&str>) -> Result<Config, UsageError> {
    let cli = cli(argv, env);
    let layers = Layers {
        file: text.and_then(file),
        rust_log: env
            .iter()
            .find(|(name, _)| *name == "RUST_LOG")
            .map(|(_, v)| (*v).to_owned()),
        cli: CliLayer::from_args(&cli.global, node_args(&cli))?,
    };
    layers.resolve(Some(PathBuf::from(HOME_DATA)))
}

fn error(argv: &[&str], env: &[(&str, &str)], text: Option<&str>) -> String {
    resolve(argv, env, text).unwrap_err().0
}

#[test]
fn defaults_need_no_file() {
    let config = resolve(&["status"], &[], None).unwrap();
    assert_eq!(config.data_dir, PathBuf::from(HOME_DATA));
    assert_eq!(config.network.as_str(), "main");
    assert!(config.mdns);
    assert!(!config.ephemeral);
    assert_eq!(config.listen.len(), 2);
    assert!(config.bootstrap.is_empty());
    assert_eq!(config.log, "warn");
    let node = config.node_config();
    assert_eq!(
        node.storage,
        Storage::Path(PathBuf::from(HOME_DATA).join("store"))
    );
    assert_eq!(node.personas, PersonaMode::Stored);
    assert_eq!(node.identity, IdentityMode::Ephemeral);
    assert_eq!(node.cache_bytes, 32 * 1024 * 1024);
    assert_eq!(config.origin("network"), Some(&Origin::Default));
}

#[test]
fn env_overrides_file_and_flags_override_both() {
    let config = resolve(
        &["chat", "x", "--listen", "/ip4/127.0.0.1/tcp/4"],
        &[
            ("HEARTH_NICK", "from-env"),
            (
                "HEARTH_LISTEN",
                "/ip4/127.0.0.1/tcp/2, /ip4/127.0.0.1/tcp/3",
            ),
            ("HEARTH_RETENTION_DAYS", "9"),
        ],
        Some(
            "network = \"file-net\"\nnick = \"from-file\"\nmdns = false\n\
             listen = [\"/ip4/127.0.0.1/tcp/1\"]\nretention_days = 7\n",
        ),
    )
    .unwrap();
    assert_eq!(config.network.as_str(), "file-net", "file beats default");
    assert!(!config.mdns, "file beats default");
    assert_eq!(config.nick.as_deref(), Some("from-env"), "env beats file");
    assert_eq!(config.retention_days, 9, "env beats file");
    assert_eq!(
        config.listen,
        ["/ip4/127.0.0.1/tcp/4".parse::<Multiaddr>().unwrap()]
    );
    assert_eq!(config.channels, [ChannelName::parse("x").unwrap()]);
    assert_eq!(
        config.origin("nick"),
        Some(&Origin::Env("HEARTH_NICK".into()))
    );
    assert_eq!(
        config.origin("listen"),
        Some(&Origin::Flag("--listen".into()))
    );

    let config = resolve(
        &["chat", "x", "--nick", "from-flag", "--ephemeral"],
        &[("HEARTH_NICK", "from-env"), ("HEARTH_MDNS", "off")],
        Some("nick = \"from-file\"\nephemeral = false\n"),
    )
    .unwrap();
    assert_eq!(config.nick.as_deref(), Some("from-flag"));
    assert!(config.ephemeral);
    assert!(!config.mdns);
    assert_eq!(config.node_config().personas, PersonaMode::Ephemeral);
}

#[test]
fn unset_bool_flags_do_not_override_lower_layers_and_set_ones_can_say_false() {
    let text = Some("mdns = false\nephemeral = true\n");
    let config = resolve(&["chat", "x"], &[], text).unwrap();
    assert!(!config.mdns);
    assert!(config.ephemeral);
    let config = resolve(&["chat", "x", "--mdns", "--ephemeral=no"], &[], text).unwrap();
    assert!(config.mdns);
    assert!(!config.ephemeral);
    let config = resolve(&["chat", "x", "--no-mdns"], &[("HEARTH_MDNS", "1")], None).unwrap();
    assert!(!config.mdns, "the flag beats the variable");
    assert_eq!(
        config.origin("mdns"),
        Some(&Origin::Flag("--no-mdns".into()))
    );
}

#[test]
fn serving_options_apply_to_run_and_chat() {
    for command in ["run", "chat"] {
        let config = resolve(
            &[
                command,
                "x",
                "--persistent-identity",
                "--dht-server",
                "--external",
                "/ip4/192.0.2.7/tcp/4001",
            ],
            &[],
            None,
        )
        .unwrap();
        let node = config.node_config();
        assert_eq!(node.identity, IdentityMode::Persistent, "{command}");
        assert!(node.dht_server, "{command}");
        assert!(
            node.autonat_server,
            "a DHT server answers AutoNAT: {command}"
        );
        assert_eq!(node.external_addrs.len(), 1, "{command}");
        assert!(!node.announce_private, "{command}");
    }
    let config = resolve(&["chat", "x"], &[("HEARTH_DHT_SERVER", "yes")], None).unwrap();
    assert!(config.dht_server);
    let config = resolve(&["chat", "x"], &[("HEARTH_ANNOUNCE_PRIVATE", "true")], None).unwrap();
    assert!(config.node_config().announce_private);
    let plain = resolve(&["chat", "x"], &[], None).unwrap().node_config();
    assert!(!plain.autonat_server && !plain.announce_private);
    let boot = resolve(&["bootstrap", "--announce-private"], &[], None).unwrap();
    assert!(boot.bootstrap_node_config().announce_private);
}

#[test]
fn data_dir_comes_from_flag_then_env_then_file() {
    let text = Some("data_dir = \"/from/file\"\n");
    let dir = |argv: &[&str], env: &[(&str, &str)]| resolve(argv, env, text).unwrap().data_dir;
    assert_eq!(dir(&["status"], &[]), PathBuf::from("/from/file"));
    let env = [("HEARTH_DATA_DIR", "/from/env")];
    assert_eq!(dir(&["status"], &env), PathBuf::from("/from/env"));
    assert_eq!(
        dir(&["status", "--data-dir", "/from/flag"], &env),
        PathBuf::from("/from/flag")
    );
    let err = Layers::default().resolve(None).unwrap_err();
    assert!(err.0.contains("--data-dir"), "{err}");
}

#[test]
fn invalid_channels_say_what_is_accepted_and_where_they_came_from() {
    let err = error(&["chat", "Bad Name"], &[], None);
    assert!(
        err.starts_with("invalid channel name \"Bad Name\""),
        "{err}"
    );
    assert!(err.contains("a-z"), "{err}");

    let err = error(&["chat"], &[("HEARTH_CHANNELS", "ok,no_underscores")], None);
    assert!(err.contains("no_underscores"), "{err}");
    assert!(err.ends_with("(from HEARTH_CHANNELS)"), "{err}");

    let err = error(&["run"], &[], Some("channels = [\"a//b\"]"));
    assert!(
        err.ends_with("(from `channels` in /etc/hearth.toml)"),
        "{err}"
    );
}

#[test]
fn channels_are_normalised_and_deduplicated() {
    let config = resolve(&["chat", "#Grief/ES", "grief/es", "anxiety"], &[], None).unwrap();
    let names: Vec<_> = config.channels.iter().map(ChannelName::as_str).collect();
    assert_eq!(names, ["grief/es", "anxiety"]);
    let config = resolve(&["run"], &[("HEARTH_CHANNELS", " a, b,,a ")], None).unwrap();
    let names: Vec<_> = config.channels.iter().map(ChannelName::as_str).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn invalid_multiaddrs_name_their_source_and_show_an_example() {
    let err = error(
        &["chat", "x", "--listen", "/ip4/999.0.0.1/tcp/1"],
        &[],
        None,
    );
    assert!(
        err.starts_with("invalid multiaddress \"/ip4/999.0.0.1/tcp/1\" in --listen: "),
        "{err}"
    );
    assert!(err.contains("use one like /ip4/0.0.0.0/tcp/4001"), "{err}");

    let err = error(
        &["chat", "x"],
        &[("HEARTH_BOOTSTRAP", "localhost:4001")],
        None,
    );
    assert!(
        err.contains("in HEARTH_BOOTSTRAP: it does not start with '/'"),
        "{err}"
    );
    assert!(err.contains("/p2p/"), "{err}");

    let err = error(
        &["chat", "x"],
        &[],
        Some("bootstrap = [\"/ip4/1.2.3.4/tcpx/1\"]"),
    );
    assert!(err.contains("in `bootstrap` in /etc/hearth.toml"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn other_values_are_checked_too() {
    let long_nick = "n".repeat(33);
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], Option<&'a str>);
    let bad: [Case<'_>; 6] = [
        (&["chat", "x", "--network", "Main Net"], &[], None),
        (&["chat", "x", "--nick", " padded"], &[], None),
        (&["chat", "x"], &[("HEARTH_NICK", &long_nick)], None),
        (&["status"], &[("HEARTH_LOG", "hearth=loud")], None),
        (&["status"], &[], Some("retention_days = 0")),
        (&["status", "--cache-mb", "2000000"], &[], None),
    ];
    for (argv, env, text) in bad {
        let err = error(argv, env, text);
        assert!(!err.is_empty() && !err.contains('\n'), "{err}");
    }
    assert_eq!(
        error(&["chat", "x"], &[("HEARTH_MDNS", "maybe")], None),
        "invalid HEARTH_MDNS=\"maybe\": use true or false (also 1/0, yes/no, on/off)"
    );
    assert_eq!(
        error(&["status"], &[("HEARTH_CACHE_MB", "lots")], None),
        "invalid HEARTH_CACHE_MB=\"lots\": use a whole number like 30"
    );
    assert_eq!(
        error(&["status", "--retention-days=-1"], &[], None),
        "invalid --retention-days \"-1\": use a whole number like 30"
    );
    assert_eq!(
        error(&["run", "--dht-server=sometimes"], &[], None),
        "invalid --dht-server \"sometimes\": use true or false (also 1/0, yes/no, on/off)"
    );
}

#[test]
fn empty_nick_means_none_and_hearth_log_beats_rust_log_beats_the_file() {
    let env = [
        ("HEARTH_NICK", ""),
        ("RUST_LOG", "debug"),
        ("HEARTH_LOG", "info"),
    ];
    let config = resolve(&["chat", "x"], &env, Some("nick = \"sam\"")).unwrap();
    assert_eq!(config.nick, None);
    assert_eq!(config.log, "info");
    assert!(
        config
            .to_toml()
            .contains("# nick is not set  # from HEARTH_NICK")
    );
    let config = resolve(
        &["status"],
        &[("RUST_LOG", "debug")],
        Some("log = \"error\""),
    )
    .unwrap();
    assert_eq!(config.log, "debug");
    assert_eq!(config.origin("log"), Some(&Origin::Env("RUST_LOG".into())));
    let config = resolve(&["status", "--log", "trace"], &env, None).unwrap();
    assert_eq!(config.log, "trace");
}

#[test]
fn config_file_errors_give_file_line_key_and_accepted_keys() {
    let path = Path::new("/x/hearth.toml");
    let err = Settings::from_toml(path, "network = \"a\"\ncolour = 3\n").unwrap_err();
    assert!(
        err.0
            .starts_with("invalid config file /x/hearth.toml, line 2: unknown field `colour`"),
        "{err}"
    );
    assert!(err.0.contains("`bootstrap`"), "{err}");
    assert!(!err.0.contains('\n'), "{err}");
    let err = Settings::from_toml(path, "network = \"a\"\nmdns = \"yes\"\n").unwrap_err();
    assert!(
        err.0
            .starts_with("invalid config file /x/hearth.toml, line 2: `mdns`: "),
        "{err}"
    );
    assert!(err.0.contains("boolean"), "{err}");
    let err = Settings::from_toml(path, "retention_days = -1\n").unwrap_err();
    assert!(err.0.contains("`retention_days`"), "{err}");
    let err = Settings::from_toml(path, "[[[").unwrap_err();
    assert!(err.0.starts_with("invalid config file"), "{err}");
}

#[test]
fn hostile_config_files_are_refused_with_their_name_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let deep = format!("listen = {}", "[".repeat(100_000));
    let cases = [
        write("huge.toml", &vec![b'#'; 2 << 20]),
        write("binary.toml", b"nick = \"\xff\xfe\"\n"),
        write("nul.toml", b"nick = \"a\0b\"\n"),
        write("deep.toml", deep.as_bytes()),
        write("table.toml", b"[mdns]\nx = 1\n"),
        write("dup.toml", b"nick = \"a\"\nnick = \"b\"\n"),
        write("big.toml", b"cache_mb = 99999999999999999999999\n"),
        dir.path().to_path_buf(),
    ];
    for path in cases {
        let err = file::read_config_file(&path, Some("--config")).unwrap_err();
        let shown = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(err.0.contains(&shown), "{}: {err}", path.display());
        assert!(!err.0.contains('\n'), "{err}");
    }
    assert_eq!(
        file::read_config_file(Path::new("/dev/zero"), None).ok(),
        None
    );
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
    let text = Some(uncommented.as_str());
    let from_file = resolve(&["run"], &[], text).unwrap();
    let defaults = resolve(&["run"], &[], None).unwrap();
    assert_eq!(from_file.to_settings(), defaults.to_settings());
}

#[test]
fn every_setting_names_its_variable_and_flag_in_the_docs_and_the_default_file() {
    let docs = include_str!("../../../docs/cli.md");
    let config = resolve(&["run", "--nick", "sam"], &[], None).unwrap();
    let settings = toml::Table::try_from(config.to_settings()).unwrap();
    let args = all_args(&Cli::command());
    for key in settings.keys() {
        let arg = args
            .iter()
            .find(|a| a.get_id() == key.as_str())
            .unwrap_or_else(|| panic!("no argument for {key}"));
        let env = arg.get_env().unwrap().to_str().unwrap();
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("docs/cli.md has no row for {key}"));
        assert!(row.contains(&format!("`{env}`")), "{row}");
        if let Some(long) = arg.get_long() {
            assert!(row.contains(&format!("--{long}")), "{row}");
        }
        if key != "data_dir" {
            assert!(DEFAULT_FILE.contains(env), "{env} not in the default file");
        }
    }
}

#[test]
fn config_show_says_where_values_came_from_and_round_trips_through_toml() {
    let config = resolve(
        &[
            "config",
            "show",
            "anxiety",
            "--nick",
            "sam",
            "--bootstrap",
            "/ip4/192.0.2.7/tcp/4001",
        ],
        &[("HEARTH_CACHE_MB", "64")],
        Some("retention_days = 3\n"),
    )
    .unwrap();
    let text = config.to_toml();
    assert!(text.contains("nick = \"sam\"  # from --nick"), "{text}");
    assert!(text.contains("network = \"main\"  # default"), "{text}");
    assert!(
        text.contains("cache_mb = 64  # from HEARTH_CACHE_MB"),
        "{text}"
    );
    assert!(
        text.contains("retention_days = 3  # from /etc/hearth.toml"),
        "{text}"
    );
    assert!(
        text.contains("channels = [\"anxiety\"]  # from the CHANNEL arguments"),
        "{text}"
    );
    let again = Settings::from_toml(Path::new("/x"), &text).unwrap();
    assert_eq!(again, config.to_settings());
}

#[test]
fn explicit_config_file_must_exist_but_the_default_one_need_not() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let load = |argv: &[&str], env: &[(&str, &str)], read_file: bool| {
        let cli = cli(argv, env);
        Config::load_from(&cli.global, node_args(&cli), None, None, read_file)
    };
    let status = ["--data-dir", data, "status"];
    assert_eq!(load(&status, &[], true).unwrap().config_file, None);

    std::fs::write(dir.path().join("hearth.toml"), "nick = \"in-dir\"\n").unwrap();
    let show = ["--data-dir", data, "config", "show"];
    assert_eq!(
        load(&show, &[], true).unwrap().nick.as_deref(),
        Some("in-dir")
    );

    std::fs::write(
        dir.path().join("hearth.toml"),
        "data_dir = \"/elsewhere\"\n",
    )
    .unwrap();
    let err = load(&status, &[], true).unwrap_err();
    assert!(
        err.0
            .contains("remove the key, or name the file with --config"),
        "{err}"
    );
    let same = format!("data_dir = {:?}\nnick = \"in-dir\"\n", dir.path());
    std::fs::write(dir.path().join("hearth.toml"), same).unwrap();
    assert_eq!(
        load(&show, &[], true).unwrap().nick.as_deref(),
        Some("in-dir")
    );

    let missing = dir.path().join("nope.toml");
    let missing = missing.to_str().unwrap();
    let err = load(
        &["--data-dir", data, "--config", missing, "status"],
        &[],
        true,
    )
    .unwrap_err();
    assert!(err.0.contains("named by --config does not exist"), "{err}");
    let err = load(&status, &[("HEARTH_CONFIG", missing)], true).unwrap_err();
    assert!(
        err.0.contains("named by HEARTH_CONFIG does not exist"),
        "{err}"
    );
    let config = load(&status, &[("HEARTH_CONFIG", missing)], false).unwrap();
    assert_eq!(config.init_path(), dir.path().join("nope.toml"));

    let other = dir.path().join("other.toml");
    std::fs::write(&other, "nick = \"other\"\n").unwrap();
    let env = [("HEARTH_CONFIG", other.to_str().unwrap())];
    let config = load(&["--data-dir", data, "config", "show"], &env, true).unwrap();
    assert_eq!(config.nick.as_deref(), Some("other"));
}

#[test]
fn bootstrap_takes_the_operators_preset_with_its_ports_and_limits() {
    let config = resolve(&["bootstrap"], &[], None).unwrap();
    let node = config.bootstrap_node_config();
    let preset = hearth_node::NodeConfig::bootstrap(HOME_DATA);
    assert_eq!(node.identity, preset.identity);
    assert_eq!(node.storage, Storage::Path(config.store_dir()));
    assert_eq!(
        node.listen, preset.listen,
        "TCP and QUIC, IPv4 and IPv6, 4001"
    );
    assert_eq!(node.limits, preset.limits);
    assert_eq!(node.relay_server, preset.relay_server);
    assert_eq!(node.dht, preset.dht);
    assert!(node.dht_server && node.autonat_server && !node.mdns && !node.relay_client);
    assert!(node.channels.is_empty() && config.operator.join.is_empty());
    assert_eq!(node.metrics, None);

    let config = resolve(
        &[
            "bootstrap",
            "--port",
            "5000",
            "--quic-port",
            "5001",
            "--relay=off",
            "--max-connections-per-ip",
            "0",
            "--max-memory-mb",
            "64",
            "--metrics",
            "[::1]:0",
            "--join",
            "grief",
            "Anxiety",
        ],
        &[],
        None,
    )
    .unwrap();
    let node = config.bootstrap_node_config();
    let listen: Vec<String> = node.listen.iter().map(ToString::to_string).collect();
    assert_eq!(
        listen,
        [
            "/ip4/0.0.0.0/tcp/5000",
            "/ip6/::/tcp/5000",
            "/ip4/0.0.0.0/udp/5001/quic-v1",
            "/ip6/::/udp/5001/quic-v1"
        ]
    );
    assert_eq!(node.relay_server, None);
    assert_eq!(node.limits.max_connections_per_ip, None, "0 turns it off");
    assert_eq!(node.limits.max_memory_bytes, Some(64 * 1024 * 1024));
    assert_eq!(node.metrics, Some("[::1]:0".parse().unwrap()));
    let join: Vec<&str> = config.operator.join.iter().map(|c| c.as_str()).collect();
    assert_eq!(join, ["grief", "anxiety"]);

    // `--listen-ip` replaces every interface; `listen` is not read.
    let config = resolve(
        &["bootstrap", "--listen-ip", "127.0.0.1", "--port", "0"],
        &[("HEARTH_LISTEN", "/ip4/192.0.2.1/tcp/1")],
        Some("listen = [\"/ip4/192.0.2.2/tcp/2\"]\n"),
    )
    .unwrap();
    let listen: Vec<String> = config
        .bootstrap_listen()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        listen,
        ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"]
    );
    let err = error(&["bootstrap", "--listen-ip", "localhost"], &[], None);
    assert!(
        err.contains("--listen-ip") && err.contains("0.0.0.0"),
        "{err}"
    );
}

#[test]
fn port_sets_both_ports_at_its_layer_and_the_higher_layer_wins() {
    let file = Some("port = 4100\nquic_port = 4101\n");
    let config = resolve(&["bootstrap"], &[], file).unwrap();
    assert_eq!(
        (config.operator.tcp_port, config.operator.quic_port),
        (4100, 4101)
    );
    let config = resolve(&["bootstrap"], &[("HEARTH_PORT", "4200")], file).unwrap();
    assert_eq!(
        (config.operator.tcp_port, config.operator.quic_port),
        (4200, 4200)
    );
    assert_eq!(
        config.origin("quic_port"),
        Some(&Origin::Env("HEARTH_PORT".into()))
    );
    let config = resolve(
        &["bootstrap", "--tcp-port", "4300"],
        &[("HEARTH_PORT", "4200")],
        file,
    )
    .unwrap();
    assert_eq!(
        (config.operator.tcp_port, config.operator.quic_port),
        (4300, 4200)
    );
    assert_eq!(
        config.origin("tcp_port"),
        Some(&Origin::Flag("--tcp-port".into()))
    );
}

#[test]
fn operator_values_are_checked_and_name_their_source() {
    let err = error(&["bootstrap", "--port", "70000"], &[], None);
    assert!(err.contains("--port") && err.contains("70000"), "{err}");
    let err = error(&["bootstrap"], &[("HEARTH_MAX_CONNECTIONS", "0")], None);
    assert!(err.contains("HEARTH_MAX_CONNECTIONS is 0"), "{err}");
    let err = error(
        &["bootstrap"],
        &[],
        Some("relay_max_circuit_secs = 5000000000\n"),
    );
    assert!(
        err.contains("`relay_max_circuit_secs` in /etc/hearth.toml"),
        "{err}"
    );
    let err = error(&["bootstrap", "--metrics", "localhost:9464"], &[], None);
    assert!(
        err.contains("--metrics") && err.contains("127.0.0.1:9464"),
        "{err}"
    );
    let err = error(&["run"], &[("HEARTH_METRICS", "9464")], None);
    assert!(err.contains("HEARTH_METRICS"), "{err}");
    let err = error(&["status", "--log-format", "xml"], &[], None);
    assert!(
        err.contains("--log-format") && err.contains("text or json"),
        "{err}"
    );
    let err = error(&["bootstrap", "--join", "Bad Name"], &[], None);
    assert!(err.contains("invalid channel name"), "{err}");
    let err = error(&["bootstrap"], &[], Some("max_memory_mb = 99999999999\n"));
    assert!(err.contains("max_memory_mb"), "{err}");
}

#[test]
fn metrics_and_log_format_reach_every_node() {
    let config = resolve(
        &["run", "--metrics", "127.0.0.1:0"],
        &[("HEARTH_LOG_FORMAT", "JSON")],
        None,
    )
    .unwrap();
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(
        config.node_config().metrics,
        Some("127.0.0.1:0".parse().unwrap())
    );
    let config = resolve(&["run"], &[("HEARTH_METRICS", "")], None).unwrap();
    assert_eq!(config.node_config().metrics, None, "empty means none");
}

#[test]
fn config_show_shows_the_operators_settings_with_their_sources() {
    let config = resolve(
        &["config", "show", "--port", "4002"],
        &[("HEARTH_RELAY_MAX_CIRCUITS", "32")],
        Some("dht_max_records = 10\n"),
    )
    .unwrap();
    let text = config.to_toml();
    for line in [
        "tcp_port = 4002  # from --port",
        "quic_port = 4002  # from --port",
        "relay_max_circuits = 32  # from HEARTH_RELAY_MAX_CIRCUITS",
        "dht_max_records = 10  # from /etc/hearth.toml",
        "max_connections = 1024  # default",
        "metrics = \"\"  # default",
        "log_format = \"text\"  # default",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    let again = Settings::from_toml(Path::new("/x"), &text).unwrap();
    assert_eq!(again, config.to_settings());
    let rebuilt = resolve(&["bootstrap"], &[], Some(&text)).unwrap();
    assert_eq!(rebuilt.bootstrap_node_config().listen.len(), 4);
    assert_eq!(rebuilt.operator.tcp_port, 4002);
}

#[test]
fn bootstrap_id_takes_the_same_options_after_id() {
    let cli = cli(
        &[
            "bootstrap",
            "id",
            "--external",
            "/dns4/h.example.org/tcp/4001",
        ],
        &[],
    );
    let config = Layers {
        cli: CliLayer::from_args(&cli.global, node_args(&cli)).unwrap(),
        ..Layers::default()
    }
    .resolve(Some(PathBuf::from(HOME_DATA)))
    .unwrap();
    assert_eq!(config.external.len(), 1);
    let before_id = Cli::parse_from_args(["hearth", "bootstrap", "--port", "1", "id"]);
    assert!(before_id.is_err(), "options before `id` are refused");
}

#[test]
fn retention_and_difficulty_can_be_set_per_channel_in_every_layer() {
    let grief = ChannelName::parse("grief").unwrap();
    let spanish = ChannelName::parse("grief/es").unwrap();
    let config = resolve(
        &[
            "chat",
            "grief",
            "--channel-difficulty",
            "grief=20",
            "--channel-max-posts",
            "grief/es=50",
        ],
        &[("HEARTH_CHANNEL_RETENTION_DAYS", "grief=2, grief/es=9")],
        Some(
            "retention_days = 5\nchannel_retention_days = { grief = 1 }\n\
             [channel_max_posts]\ngrief = 7\n",
        ),
    )
    .unwrap();
    // The variable replaces the file's table, the flag the file's too.
    assert_eq!(
        config.channel_retention_days,
        BTreeMap::from([(grief.clone(), 2), (spanish.clone(), 9)])
    );
    assert_eq!(
        config.channel_max_posts,
        BTreeMap::from([(spanish.clone(), 50)])
    );
    let node = config.node_config();
    let day = 24 * 60 * 60 * 1000;
    assert_eq!(node.retention.keep(&grief).max_age_ms, 2 * day);
    assert_eq!(node.retention.keep(&grief).max_posts, 10_000);
    assert_eq!(node.retention.keep(&spanish).max_posts, 50);
    let other = ChannelName::parse("anxiety").unwrap();
    assert_eq!(node.retention.keep(&other).max_age_ms, 5 * day);
    assert_eq!(node.limits.difficulty(&grief), 20);
    assert_eq!(node.limits.difficulty(&other), 0);
    // `history` and the other commands use the same retention.
    assert_eq!(config.offline_node_config().retention, node.retention);

    // Shown with their origins, and read back the same.
    let text = config.to_toml();
    assert!(
        text.contains(
            "channel_retention_days = { grief = 2, \"grief/es\" = 9 }  \
             # from HEARTH_CHANNEL_RETENTION_DAYS"
        ),
        "{text}"
    );
    assert!(
        text.contains("channel_difficulty = { grief = 20 }  # from --channel-difficulty"),
        "{text}"
    );
    let again = Settings::from_toml(Path::new("/x"), &text).unwrap();
    assert_eq!(again, config.to_settings());
}

#[test]
fn bad_per_channel_values_say_what_is_accepted() {
    assert_eq!(
        error(&["run", "--channel-difficulty", "grief"], &[], None),
        "invalid --channel-difficulty \"grief\": use CHANNEL=BITS with a whole number, like grief=20"
    );
    assert_eq!(
        error(&["run", "--channel-difficulty", "grief=33"], &[], None),
        "--channel-difficulty asks for 33 bits of proof of work; use at most 32"
    );
    assert_eq!(
        error(
            &["status"],
            &[("HEARTH_CHANNEL_MAX_POSTS", "grief=lots")],
            None
        ),
        "invalid HEARTH_CHANNEL_MAX_POSTS=\"grief=lots\": use CHANNEL=N with a whole number, \
         like grief=500"
    );
    assert_eq!(
        error(
            &["status"],
            &[],
            Some("channel_retention_days = { grief = 0 }\n")
        ),
        "`channel_retention_days` in /etc/hearth.toml is 0; use a whole number of at least 1"
    );
    let bad_name = error(
        &["status", "--channel-retention-days", "no way=3"],
        &[],
        None,
    );
    assert!(bad_name.contains("\"no way\""), "{bad_name}");
}
