//! The fuzz targets (`strata_chaos::fuzz`) for CI's fixed budget: per target, proptest
//! cases from mutations of valid seeds and from random bytes, and for the filter
//! evaluator, random filter trees over random metadata. Each case passes if the target
//! returns: a panic fails it (and proptest shrinks the input), an abort or a stack
//! overflow fails the whole test binary. Longer, coverage-guided runs: cargo-fuzz, see
//! docs/security.md ("Fuzzing").

use proptest::prelude::*;
use serde_json::{Value, json};
use strata_chaos::fuzz::{self, TARGETS, seeds::seeds};

/// Cases per target and strategy: a few seconds in all.
const CASES: u32 = 4_000;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Edit {
    /// Overwrites the byte at (position modulo length).
    Set(usize, u8),
    /// Inserts bytes at (position modulo length + 1).
    Insert(usize, Vec<u8>),
    /// Removes up to `n` bytes from (position modulo length).
    Remove(usize, usize),
    /// Keeps the first (position modulo length + 1) bytes.
    Truncate(usize),
    /// Copies a slice of the input to another place (repeats a structure).
    Repeat(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Edit::Remove(at, n)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), 1usize..64).prop_map(|(from, to, n)| Edit::Repeat(from, to, n)),
        // Interesting bytes: MessagePack's largest headers, JSON's structure.
        (any::<usize>(), prop::sample::select(vec![0xdd, 0xdf, 0xdb, 0xc6, 0xff, b'[', b'{', b'"', b'\\', 0]))
            .prop_map(|(at, b)| Edit::Set(at, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Edit::Set(at, b) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = *b;
                }
            }
            Edit::Insert(at, b) => {
                let at = (at % (bytes.len() + 1)).min(bytes.len());
                bytes.splice(at..at, b.iter().copied());
            }
            Edit::Remove(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Truncate(at) => bytes.truncate(at % (bytes.len() + 1)),
            Edit::Repeat(from, to, n) => {
                let from = from % len;
                let chunk: Vec<u8> = bytes.iter().skip(from).take(*n).copied().collect();
                let to = (to % (bytes.len() + 1)).min(bytes.len());
                bytes.splice(to..to, chunk);
            }
        }
    }
    bytes
}

/// Every target's seeds, mutated.
fn mutated() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let inputs: Vec<(usize, Vec<u8>)> =
        TARGETS.iter().enumerate().flat_map(|(t, (name, _))| seeds(name).into_iter().map(move |s| (t, s))).collect();
    (prop::sample::select(inputs), prop::collection::vec(edit(), 1..6))
        .prop_map(|((t, seed), edits)| (t, apply(seed, &edits)))
}

/// A JSON value of any kind, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec!["", "a", "b", "xyz", "1", "ü", "a b"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(vec!["a", "b", "k"]), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

const KEYS: &[&str] = &["a", "b", "k", "tags", "missing"];
const OPERATORS: &[&str] = &[
    "==",
    ">",
    "<",
    "!=",
    ">=",
    "<=",
    "in",
    "nin",
    "any",
    "all",
    "text_match",
    "text_match_insensitive",
    "contains",
    "is_empty",
    "bogus",
];
const CONDITIONS: &[&str] = &["and", "or", "not", "xor"];

/// A metadata filter tree (as JSON), nested up to past the depth limit.
fn filter_tree() -> impl Strategy<Value = Value> {
    let one = (prop::sample::select(KEYS), json_value(), prop::sample::select(OPERATORS))
        .prop_map(|(k, v, op)| json!({"key": k, "value": v, "operator": op}));
    one.prop_recursive(40, 120, 3, |inner| {
        (prop::collection::vec(inner, 0..3), proptest::option::of(prop::sample::select(CONDITIONS)))
            .prop_map(|(filters, condition)| json!({"filters": filters, "condition": condition}))
    })
    .prop_map(|tree| if tree.get("filters").is_some() { tree } else { json!({"filters": [tree]}) })
}

fn metadata() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(KEYS), json_value(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_seeds_never_crash_a_target((target, bytes) in mutated()) {
        (TARGETS[target].1)(&bytes);
    }

    #[test]
    fn random_bytes_never_crash_a_target(target in 0..TARGETS.len(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        (TARGETS[target].1)(&bytes);
    }

    #[test]
    fn any_filter_over_any_metadata_evaluates_or_errs(filters in filter_tree(), metadata in metadata(), msgpack: bool) {
        let pair = json!([filters, metadata]);
        let bytes = if msgpack {
            strata_wire::msgpack::encode(&pair).map(|b| b.to_vec()).unwrap_or_default()
        } else {
            serde_json::to_vec(&pair).unwrap_or_default()
        };
        fuzz::filter(&bytes);
    }
}

/// The seeds are what they claim: valid inputs that reach past the decoders (else the
/// mutations above start from nothing).
#[test]
fn every_target_has_seeds_that_decode() {
    for (name, target) in TARGETS {
        let seeds = seeds(name);
        assert!(!seeds.is_empty(), "{name} has seeds");
        for seed in &seeds {
            target(seed);
        }
    }
    for seed in seeds("persist") {
        let (pick, text) = seed.split_first().expect("a pick byte");
        let name = fuzz::PERSIST_FILES[usize::from(*pick) % fuzz::PERSIST_FILES.len()];
        let text = String::from_utf8(text.to_vec()).expect("UTF-8");
        strata_client::persist::check_file(name, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for query in strata_chaos::fuzz::seeds::CYPHER {
        strata_shards::graph::cypher::parser::parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    }
    for seed in seeds("filter") {
        let pair = strata_wire::msgpack::decode::<(strata_api::MetadataFilters, serde_json::Map<String, Value>)>(&seed)
            .ok()
            .or_else(|| serde_json::from_slice(&seed).ok());
        assert!(pair.is_some(), "a filter seed decodes: {}", String::from_utf8_lossy(&seed));
    }
    for seed in seeds("wire_peer") {
        let payload = &seed[4..];
        let decoded = strata_wire::msgpack::decode::<
            tarpc::ClientMessage<strata_raft::network::service::RaftPeerRequest>,
        >(payload);
        assert!(decoded.is_ok(), "{decoded:?}");
    }
    for seed in seeds("wire_client") {
        let payload = &seed[4..];
        let decoded =
            strata_wire::msgpack::decode::<tarpc::ClientMessage<strata_api::service::StrataServiceRequest>>(payload);
        assert!(decoded.is_ok(), "{decoded:?}");
    }
}

/// Inputs cargo-fuzz found crashing a target, kept so they never come back.
#[test]
fn crashes_found_by_cargo_fuzz_stay_fixed() {
    // A persist file with a non-ASCII character outside a string before a bare `NaN`:
    // the non-finite sanitizer sliced the text inside that character (2026-12-03).
    fuzz::persist(include_bytes!("fuzz_crashes/persist-non-ascii-before-nan"));
}

/// The `cypher_eval` target over a small graph: mutated Cypher seeds and seeds chained
/// deep or repeated wide are run within a budget; each returns (an answer or a typed
/// error), never a panic, an overflow or a stall.
#[test]
fn mutated_cypher_runs_within_its_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let graph = fuzz::SmallGraph::new(dir.path()).expect("the small graph");
    let queries = strata_chaos::fuzz::seeds::CYPHER;
    let cases = (0..queries.len(), prop::collection::vec(edit(), 0..6), 0usize..4, 1usize..400);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 1_000, ..config() });
    runner
        .run(&cases, |(seed, edits, shape, n)| {
            let query = queries[seed];
            let bytes = match shape {
                // Chained past the depth limit: `RETURN x AND x AND ...`.
                0 => format!("RETURN {} AS v", vec!["(1 = 1)"; n].join(" AND ")).into_bytes(),
                // A comprehension nested inside itself.
                1 => {
                    format!("RETURN {}1{} AS v", "[x IN range(1, 9) | ".repeat(n % 40), "]".repeat(n % 40)).into_bytes()
                }
                _ => apply(query.as_bytes().to_vec(), &edits),
            };
            fuzz::cypher_eval(&graph, &bytes);
            Ok(())
        })
        .expect("every query returned");
    drop(graph);
}
