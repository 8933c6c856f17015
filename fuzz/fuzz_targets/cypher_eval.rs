//! cargo-fuzz target: `strata_chaos::fuzz::cypher_eval` (see that module), over a small
//! graph made once per process in the system's temporary folder.
#![no_main]

static GRAPH: std::sync::OnceLock<Option<strata_chaos::fuzz::SmallGraph>> = std::sync::OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let graph = GRAPH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("strata-fuzz-cypher-{}", std::process::id()));
        strata_chaos::fuzz::SmallGraph::new(&dir)
    });
    if let Some(graph) = graph {
        strata_chaos::fuzz::cypher_eval(graph, data);
    }
});
