//! `hearth moderator key|follow|unfollow|following|reports`.

use anyhow::bail;

use crate::args::ModeratorCommand;
use crate::commands::{print, print_json, table};
use crate::config::{Config, parse_channel};
use crate::control::{self, Reply, Request};
use crate::error::UsageError;

/// Runs a moderator command.
pub(crate) async fn run(
    command: ModeratorCommand,
    config: Config,
    json: bool,
) -> anyhow::Result<()> {
    match command {
        ModeratorCommand::Key => {
            let reply = control::request(&config, Request::Moderator).await?.0;
            let Reply::Moderator { moderator } = reply else {
                bail!("unexpected answer from the node: {reply:?}");
            };
            if json {
                return print_json(&moderator);
            }
            print(format!("your moderator key: {}", moderator.key))?;
            print(format!("name: {}", moderator.name))?;
            print("people follow you with `hearth moderator follow KEY`; it is kept in the store")
        }
        ModeratorCommand::Follow { key, channel } => {
            check_key(&key)?;
            let channel = channel
                .as_deref()
                .map(parse_channel)
                .transpose()?
                .map(|c| c.to_string());
            let request = Request::Follow {
                key: key.clone(),
                channel: channel.clone(),
            };
            let changed = followed(control::request(&config, request).await?.0)?;
            if json {
                return print_json(&serde_json::json!({ "followed": changed }));
            }
            let place = channel.map_or("every channel".to_owned(), |c| format!("#{c}"));
            if changed {
                print(format!("following {} in {place}", name(&key)))
            } else {
                print(format!("already following {} in {place}", name(&key)))
            }
        }
        ModeratorCommand::Unfollow { key } => {
            check_key(&key)?;
            let request = Request::Unfollow { key: key.clone() };
            let changed = followed(control::request(&config, request).await?.0)?;
            if json {
                return print_json(&serde_json::json!({ "unfollowed": changed }));
            }
            if changed {
                print(format!("no longer following {}", name(&key)))
            } else {
                print(format!("you were not following {}", name(&key)))
            }
        }
        ModeratorCommand::Following => {
            let reply = control::request(&config, Request::Follows).await?.0;
            let Reply::Follows { follows } = reply else {
                bail!("unexpected answer from the node: {reply:?}");
            };
            if json {
                return follows.iter().try_for_each(print_json);
            }
            if follows.is_empty() {
                return print("you follow no moderators; `hearth moderator follow KEY` adds one");
            }
            let rows: Vec<Vec<String>> = follows
                .iter()
                .map(|f| {
                    vec![
                        f.name.clone(),
                        f.channel
                            .as_ref()
                            .map_or("every channel".to_owned(), |c| format!("#{c}")),
                        f.key.clone(),
                    ]
                })
                .collect();
            table(&rows).into_iter().try_for_each(print)
        }
        ModeratorCommand::Reports { channel, limit } => {
            let channel = channel
                .as_deref()
                .map(parse_channel)
                .transpose()?
                .map(|c| c.to_string());
            let request = Request::Reports {
                channel: channel.clone(),
                limit,
            };
            let reply = control::request(&config, request).await?.0;
            let Reply::Reports { reports } = reply else {
                bail!("unexpected answer from the node: {reply:?}");
            };
            if json {
                return reports.iter().try_for_each(print_json);
            }
            if reports.is_empty() {
                let place = channel.map_or(String::new(), |c| format!(" about #{c}"));
                return print(format!(
                    "no reports{place}; people who follow your moderator key \
                     (`hearth moderator key`) can send you some with /report"
                ));
            }
            let rows: Vec<Vec<String>> = reports
                .iter()
                .map(|r| {
                    vec![
                        crate::time::date_time(r.created_ms),
                        format!("#{}", r.channel),
                        format!("post {}", r.post.get(..8).unwrap_or(&r.post)),
                        format!("from {}", r.reporter_name),
                        r.reason.clone(),
                    ]
                })
                .collect();
            table(&rows).into_iter().try_for_each(print)
        }
    }
}

/// A bad key is a usage error (exit 2), found before any node starts.
fn check_key(key: &str) -> anyhow::Result<()> {
    key.trim()
        .parse::<hearth_protocol::PublicKey>()
        .map(drop)
        .map_err(|e| UsageError::new(format!("{key:?} is not a moderator key: {e}")).into())
}

fn name(key: &str) -> String {
    key.trim()
        .parse::<hearth_protocol::PublicKey>()
        .map_or_else(|_| key.to_owned(), |k| k.name())
}

fn followed(reply: Reply) -> anyhow::Result<bool> {
    match reply {
        Reply::Followed { changed } => Ok(changed),
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}
