//! Backups of a whole cluster or embedded directory (`strata backup`): [`create`] captures
//! every group, [`verify`] checks a backup's files against its manifest (and, deep,
//! restores it to read every item back), [`restore`] lays its records out again in a
//! fresh cluster of any size or an embedded directory. The format: `manifest.json`
//! ([`manifest`]) and one image per captured group under `groups/`
//! (`strata_shards::backup::image`).

pub mod catalog;
pub mod create;
pub mod manifest;
pub mod remote;
pub mod restore;
pub mod verify;

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use strata_shards::backup::image::ImageReader;
use strata_shards::backup::items::Items;

/// How long a backup or restore waits for the cluster's shard map.
const MAP_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What a long run reports as it goes (the CLI draws a progress bar).
pub trait Progress: Sync {
    /// The run has `total` steps (groups or images).
    fn start(&self, total: u64);
    /// A step is done; `bytes` more were moved.
    fn group_done(&self, bytes: u64);
}

/// Reports nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&self, _: u64) {}
    fn group_done(&self, _: u64) {}
}

/// Backs up `cluster` to `location` (a directory, or an S3 prefix: staged in the
/// temporary directory, then uploaded, manifest last).
pub async fn create_cluster_at(
    cluster: &crate::cluster::Cluster,
    location: &remote::Location,
    progress: &dyn Progress,
) -> Result<manifest::Manifest> {
    create_at(location, |dir| async move { create::from_cluster(cluster, &dir, progress).await }).await
}

/// Backs up the embedded directory `data` to `location` (as [`create_cluster_at`]).
pub async fn create_embedded_at(
    data: &Path,
    location: &remote::Location,
    progress: &dyn Progress,
) -> Result<manifest::Manifest> {
    create_at(location, |dir| async move { create::from_embedded(data, &dir, progress).await }).await
}

/// Runs `make` into `location`'s directory, or into a staging one uploaded after.
async fn create_at<F, Fut>(location: &remote::Location, make: F) -> Result<manifest::Manifest>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<manifest::Manifest>>,
{
    match location {
        remote::Location::Dir(dir) => make(dir.clone()).await,
        remote::Location::S3 { bucket, prefix } => {
            let remote = remote::Remote::new(bucket, prefix)?;
            if remote.manifest().await?.is_some() {
                return Err(Error::InvalidFile {
                    path: format!("s3://{bucket}/{prefix}").into(),
                    reason: "a backup is already there (its manifest exists)".into(),
                });
            }
            let staging = tempfile::tempdir().map_err(io_err(&std::env::temp_dir()))?;
            let dir = staging.path().join("backup");
            let manifest = make(dir.clone()).await?;
            remote.upload(&dir, &manifest).await?;
            Ok(manifest)
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// An image's figures as read back from its file.
pub struct Scanned {
    /// Bytes.
    pub bytes: u64,
    /// Records.
    pub records: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Items.
    pub items: Items,
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Reads every record of the image at `path`, handing each to `visit`; answers the
/// image's figures. A damaged image is an error naming the file and the record.
fn scan_image(path: &Path, mut visit: impl FnMut(&[u8], &[u8]) -> strata_shards::Result<()>) -> Result<Scanned> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let hashing = Hashing { inner: std::io::BufReader::with_capacity(1 << 20, file), sha: Sha256::new(), bytes: 0 };
    let mut reader = ImageReader::new(hashing);
    let mut items = Items::default();
    let damaged = |e: strata_shards::Error| Error::InvalidFile { path: PathBuf::from(path), reason: e.to_string() };
    while let Some((k, v)) = reader.next_record().map_err(damaged)? {
        items.count(&k);
        visit(&k, &v).map_err(damaged)?;
    }
    let records = reader.records();
    let hashing = reader.into_inner();
    Ok(Scanned { bytes: hashing.bytes, records, sha256: hex::encode(hashing.sha.finalize()), items })
}
