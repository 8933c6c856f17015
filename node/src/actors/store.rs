//! A store actor: checks that each request belongs to its store and to the raft group it
//! names, then serves it on a spawned task (local replica or forwarded to the leader).

use super::StoreKind;
use crate::route;
use crate::server::NodeCtx;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use strata_api::{Command, Error, GroupId, Query, ReadConsistency, RequestId, Served};
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
    },
}

/// The actor of one store type (zero-sized behaviour; the state is the node context).
pub struct StoreActor {
    /// Which store.
    pub kind: StoreKind,
}

fn check_write(kind: StoreKind, group: GroupId, command: &Command, shards: u32) -> Result<(), Error> {
    if StoreKind::of_command(command) != Some(kind) {
        return Err(Error::InvalidInput(format!(
            "a {:?} request reached the {kind:?} store",
            StoreKind::of_command(command)
        )));
    }
    match route_command(command, shards) {
        Route::One(g) if g == group => Ok(()),
        Route::One(g) => Err(Error::InvalidInput(format!("the command belongs to raft group {g}, not {group}"))),
        Route::Split(parts) if parts.iter().all(|(g, _)| *g == group) => Ok(()),
        Route::Split(_) => Err(Error::InvalidInput("the command spans several shards; send one part per shard".into())),
    }
}

fn check_read(kind: StoreKind, group: GroupId, query: &Query, shards: u32) -> Result<(), Error> {
    if StoreKind::of_query(query) != Some(kind) {
        return Err(Error::InvalidInput(format!(
            "a {:?} query reached the {kind:?} store",
            StoreKind::of_query(query)
        )));
    }
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
        let shards = ctx.shard_map().shard_count();
        match msg {
            StoreMsg::Write { group, id, command, hops, reply } => {
                if let Err(e) = check_write(self.kind, group, &command, shards) {
                    let _ = reply.send(Err(e));
                    return Ok(());
                }
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let r = route::write(&ctx, group, strata_raft::Write { id, command }, hops).await;
                    let _ = reply.send(r);
                });
            }
            StoreMsg::Read { group, query, consistency, hops, reply } => {
                if let Err(e) = check_read(self.kind, group, &query, shards) {
                    let _ = reply.send(Err(e));
                    return Ok(());
                }
                let ctx = ctx.clone();
                tokio::spawn(async move {
                    let _ = reply.send(route::read(&ctx, group, query, consistency, hops).await);
                });
            }
        }
        Ok(())
    }
}
