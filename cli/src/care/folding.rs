//! What the chat does with a received post that carries a content warning,
//! or that may describe ways of self-harm: the person's choices, and the
//! decision for one post.
//!
//! Choices are per label: `fold` (the default: one line with the warning,
//! `/open` shows the post), `open` (shown with its warning above it) or
//! `hide` (not shown at all; `hearth history` still lists it). A post with
//! several labels gets the most careful choice among them. Posts that may
//! describe ways of self-harm and carry no warning are folded behind "this
//! may describe ways of self-harm" unless `fold_method_details` is false.

use std::collections::BTreeMap;

use hearth_protocol::{ContentWarning, CwLabel};

use super::phrases::Phrases;

/// What to do with posts carrying a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Choice {
    /// Show them with the warning above the text.
    Open,
    /// Show one line with the warning; `/open` shows the text.
    Fold,
    /// Do not show them.
    Hide,
}

impl Choice {
    /// The choice as written in settings.
    pub fn as_str(&self) -> &'static str {
        match self {
            Choice::Open => "open",
            Choice::Fold => "fold",
            Choice::Hide => "hide",
        }
    }

    /// A choice as written in settings.
    pub fn parse(word: &str) -> Option<Choice> {
        match word.trim().to_ascii_lowercase().as_str() {
            "open" | "show" => Some(Choice::Open),
            "fold" => Some(Choice::Fold),
            "hide" => Some(Choice::Hide),
            _ => None,
        }
    }
}

/// The person's choices. The default folds every warning and every post
/// that may describe ways of self-harm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folding {
    /// Fold posts that may describe ways of self-harm.
    pub method_details: bool,
    /// Choices that differ from folding, by label.
    pub labels: BTreeMap<CwLabel, Choice>,
}

impl Default for Folding {
    fn default() -> Self {
        Self {
            method_details: true,
            labels: BTreeMap::new(),
        }
    }
}

/// How one post is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// As it is.
    Show,
    /// Folded behind its content warning.
    Fold,
    /// Folded behind "this may describe ways of self-harm".
    FoldMethod,
    /// Opened, its warning shown above it.
    Open,
    /// Not shown.
    Hide,
}

impl Folding {
    /// The choice for one label.
    pub fn choice(&self, label: CwLabel) -> Choice {
        self.labels.get(&label).copied().unwrap_or(Choice::Fold)
    }

    /// How to show a received post with this warning and text. Own posts
    /// are always shown: the person knows what they wrote.
    pub fn place(
        &self,
        phrases: &Phrases,
        warning: Option<&ContentWarning>,
        body: &str,
        own: bool,
    ) -> Placement {
        if own {
            return Placement::Show;
        }
        // A bot's post carries the automated label, which is no warning.
        if let Some(warning) = warning.filter(|w| w.warns()) {
            // A warning with only a note, no label, is folded.
            let choice = warning
                .labels
                .iter()
                .filter(|l| **l != CwLabel::Automated)
                .map(|l| self.choice(*l))
                .max()
                .unwrap_or(Choice::Fold);
            return match choice {
                Choice::Open => Placement::Open,
                Choice::Fold => Placement::Fold,
                Choice::Hide => Placement::Hide,
            };
        }
        if self.method_details && phrases.describes_method(body) {
            return Placement::FoldMethod;
        }
        Placement::Show
    }
}

/// Parses choices as a map of label names to choices (`hearth.toml`);
/// errors say which label or choice is wrong and what is accepted.
pub(crate) fn parse_choices<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<BTreeMap<CwLabel, Choice>, String> {
    let mut out = BTreeMap::new();
    for (label, choice) in pairs {
        let known = CwLabel::parse(label).ok_or_else(|| {
            let names: Vec<&str> = CwLabel::KNOWN.iter().map(CwLabel::as_str).collect();
            format!(
                "unknown content-warning label {:?}; use {}",
                label.chars().take(40).collect::<String>(),
                names.join(", ")
            )
        })?;
        let choice = Choice::parse(choice).ok_or_else(|| {
            format!(
                "unknown choice {:?} for {label}; use fold, open or hide",
                choice.chars().take(40).collect::<String>()
            )
        })?;
        out.insert(known, choice);
    }
    Ok(out)
}

/// Parses the short form of variables and flags: `death=open,self-harm=hide`.
pub(crate) fn parse_choice_list(list: &str) -> Result<BTreeMap<CwLabel, Choice>, String> {
    let mut pairs = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (label, choice) = item.split_once('=').ok_or_else(|| {
            format!(
                "{:?} is not LABEL=CHOICE; write it like death=open,self-harm=hide",
                item.chars().take(40).collect::<String>()
            )
        })?;
        pairs.push((label.trim(), choice.trim()));
    }
    parse_choices(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(labels: &[CwLabel]) -> ContentWarning {
        ContentWarning::new(labels.iter().copied(), None)
    }

    #[test]
    fn warnings_fold_by_default_and_the_most_careful_choice_wins() {
        let phrases = Phrases::built_in();
        let mut folding = Folding::default();
        let place =
            |f: &Folding, w: Option<&ContentWarning>, body: &str| f.place(phrases, w, body, false);
        let death = warning(&[CwLabel::Death]);
        assert_eq!(place(&folding, Some(&death), "x"), Placement::Fold);
        folding.labels.insert(CwLabel::Death, Choice::Open);
        folding.labels.insert(CwLabel::Violence, Choice::Hide);
        assert_eq!(place(&folding, Some(&death), "x"), Placement::Open);
        let both = warning(&[CwLabel::Death, CwLabel::SelfHarm]);
        assert_eq!(place(&folding, Some(&both), "x"), Placement::Fold);
        let hidden = warning(&[CwLabel::Death, CwLabel::Violence]);
        assert_eq!(place(&folding, Some(&hidden), "x"), Placement::Hide);
        let note_only = ContentWarning::new([], Some("rough day".into()));
        assert_eq!(place(&folding, Some(&note_only), "x"), Placement::Fold);
        let newer = warning(&[CwLabel::Other(40)]);
        assert_eq!(place(&folding, Some(&newer), "x"), Placement::Fold);
        // Own posts are never folded or hidden.
        assert_eq!(
            folding.place(phrases, Some(&hidden), "x", true),
            Placement::Show
        );
    }

    #[test]
    fn a_bots_post_is_not_folded_for_its_automated_label() {
        let folding = Folding::default();
        let phrases = Phrases::built_in();
        let bot = ContentWarning::automated();
        assert_eq!(
            folding.place(phrases, Some(&bot), "hello", false),
            Placement::Show
        );
        let both = ContentWarning::new([CwLabel::Automated, CwLabel::Death], None);
        assert_eq!(
            folding.place(phrases, Some(&both), "hello", false),
            Placement::Fold
        );
    }

    #[test]
    fn method_details_fold_unless_turned_off_and_a_warning_takes_precedence() {
        let phrases = Phrases::built_in();
        let mut folding = Folding::default();
        let text = "they talked about a lethal dose";
        assert_eq!(
            folding.place(phrases, None, text, false),
            Placement::FoldMethod
        );
        assert_eq!(
            folding.place(phrases, None, "hello", false),
            Placement::Show
        );
        folding.labels.insert(CwLabel::SelfHarm, Choice::Open);
        let sh = warning(&[CwLabel::SelfHarm]);
        assert_eq!(
            folding.place(phrases, Some(&sh), text, false),
            Placement::Open
        );
        folding.method_details = false;
        assert_eq!(folding.place(phrases, None, text, false), Placement::Show);
    }

    #[test]
    fn choices_parse_from_both_forms_with_clear_errors() {
        let parsed = parse_choice_list(" death=open, self-harm = hide ,").unwrap();
        assert_eq!(parsed.get(&CwLabel::Death), Some(&Choice::Open));
        assert_eq!(parsed.get(&CwLabel::SelfHarm), Some(&Choice::Hide));
        assert!(parse_choice_list("").unwrap().is_empty());
        let e = parse_choice_list("grief=open").unwrap_err();
        assert!(
            e.contains("\"grief\"") && e.contains("self-harm, suicide"),
            "{e}"
        );
        let e = parse_choice_list("death=maybe").unwrap_err();
        assert!(e.contains("fold, open or hide"), "{e}");
        let e = parse_choice_list("death").unwrap_err();
        assert!(e.contains("LABEL=CHOICE"), "{e}");
        let parsed = parse_choices([("eating", "fold")]).unwrap();
        assert_eq!(parsed.get(&CwLabel::Eating), Some(&Choice::Fold));
    }
}
