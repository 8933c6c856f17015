//! The rebalancer: on the meta group's leader, moves the cluster toward the layout that
//! `strata_shards::placement::plan_replicas` asks for, one idempotent step at a time:
//!
//! 1. every member joins the meta group (as a learner; up to three become voters);
//! 2. a shard gaining a replica records it as a learner in the map (so that node opens the
//!    group), the shard's leader adds it as a raft learner and waits until it has caught
//!    up (by log or by snapshot), then makes the planned set the voters, which removes the
//!    replicas that leave; finally the map records the new replicas;
//! 3. a leaving member (`strata cluster remove-node`) that holds no replica and no place
//!    in the meta group any more is told to retire, then forgotten;
//! 4. once replicas are where the plan wants them, leadership is evened out, one shard at
//!    a time (`strata_shards::placement::leader_move`). openraft 0.9 has no leader
//!    transfer, so it is made of what it has, without ever changing the voter set: the
//!    voters other than the chosen one hold off elections, the leader yields (proposes
//!    nothing, sends no heartbeats, stands in no election), and the chosen voter wins the
//!    election once the followers' lease on the old leader runs out (about the election
//!    timeout). Every hold ends by itself after a few seconds, so a node dying mid-move
//!    costs that shard a few seconds, never its quorum. Writes wait meanwhile, so moves
//!    happen only while a leader leads two shards more than a voter of one of them.
//!
//! A step that fails (a leader moved, a node is down) is retried on the next round.

use crate::ctx::NodeCtx;
use openraft::ServerState;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use strata_api::{Command, Error, GroupId, GroupStatus, META_GROUP, MetaCommand, NodeId, ShardMap};
use strata_client::cluster::context_within;
use strata_raft::network::service::AdminOp;

/// How often the leader of the meta group looks for work.
const ROUND: Duration = Duration::from_millis(300);
/// The most voters the meta group has.
const META_VOTERS: usize = 3;
/// How long an admin step (a learner catching up) may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs rounds forever (the task is aborted at shutdown).
pub async fn run(ctx: Arc<NodeCtx>) {
    let mut tick = tokio::time::interval(ROUND);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(meta) = ctx.registry.get(META_GROUP) else { continue };
        // A draining node hands its leaderships away; it moves none.
        if meta.raft.metrics().borrow().state != ServerState::Leader
            || ctx.draining.load(std::sync::atomic::Ordering::SeqCst)
        {
            continue;
        }
        if let Err(e) = round(&ctx).await {
            tracing::info!(error = %e, "rebalance step postponed");
        }
    }
}

async fn round(ctx: &Arc<NodeCtx>) -> Result<(), Error> {
    let map = ctx.shard_map();
    if map.shards.is_empty() {
        return Ok(());
    }
    meta_membership(ctx, &map).await?;
    let plan = strata_shards::placement::plan_replicas(&map);
    let mut settled = true;
    for shard in &map.shards {
        let Some(want) = plan.get(&shard.group) else { continue };
        let mut want_sorted = want.clone();
        want_sorted.sort_unstable();
        let mut have_sorted = shard.replicas.clone();
        have_sorted.sort_unstable();
        if want_sorted == have_sorted && shard.learners.is_empty() {
            continue;
        }
        settled = false;
        move_shard(ctx, &map, shard.group, &shard.replicas, want).await?;
    }
    forget_leaving(ctx, &map).await?;
    if settled && !map.nodes.values().any(|n| n.leaving) {
        spread_leaders(ctx, &map).await?;
    }
    Ok(())
}

/// How long a leadership move may hold elections and writes (all resume by themselves
/// after it, whatever happened to the node running the move or to the chosen node).
const HOLD: Duration = Duration::from_secs(5);

/// How many entries behind the leader a voter may be for leadership to move to it.
const MOVE_LAG: u64 = 64;

/// Moves the leadership of one shard, if leadership is uneven.
async fn spread_leaders(ctx: &Arc<NodeCtx>, map: &ShardMap) -> Result<(), Error> {
    let mut leaders = std::collections::BTreeMap::new();
    let mut lags = std::collections::BTreeMap::new();
    for node in map.active_nodes() {
        let client = ctx.conns.get(&node.client_addr).await.map_err(|e| Error::Unavailable(e.to_string()))?;
        let status = client.status(context_within(Duration::from_secs(5))).await.map_err(|e| {
            ctx.conns.forget(&node.client_addr);
            Error::Unavailable(format!("status of node {}: {e}", node.id))
        })??;
        for g in status.groups.iter().filter(|g| g.role == "Leader" && g.group != META_GROUP) {
            leaders.insert(g.group, node.id);
            lags.insert(g.group, g.lag.clone());
        }
    }
    if leaders.len() < map.shards.len() {
        return Ok(()); // an election is under way: look again next round
    }
    let Some((group, from, to)) = strata_shards::placement::leader_move(map, &leaders) else { return Ok(()) };
    // A voter missing entries could not win, and its campaign would depose the leader:
    // it is moved to only when it is close behind (the entries in flight under load),
    // and the leader waits for it to hold the whole log before yielding (below).
    if lags.get(&group).and_then(|l| l.get(&to)).is_none_or(|lag| *lag > MOVE_LAG) {
        return Ok(());
    }
    let voters: Vec<NodeId> = map.shard(group).map(|s| s.replicas.clone()).unwrap_or_default();
    tracing::info!(group, from, to, "moving shard leadership");
    move_leadership(ctx, map, group, (from, to), &voters).await
}

/// Moves `group`'s leadership from `from` (its leader) to `to` (a voter close behind),
/// as the module comment says; `voters` are the group's voters.
pub(crate) async fn move_leadership(
    ctx: &Arc<NodeCtx>,
    map: &ShardMap,
    group: GroupId,
    (from, to): (NodeId, NodeId),
    voters: &[NodeId],
) -> Result<(), Error> {
    let millis = HOLD.as_millis() as u64;
    let others: Vec<NodeId> = voters.iter().copied().filter(|v| *v != from && *v != to).collect();
    for other in &others {
        admin_on_node(ctx, map, *other, group, AdminOp::HoldElection { millis }).await?;
    }
    // The voter set never changes: if anything fails from here on, every hold runs out
    // and the group carries on as before.
    if let Err(e) = admin_on_node(ctx, map, from, group, AdminOp::Yield { millis, to: Some(to) }).await {
        for other in &others {
            let _ = admin_on_node(ctx, map, *other, group, AdminOp::Resume).await;
        }
        return Err(e);
    }
    let until = tokio::time::Instant::now() + HOLD;
    let moved = loop {
        // Rejected while the followers' lease on the old leader lasts (about the
        // election timeout); elected right after.
        // A refusal (the chosen node began to drain) ends the move now: the leader's
        // writes wait while it yields, so a move that cannot happen must not hold them.
        if let Err(e) = admin_on_node(ctx, map, to, group, AdminOp::Elect).await
            && !e.is_retryable()
        {
            tracing::info!(group, to, error = %e, "leadership move refused");
            break false;
        }
        let status = admin_status(ctx, map, to, group).await;
        if status.is_some_and(|g| g.role == "Leader") {
            break true;
        }
        if tokio::time::Instant::now() >= until {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for node in others.iter().chain([&from]) {
        let _ = admin_on_node(ctx, map, *node, group, AdminOp::Resume).await;
    }
    if !moved {
        return Err(Error::Unavailable(format!("node {to} was not elected leader of raft group {group}")));
    }
    Ok(())
}

/// Node `node`'s view of `group`.
async fn admin_status(ctx: &Arc<NodeCtx>, map: &ShardMap, node: NodeId, group: GroupId) -> Option<GroupStatus> {
    let addr = &map.nodes.get(&node)?.client_addr;
    let client = ctx.conns.get(addr).await.ok()?;
    let status = client.status(context_within(Duration::from_secs(5))).await.ok()?.ok()?;
    status.groups.into_iter().find(|g| g.group == group)
}

/// Sends a membership or election request to one node's replica of `group`.
async fn admin_on_node(
    ctx: &Arc<NodeCtx>,
    map: &ShardMap,
    node: NodeId,
    group: GroupId,
    op: AdminOp,
) -> Result<(), Error> {
    if node == ctx.info.id {
        let g = ctx.registry.get(group).ok_or(Error::UnknownGroup(group))?;
        return g.admin(op).await.map_err(Into::into);
    }
    let addr = map.nodes.get(&node).map(|n| n.raft_addr.clone()).ok_or(Error::UnknownGroup(group))?;
    let client = ctx.registry.pool().client(&addr).await.map_err(|e| Error::Unavailable(e.to_string()))?;
    client.admin(context_within(Duration::from_secs(30)), group, op).await.map_err(|e| {
        ctx.registry.pool().forget(&addr);
        Error::Unavailable(format!("node {node}: {e}"))
    })?
}

/// Retires and forgets the leaving members that hold nothing any more.
async fn forget_leaving(ctx: &Arc<NodeCtx>, map: &ShardMap) -> Result<(), Error> {
    let Some(meta) = ctx.registry.get(META_GROUP) else { return Ok(()) };
    let status = meta.status();
    for node in map.nodes.values().filter(|n| n.leaving) {
        let in_meta = status.voters.contains(&node.id) || status.learners.contains(&node.id);
        if in_meta || !map.groups_of(node.id).is_empty() {
            continue;
        }
        // Best effort: a node that is down will find itself removed when it restarts.
        match ctx.registry.pool().client(&node.raft_addr).await {
            Ok(client) => {
                if let Err(e) = client.retire(context_within(Duration::from_secs(10))).await {
                    ctx.registry.pool().forget(&node.raft_addr);
                    tracing::info!(node = node.id, error = %e, "could not tell the removed node to retire");
                }
            }
            Err(e) => tracing::info!(node = node.id, error = %e, "could not reach the removed node"),
        }
        meta_write(ctx, MetaCommand::ForgetNode { id: node.id }).await?;
        tracing::info!(node = node.id, "node removed from the cluster");
    }
    Ok(())
}

async fn meta_write(ctx: &Arc<NodeCtx>, cmd: MetaCommand) -> Result<(), Error> {
    let req = strata_raft::Write { id: None, command: Command::Meta(cmd) };
    crate::route::write(ctx, META_GROUP, req, 0).await.map(|_| ())
}

/// Keeps the meta group's membership in step with the members: all of them replicate it,
/// up to three vote.
async fn meta_membership(ctx: &Arc<NodeCtx>, map: &ShardMap) -> Result<(), Error> {
    let Some(meta) = ctx.registry.get(META_GROUP) else { return Ok(()) };
    let status = meta.status();
    let active: BTreeSet<NodeId> = map.active_nodes().map(|n| n.id).collect();
    for node in map.active_nodes() {
        if !status.voters.contains(&node.id) && !status.learners.contains(&node.id) {
            meta.admin(AdminOp::AddLearner { node: node.id, addr: node.raft_addr.clone() }).await?;
        }
    }
    let mut voters: Vec<NodeId> = status.voters.iter().copied().filter(|v| active.contains(v)).collect();
    for id in &active {
        if voters.len() >= META_VOTERS.min(active.len()) {
            break;
        }
        if !voters.contains(id) {
            voters.push(*id);
        }
    }
    let voters: BTreeSet<NodeId> = voters.into_iter().collect();
    if voters != status.voters.iter().copied().collect::<BTreeSet<_>>() && !voters.is_empty() {
        meta.admin(AdminOp::ChangeVoters { voters }).await?;
    }
    let gone: BTreeSet<NodeId> = meta.status().learners.into_iter().filter(|l| !active.contains(l)).collect();
    if !gone.is_empty() {
        meta.admin(AdminOp::RemoveLearners { nodes: gone }).await?;
    }
    Ok(())
}

/// Moves one shard from replicas `have` to `want`.
async fn move_shard(
    ctx: &Arc<NodeCtx>,
    map: &ShardMap,
    group: GroupId,
    have: &[NodeId],
    want: &[NodeId],
) -> Result<(), Error> {
    let new: Vec<NodeId> = want.iter().copied().filter(|n| !have.contains(n)).collect();
    if !new.is_empty() {
        let learners_recorded = map.shard(group).is_some_and(|s| s.learners == new);
        if !learners_recorded {
            meta_write(ctx, MetaCommand::SetShardMembers { group, replicas: have.to_vec(), learners: new.clone() })
                .await?;
        }
        for n in &new {
            let addr = map.nodes.get(n).map(|i| i.raft_addr.clone()).unwrap_or_default();
            admin_on_leader(ctx, map, group, have, AdminOp::AddLearner { node: *n, addr }).await?;
        }
    }
    let voters: BTreeSet<NodeId> = want.iter().copied().collect();
    admin_on_leader(ctx, map, group, have, AdminOp::ChangeVoters { voters }).await?;
    meta_write(ctx, MetaCommand::SetShardMembers { group, replicas: want.to_vec(), learners: vec![] }).await
}

/// Sends a membership change to the group's leader: tried here first, then on each
/// replica, following `NotLeader` hints.
async fn admin_on_leader(
    ctx: &Arc<NodeCtx>,
    map: &ShardMap,
    group: GroupId,
    replicas: &[NodeId],
    op: AdminOp,
) -> Result<(), Error> {
    if let Some(g) = ctx.registry.get(group) {
        match g.admin(op.clone()).await {
            Ok(()) => return Ok(()),
            Err(strata_raft::Error::NotLeader { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut candidates: Vec<NodeId> = replicas.iter().copied().filter(|n| *n != ctx.info.id).collect();
    let mut tried = BTreeSet::new();
    while let Some(n) = candidates.pop() {
        if !tried.insert(n) {
            continue;
        }
        let Some(addr) = map.nodes.get(&n).map(|i| i.raft_addr.clone()) else { continue };
        // A replica that is down (the dead node being replaced) is passed over, not a
        // reason to give up before the leader is asked.
        let client = match ctx.registry.pool().client(&addr).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(%addr, error = %e, "admin: replica unreachable");
                continue;
            }
        };
        match client.admin(context_within(ADMIN_TIMEOUT), group, op.clone()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(Error::NotLeader { leader: Some(l), .. })) => candidates.push(l),
            Ok(Err(e)) if e.is_retryable() => continue,
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                ctx.registry.pool().forget(&addr);
                tracing::debug!(%addr, error = %e, "admin call failed");
            }
        }
    }
    Err(Error::Unavailable(format!("no leader found for raft group {group}")))
}
