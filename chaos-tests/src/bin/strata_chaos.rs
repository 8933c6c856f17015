//! `strata-chaos`: long seeded fault runs against a local proxied cluster.
//!
//! ```sh
//! strata-chaos --seed N [--minutes M] [--nodes 3] [--faults partition,delay,kill,pause,kill-all]
//!              [--workload registers|stores|all] [--clients 4] [--keys 4] [--store-clients 2]
//!              [--out DIR]
//! strata-chaos --seeds A..B [--minutes M] ...      # one run per seed, a summary line each
//! strata-chaos --replay FILE                       # the saved run's seed, options and schedule again
//! strata-chaos --seed N --print true               # the schedule only, as JSON
//! strata-chaos --check FILE                        # the checkers again on a saved run's histories
//! strata-chaos --fuzz-corpus DIR                   # the fuzz targets' seeds, for cargo-fuzz
//! ```
//!
//! Each run prints its seed first and one JSON summary line at the end; a failing run is
//! saved (options, schedule, history, verdicts) to `DIR/strata-chaos-seed-N.json`, and
//! the process exits with 1.

use std::path::PathBuf;
use std::time::Duration;
use strata_chaos::nemesis::Kind;
use strata_chaos::run::{RunOptions, RunResult, run};

fn fail(msg: &str) -> ! {
    eprintln!("strata-chaos: {msg}");
    std::process::exit(2)
}

struct Args {
    seeds: Vec<u64>,
    options: RunOptions,
    out: PathBuf,
    replay: Option<PathBuf>,
    print: bool,
}

fn parse() -> Args {
    let mut options = RunOptions::new(0, Duration::from_secs(120));
    let mut seeds = Vec::new();
    let mut out = std::env::temp_dir();
    let mut replay = None;
    let mut print = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        let number = |v: &str| v.parse::<u64>().unwrap_or_else(|_| fail(&format!("{flag}: not a number: {v}")));
        match flag.as_str() {
            "--seed" => seeds = vec![number(&value)],
            "--seeds" => {
                let (a, b) = value.split_once("..").unwrap_or_else(|| fail("--seeds takes A..B"));
                seeds = (number(a)..number(b)).collect();
            }
            "--minutes" => {
                let m: f64 = value.parse().unwrap_or_else(|_| fail("--minutes: not a number"));
                options.length_ms = (m * 60_000.0) as u64;
            }
            "--nodes" => options.nodes = number(&value) as usize,
            "--clients" => options.clients = number(&value),
            "--keys" => options.keys = number(&value),
            "--faults" => {
                options.kinds = value
                    .split(',')
                    .map(|k| Kind::parse(k).unwrap_or_else(|| fail(&format!("unknown fault kind {k}"))))
                    .collect();
            }
            "--store-clients" => options.store_clients = number(&value),
            "--workload" => match value.as_str() {
                "registers" => options.store_clients = 0,
                "stores" => options.clients = 0,
                "all" => {}
                other => fail(&format!("unknown workload {other} (registers, stores, all)")),
            },
            "--out" => out = PathBuf::from(value),
            "--replay" => replay = Some(PathBuf::from(value)),
            "--print" => print = value == "true",
            "--check" => check_again(&PathBuf::from(value)),
            "--fuzz-corpus" => write_fuzz_corpus(&PathBuf::from(value)),
            other => fail(&format!("unknown flag {other}")),
        }
    }
    if seeds.is_empty() && replay.is_none() {
        fail("give --seed N, --seeds A..B or --replay FILE");
    }
    if !(1..=9).contains(&options.nodes) {
        fail("--nodes: 1 to 9");
    }
    Args { seeds, options, out, replay, print }
}

/// Runs the checkers again on a saved run (after a checker changed) and exits.
fn check_again(file: &std::path::Path) -> ! {
    let mut saved = RunResult::load(file).unwrap_or_else(|e| fail(&format!("{}: {e}", file.display())));
    saved.registers = strata_chaos::check::registers::check_registers(&saved.history, 20_000_000);
    let state = saved.final_state.clone().ok_or_else(|| "no final state was saved".to_string());
    saved.stores = strata_chaos::check::acknowledged::check_acknowledged(&saved.stores_history, &state);
    println!("{}", summary(&saved));
    std::process::exit(i32::from(!saved.passed()))
}

/// Writes every fuzz target's seeds to `DIR/<target>/seed-N`, cargo-fuzz's corpus layout.
fn write_fuzz_corpus(dir: &std::path::Path) -> ! {
    for (name, _) in strata_chaos::fuzz::TARGETS {
        let target_dir = dir.join(name);
        std::fs::create_dir_all(&target_dir).unwrap_or_else(|e| fail(&format!("{}: {e}", target_dir.display())));
        for (i, seed) in strata_chaos::fuzz::seeds::seeds(name).iter().enumerate() {
            let path = target_dir.join(format!("seed-{i}"));
            std::fs::write(&path, seed).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        }
    }
    println!("wrote the fuzz corpus to {}", dir.display());
    std::process::exit(0)
}

/// Stores workload operations per store.
fn store_counts(result: &RunResult) -> serde_json::Value {
    use strata_chaos::stores::StoreCall as C;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for r in &result.stores_history {
        let store = match r.call {
            C::ChatAppend { .. } | C::ChatRead { .. } => "chat",
            C::DocAdd { .. } | C::DocDelete { .. } | C::DocRead { .. } => "docstore",
            C::VectorAdd { .. } | C::VectorDelete { .. } | C::VectorQuery { .. } => "vector",
            C::GraphNodes { .. } | C::GraphRelate { .. } | C::GraphRelMap { .. } => "property_graph",
        };
        *counts.entry(store).or_default() += 1;
    }
    serde_json::json!(counts)
}

/// Faults played per kind.
fn fault_counts(result: &RunResult) -> serde_json::Value {
    use strata_chaos::nemesis::Fault as F;
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for step in &result.schedule {
        let kind = match step.fault {
            F::Partition(_) | F::OneWay { .. } | F::IsolateLeader(_) | F::Bridge { .. } => "partition",
            F::Delay(_) => "delay",
            F::Kill(_) => "kill",
            F::Pause(_) => "pause",
            F::KillAll => "kill-all",
            F::Replace(_) => "membership",
        };
        *counts.entry(kind).or_default() += 1;
    }
    serde_json::json!(counts)
}

fn summary(result: &RunResult) -> String {
    serde_json::json!({
        "seed": result.options.seed,
        "faults": result.schedule.len(),
        "operations": result.operations(),
        "register_operations": result.history.len(),
        "store_operations": result.stores_history.len(),
        "ok": result.ok_operations(),
        "store_operations_by_store": store_counts(result),
        "faults_by_kind": fault_counts(result),
        "acknowledged_store_writes": result.stores.acknowledged_writes,
        "acknowledged_writes_lost": result.stores.lost.len(),
        "phantom": result.stores.phantom.len(),
        "misordered": result.stores.misordered.len(),
        "torn": result.stores.torn.len(),
        "final_state_unreadable": result.stores.unreadable.is_some(),
        "linearizability_violations": result.registers.violations.len(),
        "undecided_keys": result.registers.undecided.len(),
        "groups": result.convergence.groups,
        "replicas_diverged": result.convergence.diverged.len(),
        "not_caught_up": result.convergence.not_caught_up.len(),
        "passed": result.passed(),
    })
    .to_string()
}

fn main() {
    let args = parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("runtime: {e}")));
    let runs: Vec<(RunOptions, Option<Vec<strata_chaos::nemesis::Step>>)> = match &args.replay {
        Some(file) => {
            let saved = RunResult::load(file).unwrap_or_else(|e| fail(&format!("{}: {e}", file.display())));
            vec![(saved.options, Some(saved.schedule))]
        }
        None => args.seeds.iter().map(|&seed| (RunOptions { seed, ..args.options.clone() }, None)).collect(),
    };
    let mut failed = false;
    for (options, schedule) in runs {
        let schedule = schedule.unwrap_or_else(|| options.schedule());
        if args.print {
            println!("{}", serde_json::to_string(&schedule).unwrap_or_default());
            continue;
        }
        eprintln!("seed {}: {} faults over {} ms", options.seed, schedule.len(), options.length_ms);
        // A run that panics (a node that never became ready, a cluster that never
        // settled) is a failed run, not the end of the soak.
        let played =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(run(&options, schedule))));
        let result = match played {
            Ok(result) => result,
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("{}", serde_json::json!({"seed": options.seed, "passed": false, "panic": why}));
                failed = true;
                continue;
            }
        };
        println!("{}", summary(&result));
        if !result.passed() {
            failed = true;
            match result.save(&args.out) {
                Ok(file) => eprintln!("seed {}: FAILED; run saved in {}", options.seed, file.display()),
                Err(e) => eprintln!("seed {}: FAILED; could not save the run: {e}", options.seed),
            }
        }
    }
    std::process::exit(i32::from(failed));
}
