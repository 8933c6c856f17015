//! A graph's partitions in-process for tests: P shards in temporary folders, insertion
//! stamps from one clock (as a cluster client hands them out).
#![allow(dead_code, clippy::expect_used)] // test support: not every test uses everything

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use strata_api::{Command, GraphCommand, GraphQuery, Query, Response};
use strata_shards::graph::coord::{self, Partitions};
use strata_shards::{OpenOptions, Shard, open_db};

/// P partitions, each a shard in its own folder, insertion stamps from one clock, and the
/// labels the caller wrote lately (as a cluster client keeps them).
pub struct Parts {
    shards: Vec<Shard>,
    clock: AtomicU64,
    labels: coord::LabelCache,
    /// Reads and writes sent to the partitions so far.
    pub calls: (std::sync::atomic::AtomicUsize, std::sync::atomic::AtomicUsize),
    _dirs: Vec<tempfile::TempDir>,
}

impl Parts {
    pub fn new(p: usize) -> Self {
        let mut shards = Vec::new();
        let mut dirs = Vec::new();
        for _ in 0..p {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = open_db(dir.path(), &OpenOptions::default()).expect("open");
            shards.push(Shard::open(&db, "g").expect("shard"));
            dirs.push(dir);
        }
        Parts { shards, clock: AtomicU64::new(1), labels: Default::default(), calls: Default::default(), _dirs: dirs }
    }
}

impl Parts {
    /// `(reads, writes)` sent since the last call.
    pub fn take_calls(&self) -> (usize, usize) {
        (self.calls.0.swap(0, Ordering::Relaxed), self.calls.1.swap(0, Ordering::Relaxed))
    }
}

impl Partitions for Parts {
    fn graph(&self) -> &str {
        "g"
    }
    fn count(&self) -> usize {
        self.shards.len()
    }
    fn read(&self, p: usize, q: GraphQuery) -> impl Future<Output = coord::Result<Response>> + Send {
        self.calls.0.fetch_add(1, Ordering::Relaxed);
        let r = self.shards[p].query(&Query::Graph(q)).map_err(Into::into);
        async move { r }
    }
    fn write(&self, p: usize, c: GraphCommand) -> impl Future<Output = coord::Result<Response>> + Send {
        self.calls.1.fetch_add(1, Ordering::Relaxed);
        let r = self.shards[p].apply(&Command::Graph(c)).map_err(Into::into);
        async move { r }
    }
    fn stamps(&self, n: usize) -> u64 {
        self.clock.fetch_add(n as u64, Ordering::Relaxed)
    }
    fn label_cache(&self) -> Option<&coord::LabelCache> {
        Some(&self.labels)
    }
}

/// Runs a future to completion on a fresh single-threaded runtime.
pub fn block<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
}
