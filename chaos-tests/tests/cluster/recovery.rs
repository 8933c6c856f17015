//! Recovery: a node restarted from its data directory rejoins and catches up; a node whose
//! data was wiped comes back as a new member and is caught up by snapshot (the leaders
//! have purged the log it would need).

use serde_json::json;
use strata_api::{KvQuery, Query, Response};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_shards::placement::group_of_collection;

const COLLECTION: &str = "recovery";

fn small_snapshots() -> ClusterOptions {
    ClusterOptions { snapshot_after_entries: 50, keep_entries_after_snapshot: 5, ..ClusterOptions::default() }
}

async fn write_batch(cluster: &TestCluster, from: usize, to: usize) {
    let ctx = cluster.context().await;
    for k in from..to {
        ctx.kv_store().put(&format!("k{k}"), &crate::support::obj(json!({"k": k})), COLLECTION).await.expect("put");
    }
}

/// How many keys node `i`'s own replica of the collection's shard holds.
async fn local_count(cluster: &TestCluster, i: usize, shards: u32) -> Option<usize> {
    let group = group_of_collection(COLLECTION, shards);
    let q = Query::Kv(KvQuery::GetAll { collection: COLLECTION.into() });
    match cluster.local_read(i, group, q).await {
        Ok(Response::Entries(e)) => Some(e.len()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up() {
    let options = small_snapshots();
    let mut cluster = TestCluster::start(3, options.clone());
    cluster.wait_settled(3).await;
    write_batch(&cluster, 0, 20).await;
    cluster.kill(2);
    write_batch(&cluster, 20, 200).await;
    cluster.restart(2);
    let group = group_of_collection(COLLECTION, options.shards);
    let id = cluster.nodes[2].id;
    cluster
        .wait_for("the restarted node applies everything the leader did", |_, statuses| {
            let applied = |node: u64| {
                statuses.iter().find(|s| s.node.id == node)?.groups.iter().find(|g| g.group == group)?.applied_index
            };
            let leader = statuses
                .iter()
                .find_map(|s| s.groups.iter().find(|g| g.group == group && g.role == "Leader").map(|_| s.node.id));
            matches!((leader.and_then(applied), applied(id)), (Some(l), Some(me)) if me >= l)
        })
        .await;
    assert_eq!(local_count(&cluster, 2, options.shards).await, Some(200), "the restarted replica holds every key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_node_is_caught_up_by_snapshot() {
    let options = small_snapshots();
    let mut cluster = TestCluster::start(3, options.clone());
    cluster.wait_settled(3).await;
    let group = group_of_collection(COLLECTION, options.shards);
    let old_id = cluster.nodes[2].id;
    cluster.kill(2);
    write_batch(&cluster, 0, 300).await;
    cluster
        .wait_for("the shard's leader purged its log behind a snapshot", |_, statuses| {
            statuses.iter().any(|s| {
                s.groups.iter().any(|g| g.group == group && g.role == "Leader" && g.purged_index.unwrap_or(0) > 100)
            })
        })
        .await;
    cluster.wipe_and_restart(2);
    let new_id = cluster.nodes[2].id;
    assert_ne!(new_id, old_id, "a wiped node comes back as a new member");
    cluster.wait_settled(3).await;
    cluster
        .wait_for("the new member holds a replica of the shard", |map, _| {
            map.shard(group).is_some_and(|s| s.replicas.contains(&new_id)) && !map.nodes.contains_key(&old_id)
        })
        .await;
    assert_eq!(local_count(&cluster, 2, options.shards).await, Some(300), "the new replica holds every key");
    let statuses = cluster.statuses().await;
    let mine = statuses.iter().find(|s| s.node.id == new_id).expect("status of the new node");
    let g = mine.groups.iter().find(|g| g.group == group).expect("the new node hosts the group");
    assert!(g.snapshot_index.unwrap_or(0) > 0, "the new replica was installed from a snapshot: {g:?}");
}
