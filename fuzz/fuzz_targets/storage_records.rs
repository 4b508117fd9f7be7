#![no_main]
// See yreplica_fuzz::storage_records for what is fed and what is checked.
libfuzzer_sys::fuzz_target!(|data: &[u8]| yreplica_fuzz::storage_records(data));
