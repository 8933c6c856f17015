//! The operations of each store, as the Python classes call them: `store` and `op` name
//! the client method, `args` is a JSON object of its arguments in LlamaIndex's forms,
//! the answer is JSON text. Each store's operations are in its own file; every argument
//! is checked here (a malformed one is `InvalidInput`, and nothing is written).

mod args;
mod chat;
mod docstore;
mod graph;
mod kv;
mod property_graph;
mod vector;

use args::Args;
use serde_json::Value;
use strata_client::{Result, StorageContext};

/// Runs `store.op(args)`; `blob` carries embeddings where the operation takes them.
pub async fn run(ctx: &StorageContext, store: &str, op: &str, args: &str, blob: Option<&[u8]>) -> Result<String> {
    let args = Args::parse(args)?;
    let answer = match store {
        "kv" => kv::run(ctx, op, &args).await?,
        "docstore" => docstore::run(ctx, op, &args).await?,
        "index_store" => docstore::run_index_store(ctx, op, &args).await?,
        "chat" => chat::run(ctx, op, &args).await?,
        "vector" => vector::run(ctx, op, &args, blob).await?,
        "graph" => graph::run(ctx, op, &args).await?,
        "property_graph" => property_graph::run(ctx, op, &args, blob).await?,
        other => return Err(args::invalid(format!("unknown store {other:?}"))),
    };
    Ok(answer.to_string())
}

/// The error for an operation a store does not have.
fn unknown_op(store: &str, op: &str) -> strata_client::Error {
    args::invalid(format!("the {store} store has no operation {op:?}"))
}

/// `null` for `()`.
fn done() -> Value {
    Value::Null
}
