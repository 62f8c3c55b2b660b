//! An operator's limits hold when more peers come than they allow, and the
//! metrics endpoint shows it: connections refused by reason, relay
//! reservations served and refused, DHT records kept and refused. The
//! exposition is read with hearth's OpenMetrics reader, never grepped.
//!
//! The people's nodes here run with the defaults (no `announce_private`):
//! on loopback the only address AutoNAT can confirm is a loopback one,
//! which such a node does not announce, so it counts itself unreachable
//! and asks the bootstrap node for a relay slot, as a node behind a home
//! router would.

use std::net::SocketAddr;

use hearth_node::metrics::exposition::{self, MetricFamily};
use hearth_node::{
    AdmissionLimits, DhtLimits, Multiaddr, Node, NodeBuilder, NodeHandle, NodeLimits,
    RelayServerLimits,
};
use hearth_protocol::NetworkId;
use hearth_tests::{
    address, bootstrap_node, channel, eventually, init_tracing, scrape, test_limits, test_node,
    unique_network,
};

fn value(families: &[MetricFamily], name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition::value(families, name, labels).unwrap_or(0.0)
}

/// A person's node on loopback that knows only `bootstrap`.
fn person(network: &NetworkId, bootstrap: &Multiaddr) -> NodeBuilder {
    Node::builder()
        .persona_stamp_bits(0)
        .in_memory()
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("a valid address"))
        .mdns(false)
        .network(network.clone())
        .bootstrap(bootstrap.clone())
}

fn metrics_addr(node: &NodeHandle) -> SocketAddr {
    node.metrics_addr().expect("the node serves metrics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_and_relay_limits_hold_and_show_in_the_metrics() {
    init_tracing();
    let network = unique_network();
    // The hard cap, as on an operator's node: no newcomer pushes anyone
    // out (edges.rs tests eviction).
    let limits = NodeLimits {
        max_inbound_connections: Some(4),
        admission: AdmissionLimits::server(),
        ..test_limits()
    };
    let relay = RelayServerLimits {
        max_reservations: 1,
        ..RelayServerLimits::default()
    };
    let bootstrap = bootstrap_node(&network)
        .limits(limits)
        .relay_server(Some(relay))
        .metrics("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let endpoint = metrics_addr(&bootstrap);
    let boot_addr = address(&bootstrap).await;

    let mut people = Vec::new();
    for _ in 0..6 {
        people.push(person(&network, &boot_addr).start().await.unwrap());
    }

    // Four get in, two are refused (and refused again at each redial);
    // of the four, one holds the relay's only slot.
    eventually("the limits to show in the metrics", || async {
        let m = scrape(endpoint).await;
        let inbound = value(
            &m,
            "hearth_connections",
            &[("direction", "inbound"), ("path", "direct")],
        );
        assert!(inbound <= 4.0, "{inbound} inbound connections");
        inbound == 4.0
            && value(
                &m,
                "hearth_connections_denied_total",
                &[("direction", "inbound"), ("reason", "inbound")],
            ) >= 2.0
            && value(&m, "hearth_relay_reservations_served", &[]) == 1.0
            && value(
                &m,
                "hearth_relay_requests_denied_total",
                &[("request", "reservation")],
            ) >= 1.0
    })
    .await;

    let mut held = 0;
    for node in &people {
        held += node.status().await.unwrap().relay_reservations;
    }
    assert_eq!(held, 1, "one relay slot, one holder");
    // A refused person briefly sees its connection before the bootstrap
    // closes it (and again at each redial), so its own view settles a
    // moment after the bootstrap's (whose own count, above, never passed
    // four).
    eventually(
        "four people to hold a connection to the bootstrap",
        || async {
            let mut connected = 0;
            for node in &people {
                connected += usize::from(
                    node.peers()
                        .await
                        .unwrap()
                        .iter()
                        .any(|p| p.peer == bootstrap.peer_id()),
                );
            }
            connected == 4
        },
    )
    .await;

    // libp2p's own metrics are there too, and the bootstrap's status.
    let m = scrape(endpoint).await;
    for family in [
        "libp2p_swarm_connections_incoming",
        "libp2p_identify_received",
        "libp2p_relay_events",
        "hearth_peers_connected",
        "process_resident_memory_bytes",
    ] {
        assert!(
            m.iter()
                .any(|f| f.name == family || f.name.starts_with(family)),
            "{family} is missing"
        );
    }
    assert!(
        value(
            &m,
            "libp2p_bandwidth_bytes_total",
            &[("direction", "Inbound")]
        ) > 0.0
            || m.iter().any(|f| f.name.starts_with("libp2p_bandwidth"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ip_address_gets_at_most_its_share() {
    init_tracing();
    let network = unique_network();
    let limits = NodeLimits {
        max_connections_per_ip: Some(2),
        ..test_limits()
    };
    let bootstrap = bootstrap_node(&network)
        .limits(limits)
        .metrics("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let endpoint = metrics_addr(&bootstrap);
    let boot_addr = address(&bootstrap).await;
    // Everything on loopback comes from 127.0.0.1.
    let mut people = Vec::new();
    for _ in 0..3 {
        people.push(
            test_node(&network)
                .bootstrap(boot_addr.clone())
                .start()
                .await
                .unwrap(),
        );
    }
    eventually("the per-IP refusal to show in the metrics", || async {
        let m = scrape(endpoint).await;
        let inbound = value(
            &m,
            "hearth_connections",
            &[("direction", "inbound"), ("path", "direct")],
        );
        assert!(inbound <= 2.0, "{inbound} inbound connections from one IP");
        inbound == 2.0
            && value(
                &m,
                "hearth_connections_denied_total",
                &[("direction", "inbound"), ("reason", "per_ip")],
            ) >= 1.0
    })
    .await;
    let peers = bootstrap.peers().await.unwrap();
    let inbound_people = people
        .iter()
        .filter(|p| peers.iter().any(|q| q.peer == p.peer_id()))
        .count();
    assert_eq!(inbound_people, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dht_keeps_at_most_its_caps_of_keys_and_providers() {
    init_tracing();
    let network = unique_network();
    let dht = DhtLimits {
        max_provider_keys: 2,
        max_providers_per_key: 2,
        ..DhtLimits::default()
    };
    let bootstrap = bootstrap_node(&network)
        .dht_limits(dht)
        .metrics("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let endpoint = metrics_addr(&bootstrap);
    let boot_addr = address(&bootstrap).await;
    let (full, second, refused) = (channel("full"), channel("second"), channel("refused"));
    let join = |ch: hearth_protocol::ChannelName| {
        let network = network.clone();
        let boot_addr = boot_addr.clone();
        async move {
            let node = test_node(&network)
                .bootstrap(boot_addr)
                .start()
                .await
                .unwrap();
            node.join(ch).await.unwrap();
            node
        }
    };

    // Three announce `full`: the first two are kept, the third is not
    // (kad keeps the first providers of a full key and drops later ones).
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let node = join(full.clone()).await;
        let id = node.peer_id();
        eventually("a provider record kept", || async {
            let kept = bootstrap.dht_providers(full.clone()).await.unwrap();
            kept.iter().any(|p| p.peer == id)
        })
        .await;
        nodes.push(node);
    }
    let late = join(full.clone()).await;
    eventually("the late provider's announcement", || async {
        let m = scrape(endpoint).await;
        value(
            &m,
            "hearth_dht_requests_served_total",
            &[("request", "add_provider")],
        ) >= 3.0
    })
    .await;
    let kept = bootstrap.dht_providers(full.clone()).await.unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        !kept.iter().any(|p| p.peer == late.peer_id()),
        "first come, first kept"
    );

    // A second key fits; a third does not.
    let two = join(second.clone()).await;
    eventually("the second key", || async {
        !bootstrap
            .dht_providers(second.clone())
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    let three = join(refused.clone()).await;
    eventually("the third key refused", || async {
        let m = scrape(endpoint).await;
        value(
            &m,
            "hearth_dht_requests_served_total",
            &[("request", "add_provider_refused")],
        ) >= 1.0
    })
    .await;
    assert!(
        bootstrap
            .dht_providers(refused.clone())
            .await
            .unwrap()
            .is_empty()
    );
    // The count of records kept (every 10 s).
    eventually("the provider record count", || async {
        let m = scrape(endpoint).await;
        value(&m, "hearth_dht_provider_records", &[]) == 3.0
    })
    .await;
    drop((nodes, late, two, three));
}
