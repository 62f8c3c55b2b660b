//! The crisis card: the emergency numbers and crisis lines of the person's
//! country, services that work anywhere, and how to change the country.
//!
//! A card is built from the directory, the country choice and today's date
//! (given, so the card is the same in tests whatever the clock says), and is
//! shown as text lines (the chat, `hearth crisis`) or as one JSON object
//! (`hearth crisis --json`, documented in docs/cli.md).

use jiff::civil::Date;
use serde::Serialize;

use super::country::{Country, LocaleCountry};
use super::directory::{Checked, Directory, How, describe_reach};

/// Where the country on the card came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountryFrom {
    /// A setting, as its source is named: `--country`, `HEARTH_COUNTRY`,
    /// `` `country` in /home/sam/.local/share/hearth/hearth.toml ``.
    Setting(String),
    /// The locale: the variable and its value.
    Locale {
        /// `LANG`, `LC_MESSAGES` or `LC_ALL`.
        variable: &'static str,
        /// Its value, like `en_GB.UTF-8`.
        value: String,
    },
    /// Asked for in the chat (`/crisis FR`).
    Asked,
    /// Nothing names a country.
    Unknown,
}

/// The country a card is for, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryChoice {
    /// The country, if one is known.
    pub country: Option<Country>,
    /// Where it came from.
    pub from: CountryFrom,
}

impl CountryChoice {
    /// The configured country (with where it was set) if there is one,
    /// else the locale's.
    pub fn choose(setting: Option<(Country, String)>, locale: Option<LocaleCountry>) -> Self {
        match (setting, locale) {
            (Some((country, source)), _) => Self {
                country: Some(country),
                from: CountryFrom::Setting(source),
            },
            (None, Some(found)) => Self {
                country: Some(found.country),
                from: CountryFrom::Locale {
                    variable: found.variable,
                    value: found.value,
                },
            },
            (None, None) => Self {
                country: None,
                from: CountryFrom::Unknown,
            },
        }
    }

    /// A country asked for by name in the chat.
    pub fn asked(country: Country) -> Self {
        Self {
            country: Some(country),
            from: CountryFrom::Asked,
        }
    }
}

/// An emergency number on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CardNumber {
    /// The number.
    pub number: String,
    /// Where it was confirmed.
    pub source: String,
    /// When, `YYYY-MM-DD`.
    pub checked: String,
    /// Checked more than 12 months ago.
    pub stale: bool,
}

/// One way to reach a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CardReach {
    /// `call`, `text`, `chat` or `web`.
    pub how: How,
    /// The number or address.
    pub to: String,
    /// The word to text, if any.
    pub message: Option<String>,
}

/// A crisis line on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CardLine {
    /// Its name.
    pub service: String,
    /// How to reach it.
    pub reach: Vec<CardReach>,
    /// When it answers.
    pub hours: String,
    /// Languages (ISO 639-1).
    pub languages: Vec<String>,
    /// Where it was confirmed.
    pub source: String,
    /// When, `YYYY-MM-DD`.
    pub checked: String,
    /// Checked more than 12 months ago.
    pub stale: bool,
}

/// A service for anyone, anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CardInternational {
    /// Its name.
    pub service: String,
    /// Its address.
    pub address: String,
    /// Where it was confirmed.
    pub source: String,
    /// When, `YYYY-MM-DD`.
    pub checked: String,
    /// Checked more than 12 months ago.
    pub stale: bool,
}

/// The crisis card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Card {
    /// The country code, if one is known.
    pub country: Option<String>,
    /// Its name.
    pub country_name: Option<String>,
    /// Where the country came from: `--country`, `HEARTH_COUNTRY`, a file,
    /// `LANG=en_GB.UTF-8`, `asked` or `none`.
    pub country_from: String,
    /// Emergency numbers.
    pub emergency: Vec<CardNumber>,
    /// Crisis lines of the country.
    pub lines: Vec<CardLine>,
    /// Services for anyone, anywhere.
    pub international: Vec<CardInternational>,
    /// How to change the country, in words.
    pub change: String,
    /// Problems with the settings or the directory file, in words.
    pub warnings: Vec<String>,
}

fn checked_fields(checked: &Checked, today: Date) -> (String, String, bool) {
    (
        checked.source.clone(),
        checked.on.to_string(),
        checked.is_stale(today),
    )
}

impl Card {
    /// The card for `choice` from `directory`, as of `today`.
    pub(crate) fn build(directory: &Directory, choice: &CountryChoice, today: Date) -> Card {
        let mut card = Card {
            country: choice.country.map(|c| c.code().to_owned()),
            country_name: choice.country.map(|c| c.name().to_owned()),
            country_from: match &choice.from {
                CountryFrom::Setting(source) => source.clone(),
                CountryFrom::Locale { variable, value } => format!("{variable}={value}"),
                CountryFrom::Asked => "asked".to_owned(),
                CountryFrom::Unknown => "none".to_owned(),
            },
            emergency: Vec::new(),
            lines: Vec::new(),
            international: directory
                .international
                .iter()
                .map(|i| {
                    let (source, checked, stale) = checked_fields(&i.checked, today);
                    CardInternational {
                        service: i.service.clone(),
                        address: i.address.clone(),
                        source,
                        checked,
                        stale,
                    }
                })
                .collect(),
            change: change_hint(choice),
            warnings: Vec::new(),
        };
        if let Some(country) = choice.country {
            for (number, entry) in directory.emergency_for(country) {
                let (source, checked, stale) = checked_fields(&entry.checked, today);
                card.emergency.push(CardNumber {
                    number: number.to_owned(),
                    source,
                    checked,
                    stale,
                });
            }
            for line in directory.lines_for(country) {
                let (source, checked, stale) = checked_fields(&line.checked, today);
                card.lines.push(CardLine {
                    service: line.service.clone(),
                    reach: line
                        .reach
                        .iter()
                        .map(|r| CardReach {
                            how: r.how,
                            to: r.to.clone(),
                            message: r.message.clone(),
                        })
                        .collect(),
                    hours: line.hours.clone(),
                    languages: line.languages.clone(),
                    source,
                    checked,
                    stale,
                });
            }
        }
        card
    }

    /// The card as lines of text, most urgent first.
    pub(crate) fn text(&self) -> Vec<String> {
        let mut out = Vec::new();
        let country = match (&self.country, &self.country_name) {
            (Some(code), Some(name)) => Some(format!("{name} ({code})")),
            _ => None,
        };
        out.push(match &country {
            Some(country) => format!("Crisis lines for {country}"),
            None => "Crisis lines (hearth doesn't know your country)".to_owned(),
        });
        if self.emergency.is_empty() {
            out.push("In danger right now? Call your local emergency number.".to_owned());
        } else {
            let numbers: Vec<&str> = self.emergency.iter().map(|n| n.number.as_str()).collect();
            let mut line = format!("In danger right now? Call {}.", numbers.join(" or "));
            if let Some(old) = self.emergency.iter().find(|n| n.stale) {
                line.push_str(&stale_note(&old.checked));
            }
            out.push(line);
        }
        for l in &self.lines {
            let reach: Vec<String> = l
                .reach
                .iter()
                .map(|r| describe_reach(r.how, &r.to, r.message.as_deref()))
                .collect();
            let mut line = format!(
                "  {}: {} · {} · {}",
                l.service,
                reach.join(", "),
                l.hours,
                l.languages.join(", ")
            );
            if l.stale {
                line.push_str(&stale_note(&l.checked));
            }
            out.push(line);
        }
        if self.lines.is_empty()
            && let Some(country) = &country
        {
            out.push(format!(
                "  hearth has no confirmed crisis line for {country} yet; these can find one:"
            ));
        }
        let anywhere: Vec<String> = self
            .international
            .iter()
            .map(|i| {
                let stale = if i.stale {
                    stale_note(&i.checked)
                } else {
                    String::new()
                };
                format!("{} {}{stale}", i.service, i.address)
            })
            .collect();
        if !anywhere.is_empty() {
            out.push(format!("Anywhere: {}", anywhere.join(" · ")));
        }
        out.push(self.change.clone());
        out.extend(self.warnings.iter().map(|w| format!("Note: {w}")));
        out
    }
}

fn stale_note(checked: &str) -> String {
    format!(" (last checked on {checked}, may have changed)")
}

/// How to change the country, with an example code other than the current
/// one.
fn change_hint(choice: &CountryChoice) -> String {
    let example = match choice.country.map(|c| c.code().to_owned()).as_deref() {
        Some("GB") => "IE",
        _ => "GB",
    };
    let how = format!(
        "country = \"{example}\" in hearth.toml, HEARTH_COUNTRY={example} or --country {example}"
    );
    let code = choice
        .country
        .map(|c| c.code().to_owned())
        .unwrap_or_default();
    match &choice.from {
        CountryFrom::Setting(source) => {
            format!("Country {code} is set by {source}. To change it: {how}.")
        }
        CountryFrom::Locale { variable, value } => format!(
            "Country {code} comes from your locale ({variable}={value}). To change it: {how}."
        ),
        CountryFrom::Asked => {
            format!("This is the card for {code}. To make a country yours for good: {how}.")
        }
        CountryFrom::Unknown => format!(
            "To see the lines of your country, set it: {how} (any ISO 3166 code). hearth \
             never guesses it from your network."
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::care::country::from_locale;

    fn today() -> Date {
        "2026-12-01".parse().unwrap()
    }

    fn locale(value: &str) -> Option<LocaleCountry> {
        Some(LocaleCountry {
            country: from_locale(value)?,
            variable: "LANG",
            value: value.to_owned(),
        })
    }

    #[test]
    fn the_card_for_a_locale_country_lists_emergency_lines_and_the_fallback() {
        let choice = CountryChoice::choose(None, locale("en_GB.UTF-8"));
        let card = Card::build(Directory::built_in(), &choice, today());
        let text = card.text().join("\n");
        for part in [
            "Crisis lines for United Kingdom (GB)",
            "In danger right now? Call 999.",
            "Samaritans: call 116 123 · 24 hours, every day · en",
            "Shout: text SHOUT to 85258",
            "Anywhere: Befrienders Worldwide https://befrienders.org · Find A Helpline \
             https://findahelpline.com",
            "Country GB comes from your locale (LANG=en_GB.UTF-8)",
            "HEARTH_COUNTRY=IE or --country IE",
        ] {
            assert!(text.contains(part), "{part:?} not in:\n{text}");
        }
        assert!(!text.contains("may have changed"), "{text}");
        assert_eq!(card.country_from, "LANG=en_GB.UTF-8");
    }

    #[test]
    fn a_setting_beats_the_locale_and_says_where_it_was_set() {
        let fr = Country::parse("FR").unwrap();
        let choice =
            CountryChoice::choose(Some((fr, "HEARTH_COUNTRY".into())), locale("en_GB.UTF-8"));
        let card = Card::build(Directory::built_in(), &choice, today());
        let text = card.text().join("\n");
        assert!(text.contains("Crisis lines for France (FR)"), "{text}");
        assert!(text.contains("Call 112."), "{text}");
        assert!(text.contains("3114"), "{text}");
        assert!(
            text.contains("Country FR is set by HEARTH_COUNTRY"),
            "{text}"
        );
    }

    #[test]
    fn no_country_still_gives_emergency_advice_and_the_fallback() {
        let choice = CountryChoice::choose(None, None);
        let card = Card::build(Directory::built_in(), &choice, today());
        assert!(card.emergency.is_empty() && card.lines.is_empty());
        let text = card.text().join("\n");
        assert!(text.contains("Call your local emergency number"), "{text}");
        assert!(text.contains("Befrienders Worldwide"), "{text}");
        assert!(
            text.contains("never guesses it from your network"),
            "{text}"
        );
        assert_eq!(card.country_from, "none");
    }

    #[test]
    fn a_country_without_lines_says_so_and_stale_entries_say_when_they_were_checked() {
        let es = CountryChoice::asked(Country::parse("ES").unwrap());
        let text = Card::build(Directory::built_in(), &es, today())
            .text()
            .join("\n");
        assert!(
            text.contains("no confirmed crisis line for Spain (ES) yet"),
            "{text}"
        );
        assert!(text.contains("Call 112."), "{text}");

        let file = r#"
[[line]]
country = "GB"
service = "Old line"
reach = [{ how = "call", to = "0800 1" }]
hours = "mornings"
languages = ["en"]
source = "https://example.org"
checked = "2025-06-01"

[[emergency]]
countries = ["GB"]
numbers = ["999"]
source = "https://example.org"
checked = "2026-06-01"
"#;
        let directory = Directory::parse(Path::new("x.toml"), file).unwrap();
        let gb = CountryChoice::asked(Country::parse("GB").unwrap());
        let card = Card::build(&directory, &gb, today());
        assert!(card.lines[0].stale && !card.emergency[0].stale);
        let text = card.text().join("\n");
        assert!(
            text.contains("Old line: call 0800 1 · mornings · en (last checked on 2025-06-01, may have changed)"),
            "{text}"
        );
        assert!(text.contains("Call 999.\n"), "{text}");
    }

    #[test]
    fn the_json_card_has_every_field() {
        let choice = CountryChoice::choose(None, locale("en_US.UTF-8"));
        let card = Card::build(Directory::built_in(), &choice, today());
        let json = serde_json::to_value(&card).unwrap();
        assert_eq!(json["country"], "US");
        assert_eq!(json["country_name"], "United States");
        assert_eq!(json["emergency"][0]["number"], "911");
        assert_eq!(json["lines"][0]["reach"][0]["how"], "call");
        assert_eq!(json["lines"][0]["reach"][0]["to"], "988");
        assert_eq!(json["lines"][1]["reach"][0]["message"], "HOME");
        assert_eq!(json["lines"][0]["checked"], "2026-12-01");
        assert_eq!(json["lines"][0]["stale"], false);
        assert!(json["international"][0]["address"].is_string());
        assert!(json["warnings"].as_array().unwrap().is_empty());
    }
}
