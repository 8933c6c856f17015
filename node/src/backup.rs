//! The node's side of `strata backup create`: a capture is one group's image written to
//! a file under `DATA/captures/` by the group's leader, right after it confirmed its
//! leadership and applied everything committed before the request (so the image holds
//! every write acknowledged before the backup asked for it), then read by the client in
//! chunks and deleted.
//!
//! Why a file and not one answer: a group can hold gigabytes, more than any frame may
//! carry or memory should hold; the image is streamed to disk while writes wait (a
//! consistent cut), and the chunks are read afterwards while writes go on. Captures
//! nobody reads for [`IDLE`] are deleted, at most [`MAX_OPEN`] exist at a time, and the
//! folder is emptied when the node starts.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_api::Error;
use strata_api::backup::{BACKUP_CHUNK, BackupChunk, BackupPart};

/// How long a capture nobody reads is kept.
const IDLE: Duration = Duration::from_secs(600);
/// How many captures may exist at once.
const MAX_OPEN: usize = 64;

/// The captures of this node.
pub struct Captures {
    dir: PathBuf,
    open: Mutex<HashMap<u64, Capture>>,
}

struct Capture {
    path: PathBuf,
    last_used: Instant,
}

impl Captures {
    /// The captures folder of data directory `data_dir`, emptied (left-overs of a
    /// previous run are of no use to anyone).
    pub fn new(data_dir: &Path) -> Self {
        let dir = data_dir.join("captures");
        let _ = std::fs::remove_dir_all(&dir);
        Self { dir, open: Mutex::new(HashMap::new()) }
    }

    /// Captures `group` (see the module comment); `ensure_linearizable` has been awaited.
    pub async fn open(&self, group: Arc<strata_raft::group::Group>) -> Result<BackupPart, Error> {
        self.sweep();
        let token = loop {
            let t = u64::from_le_bytes(
                strata_api::access::random_bytes().map_err(|e| Error::Storage(e.to_string()))?[..8]
                    .try_into()
                    .unwrap_or_default(),
            );
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            if open.len() >= MAX_OPEN {
                return Err(Error::Busy(format!("{MAX_OPEN} backup captures are open on this node")));
            }
            if t != 0 && !open.contains_key(&t) {
                let path = self.dir.join(format!("{t:016x}.img"));
                open.insert(t, Capture { path, last_used: Instant::now() });
                break t;
            }
        };
        let path = self.path(token)?;
        let dir = self.dir.clone();
        let written = tokio::task::spawn_blocking(move || -> Result<_, Error> {
            strata_shards::private::private_dir(&dir).map_err(|e| Error::Storage(format!("{}: {e}", dir.display())))?;
            let file = strata_shards::private::private_file(&path, true)
                .map_err(|e| Error::Storage(format!("{}: {e}", path.display())))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            let captured = group.capture(&mut out)?;
            let file = out.into_inner().map_err(|e| Error::Storage(e.to_string()))?;
            file.sync_all().map_err(|e| Error::Storage(e.to_string()))?;
            Ok((group.id, captured))
        })
        .await
        .map_err(|e| Error::Unavailable(format!("capture: {e}")));
        match written.and_then(|r| r) {
            Ok((group, (w, index, term))) => {
                Ok(BackupPart { token, group, index, term, bytes: w.bytes, records: w.records, sha256: w.sha256 })
            }
            Err(e) => {
                self.close(token);
                Err(e)
            }
        }
    }

    /// Up to [`BACKUP_CHUNK`] bytes of capture `token` from `offset`.
    pub async fn read(&self, token: u64, offset: u64) -> Result<BackupChunk, Error> {
        let path = self.path(token)?;
        tokio::task::spawn_blocking(move || -> Result<BackupChunk, Error> {
            let io = |e: std::io::Error| Error::Storage(format!("{}: {e}", path.display()));
            let mut file = std::fs::File::open(&path).map_err(io)?;
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            let mut bytes = Vec::new();
            file.take(u64::from(BACKUP_CHUNK)).read_to_end(&mut bytes).map_err(io)?;
            Ok(BackupChunk { bytes })
        })
        .await
        .map_err(|e| Error::Unavailable(format!("capture read: {e}")))?
    }

    /// Deletes capture `token` (nothing if it is gone).
    pub fn close(&self, token: u64) {
        if let Some(c) = self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&token) {
            let _ = std::fs::remove_file(&c.path);
        }
    }

    /// The file of an open capture, marked as used now.
    fn path(&self, token: u64) -> Result<PathBuf, Error> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let c = open
            .get_mut(&token)
            .ok_or_else(|| Error::InvalidInput(format!("no backup capture {token:016x} on this node (expired?)")))?;
        c.last_used = Instant::now();
        Ok(c.path.clone())
    }

    /// Deletes captures idle for longer than [`IDLE`].
    fn sweep(&self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, c| {
            let keep = c.last_used.elapsed() < IDLE;
            if !keep {
                let _ = std::fs::remove_file(&c.path);
            }
            keep
        });
    }
}
