//! Structured logs: `RUST_LOG` (or `STRATA_LOG`) filter, written to stderr.

/// Installs the tracing subscriber once; later calls do nothing.
pub fn init() {
    let mut filter =
        std::env::var("STRATA_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "warn".into());
    // hnsw_rs narrates every build, dump and load at info level.
    if !filter.contains("hnsw_rs") {
        filter.push_str(",hnsw_rs=warn");
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
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
