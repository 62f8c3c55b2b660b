//! `hearth crisis`: the crisis card on the command line, and the signed
//! updates of its lines from keys the person trusts.
//!
//! For the card no node starts and nothing touches the network. A wrong
//! setting, a broken config file or a broken `crisis-lines.toml` gives a
//! warning (standard error, or `warnings` in the JSON), never an error:
//! the card always shows, and the command exits with 0.
//!
//! The update subcommands ([`act`]) talk to the node like `moderator`
//! does (the running one's control socket, or the store directly).

use anyhow::bail;

use crate::args::{CrisisCommand, Given, GlobalArgs, SettingArgs};
use crate::care::card::{Card, CountryChoice};
use crate::care::country::{Country, from_process_locale};
use crate::care::directory::Directory;
use crate::care::updates::{self, Review, UpdateJson};
use crate::commands::{print, print_json};
use crate::config::{Config, platform_data_dir};
use crate::control::{self, Reply, Request};
use crate::error::UsageError;

/// Prints the card: text lines, or one JSON object with `--json`.
pub(crate) fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let mut warnings = Vec::new();
    let (data_dir, choice) = match Config::load(global, SettingArgs::default()) {
        Ok(config) => (
            Some(config.data_dir.clone()),
            crate::care::country_choice(&config),
        ),
        Err(e) => {
            warnings.push(format!("{e}; the card below leaves that setting out"));
            let data_dir = global.data_dir.clone().or_else(platform_data_dir);
            (data_dir, choice_without_config(global))
        }
    };
    let directory = match &data_dir {
        Some(dir) => {
            let (directory, warning) = Directory::load(dir);
            warnings.extend(warning);
            directory
        }
        None => Directory::built_in().clone(),
    };
    let mut card = Card::build(&directory, &choice, crate::care::today());
    if global.json {
        card.warnings = warnings;
        return print_json(&card);
    }
    for warning in &warnings {
        eprintln!("hearth: warning: {warning}");
    }
    card.text().into_iter().try_for_each(print)
}

/// The country when the configuration cannot be loaded: the flag or
/// variable if it is a valid code, else the locale's.
fn choice_without_config(global: &GlobalArgs) -> CountryChoice {
    let setting = global
        .care
        .country
        .as_deref()
        .and_then(Country::parse)
        .map(|country| {
            let source = match global.given.get("country") {
                Some(Given::Env(name)) => name.clone(),
                _ => "--country".to_owned(),
            };
            (country, source)
        });
    CountryChoice::choose(setting, from_process_locale())
}

/// Runs an update subcommand.
pub(crate) async fn act(action: CrisisCommand, config: Config, json: bool) -> anyhow::Result<()> {
    match action {
        CrisisCommand::Trust { key } | CrisisCommand::Untrust { key }
            if key.trim().parse::<hearth_protocol::PublicKey>().is_err() =>
        {
            Err(UsageError::new(format!("{key:?} is not a key: give its 64 hex digits")).into())
        }
        CrisisCommand::Trust { key } => trust(&config, key, true, json).await,
        CrisisCommand::Untrust { key } => trust(&config, key, false, json).await,
        CrisisCommand::Trusted => {
            if !config.store_dir().exists() {
                return if json { Ok(()) } else { print(NONE_TRUSTED) };
            }
            let Reply::CrisisTrusted { keys } =
                control::request(&config, Request::CrisisTrusted).await?.0
            else {
                bail!("unexpected answer from the node");
            };
            if json {
                return keys.iter().try_for_each(print_json);
            }
            if keys.is_empty() {
                return print(NONE_TRUSTED);
            }
            keys.iter()
                .try_for_each(|k| print(format!("{}  {}", k.name, k.key)))
        }
        CrisisCommand::Updates => {
            let (directory, _) = Directory::load(&config.data_dir);
            let reviews: Vec<Review> = pending(&config)
                .await?
                .into_iter()
                .map(|u| Review::of(u, &directory))
                .collect();
            if json {
                return reviews.iter().try_for_each(print_json);
            }
            if reviews.is_empty() {
                return print("no crisis line updates are waiting");
            }
            reviews.iter().flat_map(Review::lines).try_for_each(print)
        }
        CrisisCommand::Accept { id } => {
            let Some(update) = pending(&config)
                .await?
                .into_iter()
                .find(|u| u.is_named(&id))
            else {
                return Err(UsageError::new(format!(
                    "no waiting update has the id {id:?}; `hearth crisis updates` lists them"
                ))
                .into());
            };
            let file = updates::apply(&config.data_dir, &update)?;
            let request = Request::CrisisAccepted {
                id: update.id.clone(),
            };
            let Reply::CrisisUpdate {
                update: accepted, ..
            } = control::request(&config, request).await?.0
            else {
                bail!("unexpected answer from the node");
            };
            if json {
                return print_json(&serde_json::json!({
                    "accepted": accepted.id,
                    "publisher_key": accepted.publisher_key,
                    "sequence": accepted.sequence,
                    "file": file.display().to_string(),
                }));
            }
            print(format!(
                "accepted update {} from {}: the crisis lines now come from {}",
                accepted.id.get(..8).unwrap_or(&accepted.id),
                accepted.publisher_name,
                file.display()
            ))
        }
        CrisisCommand::Publish { file, note } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| UsageError::new(format!("cannot read {}: {e}", file.display())))?;
            // Never send what a person would be refused.
            Directory::parse(&file, &text).map_err(|e| UsageError::new(e.to_string()))?;
            let request = Request::CrisisPublish {
                note,
                directory: text,
            };
            let Reply::CrisisUpdate { update, peers } = control::request(&config, request).await?.0
            else {
                bail!("unexpected answer from the node");
            };
            if json {
                return print_json(&serde_json::json!({
                    "id": update.id,
                    "sequence": update.sequence,
                    "peers": peers,
                }));
            }
            print(format!(
                "published update {} (sequence {}) to {peers} peers; people who trust {} get it",
                update.id.get(..8).unwrap_or(&update.id),
                update.sequence,
                update.publisher_name
            ))
        }
    }
}

const NONE_TRUSTED: &str =
    "you trust no key for crisis line updates; `hearth crisis trust KEY` adds one";

async fn trust(config: &Config, key: String, on: bool, json: bool) -> anyhow::Result<()> {
    let request = Request::CrisisTrust {
        key: key.clone(),
        on,
    };
    let Reply::CrisisTrust { was } = control::request(config, request).await?.0 else {
        bail!("unexpected answer from the node");
    };
    let name = key
        .trim()
        .parse::<hearth_protocol::PublicKey>()
        .map_or_else(|_| key.clone(), |k| k.name());
    if json {
        let changed = was != on;
        return print_json(&if on {
            serde_json::json!({ "trusted": changed })
        } else {
            serde_json::json!({ "untrusted": changed })
        });
    }
    match (on, was) {
        (true, false) => print(format!(
            "trusting {name} for crisis line updates; each one waits for you to accept it"
        )),
        (true, true) => print(format!("already trusting {name}")),
        (false, true) => print(format!(
            "no longer trusting {name}; what it sent is forgotten"
        )),
        (false, false) => print(format!("you did not trust {name}")),
    }
}

/// The updates held from trusted keys that the person has not accepted.
async fn pending(config: &Config) -> anyhow::Result<Vec<UpdateJson>> {
    if !config.store_dir().exists() {
        return Ok(Vec::new());
    }
    let Reply::CrisisUpdates { updates } =
        control::request(config, Request::CrisisUpdates).await?.0
    else {
        bail!("unexpected answer from the node");
    };
    Ok(updates.into_iter().filter(|u| !u.accepted).collect())
}
