//! GCS-specific behaviour: an unreachable endpoint is reported as retriable after bounded
//! retries.
//!
//! Resumable uploads (objects at or above `resumable_threshold_bytes`, 64 MiB by default and
//! so never the agent's) are not exercised here: fake-gcs-server builds the upload session URL
//! from the Host header, which the official client sends without the port, so the session
//! URL it returns points nowhere. The conformance suite's 24 MiB object goes in one request.

use std::time::{Duration, Instant};

use bytes::Bytes;
use streamhouse_core::{ObjectKey, ObjectStore, ObjectStoreError, PutMode};
use streamhouse_object_gcs::{GcsConfig, GcsObjectStore};

/// Nothing listening: every operation fails as `Unavailable` once its retries are spent,
/// within the operation timeout.
#[tokio::test]
async fn unreachable_endpoint_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = GcsObjectStore::new(&GcsConfig {
        bucket: "nowhere".into(),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        anonymous: true,
        attempt_timeout_ms: 500,
        operation_timeout_ms: 3_000,
        max_attempts: 3,
        ..GcsConfig::default()
    })
    .await
    .unwrap();
    let key = ObjectKey::new("t/acme/objects/x").unwrap();
    let started = Instant::now();
    let put = store
        .put(&key, Bytes::from_static(b"x"), PutMode::Create)
        .await;
    assert!(
        matches!(put, Err(ObjectStoreError::Unavailable { .. })),
        "{put:?}"
    );
    let get = store.get(&key).await;
    assert!(
        matches!(get, Err(ObjectStoreError::Unavailable { .. })),
        "{get:?}"
    );
    let head = store.head(&key).await;
    assert!(
        matches!(head, Err(ObjectStoreError::Unavailable { .. })),
        "{head:?}"
    );
    let list = store.list(None).await;
    assert!(
        matches!(list, Err(ObjectStoreError::Unavailable { .. })),
        "{list:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
