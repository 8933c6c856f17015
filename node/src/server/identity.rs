//! The node's identity in its data directory: its id, once assigned, and its incarnation
//! (random per data directory, so a wiped node is told apart from the old one).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `node.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Identity {
    /// The node id the cluster assigned.
    pub id: u64,
    /// Random per data directory.
    pub incarnation: u64,
    /// The client address the node had: a restart configured with port 0 binds it again,
    /// so the members find the node where the shard map says it is.
    #[serde(default)]
    pub client_addr: Option<String>,
    /// The raft address the node had (same reason).
    #[serde(default)]
    pub raft_addr: Option<String>,
    /// The cluster removed this node: it must not start again with this data.
    #[serde(default)]
    pub removed: bool,
    /// The cluster this node belongs to (drawn at bootstrap, learnt at join; 0 in a
    /// directory from before ids existed): raft peers and forwarded answers of another
    /// cluster are refused (`strata_api::same_cluster`).
    #[serde(default)]
    pub cluster: u64,
}

fn path(dir: &Path) -> PathBuf {
    dir.join("node.json")
}

/// The saved identity, if this data directory has one.
pub fn load(dir: &Path) -> std::io::Result<Option<Identity>> {
    match std::fs::read(path(dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves the identity durably (write to a temporary file, mode 0600, fsync, rename).
pub fn save(dir: &Path, identity: &Identity) -> std::io::Result<()> {
    let tmp = dir.join("node.json.tmp");
    let bytes = serde_json::to_vec(&identity).map_err(std::io::Error::other)?;
    {
        use std::io::Write;
        let mut f = strata_shards::private::private_file(&tmp, false)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path(dir))?;
    std::fs::File::open(dir)?.sync_all()
}

/// A random number (std's randomly seeded hasher, mixed with the clock and pid).
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.write_u32(std::process::id());
    h.finish()
}

/// The identity the data directory's database records (key [`ANCHOR`] in sled's
/// default tree): which node and cluster its raft groups belong to. `node.json` is a file
/// anyone can edit; a node started with an edited id used to report ready and drop every
/// replica it held as "no longer mine". The database's own record is the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The node id.
    pub id: u64,
    /// The cluster id.
    pub cluster: u64,
}

/// Where the database keeps its [`Anchor`].
pub const ANCHOR: &[u8] = b"strata/identity";

/// The database's anchor, if it has one.
pub fn anchor(db: &sled::Db) -> Result<Option<Anchor>, String> {
    match db.get(ANCHOR).map_err(|e| e.to_string())? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("the identity record: {e}")),
    }
}

/// Records `anchor` in the database, durably.
pub fn set_anchor(db: &sled::Db, anchor: Anchor) -> Result<(), String> {
    let bytes = serde_json::to_vec(&anchor).map_err(|e| e.to_string())?;
    db.insert(ANCHOR, bytes).map_err(|e| e.to_string())?;
    db.flush().map(|_| ()).map_err(|e| e.to_string())
}

/// Checks `node.json` (`saved`) against the database's anchor and the raft groups it
/// holds (`groups`): a disagreement is an error naming both, and the node does not start
/// (nothing is dropped on that basis). A database from before anchors, with a
/// `node.json`, gets its anchor now.
pub fn check(db: &sled::Db, dir: &Path, saved: Option<&Identity>, groups: &[u64]) -> Result<(), String> {
    let recorded = anchor(db)?;
    match (saved, recorded) {
        (Some(s), Some(a)) if a.id == s.id && a.cluster == s.cluster => Ok(()),
        (Some(s), Some(a)) => Err(format!(
            "{} says node {} of cluster {}, but the data directory's database holds the replicas of node {} of \
             cluster {}: restore node.json as it was (or wipe {} to join as a new node); nothing was changed",
            path(dir).display(),
            s.id,
            s.cluster,
            a.id,
            a.cluster,
            dir.display()
        )),
        (None, Some(a)) => Err(format!(
            "{} is missing, but the data directory's database holds the replicas of node {} of cluster {}: \
             restore node.json (or wipe {} to join as a new node); nothing was changed",
            path(dir).display(),
            a.id,
            a.cluster,
            dir.display()
        )),
        (None, None) if !groups.is_empty() => Err(format!(
            "{} is missing, but the data directory holds {} raft groups: restore node.json (or wipe {} to join as \
             a new node); nothing was changed",
            path(dir).display(),
            groups.len(),
            dir.display()
        )),
        (Some(s), None) => set_anchor(db, Anchor { id: s.id, cluster: s.cluster }),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: u64, cluster: u64) -> Identity {
        Identity { id, incarnation: 1, client_addr: None, raft_addr: None, removed: false, cluster }
    }

    #[test]
    fn an_edited_or_missing_node_json_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        // A directory from before anchors takes node.json's word once ...
        check(&db, dir.path(), Some(&identity(3, 77)), &[0, 1]).unwrap();
        assert_eq!(anchor(&db).unwrap(), Some(Anchor { id: 3, cluster: 77 }));
        check(&db, dir.path(), Some(&identity(3, 77)), &[0, 1]).unwrap();
        // ... and holds it against later edits.
        let err = check(&db, dir.path(), Some(&identity(4, 77)), &[0, 1]).unwrap_err();
        assert!(err.contains("says node 4 of cluster 77") && err.contains("replicas of node 3 of cluster 77"), "{err}");
        let err = check(&db, dir.path(), Some(&identity(3, 78)), &[0, 1]).unwrap_err();
        assert!(err.contains("cluster 78"), "{err}");
        let err = check(&db, dir.path(), None, &[0, 1]).unwrap_err();
        assert!(err.contains("is missing") && err.contains("node 3"), "{err}");
        // A fresh directory has nothing to disagree with.
        let fresh = sled::Config::new().temporary(true).open().unwrap();
        check(&fresh, dir.path(), None, &[]).unwrap();
        let err = check(&fresh, dir.path(), None, &[0]).unwrap_err();
        assert!(err.contains("holds 1 raft groups"), "{err}");
    }
}
