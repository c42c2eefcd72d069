//! [`IndexStore`] on SQLite: the fenced commit, lookups, offsets, retention and the objects
//! garbage collection may delete.

use std::fmt::Write as _;

use async_trait::async_trait;
use streamhouse_core::clock::now_ms;
use streamhouse_core::fencing::{LockedPartition, check_commit};
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::{
    BatchIndexEntry, IndexStore, MetadataError, ObjectCommit, PartitionInfo, TopicId,
};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl IndexStore for SqliteMetadataStore {
    async fn commit_object(&self, c: &ObjectCommit) -> MetadataResult<()> {
        let keys: Vec<String> = c
            .partitions()
            .iter()
            .map(|(t, p)| format!("[{t},{p}]"))
            .collect();
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(include_str!("../queries/index/commit_lock.sql"))
            .bind(format!("[{}]", keys.join(",")))
            .fetch_all(&mut *tx)
            .await
            .map_err(meta)?;
        let locked = rows
            .iter()
            .map(|r| LockedPartition::decode(&Row(r)))
            .collect::<MetadataResult<Vec<_>>>()?;
        // The write lock is held: this process's clock is the store's. The rule holds or the
        // transaction is dropped (rolled back) with nothing written.
        let now = now_ms();
        let advances = check_commit(c, &locked, now)?;
        let object_id: i64 = sqlx::query_scalar(include_str!("../queries/index/insert_object.sql"))
            .bind(&c.object_key)
            .bind(c.tenant.as_str())
            .bind(stored_i64(c.object_size, "object size")?)
            .bind(&c.holder)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        // Numbers only, so the JSON is built without an encoder.
        let mut rows = String::with_capacity(c.batches.len() * 64);
        for (i, b) in c.batches.iter().enumerate() {
            let sep = if i == 0 { '[' } else { ',' };
            write!(
                rows,
                "{sep}[{},{},{},{},{},{},{}]",
                b.topic_id,
                b.partition,
                stored_i64(b.base_offset, "offset")?,
                stored_i64(b.base_offset + u64::from(b.record_count), "offset")?,
                stored_i64(b.position, "position")?,
                b.size,
                b.max_timestamp_ms
            )
            .expect("writing to a String");
        }
        rows.push(']');
        sqlx::query(include_str!("../queries/index/insert_batches.sql"))
            .bind(object_id)
            .bind(rows)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        if !advances.is_empty() {
            let mut hws = String::with_capacity(advances.len() * 32);
            for (i, a) in advances.iter().enumerate() {
                let sep = if i == 0 { '[' } else { ',' };
                write!(
                    hws,
                    "{sep}[{},{},{}]",
                    a.topic_id,
                    a.partition,
                    stored_i64(a.high_watermark, "offset")?
                )
                .expect("writing to a String");
            }
            hws.push(']');
            sqlx::query(include_str!("../queries/index/advance_high_watermarks.sql"))
                .bind(hws)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn lookup(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<BatchIndexEntry>> {
        let rows = sqlx::query(include_str!("../queries/index/lookup.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(stored_i64(from_offset, "offset")?)
            .bind(i64::from(limit))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter()
            .map(|r| BatchIndexEntry::decode(&Row(r)))
            .collect()
    }

    async fn partition_offset(
        &self,
        topic_id: TopicId,
        partition: u32,
    ) -> MetadataResult<PartitionInfo> {
        let row = sqlx::query(include_str!("../queries/index/partition_offset.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?;
        PartitionInfo::decode(&Row(
            &row.ok_or_else(|| MetadataError::no_partition(topic_id, partition))?
        ))
    }

    async fn partition_offsets(&self, topic_id: TopicId) -> MetadataResult<Vec<PartitionInfo>> {
        let rows = sqlx::query(include_str!("../queries/index/partition_offsets.sql"))
            .bind(topic_id)
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter()
            .map(|r| PartitionInfo::decode(&Row(r)))
            .collect()
    }

    async fn expire_before(
        &self,
        topic_id: TopicId,
        partition: u32,
        cutoff_ms: i64,
    ) -> MetadataResult<u64> {
        let mut tx = self.write_tx().await?;
        let keep_from: Option<i64> =
            sqlx::query_scalar(include_str!("../queries/index/expire_keep_from.sql"))
                .bind(topic_id)
                .bind(i64::from(partition))
                .bind(cutoff_ms)
                .fetch_optional(&mut *tx)
                .await
                .map_err(meta)?;
        let keep_from =
            keep_from.ok_or_else(|| MetadataError::no_partition(topic_id, partition))?;
        sqlx::query(include_str!("../queries/index/expire_batches.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(keep_from)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        let start: i64 = sqlx::query_scalar(include_str!("../queries/index/raise_log_start.sql"))
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(keep_from)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        from_stored(start, "log start offset")
    }

    async fn unreferenced_objects(&self, limit: u32) -> MetadataResult<Vec<String>> {
        sqlx::query_scalar(include_str!("../queries/index/unreferenced_objects.sql"))
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
}
