#![no_main]
// Body: m2msim_codec::fuzzing::typed_sms (typed → bytes → typed must be equal).
libfuzzer_sys::fuzz_target!(|data: &[u8]| m2msim_codec::fuzzing::typed_sms(data));
