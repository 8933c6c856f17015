//! `/livez` and `/readyz`: what a load balancer, Kubernetes or an operator asks of a node
//! before sending it traffic. Each check is recomputed on every call (a probe never
//! latches: a node that was ready and lost its leaders says so at once), and each has a
//! name, so `?verbose` says which one failed.
//!
//! - `/livez`: the runtime answered (the handler runs on it) and a storage write reached
//!   disk within a second. A failing `/livez` calls for a restart.
//! - `/readyz`: `/livez`'s storage check, and every group this node replicates has a
//!   leader it knows of (`has_leader`), has applied to within `ready_max_lag_entries` of
//!   the commit index its leader announced (`caught_up`), the node has its shard map
//!   (`shard_map`), and it is not stopping (`not_draining`). A failing `/readyz` calls for
//!   taking the node out of rotation, not for a restart.

use crate::ctx::NodeCtx;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long the storage check may take.
pub const STORAGE_DEADLINE: Duration = Duration::from_secs(1);

/// How long ago a leader's quorum may last have acknowledged it for the group to count
/// as led (a few election timeouts).
pub const LEADER_ACK_MS: u64 = 5_000;

/// One named check and how it went.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Its name.
    pub name: &'static str,
    /// `None`: passed; else why it failed.
    pub failure: Option<String>,
}

impl Check {
    fn new(name: &'static str, failure: Option<String>) -> Self {
        Self { name, failure }
    }
}

/// Writes a key to the database and flushes it to disk, within [`STORAGE_DEADLINE`].
pub async fn storage_writable(db: &sled::Db) -> Check {
    let db = db.clone();
    let write = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let tree = db.open_tree("strata.probe").map_err(|e| e.to_string())?;
        tree.insert(b"probe", &strata_api::clock::unix_ms().to_be_bytes()).map_err(|e| e.to_string())?;
        tree.flush().map_err(|e| e.to_string())?;
        Ok(())
    });
    let failure = match tokio::time::timeout(STORAGE_DEADLINE, write).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(format!("a write to the database failed: {e}")),
        Ok(Err(e)) => Some(format!("the storage check stopped: {e}")),
        Err(_) => Some(format!("a write to the database took more than {} ms", STORAGE_DEADLINE.as_millis())),
    };
    Check::new("storage_writable", failure)
}

/// `/livez`'s checks.
pub async fn live(db: &sled::Db) -> Vec<Check> {
    vec![Check::new("runtime", None), storage_writable(db).await]
}

/// `/readyz`'s checks (`ctx` is `None` before the node has joined a cluster).
pub async fn ready(db: &sled::Db, ctx: Option<&NodeCtx>) -> Vec<Check> {
    let mut checks = vec![storage_writable(db).await];
    let Some(ctx) = ctx else {
        checks.push(Check::new("shard_map", Some("the node is not in a cluster yet (standby or starting)".into())));
        return checks;
    };
    let epoch = ctx.map_epoch();
    checks.push(Check::new("shard_map", (epoch == 0).then(|| "no shard map applied yet".to_string())));
    let mut leaderless = Vec::new();
    let mut behind = Vec::new();
    for g in ctx.registry.groups() {
        let s = g.status();
        if !is_led(&g, &s) {
            leaderless.push(s.group);
        }
        let applied = s.applied_index.unwrap_or(0);
        let committed = g.committed_index().unwrap_or(0);
        if committed.saturating_sub(applied) > ctx.ready_max_lag_entries {
            behind.push((s.group, committed - applied));
        }
    }
    checks.push(Check::new(
        "has_leader",
        (!leaderless.is_empty())
            .then(|| format!("{} group(s) without a known leader: {}", leaderless.len(), list(&leaderless))),
    ));
    checks.push(Check::new(
        "caught_up",
        (!behind.is_empty()).then(|| {
            let groups: Vec<String> = behind.iter().map(|(g, n)| format!("{g} ({n} behind)")).collect();
            format!(
                "{} group(s) applied more than {} entries behind their commit: {}",
                behind.len(),
                ctx.ready_max_lag_entries,
                groups.join(", ")
            )
        }),
    ));
    let draining = ctx.draining.load(Ordering::SeqCst);
    checks.push(Check::new("not_draining", draining.then(|| "the node is stopping".to_string())));
    checks
}

/// Whether `g` (whose status is `s`) has a working leader as this node sees it. A
/// leader cut off from its followers still calls itself leader (openraft steps down only
/// when another is elected): it counts as one only while a quorum acknowledged it within
/// [`LEADER_ACK_MS`].
pub fn is_led(g: &strata_raft::Group, s: &strata_api::GroupStatus) -> bool {
    let stale_leader = s.role == "Leader"
        && s.voters.len() > 1
        && g.raft.metrics().borrow().millis_since_quorum_ack.is_none_or(|ms| ms > LEADER_ACK_MS);
    s.leader.is_some() && !stale_leader
}

fn list(groups: &[u64]) -> String {
    let shown: Vec<String> = groups.iter().take(20).map(u64::to_string).collect();
    let more = groups.len().saturating_sub(shown.len());
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

/// The body of a probe's answer: `ok` or the failures; with `verbose`, every check.
pub fn body(checks: &[Check], verbose: bool) -> String {
    let mut out = String::new();
    for c in checks {
        match &c.failure {
            None if verbose => out.push_str(&format!("[+]{} ok\n", c.name)),
            None => {}
            Some(why) => out.push_str(&format!("[-]{} failed: {why}\n", c.name)),
        }
    }
    let passed = checks.iter().all(|c| c.failure.is_none());
    out.push_str(if passed { "ok\n" } else { "not ok\n" });
    out
}

/// Bytes the files under `dir` take (a walk; symbolic links not followed).
pub fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The size of the file system holding `dir`.
pub fn capacity_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_blocks.saturating_mul(s.f_frsize))
}

/// Bytes free to this process on the file system holding `dir`.
pub fn available_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_each_failure() {
        let checks = vec![Check::new("a", None), Check::new("b", Some("why".into()))];
        assert_eq!(body(&checks, false), "[-]b failed: why\nnot ok\n");
        assert_eq!(body(&checks, true), "[+]a ok\n[-]b failed: why\nnot ok\n");
        assert_eq!(body(&checks[..1], false), "ok\n");
    }

    #[tokio::test]
    async fn storage_is_written_and_sizes_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("db")).unwrap();
        assert_eq!(storage_writable(&db).await.failure, None);
        assert!(disk_bytes(dir.path()) > 0);
        assert!(available_bytes(dir.path()).unwrap() > 0);
        assert_eq!(ready(&db, None).await.iter().filter(|c| c.failure.is_some()).count(), 1);
    }
}
