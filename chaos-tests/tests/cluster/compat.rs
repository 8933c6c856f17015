//! The compatibility corpus (issue 27): every `testdata/compat/v*/` holds an embedded data
//! directory and a backup written by an earlier Strata (`scripts/make-compat-corpus.sh`),
//! the answers it gave to `testdata/compat/queries.json` and its export. This build opens
//! a copy of each data directory, and restores each backup, and must give the same
//! answers and the same export from both.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use strata_chaos::cluster::strata_bin;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/compat")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Runs `strata ARGS --data DATA` with `stdin`; answers whether it succeeded and what it
/// printed, as JSON when it succeeded.
fn run(args: &[String], data: &Path, stdin: Option<&Value>) -> (bool, Option<Value>, String) {
    use std::io::Write;
    let mut child = Command::new(strata_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(v) = stdin {
        input.write_all(v.to_string().as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return (false, None, stderr);
    }
    (true, Some(serde_json::from_slice(&out.stdout).expect("JSON answer")), stderr)
}

/// Equal JSON, numbers within a relative 1e-9 (a float printed by another build may
/// differ in its last digit).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Every recorded query answered as recorded, and the export equal, from `data`.
fn answers_as_recorded(version: &Path, data: &Path, what: &str) {
    let queries: Vec<Value> =
        serde_json::from_slice(&std::fs::read(corpus().join("queries.json")).expect("queries")).expect("JSON");
    let recorded: Vec<Value> =
        serde_json::from_slice(&std::fs::read(version.join("answers.json")).expect("answers")).expect("JSON");
    assert_eq!(queries.len(), recorded.len(), "{what}: a recorded answer per query");
    for (q, r) in queries.iter().zip(&recorded) {
        let name = q["name"].as_str().expect("name");
        assert_eq!(r["name"], q["name"], "{what}: answers in query order");
        let args: Vec<String> =
            q["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("arg").to_string()).collect();
        let (ok, answer, stderr) = run(&args, data, q.get("stdin"));
        assert_eq!(Value::Bool(ok), r["ok"], "{what}: {name}: {stderr}");
        let answer = answer.unwrap_or(Value::Null);
        assert!(same(&answer, &r["answer"]), "{what}: {name}: got {answer}, recorded {}", r["answer"]);
    }
    let out = tempfile::tempdir().expect("temp dir");
    let (ok, _, stderr) = {
        let status = Command::new(strata_bin())
            .arg("export")
            .arg(out.path())
            .arg("--data")
            .arg(data)
            .output()
            .expect("run strata export");
        (status.status.success(), (), String::from_utf8_lossy(&status.stderr).into_owned())
    };
    assert!(ok, "{what}: export: {stderr}");
    let recorded_export = version.join("export");
    let mut files = 0;
    for entry in std::fs::read_dir(&recorded_export).expect("recorded export") {
        let name = entry.expect("entry").file_name();
        let want: Value =
            serde_json::from_slice(&std::fs::read(recorded_export.join(&name)).expect("read")).expect("JSON");
        let got: Value =
            serde_json::from_slice(&std::fs::read(out.path().join(&name)).expect("exported file")).expect("JSON");
        assert!(same(&got, &want), "{what}: export {name:?} differs");
        files += 1;
    }
    assert!(files >= 7, "{what}: every store's file recorded");
}

#[test]
fn every_corpus_version_opens_and_answers_as_recorded_and_its_backup_restores() {
    let mut versions: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("testdata/compat")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('v')))
        .collect();
    versions.sort();
    assert!(!versions.is_empty(), "the corpus holds at least today's version");
    for version in versions {
        let label = version.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let scratch = tempfile::tempdir().expect("temp dir");
        // A copy: opening a directory may write to it (sled's own files).
        let data = scratch.path().join("data");
        copy_dir(&version.join("data"), &data);
        answers_as_recorded(&version, &data, &format!("{label} data directory"));

        let backup = version.join("backup");
        let verify =
            Command::new(strata_bin()).args(["backup", "verify", "--deep"]).arg(&backup).output().expect("verify");
        assert!(verify.status.success(), "{label}: verify: {}", String::from_utf8_lossy(&verify.stderr));
        let restored = scratch.path().join("restored");
        let restore = Command::new(strata_bin())
            .args(["backup", "restore"])
            .arg(&backup)
            .arg("--data")
            .arg(&restored)
            .output()
            .expect("restore");
        assert!(restore.status.success(), "{label}: restore: {}", String::from_utf8_lossy(&restore.stderr));
        answers_as_recorded(&version, &restored, &format!("{label} backup restored"));
    }
}
