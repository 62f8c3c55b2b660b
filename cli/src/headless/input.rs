//! Standard input as posts: each line becomes a post in the first
//! channel, in order, one at a time.
//!
//! Lines are read on a thread of their own and framed by [`BoundedLines`]:
//! a line over [`MAX_LINE_BYTES`] or not UTF-8 is reported and skipped, and
//! the next one is read. A line is taken only once the one before it is
//! posted, so the lines read and not yet posted are only ever the one being
//! posted and those still in the framing buffer.
//!
//! On SIGINT, SIGTERM or SIGHUP ([`InputTask::finish`]) reading stops, an
//! `input_end` event says how many lines were read, and each of them not
//! posted yet is posted before the task ends. A second signal
//! ([`InputTask::abandon`]) gives up on the rest, and says which lines
//! they were.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use anyhow::Context as _;
use futures::StreamExt as _;
use hearth_node::{NodeError, NodeHandle, PostOptions};
use hearth_protocol::ChannelName;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{Decoder, FramedRead};

use crate::json::JsonEvent;
use crate::lines::{BadLine, BoundedLines, Line};

/// Longest input line posted; longer lines are reported and skipped.
pub(super) const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most bytes one read of standard input takes.
const CHUNK_BYTES: usize = 8 * 1024;

/// What the loop has asked of the input task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Keep reading and posting.
    No,
    /// Stop reading; post what was read.
    Finish,
    /// Stop posting too.
    Abandon,
}

/// Why reading stopped: the `reason` of the `input_end` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The end of standard input.
    Eof,
    /// SIGINT, SIGTERM or SIGHUP.
    Signal,
    /// Standard input could not be read.
    Error,
}

impl End {
    fn reason(self) -> &'static str {
        match self {
            End::Eof => "end",
            End::Signal => "signal",
            End::Error => "error",
        }
    }
}

/// Where lines are posted and what the task has to say.
#[derive(Debug)]
pub(super) struct Poster {
    /// The node.
    pub handle: NodeHandle,
    /// The channel posted to.
    pub channel: ChannelName,
    /// The nickname put on posts.
    pub nick: Option<String>,
    /// Mark posts as written by software (the `automated` label).
    pub automated: bool,
    /// Events for the loop to print (`sent` with no peers, `error`,
    /// `input_end`); closed when the task ends.
    pub notices: mpsc::Sender<JsonEvent>,
}

/// The task that posts standard input. Dropping it stops it at once.
#[derive(Debug)]
pub(super) struct InputTask {
    stop: watch::Sender<Stop>,
    task: JoinHandle<()>,
}

impl InputTask {
    /// Starts posting the lines of standard input.
    pub(super) fn stdin(poster: Poster) -> anyhow::Result<Self> {
        Ok(Self::spawn(poster, Chunks::stdin()?))
    }

    fn spawn(poster: Poster, input: Chunks) -> Self {
        let (stop, stopped) = watch::channel(Stop::No);
        let task = tokio::spawn(post_lines(poster, input, stopped));
        Self { stop, task }
    }

    /// Stops reading; every line already read is still posted.
    pub(super) fn finish(&self) {
        self.stop.send_if_modified(|stop| {
            let change = *stop == Stop::No;
            if change {
                *stop = Stop::Finish;
            }
            change
        });
    }

    /// Stops posting too: the lines read and not yet posted are reported.
    pub(super) fn abandon(&self) {
        self.stop.send_replace(Stop::Abandon);
    }
}

impl Drop for InputTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn post_lines(poster: Poster, input: Chunks, mut stop: watch::Receiver<Stop>) {
    let mut lines = FramedRead::new(input, BoundedLines::new(MAX_LINE_BYTES));
    let mut read = 0u64;
    let end = loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s != Stop::No) => break End::Signal,
            next = lines.next() => next,
        };
        match next {
            None => break End::Eof,
            Some(Err(e)) => {
                let message = format!("cannot read standard input: {e}");
                if !poster.say(JsonEvent::Error { message }).await {
                    return;
                }
                break End::Error;
            }
            Some(Ok(line)) => {
                read += 1;
                if !poster.post(read, line).await {
                    return;
                }
            }
        }
    };
    let (held, cut) = match end {
        End::Signal => take_held(&mut lines),
        End::Eof | End::Error => (Vec::new(), 0),
    };
    let total = read + held.len() as u64;
    let said = poster
        .say(JsonEvent::InputEnd {
            lines: total,
            reason: end.reason().to_owned(),
        })
        .await;
    if !said {
        return;
    }
    if cut > 0 {
        let message = format!(
            "input line {} was cut short by the signal ({cut} bytes read); not posted",
            total + 1
        );
        if !poster.say(JsonEvent::Error { message }).await {
            return;
        }
    }
    for (number, line) in (read + 1..).zip(held) {
        if *stop.borrow() == Stop::Abandon {
            let message = if number == total {
                format!("input line {number} not posted: stopped by a second signal")
            } else {
                format!("input lines {number} to {total} not posted: stopped by a second signal")
            };
            poster.say(JsonEvent::Error { message }).await;
            return;
        }
        if !poster.post(number, line).await {
            return;
        }
    }
}

/// Stops reading and frames what was already read: the complete lines,
/// and the length of a last line cut short.
fn take_held(lines: &mut FramedRead<Chunks, BoundedLines>) -> (Vec<Line>, usize) {
    let rest = lines.get_mut().stop();
    let mut buffer = std::mem::take(lines.read_buffer_mut());
    buffer.extend_from_slice(&rest);
    let codec = lines.decoder_mut();
    let mut held = Vec::new();
    // The codec makes no errors of its own: bad lines are items.
    while let Ok(Some(line)) = codec.decode(&mut buffer) {
        held.push(line);
    }
    (held, buffer.len())
}

impl Poster {
    /// Posts input line `number`, or says why not. False once nothing more
    /// can be done: the node stopped, or the loop is gone.
    async fn post(&self, number: u64, line: Line) -> bool {
        let text = match line {
            Ok(text) if text.trim().is_empty() => return true,
            Ok(text) => text,
            Err(BadLine::TooLong) => {
                let message = format!(
                    "input line {number} is longer than {MAX_LINE_BYTES} bytes; not posted"
                );
                return self.say(JsonEvent::Error { message }).await;
            }
            Err(BadLine::NotUtf8) => {
                let message = format!("input line {number} is not valid UTF-8; not posted");
                return self.say(JsonEvent::Error { message }).await;
            }
        };
        let options = PostOptions {
            text,
            nickname: self.nick.clone(),
            content_warning: self
                .automated
                .then(hearth_protocol::ContentWarning::automated),
            ..PostOptions::default()
        };
        let notice = match self
            .handle
            .publish_with(self.channel.clone(), options)
            .await
        {
            // With peers the node reports `sent` itself; with none, say the
            // post is stored and waiting.
            Ok(published) if published.peers == 0 => JsonEvent::Sent {
                id: published.id.to_string(),
                channel: self.channel.to_string(),
                peers: 0,
            },
            Ok(published) => {
                tracing::debug!(id = %published.id, peers = published.peers, "posted");
                return true;
            }
            Err(NodeError::Stopped) => return false,
            Err(e) => JsonEvent::Error {
                message: format!("input line {number} not posted: {e}"),
            },
        };
        self.say(notice).await
    }

    /// Hands an event to the loop; false when the loop is gone.
    async fn say(&self, event: JsonEvent) -> bool {
        self.notices.send(event).await.is_ok()
    }
}

/// Bytes read on a thread of their own, as an [`AsyncRead`].
///
/// tokio's own stdin reads on the blocking pool, and a read waiting for a
/// line that never comes would hold up the runtime's shutdown; a plain
/// thread is simply left behind. The thread reads only when there is room
/// to hand the chunk over, so it never holds bytes it read: once reading
/// stops, whatever it read is here, except what a read already under way
/// returns afterwards.
#[derive(Debug)]
struct Chunks {
    received: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Chunks {
    fn new(received: mpsc::Receiver<io::Result<Vec<u8>>>) -> Self {
        Self {
            received,
            chunk: Vec::new(),
            at: 0,
        }
    }

    /// Standard input, read on the `hearth-stdin` thread.
    fn stdin() -> anyhow::Result<Self> {
        let (sender, received) = mpsc::channel(1);
        std::thread::Builder::new()
            .name("hearth-stdin".to_owned())
            .spawn(move || read_stdin(&sender))
            .context("cannot start the input thread")?;
        Ok(Self::new(received))
    }

    /// Stops the reading and returns what was read and not taken yet.
    fn stop(&mut self) -> Vec<u8> {
        self.received.close();
        let mut rest = self.chunk.split_off(self.at.min(self.chunk.len()));
        self.chunk.clear();
        self.at = 0;
        while let Ok(Ok(chunk)) = self.received.try_recv() {
            rest.extend_from_slice(&chunk);
        }
        rest
    }
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        while this.at >= this.chunk.len() {
            match ready!(this.received.poll_recv(cx)) {
                Some(Ok(chunk)) => {
                    this.chunk = chunk;
                    this.at = 0;
                }
                Some(Err(e)) => return Poll::Ready(Err(e)),
                // The end of input, or reading was stopped.
                None => return Poll::Ready(Ok(())),
            }
        }
        let rest = this.chunk.get(this.at..).unwrap_or_default();
        let n = rest.len().min(buf.remaining());
        buf.put_slice(rest.get(..n).unwrap_or_default());
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

/// The input thread: reads standard input until its end, an error, or
/// the reader closing the channel.
fn read_stdin(sender: &mpsc::Sender<io::Result<Vec<u8>>>) {
    let mut stdin = io::stdin().lock();
    loop {
        // Room first, then the read: a chunk once read is handed over.
        let Ok(permit) = futures::executor::block_on(sender.reserve()) else {
            break;
        };
        let mut chunk = vec![0; CHUNK_BYTES];
        match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                chunk.truncate(n);
                permit.send(Ok(chunk));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                permit.send(Err(e));
                break;
            }
        }
    }
    tracing::debug!("standard input is no longer read");
}

#[cfg(test)]
mod tests;
