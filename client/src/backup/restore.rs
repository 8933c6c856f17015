//! `strata backup restore`: a backup laid out again in a fresh cluster of any size or in a
//! new embedded directory. Every record goes to the group a fresh write of it would reach
//! in the target's layout (its own KV shard count; each namespace's and graph's partition
//! count, the source's unless asked otherwise), sent as raft writes of about a MiB, up to
//! [`IN_FLIGHT`] at once (records are distinct keys, so their parts commute; one at a
//! time, a restore into a 3-node cluster ran at 1.9 MB/s, each write waiting for the
//! last one's replication and apply); then each group recomputes what is derived
//! (counts, schema counters, vector indexes), once all its records are in, and the
//! vector indexes are built before the restore reports done.

use super::manifest::{MANIFEST, Manifest};
use super::{Progress, io_err};
use crate::backend::Backend;
use crate::context::StorageContext;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use strata_api::backup::RestoreCommand;
use strata_api::{ChatQuery, Command, GraphNamespace, GroupId, KvQuery, Query, Response, VectorNamespace};
use strata_shards::backup::image::{ImageReader, ImageWriter};
use strata_shards::backup::layout::{Place, place};
use strata_shards::placement::{group_of, partition_of};

/// How long a restore waits for the target's new partitions to be fully replicated.
const LAYOUT_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// About how many bytes of records one restore write carries.
const PART_BYTES: usize = 1 << 20;

/// How many restore writes are in flight at once (spread over the target's groups, so
/// every leader and disk has work while one write replicates).
const IN_FLIGHT: usize = 16;

/// How a restore lays a backup out.
#[derive(Clone, Debug, Default)]
pub struct RestoreOptions {
    /// Partitions for every vector namespace and graph (none: the source's counts; for a
    /// backup of an embedded directory, the cluster's defaults).
    pub partitions: Option<u32>,
}

/// What a restore did.
#[derive(Clone, Debug, Default)]
pub struct Restored {
    /// Records written.
    pub records: u64,
    /// Bytes of images read.
    pub bytes: u64,
    /// Seconds spent writing the records, recomputing what is derived from them, and
    /// building the vector indexes.
    pub phases: [f64; 3],
}

/// The target's groups for each kind of record.
struct Layout {
    /// KV shards (0: an embedded directory, where everything is group 0).
    kv_shards: u32,
    vectors: BTreeMap<String, Vec<GroupId>>,
    graphs: BTreeMap<String, Vec<GroupId>>,
}

impl Layout {
    /// The groups a record goes to (none: it is not restored as it is).
    fn groups(&self, p: &Place) -> Result<Vec<GroupId>> {
        let partitions = |map: &BTreeMap<String, Vec<GroupId>>, name: &str, what: &str| {
            map.get(name).cloned().ok_or_else(|| {
                Error::Store(strata_api::Error::InvalidData(format!(
                    "the backup holds records of {what} {name:?} that its manifest does not list"
                )))
            })
        };
        let embedded = self.kv_shards == 0;
        Ok(match p {
            Place::Drop | Place::NextSeq(_) | Place::VectorSettings(_) => vec![],
            _ if embedded => vec![0],
            Place::Kv(placement) => vec![group_of(placement, self.kv_shards)],
            Place::Vector { namespace, id } => {
                let parts = partitions(&self.vectors, namespace, "vector namespace")?;
                vec![parts[partition_of(id, parts.len())]]
            }
            Place::GraphSettings(graph) => partitions(&self.graphs, graph, "graph")?,
            Place::Graph { graph, id } => {
                let parts = partitions(&self.graphs, graph, "graph")?;
                vec![parts[partition_of(id, parts.len())]]
            }
        })
    }

    /// Every group of the target a restore writes.
    fn all_groups(&self) -> Vec<GroupId> {
        if self.kv_shards == 0 {
            return vec![0];
        }
        let mut all: Vec<GroupId> = (1..=u64::from(self.kv_shards)).collect();
        all.extend(self.vectors.values().flatten());
        all.extend(self.graphs.values().flatten());
        all
    }
}

/// Reads and checks a backup's manifest and the size of every image it lists.
pub fn load(src: &Path) -> Result<Manifest> {
    let path = src.join(MANIFEST);
    let text = std::fs::read(&path).map_err(io_err(&path))?;
    Manifest::parse(&text, &path)
}

/// Restores `src` into `ctx` (a fresh cluster, or an embedded directory just created).
pub async fn restore(
    src: &Path,
    ctx: &StorageContext,
    options: &RestoreOptions,
    progress: &dyn Progress,
) -> Result<Restored> {
    let manifest = load(src)?;
    // Checked whole before anything is written: a damaged backup restores nothing.
    super::verify::check_files(src, &manifest)?;
    refuse_data(ctx).await?;
    let layout = create_layout(ctx, &manifest, options).await?;
    progress.start(manifest.groups.len() as u64);
    let mut parts: BTreeMap<GroupId, ImageWriter<Vec<u8>>> = BTreeMap::new();
    let mut sending = futures::stream::FuturesUnordered::new();
    let started = std::time::Instant::now();
    let mut next_seq = 0u64;
    let mut done = Restored::default();
    for entry in &manifest.groups {
        let path = src.join(&entry.file);
        let file = std::fs::File::open(&path).map_err(io_err(&path))?;
        let mut reader = ImageReader::new(std::io::BufReader::with_capacity(1 << 20, file));
        let damaged = |e: strata_shards::Error| Error::InvalidFile { path: path.clone(), reason: e.to_string() };
        // Each group's part is sent as it fills: memory holds a MiB per target group.
        while let Some((k, v)) = reader.next_record().map_err(damaged)? {
            let p = place(&k, &v).map_err(damaged)?;
            if let Place::NextSeq(n) = p {
                next_seq = next_seq.max(n);
            }
            for g in layout.groups(&p)? {
                let part = parts.entry(g).or_insert_with(|| ImageWriter::new(Vec::with_capacity(PART_BYTES)));
                part.push(&k, &v)?;
                if part.len() >= PART_BYTES
                    && let Some(part) = parts.remove(&g)
                {
                    if sending.len() >= IN_FLIGHT {
                        next_sent(&mut sending).await?;
                    }
                    sending.push(send(ctx, RestoreCommand::Records { group: g, image: part.finish()?.1 }));
                }
            }
        }
        done.records += reader.records();
        done.bytes += entry.bytes;
        progress.group_done(entry.bytes);
    }
    for (group, part) in std::mem::take(&mut parts) {
        if sending.len() >= IN_FLIGHT {
            next_sent(&mut sending).await?;
        }
        sending.push(send(ctx, RestoreCommand::Records { group, image: part.finish()?.1 }));
    }
    // Every record is in before any group recounts what is derived from them.
    while !sending.is_empty() {
        next_sent(&mut sending).await?;
    }
    done.phases[0] = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    for group in layout.all_groups() {
        send(ctx, RestoreCommand::Finish { group, next_seq }).await?;
    }
    done.phases[1] = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    warm_vector_indexes(ctx, &manifest).await?;
    done.phases[2] = started.elapsed().as_secs_f64();
    Ok(done)
}

/// Waits for one of the writes in flight; its error ends the restore.
async fn next_sent<F: std::future::Future<Output = Result<()>>>(
    sending: &mut futures::stream::FuturesUnordered<F>,
) -> Result<()> {
    use futures::StreamExt;
    sending.next().await.unwrap_or(Ok(()))
}

async fn send(ctx: &StorageContext, cmd: RestoreCommand) -> Result<()> {
    match &*ctx.backend {
        Backend::Cluster(c) => c.restore_write(cmd).await,
        Backend::Embedded(e) => e.apply(Command::Restore(cmd)).await.map(|_| ()),
    }
}

/// A restore goes into an empty target only.
async fn refuse_data(ctx: &StorageContext) -> Result<()> {
    let holds = |what: String| {
        Err(Error::Store(strata_api::Error::InvalidInput(format!(
            "a restore needs an empty target, and this one holds {what}"
        ))))
    };
    if let Some(c) = ctx.cluster() {
        let (vectors, graphs) = c.with_cached_map(|m| (m.vector_namespaces.len(), m.graphs.len()));
        if vectors + graphs > 0 {
            return holds(format!("{vectors} vector namespace(s) and {graphs} graph(s)"));
        }
    }
    match ctx.backend.query(Query::Kv(KvQuery::Collections)).await? {
        Response::Names(n) if !n.is_empty() => return holds(format!("KV collections ({})", n.join(", "))),
        _ => {}
    }
    match ctx.backend.query(Query::Chat(ChatQuery::GetKeys)).await? {
        Response::Names(n) if !n.is_empty() => return holds(format!("{} chat key(s)", n.len())),
        _ => {}
    }
    if ctx.cluster().is_none() {
        let found = ctx.vector_namespaces().await?;
        if found.iter().any(|n| n.dim != 0) {
            return holds("vectors".into());
        }
    }
    Ok(())
}

/// Creates the backup's namespaces and graphs in the target; answers its layout.
async fn create_layout(ctx: &StorageContext, manifest: &Manifest, options: &RestoreOptions) -> Result<Layout> {
    let partitions = |source: u32| match (options.partitions, manifest.source.as_str()) {
        (Some(p), _) => p,
        (None, "embedded") => 0,
        (None, _) => source,
    };
    for ns in &manifest.vector_namespaces {
        let settings = VectorNamespace { partitions: partitions(ns.partitions), ..ns.clone() };
        ctx.add_vector_store(settings).await?;
    }
    let Some(cluster) = ctx.cluster() else {
        return Ok(Layout { kv_shards: 0, vectors: BTreeMap::new(), graphs: BTreeMap::new() });
    };
    for g in &manifest.graphs {
        cluster.create_graph(GraphNamespace { name: g.name.clone(), partitions: partitions(g.partitions) }).await?;
    }
    // New partitions start with one replica and grow while the rebalancer copies them;
    // writes wait until a majority of replicas exists. Restoring gigabytes into groups
    // still growing would outlast any call's deadline: the restore waits for the layout.
    let until = std::time::Instant::now() + LAYOUT_WAIT;
    let map = loop {
        let map = cluster.refresh_map(std::time::Instant::now() + super::MAP_WAIT).await?;
        let want = (map.replication as usize).min(map.active_nodes().count()).max(1);
        let growing = map.shards.iter().filter(|s| s.replicas.len() < want || !s.learners.is_empty()).count();
        if growing == 0 {
            break map;
        }
        if std::time::Instant::now() >= until {
            return Err(Error::Store(strata_api::Error::Unavailable(format!(
                "{growing} raft group(s) still have fewer than {want} replicas after {LAYOUT_WAIT:?}"
            ))));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    Ok(Layout {
        kv_shards: map.shard_count(),
        vectors: manifest.vector_namespaces.iter().map(|n| (n.name.clone(), map.vector_partitions(&n.name))).collect(),
        graphs: manifest.graphs.iter().map(|g| (g.name.clone(), map.graph_partitions(&g.name))).collect(),
    })
}

/// Waits until every restored vector namespace's approximate index holds all its vectors
/// (so queries are fast once the restore reports done).
async fn warm_vector_indexes(ctx: &StorageContext, manifest: &Manifest) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    for ns in &manifest.vector_namespaces {
        let store = ctx.vector_store_in(&ns.name);
        loop {
            let stats = store.index_stats().await?;
            if stats.unindexed == 0 || std::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
