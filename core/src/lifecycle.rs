//! Storage housekeeping in the metadata store: retention by size, the objects garbage
//! collection deletes (unreferenced ones, after a grace period, and orphans found in the
//! bucket), compaction's index swap, and what each topic stores.

use async_trait::async_trait;

use crate::lease::Lease;
use crate::metadata::{BatchIndexEntry, MetadataResult};
use crate::types::{TenantId, TopicId, TopicInfo, TopicName};

/// A new key for an object of `tenant`, and the time in it (ms since the epoch, this
/// process's clock): `tenants/<tenant>/objects/<UUIDv7>.sho`. UUIDv7 keys sort by creation
/// time, and the time they carry is what orphan collection and the commit deadline measure
/// an object's age by.
pub fn new_object_key(tenant: &TenantId) -> (String, i64) {
    let id = uuid::Uuid::now_v7();
    let key = format!("tenants/{tenant}/objects/{id}.sho");
    (key, uuid_time_ms(&id).unwrap_or(0))
}

/// The tenant and key time of an object key as [`new_object_key`] makes them; `None` for any
/// other key (which garbage collection never touches).
pub fn parse_object_key(key: &str) -> Option<(TenantId, i64)> {
    let rest = key.strip_prefix("tenants/")?;
    let (tenant, file) = rest.split_once("/objects/")?;
    let id = uuid::Uuid::parse_str(file.strip_suffix(".sho")?).ok()?;
    Some((TenantId::new(tenant).ok()?, uuid_time_ms(&id)?))
}

/// Milliseconds since the epoch in a UUIDv7.
fn uuid_time_ms(id: &uuid::Uuid) -> Option<i64> {
    if id.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    i64::try_from(secs * 1000 + u64::from(nanos / 1_000_000)).ok()
}

/// Housekeeping of the offset index and the objects it references.
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// Retention by size: drops a partition's oldest batches until the rest hold at most
    /// `max_bytes` (always keeping the newest batch, as Kafka keeps the active segment), and
    /// raises the log start offset to the first batch kept. Returns the new log start offset.
    async fn expire_to_size(
        &self,
        topic_id: TopicId,
        partition: u32,
        max_bytes: u64,
    ) -> MetadataResult<u64>;

    /// Up to `limit` objects that no index row has referenced for at least `grace_ms` (all
    /// their batches expired or were compacted into other objects, their topics were deleted,
    /// or they are claimed orphans), ready to be deleted from the store. Objects found
    /// unreferenced for the first time are stamped with the store's clock, so the grace period
    /// starts then: a reader that found an object in the index a moment before has that long
    /// to read it.
    async fn unreferenced_objects(&self, grace_ms: i64, limit: u32) -> MetadataResult<Vec<String>>;

    /// Forgets an object deleted from the object store; a no-op if it is referenced again or
    /// unknown.
    async fn forget_object(&self, object_key: &str) -> MetadataResult<()>;

    /// Claims objects found in the bucket that the store does not know (orphans: written by a
    /// flush whose commit failed or never came), so that they can be deleted: each candidate
    /// whose key time is at least `grace_ms` old on the store's clock and that has no object
    /// row gets one, recorded as unreferenced. A commit of a claimed object is refused, and so
    /// is any commit past its deadline, so a claimed object is never referenced. Returns the
    /// keys claimed.
    async fn claim_orphans(
        &self,
        tenant: &TenantId,
        candidates: &[OrphanCandidate],
        grace_ms: i64,
    ) -> MetadataResult<Vec<String>>;

    /// The partitions compaction may have work in: those with at least `min_batches` index
    /// rows, or `min_bytes`, in flush objects (not yet compacted), by topic id and partition.
    /// Reads only the flush objects' rows (a partial index), however large the index is.
    async fn compaction_candidates(
        &self,
        min_batches: u64,
        min_bytes: u64,
    ) -> MetadataResult<Vec<(TopicId, u32)>>;

    /// Up to `limit` index rows of a partition from `from_offset` on, in offset order, with
    /// what compaction needs to know of their objects.
    async fn partition_batches(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<StoredBatch>>;

    /// Replaces a partition's index rows over `[swap.start_offset, swap.end_offset)` with the
    /// batches of a compacted object, in one transaction that first checks the compaction
    /// job's lease (else `Fenced`) and that the rows are still exactly `swap.replaced` (else
    /// `Conflict`: retention or another compaction changed them). The replaced objects become
    /// unreferenced when no other row points at them, and are deleted after the grace period.
    async fn swap_batches(&self, swap: &CompactionSwap) -> MetadataResult<()>;

    /// Stored bytes, object counts and the compaction backlog of every topic that has any, by
    /// tenant and topic name.
    async fn storage_stats(&self) -> MetadataResult<Vec<TopicStorage>>;

    /// Every object the store knows, by key, with whether an index row references it.
    async fn known_objects(&self) -> MetadataResult<Vec<(String, bool)>>;

    /// Rebuilding metadata from a bucket: creates a topic (with its partitions at offset 0)
    /// under the id and creation time it had, which its objects' batches carry. Ids are never
    /// reused: later topics get higher ones. `AlreadyExists` if the id or name is taken.
    async fn restore_topic(&self, topic: &TopicInfo) -> MetadataResult<()>;

    /// Rebuilding metadata: records an object found in the bucket with the index rows of the
    /// batches chosen from it.
    async fn restore_object(&self, object: &RestoredObject) -> MetadataResult<()>;

    /// Rebuilding metadata: sets a partition's log start offset and high watermark.
    async fn restore_partition(
        &self,
        topic_id: TopicId,
        partition: u32,
        log_start_offset: u64,
        high_watermark: u64,
    ) -> MetadataResult<()>;
}

/// An object found in the bucket, which may be an orphan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanCandidate {
    /// Its key.
    pub object_key: String,
    /// Its size.
    pub size: u64,
    /// The time in its key (when its writer named it), ms since the epoch.
    pub key_time_ms: i64,
}

/// An index row as compaction sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// Where it lives and what it spans.
    pub entry: BatchIndexEntry,
    /// Whether its object was written by compaction (one partition's batches) rather than
    /// by a flush.
    pub compacted: bool,
}

/// One batch of a compacted object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapBatch {
    /// First offset it spans.
    pub base_offset: u64,
    /// One past the last offset it spans (key compaction leaves fewer records than that).
    pub end_offset: u64,
    /// Position in the object.
    pub position: u64,
    /// Size in bytes.
    pub size: u32,
    /// Largest record timestamp.
    pub max_timestamp_ms: i64,
}

/// A compaction's index swap: the rows it replaces and the object that replaces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionSwap {
    /// Tenant owning the topic.
    pub tenant: TenantId,
    /// Topic incarnation.
    pub topic_id: TopicId,
    /// Partition.
    pub partition: u32,
    /// First offset replaced.
    pub start_offset: u64,
    /// One past the last offset replaced.
    pub end_offset: u64,
    /// `(base_offset, object_key)` of every row replaced, in offset order.
    pub replaced: Vec<(u64, String)>,
    /// The compacted object's key.
    pub object_key: String,
    /// Its size.
    pub object_size: u64,
    /// Its batches, covering `start_offset..end_offset` without gaps, in offset order.
    pub batches: Vec<SwapBatch>,
    /// The compaction job's lease, which must still be held.
    pub lease: Lease,
    /// As for a flush commit: the latest store time the swap may happen.
    pub deadline_ms: i64,
}

/// An object found in a bucket, as rebuilding metadata records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredObject {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Its key.
    pub object_key: String,
    /// Its size.
    pub object_size: u64,
    /// Who wrote it (from its header).
    pub writer: String,
    /// Written by compaction.
    pub compacted: bool,
    /// The batches chosen from it: topic id, partition, and where each lies.
    pub batches: Vec<(TopicId, u32, SwapBatch)>,
}

/// What a topic keeps in the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStorage {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Topic name.
    pub topic: TopicName,
    /// Bytes of its indexed batches.
    pub bytes: u64,
    /// Objects holding them.
    pub objects: u64,
    /// Index rows (batches).
    pub batches: u64,
    /// Bytes still in flush objects, waiting for compaction.
    pub backlog_bytes: u64,
    /// Flush objects holding them.
    pub backlog_objects: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_carry_their_tenant_and_time() {
        let tenant = TenantId::new("acme").unwrap();
        let before = crate::clock::now_ms();
        let (key, at) = new_object_key(&tenant);
        assert!(
            key.starts_with("tenants/acme/objects/") && key.ends_with(".sho"),
            "{key}"
        );
        assert!(
            at >= before && at <= crate::clock::now_ms() + 1,
            "{at} vs {before}"
        );
        assert_eq!(parse_object_key(&key), Some((tenant, at)));
        for other in [
            "tenants/acme/objects/x.sho",
            "tenants/acme/topics/1.json",
            "tenants/Acme/objects/0190b6c2-0000-7000-8000-000000000000.sho",
            "tenants/acme/objects/6ba7b810-9dad-11d1-80b4-00c04fd430c8.sho",
            "other/acme/objects/0190b6c2-0000-7000-8000-000000000000.sho",
        ] {
            assert_eq!(parse_object_key(other), None, "{other}");
        }
    }
}
