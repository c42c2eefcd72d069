//! `[object_store]` options of the `gcs` backend.

use serde::Deserialize;

/// Options of `backend = "gcs"`. Credentials are Application Default Credentials: GKE
/// Workload Identity (the metadata server), `GOOGLE_APPLICATION_CREDENTIALS`, or the gcloud
/// user's; `anonymous` turns them off for an emulator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcsConfig {
    /// Bucket name; required.
    pub bucket: String,
    /// Key prefix inside the bucket. Default none.
    pub prefix: String,
    /// Service endpoint, for an emulator or a private endpoint. Default
    /// `https://storage.googleapis.com`.
    pub endpoint: Option<String>,
    /// Send no credentials, as emulators such as fake-gcs-server expect. Default false.
    pub anonymous: bool,
    /// Storage class of new objects, such as `STANDARD` or `NEARLINE`. Default: the bucket's.
    pub storage_class: Option<String>,
    /// Cloud KMS key of new objects (`projects/../cryptoKeys/..`). Default: the bucket's.
    pub kms_key: Option<String>,
    /// Longest one metadata request attempt (HEAD, LIST, DELETE) may take. Default 10000 ms.
    pub attempt_timeout_ms: u64,
    /// Longest an operation may take, all retries included; it also bounds each upload and
    /// download attempt. Default 30000 ms.
    pub operation_timeout_ms: u64,
    /// Attempts per operation: throttling (429), 408, 5xx, timeouts and I/O errors are
    /// retried with exponential backoff and jitter; other errors are not. Default 5.
    pub max_attempts: u32,
    /// Objects at least this large are sent as resumable uploads, smaller ones in one
    /// request. Default 64 MiB, well above the agent's objects (`write.flush_max_bytes`,
    /// 8 MiB by default), so they go in one request.
    pub resumable_threshold_bytes: usize,
}

impl Default for GcsConfig {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            prefix: String::new(),
            endpoint: None,
            anonymous: false,
            storage_class: None,
            kms_key: None,
            attempt_timeout_ms: 10_000,
            operation_timeout_ms: 30_000,
            max_attempts: 5,
            resumable_threshold_bytes: 64 << 20,
        }
    }
}
