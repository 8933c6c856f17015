//! A node answers openraft's calls only as itself: a call meant for another member id
//! (say, the removed member whose address a rejoining node took over) is refused, so it
//! can never grant a vote or accept entries in that member's name.

#![allow(clippy::expect_used)] // a test

use openraft::Vote;
use openraft::raft::VoteRequest;
use strata_raft::network::client::PeerPool;
use strata_raft::network::server::bind;
use strata_raft::network::service::PeerError;
use strata_raft::{Registry, RegistryConfig};

#[tokio::test]
async fn a_node_refuses_raft_calls_meant_for_another_member() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(dir.path()).open().expect("open sled");
    let config =
        RegistryConfig { node_id: 7, raft: openraft::Config::default(), graph_dir: None, routes: Default::default() };
    let registry = Registry::new(db, config).expect("registry");
    let listener = bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().to_string();
    let server = tokio::spawn(listener.serve(registry.clone()));
    let client = PeerPool::default().client(&addr).await.expect("connect");
    let vote = || VoteRequest::new(Vote::new(9, 3), None);

    let for_another = client.vote(tarpc::context::current(), 1, 3, vote()).await.expect("rpc");
    assert!(matches!(for_another, Err(PeerError::WrongNode { to: 3, me: 7 })), "{for_another:?}");
    // Addressed to this node, the call reaches the group lookup (not hosted here).
    let for_me = client.vote(tarpc::context::current(), 1, 7, vote()).await.expect("rpc");
    assert!(matches!(for_me, Err(PeerError::NoGroup(1))), "{for_me:?}");

    server.abort();
    registry.shutdown().await;
}
