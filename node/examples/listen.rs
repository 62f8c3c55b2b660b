//! A bootstrap node: `listen DATA_DIR [PORT]`. It keeps its peer id across
//! restarts (so its address stays valid), serves the DHT and joins no channel.
use hearth_node::{Event, IdentityMode, Node};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: listen DATA_DIR [PORT]")?;
    let port: u16 = args.next().map_or(Ok(4001), |p| p.parse())?;
    let node = Node::builder()
        .data_dir(dir)
        .identity(IdentityMode::Persistent)
        .dht_server(true)
        .mdns(false)
        .listen(format!("/ip4/0.0.0.0/tcp/{port}").parse()?)
        .listen(format!("/ip4/0.0.0.0/udp/{port}/quic-v1").parse()?)
        .start()
        .await?;
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
