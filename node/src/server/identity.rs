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
