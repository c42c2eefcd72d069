//! `GcsObjectStore`: the core `ObjectStore` trait on Google Cloud Storage.
//!
//! Uploads and downloads go through the official `google-cloud-storage` client (JSON API
//! media endpoints, checksums, resumable uploads, its retry loop). That crate's
//! `StorageControl`, which owns metadata, listing and deletes, speaks only gRPC Storage v2, so
//! HEAD, LIST and DELETE are sent to the JSON API of the same service with the same
//! credentials: one protocol for everything, which emulators also serve.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use google_cloud_auth::credentials::{CacheableResource, Credentials};
use google_cloud_gax::backoff_policy::BackoffPolicy;
use google_cloud_gax::exponential_backoff::{ExponentialBackoff, ExponentialBackoffBuilder};
use google_cloud_gax::retry_policy::RetryPolicyExt;
use google_cloud_gax::retry_state::RetryState;
use google_cloud_storage::client::Storage;
use google_cloud_storage::model_ext::ReadRange;
use google_cloud_storage::retry_policy::RetryableErrors;
use reqwest::{Method, Url};
use serde::Deserialize;
use streamhouse_core::object::{KeyPrefix, ObjectResult, clamped_get_range};
use streamhouse_core::registry::BuildError;
use streamhouse_core::{ObjectKey, ObjectMeta, ObjectStore, ObjectStoreError, PutMode};

use crate::config::GcsConfig;
use crate::error::{from_status, map};

const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";

/// Objects in a GCS bucket, under an optional prefix.
#[derive(Debug, Clone)]
pub struct GcsObjectStore {
    storage: Storage,
    http: reqwest::Client,
    credentials: Credentials,
    /// `<endpoint>/storage/v1/b/<bucket>/o`, the JSON API's object collection.
    objects_url: Url,
    /// `projects/_/buckets/<bucket>`, as the storage client names buckets.
    bucket_path: String,
    prefix: KeyPrefix,
    storage_class: Option<String>,
    kms_key: Option<String>,
    attempt_timeout: Duration,
    operation_timeout: Duration,
    max_attempts: u32,
    backoff: Arc<ExponentialBackoff>,
}

impl GcsObjectStore {
    /// A store for `cfg.bucket`, with Application Default Credentials unless `anonymous`.
    pub async fn new(cfg: &GcsConfig) -> Result<Self, BuildError> {
        if cfg.bucket.is_empty() {
            return Err(BuildError(
                "[object_store] backend = \"gcs\" needs `bucket`".into(),
            ));
        }
        let endpoint = cfg
            .endpoint
            .as_deref()
            .unwrap_or(DEFAULT_ENDPOINT)
            .trim_end_matches('/');
        let mut objects_url = Url::parse(endpoint).map_err(|e| {
            BuildError(format!(
                "[object_store] gcs endpoint {endpoint:?} is not a URL: {e}"
            ))
        })?;
        objects_url
            .path_segments_mut()
            .map_err(|()| BuildError(format!("[object_store] gcs endpoint {endpoint:?}")))?
            .extend(["storage", "v1", "b", &cfg.bucket, "o"]);
        let credentials = if cfg.anonymous {
            google_cloud_auth::credentials::anonymous::Builder::new().build()
        } else {
            google_cloud_auth::credentials::Builder::default()
                .build()
                .map_err(|e| {
                    BuildError(format!(
                        "[object_store] gcs: no Application Default Credentials: {e}"
                    ))
                })?
        };
        let operation_timeout = Duration::from_millis(cfg.operation_timeout_ms);
        let max_attempts = cfg.max_attempts.max(1);
        // Streaming wants quick retries: 100 ms doubling to 2 s with full jitter, not the
        // client's default of 1 s doubling to 60 s.
        let backoff = ExponentialBackoffBuilder::new()
            .with_initial_delay(Duration::from_millis(100))
            .with_maximum_delay(Duration::from_secs(2))
            .with_scaling(2.0)
            .build()
            .map(Arc::new)
            .map_err(|e| BuildError(format!("[object_store] gcs backoff: {e}")))?;
        let storage = Storage::builder()
            .with_endpoint(endpoint)
            .with_credentials(credentials.clone())
            .with_retry_policy(
                RetryableErrors
                    .with_time_limit(operation_timeout)
                    .with_attempt_limit(max_attempts),
            )
            .with_backoff_policy(backoff.clone() as Arc<dyn BackoffPolicy>)
            .with_resumable_upload_threshold(cfg.resumable_threshold_bytes)
            .build()
            .await
            .map_err(|e| BuildError(format!("[object_store] gcs client: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.attempt_timeout_ms))
            .build()
            .map_err(|e| BuildError(format!("[object_store] gcs HTTP client: {e}")))?;
        Ok(Self {
            storage,
            http,
            credentials,
            objects_url,
            bucket_path: format!("projects/_/buckets/{}", cfg.bucket),
            prefix: KeyPrefix::new(&cfg.prefix),
            storage_class: cfg.storage_class.clone(),
            kms_key: cfg.kms_key.clone(),
            attempt_timeout: Duration::from_millis(cfg.attempt_timeout_ms),
            operation_timeout,
            max_attempts,
            backoff,
        })
    }

    /// The JSON API URL of one object; its name is a single, escaped path segment.
    fn object_url(&self, full: &str) -> Url {
        let mut url = self.objects_url.clone();
        url.path_segments_mut()
            .expect("checked to be a base URL in new()")
            .push(full);
        url
    }

    /// Reads a whole object, or `range` of it, through the storage client.
    async fn read(
        &self,
        full: &str,
        range: Option<&Range<u64>>,
        what: &str,
    ) -> ObjectResult<Bytes> {
        let mut req = self.storage.read_object(&self.bucket_path, full);
        if let Some(r) = range {
            req = req.set_read_range(ReadRange::segment(r.start, r.end - r.start));
        }
        let mut resp = req.send().await.map_err(|e| map(what, e))?;
        let mut buf = BytesMut::new();
        while let Some(chunk) = resp.next().await {
            buf.extend_from_slice(&chunk.map_err(|e| map(what, e))?);
        }
        Ok(buf.freeze())
    }

    /// One JSON API call, retried on throttling, 5xx, timeouts and connection errors with
    /// exponential backoff and jitter, within the attempt and operation limits.
    async fn json_call(
        &self,
        method: Method,
        url: Url,
        what: &str,
    ) -> ObjectResult<reqwest::Response> {
        let deadline = Instant::now() + self.operation_timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.json_attempt(method.clone(), url.clone(), what).await {
                Ok(resp) => return Ok(resp),
                Err(e) if !e.is_retriable() => return Err(e),
                Err(e) => e,
            };
            let delay = self
                .backoff
                .on_failure(&RetryState::new(true).set_attempt_count(attempt));
            if attempt >= self.max_attempts || Instant::now() + delay >= deadline {
                return Err(err);
            }
            tracing::debug!(error = %err, attempt, ?delay, "retrying GCS request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn json_attempt(
        &self,
        method: Method,
        url: Url,
        what: &str,
    ) -> ObjectResult<reqwest::Response> {
        let headers = match self.credentials.headers(http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => data,
            Ok(CacheableResource::NotModified) => {
                return Err(ObjectStoreError::other(format!(
                    "{what}: credentials returned no headers"
                )));
            }
            Err(e) if e.is_transient() => {
                return Err(ObjectStoreError::unavailable_from(
                    format!("{what}: credentials"),
                    e,
                ));
            }
            Err(e) => {
                return Err(ObjectStoreError::other_from(
                    format!("{what}: credentials"),
                    e,
                ));
            }
        };
        let resp = self
            .http
            .request(method, url)
            .headers(headers)
            .timeout(self.attempt_timeout)
            .send()
            .await
            .map_err(|e| ObjectStoreError::unavailable_from(what, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().await.unwrap_or_default();
        let msg = format!("{what}: HTTP {status}: {}", body.trim());
        Err(from_status(status.as_u16(), msg))
    }

    async fn json<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        url: Url,
        what: &str,
    ) -> ObjectResult<T> {
        let resp = self.json_call(method, url, what).await?;
        resp.json().await.map_err(|e| {
            ObjectStoreError::unavailable_from(format!("{what}: reading the response"), e)
        })
    }
}

/// The fields of an object resource StreamHouse reads; GCS sends sizes as strings.
#[derive(Deserialize)]
struct ObjectResource {
    name: String,
    size: String,
}

impl ObjectResource {
    fn size(&self, what: &str) -> ObjectResult<u64> {
        self.size
            .parse()
            .map_err(|_| ObjectStoreError::other(format!("{what}: bad size {:?}", self.size)))
    }
}

/// One page of `objects.list`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectPage {
    #[serde(default)]
    items: Vec<ObjectResource>,
    next_page_token: Option<String>,
}

#[async_trait]
impl ObjectStore for GcsObjectStore {
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let full = self.prefix.full(key);
        // The checksum goes in the upload's metadata, up front: GCS refuses the object if the
        // bytes it receives differ, and no trailing checksum part is needed.
        let crc = crc32c::crc32c(&data);
        let mut req = self
            .storage
            .write_object(&self.bucket_path, &full, data)
            .with_known_crc32c(crc);
        if let Some(class) = &self.storage_class {
            req = req.set_storage_class(class.clone());
        }
        if let Some(kms) = &self.kms_key {
            req = req.set_kms_key(kms.clone());
        }
        req = match mode {
            // Generation 0 means "no live object": the create is atomic and safe to retry.
            PutMode::Create => req.set_if_generation_match(0),
            // Writing the same bytes again has the same outcome, so retries are safe.
            PutMode::Overwrite => req.with_idempotency(true),
        };
        req.send_unbuffered()
            .await
            .map(|_| ())
            .map_err(|e| map(&format!("PUT {full}"), e).for_put(mode))
    }

    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        let full = self.prefix.full(key);
        self.read(&full, None, &format!("GET {full}")).await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        clamped_get_range(self, key, range, |r| async move {
            let full = self.prefix.full(key);
            let what = format!("GET {full} bytes {}..{}", r.start, r.end);
            self.read(&full, Some(&r), &what).await
        })
        .await
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        let full = self.prefix.full(key);
        let what = format!("HEAD {full}");
        let mut url = self.object_url(&full);
        url.query_pairs_mut().append_pair("fields", "name,size");
        let o: ObjectResource = self.json(Method::GET, url, &what).await?;
        Ok(ObjectMeta {
            key: key.clone(),
            size: o.size(&what)?,
        })
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        let full = self.prefix.full(key);
        match self
            .json_call(
                Method::DELETE,
                self.object_url(&full),
                &format!("DELETE {full}"),
            )
            .await
        {
            Ok(_) | Err(ObjectStoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        let full_prefix = self.prefix.listing(prefix);
        let what = format!("LIST {full_prefix}");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = self.objects_url.clone();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("prefix", &full_prefix)
                    .append_pair("fields", "items(name,size),nextPageToken");
                if let Some(t) = &token {
                    q.append_pair("pageToken", t);
                }
            }
            let page: ObjectPage = self.json(Method::GET, url, &what).await?;
            for o in &page.items {
                let Some(k) = self.prefix.strip(&o.name) else {
                    continue;
                };
                out.push(ObjectMeta {
                    key: ObjectKey::new(k)?,
                    size: o.size(&what)?,
                });
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
