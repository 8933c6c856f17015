//! The Cypher subset against hand-computed answers on a small fixed graph, over one
//! partition and over three (the answers must not depend on partitioning), and every
//! refused construct's typed error.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed expectation is the test failing

mod graph_common;

use graph_common::{Parts, block};
use serde_json::{Map, Value, json};
use strata_api::{Error, LabelledNode, Node, Relation};
use strata_shards::graph::{coord, cypher};

/// Ada and Babbage (PERSON, extracted from chunk c1), the Engine (MACHINE, from c2),
/// London (PLACE); chunks c1 and c2.
fn graph(p: usize) -> Parts {
    let parts = Parts::new(p);
    let props = |v: Value| v.as_object().cloned().unwrap();
    let nodes = vec![
        LabelledNode::entity("Ada", "PERSON").with_properties(props(json!({"born": 1815, "triplet_source_id": "c1"}))),
        LabelledNode::entity("Babbage", "PERSON")
            .with_properties(props(json!({"born": 1791, "triplet_source_id": "c1"}))),
        LabelledNode::entity("Engine", "MACHINE")
            .with_properties(props(json!({"weight": 15.5, "triplet_source_id": "c2"})))
            .with_embedding(&[0.5, 0.5]),
        LabelledNode::entity("London", "PLACE"),
        LabelledNode::chunk("c1", "Ada worked with Babbage."),
        LabelledNode::chunk("c2", "The engine was designed by Babbage."),
    ];
    block(coord::pg::upsert_nodes(&parts, &nodes)).expect("nodes");
    let rels = vec![
        Relation::new("Ada", "WORKED_WITH", "Babbage").with_properties(props(json!({"since": 1833}))),
        Relation::new("Babbage", "DESIGNED", "Engine"),
        Relation::new("Ada", "LIVED IN", "London"),
        Relation::new("Babbage", "LIVED IN", "London"),
        Relation::new("Engine", "BUILT_IN", "London"),
    ];
    block(coord::pg::upsert_relations(&parts, &rels)).expect("relations");
    parts
}

fn run(parts: &Parts, q: &str, params: Value) -> Result<Vec<Map<String, Value>>, Error> {
    let params = params.as_object().cloned().unwrap_or_default();
    block(cypher::structured_query(parts, q, &params, &cypher::budget::Budget::standalone()))
}

fn rows(parts: &Parts, q: &str, params: Value) -> Value {
    Value::Array(run(parts, q, params).unwrap_or_else(|e| panic!("{q}: {e}")).into_iter().map(Value::Object).collect())
}

/// Rows as a sorted list of their JSON texts (for queries without ORDER BY).
fn bag(v: Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().unwrap().iter().map(|r| r.to_string()).collect();
    out.sort();
    out
}

#[test]
fn every_supported_construct_answers_as_computed_by_hand() {
    for p in [1, 3] {
        let g = graph(p);
        // The documentation's CypherTemplateRetriever query, verbatim.
        let got = rows(
            &g,
            "MATCH (c:Chunk)-[:MENTIONS]->(o) WHERE o.name IN $names RETURN c.text, o.name, o.label",
            json!({"names": ["Ada", "Engine", "Nobody"]}),
        );
        assert_eq!(
            bag(got),
            bag(json!([
                {"c.text": "Ada worked with Babbage.", "o.name": "Ada", "o.label": "PERSON"},
                {"c.text": "The engine was designed by Babbage.", "o.name": "Engine", "o.label": "MACHINE"},
            ]))
        );
        // Paths of one or two hops in either direction (MENTIONS edges included), verbatim.
        let got = rows(
            &g,
            "MATCH p=(a:`__Entity__` {name: $src})-[*1..2]-(b) RETURN [n IN nodes(p) | n.name] AS path LIMIT 25",
            json!({"src": "Engine"}),
        );
        assert_eq!(
            bag(got),
            bag(json!([
                {"path": ["Engine", "Babbage"]},
                {"path": ["Engine", "London"]},
                {"path": ["Engine", null]},
                {"path": ["Engine", "Babbage", "Ada"]},
                {"path": ["Engine", "Babbage", "London"]},
                {"path": ["Engine", "Babbage", null]},
                {"path": ["Engine", "London", "Ada"]},
                {"path": ["Engine", "London", "Babbage"]},
            ])),
            "partitions {p}"
        );
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "MATCH (p:PERSON)-[:`LIVED IN`]->(l) RETURN l.name AS place, count(p) AS people, collect(p.name) AS names ORDER BY place",
                json!({}),
                json!([{"place": "London", "people": 2, "names": ["Ada", "Babbage"]}]),
            ),
            (
                "MATCH (p:PERSON) OPTIONAL MATCH (p)-[:DESIGNED]->(m) RETURN p.name, m.name ORDER BY p.name",
                json!({}),
                json!([{"p.name": "Ada", "m.name": null}, {"p.name": "Babbage", "m.name": "Engine"}]),
            ),
            (
                "MATCH (p:PERSON) WITH p, p.born AS born WHERE born < 1800 RETURN p.name",
                json!({}),
                json!([{"p.name": "Babbage"}]),
            ),
            (
                "UNWIND $xs AS x RETURN x * 2 AS y ORDER BY y DESC",
                json!({"xs": [1, 3, 2]}),
                json!([{"y": 6}, {"y": 4}, {"y": 2}]),
            ),
            ("MATCH (n)-[:`LIVED IN`]->(l) RETURN DISTINCT l.name", json!({}), json!([{"l.name": "London"}])),
            (
                "MATCH (a)<-[:DESIGNED]-(b) RETURN a.name, b.name",
                json!({}),
                json!([{"a.name": "Engine", "b.name": "Babbage"}]),
            ),
            (
                "MATCH (a {name: 'Engine'})-[r]-(b) RETURN type(r), b.id ORDER BY type(r)",
                json!({}),
                json!([
                    {"type(r)": "BUILT_IN", "b.id": "London"},
                    {"type(r)": "DESIGNED", "b.id": "Babbage"},
                    {"type(r)": "MENTIONS", "b.id": "c2"},
                ]),
            ),
            (
                "MATCH (a)-[r:DESIGNED|BUILT_IN]->(b) RETURN a.name, type(r), b.name ORDER BY a.name",
                json!({}),
                json!([
                    {"a.name": "Babbage", "type(r)": "DESIGNED", "b.name": "Engine"},
                    {"a.name": "Engine", "type(r)": "BUILT_IN", "b.name": "London"},
                ]),
            ),
            (
                "MATCH (n:__Entity__) WHERE n.name STARTS WITH 'B' OR n.name ENDS WITH 'don' OR n.name CONTAINS 'ngi' RETURN n.name ORDER BY n.name",
                json!({}),
                json!([{"n.name": "Babbage"}, {"n.name": "Engine"}, {"n.name": "London"}]),
            ),
            (
                "MATCH (n:__Entity__) WHERE n.born IS NULL RETURN n.name ORDER BY n.name",
                json!({}),
                json!([{"n.name": "Engine"}, {"n.name": "London"}]),
            ),
            (
                "MATCH (n:__Entity__) WHERE n.born IS NOT NULL AND NOT n.born >= 1800 RETURN n.name",
                json!({}),
                json!([{"n.name": "Babbage"}]),
            ),
            (
                "MATCH p=(a {name: 'Ada'})-[:WORKED_WITH]->(b) RETURN labels(a) AS l, properties(b) AS props, [r IN relationships(p) | type(r)] AS types, length(p) AS hops",
                json!({}),
                json!([{
                    "l": ["__Entity__", "__Node__", "PERSON"],
                    "props": {"born": 1791, "id": "Babbage", "label": "PERSON", "name": "Babbage", "triplet_source_id": "c1"},
                    "types": ["WORKED_WITH"],
                    "hops": 1,
                }]),
            ),
            (
                "MATCH (p:PERSON) RETURN min(p.born) AS lo, max(p.born) AS hi, avg(p.born) AS mean, sum(p.born) AS total, count(*) AS n",
                json!({}),
                json!([{"lo": 1791, "hi": 1815, "mean": 1803.0, "total": 3606, "n": 2}]),
            ),
            (
                "MATCH (n:__Entity__) RETURN n.name ORDER BY n.name SKIP 1 LIMIT 2",
                json!({}),
                json!([{"n.name": "Babbage"}, {"n.name": "Engine"}]),
            ),
            ("MATCH (a:`PERSON`)-[:`LIVED IN`]->(b:PLACE) RETURN count(*) AS n", json!({}), json!([{"n": 2}])),
            (
                "MATCH (n {name: 'Engine'}) RETURN n",
                json!({}),
                json!([{"n": {"id": "Engine", "label": "MACHINE", "name": "Engine", "triplet_source_id": "c2", "weight": 15.5}}]),
            ),
            (
                "MATCH (a {name: 'Ada'})-[r:WORKED_WITH]->(b) RETURN r",
                json!({}),
                json!([{"r": [
                    {"born": 1815, "id": "Ada", "label": "PERSON", "name": "Ada", "triplet_source_id": "c1"},
                    "WORKED_WITH",
                    {"born": 1791, "id": "Babbage", "label": "PERSON", "name": "Babbage", "triplet_source_id": "c1"},
                ]}]),
            ),
            (
                "MATCH (c:Chunk)-[:MENTIONS]->(e) RETURN c.id AS chunk, count(DISTINCT e) AS n, collect(DISTINCT e.label) AS labels ORDER BY n DESC, chunk",
                json!({}),
                json!([
                    {"chunk": "c1", "n": 2, "labels": ["PERSON"]},
                    {"chunk": "c2", "n": 1, "labels": ["MACHINE"]},
                ]),
            ),
            (
                "MATCH (n) WHERE n:PLACE OR n.weight = 15.5 RETURN n.name ORDER BY n.name",
                json!({}),
                json!([{"n.name": "Engine"}, {"n.name": "London"}]),
            ),
            (
                "MATCH (a)-[r:WORKED_WITH {since: 1833}]->(b) WHERE a.born <> b.born RETURN toUpper(a.name) AS a, r.since AS since",
                json!({}),
                json!([{"a": "ADA", "since": 1833}]),
            ),
            (
                "MATCH (p:PERSON) WITH collect(p.name) AS names RETURN size(names) AS n, names[0] AS first, names[-1] AS last, names[..1] AS head",
                json!({}),
                json!([{"n": 2, "first": "Ada", "last": "Babbage", "head": ["Ada"]}]),
            ),
            (
                "MATCH (p:PERSON) RETURN p.name, CASE WHEN p.born < 1800 THEN 'old' ELSE 'young' END AS age ORDER BY p.name",
                json!({}),
                json!([{"p.name": "Ada", "age": "young"}, {"p.name": "Babbage", "age": "old"}]),
            ),
            (
                "MATCH p=(a {name: 'Ada'})-[*2]->(b) WHERE ALL(r IN relationships(p) WHERE type(r) <> 'MENTIONS') RETURN b.name ORDER BY b.name",
                json!({}),
                json!([{"b.name": "Engine"}, {"b.name": "London"}]),
            ),
            ("MATCH (n:NOPE) RETURN count(n) AS n", json!({}), json!([{"n": 0}])),
            ("MATCH (n:NOPE) RETURN n", json!({}), json!([])),
            (
                "RETURN 1 + 2 AS three, 'a' + 'b' AS ab, 7 / 2 AS q, 7.0 / 2 AS f, $x IS NULL AS isnull",
                json!({"x": null}),
                json!([{"three": 3, "ab": "ab", "q": 3, "f": 3.5, "isnull": true}]),
            ),
        ];
        for (q, params, want) in cases {
            assert_eq!(rows(&g, q, params), want, "{q} (partitions {p})");
        }
    }
}

#[test]
fn refused_and_malformed_queries_get_typed_errors_and_change_nothing() {
    let g = graph(2);
    for (q, construct) in [
        ("CREATE (n:X) RETURN n", "CREATE"),
        ("MATCH (n) SET n.x = 1 RETURN n", "SET"),
        ("MATCH (n) DELETE n RETURN 1", "DELETE"),
        ("MATCH (n) DETACH DELETE n RETURN 1", "DETACH"),
        ("MERGE (n:X {id: 1}) RETURN n", "MERGE"),
        ("MATCH (n) REMOVE n.x RETURN n", "REMOVE"),
        ("CALL db.index.vector.queryNodes('entity', 4, $e) YIELD node RETURN node", "CALL"),
        ("MATCH (n) RETURN n UNION MATCH (m) RETURN m", "UNION"),
        ("MATCH (n) FOREACH (x IN [1] | SET n.x = x) RETURN n", "FOREACH"),
    ] {
        match run(&g, q, json!({})) {
            Err(Error::UnsupportedCypher { construct: c }) => assert_eq!(c, construct, "{q}"),
            other => panic!("{q}: {other:?}"),
        }
    }
    for (q, params) in [
        ("MATCH (n) RETURN m", json!({})),
        ("MATCH (n) WHERE n.name = $missing RETURN n", json!({})),
        ("RETURN nosuchfunction(1)", json!({})),
        ("MATCH (n) RETURN n LIMIT -1", json!({})),
        ("MATCH (n)", json!({})),
        ("RETURN 1 / 0", json!({})),
        ("MATCH (n)-[*1..11]-(m) RETURN m", json!({})),
    ] {
        assert!(matches!(run(&g, q, params), Err(Error::InvalidQuery(_))), "{q}");
    }
    let all = rows(&g, "MATCH (n) RETURN count(n) AS n", json!({}));
    assert_eq!(all, json!([{"n": 6}]), "nothing changed");
}

#[test]
fn llama_nodes_as_chunks_answer_cypher() {
    let g = Parts::new(2);
    let node = Node::text_node("n1", "hello world");
    let chunk = LabelledNode::chunk("n1", node.text()).with_properties(node.to_metadata_dict(true));
    block(coord::pg::upsert_nodes(&g, &[chunk])).unwrap();
    let got = rows(&g, "MATCH (c:Chunk) RETURN c.text AS text, c.ref_doc_id AS doc", json!({}));
    assert_eq!(got, json!([{"text": "hello world", "doc": "None"}]));
}
