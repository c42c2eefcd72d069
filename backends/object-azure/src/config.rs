//! `[object_store]` options of the `azure` backend.

use serde::Deserialize;

/// Options of `backend = "azure"`. Credentials come from the environment: AKS workload
/// identity (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`), a managed
/// identity, or `access_key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureConfig {
    /// Storage account name; required unless `use_emulator`.
    pub account: String,
    /// Blob container; required.
    pub container: String,
    /// Key prefix inside the container. Default none.
    pub prefix: String,
    /// Account key, when not using an identity. Default none.
    pub access_key: Option<String>,
    /// Blob endpoint URL, for sovereign clouds or a private endpoint. Default: the public
    /// endpoint of `account`.
    pub endpoint: Option<String>,
    /// Use the Azurite emulator (`AZURITE_BLOB_STORAGE_URL`, default
    /// `http://127.0.0.1:10000`) with its development account. Default false.
    pub use_emulator: bool,
    /// Longest one request attempt may take. Default 10000 ms.
    pub attempt_timeout_ms: u64,
    /// Longest an operation may take with its retries. Default 30000 ms.
    pub operation_timeout_ms: u64,
    /// Retries of throttled, failed (5xx) or timed-out requests, with exponential backoff and
    /// jitter. Default 4.
    pub max_retries: usize,
}

impl Default for AzureConfig {
    fn default() -> Self {
        Self {
            account: String::new(),
            container: String::new(),
            prefix: String::new(),
            access_key: None,
            endpoint: None,
            use_emulator: false,
            attempt_timeout_ms: 10_000,
            operation_timeout_ms: 30_000,
            max_retries: 4,
        }
    }
}
