#![no_main]
// Body: m2msim_codec::fuzzing::views (zero-copy views and owned decoders agree: same value, bytes or error).
libfuzzer_sys::fuzz_target!(|data: &[u8]| m2msim_codec::fuzzing::views(data));
