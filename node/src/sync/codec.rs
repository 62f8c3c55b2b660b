//! The request-response codec: one postcard value per stream direction,
//! read with a hard byte limit before anything is decoded.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;

use super::wire::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, Request, Response, WireError, speaks};

/// Reads and writes [`Request`]s and [`Response`]s on request-response
/// streams. A message longer than its limit is an error as soon as the
/// limit is passed: at most one byte more than the limit is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncCodec;

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, MAX_REQUEST_BYTES).await?;
        Request::decode(&bytes).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_limited(io, MAX_RESPONSE_BYTES).await?;
        Response::decode(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        protocol: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        if !speaks(protocol, &request) {
            // The peer speaks only the first version: not its fault, so
            // not `InvalidData` (which penalises it).
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the peer's sync version has no card requests",
            ));
        }
        let bytes = request.encode().map_err(invalid)?;
        io.write_all(&bytes).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = response.encode().map_err(invalid)?;
        io.write_all(&bytes).await?;
        io.close().await
    }
}

/// Reads to the end of the stream, failing once more than `limit` bytes
/// arrived.
async fn read_limited<T: AsyncRead + Unpin>(io: &mut T, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    io.take(cap).read_to_end(&mut bytes).await?;
    if bytes.len() > limit {
        return Err(invalid(WireError::TooLarge { limit }));
    }
    Ok(bytes)
}

fn invalid(e: WireError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use futures::io::Cursor;
    use libp2p::request_response::Codec;

    use super::*;

    fn protocol() -> StreamProtocol {
        StreamProtocol::new("/hearth/test/sync/1")
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_without_decoding() {
        let mut codec = SyncCodec;
        let mut io = Cursor::new(vec![0u8; MAX_REQUEST_BYTES + 10]);
        let e = codec.read_request(&protocol(), &mut io).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // Only one byte past the limit was read.
        assert_eq!(io.position(), MAX_REQUEST_BYTES as u64 + 1);
    }

    #[tokio::test]
    async fn a_card_request_is_not_written_on_the_first_version() {
        let mut codec = SyncCodec;
        let mut io = Cursor::new(Vec::new());
        let request = Request::Card {
            channel: hearth_protocol::ChannelName::parse("grief").unwrap(),
            held: None,
        };
        let e = codec
            .write_request(&protocol(), &mut io, request.clone())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(io.get_ref().is_empty(), "nothing was sent");
        let current = StreamProtocol::new("/hearth/test/sync/2");
        codec
            .write_request(&current, &mut io, request.clone())
            .await
            .unwrap();
        io.set_position(0);
        assert_eq!(
            codec.read_request(&current, &mut io).await.unwrap(),
            request
        );
    }

    #[tokio::test]
    async fn what_is_written_reads_back() {
        let mut codec = SyncCodec;
        let mut io = Cursor::new(Vec::new());
        let request = Request::Lists { wanted: vec![] };
        codec
            .write_request(&protocol(), &mut io, request.clone())
            .await
            .unwrap();
        io.set_position(0);
        assert_eq!(
            codec.read_request(&protocol(), &mut io).await.unwrap(),
            request
        );
    }
}
