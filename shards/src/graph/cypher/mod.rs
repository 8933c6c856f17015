//! `structured_query`: a read-only Cypher subset, parsed into a typed plan and run over a
//! graph's partitions (the same code embedded and on a cluster).
//!
//! Supported: `MATCH` / `OPTIONAL MATCH` (labels, backtick names, `:A|B` types, all
//! three directions, `*min..max` paths, property maps, named paths), `WHERE` (comparisons,
//! `AND/OR/XOR/NOT`, `IN`, `IS [NOT] NULL`, `STARTS WITH`, `ENDS WITH`, `CONTAINS`),
//! `$parameters`, `WITH`, `UNWIND`, `RETURN` (aliases, `DISTINCT`, `*`), aggregates
//! (`count`, `collect`, `min`, `max`, `avg`, `sum`, with `DISTINCT`), `ORDER BY`, `SKIP`,
//! `LIMIT`, list comprehensions and `ANY/ALL/NONE/SINGLE`, `CASE`, and the functions of
//! [`functions`]. Writes, procedures and everything else are refused with
//! `UnsupportedCypher` naming the construct.
//!
//! LlamaIndex's nodes look to Cypher as they do in Neo4j ([`crate::graph::view`]):
//! entities carry `__Entity__`, chunks `Chunk`, both `__Node__` and their own label; the
//! `(chunk)-[:MENTIONS]->(entity)` edges are derived from `triplet_source_id`. Results
//! are rows keyed by alias or expression text, nodes as property maps without embeddings.
//!
//! | module | job |
//! | --- | --- |
//! | [`lexer`] | tokens with their spans |
//! | [`parser`] | tokens to the plan ([`ast`]); refusals |
//! | [`value`] | runtime values, equality, ordering, result forms |
//! | [`eval`] | expressions on a row |
//! | [`functions`] | scalar functions |
//! | [`matcher`] | patterns over partitions, a hop per round |
//! | [`exec`] | clauses, projections, aggregation |
//! | [`budget`] | what one query may spend: depth, memory, time; its cancel flag |
//! | [`pool`] | the threads queries run on (never the async workers) |

pub mod ast;
pub mod budget;
pub mod eval;
pub mod exec;
pub mod functions;
pub mod lexer;
pub mod matcher;
pub mod parser;
pub mod pool;
pub mod value;

use super::coord::Partitions;
use serde_json::{Map, Value};
use strata_api::Error;

/// The most rows a clause may produce (a bound on memory for any query).
pub const MAX_ROWS: usize = 200_000;
/// The most hops a variable-length relation may take (`*` alone means up to this many).
pub const MAX_HOPS: usize = 10;

/// `structured_query(query, param_map)`: the rows of a read-only Cypher query, run here
/// on `budget` (what [`pool::run`] runs on a pool thread; tests call it directly).
pub async fn structured_query<P: Partitions>(
    parts: &P,
    query: &str,
    params: &Map<String, Value>,
    budget: &budget::Budget,
) -> Result<Vec<Map<String, Value>>, Error> {
    let plan = parser::parse_within(query, budget.limits().max_depth)?;
    exec::run(parts, &plan, params, budget).await
}
