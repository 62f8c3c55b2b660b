//! Care for the people in the room, on this device: the crisis card, the
//! safe-messaging phrases, what the chat folds, and the honest limits said
//! at the first chat. docs/safety.md describes all of it for people.
//!
//! Nothing here uses the network, and nothing here logs, stores or sends
//! what someone wrote or that a phrase matched.
//!
//! - [`country`]: ISO country codes and the country of the locale;
//! - [`directory`]: the crisis lines and emergency numbers (built in, or the
//!   person's own file);
//! - [`card`]: the card built from them for one country and date;
//! - [`phrases`]: the safe-messaging phrase lists and matching;
//! - [`folding`]: fold, open or hide posts with warnings or method details;
//! - [`limits`]: the first-chat notice and its marker file;
//! - [`args`]: the command-line options of the care settings;
//! - [`updates`]: reviewing and applying crisis-directory updates from a
//!   trusted key.

pub(crate) mod args;
pub(crate) mod card;
pub(crate) mod country;
pub(crate) mod directory;
pub(crate) mod folding;
pub(crate) mod limits;
pub(crate) mod phrases;
pub(crate) mod updates;

use jiff::civil::Date;

use self::card::CountryChoice;
use self::directory::Directory;
use self::folding::Folding;
use crate::config::Config;

/// Today's date in this machine's time zone.
pub(crate) fn today() -> Date {
    crate::time::timestamp(crate::time::now_ms())
        .to_zoned_datetime(crate::time::system_zone().clone())
        .date()
}

/// The country of the card: the configured one, else the locale's.
pub(crate) fn country_choice(config: &Config) -> CountryChoice {
    let setting = config.care.country.map(|country| {
        let source = config
            .origin("country")
            .map(|o| o.describe("country"))
            .unwrap_or_else(|| "the configuration".to_owned());
        (country, source)
    });
    CountryChoice::choose(setting, country::from_process_locale())
}

/// What the chat window needs for care, gathered before it opens.
#[derive(Debug, Clone)]
pub struct ChatCare {
    /// The crisis line directory.
    pub directory: Directory,
    /// The country of the card.
    pub choice: CountryChoice,
    /// Today, for the age of directory entries.
    pub today: Date,
    /// What to fold, open or hide.
    pub folding: Folding,
    /// Whether to say the honest limits (the first chat on this data
    /// directory).
    pub first_start: bool,
    /// Problems to tell the person about, such as a broken directory file.
    pub warnings: Vec<String>,
    /// The person's age group, if set (`age_group`): the chat warns when a
    /// channel's card is for the other group.
    pub age_group: Option<hearth_protocol::AgeGroup>,
}

impl ChatCare {
    /// The built-in directory, no country, default folding and nothing to
    /// say: what the window has until the chat gathers the real thing.
    pub fn plain(today: Date) -> ChatCare {
        ChatCare {
            directory: Directory::built_in().clone(),
            choice: CountryChoice::choose(None, None),
            today,
            folding: Folding::default(),
            first_start: false,
            warnings: Vec::new(),
            age_group: None,
        }
    }

    /// Gathers it from the configuration, the locale, the data directory
    /// and the clock.
    pub fn gather(config: &Config) -> ChatCare {
        let (directory, warning) = Directory::load(&config.data_dir);
        ChatCare {
            directory,
            choice: country_choice(config),
            today: today(),
            folding: config.care.folding.clone(),
            first_start: limits::first_start(&config.data_dir),
            warnings: warning.into_iter().collect(),
            age_group: config.care.age_group,
        }
    }
}
