//! A bootstrap node: `listen DATA_DIR [PORT]`. It takes the operator's
//! preset ([`NodeConfig::bootstrap`]): the peer id from `DATA_DIR/node.key`
//! (so its address stays valid across restarts), a DHT server, TCP and QUIC
//! on IPv4 and IPv6, and no channel.
use hearth_node::config::bootstrap_listen;
use hearth_node::{Event, NodeBuilder, NodeConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: listen DATA_DIR [PORT]")?;
    let port: u16 = args.next().map_or(Ok(4001), |p| p.parse())?;
    let config = NodeConfig {
        listen: bootstrap_listen(port, port),
        ..NodeConfig::bootstrap(&dir)
    };
    let node = NodeBuilder::from_config(config).start().await?;
    for address in node.listen_addrs().await? {
        println!("bootstrap address: {address}");
    }
    let mut events = node.events();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            Some(event) = events.next() => match event {
                Event::PeerIdentified { peer, agent, .. } => println!("{peer} ({agent}) connected"),
                Event::PeerDisconnected { peer } => println!("{peer} left"),
                _ => {}
            },
            _ = &mut ctrl_c => break,
        }
    }
    Ok(node.shutdown().await?)
}
