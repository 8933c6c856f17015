//! One embedded database per directory per process.
//!
//! sled locks a data directory for one open handle, and LlamaIndex applications build
//! their stores one by one (`StrataDocumentStore(path=p)`, then `StrataVectorStore(path=p)`,
//! ...): each must reach the same database, so opens of one directory share the handle
//! already open. The registry holds it weakly: when every Python object using it is gone
//! the database closes (flushing), and the next open opens it afresh. Another *process*
//! still gets `AlreadyOpen`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use strata_client::{Result, StorageContext};

fn open_handles() -> &'static Mutex<HashMap<PathBuf, Weak<StorageContext>>> {
    static HANDLES: OnceLock<Mutex<HashMap<PathBuf, Weak<StorageContext>>>> = OnceLock::new();
    HANDLES.get_or_init(Default::default)
}

/// The directory's identity: its canonical path once it exists (so `./d` and `/abs/d`,
/// or a symlink, are one database).
fn key_of(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The open handle on `path`, opening (and creating) it when none is open.
pub fn open(path: &str) -> Result<Arc<StorageContext>> {
    let dir = Path::new(path);
    let mut handles = open_handles().lock().unwrap_or_else(|p| p.into_inner());
    handles.retain(|_, h| h.strong_count() > 0);
    if let Some(ctx) = handles.get(&key_of(dir)).and_then(Weak::upgrade) {
        return Ok(ctx);
    }
    let ctx = Arc::new(StorageContext::open(dir)?);
    handles.insert(key_of(dir), Arc::downgrade(&ctx));
    Ok(ctx)
}
