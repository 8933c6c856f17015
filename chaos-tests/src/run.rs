//! One seeded run: a proxied cluster, the register and stores workloads' clients, the
//! nemesis playing its schedule, then the checkers. Shared by the fixed seeds of
//! `cargo test -p strata-chaos` and the `strata-chaos` soak binary; a failing run is
//! saved to a file that `strata-chaos --replay FILE` plays again.

use crate::check::acknowledged::{AckReport, StoreRecord, check_acknowledged};
use crate::check::convergence::ConvergenceReport;
use crate::check::registers::{KvAnswer, KvCall, RegisterReport, check_registers};
use crate::cluster::{ClusterOptions, SETTLE_TIMEOUT, TestCluster};
use crate::history::{Record, Recorder};
use crate::nemesis::{self, Kind, Step};
use crate::registers::{RegisterWorkload, client};
use crate::stores::final_state::{self, FinalState};
use crate::stores::{self as stores_workload, StoresWorkload};
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
    /// Stores workload clients (chat, docstore, vectors, property graph).
    #[serde(default)]
    pub store_clients: u64,
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
            store_clients: 2,
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
    /// Every stores workload call.
    #[serde(default)]
    pub stores_history: Vec<StoreRecord>,
    /// What the stores held once the faults ended.
    #[serde(default)]
    pub final_state: Option<FinalState>,
    /// The linearizability check.
    pub registers: RegisterReport,
    /// The acknowledged-writes check.
    #[serde(default)]
    pub stores: AckReport,
    /// The convergence check.
    pub convergence: ConvergenceReport,
}

impl RunResult {
    /// Operations that certainly took effect (both workloads).
    pub fn ok_operations(&self) -> usize {
        self.history.iter().filter(|r| r.is_ok()).count() + self.stores_history.iter().filter(|r| r.is_ok()).count()
    }

    /// Operations run (both workloads).
    pub fn operations(&self) -> usize {
        self.history.len() + self.stores_history.len()
    }

    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.registers.violations.is_empty()
            && self.registers.undecided.is_empty()
            && self.stores.passed()
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

/// Plays `schedule` on a fresh proxied cluster under both workloads and checks the
/// outcome.
pub async fn run(options: &RunOptions, schedule: Vec<Step>) -> RunResult {
    let cluster_options = ClusterOptions { proxied_slots: options.nodes, ..ClusterOptions::default() };
    let mut cluster = TestCluster::start(options.nodes, cluster_options);
    cluster.wait_settled(options.nodes.min(3)).await;
    if options.store_clients > 0 {
        create_vector_namespace(&cluster).await;
    }
    let started = Instant::now();
    let history = Recorder::new(started);
    let stores_history = Recorder::new(started);
    let work = RegisterWorkload { clients: options.clients, keys: options.keys, deadline: Duration::from_secs(5) };
    let store_work = StoresWorkload { clients: options.store_clients, deadline: Duration::from_secs(5) };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut clients: Vec<_> = (0..work.clients)
        .map(|p| {
            let addrs = cluster.client_addrs();
            tokio::spawn(client(addrs, work.clone(), p, options.seed, history.clone(), stopped.clone()))
        })
        .collect();
    clients.extend((0..store_work.clients).map(|p| {
        let (addrs, w, h) = (cluster.client_addrs(), store_work.clone(), stores_history.clone());
        tokio::spawn(stores_workload::client(addrs, w, p, options.seed, h, stopped.clone()))
    }));
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
    let stores_history = stores_history.snapshot();
    let final_state = if options.store_clients > 0 {
        final_state::read(&cluster.client_addrs(), SETTLE_TIMEOUT).await
    } else {
        Ok(FinalState::default())
    };
    let stores = check_acknowledged(&stores_history, &final_state);
    let convergence = cluster.converged(SETTLE_TIMEOUT).await;
    RunResult {
        options: options.clone(),
        schedule,
        history,
        stores_history,
        final_state: final_state.ok(),
        registers,
        stores,
        convergence,
    }
}

/// Makes the stores workload's vector namespace (retried: the cluster may still be
/// settling its metadata group).
async fn create_vector_namespace(cluster: &TestCluster) {
    let settings = strata_api::VectorNamespace {
        name: stores_workload::VECTOR_NAMESPACE.into(),
        dim: stores_workload::DIM as u32,
        distance: strata_api::Distance::Cosine,
        partitions: stores_workload::VECTOR_PARTITIONS,
    };
    let until = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let ctx = cluster.context().await;
        match ctx.add_vector_store(settings.clone()).await {
            Ok(_) => return,
            Err(e) if Instant::now() > until => panic!("creating the workload's vector namespace: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
