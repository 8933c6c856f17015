//! The root actor: starts the meta and store actors linked to itself and restarts any
//! that fails or stops (the request path looks actors up by name, so a restarted actor
//! is found again).

use super::meta::MetaActor;
use super::store::StoreActor;
use super::{META_ACTOR, StoreKind};
use crate::ctx::NodeCtx;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SupervisionEvent};
use std::sync::Arc;

/// The supervisor (zero-sized behaviour; the state is the node context).
pub struct Supervisor;

async fn spawn_child(name: &str, ctx: Arc<NodeCtx>, supervisor: ActorCell) -> Result<(), ActorProcessingErr> {
    if name == META_ACTOR {
        Actor::spawn_linked(Some(name.to_string()), MetaActor, ctx, supervisor).await?;
        return Ok(());
    }
    let kind = StoreKind::ALL.into_iter().find(|k| k.actor_name() == name).ok_or("unknown child actor")?;
    Actor::spawn_linked(Some(name.to_string()), StoreActor { kind }, ctx, supervisor).await?;
    Ok(())
}

impl Actor for Supervisor {
    type Msg = ();
    type State = Arc<NodeCtx>;
    type Arguments = Arc<NodeCtx>;

    async fn pre_start(&self, myself: ActorRef<()>, ctx: Arc<NodeCtx>) -> Result<Self::State, ActorProcessingErr> {
        spawn_child(META_ACTOR, ctx.clone(), myself.get_cell()).await?;
        for kind in StoreKind::ALL {
            spawn_child(kind.actor_name(), ctx.clone(), myself.get_cell()).await?;
        }
        Ok(ctx)
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        ctx: &mut Arc<NodeCtx>,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, why) = match event {
            SupervisionEvent::ActorFailed(cell, e) => (cell, e.to_string()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => (cell, reason.unwrap_or_default()),
            _ => return Ok(()),
        };
        let Some(name) = cell.get_name() else { return Ok(()) };
        tracing::warn!(actor = %name, %why, "actor stopped; restarting it");
        let label = StoreKind::ALL
            .iter()
            .map(|k| k.actor_name())
            .chain([META_ACTOR])
            .find(|known| *known == name.as_str())
            .unwrap_or("other");
        strata_api::metrics::counters().actor_restarts.of(label, "").record("ok", std::time::Duration::ZERO);
        spawn_child(&name, ctx.clone(), myself.get_cell()).await
    }
}
