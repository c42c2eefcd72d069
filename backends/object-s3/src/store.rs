//! `S3ObjectStore`: the core `ObjectStore` trait on `aws-sdk-s3`.

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ServerSideEncryption, StorageClass,
};
use bytes::Bytes;
use streamhouse_core::object::{KeyPrefix, ObjectResult, clamped_get_range};
use streamhouse_core::registry::BuildError;
use streamhouse_core::{ObjectKey, ObjectMeta, ObjectStore, ObjectStoreError, PutMode};

use crate::config::S3Config;
use crate::error::map;

/// Objects in an S3 bucket (or an S3-compatible server), under an optional prefix.
#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    prefix: KeyPrefix,
    storage_class: Option<StorageClass>,
    sse: Option<ServerSideEncryption>,
    sse_kms_key_id: Option<String>,
    multipart_threshold: usize,
    part_size: usize,
}

impl S3ObjectStore {
    /// A store for `cfg.bucket`, with credentials from the default AWS chain.
    pub async fn new(cfg: &S3Config) -> Result<Self, BuildError> {
        if cfg.bucket.is_empty() {
            return Err(BuildError(
                "[object_store] backend = \"s3\" needs `bucket` (or S3_BUCKET)".into(),
            ));
        }
        if cfg.multipart_part_bytes < 5 << 20 {
            return Err(BuildError(
                "[object_store] multipart_part_bytes must be at least 5 MiB (S3's minimum)".into(),
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(cfg.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(cfg.attempt_timeout_ms))
                    .operation_timeout(Duration::from_millis(cfg.operation_timeout_ms))
                    .build(),
            );
        if let Some(region) = &cfg.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let shared = loader.load().await;
        if shared.region().is_none() {
            return Err(BuildError(
                "[object_store] no AWS region: set `region` or AWS_REGION".into(),
            ));
        }
        let mut conf =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(cfg.force_path_style);
        if let Some(endpoint) = &cfg.endpoint {
            conf = conf.endpoint_url(endpoint);
        }
        Ok(Self {
            client: Client::from_conf(conf.build()),
            bucket: cfg.bucket.clone(),
            prefix: KeyPrefix::new(&cfg.prefix),
            storage_class: cfg.storage_class.as_deref().map(StorageClass::from),
            sse: cfg
                .server_side_encryption
                .as_deref()
                .map(ServerSideEncryption::from),
            sse_kms_key_id: cfg.sse_kms_key_id.clone(),
            multipart_threshold: cfg.multipart_threshold_bytes,
            part_size: cfg.multipart_part_bytes,
        })
    }

    /// One GET, whole or of a byte range, with its body read.
    async fn get_object(
        &self,
        full: &str,
        range: Option<String>,
        what: &str,
    ) -> ObjectResult<Bytes> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(full)
            .set_range(range)
            .send()
            .await
            .map_err(|e| map(what, e))?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| ObjectStoreError::unavailable_from(what, e))?;
        Ok(body.into_bytes())
    }

    async fn put_multipart(&self, key: &str, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let what = format!("multipart PUT {key}");
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_storage_class(self.storage_class.clone())
            .set_server_side_encryption(self.sse.clone())
            .set_ssekms_key_id(self.sse_kms_key_id.clone())
            .send()
            .await
            .map_err(|e| map(&what, e))?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| ObjectStoreError::other(format!("{what}: no upload id")))?
            .to_owned();
        let result = self.upload_parts(key, &upload_id, data, mode, &what).await;
        if result.is_err() {
            // Best effort: an abandoned upload is also removed by a bucket lifecycle rule.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        data: Bytes,
        mode: PutMode,
        what: &str,
    ) -> ObjectResult<()> {
        let mut parts = Vec::new();
        for (i, start) in (0..data.len()).step_by(self.part_size).enumerate() {
            let end = (start + self.part_size).min(data.len());
            let number = i as i32 + 1;
            let part = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(data.slice(start..end)))
                .send()
                .await
                .map_err(|e| map(what, e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(part.e_tag().map(str::to_owned))
                    .build(),
            );
        }
        let mut complete = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        if mode == PutMode::Create {
            complete = complete.if_none_match("*");
        }
        complete
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map(what, e).for_put(mode))
    }
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let full = self.prefix.full(key);
        if data.len() >= self.multipart_threshold {
            return self.put_multipart(&full, data, mode).await;
        }
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .body(ByteStream::from(data))
            .set_storage_class(self.storage_class.clone())
            .set_server_side_encryption(self.sse.clone())
            .set_ssekms_key_id(self.sse_kms_key_id.clone());
        if mode == PutMode::Create {
            req = req.if_none_match("*");
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| map(&format!("PUT {full}"), e).for_put(mode))
    }

    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        let full = self.prefix.full(key);
        self.get_object(&full, None, &format!("GET {full}")).await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        clamped_get_range(self, key, range, |r| async move {
            let full = self.prefix.full(key);
            let what = format!("GET {full} bytes {}..{}", r.start, r.end);
            let range_header = format!("bytes={}-{}", r.start, r.end - 1);
            self.get_object(&full, Some(range_header), &what).await
        })
        .await
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        let full = self.prefix.full(key);
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| map(&format!("HEAD {full}"), e))?;
        Ok(ObjectMeta {
            key: key.clone(),
            size: out.content_length().unwrap_or(0).max(0) as u64,
        })
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        let full = self.prefix.full(key);
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match map(&format!("DELETE {full}"), e) {
                ObjectStoreError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        let full_prefix = self.prefix.listing(prefix);
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| map(&format!("LIST {full_prefix}"), e))?;
            for o in page.contents() {
                let Some(k) = o.key().and_then(|k| self.prefix.strip(k)) else {
                    continue;
                };
                out.push(ObjectMeta {
                    key: ObjectKey::new(k)?,
                    size: o.size().unwrap_or(0).max(0) as u64,
                });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
