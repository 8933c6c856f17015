//! Draining: what a node does before it stops (SIGTERM, Ctrl-C), so that a rolling
//! restart makes no client wait for an election.
//!
//! 1. `/readyz` fails from the first moment (a load balancer stops sending requests), the
//!    process tells systemd `STOPPING=1`, and the rebalancer on this node moves nothing.
//! 2. No group of this node campaigns or accepts leadership again
//!    (`Registry::step_down`), so nothing moves back while it drains.
//! 3. Every group it leads is handed to the voter least behind, the way the rebalancer
//!    moves leaderships (`rebalance::move_leadership`: the other voters hold elections,
//!    this node yields once the new one holds the whole log, the new one is elected — at
//!    once, since the yielding leader's own vote grants it). Writes to the group wait
//!    those few hundred milliseconds instead of an election timeout; then this node
//!    forwards what reaches it to the new leader.
//! 4. Requests in flight finish.
//!
//! Each step is bounded ([`BOUND`] in all): a group whose voters are unreachable keeps its
//! leader until the node stops, and elects another as a crash would have it.

use crate::ctx::NodeCtx;
use std::sync::Arc;
use std::time::Duration;
use strata_api::NodeId;

/// The longest a drain waits for leaderships to move, and then for requests in flight.
pub const BOUND: Duration = Duration::from_secs(20);

/// Drains this node (see the module comment); answers how many leaderships moved and how
/// many stayed.
pub async fn drain(ctx: &Arc<NodeCtx>) -> (usize, usize) {
    ctx.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    crate::notify::stopping();
    ctx.registry.step_down();
    let map = ctx.shard_map();
    let me = ctx.info.id;
    let led: Vec<_> = ctx.registry.groups().into_iter().filter(|g| g.status().role == "Leader").collect();
    let moves = led.iter().map(|g| {
        let map = &map;
        async move {
            let s = g.status();
            // The voter least behind (the leader waits for it to hold the whole log).
            let to: Option<NodeId> = s
                .voters
                .iter()
                .filter(|v| **v != me)
                .map(|v| (s.lag.get(v).copied().unwrap_or(u64::MAX), *v))
                .min()
                .map(|(_, v)| v);
            let Some(to) = to else { return false };
            match crate::rebalance::move_leadership(ctx, map, g.id, (me, to), &s.voters).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(group = g.id, to, error = %e, "draining: the leadership stays until the node stops");
                    false
                }
            }
        }
    });
    let started = tokio::time::Instant::now();
    let moved = match tokio::time::timeout(BOUND, futures::future::join_all(moves)).await {
        Ok(outcomes) => outcomes.iter().filter(|m| **m).count(),
        Err(_) => 0,
    };
    let left = BOUND.saturating_sub(started.elapsed());
    if tokio::time::timeout(left, ctx.idle()).await.is_err() {
        tracing::warn!("draining: requests still running when the node stops");
    }
    tracing::info!(moved, stayed = led.len() - moved, took_ms = started.elapsed().as_millis() as u64, "drained");
    (moved, led.len() - moved)
}
