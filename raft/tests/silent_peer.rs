//! A peer connection that goes silent (no reset, no answer: a vanished host, a forgotten
//! flow) is replaced once it has answered nothing for the pool's silent limit, while a
//! connection that answered recently survives a missed deadline.

#![allow(clippy::expect_used)] // a test

use openraft::Vote;
use openraft::raft::VoteRequest;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strata_raft::network::client::{PeerPool, context_within};
use strata_raft::network::server::bind;
use strata_raft::network::service::PeerError;
use strata_raft::{Registry, RegistryConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Forwards connections to `target` until `silence` is set; from then on the connections
/// already open swallow what they carry (and stay open), while new ones forward as usual.
async fn silencer(target: String, silence: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("bound").to_string();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let Ok(outbound) = TcpStream::connect(&target).await else { continue };
            // Only connections made before the silence fall silent.
            let silenced = silence.load(Ordering::SeqCst).then(|| Arc::new(AtomicBool::new(false)));
            let gate = silenced.unwrap_or_else(|| silence.clone());
            let (ir, iw) = inbound.into_split();
            let (or, ow) = outbound.into_split();
            tokio::spawn(pump(ir, ow, gate.clone()));
            tokio::spawn(pump(or, iw, gate));
        }
    });
    addr
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    gate: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if gate.load(Ordering::SeqCst) {
            continue; // swallowed; the connection stays open
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_silent_peer_connection_is_replaced_and_a_live_one_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(dir.path()).open().expect("open sled");
    let config = RegistryConfig {
        node_id: 7,
        raft: openraft::Config::default(),
        graph_dir: None,
        routes: Default::default(),
        cluster: 0,
        peer_key: None,
        tls: None,
    };
    let registry = Registry::new(db, config).expect("registry");
    let listener = bind("127.0.0.1:0", 64, 64, Default::default()).await.expect("bind");
    let target = listener.local_addr().expect("bound").to_string();
    let server = tokio::spawn(listener.serve(registry.clone()));

    let silence = Arc::new(AtomicBool::new(false));
    let addr = silencer(target, silence.clone()).await;
    let limit = Duration::from_millis(300);
    // Speaks as node 3, the candidate its vote requests name.
    let pool = PeerPool::default().with_node_id(3).with_silent_limit(limit);
    let vote = || VoteRequest::new(Vote::new(9, 3), None);
    // A call that gets an answer (the group is not hosted here: NoGroup).
    let answered = |client: strata_raft::network::service::RaftPeerClient| async move {
        let r = client.vote(context_within(Duration::from_millis(200)), 1, 7, vote()).await;
        matches!(r, Ok(Err(PeerError::NoGroup(1))))
    };

    let first = pool.client(&addr).await.expect("connect");
    assert!(answered(first.clone()).await, "the connection works before the silence");
    pool.answered(&addr);

    silence.store(true, Ordering::SeqCst);
    assert!(!answered(first.clone()).await, "the silenced connection answers nothing");
    assert!(!pool.missed_deadline(&addr), "a connection that answered just now is kept");

    // Missed deadlines go on until the connection has been silent past the limit.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let client = pool.client(&addr).await.expect("pooled");
        assert!(!answered(client).await, "still the silent connection");
        if pool.missed_deadline(&addr) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the silent connection was never dropped");
    }
    let fresh = pool.client(&addr).await.expect("reconnect");
    assert!(answered(fresh).await, "a fresh connection reaches the peer again");

    server.abort();
    registry.shutdown().await;
}
