//! [`OffsetStore`] on SQLite: committed offsets of consumer groups.

use async_trait::async_trait;
use streamhouse_core::clock::now_ms;
use streamhouse_core::metadata::{GroupOffset, MetadataResult, stored_i64};
use streamhouse_core::stored::committed_offset;
use streamhouse_core::{MetadataError, OffsetStore, TenantId, TopicId};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl OffsetStore for SqliteMetadataStore {
    async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
        offsets: &[(u32, u64)],
    ) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        let partitions: i64 =
            sqlx::query_scalar(include_str!("../queries/offsets/partition_count.sql"))
                .bind(topic_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(meta)?;
        let now = now_ms();
        for (p, off) in offsets {
            if i64::from(*p) >= partitions {
                return Err(MetadataError::NotFound(format!(
                    "partition {p} does not exist; the topic has {partitions}"
                )));
            }
            sqlx::query(include_str!("../queries/offsets/commit.sql"))
                .bind(tenant.as_str())
                .bind(group)
                .bind(topic_id)
                .bind(i64::from(*p))
                .bind(stored_i64(*off, "offset")?)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
    ) -> MetadataResult<Vec<(u32, u64)>> {
        let rows = sqlx::query(include_str!("../queries/offsets/fetch.sql"))
            .bind(tenant.as_str())
            .bind(group)
            .bind(topic_id)
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| committed_offset(&Row(r))).collect()
    }

    async fn group_offsets(&self, tenant: &TenantId) -> MetadataResult<Vec<GroupOffset>> {
        let rows = sqlx::query(include_str!("../queries/offsets/group_offsets.sql"))
            .bind(tenant.as_str())
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| GroupOffset::decode(&Row(r))).collect()
    }
}
