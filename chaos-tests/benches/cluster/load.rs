//! The load generator: N clients, each its own task and connection, issuing one operation
//! at a time for a fixed time; latencies of the measured window only.

use std::future::Future;
use std::time::{Duration, Instant};

/// One client of the load: issues operation number `seq`.
pub trait Client: Send + 'static {
    /// Performs one operation; `Err` stops the run.
    fn op(&mut self, seq: u64) -> impl Future<Output = Result<(), String>> + Send;
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Operations completed in the measured window.
    pub ops: usize,
    /// Operations per second.
    pub per_sec: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
}

/// Runs every client for `warmup` (not recorded), then `measure`.
#[allow(dead_code)] // not every bench that includes this module calls it
pub async fn run<C: Client>(clients: Vec<C>, warmup: Duration, measure: Duration) -> Result<Stats, String> {
    Ok(run_with_cpu(clients, warmup, measure, &[]).await?.0)
}

/// [`run`], also answering the CPU time (user and system, seconds) each of the processes
/// `pids` used during the measured window (Linux; 0 elsewhere or for a process that is
/// gone).
pub async fn run_with_cpu<C: Client>(
    clients: Vec<C>,
    warmup: Duration,
    measure: Duration,
    pids: &[u32],
) -> Result<(Stats, Vec<f64>), String> {
    let start = Instant::now() + Duration::from_millis(50);
    let from = start + warmup;
    let until = from + measure;
    let sampler = {
        let pids = pids.to_vec();
        tokio::spawn(async move {
            tokio::time::sleep_until(from.into()).await;
            let before: Vec<f64> = pids.iter().map(|p| cpu_secs(*p)).collect();
            tokio::time::sleep_until(until.into()).await;
            pids.iter().zip(before).map(|(p, b)| cpu_secs(*p) - b).collect::<Vec<f64>>()
        })
    };
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            tokio::spawn(async move {
                tokio::time::sleep_until(start.into()).await;
                let mut lat = Vec::new();
                let mut seq = (i as u64) << 40;
                loop {
                    let t = Instant::now();
                    if t >= until {
                        return Ok::<_, String>(lat);
                    }
                    c.op(seq).await?;
                    seq += 1;
                    if t >= from && Instant::now() <= until {
                        lat.push(t.elapsed());
                    }
                }
            })
        })
        .collect();
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    all.sort_unstable();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map(|d| d.as_secs_f64() * 1e3).unwrap_or(f64::NAN);
    let stats = Stats {
        ops: all.len(),
        per_sec: all.len() as f64 / measure.as_secs_f64(),
        p50_ms: ms(pct(0.50)),
        p99_ms: ms(pct(0.99)),
    };
    Ok((stats, sampler.await.map_err(|e| e.to_string())?))
}

pub use strata_chaos::cluster::cpu_secs;
