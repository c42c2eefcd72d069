//! The core object-store conformance suite against SeaweedFS, a real S3 API server started by
//! `scripts/services.sh` (which exports its address and credentials). Each test works under
//! a fresh prefix of the test bucket. Multipart uploads are forced for the large-object case
//! by a small threshold.

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_object_s3::{S3Config, S3ObjectStore};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, or `source scripts/services.sh` first")
    })
}

async fn make() -> (Arc<dyn ObjectStore>, ()) {
    let cfg = S3Config {
        bucket: var("STREAMHOUSE_TEST_S3_BUCKET"),
        endpoint: Some(var("STREAMHOUSE_TEST_S3_ENDPOINT")),
        force_path_style: true,
        prefix: format!("conformance/{}", uuid::Uuid::new_v4().simple()),
        multipart_threshold_bytes: 8 << 20,
        multipart_part_bytes: 5 << 20,
        ..S3Config::default()
    };
    (
        Arc::new(S3ObjectStore::new(&cfg).await.expect("S3 store")),
        (),
    )
}

streamhouse_core::object_store_conformance!(make());
