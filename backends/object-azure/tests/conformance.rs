//! The core object-store conformance suite against Azurite, the Azure Blob emulator started
//! by `scripts/services.sh`, under a fresh prefix of the test container per test.

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_object_azure::{AzureConfig, build};

async fn make() -> (Arc<dyn ObjectStore>, ()) {
    let container = std::env::var("STREAMHOUSE_TEST_AZURE_CONTAINER").unwrap_or_else(|_| {
        panic!("STREAMHOUSE_TEST_AZURE_CONTAINER is not set: run scripts/test.sh, or `source scripts/services.sh`")
    });
    let cfg = AzureConfig {
        container,
        use_emulator: true,
        prefix: format!("conformance/{}", uuid::Uuid::new_v4().simple()),
        ..AzureConfig::default()
    };
    (Arc::new(build(&cfg).expect("Azure store")), ())
}

streamhouse_core::object_store_conformance!(make());
