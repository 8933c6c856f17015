//! Scheduled backups (`[backup] every, keep, to`): the meta group's leader — one node at a
//! time, whichever it is — backs the whole cluster up every `every` under `to`, names each
//! by its start time, and deletes all but the newest `keep`. What it last saw succeed is
//! `strata_backup_last_success_timestamp_seconds` (read from the newest backup's manifest,
//! so a new leader or a restarted node reports the truth too), each failure counts in
//! `strata_backup_failures_total`, and a failed attempt is retried after a tenth of the
//! interval (at least 10 s).

use crate::ctx::NodeCtx;
use std::sync::Arc;
use std::time::Duration;
use strata_api::META_GROUP;
use strata_api::metrics::counters;
use strata_client::backup::catalog;
use strata_client::backup::remote::Location;

/// How often the leader looks at the schedule.
const LOOK: Duration = Duration::from_secs(1);

/// Runs the schedule forever (aborted at shutdown).
pub async fn run(
    ctx: Arc<NodeCtx>,
    every: Duration,
    keep: usize,
    to: String,
    connect: strata_client::cluster::ConnectOptions,
) {
    let location = match Location::parse(&to) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(to, error = %e, "scheduled backups: the location does not parse");
            return;
        }
    };
    let retry = (every / 10).max(Duration::from_secs(10)).min(every);
    let mut next_try = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(LOOK.min(every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let leads = ctx.registry.get(META_GROUP).is_some_and(|m| m.status().role == "Leader");
        if !leads || ctx.draining.load(std::sync::atomic::Ordering::SeqCst) || tokio::time::Instant::now() < next_try {
            continue;
        }
        let newest = match newest_finished(&location).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "scheduled backups: listing the backups failed");
                counters().backup_failures.inc();
                next_try = tokio::time::Instant::now() + retry;
                continue;
            }
        };
        if let Some(ms) = newest {
            counters().backup_last_success_ms.set(i64::try_from(ms).unwrap_or(i64::MAX));
            let age = Duration::from_millis(strata_api::clock::unix_ms().saturating_sub(ms));
            if age < every {
                // Not due: list again when it is (listing an S3 prefix costs requests).
                next_try = tokio::time::Instant::now() + (every - age);
                continue;
            }
        }
        match backup_now(&ctx, &location, &connect).await {
            Ok(finished) => {
                counters().backup_last_success_ms.set(i64::try_from(finished).unwrap_or(i64::MAX));
                if let Err(e) = prune(&location, keep).await {
                    tracing::warn!(error = %e, "scheduled backups: pruning old backups failed");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "scheduled backup failed");
                counters().backup_failures.inc();
                next_try = tokio::time::Instant::now() + retry;
            }
        }
    }
}

/// When the newest complete backup finished.
async fn newest_finished(location: &Location) -> strata_client::Result<Option<u64>> {
    let names = catalog::list(location).await?;
    let Some(newest) = names.last() else { return Ok(None) };
    Ok(catalog::manifest(location, newest).await?.map(|m| m.finished_at_ms))
}

/// Takes one backup through this node's own client port; answers when it finished.
async fn backup_now(
    ctx: &NodeCtx,
    location: &Location,
    connect: &strata_client::cluster::ConnectOptions,
) -> strata_client::Result<u64> {
    let name = catalog::name_at(strata_api::clock::unix_ms());
    let dest = catalog::child(location, &name);
    let started = std::time::Instant::now();
    let cluster =
        strata_client::cluster::Cluster::connect_options(std::slice::from_ref(&ctx.info.client_addr), connect).await?;
    let manifest = strata_client::backup::create_cluster_at(&cluster, &dest, &strata_client::backup::Quiet).await?;
    let bytes: u64 = manifest.groups.iter().map(|g| g.bytes).sum();
    tracing::info!(
        name,
        groups = manifest.groups.len(),
        bytes,
        took_ms = started.elapsed().as_millis() as u64,
        "scheduled backup done"
    );
    Ok(manifest.finished_at_ms)
}

/// Deletes all but the newest `keep` complete backups.
async fn prune(location: &Location, keep: usize) -> strata_client::Result<()> {
    let names = catalog::list(location).await?;
    for old in names.iter().take(names.len().saturating_sub(keep)) {
        catalog::delete(location, old).await?;
        tracing::info!(name = old, "scheduled backups: deleted an old backup");
    }
    Ok(())
}
