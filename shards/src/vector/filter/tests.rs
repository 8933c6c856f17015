//! LlamaIndex's `vector_stores/test_metadata_filters_logic.py` and the operator cases of
//! `test_simple.py`, on the same data.

use super::*;
use serde_json::json;
use strata_api::FilterOperator as Op;

fn md(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn f(key: &str, value: Value, op: Op) -> FilterItem {
    FilterItem::Filter(MetadataFilter::new(key, value, op))
}

fn all(items: Vec<FilterItem>, condition: Option<FilterCondition>) -> MetadataFilters {
    MetadataFilters { filters: items, condition }
}

/// The three nodes of LlamaIndex's `test_simple.py`.
fn nodes() -> Vec<Map<String, Value>> {
    vec![
        md(json!({"weight": 1.0, "rank": "a", "quality": ["medium", "high"], "identifier": "6FTR78Y"})),
        md(json!({"weight": 2.0, "rank": "c", "quality": ["medium"], "identifier": "6FTR78Ygh"})),
        md(json!({"weight": 3.0, "rank": "c", "quality": ["low", "medium", "high"], "identifier": "6FTR7"})),
    ]
}

fn count(filters: &MetadataFilters) -> usize {
    nodes().iter().filter(|m| matches(filters, m).expect("evaluates")).count()
}

#[test]
fn every_operator_counts_as_in_llamaindex() {
    let one = |k: &str, v: Value, op: Op| count(&all(vec![f(k, v, op)], None));
    assert_eq!(one("weight", json!(1.0), Op::Eq), 1);
    assert_eq!(one("weight", json!(1.0), Op::Ne), 2);
    assert_eq!(one("weight", json!(1.5), Op::Gt), 2);
    assert_eq!(one("weight", json!(1.0), Op::Gte), 3);
    assert_eq!(one("weight", json!(1.1), Op::Lt), 1);
    assert_eq!(one("weight", json!(1.0), Op::Lte), 1);
    assert_eq!(one("rank", json!(["a", "c"]), Op::In), 3);
    assert_eq!(one("rank", json!(["c"]), Op::Nin), 1);
    assert_eq!(one("quality", json!("high"), Op::Contains), 2);
    assert_eq!(one("identifier", json!("6FTR78Y"), Op::TextMatch), 2);
    assert_eq!(one("quality", json!(["high", "low"]), Op::Any), 2);
    assert_eq!(one("quality", json!(["medium", "high"]), Op::All), 2);
    assert_eq!(one("not_existed_key", Value::Null, Op::IsEmpty), 3);
    // weight == 2 (an int) matches 2.0; weight == 2 AND weight == 3 matches nothing.
    assert_eq!(one("weight", json!(2), Op::Eq), 1);
    assert_eq!(count(&all(vec![f("weight", json!(2), Op::Eq), f("weight", json!(3), Op::Eq)], None)), 0);
    assert_eq!(one("unknown", json!("x"), Op::Eq), 0);
}

#[test]
fn conditions_combine_as_and_or_and_not() {
    let rank_c_or_weight_1 = vec![f("rank", json!("c"), Op::Eq), f("weight", json!(1.0), Op::Eq)];
    assert_eq!(count(&all(rank_c_or_weight_1.clone(), Some(FilterCondition::Or))), 3);
    assert_eq!(count(&all(rank_c_or_weight_1.clone(), Some(FilterCondition::And))), 0);
    assert_eq!(count(&all(rank_c_or_weight_1, None)), 0, "no condition is AND");
    assert_eq!(count(&all(vec![f("rank", json!("a"), Op::Eq)], Some(FilterCondition::Not))), 2);
    assert_eq!(count(&all(vec![], Some(FilterCondition::Or))), 3, "no filters: everything");
    // Nesting (remote stores' semantics): rank == c AND NOT(weight > 2.5)
    let nested = all(
        vec![
            f("rank", json!("c"), Op::Eq),
            FilterItem::Group(all(vec![f("weight", json!(2.5), Op::Gt)], Some(FilterCondition::Not))),
        ],
        Some(FilterCondition::And),
    );
    assert_eq!(count(&nested), 1);
}

#[test]
fn missing_and_empty_values() {
    let rows = [
        md(json!({"k": null})),
        md(json!({"k": ""})),
        md(json!({"k": []})),
        md(json!({})),
        md(json!({"k": {}})),
        md(json!({"k": 0})),
    ];
    let hits = |filters: MetadataFilters| rows.iter().filter(|m| matches(&filters, m).expect("evaluates")).count();
    assert_eq!(hits(all(vec![f("k", Value::Null, Op::IsEmpty)], None)), 4, "{{}} and 0 are not empty");
    // A missing key matches only != and nin, and NE on it agrees with NOT(EQ).
    let missing = md(json!({"other": 1}));
    for (op, want) in
        [(Op::Ne, true), (Op::Nin, true), (Op::Eq, false), (Op::In, false), (Op::Gt, false), (Op::Contains, false)]
    {
        let v = if matches!(op, Op::In | Op::Nin) { json!(["x"]) } else { json!("x") };
        assert_eq!(matches(&all(vec![f("k", v, op)], None), &missing).expect("evaluates"), want, "{op:?}");
    }
    let not_eq = all(vec![f("k", json!("x"), Op::Eq)], Some(FilterCondition::Not));
    assert!(matches(&not_eq, &missing).expect("evaluates"));
}

#[test]
fn python_equality_and_type_errors() {
    let m = md(json!({"flag": true, "n": 2, "s": "ABC123", "list": [1, 2]}));
    let eval = |k: &str, v: Value, op: Op| matches(&all(vec![f(k, v, op)], None), &m);
    assert!(eval("flag", json!(1), Op::Eq).expect("True == 1"));
    assert!(eval("n", json!(2.0), Op::Eq).expect("2 == 2.0"));
    assert!(eval("list", json!([1, 2]), Op::Eq).expect("list equality"));
    assert!(eval("s", json!("abc"), Op::TextMatchInsensitive).expect("case-insensitive"));
    assert!(!eval("s", json!("abc"), Op::TextMatch).expect("case-sensitive"));
    assert!(matches!(eval("s", json!(3), Op::Gt), Err(Error::InvalidFilter(_))), "str > int is a TypeError");
    assert!(matches!(eval("n", json!("x"), Op::TextMatch), Err(Error::InvalidFilter(_))), "text_match on a number");
    assert!(matches!(eval("n", json!("x"), Op::TextMatchInsensitive), Err(Error::InvalidFilter(_))));
    assert!(matches!(eval("n", json!(1), Op::Contains), Err(Error::InvalidFilter(_))), "1 in 2 is a TypeError");
    assert!(eval("s", json!("B"), Op::Contains).expect("substring"));
    assert!(eval("s", json!("ABC123 and more"), Op::In).expect("'ABC123' in '...'"));
    // Python compares ints with floats exactly: 2**53 + 1 != 2.0**53, and is greater.
    let big = md(json!({"n": 9_007_199_254_740_993_u64}));
    let eval_big = |v: Value, op: Op| matches(&all(vec![f("n", v, op)], None), &big);
    assert!(!eval_big(json!(9_007_199_254_740_992.0), Op::Eq).expect("2**53 + 1 == 2.0**53"));
    assert!(eval_big(json!(9_007_199_254_740_992.0), Op::Gt).expect("2**53 + 1 > 2.0**53"));
    assert!(eval_big(json!(9_007_199_254_740_993_u64), Op::Eq).expect("an int equals itself"));
}

#[test]
fn strict_filter_value_types() {
    let ok = |v: Value| MetadataFilter::new("k", v, Op::Eq).validate().is_ok();
    assert!(ok(json!(1)) && ok(json!(1.5)) && ok(json!("s")) && ok(Value::Null));
    assert!(ok(json!(["a", "b"])) && ok(json!([1, 2])) && ok(json!([1.5])));
    assert!(!ok(json!(true)), "a bool is refused");
    assert!(!ok(json!({"a": 1})), "an object is refused");
    assert!(!ok(json!([1, "a"])), "a mixed list is refused");
    assert!(!ok(json!([[1]])), "a nested list is refused");
}

#[test]
fn every_filter_is_evaluated_before_they_combine() {
    // LlamaIndex builds the list of matches before all()/any(): a later filter raises
    // even when an earlier one already decided.
    let m = md(json!({"s": "abc", "n": 2}));
    let decided_then_raising =
        |condition| matches(&all(vec![f("s", json!("zzz"), Op::Eq), f("s", json!(3), Op::Gt)], Some(condition)), &m);
    assert!(matches!(decided_then_raising(FilterCondition::And), Err(Error::InvalidFilter(_))));
    let true_then_raising = |condition| {
        matches(&all(vec![f("s", json!("abc"), Op::Eq), f("n", json!("x"), Op::TextMatch)], Some(condition)), &m)
    };
    assert!(matches!(true_then_raising(FilterCondition::Or), Err(Error::InvalidFilter(_))));
    assert!(matches!(true_then_raising(FilterCondition::Not), Err(Error::InvalidFilter(_))));
}

#[test]
fn may_raise_names_every_kind_a_filter_raises_on() {
    use super::{ValueKind, may_raise};
    let examples = [
        (ValueKind::Number, json!(3)),
        (ValueKind::Text, json!("abc")),
        (ValueKind::List, json!(["a", 1])),
        (ValueKind::Dict, json!({"a": 1})),
    ];
    let values = [json!(1), json!(2.5), json!("a"), json!(["a", "b"]), json!([1, 2]), Value::Null];
    let ops = [
        Op::Eq,
        Op::Ne,
        Op::Gt,
        Op::Gte,
        Op::Lt,
        Op::Lte,
        Op::In,
        Op::Nin,
        Op::Any,
        Op::All,
        Op::Contains,
        Op::TextMatch,
        Op::TextMatchInsensitive,
        Op::IsEmpty,
    ];
    for (kind, stored) in &examples {
        let m = md(json!({ "k": stored }));
        for v in &values {
            for op in ops {
                let filter = MetadataFilter::new("k", v.clone(), op);
                let raised = matches_one(&filter, &m).is_err();
                assert!(!raised || may_raise(&filter, *kind), "{op:?} {v} on {stored} raises but may_raise says no");
            }
        }
    }
}
