//! Safe-messaging phrases, matched on this device only
//! (`cli/data/safe-messaging.toml` lists them and says what each list is
//! for).
//!
//! Texts and phrases are compared in a folded form: canonical decomposition
//! with the accents dropped, lowercase, `ß` as `ss`, apostrophes removed,
//! every other character that is not a letter or digit a word break. So
//! "Don’t want to be HERE anymore!" contains "don't want to be here
//! anymore", and "suicídio" is "suicidio". Phrases match whole words; a word
//! ending in `*` matches any word it begins.
//!
//! Matching is a pure function of the text: nothing about a match is
//! logged, stored or sent.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The phrase lists shipped with hearth.
pub(crate) const BUILT_IN: &str = include_str!("../../data/safe-messaging.toml");

/// Characters removed from words rather than breaking them: apostrophes,
/// so "don't", "don’t" and "dont" are one word.
const APOSTROPHES: [char; 5] = ['\'', '\u{2019}', '\u{2018}', '\u{02BC}', '`'];

/// One word of a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    folded: String,
    /// Matches any word starting with `folded`.
    prefix: bool,
}

/// A phrase: words that must follow each other.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Phrase(Vec<Word>);

impl Phrase {
    fn parse(text: &str) -> Option<Phrase> {
        let mut words = Vec::new();
        for raw in text.split_whitespace() {
            let prefix = raw.ends_with('*');
            let folded = fold_words(raw.trim_end_matches('*'));
            let count = folded.len();
            for (i, folded) in folded.into_iter().enumerate() {
                words.push(Word {
                    folded,
                    prefix: prefix && i + 1 == count,
                });
            }
        }
        (!words.is_empty()).then_some(Phrase(words))
    }

    fn found_in(&self, words: &[String]) -> bool {
        let n = self.0.len();
        words.windows(n).any(|window| {
            window.iter().zip(&self.0).all(|(w, p)| {
                if p.prefix {
                    w.starts_with(&p.folded)
                } else {
                    *w == p.folded
                }
            })
        })
    }
}

/// The two phrase lists, ready to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phrases {
    crisis: Vec<Phrase>,
    method: Vec<Phrase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhrases {
    crisis: BTreeMap<String, Vec<String>>,
    method: BTreeMap<String, Vec<String>>,
}

impl Phrases {
    /// The lists shipped with hearth, compiled once.
    pub fn built_in() -> &'static Phrases {
        static BUILT: OnceLock<Phrases> = OnceLock::new();
        // The built-in file is checked by the tests.
        BUILT.get_or_init(|| {
            Phrases::parse(BUILT_IN).unwrap_or(Phrases {
                crisis: Vec::new(),
                method: Vec::new(),
            })
        })
    }

    /// Parses a phrase file: `[crisis]` and `[method]`, each a list of
    /// phrases per language.
    pub fn parse(text: &str) -> Result<Phrases, String> {
        let raw: RawPhrases = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let compile = |lists: BTreeMap<String, Vec<String>>| {
            let mut out: Vec<Phrase> = Vec::new();
            for (language, phrases) in lists {
                for text in phrases {
                    let phrase = Phrase::parse(&text)
                        .ok_or_else(|| format!("{language}: {text:?} has no words"))?;
                    if !out.contains(&phrase) {
                        out.push(phrase);
                    }
                }
            }
            Ok::<_, String>(out)
        };
        Ok(Phrases {
            crisis: compile(raw.crisis)?,
            method: compile(raw.method)?,
        })
    }

    /// Whether `text` contains a crisis phrase: the person writing it may
    /// be thinking of ending their life.
    pub fn is_crisis(&self, text: &str) -> bool {
        let words = fold_words(text);
        self.crisis.iter().any(|p| p.found_in(&words))
    }

    /// Whether `text` contains a phrase that may describe ways of
    /// self-harm.
    pub fn describes_method(&self, text: &str) -> bool {
        let words = fold_words(text);
        self.method.iter().any(|p| p.found_in(&words))
    }

    /// How many phrases each list has, for tests.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
        (self.crisis.len(), self.method.len())
    }
}

/// The folded words of a text (see the module documentation).
pub(crate) fn fold_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.nfd() {
        if is_combining_mark(c) || APOSTROPHES.contains(&c) {
            continue;
        }
        if hearth_protocol::text::is_invisible(c) {
            continue;
        }
        if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                match lower {
                    'ß' => word.push_str("ss"),
                    other => word.push(other),
                }
            }
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fold_to_words_without_case_accents_or_punctuation() {
        assert_eq!(
            fold_words("Don’t want to be HERE, anymore!"),
            ["dont", "want", "to", "be", "here", "anymore"]
        );
        assert_eq!(fold_words("Suicídio… É"), ["suicidio", "e"]);
        assert_eq!(fold_words("Straße"), ["strasse"]);
        assert_eq!(fold_words("s\u{200B}uicide"), ["suicide"]);
        assert_eq!(
            fold_words("m'ouvrir   les\nveines"),
            ["mouvrir", "les", "veines"]
        );
        assert!(fold_words("  ...  ").is_empty());
    }

    #[test]
    fn the_built_in_lists_parse_and_cover_five_languages() {
        let raw: RawPhrases = toml::from_str(BUILT_IN).unwrap();
        for lists in [&raw.crisis, &raw.method] {
            for language in ["en", "es", "fr", "de", "pt"] {
                assert!(
                    lists.get(language).is_some_and(|l| !l.is_empty()),
                    "{language}"
                );
            }
        }
        let (crisis, method) = Phrases::built_in().counts();
        assert!(crisis >= 40 && method >= 15, "{crisis} {method}");
    }

    #[test]
    fn crisis_phrases_match_in_any_case_with_or_without_accents() {
        let p = Phrases::built_in();
        for text in [
            "I think I'm going to kill myself tonight",
            "sometimes I want to END MY LIFE",
            "I don't want to be here anymore.",
            "i dont want to be here any more",
            "thinking about suicide again",
            "quiero morir",
            "Quiéro Morír, de verdad",
            "ya no puedo, me quiero matar",
            "je veux mourir",
            "JE VEUX MOURIR!!",
            "Ich will sterben.",
            "ich möchte nicht mehr leben, glaube ich",
            "ich mochte nicht mehr leben",
            "quero morrer",
            "não quero mais viver",
            "nao quero mais viver",
            "penso em suicidio",
        ] {
            assert!(p.is_crisis(text), "{text:?} should match");
        }
    }

    #[test]
    fn ordinary_sentences_do_not_match() {
        let p = Phrases::built_in();
        for text in [
            "I could kill for a coffee",
            "this week is killing me",
            "the end of my shift, finally",
            "my life is a bit better today",
            "suicides",
            "endless",
            "je veux partir en vacances",
            "ich will schlafen",
            "quero comer",
            "",
        ] {
            assert!(!p.is_crisis(text), "{text:?} should not match");
        }
    }

    #[test]
    fn method_phrases_are_a_separate_list() {
        let p = Phrases::built_in();
        assert!(p.describes_method("what is a lethal dose"));
        assert!(p.describes_method("DOSIS LETAL"));
        assert!(p.describes_method("thought about cutting... cut my wrists"));
        assert!(p.describes_method("I cut my wrist yesterday"));
        assert!(!p.describes_method("I want to end my life"));
        assert!(!p.is_crisis("what is a lethal dose of caffeine"));
        assert!(!p.describes_method("I cut my hair"));
    }

    #[test]
    fn a_star_matches_word_beginnings_only_at_the_end_of_a_phrase_word() {
        let p = Phrases::parse("[crisis]\nen = [\"suicid*\"]\n[method]\nen = [\"a b\"]").unwrap();
        assert!(p.is_crisis("so suicidal"));
        assert!(p.is_crisis("Suicídio"));
        assert!(!p.is_crisis("presuicide"));
        assert!(p.describes_method("x A, b y"));
        assert!(!p.describes_method("ab"));
        assert!(Phrases::parse("[crisis]\nen = [\"...\"]\n[method]\n").is_err());
    }
}
