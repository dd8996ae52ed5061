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
