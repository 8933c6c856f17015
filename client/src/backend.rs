//! Where requests go: the embedded backend (one shard in-process on sled, no network) or
//! the cluster backend ([`crate::cluster`]).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_api::{Command, Query, Response};
use strata_shards::flusher::Flusher;
use strata_shards::{OpenOptions, Shard};

/// Commands touching more records than this are applied off the async runtime's threads.
const INLINE_APPLY_LIMIT: usize = 64;

/// The shard of an embedded data directory.
pub struct Embedded {
    dir: PathBuf,
    shard: Arc<Shard>,
    /// Group commit: concurrent writers share flushes, one at a time. (sled's own
    /// `flush_async` runs each flush on its small IO pool, which deadlocks once every
    /// pool thread waits in a flush for a buffer write that needs a pool thread: seen
    /// with 32 concurrent appends.)
    flusher: Flusher,
}

impl Embedded {
    /// Opens (creating if needed) the data directory.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let db = strata_shards::open_db(dir, &OpenOptions::default())?;
        let shard = Shard::open_with_graphs(&db, "state", Some(dir.join("hnsw")))?;
        let flusher = Flusher::start(db);
        Ok(Self { dir: dir.to_path_buf(), shard: Arc::new(shard), flusher })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies a command and waits until it is durable on disk.
    pub async fn apply(&self, cmd: Command) -> Result<Response> {
        let response = if cmd.record_count() > INLINE_APPLY_LIMIT {
            let shard = self.shard.clone();
            tokio::task::spawn_blocking(move || shard.apply(&cmd))
                .await
                .map_err(|e| Error::Protocol(format!("apply task failed: {e}")))??
        } else {
            self.shard.apply(&cmd)?
        };
        self.flusher.flush().await.map_err(|source| Error::Io { path: self.dir.clone(), source })?;
        Ok(response)
    }

    /// Answers a query from committed state.
    pub fn query(&self, q: &Query) -> Result<Response> {
        Ok(self.shard.query(q)?)
    }

    /// Writes the whole store to `path` as one image (a backup), taken between two
    /// writes; answers its figures.
    pub fn capture(&self, path: &Path) -> Result<strata_shards::backup::image::Written> {
        let file = std::fs::File::create(path).map_err(|source| Error::Io { path: path.into(), source })?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let (written, _) = self.shard.export_to(b"#none", &mut out)?;
        let file = out.into_inner().map_err(|e| Error::Io { path: path.into(), source: e.into_error() })?;
        file.sync_all().map_err(|source| Error::Io { path: path.into(), source })?;
        Ok(written)
    }

    /// Flushes everything to disk.
    pub fn flush(&self) -> Result<()> {
        self.shard.flush()?;
        Ok(())
    }
}

/// The backend a `StorageContext` talks to.
pub enum Backend {
    /// In-process shard on a local data directory.
    Embedded(Embedded),
    /// A Strata cluster over the network.
    Cluster(Box<crate::cluster::Cluster>),
}

impl Backend {
    /// Applies a write.
    pub async fn apply(&self, cmd: Command) -> Result<Response> {
        match self {
            Backend::Embedded(e) => e.apply(cmd).await,
            Backend::Cluster(c) => c.apply(cmd).await,
        }
    }

    /// Answers a read.
    pub async fn query(&self, q: Query) -> Result<Response> {
        match self {
            Backend::Embedded(e) => e.query(&q),
            Backend::Cluster(c) => c.query(q).await,
        }
    }

    /// Answers a read with the given consistency (an embedded store is always current).
    pub async fn query_with(&self, q: Query, consistency: strata_api::ReadConsistency) -> Result<Response> {
        match self {
            Backend::Embedded(e) => e.query(&q),
            Backend::Cluster(c) => c.query_with(q, consistency).await,
        }
    }
}

/// Builds the "wrong response" error for a request.
pub(crate) fn unexpected(what: &str, got: &Response) -> Error {
    Error::Protocol(format!("{what}: got {got:?}"))
}

/// A graph of an embedded store: one partition, in-process (the same coordinator as a
/// cluster's P partitions).
pub struct EmbeddedGraph<'a> {
    embedded: &'a Embedded,
    graph: String,
}

impl Embedded {
    /// `graph`'s one partition.
    pub fn graph(&self, graph: &str) -> EmbeddedGraph<'_> {
        EmbeddedGraph { embedded: self, graph: graph.to_string() }
    }
}

impl EmbeddedGraph<'_> {
    /// Runs a read-only Cypher query on the query pool (never the caller's thread or
    /// the runtime's workers), on the same limits a node's defaults give: the query's
    /// length, its nesting depth, the memory its values hold and its time.
    pub async fn cypher(&self, query: String, params: serde_json::Map<String, serde_json::Value>) -> Result<Response> {
        let limits = strata_api::Limits::default();
        limits.check_graph_call(&strata_api::GraphCall::Cypher {
            graph: self.graph.clone(),
            query: query.clone(),
            params: serde_json::Map::new(),
        })?;
        let cypher = strata_shards::graph::cypher::budget::CypherLimits {
            max_depth: limits.cypher_max_depth,
            max_memory_bytes: limits.cypher_memory_bytes,
            max_time: std::time::Duration::from_millis(limits.cypher_time_ms),
        };
        let parts = strata_shards::graph::coord::local::ShardGraph::new(self.embedded.shard.clone(), &self.graph);
        let rows = strata_shards::graph::cypher::pool::run(parts, query, params, cypher).await?;
        Ok(Response::GraphRows(rows))
    }
}

impl strata_shards::graph::coord::Partitions for EmbeddedGraph<'_> {
    fn graph(&self) -> &str {
        &self.graph
    }

    fn count(&self) -> usize {
        1
    }

    fn read(
        &self,
        _: usize,
        q: strata_api::GraphQuery,
    ) -> impl std::future::Future<Output = strata_api::Result<Response>> + Send {
        let answer = self.embedded.query(&Query::Graph(q)).map_err(Error::into_store);
        async move { answer }
    }

    async fn write(&self, _: usize, c: strata_api::GraphCommand) -> strata_api::Result<Response> {
        self.embedded.apply(Command::Graph(c)).await.map_err(Error::into_store)
    }

    fn stamps(&self, _: usize) -> u64 {
        0
    }
}
