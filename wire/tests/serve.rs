//! The served connection's budgets, with a real tarpc client on one side and raw bytes
//! (an attacker's) on the other: answers cross; unread answers close the connection;
//! silent, trickling and idle connections are closed at their deadlines; a panicking
//! handler answers an error; a cancelled or abandoned request's work is dropped; a frame
//! priced past its budget is refused before it is decoded.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use strata_wire::{Ended, FrameLimit, Handler, Listener, ServeOptions, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tarpc::service]
trait Test {
    /// `n` bytes.
    async fn bytes(n: usize) -> Vec<u8>;
    /// Panics.
    async fn boom() -> u8;
    /// Waits `ms`, noting in `DROPPED` if its future is dropped first.
    async fn wait(ms: u64) -> u8;
    /// Takes a list of strings (what a budget prices).
    async fn strings(s: Vec<String>) -> usize;
}

static DROPPED: AtomicUsize = AtomicUsize::new(0);

struct CountsDrop;
impl Drop for CountsDrop {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct Server;

impl Test for Server {
    async fn bytes(self, _: tarpc::context::Context, n: usize) -> Vec<u8> {
        vec![7; n]
    }
    async fn boom(self, _: tarpc::context::Context) -> u8 {
        panic!("a handler's panic")
    }
    async fn wait(self, _: tarpc::context::Context, ms: u64) -> u8 {
        let guard = CountsDrop;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        std::mem::forget(guard);
        1
    }
    async fn strings(self, _: tarpc::context::Context, s: Vec<String>) -> usize {
        s.len()
    }
}

fn handler() -> Handler<TestRequest, TestResponse> {
    use tarpc::server::Serve;
    Arc::new(|ctx, req| Box::pin(Server.serve().serve(ctx, req)))
}

/// Serves one connection with `options`; answers the address and how it ended.
async fn one(options: ServeOptions) -> (String, tokio::task::JoinHandle<Ended>) {
    let listener = Listener::bind("127.0.0.1:0", 8, 8).await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let conn = listener.accept().await;
        serve(conn, FrameLimit::new(64 << 20), options, handler()).await
    });
    (addr, task)
}

async fn client(addr: &str) -> TestClient {
    let t = strata_wire::connect(addr, Duration::from_secs(10), FrameLimit::new(64 << 20), None).await.unwrap();
    TestClient::new(tarpc::client::Config::default(), t).spawn()
}

fn ctx() -> tarpc::context::Context {
    strata_wire_test_ctx(Duration::from_secs(60))
}

fn strata_wire_test_ctx(d: Duration) -> tarpc::context::Context {
    let mut c = tarpc::context::current();
    c.deadline = std::time::Instant::now() + d;
    c
}

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn answers_cross_and_a_panic_is_an_error() {
    let (addr, server) = one(ServeOptions::default()).await;
    let c = client(&addr).await;
    assert_eq!(c.bytes(ctx(), 100_000).await.unwrap().len(), 100_000);
    match c.boom(ctx()).await {
        Err(tarpc::client::RpcError::Server(e)) => assert!(e.detail.contains("panic"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.bytes(ctx(), 3).await.unwrap(), vec![7; 3], "the connection serves on");
    drop(c);
    assert_eq!(tokio::time::timeout(LONG, server).await.unwrap().unwrap(), Ended::Closed);
}

#[tokio::test]
async fn answers_left_unread_close_the_connection() {
    let options = ServeOptions { max_unsent_bytes: 4 << 20, ..ServeOptions::default() };
    let (addr, server) = one(options).await;
    // 200 requests for 1 MiB each, pipelined, none of the answers read.
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    for id in 0..200u64 {
        let req = tarpc::ClientMessage::Request(tarpc::Request {
            context: ctx(),
            id,
            message: TestRequest::Bytes { n: 1 << 20 },
        });
        let body = rmp_serde::to_vec(&req).unwrap();
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend(body);
        if raw.write_all(&frame).await.is_err() {
            break; // closed already
        }
    }
    let ended = tokio::time::timeout(LONG, server).await.unwrap().unwrap();
    assert_eq!(ended, Ended::AnswersUnread);
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_first_frame_deadline() {
    let options = ServeOptions { first_frame_timeout: Duration::from_millis(300), ..ServeOptions::default() };
    let (addr, server) = one(options).await;
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    assert_eq!(tokio::time::timeout(LONG, server).await.unwrap().unwrap(), Ended::NoFirstFrame);
    let mut byte = [0u8; 1];
    assert_eq!(raw.read(&mut byte).await.unwrap_or(0), 0, "the socket was closed");
}

#[tokio::test]
async fn a_trickling_frame_is_closed_at_the_frame_deadline() {
    let options = ServeOptions {
        first_frame_timeout: Duration::from_secs(60),
        frame_timeout: Duration::from_millis(500),
        ..ServeOptions::default()
    };
    let (addr, server) = one(options).await;
    let mut raw = TcpStream::connect(&addr).await.unwrap();
    raw.write_all(&1000u32.to_be_bytes()).await.unwrap();
    let trickle = async {
        loop {
            if raw.write_all(&[0x90]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await; // the trickle's pace
        }
    };
    tokio::select! {
        ended = server => assert_eq!(ended.unwrap(), Ended::Slow),
        _ = trickle => panic!("the trickle ended first"),
        _ = tokio::time::sleep(LONG) => panic!("the trickle was never cut off"),
    }
}

#[tokio::test]
async fn an_idle_connection_is_closed_but_a_busy_one_is_not() {
    let options = ServeOptions { idle_timeout: Duration::from_millis(400), ..ServeOptions::default() };
    let (addr, server) = one(options).await;
    let c = client(&addr).await;
    // A request running longer than the idle timeout keeps the connection.
    assert_eq!(c.wait(ctx(), 1_000).await.unwrap(), 1);
    assert_eq!(tokio::time::timeout(LONG, server).await.unwrap().unwrap(), Ended::Idle);
}

#[tokio::test]
async fn a_cancelled_request_and_a_closed_connection_drop_their_work() {
    let (addr, server) = one(ServeOptions::default()).await;
    let before = DROPPED.load(Ordering::SeqCst);
    let c = client(&addr).await;
    // The client gives up after 200 ms: tarpc sends a cancel; the handler is dropped.
    let short = strata_wire_test_ctx(Duration::from_millis(200));
    assert!(c.wait(short, 60_000).await.is_err());
    let deadline = std::time::Instant::now() + LONG;
    while DROPPED.load(Ordering::SeqCst) == before {
        assert!(std::time::Instant::now() < deadline, "the cancelled handler was never dropped");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A request left running when the connection closes is dropped too.
    let running = DROPPED.load(Ordering::SeqCst);
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.wait(ctx(), 60_000).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // let the request reach the server
    pending.abort();
    drop(c);
    assert_eq!(tokio::time::timeout(LONG, server).await.unwrap().unwrap(), Ended::Closed);
    assert!(DROPPED.load(Ordering::SeqCst) > running, "the abandoned handler was dropped");
}

#[tokio::test]
async fn a_frame_priced_past_its_budget_is_refused_before_decoding() {
    let (addr, server) = one(ServeOptions::default()).await;
    let c = client(&addr).await;
    // Short strings pass ...
    assert_eq!(c.strings(ctx(), vec!["abcdefghijklmnop".into(); 1000]).await.unwrap(), 1000);
    // ... 3 million empty ones (3 MB on the wire, 72 MB as Strings, 216 MB priced)
    // are answered with an error, and the connection serves on.
    match c.strings(ctx(), vec![String::new(); 3_000_000]).await {
        Err(tarpc::client::RpcError::Server(e)) => {
            assert_eq!(e.kind, std::io::ErrorKind::InvalidData);
            assert!(e.detail.contains("would decode into more"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.strings(ctx(), vec!["a".into(); 3]).await.unwrap(), 3);
    drop(c);
    assert_eq!(tokio::time::timeout(LONG, server).await.unwrap().unwrap(), Ended::Closed);
}

#[tokio::test]
async fn requests_past_the_port_s_memory_are_refused_busy() {
    // Room for one request of 1,000 short strings (about 100 KB priced).
    let options = ServeOptions { memory: strata_wire::RequestMemory::new(150 << 10), ..ServeOptions::default() };
    let (addr, server) = one(options).await;
    let c = client(&addr).await;
    assert_eq!(c.strings(ctx(), vec!["abcdefgh".to_string(); 1_000]).await.unwrap(), 1_000, "one fits");
    // 2,000 do not fit in what the port's requests may hold: Busy (retryable), not run.
    match c.strings(ctx(), vec!["abcdefgh".to_string(); 2_000]).await {
        Err(tarpc::client::RpcError::Server(e)) => assert_eq!(e.kind, std::io::ErrorKind::WouldBlock, "{e:?}"),
        other => panic!("a request larger than the port's memory must be refused Busy: {other:?}"),
    }
    // The hold of the first was given back: it fits again.
    assert_eq!(c.strings(ctx(), vec!["abcdefgh".to_string(); 1_000]).await.unwrap(), 1_000);
    drop(c);
    assert_eq!(tokio::time::timeout(LONG, server).await.unwrap().unwrap(), Ended::Closed);
}
