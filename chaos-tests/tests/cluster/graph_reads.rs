//! Graph calls a node runs whole (`strata_node::graph_call`): run on a node that only
//! follows the partition written to, a linearizable rel map or Cypher query still sees
//! every write acknowledged before it began (the read index), and calls that name the
//! wrong partition or graph get typed errors.

use strata_api::{Error, GraphCall, ReadConsistency, Response};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::api::Relation;
use strata_shards::placement::partition_of;

fn rel_map(seed: &str) -> GraphCall {
    GraphCall::RelMap { graph: "kg".into(), seeds: vec![seed.into()], depth: 1, limit: 10_000, ignore_rels: vec![] }
}

fn count_query(seed: &str) -> GraphCall {
    let params = serde_json::json!({ "name": seed }).as_object().cloned().unwrap_or_default();
    GraphCall::Cypher {
        graph: "kg".into(),
        query: "MATCH (a {name: $name})-[:LINKS]->(b) RETURN count(b) AS n".into(),
        params,
    }
}

/// A linearizable graph call run by node `i`, asked again (as a client would) while it
/// answers a retryable error: a leadership move under way has no leader to confirm a read
/// index with (`NotLeader`, no leader named), which is no answer about the data.
async fn answered(cluster: &TestCluster, i: usize, group: u64, call: GraphCall) -> Result<Response, Error> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match cluster.graph_call_at(i, group, call.clone(), ReadConsistency::Linearizable).await {
            Err(e) if e.is_retryable() && std::time::Instant::now() < until => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await; // a client's backoff
            }
            answer => return answer,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_calls_on_a_follower_see_every_acknowledged_write() {
    let cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let g = ctx.property_graph_store_in("kg");
    g.upsert_relations(&[Relation::new("hub", "LINKS", "n0")]).await.expect("first relation");
    // The graph's partitions were just created: let placement and leadership settle.
    cluster.wait_settled(3).await;
    let groups = cluster.shard_map().await.expect("map").graph_partitions("kg");
    let group = groups[partition_of("hub", groups.len())];
    let leader = cluster.leader_of(group).await.expect("hub's partition has a leader");
    let follower = (0..3).find(|i| *i != leader).expect("a follower");

    for i in 1..40usize {
        g.upsert_relations(&[Relation::new("hub", "LINKS", format!("n{i}"))]).await.expect("upsert");
        // Acknowledged by the leader; the follower learns the commit only later, unless
        // the call waits for the leader's read index.
        let answer = answered(&cluster, follower, group, rel_map("hub")).await;
        let Ok(Response::GraphTriplets(triplets)) = answer else { panic!("rel map on the follower: {answer:?}") };
        assert_eq!(triplets.len(), i + 1, "after write {i}, the follower's rel map has every relation");
        assert!(triplets.iter().any(|t| t.target.id == format!("n{i}")), "the latest write is seen");

        let answer = answered(&cluster, follower, group, count_query("hub")).await;
        let Ok(Response::GraphRows(rows)) = answer else { panic!("Cypher on the follower: {answer:?}") };
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("n"), Some(&serde_json::json!(i + 1)), "after write {i}, Cypher counts every relation");
    }

    // A stale call answers from the follower's own replica: never more than was written.
    let answer = cluster.graph_call_at(follower, group, rel_map("hub"), ReadConsistency::StaleOk).await;
    let Ok(Response::GraphTriplets(triplets)) = answer else { panic!("stale rel map: {answer:?}") };
    assert!(triplets.len() <= 40);

    // The same call through the client (run whole on the partition's leader) agrees.
    let through_client = g.get_rel_map_of(&["hub".to_string()], 1, 10_000, None).await.expect("client rel map");
    assert_eq!(through_client.len(), 40);

    // Typed errors: a group that is not one of the graph's partitions, a group that is
    // not a graph partition at all.
    let kv_group = cluster.shard_map().await.expect("map").shards.iter().find(|s| s.graph.is_none()).map(|s| s.group);
    for bad in [kv_group.expect("a non-graph shard"), 999_999] {
        let answer = cluster.graph_call_at(leader, bad, rel_map("hub"), ReadConsistency::Linearizable).await;
        assert!(matches!(answer, Err(Error::InvalidInput(_)) | Err(Error::UnknownGroup(_))), "group {bad}: {answer:?}");
    }
    let other =
        GraphCall::RelMap { graph: "other".into(), seeds: vec!["hub".into()], depth: 1, limit: 5, ignore_rels: vec![] };
    let answer = cluster.graph_call_at(leader, group, other, ReadConsistency::Linearizable).await;
    assert!(matches!(answer, Err(Error::InvalidInput(_))), "a partition of another graph: {answer:?}");
}
