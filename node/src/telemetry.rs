//! Structured logs: `RUST_LOG` (or `STRATA_LOG`) filter, written to stderr as text or
//! one JSON object per line (`log_format`); the slow-request threshold.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    #[default]
    Text,
    /// One JSON object per line (fields, spans, level, time), for log pipelines.
    Json,
}

static SLOW_MS: AtomicU64 = AtomicU64::new(1000);

/// Requests slower than `d` are logged at WARN (`slow_request_ms`).
pub fn set_slow_request(d: Duration) {
    SLOW_MS.store(u64::try_from(d.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// Whether a request that took `took` is slow.
pub fn is_slow(took: Duration) -> bool {
    took.as_millis() >= u128::from(SLOW_MS.load(Ordering::Relaxed))
}

/// Installs the tracing subscriber once; later calls do nothing.
pub fn init(format: LogFormat) {
    let mut filter =
        std::env::var("STRATA_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "warn".into());
    // hnsw_rs narrates every build, dump and load at info level.
    if !filter.contains("hnsw_rs") {
        filter.push_str(",hnsw_rs=warn");
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).try_init(),
    };
}

/// Logs a connection the node ended (a deadline, a budget, an undecodable frame), at
/// most once a second per port kind: a flood of hostile connections must not become a
/// flood of log lines.
pub fn connection_ended(port: &'static str, peer: std::net::SocketAddr, ended: &strata_wire::Ended) {
    static CLIENT: strata_api::RateLimited = strata_api::RateLimited::per_second();
    static RAFT: strata_api::RateLimited = strata_api::RateLimited::per_second();
    let limiter = if port == "client" { &CLIENT } else { &RAFT };
    if let Some(skipped) = limiter.allow() {
        tracing::info!(port, %peer, skipped, "connection ended: {ended}");
    }
}
