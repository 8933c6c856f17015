//! `Shard`: one store state machine over one sled tree — `apply(command) -> response`
//! for writes and `query(query) -> response` for reads.
//!
//! Determinism: the answer and the state change depend only on the tree and the command.
//! Atomicity: a command's writes go to sled as one batch; a failed command writes nothing.
//! Isolation: commands are applied one at a time; queries never see half a batch.

use crate::error::{Error, Result};
use crate::txn::Txn;
use crate::{chat, docstore, index_store, kv};
use std::path::Path;
use std::sync::{Mutex, RwLock};
use strata_api::{Command, Query, Response};

/// One state machine holding every KV, document, index and chat record of its keys.
pub struct Shard {
    db: sled::Db,
    tree: sled::Tree,
    /// Serialises commands (each reads, then writes).
    apply_lock: Mutex<()>,
    /// Held for writing while a batch lands, for reading while a query runs.
    batch_gate: RwLock<()>,
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

/// Opens (creating if needed) the sled database in `dir`; a locked directory is `AlreadyOpen`.
pub fn open_db(dir: &Path, options: &OpenOptions) -> Result<sled::Db> {
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_capacity)
        .flush_every_ms(Some(500))
        .mode(sled::Mode::HighThroughput);
    config.open().map_err(|e| match &e {
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("could not acquire lock") =>
        {
            Error::AlreadyOpen { path: dir.display().to_string() }
        }
        _ => Error::Sled(e),
    })
}

impl Shard {
    /// The shard stored in tree `name` of `db`.
    pub fn open(db: &sled::Db, name: &str) -> Result<Self> {
        let tree = db.open_tree(name)?;
        Ok(Self { db: db.clone(), tree, apply_lock: Mutex::new(()), batch_gate: RwLock::new(()) })
    }

    /// Applies one command atomically. A deterministic error leaves the shard unchanged.
    /// The change is durable only after [`Shard::flush`].
    pub fn apply(&self, cmd: &Command) -> Result<Response> {
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut txn = Txn::new(&self.tree);
        let response = match cmd {
            Command::Kv(c) => kv::apply(&mut txn, c),
            Command::Docstore(c) => docstore::apply(&mut txn, c),
            Command::IndexStore(c) => index_store::apply(&mut txn, c),
            Command::Chat(c) => chat::apply(&mut txn, c),
        }?;
        let _gate = self.batch_gate.write().unwrap_or_else(|p| p.into_inner());
        txn.commit()?;
        Ok(response)
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
        }
    }

    /// Makes every applied command durable (fsync); answers the bytes flushed.
    pub fn flush(&self) -> Result<usize> {
        Ok(self.db.flush()?)
    }

    /// As [`Shard::flush`], without blocking the async runtime's thread.
    pub async fn flush_async(&self) -> Result<usize> {
        Ok(self.db.flush_async().await?)
    }
}
