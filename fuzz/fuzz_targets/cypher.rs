//! cargo-fuzz target: `strata_chaos::fuzz::cypher` (see that module).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_chaos::fuzz::cypher(data));
