//! Back-pressure (`STRATA_BENCH_MODES=tail`): at what add rate does a namespace's
//! unindexed tail stay bounded? Adds are searchable at once; the points the graph does
//! not cover yet are scanned exactly by every search, so a builder slower than the adds
//! makes the tail, and each search's cost, grow without end.
//!
//! Method: for each rate (`STRATA_BENCH_TAIL_RATES`, vectors/s; default 500,1000,1500,
//! 2000), a fresh embedded namespace gets the set's vectors at that pace for
//! `STRATA_BENCH_TAIL_SECS` (30) seconds, in adds of a tenth of a second's worth; every
//! second the bench reads `index_stats` (the tail) and times one top-10 query. Printed per
//! rate: the rate reached, the largest tail, the tail's growth over the second half
//! (vectors/s: ~0 when bounded), the last query's time, and how long the tail took to
//! drain once the adds stopped.

use crate::data::Set;
use crate::{query, record, settings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_client::StorageContext;

pub async fn run(set: &Arc<Set>) {
    let rates: Vec<usize> = std::env::var("STRATA_BENCH_TAIL_RATES")
        .unwrap_or_else(|_| "500,1000,1500,2000".into())
        .split(',')
        .map(|r| r.trim().parse().expect("a rate in vectors per second"))
        .collect();
    let secs: u64 = std::env::var("STRATA_BENCH_TAIL_SECS").map_or(30, |s| s.parse().expect("seconds"));
    println!();
    println!(
        "| add rate asked /s | reached /s | largest tail | tail growth /s (2nd half) | query ms at the end | drained in s |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for rate in rates {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = StorageContext::open(dir.path()).expect("open");
        let mut s = settings(set, 1);
        s.name = format!("tail-{rate}");
        let vs = ctx.add_vector_store(s).await.expect("namespace");
        let per_tick = (rate / 10).max(1);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let start = Instant::now();
        let (mut next, mut samples) = (0usize, Vec::new());
        let mut last_sample = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) && next < set.len() {
            tick.tick().await;
            let upto = (next + per_tick).min(set.len());
            vs.add_records((next..upto).map(|i| record(set, i)).collect()).await.expect("add");
            next = upto;
            if last_sample.elapsed() >= Duration::from_secs(1) {
                last_sample = Instant::now();
                let tail = vs.index_stats().await.expect("stats").unindexed;
                let asked = Instant::now();
                vs.query(&query(set, samples.len() % set.query_count(), false)).await.expect("query");
                samples.push((start.elapsed().as_secs_f64(), tail, asked.elapsed()));
            }
        }
        let added_in = start.elapsed().as_secs_f64();
        let stopped = Instant::now();
        while vs.index_stats().await.expect("stats").unindexed > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let drained = stopped.elapsed().as_secs_f64();
        let largest = samples.iter().map(|s| s.1).max().unwrap_or(0);
        let half = samples.len() / 2;
        let growth = match (samples.get(half), samples.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 as f64 - a.1 as f64) / (b.0 - a.0),
            _ => 0.0,
        };
        let last_query = samples.last().map_or(0.0, |s| s.2.as_secs_f64() * 1e3);
        println!(
            "| {rate} | {:.0} | {largest} | {growth:.0} | {last_query:.1} | {drained:.1} |",
            next as f64 / added_in
        );
    }
}
