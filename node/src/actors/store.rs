//! A store actor: checks that each request belongs to its store and to the raft group it
//! names, then serves it on a spawned task (local replica or forwarded to the leader).

use super::StoreKind;
use crate::ctx::NodeCtx;
use crate::route;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use strata_api::trace::Trace;
use strata_api::{Command, Error, GraphCall, GroupId, Query, ReadConsistency, RequestId, Served, ShardMap};
use strata_shards::placement::{ReadRoute, Route, route_command, route_query};

/// A request to a store actor.
pub enum StoreMsg {
    /// A write.
    Write {
        /// The group the client routed it to.
        group: GroupId,
        /// Its dedup id.
        id: Option<RequestId>,
        /// The command.
        command: Command,
        /// Forwards so far.
        hops: u8,
        /// Where the answer goes.
        reply: RpcReplyPort<Result<Served, Error>>,
        /// The request's trace (its id across nodes, its stages).
        trace: Option<Trace>,
    },
    /// A read.
    Read {
        /// The group the client routed it to.
        group: GroupId,
        /// The query.
        query: Query,
        /// Linearizable or stale.
        consistency: ReadConsistency,
        /// Forwards so far.
        hops: u8,
        /// Where the answer goes.
        reply: RpcReplyPort<Result<Served, Error>>,
        /// The request's trace (its id across nodes, its stages).
        trace: Option<Trace>,
    },
    /// A graph call run whole on this node (graph actor only).
    GraphCall {
        /// The partition it starts in.
        group: GroupId,
        /// The call.
        call: GraphCall,
        /// Linearizable or stale.
        consistency: ReadConsistency,
        /// What a Cypher call may spend.
        limits: strata_shards::graph::cypher::budget::CypherLimits,
        /// Where the answer goes.
        reply: RpcReplyPort<Result<Served, Error>>,
        /// The request's trace (its id across nodes, its stages).
        trace: Option<Trace>,
    },
}

/// The actor of one store type (zero-sized behaviour; the state is the node context).
pub struct StoreActor {
    /// Which store.
    pub kind: StoreKind,
}

/// A graph request belongs to one of its graph's partitions.
fn check_graph_group(map: &ShardMap, group: GroupId, graph: &str) -> Result<(), Error> {
    match map.shard(group) {
        Some(s) => match &s.graph {
            Some(p) if p.namespace == graph => Ok(()),
            // Not naming what the group holds: it may be another tenant's.
            Some(_) => Err(Error::InvalidInput(format!("raft group {group} is not a partition of graph {graph:?}"))),
            None => Err(Error::InvalidInput(format!("raft group {group} is not a graph partition"))),
        },
        None => Err(Error::UnknownGroup(group)),
    }
}

/// A vector request belongs to one of its namespace's partitions.
fn check_vector_group(map: &ShardMap, group: GroupId, namespace: Option<&str>) -> Result<(), Error> {
    let partition = map.shard(group).and_then(|s| s.vector.as_ref());
    match (partition, namespace) {
        (Some(p), Some(ns)) if p.namespace == ns => Ok(()),
        (Some(_), None) => Ok(()),
        (Some(_), Some(ns)) => {
            Err(Error::InvalidInput(format!("raft group {group} is not a partition of vector namespace {ns:?}")))
        }
        (None, _) if map.shard(group).is_some() => {
            Err(Error::InvalidInput(format!("raft group {group} is not a vector partition")))
        }
        (None, _) => Err(Error::UnknownGroup(group)),
    }
}

/// A node that has not learned the shard map yet (one just joined, catching up on the
/// meta group) cannot tell where a request belongs: that is no answer about the request,
/// so it is a retryable refusal, never a deterministic one (a client told "invalid" after
/// an earlier attempt that timed out would take a write that landed for one that did not).
fn check_map_known(map: &ShardMap) -> Result<(), Error> {
    if map.shards.is_empty() {
        return Err(Error::Unavailable("this node has not learned the cluster's shard map yet".into()));
    }
    Ok(())
}

fn check_write(kind: StoreKind, group: GroupId, command: &Command, map: &ShardMap) -> Result<(), Error> {
    check_map_known(map)?;
    if StoreKind::of_command(command) != Some(kind) {
        return Err(Error::InvalidInput(format!(
            "a {:?} request reached the {kind:?} store",
            StoreKind::of_command(command)
        )));
    }
    if let Command::Vector(c) = command {
        return check_vector_group(map, group, Some(c.namespace()));
    }
    if let Command::Graph(c) = command {
        return check_graph_group(map, group, c.graph());
    }
    let shards = map.shard_count();
    match route_command(command, shards) {
        Route::One(g) if g == group => Ok(()),
        Route::One(g) => Err(Error::InvalidInput(format!("the command belongs to raft group {g}, not {group}"))),
        Route::Split(parts) if parts.iter().all(|(g, _)| *g == group) => Ok(()),
        Route::Split(_) => Err(Error::InvalidInput("the command spans several shards; send one part per shard".into())),
    }
}

fn check_read(kind: StoreKind, group: GroupId, query: &Query, map: &ShardMap) -> Result<(), Error> {
    check_map_known(map)?;
    if StoreKind::of_query(query) != Some(kind) {
        return Err(Error::InvalidInput(format!(
            "a {:?} query reached the {kind:?} store",
            StoreKind::of_query(query)
        )));
    }
    if let Query::Vector(q) = query {
        return check_vector_group(map, group, q.namespace());
    }
    if let Query::Graph(q) = query {
        return check_graph_group(map, group, q.graph());
    }
    let shards = map.shard_count();
    match route_query(query, shards) {
        ReadRoute::One(g) if g != group => {
            Err(Error::InvalidInput(format!("the query belongs to raft group {g}, not {group}")))
        }
        _ if group == 0 || u64::from(shards) < group => Err(Error::UnknownGroup(group)),
        _ => Ok(()),
    }
}

impl Actor for StoreActor {
    type Msg = StoreMsg;
    type State = Arc<NodeCtx>;
    type Arguments = Arc<NodeCtx>;

    async fn pre_start(&self, _: ActorRef<Self::Msg>, ctx: Arc<NodeCtx>) -> Result<Self::State, ActorProcessingErr> {
        Ok(ctx)
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        msg: StoreMsg,
        ctx: &mut Arc<NodeCtx>,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            StoreMsg::Write { group, id, command, hops, reply, trace } => {
                if let Err(e) = ctx.with_map(|map| check_write(self.kind, group, &command, map)) {
                    let _ = reply.send(Err(e));
                    return Ok(());
                }
                let (ctx, kind) = (ctx.clone(), self.kind);
                tokio::spawn(traced(trace, async move {
                    let r = contained(kind, route::write(&ctx, group, strata_raft::Write { id, command }, hops)).await;
                    let _ = reply.send(r);
                }));
            }
            StoreMsg::Read { group, query, consistency, hops, reply, trace } => {
                if let Err(e) = ctx.with_map(|map| check_read(self.kind, group, &query, map)) {
                    let _ = reply.send(Err(e));
                    return Ok(());
                }
                let (ctx, kind) = (ctx.clone(), self.kind);
                tokio::spawn(traced(trace, async move {
                    // A read nobody waits for any more (its client gone) is dropped.
                    let read = contained(kind, route::read(&ctx, group, query, consistency, hops));
                    tokio::select! {
                        answer = read => { let _ = reply.send(answer); }
                        _ = caller_gone(&reply) => {}
                    }
                }));
            }
            StoreMsg::GraphCall { group, call, consistency, limits, reply, trace } => {
                let checked = match self.kind {
                    StoreKind::Graph => ctx.with_map(|map| check_graph_group(map, group, call.graph())),
                    kind => Err(Error::InvalidInput(format!("a graph call reached the {kind:?} store"))),
                };
                if let Err(e) = checked {
                    let _ = reply.send(Err(e));
                    return Ok(());
                }
                let ctx = ctx.clone();
                tokio::spawn(traced(trace, async move {
                    // Runs while someone waits for it: a caller that gives up (its
                    // client gone, its timeout passed) drops the call, and with it a
                    // Cypher query's work.
                    let call =
                        contained(StoreKind::Graph, crate::graph_call::serve(&ctx, group, call, consistency, limits));
                    tokio::select! {
                        answer = call => { let _ = reply.send(answer); }
                        _ = caller_gone(&reply) => {}
                    }
                }));
            }
        }
        Ok(())
    }
}

/// Runs `work` under the request's trace (its id in every log line, the calls it makes
/// to other nodes carrying the id), when it has one.
async fn traced<F: std::future::Future<Output = ()>>(trace: Option<Trace>, work: F) {
    use tracing::Instrument;
    match trace {
        Some(t) => {
            let span = tracing::info_span!("request", id = %t.hex());
            t.scope(work).instrument(span).await
        }
        None => work.await,
    }
}

/// Runs a request's work, a panic in it becoming that request's error (it used to end
/// the task and reach the client as "actor strata.graph stopped", which it was not).
async fn contained<F>(kind: StoreKind, work: F) -> Result<Served, Error>
where
    F: std::future::Future<Output = Result<Served, Error>>,
{
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(work).catch_unwind().await.unwrap_or_else(|panic| {
        let what = strata_api::error::panic_text(panic.as_ref());
        tracing::error!(store = ?kind, panic = %what, "a request panicked");
        Err(Error::Unavailable(format!("the {kind:?} store failed on this request (a panic, logged): {what}")))
    })
}

/// Resolves once nobody waits for `reply` any more (checked every 50 ms: ractor's port
/// has no awaitable close).
async fn caller_gone<T>(reply: &RpcReplyPort<T>) {
    while !reply.is_closed() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_api::{JsonText, KvCommand, KvQuery};

    #[tokio::test]
    async fn a_panic_in_a_request_is_that_request_s_error() {
        let work = async { panic!("a bug in a read path") };
        match contained(StoreKind::Graph, work).await {
            Err(Error::Unavailable(m)) => assert!(m.contains("a bug in a read path") && m.contains("Graph"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_node_without_a_map_refuses_retryably_not_as_invalid() {
        let empty = ShardMap::default();
        let put = Command::Kv(KvCommand::Put {
            collection: "c".into(),
            key: "k".into(),
            value: JsonText::from_stored_text("{}"),
        });
        let refused = check_write(StoreKind::Kv, 2, &put, &empty).expect_err("no map");
        assert!(refused.is_retryable() && !refused.is_deterministic(), "{refused}");
        let get = Query::Kv(KvQuery::Get { collection: "c".into(), key: "k".into() });
        let refused = check_read(StoreKind::Kv, 2, &get, &empty).expect_err("no map");
        assert!(refused.is_retryable() && !refused.is_deterministic(), "{refused}");
    }
}
