//! Blocklists and the compiled policy that matches posts against them.
//!
//! A node's user chooses what is hidden: their own local list, and the
//! lists of moderators they follow (for one channel or for all). A matched
//! post is hidden and not relayed; [`Policy::check`] always says which list,
//! entry and reason matched, so an interface can tell the user why.
//!
//! Matching stays fast with tens of thousands of entries: keys, post ids and
//! channels are hash lookups, keywords one Aho-Corasick pass, regular
//! expressions one `RegexSet` pass. Regular expressions are compiled under
//! size limits, and each list may hold at most [`MAX_POLICY_REGEXES`], so a
//! hostile list cannot exhaust memory or time.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Hir, HirKind, Look};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::channel::ChannelName;
use crate::envelope::MessageId;
use crate::error::{BuildError, FieldError};
use crate::keys::PublicKey;
use crate::limits::{
    MAX_KEYWORD_BYTES, MAX_LIST_ENTRIES, MAX_LIST_TITLE_BYTES, MAX_REASON_BYTES, MAX_REGEX_BYTES,
};
use crate::post::Post;
use crate::text;

/// Most regular expressions one list contributes to a policy; later ones
/// are skipped and reported, and other lists are not affected.
pub const MAX_POLICY_REGEXES: usize = 2_000;
/// Compiled-size limit of one regular expression, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Compiled-size limit of the combined regular-expression set, in bytes.
pub const REGEX_SET_SIZE_LIMIT: usize = 64 * 1024 * 1024;

/// What an entry blocks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlockTarget {
    /// Every post by this persona.
    Persona(PublicKey),
    /// One post.
    Post(MessageId),
    /// Posts whose body, nickname or content-warning text contains this
    /// keyword, compared without invisible characters, case or confusable
    /// look-alikes ([`crate::text::keyword_form`]).
    Keyword(String),
    /// Posts whose body, nickname or content-warning text matches this
    /// regular expression (Rust `regex` syntax, linear-time matching),
    /// case-insensitively, in the text with its invisible characters
    /// removed.
    Regex(String),
    /// A whole channel and its sub-channels.
    Channel(ChannelName),
}

impl BlockTarget {
    /// A one-word name of the target's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            BlockTarget::Persona(_) => "persona",
            BlockTarget::Post(_) => "post",
            BlockTarget::Keyword(_) => "keyword",
            BlockTarget::Regex(_) => "regex",
            BlockTarget::Channel(_) => "channel",
        }
    }
}

/// Where an entry, or a followed list, applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Scope {
    /// Every channel.
    #[default]
    All,
    /// One channel and its sub-channels (`grief` covers `grief/es`).
    Channel(ChannelName),
}

impl Scope {
    /// Whether a post in `channel` falls in this scope.
    pub fn covers(&self, channel: &ChannelName) -> bool {
        match self {
            Scope::All => true,
            Scope::Channel(scope) => is_within(channel, scope),
        }
    }
}

/// `channel` is `parent` or one of its sub-channels.
fn is_within(channel: &ChannelName, parent: &ChannelName) -> bool {
    let (c, p) = (channel.as_str(), parent.as_str());
    c == p || (c.starts_with(p) && c.as_bytes().get(p.len()) == Some(&b'/'))
}

/// One entry of a blocklist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockEntry {
    /// What it blocks.
    pub target: BlockTarget,
    /// Where it applies.
    pub scope: Scope,
    /// Why, in a line a person can read (may be empty).
    pub reason: String,
}

impl BlockEntry {
    /// An entry for every channel with the given reason.
    pub fn new(target: BlockTarget, reason: impl Into<String>) -> Self {
        Self {
            target,
            scope: Scope::All,
            reason: reason.into(),
        }
    }

    /// Limits the entry to one channel.
    pub fn in_channel(mut self, channel: ChannelName) -> Self {
        self.scope = Scope::Channel(channel);
        self
    }

    /// The rules every entry must satisfy, on the wire and in a local list.
    pub fn check(&self) -> Result<(), BuildError> {
        self.check_fields().map_err(BuildError::from)
    }

    pub(crate) fn check_fields(&self) -> Result<(), FieldError> {
        if !self.reason.is_empty() {
            text::check_line("reason", &self.reason, MAX_REASON_BYTES)?;
        }
        match &self.target {
            BlockTarget::Keyword(k) => text::check_line("keyword", k, MAX_KEYWORD_BYTES)?,
            BlockTarget::Regex(r) => text::check_line("regex", r, MAX_REGEX_BYTES)?,
            BlockTarget::Persona(_) | BlockTarget::Post(_) | BlockTarget::Channel(_) => {}
        }
        Ok(())
    }
}

/// A verified moderator list: a signed, sequence-numbered set of entries.
/// A moderator makes one with [`ModeratorList::sign`] (in [`crate::sign`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorList {
    /// The moderator key that signed it.
    pub moderator: PublicKey,
    /// Higher replaces lower.
    pub sequence: u64,
    /// When it was signed, in ms since the Unix epoch.
    pub created_ms: u64,
    /// A short title ("Grief channel spam").
    pub title: String,
    /// The entries.
    pub entries: Vec<BlockEntry>,
}

/// The body of a moderator-list envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModeratorListWire {
    pub sequence: u64,
    pub created_ms: u64,
    pub title: String,
    pub entries: Vec<BlockEntry>,
}

impl ModeratorListWire {
    pub(crate) fn check(&self) -> Result<(), FieldError> {
        if !self.title.is_empty() {
            text::check_line("list title", &self.title, MAX_LIST_TITLE_BYTES)?;
        }
        if self.entries.len() > MAX_LIST_ENTRIES {
            return Err(FieldError::Field(
                "moderator list has more than 10000 entries",
            ));
        }
        self.entries.iter().try_for_each(BlockEntry::check_fields)
    }

    pub(crate) fn into_list(self, moderator: PublicKey) -> ModeratorList {
        ModeratorList {
            moderator,
            sequence: self.sequence,
            created_ms: self.created_ms,
            title: self.title,
            entries: self.entries,
        }
    }
}

/// Why a moderator list cannot replace the one held.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ListUpdateError {
    /// The new list is signed by another moderator.
    #[error("the list is signed by another moderator")]
    OtherModerator,
    /// The new list's sequence is not above the held one's.
    #[error("list sequence {offered} is not newer than the held {held}")]
    NotNewer {
        /// The held list's sequence.
        held: u64,
        /// The offered list's sequence.
        offered: u64,
    },
}

impl ModeratorList {
    /// Whether this list may replace `held`: same moderator, strictly higher
    /// sequence. Older or equal sequences are refused, so a replayed old
    /// list cannot undo a newer one.
    pub fn may_replace(&self, held: Option<&ModeratorList>) -> Result<(), ListUpdateError> {
        match held {
            None => Ok(()),
            Some(held) if held.moderator != self.moderator => Err(ListUpdateError::OtherModerator),
            Some(held) if self.sequence <= held.sequence => Err(ListUpdateError::NotNewer {
                held: held.sequence,
                offered: self.sequence,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// Which list an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ListId {
    /// The user's own list.
    Local,
    /// A followed moderator's list.
    Moderator(PublicKey),
}

impl std::fmt::Display for ListId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListId::Local => f.write_str("your own blocklist"),
            ListId::Moderator(key) => write!(f, "moderator {}", key.name()),
        }
    }
}

/// One list as the policy receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyList {
    /// Where it came from.
    pub id: ListId,
    /// Where the user applies it (a moderator followed for one channel).
    pub applies_to: Scope,
    /// Its entries.
    pub entries: Vec<BlockEntry>,
}

/// Why a policy matched a post: the list, the entry and its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The list that matched.
    pub list: ListId,
    /// The entry's index in that list.
    pub entry: usize,
    /// What the entry blocks.
    pub target: BlockTarget,
    /// The entry's reason.
    pub reason: String,
}

/// An entry the policy could not use; the rest of its list still applies.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{list}, entry {entry}: {problem}")]
pub struct PolicyError {
    /// The list.
    pub list: ListId,
    /// The entry's index in that list.
    pub entry: usize,
    /// What was wrong.
    pub problem: String,
}

#[derive(Debug, Clone, Copy)]
struct EntryRef {
    list: usize,
    entry: usize,
}

/// The compiled form of several blocklists.
#[derive(Debug, Default)]
pub struct Policy {
    lists: Vec<PolicyList>,
    personas: HashMap<PublicKey, Vec<EntryRef>>,
    posts: HashMap<MessageId, Vec<EntryRef>>,
    channels: HashMap<ChannelName, Vec<EntryRef>>,
    keywords: Option<AhoCorasick>,
    keyword_refs: Vec<EntryRef>,
    regexes: RegexMatcher,
    regex_refs: Vec<EntryRef>,
    problems: Vec<PolicyError>,
    usable: usize,
}

#[derive(Debug, Default)]
enum RegexMatcher {
    #[default]
    None,
    Set(RegexSet),
    /// Used when the combined set would exceed its size limit: each pattern
    /// already compiled under its own limit, matched one by one.
    Each(Vec<Regex>),
}

impl Policy {
    /// Compiles lists into a policy. Entries that cannot be used (a regular
    /// expression that does not compile within limits, too many regular
    /// expressions) are skipped and reported by [`Policy::problems`].
    pub fn compile(lists: impl IntoIterator<Item = PolicyList>) -> Policy {
        let mut policy = Policy {
            lists: lists.into_iter().collect(),
            ..Policy::default()
        };
        let total: usize = policy.lists.iter().map(|l| l.entries.len()).sum();
        let mut keywords = Vec::new();
        let mut patterns = Vec::new();
        let mut regexes_per_list = HashMap::new();
        for (li, list) in policy.lists.iter().enumerate() {
            for (ei, entry) in list.entries.iter().enumerate() {
                let at = EntryRef {
                    list: li,
                    entry: ei,
                };
                let problem = |problem: String| PolicyError {
                    list: list.id,
                    entry: ei,
                    problem,
                };
                if let Err(e) = entry.check() {
                    policy.problems.push(problem(e.to_string()));
                    continue;
                }
                match &entry.target {
                    BlockTarget::Persona(k) => policy.personas.entry(*k).or_default().push(at),
                    BlockTarget::Post(id) => policy.posts.entry(*id).or_default().push(at),
                    BlockTarget::Channel(c) => {
                        policy.channels.entry(c.clone()).or_default().push(at)
                    }
                    BlockTarget::Keyword(k) => {
                        let folded = text::keyword_form(k);
                        if folded.is_empty() {
                            // Only characters the comparison removes: it
                            // would match every post.
                            policy.problems.push(problem(
                                "keyword has no character left after removing invisible ones"
                                    .to_owned(),
                            ));
                            continue;
                        }
                        keywords.push(folded);
                        policy.keyword_refs.push(at);
                    }
                    BlockTarget::Regex(r) => {
                        let in_list = regexes_per_list.entry(li).or_insert(0usize);
                        if *in_list >= MAX_POLICY_REGEXES {
                            policy
                                .problems
                                .push(problem("too many regular expressions".to_owned()));
                            continue;
                        }
                        match prepare_regex(r) {
                            Ok(pattern) => {
                                *in_list += 1;
                                patterns.push(pattern);
                                policy.regex_refs.push(at);
                            }
                            Err(e) => policy.problems.push(problem(e)),
                        }
                    }
                }
            }
        }
        if !keywords.is_empty() {
            // Keywords are plain text of at most 100 bytes each, so building
            // cannot fail short of memory exhaustion; if it does, keyword
            // matching is reported off rather than the node stopping.
            match AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&keywords)
            {
                Ok(ac) => policy.keywords = Some(ac),
                Err(e) => policy.problems.push(PolicyError {
                    list: ListId::Local,
                    entry: 0,
                    problem: format!("keyword matcher: {e}"),
                }),
            }
        }
        if !patterns.is_empty() {
            policy.regexes = match RegexSetBuilder::new(&patterns)
                .size_limit(REGEX_SET_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SET_SIZE_LIMIT)
                .build()
            {
                Ok(set) => RegexMatcher::Set(set),
                // Too big together: compile one by one under the
                // per-pattern limit, and report the ones that do not fit.
                Err(_) => {
                    let mut each = Vec::new();
                    let mut refs = Vec::new();
                    for (pattern, at) in patterns.iter().zip(&policy.regex_refs) {
                        match RegexBuilder::new(pattern)
                            .size_limit(REGEX_SIZE_LIMIT)
                            .dfa_size_limit(REGEX_SIZE_LIMIT)
                            .build()
                        {
                            Ok(re) => {
                                each.push(re);
                                refs.push(*at);
                            }
                            Err(e) => {
                                let list =
                                    policy.lists.get(at.list).map_or(ListId::Local, |l| l.id);
                                policy.problems.push(PolicyError {
                                    list,
                                    entry: at.entry,
                                    problem: e.to_string(),
                                });
                            }
                        }
                    }
                    policy.regex_refs = refs;
                    RegexMatcher::Each(each)
                }
            };
        }
        policy.usable = total.saturating_sub(policy.problems.len());
        policy
    }

    /// An empty policy that matches nothing.
    pub fn empty() -> Policy {
        Policy::default()
    }

    /// The entries that were skipped, with why.
    pub fn problems(&self) -> &[PolicyError] {
        &self.problems
    }

    /// The number of usable entries.
    pub fn len(&self) -> usize {
        self.usable
    }

    /// True when no entry is usable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `post` (with id `id`) is blocked, and by what. Checks, in
    /// order: persona, post id, channel, keywords, regular expressions.
    pub fn check(&self, id: &MessageId, post: &Post) -> Option<Verdict> {
        let channel = &post.channel;
        let keyed = self
            .personas
            .get(&post.author)
            .into_iter()
            .chain(self.posts.get(id))
            .flatten()
            .copied();
        if let Some(v) = self.first_applicable(keyed, channel) {
            return Some(v);
        }
        if let Some(v) = self.channel_match(channel) {
            return Some(v);
        }
        let texts = post_texts(post);
        if let Some(ac) = &self.keywords {
            for text in &texts {
                let folded = text::keyword_form(text);
                let hits = ac
                    .find_overlapping_iter(&folded)
                    .filter_map(|m| self.keyword_refs.get(m.pattern().as_usize()).copied());
                if let Some(v) = self.first_applicable(hits, channel) {
                    return Some(v);
                }
            }
        }
        for text in &texts {
            let visible = text::without_invisible(text);
            let text = visible.as_ref();
            let hits: Vec<usize> = match &self.regexes {
                RegexMatcher::None => Vec::new(),
                RegexMatcher::Set(set) => set.matches(text).into_iter().collect(),
                RegexMatcher::Each(each) => each
                    .iter()
                    .enumerate()
                    .filter(|(_, re)| re.is_match(text))
                    .map(|(i, _)| i)
                    .collect(),
            };
            let refs = hits
                .into_iter()
                .filter_map(|i| self.regex_refs.get(i).copied());
            if let Some(v) = self.first_applicable(refs, channel) {
                return Some(v);
            }
        }
        None
    }

    fn channel_match(&self, channel: &ChannelName) -> Option<Verdict> {
        if self.channels.is_empty() {
            return None;
        }
        // A channel entry covers its sub-channels: look up every prefix
        // that ends at a '/' boundary (at most four).
        let name = channel.as_str();
        let prefixes = name
            .match_indices('/')
            .map(|(i, _)| name.get(..i).unwrap_or(name))
            .chain(std::iter::once(name));
        for prefix in prefixes {
            let Ok(prefix) = ChannelName::try_from(prefix.to_owned()) else {
                continue;
            };
            if let Some(refs) = self.channels.get(&prefix)
                && let Some(v) = self.first_applicable(refs.iter().copied(), channel)
            {
                return Some(v);
            }
        }
        None
    }

    fn first_applicable(
        &self,
        refs: impl IntoIterator<Item = EntryRef>,
        channel: &ChannelName,
    ) -> Option<Verdict> {
        refs.into_iter().find_map(|at| {
            let list = self.lists.get(at.list)?;
            let entry = list.entries.get(at.entry)?;
            (list.applies_to.covers(channel) && entry.scope.covers(channel)).then(|| Verdict {
                list: list.id,
                entry: at.entry,
                target: entry.target.clone(),
                reason: entry.reason.clone(),
            })
        })
    }
}

/// Checks a pattern's syntax and rewrites it for matching: case-insensitive,
/// and with Unicode word boundaries (`\b`, `\B`, `\b{start}` …) replaced by
/// ASCII ones. A Unicode word boundary forces the regex engine off its fast
/// path on any non-ASCII text, which makes matching a post in most languages
/// a thousand times slower and lets a hostile post stall a node.
fn prepare_regex(pattern: &str) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    Ok(ascii_word_boundaries(hir).to_string())
}

/// Deepest nesting a pattern may have; bounds the recursion below.
const REGEX_NEST_LIMIT: u32 = 64;

fn ascii_word_boundaries(hir: Hir) -> Hir {
    if !hir.properties().look_set().contains_word_unicode() {
        return hir;
    }
    match hir.into_kind() {
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => other,
        }),
        HirKind::Repetition(mut rep) => {
            rep.sub = Box::new(ascii_word_boundaries(*rep.sub));
            Hir::repetition(rep)
        }
        HirKind::Capture(mut cap) => {
            cap.sub = Box::new(ascii_word_boundaries(*cap.sub));
            Hir::capture(cap)
        }
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(ascii_word_boundaries).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.into_iter().map(ascii_word_boundaries).collect())
        }
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(lit) => Hir::literal(lit.0),
        HirKind::Class(class) => Hir::class(class),
    }
}

/// The texts of a post that keywords and patterns are matched against.
fn post_texts(post: &Post) -> Vec<&str> {
    let mut texts = vec![post.body.as_str()];
    texts.extend(post.nickname.as_deref());
    texts.extend(
        post.content_warning
            .as_ref()
            .and_then(|cw| cw.text.as_deref()),
    );
    texts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Keypair;

    /// A post as validation would hand it over; matching needs no
    /// signature, so none is made.
    fn post(body: &str) -> (MessageId, Post) {
        let post = Post {
            channel: ChannelName::parse("grief").unwrap(),
            author: Keypair::from_secret_bytes([1; 32]).public(),
            created_ms: 1,
            expires_ms: None,
            reply_to: None,
            content_warning: None,
            nickname: None,
            body: body.to_owned(),
            persona_stamp: crate::stamp::PersonaStamp::default(),
            nonce: 0,
        };
        (MessageId::of(body.as_bytes()), post)
    }

    fn regex_list(id: ListId, patterns: impl IntoIterator<Item = String>) -> PolicyList {
        PolicyList {
            id,
            applies_to: Scope::All,
            entries: patterns
                .into_iter()
                .map(|p| BlockEntry::new(BlockTarget::Regex(p), "pattern"))
                .collect(),
        }
    }

    #[test]
    fn word_boundaries_still_bound_words_after_the_ascii_rewrite() {
        let policy = Policy::compile([regex_list(ListId::Local, [r"\bsad\b".to_owned()])]);
        assert!(policy.problems().is_empty(), "{:?}", policy.problems());
        let (id, hit) = post("so SAD today");
        assert!(policy.check(&id, &hit).is_some());
        let (id, miss) = post("sadness is different");
        assert!(policy.check(&id, &miss).is_none());
        let (id, spanish) = post("estoy triste, muy triste y sad.");
        assert!(policy.check(&id, &spanish).is_some());
    }

    fn keyword_list(keywords: &[&str]) -> PolicyList {
        PolicyList {
            id: ListId::Local,
            applies_to: Scope::All,
            entries: keywords
                .iter()
                .map(|k| BlockEntry::new(BlockTarget::Keyword((*k).to_owned()), "keyword"))
                .collect(),
        }
    }

    #[test]
    fn keywords_see_through_invisible_characters_and_look_alikes() {
        let policy = Policy::compile([keyword_list(&["spam"])]);
        for disguised in [
            "buy my s\u{200B}pam now",
            "\u{0455}\u{0440}\u{0430}m here",
            "S\u{2060}P\u{FEFF}A\u{00AD}M",
        ] {
            let (id, p) = post(disguised);
            assert!(policy.check(&id, &p).is_some(), "{disguised:?}");
        }
        let (id, p) = post("a spa day");
        assert!(policy.check(&id, &p).is_none());
        // A disguised keyword matches plain text the same way.
        let policy = Policy::compile([keyword_list(&["\u{0455}\u{0440}\u{0430}m"])]);
        let (id, p) = post("no more spam");
        assert!(policy.check(&id, &p).is_some());
    }

    #[test]
    fn regexes_see_the_text_without_invisible_characters() {
        let policy = Policy::compile([regex_list(ListId::Local, [r"\bfree money\b".to_owned()])]);
        let (id, p) = post("get fr\u{200B}ee mon\u{2060}ey");
        assert!(policy.check(&id, &p).is_some());
    }

    #[test]
    fn a_keyword_of_invisible_characters_only_is_reported_not_matched() {
        let policy = Policy::compile([keyword_list(&["\u{200B}\u{200B}", "hopeless"])]);
        assert_eq!(policy.problems().len(), 1);
        let (id, p) = post("anything at all");
        assert!(policy.check(&id, &p).is_none());
    }

    #[test]
    fn bad_patterns_are_reported_and_the_rest_still_applies() {
        let policy = Policy::compile([regex_list(
            ListId::Local,
            ["(unclosed".to_owned(), "fine".to_owned()],
        )]);
        assert_eq!(policy.problems().len(), 1);
        assert_eq!(policy.problems()[0].entry, 0);
        let (id, p) = post("this is fine");
        assert_eq!(policy.check(&id, &p).unwrap().entry, 1);
    }

    #[test]
    fn a_list_full_of_patterns_does_not_crowd_out_another_lists_patterns() {
        let moderator = ListId::Moderator(Keypair::from_secret_bytes([2; 32]).public());
        let flood = regex_list(
            moderator,
            (0..=MAX_POLICY_REGEXES).map(|i| format!("zz{i}qq")),
        );
        let own = regex_list(ListId::Local, ["hopeless".to_owned()]);
        let policy = Policy::compile([flood, own]);
        assert_eq!(policy.problems().len(), 1, "only the one over the cap");
        let (id, p) = post("feeling hopeless");
        assert_eq!(policy.check(&id, &p).unwrap().list, ListId::Local);
    }
}
