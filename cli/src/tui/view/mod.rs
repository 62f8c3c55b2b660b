//! Drawing the chat window with ratatui.
//!
//! ```text
//!  channels   │ ── Tuesday 3 June 2025 ──
//!  1 #anxiety │ 14:03 calm-otter-3f2a (Sam): I'm here too  3f2a9c1d
//!  2 #grief 2 │ 14:04 hidden by your own blocklist (use /why 9c1d3f2a)
//!  #anxiety · you are warm-heron-01ab · 3 peers here · connected      14:05
//!  > typed text stays here
//! ```
//!
//! The input line and the status line have fixed rows at the bottom;
//! posts only ever draw into the area above them, so nothing that arrives
//! can garble what is being typed.

mod care;
mod messages;
#[cfg(test)]
mod tests;
mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use self::messages::draw_messages;
use self::text::{clean, truncate, truncate_plain};
use super::commands::describe_warning;
use super::state::App;

/// Narrower terminals get no channel list.
const SIDEBAR_MIN_WIDTH: u16 = 56;

const DIM: Color = Color::Indexed(245);
const FAINT: Color = Color::Indexed(241);
const INFO: Color = Color::Indexed(109);
const HINT: Color = Color::Indexed(180);
const HELP: Color = Color::Indexed(250);
const WARN: Color = Color::Indexed(179);
const OK: Color = Color::Indexed(108);
const BAD: Color = Color::Indexed(174);
const OWN: Color = Color::Indexed(150);
const STATUS_BG: Color = Color::Indexed(236);
const STATUS_FG: Color = Color::Indexed(252);
const ACTIVE_BG: Color = Color::Indexed(238);
/// Soft colours for other people's names, picked by their key.
const NAME_COLOURS: [Color; 8] = [
    Color::Indexed(110),
    Color::Indexed(139),
    Color::Indexed(108),
    Color::Indexed(146),
    Color::Indexed(174),
    Color::Indexed(180),
    Color::Indexed(109),
    Color::Indexed(144),
];

/// Draws the whole window. Takes the app mutably only to keep scroll
/// positions steady and to record the page height.
pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let area = frame.area();
    if area.width == 0 || area.height == 0 {
        return;
    }
    let pending = pending_line(app);
    let [body, pending_area, status_area, input_area] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(u16::from(pending.is_some())),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);

    let show_sidebar = area.width >= SIDEBAR_MIN_WIDTH && !app.channels.is_empty();
    let messages_area = if show_sidebar {
        let width = sidebar_width(app);
        let [side, messages] =
            Layout::horizontal([Constraint::Length(width), Constraint::Min(1)]).areas(body);
        draw_sidebar(frame, app, side);
        messages
    } else {
        body
    };
    draw_messages(frame, app, messages_area);
    if let Some(overlay) = app.care_overlay() {
        care::draw_care(frame, overlay, messages_area);
    }
    if let Some(line) = pending {
        frame.render_widget(Paragraph::new(line), pending_area);
    }
    draw_status(frame, app, status_area, !show_sidebar);
    draw_input(frame, app, input_area);
}

fn sidebar_width(app: &App) -> u16 {
    let widest = app
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let unread = if c.unread > 0 {
                format!(" {}", c.unread).len()
            } else {
                0
            };
            format!(" {} #{}", i + 1, c.name).len() + unread
        })
        .max()
        .unwrap_or(0);
    u16::try_from(widest.clamp(10, 24) + 3).unwrap_or(27)
}

fn draw_sidebar(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let inner_width = usize::from(area.width.saturating_sub(2));
    let mut lines = vec![Line::styled(" channels", Style::new().fg(FAINT))];
    for (i, channel) in app.channels.iter().enumerate() {
        let active = i == app.active;
        let unread = if channel.unread > 0 && !active {
            format!(" {}", channel.unread.min(999))
        } else {
            String::new()
        };
        let label = format!(" {} #{}", i + 1, channel.name);
        let room = inner_width.saturating_sub(unread.len());
        let label = truncate(&label, room);
        let pad = inner_width.saturating_sub(Span::raw(label.as_str()).width() + unread.len());
        let base = if active {
            Style::new().bg(ACTIVE_BG).add_modifier(Modifier::BOLD)
        } else if channel.unread > 0 {
            Style::new()
        } else {
            Style::new().fg(DIM)
        };
        lines.push(Line::from(vec![
            Span::styled(label, base),
            Span::styled(unread, base.fg(WARN)),
            Span::styled(" ".repeat(pad), base),
        ]));
    }
    let [list, rule] = Layout::horizontal([Constraint::Min(0), Constraint::Length(2)]).areas(area);
    frame.render_widget(Paragraph::new(lines), list);
    let bar: Vec<Line<'_>> = (0..area.height)
        .map(|_| Line::styled("│ ", Style::new().fg(FAINT)))
        .collect();
    frame.render_widget(Paragraph::new(bar), rule);
}

fn pending_line(app: &App) -> Option<Line<'static>> {
    let mut parts: Vec<Span<'static>> = Vec::new();
    let faint = Style::new().fg(FAINT);
    let channel = app.current();
    if let Some(banner) = app.presence_banner() {
        parts.push(Span::styled(format!(" ⚑ {banner}"), Style::new().fg(HINT)));
    }
    let before_pending = parts.len();
    if let (Some((reply_channel, id)), Some(channel)) = (&app.pending_reply, channel)
        && *reply_channel == channel.name
    {
        if !parts.is_empty() {
            parts.push(Span::styled(" ·", faint));
        }
        let about = channel
            .posts_newest_first()
            .find(|p| p.id == *id)
            .map_or_else(
                || id.short(),
                |p| format!("{}: “{}”", clean(&p.author_name), clean(&p.snippet(40))),
            );
        parts.push(Span::styled(
            format!(" ↳ replying to {about}"),
            Style::new().fg(INFO),
        ));
    }
    if let Some(warning) = &app.pending_cw {
        if !parts.is_empty() {
            parts.push(Span::styled(" ·", faint));
        }
        parts.push(Span::styled(
            format!(" ⚠ next post behind: {}", clean(&describe_warning(warning))),
            Style::new().fg(HINT),
        ));
    }
    if parts.len() > before_pending {
        parts.push(Span::styled(" · Esc cancels", faint));
    }
    if channel.is_some_and(|c| c.scroll > 0) {
        if !parts.is_empty() {
            parts.push(Span::styled(" ·", faint));
        }
        parts.push(Span::styled(
            " ↑ reading back · Esc or PgDn returns to the newest",
            faint,
        ));
    }
    (!parts.is_empty()).then(|| Line::from(parts))
}

fn draw_status(frame: &mut Frame<'_>, app: &App, area: Rect, show_unread: bool) {
    let base = Style::new().bg(STATUS_BG).fg(STATUS_FG);
    let sep = Span::styled(" · ", base.fg(DIM));
    let mut spans = vec![Span::styled(" ", base)];
    match app.current() {
        Some(channel) => {
            spans.push(Span::styled(
                format!("#{}", channel.name),
                base.add_modifier(Modifier::BOLD),
            ));
            let unread: usize = app.channels.iter().map(|c| c.unread).sum();
            if show_unread && unread > 0 {
                spans.push(sep.clone());
                spans.push(Span::styled(
                    format!("{unread} unread (Tab)"),
                    base.fg(WARN),
                ));
            }
            if let Some(persona) = &channel.persona {
                spans.push(sep.clone());
                let nick = app
                    .nick
                    .as_ref()
                    .map_or_else(String::new, |n| format!(" ({})", clean(n)));
                spans.push(Span::styled(
                    format!("you are {}{nick}", persona.name),
                    base.fg(OWN),
                ));
            }
            spans.push(sep.clone());
            let s = if channel.peers == 1 { "" } else { "s" };
            spans.push(Span::styled(
                format!("{} peer{s} here", channel.peers),
                base,
            ));
            if channel.paced > 0 {
                // Said where the person looks: their lines are not lost,
                // they go out at the pace the channel accepts.
                spans.push(sep.clone());
                let s = if channel.paced == 1 { "" } else { "s" };
                spans.push(Span::styled(
                    format!("{} line{s} queued, going out slowly", channel.paced),
                    base.fg(WARN),
                ));
            }
        }
        None => spans.push(Span::styled("no channel", base.fg(DIM))),
    }
    spans.push(sep.clone());
    let connection = if app.stopped {
        Span::styled("stopped", base.fg(BAD))
    } else if app.peers.is_empty() {
        Span::styled("looking for peers…", base.fg(WARN))
    } else {
        let n = app.peers.len();
        Span::styled(format!("connected ({n})"), base.fg(OK))
    };
    spans.push(connection);
    let clock = crisis_key_and_clock(app, &spans, area.width);
    let clock_width = u16::try_from(Span::raw(clock.as_str()).width()).unwrap_or(30);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(clock_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), left);
    frame.render_widget(Paragraph::new(clock).style(base.fg(DIM)), right);
}

/// The right end of the status line: the key to the crisis lines and the
/// time, as long as the rest of the line still fits; the key always stays
/// in view, shortened when the window is narrow.
fn crisis_key_and_clock(app: &App, left: &[Span<'_>], width: u16) -> String {
    let time = app.zone.local(app.now_ms).hh_mm();
    let left: usize = left.iter().map(Span::width).sum();
    let room = usize::from(width).saturating_sub(left);
    let forms = [
        format!(" Ctrl+G crisis lines · {time} "),
        format!(" Ctrl+G crisis · {time} "),
        format!(" ^G crisis · {time} "),
    ];
    forms
        .into_iter()
        .find(|form| Span::raw(form.as_str()).width() <= room)
        .unwrap_or_else(|| " ^G crisis ".to_owned())
}

fn draw_input(frame: &mut Frame<'_>, app: &App, area: Rect) {
    const PROMPT: &str = "> ";
    let prompt_width = 2usize;
    let avail = usize::from(area.width).saturating_sub(prompt_width);
    let shown_text = |s: &str| s.replace('\n', "⏎");
    let before = shown_text(app.input.before());
    let all = shown_text(app.input.text());
    let mut spans = vec![Span::styled(PROMPT, Style::new().fg(OWN))];
    let cursor_x = if app.input.is_empty() {
        let placeholder = if app.current().is_some() {
            "type to talk · /help for commands"
        } else {
            "/join NAME to join a channel · /help for commands"
        };
        spans.push(Span::styled(
            truncate(placeholder, avail),
            Style::new().fg(FAINT),
        ));
        prompt_width
    } else {
        // Scroll sideways so the cursor stays in view.
        let before_width = Span::raw(before.as_str()).width();
        let mut skip_width = 0;
        let mut skip_bytes = 0;
        if avail > 0 && before_width >= avail {
            for g in Span::raw(all.as_str()).styled_graphemes(Style::new()) {
                if before_width.saturating_sub(skip_width) < avail {
                    break;
                }
                skip_width += Span::raw(g.symbol).width();
                skip_bytes += g.symbol.len();
            }
        }
        let visible = all.get(skip_bytes..).unwrap_or("");
        spans.push(Span::raw(truncate_plain(visible, avail)));
        prompt_width + before_width.saturating_sub(skip_width)
    };
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let x = area.x
        + u16::try_from(cursor_x)
            .unwrap_or(0)
            .min(area.width.saturating_sub(1));
    frame.set_cursor_position((x, area.y));
}
