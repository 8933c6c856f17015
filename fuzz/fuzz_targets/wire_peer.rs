//! cargo-fuzz target: `strata_chaos::fuzz::wire_peer` (see that module).
//!
//! The decoder turns a panicking field (tarpc adds a peer-sent deadline to the clock)
//! into an error with `catch_unwind`, as the node does; libFuzzer's panic hook would
//! abort on that contained panic, so a quiet hook replaces it. A panic that escapes the
//! target still aborts (libfuzzer-sys catches it and aborts).
#![no_main]
libfuzzer_sys::fuzz_target!(init: { std::panic::set_hook(Box::new(|_| {})) }, |data: &[u8]| strata_chaos::fuzz::wire_peer(data));
