//! Writes the card and OTA engine fuzz seeds (made by our own encoders) under `fuzz/corpus/<target>/`:
//! `cargo run -p m2msim-scp80 --features fuzzing --example scp80_fuzz_seeds -- fuzz/corpus`.

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into()));
    let n = m2msim_codec::testdata::write_fuzz_seeds(&dir, &m2msim_scp80::fuzzing::seeds())?;
    println!("{n} seeds under {}", dir.display());
    Ok(())
}
