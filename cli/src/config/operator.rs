//! The operator's settings (`hearth bootstrap`): the channels its node
//! joins, where it listens (`listen_ips`, the ports), whether it relays and
//! answers AutoNAT, and its relay, connection, memory and DHT limits.
//! Read like the others: the file, then `HEARTH_*` variables, then flags.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use hearth_node::config::{BOOTSTRAP_PORT, listen_addrs};
use hearth_node::{DhtLimits, NodeLimits, RelayServerLimits};
use hearth_protocol::ChannelName;
use libp2p::Multiaddr;

use super::file::Settings;
use super::layers::{
    CliLayer, Layers, Origin, at_least_one, layer_origin, list_from, typed, with_origin,
};
use super::values::{dedup, parse_bool, parse_number};
use crate::args::OperatorArgs;
use crate::error::UsageError;

const MIB: u64 = 1024 * 1024;
/// Largest memory limit, in MiB (1 PiB): far above any machine, and its
/// bytes fit in a u64.
const MAX_MEMORY_MB: u64 = 1 << 30;
/// Longest duration setting, in seconds: what libp2p's relay accepts.
const MAX_SECS: u64 = u32::MAX as u64;

/// The checked settings of the operator's node.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorSettings {
    /// Channels the operator's node joins.
    pub join: Vec<ChannelName>,
    /// The IP addresses the operator's node listens on.
    pub listen_ips: Vec<IpAddr>,
    /// The operator's node's TCP port.
    pub tcp_port: u16,
    /// The operator's node's QUIC port.
    pub quic_port: u16,
    /// The operator's node relays for nodes behind NAT.
    pub relay: bool,
    /// The operator's node answers AutoNAT probes.
    pub autonat: bool,
    /// The operator's relay limits.
    pub relay_limits: RelayServerLimits,
    /// The operator's connection and memory limits (the message limits are
    /// the defaults).
    pub server_limits: NodeLimits,
    /// The operator's DHT caps.
    pub dht: DhtLimits,
}

impl OperatorSettings {
    /// Where the operator's node listens: TCP and QUIC on its IP addresses
    /// and ports.
    pub fn listen(&self) -> Vec<Multiaddr> {
        listen_addrs(&self.listen_ips, self.tcp_port, self.quic_port)
    }

    /// The settings as a layer of `hearth.toml`.
    pub(super) fn fill(&self, settings: &mut Settings) {
        let relay = &self.relay_limits;
        let server = &self.server_limits;
        settings.join = Some(self.join.iter().map(ToString::to_string).collect());
        settings.listen_ips = Some(self.listen_ips.iter().map(ToString::to_string).collect());
        settings.port = None;
        settings.tcp_port = Some(self.tcp_port);
        settings.quic_port = Some(self.quic_port);
        settings.relay = Some(self.relay);
        settings.autonat = Some(self.autonat);
        settings.relay_max_reservations = Some(relay.max_reservations);
        settings.relay_max_reservations_per_peer = Some(relay.max_reservations_per_peer);
        settings.relay_reservation_secs = Some(relay.reservation_duration.as_secs());
        settings.relay_max_circuits = Some(relay.max_circuits);
        settings.relay_max_circuits_per_peer = Some(relay.max_circuits_per_peer);
        settings.relay_max_circuit_secs = Some(relay.max_circuit_duration.as_secs());
        settings.relay_max_circuit_bytes = Some(relay.max_circuit_bytes);
        settings.max_connections = Some(server.max_connections);
        settings.max_inbound_connections = Some(server.max_inbound_connections.unwrap_or(0));
        settings.max_connections_per_peer = Some(server.max_connections_per_peer);
        settings.max_connections_per_ip = Some(server.max_connections_per_ip.unwrap_or(0));
        settings.max_pending_incoming = Some(server.max_pending_incoming);
        settings.max_pending_outgoing = Some(server.max_pending_outgoing.unwrap_or(0));
        settings.max_memory_mb = Some(server.max_memory_bytes.unwrap_or(0) / MIB);
        settings.dht_max_provider_keys = Some(self.dht.max_provider_keys);
        settings.dht_max_providers_per_key = Some(self.dht.max_providers_per_key);
        settings.dht_provider_ttl_secs = Some(self.dht.provider_record_ttl.as_secs());
        settings.dht_max_records = Some(self.dht.max_records);
    }
}

/// Puts what the operator's flags and variables gave into the command-line
/// layer, with booleans and numbers checked.
pub(super) fn from_args(
    layer: &CliLayer,
    op: &OperatorArgs,
    settings: &mut Settings,
) -> Result<(), UsageError> {
    let list = |key: &str, values: &[String]| list_from(values, &layer_origin(layer, key));
    let boolean = |key, value: &Option<String>| typed(layer, key, value, parse_bool);
    let number = |key, value: &Option<String>| typed(layer, key, value, parse_number);
    let wide = |key, value: &Option<String>| typed(layer, key, value, parse_number);
    let port = |key, value: &Option<String>| typed(layer, key, value, parse_number);
    settings.join = list("join", &op.join);
    settings.listen_ips = list("listen_ips", &op.listen_ips);
    let both = port("port", &op.port)?;
    settings.tcp_port = port("tcp_port", &op.tcp_port)?.or(both);
    settings.quic_port = port("quic_port", &op.quic_port)?.or(both);
    settings.relay = boolean("relay", &op.relay)?;
    settings.autonat = boolean("autonat", &op.autonat)?;
    settings.relay_max_reservations = number("relay_max_reservations", &op.relay_max_reservations)?;
    settings.relay_max_reservations_per_peer = number(
        "relay_max_reservations_per_peer",
        &op.relay_max_reservations_per_peer,
    )?;
    settings.relay_reservation_secs = wide("relay_reservation_secs", &op.relay_reservation_secs)?;
    settings.relay_max_circuits = number("relay_max_circuits", &op.relay_max_circuits)?;
    settings.relay_max_circuits_per_peer = number(
        "relay_max_circuits_per_peer",
        &op.relay_max_circuits_per_peer,
    )?;
    settings.relay_max_circuit_secs = wide("relay_max_circuit_secs", &op.relay_max_circuit_secs)?;
    settings.relay_max_circuit_bytes =
        wide("relay_max_circuit_bytes", &op.relay_max_circuit_bytes)?;
    settings.max_connections = number("max_connections", &op.max_connections)?;
    settings.max_inbound_connections =
        number("max_inbound_connections", &op.max_inbound_connections)?;
    settings.max_connections_per_peer =
        number("max_connections_per_peer", &op.max_connections_per_peer)?;
    settings.max_connections_per_ip = number("max_connections_per_ip", &op.max_connections_per_ip)?;
    settings.max_pending_incoming = number("max_pending_incoming", &op.max_pending_incoming)?;
    settings.max_pending_outgoing = number("max_pending_outgoing", &op.max_pending_outgoing)?;
    settings.max_memory_mb = wide("max_memory_mb", &op.max_memory_mb)?;
    settings.dht_max_provider_keys = number("dht_max_provider_keys", &op.dht_max_provider_keys)?;
    settings.dht_max_providers_per_key =
        number("dht_max_providers_per_key", &op.dht_max_providers_per_key)?;
    settings.dht_provider_ttl_secs = wide("dht_provider_ttl_secs", &op.dht_provider_ttl_secs)?;
    settings.dht_max_records = number("dht_max_records", &op.dht_max_records)?;
    Ok(())
}

/// Checks the winning value of each operator's setting and records where
/// it came from.
pub(super) fn resolve(
    layers: &Layers,
    origins: &mut BTreeMap<&'static str, Origin>,
) -> Result<OperatorSettings, UsageError> {
    let (join, o) = layers.pick_or("join", |s| s.join.clone(), Vec::new());
    let join = join
        .iter()
        .map(|c| ChannelName::parse(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UsageError::new(with_origin(e.to_string(), &o, "join")))?;
    let join = dedup(join);
    origins.insert("join", o);

    let every = ["0.0.0.0", "::"].map(str::to_owned).to_vec();
    let (listen_ips, o) = layers.pick_or("listen_ips", |s| s.listen_ips.clone(), every);
    let listen_ips = listen_ips
        .iter()
        .map(|ip| {
            ip.trim().parse::<IpAddr>().map_err(|_| {
                UsageError::new(format!(
                    "invalid IP address {ip:?} in {}; use one like 0.0.0.0, ::, \
                     203.0.113.7 or 2001:db8::7",
                    o.describe("listen_ips")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let listen_ips = dedup(listen_ips);
    origins.insert("listen_ips", o);

    // `port` gives both, below `tcp_port` and `quic_port` of its layer.
    let (tcp_port, o) = layers.pick_or("tcp_port", |s| s.tcp_port.or(s.port), BOOTSTRAP_PORT);
    origins.insert("tcp_port", o);
    let (quic_port, o) = layers.pick_or("quic_port", |s| s.quic_port.or(s.port), BOOTSTRAP_PORT);
    origins.insert("quic_port", o);
    let (relay, o) = layers.pick_or("relay", |s| s.relay, true);
    origins.insert("relay", o);
    let (autonat, o) = layers.pick_or("autonat", |s| s.autonat, true);
    origins.insert("autonat", o);

    let mut limits = Limits { layers, origins };
    Ok(OperatorSettings {
        join,
        listen_ips,
        tcp_port,
        quic_port,
        relay,
        autonat,
        relay_limits: relay_limits(&mut limits)?,
        server_limits: server_limits(&mut limits)?,
        dht: dht_limits(&mut limits)?,
    })
}

/// The relay's limits.
fn relay_limits(limits: &mut Limits<'_>) -> Result<RelayServerLimits, UsageError> {
    let relay_default = RelayServerLimits::default();
    let secs = |d: Duration| d.as_secs();
    Ok(RelayServerLimits {
        max_reservations: limits.at_least_one(
            "relay_max_reservations",
            |s| s.relay_max_reservations,
            relay_default.max_reservations,
        )?,
        max_reservations_per_peer: limits.at_least_one(
            "relay_max_reservations_per_peer",
            |s| s.relay_max_reservations_per_peer,
            relay_default.max_reservations_per_peer,
        )?,
        reservation_duration: Duration::from_secs(limits.seconds(
            "relay_reservation_secs",
            |s| s.relay_reservation_secs,
            secs(relay_default.reservation_duration),
        )?),
        max_circuits: limits.at_least_one(
            "relay_max_circuits",
            |s| s.relay_max_circuits,
            relay_default.max_circuits,
        )?,
        max_circuits_per_peer: limits.at_least_one(
            "relay_max_circuits_per_peer",
            |s| s.relay_max_circuits_per_peer,
            relay_default.max_circuits_per_peer,
        )?,
        max_circuit_duration: Duration::from_secs(limits.seconds(
            "relay_max_circuit_secs",
            |s| s.relay_max_circuit_secs,
            secs(relay_default.max_circuit_duration),
        )?),
        max_circuit_bytes: limits.at_least_one(
            "relay_max_circuit_bytes",
            |s| s.relay_max_circuit_bytes,
            relay_default.max_circuit_bytes,
        )?,
    })
}

/// The connection and memory limits; the message limits are the server
/// preset's.
fn server_limits(limits: &mut Limits<'_>) -> Result<NodeLimits, UsageError> {
    let server = NodeLimits::server();
    let off_if_zero = |v: u32| (v != 0).then_some(v);
    Ok(NodeLimits {
        max_connections: limits.at_least_one(
            "max_connections",
            |s| s.max_connections,
            server.max_connections,
        )?,
        max_inbound_connections: off_if_zero(limits.any(
            "max_inbound_connections",
            |s| s.max_inbound_connections,
            server.max_inbound_connections.unwrap_or(0),
        )),
        max_connections_per_peer: limits.at_least_one(
            "max_connections_per_peer",
            |s| s.max_connections_per_peer,
            server.max_connections_per_peer,
        )?,
        max_connections_per_ip: off_if_zero(limits.any(
            "max_connections_per_ip",
            |s| s.max_connections_per_ip,
            server.max_connections_per_ip.unwrap_or(0),
        )),
        max_pending_incoming: limits.at_least_one(
            "max_pending_incoming",
            |s| s.max_pending_incoming,
            server.max_pending_incoming,
        )?,
        max_pending_outgoing: off_if_zero(limits.any(
            "max_pending_outgoing",
            |s| s.max_pending_outgoing,
            server.max_pending_outgoing.unwrap_or(0),
        )),
        max_memory_bytes: {
            let mb = limits.any(
                "max_memory_mb",
                |s| s.max_memory_mb,
                server.max_memory_bytes.unwrap_or(0) / MIB,
            );
            if mb > MAX_MEMORY_MB {
                return Err(UsageError::new(format!(
                    "{} is {mb} MiB; use at most {MAX_MEMORY_MB} (1 PiB), or 0 for no limit",
                    limits.describe("max_memory_mb")
                )));
            }
            (mb != 0).then_some(mb * MIB)
        },
        ..server.clone()
    })
}

/// The DHT's caps.
fn dht_limits(limits: &mut Limits<'_>) -> Result<DhtLimits, UsageError> {
    let dht_default = DhtLimits::server();
    Ok(DhtLimits {
        max_provider_keys: limits.at_least_one(
            "dht_max_provider_keys",
            |s| s.dht_max_provider_keys,
            dht_default.max_provider_keys,
        )?,
        max_providers_per_key: limits.at_least_one(
            "dht_max_providers_per_key",
            |s| s.dht_max_providers_per_key,
            dht_default.max_providers_per_key,
        )?,
        provider_record_ttl: Duration::from_secs(limits.seconds(
            "dht_provider_ttl_secs",
            |s| s.dht_provider_ttl_secs,
            dht_default.provider_record_ttl.as_secs(),
        )?),
        max_records: limits.at_least_one(
            "dht_max_records",
            |s| s.dht_max_records,
            dht_default.max_records,
        )?,
    })
}

/// Picks numeric settings, checks them and records their origins.
struct Limits<'a> {
    layers: &'a Layers,
    origins: &'a mut BTreeMap<&'static str, Origin>,
}

impl Limits<'_> {
    fn any<T>(&mut self, key: &'static str, get: impl Fn(&Settings) -> Option<T>, default: T) -> T {
        let (value, origin) = self.layers.pick_or(key, get, default);
        self.origins.insert(key, origin);
        value
    }

    fn at_least_one<T: Copy + Into<u64>>(
        &mut self,
        key: &'static str,
        get: impl Fn(&Settings) -> Option<T>,
        default: T,
    ) -> Result<T, UsageError> {
        let value = self.any(key, get, default);
        at_least_one(value.into(), &self.origin(key), key)?;
        Ok(value)
    }

    fn seconds(
        &mut self,
        key: &'static str,
        get: impl Fn(&Settings) -> Option<u64>,
        default: u64,
    ) -> Result<u64, UsageError> {
        let value = self.at_least_one(key, get, default)?;
        if value > MAX_SECS {
            return Err(UsageError::new(format!(
                "{} is {value} seconds; use at most {MAX_SECS}",
                self.describe(key)
            )));
        }
        Ok(value)
    }

    fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).cloned().unwrap_or(Origin::Default)
    }

    fn describe(&self, key: &str) -> String {
        self.origin(key).describe(key)
    }
}
