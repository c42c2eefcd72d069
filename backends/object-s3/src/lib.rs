//! StreamHouse object store on Amazon S3 (kind `s3`) and S3-compatible servers, on
//! `aws-sdk-s3`; S3 Express One Zone directory buckets go through the SDK's own support.
//!
//! Credentials come from `aws-config`'s default chain: environment, profile, or web identity
//! (EKS IRSA). Objects live under `<prefix>/<key>`; the agent's keys are
//! `tenants/<tenant>/objects/<uuid v7>.sho`. `PutMode::Create` is a conditional write
//! (`If-None-Match: *`), also for multipart uploads. Every request has a timeout; throttling,
//! 5xx responses and timeouts are retried with exponential backoff and jitter by the SDK's
//! standard retry strategy, other errors are not.

mod config;
mod error;
mod store;

pub use config::S3Config;
pub use store::S3ObjectStore;

use std::sync::Arc;

use streamhouse_core::ObjectStore;
use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::ObjectStoreBackend;

inventory::submit! {
    ObjectStoreBackend {
        kind: "s3",
        // Each PUT is billed and takes tens of milliseconds: flush less often than locally.
        default_flush_interval_ms: 50,
        build: |section: BackendSection| Box::pin(async move {
            let cfg: S3Config = section.options()?;
            Ok(Arc::new(S3ObjectStore::new(&cfg).await?) as Arc<dyn ObjectStore>)
        }),
        check: streamhouse_core::registry::check_options::<S3Config>,
    }
}
