//! A node answers openraft's calls only as itself: a call meant for another member id
//! (say, the removed member whose address a rejoining node took over) is refused, so it
//! can never grant a vote or accept entries in that member's name. And it answers only
//! current members of its cluster, each in its own name.

#![allow(clippy::expect_used)] // a test

use openraft::Vote;
use openraft::raft::VoteRequest;
use strata_raft::members::Members;
use strata_raft::network::client::PeerPool;
use strata_raft::network::server::bind;
use strata_raft::network::service::PeerError;
use strata_raft::{Registry, RegistryConfig};

/// A node's registry serving the peer service on a free port: (registry, its address,
/// the serving task, the folder to keep alive).
async fn serve(
    node_id: u64,
    cluster: u64,
) -> (std::sync::Arc<Registry>, String, tokio::task::JoinHandle<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(dir.path()).open().expect("open sled");
    let config = RegistryConfig {
        node_id,
        raft: openraft::Config::default(),
        graph_dir: None,
        routes: Default::default(),
        cluster,
        peer_key: None,
        tls: None,
    };
    let registry = Registry::new(db, config).expect("registry");
    let listener = bind("127.0.0.1:0", 64, 64, Default::default()).await.expect("bind");
    let addr = listener.local_addr().expect("bound").to_string();
    let server = tokio::spawn(listener.serve(registry.clone()));
    (registry, addr, server, dir)
}

#[tokio::test]
async fn a_node_refuses_raft_calls_meant_for_another_member() {
    let (registry, addr, server, _dir) = serve(7, 0).await;
    let client = PeerPool::default().with_node_id(3).client(&addr).await.expect("connect");
    let vote = || VoteRequest::new(Vote::new(9, 3), None);

    let for_another = client.vote(tarpc::context::current(), 1, 3, vote()).await.expect("rpc");
    assert!(matches!(for_another, Err(PeerError::WrongNode { to: 3, me: 7 })), "{for_another:?}");
    // Addressed to this node, the call reaches the group lookup (not hosted here).
    let for_me = client.vote(tarpc::context::current(), 1, 7, vote()).await.expect("rpc");
    assert!(matches!(for_me, Err(PeerError::NoGroup(1))), "{for_me:?}");

    server.abort();
    registry.shutdown().await;
}

/// A node answers only connections that said hello from its own cluster: a node wiped and
/// bootstrapped anew at a member's address (a new cluster id) keeps the member's id, so
/// only the cluster id tells it apart.
#[tokio::test]
async fn a_node_refuses_peers_of_another_cluster() {
    let (registry, addr, server, _dir) = serve(1, 5).await;
    let vote = || VoteRequest::new(Vote::new(9, 3), None);

    let stranger = PeerPool::new(6, Default::default()).with_node_id(3).client(&addr).await;
    assert!(stranger.is_err(), "a peer of cluster 6 is refused at hello");
    let member = PeerPool::new(5, Default::default()).with_node_id(3).client(&addr).await.expect("same cluster");
    let answered = member.vote(tarpc::context::current(), 1, 1, vote()).await.expect("rpc");
    assert!(matches!(answered, Err(PeerError::NoGroup(1))), "past the checks: {answered:?}");

    // A connection that skips the hello is answered nothing.
    let transport = tarpc::serde_transport::tcp::connect(&addr, tarpc::tokio_serde::formats::MessagePack::default)
        .await
        .expect("connect");
    let raw = strata_raft::network::service::RaftPeerClient::new(tarpc::client::Config::default(), transport).spawn();
    let refused = raw.vote(tarpc::context::current(), 1, 1, vote()).await.expect("rpc");
    assert!(matches!(refused, Err(PeerError::WrongCluster { me: 5 })), "{refused:?}");

    server.abort();
    registry.shutdown().await;
}

/// A node answers only current members of its cluster, and openraft's messages only from
/// the member they name: a removed node (out of date about its removal, campaigning with
/// ever higher terms) is refused, as is a member sending in another's name.
#[tokio::test]
async fn a_node_refuses_removed_members_and_messages_in_another_members_name() {
    let (registry, addr, server, _dir) = serve(1, 5).await;
    // The newest map: members 1, 2 and 4; ids up to 5 handed out (3 was removed).
    registry.set_members(Members { ids: [1, 2, 4].into(), next: 5 });
    let vote = |from| VoteRequest::new(Vote::new(9, from), None);

    let removed = PeerPool::new(5, Default::default()).with_node_id(3).client(&addr).await;
    let Err(refused) = removed else { panic!("a removed member's hello was answered") };
    let refused = refused.to_string();
    assert!(refused.contains("node 3 was removed"), "{refused}");

    let member = PeerPool::new(5, Default::default()).with_node_id(2).client(&addr).await.expect("a member");
    let as_itself = member.vote(tarpc::context::current(), 1, 1, vote(2)).await.expect("rpc");
    assert!(matches!(as_itself, Err(PeerError::NoGroup(1))), "past the checks: {as_itself:?}");
    let as_another = member.vote(tarpc::context::current(), 1, 1, vote(4)).await.expect("rpc");
    assert!(matches!(as_another, Err(PeerError::NotMember { node: 2, .. })), "{as_another:?}");

    // A node newer than this node's map (its map lags the cluster's) is answered.
    let newer = PeerPool::new(5, Default::default()).with_node_id(7).client(&addr).await.expect("a newer node");
    let answered = newer.vote(tarpc::context::current(), 1, 1, vote(7)).await.expect("rpc");
    assert!(matches!(answered, Err(PeerError::NoGroup(1))), "past the checks: {answered:?}");

    // Removed while connected: its next call is refused.
    registry.set_members(Members { ids: [1, 4].into(), next: 8 });
    let later = member.vote(tarpc::context::current(), 1, 1, vote(2)).await.expect("rpc");
    assert!(matches!(later, Err(PeerError::NotMember { node: 2, .. })), "{later:?}");
    let retire = member.retire(tarpc::context::current()).await.expect("rpc");
    assert!(matches!(retire, Err(strata_api::Error::PermissionDenied(_))), "{retire:?}");

    server.abort();
    registry.shutdown().await;
}
