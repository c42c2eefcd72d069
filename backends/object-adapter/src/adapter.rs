//! `ObjectStoreAdapter`: the core trait over an `object_store` store.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore as _, PutOptions, PutPayload};
use streamhouse_core::object::{ObjectResult, clamped_get_range};
use streamhouse_core::{ObjectKey, ObjectMeta, ObjectStore, ObjectStoreError, PutMode};

/// Maps the errors of one kind of `object_store` store onto the core kinds.
pub type ErrorMapper = fn(object_store::Error) -> ObjectStoreError;

/// The core trait over an `object_store` store: a local directory, memory, Azure Blob.
#[derive(Debug, Clone)]
pub struct ObjectStoreAdapter {
    inner: Arc<dyn object_store::ObjectStore>,
    map_err: ErrorMapper,
}

impl ObjectStoreAdapter {
    /// Adapts `inner`, whose errors `map_err` knows.
    pub fn new(inner: Arc<dyn object_store::ObjectStore>, map_err: ErrorMapper) -> Self {
        Self { inner, map_err }
    }
}

/// The `object_store` path of a key or prefix.
fn path(key: &str) -> ObjectResult<Path> {
    Path::parse(key).map_err(|e| ObjectStoreError::InvalidInput(e.to_string()))
}

#[async_trait]
impl ObjectStore for ObjectStoreAdapter {
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let opts = PutOptions {
            mode: match mode {
                PutMode::Overwrite => object_store::PutMode::Overwrite,
                PutMode::Create => object_store::PutMode::Create,
            },
            ..PutOptions::default()
        };
        self.inner
            .put_opts(&path(key.as_str())?, PutPayload::from_bytes(data), opts)
            .await
            .map(|_| ())
            .map_err(|e| (self.map_err)(e).for_put(mode))
    }

    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        let r = self
            .inner
            .get(&path(key.as_str())?)
            .await
            .map_err(self.map_err)?;
        r.bytes().await.map_err(self.map_err)
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        let p = path(key.as_str())?;
        clamped_get_range(self, key, range, |r| async move {
            match self.inner.get_range(&p, r.clone()).await {
                Ok(b) => Ok(b),
                Err(e @ object_store::Error::NotFound { .. }) => Err((self.map_err)(e)),
                // The local store fails a range past the end with an I/O error: tell that
                // apart from a real failure by the object's size.
                Err(e) => match self.inner.head(&p).await {
                    Ok(meta) if r.end > meta.size => Err(ObjectStoreError::InvalidRange(format!(
                        "{}..{} is past the end of {key} ({} bytes)",
                        r.start, r.end, meta.size
                    ))),
                    _ => Err((self.map_err)(e)),
                },
            }
        })
        .await
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        let m = self
            .inner
            .head(&path(key.as_str())?)
            .await
            .map_err(self.map_err)?;
        Ok(ObjectMeta {
            key: key.clone(),
            size: m.size,
        })
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        match self.inner.delete(&path(key.as_str())?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err((self.map_err)(e)),
        }
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        let prefix = prefix.map(path).transpose()?;
        let metas: Vec<object_store::ObjectMeta> = self
            .inner
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(self.map_err)?;
        let mut out = metas
            .into_iter()
            .map(|m| {
                Ok(ObjectMeta {
                    key: ObjectKey::new(m.location.to_string())?,
                    size: m.size,
                })
            })
            .collect::<ObjectResult<Vec<_>>>()?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
