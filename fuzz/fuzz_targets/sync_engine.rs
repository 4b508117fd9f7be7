#![no_main]
// See yreplica_fuzz::sync_engine for what is fed and what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yreplica_fuzz::sync_engine(data));
