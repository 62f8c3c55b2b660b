//! `hearth crisis`: the crisis card on the command line.
//!
//! No node starts and nothing touches the network. A wrong setting, a
//! broken config file or a broken `crisis-lines.toml` gives a warning
//! (standard error, or `warnings` in the JSON), never an error: the card
//! always shows, and the command exits with 0.

use crate::args::{Given, GlobalArgs, SettingArgs};
use crate::care::card::{Card, CountryChoice};
use crate::care::country::{Country, from_process_locale};
use crate::care::directory::Directory;
use crate::commands::{print, print_json};
use crate::config::{Config, platform_data_dir};

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
