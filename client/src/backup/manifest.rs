//! The manifest: what a backup holds and how to check it, written last (a backup without
//! one was cut short) as `manifest.json` beside the images under `groups/`.

use serde::{Deserialize, Serialize};
use strata_api::{GraphNamespace, GroupId, VectorNamespace};
use strata_shards::backup::items::Items;

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

/// A backup's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The backup format's version ([`strata_api::backup::BACKUP_FORMAT`] when written by this build).
    pub format: u32,
    /// The Strata version that wrote it.
    pub strata_version: String,
    /// `cluster` or `embedded`.
    pub source: String,
    /// The source cluster's id (hex; none for an embedded directory).
    pub source_cluster: Option<String>,
    /// When the backup started and finished (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// When it finished.
    pub finished_at_ms: u64,
    /// The source's KV shard count (1 embedded).
    pub kv_shards: u32,
    /// The vector namespaces, with the source's settings and partition counts.
    pub vector_namespaces: Vec<VectorNamespace>,
    /// The graphs, with the source's partition counts.
    pub graphs: Vec<GraphNamespace>,
    /// Every captured group.
    pub groups: Vec<GroupEntry>,
}

/// One captured group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupEntry {
    /// Its image, relative to the backup's root.
    pub file: String,
    /// The source group (0 for an embedded directory).
    pub group: GroupId,
    /// `kv`, `vector`, `graph` or `embedded` (everything in one).
    pub store: String,
    /// The vector namespace or graph of a partition.
    pub name: Option<String>,
    /// The partition.
    pub partition: Option<u32>,
    /// The raft index the image holds everything up to (0 embedded).
    pub index: u64,
    /// That entry's term.
    pub term: u64,
    /// The image's size.
    pub bytes: u64,
    /// Its records.
    pub records: u64,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// What it holds.
    pub items: Items,
}

impl Manifest {
    /// Every group's items, summed.
    pub fn items(&self) -> Items {
        let mut all = Items::default();
        for g in &self.groups {
            all.add(&g.items);
        }
        all
    }

    /// Reads the manifest at `path` (named in errors): a backup format this build cannot
    /// read is `IncompatibleVersion` naming both versions, damage is `InvalidFile`.
    pub fn parse(text: &[u8], path: &std::path::Path) -> crate::Result<Self> {
        #[derive(Deserialize)]
        struct Version {
            format: u32,
        }
        let invalid = |reason: String| crate::Error::InvalidFile { path: path.to_path_buf(), reason };
        let v: Version = serde_json::from_slice(text)
            .map_err(|e| invalid(format!("the manifest is not a backup manifest (truncated or damaged?): {e}")))?;
        strata_api::version::BACKUP_FORMAT.reads("backup format", v.format)?;
        serde_json::from_slice(text).map_err(|e| invalid(format!("the manifest is damaged: {e}")))
    }
}
