//! Care in the chat window: the crisis card drawn over the messages
//! (`/crisis`, Ctrl+G or F1), asking once more before sending a post that
//! contains a crisis phrase, how received posts are placed (folded, opened
//! or hidden), and the honest limits said at the first chat.
//!
//! The phrase check happens here, on Enter, before anything is sent; it
//! leaves no trace: no log, no notice in the scrollback, nothing stored.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::commands::{Command, CwChange, Input};
use super::{App, PostItem, Tone};
use crate::care::ChatCare;
use crate::care::card::{Card, CountryChoice};
use crate::care::country::Country;
use crate::care::folding::Placement;
use crate::care::limits;
use crate::care::phrases::Phrases;

/// What the first lines of the confirmation say, above the card.
pub const CONFIRM_LEAD: &str =
    "Your post isn't sent yet. If things feel like too much, you can talk to someone right now:";
/// The keys of the confirmation.
pub const CONFIRM_KEYS: &str = "Enter sends your post as it is · Esc goes back to editing";
/// The keys of the card.
pub const CARD_KEYS: &str = "Esc or Ctrl+G closes this";

/// The care state of the window.
#[derive(Debug, Clone)]
pub struct Care {
    setup: ChatCare,
    /// The person's own card, as lines.
    card: Vec<String>,
    /// The card shown by `/crisis` or the key (perhaps another country's).
    shown: Option<Vec<String>>,
    /// The exact input line held back until Enter is pressed again.
    confirm: Option<String>,
}

impl Care {
    /// The care state for what [`ChatCare`] gathered.
    pub fn new(setup: ChatCare) -> Self {
        let card = Card::build(&setup.directory, &setup.choice, setup.today).text();
        Self {
            setup,
            card,
            shown: None,
            confirm: None,
        }
    }

    /// Whether the card is shown.
    pub fn card_shown(&self) -> bool {
        self.shown.is_some()
    }

    /// The person's age group, if set.
    pub fn age_group(&self) -> Option<hearth_protocol::AgeGroup> {
        self.setup.age_group
    }

    /// Whether a post is held back for a second Enter.
    pub fn confirming(&self) -> bool {
        self.confirm.is_some()
    }
}

/// What is drawn over the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareOverlay<'a> {
    /// The first line, if any, above the card.
    pub lead: Option<&'static str>,
    /// The card's lines.
    pub card: &'a [String],
    /// The keys, at the bottom.
    pub keys: &'static str,
}

impl App {
    /// Replaces the care state (the chat does this before it opens).
    pub fn set_care(&mut self, setup: ChatCare) {
        self.care = Care::new(setup);
    }

    /// Says what must be said when the window opens: the honest limits at
    /// the first chat, and problems such as a broken directory file.
    pub fn care_welcome(&mut self) {
        if self.care.setup.first_start {
            for line in limits::NOTICE {
                self.notice(line, Tone::Info);
            }
        }
        for warning in self.care.setup.warnings.clone() {
            self.hint(warning);
        }
    }

    /// What to draw over the messages, if anything: the confirmation while
    /// the held-back line is still in the input, else the card if shown.
    pub fn care_overlay(&self) -> Option<CareOverlay<'_>> {
        if self.care.confirm.as_deref() == Some(self.input.text()) {
            return Some(CareOverlay {
                lead: Some(CONFIRM_LEAD),
                card: &self.care.card,
                keys: CONFIRM_KEYS,
            });
        }
        self.care.shown.as_deref().map(|card| CareOverlay {
            lead: None,
            card,
            keys: CARD_KEYS,
        })
    }

    /// Takes the care keys: Ctrl+G and F1 show or hide the card; Esc
    /// closes the confirmation (the text stays to edit) or the card. True
    /// when the key was taken.
    pub(super) fn care_key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('g') if ctrl => {
                self.toggle_card();
                true
            }
            KeyCode::F(1) => {
                self.toggle_card();
                true
            }
            KeyCode::Esc => {
                // A question left behind by an edit is dropped quietly, and
                // Esc does what it does without the card.
                let asking = self.care.confirm.take().as_deref() == Some(self.input.text());
                asking || self.care.shown.take().is_some()
            }
            _ => false,
        }
    }

    fn toggle_card(&mut self) {
        self.care.shown = match self.care.shown.take() {
            Some(_) => None,
            None => Some(self.care.card.clone()),
        };
    }

    /// `/crisis`, or `/crisis CODE` for another country's card.
    pub(super) fn show_crisis(&mut self, code: Option<String>) {
        let card = match code {
            None => self.care.card.clone(),
            Some(code) => match Country::parse(&code) {
                Some(country) => Card::build(
                    &self.care.setup.directory,
                    &CountryChoice::asked(country),
                    self.care.setup.today,
                )
                .text(),
                None => {
                    let shown: String = code.chars().take(20).collect();
                    self.hint(format!(
                        "“{shown}” isn't a country code I know; use two letters like GB or FR. /crisis alone shows yours."
                    ));
                    return;
                }
            },
        };
        self.care.shown = Some(card);
    }

    /// On Enter: whether to hold the line back. A post (or a `/reply` or
    /// `/cw` that posts) containing a crisis phrase is held the first time,
    /// and the card is shown with the confirmation; Enter on the same line
    /// again lets it through.
    pub(super) fn care_holds(&mut self, parsed: &Input) -> bool {
        let text = match parsed {
            Input::Message(text) => Some(text.as_str()),
            Input::Command(Command::Reply {
                text: Some(text), ..
            }) => Some(text.as_str()),
            Input::Command(Command::Cw(CwChange::Set {
                text: Some(text), ..
            })) => Some(text.as_str()),
            _ => None,
        };
        let line = self.input.text();
        if self.care.confirm.as_deref() == Some(line) {
            self.care.confirm = None;
            return false;
        }
        self.care.confirm = None;
        match text {
            Some(text) if Phrases::built_in().is_crisis(text) => {
                self.care.confirm = Some(line.to_owned());
                self.scroll_to_bottom();
                true
            }
            _ => false,
        }
    }

    /// How to show a post that arrived.
    pub(super) fn care_place(&self, post: &PostItem) -> Placement {
        self.care.setup.folding.place(
            Phrases::built_in(),
            post.content_warning.as_ref(),
            &post.body,
            post.own,
        )
    }
}
