//! A tarpc transport over any byte stream: [`FrameCodec`] frames carrying [`MsgPack`]
//! values. The node's listeners wrap each accepted stream with [`transport`]; clients
//! and peers dial with [`connect`].

use crate::frame::{FrameCodec, FrameLimit};
use crate::msgpack::MsgPack;
use crate::tls::{Io, TlsClient};
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

/// Dials `addr` (within `timeout`, TLS included when `tls` is given) and frames the
/// connection with frames up to `limit`.
pub async fn connect<In, Out>(
    addr: &str,
    timeout: Duration,
    limit: FrameLimit,
    tls: Option<&TlsClient>,
) -> io::Result<Transport<Io, In, Out>> {
    connect_as(addr, addr, timeout, limit, tls).await
}

/// [`connect`], dialling `dial` to reach the node advertised at `name` (through a
/// forwarder): the certificate must name `name`'s host.
pub async fn connect_as<In, Out>(
    dial: &str,
    name: &str,
    timeout: Duration,
    limit: FrameLimit,
    tls: Option<&TlsClient>,
) -> io::Result<Transport<Io, In, Out>> {
    let open = async {
        let stream = TcpStream::connect(dial).await?;
        // Requests are small and answered at once: Nagle's delay (with the peer's delayed
        // ACK) would add up to 40 ms to the second of two requests in flight.
        stream.set_nodelay(true)?;
        match tls {
            None => Ok(Io::Plain(stream)),
            Some(tls) => tls.connect(name, stream).await,
        }
    };
    let io = tokio::time::timeout(timeout, open)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("connecting to {dial}")))??;
    Ok(transport(io, limit))
}
