//! [`OffsetStore`] on PostgreSQL: committed offsets of consumer groups.

use async_trait::async_trait;
use streamhouse_core::metadata::{GroupOffset, MetadataResult, stored_i64};
use streamhouse_core::stored::committed_offset;
use streamhouse_core::{MetadataError, OffsetStore, TenantId, TopicId};

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl OffsetStore for PostgresMetadataStore {
    async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
        offsets: &[(u32, u64)],
    ) -> MetadataResult<()> {
        let mut tx = self.write_tx().await?;
        let partitions: Option<i32> = self
            .scalar(include_str!("../queries/offsets/topic_partitions.sql"))
            .bind(topic_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let partitions = partitions.ok_or_else(|| {
            MetadataError::NotFound(format!("topic id {topic_id} does not exist"))
        })?;
        let mut ps = Vec::with_capacity(offsets.len());
        let mut os = Vec::with_capacity(offsets.len());
        for (p, o) in offsets {
            if i64::from(*p) >= i64::from(partitions) {
                return Err(MetadataError::NotFound(format!(
                    "partition {p} does not exist; the topic has {partitions}"
                )));
            }
            ps.push(*p as i32);
            os.push(stored_i64(*o, "offset")?);
        }
        self.q(include_str!("../queries/offsets/commit.sql"))
            .bind(tenant.as_str())
            .bind(group)
            .bind(topic_id)
            .bind(ps)
            .bind(os)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)
    }

    async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
    ) -> MetadataResult<Vec<(u32, u64)>> {
        // From the writer: a consumer reads back the offsets it just committed.
        let mut c = self.conn(&self.reads).await?;
        let rows = self
            .q(include_str!("../queries/offsets/fetch.sql"))
            .bind(tenant.as_str())
            .bind(group)
            .bind(topic_id)
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| committed_offset(&Row(r))).collect()
    }

    async fn group_offsets(&self, tenant: &TenantId) -> MetadataResult<Vec<GroupOffset>> {
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(include_str!("../queries/offsets/group_offsets.sql"))
            .bind(tenant.as_str())
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| GroupOffset::decode(&Row(r))).collect()
    }
}
