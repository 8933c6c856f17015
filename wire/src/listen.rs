//! The accepting side of both ports: a TCP listener that holds at most a configured number
//! of connections open, and at most a share of them from any one remote address (so a
//! client that opens connections and holds them cannot take every slot: well-behaved
//! clients from elsewhere are still served). A connection past either limit is accepted
//! and closed at once (so the kernel's backlog does not fill with connections nobody
//! will read), and counted in the log; each open connection carries its slot until it
//! closes.

use crate::tls::{Io, TlsServer};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a client may take over its TLS handshake before the connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound listener.
pub struct Listener {
    tcp: TcpListener,
    slots: Arc<Semaphore>,
    max_connections: usize,
    per_address: Arc<PerAddress>,
}

/// Open connections per remote address.
struct PerAddress {
    open: std::sync::Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// A connection's place in its address's share; given back when dropped.
struct AddressSlot {
    ip: IpAddr,
    of: Arc<PerAddress>,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressSlot { ip, of: self.clone() })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// An accepted connection, holding its slots until it is dropped.
pub struct Conn {
    stream: Io,
    /// Who connected.
    pub peer: SocketAddr,
    _slot: (OwnedSemaphorePermit, AddressSlot),
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port), accepting up to `max_connections` at once,
    /// at most `max_per_address` of them from one remote address.
    pub async fn bind(addr: &str, max_connections: usize, max_per_address: usize) -> io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        let per_address = Arc::new(PerAddress { open: Default::default(), max: max_per_address.max(1) });
        Ok(Self { tcp, slots: Arc::new(Semaphore::new(max_connections)), max_connections, per_address })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The next connection that has a slot (connections past the limit are closed).
    pub async fn accept(&self) -> Conn {
        loop {
            let (stream, peer) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was taken: the
                    // listener itself is fine; give the process a moment to close some.
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(mine) = self.per_address.take(peer.ip()) else {
                refused(peer, "too many open connections from its address", self.per_address.max);
                continue; // dropping the stream closes it
            };
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                refused(peer, "too many open connections", self.max_connections);
                continue;
            };
            // Answers go out at once (Nagle would hold one back behind another).
            let _ = stream.set_nodelay(true);
            return Conn { stream: Io::Plain(stream), peer, _slot: (slot, mine) };
        }
    }
}

/// Logs a refused connection, at most once a second per listener process (a flood of
/// refusals must not become a flood of log lines).
fn refused(peer: SocketAddr, why: &str, limit: usize) {
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    static SKIPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
        SKIPPED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    *last = Some(std::time::Instant::now());
    let skipped = SKIPPED.swap(0, std::sync::atomic::Ordering::Relaxed);
    tracing::warn!(%peer, limit, skipped, "connection refused: {why}");
}

impl Conn {
    /// The connection after the server's side of a TLS handshake, when `tls` is given;
    /// a client that does not finish it within `timeout` is refused.
    pub async fn secure(self, tls: Option<&TlsServer>, timeout: Duration) -> io::Result<Self> {
        let Conn { stream, peer, _slot } = self;
        let (tls, tcp) = match (tls, stream) {
            (Some(tls), Io::Plain(tcp)) => (tls, tcp),
            (_, stream) => return Ok(Conn { stream, peer, _slot }),
        };
        let stream = tokio::time::timeout(timeout, tls.accept(tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the TLS handshake took too long"))??;
        Ok(Self { stream, peer, _slot })
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn connections_past_the_limit_are_closed_until_one_leaves() {
        let listener = Listener::bind("127.0.0.1:0", 2, 2).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepting = tokio::spawn(async move {
            let a = listener.accept().await;
            let b = listener.accept().await;
            drop(a);
            let c = listener.accept().await;
            (b, c)
        });
        let _first = TcpStream::connect(addr).await.unwrap();
        let _second = TcpStream::connect(addr).await.unwrap();
        // The accept loop drops `a` only after taking two; wait for that by connecting a
        // third that must get `a`'s slot.
        let mut third = TcpStream::connect(addr).await.unwrap();
        let (_b, c) = accepting.await.unwrap();
        assert_eq!(c.peer, third.local_addr().unwrap(), "the freed slot went to the next connection");
        drop(third.shutdown().await);
    }

    #[tokio::test]
    async fn one_address_gets_only_its_share() {
        let listener = Listener::bind("127.0.0.1:0", 10, 2).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let from = |ip: &str| {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
            socket.connect(addr)
        };
        let _a1 = from("127.0.0.2").await.unwrap();
        let _a2 = from("127.0.0.2").await.unwrap();
        let held = (listener.accept().await, listener.accept().await);
        let mut a3 = from("127.0.0.2").await.unwrap();
        let other = from("127.0.0.3").await.unwrap();
        // The third from 127.0.0.2 is closed; the one from 127.0.0.3 gets a slot.
        let next = listener.accept().await;
        assert_eq!(next.peer, other.local_addr().unwrap());
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(30), a3.read(&mut byte)).await.unwrap().unwrap_or(0);
        assert_eq!(n, 0, "the connection past its address's share was closed");
        drop(held);
    }

    #[tokio::test]
    async fn a_connection_without_a_slot_is_closed() {
        let listener = Listener::bind("127.0.0.1:0", 1, 1).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let first = TcpStream::connect(addr).await.unwrap();
        let held = listener.accept().await;
        assert_eq!(held.peer, first.local_addr().unwrap());
        let mut second = TcpStream::connect(addr).await.unwrap();
        // accept() keeps looking for a connection with a slot; the second is closed meanwhile.
        let pending = tokio::spawn(async move { listener.accept().await.peer });
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(30), second.read(&mut byte)).await.unwrap().unwrap_or(0);
        assert_eq!(n, 0, "the connection past the limit was closed");
        pending.abort();
        drop((first, held));
    }
}
