//! Hostile input (issue 14): raw bytes to a node's ports, the node run under an
//! address-space limit so that a reservation sized by a peer's claim fails loudly (as on a
//! host with strict overcommit) instead of being granted and never touched. After each
//! input the node must still run, answer, and hold every store's data; its peak memory
//! must stay bounded. Before the wire crate, the first case aborted the node ("memory
//! allocation of 17179869180 bytes failed") and so did the third.

use serde_json::{Value, json};
use std::time::Duration;
use strata_api::service::{StrataServiceRequest, StrataServiceResponse};
use strata_api::{ChatMessage, Command, Error, JsonText, KvCommand, MessageRole, VectorCommand, VectorRecord};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_chaos::hostile::{Outcome, connect_from, frame, memory_kib, read_answer, request, send, splice};
use strata_client::StorageContext;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// 8 GiB of address space, as in the reproduction.
const ADDRESS_SPACE_KIB: u64 = 8 << 20;
/// What the node may reach at its peak over the whole suite (it idles near 100 MiB).
const PEAK_BOUND_KIB: u64 = 1 << 20;
const WAIT: Duration = Duration::from_secs(30);

fn map(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

struct Node {
    cluster: TestCluster,
    ctx: StorageContext,
    addr: String,
    pid: u32,
}

impl Node {
    /// The node runs, answers, and holds what was stored before the suite.
    async fn assert_intact(&self, case: &str) -> u64 {
        let (_, peak) = memory_kib(self.pid).unwrap_or_else(|| panic!("{case}: the node process is gone"));
        let kv = self.ctx.kv_store();
        assert_eq!(kv.get("k", "hostile").await.expect(case), Some(map(json!({"v": 1}))), "{case}: kv");
        let chat = self.ctx.chat_store().get_messages("conversation").await.expect(case);
        assert_eq!(chat.len(), 2, "{case}: chat");
        let status = send(&self.addr, &frame(&request(&StrataServiceRequest::Status {}, WAIT, 1)), WAIT).await;
        assert!(
            matches!(status, Ok(Outcome::Answered(Ok(StrataServiceResponse::Status(Ok(_)))))),
            "{case}: {status:?}"
        );
        eprintln!("{case}: node intact, peak memory {} MiB", peak / 1024);
        peak
    }
}

async fn start() -> Node {
    let options = ClusterOptions {
        shards: 2,
        replication: 1,
        address_space_kib: Some(ADDRESS_SPACE_KIB),
        ..ClusterOptions::default()
    };
    let cluster = TestCluster::start(1, options);
    let addr = cluster.client_addrs()[0].clone();
    let pid = cluster.nodes[0].pid().expect("running");
    let ctx = StorageContext::connect_within(std::slice::from_ref(&addr), WAIT).await.expect("connect");
    ctx.kv_store().put("k", &map(json!({"v": 1})), "hostile").await.expect("put");
    let chat = ctx.chat_store();
    for text in ["hello", "world"] {
        chat.add_message("conversation", &ChatMessage::new(MessageRole::User, text), None).await.expect("chat");
    }
    Node { cluster, ctx, addr, pid }
}

fn write(command: Command) -> StrataServiceRequest {
    StrataServiceRequest::Write { group: 1, request_id: None, command, hops: 0 }
}

/// A vector add whose embedding's `bin` header is replaced by an array header announcing
/// 4,294,967,295 components: 60-odd bytes that asked the decoder for 16 GiB.
fn array_bomb() -> Vec<u8> {
    let marker = [0xAAu8, 0xBB, 0xCC, 0xDD];
    let record = VectorRecord {
        node_id: "n".into(),
        embedding: vec![f32::from_le_bytes(marker)],
        ref_doc_id: None,
        metadata: JsonText::from_map(&serde_json::Map::new()),
        node: None,
        exact_f32: false,
    };
    let add = Command::Vector(VectorCommand::Add { namespace: "default".into(), records: vec![record], order: vec![] });
    let bytes = request(&write(add), WAIT, 7);
    let bomb = splice(&bytes, &[0xc4, 0x04, 0xAA, 0xBB, 0xCC, 0xDD], &[0xdd, 0xff, 0xff, 0xff, 0xff]);
    frame(&bomb.expect("the embedding's bytes are in the request"))
}

fn expect_refused(case: &str, outcome: std::io::Result<Outcome>) {
    match outcome {
        Ok(Outcome::Closed) | Ok(Outcome::Answered(Err(_))) => {}
        other => panic!("{case}: expected the connection closed or an error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_under_an_address_space_limit_survives_hostile_input() {
    let node = start().await;
    let addr = node.addr.clone();
    let mut peak = node.assert_intact("start").await;

    let case = "array header announcing 4G f32 components in a vector add";
    expect_refused(case, send(&addr, &array_bomb(), WAIT).await);
    peak = peak.max(node.assert_intact(case).await);

    let case = "frame header announcing 4 GiB";
    expect_refused(case, send(&addr, &[0xff, 0xff, 0xff, 0xff, 1, 2, 3], WAIT).await);
    peak = peak.max(node.assert_intact(case).await);

    let case = "100 connections, each announcing a 511 MiB frame and sending 8 bytes of it";
    let mut held = Vec::new();
    for _ in 0..100 {
        let mut c = TcpStream::connect(&addr).await.expect("connect");
        c.write_all(&[&(511u32 << 20).to_be_bytes()[..], &[0x92; 8]].concat()).await.expect("send");
        held.push(c);
    }
    peak = peak.max(node.assert_intact(case).await);
    drop(held);

    let case = "slow drip: one byte of a frame every 10 ms for 2 s, the node serving meanwhile";
    let mut drip = TcpStream::connect(&addr).await.expect("connect");
    drip.write_all(&(1000u32).to_be_bytes()).await.expect("send");
    for _ in 0..200 {
        drip.write_all(&[0x90]).await.expect("drip");
        tokio::time::sleep(Duration::from_millis(10)).await; // the drip's pace, not a wait for an event
    }
    peak = peak.max(node.assert_intact(case).await);
    drop(drip);

    let case = "truncated frame: 1000 bytes announced, 10 sent, connection closed";
    let mut c = TcpStream::connect(&addr).await.expect("connect");
    c.write_all(&[&1000u32.to_be_bytes()[..], &[0x93; 10]].concat()).await.expect("send");
    c.shutdown().await.expect("shutdown");
    assert!(matches!(read_answer(&mut c, WAIT).await, Outcome::Closed), "{case}");
    peak = peak.max(node.assert_intact(case).await);

    let case = "garbage: 200 frames of seeded random bytes, one connection each";
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..200 {
        let len = 1 + i * 7 % 512;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        expect_refused(case, send(&addr, &frame(&bytes), WAIT).await);
    }
    peak = peak.max(node.assert_intact(case).await);

    let case = "a value nested 100,000 arrays deep";
    let mut nested = request(&StrataServiceRequest::Status {}, WAIT, 3);
    nested.truncate(nested.len().saturating_sub(1));
    nested.extend(std::iter::repeat_n(0x91u8, 100_000));
    nested.push(0x90);
    expect_refused(case, send(&addr, &frame(&nested), WAIT).await);
    peak = peak.max(node.assert_intact(case).await);

    let case = "invalid UTF-8 in a key";
    let put = KvCommand::Put {
        collection: "hostile".into(),
        key: "KEYMARK1".into(),
        value: JsonText::from_map(&map(json!({}))),
    };
    let bytes = request(&write(Command::Kv(put)), WAIT, 4);
    let bad = splice(&bytes, b"KEYMARK1", &[0xff, 0xfe, 0xff, 0xfe, 0xc0, 0xc1, 0xf5, 0xff]).expect("key in request");
    expect_refused(case, send(&addr, &frame(&bad), WAIT).await);
    peak = peak.max(node.assert_intact(case).await);

    let case = "a deadline of u64::MAX seconds (tarpc adds it to the clock)";
    let far = request(&StrataServiceRequest::Status {}, Duration::MAX, 5);
    expect_refused(case, send(&addr, &frame(&far), WAIT).await);
    peak = peak.max(node.assert_intact(case).await);

    let case = "a well-formed request past the item limit (100,001 pairs)";
    let pairs = (0..100_001).map(|i| (format!("p{i}"), JsonText::from_map(&map(json!({}))))).collect();
    let put_all = write(Command::Kv(KvCommand::PutAll { collection: "hostile".into(), pairs }));
    match send(&addr, &frame(&request(&put_all, WAIT, 6)), WAIT).await {
        Ok(Outcome::Answered(Ok(StrataServiceResponse::Write(Err(Error::LimitExceeded { limit, got, .. }))))) => {
            assert_eq!((limit, got), (100_000, 100_001), "{case}");
        }
        other => panic!("{case}: expected a typed limit error, got {other:?}"),
    }
    peak = peak.max(node.assert_intact(case).await);

    let case = "1000 idle connections from one address";
    let mut idle = Vec::new();
    for _ in 0..1000 {
        idle.push(connect_from("127.0.0.2", &addr).await.expect("connect"));
    }
    peak = peak.max(node.assert_intact(case).await);
    drop(idle);

    let case = "forged raft messages from outside the cluster";
    let raft_addr = node.cluster.nodes[0].raft_addr.clone();
    let stranger = strata_raft::network::client::PeerPool::new(424_242, Default::default()).client(&raft_addr).await;
    assert!(stranger.is_err(), "{case}: a hello from another cluster is refused");
    let transport =
        strata_wire::connect(&raft_addr, WAIT, strata_wire::FrameLimit::new(1 << 20), None).await.expect("connect");
    let raw = strata_raft::network::service::RaftPeerClient::new(tarpc::client::Config::default(), transport).spawn();
    let vote = openraft::raft::VoteRequest::new(openraft::Vote::new(1_000, 1), None);
    let refused = raw.vote(tarpc::context::current(), 0, 1, vote).await.expect("rpc");
    assert!(refused.is_err(), "{case}: a vote without a hello is refused: {refused:?}");
    let retire = raw.retire(tarpc::context::current()).await.expect("rpc");
    assert!(retire.is_err(), "{case}: retire without a hello is refused");
    peak = peak.max(node.assert_intact(case).await);

    let case = "a peer and a client announcing protocol versions this node cannot speak";
    let future = strata_api::version::Speaks { version: 99, oldest: 99 };
    // The version is checked before anything else the hello says.
    match raw.hello(tarpc::context::current(), 0, 1, Vec::new(), future).await {
        Ok(Err(Error::IncompatibleVersion { what, ours, theirs, .. })) => {
            assert_eq!(
                (what.as_str(), ours, theirs),
                ("peer protocol", strata_api::version::PEER_PROTOCOL.version, 99)
            );
        }
        other => panic!("{case}: a peer of protocol 99 is refused by name: {other:?}"),
    }
    let hello = StrataServiceRequest::Hello { client: future };
    match send(&addr, &frame(&request(&hello, WAIT, 7)), WAIT).await {
        Ok(Outcome::Answered(Ok(StrataServiceResponse::Hello(Err(Error::IncompatibleVersion {
            what,
            theirs,
            ..
        }))))) => {
            assert_eq!((what.as_str(), theirs), ("client protocol", 99), "{case}");
        }
        other => panic!("{case}: a client of protocol 99 is refused by name: {other:?}"),
    }
    let today = StrataServiceRequest::Hello { client: strata_api::version::CLIENT_PROTOCOL };
    match send(&addr, &frame(&request(&today, WAIT, 8)), WAIT).await {
        Ok(Outcome::Answered(Ok(StrataServiceResponse::Hello(Ok(h))))) => {
            assert_eq!(h.protocol, strata_api::version::CLIENT_PROTOCOL.version, "{case}");
        }
        other => panic!("{case}: this build's client is welcome: {other:?}"),
    }
    peak = peak.max(node.assert_intact(case).await);

    assert!(peak < PEAK_BOUND_KIB, "peak memory {} MiB", peak / 1024);
}
