//! Partition leases: at most one leader per partition, fenced by an epoch.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{BoxError, caused_constructors};
use crate::metadata::{MetadataError, StatementFailure};
use crate::types::{TenantId, TopicId};

/// What a lease is for: one partition of one topic incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseKey {
    /// Tenant owning the topic.
    pub tenant: TenantId,
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
}

impl fmt::Display for LeaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.tenant, self.topic_id, self.partition)
    }
}

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What it is for.
    pub key: LeaseKey,
    /// Who holds it (an agent id plus a per-process instance id).
    pub holder: String,
    /// Increases whenever the holder changes, never on renewal.
    pub epoch: u64,
    /// When it lapses, in the store's clock (milliseconds since the Unix epoch).
    pub expires_at_ms: i64,
}

/// Errors of the lease manager, by kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Someone else holds an unexpired lease.
    #[error("lease {key} is held by {holder} for another {remaining_ms} ms")]
    Held {
        /// The lease.
        key: String,
        /// Its holder.
        holder: String,
        /// Time until it lapses.
        remaining_ms: i64,
    },
    /// The caller's lease moved to another holder or epoch.
    #[error("lease {0} was lost")]
    Lost(String),
    /// The store is unreachable; retrying may succeed.
    #[error("lease store unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The underlying error, such as the database driver's.
        #[source]
        source: Option<BoxError>,
    },
    /// Anything else.
    #[error("lease store error: {message}")]
    Other {
        /// What failed.
        message: String,
        /// The underlying error, such as the database driver's.
        #[source]
        source: Option<BoxError>,
    },
}

caused_constructors!(LeaseError);

/// Result of lease operations.
pub type LeaseResult<T> = Result<T, LeaseError>;

/// Leases live in the metadata store: a store error reached while handling a lease keeps its
/// kind where a lease error has it (retriable or not) and its cause.
impl From<MetadataError> for LeaseError {
    fn from(e: MetadataError) -> Self {
        match e {
            MetadataError::Unavailable { message, source } => {
                LeaseError::Unavailable { message, source }
            }
            MetadataError::Other { message, source } => LeaseError::Other { message, source },
            other => LeaseError::other_from("metadata store", other),
        }
    }
}

impl LeaseError {
    /// A failed statement of a SQL backend, of the kind the backend's `error.rs` found,
    /// keeping the driver's error as `source`.
    pub fn from_statement(
        kind: StatementFailure,
        backend: &str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        match kind {
            StatementFailure::Unavailable => LeaseError::unavailable_from(backend, e),
            StatementFailure::AlreadyExists | StatementFailure::Other => {
                LeaseError::other_from(backend, e)
            }
        }
    }
}

/// A TTL in whole milliseconds, as lease stores keep expiry times.
pub fn ttl_millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// Grants, renews and releases leases. The clock is the store's, never the caller's.
#[async_trait]
pub trait LeaseManager: Send + Sync + fmt::Debug {
    /// Takes the lease if it is free, expired, or already held by `holder`. The epoch goes up
    /// by one when the holder changes and stays the same otherwise.
    async fn acquire(&self, key: &LeaseKey, holder: &str, ttl: Duration) -> LeaseResult<Lease>;

    /// Extends every unexpired lease `holder` holds by `ttl` from now, in one statement, and
    /// returns them: renewal costs one query however many partitions an agent leads, and
    /// takes no lock but the rows'. A lease that lapsed or moved is not renewed (and not
    /// returned); its holder must acquire it again.
    async fn renew_all(&self, holder: &str, ttl: Duration) -> LeaseResult<Vec<Lease>>;

    /// Gives a lease up at once, keeping its epoch; a lease no longer held is not an error.
    async fn release(&self, lease: &Lease) -> LeaseResult<()>;

    /// Gives every lease `holder` holds up at once, in one statement (graceful shutdown);
    /// returns how many it gave up.
    async fn release_all(&self, holder: &str) -> LeaseResult<u64>;

    /// The current lease of `key`, expired or not.
    async fn get(&self, key: &LeaseKey) -> LeaseResult<Option<Lease>>;
}
