//! A chat node in one screen: `embed [CHANNEL] [--data DIR] [--dial ADDR]`.
//! Each line on stdin is posted; posts from others print as `name: text`.
use hearth_node::{Event, Node};
use hearth_protocol::ChannelName;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let channel = args.first().filter(|a| !a.starts_with("--"));
    let channel = ChannelName::parse(channel.map_or("anxiety", String::as_str))?;
    let mut builder = Node::builder().in_memory().mdns(true);
    if let Some(dir) = flag("--data") {
        builder = builder.data_dir(dir); // one process per data directory
    }
    let node = builder.start().await?;
    let mut events = node.events(); // every event from now on
    node.join(channel.clone()).await?;
    for address in node.listen_addrs().await? {
        println!("listening on {address}");
    }
    if let Some(address) = flag("--dial") {
        node.dial(address.parse()?).await?;
    }
    // A thread for stdin: with tokio's, Ctrl+C would wait for one more Enter.
    let (tx, mut lines) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lines().map_while(Result::ok);
        stdin.try_for_each(|line| tx.blocking_send(line))
    });
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            Some(line) = lines.recv() => if let Err(e) = node.publish(channel.clone(), line).await {
                eprintln!("not posted: {e}"); // an empty line, say; 0 peers is no error
            },
            Some(event) = events.next() => match event {
                Event::Post(r) if !r.own => match r.verdict {
                    None => println!("{}: {}", r.post.author.name(), r.post.body),
                    Some(v) => println!("(a post hidden by {}: {})", v.list, v.reason),
                },
                Event::Lagged { missed } => eprintln!("(missed {missed} events)"),
                _ => {}
            },
            _ = &mut ctrl_c => break,
        }
    }
    Ok(node.shutdown().await?) // flushes the store, closes connections
}
