//! Request ids across nodes: every client request gets an id (a random 128-bit trace id,
//! tarpc's `trace_context.trace_id` on the wire) that each node it reaches — forwarded to
//! a leader, gathered from partitions, read by a graph call — logs its spans with, so one
//! id finds a request in every node's log.
//!
//! A node serving a request runs it inside [`Trace::scope`]; every call it makes to
//! another node builds its context with [`crate::service::context_within`], which copies
//! the current id. Work handed to another task (an actor's spawned task, the Cypher
//! pool) takes the trace along explicitly ([`current`], then `scope` again). A trace also
//! collects the time spent in named stages ([`stage`]), which a slow request's log line
//! lists.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A request's trace: its id and the stages timed so far (shared by every task working
/// on the request on this node).
#[derive(Clone, Debug)]
pub struct Trace {
    /// The request's id.
    pub id: u128,
    stages: Arc<Mutex<Vec<(&'static str, Duration)>>>,
}

tokio::task_local! {
    static CURRENT: Trace;
}

impl Trace {
    /// A trace for request `id` (0: a caller that sent none gets a new one).
    pub fn new(id: u128) -> Self {
        Self { id: if id == 0 { new_id() } else { id }, stages: Arc::default() }
    }

    /// Runs `f` with this trace current.
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }

    /// Runs `f` with this trace current, synchronously.
    pub fn sync_scope<T>(self, f: impl FnOnce() -> T) -> T {
        CURRENT.sync_scope(self, f)
    }

    /// The stages timed so far, in the order they ended, as `name=12.3ms` words.
    pub fn stages(&self) -> String {
        let stages = self.stages.lock().unwrap_or_else(|p| p.into_inner());
        let words: Vec<String> =
            stages.iter().map(|(name, d)| format!("{name}={:.1}ms", d.as_secs_f64() * 1000.0)).collect();
        words.join(" ")
    }

    /// The id as text (32 hex digits), as logs write it.
    pub fn hex(&self) -> String {
        format!("{:032x}", self.id)
    }
}

/// The trace of the request this task works on, if any.
pub fn current() -> Option<Trace> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The current request's id, if any.
pub fn current_id() -> Option<u128> {
    CURRENT.try_with(|t| t.id).ok()
}

/// Runs `f`, timing it as stage `name` of the current request (if there is one).
pub async fn stage<F: std::future::Future>(name: &'static str, f: F) -> F::Output {
    let began = Instant::now();
    let out = f.await;
    let _ = CURRENT.try_with(|t| t.stages.lock().unwrap_or_else(|p| p.into_inner()).push((name, began.elapsed())));
    out
}

/// A new request id: random per process, counted within it (unique without a system
/// call per request).
pub fn new_id() -> u128 {
    static SEED: OnceLock<u128> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(1);
    let seed = *SEED.get_or_init(|| {
        let bytes = crate::access::random_bytes().unwrap_or_else(|_| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let mut b = [0u8; 32];
            b[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
            b[16..20].copy_from_slice(&std::process::id().to_le_bytes());
            b
        });
        let mut s = [0u8; 16];
        s.copy_from_slice(&bytes[..16]);
        u128::from_le_bytes(s)
    });
    seed ^ u128::from(COUNT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_carries_the_id_and_collects_stages() {
        assert!(current().is_none());
        let t = Trace::new(0);
        assert_ne!(t.id, 0, "a request without an id gets one");
        let id = t.id;
        let seen = t
            .clone()
            .scope(async {
                stage("forward", async { tokio::task::yield_now().await }).await;
                crate::service::context_within(Duration::from_secs(1)).trace_context.trace_id
            })
            .await;
        assert_eq!(u128::from(seen), id, "calls made in the scope carry the id");
        assert!(t.stages().starts_with("forward="), "{}", t.stages());
        let outside = crate::service::context_within(Duration::from_secs(1)).trace_context.trace_id;
        assert_ne!(u128::from(outside), id);
        assert_ne!(new_id(), new_id());
    }
}
