//! `strata status`'s picture of a cluster, from its shard map and each member's answer
//! to `status` (or why it gave none): the members (up or unreachable), every group with
//! what it holds, its leader, term and each replica's applied index and lag, the nodes
//! the cluster cannot lose right now, and the warnings an operator acts on. A pure
//! function of its inputs, tested beside it.

use std::collections::BTreeMap;
use strata_api::{GroupId, NodeId, NodeStatus, ShardMap};

/// A follower this many entries behind its leader is worth a warning.
pub const LAG_WARNING: u64 = 1000;

/// One group as the members that answered see it.
#[derive(Debug, serde::Serialize)]
pub struct GroupLine {
    /// The group.
    pub group: GroupId,
    /// What it holds: `meta`, `kv`, `vector NAME/P` or `graph NAME/P`.
    pub holds: String,
    /// The leader the answering replicas agree on (the highest term's), if any.
    pub leader: Option<NodeId>,
    /// The highest term reported.
    pub term: u64,
    /// Applied index per replica that answered.
    pub applied: BTreeMap<NodeId, Option<u64>>,
    /// On the leader: entries each member is behind.
    pub lag: BTreeMap<NodeId, u64>,
    /// Replicas the map wants.
    pub wanted: Vec<NodeId>,
}

/// The whole picture.
#[derive(Debug, serde::Serialize)]
pub struct Picture {
    /// Members: id, client address, `up` or why not.
    pub members: Vec<(NodeId, String, Result<(), String>)>,
    /// Every group.
    pub groups: Vec<GroupLine>,
    /// The nodes the cluster cannot lose right now, each with the groups that would lose
    /// their majority (or their last up-to-date replica) without it.
    pub cannot_lose: BTreeMap<NodeId, Vec<GroupId>>,
    /// What needs attention, most serious first.
    pub warnings: Vec<String>,
}

/// The picture of `map` from the members' answers (`answers[id]`: its status, or why it
/// gave none).
pub fn picture(map: &ShardMap, answers: &BTreeMap<NodeId, Result<NodeStatus, String>>) -> Picture {
    let mut warnings = Vec::new();
    let mut cannot_lose: BTreeMap<NodeId, Vec<GroupId>> = BTreeMap::new();
    let members = map
        .nodes
        .values()
        .map(|n| {
            let state = match answers.get(&n.id) {
                Some(Ok(_)) => Ok(()),
                Some(Err(e)) => Err(e.clone()),
                None => Err("not asked".to_string()),
            };
            if let Err(e) = &state {
                warnings.push(format!("node {} ({}) is unreachable: {e}", n.id, n.client_addr));
            }
            if n.leaving {
                warnings.push(format!("node {} is leaving: its replicas are moving away", n.id));
            }
            (n.id, n.client_addr.clone(), state)
        })
        .collect();
    let mut ids: Vec<GroupId> = map.shards.iter().map(|s| s.group).collect();
    ids.insert(0, strata_api::META_GROUP);
    let mut groups = Vec::new();
    for id in ids {
        let info = map.shard(id);
        let holds = match info {
            _ if id == strata_api::META_GROUP => "meta".to_string(),
            Some(i) => match (&i.vector, &i.graph) {
                (Some(v), _) => format!("vector {}/{}", v.namespace, v.partition),
                (_, Some(g)) => format!("graph {}/{}", g.namespace, g.partition),
                _ => "kv".to_string(),
            },
            None => "?".to_string(),
        };
        let mut line = GroupLine {
            group: id,
            holds,
            leader: None,
            term: 0,
            applied: BTreeMap::new(),
            lag: BTreeMap::new(),
            wanted: info.map(|i| i.replicas.clone()).unwrap_or_default(),
        };
        let mut voters = 0;
        let mut voter_set: Vec<NodeId> = Vec::new();
        for (node, answer) in answers {
            let Ok(status) = answer else { continue };
            let Some(g) = status.groups.iter().find(|g| g.group == id) else { continue };
            line.applied.insert(*node, g.applied_index);
            voters = voters.max(g.voters.len());
            if g.term >= line.term && !g.voters.is_empty() {
                voter_set = g.voters.clone();
            }
            if g.term >= line.term {
                line.term = g.term;
                if g.leader.is_some() {
                    line.leader = g.leader;
                }
            }
            if g.role == "Leader" {
                line.lag = g.lag.iter().filter(|(peer, _)| *peer != node).map(|(p, l)| (*p, *l)).collect();
            }
        }
        if line.applied.is_empty() {
            warnings.push(format!("group {id} ({}): no reachable replica", line.holds));
        } else if line.leader.is_none() {
            warnings.push(format!("group {id} ({}): no leader", line.holds));
        }
        let want = line.wanted.len().max(voters);
        if !line.applied.is_empty() && line.applied.len() < want {
            warnings.push(format!(
                "group {id} ({}): {} of {want} replicas reachable (under-replicated)",
                line.holds,
                line.applied.len()
            ));
        }
        for (peer, lag) in line.lag.iter().filter(|(_, l)| **l > LAG_WARNING) {
            warnings.push(format!("group {id} ({}): node {peer} is {lag} entries behind", line.holds));
        }
        for node in needed(&line, &voter_set) {
            cannot_lose.entry(node).or_default().push(id);
        }
        groups.push(line);
    }
    for (node, groups) in &cannot_lose {
        let list: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        warnings.push(format!(
            "node {node} cannot be lost now: group(s) {} would lose their majority without it",
            list.join(", ")
        ));
    }
    Picture { members, groups, cannot_lose, warnings }
}

/// The voters of a group the cluster cannot lose: when no more healthy voters (answering,
/// and not far behind their leader) remain than a majority needs, losing any of them
/// leaves the group without a majority.
fn needed(line: &GroupLine, voters: &[NodeId]) -> Vec<NodeId> {
    let healthy: Vec<NodeId> = voters
        .iter()
        .copied()
        .filter(|v| line.applied.contains_key(v) && line.lag.get(v).is_none_or(|l| *l <= LAG_WARNING))
        .collect();
    let majority = voters.len() / 2 + 1;
    if voters.is_empty() || healthy.len() > majority { Vec::new() } else { healthy }
}

/// The picture as text for a terminal.
pub fn render(p: &Picture, map: &ShardMap) -> String {
    let mut out = format!(
        "epoch {}, {} members, {} shards x {} replicas\n",
        map.epoch,
        map.nodes.len(),
        map.shards.len(),
        map.replication
    );
    out.push_str("members:\n");
    for (id, addr, state) in &p.members {
        let mut state = match state {
            Ok(()) => "up".to_string(),
            Err(e) => format!("UNREACHABLE ({e})"),
        };
        if let Some(groups) = p.cannot_lose.get(id) {
            state.push_str(&format!("  CANNOT LOSE ({} group(s) need it)", groups.len()));
        }
        out.push_str(&format!("  node {id:>3}  {addr:<22} {state}\n"));
    }
    out.push_str(&format!(
        "{:>6}  {:<24} {:>6} {:>6}  replicas (node:applied)  lag\n",
        "group", "holds", "leader", "term"
    ));
    for g in &p.groups {
        let applied: Vec<String> =
            g.applied.iter().map(|(n, a)| format!("{n}:{}", a.map_or("-".to_string(), |a| a.to_string()))).collect();
        let lag: Vec<String> = g.lag.iter().map(|(n, l)| format!("{n}:{l}")).collect();
        out.push_str(&format!(
            "{:>6}  {:<24} {:>6} {:>6}  {:<23} {}\n",
            g.group,
            g.holds,
            g.leader.map_or("-".to_string(), |l| l.to_string()),
            g.term,
            applied.join(" "),
            lag.join(" ")
        ));
    }
    if p.warnings.is_empty() {
        out.push_str("no warnings\n");
    } else {
        out.push_str("warnings:\n");
        for w in &p.warnings {
            out.push_str(&format!("  ! {w}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_api::{GroupStatus, NodeInfo, ShardInfo, VectorPartition};

    fn node(id: NodeId) -> NodeInfo {
        NodeInfo {
            id,
            client_addr: format!("127.0.0.1:{id}"),
            raft_addr: String::new(),
            incarnation: 0,
            leaving: false,
        }
    }

    fn group(
        group: GroupId,
        role: &str,
        leader: Option<NodeId>,
        voters: &[NodeId],
        lag: &[(NodeId, u64)],
    ) -> GroupStatus {
        GroupStatus {
            group,
            role: role.into(),
            term: 3,
            leader,
            applied_index: Some(10),
            voters: voters.to_vec(),
            lag: lag.iter().copied().collect(),
            ..GroupStatus::default()
        }
    }

    #[test]
    fn a_dead_node_and_a_lagging_follower_are_warned_about() {
        let mut map = ShardMap { epoch: 4, replication: 3, ..ShardMap::default() };
        for id in 1..=3 {
            map.nodes.insert(id, node(id));
        }
        map.shards.push(ShardInfo {
            group: 1,
            replicas: vec![1, 2, 3],
            vector: Some(VectorPartition { namespace: "docs".into(), partition: 1 }),
            ..ShardInfo::default()
        });
        let mut answers = BTreeMap::new();
        let all = [1, 2, 3];
        answers.insert(
            1,
            Ok(NodeStatus {
                detail: None,
                node: node(1),
                groups: vec![
                    group(0, "Leader", Some(1), &all, &[(1, 0), (2, 0), (3, 0)]),
                    group(1, "Leader", Some(1), &all, &[(1, 0), (2, 5000), (3, 0)]),
                ],
            }),
        );
        answers.insert(
            2,
            Ok(NodeStatus {
                detail: None,
                node: node(2),
                groups: vec![group(0, "Follower", Some(1), &all, &[]), group(1, "Follower", Some(1), &all, &[])],
            }),
        );
        answers.insert(3, Err("connection refused".into()));
        let p = picture(&map, &answers);
        assert_eq!(p.groups.len(), 2);
        assert_eq!(p.groups[1].holds, "vector docs/1");
        assert_eq!(p.groups[1].leader, Some(1));
        assert_eq!(p.groups[1].lag.get(&2), Some(&5000));
        let w = p.warnings.join("\n");
        assert!(w.contains("node 3 (127.0.0.1:3) is unreachable"), "{w}");
        assert!(w.contains("group 1 (vector docs/1): 2 of 3 replicas reachable"), "{w}");
        assert!(w.contains("group 0 (meta): 2 of 3 replicas reachable"), "{w}");
        assert!(w.contains("node 2 is 5000 entries behind"), "{w}");
        assert!(!w.contains("no leader"), "{w}");
        // Node 3 is down: the meta group's two others are both needed, and in group 1
        // node 2 is far behind, so only node 1 holds it together.
        assert_eq!(p.cannot_lose.get(&1), Some(&vec![0, 1]));
        assert_eq!(p.cannot_lose.get(&2), Some(&vec![0]));
        assert!(!p.cannot_lose.contains_key(&3));
        let text = render(&p, &map);
        assert!(text.contains("UNREACHABLE (connection refused)"), "{text}");
        assert!(text.contains("up  CANNOT LOSE (2 group(s) need it)"), "{text}");
        assert!(text.contains("! group 1"), "{text}");
    }

    #[test]
    fn a_group_no_one_leads_is_warned_about() {
        let mut map = ShardMap::default();
        map.nodes.insert(1, node(1));
        map.shards.push(ShardInfo { group: 1, replicas: vec![1], ..ShardInfo::default() });
        let answers = BTreeMap::from([(
            1,
            Ok(NodeStatus {
                detail: None,
                node: node(1),
                groups: vec![group(0, "Leader", Some(1), &[1], &[]), group(1, "Candidate", None, &[1], &[])],
            }),
        )]);
        let p = picture(&map, &answers);
        assert_eq!(
            p.warnings,
            vec![
                "group 1 (kv): no leader".to_string(),
                "node 1 cannot be lost now: group(s) 0, 1 would lose their majority without it".to_string()
            ]
        );
        assert!(!render(&p, &map).contains("no warnings"));
    }

    #[test]
    fn a_healthy_three_replica_cluster_can_lose_any_one_node() {
        let mut map = ShardMap::default();
        for id in 1..=3 {
            map.nodes.insert(id, node(id));
        }
        map.shards.push(ShardInfo { group: 1, replicas: vec![1, 2, 3], ..ShardInfo::default() });
        let all = [1, 2, 3];
        let answers: BTreeMap<NodeId, Result<NodeStatus, String>> = (1..=3)
            .map(|id| {
                let role = if id == 1 { "Leader" } else { "Follower" };
                let lag: &[(NodeId, u64)] = if id == 1 { &[(1, 0), (2, 3), (3, 0)] } else { &[] };
                let groups = vec![group(0, role, Some(1), &all, lag), group(1, role, Some(1), &all, lag)];
                (id, Ok(NodeStatus { detail: None, node: node(id), groups }))
            })
            .collect();
        let p = picture(&map, &answers);
        assert!(p.cannot_lose.is_empty(), "{:?}", p.cannot_lose);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert!(!render(&p, &map).contains("CANNOT LOSE"));
    }
}
