//! Cypher under a budget (issue 25): queries that nest past the depth limit, build values
//! past the memory limit or run past the time limit get a typed `LimitExceeded` (never a
//! stack overflow, an abort or a stall); queries run on the query pool, a dropped caller
//! cancels its query, and a panic inside one is that query's error. Generated deep and
//! wide expressions get an answer or a typed error, never a panic.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed expectation is the test failing

mod graph_common;

use graph_common::{Parts, block};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_api::{Error, GraphCommand, GraphQuery, LabelledNode, Response};
use strata_shards::graph::coord::{self, Partitions};
use strata_shards::graph::cypher::budget::{Budget, CypherLimits};
use strata_shards::graph::cypher::{self, pool};

fn small_graph() -> Parts {
    let parts = Parts::new(1);
    let nodes: Vec<LabelledNode> = (0..20).map(|i| LabelledNode::entity(format!("e{i}"), "THING")).collect();
    block(coord::pg::upsert_nodes(&parts, &nodes)).expect("nodes");
    parts
}

fn run_with(parts: &Parts, q: &str, limits: CypherLimits) -> Result<Vec<Map<String, Value>>, Error> {
    let budget = Budget::new(limits, Arc::default());
    block(cypher::structured_query(parts, q, &Map::new(), &budget))
}

fn run(parts: &Parts, q: &str) -> Result<Vec<Map<String, Value>>, Error> {
    run_with(parts, q, CypherLimits::default())
}

fn limit_of(r: Result<Vec<Map<String, Value>>, Error>, q: &str) -> String {
    match r {
        Err(Error::LimitExceeded { what, .. }) => what,
        Err(other) => panic!("{}: expected LimitExceeded, got {other:?}", &q[..q.len().min(80)]),
        Ok(rows) => panic!("{}: expected LimitExceeded, got {} rows", &q[..q.len().min(80)], rows.len()),
    }
}

#[test]
fn chains_and_nesting_past_the_depth_limit_are_typed_errors() {
    let g = small_graph();
    let chain = |op: &str, n: usize| format!("RETURN {}", vec!["1"; n].join(op));
    for q in [
        chain(" AND ", 5_000),
        chain(" OR ", 5_000),
        chain(" XOR ", 5_000),
        chain(" + ", 5_000),
        chain(" * ", 5_000),
        chain(" = ", 5_000),
        format!("RETURN 1{}", " IS NULL".repeat(5_000)),
        format!("RETURN {}1", "NOT ".repeat(5_000)),
        format!("RETURN {}1", "- ".repeat(5_000)),
        format!("RETURN {}1", "+ ".repeat(5_000)),
        format!("RETURN {{a: 1}}{}", ".a".repeat(5_000)),
        format!("RETURN [1]{}", "[0]".repeat(5_000)),
        format!("RETURN {}1{}", "[".repeat(5_000), "]".repeat(5_000)),
        format!("RETURN {}1{}", "(".repeat(5_000), ")".repeat(5_000)),
        format!("RETURN {}1{}", "CASE WHEN true THEN ".repeat(3_000), " END".repeat(3_000)),
    ] {
        let what = limit_of(run(&g, &q), &q);
        assert!(what.contains("nesting depth"), "{what}");
    }
    // Within the limit: an answer.
    let rows = run(&g, &chain(" + ", 100)).expect("100 links");
    assert_eq!(rows[0].values().next(), Some(&Value::from(100)));
}

#[test]
fn values_past_the_memory_limit_are_refused_before_they_are_built() {
    let g = small_graph();
    for q in [
        // 40 billion integers in 60 bytes.
        "RETURN [x IN range(1, 200000) | range(1, 200000)] AS a".to_string(),
        // A string between every two characters of another.
        format!("RETURN replace('{}', '', '{}') AS s", "a".repeat(60_000), "b".repeat(5_000)),
        // Rows copying a large list for every item.
        "WITH range(1, 200000) AS big UNWIND big AS i RETURN count(*) AS n".to_string(),
        // Strings doubling in a list.
        format!("RETURN [x IN range(1, 200000) | '{}' + x] AS l", "y".repeat(4_000)),
        // An aggregate collecting a large list per row.
        "UNWIND range(1, 200000) AS i RETURN collect(range(1, 1000)) AS c".to_string(),
    ] {
        let what = limit_of(run(&g, &q), &q);
        assert!(what.contains("bytes of values"), "{what}");
    }
    // The same shapes, small, answer.
    let rows = run(&g, "RETURN size([x IN range(1, 100) | range(1, 100)]) AS n").unwrap();
    assert_eq!(rows[0]["n"], Value::from(100));
    let rows = run(&g, "WITH range(1, 1000) AS big UNWIND big AS i RETURN count(*) AS n").unwrap();
    assert_eq!(rows[0]["n"], Value::from(1000));
}

#[test]
fn a_query_past_its_time_is_stopped_promptly() {
    let g = small_graph();
    let limits = CypherLimits { max_time: Duration::from_millis(200), ..CypherLimits::default() };
    let q = "UNWIND range(1, 100000) AS a RETURN sum(size([x IN range(1, 100000) WHERE x % 7 = a % 7])) AS n";
    let started = Instant::now();
    let what = limit_of(run_with(&g, q, limits), q);
    assert!(what.contains("milliseconds"), "{what}");
    // Unbounded, this is 10^10 evaluations (hours); stopped, well under a minute even
    // on a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(60), "stopped after {:?}", started.elapsed());
}

/// A graph whose reads panic: what a bug in a read path looks like to a query.
#[derive(Clone)]
struct Panicking;

impl Partitions for Panicking {
    fn graph(&self) -> &str {
        "g"
    }
    fn count(&self) -> usize {
        1
    }
    async fn read(&self, _: usize, _: GraphQuery) -> coord::Result<Response> {
        panic!("a read that panics")
    }
    async fn write(&self, _: usize, _: GraphCommand) -> coord::Result<Response> {
        panic!("no writes")
    }
    fn stamps(&self, _: usize) -> u64 {
        0
    }
}

/// A graph of `n` entities, owned (for the pool).
#[derive(Clone)]
struct Owned(Arc<Parts>);

impl Partitions for Owned {
    fn graph(&self) -> &str {
        self.0.graph()
    }
    fn count(&self) -> usize {
        self.0.count()
    }
    fn read(&self, p: usize, q: GraphQuery) -> impl Future<Output = coord::Result<Response>> + Send {
        self.0.read(p, q)
    }
    fn write(&self, p: usize, c: GraphCommand) -> impl Future<Output = coord::Result<Response>> + Send {
        self.0.write(p, c)
    }
    fn stamps(&self, n: usize) -> u64 {
        self.0.stamps(n)
    }
}

#[test]
fn on_the_pool_a_panic_is_an_error_and_a_dropped_caller_cancels_its_query() {
    let g = Owned(Arc::new(small_graph()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let err = pool::run(Panicking, "MATCH (n) RETURN n".into(), Map::new(), CypherLimits::default())
            .await
            .expect_err("a panic");
        assert!(matches!(&err, Error::InvalidQuery(m) if m.contains("a read that panics")), "{err:?}");

        // Fill every pool thread with a query that would run for hours, then drop the
        // callers: the threads must come free for a quick query.
        let heavy = "UNWIND range(1, 100000) AS a RETURN sum(size([x IN range(1, 100000) WHERE x = a])) AS n";
        let long = CypherLimits { max_time: Duration::from_secs(3_600), ..CypherLimits::default() };
        let running: Vec<_> = (0..pool::threads())
            .map(|_| tokio::spawn(pool::run(g.clone(), heavy.into(), Map::new(), long.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await; // let them start on the threads
        for r in &running {
            assert!(!r.is_finished(), "a heavy query ended early");
            r.abort();
        }
        let quick = pool::run(g.clone(), "MATCH (n:THING) RETURN count(n) AS n".into(), Map::new(), long.clone());
        let rows = tokio::time::timeout(Duration::from_secs(120), quick)
            .await
            .expect("the cancelled queries freed their threads")
            .expect("quick query");
        assert_eq!(rows[0]["n"], Value::from(20));
    });
}

/// An expression of the subset, generated deep or wide.
fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i32>().prop_map(|i| i.to_string()),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("'s'".to_string()),
        Just("[1, 2, 3]".to_string()),
        Just("range(1, 50)".to_string()),
    ];
    leaf.prop_recursive(200, 4_000, 6, |inner| {
        prop_oneof![
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec![
                    "AND", "OR", "XOR", "+", "-", "*", "/", "%", "=", "<", "<>", "IN", "CONTAINS"
                ])
            )
                .prop_map(|(a, b, op)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("NOT {a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("[{a}]")),
            inner.clone().prop_map(|a| format!("[x IN range(1, 3) | {a}]")),
            inner.clone().prop_map(|a| format!("size({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("CASE WHEN {a} THEN {b} ELSE 0 END")),
            prop::collection::vec(inner, 0..8).prop_map(|v| format!("[{}]", v.join(", "))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any generated expression gets an answer or a typed error: never a panic or an
    /// overflow (proptest would report the panic; an overflow would abort the run).
    #[test]
    fn generated_expressions_answer_or_fail_typed(e in expr(), chain in 0usize..3_000, op in prop::sample::select(vec!["AND", "+", "OR"])) {
        let g = small_graph();
        let chained = std::iter::repeat_n(e.as_str(), chain.max(1)).collect::<Vec<_>>().join(&format!(" {op} "));
        for q in [format!("RETURN {e} AS v"), format!("RETURN {chained} AS v"), format!("UNWIND range(1, 3) AS i WITH i, {e} AS v RETURN v")] {
            match run(&g, &q) {
                Ok(_) | Err(Error::InvalidQuery(_)) | Err(Error::LimitExceeded { .. }) | Err(Error::UnsupportedCypher { .. }) => {}
                Err(other) => prop_assert!(false, "{q}: {other:?}"),
            }
        }
    }
}
