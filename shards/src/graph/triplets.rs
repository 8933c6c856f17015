//! The triplet `GraphStore` (LlamaIndex's `SimpleGraphStore`): per subject, an ordered
//! list of distinct `[rel, obj]` pairs, subjects in the order they first got one (the
//! `graph_dict` dict order). A subject lives in its partition; its whole list with it.

use crate::error::{Error, Result};
use crate::keys::Space;
use crate::ordered::{OrderedMap, Reader};
use crate::txn::Txn;
use strata_api::model::Pairs;

fn subjects(graph: &str) -> OrderedMap<'_> {
    OrderedMap::new(Space::GraphSubject, graph)
}

/// The name of a subject's pair map: the graph and the subject (names are
/// length-prefixed in keys, so any text is safe here).
fn pairs_name(graph: &str, subject: &str) -> String {
    format!("{}\0{graph}{subject}", graph.len())
}

fn pair_key(rel: &str, obj: &str) -> String {
    serde_json::to_string(&[rel, obj]).unwrap_or_default()
}

/// `upsert_triplet(subj, rel, obj)`: appends the pair unless the subject has it; a new
/// subject is filed at `stamp` or later.
pub fn upsert(txn: &mut Txn<'_>, graph: &str, (subj, rel, obj): (&str, &str, &str), stamp: u64) -> Result<()> {
    if !subjects(graph).contains(txn, subj)? {
        subjects(graph).put_at(txn, subj, b"", stamp)?;
    }
    let name = pairs_name(graph, subj);
    let pairs = OrderedMap::new(Space::GraphPair, &name);
    let key = pair_key(rel, obj);
    if !pairs.contains(txn, &key)? {
        pairs.put(txn, &key, b"")?;
    }
    Ok(())
}

/// `delete(subj, rel, obj)`: removes the pair; a subject left with none goes too.
pub fn delete(txn: &mut Txn<'_>, graph: &str, (subj, rel, obj): (&str, &str, &str)) -> Result<bool> {
    let name = pairs_name(graph, subj);
    let pairs = OrderedMap::new(Space::GraphPair, &name);
    if !pairs.remove(txn, &pair_key(rel, obj))? {
        return Ok(false);
    }
    if pairs.keys(txn)?.is_empty() {
        subjects(graph).remove(txn, subj)?;
    }
    Ok(true)
}

/// The first `cap` pairs of a subject (none when it has no list).
fn list(r: &impl Reader, graph: &str, subj: &str, cap: usize) -> Result<Pairs> {
    let name = pairs_name(graph, subj);
    let mut out = Vec::new();
    for key in OrderedMap::new(Space::GraphPair, &name).keys(r)?.into_iter().take(cap) {
        let [rel, obj]: [String; 2] =
            serde_json::from_str(&key).map_err(|e| Error::Corrupt(format!("triplet pair: {e}")))?;
        out.push((rel, obj));
    }
    Ok(out)
}

/// `(subject, position, first cap pairs)` of the asked subjects that have a list (or of
/// every subject, in order).
pub fn lists(r: &impl Reader, graph: &str, wanted: Option<&[String]>, cap: usize) -> Result<Vec<(String, u64, Pairs)>> {
    let mut out = Vec::new();
    match wanted {
        None => {
            for (pos, subj, _) in subjects(graph).positioned_entries(r)? {
                let pairs = list(r, graph, &subj, cap)?;
                out.push((subj, pos, pairs));
            }
        }
        Some(wanted) => {
            let mut seen = std::collections::HashSet::new();
            for subj in wanted.iter().filter(|s| seen.insert(s.as_str())) {
                if let Some((pos, _)) = subjects(graph).get_positioned(r, subj)? {
                    out.push((subj.clone(), pos, list(r, graph, subj, cap)?));
                }
            }
        }
    }
    Ok(out)
}
