//! Backups on the wire: what a node answers when asked to capture one of its groups
//! (`backup_open`), and the raft command a restore writes a group's records with.
//!
//! A group is captured as an *image*: its records, `len(key) key len(value) value` with
//! big-endian u32 lengths, in key order (the same form as raft snapshots). A restore sends
//! a fresh cluster's groups the records that belong to them in [`RestoreCommand`]s, so the
//! restored state is replicated, durable and snapshotted like any write.

use crate::cluster::GroupId;
use serde::{Deserialize, Serialize};

/// The version of the backup format (manifest and images) this build writes; it reads
/// this one and every earlier one.
pub const BACKUP_FORMAT: u32 = 1;

/// A group captured on a node, ready to be read in chunks (`backup_read`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPart {
    /// What `backup_read` and `backup_close` name it by.
    pub token: u64,
    /// The group.
    pub group: GroupId,
    /// The raft index the image holds everything up to (linearizable: confirmed by the
    /// leader after the request arrived).
    pub index: u64,
    /// That entry's term.
    pub term: u64,
    /// The image's size.
    pub bytes: u64,
    /// Its records.
    pub records: u64,
    /// The SHA-256 of the image (hex).
    pub sha256: String,
}

/// The most one `backup_read` answers.
pub const BACKUP_CHUNK: u32 = 4 << 20;

/// A piece of a capture, as `backup_read` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupChunk {
    /// The bytes (empty: the capture's end).
    #[serde(with = "crate::model::bin")]
    pub bytes: Vec<u8>,
}

/// A restore's writes (admin keys only; the client checks the cluster was empty first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RestoreCommand {
    /// Records of a backup laid out for `group`, as an image (see the module comment).
    Records {
        /// The group they are for.
        group: GroupId,
        /// The records.
        #[serde(with = "crate::model::bin")]
        image: Vec<u8>,
    },
    /// The group's last restore write: derived state (entry counts, graph schema counters,
    /// in-memory vector indexes) is recomputed from the records, and positions handed out
    /// from then on follow `next_seq`.
    Finish {
        /// The group.
        group: GroupId,
        /// The next insertion position (the largest any source group had).
        next_seq: u64,
    },
}

impl RestoreCommand {
    /// The group the command is for.
    pub fn group(&self) -> GroupId {
        match self {
            RestoreCommand::Records { group, .. } | RestoreCommand::Finish { group, .. } => *group,
        }
    }
}
