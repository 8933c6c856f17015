//! Evaluating expressions on a row: Cypher's three-valued logic (null propagates), its
//! operators, and the functions of the subset.

use super::ast::{BinOp, Expr, Quantifier};
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
}

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

/// Evaluates `e` on `row`.
pub fn eval(e: &Expr, row: &Row, env: &Env<'_>) -> Result<Val, Error> {
    match e {
        Expr::Lit(v) => Ok(Val::from_json(v)),
        Expr::Param(p) => env
            .params
            .get(p)
            .map(Val::from_json)
            .ok_or_else(|| invalid(format!("the query uses ${p} but no such parameter was given"))),
        Expr::Var(v) => row.get(v).cloned().ok_or_else(|| invalid(format!("variable `{v}` is not defined"))),
        Expr::Prop(base, key) => property(&eval(base, row, env)?, key),
        Expr::HasLabels(base, labels) => match eval(base, row, env)? {
            Val::Node(n) => Ok(Val::Bool(labels.iter().all(|l| view::has_label(&n, l)))),
            Val::Null => Ok(Val::Null),
            other => Err(invalid(format!("only nodes have labels, not {}", other.kind()))),
        },
        Expr::List(items) => Ok(Val::List(items.iter().map(|i| eval(i, row, env)).collect::<Result<_, _>>()?)),
        Expr::Map(items) => {
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
        Expr::Index(list, idx) => index(&eval(list, row, env)?, &eval(idx, row, env)?),
        Expr::Slice(list, from, to) => {
            let from = from.as_ref().map(|f| eval(f, row, env)).transpose()?;
            let to = to.as_ref().map(|t| eval(t, row, env)).transpose()?;
            slice(&eval(list, row, env)?, from.as_ref(), to.as_ref())
        }
        Expr::Call { name, distinct: _, args } => {
            if super::ast::AGGREGATES.contains(&name.as_str()) {
                return env
                    .aggregates
                    .and_then(|a| a.get(&(e as *const Expr as usize)))
                    .cloned()
                    .ok_or_else(|| invalid(format!("{name}() is an aggregate: use it in WITH or RETURN")));
            }
            let vals = args.iter().map(|a| eval(a, row, env)).collect::<Result<Vec<_>, _>>()?;
            super::functions::call(name, &vals)
        }
        Expr::Comprehension { var, list, filter, map } => {
            let items = match eval(list, row, env)? {
                Val::List(items) => items,
                Val::Null => return Ok(Val::Null),
                other => return Err(invalid(format!("IN needs a list, got {}", other.kind()))),
            };
            let mut inner = row.clone();
            let mut out = Vec::new();
            for item in items {
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
            let mut inner = row.clone();
            let (mut yes, mut unknown) = (0usize, false);
            for item in items.iter() {
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
        BinOp::Add => add(x, y)?,
        BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => arithmetic(op, &x, &y)?,
        BinOp::And | BinOp::Or => Val::Null, // answered above
    })
}

fn add(x: Val, y: Val) -> Result<Val, Error> {
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
