//! The keys of a graph partition's records, in one place (the spaces are in
//! [`crate::keys::Space`]). Every part but the last is length-prefixed, so a prefix scan
//! over one node, label or property never runs into another.

use crate::keys::{self, Space};
use crate::vector::postings::ValueKey;
use serde_json::Value;
use strata_api::RelationKey;

/// `space, graph, parts[0], parts[1], ...` with every part length-prefixed.
pub fn prefix(space: Space, graph: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = keys::prefix(space, graph);
    for p in parts {
        k.extend_from_slice(&(p.len() as u32).to_be_bytes());
        k.extend_from_slice(p);
    }
    k
}

/// `prefix(space, graph, parts) ++ last` (the last part unprefixed).
pub fn key(space: Space, graph: &str, parts: &[&[u8]], last: &[u8]) -> Vec<u8> {
    let mut k = prefix(space, graph, parts);
    k.extend_from_slice(last);
    k
}

/// Splits the length-prefixed parts of `tail` (a key with its prefix cut off); the
/// remainder is the unprefixed last part.
pub fn split(mut tail: &[u8], prefixed: usize) -> Option<(Vec<&[u8]>, &[u8])> {
    let mut parts = Vec::with_capacity(prefixed);
    for _ in 0..prefixed {
        let len = u32::from_be_bytes(tail.get(..4)?.try_into().ok()?) as usize;
        parts.push(tail.get(4..4 + len)?);
        tail = &tail[4 + len..];
    }
    Some((parts, tail))
}

/// The index bytes of a scalar property value (`None`: not indexable — null, a list, an
/// object or NaN, found by a scan instead).
pub fn value_bytes(v: &Value) -> Option<Vec<u8>> {
    ValueKey::of(v)?.to_bytes()
}

/// `o`: a relation stored with its source.
pub fn out_key(graph: &str, r: &RelationKey) -> Vec<u8> {
    key(Space::GraphOut, graph, &[r.source_id.as_bytes(), r.label.as_bytes()], r.target_id.as_bytes())
}

/// `i`: a relation indexed at its target.
pub fn in_key(graph: &str, r: &RelationKey) -> Vec<u8> {
    key(Space::GraphIn, graph, &[r.target_id.as_bytes(), r.label.as_bytes()], r.source_id.as_bytes())
}

/// `L`: a relation stored here, by label.
pub fn rel_label_key(graph: &str, r: &RelationKey) -> Vec<u8> {
    key(Space::GraphRelLabel, graph, &[r.label.as_bytes(), r.source_id.as_bytes()], r.target_id.as_bytes())
}

/// `P`: a relation stored here, by a scalar property.
pub fn rel_prop_key(graph: &str, name: &str, value: &[u8], r: &RelationKey) -> Vec<u8> {
    key(
        Space::GraphRelProp,
        graph,
        &[name.as_bytes(), value, r.source_id.as_bytes(), r.label.as_bytes()],
        r.target_id.as_bytes(),
    )
}

/// `l`: a node by Cypher label.
pub fn label_key(graph: &str, label: &str, id: &str) -> Vec<u8> {
    key(Space::GraphLabel, graph, &[label.as_bytes()], id.as_bytes())
}

/// `p`: a node by a scalar property.
pub fn node_prop_key(graph: &str, name: &str, value: &[u8], id: &str) -> Vec<u8> {
    key(Space::GraphNodeProp, graph, &[name.as_bytes(), value], id.as_bytes())
}

/// Parses the relation of an `o` key (after its `prefix(GraphOut, graph, [])`).
pub fn parse_out(tail: &[u8]) -> Option<RelationKey> {
    let (parts, last) = split(tail, 2)?;
    Some(RelationKey {
        source_id: String::from_utf8(parts[0].to_vec()).ok()?,
        label: String::from_utf8(parts[1].to_vec()).ok()?,
        target_id: String::from_utf8(last.to_vec()).ok()?,
    })
}

/// Parses the relation of an `i` key (after its `prefix(GraphIn, graph, [])`).
pub fn parse_in(tail: &[u8]) -> Option<RelationKey> {
    let (parts, last) = split(tail, 2)?;
    Some(RelationKey {
        target_id: String::from_utf8(parts[0].to_vec()).ok()?,
        label: String::from_utf8(parts[1].to_vec()).ok()?,
        source_id: String::from_utf8(last.to_vec()).ok()?,
    })
}

/// Parses the relation of an `L` key (after its `prefix(GraphRelLabel, graph, [])`).
pub fn parse_rel_label(tail: &[u8]) -> Option<RelationKey> {
    let (parts, last) = split(tail, 2)?;
    Some(RelationKey {
        label: String::from_utf8(parts[0].to_vec()).ok()?,
        source_id: String::from_utf8(parts[1].to_vec()).ok()?,
        target_id: String::from_utf8(last.to_vec()).ok()?,
    })
}

/// Parses the relation of a `P` key (after its `prefix(GraphRelProp, graph, [name, value])`).
pub fn parse_rel_prop(tail: &[u8]) -> Option<RelationKey> {
    let (parts, last) = split(tail, 2)?;
    Some(RelationKey {
        source_id: String::from_utf8(parts[0].to_vec()).ok()?,
        label: String::from_utf8(parts[1].to_vec()).ok()?,
        target_id: String::from_utf8(last.to_vec()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_keys_parse_back_and_do_not_collide() {
        // LlamaIndex 0.14.25 filed both under "A_B_C_D"; here they are different keys.
        let a = RelationKey { source_id: "A_B".into(), label: "C".into(), target_id: "D".into() };
        let b = RelationKey { source_id: "A".into(), label: "B".into(), target_id: "C_D".into() };
        assert_ne!(out_key("g", &a), out_key("g", &b));
        let p = prefix(Space::GraphOut, "g", &[]).len();
        assert_eq!(parse_out(&out_key("g", &a)[p..]), Some(a.clone()));
        assert_eq!(parse_in(&in_key("g", &b)[p..]), Some(b.clone()));
        assert_eq!(parse_rel_label(&rel_label_key("g", &a)[p..]), Some(a));
    }

    #[test]
    fn a_prefix_scan_of_one_node_does_not_reach_another() {
        let ab = prefix(Space::GraphOut, "g", &[b"ab"]);
        let a = prefix(Space::GraphOut, "g", &[b"a"]);
        assert!(!ab.starts_with(&a));
    }

    #[test]
    fn python_equal_values_share_index_bytes() {
        use serde_json::json;
        assert_eq!(value_bytes(&json!(1)), value_bytes(&json!(1.0)));
        assert_eq!(value_bytes(&json!(true)), value_bytes(&json!(1)));
        assert_ne!(value_bytes(&json!("1")), value_bytes(&json!(1)));
        assert_eq!(value_bytes(&json!(null)), None);
        assert_eq!(value_bytes(&json!([1])), None);
    }
}
