#![no_main]
// Body: m2msim_codec::fuzzing::mo (decode → encode must give the input back).
libfuzzer_sys::fuzz_target!(|data: &[u8]| m2msim_codec::fuzzing::mo(data));
