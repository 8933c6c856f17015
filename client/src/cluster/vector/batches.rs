//! Splitting one partition's share of a vector add into writes a node accepts.
//!
//! A node refuses a request past its limits (`max_items_per_request`, the frame size),
//! and one raft entry of hundreds of megabytes would hold up every other write to its
//! group while it replicates. So the client writes a partition's records in batches of
//! at most [`CLIENT_BATCH_ITEMS`] records and about [`CLIENT_BATCH_BYTES`] bytes, one
//! after another and in insertion order (the limits' `validate` makes every node accept
//! such a batch). A single record larger than the byte bound is a batch by itself, left
//! for the node's limits to judge.

use strata_api::VectorRecord;
use strata_api::limits::{CLIENT_BATCH_BYTES, CLIENT_BATCH_ITEMS};

/// About how many bytes `r` takes on the wire.
fn wire_bytes(r: &VectorRecord) -> usize {
    let text = |t: &strata_api::JsonText| t.as_str().len();
    r.embedding.len() * 4
        + r.node_id.len()
        + r.ref_doc_id.as_ref().map_or(0, String::len)
        + text(&r.metadata)
        + r.node.as_ref().map_or(0, text)
        + 32
}

/// Splits `records` (with their insertion stamps `order`, one each) into consecutive
/// batches within `max_items` records and about `max_bytes` bytes.
pub fn split(
    records: Vec<VectorRecord>,
    order: Vec<u64>,
    max_items: usize,
    max_bytes: usize,
) -> Vec<(Vec<VectorRecord>, Vec<u64>)> {
    let mut out: Vec<(Vec<VectorRecord>, Vec<u64>)> = Vec::new();
    let mut bytes = 0;
    for (r, stamp) in records.into_iter().zip(order) {
        let size = wire_bytes(&r);
        let start_new = match out.last() {
            None => true,
            Some((batch, _)) => batch.len() >= max_items || (!batch.is_empty() && bytes + size > max_bytes),
        };
        if start_new {
            out.push((Vec::new(), Vec::new()));
            bytes = 0;
        }
        bytes += size;
        if let Some((batch, stamps)) = out.last_mut() {
            batch.push(r);
            stamps.push(stamp);
        }
    }
    out
}

/// [`split`] at the client's bounds.
pub fn for_writes(records: Vec<VectorRecord>, order: Vec<u64>) -> Vec<(Vec<VectorRecord>, Vec<u64>)> {
    split(records, order, CLIENT_BATCH_ITEMS, CLIENT_BATCH_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(i: usize, dim: usize) -> VectorRecord {
        VectorRecord {
            node_id: format!("n{i}"),
            embedding: vec![0.5; dim],
            ref_doc_id: None,
            metadata: strata_api::JsonText::from_map(&Default::default()),
            node: None,
            exact_f32: true,
        }
    }

    proptest! {
        /// Batches keep every record once, in order with its stamp, and stay within both
        /// bounds (a record past the byte bound alone in its batch).
        #[test]
        fn batches_keep_order_and_bounds(
            dims in prop::collection::vec(1usize..300, 0..200),
            max_items in 1usize..20,
            max_bytes in 64usize..4000,
        ) {
            let records: Vec<VectorRecord> = dims.iter().enumerate().map(|(i, d)| record(i, *d)).collect();
            let order: Vec<u64> = (100..).take(records.len()).collect();
            let batches = split(records.clone(), order.clone(), max_items, max_bytes);
            let flat: Vec<(String, u64)> = batches
                .iter()
                .flat_map(|(rs, os)| rs.iter().map(|r| r.node_id.clone()).zip(os.iter().copied()))
                .collect();
            let want: Vec<(String, u64)> = records.iter().map(|r| r.node_id.clone()).zip(order).collect();
            prop_assert_eq!(flat, want);
            for (rs, os) in &batches {
                prop_assert!(!rs.is_empty() && rs.len() <= max_items && rs.len() == os.len());
                let bytes: usize = rs.iter().map(wire_bytes).sum();
                prop_assert!(rs.len() == 1 || bytes <= max_bytes, "{} records, {} bytes", rs.len(), bytes);
            }
        }
    }

    #[test]
    fn an_add_past_the_item_limit_is_split_below_it() {
        let n = 2 * CLIENT_BATCH_ITEMS + 1;
        let records: Vec<VectorRecord> = (0..n).map(|i| record(i, 4)).collect();
        let sizes: Vec<usize> = for_writes(records, (0..n as u64).collect()).iter().map(|(r, _)| r.len()).collect();
        assert_eq!(sizes, vec![CLIENT_BATCH_ITEMS, CLIENT_BATCH_ITEMS, 1]);
    }
}
