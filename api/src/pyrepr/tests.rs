#![allow(clippy::expect_used)]
use super::*;
use serde_json::json;

#[test]
fn float_repr_matches_python() {
    let cases = [
        (0.1, "0.1"),
        (1.0, "1.0"),
        (1e-7, "1e-07"),
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (-2.5, "-2.5"),
        (1e-300, "1e-300"),
        (std::f64::consts::PI, "3.141592653589793"),
        (1.5e300, "1.5e+300"),
        (-0.0, "-0.0"),
        // Two 17-digit strings round-trip and the value lies exactly between them:
        // Python prints the even one (Rust's shortest formatting picks the odd one).
        (94.70803833007812, "94.70803833007812"),
        (-668.8753051757812, "-668.8753051757812"),
        (-19.030105590820312, "-19.030105590820312"),
        (-1.0769119262695312, "-1.0769119262695312"),
    ];
    for (f, want) in cases {
        assert_eq!(float_repr(f), want, "repr({f:?})");
    }
}

#[test]
fn str_repr_picks_quotes_and_escapes_like_python() {
    assert_eq!(repr(&json!("it's")), "\"it's\"");
    assert_eq!(repr(&json!("say \"hi\"")), "'say \"hi\"'");
    assert_eq!(repr(&json!("both ' and \"")), "'both \\' and \"'");
    assert_eq!(repr(&json!("a\u{200d}b\n\u{7f}")), "'a\\u200db\\n\\x7f'");
    assert_eq!(repr(&json!("héllo 🎉")), "'héllo 🎉'");
    assert_eq!(repr(&json!("\u{a0}")), "'\\xa0'");
}

#[test]
fn dict_repr_matches_python() {
    let v = json!({"a": 1, "b": [true, null, 1.0], "c": {"d": "x"}});
    assert_eq!(repr(&v), "{'a': 1, 'b': [True, None, 1.0], 'c': {'d': 'x'}}");
}

#[test]
fn dumps_matches_python_json() {
    let v = json!({"k": "wörld\u{1F389}", "f": 1e-7, "l": [1, 2.5]});
    assert_eq!(dumps(&v), r#"{"k": "w\u00f6rld\ud83c\udf89", "f": 1e-07, "l": [1, 2.5]}"#);
}

#[test]
fn non_finite_tokens_become_null_outside_strings() {
    let text = r#"{"a": NaN, "b": "NaN", "c": [-Infinity, Infinity]}"#;
    let clean = sanitize_non_finite(text);
    let v: Value = serde_json::from_str(&clean).expect("sanitised JSON parses");
    assert_eq!(v, json!({"a": null, "b": "NaN", "c": [null, null]}));
}

/// The 300 metadata dicts of `testdata/fixtures/python-repr-vectors.json` with Python's own
/// `repr` of each.
#[test]
fn repr_equals_python_on_fixture_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/fixtures/python-repr-vectors.json");
    let text = std::fs::read_to_string(path).expect("fixture present");
    let doc: Value = serde_json::from_str(&text).expect("fixture parses");
    let cases = doc["cases"].as_array().expect("cases array");
    assert!(cases.len() >= 300);
    for case in cases {
        let metadata = &case["metadata"];
        assert_eq!(repr(metadata), case["python_repr"].as_str().unwrap_or_default(), "{metadata}");
    }
}

/// Found by cargo-fuzz: a non-ASCII character outside a string (not JSON, but read from
/// a file) made the token search slice the text inside it.
#[test]
fn non_finite_tokens_after_a_non_ascii_character_outside_strings() {
    assert_eq!(super::sanitize_non_finite("{\"a\":NaN,é:Infinity}"), "{\"a\":null,é:null}");
    assert_eq!(super::sanitize_non_finite("éNaN"), "énull");
}
