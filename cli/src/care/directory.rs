//! The directory of crisis lines and emergency numbers: the TOML file
//! compiled into hearth (`cli/data/crisis-lines.toml`), or the person's own
//! `crisis-lines.toml` in the data directory.
//!
//! The person's file may be wrong, old or hostile: it is capped, every
//! entry is checked, and any problem gives a warning naming the file and the
//! line while the built-in directory is used. A crisis card must never fail
//! to show.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;

use super::country::Country;

/// The directory shipped with hearth.
pub(crate) const BUILT_IN: &str = include_str!("../../data/crisis-lines.toml");

/// The name of the directory file in the data directory.
pub(crate) const FILE_NAME: &str = "crisis-lines.toml";

/// Largest directory file read; the built-in one is a few KiB.
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Most entries of each kind in one file.
const MAX_ENTRIES: usize = 5000;

/// Longest service name, hours, number or address, in bytes.
const MAX_FIELD_BYTES: usize = 200;

/// Longest source address, in bytes.
const MAX_SOURCE_BYTES: usize = 500;

/// How long an entry is trusted after it was checked.
const FRESH_MONTHS: i32 = 12;

/// How a line is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// A phone call to a number.
    Call,
    /// A text message (SMS) to a number.
    Text,
    /// A chat on a web page.
    Chat,
    /// A web page.
    Web,
}

/// One way to reach a line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reach {
    /// Call, text, chat or web.
    pub how: How,
    /// The number or address.
    pub to: String,
    /// A word to send in a text, like `SHOUT`.
    #[serde(default)]
    pub message: Option<String>,
}

impl Reach {
    /// In words: `call 116 123`, `text SHOUT to 85258`, `chat at https://…`.
    pub fn describe(&self) -> String {
        describe_reach(self.how, &self.to, self.message.as_deref())
    }
}

/// A way to reach a line in words: `call 116 123`, `text SHOUT to 85258`,
/// `chat at https://…`.
pub(crate) fn describe_reach(how: How, to: &str, message: Option<&str>) -> String {
    match (how, message) {
        (How::Call, _) => format!("call {to}"),
        (How::Text, Some(word)) => format!("text {word} to {to}"),
        (How::Text, None) => format!("text {to}"),
        (How::Chat, _) => format!("chat at {to}"),
        (How::Web, _) => to.to_owned(),
    }
}

/// Where an entry's facts come from and when they were last confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The page the facts were confirmed on.
    pub source: String,
    /// When.
    pub on: Date,
}

impl Checked {
    /// Whether the check is more than 12 months before `today`.
    pub fn is_stale(&self, today: Date) -> bool {
        is_stale(self.on, today)
    }
}

/// Whether a date `checked` is more than 12 months before `today`.
pub(crate) fn is_stale(checked: Date, today: Date) -> bool {
    checked
        .checked_add(FRESH_MONTHS.months())
        .is_ok_and(|fresh_until| fresh_until < today)
}

/// A crisis or support line of one country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The country it serves.
    pub country: Country,
    /// Its name.
    pub service: String,
    /// How to reach it.
    pub reach: Vec<Reach>,
    /// When it answers, in words.
    pub hours: String,
    /// The languages it answers in (ISO 639-1).
    pub languages: Vec<String>,
    /// Where and when this was confirmed.
    pub checked: Checked,
}

/// Emergency numbers of some countries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emergency {
    /// Where they work.
    pub countries: Vec<Country>,
    /// The numbers.
    pub numbers: Vec<String>,
    /// Where and when this was confirmed.
    pub checked: Checked,
}

/// A service for anyone, anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct International {
    /// Its name.
    pub service: String,
    /// Its address.
    pub address: String,
    /// Where and when this was confirmed.
    pub checked: Checked,
}

/// The whole directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Crisis lines.
    pub lines: Vec<Line>,
    /// Emergency numbers.
    pub emergency: Vec<Emergency>,
    /// Services for anyone, shown on every card.
    pub international: Vec<International>,
}

/// A directory file that cannot be used: the file, the line if known, and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryError {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1), if known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for DirectoryError {}

impl Directory {
    /// The directory compiled into hearth.
    pub fn built_in() -> &'static Directory {
        static BUILT: OnceLock<Directory> = OnceLock::new();
        // The built-in file is checked by the tests; should it ever fail,
        // an empty directory still gives a card with the emergency advice.
        BUILT.get_or_init(|| {
            Directory::parse(Path::new("(built-in) crisis-lines.toml"), BUILT_IN)
                .unwrap_or_default()
        })
    }

    /// Parses and checks the text of a directory file.
    pub fn parse(file: &Path, text: &str) -> Result<Directory, DirectoryError> {
        let error = |line: Option<usize>, message: String| DirectoryError {
            file: file.to_path_buf(),
            line,
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start));
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            error(line, message)
        })?;
        if raw.line.len() > MAX_ENTRIES
            || raw.emergency.len() > MAX_ENTRIES
            || raw.international.len() > MAX_ENTRIES
        {
            return Err(error(
                None,
                format!("more than {MAX_ENTRIES} entries of one kind"),
            ));
        }
        let at = |span: std::ops::Range<usize>| Some(line_of(text, span.start));
        let mut directory = Directory::default();
        for entry in raw.line {
            let line = at(entry.span());
            let entry = entry.into_inner();
            directory
                .lines
                .push(entry.check().map_err(|m| error(line, m))?);
        }
        for entry in raw.emergency {
            let line = at(entry.span());
            let entry = entry.into_inner();
            directory
                .emergency
                .push(entry.check().map_err(|m| error(line, m))?);
        }
        for entry in raw.international {
            let line = at(entry.span());
            let entry = entry.into_inner();
            directory
                .international
                .push(entry.check().map_err(|m| error(line, m))?);
        }
        Ok(directory)
    }

    /// The directory to use with the data directory `data_dir`: the file
    /// `crisis-lines.toml` there if it exists and is valid, else the
    /// built-in one; and a warning when the file exists but cannot be used.
    /// A valid file without `[[international]]` entries keeps the built-in
    /// ones, so the card always has somewhere to turn.
    pub fn load(data_dir: &Path) -> (Directory, Option<String>) {
        let path = data_dir.join(FILE_NAME);
        let fallback = |why: String| {
            (
                Directory::built_in().clone(),
                Some(format!("{why}; using the crisis lines built into hearth")),
            )
        };
        let text = match read_capped(&path) {
            Ok(None) => return (Directory::built_in().clone(), None),
            Ok(Some(text)) => text,
            Err(why) => return fallback(format!("cannot read {}: {why}", path.display())),
        };
        match Directory::parse(&path, &text) {
            Ok(mut directory) => {
                if directory.international.is_empty() {
                    directory.international = Directory::built_in().international.clone();
                }
                (directory, None)
            }
            Err(e) => fallback(format!("invalid crisis line directory {e}")),
        }
    }

    /// The lines of a country, in file order.
    pub fn lines_for(&self, country: Country) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(move |l| l.country == country)
    }

    /// The emergency numbers of a country, each once, with the entry that
    /// gives it.
    pub fn emergency_for(&self, country: Country) -> Vec<(&str, &Emergency)> {
        let mut out: Vec<(&str, &Emergency)> = Vec::new();
        for entry in self
            .emergency
            .iter()
            .filter(|e| e.countries.contains(&country))
        {
            for number in &entry.numbers {
                if !out.iter().any(|(n, _)| *n == number) {
                    out.push((number, entry));
                }
            }
        }
        out
    }
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// The file's text; `None` if it does not exist.
fn read_capped(path: &Path) -> Result<Option<String>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err("it is not a regular file".to_owned());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {} KiB", MAX_FILE_BYTES / 1024));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| "it is not UTF-8 text".to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    line: Vec<toml::Spanned<RawLine>>,
    #[serde(default)]
    emergency: Vec<toml::Spanned<RawEmergency>>,
    #[serde(default)]
    international: Vec<toml::Spanned<RawInternational>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    country: String,
    service: String,
    reach: Vec<Reach>,
    hours: String,
    languages: Vec<String>,
    source: String,
    checked: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmergency {
    countries: Vec<String>,
    numbers: Vec<String>,
    source: String,
    checked: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInternational {
    service: String,
    address: String,
    source: String,
    checked: String,
}

impl RawLine {
    fn check(self) -> Result<Line, String> {
        let country = country(&self.country)?;
        let service = text("service", &self.service)?;
        if self.reach.is_empty() {
            return Err(format!("{service}: `reach` is empty; say how to reach it"));
        }
        let reach = self
            .reach
            .into_iter()
            .map(|r| {
                Ok(Reach {
                    how: r.how,
                    to: text("reach.to", &r.to)?,
                    message: r.message.map(|m| text("reach.message", &m)).transpose()?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let hours = text("hours", &self.hours)?;
        if self.languages.is_empty() {
            return Err(format!("{service}: `languages` is empty"));
        }
        for language in &self.languages {
            if !(2..=3).contains(&language.len())
                || !language.bytes().all(|b| b.is_ascii_lowercase())
            {
                return Err(format!(
                    "invalid language {language:?}: use ISO 639-1 codes like \"en\""
                ));
            }
        }
        Ok(Line {
            country,
            service,
            reach,
            hours,
            languages: self.languages,
            checked: checked(self.source, &self.checked)?,
        })
    }
}

impl RawEmergency {
    fn check(self) -> Result<Emergency, String> {
        if self.countries.is_empty() || self.numbers.is_empty() {
            return Err("an emergency entry needs `countries` and `numbers`".to_owned());
        }
        let countries = self
            .countries
            .iter()
            .map(|c| country(c))
            .collect::<Result<Vec<_>, String>>()?;
        let numbers = self
            .numbers
            .into_iter()
            .map(|n| text("numbers", &n))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Emergency {
            countries,
            numbers,
            checked: checked(self.source, &self.checked)?,
        })
    }
}

impl RawInternational {
    fn check(self) -> Result<International, String> {
        Ok(International {
            service: text("service", &self.service)?,
            address: text("address", &self.address)?,
            checked: checked(self.source, &self.checked)?,
        })
    }
}

fn country(code: &str) -> Result<Country, String> {
    // `UK` is accepted when people type it, but a directory names countries
    // exactly.
    match Country::parse(code) {
        Some(c) if c.code() == code => Ok(c),
        _ => Err(format!(
            "invalid country {code:?}: use an ISO 3166-1 alpha-2 code in capitals, like \"GB\""
        )),
    }
}

/// A one-line text shown on the card: not blank, no control or direction
/// characters, at most [`MAX_FIELD_BYTES`].
fn text(field: &str, value: &str) -> Result<String, String> {
    let bad = value
        .chars()
        .any(|c| c.is_control() || hearth_protocol::text::is_invisible(c));
    if value.trim().is_empty() || value.len() > MAX_FIELD_BYTES || bad {
        return Err(format!(
            "invalid `{field}`: use one line of at most {MAX_FIELD_BYTES} bytes of plain text"
        ));
    }
    Ok(value.trim().to_owned())
}

fn checked(source: String, date: &str) -> Result<Checked, String> {
    let is_url = (source.starts_with("https://") || source.starts_with("http://"))
        && source.len() <= MAX_SOURCE_BYTES
        && !source.chars().any(|c| c.is_whitespace() || c.is_control());
    if !is_url {
        return Err(format!(
            "invalid `source` {:?}: give the address (https://…) of the page the entry was \
             confirmed on",
            source.chars().take(60).collect::<String>()
        ));
    }
    let on = parse_date(date).ok_or_else(|| {
        format!("invalid `checked` {date:?}: give the date it was confirmed, as YYYY-MM-DD")
    })?;
    Ok(Checked { source, on })
}

/// A date written exactly as `YYYY-MM-DD`.
fn parse_date(date: &str) -> Option<Date> {
    let b = date.as_bytes();
    let shape = b.len() == 10
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    date.parse::<Date>().ok()
}

#[cfg(test)]
mod tests;
