//! `dm-client`: an OMA DM client to point at a DM server under test (issue 7 §2). See `--help`.
fn main() {}
