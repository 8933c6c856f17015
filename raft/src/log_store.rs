//! openraft's log and vote storage over sled: tree `g{group}.log` (entries by big-endian
//! index, MessagePack) and tree `g{group}.raft` (vote, committed log id, last purged log id).

use crate::TypeConfig;
use crate::typ::{Entry, LogId, StorageError, Vote};
use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{OptionalSend, StorageIOError};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use strata_api::GroupId;
use strata_shards::flusher::Flusher;

const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const LAST_PURGED: &[u8] = b"last_purged";

/// The log and vote of one raft group.
#[derive(Clone)]
pub struct SledLogStore {
    log: sled::Tree,
    meta: sled::Tree,
    flusher: Flusher,
    /// The committed index openraft last saved, plus one (0: none), for the metrics.
    committed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The sled tree names a group's log store uses.
pub fn tree_names(group: GroupId) -> [String; 2] {
    [format!("g{group}.log"), format!("g{group}.raft")]
}

impl SledLogStore {
    /// Opens group `group`'s log in `db`.
    pub fn open(db: &sled::Db, group: GroupId, flusher: Flusher) -> Result<Self, sled::Error> {
        let [log, meta] = tree_names(group);
        Ok(Self { log: db.open_tree(log)?, meta: db.open_tree(meta)?, flusher, committed: Default::default() })
    }

    /// The committed index as openraft saves it (plus one; 0: none), shared.
    pub fn committed(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.committed.clone()
    }

    fn read_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        let bytes = self.meta.get(key).map_err(|e| StorageIOError::read(&e))?;
        bytes.map(|b| rmp_serde::from_slice(&b)).transpose().map_err(|e| StorageIOError::read(&e).into())
    }

    fn write_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError> {
        let bytes = rmp_serde::to_vec(value).map_err(|e| StorageIOError::write(&e))?;
        self.meta.insert(key, bytes).map_err(|e| StorageIOError::write(&e))?;
        Ok(())
    }

    async fn flush(&self) -> Result<(), StorageError> {
        self.flusher.flush().await.map_err(|e| StorageIOError::write(&e).into())
    }

    /// Removes the entries with index `from..` (newest first, so a crash midway leaves
    /// a contiguous log).
    fn truncate_from(&self, from: u64) -> Result<(), sled::Error> {
        while let Some((k, _)) = self.log.last()? {
            if k.as_ref() < from.to_be_bytes().as_slice() {
                break;
            }
            self.log.remove(k)?;
        }
        Ok(())
    }

    /// Removes the entries with index `..=upto` (oldest first, for the same reason).
    fn purge_upto(&self, upto: u64) -> Result<(), sled::Error> {
        while let Some((k, _)) = self.log.first()? {
            if k.as_ref() > upto.to_be_bytes().as_slice() {
                break;
            }
            self.log.remove(k)?;
        }
        Ok(())
    }
}

fn decode_entry(bytes: &[u8]) -> Result<Entry, StorageError> {
    rmp_serde::from_slice(bytes).map_err(|e| StorageIOError::read_logs(&e).into())
}

impl RaftLogReader<TypeConfig> for SledLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => Bound::Included(i.to_be_bytes()),
            Bound::Excluded(i) => Bound::Excluded(i.to_be_bytes()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => Bound::Included(i.to_be_bytes()),
            Bound::Excluded(i) => Bound::Excluded(i.to_be_bytes()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let mut out = Vec::new();
        for item in self.log.range((start, end)) {
            let (_, v) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            out.push(decode_entry(&v)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for SledLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.read_meta(LAST_PURGED)?;
        let last = self.log.last().map_err(|e| StorageIOError::read_logs(&e))?;
        let last_log_id = match last {
            Some((_, v)) => Some(decode_entry(&v)?.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.write_meta(VOTE, vote)?;
        self.flush().await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.read_meta(VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not flushed: a lost committed id is recomputed from the quorum after restart.
        let plus_one = committed.map_or(0, |c| c.index.saturating_add(1));
        self.committed.fetch_max(plus_one, std::sync::atomic::Ordering::Relaxed);
        self.write_meta(COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.read_meta::<Option<LogId>>(COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // One insert per entry, in index order: sled recovers a prefix of its log, so a
        // crash leaves a contiguous log (a shorter one is raft's ordinary case).
        for entry in entries {
            let bytes = rmp_serde::to_vec(&entry).map_err(|e| StorageIOError::write_logs(&e))?;
            self.log.insert(entry.log_id.index.to_be_bytes(), bytes).map_err(|e| StorageIOError::write_logs(&e))?;
        }
        // Durable before openraft may count this node in a quorum.
        let flushed = self.flusher.flush().await;
        let failed = flushed.as_ref().err().map(StorageIOError::write_logs);
        callback.log_io_completed(flushed);
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.truncate_from(log_id.index).map_err(|e| StorageIOError::write_logs(&e))?;
        self.flush().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write_meta(LAST_PURGED, &log_id)?;
        self.purge_upto(log_id.index).map_err(|e| StorageIOError::write_logs(&e))?;
        Ok(())
    }
}
