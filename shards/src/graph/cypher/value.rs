//! Cypher's values while a query runs, and how they leave it: a node as its property map
//! (embedding left out), a relationship as `[start, type, end]` and a path as
//! `[node, type, node, ...]` (the neo4j driver's `Record.data()` forms LlamaIndex's
//! Neo4j store returns).

use crate::graph::view;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use strata_api::{LabelledNode, Relation};

/// A relationship with its two ends.
#[derive(Clone, Debug)]
pub struct RelVal {
    /// The relation.
    pub relation: Relation,
    /// Its source node.
    pub start: Arc<LabelledNode>,
    /// Its target node.
    pub end: Arc<LabelledNode>,
}

/// A path: nodes and the relationships between them.
#[derive(Clone, Debug)]
pub struct PathVal {
    /// `n0, n1, ...`.
    pub nodes: Vec<Arc<LabelledNode>>,
    /// `r1, r2, ...` (one fewer).
    pub rels: Vec<Arc<RelVal>>,
}

/// A value.
#[derive(Clone, Debug)]
pub enum Val {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Val>),
    /// A map.
    Map(BTreeMap<String, Val>),
    /// A node.
    Node(Arc<LabelledNode>),
    /// A relationship.
    Rel(Arc<RelVal>),
    /// A path.
    Path(Arc<PathVal>),
}

impl Val {
    /// A JSON value as Cypher sees it (integers that fit i64 stay integers).
    pub fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Val::Str(s.clone()),
            Value::Array(items) => Val::List(items.iter().map(Val::from_json).collect()),
            Value::Object(m) => Val::Map(m.iter().map(|(k, v)| (k.clone(), Val::from_json(v))).collect()),
        }
    }

    /// The value as a result holds it.
    pub fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::from(*i),
            Val::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Str(s) => Value::String(s.clone()),
            Val::List(items) => Value::Array(items.iter().map(Val::to_json).collect()),
            Val::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Val::Node(n) => Value::Object(node_map(n)),
            Val::Rel(r) => rel_json(r),
            Val::Path(p) => {
                let mut out = vec![Value::Object(node_map(&p.nodes[0]))];
                for (r, n) in p.rels.iter().zip(&p.nodes[1..]) {
                    out.push(Value::String(r.relation.label.clone()));
                    out.push(Value::Object(node_map(n)));
                }
                Value::Array(out)
            }
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The type's name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a float",
            Val::Str(_) => "a string",
            Val::List(_) => "a list",
            Val::Map(_) => "a map",
            Val::Node(_) => "a node",
            Val::Rel(_) => "a relationship",
            Val::Path(_) => "a path",
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// About the bytes this value holds (its slot, strings' bytes, collections' items
    /// and keys; nodes, relationships and paths are shared, and cost their slot), and how
    /// deeply it nests: what a query's budget charges for it.
    pub fn weight(&self) -> (usize, usize) {
        const SLOT: usize = std::mem::size_of::<Val>();
        match self {
            Val::Str(s) => (SLOT + s.len(), 1),
            Val::List(items) => items.iter().fold((SLOT, 1), |(bytes, depth), v| {
                let (b, d) = v.weight();
                (bytes.saturating_add(b), depth.max(d + 1))
            }),
            Val::Map(m) => m.iter().fold((SLOT, 1), |(bytes, depth), (k, v)| {
                let (b, d) = v.weight();
                (bytes.saturating_add(b + k.len() + 48), depth.max(d + 1))
            }),
            _ => (SLOT, 1),
        }
    }

    /// A key equal for values DISTINCT and grouping treat as the same.
    pub fn key(&self) -> String {
        match self {
            Val::Node(n) => format!("n:{}", n.id),
            Val::Rel(r) => format!("r:{:?}", r.relation.key()),
            Val::Path(p) => {
                let rels: Vec<String> = p.rels.iter().map(|r| format!("{:?}", r.relation.key())).collect();
                format!("p:{}:{}", p.nodes[0].id, rels.join(","))
            }
            Val::Int(i) => format!("#{}", *i as f64),
            Val::Float(f) => format!("#{f}"),
            Val::List(items) => format!("[{}]", items.iter().map(Val::key).collect::<Vec<_>>().join(",")),
            Val::Map(m) => {
                format!("{{{}}}", m.iter().map(|(k, v)| format!("{k:?}:{}", v.key())).collect::<Vec<_>>().join(","))
            }
            other => other.to_json().to_string(),
        }
    }
}

/// A node's property map in results (never its embedding).
pub fn node_map(n: &LabelledNode) -> Map<String, Value> {
    let mut m = view::properties(n);
    m.remove("embedding");
    m
}

fn rel_json(r: &RelVal) -> Value {
    Value::Array(vec![
        Value::Object(node_map(&r.start)),
        Value::String(r.relation.label.clone()),
        Value::Object(node_map(&r.end)),
    ])
}

/// Cypher's `a = b` (`None`: unknown, when null takes part).
pub fn equal(a: &Val, b: &Val) -> Option<bool> {
    match (a, b) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Int(x), Val::Int(y)) => Some(x == y),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => Some(a.number() == b.number()),
        (Val::Bool(x), Val::Bool(y)) => Some(x == y),
        (Val::Str(x), Val::Str(y)) => Some(x == y),
        (Val::List(x), Val::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            let mut unknown = false;
            for (p, q) in x.iter().zip(y) {
                match equal(p, q) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        (Val::Map(x), Val::Map(y)) => {
            if x.len() != y.len() || x.keys().ne(y.keys()) {
                return Some(false);
            }
            let mut unknown = false;
            for (p, q) in x.values().zip(y.values()) {
                match equal(p, q) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        (Val::Node(x), Val::Node(y)) => Some(x.id == y.id),
        (Val::Rel(x), Val::Rel(y)) => Some(x.relation.key() == y.relation.key()),
        (Val::Path(_), Val::Path(_)) => Some(a.key() == b.key()),
        _ => Some(false),
    }
}

/// Cypher's `<` family: `None` when the values do not compare (null, or different types).
pub fn compare(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => a.number()?.partial_cmp(&b.number()?),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        (Val::List(x), Val::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                match compare(p, q)? {
                    Ordering::Equal => {}
                    other => return Some(other),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}

fn rank(v: &Val) -> u8 {
    match v {
        Val::Map(_) => 0,
        Val::Node(_) => 1,
        Val::Rel(_) => 2,
        Val::List(_) => 3,
        Val::Path(_) => 4,
        Val::Str(_) => 5,
        Val::Bool(_) => 6,
        Val::Int(_) | Val::Float(_) => 7,
        Val::Null => 8,
    }
}

/// `ORDER BY`'s total order (ascending): maps, nodes, relationships, lists, paths,
/// strings, booleans, numbers, then null.
pub fn order(a: &Val, b: &Val) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Val::List(x), Val::List(y)) => {
            for (p, q) in x.iter().zip(y) {
                match order(p, q) {
                    Ordering::Equal => {}
                    other => return other,
                }
            }
            x.len().cmp(&y.len())
        }
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            compare(a, b).unwrap_or_else(|| a.number().map(f64::is_nan).cmp(&b.number().map(f64::is_nan)))
        }
        _ => compare(a, b).unwrap_or_else(|| a.key().cmp(&b.key())),
    })
}
