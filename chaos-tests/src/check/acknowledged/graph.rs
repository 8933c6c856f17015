//! The property graph: every acknowledged node readable and every acknowledged relation
//! traversable (in the final relations, with both ends, and in every rel map of either
//! end that began after it was acknowledged); nothing found that no upsert which may have
//! happened wrote. Nothing is deleted in this workload.

use super::{AckReport, Status, StoreRecord, answer, ended, status};
use crate::stores::calls::triplet_key;
use crate::stores::final_state::FinalState;
use crate::stores::{StoreAnswer, StoreCall};
use std::collections::BTreeMap;
use strata_client::api::LabelledNode;

type Triplet = (String, String, String);

/// Checks the graph operations of `history` against the final nodes and relations.
pub fn check(history: &[StoreRecord], state: &FinalState, report: &mut AckReport) {
    // Relation labels are unique in a run: each names its upsert.
    let mut relates: BTreeMap<&str, (Triplet, &StoreRecord)> = BTreeMap::new();
    for r in history {
        match &r.call {
            StoreCall::GraphNodes { names } if matches!(status(r), Status::Acked(_)) => {
                for name in names {
                    let id = LabelledNode::entity(name.clone(), "ENTITY").id;
                    if !state.graph_nodes.contains(&id) {
                        report.lost.push(format!("graph: acknowledged node {id} is missing at the end"));
                    }
                }
            }
            StoreCall::GraphRelate { source, label, target } => {
                relates.insert(label, (triplet_key(source, label, target), r));
            }
            _ => {}
        }
    }
    for (triplet, r) in relates.values() {
        if matches!(status(r), Status::Acked(_)) {
            if !state.relations.contains(triplet) {
                report.lost.push(format!("graph: acknowledged relation {triplet:?} is missing at the end"));
            }
            for end in [&triplet.0, &triplet.2] {
                if !state.graph_nodes.contains(end) {
                    report.lost.push(format!("graph: relation {triplet:?} is there but its end {end} is not"));
                }
            }
        }
    }
    for t in &state.relations {
        phantom(t, &relates, u64::MAX, "at the end", report);
    }
    for r in history {
        let (StoreCall::GraphRelMap { name }, Some(StoreAnswer::Triplets(found))) = (&r.call, answer(r)) else {
            continue;
        };
        let id = LabelledNode::entity(name.clone(), "ENTITY").id;
        let at = format!("in a rel map of {id} at {} ns", r.invoked);
        for (t, rec) in relates.values() {
            let touches = t.0 == id || t.2 == id;
            if touches && matches!(status(rec), Status::Acked(done) if done < r.invoked) && !found.contains(t) {
                report.lost.push(format!("graph: acknowledged relation {t:?} is missing {at}"));
            }
        }
        for t in found {
            phantom(t, &relates, ended(r), &at, report);
        }
    }
}

fn phantom(t: &Triplet, relates: &BTreeMap<&str, (Triplet, &StoreRecord)>, by: u64, at: &str, report: &mut AckReport) {
    let possible = relates
        .get(t.1.as_str())
        .is_some_and(|(written, r)| written == t && status(r) != Status::Failed && r.invoked < by);
    if !possible {
        report.phantom.push(format!("graph: relation {t:?}, never upserted, is there {at}"));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{acked, op, read};
    use super::*;

    fn relate(s: &str, l: &str, t: &str) -> StoreCall {
        StoreCall::GraphRelate { source: s.into(), label: l.into(), target: t.into() }
    }
    fn state(nodes: &[&str], relations: &[(&str, &str, &str)]) -> FinalState {
        FinalState {
            graph_nodes: nodes.iter().map(|n| n.to_string()).collect(),
            relations: relations.iter().map(|(s, l, t)| triplet_key(s, l, t)).collect(),
            ..FinalState::default()
        }
    }
    fn run(h: &[StoreRecord], s: &FinalState) -> AckReport {
        let mut r = AckReport::default();
        check(h, s, &mut r);
        r
    }

    #[test]
    fn acknowledged_nodes_and_relations_must_be_there() {
        let h = vec![
            acked(StoreCall::GraphNodes { names: vec!["a".into()] }, 0, 10),
            acked(relate("a", "r1", "b"), 11, 20),
            op(relate("b", "r2", "c"), 21, None),
        ];
        assert!(run(&h, &state(&["a", "b"], &[("a", "r1", "b")])).passed());
        assert!(run(&h, &state(&["a", "b", "c"], &[("a", "r1", "b"), ("b", "r2", "c")])).passed());
        assert_eq!(run(&h, &state(&["b"], &[("a", "r1", "b")])).lost.len(), 2, "node a and the end of r1");
        assert_eq!(run(&h, &state(&["a", "b"], &[])).lost.len(), 1, "r1");
        assert_eq!(run(&h, &state(&["a", "b"], &[("a", "r1", "b"), ("a", "r9", "b")])).phantom.len(), 1);
    }

    #[test]
    fn a_rel_map_must_show_relations_acknowledged_before_it() {
        let h = vec![
            acked(relate("a", "r1", "b"), 0, 10),
            read(StoreCall::GraphRelMap { name: "b".into() }, 11, 12, StoreAnswer::Triplets(vec![])),
        ];
        assert_eq!(run(&h, &state(&["a", "b"], &[("a", "r1", "b")])).lost.len(), 1, "b's rel map misses r1");
        let concurrent = vec![
            acked(relate("a", "r1", "b"), 0, 10),
            read(StoreCall::GraphRelMap { name: "b".into() }, 5, 12, StoreAnswer::Triplets(vec![])),
        ];
        assert!(run(&concurrent, &state(&["a", "b"], &[("a", "r1", "b")])).passed());
    }
}
