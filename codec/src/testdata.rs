//! Locating the shared test data (`../shared` beside the repository) and the external peer tools, for the
//! tests of every m2msim crate.
//!
//! Tests never copy `../shared` into the repository; they read it in place. When it is absent a test prints a
//! notice and skips, unless `M2MSIM_REQUIRE_SHARED=1` (CI) makes the absence a failure. Peer tools
//! (`xml2wbxml`, `tshark` …) follow the same rule with `M2MSIM_REQUIRE_PEERS=1`.

use std::path::{Path, PathBuf};

/// The shared data directory: `$M2MSIM_SHARED` if set, else `<workspace>/../shared`.
///
/// Returns `None` (after printing a notice) when it does not exist.
///
/// # Panics
/// When it does not exist and `M2MSIM_REQUIRE_SHARED=1`: CI must never skip these tests silently.
#[must_use]
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("M2MSIM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    if dir.join("vectors").is_dir() {
        return Some(dir);
    }
    if std::env::var("M2MSIM_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("M2MSIM_REQUIRE_SHARED=1 but the shared test data is missing at {}", dir.display());
    }
    eprintln!("notice: shared test data not found at {}; skipping (set M2MSIM_SHARED)", dir.display());
    None
}

/// A file under the shared directory (see [`shared_dir`] for the skip rule).
#[must_use]
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    shared_dir().map(|d| d.join(rel))
}

/// The path of an external peer tool on `PATH`, or `None` (after a notice) when it is not installed.
///
/// # Panics
/// When the tool is missing and `M2MSIM_REQUIRE_PEERS=1`.
#[must_use]
pub fn peer_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("M2MSIM_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("M2MSIM_REQUIRE_PEERS=1 but the peer tool `{name}` is not installed");
        }
        eprintln!("notice: peer tool `{name}` not installed; skipping this peer test");
    }
    found
}

/// A fuzz body with its target name.
pub type NamedFuzzBody = (&'static str, fn(&[u8]));

/// Replays the committed fuzz inputs of `bodies` (name, body) through their bodies: every file under
/// `<fuzz_root>/corpus/<name>/` and `<fuzz_root>/regressions/<name>/` (the fixed crashes). Returns how many
/// files ran. A body that panics fails the calling test; the file's path is printed first so the failure
/// names it.
///
/// # Panics
/// When a body panics, or a directory exists but cannot be read.
pub fn replay_fuzz_dirs(fuzz_root: &Path, bodies: &[NamedFuzzBody]) -> usize {
    let mut n = 0;
    for (name, body) in bodies {
        for kind in ["corpus", "regressions"] {
            let dir = fuzz_root.join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<PathBuf> = entries
                .map(|e| e.map(|e| e.path()).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("reading {}: {e}", f.display()));
                eprintln!("fuzz replay: {}", f.display());
                body(&bytes);
                n += 1;
            }
        }
    }
    n
}

/// Writes seed inputs (target, file name, bytes) under `<corpus>/<target>/<name>`, creating the
/// directories; used by the `fuzz_seeds` examples that regenerate the committed seed corpora.
///
/// # Errors
/// The first I/O error.
pub fn write_fuzz_seeds(corpus: &Path, seeds: &[(&str, String, Vec<u8>)]) -> std::io::Result<usize> {
    for (target, name, bytes) in seeds {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    Ok(seeds.len())
}
