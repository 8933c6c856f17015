//! `strata backup create`: every group of a cluster captured at a linearizable point of
//! its own through its leader (so the backup holds every write acknowledged before it
//! started), or an embedded directory's one tree; the images under `groups/`, their
//! figures in the manifest, written last.

use super::manifest::{GroupEntry, MANIFEST, Manifest};
use super::{Progress, io_err, scan_image};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use strata_api::backup::BACKUP_FORMAT;
use strata_api::clock::unix_ms;
use strata_api::{GraphNamespace, VectorNamespace};
use strata_shards::backup::layout::{Place, place};

/// How many groups are captured at once.
const PARALLEL: usize = 4;

/// Prepares `dest`: a new or empty directory, with its `groups/` folder.
fn prepare(dest: &Path) -> Result<PathBuf> {
    if dest.exists() {
        let mut entries = std::fs::read_dir(dest).map_err(io_err(dest))?;
        if entries.next().is_some() {
            return Err(Error::InvalidFile {
                path: dest.into(),
                reason: "a backup goes to a new or empty directory".into(),
            });
        }
    }
    let groups = dest.join("groups");
    std::fs::create_dir_all(&groups).map_err(io_err(&groups))?;
    Ok(groups)
}

/// Writes the manifest last, atomically (a backup without one was cut short).
fn write_manifest(dest: &Path, manifest: &Manifest) -> Result<()> {
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Protocol(e.to_string()))?;
    let tmp = dest.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&tmp, text).map_err(io_err(&tmp))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io_err(&tmp))?;
    let path = dest.join(MANIFEST);
    std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
    std::fs::File::open(dest).and_then(|d| d.sync_all()).map_err(io_err(dest))
}

/// Backs up every group of `cluster` into directory `dest`.
pub async fn from_cluster(cluster: &Cluster, dest: &Path, progress: &dyn Progress) -> Result<Manifest> {
    let groups_dir = prepare(dest)?;
    let started_at_ms = unix_ms();
    let map = cluster.refresh_map(std::time::Instant::now() + super::MAP_WAIT).await?;
    let shards: Vec<strata_api::ShardInfo> = map.shards.clone();
    progress.start(shards.len() as u64);
    let mut entries = Vec::with_capacity(shards.len());
    for batch in shards.chunks(PARALLEL) {
        let captures = batch.iter().map(|s| {
            let file = format!("groups/g{}.img", s.group);
            let path = groups_dir.join(format!("g{}.img", s.group));
            async move {
                let part = cluster.capture_group(s.group, &path).await?;
                let scanned = tokio::task::spawn_blocking({
                    let path = path.clone();
                    move || scan_image(&path, |_, _| Ok(()))
                })
                .await
                .map_err(|e| Error::Protocol(e.to_string()))??;
                let (store, name, partition) = match (&s.vector, &s.graph) {
                    (Some(v), _) => ("vector", Some(v.namespace.clone()), Some(v.partition)),
                    (_, Some(g)) => ("graph", Some(g.namespace.clone()), Some(g.partition)),
                    _ => ("kv", None, None),
                };
                progress.group_done(part.bytes);
                Ok::<_, Error>(GroupEntry {
                    file,
                    group: s.group,
                    store: store.into(),
                    name,
                    partition,
                    index: part.index,
                    term: part.term,
                    bytes: part.bytes,
                    records: part.records,
                    sha256: part.sha256,
                    items: scanned.items,
                })
            }
        });
        for entry in futures::future::try_join_all(captures).await? {
            entries.push(entry);
        }
    }
    let manifest = Manifest {
        format: BACKUP_FORMAT,
        strata_version: env!("CARGO_PKG_VERSION").into(),
        source: "cluster".into(),
        source_cluster: Some(format!("{:016x}", map.cluster)),
        started_at_ms,
        finished_at_ms: unix_ms(),
        kv_shards: map.shard_count(),
        vector_namespaces: map.vector_namespaces.values().cloned().collect(),
        graphs: map.graphs.values().cloned().collect(),
        groups: entries,
    };
    write_manifest(dest, &manifest)?;
    Ok(manifest)
}

/// Backs up the embedded directory `data` (not open elsewhere) into directory `dest`.
pub async fn from_embedded(data: &Path, dest: &Path, progress: &dyn Progress) -> Result<Manifest> {
    if !data.join("conf").exists() && !data.join("db").exists() {
        return Err(Error::InvalidFile { path: data.into(), reason: "not a Strata data directory".into() });
    }
    let groups_dir = prepare(dest)?;
    let started_at_ms = unix_ms();
    progress.start(1);
    let embedded = crate::backend::Embedded::open(data)?;
    let path = groups_dir.join("embedded.img");
    let written = tokio::task::spawn_blocking({
        let path = path.clone();
        move || embedded.capture(&path)
    })
    .await
    .map_err(|e| Error::Protocol(e.to_string()))??;
    // The namespaces and graphs the records name; settings as stored (an implicit
    // `default` or `image` namespace takes its dimension from its vectors).
    let mut vectors: std::collections::BTreeMap<String, VectorNamespace> = Default::default();
    let mut graphs: std::collections::BTreeSet<String> = Default::default();
    let scanned = scan_image(&path, |k, v| {
        match place(k, v)? {
            Place::VectorSettings(name) => {
                let s: VectorNamespace = rmp_serde::from_slice(v)
                    .map_err(|e| strata_shards::Error::Corrupt(format!("vector namespace {name:?}: {e}")))?;
                vectors.insert(name, s);
            }
            Place::Vector { namespace, .. } if !vectors.contains_key(&namespace) => {
                let dim = strata_shards::vector::record::decode("", v.get(8..).unwrap_or_default())
                    .map_or(0, |r| r.embedding.len() as u32);
                vectors.insert(
                    namespace.clone(),
                    VectorNamespace { name: namespace, dim, distance: Default::default(), partitions: 1 },
                );
            }
            Place::Graph { graph, .. } => {
                graphs.insert(graph);
            }
            _ => {}
        }
        Ok(())
    })?;
    progress.group_done(written.bytes);
    let manifest = Manifest {
        format: BACKUP_FORMAT,
        strata_version: env!("CARGO_PKG_VERSION").into(),
        source: "embedded".into(),
        source_cluster: None,
        started_at_ms,
        finished_at_ms: unix_ms(),
        kv_shards: 1,
        vector_namespaces: vectors.into_values().collect(),
        graphs: graphs.into_iter().map(|name| GraphNamespace { name, partitions: 1 }).collect(),
        groups: vec![GroupEntry {
            file: "groups/embedded.img".into(),
            group: 0,
            store: "embedded".into(),
            name: None,
            partition: None,
            index: 0,
            term: 0,
            bytes: written.bytes,
            records: written.records,
            sha256: written.sha256,
            items: scanned.items,
        }],
    };
    write_manifest(dest, &manifest)?;
    Ok(manifest)
}
