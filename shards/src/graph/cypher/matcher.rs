//! Matching `MATCH` patterns over a graph's partitions, set at a time: every row's
//! pattern advances together, so each hop is one round of reads sent only to the
//! partitions owning the frontier, whatever the number of rows.
//!
//! A pattern starts from its most selective end (a bound variable, then a node with
//! property conditions — from its map or from `WHERE` equalities on constants, answered
//! by the property index — then one with a label), read as written or reversed. The
//! `MENTIONS` edges from a chunk to the entities carrying its id as `triplet_source_id`
//! are derived here (Neo4j stores them; Strata's relations never hold them).
//! Relationships are distinct within one `MATCH`, as Cypher has it.

use super::ast::{BinOp, Dir, Expr, NodePattern, Pattern, RelPattern};
use super::eval::{Env, Row, eval, path, truth};
use super::value::{RelVal, Val, equal};
use crate::graph::coord::{self, Partitions};
use crate::graph::view;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use strata_api::model::graph::MENTIONS;
use strata_api::{Direction, Error, GraphQuery, LabelledNode, NodeSelect, Relation, RelationKey, TRIPLET_SOURCE_KEY};

/// One row being matched: the row, the relationships this `MATCH` used, the node the
/// pattern has reached, the path so far, and the input row it came from.
#[derive(Clone)]
pub struct Partial {
    /// Variables bound so far.
    pub row: Row,
    /// Relationships used by this `MATCH` (never twice).
    pub used: Vec<RelationKey>,
    /// Index of the input row.
    pub origin: usize,
    end: Option<Arc<LabelledNode>>,
    nodes: Vec<Arc<LabelledNode>>,
    rels: Vec<Arc<RelVal>>,
}

impl Partial {
    /// A row entering a `MATCH`.
    pub fn new(row: Row, origin: usize) -> Self {
        Partial { row, used: Vec::new(), origin, end: None, nodes: Vec::new(), rels: Vec::new() }
    }
}

/// A node's relationships with the node at their other end.
type Adjacent = HashMap<String, Vec<(Arc<RelVal>, Arc<LabelledNode>)>>;

/// A partial's progress through one step: its index, the relationships taken, the nodes
/// reached.
type StepState = (usize, Vec<Arc<RelVal>>, Vec<Arc<LabelledNode>>);

/// The graph as patterns reach it, with the nodes read so far.
pub struct Source<'a, P: Partitions> {
    parts: &'a P,
    nodes: HashMap<String, Arc<LabelledNode>>,
}

fn too_many() -> Error {
    Error::InvalidQuery(format!(
        "the pattern matched more than {} rows; narrow it (labels, properties, WHERE)",
        super::MAX_ROWS
    ))
}

/// `(variable, property) = constant` or `IN [constants]` conditions of a `WHERE`, for
/// choosing and reading start nodes through the indexes.
pub type Pushdown = HashMap<String, Vec<(String, Vec<Value>)>>;

/// The conditions of `filter` (its top-level `AND`s) that an index can answer.
pub fn pushdown(filter: Option<&Expr>, env: &Env<'_>) -> Pushdown {
    let mut out: Pushdown = HashMap::new();
    let mut stack: Vec<&Expr> = filter.into_iter().collect();
    let constant = |e: &Expr| -> Option<Val> {
        match e {
            Expr::Lit(_) | Expr::Param(_) | Expr::List(_) => eval(e, &Row::new(), env).ok(),
            _ => None,
        }
    };
    while let Some(e) = stack.pop() {
        let (var, key, values) = match e {
            Expr::Bin(BinOp::And, a, b) => {
                stack.push(a);
                stack.push(b);
                continue;
            }
            Expr::Bin(BinOp::Eq, a, b) => match (&**a, &**b) {
                (Expr::Prop(v, k), c) | (c, Expr::Prop(v, k)) => match (&**v, constant(c)) {
                    (Expr::Var(v), Some(val)) if !val.is_null() => (v, k, vec![val.to_json()]),
                    _ => continue,
                },
                _ => continue,
            },
            Expr::Bin(BinOp::In, a, b) => match (&**a, &**b) {
                (Expr::Prop(v, k), c) => match (&**v, constant(c)) {
                    (Expr::Var(v), Some(Val::List(items))) => (v, k, items.iter().map(Val::to_json).collect()),
                    _ => continue,
                },
                _ => continue,
            },
            _ => continue,
        };
        out.entry(var.clone()).or_default().push((key.clone(), values));
    }
    out
}

fn node_of(v: &Val, var: &str) -> Result<Option<Arc<LabelledNode>>, Error> {
    match v {
        Val::Node(n) => Ok(Some(n.clone())),
        Val::Null => Ok(None),
        other => Err(Error::InvalidQuery(format!("`{var}` is {}, not a node", other.kind()))),
    }
}

/// How good a start a node pattern is (lower is better).
fn start_score(n: &NodePattern, bound: &HashSet<&str>, pushed: &Pushdown) -> u8 {
    match &n.var {
        Some(v) if bound.contains(v.as_str()) => 0,
        _ if !n.props.is_empty() => 1,
        Some(v) if pushed.contains_key(v) => 1,
        _ if n.labels.iter().any(|l| l != strata_api::model::graph::NODE_CYPHER_LABEL) => 2,
        _ => 3,
    }
}

impl<'a, P: Partitions> Source<'a, P> {
    /// The graph behind `parts`.
    pub fn new(parts: &'a P) -> Self {
        Source { parts, nodes: HashMap::new() }
    }

    fn remember(&mut self, n: LabelledNode) -> Arc<LabelledNode> {
        let n = Arc::new(n);
        self.nodes.insert(n.id.clone(), n.clone());
        n
    }

    async fn hydrate(&mut self, ids: &[String]) -> Result<(), Error> {
        let missing: Vec<String> = ids.iter().filter(|id| !self.nodes.contains_key(*id)).cloned().collect();
        for (_, (_, n)) in coord::nodes_by_id(self.parts, &missing, true).await? {
            self.remember(n);
        }
        Ok(())
    }

    /// Extends every partial through `pattern` (a `MATCH`'s patterns run in turn).
    pub async fn extend(
        &mut self,
        partials: Vec<Partial>,
        pattern: &Pattern,
        pushed: &Pushdown,
        env: &Env<'_>,
    ) -> Result<Vec<Partial>, Error> {
        let mut nodes: Vec<&NodePattern> = vec![&pattern.start];
        let mut rels: Vec<&RelPattern> = Vec::new();
        for (r, n) in &pattern.steps {
            rels.push(r);
            nodes.push(n);
        }
        let bound: HashSet<&str> =
            partials.first().map(|p| p.row.keys().map(String::as_str).collect()).unwrap_or_default();
        let reversed = nodes.len() > 1
            && start_score(nodes[nodes.len() - 1], &bound, pushed) < start_score(nodes[0], &bound, pushed);
        if reversed {
            nodes.reverse();
            rels.reverse();
        }
        let mut partials = self.start(partials, nodes[0], pushed, env).await?;
        for (rel, node) in rels.iter().zip(&nodes[1..]) {
            partials = self.step(partials, rel, node, reversed, env).await?;
        }
        for p in &mut partials {
            if reversed {
                p.nodes.reverse();
                p.rels.reverse();
            }
            if let Some(name) = &pattern.path {
                let value = path(std::mem::take(&mut p.nodes), std::mem::take(&mut p.rels));
                p.row.insert(name.clone(), value);
            }
            p.end = None;
            p.nodes.clear();
            p.rels.clear();
        }
        Ok(partials)
    }

    /// Whether `node` passes a node pattern's labels and properties on `row`.
    fn fits(node: &LabelledNode, pat: &NodePattern, row: &Row, env: &Env<'_>) -> Result<bool, Error> {
        if !pat.labels.iter().all(|l| view::has_label(node, l)) {
            return Ok(false);
        }
        for (k, e) in &pat.props {
            let want = eval(e, row, env)?;
            let have = view::property(node, k).map_or(Val::Null, |v| Val::from_json(&v));
            if equal(&have, &want) != Some(true) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn bind(p: &mut Partial, var: &Option<String>, node: Arc<LabelledNode>) {
        if let Some(v) = var {
            p.row.insert(v.clone(), Val::Node(node.clone()));
        }
        p.nodes.push(node.clone());
        p.end = Some(node);
    }

    async fn start(
        &mut self,
        partials: Vec<Partial>,
        pat: &NodePattern,
        pushed: &Pushdown,
        env: &Env<'_>,
    ) -> Result<Vec<Partial>, Error> {
        let mut out = Vec::new();
        // Rows needing a read, grouped by what they read.
        let mut reads: Vec<(NodeSelect, Vec<Partial>)> = Vec::new();
        for mut p in partials {
            if let Some(v) = &pat.var
                && let Some(val) = p.row.get(v)
            {
                if let Some(n) = node_of(val, v)?
                    && Self::fits(&n, pat, &p.row, env)?
                {
                    Self::bind(&mut p, &None, n);
                    out.push(p);
                }
                continue;
            }
            // Cypher never shows embeddings: nodes are read without them.
            let mut select =
                NodeSelect { labels: pat.labels.clone(), without_embeddings: true, ..NodeSelect::default() };
            for (k, e) in &pat.props {
                select.all_properties.insert(k.clone(), eval(e, &p.row, env)?.to_json());
            }
            if let Some(conds) = pat.var.as_ref().and_then(|v| pushed.get(v)) {
                for (k, values) in conds {
                    match &select.property_in {
                        None => select.property_in = Some((k.clone(), values.clone())),
                        Some(_) if values.len() == 1 => {
                            select.all_properties.insert(k.clone(), values[0].clone());
                        }
                        Some(_) => {}
                    }
                }
            }
            match reads.iter_mut().find(|(s, _)| *s == select) {
                Some((_, rows)) => rows.push(p),
                None => reads.push((select, vec![p])),
            }
        }
        for (select, rows) in reads {
            let found: Vec<Arc<LabelledNode>> =
                coord::select_nodes(self.parts, select).await?.into_iter().map(|(_, n)| self.remember(n)).collect();
            if found.len().saturating_mul(rows.len()) > super::MAX_ROWS {
                return Err(too_many());
            }
            for p in rows {
                let weight = super::eval::row_weight(&p.row);
                for n in &found {
                    env.budget.tick()?;
                    env.budget.charge(weight)?;
                    let mut q = p.clone();
                    Self::bind(&mut q, &pat.var, n.clone());
                    out.push(q);
                }
            }
        }
        Ok(out)
    }

    /// The relationships of `frontier` in `dir` of `types` (any when empty), with the node
    /// at the other end, per frontier node.
    async fn edges(&mut self, frontier: &[Arc<LabelledNode>], dir: Dir, types: &[String]) -> Result<Adjacent, Error> {
        let direction = match dir {
            Dir::Out => Direction::Outgoing,
            Dir::In => Direction::Incoming,
            Dir::Either => Direction::Both,
        };
        let graph = self.parts.graph().to_string();
        let reads = coord::by_owner(self.parts, frontier.iter().map(|n| n.id.as_str()))
            .into_iter()
            .map(|(p, nodes)| {
                let q = GraphQuery::Edges {
                    graph: graph.clone(),
                    nodes,
                    direction,
                    labels: types.to_vec(),
                    with_nodes: false,
                    cap: None,
                    ignore: Vec::new(),
                };
                (p, q)
            })
            .collect();
        let mut relations: Vec<Relation> = Vec::new();
        for answer in coord::read_each(self.parts, reads).await? {
            relations.extend(coord::pg::edges_of(answer)?.1.into_iter().map(|e| e.relation));
        }
        if types.is_empty() || types.iter().any(|t| t == MENTIONS) {
            relations.extend(self.mentions(frontier, dir).await?);
        }
        let mut ends: Vec<String> = Vec::new();
        for r in &relations {
            ends.push(r.source_id.clone());
            ends.push(r.target_id.clone());
        }
        self.hydrate(&ends).await?;
        let ids: HashSet<&str> = frontier.iter().map(|n| n.id.as_str()).collect();
        let mut out: Adjacent = HashMap::new();
        let mut seen: HashSet<(String, RelationKey)> = HashSet::new();
        for r in relations {
            let (Some(start), Some(end)) =
                (self.nodes.get(&r.source_id).cloned(), self.nodes.get(&r.target_id).cloned())
            else {
                continue;
            };
            let rel = Arc::new(RelVal { relation: r, start, end });
            let mut owners: Vec<(&str, &Arc<LabelledNode>)> = Vec::new();
            if dir != Dir::In && ids.contains(rel.relation.source_id.as_str()) {
                owners.push((&rel.relation.source_id, &rel.end));
            }
            if dir != Dir::Out && ids.contains(rel.relation.target_id.as_str()) {
                owners.push((&rel.relation.target_id, &rel.start));
            }
            for (owner, other) in owners {
                if seen.insert((owner.to_string(), rel.relation.key())) {
                    out.entry(owner.to_string()).or_default().push((rel.clone(), other.clone()));
                }
            }
        }
        Ok(out)
    }

    /// The derived `(chunk)-[:MENTIONS]->(entity)` edges of the frontier: to the entities
    /// whose `triplet_source_id` is a frontier chunk, from the chunk a frontier entity
    /// names.
    async fn mentions(&mut self, frontier: &[Arc<LabelledNode>], dir: Dir) -> Result<Vec<Relation>, Error> {
        let mut out = Vec::new();
        let chunks: Vec<Value> =
            frontier.iter().filter(|n| !n.is_entity()).map(|n| Value::String(n.id.clone())).collect();
        if dir != Dir::In && !chunks.is_empty() {
            let select = NodeSelect {
                labels: vec![strata_api::model::graph::ENTITY_CYPHER_LABEL.into()],
                property_in: Some((TRIPLET_SOURCE_KEY.into(), chunks)),
                without_embeddings: true,
                ..NodeSelect::default()
            };
            for (_, e) in coord::select_nodes(self.parts, select).await? {
                if let Some(Value::String(c)) = e.properties.get(TRIPLET_SOURCE_KEY) {
                    out.push(Relation::new(c.clone(), MENTIONS, e.id.clone()));
                }
                self.remember(e);
            }
        }
        if dir != Dir::Out {
            let named: Vec<(String, String)> = frontier
                .iter()
                .filter(|n| n.is_entity())
                .filter_map(|n| match n.properties.get(TRIPLET_SOURCE_KEY) {
                    Some(Value::String(c)) => Some((c.clone(), n.id.clone())),
                    _ => None,
                })
                .collect();
            let ids: Vec<String> = named.iter().map(|(c, _)| c.clone()).collect();
            self.hydrate(&ids).await?;
            for (c, e) in named {
                if self.nodes.get(&c).is_some_and(|n| !n.is_entity()) {
                    out.push(Relation::new(c, MENTIONS, e));
                }
            }
        }
        Ok(out)
    }

    async fn step(
        &mut self,
        partials: Vec<Partial>,
        rel: &RelPattern,
        target: &NodePattern,
        reversed: bool,
        env: &Env<'_>,
    ) -> Result<Vec<Partial>, Error> {
        let dir = if reversed { rel.dir.flip() } else { rel.dir };
        let (min, max) = rel.hops.unwrap_or((1, 1));
        // A state: a partial and the relationships this step took so far.
        let mut states: Vec<StepState> = (0..partials.len()).map(|i| (i, Vec::new(), Vec::new())).collect();
        let mut done: Vec<StepState> = Vec::new();
        if min == 0 {
            done.extend(states.iter().cloned());
        }
        for hop in 1..=max {
            let end_of = |s: &StepState| s.2.last().cloned().or_else(|| partials[s.0].end.clone());
            let mut frontier: Vec<Arc<LabelledNode>> = Vec::new();
            let mut ids = HashSet::new();
            for s in &states {
                if let Some(n) = end_of(s)
                    && ids.insert(n.id.clone())
                {
                    frontier.push(n);
                }
            }
            if frontier.is_empty() {
                break;
            }
            let edges = self.edges(&frontier, dir, &rel.types).await?;
            let mut next = Vec::new();
            for s in &states {
                let Some(end) = end_of(s) else { continue };
                for (r, other) in edges.get(&end.id).map(Vec::as_slice).unwrap_or_default() {
                    let key = r.relation.key();
                    if partials[s.0].used.contains(&key) || s.1.iter().any(|x| x.relation.key() == key) {
                        continue;
                    }
                    let mut props_ok = true;
                    for (k, e) in &rel.props {
                        let want = eval(e, &partials[s.0].row, env)?;
                        let have = r.relation.properties.get(k).map_or(Val::Null, Val::from_json);
                        props_ok &= equal(&have, &want) == Some(true);
                    }
                    if !props_ok {
                        continue;
                    }
                    let mut rels = s.1.clone();
                    rels.push(r.clone());
                    let mut nodes = s.2.clone();
                    nodes.push(other.clone());
                    next.push((s.0, rels, nodes));
                }
            }
            if next.len() > super::MAX_ROWS {
                return Err(too_many());
            }
            if hop >= min {
                done.extend(next.iter().cloned());
            }
            states = next;
        }
        let mut out = Vec::new();
        for (i, rels, nodes) in done {
            let base = &partials[i];
            let Some(end) = nodes.last().cloned().or_else(|| base.end.clone()) else { continue };
            if let Some(v) = &target.var
                && let Some(val) = base.row.get(v)
            {
                match node_of(val, v)? {
                    Some(n) if n.id == end.id => {}
                    _ => continue,
                }
            }
            if !Self::fits(&end, target, &base.row, env)? {
                continue;
            }
            env.budget.tick()?;
            env.budget.charge(super::eval::row_weight(&base.row))?;
            let mut p = base.clone();
            p.used.extend(rels.iter().map(|r| r.relation.key()));
            if let Some(v) = &rel.var {
                let value = if rel.hops.is_some() {
                    let mut list: Vec<Val> = rels.iter().map(|r| Val::Rel(r.clone())).collect();
                    if reversed {
                        list.reverse();
                    }
                    Val::List(list)
                } else {
                    rels.first().map_or(Val::Null, |r| Val::Rel(r.clone()))
                };
                if let Some(existing) = p.row.get(v) {
                    if equal(existing, &value) != Some(true) {
                        continue;
                    }
                } else {
                    p.row.insert(v.clone(), value);
                }
            }
            p.rels.extend(rels);
            // The nodes between the hops join the path; the last one is bound below.
            if let Some((_, middle)) = nodes.split_last() {
                p.nodes.extend(middle.iter().cloned());
            }
            if target.var.as_ref().is_some_and(|v| p.row.contains_key(v)) {
                p.nodes.push(end.clone());
                p.end = Some(end);
            } else {
                Self::bind(&mut p, &target.var, end);
            }
            out.push(p);
        }
        if out.len() > super::MAX_ROWS {
            return Err(too_many());
        }
        Ok(out)
    }
}

/// Keeps the partials whose row passes `filter`.
pub fn keep(partials: Vec<Partial>, filter: &Expr, env: &Env<'_>) -> Result<Vec<Partial>, Error> {
    let mut out = Vec::with_capacity(partials.len());
    for p in partials {
        let mark = env.budget.used();
        let pass = truth(&eval(filter, &p.row, env)?)? == Some(true);
        env.budget.reset_to(mark);
        if pass {
            out.push(p);
        }
    }
    Ok(out)
}
