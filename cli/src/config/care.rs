//! The care settings: `country` (for the crisis card),
//! `fold_method_details` and `content_warnings` (what the chat folds),
//! `age_group`, and `crisis_trust` (keys trusted for crisis line updates).
//! Read like the others: the file, then `HEARTH_*` variables, then flags.

use std::collections::BTreeMap;

use super::file::Settings;
use super::layers::{CliLayer, Layers, Origin, layer_origin, typed};
use super::values::parse_bool;
use crate::care::args::CareArgs;
use crate::care::country::Country;
use crate::care::folding::{Choice, Folding, parse_choice_list, parse_choices};
use crate::error::UsageError;

/// The checked care settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CareSettings {
    /// The country for the crisis card, if set (else the locale's).
    pub country: Option<Country>,
    /// What the chat folds, opens or hides.
    pub folding: Folding,
    /// The person's age group, if set: the chat warns before joining a
    /// channel whose card is for the other group.
    pub age_group: Option<hearth_protocol::AgeGroup>,
    /// Keys trusted for crisis-line updates; trusted again at each node
    /// start (`hearth crisis trust` keeps its own in the store).
    pub crisis_trust: Vec<hearth_protocol::PublicKey>,
}

impl CareSettings {
    /// The settings as a layer of `hearth.toml`.
    pub(super) fn fill(&self, settings: &mut Settings) {
        settings.country = self.country.map(|c| c.code().to_owned());
        settings.fold_method_details = Some(self.folding.method_details);
        settings.content_warnings = Some(names(&self.folding.labels));
        settings.age_group = self.age_group.map(|a| a.as_str().to_owned());
        settings.crisis_trust = Some(self.crisis_trust.iter().map(|k| k.to_string()).collect());
    }
}

/// Labels and choices by name, as `hearth.toml` writes them.
fn names(choices: &BTreeMap<hearth_protocol::CwLabel, Choice>) -> BTreeMap<String, String> {
    choices
        .iter()
        .map(|(label, choice)| (label.as_str().to_owned(), choice.as_str().to_owned()))
        .collect()
}

/// Puts what flags and variables gave into the command-line layer, with
/// booleans and the short form of `content_warnings` checked.
pub(super) fn from_args(
    layer: &CliLayer,
    args: &CareArgs,
    settings: &mut Settings,
) -> Result<(), UsageError> {
    settings.country = args.country.clone();
    settings.age_group = args.age_group.clone();
    settings.crisis_trust = args.crisis_trust.as_ref().map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect()
    });
    settings.fold_method_details = typed(
        layer,
        "fold_method_details",
        &args.fold_method_details,
        parse_bool,
    )?;
    settings.content_warnings = match &args.content_warnings {
        None => None,
        Some(list) => {
            let origin = layer_origin(layer, "content_warnings");
            let parsed = parse_choice_list(list).map_err(|e| {
                UsageError::new(format!(
                    "invalid {}: {e}",
                    origin.given("content_warnings", list)
                ))
            })?;
            Some(names(&parsed))
        }
    };
    Ok(())
}

/// Checks the winning value of each care setting and records where it came
/// from.
pub(super) fn resolve(
    layers: &Layers,
    origins: &mut BTreeMap<&'static str, Origin>,
) -> Result<CareSettings, UsageError> {
    let (country, o) = layers
        .pick("country", |s| s.country.clone())
        .unwrap_or((String::new(), Origin::Default));
    // Empty means "from the locale", as an empty nickname means none.
    let country = match country.trim() {
        "" => None,
        code => Some(Country::parse(code).ok_or_else(|| {
            UsageError::new(format!(
                "invalid country {country:?} in {}: use an ISO 3166-1 alpha-2 code like GB, FR \
                 or BR, or leave it empty to take the country of your locale",
                o.describe("country")
            ))
        })?),
    };
    origins.insert("country", o);

    let (method_details, o) = layers
        .pick("fold_method_details", |s| s.fold_method_details)
        .unwrap_or((true, Origin::Default));
    origins.insert("fold_method_details", o);

    let (labels, o) = layers
        .pick("content_warnings", |s| s.content_warnings.clone())
        .unwrap_or_default_origin();
    let labels = parse_choices(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| UsageError::new(format!("invalid {}: {e}", o.describe("content_warnings"))))?;
    origins.insert("content_warnings", o);

    let (age_group, o) = layers
        .pick("age_group", |s| s.age_group.clone())
        .unwrap_or((String::new(), Origin::Default));
    let age_group = match age_group.trim() {
        "" => None,
        typed => Some(hearth_protocol::AgeGroup::parse(typed).ok_or_else(|| {
            UsageError::new(format!(
                "invalid age group {age_group:?} in {}: use \"adult\" or \"teen\", or leave it \
                 empty for no warning",
                o.describe("age_group")
            ))
        })?),
    };
    origins.insert("age_group", o);

    let (keys, o) = layers
        .pick("crisis_trust", |s| s.crisis_trust.clone())
        .unwrap_or_default_origin();
    let crisis_trust = keys
        .iter()
        .map(|key| {
            key.trim().parse().map_err(|_| {
                UsageError::new(format!(
                    "invalid key {key:?} in {}: give the 64 hex digits of a key you trust \
                     for crisis line updates",
                    o.describe("crisis_trust")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    origins.insert("crisis_trust", o);

    Ok(CareSettings {
        age_group,
        crisis_trust,
        country,
        folding: Folding {
            method_details,
            labels,
        },
    })
}

/// A picked value, or the default with its origin.
trait OrDefault<T> {
    fn unwrap_or_default_origin(self) -> (T, Origin);
}

impl<T: Default> OrDefault<T> for Option<(T, Origin)> {
    fn unwrap_or_default_origin(self) -> (T, Origin) {
        self.unwrap_or_else(|| (T::default(), Origin::Default))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use hearth_protocol::CwLabel;

    use super::*;
    use crate::args::{Cli, Given};
    use crate::config::Config;

    /// Resolves `argv` (after `hearth`), with the variables in `env` given
    /// as flags marked as coming from them, and a config file's text.
    fn resolve(
        argv: &[&str],
        env: &[(&str, &str, &str)],
        file: Option<&str>,
    ) -> Result<Config, UsageError> {
        let mut args: Vec<String> = std::iter::once("hearth")
            .chain(argv.iter().copied())
            .map(str::to_owned)
            .collect();
        for (flag, value, _) in env {
            args.push(format!("{flag}={value}"));
        }
        let mut cli = Cli::parse_from_args(&args).unwrap();
        for (flag, _, name) in env {
            let id = flag.trim_start_matches("--").replace('-', "_");
            cli.global.given.insert(id, Given::Env((*name).to_owned()));
        }
        let file = file.map(|text| {
            let path = PathBuf::from("/etc/hearth.toml");
            let settings = Settings::from_toml(Path::new(&path), text).unwrap();
            (path, settings)
        });
        let layer = CliLayer::from_args(&cli.global, crate::args::SettingArgs::default())?;
        let layers = Layers {
            file,
            rust_log: None,
            cli: layer,
        };
        layers.resolve(Some(PathBuf::from("/home/sam/.local/share/hearth")))
    }

    #[test]
    fn care_settings_default_to_folding_and_no_country() {
        let config = resolve(&["status"], &[], None).unwrap();
        assert_eq!(config.care, CareSettings::default());
        assert!(config.care.folding.method_details);
        assert_eq!(config.origin("country"), Some(&Origin::Default));
    }

    #[test]
    fn file_then_variable_then_flag() {
        let file = "country = \"fr\"\nfold_method_details = false\n\
                    content_warnings = { death = \"open\", violence = \"hide\" }\n";
        let config = resolve(&["status"], &[], Some(file)).unwrap();
        assert_eq!(config.care.country, Country::parse("FR"));
        assert!(!config.care.folding.method_details);
        assert_eq!(config.care.folding.choice(CwLabel::Death), Choice::Open);
        assert_eq!(config.care.folding.choice(CwLabel::Violence), Choice::Hide);
        assert_eq!(config.care.folding.choice(CwLabel::Abuse), Choice::Fold);
        assert_eq!(
            config.origin("country"),
            Some(&Origin::File(PathBuf::from("/etc/hearth.toml")))
        );

        let env = [
            ("--country", "gb", "HEARTH_COUNTRY"),
            (
                "--content-warnings",
                "death=hide",
                "HEARTH_CONTENT_WARNINGS",
            ),
        ];
        let config = resolve(&["status"], &env, Some(file)).unwrap();
        assert_eq!(config.care.country, Country::parse("GB"));
        assert_eq!(config.care.folding.choice(CwLabel::Death), Choice::Hide);
        assert_eq!(config.care.folding.choice(CwLabel::Violence), Choice::Fold);
        assert_eq!(
            config.origin("country"),
            Some(&Origin::Env("HEARTH_COUNTRY".into()))
        );

        let config = resolve(
            &["crisis", "--country", "NZ", "--fold-method-details"],
            &[],
            Some(file),
        )
        .unwrap();
        assert_eq!(config.care.country, Country::parse("NZ"));
        assert!(config.care.folding.method_details);
        assert_eq!(
            config.origin("country"),
            Some(&Origin::Flag("--country".into()))
        );
        // An empty value means "from the locale".
        let config = resolve(&["status", "--country", ""], &[], Some(file)).unwrap();
        assert_eq!(config.care.country, None);
    }

    #[test]
    fn wrong_values_say_what_and_where() {
        let e = resolve(&["status", "--country", "Narnia"], &[], None).unwrap_err();
        assert!(
            e.0.contains("invalid country \"Narnia\" in --country"),
            "{e}"
        );
        let e = resolve(&["status"], &[], Some("country = \"XX\"\n")).unwrap_err();
        assert!(e.0.contains("`country` in /etc/hearth.toml"), "{e}");
        let env = [(
            "--content-warnings",
            "grief=open",
            "HEARTH_CONTENT_WARNINGS",
        )];
        let e = resolve(&["status"], &env, None).unwrap_err();
        assert!(
            e.0.starts_with("invalid HEARTH_CONTENT_WARNINGS=\"grief=open\""),
            "{e}"
        );
        let e = resolve(
            &["status"],
            &[],
            Some("content_warnings = { death = \"nope\" }\n"),
        )
        .unwrap_err();
        assert!(
            e.0.contains("`content_warnings` in /etc/hearth.toml"),
            "{e}"
        );
        assert!(e.0.contains("fold, open or hide"), "{e}");
        let env = [(
            "--fold-method-details",
            "perhaps",
            "HEARTH_FOLD_METHOD_DETAILS",
        )];
        let e = resolve(&["status"], &env, None).unwrap_err();
        assert!(
            e.0.contains("HEARTH_FOLD_METHOD_DETAILS=\"perhaps\""),
            "{e}"
        );
    }

    #[test]
    fn crisis_trust_comes_from_the_file_variable_or_flag_and_bad_keys_say_where() {
        let key = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
        let config = resolve(&["status"], &[], None).unwrap();
        assert!(config.care.crisis_trust.is_empty(), "off by default");
        let file = format!("crisis_trust = [\"{key}\"]\n");
        let config = resolve(&["status"], &[], Some(&file)).unwrap();
        assert_eq!(config.care.crisis_trust.len(), 1);
        assert_eq!(config.care.crisis_trust[0].to_string(), key);
        let env = [("--crisis-trust", key, "HEARTH_CRISIS_TRUST")];
        let config = resolve(&["status"], &env, None).unwrap();
        assert_eq!(config.care.crisis_trust[0].to_string(), key);
        let e = resolve(&["status", "--crisis-trust", "nope"], &[], None).unwrap_err();
        assert!(
            e.0.contains("invalid key \"nope\" in --crisis-trust"),
            "{e}"
        );
    }

    #[test]
    fn config_show_writes_them_back() {
        let file = "country = \"GB\"\ncontent_warnings = { death = \"open\" }\n";
        let config = resolve(&["config", "show"], &[], Some(file)).unwrap();
        let text = config.to_toml();
        assert!(
            text.contains("country = \"GB\"  # from /etc/hearth.toml"),
            "{text}"
        );
        assert!(
            text.contains("fold_method_details = true  # default"),
            "{text}"
        );
        assert!(
            text.contains("content_warnings = { death = \"open\" }  # from /etc/hearth.toml"),
            "{text}"
        );
        let again = Settings::from_toml(Path::new("/x"), &text).unwrap();
        assert_eq!(again, config.to_settings());
    }
}
