//! N plain rust-libp2p gossipsub nodes: the baseline hearth is measured
//! against, with gossipsub's default settings or with hearth's mesh
//! settings, on the same transports and with the same metrics as a hearth
//! node (libp2p's bandwidth counters and gossipsub's own metrics).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures::StreamExt;
use hearth_node::metrics::exposition;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, noise, tcp, yamux};
use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::Transport;
use super::run::Recorder;

/// The topic every raw node joins.
const TOPIC: &str = "mesh-bench";

/// Which gossipsub settings a raw node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settings {
    /// gossipsub's defaults: signed messages (strict validation), mesh 6
    /// (5–12), gossip to 6 peers.
    Default,
    /// hearth's mesh settings (`hearth_node::MESH`), flood publishing,
    /// a 1 s heartbeat and hearth's duplicate-cache time; unsigned
    /// messages whose id is the content hash, as hearth's are. No
    /// application validation: a message is forwarded as soon as
    /// gossipsub accepts it.
    Hearth,
}

/// What the node's task is asked to do.
enum Command {
    Dial(Multiaddr),
    Publish(Vec<u8>, oneshot::Sender<Result<(), String>>),
    MeshPeers(oneshot::Sender<usize>),
}

/// One raw gossipsub node, run by its own task.
pub struct RawNode {
    /// Its peer id.
    pub peer_id: PeerId,
    /// Its listen address (without `/p2p/`).
    pub listen: Multiaddr,
    commands: mpsc::Sender<Command>,
    registry: Arc<Registry>,
    task: JoinHandle<()>,
}

impl Drop for RawNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn config(settings: Settings) -> anyhow::Result<gossipsub::Config> {
    let mut builder = gossipsub::ConfigBuilder::default();
    if settings == Settings::Hearth {
        let mesh = &hearth_node::MESH;
        builder
            .validation_mode(ValidationMode::Anonymous)
            .message_id_fn(|message| {
                gossipsub::MessageId::new(hearth_protocol::MessageId::of(&message.data).as_bytes())
            })
            .mesh_n(mesh.mesh_n)
            .mesh_n_low(mesh.mesh_n_low)
            .mesh_n_high(mesh.mesh_n_high)
            .mesh_outbound_min(mesh.mesh_outbound_min)
            .gossip_lazy(mesh.gossip_lazy)
            .flood_publish(true)
            .heartbeat_interval(Duration::from_secs(1))
            .duplicate_cache_time(Duration::from_secs(10 * 60));
    }
    builder
        .build()
        .map_err(|e| anyhow!("gossipsub config: {e}"))
}

impl RawNode {
    /// The mesh size below which gossipsub grafts more peers.
    pub fn mesh_n_low(settings: Settings) -> usize {
        match settings {
            Settings::Default => gossipsub::Config::default().mesh_n_low(),
            Settings::Hearth => hearth_node::MESH.mesh_n_low,
        }
    }

    /// Starts node `index` listening on loopback over `transport`; what it
    /// receives goes to `recorder`.
    pub async fn start(
        index: usize,
        settings: Settings,
        transport: Transport,
        recorder: Arc<Recorder>,
    ) -> anyhow::Result<RawNode> {
        let key = Keypair::generate_ed25519();
        let authenticity = match settings {
            Settings::Default => MessageAuthenticity::Signed(key.clone()),
            Settings::Hearth => MessageAuthenticity::Anonymous,
        };
        let mut registry = Registry::default();
        let mut behaviour = gossipsub::Behaviour::new(authenticity, config(settings)?)
            .map_err(|e| anyhow!("gossipsub: {e}"))?;
        behaviour = behaviour.with_metrics(
            registry.sub_registry_with_prefix("gossipsub"),
            gossipsub::MetricsConfig::default(),
        );
        let topic = IdentTopic::new(TOPIC);
        behaviour
            .subscribe(&topic)
            .map_err(|e| anyhow!("subscribe: {e}"))?;
        let mut swarm: Swarm<gossipsub::Behaviour> = SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .context("tcp")?
            .with_quic()
            .with_bandwidth_metrics(&mut registry)
            .with_behaviour(|_| behaviour)
            .map_err(|e| anyhow!("behaviour: {e:?}"))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        swarm.listen_on(transport.listen_addr())?;
        let listen = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                    return address;
                }
            }
        })
        .await
        .context("no listen address within 10 s")?;
        let peer_id = *swarm.local_peer_id();
        let (commands, inbox) = mpsc::channel(1024);
        let task = tokio::spawn(drive(index, swarm, topic, inbox, recorder));
        Ok(RawNode {
            peer_id,
            listen,
            commands,
            registry: Arc::new(registry),
            task,
        })
    }

    /// Dials `address`.
    pub async fn dial(&self, address: Multiaddr) -> anyhow::Result<()> {
        self.commands
            .send(Command::Dial(address))
            .await
            .map_err(|_| anyhow!("raw node stopped"))
    }

    /// Publishes `payload` on the benchmark topic.
    pub async fn publish(&self, payload: Vec<u8>) -> anyhow::Result<()> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Publish(payload, reply))
            .await
            .map_err(|_| anyhow!("raw node stopped"))?;
        answer
            .await
            .map_err(|_| anyhow!("raw node stopped"))?
            .map_err(|e| anyhow!("publish: {e}"))
    }

    /// How many peers it has in the topic's mesh.
    pub async fn mesh_peers(&self) -> anyhow::Result<usize> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::MeshPeers(reply))
            .await
            .map_err(|_| anyhow!("raw node stopped"))?;
        answer.await.map_err(|_| anyhow!("raw node stopped"))
    }

    /// Its metrics, as a hearth node's endpoint would serve them.
    pub fn metrics(&self) -> anyhow::Result<Vec<exposition::MetricFamily>> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .context("encode metrics")?;
        exposition::parse(&text).map_err(|e| anyhow!("{e}"))
    }
}

/// The node's task: the swarm and the commands, until the node is dropped.
async fn drive(
    index: usize,
    mut swarm: Swarm<gossipsub::Behaviour>,
    topic: IdentTopic,
    mut inbox: mpsc::Receiver<Command>,
    recorder: Arc<Recorder>,
) {
    let hash = topic.hash();
    loop {
        tokio::select! {
            event = swarm.select_next_some() => {
                if let SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) = event {
                    recorder.record(index, &message.data);
                }
            }
            command = inbox.recv() => match command {
                None => return,
                Some(Command::Dial(address)) => {
                    let _ = swarm.dial(address);
                }
                Some(Command::Publish(payload, reply)) => {
                    let result = swarm
                        .behaviour_mut()
                        .publish(topic.clone(), payload)
                        .map(|_| ())
                        .map_err(|e| e.to_string());
                    let _ = reply.send(result);
                }
                Some(Command::MeshPeers(reply)) => {
                    let _ = reply.send(swarm.behaviour().mesh_peers(&hash).count());
                }
            }
        }
    }
}
