//! The `strata` command line end to end: import the llama-index-core fixture, export it,
//! and refuse bad input with a message on stderr and a non-zero exit.
#![allow(clippy::expect_used)] // test code: a failed expectation is the test failing

use std::path::Path;
use std::process::Command;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/llamaindex-persist")
}

#[test]
fn import_then_export_reproduces_the_persist_dir() {
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("data");
    let out = strata().arg("import").arg(fixture()).arg("--data").arg(&data).output().expect("run import");
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("docstore/data") && stdout.contains("107"), "summary: {stdout}");
    let export = dir.path().join("export");
    let out = strata().arg("export").arg(&export).arg("--data").arg(&data).output().expect("run export");
    assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
    let a = std::fs::read(fixture().join("docstore.json")).expect("src");
    let b = std::fs::read(export.join("docstore.json")).expect("exported");
    assert!(a == b, "docstore.json differs");
}

#[test]
fn bad_input_fails_with_a_message_on_stderr() {
    let dir = tempfile::tempdir().expect("temp");
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::write(bad.join("docstore.json"), "{not json").expect("write");
    let out = strata().arg("import").arg(&bad).arg("--data").arg(dir.path().join("data")).output().expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("docstore.json") && stderr.contains("malformed JSON"), "stderr: {stderr}");
}

/// Runs `strata vector query` with `input` on stdin.
fn vector_query(data: &Path, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = strata()
        .args(["vector", "query", "--namespace", "default", "--data"])
        .arg(data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run vector query");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write the query");
    child.wait_with_output().expect("wait")
}

#[test]
fn vector_query_answers_recorded_llamaindex_queries() {
    let dir = tempfile::tempdir().expect("temp");
    let data = dir.path().join("data");
    let out = strata().arg("import").arg(fixture()).arg("--data").arg(&data).output().expect("run import");
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture().with_file_name("llamaindex-persist.expected.json")).expect("expected"),
    )
    .expect("parses");
    for name in ["mmr_threshold_0_2", "not_condition", "node_ids_and_filter"] {
        let case =
            expected["vector_queries"].as_array().expect("queries").iter().find(|q| q["name"] == name).expect(name);
        let out = vector_query(&data, &case["query"].to_string());
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
        assert_eq!(got["ids"], case["result"]["ids"], "{name}");
        assert_eq!(got["nodes"].as_array().map(Vec::len), got["ids"].as_array().map(Vec::len));
    }
    let bad = vector_query(&data, r#"{"query_embedding": [1.0, 2.0], "similarity_top_k": 3}"#);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("dimension"), "{}", String::from_utf8_lossy(&bad.stderr));
    let not_json = vector_query(&data, "{nope");
    assert!(!not_json.status.success());
    assert!(String::from_utf8_lossy(&not_json.stderr).contains("not JSON"));
}
