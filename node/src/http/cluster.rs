//! `/cluster`: the status page's data — every member's answer to `status` gathered by
//! the serving node (so a browser needs one address and one key, not every member's
//! port), each member up or unreachable since when, and the warnings `strata status`
//! gives (`crate::cli::status_view`).

use super::HttpState;
use crate::cli::status_view;
use crate::ctx::NodeCtx;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;
use strata_api::{NodeId, NodeStatus};

/// How long a member may take to answer before it shows as unreachable.
pub const MEMBER_TIMEOUT: Duration = Duration::from_secs(2);

/// One member as the page shows it.
#[derive(Debug, Serialize)]
pub struct MemberView {
    /// Its id.
    pub id: NodeId,
    /// Its client address.
    pub client_addr: String,
    /// Whether it is leaving the cluster.
    pub leaving: bool,
    /// Whether it answered.
    pub up: bool,
    /// Since when (ms since the Unix epoch) it has been up or unreachable, as this node
    /// saw it.
    pub since_ms: u64,
    /// Why it did not answer.
    pub error: Option<String>,
    /// What it reported.
    pub status: Option<NodeStatus>,
}

/// The answer of `/cluster`.
#[derive(Debug, Serialize)]
pub struct ClusterView {
    /// The node that gathered it.
    pub served_by: NodeId,
    /// The shard map's epoch.
    pub epoch: u64,
    /// The replication factor.
    pub replication: u32,
    /// The members.
    pub members: Vec<MemberView>,
    /// Every group: what it holds, its leader, term, replicas' applied indexes and lag.
    pub groups: Vec<status_view::GroupLine>,
    /// What needs attention.
    pub warnings: Vec<String>,
    /// When it was gathered (ms since the Unix epoch).
    pub at_ms: u64,
}

/// Asks every member for its status (this node answers for itself) and puts the
/// picture together.
pub async fn gather(state: &HttpState, ctx: &std::sync::Arc<NodeCtx>) -> ClusterView {
    let map = ctx.shard_map();
    let asks = map.nodes.values().map(|n| {
        let (ctx, n) = (ctx.clone(), n.clone());
        async move {
            if n.id == ctx.info.id {
                return (n, Ok(own_status(&ctx).await));
            }
            let ask = async {
                let client = ctx.conns.get(&n.client_addr).await.map_err(|e| e.to_string())?;
                let call = strata_api::service::context_within(MEMBER_TIMEOUT);
                client.status(call).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
            };
            let answer = match tokio::time::timeout(MEMBER_TIMEOUT, ask).await {
                Ok(a) => a,
                Err(_) => Err(format!("no answer within {} s", MEMBER_TIMEOUT.as_secs())),
            };
            if answer.is_err() {
                ctx.conns.forget(&n.client_addr);
            }
            (n, answer)
        }
    });
    let answers = futures::future::join_all(asks).await;
    let now = strata_api::clock::unix_ms();
    let mut seen = state.seen.lock().unwrap_or_else(|p| p.into_inner());
    let mut members = Vec::new();
    let mut by_id: BTreeMap<NodeId, Result<NodeStatus, String>> = BTreeMap::new();
    for (n, answer) in answers {
        let up = answer.is_ok();
        let since = match seen.get(&n.id) {
            Some((was_up, since)) if *was_up == up => *since,
            _ => now,
        };
        seen.insert(n.id, (up, since));
        let (status, error) = match &answer {
            Ok(s) => (Some(s.clone()), None),
            Err(e) => (None, Some(e.clone())),
        };
        members.push(MemberView {
            id: n.id,
            client_addr: n.client_addr.clone(),
            leaving: n.leaving,
            up,
            since_ms: since,
            error,
            status,
        });
        by_id.insert(n.id, answer);
    }
    drop(seen);
    let picture = status_view::picture(&map, &by_id);
    ClusterView {
        served_by: ctx.info.id,
        epoch: map.epoch,
        replication: map.replication,
        members,
        groups: picture.groups,
        warnings: picture.warnings,
        at_ms: now,
    }
}

/// This node's own answer to `status`, as a member would give it.
async fn own_status(ctx: &std::sync::Arc<NodeCtx>) -> NodeStatus {
    let groups = ctx.registry.groups().iter().map(|g| g.status()).collect();
    let c = ctx.clone();
    let detail = tokio::task::spawn_blocking(move || Box::new(super::status::detail(&c))).await.ok();
    NodeStatus { node: ctx.info.clone(), groups, detail }
}
