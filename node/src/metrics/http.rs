//! The metrics endpoint: a small HTTP/1.1 server that may face the
//! internet. `GET /metrics` and `GET /health`, anything else 404 (or 405
//! for another method on those paths). One request per connection, at most
//! [`MAX_CONNECTIONS`] connections at once (more are closed at once), a
//! request head of at most [`MAX_REQUEST_BYTES`], and every connection
//! closed after [`CONNECTION_TIMEOUT`] whatever it is doing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::CONTENT_TYPE;

/// Most connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 32;
/// Largest request head (request line and headers) read.
pub(crate) const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Most request headers.
const MAX_HEADERS: usize = 32;
/// How long the request head may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one connection may stay open in all.
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a scrape waits for values asked of the node.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause after a failed accept (out of file descriptors), so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Updates metrics that are read at scrape time.
pub(crate) type Refresh = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// A running endpoint: its address, and whether it has closed.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    addr: SocketAddr,
    closed: watch::Receiver<bool>,
}

impl Endpoint {
    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns once the listener is closed and every connection ended.
    pub(crate) async fn closed(&self) {
        let mut closed = self.closed.clone();
        // An error means the server task is gone, which is closed too.
        let _ = closed.wait_for(|closed| *closed).await;
    }
}

struct State {
    registry: Registry,
    refresh: Option<Refresh>,
    node: watch::Receiver<bool>,
}

impl State {
    /// The node task still runs: it holds the sender and says `true`.
    fn node_alive(&self) -> bool {
        *self.node.borrow() && self.node.has_changed().is_ok()
    }
}

/// Serves `registry` on `listener` until `node` says false or its sender
/// (held by the node task) is dropped. `refresh` runs before each scrape.
pub(crate) fn spawn(
    listener: TcpListener,
    registry: Registry,
    refresh: Option<Refresh>,
    node: watch::Receiver<bool>,
) -> std::io::Result<Endpoint> {
    let addr = listener.local_addr()?;
    let (closed_tx, closed) = watch::channel(false);
    let state = Arc::new(State {
        registry,
        refresh,
        node: node.clone(),
    });
    tokio::spawn(serve(listener, state, node, closed_tx));
    Ok(Endpoint { addr, closed })
}

async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut node: watch::Receiver<bool>,
    closed: watch::Sender<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = node.changed() => {
                if changed.is_err() || !*node.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Over the limit the connection is dropped unanswered.
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        tracing::debug!("metrics endpoint busy; connection closed");
                        continue;
                    };
                    let state = Arc::clone(&state);
                    connections.spawn(async move {
                        let _permit = permit;
                        serve_connection(stream, state).await;
                    });
                }
                Err(e) => {
                    tracing::debug!(error = %e, "metrics endpoint accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
    let _ = closed.send(true);
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let service = service_fn(move |request: Request<Incoming>| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(respond(&request, &state).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(false)
        .max_buf_size(MAX_REQUEST_BYTES)
        .max_headers(MAX_HEADERS)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_TIMEOUT, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "metrics request failed"),
        Err(_) => tracing::debug!("metrics connection timed out"),
    }
}

async fn respond(request: &Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => {
            if let Some(refresh) = &state.refresh {
                let _ = tokio::time::timeout(REFRESH_TIMEOUT, refresh()).await;
            }
            match super::encode(&state.registry) {
                Ok(text) => reply(StatusCode::OK, CONTENT_TYPE, text),
                Err(_) => reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    TEXT,
                    "cannot encode the metrics\n".to_owned(),
                ),
            }
        }
        (&Method::GET, "/health") if state.node_alive() => {
            reply(StatusCode::OK, TEXT, "ok".to_owned())
        }
        (&Method::GET, "/health") => {
            reply(StatusCode::SERVICE_UNAVAILABLE, TEXT, "stopped".to_owned())
        }
        (_, "/metrics" | "/health") => {
            let mut response = reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "use GET\n".to_owned());
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
            response
        }
        _ => reply(StatusCode::NOT_FOUND, TEXT, "not found\n".to_owned()),
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::metrics::exposition;
    use crate::{Node, NodeError};

    /// One HTTP/1.1 exchange over a fresh TCP connection: the status code,
    /// the headers (names lowercased) and the body.
    async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, Vec<(String, String)>, String) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw))
            .await
            .expect("the server closes the connection")
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap();
        let code = status.split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        if let Some((_, length)) = headers.iter().find(|(k, _)| k == "content-length") {
            assert_eq!(length.parse::<usize>().unwrap(), body.len());
        }
        (code, headers, body.to_owned())
    }

    async fn get(addr: SocketAddr, path: &str) -> (u16, Vec<(String, String)>, String) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: hearth\r\n\r\n");
        exchange(addr, request.as_bytes()).await
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn a_node_serves_metrics_and_health_until_it_shuts_down() {
        let node = Node::builder()
            .in_memory()
            .no_listen()
            .mdns(false)
            .metrics("127.0.0.1:0".parse().unwrap())
            .start()
            .await
            .unwrap();
        let addr = node.metrics_addr().expect("a metrics address");
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0, "the bound port, not the one asked for");

        let (code, headers, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(header(&headers, "content-type"), Some(CONTENT_TYPE));
        let families = exposition::parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        let value = |name: &str| exposition::value(&families, name, &[]);
        let memory = value("process_resident_memory_bytes").expect("resident memory");
        assert!(memory > 1e6, "{body}");
        assert!(value("process_uptime_seconds").expect("uptime") >= 0.0);
        assert_eq!(value("hearth_peers_connected"), Some(0.0), "{body}");
        assert_eq!(value("hearth_channels_joined"), Some(0.0), "{body}");

        // The gauges follow the node: they are read at each scrape.
        node.join(hearth_protocol::ChannelName::parse("grief").unwrap())
            .await
            .unwrap();
        let (_, _, body) = get(addr, "/metrics").await;
        let families = exposition::parse(&body).unwrap();
        assert_eq!(
            exposition::value(&families, "hearth_channels_joined", &[]),
            Some(1.0)
        );

        let (code, _, body) = get(addr, "/health").await;
        assert_eq!((code, body.as_str()), (200, "ok"));
        let (code, _, _) = get(addr, "/").await;
        assert_eq!(code, 404);
        let (code, _, _) = get(addr, "/metrics/../secret").await;
        assert_eq!(code, 404);
        let post = b"POST /metrics HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
        let (code, headers, _) = exchange(addr, post).await;
        assert_eq!((code, header(&headers, "allow")), (405, Some("GET")));
        // A request head over the limit is refused, not buffered.
        let huge = format!(
            "GET /metrics HTTP/1.1\r\nHost: h\r\nX-Pad: {}\r\n\r\n",
            "a".repeat(MAX_REQUEST_BYTES * 2)
        );
        let (code, _, _) = exchange(addr, huge.as_bytes()).await;
        assert_eq!(code, 431);

        node.shutdown().await.unwrap();
        let refused = TcpStream::connect(addr).await;
        assert!(refused.is_err(), "the endpoint outlived the node");
    }

    #[tokio::test]
    async fn a_taken_metrics_port_fails_the_start() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = Node::builder()
            .in_memory()
            .no_listen()
            .mdns(false)
            .metrics(addr)
            .start()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, NodeError::Metrics { address, .. } if *address == addr),
            "{err}"
        );
        assert!(err.to_string().contains("metrics"), "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
