//! Where a request is served: by the local replica when it leads the group (or for a
//! stale read, or a search, which any replica answers), otherwise forwarded to the
//! leader's node over its client service.

use crate::ctx::NodeCtx;
use std::sync::Arc;
use strata_api::trace::stage;
use strata_api::{Error, GroupId, NodeId, Query, ReadConsistency, Served};
use strata_client::cluster::context_within;
use strata_raft::Write;

/// How many times a request may be forwarded before the node gives up (leaders moving).
const MAX_HOPS: u8 = 3;

/// Replicates a write in `group` (here or at the leader) and answers its outcome.
pub async fn write(ctx: &Arc<NodeCtx>, group: GroupId, request: Write, hops: u8) -> Result<Served, Error> {
    let leader = match ctx.registry.get(group) {
        Some(g) => {
            replicated_enough(ctx, &g)?;
            match stage("raft write", g.write(request.clone())).await {
                Ok(answer) => return answer.map(|response| served_here(ctx, response, Some(ctx.info.id))),
                Err(strata_raft::Error::NotLeader { leader, .. }) => leader,
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    if group == strata_api::META_GROUP {
        return forward_meta(ctx, leader, request).await;
    }
    let addr = forward_target(ctx, group, leader, hops)?;
    let client = ctx.conns.get(&addr).await.map_err(|e| strata_client::cluster::connect_error(&addr, &e))?;
    let forwarded = client.write(context_within(ctx.request_timeout), group, request.id, request.command, hops + 1);
    let served = stage("forward write", forwarded).await.map_err(|e| {
        ctx.conns.forget(&addr);
        Error::Unavailable(format!("forwarding to {addr}: {e}"))
    })?;
    from_this_cluster(ctx, &addr, served)
}

/// Refuses (retryably) a write to a group that has fewer voters than a majority of the
/// cluster's replication factor (or than its members, in a smaller cluster).
///
/// Why: groups are created with one voter (new vector and graph partitions, a new
/// cluster's shards) and grow one replica at a time; a write committed while a group
/// has a single voter lives on one disk, and losing that node (a member replaced, its
/// disk gone) loses an acknowledged write, which the fault tests saw (seed 1106). Like
/// Kafka's `min.insync.replicas`, a write waits until a majority of the intended
/// replicas take part. The meta group is exempt: it must accept the writes that grow it.
fn replicated_enough(ctx: &NodeCtx, g: &strata_raft::group::Group) -> Result<(), Error> {
    if g.id == strata_api::META_GROUP {
        return Ok(());
    }
    let needed = ctx.with_map(|map| voters_a_write_needs(map.replication, map.active_nodes().count()));
    let voters = g.voter_count();
    if voters < needed {
        return Err(Error::Unavailable(format!(
            "raft group {} has {voters} voter(s), a write needs {needed}: it is still being replicated",
            g.id
        )));
    }
    Ok(())
}

/// A majority of the replication factor, or every member of a smaller cluster (at least one).
fn voters_a_write_needs(replication: u32, members: usize) -> usize {
    (replication as usize / 2 + 1).min(members).max(1)
}

/// Forwards a cluster-metadata write to the meta group's leader over the peer service
/// (the client service refuses metadata writes).
async fn forward_meta(ctx: &Arc<NodeCtx>, leader: Option<NodeId>, request: Write) -> Result<Served, Error> {
    let me = ctx.info.id;
    let map = ctx.shard_map();
    let Some(addr) = leader.filter(|l| *l != me).and_then(|l| map.nodes.get(&l)).map(|n| n.raft_addr.clone()) else {
        return Err(Error::Unavailable("the meta group has no leader reachable from this node".into()));
    };
    let pool = ctx.registry.pool();
    let client = pool.client(&addr).await.map_err(|e| Error::Unavailable(format!("{addr}: {e}")))?;
    let answer =
        client.propose(context_within(ctx.request_timeout), strata_api::META_GROUP, request).await.map_err(|e| {
            pool.forget(&addr);
            Error::Unavailable(format!("forwarding to {addr}: {e}"))
        })??;
    answer.map(|response| served_here(ctx, response, leader))
}

/// Answers a read in `group` with the asked consistency. A search
/// ([`Query::any_replica_serves`]) is answered by whichever replica it reached, a
/// linearizable one once this replica has applied its leader's read index; other reads
/// are answered by the leader (here, or forwarded), or by any replica when `stale_ok`.
pub async fn read(
    ctx: &Arc<NodeCtx>,
    group: GroupId,
    query: Query,
    consistency: ReadConsistency,
    hops: u8,
) -> Result<Served, Error> {
    let leader = match ctx.registry.get(group) {
        Some(g) => match stage("local read", read_local(ctx, &g, query.clone(), consistency)).await {
            Ok(r) => {
                let search = query.any_replica_serves();
                let leader = match consistency {
                    // Only a leader answers other linearizable reads.
                    ReadConsistency::Linearizable if !search => Some(ctx.info.id),
                    _ => g.leader().map(|(id, _)| id),
                };
                if search {
                    let role = usize::from(leader != Some(ctx.info.id));
                    strata_api::metrics::counters().vector_searches[role].inc();
                }
                return Ok(served_here(ctx, r, leader));
            }
            Err(strata_raft::Error::NotLeader { leader, .. }) => leader,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let addr = forward_target(ctx, group, leader, hops)?;
    let client = ctx.conns.get(&addr).await.map_err(|e| strata_client::cluster::connect_error(&addr, &e))?;
    let forwarded = client.read(context_within(ctx.request_timeout), group, query, consistency, hops + 1);
    let served = stage("forward read", forwarded).await.map_err(|e| {
        ctx.conns.forget(&addr);
        Error::Unavailable(format!("forwarding to {addr}: {e}"))
    })?;
    from_this_cluster(ctx, &addr, served)
}

/// Reads this node's replica `g`: a linearizable search first catches up to the
/// leader's read index (this replica may be a follower); other linearizable reads need
/// this replica to lead (`NotLeader` otherwise, and the caller forwards).
async fn read_local(
    ctx: &NodeCtx,
    g: &strata_raft::Group,
    query: Query,
    consistency: ReadConsistency,
) -> strata_raft::Result<strata_api::Response> {
    if consistency == ReadConsistency::Linearizable && query.any_replica_serves() {
        stage("read index", g.catch_up_for_read(ctx.registry.pool(), ctx.request_timeout)).await?;
        return g.read(query, ReadConsistency::StaleOk).await;
    }
    g.read(query, consistency).await
}

fn served_here(ctx: &NodeCtx, response: strata_api::Response, leader: Option<NodeId>) -> Served {
    Served { response, epoch: ctx.map_epoch(), leader, cluster: ctx.registry.cluster() }
}

/// A forwarded answer, unless it came from another cluster (a node at a member's old
/// address that was wiped and bootstrapped anew): that one is no answer, and the client
/// tries again.
fn from_this_cluster(ctx: &NodeCtx, addr: &str, served: Result<Served, Error>) -> Result<Served, Error> {
    let served = served?;
    let me = ctx.registry.cluster();
    if strata_api::same_cluster(served.cluster, me) {
        Ok(served)
    } else {
        ctx.conns.forget(addr);
        Err(Error::Unavailable(format!("{addr} answered for cluster {}, not this cluster {me}", served.cluster)))
    }
}

/// The client address of the node to forward to: the known leader, else a replica of the
/// group from the shard map.
fn forward_target(ctx: &NodeCtx, group: GroupId, leader: Option<NodeId>, hops: u8) -> Result<String, Error> {
    if hops >= MAX_HOPS {
        return Err(Error::NotLeader { group, leader });
    }
    let map = ctx.shard_map();
    let me = ctx.info.id;
    let pick = |id: NodeId| (id != me).then(|| map.nodes.get(&id).map(|n| n.client_addr.clone())).flatten();
    if let Some(addr) = leader.and_then(pick) {
        return Ok(addr);
    }
    if leader.is_some() || ctx.registry.get(group).is_some() {
        // A leader we cannot reach yet, or an election in progress: let the client retry.
        return Err(Error::Unavailable(format!("raft group {group} has no leader reachable from node {me}")));
    }
    let replicas: Vec<NodeId> = if group == strata_api::META_GROUP {
        map.nodes.keys().copied().collect()
    } else {
        map.shard(group).map(|s| s.replicas.clone()).ok_or(Error::UnknownGroup(group))?
    };
    replicas.into_iter().find_map(pick).ok_or(Error::UnknownGroup(group))
}

#[cfg(test)]
mod tests {
    use super::voters_a_write_needs;

    #[test]
    fn a_write_needs_a_majority_of_the_replicas_or_every_member_of_a_small_cluster() {
        assert_eq!(voters_a_write_needs(3, 3), 2, "a single-voter group of a 3-node cluster takes no writes");
        assert_eq!(voters_a_write_needs(3, 5), 2);
        assert_eq!(voters_a_write_needs(5, 5), 3);
        assert_eq!(voters_a_write_needs(3, 1), 1, "a one-node cluster writes");
        assert_eq!(voters_a_write_needs(3, 2), 2);
        assert_eq!(voters_a_write_needs(1, 3), 1);
        assert_eq!(voters_a_write_needs(3, 0), 1);
    }
}
