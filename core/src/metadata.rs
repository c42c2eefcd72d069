//! The metadata store, split by concern: topics, the offset index, consumer-group offsets,
//! cluster membership ([`ClusterStore`]), and tenants, keys and the audit log
//! ([`TenantStore`], [`AuditStore`]).
//!
//! [`MetadataStore`] is the sum of these small traits; a backend implements each.

use async_trait::async_trait;

pub use crate::accounts::AccountStore;
pub use crate::billing::BillingStore;
pub use crate::cluster::ClusterStore;
use crate::error::{BoxError, caused_constructors};
pub use crate::lifecycle::LifecycleStore;
pub use crate::tenancy::{AuditStore, TenantStore};
use crate::types::{
    PartitionInfo, TenantId, TopicId, TopicInfo, TopicName, TopicSettings, TopicSpec,
};
pub use crate::usage::UsageStore;

/// Errors of the metadata store, by kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The topic, partition or group does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A create lost to an existing item.
    #[error("{0}")]
    AlreadyExists(String),
    /// A commit whose lease epoch is no longer current: another agent leads the partition.
    #[error("fenced: {0}")]
    Fenced(String),
    /// A write that does not fit the current state (for example a batch that does not start
    /// at the partition's high watermark).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The store is unreachable or overloaded; retrying may succeed.
    #[error("metadata store unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The underlying error, such as the database driver's.
        #[source]
        source: Option<BoxError>,
    },
    /// Anything else.
    #[error("metadata store error: {message}")]
    Other {
        /// What failed.
        message: String,
        /// The underlying error, such as the database driver's.
        #[source]
        source: Option<BoxError>,
    },
}

caused_constructors!(MetadataError);

impl MetadataError {
    /// `instead` for an `AlreadyExists` (naming what exists rather than the constraint a
    /// database reported); any other error unchanged.
    pub fn when_exists(self, instead: impl FnOnce() -> MetadataError) -> Self {
        match self {
            MetadataError::AlreadyExists(_) => instead(),
            other => other,
        }
    }

    /// A failed statement of a SQL backend, of the kind the backend's `error.rs` found,
    /// keeping the driver's error as `source`.
    pub fn from_statement(
        kind: StatementFailure,
        backend: &str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        match kind {
            StatementFailure::AlreadyExists => MetadataError::AlreadyExists(e.to_string()),
            StatementFailure::Unavailable => MetadataError::unavailable_from(backend, e),
            StatementFailure::Other => MetadataError::other_from(backend, e),
        }
    }

    /// `AlreadyExists` for a topic name: the same words on every backend.
    pub fn topic_exists(name: &TopicName) -> Self {
        MetadataError::AlreadyExists(format!("topic {:?} already exists", name.as_str()))
    }

    /// `NotFound` for a topic name.
    pub fn no_topic(name: &TopicName) -> Self {
        MetadataError::NotFound(format!("topic {:?} does not exist", name.as_str()))
    }

    /// `Conflict` for a commit of an object that garbage collection claimed as an orphan
    /// (it may be deleted already, so it must never be referenced).
    pub fn collected(object_key: &str) -> Self {
        MetadataError::Conflict(format!(
            "object {object_key} was claimed by orphan collection before its commit; it is \
             never referenced"
        ))
    }

    /// `NotFound` for a partition of a topic incarnation.
    pub fn no_partition(topic_id: TopicId, partition: u32) -> Self {
        MetadataError::NotFound(format!(
            "partition {partition} of topic id {topic_id} does not exist"
        ))
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            MetadataError::Unavailable { .. }
                | MetadataError::Fenced(_)
                | MetadataError::Conflict(_)
        )
    }
}

/// Result of metadata operations.
pub type MetadataResult<T> = Result<T, MetadataError>;

/// What a failed statement of a SQL backend means to StreamHouse; each backend's `error.rs`
/// classifies its driver's errors (SQLSTATE codes, SQLite result codes) into these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFailure {
    /// A row with that key exists.
    AlreadyExists,
    /// Retrying may succeed: a lock, a timeout, a lost connection.
    Unavailable,
    /// Anything else.
    Other,
}

/// An offset, size or position as SQL stores it (signed 64-bit); `InvalidInput` past that.
pub fn stored_i64(v: u64, what: &str) -> MetadataResult<i64> {
    i64::try_from(v).map_err(|_| MetadataError::InvalidInput(format!("{what} {v} is out of range")))
}

/// A stored number that must fit `T` (offsets, sizes, partitions are never negative); a row
/// holding anything else is corrupt.
pub fn from_stored<T: TryFrom<i64>>(v: i64, what: &str) -> MetadataResult<T> {
    T::try_from(v).map_err(|_| MetadataError::other(format!("corrupt row: {what} is {v}")))
}

/// Topics and their partitions.
#[async_trait]
pub trait TopicStore: Send + Sync {
    /// Creates a topic with all its partitions at offset 0. `AlreadyExists` if the tenant has
    /// a topic of that name.
    async fn create_topic(&self, spec: &TopicSpec) -> MetadataResult<TopicInfo>;

    /// The topic `name` of `tenant`, or `NotFound`.
    async fn get_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo>;

    /// Topics of one tenant, or of every tenant when `tenant` is `None`, sorted by tenant and
    /// name.
    async fn list_topics(&self, tenant: Option<&TenantId>) -> MetadataResult<Vec<TopicInfo>>;

    /// Deletes a topic with its partitions, index rows, leases and group offsets. The objects
    /// stay until garbage collection. `NotFound` if there is no such topic.
    async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo>;

    /// Replaces a topic's retention and cleanup settings; `NotFound` if there is no such
    /// topic.
    async fn alter_topic(
        &self,
        tenant: &TenantId,
        name: &TopicName,
        settings: &TopicSettings,
    ) -> MetadataResult<TopicInfo>;
}

/// One batch of a flushed object, as the flusher commits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitBatch {
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
    /// Offset of the first record; must equal the partition's high watermark when the commit
    /// reaches it (batches of one partition are applied in the order given).
    pub base_offset: u64,
    /// Records in the batch.
    pub record_count: u32,
    /// Position of the batch in the object.
    pub position: u64,
    /// Size of the batch in bytes.
    pub size: u32,
    /// Largest record timestamp.
    pub max_timestamp_ms: i64,
    /// Lease epoch the writer held; the commit is fenced unless it is still current.
    pub leader_epoch: u64,
    /// Bytes of its records as produced (see [`crate::usage::record_usage_bytes`]): the
    /// ingress the commit meters.
    pub ingress_bytes: u64,
}

/// A flushed object and its batches, committed in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectCommit {
    /// Tenant owning the object.
    pub tenant: TenantId,
    /// The object's key.
    pub object_key: String,
    /// The object's size.
    pub object_size: u64,
    /// Lease holder that wrote it; every batch's partition lease must be held by it at the
    /// batch's epoch.
    pub holder: String,
    /// The batches.
    pub batches: Vec<CommitBatch>,
    /// Whether the commit also adds its batches' ingress to the tenant's usage, in the same
    /// transaction (usage metering on).
    pub meter: bool,
    /// The latest time (the store's clock, ms) the commit may happen: the time in the object's
    /// key plus the writers' commit deadline. Orphan collection deletes unreferenced objects
    /// only once they are older than that, so a commit refused here is what keeps it from
    /// referencing an object already collected.
    pub deadline_ms: i64,
}

impl ObjectCommit {
    /// The partitions the commit touches, each once, in key order: the order a backend locks
    /// their rows in, so concurrent commits never deadlock.
    pub fn partitions(&self) -> Vec<(TopicId, u32)> {
        let mut keys: Vec<_> = self
            .batches
            .iter()
            .map(|b| (b.topic_id, b.partition))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// Where one batch lives: what a fetch needs to read it with one ranged GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchIndexEntry {
    /// Object key.
    pub object_key: String,
    /// Size of the whole object, so a reader can read it in aligned chunks.
    pub object_size: u64,
    /// Position of the batch in the object.
    pub position: u64,
    /// Size of the batch in bytes.
    pub size: u32,
    /// Offset of the first record.
    pub base_offset: u64,
    /// Records in the batch.
    pub record_count: u32,
    /// Largest record timestamp.
    pub max_timestamp_ms: i64,
}

impl BatchIndexEntry {
    /// One past the last offset in the batch.
    pub fn end_offset(&self) -> u64 {
        self.base_offset + u64::from(self.record_count)
    }
}

/// The offset index: which byte range of which object holds each offset, and the high
/// watermarks.
#[async_trait]
pub trait IndexStore: Send + Sync {
    /// Records the index rows of every batch of a flushed object and advances the high
    /// watermarks, in one transaction that first checks, for every batch, that the
    /// partition's lease is held by `commit.holder` at `leader_epoch` (else `Fenced`) and that
    /// `base_offset` is the high watermark (else `Conflict`). On any error nothing changes.
    /// An object's batches may be committed in several calls (a writer whose commit was
    /// refused commits each partition's batches on their own, so a fenced partition fails
    /// only itself); the object is recorded once.
    async fn commit_object(&self, commit: &ObjectCommit) -> MetadataResult<()> {
        self.commit_objects(std::slice::from_ref(commit)).await
    }

    /// Commits several objects, in order, in ONE transaction, each checked as
    /// [`IndexStore::commit_object`] checks it (a later object's batches may continue an
    /// earlier one's partitions). All of them are committed or, on any error, none: a writer
    /// whose group was refused commits its objects one by one to learn which failed. One
    /// transaction costs one durable write of the database's log, however many objects it
    /// holds (group commit).
    async fn commit_objects(&self, commits: &[ObjectCommit]) -> MetadataResult<()>;

    /// Up to `limit` index entries of a partition, in offset order, starting with the batch
    /// that contains `from_offset`.
    async fn lookup(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<BatchIndexEntry>>;

    /// Log start and high watermark of every partition of a topic, by partition.
    async fn partition_offsets(&self, topic_id: TopicId) -> MetadataResult<Vec<PartitionInfo>>;

    /// Log start and high watermark of one partition; `NotFound` if it does not exist. The
    /// read path calls this per fetch, so it must not scale with the partition count.
    async fn partition_offset(
        &self,
        topic_id: TopicId,
        partition: u32,
    ) -> MetadataResult<PartitionInfo>;

    /// Retention: drops a partition's oldest batches whose records are all older than
    /// `cutoff_ms`, up to the first batch holding a newer record, and raises the log start
    /// offset to that batch (or to the high watermark when none is left). Returns the new log
    /// start offset.
    async fn expire_before(
        &self,
        topic_id: TopicId,
        partition: u32,
        cutoff_ms: i64,
    ) -> MetadataResult<u64>;

    /// Bytes of the indexed batches of each of a tenant's topics that has any, by topic id.
    async fn topic_bytes(&self, tenant: &TenantId) -> MetadataResult<Vec<(TopicId, u64)>>;
}

/// Committed offsets of consumer groups.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// Stores `(partition, offset)` pairs for `group` on a topic, replacing earlier ones.
    /// `NotFound` if a partition does not exist.
    async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
        offsets: &[(u32, u64)],
    ) -> MetadataResult<()>;

    /// The committed `(partition, offset)` pairs of `group` on a topic, by partition;
    /// partitions without a commit are absent.
    async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
    ) -> MetadataResult<Vec<(u32, u64)>>;

    /// Every committed offset of a tenant's consumer groups, by group, topic and partition.
    async fn group_offsets(&self, tenant: &TenantId) -> MetadataResult<Vec<GroupOffset>>;
}

/// One committed offset of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    /// The group.
    pub group: String,
    /// The topic incarnation.
    pub topic_id: TopicId,
    /// The partition.
    pub partition: u32,
    /// The next offset the group reads.
    pub committed: u64,
    /// When it was committed, ms since the epoch.
    pub updated_at_ms: i64,
}

/// How busy a store's connection pool (the writer's, for Aurora) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections lent out now.
    pub in_use: u32,
    /// Most connections the pool opens.
    pub max: u32,
}

/// Connection-pool figures, for monitoring.
pub trait PoolStats {
    /// The write pool's usage now (commits, leases and membership wait for it).
    fn pool_usage(&self) -> PoolUsage;
}

/// Everything the agent keeps in the metadata store.
pub trait MetadataStore:
    TopicStore
    + IndexStore
    + LifecycleStore
    + OffsetStore
    + ClusterStore
    + TenantStore
    + AuditStore
    + AccountStore
    + UsageStore
    + BillingStore
    + PoolStats
    + std::fmt::Debug
{
}

impl<T> MetadataStore for T where
    T: TopicStore
        + IndexStore
        + LifecycleStore
        + OffsetStore
        + ClusterStore
        + TenantStore
        + AuditStore
        + AccountStore
        + UsageStore
        + BillingStore
        + PoolStats
        + std::fmt::Debug
{
}
