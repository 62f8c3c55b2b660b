//! The message area: posts and notices wrapped to the width, newest at
//! the bottom, with day headings, reply context and folded warnings.
//!
//! Each author's name comes after its key's fingerprint (a glyph in a
//! colour, `docs/protocol.md` section 11), so a persona whose name was
//! forged to match another's still looks different; and a post whose
//! author shares its name or nickname with another persona in the channel
//! says so.

use std::collections::{HashMap, HashSet};

use hearth_protocol::{ContentWarning, MessageId, PublicKey, fingerprint};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::super::clock::Zone;
use super::super::commands::describe_warning;
use super::super::state::{App, ChannelView, Item, PostItem, Tone};
use super::text::{clean, wrap};
use super::{DIM, FAINT, HELP, HINT, INFO, NAME_COLOURS, OWN, WARN};

/// The warning line of a post folded because it may describe ways of
/// self-harm.
pub(super) const METHOD_FOLD: &str = "⚠ this may describe ways of self-harm";

/// Width of the time column (`HH:MM `); continuation lines indent by it.
pub(super) const INDENT: usize = 6;

pub(super) fn draw_messages(frame: &mut Frame<'_>, app: &mut App, area: Rect) {
    let width = area.width;
    let height = usize::from(area.height);
    app.page = height;
    let zone = app.zone.clone();
    let (visible, new_scroll, anchor) = match app.channels.get(app.active) {
        Some(channel) => {
            let w = usize::from(width);
            let mut scroll = channel.scroll;
            // Keep a scrolled-back view still while posts arrive below it,
            // at the bottom or (history sync) anywhere in between: the post
            // at its bottom stays on the same screen row.
            if scroll > 0 && channel.changed && channel.rendered_width == width {
                let anchor = channel
                    .anchor
                    .and_then(|(id, below)| post_index(&channel.items, &id).map(|i| (i, below)));
                if let Some((index, below_then)) = anchor {
                    let below_now = count_lines_from(&channel.items, index + 1, &zone, w, channel);
                    scroll = (scroll + below_now).saturating_sub(below_then);
                } else if channel.appended > 0 {
                    let from = channel.items.len().saturating_sub(channel.appended);
                    scroll += count_lines_from(&channel.items, from, &zone, w, channel);
                }
            }
            let (chunks, complete) = tail_chunks(
                &channel.items,
                &zone,
                w,
                Some(channel),
                scroll.saturating_add(height),
            );
            if complete {
                let total: usize = chunks.iter().map(|(_, c)| c.len()).sum();
                scroll = scroll.min(total.saturating_sub(height));
            }
            let anchor = (scroll > 0)
                .then(|| anchor_at(&channel.items, &chunks, scroll))
                .flatten();
            let lines = chunks.into_iter().rev().flat_map(|(_, c)| c).collect();
            (window(lines, scroll, height), Some(scroll), anchor)
        }
        None => {
            let (lines, _) = tail_lines(&app.lobby, &zone, usize::from(width), None, height);
            (window(lines, 0, height), None, None)
        }
    };
    if let (Some(scroll), Some(channel)) = (new_scroll, app.current_mut()) {
        channel.scroll = scroll;
        channel.appended = 0;
        channel.changed = false;
        channel.rendered_width = width;
        channel.anchor = anchor;
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
    let by_id = Index::of(items);
    (from..items.len())
        .map(|i| item_lines(items, i, zone, width, Some(channel), &by_id).len())
        .sum()
}

fn post_index(items: &[Item], id: &MessageId) -> Option<usize> {
    items
        .iter()
        .rposition(|i| matches!(i, Item::Post(p) if p.id == *id))
}

/// The post whose lines hold the bottom row of a view scrolled `scroll`
/// lines back (or the nearest post above it), and the screen lines below
/// that post; from the chunks just wrapped, newest first.
fn anchor_at(
    items: &[Item],
    chunks: &[(usize, Vec<Line<'static>>)],
    scroll: usize,
) -> Option<(MessageId, usize)> {
    let mut below = 0;
    for (index, lines) in chunks {
        if below + lines.len() > scroll
            && let Some(Item::Post(post)) = items.get(*index)
        {
            return Some((post.id, below));
        }
        below += lines.len();
    }
    None
}

/// What the lines of one post need to know about the others.
struct Index<'a> {
    /// The posts by id (reply context).
    by_id: HashMap<MessageId, &'a PostItem>,
    /// Names and nicknames (lower case) that more than one persona uses.
    clashes: HashSet<String>,
}

impl<'a> Index<'a> {
    fn of(items: &'a [Item]) -> Self {
        let posts = items.iter().filter_map(|i| match i {
            Item::Post(p) => Some(p.as_ref()),
            Item::Notice(_) => None,
        });
        let mut by_id = HashMap::new();
        let mut users: HashMap<String, PublicKey> = HashMap::new();
        let mut clashes = HashSet::new();
        for p in posts {
            by_id.insert(p.id, p);
            for name in post_names(p) {
                match users.get(&name) {
                    Some(key) if *key != p.author => {
                        clashes.insert(name);
                    }
                    Some(_) => {}
                    None => {
                        users.insert(name, p.author);
                    }
                }
            }
        }
        Self { by_id, clashes }
    }

    fn get(&self, id: &MessageId) -> Option<&&'a PostItem> {
        self.by_id.get(id)
    }

    /// Whether another persona in the channel uses a name of `post`'s.
    fn clashes(&self, post: &PostItem) -> bool {
        post_names(post).any(|n| self.clashes.contains(&n))
    }
}

/// The names a post is shown under: its persona's, and its nickname.
fn post_names(post: &PostItem) -> impl Iterator<Item = String> + '_ {
    std::iter::once(post.author_name.trim().to_lowercase()).chain(
        post.nickname
            .iter()
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty()),
    )
}

/// At least `want` screen lines from the bottom of `items` (fewer if there
/// are not that many), wrapping only what is needed; and whether every item
/// was wrapped.
pub(super) fn tail_lines(
    items: &[Item],
    zone: &Zone,
    width: usize,
    channel: Option<&ChannelView>,
    want: usize,
) -> (Vec<Line<'static>>, bool) {
    let (chunks, complete) = tail_chunks(items, zone, width, channel, want);
    let lines = chunks.into_iter().rev().flat_map(|(_, c)| c).collect();
    (lines, complete)
}

/// As [`tail_lines`], but each item's lines apart, with its index, newest
/// first.
fn tail_chunks(
    items: &[Item],
    zone: &Zone,
    width: usize,
    channel: Option<&ChannelView>,
    want: usize,
) -> (Vec<(usize, Vec<Line<'static>>)>, bool) {
    let by_id = Index::of(items);
    let mut chunks = Vec::new();
    let mut count = 0;
    let mut index = items.len();
    while index > 0 && count < want {
        index -= 1;
        let lines = item_lines(items, index, zone, width, channel, &by_id);
        count += lines.len();
        chunks.push((index, lines));
    }
    (chunks, index == 0)
}

/// The screen lines of one item, with a day heading before it when its
/// day differs from the item before.
fn item_lines(
    items: &[Item],
    index: usize,
    zone: &Zone,
    width: usize,
    channel: Option<&ChannelView>,
    by_id: &Index<'_>,
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
            if channel.is_some_and(|c| c.earlier == Some(post.id)) {
                out.push(day_line("↑ earlier messages", width));
            }
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
                out.extend(wrap(&spans, width, INDENT));
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
    by_id: &Index<'_>,
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
        out.extend(wrap(&spans, width, INDENT));
        return;
    }
    if let Some(parent) = post.reply_to {
        let text = match by_id.get(&parent) {
            Some(p) if p.hidden_by.is_some() => format!("↳ re {} (hidden)", parent.short()),
            Some(p) if p.folds() => {
                format!("↳ re {} (behind a warning)", clean(&p.author_name))
            }
            Some(p) => format!("↳ re {}: {}", clean(&p.author_name), clean(&p.snippet(48))),
            None => format!("↳ re {}", parent.short()),
        };
        let line = vec![Span::raw(" ".repeat(INDENT)), Span::styled(text, faint)];
        // One line only: a reply context never pushes the post away.
        out.extend(wrap(&line, width, INDENT).into_iter().take(1));
    }
    let colour = name_colour(post);
    let print = fingerprint(&post.author.0);
    let mut head = vec![
        Span::styled(format!("{time} "), dim),
        Span::styled(
            format!("{} ", print.glyph),
            Style::new().fg(Color::Indexed(print.palette().xterm)),
        ),
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
    if post
        .content_warning
        .as_ref()
        .is_some_and(ContentWarning::is_automated)
    {
        head.push(Span::styled(" [bot]", faint));
    }
    head.push(Span::raw(": "));
    let mut tail = vec![Span::styled(format!("  {short}"), faint)];
    if by_id.clashes(post) {
        tail.push(Span::styled(
            " · ⚠ another persona here uses this name",
            Style::new().fg(WARN),
        ));
    }
    if post.waiting {
        tail.push(Span::styled(
            " · waiting for peers",
            faint.add_modifier(Modifier::ITALIC),
        ));
    }

    let cw_style = Style::new().fg(HINT);
    let folded = post.folds() && !opened && !post.own;
    let warning = match &post.content_warning {
        Some(warning) if warning.warns() => {
            Some(format!("⚠ {}", clean(&describe_warning(warning))))
        }
        _ => post.method_fold.then(|| METHOD_FOLD.to_owned()),
    };
    if let Some(label) = warning {
        if folded {
            head.push(Span::styled(label, cw_style));
            head.push(Span::styled(format!(" — /open {short} to read"), faint));
            head.extend(tail);
            out.extend(wrap(&head, width, INDENT));
            return;
        }
        head.push(Span::styled(label, cw_style));
        head.extend(tail);
        out.extend(wrap(&head, width, INDENT));
        for text in post.body.lines() {
            let spans = vec![Span::raw(" ".repeat(INDENT)), Span::raw(clean(text))];
            out.extend(wrap(&spans, width, INDENT));
        }
        return;
    }
    let mut body = post.body.lines();
    head.push(Span::raw(clean(body.next().unwrap_or(""))));
    let rest: Vec<&str> = body.collect();
    if rest.is_empty() {
        head.extend(tail);
        out.extend(wrap(&head, width, INDENT));
        return;
    }
    out.extend(wrap(&head, width, INDENT));
    let count = rest.len();
    for (i, text) in rest.into_iter().enumerate() {
        let mut spans = vec![Span::raw(" ".repeat(INDENT)), Span::raw(clean(text))];
        if i + 1 == count {
            spans.extend(tail.clone());
        }
        out.extend(wrap(&spans, width, INDENT));
    }
}
