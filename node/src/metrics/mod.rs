//! `/metrics`: what this node counts and what its groups look like now, in Prometheus'
//! text format. Every family is documented in `docs/operations.md` (what it means, what a
//! bad value calls for); names under `strata_` are stable.
//!
//! Counters are read from `strata_api::metrics` (counted where the work happens, an
//! atomic add each); per-group gauges are computed at the scrape from openraft's metrics
//! and the replicas' in-memory figures, so nothing per group runs between scrapes. Label
//! values are the code's own names or ids of groups and nodes: nothing a client sends
//! but the names of namespaces and graphs it created (bounded by the quotas).

pub mod text;

use crate::ctx::NodeCtx;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use strata_api::metrics::{OUTCOMES, counters};
use text::{Kind, Text, snake};

/// The counters of the node's three ports.
#[derive(Default)]
pub struct Ports {
    /// The client port.
    pub client: Arc<strata_wire::PortStats>,
    /// The raft port.
    pub raft: Arc<strata_wire::PortStats>,
    /// The HTTP port.
    pub http: Arc<strata_wire::PortStats>,
}

/// The process's port counters.
pub fn ports() -> &'static Ports {
    static PORTS: OnceLock<Ports> = OnceLock::new();
    PORTS.get_or_init(Ports::default)
}

/// The commit this binary was built from (`git rev-parse --short HEAD` at build time).
pub const COMMIT: &str = match option_env!("STRATA_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

/// One scrape of this node.
pub fn scrape(ctx: &NodeCtx) -> String {
    let mut t = Text::default();
    t.family("strata_build_info", Kind::Gauge, "The version and commit this node runs (always 1).");
    t.sample("strata_build_info", &[("version", env!("CARGO_PKG_VERSION")), ("commit", COMMIT)], 1.0);
    groups(&mut t, ctx);
    raft_counters(&mut t);
    backups(&mut t);
    vector_searches(&mut t);
    storage(&mut t, ctx);
    requests(&mut t);
    stores(&mut t, ctx);
    process(&mut t);
    t.finish()
}

fn groups(t: &mut Text, ctx: &NodeCtx) {
    let groups = ctx.registry.groups();
    // Each group's status, its commit index and whether it has a working leader.
    let statuses: Vec<_> = groups
        .iter()
        .map(|g| {
            let s = g.status();
            let led = crate::probes::is_led(g, &s);
            (s, (g.committed_index(), led))
        })
        .collect();
    type Extra = (Option<u64>, bool);
    let per_group = |t: &mut Text, name: &str, help: &str, value: &dyn Fn(&strata_api::GroupStatus, Extra) -> f64| {
        t.family(name, Kind::Gauge, help);
        for (s, extra) in &statuses {
            t.sample(name, &[("group", &s.group.to_string())], value(s, *extra));
        }
    };
    let me = ctx.info.id;
    per_group(
        t,
        "strata_raft_has_leader",
        "1 if the group has a working leader this node knows of, else 0.",
        &|_, e| f64::from(u8::from(e.1)),
    );
    per_group(t, "strata_raft_is_leader", "1 if this node leads the group, else 0.", &|s, _| {
        f64::from(u8::from(s.leader == Some(me) && s.role == "Leader"))
    });
    per_group(t, "strata_raft_term", "The group's current raft term on this node.", &|s, _| s.term as f64);
    per_group(t, "strata_raft_voters", "Voting replicas in the group's membership, as this node knows it.", &|s, _| {
        s.voters.len() as f64
    });
    per_group(t, "strata_raft_commit_index", "The highest log index this replica knows committed.", &|_, e| {
        e.0.unwrap_or(0) as f64
    });
    per_group(t, "strata_raft_applied_index", "The highest log index this replica applied.", &|s, _| {
        s.applied_index.unwrap_or(0) as f64
    });
    let name = "strata_raft_follower_lag_entries";
    t.family(name, Kind::Gauge, "On a leader: entries each follower is behind the leader's log.");
    for (s, _) in &statuses {
        for (peer, lag) in s.lag.iter().filter(|(peer, _)| **peer != me) {
            t.sample(name, &[("group", &s.group.to_string()), ("peer", &peer.to_string())], *lag as f64);
        }
    }
}

fn raft_counters(t: &mut Text) {
    let c = counters();
    let mut one = |name: &str, help: &str, v: u64| {
        t.family(name, Kind::Counter, help);
        t.sample(name, &[], v as f64);
    };
    one("strata_raft_leader_changes_total", "New leaders seen by this node's groups.", c.leader_changes.get());
    one(
        "strata_raft_proposals_committed_total",
        "Log entries this node proposed and committed.",
        c.proposals_committed.get(),
    );
    one(
        "strata_raft_proposals_failed_total",
        "Proposals that failed (lost leadership, timeouts).",
        c.proposals_failed.get(),
    );
    let name = "strata_raft_snapshots_total";
    t.family(name, Kind::Counter, "Snapshots of group state this node built or installed.");
    t.sample(name, &[("kind", "built")], c.snapshots_built.get() as f64);
    t.sample(name, &[("kind", "installed")], c.snapshots_installed.get() as f64);
}

fn vector_searches(t: &mut Text) {
    let [leader, follower] = &counters().vector_searches;
    let name = "strata_vector_searches_total";
    t.family(name, Kind::Counter, "Partition searches of vector namespaces this node answered from its own replica.");
    t.sample(name, &[("role", "leader")], leader.get() as f64);
    t.sample(name, &[("role", "follower")], follower.get() as f64);
}

fn backups(t: &mut Text) {
    let c = counters();
    let name = "strata_backup_last_success_timestamp_seconds";
    t.family(name, Kind::Gauge, "When the newest scheduled backup finished (on the node running the schedule).");
    if c.backup_last_success_ms.get() > 0 {
        t.sample(name, &[], c.backup_last_success_ms.get() as f64 / 1000.0);
    }
    let name = "strata_backup_failures_total";
    t.family(name, Kind::Counter, "Scheduled backups (or listings of them) that failed on this node.");
    t.sample(name, &[], c.backup_failures.get() as f64);
}

fn storage(t: &mut Text, ctx: &NodeCtx) {
    let name = "strata_storage_fsync_seconds";
    t.family(name, Kind::Histogram, "Time of each flush of the database to disk (a group commit).");
    t.histogram(name, &[], &counters().fsync.snapshot());
    let name = "strata_storage_disk_bytes";
    t.family(name, Kind::Gauge, "Bytes this node's data directory takes on disk.");
    t.sample(name, &[], crate::probes::disk_bytes(&ctx.data_dir) as f64);
    let name = "strata_storage_capacity_bytes";
    t.family(name, Kind::Gauge, "Size of the file system holding this node's data directory.");
    t.sample(name, &[], crate::probes::capacity_bytes(&ctx.data_dir).unwrap_or(0) as f64);
    let name = "strata_storage_available_bytes";
    t.family(name, Kind::Gauge, "Bytes free to this node on its data directory's file system.");
    t.sample(name, &[], crate::probes::available_bytes(&ctx.data_dir).unwrap_or(0) as f64);
}

fn requests(t: &mut Text) {
    let c = counters();
    let calls = c.calls.all();
    let name = "strata_requests_total";
    t.family(name, Kind::Counter, "Client calls this node served, by store, method and outcome.");
    let labels: Vec<(String, String)> = calls.iter().map(|((s, m), _)| (snake(s), snake(m))).collect();
    for (((_, _), stats), (store, method)) in calls.iter().zip(&labels) {
        for (i, outcome) in OUTCOMES.iter().enumerate() {
            let n = stats.outcomes[i].get();
            if n > 0 {
                t.sample(name, &[("store", store), ("method", method), ("outcome", outcome)], n as f64);
            }
        }
    }
    let name = "strata_request_seconds";
    t.family(name, Kind::Histogram, "Time client calls took inside this node.");
    for (((_, _), stats), (store, method)) in calls.iter().zip(&labels) {
        t.histogram(name, &[("store", store), ("method", method)], &stats.seconds.snapshot());
    }
    let name = "strata_connections";
    t.family(name, Kind::Gauge, "Open connections, by port.");
    let p = ports();
    for (port, stats) in [("client", &p.client), ("raft", &p.raft), ("http", &p.http)] {
        t.sample(name, &[("port", port)], stats.open.load(std::sync::atomic::Ordering::Relaxed) as f64);
    }
    let wire_busy: u64 = [&p.client, &p.raft].iter().map(|s| s.busy.load(std::sync::atomic::Ordering::Relaxed)).sum();
    let name = "strata_busy_total";
    t.family(name, Kind::Counter, "Requests refused busy (retryable): full request memory or in-flight places.");
    t.sample(name, &[], (wire_busy + c.busy.get()) as f64);
    let name = "strata_auth_failures_total";
    t.family(name, Kind::Counter, "Failed authentications (unknown keys, bad peer proofs, refused scrapes).");
    t.sample(name, &[], c.auth_failures.get() as f64);
    let name = "strata_actor_restarts_total";
    t.family(name, Kind::Counter, "Store actors restarted by their supervisor after a failure.");
    for ((actor, _), stats) in c.actor_restarts.all() {
        t.sample(name, &[("actor", actor)], stats.outcomes.iter().map(|o| o.get()).sum::<u64>() as f64);
    }
}

fn stores(t: &mut Text, ctx: &NodeCtx) {
    let map = ctx.shard_map();
    let mut vectors: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut graphs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for info in &map.shards {
        let Some(group) = ctx.registry.get(info.group) else { continue };
        if let Some(v) = &info.vector
            && let Some(stats) = group.shard().loaded_vector_stats()
        {
            for (ns, s) in stats.into_iter().filter(|(ns, _)| *ns == v.namespace) {
                let e = vectors.entry(ns).or_default();
                e.0 += s.vectors;
                e.1 += s.unindexed;
            }
        }
        if let Some(g) = &info.graph
            && let Ok((nodes, relations)) = group.shard().graph_counts(&g.namespace)
        {
            let e = graphs.entry(g.namespace.clone()).or_default();
            e.0 += nodes;
            e.1 += relations;
        }
    }
    let name = "strata_vector_vectors";
    t.family(name, Kind::Gauge, "Vectors in this node's replicas of a namespace's partitions (loaded ones).");
    for (ns, (n, _)) in &vectors {
        t.sample(name, &[("namespace", ns)], *n as f64);
    }
    let name = "strata_vector_unindexed";
    t.family(name, Kind::Gauge, "Vectors not yet in the HNSW graph (searched exactly meanwhile): the backlog.");
    for (ns, (_, u)) in &vectors {
        t.sample(name, &[("namespace", ns)], *u as f64);
    }
    let name = "strata_graph_nodes";
    t.family(name, Kind::Gauge, "Nodes (entities and chunks) in this node's replicas of a graph's partitions.");
    for (g, (n, _)) in &graphs {
        t.sample(name, &[("graph", g)], *n as f64);
    }
    let name = "strata_graph_relations";
    t.family(name, Kind::Gauge, "Relations in this node's replicas of a graph's partitions.");
    for (g, (_, n)) in &graphs {
        t.sample(name, &[("graph", g)], *n as f64);
    }
}

/// The process's memory, CPU and open files (`process_*`, Prometheus' standard names).
fn process(t: &mut Text) {
    use prometheus::core::Collector;
    static COLLECTOR: OnceLock<prometheus::process_collector::ProcessCollector> = OnceLock::new();
    let families = COLLECTOR.get_or_init(prometheus::process_collector::ProcessCollector::for_self).collect();
    let mut out = String::new();
    if prometheus::TextEncoder::new().encode_utf8(&families, &mut out).is_ok() {
        t.raw(&out);
    }
}
