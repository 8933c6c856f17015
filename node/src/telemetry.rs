//! Structured logs: `RUST_LOG` (or `STRATA_LOG`) filter, written to stderr.

/// Installs the tracing subscriber once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("STRATA_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}
