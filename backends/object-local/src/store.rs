//! The local and in-memory stores: `object_store`'s `LocalFileSystem` and `InMemory` behind
//! the shared adapter.

use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use streamhouse_core::registry::BuildError;
use streamhouse_object_adapter::{ObjectStoreAdapter, map_common};

/// A store rooted at the directory `root`, which is created if missing.
pub fn local(root: &Path) -> Result<ObjectStoreAdapter, BuildError> {
    std::fs::create_dir_all(root)
        .map_err(|e| BuildError(format!("cannot create directory {}: {e}", root.display())))?;
    let fs = LocalFileSystem::new_with_prefix(root)
        .map_err(|e| BuildError(format!("cannot use directory {}: {e}", root.display())))?
        // Remove directories left empty by deletes, as object stores have no directories.
        .with_automatic_cleanup(true);
    Ok(ObjectStoreAdapter::new(Arc::new(fs), map_common))
}

/// A store in process memory, gone when the process ends.
pub fn memory() -> ObjectStoreAdapter {
    ObjectStoreAdapter::new(Arc::new(InMemory::new()), map_common)
}
