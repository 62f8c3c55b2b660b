//! A delaying TCP proxy: the per-link delay of the benchmark (the kernel's
//! netem is not available here). Every byte read from one side is written
//! to the other `delay` later, in order, so a link through the proxy has a
//! one-way latency of `delay` each way and keeps TCP's ordering.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// How many chunks one direction of a link holds in flight before the
/// reader waits: enough for 100 ms of a busy link, bounded so a stalled
/// writer cannot make the proxy buffer without end.
const IN_FLIGHT_CHUNKS: usize = 4096;

/// A listener on 127.0.0.1 that forwards every connection to `target`,
/// delaying both directions. Dropping it closes the listener and every
/// link through it.
pub struct DelayProxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl DelayProxy {
    /// Starts a proxy to `target` with one-way `delay`.
    pub async fn start(target: SocketAddr, delay: Duration) -> io::Result<DelayProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // The links end with the proxy: a JoinSet aborts its tasks
            // when dropped.
            let mut links = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((inbound, _)) = accepted else { continue };
                        links.spawn(link(inbound, target, delay));
                    }
                    Some(_) = links.join_next(), if !links.is_empty() => {}
                }
            }
        });
        Ok(DelayProxy { addr, task })
    }

    /// Where to connect to reach `target` through the proxy.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One proxied connection: both directions delayed, each until its
/// reader sees the end.
async fn link(inbound: TcpStream, target: SocketAddr, delay: Duration) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    // libp2p sets no-delay on its own sockets; the proxy must not add
    // Nagle's delay on top of the one it is asked for.
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let _ = tokio::join!(
        pump(in_read, out_write, delay),
        pump(out_read, in_write, delay)
    );
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, delay: Duration) {
    let (chunks, mut due) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT_CHUNKS);
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = buffer.get(..n).unwrap_or_default().to_vec();
                    if chunks.send((Instant::now() + delay, chunk)).await.is_err() {
                        break;
                    }
                }
            }
        }
        // Dropping `chunks` here tells the writer the stream ended.
    };
    let writer = async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server: what it reads it writes back, until the end.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = stream.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn bytes_arrive_intact_and_in_order_both_ways() {
        let proxy = DelayProxy::start(echo_server().await, Duration::from_millis(5))
            .await
            .expect("proxy");
        let stream = TcpStream::connect(proxy.addr()).await.expect("connect");
        let (mut r, mut w) = stream.into_split();
        // 1 MiB in many small writes, a counting pattern so a lost,
        // repeated or reordered chunk shows.
        let sent: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let to_send = sent.clone();
        let writer = tokio::spawn(async move {
            for piece in to_send.chunks(1000) {
                w.write_all(piece).await.expect("write");
            }
            w.shutdown().await.expect("shutdown");
        });
        let mut received = Vec::new();
        r.read_to_end(&mut received).await.expect("read to the end");
        writer.await.expect("writer");
        assert_eq!(received.len(), sent.len());
        assert!(received == sent, "the bytes came back changed or reordered");
    }
}
