//! Crypto benches (written next).
fn main() {}
