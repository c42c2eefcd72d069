//! The Azure Blob store: `object_store`'s Azure client, configured from `[object_store]`,
//! behind the shared adapter with this backend's error mapping.

use std::sync::Arc;
use std::time::Duration;

use object_store::azure::MicrosoftAzureBuilder;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, RetryConfig};
use streamhouse_core::registry::BuildError;
use streamhouse_object_adapter::ObjectStoreAdapter;

use crate::config::AzureConfig;
use crate::error::map;

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
        ObjectStoreAdapter::new(Arc::new(store), map)
    } else {
        ObjectStoreAdapter::new(Arc::new(PrefixStore::new(store, prefix)), map)
    })
}
