//! The state-machine adapter: applies a group's committed entries to its
//! `strata_shards::Shard`, writing each entry's changes and the last applied log id (with
//! the membership) in one sled batch; snapshots are images of the shard's tree.

use crate::typ::{Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership};
use crate::{Reply, TypeConfig};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, StorageIOError};
use std::io::Cursor;
use std::sync::Arc;
use strata_api::GroupId;
use strata_api::version::SNAPSHOT_FORMAT;
use strata_shards::Shard;
use strata_shards::flusher::Flusher;

/// The shard record holding `(last applied log id, last membership)`.
const APPLIED: &[u8] = b"#raft/applied";
/// The snapshot tree's one record: `len(meta) meta data` (meta in MessagePack), written
/// whole so a crash never pairs one snapshot's meta with another's data.
const SNAPSHOT: &[u8] = b"current";

/// The name of the sled tree holding a group's shard state.
pub fn state_tree_name(group: GroupId) -> String {
    format!("g{group}.state")
}

/// The format version a snapshot id names (`f2-g7-...`); an id without one is format 1,
/// what snapshots were before their ids carried it.
pub fn snapshot_format(snapshot_id: &str) -> u32 {
    snapshot_id.strip_prefix('f').and_then(|rest| rest.split_once('-')).and_then(|(n, _)| n.parse().ok()).unwrap_or(1)
}

/// The name of the sled tree holding a group's current snapshot.
pub fn snapshot_tree_name(group: GroupId) -> String {
    format!("g{group}.snapshot")
}

/// A digest of `shard`, group `group`'s state, with the index it had applied then.
pub(crate) fn digest(group: GroupId, shard: &Shard) -> Result<strata_api::StateDigest, crate::Error> {
    let (hash, records, applied) = shard.digest(APPLIED)?;
    let (applied, _) = decode_applied(applied).map_err(|e| crate::Error::Raft { group, message: e.to_string() })?;
    Ok(strata_api::StateDigest { group, applied_index: applied.map(|l| l.index), hash, records })
}

/// Writes `shard`, group `group`'s state, to `out` as an image taken between two applies;
/// answers its figures and the index and term of the last entry it holds.
pub(crate) fn capture<W: std::io::Write>(
    group: GroupId,
    shard: &Shard,
    out: W,
) -> Result<(strata_shards::backup::image::Written, u64, u64), crate::Error> {
    let (written, applied) = shard.export_to(APPLIED, out)?;
    let (applied, _) = decode_applied(applied).map_err(|e| crate::Error::Raft { group, message: e.to_string() })?;
    let (index, term) = applied.map(|l| (l.index, l.leader_id.term)).unwrap_or((0, 0));
    Ok((written, index, term))
}

/// A group's state machine. Clones share the shard.
#[derive(Clone)]
pub struct ShardStateMachine {
    group: GroupId,
    shard: Arc<Shard>,
    snapshots: sled::Tree,
    flusher: Flusher,
    applied: Option<LogId>,
    membership: StoredMembership,
}

type Applied = (Option<LogId>, StoredMembership);

fn decode_applied(bytes: Option<Vec<u8>>) -> Result<Applied, StorageError> {
    match bytes {
        None => Ok((None, StoredMembership::default())),
        Some(b) => rmp_serde::from_slice(&b).map_err(|e| StorageIOError::read_state_machine(&e).into()),
    }
}

impl ShardStateMachine {
    /// Opens group `group`'s state machine in `db` (installing again a snapshot whose
    /// install a crash cut short); its vector graphs are saved under `graph_dir`.
    pub fn open(
        db: &sled::Db,
        group: GroupId,
        flusher: Flusher,
        graph_dir: Option<std::path::PathBuf>,
    ) -> Result<Self, crate::Error> {
        let shard = Arc::new(Shard::open_with_graphs(db, &state_tree_name(group), graph_dir)?);
        let snapshots = db.open_tree(snapshot_tree_name(group))?;
        if shard.install_interrupted()? {
            let raft_err = |message: String| crate::Error::Raft { group, message };
            let (_, image) = read_snapshot(&snapshots)
                .map_err(|e| raft_err(e.to_string()))?
                .ok_or_else(|| raft_err("a snapshot install was interrupted and the snapshot is gone".into()))?;
            shard.install_image(&image)?;
            tracing::info!(group, "finished a snapshot install interrupted by a crash");
        }
        let (applied, membership) = decode_applied(shard.get_meta(APPLIED)?)
            .map_err(|e| crate::Error::Raft { group, message: e.to_string() })?;
        Ok(Self { group, shard, snapshots, flusher, applied, membership })
    }

    /// The shard, for reads.
    pub fn shard(&self) -> Arc<Shard> {
        self.shard.clone()
    }

    async fn flush(&self) -> Result<(), StorageError> {
        self.flusher.flush().await.map_err(|e| StorageIOError::write_state_machine(&e).into())
    }

    fn save_snapshot(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StorageError> {
        let signature = Some(meta.signature());
        let meta_bytes = rmp_serde::to_vec(meta).map_err(|e| StorageIOError::write_snapshot(signature.clone(), &e))?;
        let mut record = Vec::with_capacity(4 + meta_bytes.len() + data.len());
        record.extend_from_slice(&(meta_bytes.len() as u32).to_be_bytes());
        record.extend_from_slice(&meta_bytes);
        record.extend_from_slice(data);
        self.snapshots.insert(SNAPSHOT, record).map_err(|e| StorageIOError::write_snapshot(signature, &e))?;
        Ok(())
    }
}

/// The stored snapshot: its meta and its data.
fn read_snapshot(snapshots: &sled::Tree) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StorageError> {
    let err = |e: &dyn std::fmt::Display| StorageIOError::read_snapshot(None, &std::io::Error::other(e.to_string()));
    let Some(record) = snapshots.get(SNAPSHOT).map_err(|e| err(&e))? else { return Ok(None) };
    let len_bytes: [u8; 4] = record.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(|| err(&"short record"))?;
    let meta_len = u32::from_be_bytes(len_bytes) as usize;
    let meta_bytes = record.get(4..4 + meta_len).ok_or_else(|| err(&"short record"))?;
    let meta: SnapshotMeta = rmp_serde::from_slice(meta_bytes).map_err(|e| err(&e))?;
    Ok(Some((meta, record[4 + meta_len..].to_vec())))
}

/// Entries writing at most this many records are applied on the state machine's task.
const INLINE_APPLY_RECORDS: usize = 64;

fn records(entries: &[Entry]) -> usize {
    entries
        .iter()
        .map(|e| match &e.payload {
            EntryPayload::Normal(req) => req.writes.iter().map(|w| w.command.record_count()).sum(),
            _ => 1,
        })
        .sum()
}

/// Applies entries in order (on a blocking thread when large); answers one reply per entry and the
/// membership after the last.
fn apply_blocking(
    shard: &Shard,
    entries: Vec<Entry>,
    mut membership: StoredMembership,
) -> Result<(Vec<Reply>, StoredMembership), StorageError> {
    let mut replies = Vec::with_capacity(entries.len());
    for entry in entries {
        let log_id = entry.log_id;
        let writes: Vec<_> = match &entry.payload {
            EntryPayload::Blank => Vec::new(),
            EntryPayload::Normal(req) => req.writes.iter().map(|w| (w.id, &w.command)).collect(),
            EntryPayload::Membership(m) => {
                membership = StoredMembership::new(Some(log_id), m.clone());
                Vec::new()
            }
        };
        let applied: Applied = (Some(log_id), membership.clone());
        let record = rmp_serde::to_vec(&applied).map_err(|e| StorageIOError::apply(log_id, &e))?;
        let answers = shard
            .apply_entry(log_id.index, &writes, vec![(APPLIED.to_vec(), record)])
            .map_err(|e| StorageIOError::apply(log_id, &e))?;
        replies.push(Reply(answers));
    }
    Ok((replies, membership))
}

impl RaftStateMachine<TypeConfig> for ShardStateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<Applied, StorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let Some(last) = entries.last().map(|e| e.log_id) else { return Ok(Vec::new()) };
        let shard = self.shard.clone();
        let membership = self.membership.clone();
        // Small entries (the common case: a few puts) are applied right here: sled inserts
        // take microseconds, less than a hand-off to the blocking pool and back.
        let (replies, membership) = if records(&entries) <= INLINE_APPLY_RECORDS {
            apply_blocking(&shard, entries, membership)?
        } else {
            tokio::task::spawn_blocking(move || apply_blocking(&shard, entries, membership))
                .await
                .map_err(|e| StorageIOError::apply(last, &e))??
        };
        self.applied = Some(last);
        self.membership = membership;
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        // A snapshot of a format this build cannot read is refused before it is kept.
        if let Err(e) = SNAPSHOT_FORMAT.reads("raft snapshot format", snapshot_format(&meta.snapshot_id)) {
            tracing::error!(group = self.group, error = %e, "refused a snapshot");
            return Err(StorageIOError::write_snapshot(Some(meta.signature()), &e).into());
        }
        let data = snapshot.into_inner();
        // Kept first: if the install below is cut short, `open` installs it again.
        self.save_snapshot(meta, &data)?;
        self.flush().await?;
        let shard = self.shard.clone();
        let signature = Some(meta.signature());
        tokio::task::spawn_blocking(move || shard.install_image(&data))
            .await
            .map_err(|e| StorageIOError::write_snapshot(signature.clone(), &e))?
            .map_err(|e| StorageIOError::write_snapshot(signature, &e))?;
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.flush().await?;
        strata_api::metrics::counters().snapshots_installed.inc();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(read_snapshot(&self.snapshots)?.map(|(meta, data)| Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for ShardStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        // The HNSW graphs are saved with each snapshot (a restart then reloads them).
        self.shard.save_vector_graphs();
        let shard = self.shard.clone();
        let (image, applied) = tokio::task::spawn_blocking(move || shard.export_image(APPLIED))
            .await
            .map_err(|e| StorageIOError::read_state_machine(&e))?
            .map_err(|e| StorageIOError::read_state_machine(&e))?;
        let (last_log_id, last_membership) = decode_applied(applied)?;
        let format = SNAPSHOT_FORMAT.version;
        let snapshot_id = match last_log_id {
            Some(id) => format!("f{format}-g{}-{}-{}", self.group, id.leader_id, id.index),
            None => format!("f{format}-g{}-empty", self.group),
        };
        let meta = SnapshotMeta { last_log_id, last_membership, snapshot_id };
        self.save_snapshot(&meta, &image)?;
        self.flush().await?;
        strata_api::metrics::counters().snapshots_built.inc();
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(image)) })
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot_format;

    #[test]
    fn a_snapshot_id_names_its_format_and_an_old_id_is_format_1() {
        assert_eq!(snapshot_format("f1-g7-T3-N1-42"), 1);
        assert_eq!(snapshot_format("f12-g7-empty"), 12);
        assert_eq!(snapshot_format("g7-T3-N1-42"), 1, "ids from before formats");
        assert_eq!(snapshot_format("g7-empty"), 1);
        assert_eq!(snapshot_format("fx-g7"), 1);
    }
}
