//! Backups in an S3-compatible object store (`s3://bucket/prefix`), through the
//! `object_store` crate: the same files as a directory backup under the prefix, the
//! manifest uploaded last (a backup without one was cut short) and fetched first.
//!
//! Credentials and the endpoint come from the environment as the AWS tools read them
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL` for a
//! server other than AWS; plain `http://` endpoints are allowed, for servers on a private
//! network). A backup is staged on local disk (the temporary directory) and uploaded
//! image by image; a restore or verify downloads it there first.

use super::manifest::{MANIFEST, Manifest};
use crate::error::{Error, Result};
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a backup lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Dir(PathBuf),
    /// An object store bucket and key prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix (no leading or trailing `/`).
        prefix: String,
    },
}

impl Location {
    /// `s3://bucket/prefix`, or a directory path.
    pub fn parse(text: &str) -> Result<Self> {
        let Some(rest) = text.strip_prefix("s3://") else {
            if text.contains("://") {
                return Err(invalid(text, "backups go to a directory or an s3://bucket/prefix"));
            }
            return Ok(Location::Dir(PathBuf::from(text)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid(text, "an S3 location names its bucket: s3://bucket/prefix"));
        }
        Ok(Location::S3 { bucket: bucket.into(), prefix: prefix.trim_matches('/').into() })
    }
}

fn invalid(text: &str, reason: &str) -> Error {
    Error::InvalidFile { path: PathBuf::from(text), reason: reason.into() }
}

fn store_err(what: &str) -> impl Fn(object_store::Error) -> Error + '_ {
    move |e| Error::Store(strata_api::Error::Storage(format!("{what}: {e}")))
}

/// A bucket of an S3-compatible store.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    display: String,
}

/// Upload and download piece size.
const PIECE: usize = 8 << 20;

impl Remote {
    /// The store for `bucket`, configured from the environment.
    pub fn new(bucket: &str, prefix: &str) -> Result<Self> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT")).ok();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(e) = &endpoint {
            builder = builder.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        let store = builder.build().map_err(store_err("configuring the S3 client"))?;
        Ok(Self { store: Arc::new(store), prefix: prefix.into(), display: format!("s3://{bucket}/{prefix}") })
    }

    /// The same bucket, under `name` below this prefix.
    pub fn child(&self, name: &str) -> Self {
        let prefix = if self.prefix.is_empty() { name.to_string() } else { format!("{}/{name}", self.prefix) };
        Self { store: self.store.clone(), display: format!("{}/{name}", self.display), prefix }
    }

    /// The names directly below this prefix (`prefix/NAME/...`), sorted.
    pub async fn children(&self) -> Result<Vec<String>> {
        let base = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let listed = self.store.list_with_delimiter(base.as_ref()).await.map_err(store_err("listing backups"))?;
        let mut names: Vec<String> =
            listed.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_string)).collect();
        names.sort();
        Ok(names)
    }

    /// The manifest under this prefix, if there is one.
    pub async fn manifest(&self) -> Result<Option<Manifest>> {
        match self.store.get(&self.key(MANIFEST)).await {
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("reading a manifest")(e)),
            Ok(got) => {
                let bytes = got.bytes().await.map_err(store_err("reading a manifest"))?;
                Manifest::parse(&bytes, std::path::Path::new(&self.display)).map(Some)
            }
        }
    }

    /// Deletes every object under this prefix.
    pub async fn delete_all(&self) -> Result<()> {
        let base = ObjectPath::from(self.prefix.as_str());
        let mut listed = self.store.list(Some(&base));
        while let Some(meta) = listed.next().await {
            let meta = meta.map_err(store_err("listing a backup to delete"))?;
            self.store.delete(&meta.location).await.map_err(store_err("deleting a backup"))?;
        }
        Ok(())
    }

    fn key(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    /// Uploads the backup in directory `dir`: its images, then its manifest.
    pub async fn upload(&self, dir: &Path, manifest: &Manifest) -> Result<()> {
        if self.store.head(&self.key(MANIFEST)).await.is_ok() {
            return Err(invalid(&self.display, "a backup is already there (its manifest exists)"));
        }
        for g in &manifest.groups {
            self.upload_file(&dir.join(&g.file), &g.file).await?;
        }
        self.upload_file(&dir.join(MANIFEST), MANIFEST).await
    }

    async fn upload_file(&self, path: &Path, name: &str) -> Result<()> {
        let key = self.key(name);
        let what = format!("uploading {}", path.display());
        let upload = self.store.put_multipart(&key).await.map_err(store_err(&what))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PIECE);
        let mut file = std::fs::File::open(path).map_err(super::io_err(path))?;
        let mut buf = vec![0u8; PIECE];
        loop {
            let n = file.read(&mut buf).map_err(super::io_err(path))?;
            if n == 0 {
                break;
            }
            // At most a few pieces in flight: memory stays bounded whatever the file's size.
            writer.wait_for_capacity(4).await.map_err(store_err(&what))?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(store_err(&what))?;
        Ok(())
    }

    /// Downloads the backup into directory `dir`: its manifest (refused when there is
    /// none or it is damaged), then every image it lists.
    pub async fn download(&self, dir: &Path) -> Result<Manifest> {
        self.download_file(MANIFEST, &dir.join(MANIFEST)).await?;
        let manifest = super::restore::load(dir)?;
        std::fs::create_dir_all(dir.join("groups")).map_err(super::io_err(dir))?;
        for g in &manifest.groups {
            if g.file.contains("..") || Path::new(&g.file).is_absolute() {
                return Err(invalid(&self.display, "the manifest names a file outside the backup"));
            }
            self.download_file(&g.file, &dir.join(&g.file)).await?;
        }
        Ok(manifest)
    }

    async fn download_file(&self, name: &str, path: &Path) -> Result<()> {
        let what = format!("downloading {}/{name}", self.display);
        let got = match self.store.get(&self.key(name)).await {
            Err(object_store::Error::NotFound { .. }) => {
                return Err(invalid(&format!("{}/{name}", self.display), "not found (is a backup there?)"));
            }
            other => other.map_err(store_err(&what))?,
        };
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(super::io_err(path))?);
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.map_err(store_err(&what))?).map_err(super::io_err(path))?;
        }
        out.flush().map_err(super::io_err(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(Location::parse("/tmp/b").ok(), Some(Location::Dir("/tmp/b".into())));
        assert_eq!(
            Location::parse("s3://bucket/a/b/").ok(),
            Some(Location::S3 { bucket: "bucket".into(), prefix: "a/b".into() })
        );
        assert_eq!(
            Location::parse("s3://bucket").ok(),
            Some(Location::S3 { bucket: "bucket".into(), prefix: "".into() })
        );
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("gs://bucket/x").is_err());
    }
}
