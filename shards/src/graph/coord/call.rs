//! A [`GraphCall`] (a multi-round read) answered over any [`Partitions`]: what an embedded
//! store runs in-process and what a node runs for a cluster client, one code path.

use super::{Partitions, Result, rel_map, triplets};
use strata_api::{GraphCall, Response};

/// Runs `call`: `GraphTriplets`, `GraphRelMap` or `GraphRows`.
pub async fn run(parts: &impl Partitions, call: GraphCall) -> Result<Response> {
    Ok(match call {
        GraphCall::RelMap { seeds, depth, limit, ignore_rels, .. } => Response::GraphTriplets(
            rel_map::get_rel_map(parts, &seeds, depth as usize, limit as usize, &ignore_rels).await?,
        ),
        GraphCall::TripletRelMap { subjs, depth, limit, .. } => {
            Response::GraphRelMap(triplets::get_rel_map(parts, subjs.as_deref(), depth as usize, limit as usize).await?)
        }
        GraphCall::Cypher { query, params, .. } => {
            Response::GraphRows(crate::graph::cypher::structured_query(parts, &query, &params).await?)
        }
    })
}

/// The usize a call carries as u32 (saturating: a larger depth or limit means "all").
pub fn wire_count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
