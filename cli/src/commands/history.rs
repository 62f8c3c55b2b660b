//! `hearth history`.

use anyhow::bail;

use crate::args::HistoryArgs;
use crate::commands::{print, print_json};
use crate::config::{Config, parse_channel};
use crate::control::{self, Reply, Request};
use crate::error::UsageError;
use crate::headless::render;
use crate::time;

/// Most posts one `history` call returns.
pub(crate) const MAX_LIMIT: usize = 10_000;

/// Prints the stored posts of a channel, oldest first.
pub(crate) async fn run(args: HistoryArgs, config: Config, json: bool) -> anyhow::Result<()> {
    let channel = parse_channel(&args.channel)?;
    let since_ms = args
        .since
        .as_deref()
        .map(|s| time::parse_since(s, time::now_ms()))
        .transpose()
        .map_err(|e| UsageError::new(format!("--since: {e}")))?;
    if args.limit > MAX_LIMIT {
        return Err(UsageError::new(format!(
            "--limit {} is too many; use at most {MAX_LIMIT}",
            args.limit
        ))
        .into());
    }
    let request = Request::History {
        channel: channel.to_string(),
        since_ms,
        limit: args.limit,
        include_hidden: args.hidden,
    };
    let reply = control::request(&config, request).await?.0;
    let Reply::Posts { posts } = reply else {
        bail!("unexpected answer from the node: {reply:?}");
    };
    if json {
        return posts.iter().try_for_each(print_json);
    }
    if posts.is_empty() {
        return print(format!("no stored posts in #{channel}"));
    }
    for post in &posts {
        if let Some(text) = render(post, time::date_time) {
            print(text)?;
        }
    }
    Ok(())
}
