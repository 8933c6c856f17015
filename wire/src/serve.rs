//! The serving side of both ports: one connection's requests read, run and answered,
//! speaking tarpc's messages (a client's `tarpc` stub talks to it unchanged) on budgets
//! that no client can escape.
//!
//! tarpc's own server (`BaseChannel`) reads requests as fast as they come and holds every
//! finished answer until the client reads it, has no deadline for a connection that sends
//! nothing or trickles, and decodes whatever a frame holds. A client that pipelined 1,000
//! queries with large answers and never read grew a node to 6.3 GB; 1,024 silent
//! connections held every slot. Here:
//!
//! * **Decoding** is priced before it starts ([`crate::budget`]), within the connection's
//!   frame limit, which its owner sets per trust (a few KiB before a hello or an
//!   `authenticate`, less for a key that cannot write). A request priced past its
//!   frame's budget is answered `InvalidData` (a deterministic error) without being
//!   decoded; one that fits is admitted against the port's [`RequestMemory`], which it
//!   holds until it is answered (none left: `WouldBlock`, the client's retryable `Busy`).
//! * **Answers** are encoded as soon as they are made and counted until written. A
//!   connection whose unwritten answers pass [`ServeOptions::max_unsent_bytes`] (one
//!   answer alone may be larger) stops being read; one whose answers keep arriving past
//!   it while the client does not read is closed, and everything it was running with it.
//! * **Time**: the first complete frame must arrive within
//!   [`ServeOptions::first_frame_timeout`], every frame within
//!   [`ServeOptions::frame_timeout`] of its first byte, an answer must be written within
//!   the same, and a connection with nothing in flight closes after
//!   [`ServeOptions::idle_timeout`].
//! * **Requests** past [`ServeOptions::max_in_flight`] are answered `WouldBlock` (the
//!   client's `Busy`), as tarpc did; of those admitted, at most
//!   [`ServeOptions::max_running`] run at once and the rest wait their turn, so that a
//!   client pipelining a thousand large reads has a bounded number of answers being made
//!   (each is as large as it is; their number is what the node bounds); a request past its deadline, cancelled by the client,
//!   or left running when the connection ends is dropped (its future, and whatever it
//!   owns: a Cypher query's cancel flag is raised by its drop); a handler that panics
//!   answers an error instead of leaving its client waiting.

use crate::frame::{FrameCodec, FrameLimit, FrameStart};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tarpc::ServerError;
use tarpc::context::Context;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

/// What the requests running on a port (all its connections together) may hold, in
/// bytes as [`crate::budget`] prices them. Cheap to clone; clones share it.
#[derive(Clone, Debug)]
pub struct RequestMemory {
    kib: Arc<tokio::sync::Semaphore>,
    total: usize,
}

impl RequestMemory {
    /// `bytes` in all.
    pub fn new(bytes: usize) -> Self {
        let kib = (bytes >> 10).clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        Self { kib: Arc::new(tokio::sync::Semaphore::new(kib)), total: bytes }
    }

    /// A hold on `bytes`, when that much is free now.
    fn take(&self, bytes: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024).max(1)).ok()?;
        self.kib.clone().try_acquire_many_owned(kib).ok()
    }

    /// Bytes free now.
    pub fn available(&self) -> usize {
        self.kib.available_permits() << 10
    }
}

impl Default for RequestMemory {
    fn default() -> Self {
        Self::new(2 << 30)
    }
}

/// One connection's budgets.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Requests admitted at once; more are answered `WouldBlock`.
    pub max_in_flight: usize,
    /// Of those, requests running at once; the others wait for a turn.
    pub max_running: usize,
    /// Bytes of answers made but not yet written before the connection stops being read
    /// (and, if answers go on arriving unread, is closed).
    pub max_unsent_bytes: usize,
    /// The largest answer sent (a larger one is replaced by an error saying so).
    pub max_answer_bytes: usize,
    /// How long the first complete frame may take to arrive.
    pub first_frame_timeout: Duration,
    /// How long a frame may take from its first byte to its last, and an answer to be
    /// written.
    pub frame_timeout: Duration,
    /// How long a connection with nothing in flight stays open without a request.
    pub idle_timeout: Duration,
    /// What requests may hold, shared with the port's other connections.
    pub memory: RequestMemory,
    /// The port's counters (open connections, requests refused busy), read by the
    /// node's metrics.
    pub stats: Arc<PortStats>,
}

/// What one port's connections count, shared by them all.
#[derive(Debug, Default)]
pub struct PortStats {
    /// Connections being served now.
    pub open: std::sync::atomic::AtomicI64,
    /// Requests answered busy (the port's request memory or a connection's in-flight
    /// limit was full).
    pub busy: std::sync::atomic::AtomicU64,
}

/// Counts a connection open until dropped.
struct Open(Arc<PortStats>);

impl Open {
    fn new(stats: &Arc<PortStats>) -> Self {
        stats.open.fetch_add(1, Ordering::Relaxed);
        Self(stats.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            max_in_flight: 1024,
            max_running: 64,
            max_unsent_bytes: 64 << 20,
            max_answer_bytes: 512 << 20,
            first_frame_timeout: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(600),
            stats: Arc::default(),
            memory: RequestMemory::default(),
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The client closed it.
    Closed,
    /// A read or write failed (a frame past the limit, a reset).
    Io(String),
    /// A frame could not be decoded (malformed, or over its budget).
    Undecodable(String),
    /// No complete first frame in time.
    NoFirstFrame,
    /// A frame or an answer took longer than the frame timeout.
    Slow,
    /// Nothing in flight and no request for the idle timeout.
    Idle,
    /// Answers went on piling up unread past the budget.
    AnswersUnread,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::Closed => write!(f, "closed by the client"),
            Ended::Io(e) => write!(f, "{e}"),
            Ended::Undecodable(e) => write!(f, "undecodable frame: {e}"),
            Ended::NoFirstFrame => write!(f, "no complete request within the first-frame deadline"),
            Ended::Slow => write!(f, "a frame or an answer took longer than the frame deadline"),
            Ended::Idle => write!(f, "idle past the idle timeout"),
            Ended::AnswersUnread => write!(f, "answers left unread past the connection's budget"),
        }
    }
}

/// Runs one request: its context and message to its answer. Each connection's service
/// is a closure over its state (credentials, the node).
pub type Handler<Req, Resp> =
    Arc<dyn Fn(Context, Req) -> BoxFuture<'static, Result<Resp, ServerError>> + Send + Sync + 'static>;

/// tarpc's `Response`, as its client decodes it (tarpc's own type cannot be built
/// outside its crate).
#[derive(Serialize)]
struct Answer<'a, T> {
    request_id: u64,
    message: &'a Result<T, ServerError>,
}

/// What the writer and the handlers share.
struct Outbox {
    /// Encoded frames (length prefix included) to write, in order.
    frames: mpsc::UnboundedSender<Vec<u8>>,
    /// Bytes queued and not yet written.
    unsent: AtomicUsize,
    /// Raised when answers overflow the budget, or the writer fails.
    fault: Notify,
    /// Woken after each written frame (reading resumes below the budget).
    drained: Notify,
    max_unsent: usize,
    max_answer: usize,
    overflowed: std::sync::atomic::AtomicBool,
}

impl Outbox {
    /// Queues one answer; past the budget (with answers already queued), raises the fault.
    fn send<T: Serialize>(&self, request_id: u64, message: &Result<T, ServerError>) {
        let frame = match encode_frame(request_id, message, self.max_answer) {
            Ok(frame) => frame,
            Err(detail) => {
                let error: Result<T, ServerError> = Err(ServerError::new(io::ErrorKind::InvalidData, detail));
                match encode_frame(request_id, &error, self.max_answer) {
                    Ok(frame) => frame,
                    Err(_) => return,
                }
            }
        };
        let len = frame.len();
        let before = self.unsent.fetch_add(len, Ordering::SeqCst);
        if before > 0 && before + len > self.max_unsent.saturating_mul(2) {
            self.unsent.fetch_sub(len, Ordering::SeqCst);
            self.overflowed.store(true, Ordering::SeqCst);
            self.fault.notify_one();
            return;
        }
        if self.frames.send(frame).is_err() {
            self.unsent.fetch_sub(len, Ordering::SeqCst);
        }
    }
}

/// One answer as a frame: the 4-byte length, then the MessagePack.
fn encode_frame<T: Serialize>(
    request_id: u64,
    message: &Result<T, ServerError>,
    max: usize,
) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; 4];
    rmp_serde::encode::write(&mut buf, &Answer { request_id, message })
        .map_err(|e| format!("the answer could not be encoded: {e}"))?;
    let len = buf.len() - 4;
    if len > max {
        return Err(format!("the answer of {len} bytes is larger than the frame limit of {max} bytes"));
    }
    let header = u32::try_from(len).map_err(|_| format!("an answer of {len} bytes"))?.to_be_bytes();
    buf[..4].copy_from_slice(&header);
    Ok(buf)
}

/// Serves one connection until it ends; answers why it did. Frames are read up to
/// `limit` (its owner may change it while the connection runs), requests run by
/// `handler`, each on a task of its own.
pub async fn serve<Req, Resp, Io>(
    io: Io,
    limit: FrameLimit,
    options: ServeOptions,
    handler: Handler<Req, Resp>,
) -> Ended
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    Io: AsyncRead + AsyncWrite + Send + 'static,
{
    let _open = Open::new(&options.stats);
    let (read, write) = tokio::io::split(io);
    let start = FrameStart::default();
    let codec = FrameCodec::new(limit).with_start(start.clone());
    let mut frames = FramedRead::new(read, codec);
    let (tx, rx) = mpsc::unbounded_channel();
    let outbox = Arc::new(Outbox {
        frames: tx,
        unsent: AtomicUsize::new(0),
        fault: Notify::new(),
        drained: Notify::new(),
        max_unsent: options.max_unsent_bytes,
        max_answer: options.max_answer_bytes,
        overflowed: Default::default(),
    });
    let writer = tokio::spawn(write_answers(write, rx, outbox.clone(), options.frame_timeout));
    let writer_abort = writer.abort_handle();
    let mut running: JoinSet<u64> = JoinSet::new();
    let mut by_request: HashMap<u64, AbortHandle> = HashMap::new();
    let mut by_task: HashMap<tokio::task::Id, u64> = HashMap::new();
    let turns = Arc::new(tokio::sync::Semaphore::new(options.max_running.max(1)));
    let opened = Instant::now();
    let mut first = true;
    let mut last_activity = Instant::now();
    let mut writer = writer;

    let ended = loop {
        let reading = outbox.unsent.load(Ordering::SeqCst) <= options.max_unsent_bytes;
        let deadline = match start.get() {
            Some(began) => Instant::from_std(began) + options.frame_timeout,
            None if first => opened + options.first_frame_timeout,
            None if running.is_empty() && outbox.unsent.load(Ordering::SeqCst) == 0 => {
                last_activity + options.idle_timeout
            }
            None => Instant::now() + options.idle_timeout,
        };
        tokio::select! {
            frame = frames.next(), if reading => {
                let frame = match frame {
                    None => break Ended::Closed,
                    Some(Err(e)) => break Ended::Io(e.to_string()),
                    Some(Ok(frame)) => frame,
                };
                first = false;
                last_activity = Instant::now();
                let hold = match crate::budget::check(&frame) {
                    Ok(cost) => match options.memory.take(cost) {
                        Some(hold) => hold,
                        None => {
                            let why = format!(
                                "the node's requests hold {} of {} bytes; this one needs {cost}",
                                options.memory.total.saturating_sub(options.memory.available()),
                                options.memory.total
                            );
                            options.stats.busy.fetch_add(1, Ordering::Relaxed);
                            if let Err(e) = refuse::<Resp>(&frame, &outbox, io::ErrorKind::WouldBlock, why) {
                                break e;
                            }
                            continue;
                        }
                    },
                    Err(refused @ crate::budget::Refused::OverBudget { .. }) => {
                        if let Err(e) = refuse::<Resp>(&frame, &outbox, io::ErrorKind::InvalidData, refused.to_string()) {
                            break e;
                        }
                        continue;
                    }
                    Err(malformed) => break Ended::Undecodable(malformed.to_string()),
                };
                let message: tarpc::ClientMessage<Req> = match crate::msgpack::decode(&frame) {
                    Ok(m) => m,
                    Err(e) => break Ended::Undecodable(e.to_string()),
                };
                drop(frame);
                match message {
                    tarpc::ClientMessage::Request(request) => {
                        let id = request.id;
                        if by_request.len() >= options.max_in_flight {
                            options.stats.busy.fetch_add(1, Ordering::Relaxed);
                            let busy: Result<Resp, ServerError> = Err(ServerError::new(
                                io::ErrorKind::WouldBlock,
                                format!("this connection runs {} requests already", options.max_in_flight),
                            ));
                            outbox.send(id, &busy);
                            continue;
                        }
                        if by_request.contains_key(&id) {
                            let dup: Result<Resp, ServerError> =
                                Err(ServerError::new(io::ErrorKind::InvalidInput, format!("request {id} is already running")));
                            outbox.send(id, &dup);
                            continue;
                        }
                        let deadline = Instant::from_std(request.context.deadline);
                        let handler = handler.clone();
                        let outbox = outbox.clone();
                        let turns = turns.clone();
                        let abort = running.spawn(async move {
                            let _hold = hold; // the request's memory, until it is answered
                            let run = async move {
                                let _turn = turns.acquire_owned().await;
                                handler(request.context, request.message).await
                            };
                            let run = std::panic::AssertUnwindSafe(run);
                            match tokio::time::timeout_at(deadline, futures::FutureExt::catch_unwind(run)).await {
                                Ok(Ok(answer)) => outbox.send(id, &answer),
                                Ok(Err(_)) => {
                                    let error: Result<Resp, ServerError> =
                                        Err(ServerError::new(io::ErrorKind::Other, "the request failed inside the node (a panic, logged)".into()));
                                    outbox.send(id, &error);
                                }
                                // The client gave up at its deadline: nobody reads an answer.
                                Err(_) => {}
                            }
                            id
                        });
                        by_task.insert(abort.id(), id);
                        by_request.insert(id, abort);
                    }
                    tarpc::ClientMessage::Cancel { request_id, .. } => {
                        if let Some(task) = by_request.remove(&request_id) {
                            task.abort();
                        }
                    }
                    _ => {}
                }
            }
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                let task = match &done {
                    Ok((task, _)) => *task,
                    Err(e) => e.id(),
                };
                if let Some(id) = by_task.remove(&task) {
                    // A cancelled request's id may already be reused by a newer one.
                    if by_request.get(&id).is_some_and(|a| a.id() == task) {
                        by_request.remove(&id);
                    }
                }
                last_activity = Instant::now();
            }
            _ = outbox.fault.notified() => {
                break if outbox.overflowed.load(Ordering::SeqCst) { Ended::AnswersUnread } else { Ended::Slow };
            }
            _ = outbox.drained.notified(), if !reading => { last_activity = Instant::now(); }
            written = &mut writer => {
                break match written {
                    Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => Ended::Slow,
                    Ok(Err(e)) => Ended::Io(e.to_string()),
                    _ => Ended::Closed,
                };
            }
            _ = start.began() => {}
            _ = tokio::time::sleep_until(deadline) => {
                // Deadlines are re-read here: the state may have moved on since the wait began.
                let now = Instant::now();
                match start.get() {
                    Some(began) if now >= Instant::from_std(began) + options.frame_timeout => break Ended::Slow,
                    Some(_) => {}
                    None if first && now >= opened + options.first_frame_timeout => break Ended::NoFirstFrame,
                    None if !first
                        && running.is_empty()
                        && outbox.unsent.load(Ordering::SeqCst) == 0
                        && now >= last_activity + options.idle_timeout => break Ended::Idle,
                    None => {}
                }
            }
        }
    };
    running.abort_all();
    writer_abort.abort();
    ended
}

/// Answers a request that is not run (its id read without decoding its message) with
/// an error of `kind`; a frame whose id cannot be read ends the connection.
fn refuse<Resp: Serialize>(frame: &[u8], outbox: &Outbox, kind: io::ErrorKind, why: String) -> Result<(), Ended> {
    match crate::msgpack::decode::<tarpc::ClientMessage<serde::de::IgnoredAny>>(frame) {
        Ok(tarpc::ClientMessage::Request(r)) => {
            let answer: Result<Resp, ServerError> = Err(ServerError::new(kind, why));
            outbox.send(r.id, &answer);
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(Ended::Undecodable(format!("{why} ({e})"))),
    }
}

/// Writes queued answers in order, each within `timeout`; ends on the first failure.
async fn write_answers<W: AsyncWrite>(
    write: W,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
    outbox: Arc<Outbox>,
    timeout: Duration,
) -> io::Result<()> {
    let out = tokio::io::BufWriter::with_capacity(64 << 10, write);
    let mut out = std::pin::pin!(out);
    while let Some(frame) = frames.recv().await {
        let mut batch = vec![frame];
        while let Ok(more) = frames.try_recv() {
            batch.push(more);
            if batch.len() >= 64 {
                break;
            }
        }
        let written = async {
            for f in &batch {
                out.write_all(f).await?;
            }
            out.flush().await
        };
        match tokio::time::timeout(timeout, written).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                outbox.fault.notify_one();
                return Err(io::Error::new(io::ErrorKind::TimedOut, "an answer took too long to write"));
            }
        }
        let bytes: usize = batch.iter().map(Vec::len).sum();
        outbox.unsent.fetch_sub(bytes, Ordering::SeqCst);
        outbox.drained.notify_one();
    }
    Ok(())
}
