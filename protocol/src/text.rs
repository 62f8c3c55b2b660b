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
