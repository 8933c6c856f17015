//! `strata vector query`: a LlamaIndex `VectorStoreQuery` in, LlamaIndex's
//! `VectorStoreQueryResult` out, both as JSON.

use super::CliError;
use serde_json::{Map, Value, json};
use strata_client::StorageContext;
use strata_client::api::VectorStoreQuery;

/// Runs the query in `input` against `namespace`; answers the result's JSON text.
pub async fn query(ctx: &StorageContext, namespace: &str, input: &str) -> Result<String, CliError> {
    let doc: Value = serde_json::from_str(input).map_err(|e| CliError::Usage(format!("the query is not JSON: {e}")))?;
    let Value::Object(mut fields) = doc else {
        return Err(CliError::Usage("the query must be a JSON object with VectorStoreQuery's fields".into()));
    };
    let kwargs = match fields.remove("query_kwargs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(CliError::Usage(format!("query_kwargs must be an object, not {other}"))),
    };
    let query: VectorStoreQuery = serde_json::from_value(Value::Object(fields))
        .map_err(|e| CliError::Usage(format!("not a VectorStoreQuery: {e}")))?;
    let result = ctx.vector_store_in(namespace).query_with_kwargs(&query, &kwargs).await?;
    let nodes: Vec<Value> = result.nodes.iter().map(|n| Value::Object(n.to_doc_json())).collect();
    let out = json!({"ids": result.ids, "similarities": result.similarities, "nodes": nodes});
    serde_json::to_string(&out).map_err(|e| CliError::Usage(e.to_string()))
}
