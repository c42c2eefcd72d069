//! [`LifecycleStore`] of [`MeteredMetadataStore`]: storage housekeeping's calls, counted and
//! timed like the rest.

use async_trait::async_trait;

use super::{MetadataOp, MeteredMetadataStore, none};
use crate::lifecycle::{
    CompactionSwap, LifecycleStore, OrphanCandidate, RestoredObject, StoredBatch, TopicStorage,
};
use crate::metadata::MetadataResult;
use crate::types::{TenantId, TopicId, TopicInfo};

#[async_trait]
impl LifecycleStore for MeteredMetadataStore {
    async fn expire_to_size(
        &self,
        topic_id: TopicId,
        partition: u32,
        max_bytes: u64,
    ) -> MetadataResult<u64> {
        let call = self
            .inner
            .store
            .expire_to_size(topic_id, partition, max_bytes);
        metered!(self, ExpireToSize, call)
    }

    async fn unreferenced_objects(&self, grace_ms: i64, limit: u32) -> MetadataResult<Vec<String>> {
        let call = self.inner.store.unreferenced_objects(grace_ms, limit);
        metered!(self, UnreferencedObjects, call)
    }

    async fn forget_object(&self, object_key: &str) -> MetadataResult<()> {
        let call = self.inner.store.forget_object(object_key);
        let key = Some(object_key);
        self.usage
            .call(MetadataOp::ForgetObject, key, none, call)
            .await
    }

    async fn claim_orphans(
        &self,
        tenant: &TenantId,
        candidates: &[OrphanCandidate],
        grace_ms: i64,
    ) -> MetadataResult<Vec<String>> {
        let call = self.inner.store.claim_orphans(tenant, candidates, grace_ms);
        metered!(self, ClaimOrphans, call)
    }

    async fn compaction_candidates(
        &self,
        min_batches: u64,
        min_bytes: u64,
    ) -> MetadataResult<Vec<(TopicId, u32)>> {
        let call = self
            .inner
            .store
            .compaction_candidates(min_batches, min_bytes);
        metered!(self, CompactionCandidates, call)
    }

    async fn partition_batches(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<StoredBatch>> {
        let call = self
            .inner
            .store
            .partition_batches(topic_id, partition, from_offset, limit);
        metered!(self, PartitionBatches, call)
    }

    async fn swap_batches(&self, swap: &CompactionSwap) -> MetadataResult<()> {
        let call = self.inner.store.swap_batches(swap);
        let key = Some(swap.object_key.as_str());
        self.usage
            .call(MetadataOp::SwapBatches, key, none, call)
            .await
    }

    async fn storage_stats(&self) -> MetadataResult<Vec<TopicStorage>> {
        metered!(self, StorageStats, self.inner.store.storage_stats())
    }

    async fn known_objects(&self) -> MetadataResult<Vec<(String, bool)>> {
        metered!(self, KnownObjects, self.inner.store.known_objects())
    }

    async fn restore_topic(&self, topic: &TopicInfo) -> MetadataResult<()> {
        metered!(self, RestoreTopic, self.inner.store.restore_topic(topic))
    }

    async fn restore_object(&self, object: &RestoredObject) -> MetadataResult<()> {
        metered!(self, RestoreObject, self.inner.store.restore_object(object))
    }

    async fn restore_partition(
        &self,
        topic_id: TopicId,
        partition: u32,
        log_start_offset: u64,
        high_watermark: u64,
    ) -> MetadataResult<()> {
        let call = self.inner.store.restore_partition(
            topic_id,
            partition,
            log_start_offset,
            high_watermark,
        );
        metered!(self, RestorePartition, call)
    }
}
