#![no_main]
// Body: m2msim_codec::fuzzing::syncml (typed SyncML / DDF: decode → encode → decode must agree).
libfuzzer_sys::fuzz_target!(|data: &[u8]| m2msim_codec::fuzzing::syncml(data));
