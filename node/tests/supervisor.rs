//! The supervisor restarts a store actor that fails: a request right after the KV actor
//! has been killed (and is gone) is still served (the client's retries ride out the
//! restart), by a new actor.

use ractor::ActorRef;
use strata_node::actors::StoreKind;
use strata_node::actors::store::StoreMsg;
use strata_node::config::Config;

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_store_actor_is_restarted_and_serves_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().join("node"),
        listen: "127.0.0.1:0".into(),
        raft_listen: "127.0.0.1:0".into(),
        http_listen: "127.0.0.1:0".into(),
        shards: 2,
        replication: 1,
        ..Config::default()
    };
    let node = strata_node::server::start(&config).await.expect("start a node");
    let ctx =
        strata_client::StorageContext::connect(std::slice::from_ref(&node.info.client_addr)).await.expect("connect");
    let kv = ctx.kv_store();
    kv.put("before", &obj(serde_json::json!({"n": 1})), "c").await.expect("put before");

    let name = StoreKind::Kv.actor_name();
    let actor: ActorRef<StoreMsg> = ActorRef::where_is(name).expect("the KV actor runs");
    let killed = actor.get_id();
    actor.kill_and_wait(None).await.expect("the KV actor stops");

    kv.put("after", &obj(serde_json::json!({"n": 2})), "c").await.expect("put after the kill");
    assert_eq!(kv.get("before", "c").await.expect("get"), Some(obj(serde_json::json!({"n": 1}))));
    let restarted: ActorRef<StoreMsg> = ActorRef::where_is(name).expect("a KV actor runs again");
    assert_ne!(restarted.get_id(), killed, "the supervisor started a new actor");
    node.shutdown().await;
}
