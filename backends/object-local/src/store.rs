//! The local and in-memory stores: `object_store`'s `LocalFileSystem` (with writes of its own,
//! see [`crate::direct`]) and `InMemory` behind the shared adapter.

use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use streamhouse_core::registry::BuildError;
use streamhouse_object_adapter::{ObjectStoreAdapter, map_common};

use crate::direct::LocalStore;

/// A store rooted at the directory `root`, which is created if missing; `direct_io` writes
/// objects with `O_DIRECT` where the file system allows it, `fsync` makes each put durable
/// before it returns.
pub fn local(root: &Path, direct_io: bool, fsync: bool) -> Result<LocalStore, BuildError> {
    std::fs::create_dir_all(root)
        .map_err(|e| BuildError(format!("cannot create directory {}: {e}", root.display())))?;
    let fs = LocalFileSystem::new_with_prefix(root)
        .map_err(|e| BuildError(format!("cannot use directory {}: {e}", root.display())))?
        // Remove directories left empty by deletes, as object stores have no directories.
        .with_automatic_cleanup(true);
    let inner = ObjectStoreAdapter::new(Arc::new(fs), map_common);
    remove_stale_staging(root, STALE_STAGING);
    Ok(LocalStore::new(root, inner, direct_io, fsync))
}

/// How old a staging file must be to be removed when a store opens: far longer than any
/// write, since agents on one machine may share a directory.
const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the staging files (`<key>#d<n>`) under `dir` older than `age`: a process killed
/// while it wrote an object leaves its staging file, which no listing shows.
fn remove_stale_staging(dir: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            remove_stale_staging(&path, age);
        } else if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("#d"))
            && meta
                .modified()
                .is_ok_and(|m| m.elapsed().is_ok_and(|a| a >= age))
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A store in process memory, gone when the process ends.
pub fn memory() -> ObjectStoreAdapter {
    ObjectStoreAdapter::new(Arc::new(InMemory::new()), map_common)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_staging_files_are_removed_and_objects_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("tenants/t/objects");
        std::fs::create_dir_all(&nested).unwrap();
        let staging = nested.join("a.sho#d1");
        let object = nested.join("b.sho");
        std::fs::write(&staging, b"partial").unwrap();
        std::fs::write(&object, b"whole").unwrap();
        remove_stale_staging(dir.path(), std::time::Duration::from_secs(3600));
        assert!(staging.exists(), "a young staging file may be a live write");
        remove_stale_staging(dir.path(), std::time::Duration::ZERO);
        assert!(!staging.exists());
        assert!(object.exists());
    }
}
