//! `OrderedMap`: a string-keyed map inside a shard's tree that remembers insertion order,
//! as Python dicts do (LlamaIndex's `get_all`, `get_keys` and ref-doc listings expose it).
//!
//! Each entry is one record `entry(name, key) → seq ++ payload`: lookups are one read, and
//! listings scan the name's records and sort them by `seq` (cheaper than a second index
//! record per write, which doubled sled inserts). Overwriting keeps the position; removing
//! and re-adding moves the key to the end, like `dict`.

use crate::error::{Error, Result};
use crate::keys::{self, Space};
use crate::txn::Txn;

/// Records under a prefix, read as they are consumed.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// Read access shared by committed state (a tree) and a command in progress (a `Txn`).
pub trait Reader {
    /// The value under `key`.
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Every `(key, value)` under `prefix`, in key order.
    fn scan_raw(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;

    /// The same, read as it is consumed (a caller stopping early reads no more).
    fn scan_iter<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        match self.scan_raw(prefix) {
            Ok(rows) => Box::new(rows.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
}

impl Reader for sled::Tree {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key)?.map(|v| v.to_vec()))
    }

    fn scan_raw(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_iter(prefix).collect()
    }

    fn scan_iter<'a>(&'a self, prefix: &[u8]) -> Scan<'a> {
        Box::new(self.scan_prefix(prefix).map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Error::from)))
    }
}

impl Reader for Txn<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(key)
    }

    fn scan_raw(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_prefix(prefix)
    }
}

/// One insertion-ordered map, identified by its spaces and name.
#[derive(Clone, Copy, Debug)]
pub struct OrderedMap<'n> {
    entry: Space,
    name: &'n str,
    counted: bool,
}

impl<'n> OrderedMap<'n> {
    /// The map `name` stored in the `entry` space.
    pub fn new(entry: Space, name: &'n str) -> Self {
        Self { entry, name, counted: false }
    }

    /// The same map, keeping a count of its keys ([`crate::counts`]).
    pub fn counted(self) -> Self {
        Self { counted: true, ..self }
    }

    fn count(&self, txn: &mut Txn<'_>, delta: i64) {
        if self.counted {
            txn.add_to_counter(crate::counts::key(self.entry, self.name), delta);
        }
    }

    fn entry_key(&self, key: &str) -> Vec<u8> {
        keys::key(self.entry, self.name, key.as_bytes())
    }

    /// The payload under `key`.
    pub fn get(&self, r: &impl Reader, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_positioned(r, key)?.map(|(_, v)| v))
    }

    /// The position and payload under `key`.
    pub fn get_positioned(&self, r: &impl Reader, key: &str) -> Result<Option<(u64, Vec<u8>)>> {
        match r.get_raw(&self.entry_key(key))? {
            None => Ok(None),
            Some(mut v) => {
                let seq = keys::read_u64(&v).ok_or_else(|| {
                    Error::Corrupt(format!("entry {key:?} of {:?} lacks its sequence number", self.name))
                })?;
                v.drain(..8);
                Ok(Some((seq, v)))
            }
        }
    }

    /// Whether `key` is present.
    pub fn contains(&self, r: &impl Reader, key: &str) -> Result<bool> {
        Ok(r.get_raw(&self.entry_key(key))?.is_some())
    }

    /// Sets `key`, keeping its position when it exists.
    pub fn put(&self, txn: &mut Txn<'_>, key: &str, payload: &[u8]) -> Result<()> {
        self.put_from(txn, key, payload, 0).map(|_| ())
    }

    /// Sets `key`, keeping its position when it exists, else at a position of at least
    /// `least`; answers the position.
    pub fn put_from(&self, txn: &mut Txn<'_>, key: &str, payload: &[u8], least: u64) -> Result<u64> {
        let ek = self.entry_key(key);
        let seq = match txn.get_u64_prefix(&ek)? {
            Some(seq) => seq,
            None => {
                self.count(txn, 1);
                txn.next_seq_from(least)?
            }
        };
        let mut value = Vec::with_capacity(8 + payload.len());
        value.extend_from_slice(&seq.to_be_bytes());
        value.extend_from_slice(payload);
        txn.put(ek, value);
        Ok(seq)
    }

    /// Sets `key`, keeping its position when it exists, else at exactly `stamp` (when
    /// non-zero: positions a cluster client handed out, comparable across partitions;
    /// other numbers a partition takes meanwhile must not shift them) or the next
    /// position; answers the position.
    pub fn put_at(&self, txn: &mut Txn<'_>, key: &str, payload: &[u8], stamp: u64) -> Result<u64> {
        let ek = self.entry_key(key);
        let seq = match txn.get_u64_prefix(&ek)? {
            Some(seq) => seq,
            None if stamp > 0 => {
                self.count(txn, 1);
                txn.advance_seq_past(stamp)?;
                stamp
            }
            None => {
                self.count(txn, 1);
                txn.next_seq()?
            }
        };
        let mut value = Vec::with_capacity(8 + payload.len());
        value.extend_from_slice(&seq.to_be_bytes());
        value.extend_from_slice(payload);
        txn.put(ek, value);
        Ok(seq)
    }

    /// Removes `key`; answers whether it was there.
    pub fn remove(&self, txn: &mut Txn<'_>, key: &str) -> Result<bool> {
        let ek = self.entry_key(key);
        if txn.get_u64_prefix(&ek)?.is_none() {
            return Ok(false);
        }
        txn.remove(ek);
        self.count(txn, -1);
        Ok(true)
    }

    /// Keys in insertion order.
    pub fn keys(&self, r: &impl Reader) -> Result<Vec<String>> {
        Ok(self.entries(r)?.into_iter().map(|(k, _)| k).collect())
    }

    /// `(key, payload)` pairs in insertion order.
    pub fn entries(&self, r: &impl Reader) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(self.positioned_entries(r)?.into_iter().map(|(_, k, v)| (k, v)).collect())
    }

    /// `(position, key, payload)` in insertion order.
    pub fn positioned_entries(&self, r: &impl Reader) -> Result<Vec<(u64, String, Vec<u8>)>> {
        let prefix = keys::prefix(self.entry, self.name);
        let mut rows = r
            .scan_raw(&prefix)?
            .into_iter()
            .map(|(k, mut v)| {
                let seq = keys::read_u64(&v)
                    .ok_or_else(|| Error::Corrupt(format!("entry of {:?} lacks its sequence number", self.name)))?;
                let key = String::from_utf8(k[prefix.len()..].to_vec())
                    .map_err(|_| Error::Corrupt("key is not UTF-8".into()))?;
                v.drain(..8);
                Ok((seq, key, v))
            })
            .collect::<Result<Vec<_>>>()?;
        rows.sort_unstable_by_key(|(seq, ..)| *seq);
        Ok(rows)
    }
}
