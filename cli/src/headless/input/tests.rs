//! Tests of posting standard input, with a node in memory and the input
//! fed in chunks the way the input thread hands them over.

use std::time::Duration;

use hearth_node::{HistoryQuery, Node};

use super::*;

/// Long enough for a node in memory to post a few lines on a busy machine;
/// nothing waits this long when all is well.
const DEADLINE: Duration = Duration::from_secs(30);

struct Setup {
    handle: NodeHandle,
    channel: ChannelName,
    chunks: mpsc::Sender<io::Result<Vec<u8>>>,
    notices: mpsc::Receiver<JsonEvent>,
    task: InputTask,
}

async fn setup() -> Setup {
    let handle = Node::builder()
        .persona_stamp_bits(8)
        .in_memory()
        .no_listen()
        .mdns(false)
        .start()
        .await
        .unwrap();
    let channel = ChannelName::parse("support").unwrap();
    handle.join(channel.clone()).await.unwrap();
    let (chunks, received) = mpsc::channel(1);
    let (notices_tx, notices) = mpsc::channel(64);
    let poster = Poster {
        handle: handle.clone(),
        channel: channel.clone(),
        nick: None,
        automated: false,
        notices: notices_tx,
    };
    let task = InputTask::spawn(poster, Chunks::new(received));
    Setup {
        handle,
        channel,
        chunks,
        notices,
        task,
    }
}

impl Setup {
    /// Everything the task says until it ends.
    async fn said(&mut self) -> Vec<JsonEvent> {
        let mut said = Vec::new();
        loop {
            match tokio::time::timeout(DEADLINE, self.notices.recv()).await {
                Ok(Some(event)) => said.push(event),
                Ok(None) => return said,
                Err(_) => panic!("the input task did not end; it said {said:?}"),
            }
        }
    }

    /// The texts of the stored posts, in the order of the `sent` events
    /// the task printed for them (posts written in the same millisecond
    /// may be stored in either order), after checking every stored post
    /// had one.
    async fn posted(&self, said: &[JsonEvent]) -> Vec<String> {
        let query = HistoryQuery {
            since_ms: None,
            limit: 100,
            include_hidden: true,
        };
        let records = self
            .handle
            .history(self.channel.clone(), query)
            .await
            .unwrap();
        let sent: Vec<&String> = said
            .iter()
            .filter_map(|event| match event {
                JsonEvent::Sent { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), records.len(), "{said:?}");
        sent.into_iter()
            .map(|id| {
                let record = records.iter().find(|r| r.id.to_string() == *id);
                record.expect("a sent post is stored").post.body.clone()
            })
            .collect()
    }
}

fn kinds(said: &[JsonEvent]) -> Vec<String> {
    said.iter()
        .map(|event| match event {
            JsonEvent::Sent { peers: 0, .. } => "sent".to_owned(),
            JsonEvent::Error { message } => format!("error: {message}"),
            JsonEvent::InputEnd { lines, reason } => format!("input_end {lines} {reason}"),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn error(message: &str) -> String {
    format!("error: {message}")
}

#[tokio::test]
async fn lines_become_posts_and_bad_ones_are_reported_and_skipped() {
    let mut setup = setup().await;
    let mut input = b"first\n\n".to_vec();
    input.extend(vec![b'x'; MAX_LINE_BYTES + 1]);
    input.extend_from_slice(b"\nnot \xff UTF-8\nsecond\r\nthird");
    // Chunks of any size: lines and chunks need not line up.
    let chunks = setup.chunks.clone();
    tokio::spawn(async move {
        for chunk in input.chunks(1000) {
            chunks.send(Ok(chunk.to_vec())).await.unwrap();
        }
    });
    // The end of input once those are read.
    setup.chunks = mpsc::channel(1).0;

    let said = setup.said().await;
    assert_eq!(
        kinds(&said),
        [
            "sent".to_owned(),
            error("input line 3 is longer than 65536 bytes; not posted"),
            error("input line 4 is not valid UTF-8; not posted"),
            "sent".to_owned(),
            "sent".to_owned(),
            "input_end 6 end".to_owned(),
        ]
    );
    assert_eq!(setup.posted(&said).await, ["first", "second", "third"]);
    setup.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_signal_stops_reading_and_every_line_read_is_posted() {
    let mut setup = setup().await;
    // Read from standard input, which stays open: three lines, a blank one
    // and the start of a fifth.
    setup
        .chunks
        .send(Ok(b"one\ntwo\n\nthree\nfou".to_vec()))
        .await
        .unwrap();
    // The signal comes before the task has taken a single line.
    setup.task.finish();
    let said = setup.said().await;
    assert_eq!(
        kinds(&said),
        [
            "input_end 4 signal".to_owned(),
            error("input line 5 was cut short by the signal (3 bytes read); not posted"),
            "sent".to_owned(),
            "sent".to_owned(),
            "sent".to_owned(),
        ]
    );
    assert_eq!(setup.posted(&said).await, ["one", "two", "three"]);
    assert!(
        setup.chunks.send(Ok(b"five\n".to_vec())).await.is_err(),
        "nothing more is read"
    );
    setup.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_second_signal_reports_the_lines_it_leaves() {
    let mut setup = setup().await;
    setup
        .chunks
        .send(Ok(b"one\ntwo\nthree\n".to_vec()))
        .await
        .unwrap();
    setup.task.finish();
    setup.task.abandon();
    let said = setup.said().await;
    assert_eq!(
        kinds(&said),
        [
            "input_end 3 signal".to_owned(),
            error("input lines 1 to 3 not posted: stopped by a second signal"),
        ]
    );
    assert!(setup.posted(&said).await.is_empty());
    setup.handle.shutdown().await.unwrap();
}
