//! Text made safe and fitted to a width: control characters replaced,
//! lines cut or wrapped by grapheme and cell width.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Text safe to draw: tabs become spaces, other control characters a
/// visible replacement.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\t' => vec![' '; 4],
            '\n' => vec![' '],
            c if c.is_control()
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                vec!['\u{FFFD}']
            }
            c => vec![c],
        })
        .collect()
}

pub(super) fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for g in Span::raw(text).styled_graphemes(Style::new()) {
        let w = Span::raw(g.symbol).width();
        if used + w > width {
            if width > 0 && used < width {
                out.push('…');
            }
            break;
        }
        used += w;
        out.push_str(g.symbol);
    }
    out
}

/// Wraps one logical line of spans to `width` cells, breaking at spaces
/// where it can; continuation lines start with `indent` spaces.
pub(super) fn wrap(spans: &[Span<'static>], width: usize, indent: usize) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let indent = if width > indent + 8 { indent } else { 0 };
    let mut cells: Vec<(String, Style, usize)> = Vec::new();
    for span in spans {
        for g in span.styled_graphemes(Style::new()) {
            cells.push((g.symbol.to_owned(), g.style, Span::raw(g.symbol).width()));
        }
    }
    let mut lines = Vec::new();
    let mut current: Vec<(String, Style, usize)> = Vec::new();
    let mut used = 0;
    let mut first = true;
    let start_len = |first: bool| if first { 0 } else { indent };
    for cell in cells {
        if used + cell.2 > width && current.len() > start_len(first) {
            let lead = start_len(first);
            // Break at the overflowing space itself, else at the last space.
            let break_at = (cell.0 != " ")
                .then(|| {
                    current
                        .iter()
                        .enumerate()
                        .skip(lead + 1)
                        .rev()
                        .find(|(_, c)| c.0 == " ")
                        .map(|(i, _)| i)
                })
                .flatten();
            let carry = match break_at {
                Some(at) if at > lead => {
                    let carry: Vec<_> = current.split_off(at + 1);
                    current.pop();
                    carry
                }
                _ => Vec::new(),
            };
            lines.push(to_line(std::mem::take(&mut current)));
            first = false;
            current = (0..indent)
                .map(|_| (" ".to_owned(), Style::new(), 1))
                .collect();
            current.extend(carry);
            used = current.iter().map(|c| c.2).sum();
            if cell.0 == " " {
                continue;
            }
        }
        used += cell.2;
        current.push(cell);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(to_line(current));
    }
    lines
}

fn to_line(cells: Vec<(String, Style, usize)>) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style = None;
    for (symbol, s, _) in cells {
        if style.is_some_and(|st| st != s) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                style.unwrap_or_default(),
            ));
        }
        style = Some(s);
        text.push_str(&symbol);
    }
    if !text.is_empty() {
        spans.push(Span::styled(text, style.unwrap_or_default()));
    }
    Line::from(spans)
}

/// Cuts text to `width` cells without an ellipsis.
pub(super) fn truncate_plain(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for g in Span::raw(text).styled_graphemes(Style::new()) {
        let w = Span::raw(g.symbol).width();
        if used + w > width {
            break;
        }
        used += w;
        out.push_str(g.symbol);
    }
    out
}
