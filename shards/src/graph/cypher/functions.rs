//! Cypher's scalar functions in the subset (aggregates are the executor's): graph
//! functions (`labels`, `type`, `properties`, `nodes`, `relationships`, `startNode`,
//! `endNode`, `id`), list and string functions, conversions.

use super::budget::Budget;
use super::value::Val;
use crate::graph::view;
use strata_api::Error;

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::InvalidQuery(what.to_string())
}

/// A value's text (`toString`).
pub fn to_text(v: &Val) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Int(i) => i.to_string(),
        Val::Float(f) if f.fract() == 0.0 && f.is_finite() => format!("{f:.1}"),
        Val::Float(f) => f.to_string(),
        Val::Bool(b) => b.to_string(),
        other => other.to_json().to_string(),
    }
}

fn arity(name: &str, args: &[Val], n: std::ops::RangeInclusive<usize>) -> Result<(), Error> {
    if n.contains(&args.len()) {
        Ok(())
    } else {
        Err(invalid(format!("{name}() takes {} argument(s), got {}", fmt_range(&n), args.len())))
    }
}

fn fmt_range(n: &std::ops::RangeInclusive<usize>) -> String {
    if n.start() == n.end() { n.start().to_string() } else { format!("{} to {}", n.start(), n.end()) }
}

fn string(name: &str, v: &Val) -> Result<Option<String>, Error> {
    match v {
        Val::Null => Ok(None),
        Val::Str(s) => Ok(Some(s.clone())),
        other => Err(invalid(format!("{name}() needs a string, got {}", other.kind()))),
    }
}

fn int(name: &str, v: &Val) -> Result<Option<i64>, Error> {
    match v {
        Val::Null => Ok(None),
        Val::Int(i) => Ok(Some(*i)),
        other => Err(invalid(format!("{name}() needs an integer, got {}", other.kind()))),
    }
}

fn text_fn(name: &str, args: &[Val], f: impl Fn(&str) -> String) -> Result<Val, Error> {
    arity(name, args, 1..=1)?;
    Ok(string(name, &args[0])?.map_or(Val::Null, |s| Val::Str(f(&s))))
}

/// A value's slot in a list.
const SLOT: usize = std::mem::size_of::<Val>();

/// Calls function `name` (lower-cased), charging `budget` for what it makes: before it
/// is made where its size follows from the arguments (`range`, `replace`, `split`),
/// after otherwise (every other result is at most a few times its arguments' size).
pub fn call(name: &str, args: &[Val], budget: &Budget) -> Result<Val, Error> {
    let mark = budget.used();
    let made = make(name, args, budget)?;
    budget.reset_to(mark); // a pre-charge, replaced by the exact price
    super::eval::charged(made, budget)
}

fn make(name: &str, args: &[Val], budget: &Budget) -> Result<Val, Error> {
    let first = args.first().unwrap_or(&Val::Null);
    match name {
        "labels" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::Node(n) => Ok(Val::List(view::labels(n).into_iter().map(Val::Str).collect())),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("labels() needs a node, got {}", other.kind()))),
            }
        }
        "type" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::Rel(r) => Ok(Val::Str(r.relation.label.clone())),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("type() needs a relationship, got {}", other.kind()))),
            }
        }
        "properties" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::Node(n) => Ok(Val::from_json(&serde_json::Value::Object(super::value::node_map(n)))),
                Val::Rel(r) => Ok(Val::from_json(&serde_json::Value::Object(r.relation.properties.clone()))),
                Val::Map(_) | Val::Null => Ok(first.clone()),
                other => Err(invalid(format!("properties() needs a node, relationship or map, got {}", other.kind()))),
            }
        }
        "keys" => {
            arity(name, args, 1..=1)?;
            match make("properties", args, budget)? {
                Val::Map(m) => Ok(Val::List(m.into_keys().map(Val::Str).collect())),
                other => Ok(other),
            }
        }
        "nodes" | "relationships" | "rels" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::Path(p) if name == "nodes" => {
                    Ok(Val::List(p.nodes.iter().map(|n| Val::Node(n.clone())).collect()))
                }
                Val::Path(p) => Ok(Val::List(p.rels.iter().map(|r| Val::Rel(r.clone())).collect())),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("{name}() needs a path, got {}", other.kind()))),
            }
        }
        "startnode" | "endnode" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::Rel(r) => Ok(Val::Node(if name == "startnode" { r.start.clone() } else { r.end.clone() })),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("{name}() needs a relationship, got {}", other.kind()))),
            }
        }
        "id" | "elementid" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::Node(n) => Ok(Val::Str(n.id.clone())),
                Val::Rel(r) => {
                    Ok(Val::Str(format!("{}-{}->{}", r.relation.source_id, r.relation.label, r.relation.target_id)))
                }
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("{name}() needs a node or relationship, got {}", other.kind()))),
            }
        }
        "size" | "length" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::List(l) => Ok(Val::Int(l.len() as i64)),
                Val::Str(s) => Ok(Val::Int(s.chars().count() as i64)),
                Val::Path(p) => Ok(Val::Int(p.rels.len() as i64)),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("{name}() needs a list, string or path, got {}", other.kind()))),
            }
        }
        "tolower" | "lower" => text_fn(name, args, str::to_lowercase),
        "toupper" | "upper" => text_fn(name, args, str::to_uppercase),
        "trim" => text_fn(name, args, |s| s.trim().to_string()),
        "ltrim" => text_fn(name, args, |s| s.trim_start().to_string()),
        "rtrim" => text_fn(name, args, |s| s.trim_end().to_string()),
        "reverse" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::List(l) => Ok(Val::List(l.iter().rev().cloned().collect())),
                _ => text_fn(name, args, |s| s.chars().rev().collect()),
            }
        }
        "tostring" => {
            arity(name, args, 1..=1)?;
            Ok(if first.is_null() { Val::Null } else { Val::Str(to_text(first)) })
        }
        "tointeger" | "toint" => {
            arity(name, args, 1..=1)?;
            Ok(match first {
                Val::Int(i) => Val::Int(*i),
                Val::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Val::Int(f.trunc() as i64),
                Val::Str(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(Val::Int)
                    .or_else(|_| {
                        s.trim().parse::<f64>().map(|f| {
                            if f.is_finite() && f.abs() < 9.2e18 { Val::Int(f.trunc() as i64) } else { Val::Null }
                        })
                    })
                    .unwrap_or(Val::Null),
                Val::Bool(b) => Val::Int(i64::from(*b)),
                _ => Val::Null,
            })
        }
        "tofloat" => {
            arity(name, args, 1..=1)?;
            Ok(match first {
                Val::Int(i) => Val::Float(*i as f64),
                Val::Float(f) => Val::Float(*f),
                Val::Str(s) => s.trim().parse::<f64>().map_or(Val::Null, Val::Float),
                _ => Val::Null,
            })
        }
        "toboolean" => {
            arity(name, args, 1..=1)?;
            Ok(match first {
                Val::Bool(b) => Val::Bool(*b),
                Val::Str(s) if s.eq_ignore_ascii_case("true") => Val::Bool(true),
                Val::Str(s) if s.eq_ignore_ascii_case("false") => Val::Bool(false),
                _ => Val::Null,
            })
        }
        "coalesce" => Ok(args.iter().find(|a| !a.is_null()).cloned().unwrap_or(Val::Null)),
        "head" | "last" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::List(l) => Ok((if name == "head" { l.first() } else { l.last() }).cloned().unwrap_or(Val::Null)),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("{name}() needs a list, got {}", other.kind()))),
            }
        }
        "tail" => {
            arity(name, args, 1..=1)?;
            match first {
                Val::List(l) => Ok(Val::List(l.iter().skip(1).cloned().collect())),
                Val::Null => Ok(Val::Null),
                other => Err(invalid(format!("tail() needs a list, got {}", other.kind()))),
            }
        }
        "range" => {
            arity(name, args, 2..=3)?;
            let (Some(a), Some(b)) = (int(name, &args[0])?, int(name, &args[1])?) else { return Ok(Val::Null) };
            let step = match args.get(2) {
                Some(s) => int(name, s)?.unwrap_or(1),
                None => 1,
            };
            if step == 0 {
                return Err(invalid("range() step must not be zero"));
            }
            let n = (b.saturating_sub(a) / step).max(-1) + 1;
            if n > super::MAX_ROWS as i64 {
                return Err(invalid(format!("range() of {n} elements is too long")));
            }
            budget.charge((n.max(0) as usize).saturating_mul(SLOT))?;
            Ok(Val::List((0..n.max(0)).map(|i| Val::Int(a + i * step)).collect()))
        }
        "abs" | "ceil" | "floor" | "round" | "sqrt" | "sign" => {
            arity(name, args, 1..=1)?;
            Ok(match first {
                Val::Int(i) if name == "abs" => Val::Int(i.checked_abs().ok_or_else(|| invalid("integer overflow"))?),
                Val::Int(i) if name == "sign" => Val::Int(i.signum()),
                Val::Int(i) if name != "sqrt" => Val::Int(*i),
                Val::Int(_) | Val::Float(_) => {
                    let f = match first {
                        Val::Int(i) => *i as f64,
                        Val::Float(f) => *f,
                        _ => f64::NAN,
                    };
                    Val::Float(match name {
                        "abs" => f.abs(),
                        "ceil" => f.ceil(),
                        "floor" => f.floor(),
                        "round" => f.round(),
                        "sign" => f.signum(),
                        _ => f.sqrt(),
                    })
                }
                Val::Null => Val::Null,
                other => return Err(invalid(format!("{name}() needs a number, got {}", other.kind()))),
            })
        }
        "replace" => {
            arity(name, args, 3..=3)?;
            match (string(name, &args[0])?, string(name, &args[1])?, string(name, &args[2])?) {
                (Some(s), Some(from), Some(to)) => {
                    // `replace(s, '', t)` puts `t` between every two characters.
                    let hits = if from.is_empty() { s.chars().count() + 1 } else { s.matches(from.as_str()).count() };
                    let len = s.len().saturating_add(hits.saturating_mul(to.len().saturating_sub(from.len())));
                    budget.charge(len)?;
                    Ok(Val::Str(s.replace(&from, &to)))
                }
                _ => Ok(Val::Null),
            }
        }
        "split" => {
            arity(name, args, 2..=2)?;
            match (string(name, &args[0])?, string(name, &args[1])?) {
                (Some(s), Some(sep)) => {
                    let pieces =
                        if sep.is_empty() { s.chars().count() + 2 } else { s.matches(sep.as_str()).count() + 1 };
                    budget.charge(pieces.saturating_mul(SLOT).saturating_add(s.len()))?;
                    Ok(Val::List(s.split(sep.as_str()).map(|p| Val::Str(p.to_string())).collect()))
                }
                _ => Ok(Val::Null),
            }
        }
        "substring" | "left" | "right" => {
            arity(name, args, 2..=3)?;
            let Some(s) = string(name, &args[0])? else { return Ok(Val::Null) };
            let chars: Vec<char> = s.chars().collect();
            let n = |v: &Val| -> Result<usize, Error> {
                match int(name, v)? {
                    Some(i) if i >= 0 => Ok((i as usize).min(chars.len())),
                    _ => Err(invalid(format!("{name}() needs a non-negative integer"))),
                }
            };
            let (from, len) = match name {
                "left" => (0, n(&args[1])?),
                "right" => {
                    let len = n(&args[1])?;
                    (chars.len() - len, len)
                }
                _ => (n(&args[1])?, args.get(2).map(n).transpose()?.unwrap_or(chars.len())),
            };
            Ok(Val::Str(chars[from..(from + len).min(chars.len())].iter().collect()))
        }
        "exists" => {
            arity(name, args, 1..=1)?;
            Ok(Val::Bool(!first.is_null()))
        }
        "isempty" => {
            arity(name, args, 1..=1)?;
            Ok(match first {
                Val::List(l) => Val::Bool(l.is_empty()),
                Val::Str(s) => Val::Bool(s.is_empty()),
                Val::Map(m) => Val::Bool(m.is_empty()),
                _ => Val::Null,
            })
        }
        other => Err(invalid(format!("unknown function {other}()"))),
    }
}
