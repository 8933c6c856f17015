//! Ref docs in the docstore and the vector store: every acknowledged add readable whole
//! until a delete of it is sent, nothing readable that an acknowledged delete removed or
//! that no add which may have happened wrote; vector queries answer only such nodes.

use super::{AckReport, Status, StoreRecord, answer, ended, status};
use crate::stores::calls::{node_ids, ref_doc_of};
use crate::stores::{StoreAnswer, StoreCall};
use std::collections::{BTreeMap, BTreeSet};

/// Which store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The docstore (`get_ref_doc_info`).
    Docs,
    /// The vector store (`get_nodes`, `query`).
    Vectors,
}

/// One ref doc's add and deletes.
#[derive(Default)]
struct RefDoc<'a> {
    add: Option<&'a StoreRecord>,
    ids: BTreeSet<String>,
    deletes: Vec<&'a StoreRecord>,
}

impl RefDoc<'_> {
    /// When the add was acknowledged.
    fn acked_at(&self) -> Option<u64> {
        match self.add.map(status) {
            Some(Status::Acked(t)) => Some(t),
            _ => None,
        }
    }

    /// Whether the add may have happened.
    fn may_exist(&self) -> bool {
        self.add.is_some_and(|a| status(a) != Status::Failed)
    }

    /// Whether a delete that may have happened was sent before `t`.
    fn delete_sent_before(&self, t: u64) -> bool {
        self.deletes.iter().any(|d| status(d) != Status::Failed && d.invoked < t)
    }

    /// Whether a delete was acknowledged before `t`, after an acknowledged add (an
    /// unknown add may land after the delete, so only an acknowledged one counts).
    fn deleted_before(&self, t: u64) -> bool {
        self.acked_at().is_some() && self.deletes.iter().any(|d| matches!(status(d), Status::Acked(at) if at < t))
    }
}

fn ref_docs(history: &[StoreRecord], kind: Kind) -> BTreeMap<&str, RefDoc<'_>> {
    let mut out: BTreeMap<&str, RefDoc<'_>> = BTreeMap::new();
    for r in history {
        match (&r.call, kind) {
            (StoreCall::DocAdd { ref_doc, nodes }, Kind::Docs)
            | (StoreCall::VectorAdd { ref_doc, nodes }, Kind::Vectors) => {
                let e = out.entry(ref_doc).or_default();
                e.add = Some(r);
                e.ids = node_ids(ref_doc, *nodes).into_iter().collect();
            }
            (StoreCall::DocDelete { ref_doc }, Kind::Docs) | (StoreCall::VectorDelete { ref_doc }, Kind::Vectors) => {
                out.entry(ref_doc).or_default().deletes.push(r)
            }
            _ => {}
        }
    }
    out
}

/// Checks `kind`'s operations of `history` against `finals` (ref doc → node ids present).
pub fn check(history: &[StoreRecord], kind: Kind, finals: &BTreeMap<String, Vec<String>>, report: &mut AckReport) {
    let docs = ref_docs(history, kind);
    let none = RefDoc::default();
    let name = match kind {
        Kind::Docs => "docstore",
        Kind::Vectors => "vector store",
    };
    for (ref_doc, ids) in finals {
        let doc = docs.get(ref_doc.as_str()).unwrap_or(&none);
        seen(name, ref_doc, ids, doc, u64::MAX, u64::MAX, "at the end", report);
    }
    for (ref_doc, doc) in &docs {
        if doc.acked_at().is_some() && !doc.delete_sent_before(u64::MAX) && !finals.contains_key(*ref_doc) {
            report.lost.push(format!("{name}: acknowledged ref doc {ref_doc} is missing at the end"));
        }
    }
    for r in history {
        match (&r.call, answer(r)) {
            (StoreCall::DocRead { ref_doc }, Some(StoreAnswer::Ids(ids))) if kind == Kind::Docs => {
                let doc = docs.get(ref_doc.as_str()).unwrap_or(&none);
                let at = format!("in a read at {} ns", r.invoked);
                match ids {
                    Some(ids) => seen(name, ref_doc, ids, doc, r.invoked, ended(r), &at, report),
                    None => {
                        if doc.acked_at().is_some_and(|t| t < r.invoked) && !doc.delete_sent_before(ended(r)) {
                            report.lost.push(format!("{name}: acknowledged ref doc {ref_doc} is missing {at}"));
                        }
                    }
                }
            }
            (StoreCall::VectorQuery { .. }, Some(StoreAnswer::Ids(Some(ids)))) if kind == Kind::Vectors => {
                for id in ids {
                    let doc = docs.get(ref_doc_of(id)).unwrap_or(&none);
                    let sent_in_time = doc.add.is_some_and(|a| a.invoked < ended(r));
                    if !doc.may_exist() || !sent_in_time || !doc.ids.contains(id) {
                        report.phantom.push(format!("{name}: a query at {} ns found {id}, never added", r.invoked));
                    } else if doc.deleted_before(r.invoked) {
                        report.phantom.push(format!("{name}: a query at {} ns found {id}, deleted before", r.invoked));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Checks one sighting of a ref doc's node ids by a read from `from` to `to`.
#[allow(clippy::too_many_arguments)] // one sighting, named field by field
fn seen(
    name: &str,
    ref_doc: &str,
    ids: &[String],
    doc: &RefDoc<'_>,
    from: u64,
    to: u64,
    at: &str,
    report: &mut AckReport,
) {
    if !doc.may_exist() || doc.add.is_some_and(|a| a.invoked > to) {
        report.phantom.push(format!("{name}: ref doc {ref_doc}, never added, is there {at}"));
        return;
    }
    if let Some(id) = ids.iter().find(|id| !doc.ids.contains(*id)) {
        report.phantom.push(format!("{name}: ref doc {ref_doc} holds {id}, never added to it, {at}"));
    }
    if doc.deleted_before(from) {
        report.phantom.push(format!("{name}: ref doc {ref_doc} is there {at}, after its delete was acknowledged"));
    }
    let whole = ids.len() == doc.ids.len() && ids.iter().all(|id| doc.ids.contains(id));
    let must_be_whole = doc.acked_at().is_some_and(|t| t < from) && !doc.delete_sent_before(to);
    if must_be_whole && !whole {
        report.torn.push(format!(
            "{name}: acknowledged ref doc {ref_doc} holds {} of its {} nodes {at}",
            ids.len(),
            doc.ids.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{acked, op, read};
    use super::*;
    use crate::history::Outcome;

    fn add(r: &str, n: u32) -> StoreCall {
        StoreCall::DocAdd { ref_doc: r.into(), nodes: n }
    }
    fn delete(r: &str) -> StoreCall {
        StoreCall::DocDelete { ref_doc: r.into() }
    }
    fn get(r: &str) -> StoreCall {
        StoreCall::DocRead { ref_doc: r.into() }
    }
    fn ids(r: &str, n: u32) -> Vec<String> {
        node_ids(r, n)
    }
    fn run(h: &[StoreRecord], finals: &[(&str, Vec<String>)]) -> AckReport {
        let f = finals.iter().map(|(r, ids)| (r.to_string(), ids.clone())).collect();
        let mut report = AckReport::default();
        check(h, Kind::Docs, &f, &mut report);
        report
    }

    #[test]
    fn adds_deletes_and_reads_that_agree_pass() {
        let h = vec![
            acked(add("a", 2), 0, 10),
            read(get("a"), 11, 12, StoreAnswer::Ids(Some(ids("a", 2)))),
            acked(delete("a"), 13, 20),
            read(get("a"), 21, 22, StoreAnswer::Ids(None)),
            op(add("b", 3), 23, None),
            acked(add("c", 1), 24, 30),
        ];
        assert!(run(&h, &[("c", ids("c", 1))]).passed());
        assert!(run(&h, &[("b", ids("b", 3)), ("c", ids("c", 1))]).passed(), "an unknown add may land");
        assert!(run(&h, &[("b", ids("b", 1)), ("c", ids("c", 1))]).passed(), "in part, when not acknowledged");
    }

    #[test]
    fn a_lost_a_torn_and_a_resurrected_ref_doc_are_named() {
        let h = vec![acked(add("a", 2), 0, 10), acked(add("b", 2), 0, 10), acked(delete("b"), 11, 20)];
        assert_eq!(run(&h, &[]).lost.len(), 1, "a is missing");
        assert_eq!(run(&h, &[("a", ids("a", 1))]).torn.len(), 1, "a in part");
        assert_eq!(run(&h, &[("a", ids("a", 2)), ("b", ids("b", 2))]).phantom.len(), 1, "b came back");
        let failed = vec![op(add("f", 1), 0, Some((5, Outcome::Fail("refused".into()))))];
        assert_eq!(run(&failed, &[("f", ids("f", 1))]).phantom.len(), 1, "a failed add cannot land");
    }

    #[test]
    fn a_stale_read_is_lost_unless_a_delete_was_under_way() {
        let stale = vec![acked(add("a", 1), 0, 10), read(get("a"), 11, 12, StoreAnswer::Ids(None))];
        assert_eq!(run(&stale, &[("a", ids("a", 1))]).lost.len(), 1);
        let racing =
            vec![acked(add("a", 1), 0, 10), op(delete("a"), 11, None), read(get("a"), 12, 13, StoreAnswer::Ids(None))];
        assert!(run(&racing, &[]).passed(), "the unknown delete may have landed first");
    }

    #[test]
    fn a_query_finding_a_deleted_or_unknown_vector_is_judged_by_its_delete() {
        let vadd = |r: &str| StoreCall::VectorAdd { ref_doc: r.into(), nodes: 1 };
        let vdel = |r: &str| StoreCall::VectorDelete { ref_doc: r.into() };
        let query = StoreCall::VectorQuery { near: "x".into() };
        let h = vec![
            acked(vadd("a"), 0, 10),
            acked(vdel("a"), 11, 20),
            read(query.clone(), 21, 22, StoreAnswer::Ids(Some(ids("a", 1)))),
        ];
        let mut r = AckReport::default();
        check(&h, Kind::Vectors, &BTreeMap::new(), &mut r);
        assert_eq!(r.phantom.len(), 1, "found after its delete was acknowledged");
        let unknown = vec![
            op(vadd("a"), 0, None),
            acked(vdel("a"), 11, 20),
            read(query, 21, 22, StoreAnswer::Ids(Some(ids("a", 1)))),
        ];
        let mut r = AckReport::default();
        check(&unknown, Kind::Vectors, &BTreeMap::new(), &mut r);
        assert!(r.passed(), "an unknown add may land after the delete: {r:?}");
    }
}
