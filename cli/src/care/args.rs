//! The command-line options of the care settings, which every command
//! accepts (they are flattened into [`crate::args::GlobalArgs`]). Like the
//! other options, each also reads its `HEARTH_*` variable, and
//! [`crate::config`] checks them and merges them with `hearth.toml`.

use clap::Args;

/// The help heading of these options.
const HEADING: &str = "Crisis card and folding";

/// Options for the crisis card and for what the chat folds.
#[derive(Debug, Clone, Default, Args)]
pub struct CareArgs {
    /// Your country for the crisis card, as an ISO 3166 code like GB
    /// [default: from the locale: LC_ALL, LC_MESSAGES, LANG]
    #[arg(
        long,
        global = true,
        value_name = "CODE",
        env = "HEARTH_COUNTRY",
        help_heading = HEADING
    )]
    pub country: Option<String>,
    /// Fold received posts that may describe ways of self-harm
    /// [default: true]
    #[arg(long, global = true, value_name = "BOOL", env = "HEARTH_FOLD_METHOD_DETAILS",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          help_heading = HEADING, hide_short_help = true)]
    pub fold_method_details: Option<String>,
    /// Posts behind content warnings, by label: fold, open or hide them,
    /// like death=open,self-harm=hide [default: fold every label]
    #[arg(
        long,
        global = true,
        value_name = "LABEL=CHOICE,…",
        env = "HEARTH_CONTENT_WARNINGS",
        help_heading = HEADING,
        hide_short_help = true
    )]
    pub content_warnings: Option<String>,
    /// Your age group, adult or teen: the chat warns before you join a
    /// channel whose card is for the other one [default: unset, no warning]
    #[arg(
        long,
        global = true,
        value_name = "adult|teen",
        env = "HEARTH_AGE_GROUP",
        help_heading = HEADING,
        hide_short_help = true
    )]
    pub age_group: Option<String>,
    /// Keys you trust to send updates of the crisis lines, comma-separated;
    /// each update waits until you accept it [default: none]
    #[arg(
        long,
        global = true,
        value_name = "KEY,…",
        env = "HEARTH_CRISIS_TRUST",
        help_heading = HEADING,
        hide_short_help = true
    )]
    pub crisis_trust: Option<String>,
}
