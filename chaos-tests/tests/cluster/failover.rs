//! The leader of a shard killed with SIGKILL during a stream of writes: a new leader is
//! elected, no acknowledged write is lost, none is applied twice, and the client carries
//! on by itself (its retries reuse the request id, so an append is never doubled).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, SETTLE_TIMEOUT, TestCluster};
use strata_client::api::{ChatMessage, MessageRole};
use strata_shards::placement::chat_group;
use tokio::sync::Notify;

const WRITERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_shard_leader_loses_no_acknowledged_write_and_doubles_none() {
    let options = ClusterOptions::default();
    let mut cluster = TestCluster::start(3, options.clone());
    cluster.wait_settled(3).await;
    let group = chat_group(options.shards);
    let leader = cluster.leader_of(group).await.expect("the shard has a leader");
    let old_leader_id = cluster.nodes[leader].id;

    // Writers append numbered messages to their own chat key through a context that knows
    // every node; `acked[w]` counts the appends acknowledged to writer w.
    let ctx = cluster.context().await;
    let acked: Arc<Vec<AtomicUsize>> = Arc::new((0..WRITERS).map(|_| AtomicUsize::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Notify::new());
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (ctx, acked, stop, progress) = (ctx.clone(), acked.clone(), stop.clone(), progress.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let msg = ChatMessage::new(MessageRole::User, n.to_string());
                // No retry here: the client must ride out the failover itself.
                ctx.chat_store().add_message(&format!("w{w}"), &msg, None).await.expect("a write failed");
                n += 1;
                acked[w].store(n, Ordering::SeqCst);
                progress.notify_waiters();
            }
        }));
    }
    let total = |acked: &[AtomicUsize]| acked.iter().map(|a| a.load(Ordering::SeqCst)).sum::<usize>();
    let wait_acks = |target: usize| {
        let (acked, progress) = (acked.clone(), progress.clone());
        async move {
            loop {
                let notified = progress.notified();
                if total(&acked) >= target {
                    return;
                }
                tokio::time::timeout(Duration::from_secs(120), notified).await.expect("writes stalled");
            }
        }
    };
    wait_acks(100).await;
    let killed_at = Instant::now();
    cluster.kill(leader);
    let before_kill = total(&acked);

    // A new leader among the survivors.
    let elected = loop {
        if let Some(l) = cluster.leader_of(group).await.filter(|l| cluster.nodes[*l].id != old_leader_id) {
            break l;
        }
        assert!(killed_at.elapsed() < SETTLE_TIMEOUT, "no new leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let election = killed_at.elapsed();
    wait_acks(before_kill + 100).await;
    eprintln!("new leader (node {}) seen {election:?} after the kill; writes resumed", cluster.nodes[elected].id);
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.expect("writer task");
    }

    for w in 0..WRITERS {
        let messages = ctx.chat_store().get_messages(&format!("w{w}")).await.expect("get_messages");
        let texts: Vec<String> = messages.iter().map(|m| m.content().unwrap_or_default()).collect();
        let expected: Vec<String> = (0..acked[w].load(Ordering::SeqCst)).map(|n| n.to_string()).collect();
        assert_eq!(texts, expected, "writer {w}: every acknowledged append exactly once, in order");
    }
}
