//! Rules for human text in messages.
//!
//! Control characters could rewrite a reader's terminal, and direction
//! overrides could make one text display as another, so both are refused.
//! Only the post body may hold newlines and tabs; the Unicode line and
//! paragraph separators (U+2028, U+2029) are refused everywhere, so a
//! one-line field stays one line on every screen.
//!
//! A text made only of [blank](is_blank) characters (white space, and
//! characters that draw nothing such as U+200B ZERO WIDTH SPACE or U+3164
//! HANGUL FILLER) is refused as empty: it would show as an empty post or an
//! empty name while passing a plain white-space check. The lists are in
//! `docs/protocol.md`, section 8.

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::error::TextError;

/// Bidirectional override and isolate controls (U+202A..U+202E,
/// U+2066..U+2069), refused because they let a text display as another.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: line breaks that
/// are not control characters, refused in every text.
fn is_line_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Characters that draw nothing, or draw only blank space, and are not
/// Unicode white space: every `Default_Ignorable_Code_Point` of Unicode
/// 15.1 (zero-width spaces and joiners, direction marks, invisible
/// operators, variation selectors, the Hangul fillers, tags …) and
/// U+2800 BRAILLE PATTERN BLANK.
///
/// Texts made only of these and white space are empty; keyword matching
/// removes them before comparing.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// White space (Unicode `White_Space`, as [`char::is_whitespace`]) or
/// [invisible](is_invisible): a character that shows nothing a reader can
/// tell apart from nothing.
pub fn is_blank(c: char) -> bool {
    c.is_whitespace() || is_invisible(c)
}

/// True when `text` has no character but [blank](is_blank) ones (or no
/// character at all).
pub fn is_all_blank(text: &str) -> bool {
    text.chars().all(is_blank)
}

/// `text` without its [invisible](is_invisible) characters: what regular
/// expressions of a moderation policy are matched against. Borrowed when
/// there is nothing to remove.
pub fn without_invisible(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_invisible) {
        Cow::Owned(text.chars().filter(|&c| !is_invisible(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// The form in which keywords and texts are compared (`docs/protocol.md`
/// section 16.3): invisible characters removed, each character lowercased,
/// the Unicode TR39 confusable skeleton taken, each character lowercased
/// again. So `s\u{200B}pam`, `SPAM` and `ѕраm` (Cyrillic letters) all
/// become the same string as `spam`.
///
/// Lowercasing is per character ([`char::to_lowercase`], no context), with
/// U+03C2 GREEK SMALL LETTER FINAL SIGMA taken as U+03C3, so that every
/// step but the skeleton's normalisation (NFD) works character by
/// character. NFD never moves a character across an ASCII character (all
/// are starters and decompose to themselves), so ASCII characters take a
/// table lookup and only the runs of non-ASCII characters between them go
/// through the normalisation and confusable tables; the result is the
/// same as for the whole text at once (a property test checks it).
pub fn keyword_form(text: &str) -> String {
    let table = ascii_keyword_forms();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut run_start = None;
    for (at, c) in text.char_indices() {
        if c.is_ascii() {
            if let Some(start) = run_start.take() {
                push_unicode_form(text.get(start..at).unwrap_or_default(), &mut out);
            }
            out.push_str(table.get(usize::from(c as u8)).map_or("", String::as_str));
        } else if run_start.is_none() {
            run_start = Some(at);
        }
    }
    if let Some(start) = run_start {
        push_unicode_form(text.get(start..).unwrap_or_default(), &mut out);
    }
    out
}

/// Lowercase of one character, with final sigma as sigma.
fn lower(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase()
        .map(|l| if l == '\u{03C2}' { '\u{03C3}' } else { l })
}

/// Appends the keyword form of `text`, computed for the whole text at once.
fn push_unicode_form(text: &str, out: &mut String) {
    let visible: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .flat_map(lower)
        .collect();
    out.extend(unicode_security::skeleton(&visible).flat_map(lower));
}

/// The keyword form of `text` by the definition, without the ASCII table:
/// what [`keyword_form`] must equal.
#[cfg(test)]
fn keyword_form_unicode(text: &str) -> String {
    let mut out = String::new();
    push_unicode_form(text, &mut out);
    out
}

/// The keyword form of each ASCII character, computed once.
fn ascii_keyword_forms() -> &'static [String; 128] {
    static TABLE: OnceLock<[String; 128]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|b| {
            let c = char::from(u8::try_from(b).unwrap_or_default());
            let mut out = String::new();
            push_unicode_form(c.encode_utf8(&mut [0; 4]), &mut out);
            out
        })
    })
}

/// Checks a multi-line text (a post body): not blank, at most `limit`
/// bytes, no control characters but newline and tab.
pub fn check_multiline(field: &'static str, text: &str, limit: usize) -> Result<(), TextError> {
    check(field, text, limit, true)
}

/// Checks a one-line text (nickname, content-warning text, reason,
/// keyword): not blank, at most `limit` bytes, no control characters and
/// no line or paragraph separator.
pub fn check_line(field: &'static str, text: &str, limit: usize) -> Result<(), TextError> {
    check(field, text, limit, false)
}

/// Checks a nickname: a one-line text of at most `limit` bytes that
/// neither starts nor ends with a [blank](is_blank) character, so that
/// `" Sam"` and `"Sam\u{200B}"` cannot pass for `"Sam"`.
pub fn check_nickname(text: &str, limit: usize) -> Result<(), NicknameError> {
    check_line("nickname", text, limit).map_err(NicknameError::Text)?;
    let mut chars = text.chars();
    if chars.next().is_some_and(is_blank) || chars.next_back().is_some_and(is_blank) {
        return Err(NicknameError::Padded);
    }
    Ok(())
}

/// Why a nickname was refused: a text rule, or blank characters at either
/// end (a field rule, reported as `Field` on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NicknameError {
    /// The nickname breaks a text rule.
    Text(TextError),
    /// It starts or ends with a white-space or invisible character.
    Padded,
}

impl std::fmt::Display for NicknameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NicknameError::Text(e) => e.fmt(f),
            NicknameError::Padded => f.write_str(NICKNAME_PADDED),
        }
    }
}

impl std::error::Error for NicknameError {}

/// The message of [`NicknameError::Padded`].
pub(crate) const NICKNAME_PADDED: &str =
    "nickname starts or ends with white space or an invisible character";

fn check(field: &'static str, text: &str, limit: usize, multiline: bool) -> Result<(), TextError> {
    if text.len() > limit {
        return Err(TextError::TooLong {
            field,
            len: text.len(),
            limit,
        });
    }
    if is_all_blank(text) {
        return Err(TextError::Empty { field });
    }
    let allowed_control = |c: char| multiline && (c == '\n' || c == '\t');
    match text.chars().find(|&c| {
        (c.is_control() && !allowed_control(c)) || is_direction_control(c) || is_line_separator(c)
    }) {
        Some(c) => Err(TextError::ForbiddenCharacter {
            field,
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_allows_newlines_and_tabs_but_not_escapes() {
        assert!(check_multiline("body", "line one\n\tline two", 100).is_ok());
        assert_eq!(
            check_multiline("body", "red \u{1b}[31m", 100),
            Err(TextError::ForbiddenCharacter {
                field: "body",
                code: 0x1b
            })
        );
    }

    #[test]
    fn one_line_fields_refuse_newlines_and_direction_overrides() {
        assert!(check_line("nickname", "two\nlines", 32).is_err());
        assert_eq!(
            check_line("nickname", "evil\u{202E}gnp", 32),
            Err(TextError::ForbiddenCharacter {
                field: "nickname",
                code: 0x202E
            })
        );
    }

    #[test]
    fn line_and_paragraph_separators_are_refused_everywhere() {
        for sep in ['\u{2028}', '\u{2029}', '\u{85}', '\u{0B}', '\u{0C}', '\r'] {
            let text = format!("one{sep}two");
            assert_eq!(
                check_line("nickname", &text, 32),
                Err(TextError::ForbiddenCharacter {
                    field: "nickname",
                    code: u32::from(sep)
                }),
                "{sep:?}"
            );
            assert!(check_multiline("body", &text, 32).is_err(), "{sep:?}");
        }
    }

    #[test]
    fn limits_are_in_bytes_and_exact_at_the_boundary() {
        assert!(check_line("nickname", &"a".repeat(32), 32).is_ok());
        assert!(matches!(
            check_line("nickname", &"a".repeat(33), 32),
            Err(TextError::TooLong { len: 33, .. })
        ));
        // "é" is two bytes: 16 of them fill 32 bytes exactly.
        assert!(check_line("nickname", &"é".repeat(16), 32).is_ok());
        assert!(check_line("nickname", &"é".repeat(17), 32).is_err());
    }

    #[test]
    fn blank_text_is_refused() {
        assert_eq!(
            check_multiline("body", " \n\t ", 100),
            Err(TextError::Empty { field: "body" })
        );
    }

    #[test]
    fn texts_of_invisible_and_filler_characters_only_are_empty() {
        for blank in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{2800}\u{2800}",
            " \u{200B} \u{3000}\u{00A0}",
            "\u{E0041}\u{E007F}",
            "\u{FE0F}",
        ] {
            assert_eq!(
                check_multiline("body", blank, 100),
                Err(TextError::Empty { field: "body" }),
                "{blank:?}"
            );
            assert_eq!(
                check_line("nickname", blank, 100),
                Err(TextError::Empty { field: "nickname" }),
                "{blank:?}"
            );
        }
        // One visible character is enough, and invisible joiners inside
        // real text (emoji sequences, Persian ZWNJ) stay allowed.
        assert!(check_multiline("body", "\u{200B}x\u{200B}", 100).is_ok());
        assert!(check_line("nickname", "👩\u{200D}👩\u{200D}👧", 100).is_ok());
        assert!(check_line("nickname", "می\u{200C}خواهم", 100).is_ok());
    }

    #[test]
    fn keyword_form_removes_invisibles_case_and_confusables() {
        let spam = keyword_form("spam");
        for disguised in [
            "SPAM",
            "s\u{200B}pam",
            "S\u{2060}P\u{FEFF}A\u{00AD}M",
            "\u{0455}\u{0440}\u{0430}m",
            "\u{0405}\u{0420}\u{0410}M",
            "sp\u{2800}am",
        ] {
            assert_eq!(keyword_form(disguised), spam, "{disguised:?}");
        }
        assert_ne!(keyword_form("spa"), spam);
        assert_eq!(without_invisible("s\u{200B}p"), "sp");
        assert!(matches!(without_invisible("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn the_ascii_fast_path_equals_the_unicode_path() {
        for a in 0u8..128 {
            for b in 0u8..128 {
                let text: String = [char::from(a), char::from(b)].into_iter().collect();
                assert_eq!(keyword_form(&text), keyword_form_unicode(&text), "{text:?}");
            }
        }
        let sentence = "Claim your FREE b0nus today: rn vs m, l vs 1 | I, 0 vs O.";
        assert_eq!(keyword_form(sentence), keyword_form_unicode(sentence));
        // Every ASCII character's form is made of starters with no
        // canonical decomposition (ASCII, and U+00B0 and U+2080 from the
        // form of '%'), so it cannot take part in the normalisation of
        // its neighbours.
        for b in 0u8..128 {
            let form = keyword_form(&char::from(b).to_string());
            assert!(
                form.chars().all(|c| c.is_ascii() || matches!(c, '°' | '₀')),
                "{b}: {form:?}"
            );
        }
        for mixed in [
            "e\u{0301}a\u{0301}\u{0327}",
            "ΑΣ'a ΛΌΓΟΣ λόγος",
            "Ｓｐａｍ ｆｒｅｅ",
            "n\u{0303}o\u{0308}\u{0301}",
            "한국어 ㅎ\u{1161}",
            "%\u{0301}é%\u{0327}",
        ] {
            assert_eq!(
                keyword_form(mixed),
                keyword_form_unicode(mixed),
                "{mixed:?}"
            );
        }
        assert_eq!(keyword_form("ΛΌΓΟΣ"), keyword_form("λόγος"));
    }

    proptest::proptest! {
        /// The run-by-run computation equals the definition on text that
        /// mixes ASCII with combining marks, Greek, Cyrillic, fullwidth
        /// letters, Hangul and invisible characters.
        #[test]
        fn keyword_form_by_runs_equals_the_whole(
            chars in proptest::collection::vec(proptest::prop_oneof![
                4 => proptest::char::range(' ', '~'),
                1 => proptest::char::range('\u{0300}', '\u{036F}'),
                1 => proptest::char::range('\u{0370}', '\u{03FF}'),
                1 => proptest::char::range('\u{0400}', '\u{04FF}'),
                1 => proptest::char::range('\u{FF01}', '\u{FF5E}'),
                1 => proptest::char::range('\u{1100}', '\u{11FF}'),
                1 => proptest::char::range('\u{AC00}', '\u{AC40}'),
                1 => proptest::char::range('\u{00A0}', '\u{00FF}'),
                1 => proptest::char::range('\u{2000}', '\u{2070}'),
                1 => proptest::sample::select(vec!['\u{3164}', '\u{FEFF}', '\u{2800}', '\u{FE0F}']),
            ], 0..40)
        ) {
            let text: String = chars.into_iter().collect();
            proptest::prop_assert_eq!(keyword_form(&text), keyword_form_unicode(&text));
        }
    }

    #[test]
    fn nicknames_may_not_be_padded_with_blank_characters() {
        assert_eq!(check_nickname("Sam", 32), Ok(()));
        for padded in [" Sam", "Sam ", "\u{200B}Sam", "Sam\u{3164}", "\u{2800}Sam"] {
            assert_eq!(
                check_nickname(padded, 32),
                Err(NicknameError::Padded),
                "{padded:?}"
            );
        }
        assert_eq!(check_nickname("S", 32), Ok(()));
        assert!(matches!(
            check_nickname("\u{200B}", 32),
            Err(NicknameError::Text(TextError::Empty { .. }))
        ));
    }
}
