//! [`TopicStore`] on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row as _;
use streamhouse_core::metadata::MetadataResult;
use streamhouse_core::{
    MetadataError, TenantId, TopicInfo, TopicName, TopicSettings, TopicSpec, TopicStore,
};

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl TopicStore for PostgresMetadataStore {
    async fn create_topic(&self, spec: &TopicSpec) -> MetadataResult<TopicInfo> {
        let partitions = i32::try_from(spec.partitions)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                MetadataError::InvalidInput(format!("{} partitions", spec.partitions))
            })?;
        let mut tx = self.write_tx().await?;
        let row = self
            .q(include_str!("../queries/topics/create.sql"))
            .bind(spec.tenant.as_str())
            .bind(spec.name.as_str())
            .bind(partitions)
            .bind(spec.retention_ms)
            .bind(spec.compression.name())
            .bind(spec.retention_bytes)
            .bind(spec.cleanup_policy.name())
            .bind(spec.delete_retention_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| MetadataError::topic_exists(&spec.name)))?;
        let id: i64 = row.get(0);
        self.q(include_str!("../queries/topics/create_partitions.sql"))
            .bind(id)
            .bind(spec.tenant.as_str())
            .bind(partitions)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        Ok(TopicInfo {
            id,
            spec: spec.clone(),
            created_at_ms: row.get(1),
        })
    }

    async fn get_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        // From the primary: a topic created a moment ago through another agent must be found.
        let mut c = self.conn(&self.reads).await?;
        let row = self
            .q(include_str!("../queries/topics/get.sql"))
            .bind(tenant.as_str())
            .bind(name.as_str())
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        match row {
            Some(r) => TopicInfo::decode(&Row(&r)),
            None => Err(MetadataError::no_topic(name)),
        }
    }

    async fn list_topics(&self, tenant: Option<&TenantId>) -> MetadataResult<Vec<TopicInfo>> {
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(include_str!("../queries/topics/list.sql"))
            .bind(tenant.map(TenantId::as_str))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| TopicInfo::decode(&Row(r))).collect()
    }

    async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let mut tx = self.write_tx().await?;
        let row = self
            .q(include_str!("../queries/topics/delete.sql"))
            .bind(tenant.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let Some(row) = row else {
            return Err(MetadataError::no_topic(name));
        };
        let topic = TopicInfo::decode(&Row(&row))?;
        tx.commit().await.map_err(meta)?;
        Ok(topic)
    }

    async fn alter_topic(
        &self,
        tenant: &TenantId,
        name: &TopicName,
        settings: &TopicSettings,
    ) -> MetadataResult<TopicInfo> {
        settings
            .validate()
            .map_err(|e| MetadataError::InvalidInput(e.0))?;
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/topics/alter.sql"))
            .bind(tenant.as_str())
            .bind(name.as_str())
            .bind(settings.retention_ms)
            .bind(settings.retention_bytes)
            .bind(settings.cleanup_policy.name())
            .bind(settings.delete_retention_ms)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        TopicInfo::decode(&Row(&row.ok_or_else(|| MetadataError::no_topic(name))?))
    }
}
