//! StreamHouse object store on Azure Blob Storage (kind `azure`).
//!
//! Built on the `object_store` crate's Azure backend rather than an Azure SDK: Microsoft's
//! `azure_storage_blobs` 0.21 is deprecated, and its successor `azure_storage_blob` 1.x takes
//! only Entra ID tokens or SAS URLs. `object_store` supports what StreamHouse needs —
//! conditional creates (`If-None-Match: *`), ranged reads, listing — with AKS workload
//! identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, which the
//! AKS webhook sets), managed identity, or an account key, retries with backoff on throttling
//! and 5xx, and the Azurite emulator for tests; and the local store already runs on it (both
//! through `streamhouse-object-adapter`).
//!
//! Objects live under `<prefix>/<key>` in the container; the agent's keys are
//! `tenants/<tenant>/objects/<uuid v7>.sho`.

mod config;
mod error;
mod store;

pub use config::AzureConfig;
pub use store::build;

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::ObjectStoreBackend;

inventory::submit! {
    ObjectStoreBackend {
        kind: "azure",
        // Each write is billed and takes tens of milliseconds: flush less often than locally.
        default_flush_interval_ms: 50,
        build: |section: BackendSection| Box::pin(async move {
            let cfg: AzureConfig = section.options()?;
            Ok(Arc::new(build(&cfg)?) as Arc<dyn ObjectStore>)
        }),
        check: streamhouse_core::registry::check_options::<AzureConfig>,
    }
}
