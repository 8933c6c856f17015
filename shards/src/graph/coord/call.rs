//! A [`GraphCall`] (a multi-round read) answered over any [`Partitions`]: what an embedded
//! store runs in-process and what a node runs for a cluster client, one code path.

use super::{Partitions, Result, rel_map, triplets};
use strata_api::{GraphCall, Response};

/// Runs a traversal `call`: `GraphTriplets` or `GraphRelMap`. Cypher does not run here
/// but on the query pool ([`crate::graph::cypher::pool::run`], which needs the
/// partitions owned): its callers send it there.
pub async fn run(parts: &impl Partitions, call: GraphCall) -> Result<Response> {
    Ok(match call {
        GraphCall::RelMap { seeds, depth, limit, ignore_rels, .. } => Response::GraphTriplets(
            rel_map::get_rel_map(parts, &seeds, depth as usize, limit as usize, &ignore_rels).await?,
        ),
        GraphCall::TripletRelMap { subjs, depth, limit, .. } => {
            Response::GraphRelMap(triplets::get_rel_map(parts, subjs.as_deref(), depth as usize, limit as usize).await?)
        }
        GraphCall::Cypher { .. } => {
            return Err(strata_api::Error::InvalidInput(
                "a Cypher call runs on the query pool (cypher::pool::run), not in the traversal runner".into(),
            ));
        }
    })
}

/// The usize a call carries as u32 (saturating: a larger depth or limit means "all").
pub fn wire_count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
