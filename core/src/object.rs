//! The `ObjectStore` trait: where record batches live.
//!
//! Primitives only; conveniences belong in an extension trait. Every backend maps its own
//! errors onto [`ObjectStoreError`] so the agent can tell a lost race from an outage.

use std::fmt;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{BoxError, caused_constructors};

/// A key in the object store, relative to the backend's configured root or prefix.
///
/// Keys are `/`-separated, never start with `/`, and never contain `..` segments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self, ObjectStoreError> {
        let key = key.into();
        if key.is_empty()
            || key.starts_with('/')
            || key.ends_with('/')
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(ObjectStoreError::InvalidInput(format!(
                "invalid object key {key:?}: use non-empty '/'-separated segments without '.' or '..'"
            )));
        }
        Ok(Self(key))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an object store knows about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
}

/// How a put treats an existing object: concurrency as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Fail with [`ObjectStoreError::AlreadyExists`] if the key exists.
    Create,
}

/// Errors of an object store, by kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectStoreError {
    /// No object at that key.
    #[error("object not found: {0}")]
    NotFound(String),
    /// A `PutMode::Create` lost to an existing object.
    #[error("object already exists: {0}")]
    AlreadyExists(String),
    /// A conditional request's precondition did not hold.
    #[error("precondition failed: {0}")]
    Precondition(String),
    /// A range outside the object.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// The request itself is malformed (bad key, bad config).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The backend cannot do this.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// The store is unreachable, overloaded or failed; retrying may succeed.
    #[error("object store unavailable: {message}")]
    Unavailable {
        /// What failed: the operation and key, and why.
        message: String,
        /// The underlying error, such as the SDK's.
        #[source]
        source: Option<BoxError>,
    },
    /// Anything else.
    #[error("object store error: {message}")]
    Other {
        /// What failed: the operation and key, and why.
        message: String,
        /// The underlying error, such as the SDK's.
        #[source]
        source: Option<BoxError>,
    },
}

caused_constructors!(ObjectStoreError);

impl ObjectStoreError {
    /// Whether retrying the same request may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(self, ObjectStoreError::Unavailable { .. })
    }

    /// For a put in `mode`: a failed precondition of a [`PutMode::Create`] means the key
    /// exists, which backends that only see "precondition failed" report as `AlreadyExists`.
    pub fn for_put(self, mode: PutMode) -> Self {
        match (self, mode) {
            (ObjectStoreError::Precondition(m), PutMode::Create) => {
                ObjectStoreError::AlreadyExists(m)
            }
            (e, _) => e,
        }
    }
}

/// Result of object-store operations.
pub type ObjectResult<T> = Result<T, ObjectStoreError>;

/// An object store: S3, GCS, Azure Blob, local disk, memory.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug + 'static {
    /// Stores `data` at `key`; with [`PutMode::Create`], fails if the key exists.
    async fn put(&self, key: &ObjectKey, data: Bytes, mode: PutMode) -> ObjectResult<()>;

    /// Reads the whole object.
    async fn get(&self, key: &ObjectKey) -> ObjectResult<Bytes>;

    /// Reads the bytes `range` of an object; a range past its end is `InvalidRange`.
    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> ObjectResult<Bytes>;

    /// Size and key of one object.
    async fn head(&self, key: &ObjectKey) -> ObjectResult<ObjectMeta>;

    /// Removes an object; removing a missing object is not an error.
    async fn delete(&self, key: &ObjectKey) -> ObjectResult<()>;

    /// Every object whose key starts with `prefix` followed by `/` (or every object when
    /// `prefix` is `None`), sorted by key.
    async fn list(&self, prefix: Option<&str>) -> ObjectResult<Vec<ObjectMeta>>;
}

/// The key prefix a cloud store keeps StreamHouse's objects under inside its bucket or
/// container (the `prefix` option), so that several clusters can share one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// The configured prefix; `/` around it are ignored, and an empty one is the bucket root.
    pub fn new(prefix: &str) -> Self {
        match prefix.trim_matches('/') {
            "" => Self(String::new()),
            p => Self(format!("{p}/")),
        }
    }

    /// The bucket key of `key`.
    pub fn full(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.0, key.as_str())
    }

    /// The bucket prefix a listing of `prefix` (every object when `None`) asks for.
    pub fn listing(&self, prefix: Option<&str>) -> String {
        match prefix {
            Some(p) => format!("{}{}/", self.0, p.trim_end_matches('/')),
            None => self.0.clone(),
        }
    }

    /// The StreamHouse key of a listed bucket key, or `None` for a key outside the prefix.
    pub fn strip<'a>(&self, full: &'a str) -> Option<&'a str> {
        full.strip_prefix(&self.0)
    }
}

/// `get_range` for stores whose ranged GET cannot ask for an empty range and clamps one that
/// runs past the end of the object (S3, GCS): checks the range, answers an empty one with a
/// `head` (so a missing object is still `NotFound`), and refuses a short body as
/// `InvalidRange`, as the trait requires. `fetch` does the ranged GET.
pub async fn clamped_get_range<S, F, Fut>(
    store: &S,
    key: &ObjectKey,
    range: Range<u64>,
    fetch: F,
) -> ObjectResult<Bytes>
where
    S: ObjectStore + ?Sized,
    F: FnOnce(Range<u64>) -> Fut,
    Fut: std::future::Future<Output = ObjectResult<Bytes>>,
{
    if range.start > range.end {
        return Err(ObjectStoreError::InvalidRange(format!(
            "{}..{} of {key}",
            range.start, range.end
        )));
    }
    if range.is_empty() {
        store.head(key).await?;
        return Ok(Bytes::new());
    }
    let (start, end) = (range.start, range.end);
    let body = fetch(range).await?;
    if body.len() as u64 != end - start {
        return Err(ObjectStoreError::InvalidRange(format!(
            "bytes {start}..{end} of {key}: past the end of the object"
        )));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefixes_map_keys_both_ways() {
        let k = ObjectKey::new("tenants/a/objects/1.sho").unwrap();
        for (configured, full) in [
            ("", "tenants/a/objects/1.sho"),
            ("/", "tenants/a/objects/1.sho"),
            ("e2e", "e2e/tenants/a/objects/1.sho"),
            ("/e2e/x/", "e2e/x/tenants/a/objects/1.sho"),
        ] {
            let p = KeyPrefix::new(configured);
            assert_eq!(p.full(&k), full, "{configured:?}");
            assert_eq!(p.strip(full), Some(k.as_str()), "{configured:?}");
        }
        let p = KeyPrefix::new("e2e");
        assert_eq!(p.listing(None), "e2e/");
        assert_eq!(p.listing(Some("tenants/a/")), "e2e/tenants/a/");
        assert_eq!(p.strip("other/tenants/a"), None);
        assert_eq!(KeyPrefix::new("").listing(Some("t")), "t/");
    }

    #[test]
    fn keys_reject_traversal() {
        assert!(ObjectKey::new("t/default/objects/a.sho").is_ok());
        for bad in ["", "/a", "a/", "a//b", "a/../b", "./a"] {
            assert!(
                matches!(ObjectKey::new(bad), Err(ObjectStoreError::InvalidInput(_))),
                "{bad}"
            );
        }
    }
}
