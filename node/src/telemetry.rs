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
