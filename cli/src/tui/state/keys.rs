//! Keys and pastes: editing, recalling sent lines, switching channels and
//! scrolling.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use hearth_protocol::limits::MAX_BODY_BYTES;

use super::{Action, App, Tone};

/// Most lines remembered for Up/Down recall.
const MAX_RECALL: usize = 100;

impl App {
    /// Takes pasted text: it goes into the input line, never sent by
    /// itself.
    pub fn on_paste(&mut self, text: &str) {
        self.recall_at = None;
        if !self.input.insert_str(text) {
            self.hint(format!(
                "That was more than one post can hold ({MAX_BODY_BYTES} bytes); the first part is in the input line."
            ));
        }
    }

    /// Takes a key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release || self.care_key(&key) {
            return Vec::new();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('c') if ctrl => {
                if self.input.is_empty() {
                    self.quit = true;
                    return vec![Action::Quit];
                }
                let text = self.input.take();
                self.remember(text);
            }
            KeyCode::Char('d') if ctrl => {
                if self.input.is_empty() {
                    self.quit = true;
                    return vec![Action::Quit];
                }
                self.input.delete();
            }
            KeyCode::Char('a') if ctrl => self.input.home(),
            KeyCode::Char('e') if ctrl => self.input.end(),
            KeyCode::Char('b') if ctrl => self.input.left(),
            KeyCode::Char('f') if ctrl => self.input.right(),
            KeyCode::Char('u') if ctrl => self.input.kill_to_start(),
            KeyCode::Char('k') if ctrl => self.input.kill_to_end(),
            KeyCode::Char('w') if ctrl => self.input.delete_word_back(),
            KeyCode::Char('h') if ctrl => self.input.backspace(),
            KeyCode::Char('n') if ctrl => self.switch_by(1),
            KeyCode::Char('p') if ctrl => self.switch_by(-1),
            KeyCode::Char('l') if ctrl => return vec![Action::Redraw],
            KeyCode::Char('j') if ctrl => return self.submit(),
            KeyCode::Char('b') if alt => self.input.word_left(),
            KeyCode::Char('f') if alt => self.input.word_right(),
            KeyCode::Char(c) if alt && c.is_ascii_digit() => {
                let n = c.to_digit(10).map_or(0, |d| d as usize);
                let index = if n == 0 { 9 } else { n - 1 };
                self.switch_to(index);
            }
            KeyCode::Char(_) if ctrl || alt => {}
            KeyCode::Char(c) => {
                self.recall_at = None;
                let mut buf = [0u8; 4];
                self.input.insert_str(c.encode_utf8(&mut buf));
            }
            KeyCode::Enter if alt || key.modifiers.contains(KeyModifiers::SHIFT) => {
                self.input.insert_str("\n");
            }
            KeyCode::Enter => return self.submit(),
            KeyCode::Backspace if alt || ctrl => self.input.delete_word_back(),
            KeyCode::Backspace => self.input.backspace(),
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left if ctrl || alt => self.input.word_left(),
            KeyCode::Right if ctrl || alt => self.input.word_right(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home if ctrl => self.scroll_by(isize::MAX / 2),
            KeyCode::End if ctrl => self.scroll_to_bottom(),
            KeyCode::Home => self.input.home(),
            KeyCode::End => self.input.end(),
            KeyCode::Up if ctrl || alt => self.scroll_by(1),
            KeyCode::Down if ctrl || alt => self.scroll_by(-1),
            KeyCode::Up => self.recall_older(),
            KeyCode::Down => self.recall_newer(),
            KeyCode::PageUp => self.scroll_by(self.page_step()),
            KeyCode::PageDown => self.scroll_by(-self.page_step()),
            KeyCode::Tab => self.switch_by(1),
            KeyCode::BackTab => self.switch_by(-1),
            KeyCode::Esc => self.escape(),
            _ => {}
        }
        Vec::new()
    }

    fn page_step(&self) -> isize {
        isize::try_from(self.page.saturating_sub(2).max(1)).unwrap_or(1)
    }

    fn scroll_by(&mut self, lines: isize) {
        if let Some(c) = self.current_mut() {
            c.scroll = c.scroll.saturating_add_signed(lines);
        }
    }

    pub(super) fn scroll_to_bottom(&mut self) {
        if let Some(c) = self.current_mut() {
            c.scroll = 0;
        }
    }

    fn escape(&mut self) {
        let had_pending = self.pending_reply.is_some() || self.pending_cw.is_some();
        self.pending_reply = None;
        self.pending_cw = None;
        self.scroll_to_bottom();
        if had_pending {
            self.notice("Reply and content warning cancelled.", Tone::Info);
        }
    }

    pub(super) fn remember(&mut self, line: String) {
        self.recall_at = None;
        if line.trim().is_empty() || self.recall.last() == Some(&line) {
            return;
        }
        self.recall.push(line);
        if self.recall.len() > MAX_RECALL {
            self.recall.remove(0);
        }
    }

    fn recall_older(&mut self) {
        if self.recall.is_empty() {
            return;
        }
        let at = match self.recall_at {
            None => {
                self.recall_draft = self.input.text().to_owned();
                self.recall.len() - 1
            }
            Some(at) => at.saturating_sub(1),
        };
        self.recall_at = Some(at);
        if let Some(line) = self.recall.get(at).cloned() {
            self.input.set(&line);
        }
    }

    fn recall_newer(&mut self) {
        let Some(at) = self.recall_at else {
            return;
        };
        if at + 1 >= self.recall.len() {
            self.recall_at = None;
            let draft = std::mem::take(&mut self.recall_draft);
            self.input.set(&draft);
        } else {
            self.recall_at = Some(at + 1);
            if let Some(line) = self.recall.get(at + 1).cloned() {
                self.input.set(&line);
            }
        }
    }
}
