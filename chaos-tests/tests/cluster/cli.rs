//! The `strata` command line against a running 3-node cluster: `kv put|get|delete`,
//! `import` and `export` of a LlamaIndex persist dir, `status --json`, and bad input
//! answered on stderr with a non-zero exit; and `deploy/local-cluster.sh up|down`.

use std::process::{Command, Output};
use strata_chaos::cluster::{ClusterOptions, TestCluster, strata_bin};

fn strata(addrs: &str, args: &[&str]) -> Output {
    Command::new(strata_bin()).args(args).env("STRATA_CLUSTER", addrs).output().expect("run strata")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "strata failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output) -> String {
    assert!(!out.status.success(), "strata should have failed: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_import_export_and_status_work_against_a_cluster() {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let addrs = cluster.client_addrs().join(",");

    let fixture = crate::support::fixtures().join("llamaindex-persist");
    let summary = ok(&strata(&addrs, &["import", fixture.to_str().expect("utf-8 path")]));
    assert!(summary.contains("docstore/data") && summary.contains("107"), "{summary}");
    let out = tempfile::tempdir().expect("temp dir");
    ok(&strata(&addrs, &["export", out.path().to_str().expect("utf-8 path")]));
    let original = std::fs::read(fixture.join("docstore.json")).expect("fixture");
    let exported = std::fs::read(out.path().join("docstore.json")).expect("export");
    assert!(original == exported, "docstore.json exported from the cluster equals llama-index-core's");
    // The vector store file too, byte for byte: the partitions keep the import's order.
    let original = std::fs::read(fixture.join("default__vector_store.json")).expect("fixture");
    let exported = std::fs::read(out.path().join("default__vector_store.json")).expect("export");
    assert!(original == exported, "default__vector_store.json exported from the cluster equals llama-index-core's");

    // `strata vector query` against the cluster answers as llama-index-core did.
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.with_file_name("llamaindex-persist.expected.json")).expect("expected"),
    )
    .expect("parses");
    let case = expected["vector_queries"].as_array().expect("queries").iter().find(|q| q["name"] == "or_condition");
    let case = case.expect("or_condition");
    let answer = {
        use std::io::Write;
        let mut child = Command::new(strata_bin())
            .args(["vector", "query", "--namespace", "default"])
            .env("STRATA_CLUSTER", &addrs)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run vector query");
        child.stdin.take().expect("stdin").write_all(case["query"].to_string().as_bytes()).expect("query");
        ok(&child.wait_with_output().expect("wait"))
    };
    let got: serde_json::Value = serde_json::from_str(&answer).expect("JSON result");
    assert_eq!(got["ids"], case["result"]["ids"]);

    ok(&strata(&addrs, &["kv", "put", "greeting", r#"{"text": "hello"}"#, "--collection", "notes"]));
    assert_eq!(ok(&strata(&addrs, &["kv", "get", "greeting", "--collection", "notes"])).trim(), r#"{"text":"hello"}"#);
    ok(&strata(&addrs, &["kv", "delete", "greeting", "--collection", "notes"]));
    assert!(refused(&strata(&addrs, &["kv", "get", "greeting", "--collection", "notes"])).contains("not found"));
    assert!(refused(&strata(&addrs, &["kv", "put", "k", "not json"])).contains("not JSON"));
    assert!(refused(&strata(&addrs, &["kv", "put", "k", "[1, 2]"])).contains("JSON object"));

    // The import created the default namespace's partitions: wait until they are replicated.
    cluster.wait_settled(3).await;
    let status: serde_json::Value =
        serde_json::from_str(&ok(&strata(&addrs, &["status", "--json"]))).expect("status --json is JSON");
    assert_eq!(status["members"].as_array().map(Vec::len), Some(3));
    let shards = status["shards"].as_array().expect("shards");
    let kv_shards = shards.iter().filter(|s| s["vector"].is_null() && s["graph"].is_null()).count();
    let partitions = shards.iter().filter(|s| s["vector"]["namespace"] == "default").count();
    let graph = shards.iter().filter(|s| s["graph"]["namespace"] == "default").count();
    assert_eq!(
        (kv_shards, partitions, graph, shards.len()),
        (4, 3, 3, 10),
        "4 KV shards, the default vector namespace's 3 partitions and the default graph's 3"
    );
    assert!(shards.iter().all(|s| s["replicas"].as_array().map(Vec::len) == Some(3)));
    let leaders = status["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .flat_map(|n| n["groups"].as_array().cloned().unwrap_or_default())
        .filter(|g| g["role"] == "Leader")
        .count();
    assert_eq!(leaders, 11, "a leader for the meta group and each of the 10 shards");
    assert_eq!(status["groups"].as_array().map(Vec::len), Some(11), "the meta group and the 10 shards");
    assert_eq!(status["warnings"], serde_json::json!([]), "a settled cluster needs no attention");
    assert_eq!(status["cannot_lose"], serde_json::json!({}), "any one node of a healthy cluster can go");
    let text = ok(&strata(&addrs, &["status"]));
    assert!(text.contains("members:") && text.contains("no warnings"), "{text}");

    // A member down: the picture says so, and which groups lost a replica.
    cluster.kill(2);
    let alive = cluster.client_addrs().join(",");
    let status: serde_json::Value =
        serde_json::from_str(&ok(&strata(&alive, &["status", "--json"]))).expect("status --json is JSON");
    let warnings = status["warnings"].to_string();
    assert!(
        warnings.contains(&format!("node {} (", cluster.nodes[2].id)) && warnings.contains("unreachable"),
        "{warnings}"
    );
    assert!(warnings.contains("2 of 3 replicas reachable"), "{warnings}");
    // Every group is down to a bare majority: neither survivor may be lost now.
    let mut must_keep: Vec<String> = status["cannot_lose"].as_object().expect("cannot_lose").keys().cloned().collect();
    must_keep.sort();
    let mut survivors: Vec<String> = cluster.nodes[..2].iter().map(|n| n.id.to_string()).collect();
    survivors.sort();
    assert_eq!(must_keep, survivors, "{}", status["cannot_lose"]);
    let text = ok(&strata(&alive, &["status"]));
    assert!(text.contains("UNREACHABLE") && text.contains("CANNOT LOSE"), "{text}");
}

#[test]
fn the_local_cluster_script_starts_and_stops_exactly_its_nodes() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local-cluster.sh");
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        Command::new("bash")
            .arg(&script)
            .args(args)
            .env("STRATA_BIN", strata_bin())
            .env("STRATA_SHARDS", "2")
            .output()
            .expect("run local-cluster.sh")
    };
    let dir_arg = dir.path().to_str().expect("utf-8 path");
    let up = ok(&run(&["up", "3", dir_arg]));
    let addrs = up.lines().last().expect("the last line names the nodes").to_string();
    assert_eq!(addrs.split(',').count(), 3, "{up}");
    let pids: Vec<String> =
        std::fs::read_to_string(dir.path().join("pids")).expect("pids").split_whitespace().map(String::from).collect();
    assert_eq!(pids.len(), 3);

    ok(&strata(&addrs, &["kv", "put", "k", r#"{"v": 1}"#]));
    assert_eq!(ok(&strata(&addrs, &["kv", "get", "k"])).trim(), r#"{"v":1}"#);

    assert!(refused(&run(&["up", "3", dir_arg])).contains("already has a running cluster"));
    ok(&run(&["down", dir_arg]));
    for pid in &pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "node {pid} still running");
    }
}
