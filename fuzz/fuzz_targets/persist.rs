//! cargo-fuzz target: `strata_chaos::fuzz::persist` (see that module).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| strata_chaos::fuzz::persist(data));
