//! `ObjectStoreAdapter`: the core `ObjectStore` trait over any store of the `object_store`
//! crate — its local and in-memory stores here, its Azure store in `object-azure`.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore as _, PutOptions, PutPayload};
use streamhouse_core::object::ObjectResult;
use streamhouse_core::registry::BuildError;
use streamhouse_core::{ObjectKey, ObjectMeta, ObjectStore, ObjectStoreError, PutMode};

/// The core trait over an `object_store` store: a local directory, memory, Azure Blob.
#[derive(Debug, Clone)]
pub struct ObjectStoreAdapter {
    inner: Arc<dyn object_store::ObjectStore>,
}

impl ObjectStoreAdapter {
    /// A store rooted at `root`, which is created if missing.
    pub fn open(root: &FsPath) -> Result<Self, BuildError> {
        std::fs::create_dir_all(root)
            .map_err(|e| BuildError(format!("cannot create directory {}: {e}", root.display())))?;
        let fs = LocalFileSystem::new_with_prefix(root)
            .map_err(|e| BuildError(format!("cannot use directory {}: {e}", root.display())))?
            // Remove directories left empty by deletes, as object stores have no directories.
            .with_automatic_cleanup(true);
        Ok(Self {
            inner: Arc::new(fs),
        })
    }

    /// Adapts any `object_store` store.
    pub fn wrap(inner: Arc<dyn object_store::ObjectStore>) -> Self {
        Self { inner }
    }

    /// A store in process memory, gone when the process ends.
    pub fn memory() -> Self {
        Self {
            inner: Arc::new(InMemory::new()),
        }
    }
}

fn path(key: &ObjectKey) -> ObjectResult<Path> {
    Path::parse(key.as_str()).map_err(|e| ObjectStoreError::InvalidInput(e.to_string()))
}

fn map_err(e: object_store::Error) -> ObjectStoreError {
    use object_store::Error as E;
    match e {
        E::NotFound { path, .. } => ObjectStoreError::NotFound(path),
        E::AlreadyExists { path, .. } => ObjectStoreError::AlreadyExists(path),
        E::Precondition { path, .. } => ObjectStoreError::Precondition(path),
        E::InvalidPath { source } => ObjectStoreError::InvalidInput(source.to_string()),
        E::NotSupported { source } => ObjectStoreError::NotSupported(source.to_string()),
        E::NotImplemented => ObjectStoreError::NotSupported("not implemented".into()),
        E::JoinError { source } => ObjectStoreError::Unavailable(source.to_string()),
        other => ObjectStoreError::Other(other.to_string()),
    }
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
            .put_opts(&path(key)?, PutPayload::from_bytes(data), opts)
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        let r = self.inner.get(&path(key)?).await.map_err(map_err)?;
        r.bytes().await.map_err(map_err)
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        let p = path(key)?;
        if range.start > range.end {
            return Err(ObjectStoreError::InvalidRange(format!(
                "{}..{} of {key}",
                range.start, range.end
            )));
        }
        let want = range.end - range.start;
        let result = if want == 0 {
            // No request for nothing, but a missing object is still NotFound.
            self.inner.head(&p).await.map(|_| Bytes::new())
        } else {
            self.inner.get_range(&p, range.clone()).await
        };
        match result {
            Ok(b) if b.len() as u64 == want => Ok(b),
            // `object_store` clamps ranges past the end, as S3 does; the trait refuses them.
            Ok(_) => Err(ObjectStoreError::InvalidRange(format!(
                "{}..{} is past the end of {key}",
                range.start, range.end
            ))),
            Err(e @ object_store::Error::NotFound { .. }) => Err(map_err(e)),
            Err(e) => match self.inner.head(&p).await {
                Ok(meta) if range.end > meta.size => Err(ObjectStoreError::InvalidRange(format!(
                    "{}..{} is past the end of {key} ({} bytes)",
                    range.start, range.end, meta.size
                ))),
                _ => Err(map_err(e)),
            },
        }
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        let m = self.inner.head(&path(key)?).await.map_err(map_err)?;
        Ok(ObjectMeta {
            key: key.clone(),
            size: m.size,
        })
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        match self.inner.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        let prefix = prefix
            .map(|p| Path::parse(p).map_err(|e| ObjectStoreError::InvalidInput(e.to_string())))
            .transpose()?;
        let metas: Vec<object_store::ObjectMeta> = self
            .inner
            .list(prefix.as_ref())
            .try_collect()
            .await
            .map_err(map_err)?;
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
