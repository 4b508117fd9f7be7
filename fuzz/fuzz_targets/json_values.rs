#![no_main]
// See yreplica_fuzz::json_values for what is fed and what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yreplica_fuzz::json_values(data));
