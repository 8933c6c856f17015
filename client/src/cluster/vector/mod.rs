//! Vector namespaces on a cluster: each has P partitions (raft groups, placed by the meta
//! group); a record lives in partition `fnv(node_id) % P`.
//!
//! Writes split by partition (an `add` of many nodes is one write per partition, each
//! atomic, none atomic with another, and a partition's share past the client's batch
//! bounds is several writes in order: `batches.rs`; see `VectorStore::add` for what
//! readers see) or go
//! to every partition (deletes by source document or filter, `clear`). Everything a user
//! can get wrong is checked here before the first write (dimension, NaN, zero vectors,
//! filter values), and a delete by filter first reads what matches everywhere (which
//! raises any filter error) before it deletes by id, so bad input never leaves half a
//! write. Searches: `search.rs`.
//!
//! LlamaIndex keeps vectors in insertion order, which breaks MMR's ties and orders
//! `get_nodes`. Partitions are separate raft groups, so this client stamps the records
//! of each `add` from one clock (wall-clock microseconds, never going back): every
//! partition files a record at its stamp, and merges sort by it.

mod batches;
mod search;

use super::Cluster;
use crate::error::{Error, Result};
use futures::future::try_join_all;
use std::sync::atomic::Ordering;
use strata_api::{
    Command, DEFAULT_VECTOR_NAMESPACE, Distance, Error as ApiError, GroupId, IMAGE_VECTOR_NAMESPACE, MetadataFilters,
    Query, ReadConsistency, Response, VectorCommand, VectorIndexStats, VectorNamespace, VectorQuery, VectorRecord,
};
use strata_shards::vector::index;

/// Insertion stamps per microsecond: room for a thousand records a microsecond before
/// the stamps run ahead of the clock (u64 lasts until the year 2500 at this rate).
const STAMPS_PER_MICROSECOND: u64 = 1024;

fn implicit(namespace: &str) -> bool {
    namespace == DEFAULT_VECTOR_NAMESPACE || namespace == IMAGE_VECTOR_NAMESPACE
}

use strata_shards::placement::partition_of;

fn unknown(namespace: &str) -> Error {
    ApiError::UnknownNamespace { namespace: namespace.to_string() }.into()
}

fn ids(r: Response) -> Result<Vec<String>> {
    match r {
        Response::Ids(ids) => Ok(ids),
        other => Err(Error::Protocol(format!("a vector write answered {other:?}"))),
    }
}

impl Cluster {
    /// The first of `n` consecutive insertion stamps, all later than any this client
    /// handed out before.
    pub(super) fn insertion_stamps(&self, n: usize) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .saturating_mul(STAMPS_PER_MICROSECOND);
        let mut base = 0;
        let _ = self.insertion_clock.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            base = last.max(now);
            Some(base.saturating_add(n as u64))
        });
        base
    }

    /// The settings and partition groups of `namespace`, fetching the map again if this
    /// client does not know it yet.
    async fn vector_namespace(&self, namespace: &str) -> Result<Option<(VectorNamespace, Vec<GroupId>)>> {
        for attempt in 0..2 {
            let map = self.cached_map();
            if let Some(s) = map.vector_namespaces.get(namespace) {
                let groups = map.vector_partitions(namespace);
                if !groups.is_empty() {
                    return Ok(Some((s.clone(), groups)));
                }
            }
            if attempt == 0 {
                self.refresh_map(std::time::Instant::now() + super::ATTEMPT_TIMEOUT).await?;
            }
        }
        Ok(None)
    }

    /// Creates (or sets the dimension of) a namespace, then tells each partition its
    /// settings; answers the settings and groups.
    async fn create_vector_namespace(&self, settings: VectorNamespace) -> Result<(VectorNamespace, Vec<GroupId>)> {
        let stored = self.create_namespace_in_meta(settings).await?;
        let (stored, groups) = self.vector_namespace(&stored.name).await?.ok_or_else(|| unknown(&stored.name))?;
        let parts = groups.iter().map(|g| {
            let cmd = Command::Vector(VectorCommand::CreateNamespace { settings: stored.clone() });
            self.write_group(*g, cmd)
        });
        try_join_all(parts).await?;
        Ok((stored, groups))
    }

    /// The namespace a write goes to: created on first use for `default` and `image`, its
    /// dimension fixed by the first vector when it has none.
    async fn namespace_for_write(
        &self,
        namespace: &str,
        dim: Option<usize>,
    ) -> Result<(VectorNamespace, Vec<GroupId>)> {
        let found = self.vector_namespace(namespace).await?;
        let settings = match found {
            Some((s, groups)) if s.dim != 0 || dim.is_none() => return Ok((s, groups)),
            Some((s, _)) => s,
            None if implicit(namespace) => {
                VectorNamespace { name: namespace.to_string(), dim: 0, distance: Distance::Cosine, partitions: 0 }
            }
            None => return Err(unknown(namespace)),
        };
        let dim = dim.map_or(0, |d| d as u32);
        self.create_vector_namespace(VectorNamespace { dim, ..settings }).await
    }

    /// Applies a vector write across the namespace's partitions (under one request id).
    pub(crate) async fn vector_apply(&self, cmd: VectorCommand) -> Result<Response> {
        crate::cluster::one_request(self.vector_apply_in(cmd)).await
    }

    async fn vector_apply_in(&self, cmd: VectorCommand) -> Result<Response> {
        match cmd {
            VectorCommand::CreateNamespace { settings } => {
                self.create_vector_namespace(settings).await?;
                Ok(Response::Done)
            }
            VectorCommand::Add { namespace, records, .. } => self.add(&namespace, records).await,
            VectorCommand::Delete { namespace, ref_doc_id } => {
                let Some((_, groups)) = self.vector_namespace(&namespace).await? else {
                    return if implicit(&namespace) { Ok(Response::Ids(Vec::new())) } else { Err(unknown(&namespace)) };
                };
                let cmd = VectorCommand::Delete { namespace, ref_doc_id };
                self.broadcast(&groups, cmd).await
            }
            VectorCommand::Clear { namespace } => {
                let Some((_, groups)) = self.vector_namespace(&namespace).await? else {
                    return if implicit(&namespace) { Ok(Response::Ids(Vec::new())) } else { Err(unknown(&namespace)) };
                };
                self.broadcast(&groups, VectorCommand::Clear { namespace }).await
            }
            VectorCommand::DeleteNodes { namespace, node_ids, filters } => {
                self.delete_nodes(&namespace, node_ids, filters).await
            }
        }
    }

    async fn broadcast(&self, groups: &[GroupId], cmd: VectorCommand) -> Result<Response> {
        let answers = try_join_all(groups.iter().map(|g| self.write_group(*g, Command::Vector(cmd.clone())))).await?;
        let mut out = Vec::new();
        for a in answers {
            out.extend(ids(a)?);
        }
        Ok(Response::Ids(out))
    }

    async fn add(&self, namespace: &str, records: Vec<VectorRecord>) -> Result<Response> {
        let Some(first) = records.first() else { return Ok(Response::Ids(Vec::new())) };
        let (settings, groups) = self.namespace_for_write(namespace, Some(first.embedding.len())).await?;
        index::check_records(&settings, &records)?;
        let added: Vec<String> = records.iter().map(|r| r.node_id.clone()).collect();
        let first_stamp = self.insertion_stamps(records.len());
        let mut parts: Vec<(Vec<VectorRecord>, Vec<u64>)> = vec![(Vec::new(), Vec::new()); groups.len()];
        for (stamp, r) in (first_stamp..).zip(records) {
            let part = &mut parts[partition_of(&r.node_id, groups.len())];
            part.0.push(r);
            part.1.push(stamp);
        }
        // Partitions concurrently; a partition's batches one after another, in order.
        let writes = parts.into_iter().enumerate().filter(|(_, p)| !p.0.is_empty()).map(|(i, (records, order))| {
            let group = groups[i];
            async move {
                for (records, order) in batches::for_writes(records, order) {
                    let cmd = VectorCommand::Add { namespace: namespace.to_string(), records, order };
                    ids(self.write_group(group, Command::Vector(cmd)).await?)?;
                }
                Ok::<(), Error>(())
            }
        });
        try_join_all(writes).await?;
        Ok(Response::Ids(added))
    }

    async fn delete_nodes(
        &self,
        namespace: &str,
        node_ids: Option<Vec<String>>,
        filters: Option<MetadataFilters>,
    ) -> Result<Response> {
        let Some((_, groups)) = self.vector_namespace(namespace).await? else {
            return if implicit(namespace) { Ok(Response::Ids(Vec::new())) } else { Err(unknown(namespace)) };
        };
        if node_ids.is_none() && filters.is_none() {
            return self.broadcast(&groups, VectorCommand::Clear { namespace: namespace.to_string() }).await;
        }
        // What matches, read everywhere first: a filter that cannot be evaluated on some
        // partition's data fails here, before anything is deleted.
        let matching = match self
            .vector_query(
                VectorQuery::GetNodes { namespace: namespace.to_string(), node_ids, filters },
                ReadConsistency::Linearizable,
            )
            .await?
        {
            Response::VectorRecords { records, .. } => records.into_iter().map(|r| r.node_id).collect::<Vec<_>>(),
            other => return Err(Error::Protocol(format!("get_nodes answered {other:?}"))),
        };
        let mut parts: Vec<Vec<String>> = vec![Vec::new(); groups.len()];
        for id in matching {
            parts[partition_of(&id, groups.len())].push(id);
        }
        let writes = parts.into_iter().enumerate().filter(|(_, p)| !p.is_empty()).map(|(i, ids)| {
            let cmd =
                VectorCommand::DeleteNodes { namespace: namespace.to_string(), node_ids: Some(ids), filters: None };
            self.write_group(groups[i], Command::Vector(cmd))
        });
        let mut out = Vec::new();
        for answer in try_join_all(writes).await? {
            out.extend(ids(answer)?);
        }
        Ok(Response::Ids(out))
    }

    /// Answers a vector read across the namespace's partitions (one request id for
    /// every partition it asks: the nodes' logs show one query).
    pub(crate) async fn vector_query(&self, q: VectorQuery, consistency: ReadConsistency) -> Result<Response> {
        crate::cluster::one_request(self.vector_query_in(q, consistency)).await
    }

    async fn vector_query_in(&self, q: VectorQuery, consistency: ReadConsistency) -> Result<Response> {
        match q {
            VectorQuery::Namespaces => {
                let map = self.refresh_map(std::time::Instant::now() + super::ATTEMPT_TIMEOUT).await?;
                let mut out: Vec<VectorNamespace> = map.vector_namespaces.values().cloned().collect();
                for name in [DEFAULT_VECTOR_NAMESPACE, IMAGE_VECTOR_NAMESPACE] {
                    if !out.iter().any(|n| n.name == name) {
                        out.push(VectorNamespace {
                            name: name.into(),
                            dim: 0,
                            distance: Distance::Cosine,
                            partitions: 0,
                        });
                    }
                }
                Ok(Response::VectorNamespaces(out))
            }
            VectorQuery::GetNodes { namespace, node_ids, filters } => {
                if let Some(f) = &filters {
                    f.validate().map_err(ApiError::InvalidFilter)?;
                }
                let Some((_, groups)) = self.vector_namespace(&namespace).await? else {
                    return if implicit(&namespace) {
                        Ok(Response::VectorRecords { records: Vec::new(), positions: Vec::new() })
                    } else {
                        Err(unknown(&namespace))
                    };
                };
                let mut parts: Vec<Option<Vec<String>>> = vec![node_ids.as_ref().map(|_| Vec::new()); groups.len()];
                if let Some(ids) = &node_ids {
                    let mut seen = std::collections::HashSet::new();
                    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                        if let Some(p) = parts[partition_of(id, groups.len())].as_mut() {
                            p.push(id.clone());
                        }
                    }
                }
                let reads =
                    groups.iter().zip(parts).filter(|(_, p)| p.as_ref().is_none_or(|p| !p.is_empty())).map(|(g, p)| {
                        let q = VectorQuery::GetNodes {
                            namespace: namespace.clone(),
                            node_ids: p,
                            filters: filters.clone(),
                        };
                        self.read_group(*g, Query::Vector(q), consistency)
                    });
                let mut found: Vec<(u64, VectorRecord)> = Vec::new();
                for a in try_join_all(reads).await? {
                    match a {
                        Response::VectorRecords { records, positions } if records.len() == positions.len() => {
                            found.extend(positions.into_iter().zip(records));
                        }
                        other => return Err(Error::Protocol(format!("get_nodes answered {other:?}"))),
                    }
                }
                Ok(merge_records(found, node_ids.as_deref()))
            }
            VectorQuery::Search { namespace, search } => self.search(&namespace, *search, consistency).await,
            VectorQuery::IndexStats { namespace } => {
                let Some((_, groups)) = self.vector_namespace(&namespace).await? else {
                    return if implicit(&namespace) {
                        Ok(Response::VectorIndexStats(VectorIndexStats::default()))
                    } else {
                        Err(unknown(&namespace))
                    };
                };
                let reads = groups.iter().map(|g| {
                    let q = VectorQuery::IndexStats { namespace: namespace.clone() };
                    self.read_group(*g, Query::Vector(q), consistency)
                });
                let mut total = VectorIndexStats::default();
                for a in try_join_all(reads).await? {
                    match a {
                        Response::VectorIndexStats(s) => total.add(&s),
                        other => return Err(Error::Protocol(format!("index stats answered {other:?}"))),
                    }
                }
                Ok(Response::VectorIndexStats(total))
            }
        }
    }
}

/// Records from every partition in one list: in the order of `node_ids` when given (a
/// repeated id repeated, as one partition answers), else in insertion order.
fn merge_records(mut found: Vec<(u64, VectorRecord)>, node_ids: Option<&[String]>) -> Response {
    let (records, positions) = match node_ids {
        Some(ids) => {
            let by_id: std::collections::HashMap<&str, &(u64, VectorRecord)> =
                found.iter().map(|f| (f.1.node_id.as_str(), f)).collect();
            ids.iter().filter_map(|id| by_id.get(id.as_str())).map(|(p, r)| (r.clone(), *p)).unzip()
        }
        None => {
            found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.node_id.cmp(&b.1.node_id)));
            found.into_iter().map(|(p, r)| (r, p)).unzip()
        }
    };
    Response::VectorRecords { records, positions }
}
