//! The ceiling sled puts on graph relation upserts: 1M relations written as the graph
//! partition lays them out (three records each: with the source, at the target, in the
//! label index), sorted batches of 10,000 relations, single-key inserts as `redo` does,
//! nothing else (no look-ups, JSON, schema or redo record). Whatever the graph store
//! reaches, it cannot beat this on the same machine.
//!
//! ```sh
//! cargo bench -p strata-shards --bench sled_ceiling            # sled cache 256 MiB (the shards')
//! STRATA_BENCH_CACHE_MIB=2048 cargo bench -p strata-shards --bench sled_ceiling
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a bench binary

use std::time::Instant;

const RELATIONS: u64 = 1_000_000;
const NODES: u64 = 100_000;
const BATCH: usize = 10_000;

fn main() {
    let cache: u64 = std::env::var("STRATA_BENCH_CACHE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(cache << 20)
        .flush_every_ms(Some(500))
        .mode(sled::Mode::HighThroughput)
        .open()
        .expect("open sled");
    let tree = db.open_tree("shard").expect("tree");
    let value = [7u8; 48]; // a relation value: position, labels, "{}"
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(3 * BATCH);
    let start = Instant::now();
    for i in 0..RELATIONS {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let (s, t, label) = (x % NODES, (x >> 20) % NODES, (x >> 40) % 8);
        batch.push(format!("g\0default\0o\0e{s}\0T{label}\0e{t}").into_bytes());
        batch.push(format!("g\0default\0i\0e{t}\0T{label}\0e{s}").into_bytes());
        batch.push(format!("g\0default\0L\0T{label}\0e{s}\0e{t}").into_bytes());
        if batch.len() == 3 * BATCH {
            batch.sort();
            for key in batch.drain(..) {
                tree.insert(key, &value[..]).expect("insert");
            }
        }
        if (i + 1) % 200_000 == 0 {
            let secs = start.elapsed().as_secs_f64();
            println!("{:>9} relations in {secs:>5.1} s: {:>7.0} relations/s", i + 1, (i + 1) as f64 / secs);
        }
    }
}
