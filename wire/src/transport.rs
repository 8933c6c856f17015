//! A tarpc transport over any byte stream: [`FrameCodec`] frames carrying [`MsgPack`]
//! values. The node's listeners wrap each accepted stream with [`transport`]; clients
//! and peers dial with [`connect`].

use crate::frame::{FrameCodec, FrameLimit};
use crate::msgpack::MsgPack;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// A transport reading `In` and writing `Out` over the stream `S`.
pub type Transport<S, In, Out> = tokio_serde::Framed<Framed<S, FrameCodec>, In, Out, MsgPack<In, Out>>;

/// Frames `io` with frames up to `limit` in both directions.
pub fn transport<S, In, Out>(io: S, limit: FrameLimit) -> Transport<S, In, Out>
where
    S: AsyncRead + AsyncWrite,
{
    tokio_serde::Framed::new(Framed::new(io, FrameCodec::new(limit)), MsgPack::default())
}

/// Dials `addr` (within `timeout`) and frames the connection with frames up to `limit`.
pub async fn connect<In, Out>(
    addr: &str,
    timeout: Duration,
    limit: FrameLimit,
) -> io::Result<Transport<TcpStream, In, Out>> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {addr}")))??;
    // Requests are small and answered at once: Nagle's delay (with the peer's delayed
    // ACK) would add up to 40 ms to the second of two requests in flight.
    stream.set_nodelay(true)?;
    Ok(transport(stream, limit))
}
