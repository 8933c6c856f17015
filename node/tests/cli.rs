//! The `strata` command line end to end: import the llama-index-core fixture, export it,
//! and refuse bad input with a message on stderr and a non-zero exit.

use std::path::Path;
use std::process::Command;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/llamaindex-persist")
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
