//! The triplet `GraphStore` (LlamaIndex's `SimpleGraphStore`) over partitions: a
//! subject's list lives with the subject.
//!
//! `get_rel_map` is LlamaIndex's depth-first walk, exactly: for each subject, each of its
//! first `limit` pairs emits `[subj, rel, obj]` followed by the walk from `obj` one level
//! shallower (inner levels take the default 30 pairs; no cycle detection, so a cycle
//! repeats once per level); then the subjects' lists are concatenated under a global
//! budget of `limit`: the subject that overflows it is cut to what is left and the walk
//! stops there (later subjects are absent; a subject with nothing maps to `[]`).
//!
//! The walk runs here on lists fetched in rounds: each round fetches, in one read per
//! partition, every list the walk needs within the budget and does not have yet (treating
//! the missing ones as empty to find them all at once). Filling a list only moves later
//! entries further back, so each round reaches one level deeper: at most `depth` rounds.

use super::{Partitions, Result, by_owner, owner, read_all, read_each, unexpected, write_each};
use std::collections::HashMap;
use strata_api::{GraphCommand, GraphQuery, Response};

/// How many pairs the walk takes from a list below the top level (LlamaIndex's default).
const INNER_LIMIT: usize = 30;

pub use strata_api::model::Pairs;
/// A rel map: per subject, its `[subj, rel, obj]` rows.
pub type RelMap = Vec<(String, Vec<[String; 3]>)>;

/// `upsert_triplet(subj, rel, obj)`.
pub async fn upsert_triplet(parts: &impl Partitions, subj: &str, rel: &str, obj: &str) -> Result<()> {
    let stamp = parts.stamps(1);
    let cmd = GraphCommand::UpsertTriplets {
        graph: parts.graph().to_string(),
        triplets: vec![(subj.to_string(), rel.to_string(), obj.to_string())],
        order: if stamp > 0 { vec![stamp] } else { Vec::new() },
    };
    write_each(parts, vec![(owner(parts, subj), cmd)]).await?;
    Ok(())
}

/// Upserts many triplets (an import): one write per partition, in order.
pub async fn upsert_triplets(parts: &impl Partitions, triplets: &[(String, String, String)]) -> Result<()> {
    let base = parts.stamps(triplets.len());
    let graph = parts.graph().to_string();
    let writes = super::by_owner_stamped(parts, triplets, base, |t| &t.0)
        .into_iter()
        .map(|(p, triplets, order)| (p, GraphCommand::UpsertTriplets { graph: graph.clone(), triplets, order }))
        .collect();
    write_each(parts, writes).await?;
    Ok(())
}

/// `delete(subj, rel, obj)`: answers whether the pair was there.
pub async fn delete(parts: &impl Partitions, subj: &str, rel: &str, obj: &str) -> Result<bool> {
    let cmd = GraphCommand::DeleteTriplet {
        graph: parts.graph().to_string(),
        subject: subj.to_string(),
        relation: rel.to_string(),
        object: obj.to_string(),
    };
    match write_each(parts, vec![(owner(parts, subj), cmd)]).await?.pop() {
        Some(Response::Deleted(d)) => Ok(d),
        Some(other) => Err(unexpected("delete", &other)),
        None => Ok(false),
    }
}

fn lists_of(answer: Response) -> Result<Vec<(String, u64, Pairs)>> {
    match answer {
        Response::TripletLists(l) => Ok(l),
        other => Err(unexpected("triplet lists", &other)),
    }
}

/// The lists of `subjects` (first `cap` pairs each) that exist.
async fn fetch(parts: &impl Partitions, subjects: &[String], cap: usize) -> Result<HashMap<String, Pairs>> {
    let graph = parts.graph().to_string();
    let reads = by_owner(parts, subjects.iter().map(String::as_str))
        .into_iter()
        .map(|(p, s)| (p, GraphQuery::TripletLists { graph: graph.clone(), subjects: Some(s), cap }))
        .collect();
    let mut out = HashMap::new();
    for answer in read_each(parts, reads).await? {
        for (subj, _, pairs) in lists_of(answer)? {
            out.insert(subj, pairs);
        }
    }
    Ok(out)
}

/// Every subject and its list (first `cap` pairs), in insertion order.
pub async fn all(parts: &impl Partitions, cap: usize) -> Result<Vec<(String, Pairs)>> {
    let q = GraphQuery::TripletLists { graph: parts.graph().to_string(), subjects: None, cap };
    let mut rows = Vec::new();
    for answer in read_all(parts, &q).await? {
        rows.extend(lists_of(answer)?);
    }
    rows.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows.into_iter().map(|(s, _, p)| (s, p)).collect())
}

/// `get(subj)`: its pairs, or none.
pub async fn get(parts: &impl Partitions, subj: &str) -> Result<Pairs> {
    Ok(fetch(parts, &[subj.to_string()], usize::MAX).await?.remove(subj).unwrap_or_default())
}

/// The walk over known lists: `lists` holds what was fetched (absent: not fetched yet;
/// fetched subjects without a list map to empty). Records in `missing` every list it
/// needed and did not have.
struct Walk<'a> {
    lists: &'a HashMap<String, Pairs>,
    missing: Vec<String>,
    budget: usize,
    out: Vec<[String; 3]>,
}

impl Walk<'_> {
    fn expand(&mut self, subj: &str, depth: usize, limit: usize) {
        if depth == 0 || self.out.len() > self.budget {
            return;
        }
        let Some(pairs) = self.lists.get(subj) else {
            if !self.missing.iter().any(|m| m == subj) {
                self.missing.push(subj.to_string());
            }
            return;
        };
        for (rel, obj) in pairs.iter().take(limit) {
            if self.out.len() > self.budget {
                return;
            }
            self.out.push([subj.to_string(), rel.clone(), obj.clone()]);
            self.expand(obj, depth - 1, INNER_LIMIT);
        }
    }
}

/// `get_rel_map(subjs, depth, limit)`: every subject when `subjs` is none.
pub async fn get_rel_map(
    parts: &impl Partitions,
    subjs: Option<&[String]>,
    depth: usize,
    limit: usize,
) -> Result<RelMap> {
    let cap = limit.max(INNER_LIMIT);
    let mut lists: HashMap<String, Pairs> = HashMap::new();
    let subjects: Vec<String> = match subjs {
        Some(s) => s.to_vec(),
        None => {
            let rows = all(parts, cap).await?;
            let order = rows.iter().map(|(s, _)| s.clone()).collect();
            lists.extend(rows);
            order
        }
    };
    // A dict keyed by subject: a repeated subject keeps its first place.
    let mut unique: Vec<String> = Vec::new();
    for s in subjects {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    loop {
        let (result, missing) = walk_all(&lists, &unique, depth, limit);
        if missing.is_empty() {
            return Ok(result);
        }
        let fetched = fetch(parts, &missing, cap).await?;
        for m in missing {
            let pairs = fetched.get(&m).cloned().unwrap_or_default();
            lists.insert(m, pairs);
        }
    }
}

/// The rel map as far as the known lists tell, and the lists it still needs.
fn walk_all(lists: &HashMap<String, Pairs>, subjects: &[String], depth: usize, limit: usize) -> (RelMap, Vec<String>) {
    let mut result = Vec::new();
    let mut missing = Vec::new();
    let mut count = 0usize;
    for subj in subjects {
        let remaining = limit.saturating_sub(count);
        let mut walk = Walk { lists, missing: Vec::new(), budget: remaining, out: Vec::new() };
        walk.expand(subj, depth, limit);
        for m in walk.missing {
            if !missing.contains(&m) {
                missing.push(m);
            }
        }
        if walk.out.len() > remaining {
            walk.out.truncate(remaining);
            result.push((subj.clone(), walk.out));
            break;
        }
        count += walk.out.len();
        result.push((subj.clone(), walk.out));
    }
    (result, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(pairs: &[(&str, &[(&str, &str)])]) -> HashMap<String, Pairs> {
        pairs
            .iter()
            .map(|(s, l)| (s.to_string(), l.iter().map(|(r, o)| (r.to_string(), o.to_string())).collect()))
            .collect()
    }

    fn ids(v: &[[String; 3]]) -> Vec<String> {
        v.iter().map(|t| t.join(" ")).collect()
    }

    #[test]
    fn the_walk_is_depth_first_without_cycle_detection() {
        let l = lists(&[("a", &[("r", "b")]), ("b", &[("r", "a"), ("s", "c")]), ("c", &[])]);
        let (r, missing) = walk_all(&l, &["a".into()], 3, 30);
        assert!(missing.is_empty());
        assert_eq!(ids(&r[0].1), ["a r b", "b r a", "a r b", "b s c"]);
    }

    #[test]
    fn the_budget_cuts_the_overflowing_subject_and_stops() {
        let l = lists(&[
            ("a", &[("r", "x"), ("r", "y")]),
            ("b", &[("r", "z")]),
            ("c", &[("r", "w")]),
            ("x", &[]),
            ("y", &[]),
            ("z", &[]),
            ("w", &[]),
        ]);
        let subjects: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let (r, _) = walk_all(&l, &subjects, 1, 2);
        assert_eq!(r.len(), 2, "b is cut to nothing, c absent: {r:?}");
        assert_eq!(ids(&r[0].1), ["a r x", "a r y"]);
        assert!(r[1].1.is_empty());
    }

    #[test]
    fn unknown_lists_are_asked_for_and_unknown_subjects_map_to_nothing() {
        let l = lists(&[("a", &[("r", "b")])]);
        let (_, missing) = walk_all(&l, &["a".into(), "q".into()], 2, 30);
        assert_eq!(missing, ["b", "q"]);
    }
}
