//! The crisis card drawn over the bottom of the message area, just above
//! the status line, where the person is looking: for `/crisis` and Ctrl+G,
//! and when a post is held back for a second Enter.
//!
//! When the window is short, the first lines (the country, the emergency
//! number, the lines to call) are the ones kept.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::super::state::CareOverlay;
use super::text::{clean, wrap};
use super::{FAINT, HELP, HINT, WARN};

/// Draws the overlay in the bottom of `area`.
pub(super) fn draw_care(frame: &mut Frame<'_>, overlay: CareOverlay<'_>, area: Rect) {
    if area.height < 3 || area.width < 10 {
        return;
    }
    let inner = usize::from(area.width.saturating_sub(2));
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(lead) = overlay.lead {
        lines.extend(wrap(&[Span::styled(lead, Style::new().fg(WARN))], inner, 2));
    }
    for (i, text) in overlay.card.iter().enumerate() {
        let style = if i == 0 {
            Style::new().fg(HELP).add_modifier(Modifier::BOLD)
        } else if i == 1 {
            Style::new().fg(HINT)
        } else {
            Style::new().fg(HELP)
        };
        lines.extend(wrap(&[Span::styled(clean(text), style)], inner, 4));
    }
    lines.extend(wrap(
        &[Span::styled(overlay.keys, Style::new().fg(FAINT))],
        inner,
        2,
    ));
    // Keep the most urgent lines and the keys when it does not all fit.
    let room = usize::from(area.height.saturating_sub(2));
    if lines.len() > room && room > 0 {
        let keys = lines.pop();
        lines.truncate(room.saturating_sub(1));
        lines.extend(keys);
    }
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(area.height)
        .min(area.height);
    let rect = Rect {
        y: area.y + area.height - height,
        height,
        ..area
    };
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_style(Style::new().fg(FAINT))
        .title(Span::styled(" crisis lines ", Style::new().fg(HINT)));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::super::draw;
    use crate::tui::Zone;
    use crate::tui::state::App;

    fn rows(app: &mut App, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, app)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..height)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn the_card_sits_above_the_status_line_and_the_input_stays() {
        let mut app = App::new(Zone::utc(), 1_795_000_000_000, None);
        for c in "half typed".chars() {
            app.input.insert_str(&c.to_string());
        }
        app.on_key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::F(1),
            crossterm::event::KeyModifiers::NONE,
        ));
        let screen = rows(&mut app, 100, 16);
        let text = screen.join("\n");
        assert!(text.contains("crisis lines"), "{text}");
        assert!(text.contains("Call your local emergency number"), "{text}");
        assert!(text.contains("Esc or Ctrl+G closes this"), "{text}");
        assert!(screen[15].starts_with("> half typed"), "{text}");
        assert!(screen[14].contains("Ctrl+G crisis lines"), "{text}");

        // A short window keeps the first lines and the keys.
        let screen = rows(&mut app, 60, 8);
        let text = screen.join("\n");
        assert!(text.contains("Crisis lines"), "{text}");
        assert!(text.contains("Esc or Ctrl+G closes this"), "{text}");
        assert!(screen[7].starts_with("> half typed"), "{text}");
    }
}
