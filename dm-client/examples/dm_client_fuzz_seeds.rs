//! Writes the dm-client fuzz seeds (made by our own encoders) under `fuzz/corpus/<target>/`:
//! `cargo run -p m2msim-dm-client --features fuzzing --example dm_client_fuzz_seeds -- fuzz/corpus`.

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into()));
    let n = m2msim_codec::testdata::write_fuzz_seeds(&dir, &m2msim_dm_client::fuzzing::seeds())?;
    println!("{n} seeds under {}", dir.display());
    Ok(())
}
