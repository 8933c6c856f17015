//! Running a parsed query clause by clause over rows: `MATCH` through the matcher,
//! `UNWIND`, and the projections of `WITH` and `RETURN` (grouping by the
//! non-aggregate items, `DISTINCT`, `ORDER BY`, `SKIP`, `LIMIT`).

use super::ast::{AGGREGATES, Clause, Expr, Projection, Query};
use super::budget::Budget;
use super::eval::{Env, Row, eval, eval_kept, row_weight};
use super::matcher::{Partial, Source, keep, pushdown};
use super::value::{Val, order};
use crate::graph::coord::Partitions;
use serde_json::{Map, Value};
use std::collections::HashMap;
use strata_api::Error;

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::InvalidQuery(what.to_string())
}

/// Runs `query` with `params` on `budget`; answers its rows, keyed by column name.
///
/// The budget holds, besides what each clause spends on the way, the rows between two
/// clauses: a clause's input rows are given back once its output replaced them.
pub async fn run<P: Partitions>(
    parts: &P,
    query: &Query,
    params: &Map<String, Value>,
    budget: &Budget,
) -> Result<Vec<Map<String, Value>>, Error> {
    let env = Env { params, aggregates: None, budget };
    let mut source = Source::new(parts);
    let mut rows: Vec<Row> = vec![Row::new()];
    // What the current rows hold, charged.
    let mut rows_held = 0usize;
    for clause in &query.clauses {
        budget.check()?;
        // Everything but the current rows (the matcher's nodes, the parameters).
        let base = budget.used().saturating_sub(rows_held);
        match clause {
            Clause::Match { optional, patterns, filter } => {
                let pushed = pushdown(filter.as_ref(), &env);
                let mut partials: Vec<Partial> =
                    rows.iter().cloned().enumerate().map(|(i, r)| Partial::new(r, i)).collect();
                for pattern in patterns {
                    partials = source.extend(partials, pattern, &pushed, &env).await?;
                }
                if let Some(f) = filter {
                    partials = keep(partials, f, &env)?;
                }
                rows = if *optional {
                    with_nulls(rows, partials, patterns)
                } else {
                    partials.into_iter().map(|p| p.row).collect()
                };
                // The match's copies of rows stay charged (with the nodes it read).
                rows_held = budget.used().saturating_sub(base);
            }
            Clause::Unwind { list, name } => {
                let mut out = Vec::new();
                let mut held = 0usize;
                for row in rows {
                    let mark = budget.used();
                    let items = match eval(list, &row, &env)? {
                        Val::List(items) => items,
                        Val::Null => Vec::new(),
                        single => vec![single],
                    };
                    budget.reset_to(mark);
                    let weight = row_weight(&row);
                    for item in items {
                        budget.tick()?;
                        // The copy of the row is charged before it is made.
                        let cost = weight + name.len() + 48 + item.weight().0;
                        budget.charge(cost)?;
                        held += cost;
                        let mut r = row.clone();
                        r.insert(name.clone(), item);
                        out.push(r);
                    }
                    if out.len() > super::MAX_ROWS {
                        return Err(invalid(format!("UNWIND made more than {} rows", super::MAX_ROWS)));
                    }
                }
                rows = out;
                budget.reset_to(base + held);
                rows_held = held;
            }
            Clause::With { projection, filter } => {
                let (names, projected) = project(rows, projection, &env)?;
                rows = projected.into_iter().map(|vals| names.iter().cloned().zip(vals).collect()).collect();
                if let Some(f) = filter {
                    let mut kept = Vec::new();
                    for r in rows {
                        let mark = budget.used();
                        let pass = super::eval::truth(&eval(f, &r, &env)?)? == Some(true);
                        budget.reset_to(mark);
                        if pass {
                            kept.push(r);
                        }
                    }
                    rows = kept;
                }
                rows_held = rows.iter().map(row_weight).sum();
                budget.reset_to(base);
                budget.charge(rows_held)?;
            }
            Clause::Return(projection) => {
                let (names, projected) = project(rows, projection, &env)?;
                return Ok(projected
                    .into_iter()
                    .map(|vals| names.iter().cloned().zip(vals.iter().map(Val::to_json)).collect())
                    .collect());
            }
        }
    }
    Err(invalid("a query ends with RETURN"))
}

/// `OPTIONAL MATCH`: each input row with its matches, or alone with the pattern's new
/// variables null.
fn with_nulls(rows: Vec<Row>, partials: Vec<Partial>, patterns: &[super::ast::Pattern]) -> Vec<Row> {
    let mut by_origin: HashMap<usize, Vec<Row>> = HashMap::new();
    for p in partials {
        by_origin.entry(p.origin).or_default().push(p.row);
    }
    let mut vars: Vec<&str> = Vec::new();
    for pat in patterns {
        vars.extend(pat.path.as_deref());
        vars.extend(pat.start.var.as_deref());
        for (r, n) in &pat.steps {
            vars.extend(r.var.as_deref());
            vars.extend(n.var.as_deref());
        }
    }
    let mut out = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        match by_origin.remove(&i) {
            Some(matches) => out.extend(matches),
            None => {
                let mut r = row;
                for v in &vars {
                    r.entry(v.to_string()).or_insert(Val::Null);
                }
                out.push(r);
            }
        }
    }
    out
}

/// The aggregate calls inside `e` (not inside another aggregate).
fn aggregate_calls<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Call { name, args, .. } => {
            if AGGREGATES.contains(&name.as_str()) {
                out.push(e);
            } else {
                args.iter().for_each(|a| aggregate_calls(a, out));
            }
        }
        Expr::Prop(a, _) | Expr::HasLabels(a, _) | Expr::Not(a) | Expr::Neg(a) | Expr::IsNull(a, _) => {
            aggregate_calls(a, out)
        }
        Expr::List(items) => items.iter().for_each(|a| aggregate_calls(a, out)),
        Expr::Map(items) => items.iter().for_each(|(_, a)| aggregate_calls(a, out)),
        Expr::Bin(_, a, b) | Expr::Index(a, b) => {
            aggregate_calls(a, out);
            aggregate_calls(b, out);
        }
        Expr::Slice(a, b, c) => {
            aggregate_calls(a, out);
            b.iter().chain(c.iter()).for_each(|x| aggregate_calls(x, out));
        }
        Expr::Case { subject, arms, otherwise } => {
            subject.iter().chain(otherwise.iter()).for_each(|x| aggregate_calls(x, out));
            for (a, b) in arms {
                aggregate_calls(a, out);
                aggregate_calls(b, out);
            }
        }
        Expr::Comprehension { list, .. } | Expr::Quantified { list, .. } => aggregate_calls(list, out),
        Expr::Lit(_) | Expr::Param(_) | Expr::Var(_) => {}
    }
}

/// Folds one aggregate over a group's rows.
fn aggregate(call: &Expr, rows: &[&Row], env: &Env<'_>) -> Result<Val, Error> {
    let Expr::Call { name, distinct, args } = call else { return Ok(Val::Null) };
    if name == "count" && args.is_empty() {
        return Ok(Val::Int(rows.len() as i64));
    }
    let [arg] = args.as_slice() else { return Err(invalid(format!("{name}() takes one argument"))) };
    let mut values = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        let mark = env.budget.used();
        let v = eval(arg, r, env)?;
        env.budget.reset_to(mark);
        if v.is_null() {
            continue;
        }
        if *distinct {
            let key = v.key();
            env.budget.charge(key.len())?;
            if !seen.insert(key) {
                continue;
            }
        }
        let v = super::eval::charged(v, env.budget)?;
        values.push(v);
    }
    Ok(match name.as_str() {
        "count" => Val::Int(values.len() as i64),
        "collect" => Val::List(values),
        "min" | "max" => {
            let want = if name == "min" { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater };
            let mut best: Option<Val> = None;
            for v in values {
                best = match best {
                    Some(b) if order(&v, &b) != want => Some(b),
                    _ => Some(v),
                };
            }
            best.unwrap_or(Val::Null)
        }
        "sum" | "avg" => {
            if values.is_empty() {
                return Ok(if name == "sum" { Val::Int(0) } else { Val::Null });
            }
            let all_int = values.iter().all(|v| matches!(v, Val::Int(_)));
            let mut total_i: i64 = 0;
            let mut total_f = 0.0;
            for v in &values {
                match v {
                    Val::Int(i) => {
                        total_i = total_i.checked_add(*i).ok_or_else(|| invalid("integer overflow in sum()"))?;
                        total_f += *i as f64;
                    }
                    Val::Float(f) => total_f += f,
                    other => return Err(invalid(format!("{name}() needs numbers, got {}", other.kind()))),
                }
            }
            match name.as_str() {
                "sum" if all_int => Val::Int(total_i),
                "sum" => Val::Float(total_f),
                _ => Val::Float(total_f / values.len() as f64),
            }
        }
        _ => Val::Null,
    })
}

fn int_arg(e: &Option<Expr>, env: &Env<'_>, what: &str) -> Result<Option<usize>, Error> {
    let Some(e) = e else { return Ok(None) };
    match eval(e, &Row::new(), env)? {
        Val::Int(n) if n >= 0 => Ok(Some(n as usize)),
        other => Err(invalid(format!("{what} needs a non-negative integer, got {}", other.kind()))),
    }
}

/// A projection's column names and rows.
type Projected = (Vec<String>, Vec<Vec<Val>>);

/// Projects rows: groups when an item aggregates, then `DISTINCT`, `ORDER BY`, `SKIP`,
/// `LIMIT`.
fn project(rows: Vec<Row>, p: &Projection, env: &Env<'_>) -> Result<Projected, Error> {
    let mut items: Vec<(Expr, String)> = Vec::new();
    if p.star {
        let mut vars: Vec<&String> = rows.first().map(|r| r.keys().collect()).unwrap_or_default();
        vars.sort();
        items.extend(vars.into_iter().map(|v| (Expr::Var(v.clone()), v.clone())));
    }
    items.extend(p.items.iter().cloned());
    let names: Vec<String> = items.iter().map(|(_, n)| n.clone()).collect();
    let aggregating = items.iter().any(|(e, _)| e.has_aggregate());
    // Each output row with the scope ORDER BY sees: the projected names over the input
    // row (which aggregation does not keep).
    let mut out: Vec<(Vec<Val>, Row)> = Vec::new();
    if aggregating {
        let keys: Vec<usize> = (0..items.len()).filter(|i| !items[*i].0.has_aggregate()).collect();
        let mut groups: Vec<(Vec<Val>, Vec<&Row>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for r in &rows {
            env.budget.tick()?;
            let vals = keys.iter().map(|i| eval_kept(&items[*i].0, r, env)).collect::<Result<Vec<_>, _>>()?;
            let key: String = vals.iter().map(Val::key).collect::<Vec<_>>().join("\u{1f}");
            env.budget.charge(key.len())?;
            match index.get(&key) {
                Some(g) => groups[*g].1.push(r),
                None => {
                    index.insert(key, groups.len());
                    groups.push((vals, vec![r]));
                }
            }
        }
        let empty = Row::new();
        if groups.is_empty() && keys.is_empty() {
            groups.push((Vec::new(), Vec::new()));
        }
        for (key_vals, members) in groups {
            let mut calls = Vec::new();
            for (e, _) in &items {
                aggregate_calls(e, &mut calls);
            }
            let mut values: HashMap<usize, Val> = HashMap::new();
            for call in calls {
                values.insert(call as *const Expr as usize, aggregate(call, &members, env)?);
            }
            let inner = Env { params: env.params, aggregates: Some(&values), budget: env.budget };
            let first = members.first().copied().unwrap_or(&empty);
            let mut key_vals = key_vals.into_iter();
            let mut vals = Vec::with_capacity(items.len());
            for (e, _) in &items {
                vals.push(if e.has_aggregate() {
                    eval(e, first, &inner)?
                } else {
                    key_vals.next().unwrap_or(Val::Null)
                });
            }
            env.budget.charge(vals.iter().map(|v| v.weight().0).sum())?;
            let scope: Row = names.iter().cloned().zip(vals.iter().cloned()).collect();
            out.push((vals, scope));
        }
    } else {
        for r in rows {
            env.budget.tick()?;
            let vals = items.iter().map(|(e, _)| eval_kept(e, &r, env)).collect::<Result<Vec<_>, _>>()?;
            let mut scope = r;
            for (n, v) in names.iter().zip(&vals) {
                env.budget.charge(v.weight().0)?;
                scope.insert(n.clone(), v.clone());
            }
            out.push((vals, scope));
        }
    }
    if p.distinct {
        let mut seen = std::collections::HashSet::new();
        let mut kept = Vec::with_capacity(out.len());
        for (vals, scope) in out {
            let key = vals.iter().map(Val::key).collect::<Vec<_>>().join("\u{1f}");
            env.budget.charge(key.len())?;
            if seen.insert(key) {
                kept.push((vals, scope));
            }
        }
        out = kept;
    }
    if !p.order.is_empty() {
        let mut keyed = Vec::with_capacity(out.len());
        for (vals, scope) in out {
            let mut sort_vals = Vec::with_capacity(p.order.len());
            for (e, _) in &p.order {
                // An ORDER BY naming an item's very expression (`count(x)`) takes its value.
                sort_vals.push(match items.iter().position(|(ie, _)| ie == e) {
                    Some(i) => super::eval::charged(vals[i].clone(), env.budget)?,
                    None => eval_kept(e, &scope, env)?,
                });
            }
            keyed.push((sort_vals, vals, scope));
        }
        keyed.sort_by(|a, b| {
            for (i, (_, desc)) in p.order.iter().enumerate() {
                let o = order(&a.0[i], &b.0[i]);
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        out = keyed.into_iter().map(|(_, v, s)| (v, s)).collect();
    }
    let skip = int_arg(&p.skip, env, "SKIP")?.unwrap_or(0);
    let limit = int_arg(&p.limit, env, "LIMIT")?.unwrap_or(usize::MAX);
    Ok((names, out.into_iter().skip(skip).take(limit).map(|(v, _)| v).collect()))
}
