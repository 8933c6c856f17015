//! The fault proxy: every raft link between two nodes goes through a TCP forwarder this
//! process owns, so the harness can drop, delay and cut traffic per direction.
//!
//! Why a proxy and not iptables: the tests run unprivileged on loopback, and a link is a
//! pair of *nodes*, not of ports (outgoing ports are ephemeral). Each node advertises a
//! virtual raft address and is told, by its `raft.routes` setting, to reach node `j`
//! through the listener `(i → j)` of this proxy; so the proxy knows which node sent every
//! byte without reading the protocol.
//!
//! A blocked direction loses its bytes, as a partition does. A stream that lost bytes
//! cannot be resumed (the receiver would read a frame from the middle), so blocking a
//! direction cuts the connections carrying it, connections made while it is blocked lose
//! what they send that way, and healing cuts those connections: after a heal every link
//! starts on fresh streams, which is what a node sees after a real partition (timeouts,
//! then reconnects). A delay holds each chunk for the delay, in order.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A node's place in the harness (its index, not its raft id).
pub type Slot = usize;

/// One forwarded connection.
struct Conn {
    /// The node that dialled (`None`: a dialler the proxy cannot name).
    from: Option<Slot>,
    to: Slot,
    /// Set once a blocked direction discarded bytes: cut at the next heal.
    tainted: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<AbortHandle>,
}

#[derive(Default)]
struct State {
    /// Where each node really listens.
    targets: HashMap<Slot, SocketAddr>,
    /// Directions that lose their bytes: `(sender, receiver)`.
    blocked: BTreeSet<(Slot, Slot)>,
    /// Extra latency per direction.
    delay: HashMap<(Slot, Slot), Duration>,
    conns: HashMap<u64, Conn>,
}

impl State {
    fn is_blocked(&self, sender: Option<Slot>, receiver: Option<Slot>) -> bool {
        matches!((sender, receiver), (Some(s), Some(r)) if self.blocked.contains(&(s, r)))
    }

    fn delay_of(&self, sender: Option<Slot>, receiver: Option<Slot>) -> Duration {
        match (sender, receiver) {
            (Some(s), Some(r)) => self.delay.get(&(s, r)).copied().unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    /// Cuts the connections `which` selects.
    fn cut(&mut self, which: impl Fn(&Conn) -> bool) -> usize {
        let ids: Vec<u64> = self.conns.iter().filter(|(_, c)| which(c)).map(|(id, _)| *id).collect();
        for id in &ids {
            if let Some(c) = self.conns.remove(id) {
                c.tasks.iter().for_each(AbortHandle::abort);
            }
        }
        ids.len()
    }
}

/// The proxy: its own small runtime, so it keeps forwarding whatever the test does with
/// its own.
pub struct Proxy {
    /// Taken only by `Drop`.
    runtime: Option<tokio::runtime::Runtime>,
    state: Arc<Mutex<State>>,
    next_conn: Arc<AtomicU64>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Proxy {
    /// A proxy with no links yet.
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()?;
        Ok(Self { runtime: Some(runtime), state: Arc::default(), next_conn: Arc::default() })
    }

    fn handle(&self) -> tokio::runtime::Handle {
        match &self.runtime {
            Some(rt) => rt.handle().clone(),
            None => unreachable!("the runtime is taken only when the proxy is dropped"),
        }
    }

    /// A listener (port chosen by the OS) forwarding to node `to`, carrying what `from`
    /// sends (`None`: a dialler without a route, never faulted by pair rules).
    pub fn listen(&self, from: Option<Slot>, to: Slot) -> std::io::Result<SocketAddr> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let state = self.state.clone();
        let next = self.next_conn.clone();
        self.handle().spawn(async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else { return };
            loop {
                let Ok((inbound, _)) = listener.accept().await else { continue };
                let id = next.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(forward(state.clone(), id, from, to, inbound));
            }
        });
        Ok(addr)
    }

    /// Where node `to` really listens (set again after each restart).
    pub fn set_target(&self, to: Slot, addr: SocketAddr) {
        lock(&self.state).targets.insert(to, addr);
    }

    /// Makes `sender → receiver` lose its bytes, for every pair given; cuts the
    /// connections carrying those directions.
    pub fn block(&self, directions: &[(Slot, Slot)]) {
        let mut s = lock(&self.state);
        for &d in directions {
            s.blocked.insert(d);
        }
        let blocked = s.blocked.clone();
        s.cut(|c| c.from.is_some_and(|f| blocked.contains(&(f, c.to)) || blocked.contains(&(c.to, f))));
    }

    /// Delays `sender → receiver` by `delay`, for every pair given (new chunks).
    pub fn delay(&self, directions: &[(Slot, Slot)], delay: Duration) {
        let mut s = lock(&self.state);
        for &d in directions {
            s.delay.insert(d, delay);
        }
    }

    /// Ends every fault: nothing blocked or delayed; the connections that lost bytes are
    /// cut so that every link resumes on fresh streams.
    pub fn heal(&self) {
        let mut s = lock(&self.state);
        s.blocked.clear();
        s.delay.clear();
        s.cut(|c| c.tainted.load(Ordering::Relaxed));
    }

    /// The blocked directions now.
    pub fn blocked(&self) -> BTreeSet<(Slot, Slot)> {
        lock(&self.state).blocked.clone()
    }

    /// Connections being forwarded now.
    pub fn open_connections(&self) -> usize {
        lock(&self.state).conns.len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // The proxy may be dropped inside a test's runtime, where a blocking shutdown is
        // not allowed: its tasks are cancelled in the background.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Every direction between two different sides, both ways: a partition into `sides`.
pub fn partition(sides: &[Vec<Slot>]) -> Vec<(Slot, Slot)> {
    let mut out = Vec::new();
    for (i, a) in sides.iter().enumerate() {
        for (j, b) in sides.iter().enumerate() {
            if i != j {
                out.extend(a.iter().flat_map(|&x| b.iter().map(move |&y| (x, y))));
            }
        }
    }
    out
}

async fn forward(state: Arc<Mutex<State>>, id: u64, from: Option<Slot>, to: Slot, inbound: TcpStream) {
    let Some(target) = lock(&state).targets.get(&to).copied() else { return };
    let Ok(Ok(outbound)) = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(target)).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let tainted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A direction blocked before this connection came loses its bytes from the start.
    let there = tokio::spawn(pump(state.clone(), from, Some(to), in_read, out_write, tainted.clone()));
    let back = tokio::spawn(pump(state.clone(), Some(to), from, out_read, in_write, tainted.clone()));
    let tasks = vec![there.abort_handle(), back.abort_handle()];
    lock(&state).conns.insert(id, Conn { from, to, tainted, tasks });
    let _ = there.await;
    let _ = back.await;
    lock(&state).conns.remove(&id);
}

/// Copies one direction, dropping what a blocked direction sends and holding what a
/// delayed one sends; ends (cutting the connection) when either side closes.
async fn pump(
    state: Arc<Mutex<State>>,
    sender: Option<Slot>,
    receiver: Option<Slot>,
    mut read: tokio::net::tcp::OwnedReadHalf,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    tainted: Arc<std::sync::atomic::AtomicBool>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>)>(64);
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if write.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = write.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let (blocked, delay) = {
            let s = lock(&state);
            (s.is_blocked(sender, receiver), s.delay_of(sender, receiver))
        };
        if blocked {
            tainted.store(true, Ordering::Relaxed);
            continue;
        }
        let due = tokio::time::Instant::now() + delay;
        if tx.send((due, buf[..n].to_vec())).await.is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// The links of a proxied cluster of up to `slots` nodes: node `j` advertises the
/// address `advertised[j]`, and node `i` reaches it through its own listener `(i → j)`.
pub struct Links {
    /// The proxy carrying every link.
    pub proxy: Proxy,
    advertised: Vec<SocketAddr>,
    routes: Vec<std::collections::BTreeMap<String, String>>,
}

impl Links {
    /// Listeners for every ordered pair of `slots` nodes.
    pub fn new(slots: usize) -> std::io::Result<Self> {
        let proxy = Proxy::new()?;
        let advertised = (0..slots).map(|j| proxy.listen(None, j)).collect::<std::io::Result<Vec<_>>>()?;
        let mut routes = Vec::with_capacity(slots);
        for i in 0..slots {
            let mut r = std::collections::BTreeMap::new();
            for (j, adv) in advertised.iter().enumerate().filter(|(j, _)| *j != i) {
                r.insert(adv.to_string(), proxy.listen(Some(i), j)?.to_string());
            }
            routes.push(r);
        }
        Ok(Self { proxy, advertised, routes })
    }

    /// How many nodes the links were made for.
    pub fn slots(&self) -> usize {
        self.advertised.len()
    }

    /// The node configuration (TOML) that makes node `slot` advertise its virtual address
    /// and dial every peer through the proxy.
    pub fn node_config(&self, slot: Slot) -> String {
        let mut toml = format!("raft_advertise = \"{}\"\n[raft.routes]\n", self.advertised[slot]);
        for (from, to) in self.routes.get(slot).into_iter().flatten() {
            toml.push_str(&format!("\"{from}\" = \"{to}\"\n"));
        }
        toml
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::{Read, Write};

    /// An echo server on its own thread; answers its address.
    fn echo() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn roundtrip(s: &mut std::net::TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg)?;
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got)?;
        Ok(got)
    }

    fn connect(addr: SocketAddr) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
        s
    }

    #[test]
    fn forwards_blocks_one_way_and_heals_on_fresh_streams() {
        let proxy = Proxy::new().unwrap();
        proxy.set_target(1, echo());
        let link = proxy.listen(Some(0), 1).unwrap();
        let mut s = connect(link);
        assert_eq!(roundtrip(&mut s, b"hello").unwrap(), b"hello");

        // Node 1 cannot send to node 0: the request arrives, the echo is lost, and the
        // connection that carried the direction is cut.
        proxy.block(&[(1, 0)]);
        assert!(roundtrip(&mut s, b"again").is_err(), "an open stream is cut when its direction is blocked");
        let mut during = connect(link);
        assert!(roundtrip(&mut during, b"lost").is_err(), "the answer direction loses its bytes");
        assert_eq!(proxy.blocked(), BTreeSet::from([(1, 0)]));

        proxy.heal();
        assert!(roundtrip(&mut during, b"x").is_err(), "a stream that lost bytes is cut at the heal");
        let mut after = connect(link);
        assert_eq!(roundtrip(&mut after, b"healed").unwrap(), b"healed");
    }

    #[test]
    fn a_partition_blocks_both_ways_between_sides_only() {
        let pairs = partition(&[vec![0], vec![1, 2]]);
        assert_eq!(BTreeSet::from_iter(pairs), BTreeSet::from([(0, 1), (0, 2), (1, 0), (2, 0)]));
        let proxy = Proxy::new().unwrap();
        proxy.set_target(1, echo());
        proxy.set_target(2, echo());
        proxy.block(&partition(&[vec![0], vec![1, 2]]));
        let mut cut = connect(proxy.listen(Some(0), 1).unwrap());
        assert!(roundtrip(&mut cut, b"x").is_err());
        let mut same_side = connect(proxy.listen(Some(2), 1).unwrap());
        assert_eq!(roundtrip(&mut same_side, b"y").unwrap(), b"y");
    }

    #[test]
    fn a_delay_holds_bytes_in_order() {
        let proxy = Proxy::new().unwrap();
        proxy.set_target(1, echo());
        let link = proxy.listen(Some(0), 1).unwrap();
        proxy.delay(&[(0, 1)], Duration::from_millis(300));
        let mut s = connect(link);
        let t = std::time::Instant::now();
        assert_eq!(roundtrip(&mut s, b"abc").unwrap(), b"abc");
        assert_eq!(roundtrip(&mut s, b"def").unwrap(), b"def");
        assert!(t.elapsed() >= Duration::from_millis(600), "each request waited the delay");
    }
}
