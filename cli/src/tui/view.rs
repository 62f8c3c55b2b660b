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

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::clock::Zone;
use super::commands::describe_warning;
use super::state::{App, ChannelView, Item, PostItem, Tone};
use hearth_protocol::MessageId;

/// Width of the time column (`HH:MM `); continuation lines indent by it.
const INDENT: usize = 6;
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

fn draw_messages(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let width = area.width;
    let height = usize::from(area.height);
    app.page = height;
    let zone = app.zone.clone();
    let (visible, new_scroll) = match app.channels.get(app.active) {
        Some(channel) => {
            let mut scroll = channel.scroll;
            // Keep a scrolled-back view still while posts arrive below.
            if scroll > 0 && channel.appended > 0 && channel.rendered_width == width {
                let from = channel.items.len().saturating_sub(channel.appended);
                scroll +=
                    count_lines_from(&channel.items, from, &zone, usize::from(width), channel);
            }
            let (lines, complete) = tail_lines(
                &channel.items,
                &zone,
                usize::from(width),
                Some(channel),
                scroll.saturating_add(height),
            );
            if complete {
                scroll = scroll.min(lines.len().saturating_sub(height));
            }
            (window(lines, scroll, height), Some(scroll))
        }
        None => {
            let (lines, _) = tail_lines(&app.lobby, &zone, usize::from(width), None, height);
            (window(lines, 0, height), None)
        }
    };
    if let (Some(scroll), Some(channel)) = (new_scroll, app.current_mut()) {
        channel.scroll = scroll;
        channel.appended = 0;
        channel.rendered_width = width;
    }
    // Chat-like: the newest line sits just above the status line.
    let shown = u16::try_from(visible.len()).unwrap_or(area.height);
    let target = Rect {
        y: area.y + area.height.saturating_sub(shown),
        height: shown.min(area.height),
        ..area
    };
    frame.render_widget(Paragraph::new(visible), target);
}

/// The `height` lines ending `scroll` lines above the bottom.
fn window(lines: Vec<Line<'static>>, scroll: usize, height: usize) -> Vec<Line<'static>> {
    let end = lines.len().saturating_sub(scroll);
    let start = end.saturating_sub(height);
    lines.into_iter().skip(start).take(end - start).collect()
}

fn count_lines_from(
    items: &[Item],
    from: usize,
    zone: &Zone,
    width: usize,
    channel: &ChannelView,
) -> usize {
    let by_id = index_posts(items);
    (from..items.len())
        .map(|i| item_lines(items, i, zone, width, Some(channel), &by_id).len())
        .sum()
}

fn index_posts(items: &[Item]) -> HashMap<MessageId, &PostItem> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Post(p) => Some((p.id, p.as_ref())),
            Item::Notice(_) => None,
        })
        .collect()
}

/// At least `want` screen lines from the bottom of `items` (fewer if there
/// are not that many), wrapping only what is needed; and whether every item
/// was wrapped.
fn tail_lines(
    items: &[Item],
    zone: &Zone,
    width: usize,
    channel: Option<&ChannelView>,
    want: usize,
) -> (Vec<Line<'static>>, bool) {
    let by_id = index_posts(items);
    let mut chunks = Vec::new();
    let mut count = 0;
    let mut index = items.len();
    while index > 0 && count < want {
        index -= 1;
        let lines = item_lines(items, index, zone, width, channel, &by_id);
        count += lines.len();
        chunks.push(lines);
    }
    let lines = chunks.into_iter().rev().flatten().collect();
    (lines, index == 0)
}

/// The screen lines of one item, with a day heading before it when its
/// day differs from the item before.
fn item_lines(
    items: &[Item],
    index: usize,
    zone: &Zone,
    width: usize,
    channel: Option<&ChannelView>,
    by_id: &HashMap<MessageId, &PostItem>,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let Some(item) = items.get(index) else {
        return out;
    };
    match item {
        Item::Post(post) => {
            let local = zone.local(post.created_ms);
            let previous_day =
                index
                    .checked_sub(1)
                    .and_then(|i| items.get(..=i))
                    .and_then(|before| {
                        before.iter().rev().find_map(|i| match i {
                            Item::Post(p) => Some(zone.local(p.created_ms).date()),
                            Item::Notice(_) => None,
                        })
                    });
            if previous_day != Some(local.date()) {
                out.push(day_line(&local.day_heading(), width));
            }
            let opened = channel.is_some_and(|c| c.opened.contains(&post.id));
            post_lines(&mut out, post, &local.hh_mm(), opened, by_id, width);
        }
        Item::Notice(notice) => {
            let colour = match notice.tone {
                Tone::Info => INFO,
                Tone::Hint => HINT,
                Tone::Help => HELP,
            };
            let style = Style::new().fg(colour);
            for (i, text) in notice.text.lines().enumerate() {
                let lead = if i == 0 { "    · " } else { "      " };
                let spans = vec![
                    Span::styled(lead, Style::new().fg(FAINT)),
                    Span::styled(clean(text), style),
                ];
                out.extend(wrap(spans, width, INDENT));
            }
        }
    }
    out
}

fn day_line(heading: &str, width: usize) -> Line<'static> {
    let text = format!("── {heading} ──");
    let pad = width.saturating_sub(Span::raw(text.as_str()).width()) / 2;
    Line::styled(format!("{}{text}", " ".repeat(pad)), Style::new().fg(FAINT))
}

fn name_colour(post: &PostItem) -> Color {
    if post.own {
        return OWN;
    }
    let pick = usize::from(post.author.0.first().copied().unwrap_or(0)) % NAME_COLOURS.len();
    NAME_COLOURS.get(pick).copied().unwrap_or(INFO)
}

fn post_lines(
    out: &mut Vec<Line<'static>>,
    post: &PostItem,
    time: &str,
    opened: bool,
    by_id: &HashMap<MessageId, &PostItem>,
    width: usize,
) {
    let short = post.id.short();
    let dim = Style::new().fg(DIM);
    let faint = Style::new().fg(FAINT);
    if let Some(list) = &post.hidden_by {
        let spans = vec![
            Span::styled(format!("{time} "), faint),
            Span::styled(
                format!("hidden by {} (use /why {short})", clean(list)),
                faint.add_modifier(Modifier::ITALIC),
            ),
        ];
        out.extend(wrap(spans, width, INDENT));
        return;
    }
    if let Some(parent) = post.reply_to {
        let text = match by_id.get(&parent) {
            Some(p) if p.hidden_by.is_some() => format!("↳ re {} (hidden)", parent.short()),
            Some(p) if p.content_warning.is_some() => {
                format!("↳ re {} (behind a warning)", clean(&p.author_name))
            }
            Some(p) => format!("↳ re {}: {}", clean(&p.author_name), clean(&p.snippet(48))),
            None => format!("↳ re {}", parent.short()),
        };
        let line = vec![Span::raw(" ".repeat(INDENT)), Span::styled(text, faint)];
        // One line only: a reply context never pushes the post away.
        out.extend(wrap(line, width, INDENT).into_iter().take(1));
    }
    let colour = name_colour(post);
    let mut head = vec![
        Span::styled(format!("{time} "), dim),
        Span::styled(
            clean(&post.author_name),
            Style::new().fg(colour).add_modifier(Modifier::BOLD),
        ),
    ];
    if let Some(nick) = &post.nickname {
        head.push(Span::styled(
            format!(" ({})", clean(nick)),
            Style::new().fg(colour),
        ));
    }
    head.push(Span::raw(": "));
    let mut tail = vec![Span::styled(format!("  {short}"), faint)];
    if post.waiting {
        tail.push(Span::styled(
            " · waiting for peers",
            faint.add_modifier(Modifier::ITALIC),
        ));
    }

    let cw_style = Style::new().fg(HINT);
    let folded = post.content_warning.is_some() && !opened && !post.own;
    if let Some(warning) = &post.content_warning {
        let label = format!("⚠ {}", clean(&describe_warning(warning)));
        if folded {
            head.push(Span::styled(label, cw_style));
            head.push(Span::styled(format!(" — /open {short} to read"), faint));
            head.extend(tail);
            out.extend(wrap(head, width, INDENT));
            return;
        }
        head.push(Span::styled(label, cw_style));
        head.extend(tail);
        out.extend(wrap(head, width, INDENT));
        for text in post.body.lines() {
            let spans = vec![Span::raw(" ".repeat(INDENT)), Span::raw(clean(text))];
            out.extend(wrap(spans, width, INDENT));
        }
        return;
    }
    let mut body = post.body.lines();
    head.push(Span::raw(clean(body.next().unwrap_or(""))));
    let rest: Vec<&str> = body.collect();
    if rest.is_empty() {
        head.extend(tail);
        out.extend(wrap(head, width, INDENT));
        return;
    }
    out.extend(wrap(head, width, INDENT));
    let count = rest.len();
    for (i, text) in rest.into_iter().enumerate() {
        let mut spans = vec![Span::raw(" ".repeat(INDENT)), Span::raw(clean(text))];
        if i + 1 == count {
            spans.extend(tail.clone());
        }
        out.extend(wrap(spans, width, INDENT));
    }
}

/// Text safe to draw: tabs become spaces, other control characters a
/// visible replacement.
pub fn clean(text: &str) -> String {
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

fn truncate(text: &str, width: usize) -> String {
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
pub fn wrap(spans: Vec<Span<'static>>, width: usize, indent: usize) -> Vec<Line<'static>> {
    if width == 0 {
        return Vec::new();
    }
    let indent = if width > indent + 8 { indent } else { 0 };
    let mut cells: Vec<(String, Style, usize)> = Vec::new();
    for span in &spans {
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

fn pending_line(app: &App) -> Option<Line<'static>> {
    let mut parts: Vec<Span<'static>> = Vec::new();
    let faint = Style::new().fg(FAINT);
    let channel = app.current();
    if let (Some((reply_channel, id)), Some(channel)) = (&app.pending_reply, channel)
        && *reply_channel == channel.name
    {
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
    if !parts.is_empty() {
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
    let clock = format!(" {} ", app.zone.local(app.now_ms).hh_mm());
    let clock_width = u16::try_from(clock.len()).unwrap_or(6);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(clock_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), left);
    frame.render_widget(Paragraph::new(clock).style(base.fg(DIM)), right);
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

/// Cuts text to `width` cells without an ellipsis.
fn truncate_plain(text: &str, width: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::state::{NodeEvent, Persona, Record};
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use hearth_protocol::{
        BlockTarget, ChannelName, ContentWarning, CwLabel, ListId, Post, PublicKey, Verdict,
    };
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    const T0: u64 = 1_750_000_000_000; // 2025-06-15 15:06:40 UTC

    fn ch(name: &str) -> ChannelName {
        ChannelName::parse(name).unwrap()
    }

    fn record(n: u8, author: u8, body: &str) -> Record {
        Record {
            id: MessageId([n; 32]),
            post: Post {
                channel: ch("anxiety"),
                author: PublicKey([author; 32]),
                created_ms: T0 + u64::from(n) * 60_000,
                expires_ms: None,
                reply_to: None,
                content_warning: None,
                nickname: None,
                body: body.to_owned(),
                persona_stamp: Default::default(),
                nonce: 0,
            },
            own: false,
            verdict: None,
        }
    }

    fn app() -> App {
        let mut app = App::new(Zone::utc(), T0 + 3_600_000, Some("Sam".into()));
        app.add_channel(
            ch("anxiety"),
            Some(Persona {
                name: PublicKey([100; 32]).name(),
                key: PublicKey([100; 32]),
            }),
            3,
        );
        app.add_channel(ch("grief/es"), None, 0);
        app
    }

    fn render(app: &mut App, width: u16, height: u16) -> (Vec<String>, (u16, u16)) {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| draw(f, app)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let rows = (0..height)
            .map(|y| {
                let mut row = String::new();
                let mut x = 0;
                while x < width {
                    let cell = &buffer[(x, y)];
                    row.push_str(cell.symbol());
                    x += 1;
                }
                row
            })
            .collect();
        let cursor = terminal.get_cursor_position().unwrap();
        (rows, (cursor.x, cursor.y))
    }

    fn screen(rows: &[String]) -> String {
        rows.join("\n")
    }

    #[test]
    fn the_screen_shows_posts_status_and_prompt() {
        let mut app = app();
        let mut r = record(1, 1, "I'm here too");
        r.post.nickname = Some("Ana".into());
        app.on_event(NodeEvent::Post(Box::new(r)));
        app.on_event(NodeEvent::PeerConnected("p".into()));
        let (rows, cursor) = render(&mut app, 100, 12);
        let text = screen(&rows);
        let name = PublicKey([1; 32]).name();
        assert!(
            text.contains(&format!("15:07 {name} (Ana): I'm here too")),
            "{text}"
        );
        assert!(text.contains(&MessageId([1; 32]).short()));
        let status = &rows[10];
        assert!(status.contains("#anxiety"), "{status}");
        assert!(status.contains(&PublicKey([100; 32]).name()), "{status}");
        assert!(status.contains("(Sam)"), "{status}");
        assert!(status.contains("3 peers here"), "{status}");
        assert!(status.contains("connected (1)"), "{status}");
        assert!(status.contains("16:06"), "{status}");
        assert!(rows[11].starts_with("> "), "{}", rows[11]);
        assert_eq!(cursor, (2, 11));
        assert!(text.contains("1 #anxiety"));
        assert!(text.contains("2 #grief/es"));
    }

    #[test]
    fn typed_text_stays_while_posts_arrive() {
        let mut app = app();
        for c in "still typing héllo 🙂".chars() {
            app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        for n in 1..40 {
            app.on_event(NodeEvent::Post(Box::new(record(
                n,
                2,
                &"words ".repeat(30),
            ))));
            let (rows, cursor) = render(&mut app, 70, 10);
            assert!(
                rows[9].starts_with("> still typing héllo 🙂"),
                "{}",
                rows[9]
            );
            assert_eq!(cursor, (2 + 21, 9));
        }
    }

    #[test]
    fn long_input_scrolls_sideways_to_keep_the_cursor_visible() {
        let mut app = app();
        app.on_paste(&"abcdefghij".repeat(30));
        let (rows, cursor) = render(&mut app, 40, 6);
        assert!(rows[5].starts_with("> "));
        assert!(
            rows[5].ends_with("hij") || rows[5].trim_end().ends_with('j'),
            "{}",
            rows[5]
        );
        assert!(cursor.0 < 40);
        app.on_key(KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
        let (rows, cursor) = render(&mut app, 40, 6);
        assert!(rows[5].starts_with("> abcdefghij"));
        assert_eq!(cursor, (2, 5));
    }

    #[test]
    fn hidden_posts_are_one_dim_line_and_warnings_fold() {
        let mut app = app();
        let mut hidden = record(1, 9, "something awful");
        hidden.verdict = Some(Verdict {
            list: ListId::Local,
            entry: 0,
            target: BlockTarget::Persona(PublicKey([9; 32])),
            reason: "spam".into(),
        });
        app.on_event(NodeEvent::Post(Box::new(hidden)));
        let mut folded = record(2, 3, "the heavy part");
        folded.post.content_warning = Some(ContentWarning::new(
            [CwLabel::SelfHarm],
            Some("last night".into()),
        ));
        app.on_event(NodeEvent::Post(Box::new(folded)));
        let (rows, _) = render(&mut app, 110, 10);
        let text = screen(&rows);
        let short = MessageId([1; 32]).short();
        assert!(
            text.contains(&format!("hidden by your own blocklist (use /why {short})")),
            "{text}"
        );
        assert!(!text.contains("awful"));
        assert!(text.contains("⚠ self-harm — “last night”"), "{text}");
        assert!(!text.contains("heavy part"));
        app.current_mut().unwrap().opened.insert(MessageId([2; 32]));
        let (rows, _) = render(&mut app, 110, 10);
        assert!(screen(&rows).contains("the heavy part"));
    }

    #[test]
    fn replies_show_what_they_answer() {
        let mut app = app();
        app.on_event(NodeEvent::Post(Box::new(record(
            1,
            1,
            "Does anyone else wake at 4am?",
        ))));
        let mut reply = record(2, 2, "Every night, lately.");
        reply.post.reply_to = Some(MessageId([1; 32]));
        app.on_event(NodeEvent::Post(Box::new(reply)));
        let (rows, _) = render(&mut app, 100, 10);
        let text = screen(&rows);
        assert!(
            text.contains(&format!(
                "↳ re {}: Does anyone else wake at 4am?",
                PublicKey([1; 32]).name()
            )),
            "{text}"
        );
    }

    #[test]
    fn multi_line_and_long_posts_wrap_under_the_time_column() {
        let lines = wrap(
            vec![
                Span::raw("12:00 name: "),
                Span::raw("alpha beta gamma delta epsilon"),
            ],
            24,
            INDENT,
        );
        let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(
            texts,
            vec![
                "12:00 name: alpha beta",
                "      gamma delta",
                "      epsilon"
            ]
        );
        // A space that overflows is where the line breaks; no other space
        // is lost.
        let texts: Vec<String> = wrap(vec![Span::raw("aaaa bbbb cccc dddd")], 14, 2)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(texts, vec!["aaaa bbbb cccc", "  dddd"]);
        let texts: Vec<String> = wrap(vec![Span::raw("aaaa bbbb cc dddd eeee")], 15, 2)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(texts, vec!["aaaa bbbb cc", "  dddd eeee"]);
        for line in &lines {
            assert!(line.width() <= 24);
        }
        // No spaces to break at: cut anywhere, still within the width.
        let lines = wrap(vec![Span::raw("x".repeat(50))], 20, INDENT);
        assert!(lines.iter().all(|l| l.width() <= 20));
        assert_eq!(
            lines
                .iter()
                .map(|l| l.to_string().trim().len())
                .sum::<usize>(),
            50
        );
        // Wide characters never overflow.
        let lines = wrap(vec![Span::raw("界".repeat(30))], 11, INDENT);
        assert!(lines.iter().all(|l| l.width() <= 11));
        assert!(wrap(vec![Span::raw("abc")], 0, INDENT).is_empty());
        assert_eq!(wrap(vec![Span::raw("界")], 1, INDENT).len(), 1);
    }

    #[test]
    fn no_size_or_content_breaks_drawing() {
        let mut app = app();
        let mut r = record(
            1,
            1,
            "line one\n\n\tindented\nzalgo z̷̢̛a̵l̶g̸o 👩‍👩‍👧 \u{FFFD} العربية\n",
        );
        r.post.nickname = Some("🙂🙂🙂".into());
        app.on_event(NodeEvent::Post(Box::new(r)));
        app.on_paste("multi\nline paste");
        for (w, h) in [
            (1, 1),
            (2, 2),
            (5, 3),
            (10, 4),
            (30, 5),
            (55, 7),
            (56, 7),
            (200, 60),
        ] {
            render(&mut app, w, h);
        }
        app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
        render(&mut app, 40, 8);
        let (rows, _) = render(&mut app, 80, 8);
        assert!(screen(&rows).contains("multi⏎line paste"));
        // Without any channel the lobby still draws.
        app.on_event(NodeEvent::Left {
            channel: ch("anxiety"),
        });
        app.on_event(NodeEvent::Left {
            channel: ch("grief/es"),
        });
        app.welcome();
        let (rows, _) = render(&mut app, 80, 8);
        assert!(screen(&rows).contains("/join NAME"));
    }

    #[test]
    fn scrolling_back_holds_still_while_posts_arrive() {
        let mut app = app();
        for n in 1..30 {
            app.on_event(NodeEvent::Post(Box::new(record(
                n,
                1,
                &format!("post {n}"),
            ))));
        }
        render(&mut app, 80, 10);
        app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
        let (before, _) = render(&mut app, 80, 10);
        assert!(screen(&before).contains("reading back"));
        for n in 30..35 {
            app.on_event(NodeEvent::Post(Box::new(record(
                n,
                1,
                &format!("post {n}"),
            ))));
        }
        let (after, _) = render(&mut app, 80, 10);
        assert_eq!(before[..6], after[..6]);
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        let (bottom, _) = render(&mut app, 80, 10);
        assert!(screen(&bottom).contains("post 34"));
        // Scrolling far up stops at the first line.
        for _ in 0..50 {
            app.on_key(KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE));
        }
        let (top, _) = render(&mut app, 80, 10);
        assert!(screen(&top).contains("post 1 "), "{}", screen(&top));
    }

    #[test]
    fn unread_counts_show_in_the_channel_list() {
        let mut app = app();
        let mut r = record(1, 1, "over here");
        r.post.channel = ch("grief/es");
        app.on_event(NodeEvent::Post(Box::new(r)));
        let (rows, _) = render(&mut app, 90, 8);
        assert!(rows[2].contains("2 #grief/es 1"), "{}", rows[2]);
        let (rows, _) = render(&mut app, 40, 8);
        assert!(rows[6].contains("1 unread"), "{}", rows[6]);
    }

    #[test]
    fn rendering_many_posts_is_quick() {
        let mut app = app();
        for n in 0..2000u32 {
            let mut r = record(0, 1, &"a fairly ordinary sentence of chat ".repeat(3));
            r.id = MessageId([
                (n % 256) as u8,
                (n / 256) as u8,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
                7,
            ]);
            r.post.created_ms = T0 + u64::from(n) * 1000;
            app.on_event(NodeEvent::Post(Box::new(r)));
        }
        let start = std::time::Instant::now();
        render(&mut app, 120, 40);
        let took = start.elapsed();
        eprintln!("2000 posts drawn in {took:?}");
    }
}
