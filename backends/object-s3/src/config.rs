//! `[object_store]` options of the `s3` backend.

use serde::Deserialize;

/// Options of `backend = "s3"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// Bucket name; required (`S3_BUCKET` sets it). For S3 Express One Zone, the directory
    /// bucket's name (`name--usw2-az1--x-s3`), which the AWS SDK recognises (untested here:
    /// no directory-bucket server runs on the test machines).
    pub bucket: String,
    /// Key prefix inside the bucket, so several clusters can share one. Default none.
    pub prefix: String,
    /// AWS region. Default: the environment's (`AWS_REGION`, profile, instance metadata).
    pub region: Option<String>,
    /// Endpoint URL for S3-compatible servers (SeaweedFS, MinIO, ...). Default: AWS.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need.
    /// Default false.
    pub force_path_style: bool,
    /// Storage class of new objects, such as `STANDARD` or `INTELLIGENT_TIERING`. Default:
    /// the bucket's.
    pub storage_class: Option<String>,
    /// Server-side encryption: `AES256` or `aws:kms`. Default: the bucket's.
    pub server_side_encryption: Option<String>,
    /// KMS key for `server_side_encryption = "aws:kms"`. Default: the AWS-managed key.
    pub sse_kms_key_id: Option<String>,
    /// Longest one request attempt may take. Default 10000 ms.
    pub attempt_timeout_ms: u64,
    /// Longest an operation may take, all retries included. Default 30000 ms.
    pub operation_timeout_ms: u64,
    /// Attempts per operation: throttling, 5xx and timeouts are retried with exponential
    /// backoff and jitter; other errors are not. Default 5.
    pub max_attempts: u32,
    /// Objects at least this large are uploaded in parts. Default 64 MiB.
    pub multipart_threshold_bytes: usize,
    /// Part size of multipart uploads (at least 5 MiB). Default 16 MiB.
    pub multipart_part_bytes: usize,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            prefix: String::new(),
            region: None,
            endpoint: None,
            force_path_style: false,
            storage_class: None,
            server_side_encryption: None,
            sse_kms_key_id: None,
            attempt_timeout_ms: 10_000,
            operation_timeout_ms: 30_000,
            max_attempts: 5,
            multipart_threshold_bytes: 64 << 20,
            multipart_part_bytes: 16 << 20,
        }
    }
}
