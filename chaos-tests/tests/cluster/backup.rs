//! Backups (issue 27) on real node processes: `strata backup create` of a 3-node cluster
//! while clients write to every store, restored into a fresh cluster (with another KV
//! shard count) and into an embedded directory; every write acknowledged before the
//! backup started is there with its exact value, no acknowledged add is torn (the chaos
//! harness's checkers), each group's manifest index is at least what the group had
//! applied when the backup started; `verify` catches a flipped byte, a missing file and a
//! truncated manifest; `restore` refuses a target that holds data.

use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_chaos::check::acknowledged::{StoreRecord, check_acknowledged};
use strata_chaos::cluster::{ClusterOptions, TestCluster, strata_bin};
use strata_chaos::history::{Outcome, Recorder};
use strata_chaos::stores::{self, StoresWorkload, final_state};
use strata_client::StorageContext;

const WAIT: Duration = Duration::from_secs(120);

fn strata(args: &[&str]) -> Output {
    Command::new(strata_bin()).args(args).output().expect("run strata")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "strata failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: Output) -> String {
    assert!(!out.status.success(), "strata should have failed: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The history as a backup taken at `t0` (ns since the run began) must hold it: a write
/// acknowledged after `t0`, or never, may or may not be in it; reads answered after `t0`
/// say nothing about it.
fn cut_at(history: Vec<StoreRecord>, t0: u64) -> Vec<StoreRecord> {
    history
        .into_iter()
        .filter_map(|mut r| {
            let after = r.completed.is_none_or(|c| c > t0);
            if !after {
                return Some(r);
            }
            if !r.call.is_write() {
                return None;
            }
            r.completed = None;
            r.outcome = Some(Outcome::Unknown("acknowledged after the backup started".into()));
            Some(r)
        })
        .collect()
}

/// Plain KV writes of unique keys: `(key, value, acknowledged at)`.
type KvAcks = Arc<Mutex<Vec<(String, serde_json::Value, Instant)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_write_into_a_new_cluster_and_a_directory() {
    let source = TestCluster::start(3, ClusterOptions::default());
    source.wait_settled(3).await;
    let addrs = source.client_addrs();
    let ctx = source.context().await;
    let settings = strata_api::VectorNamespace {
        name: stores::VECTOR_NAMESPACE.into(),
        dim: stores::DIM as u32,
        distance: strata_api::Distance::Cosine,
        partitions: stores::VECTOR_PARTITIONS,
    };
    ctx.add_vector_store(settings).await.expect("the workload's vector namespace");

    // Writers on every store: the stores workload (chat, docstore, vectors, property
    // graph) and unique plain KV puts.
    let start = Instant::now();
    let history = Recorder::new(start);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let work = StoresWorkload { clients: 3, deadline: Duration::from_secs(10) };
    let mut tasks = Vec::new();
    for p in 0..work.clients {
        tasks.push(tokio::spawn(stores::client(addrs.clone(), work.clone(), p, 27, history.clone(), stopped.clone())));
    }
    let kv_acks: KvAcks = Arc::default();
    tasks.push(tokio::spawn({
        let (kv, acks, stopped) = (ctx.kv_store(), kv_acks.clone(), stopped.clone());
        async move {
            let mut i = 0u64;
            while !*stopped.borrow() {
                i += 1;
                let (key, value) = (format!("k{i}"), json!({"i": i, "text": format!("value {i}")}));
                let map = value.as_object().cloned().unwrap_or_default();
                if kv.put(&key, &map, "plain").await.is_ok() {
                    acks.lock().unwrap().push((key, value, Instant::now()));
                }
            }
        }
    }));
    // Enough acknowledged writes before the backup starts.
    let until = Instant::now() + WAIT;
    while history.snapshot().iter().filter(|r| r.is_ok() && r.call.is_write()).count() < 60
        || kv_acks.lock().unwrap().len() < 30
    {
        assert!(Instant::now() < until, "the writers made too little progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // What every group had applied before the backup started: its manifest index is at least that.
    let mut applied_before = std::collections::BTreeMap::new();
    for status in source.statuses().await {
        for g in status.groups {
            let e = applied_before.entry(g.group).or_insert(0u64);
            *e = (*e).max(g.applied_index.unwrap_or(0));
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let backup = dir.path().join("backup");
    let t0 = Instant::now();
    let t0_ns = (t0 - start).as_nanos() as u64;
    let cluster_arg = addrs.join(",");
    let summary = tokio::task::spawn_blocking({
        let (backup, cluster_arg) = (backup.clone(), cluster_arg.clone());
        move || ok(strata(&["backup", "create", path(&backup), "--cluster", &cluster_arg]))
    })
    .await
    .expect("backup ran");
    assert!(summary.contains("backed up"), "{summary}");
    // Writes go on after the backup, then stop.
    let after = history.snapshot().len() + 20;
    while history.snapshot().len() < after {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send_replace(true);
    for t in tasks {
        t.await.expect("a writer");
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).expect("manifest")).expect("json");
    let groups = manifest["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), source.shard_map().await.expect("map").shards.len(), "every group but meta");
    for g in groups {
        let (group, index) = (g["group"].as_u64().expect("group"), g["index"].as_u64().expect("index"));
        let before = applied_before.get(&group).copied().unwrap_or(0);
        assert!(index >= before, "group {group} captured at {index}, before the backup it had applied {before}");
    }
    let totals = |key: &str| groups.iter().map(|g| g["items"][key].as_u64().unwrap_or(0)).sum::<u64>();
    for kind in ["kv_entries", "chat_messages", "vectors", "graph_nodes", "graph_relations"] {
        assert!(totals(kind) > 0, "the backup holds {kind}");
    }
    let verified = ok(strata(&["backup", "verify", path(&backup), "--deep"]));
    assert!(verified.contains("read back"), "{verified}");

    // Restored into a fresh 3-node cluster with another KV shard count, and into a directory.
    let target = TestCluster::start(3, ClusterOptions { shards: 3, ..ClusterOptions::default() });
    target.wait_settled(3).await;
    let target_arg = target.client_addrs().join(",");
    let restored = tokio::task::spawn_blocking({
        let (backup, target_arg) = (backup.clone(), target_arg.clone());
        move || ok(strata(&["backup", "restore", path(&backup), "--cluster", &target_arg]))
    })
    .await
    .expect("restore ran");
    assert!(restored.contains("restored"), "{restored}");
    let embedded = dir.path().join("embedded");
    ok(strata(&["backup", "restore", path(&backup), "--data", path(&embedded)]));
    let again = refused(strata(&["backup", "restore", path(&backup), "--cluster", &target_arg]));
    assert!(again.contains("empty"), "a restore refuses a cluster holding data: {again}");
    let again = refused(strata(&["backup", "restore", path(&backup), "--data", path(&embedded)]));
    assert!(again.contains("empty"), "and a directory holding data: {again}");

    let cut = cut_at(history.snapshot(), t0_ns);
    let kv_before: Vec<(String, serde_json::Value)> =
        kv_acks.lock().unwrap().iter().filter(|(_, _, at)| *at < t0).map(|(k, v, _)| (k.clone(), v.clone())).collect();
    let restored_ctx = StorageContext::connect(&target.client_addrs()).await.expect("connect");
    let embedded_ctx = StorageContext::open(&embedded).expect("open the restored directory");
    for (what, ctx) in [("the restored cluster", &restored_ctx), ("the restored directory", &embedded_ctx)] {
        let state = final_state::read_from(ctx, Instant::now() + WAIT).await;
        let report = check_acknowledged(&cut, &state);
        assert!(report.passed(), "{what}: {report:?}");
        assert!(report.acknowledged_writes > 30, "{what}: {} writes checked", report.acknowledged_writes);
        let all = ctx.kv_store().get_all("plain").await.expect("plain KV");
        for (k, v) in &kv_before {
            assert_eq!(all.get(k).map(|m| serde_json::Value::Object(m.clone())).as_ref(), Some(v), "{what}: {k}");
        }
        let vectors = ctx.vector_store_in(stores::VECTOR_NAMESPACE).index_stats().await.expect("index stats");
        assert_eq!(vectors.unindexed, 0, "{what}: the vector index is built once the restore is done");
    }
    assert_eq!(
        target.shard_map().await.expect("map").vector_partitions(stores::VECTOR_NAMESPACE).len(),
        stores::VECTOR_PARTITIONS as usize,
        "the namespace keeps its partition count"
    );

    // Damage is named: a flipped byte, a missing file, a truncated manifest.
    let copy = |name: &str| {
        let to = dir.path().join(name);
        ok(Command::new("cp").args(["-r", path(&backup), path(&to)]).output().expect("cp"));
        to
    };
    let flipped = copy("flipped");
    let image = flipped.join(groups[1]["file"].as_str().expect("file"));
    let mut bytes = std::fs::read(&image).expect("image");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&image, bytes).expect("flip");
    let e = refused(strata(&["backup", "verify", path(&flipped)]));
    assert!(e.contains("SHA-256") && e.contains(path(&image)), "{e}");
    let missing = copy("missing");
    let gone = missing.join(groups[0]["file"].as_str().expect("file"));
    std::fs::remove_file(&gone).expect("remove");
    let e = refused(strata(&["backup", "verify", path(&missing)]));
    assert!(e.contains(path(&gone)), "{e}");
    let truncated = copy("truncated");
    let m = truncated.join("manifest.json");
    let text = std::fs::read(&m).expect("manifest");
    std::fs::write(&m, &text[..text.len() / 2]).expect("truncate");
    let e = refused(strata(&["backup", "verify", path(&truncated)]));
    assert!(e.contains("manifest"), "{e}");
    let e = refused(strata(&["backup", "restore", path(&flipped), "--data", path(&dir.path().join("never"))]));
    assert!(e.contains("SHA-256"), "a damaged backup restores nothing: {e}");
}

/// A local S3-compatible server: moto's server mode (PyPI `moto[server]`), started by
/// `scripts/s3_server.py` on a port the kernel picks; stopped when dropped.
struct S3Server {
    child: std::process::Child,
    port: u16,
}

impl S3Server {
    /// Starts it with `bucket` made.
    fn start(bucket: &str) -> Self {
        use std::io::BufRead;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        // scripts/test.sh installs moto into this virtual environment.
        let python = std::env::var("STRATA_MOTO_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| root.join("target/venv-moto/bin/python"));
        let mut child = Command::new(&python)
            .arg(root.join("scripts/s3_server.py"))
            .arg(bucket)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} (moto, installed by scripts/test.sh): {e}", python.display()));
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout).read_line(&mut line).expect("the S3 server's ready line");
        let port = line.trim().strip_prefix("ready ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("the S3 server did not start: {line:?}"));
        Self { child, port }
    }

    /// `strata` with this server's endpoint and credentials in its environment.
    fn strata(&self, args: &[&str]) -> Output {
        Command::new(strata_bin())
            .args(args)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", self.port))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output()
            .expect("run strata")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_backup_round_trips_through_an_s3_compatible_server() {
    let s3 = S3Server::start("strata-backups");
    let dir = tempfile::tempdir().expect("temp dir");
    let (source, restored) = (dir.path().join("source"), dir.path().join("restored"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/fixtures/llamaindex-persist");
    ok(strata(&["import", path(&fixture), "--data", path(&source)]));
    let at = "s3://strata-backups/nightly/2026-12-07";
    let made = ok(s3.strata(&["backup", "create", at, "--data", path(&source)]));
    assert!(made.contains(at), "{made}");
    let e = refused(s3.strata(&["backup", "create", at, "--data", path(&source)]));
    assert!(e.contains("already"), "a backup is never written over: {e}");
    let verified = ok(s3.strata(&["backup", "verify", at, "--deep"]));
    assert!(verified.contains("read back"), "{verified}");
    ok(s3.strata(&["backup", "restore", at, "--data", path(&restored)]));
    let e = refused(s3.strata(&["backup", "verify", "s3://strata-backups/nothing-here"]));
    assert!(e.contains("not found"), "{e}");
    // What llama-index-core reads back is the same, file for file.
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(strata(&["export", path(&a), "--data", path(&source)]));
    ok(strata(&["export", path(&b), "--data", path(&restored)]));
    let mut files: Vec<_> = std::fs::read_dir(&a).expect("export").map(|e| e.expect("entry").file_name()).collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        assert!(std::fs::read(a.join(&f)).expect("a") == std::fs::read(b.join(&f)).expect("b"), "{f:?} differs");
    }
}

/// The newest name first: the complete backups (with a manifest) under `dir`.
fn complete_backups(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join("manifest.json").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_run_on_one_node_keep_the_newest_and_report_their_age() {
    let dir = tempfile::tempdir().expect("temp dir");
    let to = dir.path().join("scheduled");
    let config = format!("[backup]\nevery = \"1s\"\nkeep = 2\nto = \"{}\"\n", to.display());
    let cluster = TestCluster::start(3, ClusterOptions { config: Some(config), ..ClusterOptions::default() });
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let value = json!({"v": 1}).as_object().cloned().unwrap_or_default();
    ctx.kv_store().put("k", &value, "scheduled").await.expect("put");

    // Backups come one a second; once the first one seen is gone, pruning works.
    let until = Instant::now() + WAIT;
    let first = loop {
        if let Some(n) = complete_backups(&to).first() {
            break n.clone();
        }
        assert!(Instant::now() < until, "no scheduled backup appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    loop {
        let names = complete_backups(&to);
        assert!(names.len() <= 3, "at most keep (2) and one being pruned: {names:?}");
        if !names.contains(&first) && names.len() >= 2 {
            break;
        }
        assert!(Instant::now() < until, "old backups are never pruned: {names:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let newest = complete_backups(&to).pop().expect("a backup");
    let verified = ok(strata(&["backup", "verify", path(&to.join(&newest)), "--deep"]));
    assert!(verified.contains("read back"), "{verified}");

    // The node running the schedule reports when the last one finished; none failed.
    let mut reported = 0;
    for node in &cluster.nodes {
        let text = strata_chaos::http::get(&node.http_addr, "/metrics", None, None).await.expect("scrape").body;
        assert!(text.contains("strata_backup_failures_total 0"), "{text}");
        if let Some(v) = strata_chaos::http::sample(&text, "strata_backup_last_success_timestamp_seconds", &[]) {
            let age = strata_api::clock::unix_ms() as f64 / 1000.0 - v;
            assert!((0.0..60.0).contains(&age), "the last success is {age} s old");
            reported += 1;
        }
    }
    assert!(reported >= 1, "the node running the schedule reports it");
}
