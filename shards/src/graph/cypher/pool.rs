//! Where Cypher queries run: a bounded pool of threads of their own, never the async
//! runtime's workers.
//!
//! Two CPU-heavy queries used to pin both of a 2-core node's runtime threads: every other
//! client timed out for minutes, the work outlived its client, and SIGTERM went unheard.
//! Here a query runs on one of [`threads`] pool threads (each with a large stack: a
//! query's recursion is bounded by its depth limit, and the stack leaves that limit far
//! from an overflow), driving its partition reads through the caller's runtime handle.
//! At most [`QUEUED_PER_THREAD`] queries per thread wait; past that a query is refused
//! `Busy` (retryable) instead of queueing without end. The future awaiting a query holds
//! its cancel flag ([`super::budget::CancelOnDrop`]): a client that goes away stops its
//! query at the next budget check. A panic inside a query is that query's typed error.

use super::budget::{Budget, CancelOnDrop, CypherLimits};
use crate::graph::coord::Partitions;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use strata_api::Error;

/// Queries that may wait per pool thread before more are refused.
pub const QUEUED_PER_THREAD: usize = 16;
/// Each pool thread's stack.
const STACK_BYTES: usize = 64 << 20;

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    jobs: Mutex<mpsc::SyncSender<Job>>,
    threads: usize,
}

static POOL: OnceLock<Pool> = OnceLock::new();

thread_local! {
    static ON_POOL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread is one of the pool's: it may block, so a query's reads of
/// local state run on it directly (each hand-off to another thread and back costs a
/// wake-up, tens of microseconds on a virtual machine, several per query).
pub fn on_pool_thread() -> bool {
    ON_POOL.with(|on| on.get())
}
static CONFIGURED: AtomicUsize = AtomicUsize::new(0);

/// Sets the pool's size before its first query (a node's `cypher_threads`); later calls,
/// or calls after the pool started, change nothing.
pub fn configure(threads: usize) {
    let _ = CONFIGURED.compare_exchange(0, threads.max(1), Ordering::SeqCst, Ordering::SeqCst);
}

/// The pool's size: as configured, else the machine's cores (at least 2).
pub fn threads() -> usize {
    match CONFIGURED.load(Ordering::SeqCst) {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
        n => n,
    }
}

fn pool() -> Result<&'static Pool, Error> {
    if let Some(p) = POOL.get() {
        return Ok(p);
    }
    let n = threads();
    let (tx, rx) = mpsc::sync_channel::<Job>(n * QUEUED_PER_THREAD);
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("strata-cypher-{i}"))
            .stack_size(STACK_BYTES)
            .spawn(move || {
                ON_POOL.with(|on| on.set(true));
                loop {
                    let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    job();
                }
            })
            .map_err(|e| Error::Unavailable(format!("starting a Cypher thread: {e}")))?;
    }
    Ok(POOL.get_or_init(|| Pool { jobs: Mutex::new(tx), threads: n }))
}

/// Runs `query` with `params` over `parts` on the pool, within `limits`. The query is
/// cancelled if the returned future is dropped.
pub async fn run<P>(
    parts: P,
    query: String,
    params: Map<String, Value>,
    limits: CypherLimits,
) -> Result<Vec<Map<String, Value>>, Error>
where
    P: Partitions + Send + Sync + 'static,
{
    let cancelled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(cancelled.clone());
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::Unavailable("a Cypher query needs a tokio runtime".into()))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let trace = strata_api::trace::current();
    let job: Job = Box::new(move || {
        let budget = Budget::new(limits, cancelled);
        let query_run = super::structured_query(&parts, &query, &params, &budget);
        // The request's trace goes along: reads forwarded from here carry its id.
        let run = || match trace {
            Some(t) => runtime.block_on(t.scope(query_run)),
            None => runtime.block_on(query_run),
        };
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|panic| {
            let what = strata_api::error::panic_text(panic.as_ref());
            tracing::error!(panic = %what, "a Cypher query panicked");
            Err(Error::InvalidQuery(format!("the query failed inside the engine (a bug, logged): {what}")))
        });
        let _ = tx.send(answer);
    });
    let pool = pool()?;
    let sent = pool.jobs.lock().unwrap_or_else(|p| p.into_inner()).try_send(job);
    match sent {
        Ok(()) => {}
        Err(mpsc::TrySendError::Full(_)) => {
            return Err(Error::Busy(format!(
                "{} Cypher queries are running or waiting already",
                pool.threads * (QUEUED_PER_THREAD + 1)
            )));
        }
        Err(mpsc::TrySendError::Disconnected(_)) => return Err(Error::Unavailable("the Cypher pool stopped".into())),
    }
    rx.await.map_err(|_| Error::Unavailable("a Cypher query's thread stopped".into()))?
}
