//! Tenancy without leaks (issue 25): a key limited to `tenant-a/` sees nothing of
//! `tenant-b/` through any call of the client service, and creates no more than its
//! quotas allow. The calls are enumerated from the service's request enum: a new call
//! fails to compile here until it is given its cases (and a filter, if it names things).

use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use strata_api::access::hash_key;
use strata_api::service::{StrataServiceRequest, StrataServiceResponse};
use strata_api::{
    ChatMessage, ChatQuery, Command, Error, GraphCall, GraphNamespace, GraphQuery, KvCommand, KvQuery, LabelledNode,
    MessageRole, MetaQuery, NodeInfo, Query, ReadConsistency, VectorNamespace, VectorQuery,
};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_chaos::hostile::{Outcome, frame, read_answer, request};
use strata_client::StorageContext;
use strata_client::api::Node;
use strata_client::cluster::ConnectOptions;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(30);
const ADMIN: &str = "strata_tenancy_admin";
const TENANT_A: &str = "strata_tenancy_a";

/// Which variant a request is: the match names every one (no wildcard), so a call
/// added to the service fails to compile here until this test covers it.
fn variant(r: &StrataServiceRequest) -> &'static str {
    match r {
        StrataServiceRequest::Write { .. } => "write",
        StrataServiceRequest::Read { .. } => "read",
        StrataServiceRequest::ShardMap { .. } => "shard_map",
        StrataServiceRequest::Status { .. } => "status",
        StrataServiceRequest::StateDigest { .. } => "state_digest",
        StrataServiceRequest::Join { .. } => "join",
        StrataServiceRequest::RemoveNode { .. } => "remove_node",
        StrataServiceRequest::Adopt { .. } => "adopt",
        StrataServiceRequest::CreateVectorNamespace { .. } => "create_vector_namespace",
        StrataServiceRequest::CreateGraph { .. } => "create_graph",
        StrataServiceRequest::GraphCall { .. } => "graph_call",
        StrataServiceRequest::Authenticate { .. } => "authenticate",
        StrataServiceRequest::BackupOpen { .. } => "backup_open",
        StrataServiceRequest::BackupRead { .. } => "backup_read",
        StrataServiceRequest::BackupClose { .. } => "backup_close",
        StrataServiceRequest::Hello { .. } => "hello",
        StrataServiceRequest::Drain { .. } => "drain",
    }
}

const VARIANTS: usize = 17;

async fn fill(ctx: &StorageContext, t: &str) {
    let obj = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
    ctx.kv_store().put("k", &obj(json!({"v": 1})), &format!("{t}/c")).await.expect("kv");
    ctx.docstore_in(&format!("{t}/d")).add_documents(&[Node::text_node(format!("{t}-n"), "text")]).await.expect("doc");
    ctx.chat_store()
        .add_message(&format!("{t}/k"), &ChatMessage::new(MessageRole::User, "hi"), None)
        .await
        .expect("chat");
    let mut n = Node::text_node(format!("{t}-v"), "vector");
    n.embedding = Some(vec![0.5, 0.5]);
    let settings = VectorNamespace { name: format!("{t}/v"), dim: 2, distance: Default::default(), partitions: 2 };
    ctx.add_vector_store(settings).await.expect("namespace").add(&[n]).await.expect("vector");
    let graph = ctx.property_graph_store_in(&format!("{t}/g"));
    graph.upsert_nodes(&[LabelledNode::entity(format!("{t}-e"), "THING")]).await.expect("graph");
}

/// Every call, with the cases that could name another tenant's things.
fn every_call(groups: &[u64], b_group: u64) -> Vec<StrataServiceRequest> {
    let read =
        |group, query| StrataServiceRequest::Read { group, query, consistency: ReadConsistency::Linearizable, hops: 0 };
    let mut calls = vec![
        StrataServiceRequest::Write {
            group: 1,
            request_id: None,
            command: Command::Kv(KvCommand::Put {
                collection: "tenant-b/c".into(),
                key: "x".into(),
                value: strata_api::JsonText::from_map(&serde_json::Map::new()),
            }),
            hops: 0,
        },
        read(1, Query::Kv(KvQuery::Collections)),
        read(1, Query::Chat(ChatQuery::GetKeys)),
        read(1, Query::Vector(VectorQuery::Namespaces)),
        read(0, Query::Meta(MetaQuery::ShardMap)),
        read(1, Query::Kv(KvQuery::GetAll { collection: "tenant-b/c".into() })),
        read(b_group, Query::Graph(GraphQuery::Schema { graph: "tenant-b/g".into() })),
        read(b_group, Query::Graph(GraphQuery::Schema { graph: "tenant-a/g".into() })),
        StrataServiceRequest::ShardMap {},
        StrataServiceRequest::Status {},
        StrataServiceRequest::Join {
            node: NodeInfo { raft_addr: "x:1".into(), client_addr: "x:2".into(), ..NodeInfo::default() },
        },
        StrataServiceRequest::RemoveNode { id: 1 },
        StrataServiceRequest::Adopt { seeds: vec!["x:1".into()] },
        StrataServiceRequest::CreateVectorNamespace {
            settings: VectorNamespace {
                name: "tenant-b/new".into(),
                dim: 2,
                distance: Default::default(),
                partitions: 1,
            },
        },
        StrataServiceRequest::CreateGraph { settings: GraphNamespace { name: "tenant-b/new".into(), partitions: 1 } },
        StrataServiceRequest::GraphCall {
            group: b_group,
            call: GraphCall::Cypher {
                graph: "tenant-b/g".into(),
                query: "MATCH (n) RETURN n".into(),
                params: Default::default(),
            },
            consistency: ReadConsistency::Linearizable,
        },
        StrataServiceRequest::GraphCall {
            group: b_group,
            call: GraphCall::Cypher {
                graph: "tenant-a/g".into(),
                query: "MATCH (n) RETURN n".into(),
                params: Default::default(),
            },
            consistency: ReadConsistency::Linearizable,
        },
        StrataServiceRequest::Authenticate { key: TENANT_A.into() },
        // Backups read every store: admin keys without prefixes only.
        StrataServiceRequest::BackupOpen { group: b_group },
        StrataServiceRequest::BackupRead { token: 1, offset: 0 },
        StrataServiceRequest::BackupClose { token: 1 },
        StrataServiceRequest::Hello { client: strata_api::version::CLIENT_PROTOCOL },
        // Admin keys only: refused here, so the node keeps serving the calls after it.
        StrataServiceRequest::Drain {},
        StrataServiceRequest::Write {
            group: b_group,
            request_id: None,
            command: Command::Restore(strata_api::backup::RestoreCommand::Finish { group: b_group, next_seq: 1 }),
            hops: 0,
        },
    ];
    calls.extend(groups.iter().map(|g| StrataServiceRequest::StateDigest { group: *g }));
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_limited_key_sees_nothing_of_another_prefix_and_keeps_to_its_quotas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("cluster.secret");
    std::fs::write(&secret, "a-test-secret-of-at-least-thirty-two-bytes\n").expect("secret");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let config = format!(
        "[auth]\ncluster_secret_file = \"{}\"\n\
         [[auth.api_keys]]\nname = \"admin\"\nhash = \"{}\"\nrole = \"admin\"\n\
         [[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\nrole = \"read-write\"\nprefixes = [\"tenant-a/\"]\n\
         max_graphs = 1\nmax_partitions = 8\n",
        secret.display(),
        hash_key(ADMIN),
        hash_key(TENANT_A)
    );
    let options = ClusterOptions {
        shards: 2,
        replication: 1,
        config: Some(config),
        api_key: Some(ADMIN.into()),
        ..Default::default()
    };
    let cluster = TestCluster::start(1, options);
    let addr = cluster.client_addrs()[0].clone();
    let admin = cluster.context().await;
    fill(&admin, "tenant-b").await;
    let a_opts = ConnectOptions { api_key: Some(TENANT_A.into()), deadline: WAIT, ..ConnectOptions::default() };
    let a = StorageContext::connect_options(std::slice::from_ref(&addr), &a_opts).await.expect("connect");
    fill(&a, "tenant-a").await;

    let map = cluster.shard_map().await.expect("map");
    let b_group = map.graph_partitions("tenant-b/g")[0];
    let mut groups: Vec<u64> = map.shards.iter().map(|s| s.group).collect();
    groups.push(0);
    let calls = every_call(&groups, b_group);
    let covered: BTreeSet<&str> = calls.iter().map(variant).collect();
    assert_eq!(covered.len(), VARIANTS, "every call of the service is tried: {covered:?}");

    let mut conn = TcpStream::connect(&addr).await.expect("connect");
    let auth = StrataServiceRequest::Authenticate { key: TENANT_A.into() };
    conn.write_all(&frame(&request(&auth, WAIT, 1))).await.expect("send");
    assert!(matches!(read_answer(&mut conn, WAIT).await, Outcome::Answered(Ok(_))), "authenticate");
    let mut answered = 0;
    for (i, call) in calls.iter().enumerate() {
        conn.write_all(&frame(&request(call, WAIT, 100 + i as u64))).await.expect("send");
        let answer = read_answer(&mut conn, WAIT).await;
        let text = format!("{answer:?}");
        assert!(!text.contains("tenant-b"), "{} leaked another tenant: {text}", variant(call));
        if let Outcome::Answered(Ok(_)) = answer {
            answered += 1;
        } else {
            panic!("{}: no answer: {text}", variant(call));
        }
    }
    assert_eq!(answered, calls.len());
    // What tenant-a may see, it still sees.
    let query = strata_api::VectorStoreQuery {
        query_embedding: Some(vec![0.5, 0.5]),
        similarity_top_k: 1,
        ..Default::default()
    };
    let own = a.vector_store_in("tenant-a/v").query(&query).await.expect("own query");
    assert_eq!(own.ids, vec!["tenant-a-v".to_string()]);
    let map = cluster.shard_map().await.expect("map");
    assert!(map.graphs.contains_key("tenant-a/g") && map.graphs.contains_key("tenant-b/g"));

    // Quotas: one graph for this key, and no more partitions than 8 in all.
    let err = a.property_graph_store_in("tenant-a/second").upsert_nodes(&[LabelledNode::entity("x", "T")]).await;
    match err {
        Err(strata_client::Error::Store(Error::LimitExceeded { what, limit: 1, got: 2 })) => {
            assert!(what.contains("graphs"), "{what}")
        }
        other => panic!("a second graph past the quota: {other:?}"),
    }
    let huge = StrataServiceRequest::CreateVectorNamespace {
        settings: VectorNamespace {
            name: "tenant-a/huge".into(),
            dim: 2,
            distance: Default::default(),
            partitions: 1_000,
        },
    };
    conn.write_all(&frame(&request(&huge, WAIT, 9))).await.expect("send");
    match read_answer(&mut conn, WAIT).await {
        Outcome::Answered(Ok(StrataServiceResponse::CreateVectorNamespace(Err(Error::LimitExceeded {
            what, ..
        })))) => {
            assert!(what.contains("partitions"), "{what}")
        }
        other => panic!("a namespace of 1,000 partitions: {other:?}"),
    }
}
