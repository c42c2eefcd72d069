//! The core object-store conformance suite on a temp directory and in memory.

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_object_local::ObjectStoreAdapter;

mod local {
    use super::*;

    async fn make() -> (Arc<dyn ObjectStore>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStoreAdapter::open(&dir.path().join("objects")).unwrap();
        (Arc::new(store), dir)
    }

    streamhouse_core::object_store_conformance!(make());
}

mod memory {
    use super::*;

    async fn make() -> (Arc<dyn ObjectStore>, ()) {
        (Arc::new(ObjectStoreAdapter::memory()), ())
    }

    streamhouse_core::object_store_conformance!(make());
}
