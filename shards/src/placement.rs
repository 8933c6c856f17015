//! Placement: which KV shard holds a record, and which nodes should hold each shard.
//!
//! A shard holds whole collections. The placement key of a collection is its name up to the
//! last `/` (a docstore namespace's `{ns}/data`, `{ns}/metadata` and `{ns}/ref_doc_info` share
//! `{ns}`), so every command of LlamaIndex's stores touches exactly one shard and is one
//! raft entry, and a collection's insertion order is one shard's order. The chat store lives
//! in one shard, for the same reason (`get_keys` is in insertion order).

use std::collections::BTreeMap;
use strata_api::{
    ChatQuery, Command, DocstoreCommand, GroupId, IndexStoreCommand, IndexStoreQuery, KvCommand, KvQuery, META_GROUP,
    NodeId, Query, ShardMap, VectorCommand,
};

/// The placement key of the chat store.
pub const CHAT_PLACEMENT: &str = "__chat__";

/// FNV-1a, 64 bits: stable across processes and versions (unlike the std hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The partition (`0..partitions`) of a record id in a partitioned store (a vector
/// namespace's node, a graph's node or triplet subject): the one rule writers and
/// readers on both sides of the wire use.
pub fn partition_of(id: &str, partitions: usize) -> usize {
    (fnv1a(id.as_bytes()) % partitions.max(1) as u64) as usize
}

/// The placement key of a KV collection.
pub fn collection_placement(collection: &str) -> &str {
    match collection.rfind('/') {
        Some(i) => &collection[..i],
        None => collection,
    }
}

/// The shard group (`1..=shard_count`) of a placement key.
pub fn group_of(placement: &str, shard_count: u32) -> GroupId {
    1 + fnv1a(placement.as_bytes()) % u64::from(shard_count.max(1))
}

/// The shard group of the chat store.
pub fn chat_group(shard_count: u32) -> GroupId {
    group_of(CHAT_PLACEMENT, shard_count)
}

/// The shard group of a collection.
pub fn group_of_collection(collection: &str, shard_count: u32) -> GroupId {
    group_of(collection_placement(collection), shard_count)
}

/// Where a command goes: one group, or (collection registrations) several parts.
pub enum Route {
    /// The whole command goes to this group.
    One(GroupId),
    /// The command is split: one part per group.
    Split(Vec<(GroupId, Command)>),
}

/// The placement key of a vector namespace.
fn vector_placement(namespace: &str) -> String {
    format!("__vector__/{namespace}")
}

fn vector_namespace(c: &VectorCommand) -> String {
    vector_placement(c.namespace())
}

/// Routes a write.
pub fn route_command(cmd: &Command, shard_count: u32) -> Route {
    let by_coll = |c: &str| Route::One(group_of_collection(c, shard_count));
    let by_ns = |ns: &str| Route::One(group_of(ns, shard_count));
    match cmd {
        Command::Kv(KvCommand::Put { collection, .. })
        | Command::Kv(KvCommand::PutAll { collection, .. })
        | Command::Kv(KvCommand::Delete { collection, .. }) => by_coll(collection),
        Command::Kv(KvCommand::EnsureCollections { collections }) => {
            let mut parts: BTreeMap<GroupId, Vec<String>> = BTreeMap::new();
            for c in collections {
                parts.entry(group_of_collection(c, shard_count)).or_default().push(c.clone());
            }
            Route::Split(
                parts
                    .into_iter()
                    .map(|(g, collections)| (g, Command::Kv(KvCommand::EnsureCollections { collections })))
                    .collect(),
            )
        }
        Command::Docstore(c) => by_ns(match c {
            DocstoreCommand::AddDocuments { namespace, .. }
            | DocstoreCommand::DeleteDocument { namespace, .. }
            | DocstoreCommand::DeleteRefDoc { namespace, .. }
            | DocstoreCommand::SetDocumentHashes { namespace, .. } => namespace,
        }),
        Command::IndexStore(IndexStoreCommand::Add { namespace, .. })
        | Command::IndexStore(IndexStoreCommand::Delete { namespace, .. }) => by_ns(namespace),
        Command::Chat(_) => by_ns(CHAT_PLACEMENT),
        Command::Meta(_) => Route::One(META_GROUP),
        Command::Restore(r) => Route::One(r.group()),
        Command::Vector(c) => by_ns(&vector_namespace(c)),
        // Graphs live in their own partitions (see `ShardMap::graph_partitions`).
        Command::Graph(c) => by_ns(&format!("__graph__/{}", c.graph())),
    }
}

/// Where a read goes: one group, or every shard (answers concatenated in group order).
pub enum ReadRoute {
    /// One group answers.
    One(GroupId),
    /// Every KV shard answers.
    All,
}

/// Routes a read.
pub fn route_query(q: &Query, shard_count: u32) -> ReadRoute {
    let by_ns = |ns: &str| ReadRoute::One(group_of(ns, shard_count));
    match q {
        Query::Kv(KvQuery::Get { collection, .. }) | Query::Kv(KvQuery::GetAll { collection }) => {
            ReadRoute::One(group_of_collection(collection, shard_count))
        }
        Query::Kv(KvQuery::Collections) => ReadRoute::All,
        Query::Docstore(q) => by_ns(q.namespace()),
        Query::IndexStore(IndexStoreQuery::Get { namespace, .. })
        | Query::IndexStore(IndexStoreQuery::All { namespace }) => by_ns(namespace),
        Query::Chat(ChatQuery::GetMessages { .. }) | Query::Chat(ChatQuery::GetKeys) => by_ns(CHAT_PLACEMENT),
        Query::Meta(_) => ReadRoute::One(META_GROUP),
        Query::Vector(v) => match v.namespace() {
            Some(namespace) => by_ns(&vector_placement(namespace)),
            None => ReadRoute::All,
        },
        Query::Graph(q) => by_ns(&format!("__graph__/{}", q.graph())),
    }
}

/// How many replicas a member holds: of vector partitions (the heavy ones: each holds a
/// vector index in memory), and of every kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Load {
    /// Vector partition replicas.
    pub vector: usize,
    /// All replicas.
    pub all: usize,
}

impl Load {
    /// Counts one more replica (of a vector partition when `vector`).
    pub(crate) fn add(&mut self, vector: bool) {
        self.vector += usize::from(vector);
        self.all += 1;
    }

    fn sub(&mut self, vector: bool) {
        self.vector -= usize::from(vector);
        self.all -= 1;
    }

    /// The count that balancing `vector` replicas (or the others) evens out.
    fn of(&self, vector: bool) -> usize {
        if vector { self.vector } else { self.all }
    }
}

/// The voters each shard should have: current replicas on active (not leaving) members are kept
/// (trimmed to the replication factor), missing ones are filled from the least-loaded
/// members, then replicas move from the most- to the least-loaded member while their
/// counts differ by more than one: vector partitions first, by vector partitions held (so
/// each member gets its share of vector indexes), then the other shards, by replicas held.
/// Deterministic: ties go to the lower node id.
pub fn plan_replicas(map: &ShardMap) -> BTreeMap<GroupId, Vec<NodeId>> {
    let members: Vec<NodeId> = map.active_nodes().map(|n| n.id).collect();
    let r = (map.replication as usize).min(members.len());
    let mut load: BTreeMap<NodeId, Load> = members.iter().map(|n| (*n, Load::default())).collect();
    let mut plan: BTreeMap<GroupId, Vec<NodeId>> = BTreeMap::new();
    let vector: BTreeMap<GroupId, bool> = map.shards.iter().map(|s| (s.group, s.is_partition())).collect();
    for shard in &map.shards {
        let mut keep: Vec<NodeId> = shard.replicas.iter().copied().filter(|n| load.contains_key(n)).collect();
        keep.truncate(r);
        for n in &keep {
            load.entry(*n).or_default().add(shard.is_partition());
        }
        plan.insert(shard.group, keep);
    }
    for (group, replicas) in plan.iter_mut() {
        let is_vector = vector.get(group).copied().unwrap_or(false);
        while replicas.len() < r {
            let Some(n) = least_loaded(&load, replicas, is_vector) else { break };
            replicas.push(n);
            load.entry(n).or_default().add(is_vector);
        }
    }
    for class in [true, false] {
        even_out(&mut plan, &mut load, &vector, class);
    }
    plan
}

/// Moves replicas of shards of one class (vector partitions or the others) from the
/// busiest member to the idlest while their counts differ by more than one.
fn even_out(
    plan: &mut BTreeMap<GroupId, Vec<NodeId>>,
    load: &mut BTreeMap<NodeId, Load>,
    vector: &BTreeMap<GroupId, bool>,
    class: bool,
) {
    loop {
        let busiest = load.iter().max_by_key(|(n, l)| (l.of(class), std::cmp::Reverse(**n))).map(|(n, l)| (*n, *l));
        let idlest = load.iter().min_by_key(|(n, l)| (l.of(class), **n)).map(|(n, l)| (*n, *l));
        let (Some((busy, hi)), Some((idle, lo))) = (busiest, idlest) else { return };
        if hi.of(class) <= lo.of(class) + 1 {
            return;
        }
        let movable = plan.iter_mut().find(|(g, rs)| {
            vector.get(*g).copied().unwrap_or(false) == class && rs.contains(&busy) && !rs.contains(&idle)
        });
        let Some((_, replicas)) = movable else { return };
        for n in replicas.iter_mut() {
            if *n == busy {
                *n = idle;
            }
        }
        load.entry(busy).or_default().sub(class);
        load.entry(idle).or_default().add(class);
    }
}

/// One leadership move that evens out how many shards each active member leads: a shard
/// whose leader leads at least two more shards than another voter of it, and that voter
/// (the one leading fewest; ties to the lower id). `None` once no such move is left, i.e.
/// when the layout is as even as the replicas allow. `leaders` maps shard groups to their
/// current leader.
pub fn leader_move(map: &ShardMap, leaders: &BTreeMap<GroupId, NodeId>) -> Option<(GroupId, NodeId, NodeId)> {
    let mut led: BTreeMap<NodeId, usize> = map.active_nodes().map(|n| (n.id, 0)).collect();
    for (g, l) in leaders {
        if *g != META_GROUP {
            *led.entry(*l).or_default() += 1;
        }
    }
    let mut best: Option<(usize, GroupId, NodeId, NodeId)> = None;
    for shard in &map.shards {
        let Some(&from) = leaders.get(&shard.group) else { continue };
        let from_count = led.get(&from).copied().unwrap_or(0);
        let to = shard.replicas.iter().filter(|r| **r != from).filter_map(|r| led.get(r).map(|c| (*c, *r))).min();
        if let Some((to_count, to)) = to
            && to_count + 2 <= from_count
            && best.is_none_or(|(gap, ..)| from_count - to_count > gap)
        {
            best = Some((from_count - to_count, shard.group, from, to));
        }
    }
    best.map(|(_, g, from, to)| (g, from, to))
}

/// The member outside `exclude` that should take a new replica: of a vector partition, the
/// one holding the fewest vector partitions, then the fewest replicas.
pub fn least_loaded(load: &BTreeMap<NodeId, Load>, exclude: &[NodeId], vector: bool) -> Option<NodeId> {
    let key = |l: &Load| if vector { (l.vector, l.all) } else { (l.all, 0) };
    load.iter().filter(|(n, _)| !exclude.contains(n)).min_by_key(|(n, l)| (key(l), **n)).map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_api::{NodeInfo, ShardInfo};

    fn map(nodes: &[NodeId], shards: &[&[NodeId]; 8]) -> ShardMap {
        ShardMap {
            cluster: 0,
            epoch: 1,
            replication: 3,
            nodes: nodes.iter().map(|n| (*n, NodeInfo { id: *n, ..Default::default() })).collect(),
            shards: shards
                .iter()
                .enumerate()
                .map(|(i, r)| ShardInfo {
                    group: i as u64 + 1,
                    replicas: r.to_vec(),
                    learners: vec![],
                    vector: None,
                    graph: None,
                })
                .collect(),
            next_node_id: 10,
            leaders: Default::default(),
            vector_namespaces: Default::default(),
            graphs: Default::default(),
        }
    }

    #[test]
    fn vector_partitions_spread_over_the_members_before_the_other_shards() {
        // Bootstrapped on node 1 with one replica per shard, then a namespace of three
        // partitions created while node 1 was still alone.
        let mut m = map(&[1, 2, 3], &[&[1u64][..]; 8]);
        m.replication = 1;
        for partition in 0..3 {
            m.shards.push(ShardInfo {
                group: 9 + partition as u64,
                replicas: vec![1],
                learners: vec![],
                vector: Some(strata_api::VectorPartition { namespace: "v".into(), partition }),
                graph: None,
            });
        }
        let plan = plan_replicas(&m);
        for node in [1, 2, 3] {
            let vector = (9..12).filter(|g| plan[g] == [node]).count();
            assert_eq!(vector, 1, "one partition on node {node}: {plan:?}");
            let all = plan.values().filter(|r| r.contains(&node)).count();
            assert!((3..=4).contains(&all), "11 replicas spread evenly: {plan:?}");
        }
    }

    #[test]
    fn a_single_node_grows_to_three_replicas_per_shard() {
        let m = map(&[1, 2, 3], &[&[1u64][..]; 8]);
        let plan = plan_replicas(&m);
        assert!(plan.values().all(|r| r.len() == 3 && r[0] == 1));
    }

    #[test]
    fn a_fourth_node_takes_a_fair_share_and_a_removed_node_holds_none() {
        let m = map(&[1, 2, 3, 4], &[&[1u64, 2, 3][..]; 8]);
        let plan = plan_replicas(&m);
        let on4 = plan.values().filter(|r| r.contains(&4)).count();
        assert_eq!(on4, 6, "24 replicas over 4 nodes: {plan:?}");
        assert!(plan.values().all(|r| r.len() == 3));
        let mut m = map(&[1, 2, 3, 4], &[&[1u64, 2, 3][..]; 8]);
        m.nodes.entry(3).and_modify(|n| n.leaving = true);
        let plan = plan_replicas(&m);
        assert!(plan.values().all(|r| r.len() == 3 && !r.contains(&3)), "{plan:?}");
    }

    #[test]
    fn leadership_moves_until_no_voter_leads_two_fewer_than_a_leader() {
        let m = map(&[1, 2, 3], &[&[1u64, 2, 3][..]; 8]);
        let mut leaders: BTreeMap<GroupId, NodeId> = (1..=8).map(|g| (g, 1)).collect();
        let mut moves = 0;
        while let Some((g, from, to)) = leader_move(&m, &leaders) {
            assert_eq!(leaders[&g], from);
            leaders.insert(g, to);
            moves += 1;
            assert!(moves <= 8, "moves converge");
        }
        let mut counts = [0usize; 3];
        for l in leaders.values() {
            counts[*l as usize - 1] += 1;
        }
        counts.sort_unstable();
        assert_eq!(counts, [2, 3, 3]);
        assert_eq!(moves, 5, "each move goes straight to a node below its share");
        // A leaving member is not given leadership.
        let mut m = map(&[1, 2, 3], &[&[1u64, 2, 3][..]; 8]);
        m.nodes.entry(3).and_modify(|n| n.leaving = true);
        let leaders: BTreeMap<GroupId, NodeId> = (1..=8).map(|g| (g, 1)).collect();
        assert!(leader_move(&m, &leaders).is_some_and(|(_, _, to)| to == 2));
    }

    #[test]
    fn groups_are_stable_and_in_range() {
        for s in [1, 3, 8] {
            let g = group_of_collection("docstore/data", s);
            assert!((1..=u64::from(s)).contains(&g));
            assert_eq!(g, group_of("docstore", s));
            assert_eq!(g, group_of_collection("docstore/ref_doc_info", s));
        }
    }
}
