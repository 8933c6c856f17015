//! The meta actor: owns this node's copy of the shard map (fed from the meta group's
//! replica), publishes it to the request path, opens and drops the node's shard groups
//! as the map assigns them, and serves joins and removals.

use crate::ctx::NodeCtx;
use crate::route;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use strata_api::{Command, Error, META_GROUP, MetaCommand, NodeId, NodeInfo, Response, ShardMap};

/// A request to the meta actor.
pub enum MetaMsg {
    /// The meta group applied something: here is its map.
    MapChanged(ShardMap),
    /// Adds a node; answers its id.
    Join(NodeInfo, RpcReplyPort<Result<NodeId, Error>>),
    /// Removes a node.
    Remove(NodeId, RpcReplyPort<Result<(), Error>>),
}

/// The meta actor (zero-sized behaviour).
pub struct MetaActor;

/// Its state: the node context and the newest map seen.
pub struct MetaState {
    ctx: Arc<NodeCtx>,
    epoch: u64,
}

async fn meta_write(ctx: &Arc<NodeCtx>, cmd: MetaCommand) -> Result<Response, Error> {
    route::write(ctx, META_GROUP, strata_raft::Write { id: None, command: Command::Meta(cmd) }, 0)
        .await
        .map(|s| s.response)
}

impl Actor for MetaActor {
    type Msg = MetaMsg;
    type State = MetaState;
    type Arguments = Arc<NodeCtx>;

    async fn pre_start(&self, _: ActorRef<Self::Msg>, ctx: Arc<NodeCtx>) -> Result<Self::State, ActorProcessingErr> {
        // Started or restarted: take the map the request path already serves, so nothing
        // applied while this actor was down is missed.
        Ok(MetaState { epoch: ctx.map_epoch(), ctx })
    }

    async fn post_start(&self, _: ActorRef<Self::Msg>, state: &mut MetaState) -> Result<(), ActorProcessingErr> {
        if let Some(meta) = state.ctx.registry.get(META_GROUP) {
            let q = strata_api::Query::Meta(strata_api::MetaQuery::ShardMap);
            if let Ok(Response::ShardMap(map)) = meta.read(q, strata_api::ReadConsistency::StaleOk).await
                && map.epoch > state.epoch
            {
                state.epoch = map.epoch;
                state.ctx.publish_map(map);
            }
        }
        let ctx = state.ctx.clone();
        tokio::spawn(async move { ctx.reconcile_local_groups().await });
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        msg: MetaMsg,
        state: &mut MetaState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            MetaMsg::MapChanged(map) => {
                if map.epoch > state.epoch {
                    state.epoch = map.epoch;
                    state.ctx.publish_map(map);
                    let ctx = state.ctx.clone();
                    tokio::spawn(async move { ctx.reconcile_local_groups().await });
                }
            }
            MetaMsg::Join(node, reply) => {
                let ctx = state.ctx.clone();
                tokio::spawn(async move {
                    let r = match meta_write(&ctx, MetaCommand::AddNode { node }).await {
                        Ok(Response::NodeId(id)) => Ok(id),
                        Ok(other) => Err(Error::Cluster(format!("join answered {other:?}"))),
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(r);
                });
            }
            MetaMsg::Remove(id, reply) => {
                let ctx = state.ctx.clone();
                tokio::spawn(async move {
                    let _ = reply.send(meta_write(&ctx, MetaCommand::RemoveNode { id }).await.map(|_| ()));
                });
            }
        }
        Ok(())
    }
}
