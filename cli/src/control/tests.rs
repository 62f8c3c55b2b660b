//! Tests of the control socket: its wire format, stale sockets, a running
//! node answering through it, and its permissions.

use super::*;

#[test]
fn wire_format_is_one_tagged_object_per_line() {
    let request = Request::History {
        channel: "anxiety".into(),
        since_ms: None,
        limit: 5,
        include_hidden: false,
    };
    let text = serde_json::to_string(&request).unwrap();
    assert_eq!(
        text,
        r#"{"op":"history","channel":"anxiety","since_ms":null,"limit":5,"include_hidden":false}"#
    );
    assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), request);
    let minimal: Request =
        serde_json::from_str(r#"{"op":"history","channel":"a","limit":1}"#).unwrap();
    assert!(matches!(
        minimal,
        Request::History {
            since_ms: None,
            include_hidden: false,
            ..
        }
    ));

    let ok = serde_json::to_string(&Response::Ok(Reply::Pong { pid: 7 })).unwrap();
    assert_eq!(ok, r#"{"ok":{"reply":"pong","pid":7}}"#);
    let err = serde_json::to_string(&Response::Error("nope".into())).unwrap();
    assert_eq!(err, r#"{"error":"nope"}"#);
}

#[tokio::test]
async fn missing_and_stale_sockets_mean_no_node() {
    let dir = tempfile::tempdir().unwrap();
    assert!(connect(dir.path()).await.unwrap().is_none());
    // A socket file whose listener is gone: what a crashed node leaves.
    let path = socket_path(dir.path());
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert!(connect(dir.path()).await.unwrap().is_none());
    assert!(!path.exists(), "the stale socket is removed");
    ensure_no_node(dir.path()).await.unwrap();
}

#[tokio::test]
async fn a_running_node_answers_through_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let handle = hearth_node::Node::builder()
        .persona_stamp_bits(8)
        .in_memory()
        .no_listen()
        .mdns(false)
        .start()
        .await
        .unwrap();
    let server = ControlServer::start(dir.path(), handle.clone()).unwrap();
    let Some(Reply::Pong { pid }) = call(dir.path(), &Request::Ping).await.unwrap() else {
        panic!("no pong")
    };
    assert_eq!(pid, std::process::id());
    let err = ensure_no_node(dir.path()).await.unwrap_err().to_string();
    assert!(err.contains("is already running on"), "{err}");

    let rotate = Request::RotatePersona {
        channel: "grief/es".into(),
    };
    let Some(Reply::Persona { persona }) = call(dir.path(), &rotate).await.unwrap() else {
        panic!("no persona")
    };
    assert_eq!(persona.channel, "grief/es");
    let block = Request::Block {
        entries: vec![BlockEntryJson {
            kind: "keyword".into(),
            value: "spam".into(),
            scope: None,
            reason: "first".into(),
        }],
    };
    let reply = call(dir.path(), &block).await.unwrap();
    assert_eq!(
        reply,
        Some(Reply::Blocked {
            added: 1,
            existing: 0
        })
    );
    let Request::Block { mut entries } = block else {
        unreachable!()
    };
    entries[0].reason = "same thing, other words".into();
    let again = Request::Block { entries };
    let reply = call(dir.path(), &again).await.unwrap();
    assert_eq!(
        reply,
        Some(Reply::Blocked {
            added: 0,
            existing: 1
        })
    );
    let Some(Reply::Status { status }) = call(dir.path(), &Request::Status).await.unwrap() else {
        panic!("no status")
    };
    assert!(status.running);
    assert_eq!(status.blocklist_entries, 1);

    let bad = Request::Persona {
        channel: "Not Valid".into(),
    };
    let err = call(dir.path(), &bad).await.unwrap_err().to_string();
    assert!(err.starts_with("invalid channel name"), "{err}");

    drop(server);
    assert!(!socket_path(dir.path()).exists());
    assert!(call(dir.path(), &Request::Ping).await.unwrap().is_none());
    handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_socket_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = socket_path(dir.path());
    let listener = bind_private(dir.path(), &path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the socket remains");
    // A client reaches it.
    let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
    assert!(connect(dir.path()).await.unwrap().is_some());
    accept.await.unwrap().unwrap();
}

#[tokio::test]
async fn bad_request_lines_are_answered_and_the_socket_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let handle = hearth_node::Node::builder()
        .persona_stamp_bits(8)
        .in_memory()
        .no_listen()
        .mdns(false)
        .start()
        .await
        .unwrap();
    let server = ControlServer::start(dir.path(), handle.clone()).unwrap();
    // What a client gets back for these raw bytes, as one line.
    let path = socket_path(dir.path());
    let exchange = |bytes: Vec<u8>| {
        let path = path.clone();
        async move {
            let stream = UnixStream::connect(&path).await.unwrap();
            let (mut read, mut write) = stream.into_split();
            write.write_all(&bytes).await.unwrap();
            write.shutdown().await.unwrap();
            let mut answer = String::new();
            read.read_to_string(&mut answer).await.unwrap();
            answer
        }
    };

    // Longer than the limit, and still coming while the server answers:
    // the client writes all of it and reads the answer.
    let mut long = br#"{"op":"ping","pad":""#.to_vec();
    long.resize(MAX_REQUEST_BYTES + 100_000, b'x');
    long.extend_from_slice(b"\"}\n");
    assert_eq!(
        exchange(long).await,
        format!("{{\"error\":\"invalid request: longer than {MAX_REQUEST_BYTES} bytes\"}}\n")
    );
    assert_eq!(
        exchange(b"{\"op\":\"ping\xff\"}\n".to_vec()).await,
        "{\"error\":\"invalid request: not valid UTF-8\"}\n"
    );
    let answer = exchange(b"{\"op\":\"ping\"}\n".to_vec()).await;
    assert!(answer.starts_with(r#"{"ok":{"reply":"pong""#), "{answer}");

    // Our own client refuses to send what the node would refuse.
    let huge = Request::Block {
        entries: vec![
            BlockEntryJson {
                kind: "keyword".into(),
                value: "x".repeat(100),
                scope: None,
                reason: "y".repeat(100),
            };
            10_000
        ],
    };
    let err = call(dir.path(), &huge).await.unwrap_err().to_string();
    assert!(err.contains("more than the 1048576 a node reads"), "{err}");

    drop(server);
    handle.shutdown().await.unwrap();
}
