//! Lines read with a length limit: standard input in headless mode, and
//! the control socket's request and answer lines.
//!
//! [`BoundedLines`] is `tokio-util`'s [`LinesCodec`] with a maximum length,
//! changed in one way: a line that is too long or not UTF-8 becomes an item
//! saying so, not an error that ends the stream. The bad line is skipped
//! (an over-long one without ever holding more than the limit in memory)
//! and the lines after it are read as usual, so one bad line costs only
//! itself.

use std::fmt;
use std::io;

use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LinesCodec, LinesCodecError};

/// Why a line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadLine {
    /// It is longer than the limit (in bytes, without its line ending).
    TooLong,
    /// It is not valid UTF-8.
    NotUtf8,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadLine::TooLong => "too long",
            BadLine::NotUtf8 => "not valid UTF-8",
        })
    }
}

/// One line without its `\n` or `\r\n`, or why it was skipped.
pub(crate) type Line = Result<String, BadLine>;

/// Splits bytes into [`Line`]s of at most a given length.
#[derive(Debug)]
pub(crate) struct BoundedLines {
    inner: LinesCodec,
}

impl BoundedLines {
    /// Lines of at most `max_length` bytes, line ending not counted.
    pub(crate) fn new(max_length: usize) -> Self {
        Self {
            inner: LinesCodec::new_with_max_length(max_length),
        }
    }
}

impl Decoder for BoundedLines {
    type Item = Line;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<Line>> {
        sort(self.inner.decode(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<Line>> {
        sort(self.inner.decode_eof(buf))
    }
}

/// Turns the codec's complaints about one line into items. Both leave the
/// codec ready for the next line: an over-long line is skipped up to its
/// end, and a line that is not UTF-8 has already been taken out of the
/// buffer.
fn sort(result: Result<Option<String>, LinesCodecError>) -> io::Result<Option<Line>> {
    match result {
        Ok(line) => Ok(line.map(Ok)),
        Err(LinesCodecError::MaxLineLengthExceeded) => Ok(Some(Err(BadLine::TooLong))),
        // The codec makes one I/O error of its own: invalid UTF-8.
        Err(LinesCodecError::Io(e)) if e.kind() == io::ErrorKind::InvalidData => {
            Ok(Some(Err(BadLine::NotUtf8)))
        }
        Err(LinesCodecError::Io(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use tokio_util::codec::FramedRead;

    async fn lines(input: &[u8], limit: usize) -> Vec<Line> {
        FramedRead::new(input, BoundedLines::new(limit))
            .map(|line| line.unwrap())
            .collect()
            .await
    }

    #[tokio::test]
    async fn bad_lines_are_items_and_the_next_lines_still_come() {
        let input = b"one\r\ntwo\n\nlooooooong\n\xff\xfe\nafter\nlast";
        assert_eq!(
            lines(input, 5).await,
            vec![
                Ok("one".to_owned()),
                Ok("two".to_owned()),
                Ok(String::new()),
                Err(BadLine::TooLong),
                Err(BadLine::NotUtf8),
                Ok("after".to_owned()),
                Ok("last".to_owned()),
            ]
        );
        // A line exactly at the limit is fine; an over-long last line
        // without an ending is skipped too.
        assert_eq!(
            lines(b"12345\n123456", 5).await,
            vec![Ok("12345".to_owned()), Err(BadLine::TooLong)]
        );
    }

    #[tokio::test]
    async fn an_endless_line_is_skipped_without_being_kept() {
        let mut input = vec![b'x'; 1_000_000];
        input.extend_from_slice(b"\nnext\n");
        let mut framed = FramedRead::new(&input[..], BoundedLines::new(1000));
        assert_eq!(framed.next().await.unwrap().unwrap(), Err(BadLine::TooLong));
        assert_eq!(framed.next().await.unwrap().unwrap(), Ok("next".to_owned()));
        assert!(framed.read_buffer().capacity() < 64 * 1024);
        assert!(framed.next().await.is_none());
    }
}
