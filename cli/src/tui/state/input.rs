//! The line being typed: editing that keeps the cursor on a character
//! boundary and never lets control characters in.

use hearth_protocol::limits::MAX_BODY_BYTES;

/// Most bytes the input line holds: a full post plus room for a command.
pub const MAX_INPUT_BYTES: usize = MAX_BODY_BYTES + 512;

/// The line being typed, with a cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputLine {
    text: String,
    /// A byte offset, always on a character boundary.
    cursor: usize,
}

impl InputLine {
    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor as a count of characters before it.
    #[cfg(test)]
    pub fn cursor_chars(&self) -> usize {
        self.before().chars().count()
    }

    /// The text before the cursor.
    pub fn before(&self) -> &str {
        self.text.get(..self.cursor).unwrap_or(&self.text)
    }

    fn after(&self) -> &str {
        self.text.get(self.cursor..).unwrap_or("")
    }

    /// True when nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Replaces the text; the cursor goes to the end.
    pub fn set(&mut self, text: &str) {
        self.text.clear();
        self.cursor = 0;
        self.insert_str(text);
    }

    /// Takes the text out, leaving the line empty.
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    /// Inserts text at the cursor, cleaned of control characters (tabs
    /// become spaces, line ends become newlines). Returns false if some of
    /// it did not fit.
    pub fn insert_str(&mut self, text: &str) -> bool {
        let text = text.replace("\r\n", "\n");
        let mut all = true;
        for c in text.chars() {
            let clean = match c {
                '\r' | '\n' => "\n".to_owned(),
                '\t' => "    ".to_owned(),
                c if c.is_control() || is_direction_control(c) => continue,
                c => c.to_string(),
            };
            if self.text.len() + clean.len() > MAX_INPUT_BYTES {
                all = false;
                break;
            }
            self.text.insert_str(self.cursor, &clean);
            self.cursor += clean.len();
        }
        all
    }

    pub(super) fn backspace(&mut self) {
        if let Some(c) = self.before().chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    pub(super) fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    pub(super) fn left(&mut self) {
        if let Some(c) = self.before().chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    pub(super) fn right(&mut self) {
        if let Some(c) = self.after().chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    pub(super) fn word_left(&mut self) {
        let before = self.before();
        let trimmed = before.trim_end();
        let start = trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        self.cursor = start;
    }

    pub(super) fn word_right(&mut self) {
        let after = self.after();
        let skip_space = after.len() - after.trim_start().len();
        let rest = after.get(skip_space..).unwrap_or("");
        let word = rest.find(char::is_whitespace).unwrap_or(rest.len());
        self.cursor += skip_space + word;
    }

    pub(super) fn delete_word_back(&mut self) {
        let end = self.cursor;
        self.word_left();
        self.text.replace_range(self.cursor..end, "");
    }

    pub(super) fn home(&mut self) {
        self.cursor = 0;
    }

    pub(super) fn end(&mut self) {
        self.cursor = self.text.len();
    }

    pub(super) fn kill_to_start(&mut self) {
        self.text.replace_range(..self.cursor, "");
        self.cursor = 0;
    }

    pub(super) fn kill_to_end(&mut self) {
        self.text.truncate(self.cursor);
    }
}

fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
