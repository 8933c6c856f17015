//! KV registers under the nemesis: partitions (two-way, one-way, bridges, an isolated
//! leader), delays, SIGKILL and restart, SIGSTOP longer than the election timeout, and
//! every node killed at once, each drawn from a seed; the recorded history must be
//! linearizable, key by key, and once the faults end every replica of every group must
//! hold the same state (by digest) at the same applied index. A failing seed's schedule
//! and history are written to a file the assertion names.

use std::time::{Duration, Instant};
use strata_chaos::check::registers::check_registers;
use strata_chaos::cluster::{ClusterOptions, TestCluster};
use strata_chaos::history::Recorder;
use strata_chaos::nemesis::{self, Kind};
use strata_chaos::registers::{RegisterWorkload, client};

async fn run_seed(seed: u64, length: Duration) {
    let mut cluster = TestCluster::start(3, ClusterOptions { proxied_slots: 3, ..ClusterOptions::default() });
    cluster.wait_settled(3).await;
    let steps = nemesis::schedule(seed, 3, length, &Kind::ALL);
    eprintln!("seed {seed}: {} faults: {steps:?}", steps.len());
    let history = Recorder::new(Instant::now());
    let work = RegisterWorkload { clients: 4, keys: 4, deadline: Duration::from_secs(5) };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let clients: Vec<_> = (0..work.clients)
        .map(|p| tokio::spawn(client(cluster.client_addrs(), work.clone(), p, seed, history.clone(), stopped.clone())))
        .collect();
    for step in &steps {
        tokio::time::sleep(Duration::from_millis(step.gap_ms)).await;
        nemesis::start(&mut cluster, &step.fault).await;
        tokio::time::sleep(Duration::from_millis(step.hold_ms)).await;
        nemesis::end(&mut cluster, &step.fault).await;
    }
    // A quiet stretch after the last fault, so the run ends on a working cluster.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop.send(true);
    for c in clients {
        c.await.expect("client task");
    }
    let h = history.snapshot();
    let ok = h.iter().filter(|r| r.is_ok()).count();
    let report = check_registers(&h, 20_000_000);
    if !report.violations.is_empty() || !report.undecided.is_empty() {
        let file = std::env::temp_dir().join(format!("strata-chaos-registers-seed-{seed}.json"));
        let dump = serde_json::json!({ "seed": seed, "schedule": steps, "report": report, "history": h });
        let _ = std::fs::write(&file, serde_json::to_vec_pretty(&dump).unwrap_or_default());
        panic!("seed {seed}: {report:?}; schedule and history in {}", file.display());
    }
    eprintln!("seed {seed}: {} operations ({ok} ok) on {} keys, linearizable", report.operations, report.keys);
    let converged = cluster.converged(strata_chaos::cluster::SETTLE_TIMEOUT).await;
    assert!(
        converged.diverged.is_empty() && converged.not_caught_up.is_empty() && converged.groups > 1,
        "seed {seed}: replicas did not converge: {converged:?}"
    );
    eprintln!("seed {seed}: every replica of {} groups holds the same state", converged.groups);
    assert!(ok >= 100, "seed {seed}: only {ok} operations succeeded: the workload hardly ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_registers_stay_linearizable_under_seeded_faults() {
    for seed in [1, 2] {
        run_seed(seed, Duration::from_secs(30)).await;
    }
}

/// The proxy really carries the raft links: cutting a group's leader off from the other
/// nodes makes them elect another, and healing lets the old one rejoin as a follower.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_leader_is_replaced_through_the_proxy() {
    let mut cluster = TestCluster::start(3, ClusterOptions { proxied_slots: 3, ..ClusterOptions::default() });
    cluster.wait_settled(3).await;
    let group = cluster.shard_map().await.expect("shard map").shards[0].group;
    let old = cluster.leader_of(group).await.expect("a leader");
    nemesis::start(&mut cluster, &nemesis::Fault::IsolateLeader(0)).await;
    let old_id = cluster.nodes[old].id;
    cluster
        .wait_for("another node leads the isolated leader's group", |_, statuses| {
            statuses
                .iter()
                .any(|s| s.node.id != old_id && s.groups.iter().any(|g| g.group == group && g.role == "Leader"))
        })
        .await;
    nemesis::end(&mut cluster, &nemesis::Fault::IsolateLeader(0)).await;
    cluster.wait_settled(3).await;
}
