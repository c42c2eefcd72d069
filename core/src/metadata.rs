//! The metadata store, split by concern: topics, the offset index, consumer-group offsets,
//! and cluster membership ([`ClusterStore`]).
//!
//! [`MetadataStore`] is the sum of these small traits; a backend implements each.

use async_trait::async_trait;

pub use crate::cluster::ClusterStore;
use crate::types::{PartitionInfo, TenantId, TopicId, TopicInfo, TopicName, TopicSpec};

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
    #[error("metadata store unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("metadata store error: {0}")]
    Other(String),
}

impl MetadataError {
    /// Whether retrying the same request may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            MetadataError::Unavailable(_) | MetadataError::Fenced(_) | MetadataError::Conflict(_)
        )
    }
}

/// Result of metadata operations.
pub type MetadataResult<T> = Result<T, MetadataError>;

/// An offset, size or position as SQL stores it (signed 64-bit); `InvalidInput` past that.
pub fn stored_i64(v: u64, what: &str) -> MetadataResult<i64> {
    i64::try_from(v).map_err(|_| MetadataError::InvalidInput(format!("{what} {v} is out of range")))
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
}

/// Where one batch lives: what a fetch needs to read it with one ranged GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchIndexEntry {
    /// Object key.
    pub object_key: String,
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
    async fn commit_object(&self, commit: &ObjectCommit) -> MetadataResult<()>;

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

    /// Up to `limit` committed objects that no index row references any more (all their
    /// batches expired or their topics were deleted), ready to be deleted from the store.
    async fn unreferenced_objects(&self, limit: u32) -> MetadataResult<Vec<String>>;

    /// Forgets an object deleted from the object store; a no-op if it is referenced again or
    /// unknown.
    async fn forget_object(&self, object_key: &str) -> MetadataResult<()>;
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
    /// The pool's usage now.
    fn pool_usage(&self) -> PoolUsage;
}

/// Everything the agent keeps in the metadata store.
pub trait MetadataStore:
    TopicStore + IndexStore + OffsetStore + ClusterStore + PoolStats + std::fmt::Debug
{
}

impl<T: TopicStore + IndexStore + OffsetStore + ClusterStore + PoolStats + std::fmt::Debug>
    MetadataStore for T
{
}
