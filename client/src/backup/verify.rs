//! `strata backup verify`: every image the manifest lists is there, of its size, with its
//! SHA-256, readable record by record, with the records and items the manifest says;
//! `--deep` also restores the backup into a temporary embedded directory and reads every
//! item back through the stores.

use super::manifest::Manifest;
use super::{Quiet, scan_image};
use crate::context::StorageContext;
use crate::error::{Error, Result};
use std::path::Path;
use strata_shards::backup::items::Items;

/// What a verification found (it fails on the first problem, naming it).
#[derive(Clone, Debug, Default)]
pub struct Verified {
    /// Images checked.
    pub images: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Their records.
    pub records: u64,
    /// The items they hold.
    pub items: Items,
    /// Items read back through the stores (`--deep`).
    pub read_back: Option<u64>,
}

/// Checks every image against the manifest.
pub fn check_files(src: &Path, manifest: &Manifest) -> Result<Verified> {
    let mut out = Verified::default();
    for g in &manifest.groups {
        let path = src.join(&g.file);
        let bad = |reason: String| Error::InvalidFile { path: path.clone(), reason };
        if g.file.contains("..") || Path::new(&g.file).is_absolute() {
            return Err(bad("the manifest names a file outside the backup".into()));
        }
        let size = std::fs::metadata(&path).map_err(|e| bad(format!("group {}'s image: {e}", g.group)))?.len();
        if size != g.bytes {
            return Err(bad(format!("group {}'s image is {size} bytes, the manifest says {}", g.group, g.bytes)));
        }
        let scanned = scan_image(&path, |_, _| Ok(()))?;
        if scanned.sha256 != g.sha256 {
            return Err(bad(format!(
                "group {}'s image has SHA-256 {}, the manifest says {}",
                g.group, scanned.sha256, g.sha256
            )));
        }
        if scanned.records != g.records || scanned.items != g.items {
            return Err(bad(format!(
                "group {}'s image holds {} records ({:?}), the manifest says {} ({:?})",
                g.group, scanned.records, scanned.items, g.records, g.items
            )));
        }
        out.images += 1;
        out.bytes += scanned.bytes;
        out.records += scanned.records;
        out.items.add(&scanned.items);
    }
    Ok(out)
}

/// Verifies the backup in `src` (deeply: restored and read back).
pub async fn verify(src: &Path, deep: bool) -> Result<Verified> {
    let manifest = super::restore::load(src)?;
    let mut out = check_files(src, &manifest)?;
    if deep {
        let dir = tempfile::tempdir().map_err(|source| Error::Io { path: std::env::temp_dir(), source })?;
        let ctx = StorageContext::open(dir.path().join("restored"))?;
        super::restore::restore(src, &ctx, &Default::default(), &Quiet).await?;
        let read = read_back(&ctx, &manifest).await?;
        let want = out.items;
        let got = read;
        let mismatch = |what: &str, got: u64, want: u64| {
            Err(Error::InvalidFile {
                path: src.into(),
                reason: format!("restored, the backup reads back {got} {what}, the manifest says {want}"),
            })
        };
        for (what, g, w) in [
            ("KV entries", got.kv_entries, want.kv_entries),
            ("chat keys", got.chat_keys, want.chat_keys),
            ("chat messages", got.chat_messages, want.chat_messages),
            ("vectors", got.vectors, want.vectors),
            ("graph nodes", got.graph_nodes, want.graph_nodes),
            ("graph relations", got.graph_relations, want.graph_relations),
            ("triplet subjects", got.triplet_subjects, want.triplet_subjects),
        ] {
            if g != w {
                return mismatch(what, g, w);
            }
        }
        out.read_back = Some(got.total());
    }
    Ok(out)
}

/// Reads every item of a restored store back through the stores' own calls.
async fn read_back(ctx: &StorageContext, manifest: &Manifest) -> Result<Items> {
    let mut items = Items::default();
    for collection in ctx.kv_store().collections().await? {
        items.kv_entries += ctx.kv_store().get_all(&collection).await?.len() as u64;
    }
    let chat = ctx.chat_store();
    for key in chat.get_keys().await? {
        items.chat_keys += 1;
        items.chat_messages += chat.get_messages(&key).await?.len() as u64;
    }
    for ns in &manifest.vector_namespaces {
        items.vectors += ctx.vector_store_in(&ns.name).get_records(None, None).await?.len() as u64;
    }
    for g in &manifest.graphs {
        let store = ctx.property_graph_store_in(&g.name);
        items.graph_nodes += store.get(None, None).await?.len() as u64;
        items.graph_relations += store.relations().await?.len() as u64;
        items.triplet_subjects += ctx.graph_store_in(&g.name).graph_dict().await?.len() as u64;
    }
    Ok(items)
}
