//! Reading the bootstrap node's `GET /metrics`: a minimal HTTP/1.1 GET on
//! loopback (the endpoint answers with a length and closes), parsed with
//! [`hearth_node::metrics::exposition`].

use std::net::SocketAddr;
use std::time::Duration;

use hearth_node::metrics::exposition::{self, MetricFamily};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::SizingError;

/// One scrape may take this long.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);
/// A larger answer is not the node's exposition.
const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// The metric families the endpoint at `address` serves now.
pub(super) async fn scrape(address: SocketAddr) -> Result<Vec<MetricFamily>, SizingError> {
    let fail = |why: String| SizingError::Metrics(format!("{address}: {why}"));
    let raw = tokio::time::timeout(SCRAPE_TIMEOUT, get(address, "/metrics"))
        .await
        .map_err(|_| fail(format!("no answer within {SCRAPE_TIMEOUT:?}")))?
        .map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(raw).map_err(|_| fail("not UTF-8".to_owned()))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| fail("no response head".to_owned()))?;
    let status = head.split(' ').nth(1).unwrap_or("");
    if status != "200" {
        return Err(fail(format!("status {status}")));
    }
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    if length.is_some_and(|length| length != body.len()) {
        return Err(fail("the body is shorter than its length".to_owned()));
    }
    exposition::parse(body).map_err(|e| fail(e.to_string()))
}

/// The value of the sample `name` without labels, if it is there.
pub(super) fn value(families: &[MetricFamily], name: &str) -> Option<f64> {
    exposition::value(families, name, &[])
}

async fn get(address: SocketAddr, path: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut raw)
        .await?;
    Ok(raw)
}
