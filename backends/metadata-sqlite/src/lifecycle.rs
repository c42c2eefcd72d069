//! [`LifecycleStore`] on SQLite: retention by size, the objects garbage collection deletes,
//! compaction's index swap and storage statistics.

use async_trait::async_trait;
use streamhouse_core::clock::now_ms;
use streamhouse_core::fencing::check_swap;
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::stored::StoredRow;
use streamhouse_core::{
    CompactionSwap, Lease, LifecycleStore, MetadataError, OrphanCandidate, RestoredObject,
    StoredBatch, SwapBatch, TenantId, TopicId, TopicInfo, TopicStorage,
};

use crate::error::meta;
use crate::index::json_rows;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl LifecycleStore for SqliteMetadataStore {
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
        let now = now_ms();
        sqlx::query(include_str!("../queries/lifecycle/mark_unreferenced.sql"))
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        sqlx::query_scalar(include_str!(
            "../queries/lifecycle/unreferenced_objects.sql"
        ))
        .bind(now.saturating_sub(grace_ms))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(meta)
    }

    async fn forget_object(&self, object_key: &str) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/index/forget_object.sql"))
            .bind(object_key)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn claim_orphans(
        &self,
        tenant: &TenantId,
        candidates: &[OrphanCandidate],
        grace_ms: i64,
    ) -> MetadataResult<Vec<String>> {
        let mut tx = self.write_tx().await?;
        // Under the write lock: this process's clock is the store's.
        let now = now_ms();
        let mut claimed = Vec::new();
        for c in candidates {
            if c.key_time_ms > now.saturating_sub(grace_ms) {
                continue;
            }
            let key: Option<String> =
                sqlx::query_scalar(include_str!("../queries/lifecycle/claim_orphan.sql"))
                    .bind(&c.object_key)
                    .bind(tenant.as_str())
                    .bind(stored_i64(c.size, "object size")?)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(meta)?;
            claimed.extend(key);
        }
        tx.commit().await.map_err(meta)?;
        Ok(claimed)
    }

    async fn compaction_candidates(
        &self,
        min_batches: u64,
        min_bytes: u64,
    ) -> MetadataResult<Vec<(TopicId, u32)>> {
        let rows = sqlx::query(include_str!(
            "../queries/lifecycle/compaction_candidates.sql"
        ))
        .bind(stored_i64(min_batches, "batches")?)
        .bind(stored_i64(min_bytes, "bytes")?)
        .fetch_all(&self.reads)
        .await
        .map_err(meta)?;
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
        let rows = sqlx::query(include_str!("../queries/lifecycle/partition_batches.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(stored_i64(from_offset, "offset")?)
            .bind(i64::from(limit))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| StoredBatch::decode(&Row(r))).collect()
    }

    async fn swap_batches(&self, s: &CompactionSwap) -> MetadataResult<()> {
        let (start, end) = (
            stored_i64(s.start_offset, "offset")?,
            stored_i64(s.end_offset, "offset")?,
        );
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let lease = sqlx::query(include_str!("../queries/leases/get.sql"))
            .bind(s.lease.key.topic_id)
            .bind(i64::from(s.lease.key.partition))
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?
            .map(|r| Lease::decode(&s.lease.key, &Row(&r)))
            .transpose()?;
        let found = sqlx::query(include_str!("../queries/lifecycle/swap_rows.sql"))
            .bind(s.topic_id)
            .bind(i64::from(s.partition))
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
        let object_id: i64 =
            sqlx::query_scalar(include_str!("../queries/lifecycle/insert_compacted.sql"))
                .bind(&s.object_key)
                .bind(s.tenant.as_str())
                .bind(stored_i64(s.object_size, "object size")?)
                .bind(&s.lease.holder)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(meta)?;
        sqlx::query(include_str!("../queries/lifecycle/swap_delete.sql"))
            .bind(s.topic_id)
            .bind(i64::from(s.partition))
            .bind(start)
            .bind(end)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        let batches = s.batches.iter().map(|b| (s.topic_id, s.partition, b));
        insert_batches(&mut tx, object_id, batches).await?;
        tx.commit().await.map_err(meta)
    }

    async fn storage_stats(&self) -> MetadataResult<Vec<TopicStorage>> {
        let rows = sqlx::query(include_str!("../queries/lifecycle/storage_stats.sql"))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| TopicStorage::decode(&Row(r))).collect()
    }

    async fn known_objects(&self) -> MetadataResult<Vec<(String, bool)>> {
        let rows = sqlx::query(include_str!("../queries/lifecycle/known_objects.sql"))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter()
            .map(|r| {
                let row = Row(r);
                Ok((row.text("key")?, row.int("referenced")? != 0))
            })
            .collect()
    }

    async fn restore_topic(&self, t: &TopicInfo) -> MetadataResult<()> {
        let spec = &t.spec;
        let mut tx = self.write_tx().await?;
        sqlx::query(include_str!("../queries/lifecycle/restore_topic.sql"))
            .bind(t.id)
            .bind(spec.tenant.as_str())
            .bind(spec.name.as_str())
            .bind(i64::from(spec.partitions))
            .bind(spec.retention_ms)
            .bind(spec.compression.name())
            .bind(spec.retention_bytes)
            .bind(spec.cleanup_policy.name())
            .bind(spec.delete_retention_ms)
            .bind(t.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| MetadataError::topic_exists(&spec.name)))?;
        sqlx::query(include_str!("../queries/topics/create_partitions.sql"))
            .bind(t.id)
            .bind(spec.tenant.as_str())
            .bind(i64::from(spec.partitions))
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn restore_object(&self, o: &RestoredObject) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        let object_id: i64 =
            sqlx::query_scalar(include_str!("../queries/lifecycle/restore_object.sql"))
                .bind(&o.object_key)
                .bind(o.tenant.as_str())
                .bind(stored_i64(o.object_size, "object size")?)
                .bind(&o.writer)
                .bind(now_ms())
                .bind(i64::from(o.compacted))
                .fetch_one(&mut *tx)
                .await
                .map_err(meta)?;
        let batches = o.batches.iter().map(|(t, p, b)| (*t, *p, b));
        insert_batches(&mut tx, object_id, batches).await?;
        tx.commit().await.map_err(meta)
    }

    async fn restore_partition(
        &self,
        topic_id: TopicId,
        partition: u32,
        log_start_offset: u64,
        high_watermark: u64,
    ) -> MetadataResult<()> {
        let done = sqlx::query(include_str!("../queries/lifecycle/restore_partition.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(stored_i64(log_start_offset, "offset")?)
            .bind(stored_i64(high_watermark, "offset")?)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        match done.rows_affected() {
            0 => Err(MetadataError::no_partition(topic_id, partition)),
            _ => Ok(()),
        }
    }
}

/// Inserts the index rows of a compacted or restored object's batches, in one statement.
async fn insert_batches<'a>(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    object_id: i64,
    batches: impl Iterator<Item = (TopicId, u32, &'a SwapBatch)>,
) -> MetadataResult<()> {
    let rows = batches
        .map(|(topic_id, partition, b)| {
            Ok([
                topic_id,
                i64::from(partition),
                stored_i64(b.base_offset, "offset")?,
                stored_i64(b.end_offset, "offset")?,
                stored_i64(b.position, "position")?,
                i64::from(b.size),
                b.max_timestamp_ms,
            ])
        })
        .collect::<MetadataResult<Vec<_>>>()?;
    let doc = format!(r#"{{"object":{object_id},"batches":{}}}"#, json_rows(rows));
    sqlx::query(include_str!("../queries/index/insert_batches.sql"))
        .bind(doc)
        .execute(&mut **tx)
        .await
        .map_err(meta)?;
    Ok(())
}
