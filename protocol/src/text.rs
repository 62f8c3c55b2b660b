//! Rules for human text in messages.
//!
//! Control characters could rewrite a reader's terminal, and direction
//! overrides could make one text display as another, so both are refused.
//! Only the post body may hold newlines and tabs.

use crate::error::TextError;

/// Bidirectional override and isolate controls (U+202A..U+202E,
/// U+2066..U+2069), refused because they let a text display as another.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Checks a multi-line text (a post body): not blank, at most `limit`
/// bytes, no control characters but newline and tab.
pub fn check_multiline(field: &'static str, text: &str, limit: usize) -> Result<(), TextError> {
    check(field, text, limit, true)
}

/// Checks a one-line text (nickname, content-warning text, reason,
/// keyword): not blank, at most `limit` bytes, no control characters.
pub fn check_line(field: &'static str, text: &str, limit: usize) -> Result<(), TextError> {
    check(field, text, limit, false)
}

fn check(field: &'static str, text: &str, limit: usize, multiline: bool) -> Result<(), TextError> {
    if text.len() > limit {
        return Err(TextError::TooLong {
            field,
            len: text.len(),
            limit,
        });
    }
    if text.trim().is_empty() {
        return Err(TextError::Empty { field });
    }
    let allowed_control = |c: char| multiline && (c == '\n' || c == '\t');
    match text
        .chars()
        .find(|&c| (c.is_control() && !allowed_control(c)) || is_direction_control(c))
    {
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
}
