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

#[cfg(test)]
mod tests {
    use super::*;
    use strata_api::{Distance, NodeInfo};

    /// A meta shard's tree, and each command applied and committed as the group would.
    struct Meta {
        _dir: tempfile::TempDir,
        tree: sled::Tree,
    }

    impl Meta {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = sled::Config::new().path(dir.path()).open().expect("open");
            let tree = db.open_tree("meta").expect("tree");
            Self { _dir: dir, tree }
        }

        fn run(&self, cmd: MetaCommand) -> std::result::Result<Response, String> {
            let mut txn = Txn::new(&self.tree);
            let r = apply(&mut txn, &cmd).map_err(|e| e.to_string())?;
            txn.commit().expect("commit");
            Ok(r)
        }

        fn map(&self) -> ShardMap {
            shard_map(&self.tree).expect("map")
        }

        /// A bootstrapped cluster of node 1 with `shards` KV shards.
        fn bootstrapped(shards: u32) -> Self {
            let m = Self::new();
            m.run(MetaCommand::Bootstrap { node: node(0, "a", 1), shards, replication: 3, cluster: 7 })
                .expect("bootstrap");
            m
        }

        fn join(&self, addr: &str, incarnation: u64) -> NodeId {
            match self.run(MetaCommand::AddNode { node: node(0, addr, incarnation) }) {
                Ok(Response::NodeId(id)) => id,
                other => panic!("a join answers an id: {other:?}"),
            }
        }
    }

    fn node(id: NodeId, addr: &str, incarnation: u64) -> NodeInfo {
        NodeInfo {
            id,
            raft_addr: format!("{addr}:raft"),
            client_addr: format!("{addr}:client"),
            incarnation,
            leaving: false,
        }
    }

    #[test]
    fn bootstrap_lays_out_the_shards_once() {
        let m = Meta::new();
        let zero = MetaCommand::Bootstrap { node: node(1, "a", 1), shards: 0, replication: 3, cluster: 7 };
        assert!(m.run(zero).is_err(), "no shards is refused");
        let m = Meta::bootstrapped(4);
        let map = m.map();
        assert_eq!((map.cluster, map.replication, map.epoch), (7, 3, 1));
        assert_eq!(
            map.shards.iter().map(|s| (s.group, s.replicas.clone())).collect::<Vec<_>>(),
            [(1, vec![0]), (2, vec![0]), (3, vec![0]), (4, vec![0])]
        );
        let again = MetaCommand::Bootstrap { node: node(0, "a", 1), shards: 4, replication: 3, cluster: 8 };
        assert!(m.run(again).is_err(), "a second bootstrap is refused");
        assert_eq!(m.map().cluster, 7);
    }

    #[test]
    fn a_retried_join_keeps_its_id_and_a_wiped_node_at_the_same_address_is_a_new_member() {
        let m = Meta::bootstrapped(2);
        let b = m.join("b", 11);
        assert_eq!(m.join("b", 11), b, "the same data directory asking again gets the same id");
        let c = m.join("c", 12);
        assert!(c > b, "ids are never reused");
        let b2 = m.join("b", 99);
        assert!(b2 > c, "a wiped node gets a new id");
        let map = m.map();
        assert!(!map.nodes.contains_key(&b), "the old member at that address is replaced");
        assert_eq!(map.nodes.get(&b2).map(|n| n.incarnation), Some(99));
        assert_eq!(map.nodes.len(), 3);
    }

    #[test]
    fn removing_marks_a_member_leaving_and_forgetting_waits_for_its_replicas() {
        let m = Meta::bootstrapped(1);
        let only = *m.map().nodes.keys().next().expect("the bootstrap node");
        assert!(m.run(MetaCommand::RemoveNode { id: only }).is_err(), "the last node cannot be removed");
        let b = m.join("b", 2);
        assert!(m.run(MetaCommand::ForgetNode { id: b }).is_err(), "a member not asked to leave is kept");
        m.run(MetaCommand::SetShardMembers { group: 1, replicas: vec![only, b], learners: vec![] }).expect("members");
        m.run(MetaCommand::RemoveNode { id: b }).expect("remove");
        let epoch = m.map().epoch;
        m.run(MetaCommand::RemoveNode { id: b }).expect("asked again");
        assert_eq!(m.map().epoch, epoch, "asking again changes nothing");
        assert!(m.map().nodes[&b].leaving);
        assert!(m.run(MetaCommand::ForgetNode { id: b }).is_err(), "it still holds a replica");
        m.run(MetaCommand::SetShardMembers { group: 1, replicas: vec![only], learners: vec![] }).expect("members");
        m.run(MetaCommand::ForgetNode { id: b }).expect("forget");
        assert!(!m.map().nodes.contains_key(&b));
        m.run(MetaCommand::ForgetNode { id: b }).expect("forgetting again is done");
        let bad = MetaCommand::SetShardMembers { group: 9, replicas: vec![only], learners: vec![] };
        assert!(m.run(bad).is_err(), "no such shard");
    }

    #[test]
    fn partitions_start_on_the_members_holding_the_fewest() {
        let m = Meta::bootstrapped(2);
        let (a, b, c) = (0, m.join("b", 2), m.join("c", 3));
        let settings = VectorNamespace { name: "docs".into(), dim: 0, distance: Distance::Cosine, partitions: 3 };
        m.run(MetaCommand::CreateVectorNamespace { settings: settings.clone() }).expect("create");
        let map = m.map();
        let holders: Vec<NodeId> = map.shards.iter().filter(|s| s.vector.is_some()).map(|s| s.replicas[0]).collect();
        let mut sorted = holders.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [a, b, c], "one partition on each member: {holders:?}");
        assert_eq!(map.shards.iter().map(|s| s.group).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
        let graph = GraphNamespace { name: "kg".into(), partitions: 2 };
        m.run(MetaCommand::CreateGraph { settings: graph.clone() }).expect("graph");
        let epoch = m.map().epoch;
        m.run(MetaCommand::CreateGraph { settings: graph }).expect("again");
        assert_eq!(m.map().epoch, epoch, "an existing graph is left as it is");
        assert_eq!(m.map().shards.iter().filter(|s| s.graph.is_some()).count(), 2);
    }

    #[test]
    fn a_namespace_fixes_its_dimension_once_and_keeps_its_distance() {
        let m = Meta::bootstrapped(1);
        let ns = |dim, distance| VectorNamespace { name: "v".into(), dim, distance, partitions: 1 };
        m.run(MetaCommand::CreateVectorNamespace { settings: ns(0, Distance::Cosine) }).expect("create");
        m.run(MetaCommand::CreateVectorNamespace { settings: ns(384, Distance::Cosine) }).expect("fix the dimension");
        assert_eq!(m.map().vector_namespaces["v"].dim, 384);
        m.run(MetaCommand::CreateVectorNamespace { settings: ns(0, Distance::Cosine) }).expect("unknown dimension");
        assert!(m.run(MetaCommand::CreateVectorNamespace { settings: ns(768, Distance::Cosine) }).is_err());
        assert!(m.run(MetaCommand::CreateVectorNamespace { settings: ns(384, Distance::L2) }).is_err());
        assert_eq!(m.map().shards.iter().filter(|s| s.vector.is_some()).count(), 1, "no second namespace");
    }

    #[test]
    fn names_and_partition_counts_are_checked() {
        let m = Meta::bootstrapped(1);
        let ns =
            |name: &str, partitions| VectorNamespace { name: name.into(), dim: 3, distance: Distance::Dot, partitions };
        for bad in [ns("", 1), ns("a__b", 1), ns("ok", 0), ns("ok", 1025)] {
            assert!(m.run(MetaCommand::CreateVectorNamespace { settings: bad.clone() }).is_err(), "{bad:?}");
        }
        for bad in
            [GraphNamespace { name: "g__x".into(), partitions: 1 }, GraphNamespace { name: "g".into(), partitions: 0 }]
        {
            assert!(m.run(MetaCommand::CreateGraph { settings: bad.clone() }).is_err(), "{bad:?}");
        }
        assert_eq!(m.map().epoch, 1, "nothing refused changed the map");
    }
}
