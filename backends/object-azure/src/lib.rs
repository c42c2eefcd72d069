//! StreamHouse object store on Azure Blob Storage (kind `azure`).
//!
//! Built on the `object_store` crate's Azure backend rather than an Azure SDK: Microsoft's
//! `azure_storage_blobs` 0.21 is deprecated, and its successor `azure_storage_blob` 1.x takes
//! only Entra ID tokens or SAS URLs. `object_store` supports what StreamHouse needs —
//! conditional creates (`If-None-Match: *`), ranged reads, listing — with AKS workload
//! identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`, which the
//! AKS webhook sets), managed identity, or an account key, retries with backoff on throttling
//! and 5xx, and the Azurite emulator for tests; and the local store already runs on it.
//!
//! Objects live under `<prefix>/<key>` in the container; the agent's keys are
//! `tenants/<tenant>/objects/<uuid v7>.sho`.

mod config;

pub use config::AzureConfig;

use std::sync::Arc;
use std::time::Duration;

use object_store::azure::MicrosoftAzureBuilder;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, RetryConfig};
use streamhouse_core::ObjectStore;
use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::{BuildError, ObjectStoreBackend};
use streamhouse_object_local::ObjectStoreAdapter;

/// Builds the store a config describes.
pub fn build(cfg: &AzureConfig) -> Result<ObjectStoreAdapter, BuildError> {
    if cfg.container.is_empty() {
        return Err(BuildError(
            "[object_store] backend = \"azure\" needs `container`".into(),
        ));
    }
    // From the environment first: workload identity and managed identity variables.
    let mut b = MicrosoftAzureBuilder::from_env()
        .with_container_name(&cfg.container)
        .with_client_options(
            ClientOptions::new().with_timeout(Duration::from_millis(cfg.attempt_timeout_ms)),
        )
        .with_retry(RetryConfig {
            max_retries: cfg.max_retries,
            retry_timeout: Duration::from_millis(cfg.operation_timeout_ms),
            ..RetryConfig::default()
        });
    if cfg.use_emulator {
        b = b.with_use_emulator(true);
    } else if cfg.account.is_empty() {
        return Err(BuildError(
            "[object_store] backend = \"azure\" needs `account` (or use_emulator = true)".into(),
        ));
    }
    if !cfg.account.is_empty() {
        b = b.with_account(&cfg.account);
    }
    if let Some(key) = &cfg.access_key {
        b = b.with_access_key(key);
    }
    if let Some(endpoint) = &cfg.endpoint {
        b = b.with_endpoint(endpoint.clone()).with_allow_http(true);
    }
    let store = b
        .build()
        .map_err(|e| BuildError(format!("[object_store] azure: {e}")))?;
    let prefix = cfg.prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        ObjectStoreAdapter::wrap(Arc::new(store))
    } else {
        ObjectStoreAdapter::wrap(Arc::new(PrefixStore::new(store, prefix)))
    })
}

inventory::submit! {
    ObjectStoreBackend {
        kind: "azure",
        // Each write is billed and takes tens of milliseconds: flush less often than locally.
        default_flush_interval_ms: 50,
        build: |section: BackendSection| Box::pin(async move {
            let cfg: AzureConfig = section.options().map_err(|e| BuildError(e.to_string()))?;
            Ok(Arc::new(build(&cfg)?) as Arc<dyn ObjectStore>)
        }),
    }
}
