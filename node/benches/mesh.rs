//! Node-level figures over real loopback TCP: how fast a post written on one
//! node is stored, sent and shown on another. Prints one JSON object per
//! line; `docs/performance.md` has the table.
//!
//! Run with `cargo bench -p hearth-node --bench mesh`.

use std::time::{Duration, Instant};

use hearth_node::{Event, EventStream, Node, NodeHandle, NodeLimits, Rate};
use hearth_protocol::{ChannelName, NetworkId};

const THROUGHPUT_POSTS: usize = 2_000;
const LATENCY_ROUNDS: usize = 200;

async fn node(network: &NetworkId) -> NodeHandle {
    // The flood limits would (rightly) cut a single persona off long
    // before the bench ends.
    let unlimited = Rate {
        per_minute: u32::MAX,
        burst: u32::MAX,
    };
    let limits = NodeLimits {
        per_persona: unlimited,
        newcomer: unlimited,
        persona_stamp_bits: 0,
        ..NodeLimits::default()
    };
    Node::builder()
        .in_memory()
        .listen("/ip4/127.0.0.1/tcp/0".parse().expect("address"))
        .mdns(false)
        .network(network.clone())
        .limits(limits)
        .start()
        .await
        .expect("node starts")
}

async fn next_post(events: &mut EventStream) -> hearth_protocol::MessageId {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.next()).await {
            Ok(Some(Event::Post(record))) => return record.id,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => panic!("no post within 30 s"),
        }
    }
}

fn report(name: &str, count: usize, elapsed: Duration, extra: &str) {
    let per_op_us = elapsed.as_secs_f64() * 1e6 / count as f64;
    println!(
        "{{\"bench\":\"node/{name}\",\"count\":{count},\"total_ms\":{:.1},\"per_op_us\":{per_op_us:.1},\"ops_per_s\":{:.0}{extra}}}",
        elapsed.as_secs_f64() * 1e3,
        count as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let network = NetworkId::parse("bench").expect("network id");
        let channel = ChannelName::parse("bench").expect("channel");
        let (a, b) = (node(&network).await, node(&network).await);
        let mut b_events = b.events();
        a.join(channel.clone()).await.expect("join");
        b.join(channel.clone()).await.expect("join");
        let address = a.listen_addrs().await.expect("addrs")[0].clone();
        b.dial(address).await.expect("dial");
        let mut a_events = a.events();
        while a.channels().await.expect("channels")[0].peers == 0 {
            a_events.next().await;
        }

        // Sequential round trips: publish on a, wait until b shows it.
        let mut samples = Vec::with_capacity(LATENCY_ROUNDS);
        for i in 0..LATENCY_ROUNDS {
            let started = Instant::now();
            let sent = a
                .publish(channel.clone(), format!("ping {i}"))
                .await
                .expect("publish");
            while next_post(&mut b_events).await != sent.id {}
            samples.push(started.elapsed());
        }
        samples.sort();
        let total: Duration = samples.iter().sum();
        let pct = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
        report(
            "round_trip",
            LATENCY_ROUNDS,
            total,
            &format!(
                ",\"p50_us\":{},\"p99_us\":{}",
                pct(50).as_micros(),
                pct(99).as_micros()
            ),
        );

        // Throughput: a publishes as fast as its store and signer allow
        // (each publish is stored and flushed before it returns); b counts.
        let started = Instant::now();
        let writer = {
            let a = a.clone();
            let channel = channel.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                for i in 0..THROUGHPUT_POSTS {
                    a.publish(channel.clone(), format!("post {i} of the throughput run"))
                        .await
                        .expect("publish");
                }
                started.elapsed()
            })
        };
        for _ in 0..THROUGHPUT_POSTS {
            next_post(&mut b_events).await;
        }
        let received = started.elapsed();
        let published = writer.await.expect("writer");
        report("publish_stored_flushed", THROUGHPUT_POSTS, published, "");
        report("end_to_end_throughput", THROUGHPUT_POSTS, received, "");
        a.shutdown().await.expect("shutdown");
        b.shutdown().await.expect("shutdown");
    });
}
