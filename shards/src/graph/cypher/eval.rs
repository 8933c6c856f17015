//! Evaluating expressions on a row: Cypher's three-valued logic (null propagates), its
//! operators, and the functions of the subset.

use super::ast::{BinOp, Expr, Quantifier};
use super::budget::Budget;
use super::value::{PathVal, Val, compare, equal};
use crate::graph::view;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use strata_api::Error;

/// A row: variables and their values.
pub type Row = HashMap<String, Val>;

/// What expressions may read besides the row.
pub struct Env<'a> {
    /// `$parameters`.
    pub params: &'a Map<String, Value>,
    /// Values of the aggregate calls of the projection being evaluated, by the call's
    /// address in the plan.
    pub aggregates: Option<&'a HashMap<usize, Val>>,
    /// What the query may still spend.
    pub budget: &'a Budget,
}

/// The deepest a value may nest (lists in lists, maps in maps): deeper values are
/// refused where they are kept, so everything that walks a value recursively stays
/// within a small stack.
pub const MAX_VALUE_DEPTH: usize = 256;

/// Charges `v` to the budget (it is about to be held); answers it.
pub fn charged(v: Val, budget: &Budget) -> Result<Val, Error> {
    let (bytes, depth) = v.weight();
    if depth > MAX_VALUE_DEPTH {
        return Err(Error::LimitExceeded {
            what: "nesting depth of a Cypher value".into(),
            limit: MAX_VALUE_DEPTH as u64,
            got: depth as u64,
        });
    }
    budget.charge(bytes)?;
    Ok(v)
}

/// The bytes a row holds.
pub fn row_weight(row: &Row) -> usize {
    row.iter().map(|(k, v)| k.len() + 48 + v.weight().0).sum()
}

/// Evaluates `e` on `row` and keeps its value: what the evaluation made on the way is
/// given back to the budget, the value itself is charged.
pub fn eval_kept(e: &Expr, row: &Row, env: &Env<'_>) -> Result<Val, Error> {
    let mark = env.budget.used();
    let v = eval(e, row, env)?;
    env.budget.reset_to(mark);
    charged(v, env.budget)
}

/// A value's slot in a list, a row or a map.
const SLOT: usize = std::mem::size_of::<Val>();

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::InvalidQuery(what.to_string())
}

/// A predicate's truth: `None` for null (unknown), an error for a non-boolean.
pub fn truth(v: &Val) -> Result<Option<bool>, Error> {
    match v {
        Val::Null => Ok(None),
        Val::Bool(b) => Ok(Some(*b)),
        other => Err(invalid(format!("expected a boolean, got {}", other.kind()))),
    }
}

fn bool_of(b: Option<bool>) -> Val {
    b.map_or(Val::Null, Val::Bool)
}

/// Evaluates `e` on `row`, charging the budget for the depth it recurses to, the time it
/// takes and the values it makes.
pub fn eval(e: &Expr, row: &Row, env: &Env<'_>) -> Result<Val, Error> {
    let _deeper = env.budget.deeper()?;
    let budget = env.budget;
    match e {
        Expr::Lit(v) => charged(Val::from_json(v), budget),
        Expr::Param(p) => charged(
            env.params
                .get(p)
                .map(Val::from_json)
                .ok_or_else(|| invalid(format!("the query uses ${p} but no such parameter was given")))?,
            budget,
        ),
        Expr::Var(v) => {
            let value = row.get(v).ok_or_else(|| invalid(format!("variable `{v}` is not defined")))?;
            budget.charge(value.weight().0)?;
            Ok(value.clone())
        }
        Expr::Prop(base, key) => charged(property(&eval(base, row, env)?, key)?, budget),
        Expr::HasLabels(base, labels) => match eval(base, row, env)? {
            Val::Node(n) => Ok(Val::Bool(labels.iter().all(|l| view::has_label(&n, l)))),
            Val::Null => Ok(Val::Null),
            other => Err(invalid(format!("only nodes have labels, not {}", other.kind()))),
        },
        Expr::List(items) => {
            budget.charge(items.len() * SLOT)?;
            Ok(Val::List(items.iter().map(|i| eval(i, row, env)).collect::<Result<_, _>>()?))
        }
        Expr::Map(items) => {
            budget.charge(items.iter().map(|(k, _)| k.len() + 48 + SLOT).sum())?;
            Ok(Val::Map(items.iter().map(|(k, v)| Ok((k.clone(), eval(v, row, env)?))).collect::<Result<_, Error>>()?))
        }
        Expr::Not(a) => Ok(bool_of(truth(&eval(a, row, env)?)?.map(|b| !b))),
        Expr::Neg(a) => match eval(a, row, env)? {
            Val::Int(i) => Ok(Val::Int(i.checked_neg().ok_or_else(|| invalid("integer overflow"))?)),
            Val::Float(f) => Ok(Val::Float(-f)),
            Val::Null => Ok(Val::Null),
            other => Err(invalid(format!("cannot negate {}", other.kind()))),
        },
        Expr::IsNull(a, negated) => Ok(Val::Bool(eval(a, row, env)?.is_null() != *negated)),
        Expr::Bin(op, a, b) => binary(*op, a, b, row, env),
        Expr::Index(list, idx) => charged(index(&eval(list, row, env)?, &eval(idx, row, env)?)?, budget),
        Expr::Slice(list, from, to) => {
            let from = from.as_ref().map(|f| eval(f, row, env)).transpose()?;
            let to = to.as_ref().map(|t| eval(t, row, env)).transpose()?;
            charged(slice(&eval(list, row, env)?, from.as_ref(), to.as_ref())?, budget)
        }
        Expr::Call { name, distinct: _, args } => {
            if super::ast::AGGREGATES.contains(&name.as_str()) {
                let value = env
                    .aggregates
                    .and_then(|a| a.get(&(e as *const Expr as usize)))
                    .ok_or_else(|| invalid(format!("{name}() is an aggregate: use it in WITH or RETURN")))?;
                budget.charge(value.weight().0)?;
                return Ok(value.clone());
            }
            let vals = args.iter().map(|a| eval(a, row, env)).collect::<Result<Vec<_>, _>>()?;
            super::functions::call(name, &vals, budget)
        }
        Expr::Comprehension { var, list, filter, map } => {
            let items = match eval(list, row, env)? {
                Val::List(items) => items,
                Val::Null => return Ok(Val::Null),
                other => return Err(invalid(format!("IN needs a list, got {}", other.kind()))),
            };
            budget.charge(row_weight(row))?;
            let mut inner = row.clone();
            let mut out = Vec::new();
            for item in items {
                budget.tick()?;
                budget.charge(item.weight().0 + SLOT)?;
                inner.insert(var.clone(), item.clone());
                if let Some(f) = filter
                    && truth(&eval(f, &inner, env)?)? != Some(true)
                {
                    continue;
                }
                out.push(match map {
                    Some(m) => eval(m, &inner, env)?,
                    None => item,
                });
            }
            Ok(Val::List(out))
        }
        Expr::Quantified { kind, var, list, pred } => {
            let items = match eval(list, row, env)? {
                Val::List(items) => items,
                Val::Null => return Ok(Val::Null),
                other => return Err(invalid(format!("IN needs a list, got {}", other.kind()))),
            };
            budget.charge(row_weight(row))?;
            let mut inner = row.clone();
            let (mut yes, mut unknown) = (0usize, false);
            for item in items.iter() {
                budget.charge(item.weight().0)?;
                inner.insert(var.clone(), item.clone());
                match truth(&eval(pred, &inner, env)?)? {
                    Some(true) => yes += 1,
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            let n = items.len();
            Ok(match kind {
                Quantifier::Any if yes > 0 => Val::Bool(true),
                Quantifier::All if yes + usize::from(unknown) < n => Val::Bool(false),
                Quantifier::None if yes > 0 => Val::Bool(false),
                Quantifier::Single if yes > 1 => Val::Bool(false),
                _ if unknown => Val::Null,
                Quantifier::Any => Val::Bool(false),
                Quantifier::All | Quantifier::None => Val::Bool(true),
                Quantifier::Single => Val::Bool(yes == 1),
            })
        }
        Expr::Case { subject, arms, otherwise } => {
            let subject = subject.as_ref().map(|s| eval(s, row, env)).transpose()?;
            for (when, then) in arms {
                let w = eval(when, row, env)?;
                let hit = match &subject {
                    Some(s) => equal(s, &w) == Some(true),
                    None => truth(&w)? == Some(true),
                };
                if hit {
                    return eval(then, row, env);
                }
            }
            otherwise.as_ref().map_or(Ok(Val::Null), |o| eval(o, row, env))
        }
    }
}

/// `value.key`.
pub fn property(v: &Val, key: &str) -> Result<Val, Error> {
    Ok(match v {
        Val::Null => Val::Null,
        Val::Node(n) => view::property(n, key).map_or(Val::Null, |p| Val::from_json(&p)),
        Val::Rel(r) => r.relation.properties.get(key).map_or(Val::Null, Val::from_json),
        Val::Map(m) => m.get(key).cloned().unwrap_or(Val::Null),
        other => return Err(invalid(format!("cannot read property {key:?} of {}", other.kind()))),
    })
}

fn binary(op: BinOp, a: &Expr, b: &Expr, row: &Row, env: &Env<'_>) -> Result<Val, Error> {
    // The logical operators look at their right side only when it can change the answer.
    if matches!(op, BinOp::And | BinOp::Or) {
        let x = truth(&eval(a, row, env)?)?;
        match (op, x) {
            (BinOp::And, Some(false)) => return Ok(Val::Bool(false)),
            (BinOp::Or, Some(true)) => return Ok(Val::Bool(true)),
            _ => {}
        }
        let y = truth(&eval(b, row, env)?)?;
        return Ok(bool_of(match (op, x, y) {
            (BinOp::And, _, Some(false)) => Some(false),
            (BinOp::And, Some(true), Some(true)) => Some(true),
            (BinOp::Or, _, Some(true)) => Some(true),
            (BinOp::Or, Some(false), Some(false)) => Some(false),
            _ => None,
        }));
    }
    let (x, y) = (eval(a, row, env)?, eval(b, row, env)?);
    let cmp = |f: fn(Ordering) -> bool| -> Val { bool_of(compare(&x, &y).map(f)) };
    Ok(match op {
        BinOp::Xor => bool_of(truth(&x)?.zip(truth(&y)?).map(|(p, q)| p != q)),
        BinOp::Eq => bool_of(equal(&x, &y)),
        BinOp::Ne => bool_of(equal(&x, &y).map(|b| !b)),
        BinOp::Lt if !x.is_null() && !y.is_null() => cmp(|o| o == Ordering::Less),
        BinOp::Le if !x.is_null() && !y.is_null() => cmp(|o| o != Ordering::Greater),
        BinOp::Gt if !x.is_null() && !y.is_null() => cmp(|o| o == Ordering::Greater),
        BinOp::Ge if !x.is_null() && !y.is_null() => cmp(|o| o != Ordering::Less),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Val::Null,
        BinOp::In => match y {
            Val::Null => Val::Null,
            Val::List(items) => {
                let mut unknown = false;
                for item in &items {
                    match equal(&x, item) {
                        Some(true) => return Ok(Val::Bool(true)),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { Val::Null } else { Val::Bool(false) }
            }
            other => return Err(invalid(format!("IN needs a list, got {}", other.kind()))),
        },
        BinOp::StartsWith | BinOp::EndsWith | BinOp::Contains => match (&x, &y) {
            (Val::Str(s), Val::Str(t)) => Val::Bool(match op {
                BinOp::StartsWith => s.starts_with(t.as_str()),
                BinOp::EndsWith => s.ends_with(t.as_str()),
                _ => s.contains(t.as_str()),
            }),
            _ => Val::Null,
        },
        BinOp::Add => add(x, y, env.budget)?,
        BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arithmetic(op, &x, &y)?,
        BinOp::And | BinOp::Or => Val::Null, // answered above
    })
}

/// `x + y`; a list or string it makes is charged before it is made.
fn add(x: Val, y: Val, budget: &Budget) -> Result<Val, Error> {
    let grown = match (&x, &y) {
        (Val::List(_), _) | (_, Val::List(_)) => x.weight().0.saturating_add(y.weight().0),
        (Val::Str(_), _) | (_, Val::Str(_)) => {
            let text = |v: &Val| match v {
                Val::Str(s) => s.len(),
                other => other.weight().0.saturating_mul(4),
            };
            text(&x).saturating_add(text(&y)).saturating_add(SLOT)
        }
        _ => 0,
    };
    budget.charge(grown)?;
    Ok(match (x, y) {
        (Val::Null, _) | (_, Val::Null) => Val::Null,
        (Val::List(mut a), Val::List(b)) => {
            a.extend(b);
            Val::List(a)
        }
        (Val::List(mut a), b) => {
            a.push(b);
            Val::List(a)
        }
        (a, Val::List(mut b)) => {
            b.insert(0, a);
            Val::List(b)
        }
        (Val::Str(a), Val::Str(b)) => Val::Str(a + &b),
        (Val::Str(a), b) => Val::Str(a + &super::functions::to_text(&b)),
        (a, Val::Str(b)) => Val::Str(super::functions::to_text(&a) + &b),
        (a, b) => arithmetic(BinOp::Add, &a, &b)?,
    })
}

fn arithmetic(op: BinOp, x: &Val, y: &Val) -> Result<Val, Error> {
    let overflow = || invalid("integer overflow");
    Ok(match (x, y) {
        (Val::Null, _) | (_, Val::Null) => Val::Null,
        (Val::Int(a), Val::Int(b)) => match op {
            BinOp::Add => Val::Int(a.checked_add(*b).ok_or_else(overflow)?),
            BinOp::Sub => Val::Int(a.checked_sub(*b).ok_or_else(overflow)?),
            BinOp::Mul => Val::Int(a.checked_mul(*b).ok_or_else(overflow)?),
            BinOp::Div if *b == 0 => return Err(invalid("/ by zero")),
            BinOp::Div => Val::Int(a.checked_div(*b).ok_or_else(overflow)?),
            BinOp::Mod if *b == 0 => return Err(invalid("% by zero")),
            _ => Val::Int(a.checked_rem(*b).ok_or_else(overflow)?),
        },
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            let f = |v: &Val| match v {
                Val::Int(i) => *i as f64,
                Val::Float(f) => *f,
                _ => f64::NAN,
            };
            let (a, b) = (f(x), f(y));
            Val::Float(match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                _ => a % b,
            })
        }
        (a, b) => return Err(invalid(format!("cannot combine {} and {} arithmetically", a.kind(), b.kind()))),
    })
}

fn position(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn index(list: &Val, idx: &Val) -> Result<Val, Error> {
    Ok(match (list, idx) {
        (Val::Null, _) | (_, Val::Null) => Val::Null,
        (Val::List(items), Val::Int(i)) => position(items.len(), *i).map_or(Val::Null, |p| items[p].clone()),
        (Val::Map(_) | Val::Node(_) | Val::Rel(_), Val::Str(k)) => property(list, k)?,
        (a, b) => return Err(invalid(format!("cannot index {} with {}", a.kind(), b.kind()))),
    })
}

fn slice(list: &Val, from: Option<&Val>, to: Option<&Val>) -> Result<Val, Error> {
    let Val::List(items) = list else {
        return if list.is_null() { Ok(Val::Null) } else { Err(invalid(format!("cannot slice {}", list.kind()))) };
    };
    let n = items.len() as i64;
    let bound = |v: Option<&Val>, default: i64| -> Result<Option<i64>, Error> {
        match v {
            None => Ok(Some(default)),
            Some(Val::Null) => Ok(None),
            Some(Val::Int(i)) => Ok(Some(if *i < 0 { (n + i).max(0) } else { (*i).min(n) })),
            Some(other) => Err(invalid(format!("a slice bound must be an integer, not {}", other.kind()))),
        }
    };
    let (Some(a), Some(b)) = (bound(from, 0)?, bound(to, n)?) else { return Ok(Val::Null) };
    Ok(Val::List(if a < b { items[a as usize..b as usize].to_vec() } else { Vec::new() }))
}

/// A path's value from its nodes and relationships.
pub fn path(nodes: Vec<Arc<strata_api::LabelledNode>>, rels: Vec<Arc<super::value::RelVal>>) -> Val {
    Val::Path(Arc::new(PathVal { nodes, rels }))
}
