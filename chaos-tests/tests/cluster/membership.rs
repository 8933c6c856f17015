//! Membership: a fourth node (started in standby, added with `strata cluster add-node`)
//! receives replicas; a node removed with `strata cluster remove-node` hands its replicas
//! over (including the groups it leads), is forgotten, exits, refuses to start again from
//! its data, and is refused by the members' raft ports; a dead node is replaced with
//! `strata cluster replace` and its replicas rebuilt on the new one; the data stays
//! intact throughout.

use serde_json::json;
use std::process::Command;
use strata_chaos::cluster::{ClusterOptions, TestCluster, strata_bin};
use strata_raft::network::client::PeerPool;

fn cli(cluster: &TestCluster, args: &[&str]) -> String {
    let out = Command::new(strata_bin())
        .args(args)
        .env("STRATA_CLUSTER", cluster.client_addrs().join(","))
        .current_dir(cluster.dir())
        .output()
        .expect("run strata");
    assert!(out.status.success(), "strata {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_node_receives_replicas_and_a_removed_node_hands_them_over() {
    let options = ClusterOptions { shards: 8, ..ClusterOptions::default() };
    let mut cluster = TestCluster::start(3, options);
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    for k in 0..100 {
        let coll = format!("c{}", k % 10);
        ctx.kv_store().put(&format!("k{k}"), &crate::support::obj(json!({"k": k})), &coll).await.expect("put");
    }

    let standby = cluster.spawn_node(&[], true);
    let addr = cluster.nodes[standby].client_addr.clone();
    let said = cli(&cluster, &["cluster", "add-node", &addr]);
    let id: u64 = said
        .trim()
        .strip_prefix("node ")
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("add-node prints the new id");
    cluster.nodes[standby].id = id;
    cluster
        .wait_for("the fourth node holds a fair share of replicas", |map, statuses| {
            let held = map.shards.iter().filter(|s| s.replicas.contains(&id)).count();
            let hosted = statuses.iter().find(|s| s.node.id == id).map(|s| s.groups.len()).unwrap_or(0);
            held == 6 && hosted == 7 && map.shards.iter().all(|s| s.learners.is_empty())
        })
        .await;

    let removed = cluster.nodes[1].id;
    cli(&cluster, &["cluster", "remove-node", &removed.to_string()]);
    cluster
        .wait_for("no replica or meta membership left on the removed node", |map, statuses| {
            let in_meta = statuses.iter().any(|s| {
                s.node.id != removed
                    && s.groups
                        .iter()
                        .any(|g| g.group == 0 && (g.voters.contains(&removed) || g.learners.contains(&removed)))
            });
            !map.nodes.contains_key(&removed)
                && map.shards.iter().all(|s| !s.replicas.contains(&removed) && s.replicas.len() == 3)
                && !in_meta
        })
        .await;
    assert!(cluster.wait_exit(1), "the removed node exits by itself, successfully");
    // Its id, cluster id and all, speaks raft to no member any more; a member's does.
    let map = cluster.shard_map().await.expect("a shard map");
    let pool = |id| PeerPool::new(map.cluster, Default::default()).with_node_id(id);
    let member_addr = &cluster.nodes[0].raft_addr;
    let Err(as_removed) = pool(removed).client(member_addr).await else {
        panic!("the removed id's hello was answered")
    };
    assert!(as_removed.to_string().contains("was removed from the cluster"), "{as_removed}");
    assert!(pool(cluster.nodes[2].id).client(member_addr).await.is_ok(), "a member's hello is answered");
    let refused = cluster.start_refused(1);
    assert!(refused.contains("was removed from its cluster"), "{refused}");
    let ctx = cluster.context().await;
    for k in 0..100 {
        let coll = format!("c{}", k % 10);
        let got = ctx.kv_store().get(&format!("k{k}"), &coll).await.expect("get");
        assert_eq!(got, Some(crate::support::obj(json!({"k": k}))));
    }
    let status = cli(&cluster, &["status", "--json"]);
    let parsed: serde_json::Value = serde_json::from_str(&status).expect("status --json is JSON");
    assert_eq!(parsed["members"].as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_is_replaced_and_its_replicas_rebuilt_on_the_new_one() {
    let options = ClusterOptions { shards: 4, ..ClusterOptions::default() };
    let mut cluster = TestCluster::start(3, options);
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    for k in 0..40 {
        let coll = format!("c{}", k % 4);
        ctx.kv_store().put(&format!("k{k}"), &crate::support::obj(json!({"k": k})), &coll).await.expect("put");
    }
    let dead = cluster.nodes[2].id;
    tokio::task::block_in_place(|| cluster.kill(2));
    let standby = cluster.spawn_node(&[], true);
    let addr = cluster.nodes[standby].client_addr.clone();
    let alive: Vec<String> = cluster.nodes[..2].iter().map(|n| n.client_addr.clone()).collect();
    let out = Command::new(strata_bin())
        .args(["cluster", "replace", &dead.to_string(), &addr])
        .env("STRATA_CLUSTER", alive.join(","))
        .output()
        .expect("run strata cluster replace");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "replace: {said} {}", String::from_utf8_lossy(&out.stderr));
    let id: u64 = said
        .lines()
        .find_map(|l| l.strip_prefix("node ")?.strip_suffix(" added")?.parse().ok())
        .expect("replace prints the new node's id");
    cluster.nodes[standby].id = id;
    cluster
        .wait_for("the dead node forgotten and every shard on the two survivors and the new node", |map, _| {
            !map.nodes.contains_key(&dead)
                && map.shards.iter().all(|s| {
                    s.learners.is_empty()
                        && s.replicas.len() == 3
                        && s.replicas.contains(&id)
                        && !s.replicas.contains(&dead)
                })
        })
        .await;
    let ctx = cluster.context().await;
    for k in 0..40 {
        let coll = format!("c{}", k % 4);
        let got = ctx.kv_store().get(&format!("k{k}"), &coll).await.expect("get");
        assert_eq!(got, Some(crate::support::obj(json!({"k": k}))), "k{k}");
    }
    // Replacing a node that is not a member is refused by name.
    let again = Command::new(strata_bin())
        .args(["cluster", "replace", &dead.to_string(), &addr])
        .env("STRATA_CLUSTER", alive.join(","))
        .output()
        .expect("run strata cluster replace");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not a member"));
}
