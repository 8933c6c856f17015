//! `Shard`: one store state machine over one sled tree — `apply(command) -> response`
//! for writes and `query(query) -> response` for reads.
//!
//! Determinism: the answer and the state change depend only on the tree and the command.
//! Atomicity: a command's writes land together, even across a crash ([`crate::redo`]); a
//! failed command writes nothing.
//! Isolation: commands are applied one at a time; queries never see half a batch.

use crate::error::{Error, Result};
use crate::txn::Txn;
use crate::{chat, docstore, graph, index_store, keys, kv, meta, vector};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use strata_api::{Command, Query, RequestId, Response};

/// How many log entries a request id is remembered for (a retry later than that is new).
pub const DEDUP_WINDOW: u64 = 100_000;

/// A command's answer: its response, or the deterministic error every replica reaches.
pub type Answer = std::result::Result<Response, strata_api::Error>;

/// One state machine holding every KV, document, index and chat record of its keys.
pub struct Shard {
    db: sled::Db,
    tree: sled::Tree,
    /// Serialises commands (each reads, then writes).
    apply_lock: Mutex<()>,
    /// Held for writing while a batch lands, for reading while a query runs.
    batch_gate: RwLock<()>,
    /// The vector namespaces in memory, derived from the records (changed only while
    /// `batch_gate` is held for writing, or loaded under it held for reading).
    vectors: RwLock<vector::Indexes>,
    graph_dir: Option<PathBuf>,
}

/// Options for opening a sled database.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// sled's page cache size in bytes.
    pub cache_capacity: u64,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { cache_capacity: 256 << 20 }
    }
}

/// How long [`open_db`] waits for a locked directory to be released.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens (creating if needed, private: see [`crate::private`]) the sled database in `dir`,
/// checking its format version ([`crate::format`]); a directory still locked after
/// [`LOCK_WAIT`] is `AlreadyOpen`. The wait is for this very process: sled releases its
/// lock only when its flusher thread lets go of the files, a moment after the last
/// handle is dropped, so an immediate reopen can find it still held.
pub fn open_db(dir: &Path, options: &OpenOptions) -> Result<sled::Db> {
    crate::private::private_dir(dir).map_err(|e| Error::Sled(sled::Error::Io(e)))?;
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_capacity)
        .flush_every_ms(Some(500))
        .mode(sled::Mode::HighThroughput);
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match config.open() {
            Ok(db) => {
                crate::format::check_or_mark(&db)?;
                return Ok(db);
            }
            Err(sled::Error::Io(io))
                if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock") =>
            {
                if std::time::Instant::now() >= deadline {
                    return Err(Error::AlreadyOpen { path: dir.display().to_string() });
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(Error::Sled(e)),
        }
    }
}

impl Shard {
    /// The shard stored in tree `name` of `db` (finishing a write a crash interrupted).
    pub fn open(db: &sled::Db, name: &str) -> Result<Self> {
        Self::open_with_graphs(db, name, None)
    }

    /// As [`Shard::open`], saving the HNSW graphs of its vector namespaces under
    /// `graph_dir` (and loading them from there), so reopening does not rebuild them.
    pub fn open_with_graphs(db: &sled::Db, name: &str, graph_dir: Option<PathBuf>) -> Result<Self> {
        let tree = db.open_tree(name)?;
        if crate::redo::recover(&tree)? {
            tracing::info!(tree = name, "finished a write interrupted by a crash");
        }
        if !tree.contains_key(INSTALLING)? {
            crate::counts::ensure(&tree)?;
        }
        Ok(Self {
            db: db.clone(),
            tree,
            apply_lock: Mutex::new(()),
            batch_gate: RwLock::new(()),
            vectors: RwLock::new(vector::Indexes::new(graph_dir.clone())),
            graph_dir,
        })
    }

    /// Applies one command atomically. A deterministic error leaves the shard unchanged.
    /// The change is durable only after [`Shard::flush`].
    pub fn apply(&self, cmd: &Command) -> Result<Response> {
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut txn = Txn::new(&self.tree);
        let response = dispatch(&mut txn, cmd)?;
        let _gate = self.batch_gate.write().unwrap_or_else(|p| p.into_inner());
        let changes = txn.commit()?;
        self.mirror(changes)?;
        if matches!(cmd, Command::Restore(_)) {
            self.forget_vector_indexes();
        }
        Ok(response)
    }

    /// Applies log entry `index` of a replicated shard: its writes in order, each command
    /// run once per request id. Every change of the entry, `extra` (the replication
    /// layer's applied-state records) and the remembered answers land in one atomic batch.
    /// A command failing deterministically answers its error and changes nothing (the
    /// commands around it still apply); any other error means this replica could not
    /// apply the entry.
    pub fn apply_entry(
        &self,
        index: u64,
        writes: &[(Option<RequestId>, &Command)],
        extra: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Vec<Answer>> {
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut txn = Txn::new(&self.tree);
        let mut answers = Vec::with_capacity(writes.len());
        for (request, cmd) in writes {
            // Read through the transaction: a batch may carry a retry of its own request.
            if let Some(bytes) = request.map(|id| txn.get(&dedup_key(id))).transpose()?.flatten() {
                let answer = rmp_serde::from_slice::<Answer>(&bytes)
                    .map_err(|e| Error::Corrupt(format!("request record: {e}")))?;
                answers.push(answer);
                continue;
            }
            let savepoint = txn.savepoint();
            let answer = match dispatch(&mut txn, cmd) {
                Ok(r) => Ok(r),
                Err(Error::Api(e)) => Err(e),
                Err(Error::Corrupt(msg)) => Err(strata_api::Error::InvalidData(msg)),
                Err(e) => return Err(e),
            };
            if answer.is_err() {
                txn.rollback(savepoint);
            }
            if let Some(id) = request {
                let bytes = rmp_serde::to_vec(&answer).map_err(|e| Error::Corrupt(format!("request record: {e}")))?;
                txn.put(dedup_key(*id), bytes);
                txn.put(dedup_index_key(index, *id), Vec::new());
            }
            answers.push(answer);
        }
        if index > DEDUP_WINDOW {
            let end = dedup_index_prefix(index - DEDUP_WINDOW);
            for item in self.tree.range(DEDUP_INDEX.to_vec()..end) {
                let (k, _) = item?;
                if let Some(id) = parse_dedup_index_key(&k) {
                    txn.remove(dedup_key(id));
                }
                txn.remove(k.to_vec());
            }
        }
        for (k, v) in extra {
            txn.put(k, v);
        }
        let _gate = self.batch_gate.write().unwrap_or_else(|p| p.into_inner());
        let changes = txn.commit()?;
        self.mirror(changes)?;
        if writes.iter().any(|(_, c)| matches!(c, Command::Restore(_))) {
            self.forget_vector_indexes();
        }
        Ok(answers)
    }

    /// Drops the in-memory vector indexes, reloaded from the records when next used (a
    /// restore's records bypass the mirror).
    fn forget_vector_indexes(&self) {
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = vector::Indexes::new(self.graph_dir.clone());
    }

    /// Mirrors landed vector changes in memory (caller holds the batch gate for writing).
    fn mirror(&self, changes: Vec<vector::Change>) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        self.vectors.write().unwrap_or_else(|p| p.into_inner()).apply(&self.tree, changes)
    }

    /// One record of the shard's own metadata space (`#...` keys), as stored.
    pub fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    /// Visits every record in key order between two applies (writes wait); answers the
    /// record under `capture` as of that moment.
    fn each_record(&self, capture: &[u8], mut visit: impl FnMut(&[u8], &[u8])) -> Result<Option<Vec<u8>>> {
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        let captured = self.tree.get(capture)?.map(|v| v.to_vec());
        for item in self.tree.iter() {
            let (k, v) = item?;
            visit(&k, &v);
        }
        Ok(captured)
    }

    /// Every record of the shard, as one consistent image (writes wait while it is taken):
    /// a sequence of `len(key) key len(value) value` with big-endian u32 lengths; also
    /// answers the record under `capture` as of that image.
    pub fn export_image(&self, capture: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        let captured = self.each_record(capture, |k, v| {
            out.extend_from_slice(&(k.len() as u32).to_be_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        })?;
        Ok((out, captured))
    }

    /// Writes every record to `out` as one consistent image (writes wait while it is
    /// taken), streamed: a backup of a large group never sits whole in memory. Answers
    /// the image's figures and the record under `capture` as of that image.
    pub fn export_to<W: std::io::Write>(
        &self,
        capture: &[u8],
        out: W,
    ) -> Result<(crate::backup::image::Written, Option<Vec<u8>>)> {
        let mut image = crate::backup::image::ImageWriter::new(out);
        let mut failed = None;
        let captured = self.each_record(capture, |k, v| {
            if failed.is_none()
                && let Err(e) = image.push(k, v)
            {
                failed = Some(e);
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok((image.finish()?.0, captured))
    }

    /// A hash of every record (FNV-1a 64 over length-prefixed keys and values, in key
    /// order) and their count, taken between two applies; also answers the record under
    /// `capture` as of that moment.
    pub fn digest(&self, capture: &[u8]) -> Result<(u64, u64, Option<Vec<u8>>)> {
        let mut hash = Fnv64::default();
        let mut records = 0u64;
        let captured = self.each_record(capture, |k, v| {
            hash.write(&(k.len() as u64).to_be_bytes());
            hash.write(k);
            hash.write(&(v.len() as u64).to_be_bytes());
            hash.write(v);
            records += 1;
        })?;
        Ok((hash.0, records, captured))
    }

    /// Replaces every record with those of `image` (from [`Shard::export_image`]). Not
    /// atomic: while it runs a marker record says so ([`Shard::install_interrupted`]), and
    /// the caller, who keeps the image, installs it again after a crash.
    pub fn install_image(&self, image: &[u8]) -> Result<()> {
        let records = parse_image(image)?;
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        let _gate = self.batch_gate.write().unwrap_or_else(|p| p.into_inner());
        self.tree.insert(INSTALLING, &[])?;
        for item in self.tree.iter() {
            let (k, _) = item?;
            if k.as_ref() != INSTALLING {
                self.tree.remove(k)?;
            }
        }
        for (k, v) in records {
            self.tree.insert(k, v)?;
        }
        crate::counts::ensure(&self.tree)?;
        self.tree.remove(INSTALLING)?;
        self.forget_vector_indexes();
        Ok(())
    }

    /// Whether an image install was cut short (the state is then meaningless until the
    /// image is installed again).
    pub fn install_interrupted(&self) -> Result<bool> {
        Ok(self.tree.contains_key(INSTALLING)?)
    }

    /// Answers one query from committed state.
    pub fn query(&self, q: &Query) -> Result<Response> {
        let _gate = self.batch_gate.read().unwrap_or_else(|p| p.into_inner());
        let r: &sled::Tree = &self.tree;
        match q {
            Query::Kv(q) => kv::query(r, q),
            Query::Docstore(q) => docstore::query(r, q),
            Query::IndexStore(q) => index_store::query(r, q),
            Query::Chat(q) => chat::query(r, q),
            Query::Meta(q) => meta::query(r, q),
            Query::Vector(q) => {
                if let strata_api::VectorQuery::Search { namespace, .. }
                | strata_api::VectorQuery::IndexStats { namespace } = q
                {
                    let ready = self.vectors.read().unwrap_or_else(|p| p.into_inner()).is_ready(namespace);
                    if !ready {
                        self.vectors.write().unwrap_or_else(|p| p.into_inner()).ensure_loaded(r, namespace)?;
                    }
                }
                vector::query(r, &self.vectors.read().unwrap_or_else(|p| p.into_inner()), q)
            }
            Query::Graph(q) => {
                if let strata_api::GraphQuery::VectorSearch { graph, .. }
                | strata_api::GraphQuery::IndexStats { graph } = q
                {
                    let namespace = graph::embeddings::namespace(graph);
                    let ready = self.vectors.read().unwrap_or_else(|p| p.into_inner()).is_ready(&namespace);
                    if !ready {
                        self.vectors.write().unwrap_or_else(|p| p.into_inner()).ensure_loaded(r, &namespace)?;
                    }
                }
                graph::query(r, &self.vectors.read().unwrap_or_else(|p| p.into_inner()), q)
            }
        }
    }

    /// Answers a graph read of a few records right away, unless a write is being applied
    /// (then `None`: the caller waits elsewhere than on an async worker; also for vector
    /// reads, which may first load the entity index). What a graph
    /// call's short traversal reads use: a hand-off to a blocking thread costs more.
    pub fn graph_query_now(&self, q: &strata_api::GraphQuery) -> Option<Result<Response>> {
        if let strata_api::GraphQuery::VectorSearch { .. } | strata_api::GraphQuery::IndexStats { .. } = q {
            return None; // these may first load the entity index: `query` does that
        }
        let _gate = match self.batch_gate.try_read() {
            Ok(gate) => gate,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        let vectors = self.vectors.try_read().ok()?;
        Some(graph::query(&self.tree, &vectors, q))
    }

    /// The figures (vectors, unindexed backlog) of the vector namespaces in memory, for
    /// metrics: nothing is loaded to answer, and a write being applied is not waited for
    /// (`None` then; the next scrape reads them).
    pub fn loaded_vector_stats(&self) -> Option<Vec<(String, strata_api::VectorIndexStats)>> {
        Some(self.vectors.try_read().ok()?.loaded_stats())
    }

    /// How many nodes and relations this partition of `graph` holds (from its schema
    /// counters: a scan of a few records).
    pub fn graph_counts(&self, graph: &str) -> Result<(u64, u64)> {
        let counts = graph::schema::counts(&self.tree, graph)?;
        let nodes = counts.node_labels.iter().map(|(_, n)| *n).sum();
        Ok((nodes, counts.relationships.iter().map(|(_, n)| *n).sum()))
    }

    /// Entries of each KV collection held here (documents of `{ns}/data`, ...).
    pub fn collection_counts(&self) -> Result<Vec<(String, u64)>> {
        crate::counts::collections(&self.tree)
    }

    /// Keys of the chat store held here.
    pub fn chat_key_count(&self) -> Result<u64> {
        crate::counts::chat_keys(&self.tree)
    }

    /// Asks the vector namespaces in memory to save their HNSW graphs (in the background).
    pub fn save_vector_graphs(&self) {
        self.vectors.read().unwrap_or_else(|p| p.into_inner()).save_graphs();
    }

    /// Runs `f` on the loaded index of vector namespace `namespace` (loading it first).
    pub fn with_vector_index<T>(
        &self,
        namespace: &str,
        f: impl FnOnce(Option<&vector::index::NamespaceIndex>) -> T,
    ) -> Result<T> {
        let _gate = self.batch_gate.read().unwrap_or_else(|p| p.into_inner());
        self.vectors.write().unwrap_or_else(|p| p.into_inner()).ensure_loaded(&self.tree, namespace)?;
        Ok(f(self.vectors.read().unwrap_or_else(|p| p.into_inner()).get(namespace)))
    }

    /// Makes every applied command durable (fsync); answers the bytes flushed.
    pub fn flush(&self) -> Result<usize> {
        Ok(self.db.flush()?)
    }
}

fn dispatch(txn: &mut Txn<'_>, cmd: &Command) -> Result<Response> {
    match cmd {
        Command::Kv(c) => kv::apply(txn, c),
        Command::Docstore(c) => docstore::apply(txn, c),
        Command::IndexStore(c) => index_store::apply(txn, c),
        Command::Chat(c) => chat::apply(txn, c),
        Command::Meta(c) => meta::apply(txn, c),
        Command::Vector(c) => vector::apply(txn, c),
        Command::Graph(c) => graph::apply(txn, c),
        Command::Restore(c) => crate::backup::restore::apply(txn, c),
    }
}

/// Present while an image is being installed.
const INSTALLING: &[u8] = b"#installing";
/// Remembered answers: `#req/ client seq`.
const DEDUP: &[u8] = b"#req/";
/// Their index by log position, for forgetting: `#reqidx/ index client seq`.
const DEDUP_INDEX: &[u8] = b"#reqidx/";

fn dedup_key(id: RequestId) -> Vec<u8> {
    let mut k = DEDUP.to_vec();
    k.extend_from_slice(&id.client.to_be_bytes());
    k.extend_from_slice(&id.seq.to_be_bytes());
    k
}

fn dedup_index_prefix(index: u64) -> Vec<u8> {
    let mut k = DEDUP_INDEX.to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn dedup_index_key(index: u64, id: RequestId) -> Vec<u8> {
    let mut k = dedup_index_prefix(index);
    k.extend_from_slice(&id.client.to_be_bytes());
    k.extend_from_slice(&id.seq.to_be_bytes());
    k
}

fn parse_dedup_index_key(k: &[u8]) -> Option<RequestId> {
    let tail = k.get(DEDUP_INDEX.len() + 8..)?;
    Some(RequestId { client: keys::read_u64(tail)?, seq: keys::read_u64(tail.get(8..)?)? })
}

fn parse_image(mut image: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let corrupt = || Error::Corrupt("truncated shard image".into());
    let take = |image: &mut &[u8]| -> Result<Vec<u8>> {
        let len_bytes: [u8; 4] = image.get(..4).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let bytes = image.get(4..4 + len).ok_or_else(corrupt)?.to_vec();
        *image = &image[4 + len..];
        Ok(bytes)
    };
    let mut out = Vec::new();
    while !image.is_empty() {
        let k = take(&mut image)?;
        let v = take(&mut image)?;
        out.push((k, v));
    }
    Ok(out)
}

/// FNV-1a, 64 bits: a hash every build and platform computes alike (the replicas'
/// digests are compared across processes), cheap, and not meant to resist an adversary.
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_api::{ChatCommand, ChatMessage, ChatQuery, MessageRole, MetaCommand};

    fn add(key: &str, text: &str) -> Command {
        Command::Chat(ChatCommand::AddMessage {
            key: key.into(),
            message: ChatMessage::new(MessageRole::User, text),
            idx: None,
        })
    }

    fn texts(shard: &Shard, key: &str) -> Vec<String> {
        match shard.query(&Query::Chat(ChatQuery::GetMessages { key: key.into() })) {
            Ok(Response::Messages(m)) => {
                m.unwrap_or_default().iter().map(|m| m.content().unwrap_or_default()).collect()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn an_entry_applies_each_write_once_and_a_failing_one_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = open_db(dir.path(), &OpenOptions::default()).expect("open");
        let shard = Shard::open(&db, "s").expect("shard");
        let retry = RequestId { client: 7, seq: 1 };
        let failing = Command::Meta(MetaCommand::RemoveNode { id: 99 });
        let writes = [
            (Some(retry), &add("k", "first")),
            (None, &failing),
            (Some(retry), &add("k", "first")), // the client's retry, in the same entry
            (None, &add("k", "second")),
        ];
        let answers = shard.apply_entry(5, &writes, vec![(b"#applied".to_vec(), b"5".to_vec())]).expect("apply");
        assert_eq!(answers.len(), 4);
        assert!(answers[1].is_err(), "{answers:?}");
        assert_eq!(answers[0], answers[2], "the retry is answered from memory");
        assert_eq!(texts(&shard, "k"), ["first", "second"]);
        assert_eq!(shard.get_meta(b"#applied").expect("meta"), Some(b"5".to_vec()));
        // A later entry carrying the same request id again changes nothing either.
        let again = shard.apply_entry(6, &[(Some(retry), &add("k", "first"))], vec![]).expect("apply");
        assert_eq!(again[0], answers[0]);
        assert_eq!(texts(&shard, "k"), ["first", "second"]);
    }

    #[test]
    fn replicas_that_applied_the_same_entries_have_the_same_digest() {
        let mut fnv = Fnv64::default();
        fnv.write(b"a");
        assert_eq!(fnv.0, 0xaf63_dc4c_8601_ec8c, "FNV-1a 64 of \"a\" (the published test vector)");

        let dir = tempfile::tempdir().expect("temp dir");
        let db = open_db(dir.path(), &OpenOptions::default()).expect("open");
        let (a, b) = (Shard::open(&db, "a").expect("shard"), Shard::open(&db, "b").expect("shard"));
        for (i, text) in ["one", "two", "three"].iter().enumerate() {
            let cmd = add("k", text);
            for s in [&a, &b] {
                s.apply_entry(i as u64 + 1, &[(None, &cmd)], vec![(b"#applied".to_vec(), vec![i as u8])])
                    .expect("apply");
            }
        }
        let (ha, na, applied) = a.digest(b"#applied").expect("digest");
        assert_eq!((ha, na), {
            let (h, n, _) = b.digest(b"#applied").expect("digest");
            (h, n)
        });
        assert_eq!(applied, Some(vec![2]));
        b.apply_entry(4, &[(None, &add("k", "four"))], vec![]).expect("apply");
        assert_ne!(b.digest(b"#applied").expect("digest").0, ha, "one more message changes the digest");
    }
}
