//! StreamHouse object store on Google Cloud Storage (kind `gcs`), on the official
//! `google-cloud-storage` crate.
//!
//! Credentials are Application Default Credentials: on GKE, Workload Identity through the
//! metadata server; elsewhere `GOOGLE_APPLICATION_CREDENTIALS` or the gcloud user. Objects
//! live under `<prefix>/<key>`; the agent's keys are `tenants/<tenant>/objects/<uuid v7>.sho`.
//! `PutMode::Create` is a conditional write (`ifGenerationMatch=0`). Every request has a
//! timeout; throttling, 408, 5xx, timeouts and I/O errors are retried with exponential
//! backoff and jitter, other errors are not.

mod config;
mod error;
mod store;

pub use config::GcsConfig;
pub use store::GcsObjectStore;

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::ObjectStoreBackend;

inventory::submit! {
    ObjectStoreBackend {
        kind: "gcs",
        // Each write is billed and takes tens of milliseconds: flush less often than locally.
        default_flush_interval_ms: 50,
        build: |section: BackendSection| Box::pin(async move {
            let cfg: GcsConfig = section.options()?;
            Ok(Arc::new(GcsObjectStore::new(&cfg).await?) as Arc<dyn ObjectStore>)
        }),
        check: streamhouse_core::registry::check_options::<GcsConfig>,
    }
}
