//! `Txn`: the writes of one command (or one raft entry's commands), buffered over the
//! shard's tree so later steps read earlier ones, and committed atomically ([`crate::redo`]).

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
    /// While a savepoint is open: each key's pending state before its first change since.
    undo: Option<Vec<Undo>>,
    /// Vector changes to mirror in the in-memory indexes once the writes have landed.
    pub(crate) vector_changes: Vec<crate::vector::Change>,
    /// Amounts to add to counter records (a big-endian u64 each, removed at zero), summed
    /// until the commit: a write touching one counter many times writes it once.
    counters: std::collections::HashMap<Vec<u8>, i64>,
}

/// A key and its pending state before a change (`None`: it had no pending write).
type Undo = (Vec<u8>, Option<Option<Vec<u8>>>);

/// What [`Txn::rollback`] restores: the transaction as it was when the savepoint was taken.
pub struct Savepoint {
    next_seq: Option<u64>,
    known_collections: std::collections::HashSet<String>,
    vector_changes: usize,
    counters: std::collections::HashMap<Vec<u8>, i64>,
}

impl<'a> Txn<'a> {
    /// A transaction with nothing written yet.
    pub fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            writes: BTreeMap::new(),
            next_seq: None,
            known_collections: Default::default(),
            undo: None,
            vector_changes: Vec::new(),
            counters: std::collections::HashMap::new(),
        }
    }

    /// Starts recording what the next writes replace, so a failing command of a batch can
    /// be undone without losing the commands before it.
    pub fn savepoint(&mut self) -> Savepoint {
        self.undo = Some(Vec::new());
        Savepoint {
            next_seq: self.next_seq,
            known_collections: self.known_collections.clone(),
            vector_changes: self.vector_changes.len(),
            counters: self.counters.clone(),
        }
    }

    /// Undoes every write since `savepoint`.
    pub fn rollback(&mut self, savepoint: Savepoint) {
        for (key, before) in self.undo.take().unwrap_or_default().into_iter().rev() {
            match before {
                Some(pending) => self.writes.insert(key, pending),
                None => self.writes.remove(&key),
            };
        }
        self.next_seq = savepoint.next_seq;
        self.known_collections = savepoint.known_collections;
        self.vector_changes.truncate(savepoint.vector_changes);
        self.counters = savepoint.counters;
    }

    /// Adds `delta` to the counter under `key` (applied at the commit).
    pub fn add_to_counter(&mut self, key: Vec<u8>, delta: i64) {
        *self.counters.entry(key).or_default() += delta;
    }

    fn record_undo(&mut self, key: &[u8]) {
        if let Some(undo) = &mut self.undo {
            undo.push((key.to_vec(), self.writes.get(key).cloned()));
        }
    }

    /// The value under `key` as this command sees it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(pending) = self.writes.get(key) {
            return Ok(pending.clone());
        }
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    /// Whether `key` holds a value, as this command sees it (without copying the value).
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        match self.writes.get(key) {
            Some(pending) => Ok(pending.is_some()),
            None => Ok(self.tree.contains_key(key)?),
        }
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
        self.record_undo(&key);
        self.writes.insert(key, Some(value));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.record_undo(&key);
        self.writes.insert(key, None);
    }

    /// The committed `(key, value)`s under `prefix`, read as they are consumed; this
    /// command's own pending writes are not seen (for a whole-space pass, such as a
    /// restore's recount, that must not hold the space in memory).
    pub fn committed_iter(&self, prefix: &[u8]) -> crate::ordered::Scan<'a> {
        use crate::ordered::Reader;
        let tree: &'a sled::Tree = self.tree;
        tree.scan_iter(prefix)
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
        self.next_seq_from(0)
    }

    /// The next sequence number, at least `least` (later numbers follow it).
    pub fn next_seq_from(&mut self, least: u64) -> Result<u64> {
        let stored = match self.next_seq {
            Some(n) => n,
            None => match self.tree.get(keys::META_NEXT_SEQ)? {
                Some(v) => keys::read_u64(&v).ok_or_else(|| Error::Corrupt("next_seq is not a u64".into()))?,
                None => 1,
            },
        };
        let current = stored.max(least);
        self.next_seq = Some(current.saturating_add(1));
        Ok(current)
    }

    /// Makes every later sequence number exceed `n` (a position taken from a stamp).
    pub fn advance_seq_past(&mut self, n: u64) -> Result<()> {
        let current = self.next_seq_from(0)?;
        self.next_seq = Some(current.max(n.saturating_add(1)));
        Ok(())
    }

    /// Applies every pending write atomically (see [`crate::redo`]); answers the vector
    /// changes to mirror in memory.
    pub fn commit(mut self) -> Result<Vec<crate::vector::Change>> {
        for (key, delta) in std::mem::take(&mut self.counters) {
            if delta == 0 {
                continue;
            }
            let next = self.get_u64_prefix(&key)?.unwrap_or(0).saturating_add_signed(delta);
            self.writes.insert(key, (next > 0).then(|| next.to_be_bytes().to_vec()));
        }
        if let Some(n) = self.next_seq {
            self.writes.insert(keys::META_NEXT_SEQ.to_vec(), Some(n.to_be_bytes().to_vec()));
        }
        let writes: Vec<crate::redo::Write> = self.writes.into_iter().collect();
        crate::redo::apply(self.tree, &writes)?;
        Ok(self.vector_changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_undoes_every_write_since_the_savepoint_and_nothing_before() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::Config::new().path(dir.path()).open().expect("open");
        let tree = db.open_tree("t").expect("tree");
        tree.insert(b"stored", b"0".as_slice()).expect("insert");
        let mut txn = Txn::new(&tree);
        txn.put(b"a".to_vec(), b"1".to_vec());
        let seq = txn.next_seq().expect("seq");
        let sp = txn.savepoint();
        txn.put(b"a".to_vec(), b"2".to_vec());
        txn.put(b"a".to_vec(), b"3".to_vec());
        txn.put(b"b".to_vec(), b"x".to_vec());
        txn.remove(b"stored".to_vec());
        txn.known_collections.insert("c".into());
        assert_eq!(txn.next_seq().expect("seq"), seq + 1);
        txn.rollback(sp);
        assert_eq!(txn.get(b"a").expect("get"), Some(b"1".to_vec()));
        assert_eq!(txn.get(b"b").expect("get"), None);
        assert_eq!(txn.get(b"stored").expect("get"), Some(b"0".to_vec()));
        assert!(txn.known_collections.is_empty());
        assert_eq!(txn.next_seq().expect("seq"), seq + 1, "the sequence number taken after the savepoint is reused");
    }
}
