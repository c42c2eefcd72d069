//! [`MeteredObjectStore`]: every object-store call counted and timed by operation.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::{Usage, operations};
use crate::object::{ObjectKey, ObjectMeta, ObjectResult, ObjectStore, PutMode};

operations! {
    /// An object-store operation, as [`MeteredObjectStore`] counts it.
    pub enum ObjectOp ("object") {
        /// [`ObjectStore::put`]: a PUT (a class A operation on most clouds).
        Put => "put",
        /// [`ObjectStore::get`].
        Get => "get",
        /// [`ObjectStore::get_range`].
        GetRange => "get_range",
        /// [`ObjectStore::head`].
        Head => "head",
        /// [`ObjectStore::delete`].
        Delete => "delete",
        /// [`ObjectStore::list`]: one call, which may be several pages.
        List => "list",
    }
}

/// Counts of every object-store operation.
pub type ObjectStoreUsage = Usage<ObjectOp>;

/// An [`ObjectStore`] that counts the requests and bytes passing through to another.
#[derive(Debug)]
pub struct MeteredObjectStore {
    inner: Arc<dyn ObjectStore>,
    usage: Arc<ObjectStoreUsage>,
}

impl MeteredObjectStore {
    /// Counts `inner`'s traffic into `usage`.
    pub fn new(inner: Arc<dyn ObjectStore>, usage: Arc<ObjectStoreUsage>) -> Self {
        Self { inner, usage }
    }
}

fn none<T>(_: &T) -> u64 {
    0
}

fn length(b: &Bytes) -> u64 {
    b.len() as u64
}

#[async_trait]
impl ObjectStore for MeteredObjectStore {
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()> {
        let len = data.len() as u64;
        let put = self.inner.put(key, data, mode);
        self.usage
            .call(ObjectOp::Put, Some(key.as_str()), |_| len, put)
            .await
    }

    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes> {
        let get = self.inner.get(key);
        self.usage
            .call(ObjectOp::Get, Some(key.as_str()), length, get)
            .await
    }

    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes> {
        let get = self.inner.get_range(key, range);
        self.usage
            .call(ObjectOp::GetRange, Some(key.as_str()), length, get)
            .await
    }

    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta> {
        let head = self.inner.head(key);
        self.usage
            .call(ObjectOp::Head, Some(key.as_str()), none, head)
            .await
    }

    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()> {
        let delete = self.inner.delete(key);
        self.usage
            .call(ObjectOp::Delete, Some(key.as_str()), none, delete)
            .await
    }

    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>> {
        let list = self.inner.list(prefix);
        self.usage.call(ObjectOp::List, prefix, none, list).await
    }
}
