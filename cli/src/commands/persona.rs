//! `hearth persona list|show|rotate`.

use anyhow::bail;

use crate::args::PersonaCommand;
use crate::commands::{print, print_json, table};
use crate::config::{Config, parse_channel};
use crate::control::{self, Reply, Request};
use crate::json::PersonaJson;
use crate::time;

/// Runs a persona command.
pub(crate) async fn run(command: PersonaCommand, config: Config, json: bool) -> anyhow::Result<()> {
    match command {
        PersonaCommand::List => {
            let (reply, _) = control::request(&config, Request::Personas).await?;
            let Reply::Personas { personas } = reply else {
                bail!("unexpected answer from the node: {reply:?}");
            };
            if json {
                return personas.iter().try_for_each(print_json);
            }
            if personas.is_empty() {
                return print("no personas yet; `hearth chat CHANNEL` creates one for the channel");
            }
            let rows: Vec<Vec<String>> = personas.iter().map(row).collect();
            table(&rows).into_iter().try_for_each(print)
        }
        PersonaCommand::Show { channel } => {
            let channel = parse_channel(&channel)?.to_string();
            let persona = one(control::request(&config, Request::Persona { channel })
                .await?
                .0)?;
            if json {
                return print_json(&persona);
            }
            describe(&persona)
        }
        PersonaCommand::Rotate { channel } => {
            let channel = parse_channel(&channel)?.to_string();
            let request = Request::RotatePersona { channel };
            let persona = one(control::request(&config, request).await?.0)?;
            if json {
                return print_json(&persona);
            }
            print(format!(
                "#{}: you are now {}; the old persona is gone and nothing links the two",
                persona.channel, persona.name
            ))?;
            print(format!("key: {}", persona.key))
        }
    }
}

fn one(reply: Reply) -> anyhow::Result<PersonaJson> {
    match reply {
        Reply::Persona { persona } => Ok(persona),
        other => bail!("unexpected answer from the node: {other:?}"),
    }
}

fn row(p: &PersonaJson) -> Vec<String> {
    vec![
        format!("#{}", p.channel),
        p.name.clone(),
        format!("since {}", time::date_time(p.created_ms)),
        p.key.clone(),
    ]
}

fn describe(p: &PersonaJson) -> anyhow::Result<()> {
    print(format!("channel: #{}", p.channel))?;
    print(format!("name:    {}", p.name))?;
    print(format!("key:     {}", p.key))?;
    print(format!("since:   {}", time::date_time(p.created_ms)))
}
