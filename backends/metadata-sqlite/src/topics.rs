//! [`TopicStore`] on SQLite.

use async_trait::async_trait;
use streamhouse_core::clock::now_ms;
use streamhouse_core::metadata::MetadataResult;
use streamhouse_core::{
    MetadataError, TenantId, TopicInfo, TopicName, TopicSettings, TopicSpec, TopicStore,
};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl TopicStore for SqliteMetadataStore {
    async fn create_topic(&self, spec: &TopicSpec) -> MetadataResult<TopicInfo> {
        if spec.partitions == 0 {
            return Err(MetadataError::InvalidInput(
                "a topic needs at least one partition".into(),
            ));
        }
        let mut tx = self.write_tx().await?;
        let created = now_ms();
        let id: i64 = sqlx::query_scalar(include_str!("../queries/topics/create.sql"))
            .bind(spec.tenant.as_str())
            .bind(spec.name.as_str())
            .bind(i64::from(spec.partitions))
            .bind(spec.retention_ms)
            .bind(spec.compression.name())
            .bind(spec.retention_bytes)
            .bind(spec.cleanup_policy.name())
            .bind(spec.delete_retention_ms)
            .bind(created)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| meta(e).when_exists(|| MetadataError::topic_exists(&spec.name)))?;
        sqlx::query(include_str!("../queries/topics/create_partitions.sql"))
            .bind(id)
            .bind(spec.tenant.as_str())
            .bind(i64::from(spec.partitions))
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
        tx.commit().await.map_err(meta)?;
        Ok(TopicInfo {
            id,
            spec: spec.clone(),
            created_at_ms: created,
        })
    }

    async fn get_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let row = sqlx::query(include_str!("../queries/topics/get.sql"))
            .bind(tenant.as_str())
            .bind(name.as_str())
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?;
        match row {
            Some(r) => TopicInfo::decode(&Row(&r)),
            None => Err(MetadataError::no_topic(name)),
        }
    }

    async fn list_topics(&self, tenant: Option<&TenantId>) -> MetadataResult<Vec<TopicInfo>> {
        let rows = sqlx::query(include_str!("../queries/topics/list.sql"))
            .bind(tenant.map(TenantId::as_str))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| TopicInfo::decode(&Row(r))).collect()
    }

    async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(include_str!("../queries/topics/delete.sql"))
            .bind(tenant.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(meta)?;
        let Some(row) = row else {
            return Err(MetadataError::no_topic(name));
        };
        let topic = TopicInfo::decode(&Row(&row))?;
        sqlx::query(include_str!("../queries/topics/delete_rows.sql"))
            .bind(topic.id)
            .execute(&mut *tx)
            .await
            .map_err(meta)?;
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
        let row = sqlx::query(include_str!("../queries/topics/alter.sql"))
            .bind(tenant.as_str())
            .bind(name.as_str())
            .bind(settings.retention_ms)
            .bind(settings.retention_bytes)
            .bind(settings.cleanup_policy.name())
            .bind(settings.delete_retention_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(meta)?
            .ok_or_else(|| MetadataError::no_topic(name))?;
        TopicInfo::decode(&Row(&row))
    }
}
