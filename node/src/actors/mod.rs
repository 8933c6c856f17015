//! The node's actors: one per store type (document, index, KV, chat, vector, graph), which validate and
//! route that store's requests, and the meta actor, which owns the shard map, under a
//! supervisor that restarts whichever fails.
//!
//! ```text
//!                    supervisor
//!   ┌──────────┬──────────┴──┬───────┬──────┬────────┬───────┐
//!  meta    docstore   index_store   kv    chat   vector   graph
//! ```
//!
//! Actors never await raft inside their handlers: each request is validated in the
//! mailbox, then served by a spawned task that answers through the reply port, so a slow
//! commit never blocks the next request.

pub mod meta;
pub mod store;
pub mod supervisor;

use ractor::{ActorRef, RpcReplyPort, rpc::CallResult};
use std::time::Duration;
use strata_api::{Command, Error, Query};

/// The store types, one actor each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `KVDocumentStore`.
    Docstore,
    /// `KVIndexStore`.
    IndexStore,
    /// The key-value store.
    Kv,
    /// The chat store.
    Chat,
    /// The vector stores.
    Vector,
    /// The graph stores (triplet and property graph).
    Graph,
}

impl StoreKind {
    /// Every kind.
    pub const ALL: [StoreKind; 6] = [
        StoreKind::Docstore,
        StoreKind::IndexStore,
        StoreKind::Kv,
        StoreKind::Chat,
        StoreKind::Vector,
        StoreKind::Graph,
    ];

    /// The actor's registered name.
    pub fn actor_name(self) -> &'static str {
        match self {
            StoreKind::Docstore => "strata.docstore",
            StoreKind::IndexStore => "strata.index_store",
            StoreKind::Kv => "strata.kv",
            StoreKind::Chat => "strata.chat",
            StoreKind::Vector => "strata.vector",
            StoreKind::Graph => "strata.graph",
        }
    }

    /// The store a command belongs to (none for meta commands, which clients cannot send).
    pub fn of_command(cmd: &Command) -> Option<Self> {
        match cmd {
            Command::Kv(_) => Some(StoreKind::Kv),
            Command::Docstore(_) => Some(StoreKind::Docstore),
            Command::IndexStore(_) => Some(StoreKind::IndexStore),
            Command::Chat(_) => Some(StoreKind::Chat),
            Command::Vector(_) => Some(StoreKind::Vector),
            Command::Graph(_) => Some(StoreKind::Graph),
            Command::Meta(_) | Command::Restore(_) => None,
        }
    }

    /// The store a query belongs to (none for meta queries).
    pub fn of_query(q: &Query) -> Option<Self> {
        match q {
            Query::Kv(_) => Some(StoreKind::Kv),
            Query::Docstore(_) => Some(StoreKind::Docstore),
            Query::IndexStore(_) => Some(StoreKind::IndexStore),
            Query::Chat(_) => Some(StoreKind::Chat),
            Query::Vector(_) => Some(StoreKind::Vector),
            Query::Graph(_) => Some(StoreKind::Graph),
            Query::Meta(_) => None,
        }
    }
}

/// The meta actor's registered name.
pub const META_ACTOR: &str = "strata.meta";

/// Sends a request to a named actor and waits for its answer (at most `timeout`).
pub async fn ask<M, T>(
    name: &str,
    build: impl FnOnce(RpcReplyPort<Result<T, Error>>) -> M,
    timeout: Duration,
) -> Result<T, Error>
where
    M: ractor::Message,
    T: Send + 'static,
{
    let actor: ActorRef<M> =
        ActorRef::where_is(name).ok_or_else(|| Error::Unavailable(format!("actor {name} is restarting")))?;
    match actor.call(build, Some(timeout)).await {
        Ok(CallResult::Success(r)) => r,
        Ok(CallResult::Timeout) => Err(Error::Unavailable(format!("{name}: no answer within {timeout:?}"))),
        Ok(CallResult::SenderError) | Err(_) => Err(Error::Unavailable(format!("actor {name} stopped"))),
    }
}
