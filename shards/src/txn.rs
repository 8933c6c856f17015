//! `Txn`: the writes of one command, buffered over the shard's tree so later steps of the
//! same command read earlier ones, and committed as one atomic `sled::Batch`.

use crate::error::{Error, Result};
use crate::keys;
use std::collections::BTreeMap;

/// One command's view of the tree: reads go through its own pending writes.
pub struct Txn<'a> {
    tree: &'a sled::Tree,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    next_seq: Option<u64>,
    /// Collections known to be registered (so each is checked once per command).
    pub(crate) known_collections: std::collections::HashSet<String>,
}

impl<'a> Txn<'a> {
    /// A transaction with nothing written yet.
    pub fn new(tree: &'a sled::Tree) -> Self {
        Self { tree, writes: BTreeMap::new(), next_seq: None, known_collections: Default::default() }
    }

    /// The value under `key` as this command sees it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(pending) = self.writes.get(key) {
            return Ok(pending.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    /// The big-endian u64 that starts the value under `key`, without copying the value.
    pub fn get_u64_prefix(&self, key: &[u8]) -> Result<Option<u64>> {
        let read = |v: &[u8]| keys::read_u64(v).ok_or_else(|| Error::Corrupt("value shorter than 8 bytes".into()));
        if let Some(pending) = self.writes.get(key) {
            return pending.as_deref().map(read).transpose();
        }
        self.tree.get(key)?.as_deref().map(read).transpose()
    }

    /// Sets `key`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// Every live `(key, value)` under `prefix`, in key order, pending writes included.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for item in self.tree.scan_prefix(prefix) {
            let (k, v) = item?;
            merged.insert(k.to_vec(), v.to_vec());
        }
        for (k, v) in self.writes.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// A fresh sequence number: insertion order for every ordered map of the shard.
    pub fn next_seq(&mut self) -> Result<u64> {
        let current = match self.next_seq {
            Some(n) => n,
            None => match self.tree.get(keys::META_NEXT_SEQ)? {
                Some(v) => keys::read_u64(&v).ok_or_else(|| Error::Corrupt("next_seq is not a u64".into()))?,
                None => 1,
            },
        };
        self.next_seq = Some(current + 1);
        Ok(current)
    }

    /// Applies every pending write in one atomic batch.
    pub fn commit(mut self) -> Result<()> {
        if let Some(n) = self.next_seq {
            self.writes.insert(keys::META_NEXT_SEQ.to_vec(), Some(n.to_be_bytes().to_vec()));
        }
        if self.writes.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (k, v) in self.writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }
}
