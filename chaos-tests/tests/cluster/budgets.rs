//! Every request on a budget (issue 25), against the real binary under an 8 GiB
//! address-space limit, with API keys and a cluster secret: each input that used to
//! abort a node (exit 134) or stop it serving everyone is sent, and after each the node
//! must run, answer a well-behaved client, hold its data, and stay within a memory bound.
//!
//! * frames before a hello (raft port) or an `authenticate` (client port), and a
//!   read-only key's frames, are capped small; a frame that would decode into many times
//!   its size is refused before it is decoded;
//! * Cypher past its depth, memory and time budgets gets typed errors; heavy queries run
//!   off the async workers (other clients are served meanwhile), stop when their client
//!   goes, and do not keep the node from stopping on SIGTERM;
//! * answers left unread do not pile up; silent, trickling and crowding connections do
//!   not keep well-behaved clients out.

use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};
use strata_api::access::hash_key;
use strata_api::service::{StrataServiceRequest, StrataServiceResponse};
use strata_api::{Error, LabelledNode, ReadConsistency};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_chaos::hostile::{Outcome, connect_from, frame, memory_kib, read_answer, request, splice};
use strata_client::StorageContext;
use strata_client::cluster::ConnectOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADDRESS_SPACE_KIB: u64 = 8 << 20;
/// The node idles near 100 MiB; everything below must leave it under this.
const PEAK_BOUND_KIB: u64 = 1 << 20;
const WAIT: Duration = Duration::from_secs(30);
const ADMIN: &str = "strata_budget_admin";
const READER: &str = "strata_budget_reader";
/// A key whose Cypher queries may run ten minutes (only the other budgets stop them).
const PATIENT: &str = "strata_budget_patient";
/// A key whose Cypher queries may run 300 ms.
const HASTY: &str = "strata_budget_hasty";

fn key_entry(name: &str, key: &str, role: &str, cypher_time_ms: Option<u64>) -> String {
    let time = cypher_time_ms.map(|t| format!("cypher_time_ms = {t}\n")).unwrap_or_default();
    format!("[[auth.api_keys]]\nname = \"{name}\"\nhash = \"{}\"\nrole = \"{role}\"\n{time}", hash_key(key))
}

struct Node {
    cluster: TestCluster,
    ctx: StorageContext,
    addr: String,
    pid: u32,
    _dir: tempfile::TempDir,
}

async fn context(addr: &str, key: &str, deadline: Duration) -> StorageContext {
    let options = ConnectOptions { api_key: Some(key.into()), deadline, ..ConnectOptions::default() };
    StorageContext::connect_options(&[addr.to_string()], &options).await.expect("connect")
}

impl Node {
    async fn start() -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("cluster.secret");
        std::fs::write(&secret, "a-test-secret-of-at-least-thirty-two-bytes\n").expect("secret");
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let config = format!(
            "[limits]\nfirst_frame_timeout_ms = 1000\nframe_timeout_ms = 2000\nmax_connections_per_address = 64\n\
             max_unsent_bytes = 8388608\ncypher_threads = 2\n\n[auth]\ncluster_secret_file = \"{}\"\n{}{}{}{}",
            secret.display(),
            key_entry("admin", ADMIN, "admin", None),
            key_entry("reader", READER, "read-only", None),
            key_entry("patient", PATIENT, "read-write", Some(600_000)),
            key_entry("hasty", HASTY, "read-only", Some(300)),
        );
        let options = ClusterOptions {
            shards: 2,
            replication: 1,
            address_space_kib: Some(ADDRESS_SPACE_KIB),
            config: Some(config),
            api_key: Some(ADMIN.into()),
            ..ClusterOptions::default()
        };
        let cluster = TestCluster::start(1, options);
        let addr = cluster.client_addrs()[0].clone();
        let pid = cluster.nodes[0].pid().expect("running");
        let ctx = context(&addr, ADMIN, WAIT).await;
        ctx.kv_store().put("k", &obj(json!({"v": 1})), "budgets").await.expect("put");
        let graph = ctx.property_graph_store_in("g");
        let nodes: Vec<LabelledNode> = (0..50).map(|i| LabelledNode::entity(format!("e{i}"), "THING")).collect();
        graph.upsert_nodes(&nodes).await.expect("nodes");
        Node { cluster, ctx, addr, pid, _dir: dir }
    }

    /// The node runs, answers a well-behaved client and holds its data; answers its peak.
    async fn assert_intact(&self, case: &str) -> u64 {
        let (_, peak) = memory_kib(self.pid).unwrap_or_else(|| panic!("{case}: the node process is gone"));
        let started = Instant::now();
        let got = self.ctx.kv_store().get("k", "budgets").await.unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(got, Some(obj(json!({"v": 1}))), "{case}: kv");
        eprintln!("{case}: node intact (a get took {:?}), peak memory {} MiB", started.elapsed(), peak / 1024);
        peak
    }

    /// A raw connection that presented `key`.
    async fn authenticated(&self, key: &str) -> TcpStream {
        let mut c = TcpStream::connect(&self.addr).await.expect("connect");
        let auth = StrataServiceRequest::Authenticate { key: key.into() };
        c.write_all(&frame(&request(&auth, WAIT, 1))).await.expect("send");
        match read_answer(&mut c, WAIT).await {
            Outcome::Answered(Ok(StrataServiceResponse::Authenticate(Ok(_)))) => c,
            other => panic!("authenticate: {other:?}"),
        }
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Reads until the peer closes (answers discarded); whether it closed within `wait`.
async fn closed_within(c: &mut TcpStream, wait: Duration) -> bool {
    let drain = async {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, drain).await.is_ok()
}

/// A connection from another loopback address (an attacker's, counted apart from the
/// well-behaved client's 127.0.0.1).
async fn from_elsewhere(addr: &str) -> std::io::Result<TcpStream> {
    connect_from("127.0.0.2", addr).await
}

/// A query that runs for hours unless a budget stops it.
const HEAVY: &str = "UNWIND range(1, 100000) AS a RETURN sum(size([x IN range(1, 100000) WHERE x = a])) AS n";

type Rows = Result<Vec<Map<String, Value>>, strata_client::Error>;

/// Two [`HEAVY`] queries under way for the patient key, and its context.
async fn heavy_queries(addr: &str) -> (StorageContext, Vec<tokio::task::JoinHandle<Rows>>) {
    let patient = context(addr, PATIENT, Duration::from_secs(600)).await;
    let running = (0..2)
        .map(|_| {
            let g = patient.property_graph_store_in("g");
            tokio::spawn(async move { g.structured_query(HEAVY, None).await })
        })
        .collect();
    (patient, running)
}

fn limit_what(r: Result<Vec<Map<String, Value>>, strata_client::Error>) -> String {
    match r {
        Err(strata_client::Error::Store(Error::LimitExceeded { what, .. })) => what,
        Err(other) => panic!("expected LimitExceeded, got {other}"),
        Ok(rows) => panic!("expected LimitExceeded, got {} rows", rows.len()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_on_a_budget() {
    let mut node = Node::start().await;
    let addr = node.addr.clone();
    let mut peak = node.assert_intact("start").await;

    // --- Decoding before trust.
    let case = "a 400 MB frame to the raft port before any hello";
    let raft = node.cluster.nodes[0].raft_addr.clone();
    let mut c = TcpStream::connect(&raft).await.expect("connect");
    c.write_all(&(400u32 << 20).to_be_bytes()).await.expect("send");
    let _ = c.write_all(&[0xa0; 1 << 16]).await; // the node may close before this is sent
    assert!(closed_within(&mut c, WAIT).await, "{case}: the connection was not closed");
    peak = peak.max(node.assert_intact(case).await);

    let case = "a 5 KiB frame before authenticate";
    let mut c = TcpStream::connect(&addr).await.expect("connect");
    let _ = c.write_all(&frame(&vec![0xa0; 5 << 10])).await;
    assert!(closed_within(&mut c, WAIT).await, "{case}: the connection was not closed");
    peak = peak.max(node.assert_intact(case).await);

    let case = "a read-only key announcing a 100 MB frame";
    let mut c = node.authenticated(READER).await;
    let _ = c.write_all(&(100u32 << 20).to_be_bytes()).await;
    assert!(closed_within(&mut c, WAIT).await, "{case}: the connection was not closed");
    peak = peak.max(node.assert_intact(case).await);

    let case = "200 million empty strings (200 MB on the wire, 4.8 GB as Strings)";
    let mut c = node.authenticated(ADMIN).await;
    let ids = vec!["MARK".to_string()];
    let get = strata_api::Query::Docstore(strata_api::DocstoreQuery::GetDocuments { namespace: "d".into(), ids });
    let read = StrataServiceRequest::Read { group: 1, query: get, consistency: ReadConsistency::Linearizable, hops: 0 };
    let bytes = request(&read, WAIT, 2);
    let n: u32 = 200_000_000;
    let header = [&[0xdd][..], &n.to_be_bytes()[..]].concat();
    let mut bomb = splice(&bytes, &[0x91, 0xa4, b'M', b'A', b'R', b'K'], &header).expect("ids in the request");
    let at = bomb.windows(5).position(|w| w == header.as_slice()).expect("header") + 5;
    bomb.splice(at..at, std::iter::repeat_n(0xa0u8, n as usize));
    c.write_all(&frame(&bomb)).await.expect("send");
    drop(bomb);
    // Answered with a typed refusal, never decoded (the node holds the frame, not 4.8 GB).
    match read_answer(&mut c, WAIT).await {
        Outcome::Answered(Err(e)) => {
            assert!(e.starts_with("InvalidData") && e.contains("would decode into more"), "{case}: {e}")
        }
        other => panic!("{case}: {other:?}"),
    }
    peak = peak.max(node.assert_intact(case).await);

    // --- Cypher's budgets.
    let graph = node.ctx.property_graph_store_in("g");
    let case = "a 4 KB chain of ANDs";
    let q = format!("RETURN {} AS x", vec!["true"; 800].join(" AND "));
    assert!(limit_what(graph.structured_query(&q, None).await).contains("nesting depth"), "{case}");
    peak = peak.max(node.assert_intact(case).await);

    let case = "a 60-byte query asking for 40 billion values";
    let q = "RETURN [x IN range(1, 200000) | range(1, 200000)] AS a";
    assert!(limit_what(graph.structured_query(q, None).await).contains("bytes of values"), "{case}");
    peak = peak.max(node.assert_intact(case).await);

    let case = "a query past its key's time";
    let hasty = context(&addr, HASTY, WAIT).await;
    let what = limit_what(hasty.property_graph_store_in("g").structured_query(HEAVY, None).await);
    assert!(what.contains("milliseconds"), "{case}: {what}");
    peak = peak.max(node.assert_intact(case).await);

    let case = "two CPU-heavy queries running while others are served";
    let (patient, running) = heavy_queries(&addr).await;
    for i in 0..20 {
        // Each get is answered while both queries run (before the budgets they pinned
        // both runtime threads and every other client timed out).
        let get = tokio::time::timeout(WAIT, node.ctx.kv_store().get("k", "budgets")).await;
        assert!(matches!(get, Ok(Ok(Some(_)))), "{case}: get {i} while the queries ran: {get:?}");
        assert!(running.iter().all(|r| !r.is_finished()), "{case}: a heavy query ended early");
    }
    peak = peak.max(node.assert_intact(case).await);

    let case = "the heavy queries' client goes away";
    for r in &running {
        r.abort();
    }
    drop(patient);
    // The pool has two threads: a query answers only once the cancelled ones let go.
    let quick = graph.structured_query("MATCH (n:THING) RETURN count(n) AS n", None);
    let rows = tokio::time::timeout(Duration::from_secs(120), quick).await.expect(case).expect(case);
    assert_eq!(rows[0]["n"], json!(50), "{case}");
    peak = peak.max(node.assert_intact(case).await);

    // --- Answers nobody reads.
    let case = "1,000 pipelined reads with 1 MB answers, never read";
    let wide: Vec<(String, Map<String, Value>)> =
        (0..64).map(|i| (format!("w{i}"), obj(json!({"blob": "w".repeat(16 << 10)})))).collect();
    node.ctx.kv_store().put_all(&wide, "wide").await.expect("put_all");
    let group = strata_shards::placement::group_of_collection("wide", 2);
    let get_all = StrataServiceRequest::Read {
        group,
        query: strata_api::Query::Kv(strata_api::KvQuery::GetAll { collection: "wide".into() }),
        consistency: ReadConsistency::Linearizable,
        hops: 0,
    };
    let mut c = node.authenticated(ADMIN).await;
    for id in 10..1010 {
        if c.write_all(&frame(&request(&get_all, Duration::from_secs(120), id))).await.is_err() {
            break; // closed already
        }
    }
    // Before the budget the node held every answer (1 GB here; 6.3 GB in the issue's
    // run). Now it stops reading past the connection's budget and closes a connection
    // whose answers go unread.
    assert!(closed_within(&mut c, Duration::from_secs(120)).await, "{case}: the connection was never closed");
    peak = peak.max(node.assert_intact(case).await);

    // --- Connection slots.
    let case = "300 silent connections from one address";
    let mut silent = Vec::new();
    for _ in 0..300 {
        if let Ok(s) = from_elsewhere(&addr).await {
            silent.push(s);
        }
    }
    // A new well-behaved client is served while they are held.
    let fresh = context(&addr, READER, WAIT).await;
    assert!(fresh.kv_store().get("k", "budgets").await.expect(case).is_some(), "{case}");
    for s in &mut silent {
        assert!(closed_within(s, WAIT).await, "{case}: a silent connection was kept past its deadline");
    }
    peak = peak.max(node.assert_intact(case).await);

    let case = "a frame trickling in a byte every 100 ms";
    let mut t = from_elsewhere(&addr).await.expect("connect");
    t.write_all(&1000u32.to_be_bytes()).await.expect("send");
    let started = Instant::now();
    let trickle = async {
        loop {
            if t.write_all(&[0x90]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await; // the trickle's pace
        }
    };
    let cut = tokio::time::timeout(WAIT, trickle).await;
    assert!(cut.is_ok(), "{case}: the trickle was never cut off");
    eprintln!("{case}: cut off after {:?}", started.elapsed());
    peak = peak.max(node.assert_intact(case).await);

    assert!(peak < PEAK_BOUND_KIB, "peak memory {} MiB", peak / 1024);

    // --- SIGTERM while heavy queries run.
    let _running = heavy_queries(&addr).await;
    // A few round trips behind them: the queries have reached the node.
    for _ in 0..3 {
        node.ctx.kv_store().get("k", "budgets").await.expect("get");
    }
    let pid = node.pid;
    let term = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
    assert!(term.success());
    let asked = Instant::now();
    assert!(node.cluster.wait_exit(0), "the node did not exit cleanly on SIGTERM while queries ran");
    eprintln!("SIGTERM with two heavy queries running: exited after {:?}", asked.elapsed());
}

/// An edited `node.json` (still valid JSON) used to start a node that reported ready and
/// dropped every replica it held; restoring the file did not bring them back. Now the
/// node refuses to start, naming both identities, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_identity_is_refused_and_no_replica_is_dropped() {
    let mut cluster = TestCluster::start(1, ClusterOptions { shards: 2, replication: 1, ..ClusterOptions::default() });
    let ctx = cluster.context().await;
    ctx.kv_store().put("k", &obj(json!({"v": 1})), "identity").await.expect("put");
    drop(ctx);
    cluster.kill(0);
    let path = cluster.nodes[0].data_dir.join("node.json");
    let original = std::fs::read_to_string(&path).expect("node.json");
    let mut edited: Value = serde_json::from_str(&original).expect("json");
    let id = edited["id"].as_u64().expect("id");
    edited["id"] = json!(id + 41);
    std::fs::write(&path, edited.to_string()).expect("edit");
    let refused = cluster.start_refused(0);
    assert!(
        refused.contains(&format!("says node {}", id + 41)) && refused.contains(&format!("replicas of node {id}")),
        "the refusal names both identities: {refused}"
    );
    std::fs::remove_file(&path).expect("remove");
    let refused = cluster.start_refused(0);
    assert!(refused.contains("node.json is missing"), "{refused}");
    std::fs::write(&path, &original).expect("restore");
    cluster.restart(0);
    let ctx = cluster.context().await;
    let got = ctx.kv_store().get("k", "identity").await.expect("get");
    assert_eq!(got, Some(obj(json!({"v": 1}))), "the data survived the edits");
}
