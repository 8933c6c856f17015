//! Leadership moves only to a voter that holds the leader's log (the soak's seed 5102):
//! the rebalancer kept asking a lagging voter to campaign, its higher term deposed every
//! leader the others elected, and the group never had a leader again. A leader asked to
//! yield to a voter that misses entries refuses and goes on leading and writing; once the
//! voter has caught up, leadership moves to it again.

use std::time::Duration;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_client::api::{ChatMessage, MessageRole};
use strata_raft::network::client::{PeerPool, context_within};
use strata_raft::network::service::AdminOp;
use strata_shards::placement::chat_group;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_does_not_yield_to_a_voter_missing_entries() {
    let options = ClusterOptions::default();
    let mut cluster = TestCluster::start(3, options.clone());
    cluster.wait_settled(3).await;
    let group = chat_group(options.shards);
    let leader = cluster.leader_of(group).await.expect("the chat shard has a leader");
    let lagging = (0..3).find(|i| *i != leader).expect("a follower");
    let lagging_id = cluster.nodes[lagging].id;
    let cluster_id = cluster.shard_map().await.expect("shard map").cluster;

    // The follower is stopped while the group takes writes: it misses them.
    cluster.pause(lagging);
    let ctx = cluster.context().await;
    for n in 0..200 {
        let msg = ChatMessage::new(MessageRole::User, n.to_string());
        ctx.chat_store().add_message("moves", &msg, None).await.expect("a write with a quorum up");
    }
    let leader = cluster.leader_of(group).await.expect("the chat shard still has a leader");
    assert_ne!(leader, lagging, "a stopped node leads nothing");

    // The test speaks as the leader's fellow member (nodes refuse removed ids).
    let pool = PeerPool::new(cluster_id, Default::default()).with_node_id(cluster.nodes[leader].id);
    let peer = pool.client(&cluster.nodes[leader].raft_addr).await.expect("the leader's raft port");
    let op = AdminOp::Yield { millis: 5_000, to: Some(lagging_id) };
    let answer = peer.admin(context_within(Duration::from_secs(30)), group, op).await.expect("rpc");
    let refused = answer.expect_err("a leader yielded to a voter missing 200 entries");
    assert!(!matches!(refused, strata_api::Error::NotLeader { .. }), "refused as the leader: {refused}");

    // It goes on leading, and writes go through at once (no hold was left behind).
    let msg = ChatMessage::new(MessageRole::User, "after");
    tokio::time::timeout(Duration::from_secs(2), ctx.chat_store().add_message("moves", &msg, None))
        .await
        .expect("a write right after the refusal waited for a hold")
        .expect("the write");
    assert_eq!(cluster.leader_of(group).await, Some(leader), "the leader kept the lead");

    // Back and caught up, the follower gets its share of leaderships again.
    cluster.resume(lagging);
    cluster
        .wait_for("a leadership moved to the node once it caught up", |_, statuses| {
            statuses
                .iter()
                .filter(|s| s.node.id == lagging_id)
                .flat_map(|s| s.groups.iter())
                .any(|g| g.role == "Leader" && g.group != strata_api::META_GROUP)
        })
        .await;
}
