//! A chat node in one screen: `embed [CHANNEL] [--data DIR] [--dial ADDR]`.
//! Each line on stdin is posted; posts from others print as `name: text`.
use hearth_node::{Event, Node};
use hearth_protocol::ChannelName;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut channel, mut data, mut dial) = ("anxiety".to_owned(), None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next(),
            "--dial" => dial = args.next(),
            _ => channel = arg,
        }
    }
    let builder = Node::builder().mdns(true);
    let builder = match data {
        Some(dir) => builder.data_dir(dir), // one process per directory
        None => builder.in_memory(),
    };
    let node = builder.start().await?;
    let channel = ChannelName::parse(&channel)?;
    let mut events = node.events(); // subscribe before anything can happen
    node.join(channel.clone()).await?;
    node.listen_addrs()
        .await?
        .iter()
        .for_each(|a| println!("listening on {a}"));
    if let Some(address) = dial {
        node.dial(address.parse()?).await?;
    }
    // Blocking stdin on its own thread (tokio's stdin needs its io-std feature).
    let (tx, mut lines) = tokio::sync::mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        std::io::stdin()
            .lines()
            .map_while(Result::ok)
            .try_for_each(|l| tx.blocking_send(l))
    });
    loop {
        tokio::select! {
            Some(line) = lines.recv() => if !line.trim().is_empty() {
                node.publish(channel.clone(), line).await?; // stored even with 0 peers
            },
            Some(event) = events.next() => match event {
                Event::Post(r) if !r.own => match r.verdict {
                    None => println!("{}: {}", r.post.author.name(), r.post.body),
                    Some(v) => println!("(hidden post by {}: {}, {})", r.post.author.name(), v.reason, v.list),
                },
                Event::Lagged { missed } => eprintln!("(missed {missed} events)"),
                _ => {}
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    node.shutdown().await?; // flushes the store before it returns
    Ok(())
}
