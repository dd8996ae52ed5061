//! The durable store of the client's management tree: one snapshot file replaced atomically.
//!
//! Main items: [`TreeStore`] ([`TreeStore::save`], [`TreeStore::load`], [`TreeStore::open`]) and
//! [`StoreError`].
//!
//! Decision (issue 7 §2 lets SQLite or a write-rename file do it): a write-rename file. The tree is small
//! (kilobytes to a few megabytes), is read whole at start-up and written whole after each change, and has
//! one writer (the client process); an SQL schema would add a large build and nothing the tree needs.
//! [`TreeStore::save`] writes the committed state ([`DmTree::snapshot`]: while an Atomic is open, the state
//! before it) as JSON to `<file>.tmp`, `fsync`s it, renames it over `<file>` (atomic on POSIX file
//! systems) and `fsync`s the directory. A process killed at any point leaves either the previous file or
//! the new one, never a mix; a stale `.tmp` is ignored and overwritten. Since the session engine applies
//! every command of a server message (an Atomic included) within one call and the adapter saves after it
//! ([`crate::net::run_session`]), an Atomic lands in the file entirely or not at all.
//!
//! The file holds nodes, limits and queued Generic Alerts, not the MOs' DDFs and plugins (code):
//! [`TreeStore::open`] registers the standard MOs (DevInfo, DevDetail, DMAcc in either layout) whose roots
//! exist in the snapshot; register others again after loading.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::mo::dmacc::Layout;
use crate::mo::{devdetail, devinfo};
use crate::tree::{DmTree, RestoreError, TreeSnapshot};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("tree store {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a snapshot.
    #[error("tree store {path}: not a tree snapshot: {source}")]
    Format {
        /// The file.
        path: String,
        /// The error.
        source: serde_json::Error,
    },
    /// The snapshot is not a consistent tree.
    #[error("tree store {path}: {source}")]
    Restore {
        /// The file.
        path: String,
        /// The error.
        source: RestoreError,
    },
}

/// A tree saved in one file, replaced atomically on every save (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeStore {
    path: PathBuf,
}

impl TreeStore {
    /// A store at `path` (nothing is read or written yet).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file exists.
    #[must_use]
    pub fn exists(&self) -> bool {
        self.path.is_file()
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io { path: self.path.display().to_string(), source }
    }

    fn tmp_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".tmp");
        PathBuf::from(p)
    }

    /// Saves the committed state of `tree`: temporary file, `fsync`, rename, `fsync` of the directory.
    ///
    /// # Errors
    /// [`StoreError::Io`]; the previous file is then untouched.
    pub fn save(&self, tree: &DmTree) -> Result<(), StoreError> {
        self.save_snapshot(&tree.snapshot())
    }

    /// Saves a snapshot (as [`Self::save`]).
    ///
    /// # Errors
    /// [`StoreError::Io`]; the previous file is then untouched.
    pub fn save_snapshot(&self, snapshot: &TreeSnapshot) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(snapshot)
            .map_err(|e| StoreError::Format { path: self.path.display().to_string(), source: e })?;
        let tmp = self.tmp_path();
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(|e| self.io(e))?;
        f.write_all(&bytes).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // Makes the rename itself durable; a directory that cannot be opened (other platforms) is skipped.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads the snapshot, `None` when the file does not exist.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be read or is not a consistent snapshot.
    pub fn load(&self) -> Result<Option<TreeSnapshot>, StoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let snap: TreeSnapshot = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Format { path: self.path.display().to_string(), source: e })?;
        snap.validate()
            .map_err(|e| StoreError::Restore { path: self.path.display().to_string(), source: e })?;
        Ok(Some(snap))
    }

    /// Loads the tree with the standard MOs whose roots it holds registered; `None` when the file does not
    /// exist.
    ///
    /// # Errors
    /// As [`Self::load`].
    pub fn open(&self) -> Result<Option<DmTree>, StoreError> {
        let Some(snap) = self.load()? else { return Ok(None) };
        let mut tree = DmTree::from_snapshot(snap)
            .map_err(|e| StoreError::Restore { path: self.path.display().to_string(), source: e })?;
        register_standard_mos(&mut tree);
        Ok(Some(tree))
    }
}

/// Registers the DDFs of DevInfo, DevDetail and DMAcc (either layout) whose root nodes exist in `tree`.
pub fn register_standard_mos(tree: &mut DmTree) {
    let mos = [
        (devinfo::ROOT, devinfo::ddf()),
        (devdetail::ROOT, devdetail::ddf()),
        (Layout::Dm12.root(), Layout::Dm12.ddf()),
        (Layout::Dm11.root(), Layout::Dm11.ddf()),
    ];
    for (root, ddf) in mos {
        if tree.node(root).is_some() {
            // The roots are constants that are valid URIs: registration cannot fail.
            let _ = tree.register_mo(root, Arc::new(ddf), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mo::devinfo::DevInfo;
    use crate::tree::{CommandCtx, DmTime, ItemValue};

    fn tree() -> DmTree {
        let mut t = DmTree::default();
        let info = DevInfo {
            dev_id: "IMEI:1".into(),
            man: "m".into(),
            model: "x".into(),
            dm_v: "1.2".into(),
            lang: "en".into(),
        };
        info.install(&mut t, DmTime(1)).unwrap();
        crate::mo::dmacc::install(&mut t, Layout::Dm12, DmTime(1)).unwrap();
        t
    }

    #[test]
    fn save_load_round_trip_and_mos_registered() {
        let dir = tempfile::tempdir().unwrap();
        let store = TreeStore::new(dir.path().join("tree.json"));
        assert!(store.open().unwrap().is_none());
        let t = tree();
        store.save(&t).unwrap();
        let back = store.open().unwrap().unwrap();
        assert_eq!(back.snapshot(), t.snapshot());
        // DevInfo's DDF is registered again: a server may not Replace its Get-only leaves.
        let mut back = back;
        let ctx = CommandCtx { server_id: "s", now: DmTime(2) };
        assert!(back.replace(&ctx, "./DevInfo/Man", &ItemValue::new("y")).is_err());
        assert_eq!(back.text("./DevInfo/Man"), Some("m"));
    }

    #[test]
    fn saves_the_state_before_an_open_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let store = TreeStore::new(dir.path().join("tree.json"));
        let mut t = tree();
        let before = t.snapshot();
        t.begin_atomic().unwrap();
        t.local(DmTime(2)).set_text("./New", "1").unwrap();
        store.save(&t).unwrap();
        assert_eq!(store.load().unwrap(), Some(before));
        t.commit().unwrap();
        store.save(&t).unwrap();
        assert_eq!(store.open().unwrap().unwrap().text("./New"), Some("1"));
    }

    #[test]
    fn a_torn_temporary_file_leaves_the_previous_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = TreeStore::new(dir.path().join("tree.json"));
        let t = tree();
        store.save(&t).unwrap();
        // A crash while writing the next state leaves a partial .tmp beside the file.
        fs::write(store.tmp_path(), b"{\"version\":1,\"limi").unwrap();
        assert_eq!(store.load().unwrap(), Some(t.snapshot()));
        let mut t2 = t.clone_tree();
        t2.local(DmTime(3)).set_text("./X", "2").unwrap();
        store.save(&t2).unwrap();
        assert_eq!(store.open().unwrap().unwrap().text("./X"), Some("2"));
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = TreeStore::new(dir.path().join("tree.json"));
        fs::write(store.path(), b"{\"version\":1}").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Format { .. })));
        fs::write(store.path(), br#"{"version":1,"limits":{"max_depth":0},"nodes":{}}"#).unwrap();
        assert!(store.load().is_err());
    }

    trait CloneTree {
        fn clone_tree(&self) -> DmTree;
    }
    impl CloneTree for DmTree {
        fn clone_tree(&self) -> DmTree {
            let mut t = DmTree::from_snapshot(self.snapshot()).unwrap();
            register_standard_mos(&mut t);
            t
        }
    }
}
