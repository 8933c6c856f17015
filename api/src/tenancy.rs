//! What a key limited to name prefixes sees, and how much it may create: the one place
//! that decides both, for every call that names namespaces, graphs, collections or
//! groups.
//!
//! A key limited to `tenant-a/` used to get `tenant-b/…` namespace and graph names from
//! the shard map, and a state digest of tenant-b's groups. Here every answer that names
//! them is filtered ([`Access::filter_response`], [`Access::filter_map`],
//! [`Access::may_see_group`]): another tenant's vector namespaces and graphs, their
//! partitions' groups and leaders are left out, as if they did not exist (a digest of
//! one is refused as an unknown group). KV shards hold every tenant's collections under
//! names no answer about a shard carries, and stay visible, as do the members (a client
//! needs them to route).
//!
//! Quotas ([`Quotas`]) bound what a key may create: vector namespaces, graphs, and
//! partitions in all (each a raft group on every replica: 12 calls once made 12,296
//! groups), counted over the names within its prefixes (every name, for a key without
//! prefixes, or on a node without keys).

use crate::access::Access;
use crate::cluster::{GroupId, META_GROUP, ShardMap};
use crate::error::Error;
use crate::query::Response;
use serde::{Deserialize, Serialize};

/// How much a key may create; `None`: the node's default (`[limits]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    /// Vector namespaces.
    #[serde(default)]
    pub max_namespaces: Option<u64>,
    /// Graphs.
    #[serde(default)]
    pub max_graphs: Option<u64>,
    /// Partitions of its namespaces and graphs, in all.
    #[serde(default)]
    pub max_partitions: Option<u64>,
}

/// What is being created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creating {
    /// A vector namespace.
    Namespace,
    /// A graph.
    Graph,
}

impl Access {
    /// Whether this key may see group `group` of `map`: the meta group and KV shards,
    /// and the partitions of namespaces and graphs within its prefixes.
    pub fn may_see_group(&self, map: &ShardMap, group: GroupId) -> bool {
        if self.prefixes.is_empty() || group == META_GROUP {
            return true;
        }
        match map.shard(group) {
            None => false,
            Some(s) => match (&s.vector, &s.graph) {
                (Some(p), _) | (_, Some(p)) => self.may_touch(&p.namespace),
                (None, None) => true,
            },
        }
    }

    /// `map` as this key may see it.
    pub fn filter_map(&self, map: &mut ShardMap) {
        if self.prefixes.is_empty() {
            return;
        }
        let full = map.clone();
        map.vector_namespaces.retain(|name, _| self.may_touch(name));
        map.graphs.retain(|name, _| self.may_touch(name));
        map.shards.retain(|s| self.may_see_group(&full, s.group));
        map.leaders.retain(|group, _| self.may_see_group(&full, *group));
    }

    /// Drops from an answer what this key may not see (listings, shard maps).
    pub fn filter_response(&self, response: &mut Response) {
        if self.prefixes.is_empty() {
            return;
        }
        match response {
            Response::Names(names) => names.retain(|n| self.may_touch(n)),
            Response::VectorNamespaces(spaces) => spaces.retain(|s| self.may_touch(&s.name)),
            Response::ShardMap(map) => self.filter_map(map),
            _ => {}
        }
    }

    /// Refuses creating `what` named `name` with `partitions` partitions past this key's
    /// quotas (`defaults` where its key sets none), counting what `map` holds within
    /// its prefixes. Creating what already exists is never refused (creation is
    /// idempotent).
    pub fn check_quota(
        &self,
        map: &ShardMap,
        what: Creating,
        name: &str,
        partitions: u64,
        defaults: &Quotas,
    ) -> Result<(), Error> {
        if map.vector_namespaces.contains_key(name) || map.graphs.contains_key(name) {
            return Ok(());
        }
        let namespaces = map.vector_namespaces.keys().filter(|n| self.may_touch(n)).count() as u64;
        let graphs = map.graphs.keys().filter(|n| self.may_touch(n)).count() as u64;
        let held: u64 = map
            .vector_namespaces
            .values()
            .map(|v| (v.name.as_str(), u64::from(v.partitions)))
            .chain(map.graphs.values().map(|g| (g.name.as_str(), u64::from(g.partitions))))
            .filter(|(n, _)| self.may_touch(n))
            .map(|(_, p)| p)
            .sum();
        let pick = |own: Option<u64>, default: Option<u64>| own.or(default).unwrap_or(u64::MAX);
        let exceeded = |what: &str, limit: u64, got: u64| Error::LimitExceeded { what: what.into(), limit, got };
        match what {
            Creating::Namespace => {
                let limit = pick(self.quotas.max_namespaces, defaults.max_namespaces);
                if namespaces + 1 > limit {
                    return Err(exceeded("vector namespaces of this key", limit, namespaces + 1));
                }
            }
            Creating::Graph => {
                let limit = pick(self.quotas.max_graphs, defaults.max_graphs);
                if graphs + 1 > limit {
                    return Err(exceeded("graphs of this key", limit, graphs + 1));
                }
            }
        }
        let limit = pick(self.quotas.max_partitions, defaults.max_partitions);
        if held.saturating_add(partitions) > limit {
            return Err(exceeded("partitions of this key's namespaces and graphs", limit, held + partitions));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;
    use crate::cluster::{NodeInfo, ShardInfo, VectorPartition};
    use crate::model::vector::VectorNamespace;
    use crate::{GraphNamespace, Query};

    fn tenant(prefix: &str) -> Access {
        Access { prefixes: vec![prefix.into()], role: Role::ReadWrite, ..Access::everything("t") }
    }

    /// Two tenants' namespaces and graphs, each of 2 partitions, and a KV shard.
    fn map() -> ShardMap {
        let mut m = ShardMap::default();
        m.nodes.insert(1, NodeInfo { id: 1, ..NodeInfo::default() });
        m.shards.push(ShardInfo { group: 1, replicas: vec![1], ..ShardInfo::default() });
        let mut group = 2;
        for t in ["tenant-a", "tenant-b"] {
            let ns = format!("{t}/docs");
            m.vector_namespaces.insert(
                ns.clone(),
                VectorNamespace { name: ns.clone(), dim: 4, distance: Default::default(), partitions: 2 },
            );
            let g = format!("{t}/kg");
            m.graphs.insert(g.clone(), GraphNamespace { name: g.clone(), partitions: 2 });
            for (name, graph) in [(&ns, false), (&g, true)] {
                for partition in 0..2 {
                    let part = Some(VectorPartition { namespace: name.clone(), partition });
                    let (vector, graph) = if graph { (None, part) } else { (part, None) };
                    m.shards.push(ShardInfo { group, replicas: vec![1], vector, graph, ..ShardInfo::default() });
                    m.leaders.insert(group, 1);
                    group += 1;
                }
            }
        }
        m
    }

    #[test]
    fn a_tenant_sees_nothing_of_another() {
        let a = tenant("tenant-a/");
        let mut seen = map();
        a.filter_map(&mut seen);
        let text = format!("{seen:?}");
        assert!(!text.contains("tenant-b"), "{text}");
        assert_eq!(seen.vector_namespaces.len() + seen.graphs.len(), 2);
        assert_eq!(seen.shards.len(), 1 + 4, "the KV shard and tenant-a's four partitions");
        let full = map();
        let b_group = full.graph_partitions("tenant-b/kg")[0];
        assert!(!a.may_see_group(&full, b_group) && a.may_see_group(&full, 1) && a.may_see_group(&full, META_GROUP));
        let mut names = Response::Names(vec!["tenant-a/x".into(), "tenant-b/y".into()]);
        a.filter_response(&mut names);
        assert!(matches!(names, Response::Names(ref n) if n == &["tenant-a/x"]));
        let mut listed = Response::ShardMap(map());
        a.filter_response(&mut listed);
        assert!(!format!("{listed:?}").contains("tenant-b"));
        let _ = Query::Meta(crate::MetaQuery::ShardMap); // the read that answers a map
        let everything = Access::everything("admin");
        let mut all = map();
        everything.filter_map(&mut all);
        assert_eq!(all, map(), "a key without prefixes sees everything");
    }

    #[test]
    fn quotas_count_what_the_key_holds() {
        let a = tenant("tenant-a/");
        let m = map();
        let none = Quotas::default();
        a.check_quota(&m, Creating::Namespace, "tenant-a/new", 2, &none).unwrap();
        let one_each = Quotas { max_namespaces: Some(1), max_graphs: Some(1), max_partitions: Some(6) };
        let err = a.check_quota(&m, Creating::Namespace, "tenant-a/new", 2, &one_each).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: 1, got: 2, .. }), "{err:?}");
        assert!(a.check_quota(&m, Creating::Graph, "tenant-a/kg2", 1, &one_each).is_err());
        // Another tenant's holdings do not count against this one.
        let two = Quotas { max_namespaces: Some(2), max_graphs: Some(2), max_partitions: Some(6) };
        a.check_quota(&m, Creating::Namespace, "tenant-a/new", 2, &two).unwrap();
        let err = a.check_quota(&m, Creating::Namespace, "tenant-a/new", 3, &two).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: 6, got: 7, .. }), "{err:?}");
        // The key's own quota wins over the default; what exists is never refused.
        let own = Access { quotas: Quotas { max_namespaces: Some(5), ..Quotas::default() }, ..a.clone() };
        own.check_quota(&m, Creating::Namespace, "tenant-a/new", 1, &one_each).unwrap();
        a.check_quota(&m, Creating::Namespace, "tenant-a/docs", 2, &one_each).unwrap();
    }
}
