//! `hearth moderator key|follow|unfollow|following|reports|card|presence`.

use anyhow::bail;

use crate::args::{CardArgs, ModeratorCommand};
use crate::commands::{print, print_json, table};
use crate::config::{Config, parse_channel};
use crate::control::{self, Reply, Request};
use crate::error::UsageError;
use crate::json::CardJson;

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
        ModeratorCommand::Card(args) => card(args, &config, json).await,
        ModeratorCommand::Presence { channel, state } => {
            let channel = parse_channel(&channel)?.to_string();
            let on = state == "on";
            let request = Request::SetPresence {
                channel: channel.clone(),
                on,
            };
            let reply = control::request(&config, request).await?.0;
            let Reply::Presence { was_on } = reply else {
                bail!("unexpected answer from the node: {reply:?}");
            };
            if json {
                return print_json(
                    &serde_json::json!({ "channel": channel, "on": on, "was_on": was_on }),
                );
            }
            if on {
                print(format!(
                    "presence on in #{channel}: while hearth runs, it tells the channel every 5 minutes that you are around (only if your key is one of the channel card's moderators)"
                ))
            } else {
                print(format!("presence off in #{channel}"))
            }
        }
    }
}

/// `hearth moderator card`: publish with `--age`, else show.
async fn card(args: CardArgs, config: &Config, json: bool) -> anyhow::Result<()> {
    let channel = parse_channel(&args.channel)?.to_string();
    let Some(age) = args.age else {
        let reply = control::request(
            config,
            Request::Card {
                channel: channel.clone(),
            },
        )
        .await?
        .0;
        let Reply::Card { card } = reply else {
            bail!("unexpected answer from the node: {reply:?}");
        };
        if json {
            return print_json(&serde_json::json!({ "card": card }));
        }
        return match card {
            None => print(format!("no card is held for #{channel}")),
            Some(card) => card_lines(&card).into_iter().try_for_each(print),
        };
    };
    for key in &args.moderators {
        check_key(key)?;
    }
    let retention_days = args
        .keep_days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=hearth_protocol::limits::MAX_CARD_RETENTION_DAYS).contains(d))
        .ok_or_else(|| UsageError::new("--keep-days must be a number of days from 1 to 3650"))?;
    // Typed on one command line: `\n` is how a person asks for a new line.
    let rules = args.rules.unwrap_or_default().replace("\\n", "\n");
    let request = Request::PublishCard {
        channel,
        age,
        retention_days,
        moderators: args.moderators,
        rules,
    };
    let reply = control::request(config, request).await?.0;
    let Reply::CardPublished { card, peers } = reply else {
        bail!("unexpected answer from the node: {reply:?}");
    };
    if json {
        return print_json(&serde_json::json!({ "card": card, "peers": peers }));
    }
    if let Some(card) = &card {
        card_lines(card).into_iter().try_for_each(print)?;
    }
    print(format!(
        "published to {peers} peers; your node announces it again when someone joins the channel"
    ))
}

/// A card as lines for a terminal.
pub(crate) fn card_lines(card: &CardJson) -> Vec<String> {
    let trust = match card.trust.as_str() {
        "followed" => "signed by a moderator you follow",
        "own" => "signed by your own moderator key",
        _ => "the first card seen for this channel; no moderator you follow confirmed it",
    };
    let mut lines = vec![
        format!("#{} channel card ({} channel)", card.channel, card.age),
        format!("founded by {} ({trust})", card.founder_name),
        format!("key: {}", card.founder_key),
        format!("posts are kept {} days", card.retention_days),
    ];
    if !card.moderators.is_empty() {
        lines.push(format!("{} other moderators:", card.moderators.len()));
        lines.extend(card.moderators.iter().map(|k| format!("  {} {k}", name(k))));
    }
    if !card.rules.is_empty() {
        lines.push("rules:".to_owned());
        lines.extend(card.rules.lines().map(|l| format!("  {l}")));
    }
    lines
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
