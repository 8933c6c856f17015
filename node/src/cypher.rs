//! What a Cypher query may spend on this node: the node's `[limits]`, with the time a
//! key's own `cypher_time_ms` gives it.

use std::time::Duration;
use strata_api::Limits;
use strata_api::access::Access;
use strata_shards::graph::cypher::budget::CypherLimits;

/// The limits of a query run for a connection holding `access`.
pub fn limits_for(limits: &Limits, access: &Access) -> CypherLimits {
    CypherLimits {
        max_depth: limits.cypher_max_depth,
        max_memory_bytes: limits.cypher_memory_bytes,
        max_time: Duration::from_millis(access.cypher_time_ms.unwrap_or(limits.cypher_time_ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_s_own_time_wins() {
        let limits = Limits { cypher_time_ms: 5_000, ..Limits::default() };
        let mut access = Access::everything("k");
        assert_eq!(limits_for(&limits, &access).max_time, Duration::from_secs(5));
        access.cypher_time_ms = Some(250);
        assert_eq!(limits_for(&limits, &access).max_time, Duration::from_millis(250));
        assert_eq!(limits_for(&limits, &access).max_memory_bytes, limits.cypher_memory_bytes);
    }
}
