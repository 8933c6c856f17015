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
pub const FAMILIES: [&str; 33] = [
    "strata_build_info",
    "strata_backup_last_success_timestamp_seconds",
    "strata_backup_failures_total",
    "strata_raft_has_leader",
    "strata_raft_is_leader",
    "strata_raft_term",
    "strata_raft_voters",
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
    "strata_storage_capacity_bytes",
    "strata_requests_total",
    "strata_request_seconds",
    "strata_connections",
    "strata_busy_total",
    "strata_auth_failures_total",
    "strata_vector_vectors",
    "strata_vector_unindexed",
    "strata_vector_searches_total",
    "strata_graph_nodes",
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

/// `strata_vector_searches_total` summed over the nodes: `[leader, follower]`.
async fn searches_by_role(http: &[String]) -> [f64; 2] {
    let mut sums = [0.0; 2];
    for addr in http {
        let text = scrape(addr, None).await;
        for (sum, role) in sums.iter_mut().zip(["leader", "follower"]) {
            *sum += sample(&text, "strata_vector_searches_total", &[("role", role)]).unwrap_or(0.0);
        }
    }
    sums
}

/// A linearizable search served by a follower waits for its leader's read index: pinned
/// to a follower that was stopped while an add was acknowledged, and sent before it runs
/// again, it finds that add, answered by the follower itself (counted there as a
/// follower's search), round after round.
async fn pinned_follower_searches_see_every_acknowledged_add(
    cluster: &mut TestCluster,
    store: &strata_client::stores::VectorStore,
    http: &[String],
) {
    const ROUNDS: usize = 5;
    let conns = strata_client::cluster::Connections::default();
    let rpc = || strata_api::service::context_within(Duration::from_secs(60));
    let node1 = conns.get(&cluster.nodes[0].client_addr).await.expect("connect to node 1");
    let map = node1.shard_map(rpc()).await.expect("rpc").expect("shard map");
    let group = map.vector_partitions("searched")[0];
    let status: serde_json::Value =
        serde_json::from_str(&get(&http[0], "/status", None, None).await.expect("status").body).expect("json");
    let leader = status["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["group"].as_u64() == Some(group))
        .and_then(|g| g["leader"].as_u64())
        .expect("the partition's leader");
    let pinned = cluster.nodes.iter().position(|n| n.id != leader).expect("a follower of the partition");
    let follower = conns.get(&cluster.nodes[pinned].client_addr).await.expect("connect to the follower");
    let before = searches_by_role(std::slice::from_ref(&http[pinned])).await;
    let everywhere = searches_by_role(http).await;
    let ids = (0..).map(|i| format!("pinned-{i}")).filter(|id| strata_shards::placement::partition_of(id, 3) == 0);
    for (round, id) in ids.take(ROUNDS).enumerate() {
        let angle = 1.9 + 0.25 * round as f64;
        let embedding = vec![angle.cos(), angle.sin()];
        cluster.pause(pinned);
        let mut node = strata_client::api::Node::text_node(&id, "added while the follower was stopped");
        node.embedding = Some(embedding.clone());
        let nodes = [node];
        let add = tokio::time::timeout(Duration::from_secs(30), store.add(&nodes));
        add.await.expect("an add acknowledged without the stopped follower").expect("add");
        let search = strata_api::VectorSearch {
            query: strata_api::VectorStoreQuery {
                query_embedding: Some(embedding.iter().map(|x| *x as f32).collect()),
                similarity_top_k: 1,
                ..Default::default()
            },
            candidates: 1,
            with_embeddings: false,
            every_candidate: false,
        };
        let query = strata_api::Query::Vector(strata_api::VectorQuery::Search {
            namespace: "searched".into(),
            search: Box::new(search),
        });
        let follower = follower.clone();
        let asked = tokio::spawn(async move {
            follower.read(rpc(), group, query, strata_api::ReadConsistency::Linearizable, 0).await
        });
        cluster.resume(pinned);
        let served = asked.await.expect("join").expect("rpc").expect("a linearizable search at the follower");
        match served.response {
            strata_api::Response::VectorHits(hits) => {
                let found: Vec<&str> = hits.iter().map(|h| h.node_id.as_str()).collect();
                assert_eq!(found, vec![id.as_str()], "round {round}: the follower's answer misses the add");
            }
            other => panic!("a search answered {other:?}"),
        }
    }
    let after = searches_by_role(std::slice::from_ref(&http[pinned])).await;
    assert_eq!(after[1] - before[1], ROUNDS as f64, "the follower served each pinned search itself");
    let all = searches_by_role(http).await;
    let served = all[0] + all[1] - everywhere[0] - everywhere[1];
    assert_eq!(served, ROUNDS as f64, "no pinned search was forwarded and searched again elsewhere");
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

    // Every partition search a node answers is counted, by the role it answered in; the
    // client sends each partition's search to any of its replicas, linearizable or not.
    let searches = searches_by_role(&http).await;
    let settings =
        strata_api::VectorNamespace { name: "searched".into(), dim: 2, distance: Default::default(), partitions: 3 };
    let store = ctx.add_vector_store(settings).await.expect("namespace");
    let mut n = strata_client::api::Node::text_node("v1", "a vector");
    n.embedding = Some(vec![0.5, 0.5]);
    store.add(&[n]).await.expect("add");
    let query = strata_api::VectorStoreQuery {
        query_embedding: Some(vec![0.5, 0.5]),
        similarity_top_k: 1,
        ..Default::default()
    };
    for _ in 0..5 {
        assert_eq!(store.query(&query).await.expect("query").ids, vec!["v1".to_string()]);
    }
    let after = searches_by_role(&http).await;
    let served = after[0] + after[1] - searches[0] - searches[1];
    assert_eq!(served, 15.0, "5 queries of 3 partitions, each searched once");
    assert!(after[1] > searches[1], "followers served linearizable searches: {searches:?} -> {after:?}");
    // `stale_ok` searches too: followers serve some, and every node serves.
    let mut per_node = Vec::new();
    for addr in &http {
        per_node.push(searches_by_role(std::slice::from_ref(addr)).await);
    }
    let stale = ctx.vector_store_in("searched").with_stale_reads(true);
    for _ in 0..30 {
        assert_eq!(stale.query(&query).await.expect("stale query").ids, vec!["v1".to_string()]);
    }
    let last = searches_by_role(&http).await;
    assert_eq!(last[0] + last[1] - after[0] - after[1], 90.0, "30 queries of 3 partitions");
    assert!(last[1] > after[1], "followers served some of them: {after:?} -> {last:?}");
    for (addr, before) in http.iter().zip(per_node) {
        let now = searches_by_role(std::slice::from_ref(addr)).await;
        assert!(now[0] + now[1] > before[0] + before[1], "{addr} served none of the stale searches");
    }

    // A property graph's `vector_query` takes the same path: each partition's search
    // goes to any of its replicas, and followers serve some.
    let pg = ctx.property_graph_store_in("pg");
    let entities: Vec<strata_client::api::LabelledNode> = (0..12)
        .map(|i| {
            let angle = f64::from(i) * 0.1;
            strata_client::api::LabelledNode::entity(format!("e{i}"), "T").with_embedding(&[angle.cos(), angle.sin()])
        })
        .collect();
    pg.upsert_nodes(&entities).await.expect("entities");
    let graph_parts = cluster.shard_map().await.expect("a shard map").graph_partitions("pg").len();
    assert!(graph_parts > 1, "the graph has several partitions");
    let before = searches_by_role(&http).await;
    let graph_query = strata_api::VectorStoreQuery {
        query_embedding: Some(vec![1.0, 0.0]),
        similarity_top_k: 2,
        ..Default::default()
    };
    for _ in 0..10 {
        let (nodes, _) = pg.vector_query(&graph_query).await.expect("graph vector query");
        assert_eq!(nodes.len(), 2);
    }
    let now = searches_by_role(&http).await;
    assert_eq!(now[0] + now[1] - before[0] - before[1], (10 * graph_parts) as f64, "one search per partition");
    assert!(now[1] > before[1], "followers served graph vector searches: {before:?} -> {now:?}");

    pinned_follower_searches_see_every_acknowledged_add(&mut cluster, &store, &http).await;

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
    // Refused at connect (the shard map needs read-only) or at the read: never served.
    let denied = |e: &strata_client::Error| {
        matches!(e, strata_client::Error::Store(strata_api::Error::PermissionDenied(_)))
            || e.to_string().contains("role")
    };
    match ctx {
        Ok(ctx) => {
            let read = ctx.kv_store().get("k", "c").await;
            assert!(read.as_ref().is_err_and(denied), "a metrics key reads nothing: {read:?}");
        }
        Err(e) => assert!(denied(&e), "a metrics key is refused for its role: {e}"),
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

/// `deploy/monitoring/`.
fn monitoring() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/monitoring")
}

fn promtool(args: &[&str]) {
    let out = std::process::Command::new("promtool")
        .args(args)
        .current_dir(monitoring())
        .output()
        .expect("promtool (Debian's prometheus package) is needed: scripts/test.sh installs it");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?}: {said}");
}

#[test]
fn the_shipped_rules_and_scrape_configuration_pass_promtool() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts_test.yml"]);
    promtool(&["check", "config", "prometheus.yml"]);
}

/// A Prometheus server (Debian's) on a free loopback port, stopped when dropped.
struct Prometheus {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts Prometheus with the shipped scrape configuration pointed at `targets`,
    /// scraping and evaluating every second, with the shipped rules' `for:` shortened.
    fn start(targets: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = std::fs::read_to_string(monitoring().join("alerts.yml")).expect("alerts.yml");
        let rules: String = rules
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("for: ") {
                    l.split("for:").next().unwrap_or("").to_string() + "for: 2s"
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.path().join("alerts.yml"), rules).expect("rules copy");
        let shipped = std::fs::read_to_string(monitoring().join("prometheus.yml")).expect("prometheus.yml");
        let mut config = String::new();
        for line in shipped.lines() {
            let t = line.trim_start();
            if t.starts_with("- 127.0.0.1:74") {
                continue; // the shipped targets: ours go in their place
            }
            config.push_str(&line.replace("15s", "1s"));
            config.push('\n');
            if t == "- targets:" {
                let indent = " ".repeat(line.len() - t.len() + 4);
                for target in targets {
                    config.push_str(&format!("{indent}- {target}\n"));
                }
            }
        }
        assert!(targets.iter().all(|t| config.contains(t.as_str())), "{config}");
        std::fs::write(dir.path().join("prometheus.yml"), &config).expect("config copy");
        // Prometheus cannot report a port it picked: take a free one and hand it over.
        let addr =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").to_string();
        let child = std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::File::create(dir.path().join("prometheus.log")).map(std::process::Stdio::from).expect("log"),
            )
            .spawn()
            .expect("prometheus (Debian's package) is needed: scripts/test.sh installs it");
        Self { child, addr, _dir: dir }
    }

    /// The result of an instant query (`data.result`).
    async fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let mut q = String::new();
        for b in expr.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => q.push(b as char),
                b => q.push_str(&format!("%{b:02X}")),
            }
        }
        let Ok(a) = get(&self.addr, &format!("/api/v1/query?query={q}"), None, None).await else { return Vec::new() };
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
        assert_ne!(v["status"], "error", "query {expr}: {}", a.body);
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The alerts firing now.
    async fn firing(&self) -> Vec<serde_json::Value> {
        let Ok(a) = get(&self.addr, "/api/v1/alerts", None, None).await else { return Vec::new() };
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_default();
        let all = v["data"]["alerts"].as_array().cloned().unwrap_or_default();
        all.into_iter().filter(|a| a["state"] == "firing").collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_a_cluster_every_dashboard_query_has_data_and_node_down_fires() {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let http: Vec<String> = cluster.nodes.iter().map(|n| n.http_addr.clone()).collect();
    let prometheus = Prometheus::start(&http);
    // Traffic for the request and store panels: writes, reads, a vector query.
    let ctx = cluster.context().await;
    for i in 0..10 {
        ctx.kv_store().put(&format!("k{i}"), &serde_json::Map::new(), "c").await.expect("put");
        ctx.kv_store().get(&format!("k{i}"), "c").await.expect("get");
    }
    let store = ctx.vector_store();
    store.add(&crate::support::pseudo_nodes(6, 3)).await.expect("add vectors");
    let query = strata_api::VectorStoreQuery {
        query_embedding: Some(vec![0.1, 0.2, 0.3]),
        similarity_top_k: 1,
        ..Default::default()
    };
    store.query(&query).await.expect("vector query");
    ctx.graph_store().upsert_triplet("alice", "knows", "bob").await.expect("a relation");

    let deadline = Instant::now() + WAIT;
    loop {
        let up = prometheus.query("up{job=\"strata\"} == 1").await;
        if up.len() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "Prometheus did not scrape the 3 nodes: {up:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(monitoring().join("dashboard.json")).expect("dashboard"))
            .expect("dashboard JSON");
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_string))
        .collect();
    assert!(exprs.len() >= 20, "{} panels' queries", exprs.len());
    for expr in &exprs {
        let deadline = Instant::now() + WAIT;
        while prometheus.query(expr).await.is_empty() {
            assert!(Instant::now() < deadline, "the dashboard query {expr} returned no data");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // A node killed: its `up` drops and the node-down alert fires for it.
    let gone = http[2].clone();
    cluster.kill(2);
    let deadline = Instant::now() + WAIT;
    loop {
        let down = prometheus.query(&format!("up{{instance=\"{gone}\"}} == 0")).await;
        let firing = prometheus.firing().await;
        let fired = firing
            .iter()
            .any(|a| a["labels"]["alertname"] == "StrataNodeDown" && a["labels"]["instance"] == gone.as_str());
        if down.len() == 1 && fired {
            break;
        }
        assert!(Instant::now() < deadline, "no StrataNodeDown for {gone}: up {down:?}, firing {firing:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What node `i` has logged so far.
fn log_of(cluster: &TestCluster, i: usize) -> String {
    std::fs::read_to_string(cluster.nodes[i].data_dir.with_extension("log")).unwrap_or_default()
}

/// The request ids of the JSON log lines after `from` bytes of `log` that are about a
/// request (every line must be one JSON object).
fn request_ids(log: &str, from: usize) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    for line in log.get(from..).unwrap_or_default().lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if v["fields"]["message"] == "slow request" {
            let id = v["fields"]["id"].as_str().expect("a slow request names its id");
            assert!(v["fields"]["stages"].is_string(), "its stages: {line}");
            ids.insert(id.to_string());
        }
    }
    ids
}

/// Waits until exactly one request id appears in every node's log past `marks` (what
/// `what` made the nodes log); answers it.
async fn one_id_in_every_log(cluster: &TestCluster, marks: &[usize], what: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let per_node: Vec<_> = (0..3).map(|i| request_ids(&log_of(cluster, i), marks[i])).collect();
        let shared: Vec<&String> =
            per_node[0].iter().filter(|id| per_node[1..].iter().all(|n| n.contains(*id))).collect();
        if let [id] = shared[..] {
            return id.clone();
        }
        assert!(Instant::now() < deadline, "{what}: no single id in every node's log: {per_node:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_id_is_logged_by_every_node_a_graph_call_or_a_vector_query_touches() {
    // One replica per partition: the graph's three partitions sit on three nodes, so a
    // graph call gathers from the other two. Every request is "slow" (logged with its id
    // and stages), in JSON.
    let options = ClusterOptions {
        replication: 1,
        config: Some("log_format = \"json\"\nslow_request_ms = 0\n".into()),
        ..ClusterOptions::default()
    };
    let cluster = TestCluster::start(3, options);
    cluster.wait_settled(1).await;
    let ctx = cluster.context().await;
    let graph = ctx.graph_store();
    for i in 0..12 {
        graph.upsert_triplet(&format!("s{i}"), "r", &format!("o{i}")).await.expect("a relation");
    }
    cluster.wait_settled(1).await;
    let map = cluster.shard_map().await.expect("a shard map");
    let holders: std::collections::BTreeSet<u64> =
        map.shards.iter().filter(|s| s.graph.is_some()).flat_map(|s| s.replicas.clone()).collect();
    assert_eq!(holders.len(), 3, "the default graph's partitions are spread over the three nodes");
    let marks: Vec<usize> = (0..3).map(|i| log_of(&cluster, i).len()).collect();
    let subjects: Vec<String> = (0..12).map(|i| format!("s{i}")).collect();
    let rel_map = graph.get_rel_map(Some(&subjects), 2, 30).await.expect("rel map");
    assert!(!rel_map.is_empty());
    // Every node logged the call under one id (lines reach the file as they are written).
    let id = one_id_in_every_log(&cluster, &marks, "the graph call").await;
    assert_eq!(id.len(), 32, "a 128-bit id in hex");

    // A vector query the client scatters over the three partitions (one per node): one id.
    let store = ctx.vector_store();
    store.add(&crate::support::pseudo_nodes(30, 4)).await.expect("vectors");
    cluster.wait_settled(1).await;
    let holders: std::collections::BTreeSet<u64> = cluster
        .shard_map()
        .await
        .expect("a shard map")
        .shards
        .iter()
        .filter(|s| s.vector.is_some())
        .flat_map(|s| s.replicas.clone())
        .collect();
    assert_eq!(holders.len(), 3, "the default namespace's partitions are spread over the three nodes");
    let marks: Vec<usize> = (0..3).map(|i| log_of(&cluster, i).len()).collect();
    let query =
        strata_api::VectorStoreQuery { query_embedding: Some(vec![0.5; 4]), similarity_top_k: 3, ..Default::default() };
    assert_eq!(store.query(&query).await.expect("vector query").ids.len(), 3);
    one_id_in_every_log(&cluster, &marks, "the vector query").await;
}

/// Headless Chromium (Debian's `chromium`; scripts/test.sh installs it) on `url` with
/// `args`; answers what it printed.
fn chromium(url: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().expect("a profile folder");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=8000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium (Debian's package) is needed: scripts/test.sh installs it");
    assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `target/` (beside the test binary's `debug/deps/`).
fn target_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    exe.ancestors().nth(3).map(std::path::Path::to_path_buf).unwrap_or_else(std::env::temp_dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_a_dead_member_and_the_under_replicated_banner() {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let page = format!("http://{}/", cluster.nodes[0].http_addr);
    let groups = cluster.shard_map().await.expect("a shard map").shards.len() + 1;
    // Something in the document and chat stores, whose sizes the page shows.
    let ctx = cluster.context().await;
    let docs: Vec<strata_client::api::Node> =
        (0..5).map(|i| strata_client::api::Node::text_node(format!("doc-{i}"), "text")).collect();
    ctx.docstore_in("handbook").add_documents(&docs).await.expect("documents");
    ctx.docstore_in("handbook").delete_document("doc-0", true).await.expect("delete one");
    for key in ["alice", "bob"] {
        let m = strata_api::ChatMessage::new(strata_api::MessageRole::User, "hello");
        ctx.chat_store().add_message(key, &m, None).await.expect("chat");
        ctx.chat_store().add_message(key, &m, None).await.expect("chat");
    }
    let dead = cluster.nodes[2].id;
    cluster.kill(2);
    // The DOM once the page has drawn the cluster (it fetches /cluster as it loads).
    let deadline = Instant::now() + WAIT;
    let dom = loop {
        let dom = tokio::task::spawn_blocking({
            let page = page.clone();
            move || chromium(&page, &["--dump-dom".to_string()])
        })
        .await
        .expect("chromium ran");
        if dom.contains("data-loaded=\"true\"") {
            break dom;
        }
        assert!(Instant::now() < deadline, "the page never drew the cluster: {dom}");
    };
    assert_eq!(dom.matches("<tr data-node=").count(), 3, "three members: {dom}");
    let dead_row = dom
        .split("<tr data-node=")
        .find(|r| r.starts_with(&format!("\"{dead}\"")))
        .unwrap_or_else(|| panic!("a row for node {dead}: {dom}"));
    assert!(dead_row.contains("class=\"down\"") && dead_row.contains("unreachable since"), "{dead_row}");
    let banner = dom.split("id=\"banner\"").nth(1).and_then(|b| b.split("</div>").next()).unwrap_or_default();
    assert!(!banner.contains("hidden"), "the banner shows: {banner}");
    assert!(banner.contains("under-replicated") && banner.contains(&format!("node {dead} (")), "{banner}");
    assert_eq!(dom.matches("<tr data-group=").count(), groups, "every raft group is listed: {dom}");
    let namespaces = dom.split("id=\"namespaces\"").nth(1).and_then(|t| t.split("</table>").next()).unwrap_or_default();
    assert!(namespaces.contains("<td>handbook</td><td>4 documents</td>"), "the docstore's size: {namespaces}");
    assert!(namespaces.contains("<td>2 keys</td>"), "the chat store's keys: {namespaces}");
    assert!(!namespaces.contains("handbook/metadata"), "a docstore is one line: {namespaces}");

    // Screenshots for people to look at: a laptop and a phone.
    let shots = target_dir().join("status-page");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    for (name, size) in [("laptop.png", "1280,900"), ("phone.png", "390,844")] {
        let file = shots.join(name);
        let _ = std::fs::remove_file(&file);
        let args = vec![format!("--screenshot={}", file.display()), format!("--window-size={size}")];
        let page = page.clone();
        tokio::task::spawn_blocking(move || chromium(&page, &args)).await.expect("chromium ran");
        assert!(std::fs::metadata(&file).map(|m| m.len() > 10_000).unwrap_or(false), "{} written", file.display());
    }
}
