//! The meta group's state machine: the shard map (members, shards, replicas, epoch) as one
//! record of the meta group's shard.

use crate::error::{Error, Result};
use crate::ordered::Reader;
use crate::placement::{Load, least_loaded};
use crate::txn::Txn;
use strata_api::{
    Error as ApiError, GraphNamespace, MetaCommand, MetaQuery, NodeId, Response, ShardInfo, ShardMap, VectorNamespace,
    VectorPartition,
};

/// The key of the shard map record.
const SHARD_MAP: &[u8] = b"#shard_map";

/// The current shard map (empty before bootstrap).
pub fn shard_map(r: &impl Reader) -> Result<ShardMap> {
    match r.get_raw(SHARD_MAP)? {
        None => Ok(ShardMap::default()),
        Some(bytes) => rmp_serde::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("shard map: {e}"))),
    }
}

fn save(txn: &mut Txn<'_>, map: &ShardMap) -> Result<()> {
    let bytes = rmp_serde::to_vec_named(map).map_err(|e| Error::Corrupt(format!("shard map: {e}")))?;
    txn.put(SHARD_MAP.to_vec(), bytes);
    Ok(())
}

/// Applies a meta command.
pub fn apply(txn: &mut Txn<'_>, cmd: &MetaCommand) -> Result<Response> {
    let mut map = shard_map(txn)?;
    let response = match cmd {
        MetaCommand::Bootstrap { node, shards, replication, cluster } => {
            if !map.shards.is_empty() {
                return Err(ApiError::Cluster("the cluster is already bootstrapped".into()).into());
            }
            if *shards == 0 || *replication == 0 {
                return Err(ApiError::InvalidInput("shards and replication must be at least 1".into()).into());
            }
            map.replication = *replication;
            map.cluster = *cluster;
            map.nodes.insert(node.id, node.clone());
            map.shards = (1..=u64::from(*shards))
                .map(|group| ShardInfo { group, replicas: vec![node.id], learners: vec![], vector: None, graph: None })
                .collect();
            map.next_node_id = node.id + 1;
            Response::Done
        }
        MetaCommand::AddNode { node } => {
            let same_addr =
                map.nodes.values().find(|n| n.raft_addr == node.raft_addr || n.client_addr == node.client_addr);
            if let Some(existing) = same_addr.cloned() {
                if existing.incarnation == node.incarnation {
                    // The same data directory asking again (a retried join): same id.
                    return Ok(Response::NodeId(existing.id));
                }
                // A wiped node back at the same address replaces the old member.
                map.nodes.remove(&existing.id);
            }
            let id = map.next_node_id.max(1);
            map.next_node_id = id + 1;
            let mut info = node.clone();
            info.id = id;
            map.nodes.insert(id, info);
            Response::NodeId(id)
        }
        MetaCommand::RemoveNode { id } => {
            let active = map.active_nodes().count();
            let node = map.nodes.get_mut(id).ok_or_else(|| ApiError::Cluster(format!("node {id} is not a member")))?;
            if node.leaving {
                return Ok(Response::Done); // asked again: already leaving
            }
            if active == 1 {
                return Err(ApiError::Cluster("cannot remove the last node".into()).into());
            }
            node.leaving = true;
            Response::Done
        }
        MetaCommand::ForgetNode { id } => {
            match map.nodes.get(id) {
                None => return Ok(Response::Done), // already forgotten
                Some(n) if !n.leaving => {
                    return Err(ApiError::Cluster(format!("node {id} was not asked to leave")).into());
                }
                Some(_) => {}
            }
            if !map.groups_of(*id).is_empty() {
                return Err(ApiError::Cluster(format!("node {id} still holds replicas")).into());
            }
            map.nodes.remove(id);
            Response::Done
        }
        MetaCommand::CreateVectorNamespace { settings } => return create_vector_namespace(txn, map, settings),
        MetaCommand::CreateGraph { settings } => return create_graph(txn, map, settings),
        MetaCommand::SetShardMembers { group, replicas, learners } => {
            let shard = group
                .checked_sub(1)
                .and_then(|i| map.shards.get_mut(i as usize))
                .ok_or_else(|| ApiError::InvalidInput(format!("no shard with group {group}")))?;
            shard.replicas = replicas.clone();
            shard.learners = learners.clone();
            Response::Done
        }
    };
    map.epoch += 1;
    save(txn, &map)?;
    Ok(response)
}

/// Creates a vector namespace's partitions (or fixes the dimension of one that had none).
fn create_vector_namespace(txn: &mut Txn<'_>, mut map: ShardMap, settings: &VectorNamespace) -> Result<Response> {
    if settings.name.is_empty() || settings.name.contains("__") {
        return Err(ApiError::InvalidInput(format!(
            "vector namespace {:?}: a name is non-empty and has no `__` (the persist-dir separator)",
            settings.name
        ))
        .into());
    }
    if let Some(have) = map.vector_namespaces.get_mut(&settings.name) {
        if have.dim == 0 && settings.dim != 0 && have.distance == settings.distance {
            have.dim = settings.dim;
        } else if (settings.dim != 0 && have.dim != settings.dim) || have.distance != settings.distance {
            return Err(ApiError::InvalidInput(format!(
                "vector namespace {:?} exists with dimension {} and {:?} distance",
                settings.name, have.dim, have.distance
            ))
            .into());
        } else {
            return Ok(Response::Done);
        }
    } else {
        check_partitions(settings.partitions, "vector namespace")?;
        let namespace = settings.name.clone();
        place_partitions(&mut map, settings.partitions, |partition| ShardInfo {
            vector: Some(VectorPartition { namespace: namespace.clone(), partition }),
            ..ShardInfo::default()
        })?;
        map.vector_namespaces.insert(settings.name.clone(), settings.clone());
    }
    map.epoch += 1;
    save(txn, &map)?;
    Ok(Response::Done)
}

/// A partition count a namespace or graph may have.
fn check_partitions(partitions: u32, what: &str) -> Result<()> {
    if partitions == 0 || partitions > 1024 {
        return Err(ApiError::InvalidInput(format!("a {what} has 1 to 1024 partitions")).into());
    }
    Ok(())
}

/// Appends `count` partitions (new raft groups, `make(i)` each with its replicas left
/// out), each started on the member holding the fewest partitions, then the fewest
/// replicas (the rebalancer then replicates it).
fn place_partitions(map: &mut ShardMap, count: u32, make: impl Fn(u32) -> ShardInfo) -> Result<()> {
    let mut load: std::collections::BTreeMap<NodeId, Load> =
        map.active_nodes().map(|n| (n.id, Load::default())).collect();
    for shard in &map.shards {
        for r in &shard.replicas {
            if let Some(l) = load.get_mut(r) {
                l.add(shard.is_partition());
            }
        }
    }
    for partition in 0..count {
        let Some(node) = least_loaded(&load, &[], true) else {
            return Err(ApiError::Cluster("no member to hold a partition".into()).into());
        };
        load.entry(node).or_default().add(true);
        let group = map.shards.iter().map(|s| s.group).max().unwrap_or(0) + 1;
        map.shards.push(ShardInfo { group, replicas: vec![node], learners: vec![], ..make(partition) });
    }
    Ok(())
}

/// Creates a graph's partitions (an existing graph is left as it is).
fn create_graph(txn: &mut Txn<'_>, mut map: ShardMap, settings: &GraphNamespace) -> Result<Response> {
    if settings.name.is_empty() || settings.name.contains("__") {
        return Err(
            ApiError::InvalidInput(format!("graph {:?}: a name is non-empty and has no `__`", settings.name)).into()
        );
    }
    if map.graphs.contains_key(&settings.name) {
        return Ok(Response::Done);
    }
    check_partitions(settings.partitions, "graph")?;
    let graph = settings.name.clone();
    place_partitions(&mut map, settings.partitions, |partition| ShardInfo {
        graph: Some(VectorPartition { namespace: graph.clone(), partition }),
        ..ShardInfo::default()
    })?;
    map.graphs.insert(settings.name.clone(), settings.clone());
    map.epoch += 1;
    save(txn, &map)?;
    Ok(Response::Done)
}

/// Answers a meta query.
pub fn query(r: &impl Reader, q: &MetaQuery) -> Result<Response> {
    match q {
        MetaQuery::ShardMap => Ok(Response::ShardMap(shard_map(r)?)),
    }
}
