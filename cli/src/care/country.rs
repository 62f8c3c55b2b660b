//! Countries: ISO 3166-1 alpha-2 codes, their names, and the country a
//! locale names (`en_GB.UTF-8` → GB).
//!
//! The country on the crisis card comes from the configuration, else from
//! the locale; never from an IP address or anything else that would need the
//! network or reveal where someone is.

use std::fmt;
use std::sync::OnceLock;

/// The ISO 3166-1 alpha-2 codes and short English names, one per line.
const ISO_3166_1: &str = include_str!("../../data/iso3166-1.txt");

/// The locale variables that may name a country, in the order they are
/// read.
pub(crate) const LOCALE_VARIABLES: [&str; 3] = ["LC_ALL", "LC_MESSAGES", "LANG"];

/// A country: an officially assigned ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// The country a code names: two letters in either case, officially
    /// assigned. `UK` is taken as `GB`, since people write it so.
    pub fn parse(code: &str) -> Option<Country> {
        let code = code.trim();
        let upper = code.to_ascii_uppercase();
        let upper = if upper == "UK" {
            "GB".to_owned()
        } else {
            upper
        };
        let bytes: [u8; 2] = upper.as_bytes().try_into().ok()?;
        let country = Country(bytes);
        table()
            .iter()
            .any(|(c, _)| *c == country)
            .then_some(country)
    }

    /// The two-letter code, like `GB`.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The short English name, like `United Kingdom`.
    pub fn name(&self) -> &'static str {
        table()
            .iter()
            .find(|(c, _)| c == self)
            .map_or("", |(_, name)| name)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Every assigned code with its name, read once from the data file.
fn table() -> &'static [(Country, &'static str)] {
    static TABLE: OnceLock<Vec<(Country, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ISO_3166_1
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (code, name) = l.split_once(' ')?;
                let bytes: [u8; 2] = code.as_bytes().try_into().ok()?;
                Some((Country(bytes), name.trim()))
            })
            .collect()
    })
}

/// The number of codes known, for tests.
#[cfg(test)]
pub(crate) fn known() -> usize {
    table().len()
}

/// The country a locale such as `en_GB.UTF-8` or `pt_BR@euro` names, if it
/// names one: the part after `_`, before any `.` or `@`. `C`, `POSIX` and
/// locales without a territory name none.
pub(crate) fn from_locale(locale: &str) -> Option<Country> {
    let base = locale.split(['.', '@']).next()?;
    let (_, territory) = base.split_once('_')?;
    if territory.len() != 2 || !territory.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Country::parse(territory)
}

/// Where a country came from in the locale: the variable and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocaleCountry {
    /// The country.
    pub country: Country,
    /// The variable that named it (`LANG`).
    pub variable: &'static str,
    /// Its value (`en_GB.UTF-8`).
    pub value: String,
}

/// The country of the first of `LC_ALL`, `LC_MESSAGES` and `LANG` (as
/// `get` reads them) that names one. A variable set to a locale without a
/// country (such as `C.UTF-8`, common in scripts and containers) is
/// skipped rather than hiding the next one.
pub(crate) fn from_environment(get: impl Fn(&str) -> Option<String>) -> Option<LocaleCountry> {
    LOCALE_VARIABLES.iter().find_map(|variable| {
        let value = get(variable)?;
        let country = from_locale(&value)?;
        Some(LocaleCountry {
            country,
            variable,
            value,
        })
    })
}

/// [`from_environment`] with this process's environment.
pub(crate) fn from_process_locale() -> Option<LocaleCountry> {
    from_environment(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_against_the_iso_list() {
        assert_eq!(known(), 249);
        let gb = Country::parse("gb").unwrap();
        assert_eq!(gb.code(), "GB");
        assert_eq!(gb.name(), "United Kingdom");
        assert_eq!(Country::parse(" UK "), Some(gb));
        assert_eq!(Country::parse("BR").unwrap().name(), "Brazil");
        for bad in ["", "G", "GBR", "XX", "ZZ", "E1", "éé", "EU"] {
            assert_eq!(Country::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_locale_names_its_territory() {
        let code = |l: &str| from_locale(l).map(|c| c.code().to_owned());
        assert_eq!(code("en_GB.UTF-8").as_deref(), Some("GB"));
        assert_eq!(code("pt_BR").as_deref(), Some("BR"));
        assert_eq!(code("de_DE@euro").as_deref(), Some("DE"));
        assert_eq!(code("fr_CA.ISO-8859-1").as_deref(), Some("CA"));
        assert_eq!(code("es_es.utf8").as_deref(), Some("ES"));
        for none in ["C", "POSIX", "C.UTF-8", "en", "en_", "en_XX.UTF-8", "", "_"] {
            assert_eq!(code(none), None, "{none}");
        }
    }

    #[test]
    fn lc_all_then_lc_messages_then_lang_and_territoryless_ones_are_skipped() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let found = from_environment(env(&[
            ("LANG", "en_US.UTF-8"),
            ("LC_MESSAGES", "fr_FR.UTF-8"),
            ("LC_ALL", "en_GB.UTF-8"),
        ]))
        .unwrap();
        assert_eq!(found.country.code(), "GB");
        assert_eq!(found.variable, "LC_ALL");
        let found =
            from_environment(env(&[("LANG", "en_NZ.UTF-8"), ("LC_ALL", "C.UTF-8")])).unwrap();
        assert_eq!((found.country.code(), found.variable), ("NZ", "LANG"));
        assert_eq!(found.value, "en_NZ.UTF-8");
        assert_eq!(from_environment(env(&[("LANG", "C")])), None);
        assert_eq!(from_environment(env(&[])), None);
    }
}
