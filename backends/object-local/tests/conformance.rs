//! The core object-store conformance suite on a temp directory and in memory.

use std::sync::Arc;

use streamhouse_core::ObjectStore;

/// In the target directory: `/tmp` may be a tmpfs, which refuses `O_DIRECT`.
fn disk_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

mod local {
    use super::*;

    async fn make() -> (Arc<dyn ObjectStore>, tempfile::TempDir) {
        let dir = disk_dir();
        let store =
            streamhouse_object_local::local(&dir.path().join("objects"), true, true).unwrap();
        (Arc::new(store), dir)
    }

    streamhouse_core::object_store_conformance!(make());
}

mod local_buffered {
    use super::*;

    async fn make() -> (Arc<dyn ObjectStore>, tempfile::TempDir) {
        let dir = disk_dir();
        let store =
            streamhouse_object_local::local(&dir.path().join("objects"), false, true).unwrap();
        (Arc::new(store), dir)
    }

    streamhouse_core::object_store_conformance!(make());
}

mod local_without_fsync {
    use super::*;

    async fn make() -> (Arc<dyn ObjectStore>, tempfile::TempDir) {
        let dir = disk_dir();
        let store =
            streamhouse_object_local::local(&dir.path().join("objects"), true, false).unwrap();
        (Arc::new(store), dir)
    }

    streamhouse_core::object_store_conformance!(make());
}

/// On a file system that takes them, writes are direct, and objects of any length (not only
/// whole blocks) read back exactly, with no staging file left behind or listed.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn direct_writes_keep_exact_lengths() {
    use streamhouse_core::{ObjectKey, PutMode};
    let dir = disk_dir();
    let store = streamhouse_object_local::local(&dir.path().join("objects"), true, true).unwrap();
    for len in [0usize, 1, 4095, 4096, 4097, 1 << 20, (1 << 20) + 3] {
        let key = ObjectKey::new(format!("t/o{len}")).unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        store
            .put(&key, data.clone().into(), PutMode::Create)
            .await
            .unwrap();
        assert_eq!(store.get(&key).await.unwrap(), data, "length {len}");
    }
    assert!(store.is_direct(), "the target directory takes O_DIRECT");
    let listed = store.list(Some("t")).await.unwrap();
    assert_eq!(listed.len(), 7);
    let files = std::fs::read_dir(dir.path().join("objects/t"))
        .unwrap()
        .count();
    assert_eq!(files, 7, "no staging file left");
}

mod memory {
    use super::*;

    async fn make() -> (Arc<dyn ObjectStore>, ()) {
        (Arc::new(streamhouse_object_local::memory()), ())
    }

    streamhouse_core::object_store_conformance!(make());
}

/// The metering wrapper the agent puts around every store passes the suite unchanged.
mod metered {
    use super::*;
    use streamhouse_core::metered::{MeteredObjectStore, ObjectStoreUsage};

    async fn make() -> (Arc<dyn ObjectStore>, ()) {
        let inner = Arc::new(streamhouse_object_local::memory());
        let usage = Arc::new(ObjectStoreUsage::default());
        (Arc::new(MeteredObjectStore::new(inner, usage)), ())
    }

    streamhouse_core::object_store_conformance!(make());
}

/// Requests, errors and bytes are counted per operation.
#[tokio::test]
async fn metering_counts_requests_errors_and_bytes() {
    use bytes::Bytes;
    use streamhouse_core::metered::{MeteredObjectStore, ObjectOp, ObjectStoreUsage, OpUsage};
    use streamhouse_core::{ObjectKey, PutMode};

    let usage = Arc::new(ObjectStoreUsage::default());
    let s = MeteredObjectStore::new(Arc::new(streamhouse_object_local::memory()), usage.clone());
    let k = ObjectKey::new("t/a/objects/1").unwrap();
    s.put(&k, Bytes::from(vec![0u8; 1000]), PutMode::Create)
        .await
        .unwrap();
    s.put(&k, Bytes::from(vec![0u8; 10]), PutMode::Create)
        .await
        .unwrap_err();
    s.get_range(&k, 100..400).await.unwrap();
    s.get(&k).await.unwrap();
    s.head(&k).await.unwrap();
    s.list(Some("t")).await.unwrap();
    s.delete(&k).await.unwrap();
    // Time is counted too, but not compared here: it varies from run to run.
    let got = |op| {
        let u: OpUsage = usage.get(op);
        (u.requests, u.errors, u.bytes)
    };
    assert_eq!(got(ObjectOp::Put), (2, 1, 1000));
    assert_eq!(got(ObjectOp::GetRange), (1, 0, 300));
    assert_eq!(got(ObjectOp::Get), (1, 0, 1000));
    assert_eq!(got(ObjectOp::Head), (1, 0, 0));
    assert_eq!(got(ObjectOp::List), (1, 0, 0));
    assert_eq!(got(ObjectOp::Delete), (1, 0, 0));
    assert_eq!(
        usage.snapshot().to_string(),
        "put=2 errors=1 bytes=1000 get=1 errors=0 bytes=1000 get_range=1 errors=0 bytes=300 \
         head=1 errors=0 bytes=0 delete=1 errors=0 bytes=0 list=1 errors=0 bytes=0"
    );
}
