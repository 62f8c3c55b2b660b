//! A tiny echo protocol for relayed connections: the request is a
//! length-prefixed block of bytes and the response the same bytes back, so
//! a circuit carries a small stream both ways.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response::{self, ProtocolSupport};

/// The protocol name.
pub(super) const PROTOCOL: StreamProtocol = StreamProtocol::new("/hearth-sizing/echo/1");
/// The bytes of one request (and of its response).
pub(super) const BLOCK_BYTES: usize = 1024;
/// A longer block is refused before it is read.
const MAX_BLOCK_BYTES: usize = 64 * 1024;

/// The request-response behaviour speaking the echo protocol.
pub(super) type Behaviour = request_response::Behaviour<Codec>;

/// A new echo behaviour that answers and sends requests.
pub(super) fn behaviour() -> Behaviour {
    request_response::Behaviour::with_codec(
        Codec,
        [(PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(std::time::Duration::from_secs(10)),
    )
}

/// A block of [`BLOCK_BYTES`] that differs for each `seed`.
pub(super) fn block(seed: u64) -> Vec<u8> {
    (0..BLOCK_BYTES as u64)
        .map(|i| (i.wrapping_mul(31) ^ seed).to_le_bytes()[0])
        .collect()
}

/// Length-prefixed blocks (a big-endian `u32`, then the bytes).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Codec;

impl request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_block(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_block(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        block: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_block(io, &block).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        block: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_block(io, &block).await
    }
}

async fn read_block<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let length = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
    if length > MAX_BLOCK_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "echo block too long",
        ));
    }
    let mut block = vec![0u8; length];
    io.read_exact(&mut block).await?;
    Ok(block)
}

async fn write_block<T: AsyncWrite + Unpin + Send>(io: &mut T, block: &[u8]) -> io::Result<()> {
    let length = u32::try_from(block.len())
        .ok()
        .filter(|n| *n as usize <= MAX_BLOCK_BYTES)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "echo block too long"))?;
    io.write_all(&length.to_be_bytes()).await?;
    io.write_all(block).await?;
    // The handler closes the stream after writing.
    io.flush().await
}
