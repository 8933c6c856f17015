//! One seeded run: a proxied cluster, the register workload's clients, the nemesis
//! playing its schedule, then the checkers. Shared by the fixed seeds of
//! `cargo test -p strata-chaos` and the `strata-chaos` soak binary; a failing run is
//! saved to a file that `strata-chaos --replay FILE` plays again.

use crate::check::convergence::ConvergenceReport;
use crate::check::registers::{KvAnswer, KvCall, RegisterReport, check_registers};
use crate::cluster::{ClusterOptions, SETTLE_TIMEOUT, TestCluster};
use crate::history::{Record, Recorder};
use crate::nemesis::{self, Kind, Step};
use crate::registers::{RegisterWorkload, client};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a run is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The seed the schedule is drawn from.
    pub seed: u64,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// How long the schedule runs.
    pub length_ms: u64,
    /// The fault kinds drawn from.
    pub kinds: Vec<Kind>,
    /// Register clients.
    pub clients: u64,
    /// Keys they share.
    pub keys: u64,
}

impl RunOptions {
    /// Every fault kind on 3 nodes, 4 clients on 4 keys, for `length`.
    pub fn new(seed: u64, length: Duration) -> Self {
        Self {
            seed,
            nodes: 3,
            length_ms: u64::try_from(length.as_millis()).unwrap_or(u64::MAX),
            kinds: Kind::ALL.to_vec(),
            clients: 4,
            keys: 4,
        }
    }

    /// The schedule these options draw.
    pub fn schedule(&self) -> Vec<Step> {
        nemesis::schedule(self.seed, self.nodes, Duration::from_millis(self.length_ms), &self.kinds)
    }
}

/// What a run did and what the checkers said.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// The options.
    pub options: RunOptions,
    /// The faults played.
    pub schedule: Vec<Step>,
    /// Every client call.
    pub history: Vec<Record<KvCall, KvAnswer>>,
    /// The linearizability check.
    pub registers: RegisterReport,
    /// The convergence check.
    pub convergence: ConvergenceReport,
}

impl RunResult {
    /// Operations that certainly took effect.
    pub fn ok_operations(&self) -> usize {
        self.history.iter().filter(|r| r.is_ok()).count()
    }

    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.registers.violations.is_empty()
            && self.registers.undecided.is_empty()
            && self.convergence.diverged.is_empty()
            && self.convergence.not_caught_up.is_empty()
    }

    /// Saves the run (options, schedule, history, verdicts) as JSON in `dir`; answers
    /// the file's path.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let file = dir.join(format!("strata-chaos-seed-{}.json", self.options.seed));
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&file, bytes)?;
        Ok(file)
    }

    /// A saved run.
    pub fn load(file: &Path) -> std::io::Result<Self> {
        serde_json::from_slice(&std::fs::read(file)?).map_err(std::io::Error::other)
    }
}

/// Plays `schedule` on a fresh proxied cluster under the register workload and checks
/// the outcome.
pub async fn run(options: &RunOptions, schedule: Vec<Step>) -> RunResult {
    let cluster_options = ClusterOptions { proxied_slots: options.nodes, ..ClusterOptions::default() };
    let mut cluster = TestCluster::start(options.nodes, cluster_options);
    cluster.wait_settled(options.nodes.min(3)).await;
    let history = Recorder::new(Instant::now());
    let work = RegisterWorkload { clients: options.clients, keys: options.keys, deadline: Duration::from_secs(5) };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let clients: Vec<_> = (0..work.clients)
        .map(|p| {
            let addrs = cluster.client_addrs();
            tokio::spawn(client(addrs, work.clone(), p, options.seed, history.clone(), stopped.clone()))
        })
        .collect();
    for step in &schedule {
        tokio::time::sleep(Duration::from_millis(step.gap_ms)).await;
        nemesis::start(&mut cluster, &step.fault).await;
        tokio::time::sleep(Duration::from_millis(step.hold_ms)).await;
        nemesis::end(&mut cluster, &step.fault).await;
    }
    // A quiet stretch after the last fault, so the run ends on a working cluster.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop.send(true);
    for c in clients {
        let _ = c.await;
    }
    let history = history.snapshot();
    let registers = check_registers(&history, 20_000_000);
    let convergence = cluster.converged(SETTLE_TIMEOUT).await;
    RunResult { options: options.clone(), schedule, history, registers, convergence }
}
