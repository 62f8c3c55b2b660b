//! `hearth peers` and `hearth status`.

use anyhow::bail;

use crate::commands::{print, print_json, table};
use crate::config::Config;
use crate::control::{self, Reply, Request};

/// Lists the running node's connected peers.
pub(crate) async fn peers(config: Config, json: bool) -> anyhow::Result<()> {
    let (reply, running) = control::request(&config, Request::Peers).await?;
    let Reply::Peers { peers } = reply else {
        bail!("unexpected answer from the node: {reply:?}");
    };
    if json {
        return peers.iter().try_for_each(print_json);
    }
    if !running {
        return print(format!(
            "no node is running on {}, so there are no peers",
            config.data_dir.display()
        ));
    }
    if peers.is_empty() {
        return print("no peers connected");
    }
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p.peer_id.clone(),
                match p.score {
                    Some(s) => format!("score {s:.1}"),
                    None => "-".to_owned(),
                },
                if p.channels.is_empty() {
                    "-".to_owned()
                } else {
                    p.channels
                        .iter()
                        .map(|c| format!("#{c}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                p.addresses.join(" "),
            ]
        })
        .collect();
    table(&rows).into_iter().try_for_each(print)
}

/// Shows the node's state (or the store's, with no node running).
pub(crate) async fn status(config: Config, json: bool) -> anyhow::Result<()> {
    let (reply, _) = control::request(&config, Request::Status).await?;
    let Reply::Status { status: s } = reply else {
        bail!("unexpected answer from the node: {reply:?}");
    };
    if json {
        return print_json(&s);
    }
    let mut rows = vec![
        vec![
            "node:".to_owned(),
            match &s.peer_id {
                Some(id) if s.running => format!("running, peer id {id}"),
                _ => "not running (read from the store)".to_owned(),
            },
        ],
        vec!["data directory:".to_owned(), s.data_dir.clone()],
        vec!["network:".to_owned(), s.network.clone()],
    ];
    for (i, address) in s.listen_addrs.iter().enumerate() {
        let label = if i == 0 { "listening on:" } else { "" };
        rows.push(vec![label.to_owned(), address.clone()]);
    }
    if s.channels.is_empty() {
        rows.push(vec!["channels:".to_owned(), "none joined".to_owned()]);
    }
    for (i, c) in s.channels.iter().enumerate() {
        let label = if i == 0 { "channels:" } else { "" };
        rows.push(vec![
            label.to_owned(),
            format!(
                "#{} ({}, as {}, {:.1} MiB stored)",
                c.channel,
                plural(c.peers, "peer"),
                c.persona.name,
                mib(c.stored_bytes)
            ),
        ]);
    }
    if s.running {
        rows.push(vec![
            "peers:".to_owned(),
            format!("{} connected", s.connected_peers),
        ]);
    }
    rows.push(vec![
        "posts:".to_owned(),
        format!(
            "{} stored, {} waiting for peers",
            s.stored_posts, s.pending_posts
        ),
    ]);
    rows.push(vec![
        "blocklist:".to_owned(),
        format!(
            "{}, {} followed",
            plural(s.blocklist_entries, "entry"),
            plural(s.followed_moderators, "moderator")
        ),
    ]);
    table(&rows).into_iter().try_for_each(print)
}

/// `1 peer`, `2 peers`, `0 entries`.
fn plural(n: usize, word: &str) -> String {
    match (n, word.strip_suffix('y')) {
        (1, _) => format!("1 {word}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {word}s"),
    }
}

/// Bytes in MiB, for people.
fn mib(bytes: u64) -> f64 {
    // Exact below 2^53 bytes, far beyond any store.
    #[allow(clippy::cast_precision_loss)]
    let bytes = bytes as f64;
    bytes / (1024.0 * 1024.0)
}
