//! [`IndexStore`] on PostgreSQL: the fenced commit, lookups, offsets, retention and the
//! objects garbage collection may delete.

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, Transaction};
use streamhouse_core::fencing::{LockedPartition, check_commit};
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::stored::{StoredRow, topic_bytes};
use streamhouse_core::usage::{day_of, hour_of, ingress_by_topic};
use streamhouse_core::{
    BatchIndexEntry, IndexStore, MetadataError, ObjectCommit, PartitionInfo, TenantId, TopicId,
};

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

impl PostgresMetadataStore {
    async fn lookup_on(
        &self,
        pool: &PgPool,
        topic_id: TopicId,
        partition: u32,
        from: i64,
        limit: u32,
    ) -> MetadataResult<Vec<PgRow>> {
        let mut c = self.conn(pool).await?;
        let rows = self
            .q(include_str!("../queries/index/lookup.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(from)
            .bind(i64::from(limit))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        Ok(rows)
    }
}

impl PostgresMetadataStore {
    /// Retention: drops a partition's batches below the offset `keep_from` (a query of the
    /// topic id, partition and `limit` that locks the partition row) finds, and raises its
    /// log start offset to it, in one transaction. Returns the new log start offset.
    pub(crate) async fn trim(
        &self,
        topic_id: TopicId,
        partition: u32,
        keep_from: &str,
        limit: i64,
    ) -> MetadataResult<u64> {
        let mut tx = self.write_tx().await?;
        let keep_from: Option<i64> = self
            .scalar(keep_from)
            .bind(topic_id)
            .bind(partition as i32)
            .bind(limit)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let keep_from =
            keep_from.ok_or_else(|| MetadataError::no_partition(topic_id, partition))?;
        self.q(include_str!("../queries/index/expire_batches.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(keep_from)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        let start: i64 = self
            .scalar(include_str!("../queries/index/raise_log_start.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .bind(keep_from)
            .fetch_one(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        from_stored(start, "log start offset")
    }
}

/// Columns of one array per field, for statements over `UNNEST`ed arrays.
pub(crate) fn column<T, U>(
    items: &[T],
    f: impl Fn(&T) -> MetadataResult<U>,
) -> MetadataResult<Vec<U>> {
    items.iter().map(f).collect()
}

#[async_trait]
impl IndexStore for PostgresMetadataStore {
    async fn commit_objects(&self, commits: &[ObjectCommit]) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        for c in commits {
            self.commit_in(&mut tx, c).await?;
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
        let from = stored_i64(from_offset, "offset")?;
        let mut rows = self
            .lookup_on(self.reader(), topic_id, partition, from, limit)
            .await?;
        // A replica may lag the primary: if it does not have the batch holding the offset
        // yet, ask the primary.
        let covered = match rows.first() {
            Some(r) => Row(r).int("base_offset")? <= from,
            None => false,
        };
        if !covered && self.reader.is_some() {
            rows = self
                .lookup_on(&self.reads, topic_id, partition, from, limit)
                .await?;
        }
        rows.iter()
            .map(|r| BatchIndexEntry::decode(&Row(r)))
            .collect()
    }

    async fn partition_offsets(&self, topic_id: TopicId) -> MetadataResult<Vec<PartitionInfo>> {
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(include_str!("../queries/index/partition_offsets.sql"))
            .bind(topic_id)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter()
            .map(|r| PartitionInfo::decode(&Row(r)))
            .collect()
    }

    async fn partition_offset(
        &self,
        topic_id: TopicId,
        partition: u32,
    ) -> MetadataResult<PartitionInfo> {
        // From the primary: a new leader loads its next offset from this.
        let mut c = self.conn(&self.reads).await?;
        let row = self
            .q(include_str!("../queries/index/partition_offset.sql"))
            .bind(topic_id)
            .bind(partition as i32)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        PartitionInfo::decode(&Row(
            &row.ok_or_else(|| MetadataError::no_partition(topic_id, partition))?
        ))
    }

    async fn expire_before(
        &self,
        topic_id: TopicId,
        partition: u32,
        cutoff_ms: i64,
    ) -> MetadataResult<u64> {
        let keep_from = include_str!("../queries/index/expire_keep_from.sql");
        self.trim(topic_id, partition, keep_from, cutoff_ms).await
    }

    async fn topic_bytes(&self, tenant: &TenantId) -> MetadataResult<Vec<(TopicId, u64)>> {
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(include_str!("../queries/index/topic_bytes.sql"))
            .bind(tenant.as_str())
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| topic_bytes(&Row(r))).collect()
    }
}

impl PostgresMetadataStore {
    /// One object's part of a commit: fenced, then its rows, in the caller's transaction.
    async fn commit_in(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        c: &ObjectCommit,
    ) -> MetadataResult<()> {
        let keys = c.partitions();
        let rows = self
            .q(include_str!("../queries/index/commit_lock.sql"))
            .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
            .bind(keys.iter().map(|k| k.1 as i32).collect::<Vec<_>>())
            .fetch_all(&mut **tx)
            .await
            .map_err(meta)?;
        let now_ms = match rows.first() {
            Some(r) => Row(r).int("now_ms")?,
            None => 0,
        };
        let locked = rows
            .iter()
            .map(|r| LockedPartition::decode(&Row(r)))
            .collect::<MetadataResult<Vec<_>>>()?;
        // The rule holds or the transaction is dropped (rolled back) with nothing written.
        let advances = check_commit(c, &locked, now_ms)?;
        let object_id: i64 = self
            .scalar(include_str!("../queries/index/insert_object.sql"))
            .bind(&c.object_key)
            .bind(c.tenant.as_str())
            .bind(stored_i64(c.object_size, "object size")?)
            .bind(&c.holder)
            .fetch_optional(&mut **tx)
            .await
            .map_err(meta)?
            .ok_or_else(|| MetadataError::collected(&c.object_key))?;
        let b = &c.batches;
        self.q(include_str!("../queries/index/insert_batches.sql"))
            .bind(object_id)
            .bind(column(b, |b| Ok(b.topic_id))?)
            .bind(column(b, |b| Ok(b.partition as i32))?)
            .bind(column(b, |b| stored_i64(b.base_offset, "offset"))?)
            .bind(column(b, |b| {
                stored_i64(b.base_offset + u64::from(b.record_count), "offset")
            })?)
            .bind(column(b, |b| stored_i64(b.position, "position"))?)
            .bind(column(b, |b| Ok(b.size as i32))?)
            .bind(column(b, |b| Ok(b.max_timestamp_ms))?)
            .execute(&mut **tx)
            .await
            .map_err(meta)?;
        self.q(include_str!("../queries/index/advance_high_watermarks.sql"))
            .bind(column(&advances, |a| Ok(a.topic_id))?)
            .bind(column(&advances, |a| Ok(a.partition as i32))?)
            .bind(column(&advances, |a| {
                stored_i64(a.high_watermark, "offset")
            })?)
            .execute(&mut **tx)
            .await
            .map_err(meta)?;
        if c.meter {
            // In the commit's transaction: ingress is counted exactly when it is durable.
            let rows: Vec<(i64, i64, i64)> = ingress_by_topic(c)?.collect();
            let (bytes, records) = rows.iter().fold((0, 0), |(b, r), t| (b + t.1, r + t.2));
            // The database's clock, as for the fencing check.
            let now = now_ms;
            for (topics, total, period) in [
                (
                    include_str!("../queries/usage/ingress_hourly.sql"),
                    include_str!("../queries/usage/ingress_total_hourly.sql"),
                    hour_of(now),
                ),
                (
                    include_str!("../queries/usage/ingress_daily.sql"),
                    include_str!("../queries/usage/ingress_total_daily.sql"),
                    day_of(now),
                ),
            ] {
                self.q(topics)
                    .bind(rows.iter().map(|r| r.0).collect::<Vec<i64>>())
                    .bind(rows.iter().map(|r| r.1).collect::<Vec<i64>>())
                    .bind(rows.iter().map(|r| r.2).collect::<Vec<i64>>())
                    .bind(period)
                    .execute(&mut **tx)
                    .await
                    .map_err(meta)?;
                self.q(total)
                    .bind(c.tenant.as_str())
                    .bind(period)
                    .bind(bytes)
                    .bind(records)
                    .execute(&mut **tx)
                    .await
                    .map_err(meta)?;
            }
        }
        Ok(())
    }
}
