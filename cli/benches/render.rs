//! Benchmarks of the chat window: drawing a busy channel, and a post
//! arriving in a full one.
//!
//! Run with `cargo bench -p hearth --bench render`. Criterion prints its
//! usual report while it runs; at the end the bench prints one line per
//! benchmark that ran, with its mean time and the rate it allows:
//!
//! ```text
//! draw/2000_posts_120x40: mean 0.485 ms, 2062 per second
//! arrive/post_into_full_channel: mean 3.75 µs, 266779 per second
//! ```
//!
//! A drawing wraps only the posts that fill the screen, so its cost
//! depends on the screen size, not on how many posts the channel keeps;
//! `draw/scrolled_back` shows the cost of reading far back. Figures:
//! `docs/performance.md`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use criterion::Criterion;
use hearth::tui::Zone;
use hearth::tui::state::{App, NodeEvent, Persona, Record};
use hearth::tui::view;
use hearth_protocol::{ChannelName, MessageId, Post, PublicKey};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// When the first post was written (2025-06-15 15:06:40 UTC).
const T0: u64 = 1_750_000_000_000;
/// Posts that arrive; the window keeps the newest 2,000.
const POSTS: u32 = 10_000;

/// Sentences of chat of varied lengths, so some posts wrap and some don't.
const TEXTS: [&str; 4] = [
    "is anyone else awake?",
    "Tonight is harder than usual. It has been three months and everyone around me seems \
     to have moved on already.",
    "I keep picking up my phone to call her before I remember. Does it get easier, or do you \
     just get used to carrying it? Thank you for being here; reading this helps more than I \
     can say.",
    "same here ❤",
];

fn channel() -> ChannelName {
    ChannelName::parse("anxiety").unwrap_or_else(|e| panic!("channel name: {e}"))
}

/// Post `n`: from one of seven authors, a minute apart, some of them
/// multi-line.
fn record(n: u32) -> Record {
    let mut id = [7; 32];
    id[..4].copy_from_slice(&n.to_be_bytes());
    let text = TEXTS[n as usize % TEXTS.len()];
    let body = if n.is_multiple_of(11) {
        format!("{text}\nand a second line")
    } else {
        text.to_owned()
    };
    Record {
        id: MessageId(id),
        post: Post {
            channel: channel(),
            author: PublicKey([(n % 7) as u8 + 1; 32]),
            created_ms: T0 + u64::from(n) * 60_000,
            expires_ms: None,
            reply_to: None,
            content_warning: None,
            nickname: n.is_multiple_of(3).then(|| "sam".to_owned()),
            body,
            persona_stamp: Default::default(),
            nonce: 0,
        },
        own: false,
        verdict: None,
        synced: false,
    }
}

/// A window showing a channel that has received [`POSTS`] posts.
fn busy_window() -> App {
    let mut app = App::new(
        Zone::utc(),
        T0 + u64::from(POSTS) * 60_000,
        Some("sam".into()),
    );
    let key = PublicKey([100; 32]);
    app.add_channel(
        channel(),
        Some(Persona {
            name: key.name(),
            key,
        }),
        3,
    );
    for n in 0..POSTS {
        app.on_event(NodeEvent::Post(Box::new(record(n))));
    }
    app
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| panic!("terminal: {e}"))
}

fn draw_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("draw");
    for (name, width, height) in [
        ("2000_posts_80x24", 80, 24),
        ("2000_posts_120x40", 120, 40),
        ("2000_posts_200x60", 200, 60),
    ] {
        let mut app = busy_window();
        let mut terminal = terminal(width, height);
        group.bench_function(name, |b| {
            b.iter(|| {
                terminal
                    .draw(|frame| view::draw(frame, black_box(&mut app)))
                    .map(|_| ())
                    .unwrap_or_else(|e| panic!("draw: {e}"));
            });
        });
    }
    // Ten pages back: everything below the view is wrapped too, to know
    // where the view starts.
    let mut app = busy_window();
    let mut terminal = terminal(120, 40);
    if let Some(channel) = app.current_mut() {
        channel.scroll = 10 * 38;
    }
    group.bench_function("scrolled_back", |b| {
        b.iter(|| {
            terminal
                .draw(|frame| view::draw(frame, black_box(&mut app)))
                .map(|_| ())
                .unwrap_or_else(|e| panic!("draw: {e}"));
        });
    });
    group.finish();
}

fn arrival_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("arrive");
    // A new post at the bottom of a channel already holding all it keeps:
    // the oldest line drops off the top, so the channel stays full.
    let mut app = busy_window();
    let mut next = POSTS;
    group.bench_function("post_into_full_channel", |b| {
        b.iter(|| {
            next += 1;
            app.on_event(NodeEvent::Post(Box::new(record(next))))
        });
    });
    group.finish();
}

/// Where criterion writes its results: `$CRITERION_HOME`, else
/// `$CARGO_TARGET_DIR/criterion`, else `target/criterion` of the workspace
/// (benches run in the package directory). Handed to criterion too, so
/// both agree.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Prints the mean of every benchmark this run measured (those filtered
/// out, or run with `--test`, left no fresh estimates).
fn print_figures(dir: &Path, started: SystemTime) {
    let benches = [
        "draw/2000_posts_80x24",
        "draw/2000_posts_120x40",
        "draw/2000_posts_200x60",
        "draw/scrolled_back",
        "arrive/post_into_full_channel",
    ];
    for bench in benches {
        let path = dir.join(bench).join("new").join("estimates.json");
        let fresh = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        let mean = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["mean"]["point_estimate"].as_f64())
            .filter(|m| *m > 0.0);
        if let (true, Some(ns)) = (fresh, mean) {
            let time = if ns < 100_000.0 {
                format!("{:.2} µs", ns / 1e3)
            } else {
                format!("{:.3} ms", ns / 1e6)
            };
            println!("{bench}: mean {time}, {:.0} per second", 1e9 / ns);
        }
    }
}

fn main() {
    let started = SystemTime::now();
    let dir = criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    draw_benches(&mut c);
    arrival_benches(&mut c);
    c.final_summary();
    print_figures(&dir, started);
}
