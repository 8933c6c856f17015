//! Metadata filters, evaluated as LlamaIndex's `build_metadata_filter_fn` does in Python:
//! `==` across ints, floats and bools (`True == 1`, `2 == 2.0`), ordering only between
//! numbers, strings or lists (anything else is Python's `TypeError`), a missing key
//! matching only `!=` and `nin`, `in`/`contains` on strings as substring tests. Nested
//! groups (which `SimpleVectorStore` refuses) combine recursively as remote stores do.

use serde_json::{Map, Value};
use std::cmp::Ordering;
use strata_api::{Error, FilterCondition, FilterItem, FilterOperator, MetadataFilter, MetadataFilters};

/// Whether `metadata` passes `filters` (no filters: everything passes).
///
/// Every filter of a group is evaluated before they are combined, as LlamaIndex builds
/// the whole list of matches before `all()`/`any()`: a filter that raises raises even
/// when an earlier one already decided the answer.
pub fn matches(filters: &MetadataFilters, metadata: &Map<String, Value>) -> Result<bool, Error> {
    let (mut any, mut all) = (false, true);
    for item in &filters.filters {
        let passed = match item {
            FilterItem::Filter(f) => matches_one(f, metadata)?,
            FilterItem::Group(g) => matches(g, metadata)?,
        };
        any |= passed;
        all &= passed;
    }
    Ok(match filters.condition.unwrap_or_default() {
        FilterCondition::And => all,
        FilterCondition::Or => any || filters.filters.is_empty(),
        FilterCondition::Not => !any,
    })
}

/// The kinds of stored metadata values a filter can meet, as far as whether it raises
/// Python's `TypeError` goes (bools are numbers; nulls never raise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Ints, floats and bools.
    Number,
    /// Strings.
    Text,
    /// Lists.
    List,
    /// Dicts.
    Dict,
}

impl ValueKind {
    /// Every kind.
    pub const ALL: [ValueKind; 4] = [ValueKind::Number, ValueKind::Text, ValueKind::List, ValueKind::Dict];

    /// The kind of a stored value (`None` for null).
    pub fn of(v: &Value) -> Option<Self> {
        match v {
            Value::Null => None,
            Value::Bool(_) | Value::Number(_) => Some(ValueKind::Number),
            Value::String(_) => Some(ValueKind::Text),
            Value::Array(_) => Some(ValueKind::List),
            Value::Object(_) => Some(ValueKind::Dict),
        }
    }

    /// One value of the kind: whether `in` raises depends only on the kinds of its sides.
    fn example(self) -> Value {
        match self {
            ValueKind::Number => Value::from(0),
            ValueKind::Text => Value::String(String::new()),
            ValueKind::List => Value::Array(Vec::new()),
            ValueKind::Dict => Value::Object(Map::new()),
        }
    }
}

/// Whether `f` can raise on a stored value of `kind` (true where unsure).
pub fn may_raise(f: &MetadataFilter, kind: ValueKind) -> bool {
    let v = &f.value;
    let m = kind.example();
    match f.operator {
        FilterOperator::Eq | FilterOperator::Ne | FilterOperator::IsEmpty => false,
        FilterOperator::Gt | FilterOperator::Gte | FilterOperator::Lt | FilterOperator::Lte => match kind {
            ValueKind::Number => number(v).is_none(),
            ValueKind::Text => !v.is_string(),
            // Lists compare item by item, which can raise on any item.
            ValueKind::List | ValueKind::Dict => true,
        },
        FilterOperator::In | FilterOperator::Nin => py_in(&m, v).is_none(),
        FilterOperator::Contains => py_in(v, &m).is_none(),
        FilterOperator::Any | FilterOperator::All => {
            py_iter(v).is_none_or(|items| items.iter().any(|x| py_in(x, &m).is_none()))
        }
        FilterOperator::TextMatch | FilterOperator::TextMatchInsensitive => !(kind == ValueKind::Text && v.is_string()),
    }
}

fn type_error(f: &MetadataFilter, m: &Value) -> Error {
    Error::InvalidFilter(format!(
        "{:?} {} {} cannot compare the stored value {}",
        f.key,
        serde_json::to_string(&f.operator).unwrap_or_default().trim_matches('"'),
        f.value,
        m
    ))
}

/// One filter against the value under its key (`None` when the key is missing).
pub fn matches_one(f: &MetadataFilter, metadata: &Map<String, Value>) -> Result<bool, Error> {
    let m = match metadata.get(&f.key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    };
    let v = &f.value;
    if f.operator == FilterOperator::IsEmpty {
        return Ok(match m {
            None => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        });
    }
    let Some(m) = m else {
        return Ok(matches!(f.operator, FilterOperator::Ne | FilterOperator::Nin));
    };
    let order = || py_cmp(m, v).ok_or_else(|| type_error(f, m));
    Ok(match f.operator {
        FilterOperator::Eq => py_eq(m, v),
        FilterOperator::Ne => !py_eq(m, v),
        FilterOperator::Gt => order()? == Ordering::Greater,
        FilterOperator::Gte => order()? != Ordering::Less,
        FilterOperator::Lt => order()? == Ordering::Less,
        FilterOperator::Lte => order()? != Ordering::Greater,
        FilterOperator::In => py_in(m, v).ok_or_else(|| type_error(f, m))?,
        FilterOperator::Nin => !py_in(m, v).ok_or_else(|| type_error(f, m))?,
        FilterOperator::Contains => py_in(v, m).ok_or_else(|| type_error(f, m))?,
        FilterOperator::Any => {
            let items = py_iter(v).ok_or_else(|| type_error(f, m))?;
            let mut any = false;
            for x in items {
                if py_in(&x, m).ok_or_else(|| type_error(f, m))? {
                    any = true;
                    break;
                }
            }
            any
        }
        FilterOperator::All => {
            let items = py_iter(v).ok_or_else(|| type_error(f, m))?;
            let mut all = true;
            for x in items {
                if !py_in(&x, m).ok_or_else(|| type_error(f, m))? {
                    all = false;
                    break;
                }
            }
            all
        }
        FilterOperator::TextMatch => match (m, v) {
            (Value::String(m), Value::String(v)) => m.contains(v.as_str()),
            _ => return Err(type_error(f, m)),
        },
        FilterOperator::TextMatchInsensitive => match (m, v) {
            (Value::String(m), Value::String(v)) => m.to_lowercase().contains(&v.to_lowercase()),
            _ => return Err(type_error(f, m)),
        },
        FilterOperator::IsEmpty => false, // answered before the key lookup
    })
}

/// A number as Python sees it (bools are ints).
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Exact integer value when the number is an integer (so big ints compare exactly).
fn integer(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

/// A number as an exact integer when it holds one: ints, bools, and integral floats
/// (Python compares ints with floats exactly, so `2**53 + 1 != 2.0**53`).
pub(crate) fn exact_integer(v: &Value) -> Option<i128> {
    integer(v).or_else(|| {
        let x = number(v)?;
        (x.is_finite() && x.fract() == 0.0 && x.abs() < 1e38).then_some(x as i128)
    })
}

/// Python `a == b` for JSON values.
pub fn py_eq(a: &Value, b: &Value) -> bool {
    if let (Some(x), Some(y)) = (exact_integer(a), exact_integer(b)) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y;
    }
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| py_eq(p, q)))
        }
        _ => false,
    }
}

/// Python's ordering of `a` and `b`; `None` where Python raises `TypeError`.
pub fn py_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (exact_integer(a), exact_integer(b)) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        // Code-point order: UTF-8 byte order is the same.
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !py_eq(p, q) {
                    return py_cmp(p, q);
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}

/// Python `needle in haystack`; `None` where Python raises `TypeError`.
pub fn py_in(needle: &Value, haystack: &Value) -> Option<bool> {
    match haystack {
        Value::Array(items) => Some(items.iter().any(|x| py_eq(needle, x))),
        Value::String(s) => match needle {
            Value::String(n) => Some(s.contains(n.as_str())),
            _ => None,
        },
        Value::Object(map) => match needle {
            Value::String(n) => Some(map.contains_key(n)),
            // Unhashable keys (lists, dicts) raise; numbers never equal a JSON key.
            Value::Array(_) | Value::Object(_) => None,
            _ => Some(false),
        },
        _ => None,
    }
}

/// Python iteration over a filter value: a list's items or a string's characters.
fn py_iter(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items.clone()),
        Value::String(s) => Some(s.chars().map(|c| Value::String(c.to_string())).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
