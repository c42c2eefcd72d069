//! [`LifecycleStore`] on PostgreSQL: retention by size, the objects garbage collection
//! deletes, compaction's index swap and storage statistics.

use async_trait::async_trait;
use streamhouse_core::fencing::check_swap;
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::stored::StoredRow;
use streamhouse_core::{
    CompactionSwap, Lease, LifecycleStore, MetadataError, OrphanCandidate, RestoredObject,
    StoredBatch, SwapBatch, TenantId, TopicId, TopicInfo, TopicStorage,
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

    async fn compaction_candidates(
        &self,
        min_batches: u64,
        min_bytes: u64,
    ) -> MetadataResult<Vec<(TopicId, u32)>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!(
                "../queries/lifecycle/compaction_candidates.sql"
            ))
            .bind(stored_i64(min_batches, "batches")?)
            .bind(stored_i64(min_bytes, "bytes")?)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter()
            .map(|r| {
                let row = Row(r);
                Ok((row.int("topic_id")?, row.num("partition")?))
            })
            .collect()
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
        let batches: Vec<_> = s
            .batches
            .iter()
            .map(|b| (s.topic_id, s.partition, b))
            .collect();
        self.insert_batches(&mut tx, object_id, &batches).await?;
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

    async fn known_objects(&self) -> MetadataResult<Vec<(String, bool)>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/lifecycle/known_objects.sql"))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter()
            .map(|r| {
                let row = Row(r);
                Ok((row.text("key")?, row.int("referenced")? != 0))
            })
            .collect()
    }

    async fn restore_topic(&self, t: &TopicInfo) -> MetadataResult<()> {
        let spec = &t.spec;
        let partitions = i32::try_from(spec.partitions)
            .map_err(|_| MetadataError::InvalidInput(format!("{} partitions", spec.partitions)))?;
        let mut tx = self.write_tx().await?;
        self.q(include_str!("../queries/lifecycle/restore_topic.sql"))
            .bind(t.id)
            .bind(spec.tenant.as_str())
            .bind(spec.name.as_str())
            .bind(partitions)
            .bind(spec.retention_ms)
            .bind(spec.compression.name())
            .bind(spec.retention_bytes)
            .bind(spec.cleanup_policy.name())
            .bind(spec.delete_retention_ms)
            .bind(t.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| MetadataError::topic_exists(&spec.name)))?;
        self.q(include_str!("../queries/topics/create_partitions.sql"))
            .bind(t.id)
            .bind(spec.tenant.as_str())
            .bind(partitions)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        self.q(include_str!(
            "../queries/lifecycle/restore_topic_sequence.sql"
        ))
        .execute(&mut *tx)
        .await
        .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn restore_object(&self, o: &RestoredObject) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        let object_id: i64 = self
            .scalar(include_str!("../queries/lifecycle/restore_object.sql"))
            .bind(&o.object_key)
            .bind(o.tenant.as_str())
            .bind(stored_i64(o.object_size, "object size")?)
            .bind(&o.writer)
            .bind(o.compacted)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        let batches: Vec<_> = o.batches.iter().map(|(t, p, b)| (*t, *p, b)).collect();
        self.insert_batches(&mut tx, object_id, &batches).await?;
        tx.commit().await.map_err(meta)
    }

    async fn restore_partition(
        &self,
        topic_id: TopicId,
        partition: u32,
        log_start_offset: u64,
        high_watermark: u64,
    ) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        let done = self
            .q(include_str!("../queries/lifecycle/restore_partition.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(stored_i64(log_start_offset, "offset")?)
            .bind(stored_i64(high_watermark, "offset")?)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        match done.rows_affected() {
            0 => Err(MetadataError::no_partition(topic_id, partition)),
            _ => Ok(()),
        }
    }
}

impl PostgresMetadataStore {
    /// Inserts the index rows of a compacted or restored object's batches, in one statement.
    async fn insert_batches(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        object_id: i64,
        b: &[(TopicId, u32, &SwapBatch)],
    ) -> MetadataResult<()> {
        self.q(include_str!("../queries/index/insert_batches.sql"))
            .bind(object_id)
            .bind(column(b, |b| Ok(b.0))?)
            .bind(column(b, |b| Ok(b.1 as i32))?)
            .bind(column(b, |b| stored_i64(b.2.base_offset, "offset"))?)
            .bind(column(b, |b| stored_i64(b.2.end_offset, "offset"))?)
            .bind(column(b, |b| stored_i64(b.2.position, "position"))?)
            .bind(column(b, |b| Ok(b.2.size as i32))?)
            .bind(column(b, |b| Ok(b.2.max_timestamp_ms))?)
            .execute(&mut **tx)
            .await
            .map_err(meta)?;
        Ok(())
    }
}
