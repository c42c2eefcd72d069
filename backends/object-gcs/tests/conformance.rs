//! The core object-store conformance suite against fake-gcs-server, the GCS emulator started
//! by `scripts/services.sh`, under a fresh prefix of the test bucket per test.

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_object_gcs::{GcsConfig, GcsObjectStore};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, or `source scripts/services.sh` first")
    })
}

async fn make() -> (Arc<dyn ObjectStore>, ()) {
    let cfg = GcsConfig {
        bucket: var("STREAMHOUSE_TEST_GCS_BUCKET"),
        endpoint: Some(var("STREAMHOUSE_TEST_GCS_ENDPOINT")),
        anonymous: true,
        prefix: format!("conformance/{}", uuid::Uuid::new_v4().simple()),
        ..GcsConfig::default()
    };
    (
        Arc::new(GcsObjectStore::new(&cfg).await.expect("GCS store")),
        (),
    )
}

streamhouse_core::object_store_conformance!(make());
