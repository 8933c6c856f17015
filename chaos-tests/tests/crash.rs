//! SIGKILL during a stream of durable writes: on reopen every acknowledged step is there
//! and no command is half applied.
#![allow(clippy::expect_used)] // test code: a failed expectation is the test failing

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use strata_chaos::workload::{CHAT_KEY, KV_COLLECTION, nodes};
use strata_client::StorageContext;

/// Kills the child on drop, so a failing test leaves no process behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a writer at `start`, lets it acknowledge `acks` steps, kills it with SIGKILL and
/// answers the last acknowledged step.
fn write_then_kill(dir: &std::path::Path, start: u64, acks: u64) -> u64 {
    let child = Command::new(env!("CARGO_BIN_EXE_chaos_worker"))
        .arg("write")
        .arg(dir)
        .arg(start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn writer");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut last = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read ack");
        let n: u64 = line.strip_prefix("ack ").and_then(|s| s.parse().ok()).expect("ack line");
        last = Some(n);
        if n + 1 - start >= acks {
            break;
        }
    }
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reap");
    last.expect("the writer acknowledged nothing")
}

/// Checks every invariant; answers the number of complete steps found.
async fn check(dir: &std::path::Path, acked: u64) -> u64 {
    let ctx = StorageContext::open(dir).expect("reopen after kill");
    let ds = ctx.docstore();
    let messages = ctx.chat_store().get_messages(CHAT_KEY).await.expect("chat");
    let steps = messages.len() as u64;
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m.content(), Some(i.to_string()), "chat history has a gap or a stray message");
    }
    assert!(steps > acked, "step {acked} was acknowledged but its chat message is missing");
    // The step after the last complete one may have landed partly (its commands are
    // separate), but each command is whole: both nodes or neither.
    for i in 0..=steps {
        let [a, b] = nodes(i);
        let has_a = ds.document_exists(&a.id).await.expect("exists");
        let has_b = ds.document_exists(&b.id).await.expect("exists");
        assert_eq!(has_a, has_b, "add_documents of step {i} half applied");
        if i < steps {
            assert!(has_a, "step {i} complete but its nodes are missing");
            assert!(ctx.kv_store().get(&format!("k-{i}"), KV_COLLECTION).await.expect("kv").is_some());
        }
        if has_a {
            for node in [a, b] {
                assert_eq!(ds.get_document(&node.id, true).await.expect("get"), Some(node.clone()));
                assert_eq!(ds.get_document_hash(&node.id).await.expect("hash"), Some(node.hash()));
                let info =
                    ds.get_ref_doc_info(node.ref_doc_id().expect("source")).await.expect("info").expect("ref doc");
                assert!(info.node_ids.contains(&node.id), "ref_doc_info misses {}", node.id);
            }
        }
    }
    for (ref_doc, info) in ds.get_all_ref_doc_info().await.expect("infos") {
        for id in &info.node_ids {
            assert!(ds.document_exists(id).await.expect("exists"), "{ref_doc} lists missing node {id}");
        }
    }
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_write_and_no_command_is_half_applied() {
    let tmp = tempfile::tempdir().expect("temp");
    let dir = tmp.path().join("data");
    let mut start = 0;
    for round in 0..3u64 {
        let acks = 40 + round * 37 + u64::from(std::process::id() % 50);
        let acked = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || write_then_kill(&dir, start, acks)
        })
        .await
        .expect("writer task");
        start = check(&dir, acked).await;
    }
}
