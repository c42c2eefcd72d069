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
    Ok(LocalStore::new(root, inner, direct_io, fsync))
}

/// A store in process memory, gone when the process ends.
pub fn memory() -> ObjectStoreAdapter {
    ObjectStoreAdapter::new(Arc::new(InMemory::new()), map_common)
}
