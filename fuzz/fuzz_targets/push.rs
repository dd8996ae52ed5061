#![no_main]
// Body: m2msim_codec::fuzzing::push (stateful: must never panic, see the body's docs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| m2msim_codec::fuzzing::push(data));
