//! The operators' HTTP port (issue 26) on real node processes: every documented metric
//! family is exported and moves as it should, a live scrape passes `promtool check
//! metrics`, `/readyz` fails on a survivor with the failing check named and recovers,
//! `/livez` stays up, and the port keeps the other ports' rules (keys, roles, TLS,
//! loopback-only without credentials).

use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, TestCluster, api_key_entry, strata_bin};
use strata_chaos::http::{get, sample};

const WAIT: Duration = Duration::from_secs(90);

/// Every family `docs/operations.md` documents.
pub const FAMILIES: [&str; 27] = [
    "strata_build_info",
    "strata_raft_has_leader",
    "strata_raft_is_leader",
    "strata_raft_term",
    "strata_raft_commit_index",
    "strata_raft_applied_index",
    "strata_raft_follower_lag_entries",
    "strata_raft_leader_changes_total",
    "strata_raft_proposals_committed_total",
    "strata_raft_proposals_failed_total",
    "strata_raft_snapshots_total",
    "strata_storage_fsync_seconds",
    "strata_storage_disk_bytes",
    "strata_storage_available_bytes",
    "strata_requests_total",
    "strata_request_seconds",
    "strata_connections",
    "strata_busy_total",
    "strata_auth_failures_total",
    "strata_vector_vectors",
    "strata_vector_unindexed",
    "strata_graph_relations",
    "strata_actor_restarts_total",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
];

async fn scrape(addr: &str, key: Option<&str>) -> String {
    let a = get(addr, "/metrics", key, None).await.expect("scrape");
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.header("content-type").is_some_and(|t| t.starts_with("text/plain; version=0.0.4")), "{:?}", a.headers);
    a.body
}

/// `promtool check metrics` on a scrape (Debian's `prometheus` package; `.ci/run`
/// installs it).
fn promtool_check(scrape: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) is needed: scripts/test.sh installs it");
    child.stdin.take().expect("stdin").write_all(scrape.as_bytes()).expect("feed promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}");
}

/// Polls `path` on `addr` until `want` holds of the answer.
async fn until(addr: &str, path: &str, what: &str, want: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let last = match get(addr, path, None, None).await {
            Ok(a) if want(a.status, &a.body) => return a.body,
            Ok(a) => format!("{} {}", a.status, a.body),
            Err(e) => e.to_string(),
        };
        assert!(Instant::now() < deadline, "{what}: last answer {last}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_probes_tell_the_truth_and_a_scrape_passes_promtool() {
    let mut cluster = TestCluster::start(3, ClusterOptions { shards: 1, ..ClusterOptions::default() });
    cluster.wait_settled(3).await;
    let http: Vec<String> = cluster.nodes.iter().map(|n| n.http_addr.clone()).collect();
    let ctx = cluster.context().await;
    // Something in every store family the metrics name: a vector namespace, a graph.
    ctx.kv_store().put("k0", &serde_json::Map::new(), "c").await.expect("put");

    for addr in &http {
        let live = get(addr, "/livez?verbose", None, None).await.expect("livez");
        assert_eq!(live.status, 200, "{}", live.body);
        assert!(live.body.contains("[+]storage_writable ok"), "{}", live.body);
        until(addr, "/readyz", "a settled node is ready", |s, _| s == 200).await;
        let verbose = get(addr, "/readyz?verbose", None, None).await.expect("readyz");
        for check in ["storage_writable", "shard_map", "has_leader", "caught_up", "not_draining"] {
            assert!(verbose.body.contains(&format!("[+]{check} ok")), "{}", verbose.body);
        }
        let text = scrape(addr, None).await;
        for family in FAMILIES {
            assert!(text.contains(&format!("# TYPE {family} ")), "{family} missing from the scrape of {addr}");
        }
        promtool_check(&text);
    }

    // The commit index grows with writes (one KV shard: every put lands in it).
    let committed = |text: &str| sample(text, "strata_raft_commit_index", &[]).unwrap_or(0.0);
    let before = committed(&scrape(&http[0], None).await);
    for i in 0..20 {
        ctx.kv_store().put(&format!("k{i}"), &serde_json::Map::new(), "c").await.expect("put");
    }
    let deadline = Instant::now() + WAIT;
    while committed(&scrape(&http[0], None).await) < before + 20.0 {
        assert!(Instant::now() < deadline, "the commit index did not grow by 20 on node 1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A request counter counts each call once: 7 digests asked of node 1 directly.
    let digests = |text: &str| {
        sample(text, "strata_requests_total", &[("store", "node"), ("method", "state_digest"), ("outcome", "ok")])
            .unwrap_or(0.0)
    };
    let before = digests(&scrape(&http[0], None).await);
    let conns = strata_client::cluster::Connections::default();
    let node1 = conns.get(&cluster.nodes[0].client_addr).await.expect("connect to node 1");
    for _ in 0..7 {
        let ctx = strata_api::service::context_within(Duration::from_secs(10));
        node1.state_digest(ctx, 0).await.expect("rpc").expect("digest");
    }
    assert_eq!(digests(&scrape(&http[0], None).await), before + 7.0);

    // Lag appears on a leader while a follower is stopped, and returns to 0.
    let status: serde_json::Value =
        serde_json::from_str(&get(&http[0], "/status", None, None).await.expect("status").body).expect("json");
    let kv = status["groups"].as_array().expect("groups").iter().find(|g| g["store"] == "kv").expect("a kv group");
    let (group, leader) = (kv["group"].as_u64().expect("group"), kv["leader"].as_u64().expect("leader"));
    let leader_slot = cluster.nodes.iter().position(|n| n.id == leader).expect("leader's slot");
    let follower_slot = (0..3).find(|i| *i != leader_slot).expect("a follower");
    let follower = cluster.nodes[follower_slot].id;
    let lag = |text: &str| {
        sample(
            text,
            "strata_raft_follower_lag_entries",
            &[("group", &group.to_string()), ("peer", &follower.to_string())],
        )
    };
    cluster.pause(follower_slot);
    let (kv, empty) = (ctx.kv_store(), serde_json::Map::new());
    for i in 0..30 {
        let key = format!("lag{i}");
        let put = kv.put(&key, &empty, "c");
        tokio::time::timeout(Duration::from_secs(10), put)
            .await
            .expect("a put while a follower is stopped")
            .expect("put");
    }
    let stopped = lag(&scrape(&http[leader_slot], None).await).expect("the leader reports its follower's lag");
    assert!(stopped >= 30.0, "lag while stopped: {stopped}");
    cluster.resume(follower_slot);
    let deadline = Instant::now() + WAIT;
    while lag(&scrape(&http[leader_slot], None).await) != Some(0.0) {
        assert!(Instant::now() < deadline, "the follower's lag did not return to 0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // /readyz fails on a survivor once two of three nodes are gone, naming the check,
    // and passes again when they are back; /livez passes throughout.
    let survivor = 0;
    cluster.kill(1);
    cluster.kill(2);
    let body = until(&http[survivor], "/readyz", "the survivor stops being ready", |s, _| s == 503).await;
    assert!(body.contains("[-]has_leader failed"), "{body}");
    assert_eq!(get(&http[survivor], "/livez", None, None).await.expect("livez").status, 200);
    cluster.restart(1);
    cluster.restart(2);
    for addr in cluster.nodes.iter().map(|n| n.http_addr.clone()).collect::<Vec<_>>() {
        until(&addr, "/readyz", "ready again after the restarts", |s, _| s == 200).await;
        assert_eq!(get(&addr, "/livez", None, None).await.expect("livez").status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_port_keeps_the_rules_of_the_other_ports() {
    // Without credentials, a node refuses to serve HTTP beyond loopback.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(strata_bin())
        .arg("serve")
        .env("STRATA_DATA_DIR", dir.path().join("open"))
        .env("STRATA_LISTEN", "127.0.0.1:0")
        .env("STRATA_RAFT_LISTEN", "127.0.0.1:0")
        .env("STRATA_HTTP_LISTEN", "0.0.0.0:0")
        .output()
        .expect("run strata serve");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("0.0.0.0:0"), "{said}");

    // With keys and TLS: probes open, metrics for any key, status for whole-node readers.
    let secret = dir.path().join("cluster.secret");
    std::fs::write(&secret, "a-test-secret-of-at-least-thirty-two-bytes\n").expect("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let pki = dir.path().join("pki");
    let made = std::process::Command::new(strata_bin())
        .args(["keys", "tls"])
        .arg(&pki)
        .args(["--name", "node", "--host", "127.0.0.1"])
        .output()
        .expect("strata keys tls");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let path = |f: &str| pki.join(f).display().to_string();
    let (admin, scraper, tenant, reader) =
        ("k_admin_0123456789", "k_metrics_0123456789", "k_tenant_0123456789", "k_reader_0123456789");
    let config = format!(
        "[auth]\ncluster_secret_file = \"{}\"\n{}{}{}{}[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\nca_file = \"{}\"\n",
        secret.display(),
        api_key_entry("admin", admin, "admin", &[]),
        api_key_entry("scraper", scraper, "metrics", &[]),
        api_key_entry("tenant", tenant, "read-only", &["t/"]),
        api_key_entry("reader", reader, "read-only", &[]),
        path("node.pem"),
        path("node.key"),
        path("ca.pem"),
    );
    let options = ClusterOptions {
        config: Some(config),
        api_key: Some(admin.into()),
        ca_file: Some(path("ca.pem").into()),
        replication: 1,
        ..ClusterOptions::default()
    };
    let cluster = TestCluster::start(1, options.clone());
    cluster.wait_settled(1).await;
    let addr = cluster.nodes[0].http_addr.clone();
    let tls = options.tls();
    let tls = tls.as_ref();
    assert!(get(&addr, "/livez", None, None).await.is_err_or_not_ok(), "plain HTTP to a TLS port");
    assert_eq!(get(&addr, "/livez", None, tls).await.expect("livez").status, 200);
    let ready = until_tls(&addr, tls).await;
    assert_eq!(ready, 200);
    let failures = |text: &str| sample(text, "strata_auth_failures_total", &[]).unwrap_or(0.0);
    let no_key = get(&addr, "/metrics", None, tls).await.expect("metrics");
    assert_eq!(no_key.status, 401);
    assert!(no_key.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
    let before = failures(&get(&addr, "/metrics", Some(scraper), tls).await.expect("scrape").body);
    assert_eq!(get(&addr, "/metrics", Some("not-a-key"), tls).await.expect("metrics").status, 401);
    let scraped = get(&addr, "/metrics", Some(scraper), tls).await.expect("scrape");
    assert_eq!(scraped.status, 200);
    assert_eq!(failures(&scraped.body), before + 1.0, "a refused scrape counts as an auth failure");
    assert_eq!(get(&addr, "/status", Some(scraper), tls).await.expect("status").status, 403, "metrics role");
    assert_eq!(get(&addr, "/status", Some(tenant), tls).await.expect("status").status, 403, "a prefixed key");
    let status = get(&addr, "/status", Some(reader), tls).await.expect("status");
    assert_eq!(status.status, 200, "{}", status.body);
    let status: serde_json::Value = serde_json::from_str(&status.body).expect("json");
    assert_eq!(status["id"].as_u64(), Some(cluster.nodes[0].id));
    // The metrics role reaches no store through the client port either.
    let ctx = strata_client::StorageContext::connect_options(
        &cluster.client_addrs(),
        &strata_client::cluster::ConnectOptions {
            api_key: Some(scraper.into()),
            tls: options.tls(),
            ..Default::default()
        },
    )
    .await;
    if let Ok(ctx) = ctx {
        assert!(ctx.kv_store().get("k", "c").await.is_err(), "a metrics key reads nothing");
    }
}

async fn until_tls(addr: &str, tls: Option<&strata_wire::TlsClient>) -> u16 {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(a) = get(addr, "/readyz", None, tls).await
            && a.status == 200
        {
            return 200;
        }
        assert!(Instant::now() < deadline, "not ready over TLS");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

trait NotOk {
    fn is_err_or_not_ok(&self) -> bool;
}

impl NotOk for std::io::Result<strata_chaos::http::Answer> {
    fn is_err_or_not_ok(&self) -> bool {
        self.as_ref().map_or(true, |a| a.status != 200)
    }
}
