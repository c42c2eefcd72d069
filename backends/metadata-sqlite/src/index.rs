//! [`IndexStore`] on SQLite: the fenced commit, lookups, offsets, retention and the objects
//! garbage collection may delete.

use std::fmt::Write as _;

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};
use streamhouse_core::clock::now_ms;
use streamhouse_core::fencing::{LockedPartition, check_commit};
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::stored::topic_bytes;
use streamhouse_core::usage::{day_of, hour_of, ingress_by_topic};
use streamhouse_core::{
    BatchIndexEntry, IndexStore, MetadataError, ObjectCommit, PartitionInfo, TenantId, TopicId,
};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

/// A flush commit's rows after its object's, as one query: the batches, the high watermarks
/// and the ingress.
const COMMIT_ROWS: &str = concat!(
    include_str!("../queries/index/insert_batches.sql"),
    ";\n",
    include_str!("../queries/index/commit_rows.sql"),
);

#[async_trait]
impl IndexStore for SqliteMetadataStore {
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
        let keep_from = include_str!("../queries/index/expire_keep_from.sql");
        self.trim(topic_id, partition, keep_from, cutoff_ms).await
    }

    async fn topic_bytes(&self, tenant: &TenantId) -> MetadataResult<Vec<(TopicId, u64)>> {
        let rows = sqlx::query(include_str!("../queries/index/topic_bytes.sql"))
            .bind(tenant.as_str())
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| topic_bytes(&Row(r))).collect()
    }
}

impl SqliteMetadataStore {
    /// Retention: drops a partition's batches below the offset `keep_from` (a query of the
    /// topic id, partition and `limit`) finds, and raises its log start offset to it, in one
    /// transaction. Returns the new log start offset.
    pub(crate) async fn trim(
        &self,
        topic_id: TopicId,
        partition: u32,
        keep_from: &str,
        limit: i64,
    ) -> MetadataResult<u64> {
        let mut tx = self.write_tx().await?;
        let keep_from: Option<i64> = sqlx::query_scalar(keep_from)
            .bind(topic_id)
            .bind(i64::from(partition))
            .bind(limit)
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
}

/// Rows of numbers as a JSON array of arrays, which a statement reads with `json_each`: one
/// statement (one hand-off to SQLite's worker thread) for any number of rows. Numbers need no
/// escaping, so no encoder is needed.
pub(crate) fn json_rows<const N: usize>(rows: impl IntoIterator<Item = [i64; N]>) -> String {
    let mut out = String::from("[");
    for (i, row) in rows.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, v) in row.iter().enumerate() {
            out.push(if j == 0 { '[' } else { ',' });
            write!(out, "{v}").expect("writing to a String");
        }
        out.push(']');
    }
    out.push(']');
    out
}

impl SqliteMetadataStore {
    /// One object's part of a commit: fenced, then its rows, in the caller's transaction.
    async fn commit_in(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        c: &ObjectCommit,
    ) -> MetadataResult<()> {
        let keys = c.partitions().into_iter().map(|(t, p)| [t, i64::from(p)]);
        let rows = sqlx::query(include_str!("../queries/index/commit_lock.sql"))
            .bind(json_rows(keys))
            .fetch_all(&mut **tx)
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
            .fetch_optional(&mut **tx)
            .await
            .map_err(meta)?
            .ok_or_else(|| MetadataError::collected(&c.object_key))?;
        let rows = c
            .batches
            .iter()
            .map(|b| {
                Ok([
                    b.topic_id,
                    i64::from(b.partition),
                    stored_i64(b.base_offset, "offset")?,
                    stored_i64(b.base_offset + u64::from(b.record_count), "offset")?,
                    stored_i64(b.position, "position")?,
                    i64::from(b.size),
                    b.max_timestamp_ms,
                ])
            })
            .collect::<MetadataResult<Vec<_>>>()?;
        let hws = advances.iter().map(|a| {
            Ok([
                a.topic_id,
                i64::from(a.partition),
                stored_i64(a.high_watermark, "offset")?,
            ])
        });
        let hws = json_rows(hws.collect::<MetadataResult<Vec<_>>>()?);
        let per_topic: Vec<_> = match c.meter {
            true => ingress_by_topic(c)?.collect(),
            false => Vec::new(),
        };
        let (bytes, records) = per_topic
            .iter()
            .fold((0, 0), |(b, r), t| (b + t.1, r + t.2));
        let doc = format!(
            r#"{{"object":{object_id},"batches":{},"hws":{hws},"meter":{},"ingress":{},"hour":{},"day":{},"bytes":{bytes},"records":{records}}}"#,
            json_rows(rows),
            i32::from(c.meter),
            json_rows(per_topic.iter().map(|t| [t.0, t.1, t.2])),
            hour_of(now),
            day_of(now),
        );
        sqlx::query(COMMIT_ROWS)
            .bind(doc)
            .execute(&mut **tx)
            .await
            .map_err(meta)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_rows_are_arrays_of_numbers() {
        assert_eq!(super::json_rows(Vec::<[i64; 2]>::new()), "[]");
        assert_eq!(super::json_rows([[1, -2], [3, 4]]), "[[1,-2],[3,4]]");
    }
}
