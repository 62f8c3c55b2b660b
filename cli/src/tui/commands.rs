//! Slash commands: what a typed line means, and the help text.
//!
//! Parsing is forgiving: a mistyped or incomplete command never becomes an
//! error wall, only a [`Input::Hint`] of one calm line saying what would
//! work.

use hearth_protocol::limits::{MAX_CW_TEXT_BYTES, MAX_NICKNAME_BYTES, MAX_REASON_BYTES};
use hearth_protocol::report::MAX_REPORT_REASON_BYTES;
use hearth_protocol::{ChannelName, ChannelNameError, ContentWarning, CwLabel};

/// How many posts `/history` loads when no number is given.
pub(super) const DEFAULT_HISTORY: usize = 50;
/// The most posts one `/history` loads.
pub(super) const MAX_HISTORY: usize = 1000;

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Input {
    /// Nothing but white space: do nothing.
    Empty,
    /// A post to publish in the current channel.
    Message(String),
    /// A slash command.
    Command(Command),
    /// The line could not be understood; show this gentle hint.
    Hint(String),
}

/// A post as the person refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PostRef {
    /// Counting back from the newest post in the view: 1 is the newest.
    Number(usize),
    /// A prefix of the post id in lowercase hex (usually the 8 digits
    /// shown).
    Id(String),
}

impl std::fmt::Display for PostRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostRef::Number(n) => write!(f, "#{n}"),
            PostRef::Id(id) => f.write_str(id),
        }
    }
}

/// Whom `/block` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BlockWho {
    /// The author of this post.
    Post(PostRef),
    /// A persona name (or nickname) shown in the channel.
    Name(String),
}

/// Which channel `/switch` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SwitchTo {
    /// The n-th channel of the list, from 1.
    Number(usize),
    /// A channel by name.
    Name(ChannelName),
}

/// What `/nick` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NickChange {
    /// Say which nickname is in use.
    Show,
    /// Post without a nickname from now on.
    Clear,
    /// Use this nickname from now on.
    Set(String),
}

/// What `/cw` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CwChange {
    /// Say which warning the next post will carry.
    Show,
    /// Drop the warning set for the next post.
    Clear,
    /// Fold the next post behind this warning; with a text, publish that
    /// text now.
    Set {
        /// The warning.
        warning: ContentWarning,
        /// The post to publish at once, if given after `--`.
        text: Option<String>,
    },
}

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Command {
    /// Show the crisis card: of the person's country, or of the one named
    /// by its ISO code.
    Crisis(Option<String>),
    /// Join a channel and show it.
    Join(ChannelName),
    /// Leave a channel (the current one if none is named).
    Leave(Option<ChannelName>),
    /// Show another joined channel.
    Switch(SwitchTo),
    /// Show, set or drop the nickname.
    Nick(NickChange),
    /// Rotate the persona of the current channel.
    NewMe,
    /// Reply to a post: with a text, at once; without, with the next post.
    /// With no target, cancel a pending reply.
    Reply {
        /// The post answered.
        target: Option<PostRef>,
        /// The answer, if given on the same line.
        text: Option<String>,
    },
    /// Set or drop a content warning.
    Cw(CwChange),
    /// Open (or fold again) a post behind a content warning; without a
    /// target, the newest folded one.
    Open(Option<PostRef>),
    /// Block the persona behind a post or name.
    Block {
        /// Whom.
        who: BlockWho,
        /// Why, for the person's own list (may be empty).
        reason: String,
    },
    /// Block one post.
    Hide {
        /// Which post.
        target: PostRef,
        /// Why (may be empty).
        reason: String,
    },
    /// Say which list hid a post and why.
    Why(PostRef),
    /// Report a post to the moderators followed for its channel.
    Report {
        /// Which post.
        target: PostRef,
        /// Why (one line, not empty).
        reason: String,
    },
    /// Load stored posts of the current channel.
    History(usize),
    /// List connected peers.
    Peers,
    /// Show help, for everything or one command.
    Help(Option<String>),
    /// Leave hearth.
    Quit,
}

/// One line of help: the command, its arguments, what it does.
pub(super) struct HelpEntry {
    /// The command name without the slash.
    pub name: &'static str,
    /// Its arguments as people type them.
    pub args: &'static str,
    /// What it does, in one line.
    pub about: &'static str,
}

/// Every command, in the order `/help` lists them.
pub(super) const HELP: &[HelpEntry] = &[
    HelpEntry {
        name: "crisis",
        args: "[COUNTRY]",
        about: "crisis lines and emergency numbers for your country (also Ctrl+G)",
    },
    HelpEntry {
        name: "join",
        args: "NAME",
        about: "join a channel (like anxiety or grief/es) and show it",
    },
    HelpEntry {
        name: "leave",
        args: "[NAME]",
        about: "leave this channel, or the one named",
    },
    HelpEntry {
        name: "switch",
        args: "NAME|N",
        about: "show another joined channel (also Tab, Ctrl+N, Ctrl+P)",
    },
    HelpEntry {
        name: "nick",
        args: "[NAME|-]",
        about: "show, set, or with - drop the nickname beside your name",
    },
    HelpEntry {
        name: "newme",
        args: "",
        about: "become a new persona in this channel, unlinked to the old one",
    },
    HelpEntry {
        name: "reply",
        args: "ID|N [TEXT]",
        about: "answer a post; N counts back over others' posts (1 = newest)",
    },
    HelpEntry {
        name: "cw",
        args: "LABELS [NOTE] [-- TEXT]",
        about: "fold your next post behind a content warning",
    },
    HelpEntry {
        name: "open",
        args: "[ID|N]",
        about: "open a post folded behind a warning (again to fold it)",
    },
    HelpEntry {
        name: "block",
        args: "NAME|ID [REASON]",
        about: "stop seeing someone: every post of that persona is hidden",
    },
    HelpEntry {
        name: "hide",
        args: "ID|N [REASON]",
        about: "stop seeing one post",
    },
    HelpEntry {
        name: "why",
        args: "ID|N",
        about: "say which list hid a post, and why",
    },
    HelpEntry {
        name: "report",
        args: "ID|N REASON",
        about: "tell the moderators you follow about a post; only they can read it",
    },
    HelpEntry {
        name: "history",
        args: "[N]",
        about: "load the last N stored posts of this channel (50 if not said)",
    },
    HelpEntry {
        name: "peers",
        args: "",
        about: "list the peers you are connected to",
    },
    HelpEntry {
        name: "help",
        args: "[COMMAND]",
        about: "this list, or more about one command",
    },
    HelpEntry {
        name: "quit",
        args: "",
        about: "leave hearth (Ctrl+C on an empty line does too)",
    },
];

/// Keys, for the end of `/help`.
pub(super) const KEYS_HELP: &str = "Ctrl+G (or F1) crisis lines · Enter sends · Alt+Enter new line · \
     PgUp/PgDn scroll · Esc cancels a reply or warning and scrolls down · Up/Down recall lines";

/// Other names people may type.
const ALIASES: &[(&str, &str)] = &[
    ("sos", "crisis"),
    ("j", "join"),
    ("part", "leave"),
    ("sw", "switch"),
    ("go", "switch"),
    ("name", "nick"),
    ("r", "reply"),
    ("re", "reply"),
    ("show", "open"),
    ("ignore", "block"),
    ("h", "help"),
    ("?", "help"),
    ("q", "quit"),
    ("exit", "quit"),
    ("bye", "quit"),
];

/// More about one command, for `/help NAME`.
fn details(name: &str) -> Option<&'static str> {
    Some(match name {
        "cw" => {
            "labels: self-harm, suicide, abuse, substance-use, eating, violence, death, \
             comma-separated; a short note may follow. `/cw death` warns the next post; \
             `/cw abuse,violence about my dad -- text` posts at once; `/cw off` drops it"
        }
        "reply" => {
            "`/reply 3f2a9c1d thank you` answers at once; `/reply 1` answers the newest \
             post with your next line; `/reply` alone or Esc cancels"
        }
        "block" => {
            "use the name shown before a post (calm-otter-3f2a) or a post's id; \
             it goes into your own blocklist, and /why shows it"
        }
        "nick" => "a nickname shows as name (nick) on your next posts; `/nick -` drops it",
        "newme" => "your old name stays on your old posts; nobody can link the two",
        "open" => "`/open` alone opens the newest folded post",
        "report" => {
            "`/report 2 threatens someone` reports the second newest post from someone else; \
             the report is sealed to the moderators you follow for this channel, so only they \
             can read it and see your persona; nothing is sent to the person reported"
        }
        "crisis" => {
            "works offline, with no peers; `/crisis FR` shows another country's lines; the \
             country comes from `country` in hearth.toml, HEARTH_COUNTRY or --country, else your \
             locale; Esc or Ctrl+G closes the card"
        }
        _ => return None,
    })
}

/// The help lines for `/help` or `/help NAME`.
pub(super) fn help(topic: Option<&str>) -> Vec<String> {
    match topic {
        None => {
            let mut lines = vec!["What you can do (type a line without / to talk):".to_owned()];
            lines.extend(HELP.iter().map(entry_line));
            lines.push(KEYS_HELP.to_owned());
            lines
        }
        Some(topic) => {
            let name = canonical(topic.trim().trim_start_matches('/'));
            match HELP.iter().find(|e| e.name == name) {
                Some(entry) => {
                    let mut lines = vec![entry_line(entry)];
                    lines.extend(details(entry.name).map(str::to_owned));
                    lines
                }
                None => vec![unknown_hint(topic.trim().trim_start_matches('/'))],
            }
        }
    }
}

fn entry_line(entry: &HelpEntry) -> String {
    let usage = if entry.args.is_empty() {
        format!("/{}", entry.name)
    } else {
        format!("/{} {}", entry.name, entry.args)
    };
    format!("  {usage:<28} {}", entry.about)
}

fn usage(name: &str) -> String {
    HELP.iter()
        .find(|e| e.name == name)
        .map(|e| {
            if e.args.is_empty() {
                format!("/{}", e.name)
            } else {
                format!("/{} {}", e.name, e.args)
            }
        })
        .unwrap_or_else(|| format!("/{name}"))
}

fn canonical(name: &str) -> String {
    let lower = name.to_lowercase();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower, |(_, real)| (*real).to_owned())
}

/// Parses one submitted line.
pub(super) fn parse(line: &str) -> Input {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Empty;
    }
    if let Some(literal) = trimmed.strip_prefix("//") {
        return Input::Message(format!("/{literal}"));
    }
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Input::Message(trimmed.to_owned());
    };
    let (name, args) = match rest.split_once(char::is_whitespace) {
        Some((name, args)) => (name, args.trim()),
        None => (rest, ""),
    };
    if name.is_empty() {
        return Input::Hint(
            "A lone / does nothing. /help lists the commands; start a line with // to send a /."
                .to_owned(),
        );
    }
    let name = canonical(name);
    match parse_command(&name, args) {
        Ok(command) => Input::Command(command),
        Err(hint) => Input::Hint(hint),
    }
}

fn parse_command(name: &str, args: &str) -> Result<Command, String> {
    let no_args = |command: Command| {
        if args.is_empty() {
            Ok(command)
        } else {
            Err(format!("{} needs nothing after it.", usage(name)))
        }
    };
    match name {
        "crisis" => match first_word(args).0 {
            "" => Ok(Command::Crisis(None)),
            code => Ok(Command::Crisis(Some(code.to_owned()))),
        },
        "join" => match args {
            "" => Err("Which channel? For example: /join anxiety".to_owned()),
            _ => channel(args).map(Command::Join),
        },
        "leave" => match args {
            "" => Ok(Command::Leave(None)),
            _ => channel(args).map(|c| Command::Leave(Some(c))),
        },
        "switch" => {
            let word = first_word(args).0;
            if word.is_empty() {
                Err("Which channel? /switch NAME, or its number in the list.".to_owned())
            } else if let Ok(n) = word.trim_start_matches('#').parse::<usize>() {
                Ok(Command::Switch(SwitchTo::Number(n)))
            } else {
                channel(word).map(|c| Command::Switch(SwitchTo::Name(c)))
            }
        }
        "nick" => nick(args).map(Command::Nick),
        "newme" => no_args(Command::NewMe),
        "reply" => {
            if args.is_empty() {
                return Ok(Command::Reply {
                    target: None,
                    text: None,
                });
            }
            let (word, text) = first_word(args);
            let target = post_ref(word).ok_or_else(|| {
                format!(
                    "“{word}” isn't a post id. Try /reply 3f2a9c1d, or /reply 1 for the newest."
                )
            })?;
            Ok(Command::Reply {
                target: Some(target),
                text: (!text.is_empty()).then(|| text.to_owned()),
            })
        }
        "cw" => cw(args).map(Command::Cw),
        "open" => {
            if args.is_empty() {
                return Ok(Command::Open(None));
            }
            let word = first_word(args).0;
            post_ref(word)
                .map(|r| Command::Open(Some(r)))
                .ok_or_else(|| {
                    format!("“{word}” isn't a post id. Try /open 3f2a9c1d, or /open alone.")
                })
        }
        "block" => {
            let (word, reason) = first_word(args);
            if word.is_empty() {
                return Err("Whom? /block followed by the name shown, or a post's id.".to_owned());
            }
            let reason = reason_text(reason)?;
            let who = match post_ref(word) {
                Some(PostRef::Id(id)) if id.len() >= 8 => BlockWho::Post(PostRef::Id(id)),
                Some(PostRef::Number(n)) if word.starts_with('#') || word.len() <= 3 => {
                    BlockWho::Post(PostRef::Number(n))
                }
                _ => BlockWho::Name(word.to_owned()),
            };
            Ok(Command::Block { who, reason })
        }
        "hide" => {
            let (word, reason) = first_word(args);
            let target = post_ref(word).ok_or_else(|| {
                if word.is_empty() {
                    "Which post? /hide 3f2a9c1d, or /hide 1 for the newest.".to_owned()
                } else {
                    format!("“{word}” isn't a post id. Try /hide 3f2a9c1d.")
                }
            })?;
            Ok(Command::Hide {
                target,
                reason: reason_text(reason)?,
            })
        }
        "why" => {
            let word = first_word(args).0;
            post_ref(word).map(Command::Why).ok_or_else(|| {
                if word.is_empty() {
                    "Which post? /why with the id shown in the hidden line, like /why 3f2a9c1d."
                        .to_owned()
                } else {
                    format!("“{word}” isn't a post id. Try /why 3f2a9c1d.")
                }
            })
        }
        "report" => {
            let (word, reason) = first_word(args);
            let target = post_ref(word).ok_or_else(|| {
                if word.is_empty() {
                    "Which post? /report 3f2a9c1d REASON, or /report 1 REASON for the newest."
                        .to_owned()
                } else {
                    format!("“{word}” isn't a post id. Try /report 3f2a9c1d REASON.")
                }
            })?;
            if reason.is_empty() {
                return Err(format!(
                    "Please say why in a few words, for the moderators: /report {word} REASON."
                ));
            }
            if reason.len() > MAX_REPORT_REASON_BYTES {
                return Err(format!(
                    "Please keep the reason under {MAX_REPORT_REASON_BYTES} bytes."
                ));
            }
            Ok(Command::Report {
                target,
                reason: reason_text(reason)?,
            })
        }
        "history" => {
            let word = first_word(args).0;
            if word.is_empty() {
                return Ok(Command::History(DEFAULT_HISTORY));
            }
            match word.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Command::History(n.min(MAX_HISTORY))),
                _ => Err(format!(
                    "/history takes a number of posts, like /history {DEFAULT_HISTORY}."
                )),
            }
        }
        "peers" => no_args(Command::Peers),
        "help" => Ok(Command::Help((!args.is_empty()).then(|| args.to_owned()))),
        "quit" => Ok(Command::Quit),
        other => Err(unknown_hint(other)),
    }
}

fn unknown_hint(name: &str) -> String {
    let shown: String = name.chars().take(20).collect();
    match suggest(name) {
        Some(near) => format!("There's no /{shown} — did you mean /{near}? (/help lists them all)"),
        None => format!(
            "There's no /{shown}. /help lists the commands; start a line with // to send a /."
        ),
    }
}

/// The command closest to a mistyped one, if any is close.
fn suggest(name: &str) -> Option<&'static str> {
    let name: Vec<char> = name.to_lowercase().chars().take(32).collect();
    let prefix: String = name.iter().collect();
    if prefix.chars().count() >= 2
        && let Some(found) = HELP.iter().map(|e| e.name).find(|c| c.starts_with(&prefix))
    {
        return Some(found);
    }
    HELP.iter()
        .map(|e| e.name)
        .map(|candidate| (edit_distance(&name, candidate), candidate))
        .filter(|(d, c)| *d <= if c.len() <= 3 { 1 } else { 2 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &[char], b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != cb);
            let delete = prev
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let insert = row.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            row.push(substitute.min(delete).min(insert));
        }
        prev = row;
    }
    prev.last().copied().unwrap_or(usize::MAX)
}

/// The first word and the trimmed rest.
fn first_word(args: &str) -> (&str, &str) {
    match args.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (args, ""),
    }
}

fn channel(word: &str) -> Result<ChannelName, String> {
    if word.split_whitespace().nth(1).is_some() {
        return Err("A channel name is one word, like anxiety or grief/es.".to_owned());
    }
    ChannelName::parse(word).map_err(|e| {
        let shown: String = word.chars().take(40).collect();
        let problem = match &e {
            ChannelNameError::Invalid { problem, .. } => (*problem).to_owned(),
            other => other.to_string(),
        };
        format!("“{shown}” isn't a channel name ({problem}). Names look like anxiety or grief/es.")
    })
}

/// Parses a post reference: `#3` or a short number counts back from the
/// newest post; 4 to 64 hex digits are an id prefix.
pub(super) fn post_ref(word: &str) -> Option<PostRef> {
    let word = word.trim();
    if let Some(n) = word.strip_prefix('#') {
        return n.parse().ok().filter(|n| *n > 0).map(PostRef::Number);
    }
    if !word.is_empty() && word.len() < 8 && word.bytes().all(|b| b.is_ascii_digit()) {
        return word.parse().ok().filter(|n| *n > 0).map(PostRef::Number);
    }
    if (4..=64).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(PostRef::Id(word.to_ascii_lowercase()));
    }
    None
}

fn nick(args: &str) -> Result<NickChange, String> {
    match args {
        "" => Ok(NickChange::Show),
        "-" => Ok(NickChange::Clear),
        name if name.len() > MAX_NICKNAME_BYTES => Err(format!(
            "That nickname is a little long: up to {MAX_NICKNAME_BYTES} bytes fit."
        )),
        name if name.chars().any(char::is_control) || has_direction_control(name) => {
            Err("A nickname can't hold control characters; plain letters work.".to_owned())
        }
        name => Ok(NickChange::Set(name.to_owned())),
    }
}

fn has_direction_control(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

fn reason_text(reason: &str) -> Result<String, String> {
    if reason.len() > MAX_REASON_BYTES {
        Err(format!(
            "Please keep the reason under {MAX_REASON_BYTES} bytes."
        ))
    } else if reason.chars().any(char::is_control) || has_direction_control(reason) {
        Err("The reason can't hold control characters.".to_owned())
    } else {
        Ok(reason.to_owned())
    }
}

/// A content-warning label from what people type, with a few common
/// spellings.
pub(super) fn label(word: &str) -> Option<CwLabel> {
    let word = word.trim().to_lowercase().replace(['_', ' '], "-");
    CwLabel::parse(&word).or(match word.as_str() {
        "selfharm" | "sh" => Some(CwLabel::SelfHarm),
        "substance" | "substances" | "drugs" | "alcohol" | "substance-abuse" => {
            Some(CwLabel::SubstanceUse)
        }
        "ed" | "food" | "eating-disorder" | "eating-disorders" => Some(CwLabel::Eating),
        "dying" => Some(CwLabel::Death),
        _ => None,
    })
}

fn cw(args: &str) -> Result<CwChange, String> {
    let (head, text) = match args.split_once("--") {
        Some((head, text)) => (head.trim(), Some(text.trim())),
        None => (args.trim(), None),
    };
    if text.is_none() && head.is_empty() {
        return Ok(CwChange::Show);
    }
    if text.is_none() && matches!(head.to_lowercase().as_str(), "off" | "none" | "clear" | "-") {
        return Ok(CwChange::Clear);
    }
    let mut labels = Vec::new();
    let mut words = head.split_whitespace().peekable();
    while let Some(word) = words.peek() {
        let pieces: Vec<&str> = word.split(',').filter(|p| !p.is_empty()).collect();
        let parsed: Option<Vec<CwLabel>> = pieces.iter().map(|p| label(p)).collect();
        match parsed {
            Some(found) if !found.is_empty() => {
                labels.extend(found);
                words.next();
            }
            _ => break,
        }
    }
    let note = words.collect::<Vec<_>>().join(" ");
    if labels.is_empty() && note.is_empty() {
        return Err("Which warning? For example: /cw self-harm (or /help cw).".to_owned());
    }
    if note.len() > MAX_CW_TEXT_BYTES {
        return Err(format!(
            "The warning note is a little long: up to {MAX_CW_TEXT_BYTES} bytes fit. The post itself goes after --."
        ));
    }
    if note.chars().any(char::is_control) || has_direction_control(&note) {
        return Err("The warning note can't hold control characters.".to_owned());
    }
    let warning = ContentWarning::new(labels, (!note.is_empty()).then_some(note));
    Ok(CwChange::Set {
        warning,
        text: text.filter(|t| !t.is_empty()).map(str::to_owned),
    })
}

/// A warning in words: `self-harm, death — “note”`.
pub(super) fn describe_warning(warning: &ContentWarning) -> String {
    // The automated label marks a bot's post (shown by its name), not a
    // warning.
    let labels: Vec<&str> = warning
        .labels
        .iter()
        .filter(|l| **l != CwLabel::Automated)
        .map(CwLabel::as_str)
        .collect();
    match (labels.is_empty(), &warning.text) {
        (false, Some(text)) => format!("{} — “{text}”", labels.join(", ")),
        (false, None) => labels.join(", "),
        (true, Some(text)) => format!("“{text}”"),
        (true, None) => "content warning".to_owned(),
    }
}

#[cfg(test)]
mod tests;
