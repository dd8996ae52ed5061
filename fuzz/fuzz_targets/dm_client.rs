#![no_main]
// Body: m2msim_dm_client::fuzzing::dm_client (stateful: must never panic, see the body's docs).
libfuzzer_sys::fuzz_target!(|data: &[u8]| m2msim_dm_client::fuzzing::dm_client(data));
