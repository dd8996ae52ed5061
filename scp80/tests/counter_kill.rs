//! Crash test of the file counter store (written next).
fn main() {}
