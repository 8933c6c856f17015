//! An inverted index of a namespace's scalar metadata values, so a selective filter reads
//! the slots that can pass instead of evaluating the filter on every vector's metadata.
//!
//! [`Postings::candidates`] answers a superset of the slots a filter lets through
//! (tombstones included), and says when it is exactly that set: then the caller needs
//! no metadata at all, else it evaluates the filter on each candidate. LlamaIndex
//! evaluates every filter on every vector, so a slot may be skipped only when no filter
//! can raise on it: the postings also record which kinds of values each key holds, and
//! give no bound when some filter could raise on one of them (the caller then scans every
//! slot and meets the error a full scan meets). An AND is bounded by its `==` / `in [..]`
//! conditions, an OR only when all of its branches are.

use super::filter::{self, ValueKind};
use serde_json::{Map, Value};
use std::collections::HashMap;
use strata_api::{FilterCondition, FilterItem, FilterOperator, MetadataFilter, MetadataFilters};

/// A scalar as Python's `==` tells them apart: numbers and bools by numeric value
/// (`True == 1 == 1.0`, integers exactly, so `2**53 + 1 != 2.0**53`), strings by text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ValueKey {
    Integer(i128),
    Float(u64),
    Text(String),
}

impl ValueKey {
    /// The key of a scalar (`None` for null, lists and objects, which are not indexed).
    pub(crate) fn of(v: &Value) -> Option<Self> {
        match v {
            Value::String(s) => Some(ValueKey::Text(s.clone())),
            Value::Bool(_) | Value::Number(_) => Some(match filter::exact_integer(v) {
                Some(i) => ValueKey::Integer(i),
                None => ValueKey::Float(filter::number(v)?.to_bits()),
            }),
            _ => None,
        }
    }
}

impl ValueKey {
    /// The key as bytes, for an on-disk index: a tag and the value (equal keys, equal
    /// bytes). A NaN has no key (Python's `nan == nan` is false).
    pub(crate) fn to_bytes(&self) -> Option<Vec<u8>> {
        Some(match self {
            ValueKey::Integer(i) => {
                let mut b = vec![b'i'];
                b.extend_from_slice(&i.to_be_bytes());
                b
            }
            ValueKey::Float(bits) if f64::from_bits(*bits).is_nan() => return None,
            ValueKey::Float(bits) => {
                let mut b = vec![b'f'];
                b.extend_from_slice(&bits.to_be_bytes());
                b
            }
            ValueKey::Text(s) => {
                let mut b = vec![b's'];
                b.extend_from_slice(s.as_bytes());
                b
            }
        })
    }
}

/// What [`Postings::candidates`] found: slots in increasing order, and whether they are
/// exactly the slots the filters pass (else a superset).
#[derive(Debug, PartialEq)]
pub struct Bound {
    /// The slots.
    pub slots: Vec<u32>,
    /// True when the filters pass exactly these (tombstones aside).
    pub exact: bool,
}

/// Slots by metadata key and scalar value.
#[derive(Debug, Default)]
pub struct Postings {
    by_key: HashMap<String, HashMap<ValueKey, Vec<u32>>>,
    /// The kinds of values each key has held (a bit per [`ValueKind`]); never cleared,
    /// like the postings, so it may name a kind no live vector holds any more.
    kinds: HashMap<String, u8>,
}

fn kind_bit(kind: ValueKind) -> u8 {
    1 << (kind as u8)
}

impl Postings {
    /// Records `slot`'s scalar metadata values.
    pub fn add(&mut self, slot: u32, metadata: &Map<String, Value>) {
        for (key, value) in metadata {
            if let Some(kind) = ValueKind::of(value) {
                match self.kinds.get_mut(key) {
                    Some(bits) => *bits |= kind_bit(kind),
                    None => {
                        self.kinds.insert(key.clone(), kind_bit(kind));
                    }
                }
            }
            let Some(vk) = ValueKey::of(value) else { continue };
            // Most keys are known: look them up before allocating a copy of the name.
            let values = match self.by_key.get_mut(key) {
                Some(values) => values,
                None => self.by_key.entry(key.clone()).or_default(),
            };
            values.entry(vk).or_default().push(slot);
        }
    }

    /// The slots `filters` can let through, or `None` when the filters give no cheap
    /// bound or some filter could raise on a slot outside it.
    pub fn candidates(&self, filters: &MetadataFilters) -> Option<Bound> {
        if self.may_raise(filters) {
            return None;
        }
        self.bound(filters)
    }

    /// Whether some filter could raise on a value some slot holds.
    fn may_raise(&self, filters: &MetadataFilters) -> bool {
        filters.filters.iter().any(|item| match item {
            FilterItem::Group(g) => self.may_raise(g),
            FilterItem::Filter(f) => {
                let bits = self.kinds.get(&f.key).copied().unwrap_or(0);
                ValueKind::ALL.iter().any(|k| bits & kind_bit(*k) != 0 && filter::may_raise(f, *k))
            }
        })
    }

    fn bound(&self, filters: &MetadataFilters) -> Option<Bound> {
        if filters.filters.is_empty() {
            return None;
        }
        match filters.condition.unwrap_or_default() {
            FilterCondition::And => {
                let mut bound: Option<Bound> = None;
                let mut every = true;
                // Any indexed condition bounds an AND: nothing can raise (checked above).
                for item in &filters.filters {
                    let Some(c) = self.item(item) else {
                        every = false;
                        continue;
                    };
                    bound = Some(match bound {
                        None => c,
                        Some(b) => Bound { slots: intersect(&b.slots, &c.slots), exact: b.exact && c.exact },
                    });
                }
                bound.map(|b| Bound { exact: b.exact && every, ..b })
            }
            FilterCondition::Or => {
                let (mut all, mut exact) = (Vec::new(), true);
                for item in &filters.filters {
                    let c = self.item(item)?;
                    all.extend(c.slots);
                    exact &= c.exact;
                }
                all.sort_unstable();
                all.dedup();
                Some(Bound { slots: all, exact })
            }
            FilterCondition::Not => None,
        }
    }

    fn item(&self, item: &FilterItem) -> Option<Bound> {
        match item {
            FilterItem::Filter(f) => self.filter(f),
            FilterItem::Group(g) => self.bound(g),
        }
    }

    /// The slots one `==` or `in [list]` filter passes (these never raise).
    fn filter(&self, f: &MetadataFilter) -> Option<Bound> {
        let values: Vec<&Value> = match (&f.operator, &f.value) {
            // A null compares as a missing key: `==` passes nothing.
            (FilterOperator::Eq, Value::Null) => Vec::new(),
            (FilterOperator::Eq, v) => vec![v],
            (FilterOperator::In, Value::Array(items)) => items.iter().collect(),
            _ => return None,
        };
        let keys = values.into_iter().map(ValueKey::of).collect::<Option<Vec<_>>>()?;
        let postings = self.by_key.get(&f.key);
        let mut slots: Vec<u32> =
            keys.iter().filter_map(|k| postings.and_then(|p| p.get(k))).flatten().copied().collect();
        slots.sort_unstable();
        slots.dedup();
        Some(Bound { slots, exact: true })
    }
}

/// The common items of two sorted lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(key: &str, value: Value, operator: FilterOperator) -> FilterItem {
        FilterItem::Filter(MetadataFilter::new(key, value, operator))
    }

    fn group(condition: FilterCondition, filters: Vec<FilterItem>) -> MetadataFilters {
        MetadataFilters { filters, condition: Some(condition) }
    }

    fn metadata() -> Vec<Map<String, Value>> {
        [
            json!({"n": 1, "s": "a"}),
            json!({"n": 1.0, "s": "b"}),
            json!({"n": true, "s": "a"}),
            json!({"n": 2, "s": "a", "l": [1, 2]}),
            json!({"n": "1", "s": null}),
            json!({"s": "c"}),
            json!({"n": -0.0}),
            json!({"n": 0}),
            json!({"n": 9_007_199_254_740_993_u64}),
            json!({"n": 9_007_199_254_740_992.0}),
        ]
        .into_iter()
        .map(|v| v.as_object().cloned().unwrap_or_default())
        .collect()
    }

    /// The candidates hold every slot the filter passes (by a full scan), and only those
    /// when the bound says it is exact; answers the candidates.
    fn assert_superset(p: &Postings, rows: &[Map<String, Value>], filters: &MetadataFilters) -> Option<Vec<u32>> {
        let c = p.candidates(filters)?;
        for (i, m) in rows.iter().enumerate() {
            let passes = filter::matches(filters, m).unwrap_or(false);
            if passes {
                assert!(c.slots.contains(&(i as u32)), "slot {i} passes {filters:?} but is not a candidate");
            } else if c.exact {
                assert!(!c.slots.contains(&(i as u32)), "slot {i} fails {filters:?} but the bound is exact");
            }
        }
        Some(c.slots)
    }

    #[test]
    fn candidates_are_a_superset_and_narrow_where_safe() {
        let rows = metadata();
        let mut p = Postings::default();
        for (i, m) in rows.iter().enumerate() {
            p.add(i as u32, m);
        }
        let and = FilterCondition::And;
        // Python equality: 1 == 1.0 == True; "1" is a different value; -0.0 == 0.
        let eq1 = group(and, vec![f("n", json!(1), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &eq1), Some(vec![0, 1, 2]));
        let eq0 = group(and, vec![f("n", json!(0.0), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &eq0), Some(vec![6, 7]));
        // Integers compare exactly, beyond what a float holds.
        let big = group(and, vec![f("n", json!(9_007_199_254_740_993_u64), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &big), Some(vec![8]));
        let big_float = group(and, vec![f("n", json!(9_007_199_254_740_992.0), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &big_float), Some(vec![9]));
        let within = group(and, vec![f("s", json!(["a", "c"]), FilterOperator::In)]);
        assert_eq!(assert_superset(&p, &rows, &within), Some(vec![0, 2, 3, 5]));
        let null = group(and, vec![f("s", Value::Null, FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &null), Some(vec![]));
        // AND: every indexed condition narrows, wherever it stands.
        let leading = group(and, vec![f("n", json!(1), FilterOperator::Eq), f("s", json!("a"), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &leading), Some(vec![0, 2]));
        let ordered_first =
            group(and, vec![f("s", json!("0"), FilterOperator::Gt), f("n", json!(1), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &ordered_first), Some(vec![0, 1, 2]));
        // ...unless a filter could raise on a kind of value the key holds (`n` holds the
        // string "1", and `"1" > 1` raises), wherever that filter stands: LlamaIndex
        // evaluates every filter on every vector.
        let raising_first =
            group(and, vec![f("n", json!(1), FilterOperator::Gt), f("s", json!("a"), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &raising_first), None);
        let raising_later =
            group(and, vec![f("s", json!("a"), FilterOperator::Eq), f("n", json!(1), FilterOperator::Gt)]);
        assert_eq!(assert_superset(&p, &rows, &raising_later), None);
        let raising_nested = group(
            and,
            vec![
                f("s", json!("a"), FilterOperator::Eq),
                FilterItem::Group(group(FilterCondition::Or, vec![f("n", json!("x"), FilterOperator::Contains)])),
            ],
        );
        assert_eq!(p.candidates(&raising_nested), None, "'x' in 1 raises");
        let substring =
            group(and, vec![f("s", json!("a"), FilterOperator::Eq), f("s", json!("x"), FilterOperator::Contains)]);
        assert_eq!(assert_superset(&p, &rows, &substring), Some(vec![0, 2, 3]), "'x' in a string never raises");
        // OR narrows only when every branch does; NOT never.
        let or =
            group(FilterCondition::Or, vec![f("s", json!("b"), FilterOperator::Eq), FilterItem::Group(eq0.clone())]);
        assert_eq!(assert_superset(&p, &rows, &or), Some(vec![1, 6, 7]));
        let or_open = group(
            FilterCondition::Or,
            vec![f("s", json!("b"), FilterOperator::Eq), f("n", json!(1), FilterOperator::Ne)],
        );
        assert_eq!(assert_superset(&p, &rows, &or_open), None);
        let not = group(FilterCondition::Not, vec![f("s", json!("a"), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &not), None);
        // Exact only when every condition is an indexed one.
        assert!(p.candidates(&leading).is_some_and(|b| b.exact));
        assert!(p.candidates(&or).is_some_and(|b| b.exact));
        assert!(p.candidates(&ordered_first).is_some_and(|b| !b.exact));
        // Lists are not indexed: == on a list value gives no bound.
        let list = group(and, vec![f("l", json!([1, 2]), FilterOperator::Eq)]);
        assert_eq!(assert_superset(&p, &rows, &list), None);
    }
}
