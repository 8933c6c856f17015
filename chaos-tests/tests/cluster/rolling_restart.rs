//! Rolling restarts (issue 27) under a steady load of writes and linearizable reads: each
//! of three nodes in turn drained by SIGTERM or `strata node drain` (its leaderships handed to caught-up voters,
//! requests in flight finished, exit 0), started again, and waited for until `/readyz`
//! answers 200 — no client sees an error and no acknowledged write is lost; the same with
//! SIGKILL instead of a drain loses no acknowledged write (errors are allowed there: the
//! client retries each). How long a client waited is measured by the benchmark
//! (`docs/benchmarks.md`), not asserted here.

use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_chaos::http::get;

const WAIT: Duration = Duration::from_secs(120);

/// What the load saw.
#[derive(Default)]
struct Seen {
    /// Keys written and acknowledged, with their value.
    acked: Vec<(String, i64)>,
    /// Errors any call returned (after the client's own retries).
    errors: Vec<String>,
    /// Calls made.
    calls: u64,
    /// The longest call, in ms.
    longest_ms: u128,
    /// Calls over 300 ms: what, when (ms since the load began), how long.
    slow: Vec<(String, u128, u128)>,
}

/// Writers of unique keys and readers of acknowledged ones, until `stop`.
fn load(
    ctx: strata_client::StorageContext,
    seen: Arc<Mutex<Seen>>,
    stop: tokio::sync::watch::Receiver<bool>,
    t0: Instant,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for w in 0..3 {
        let (kv, seen, stop) = (ctx.kv_store(), seen.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0i64;
            while !*stop.borrow() {
                i += 1;
                let key = format!("w{w}-{i}");
                let value = json!({"v": i}).as_object().cloned().unwrap_or_default();
                let started = Instant::now();
                let r = kv.put(&key, &value, "rolling").await;
                let mut s = seen.lock().unwrap();
                s.calls += 1;
                let took = started.elapsed().as_millis();
                s.longest_ms = s.longest_ms.max(took);
                if took > 300 {
                    s.slow.push((format!("put {key}"), started.duration_since(t0).as_millis(), took));
                }
                match r {
                    Ok(()) => s.acked.push((key, i)),
                    Err(e) => s.errors.push(format!("put {key}: {e}")),
                }
            }
        }));
    }
    let (kv, seen2, stop) = (ctx.kv_store(), seen, stop);
    tasks.push(tokio::spawn(async move {
        while !*stop.borrow() {
            let last = seen2.lock().unwrap().acked.last().cloned();
            let Some((key, v)) = last else {
                tokio::task::yield_now().await;
                continue;
            };
            let started = Instant::now();
            let r = kv.get(&key, "rolling").await;
            let mut s = seen2.lock().unwrap();
            s.calls += 1;
            let took = started.elapsed().as_millis();
            s.longest_ms = s.longest_ms.max(took);
            if took > 300 {
                s.slow.push((format!("get {key}"), started.duration_since(t0).as_millis(), took));
            }
            match r {
                Ok(Some(m)) if m.get("v") == Some(&json!(v)) => {}
                Ok(other) => s.errors.push(format!("get {key}: {other:?}, acknowledged as {v}")),
                Err(e) => s.errors.push(format!("get {key}: {e}")),
            }
        }
    }));
    tasks
}

async fn ready(addr: &str) {
    let until = Instant::now() + WAIT;
    loop {
        if get(addr, "/readyz", None, None).await.is_ok_and(|a| a.status == 200) {
            return;
        }
        assert!(Instant::now() < until, "{addr} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Restarts every node in turn (`drain`: SIGTERM, else SIGKILL) under the load; answers
/// what the load saw.
async fn rolling_restart(drain: bool) -> Seen {
    let mut cluster = TestCluster::start(3, ClusterOptions::default());
    cluster.wait_settled(3).await;
    let ctx = cluster.context().await;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let t0 = Instant::now();
    let tasks = load(ctx.clone(), seen.clone(), stopped, t0);
    for i in 0..3 {
        // Some load before each restart.
        let before = seen.lock().unwrap().calls + 50;
        while seen.lock().unwrap().calls < before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("restarting node {i} at {} ms", t0.elapsed().as_millis());
        if drain && i == 1 {
            // `strata node drain ADDR` does what SIGTERM does, asked over the wire.
            let addr = cluster.nodes[i].client_addr.clone();
            let out = tokio::task::block_in_place(|| {
                std::process::Command::new(strata_chaos::cluster::strata_bin())
                    .args(["node", "drain", &addr])
                    .output()
                    .expect("run strata node drain")
            });
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "strata node drain: {}", String::from_utf8_lossy(&out.stderr));
            assert!(said.contains("drained and stopped"), "{said}");
            assert!(tokio::task::block_in_place(|| cluster.wait_exit(i)), "a drained node exits 0");
        } else if drain {
            let clean = tokio::task::block_in_place(|| cluster.terminate(i));
            assert!(clean, "a drained node exits 0");
        } else {
            tokio::task::block_in_place(|| cluster.kill(i));
        }
        eprintln!("node {i} stopped at {} ms", t0.elapsed().as_millis());
        tokio::task::block_in_place(|| cluster.restart(i));
        eprintln!("node {i} restarted at {} ms", t0.elapsed().as_millis());
        ready(&cluster.nodes[i].http_addr).await;
        cluster.wait_settled(3).await;
    }
    // The rebalancer evens leaderships out again (moving some back to restarted nodes)
    // while the load goes on: those moves must not stall clients either.
    cluster
        .wait_for("every node leading a group again", |_, statuses| {
            statuses.len() == 3 && statuses.iter().all(|s| s.groups.iter().any(|g| g.role == "Leader" && g.group != 0))
        })
        .await;
    eprintln!("leaders spread at {} ms", t0.elapsed().as_millis());
    let after = seen.lock().unwrap().calls + 50;
    while seen.lock().unwrap().calls < after {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send_replace(true);
    for t in tasks {
        t.await.expect("a load task");
    }
    // Every acknowledged write is there, with its value.
    let all = ctx.kv_store().get_all("rolling").await.expect("read back");
    let seen = Arc::try_unwrap(seen).ok().expect("the load ended").into_inner().unwrap();
    let lost: Vec<&String> = seen
        .acked
        .iter()
        .filter(|(k, v)| all.get(k).and_then(|m| m.get("v")) != Some(&json!(v)))
        .map(|(k, _)| k)
        .collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(seen.acked.len() > 150, "the load ran: {} writes", seen.acked.len());
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_with_drains_gives_no_client_an_error_and_loses_nothing() {
    let seen = rolling_restart(true).await;
    assert!(seen.errors.is_empty(), "errors: {:?}", seen.errors);
    eprintln!(
        "drained rolling restart: {} calls, the longest {} ms; slow: {:?}",
        seen.calls, seen.longest_ms, seen.slow
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_by_sigkill_loses_no_acknowledged_write() {
    let seen = rolling_restart(false).await;
    eprintln!(
        "killed rolling restart: {} calls, {} errors, the longest {} ms",
        seen.calls,
        seen.errors.len(),
        seen.longest_ms
    );
}
