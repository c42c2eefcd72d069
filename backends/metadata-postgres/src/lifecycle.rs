//! [`LifecycleStore`] on PostgreSQL: retention by size, the objects garbage collection
//! deletes, compaction's index swap and storage statistics.

use async_trait::async_trait;
use streamhouse_core::fencing::check_swap;
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::stored::StoredRow;
use streamhouse_core::{
    CompactionSwap, Lease, LifecycleStore, MetadataError, OrphanCandidate, StoredBatch, TenantId,
    TopicId, TopicStorage,
};

use crate::error::meta;
use crate::index::column;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl LifecycleStore for PostgresMetadataStore {
    async fn expire_to_size(
        &self,
        topic_id: TopicId,
        partition: u32,
        max_bytes: u64,
    ) -> MetadataResult<u64> {
        let keep_from = include_str!("../queries/lifecycle/size_keep_from.sql");
        let max = stored_i64(max_bytes, "retention_bytes")?;
        self.trim(topic_id, partition, keep_from, max).await
    }

    async fn unreferenced_objects(&self, grace_ms: i64, limit: u32) -> MetadataResult<Vec<String>> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/lifecycle/mark_unreferenced.sql"))
            .execute(c.get())
            .await
            .map_err(meta)?;
        let keys = self
            .scalar(include_str!(
                "../queries/lifecycle/unreferenced_objects.sql"
            ))
            .bind(grace_ms)
            .bind(i64::from(limit))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        Ok(keys)
    }

    async fn forget_object(&self, object_key: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/index/forget_object.sql"))
            .bind(object_key)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }

    async fn claim_orphans(
        &self,
        tenant: &TenantId,
        candidates: &[OrphanCandidate],
        grace_ms: i64,
    ) -> MetadataResult<Vec<String>> {
        let mut c = self.conn(&self.writer).await?;
        let keys = self
            .scalar(include_str!("../queries/lifecycle/claim_orphans.sql"))
            .bind(tenant.as_str())
            .bind(column(candidates, |o| Ok(o.object_key.clone()))?)
            .bind(column(candidates, |o| stored_i64(o.size, "object size"))?)
            .bind(column(candidates, |o| Ok(o.key_time_ms))?)
            .bind(grace_ms)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        Ok(keys)
    }

    async fn partition_batches(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<StoredBatch>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/lifecycle/partition_batches.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(stored_i64(from_offset, "offset")?)
            .bind(i64::from(limit))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| StoredBatch::decode(&Row(r))).collect()
    }

    async fn swap_batches(&self, s: &CompactionSwap) -> MetadataResult<()> {
        let (start, end) = (
            stored_i64(s.start_offset, "offset")?,
            stored_i64(s.end_offset, "offset")?,
        );
        let mut tx = self.write_tx().await?;
        let now: i64 = self
            .scalar(include_str!("../queries/lifecycle/swap_lock.sql"))
            .bind(s.topic_id)
            .bind(s.partition as i32)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?
            .ok_or_else(|| MetadataError::no_partition(s.topic_id, s.partition))?;
        let lease = self
            .q(include_str!("../queries/lifecycle/swap_lease.sql"))
            .bind(s.lease.key.topic_id)
            .bind(s.lease.key.partition as i32)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?
            .map(|r| Lease::decode(&s.lease.key, &Row(&r)))
            .transpose()?;
        let found = self
            .q(include_str!("../queries/lifecycle/swap_rows.sql"))
            .bind(s.topic_id)
            .bind(s.partition as i32)
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx)
            .await
            .map_err(meta)?
            .iter()
            .map(|r| {
                let row = Row(r);
                Ok((
                    from_stored(row.int("base_offset")?, "offset")?,
                    row.text("key")?,
                ))
            })
            .collect::<MetadataResult<Vec<_>>>()?;
        check_swap(s, lease.as_ref(), &found, now)?;
        let object_id: i64 = self
            .scalar(include_str!("../queries/lifecycle/insert_compacted.sql"))
            .bind(&s.object_key)
            .bind(s.tenant.as_str())
            .bind(stored_i64(s.object_size, "object size")?)
            .bind(&s.lease.holder)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        self.q(include_str!("../queries/lifecycle/swap_delete.sql"))
            .bind(s.topic_id)
            .bind(s.partition as i32)
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        let b = &s.batches;
        self.q(include_str!("../queries/index/insert_batches.sql"))
            .bind(object_id)
            .bind(column(b, |_| Ok(s.topic_id))?)
            .bind(column(b, |_| Ok(s.partition as i32))?)
            .bind(column(b, |b| stored_i64(b.base_offset, "offset"))?)
            .bind(column(b, |b| stored_i64(b.end_offset, "offset"))?)
            .bind(column(b, |b| stored_i64(b.position, "position"))?)
            .bind(column(b, |b| Ok(b.size as i32))?)
            .bind(column(b, |b| Ok(b.max_timestamp_ms))?)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn storage_stats(&self) -> MetadataResult<Vec<TopicStorage>> {
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(include_str!("../queries/lifecycle/storage_stats.sql"))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| TopicStorage::decode(&Row(r))).collect()
    }
}
