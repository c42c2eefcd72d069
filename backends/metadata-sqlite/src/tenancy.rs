//! [`TenantStore`] and [`AuditStore`] on SQLite: tenants, API keys and the audit log.

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::tenancy::stored::errors::{key_exists, no_key, no_tenant, tenant_exists};
use streamhouse_core::tenancy::stored::topics_column;
use streamhouse_core::tenancy::{
    ApiKeyInfo, AuditEvent, AuditStore, StoredApiKey, Tenant, TenantStore,
};

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl TenantStore for SqliteMetadataStore {
    async fn create_tenant(&self, tenant: &Tenant) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/tenancy/create_tenant.sql"))
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.plan.as_str())
            .bind(tenant.status.as_str())
            .bind(tenant.created_at_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| meta(e).when_exists(|| tenant_exists(&tenant.id)))?;
        Ok(())
    }

    async fn get_tenant(&self, id: &TenantId) -> MetadataResult<Tenant> {
        let row = sqlx::query(include_str!("../queries/tenancy/get_tenant.sql"))
            .bind(id.as_str())
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?
            .ok_or_else(|| no_tenant(id))?;
        Tenant::decode(&Row(&row))
    }

    async fn list_tenants(&self) -> MetadataResult<Vec<Tenant>> {
        let rows = sqlx::query(include_str!("../queries/tenancy/list_tenants.sql"))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| Tenant::decode(&Row(r))).collect()
    }

    async fn create_api_key(&self, key: &StoredApiKey) -> MetadataResult<()> {
        let k = &key.info;
        let done = sqlx::query(include_str!("../queries/tenancy/create_key.sql"))
            .bind(&k.id)
            .bind(k.tenant.as_str())
            .bind(&k.name)
            .bind(k.permissions.bits())
            .bind(topics_column(&k.topics))
            .bind(key.hash_column())
            .bind(k.expires_at_ms)
            .bind(k.created_at_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| meta(e).when_exists(|| key_exists(&k.id)))?;
        if done.rows_affected() == 0 {
            return Err(no_tenant(&k.tenant));
        }
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> MetadataResult<StoredApiKey> {
        let row = sqlx::query(include_str!("../queries/tenancy/get_key.sql"))
            .bind(id)
            .fetch_optional(&self.reads)
            .await
            .map_err(meta)?
            .ok_or_else(|| no_key(id))?;
        StoredApiKey::decode(&Row(&row))
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> MetadataResult<Vec<ApiKeyInfo>> {
        let rows = sqlx::query(include_str!("../queries/tenancy/list_keys.sql"))
            .bind(tenant.as_str())
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| ApiKeyInfo::decode(&Row(r))).collect()
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo> {
        let row = sqlx::query(include_str!("../queries/tenancy/revoke_key.sql"))
            .bind(id)
            .bind(at_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(meta)?
            .ok_or_else(|| no_key(id))?;
        ApiKeyInfo::decode(&Row(&row))
    }

    async fn record_key_use(&self, used: &[(String, i64)]) -> MetadataResult<()> {
        if used.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for (id, at) in used {
            sqlx::query(include_str!("../queries/tenancy/record_key_use.sql"))
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn add_ingress(&self, tenant: &TenantId, month: &str, bytes: u64) -> MetadataResult<u64> {
        let total: i64 = sqlx::query_scalar(include_str!("../queries/tenancy/add_ingress.sql"))
            .bind(tenant.as_str())
            .bind(month)
            .bind(stored_i64(bytes, "ingress bytes")?)
            .fetch_one(&self.pool)
            .await
            .map_err(meta)?;
        from_stored(total, "ingress_bytes")
    }

    async fn stored_bytes(&self, tenant: &TenantId) -> MetadataResult<u64> {
        let total: i64 = sqlx::query_scalar(include_str!("../queries/tenancy/stored_bytes.sql"))
            .bind(tenant.as_str())
            .fetch_one(&self.reads)
            .await
            .map_err(meta)?;
        from_stored(total, "bytes")
    }

    async fn update_tenant(&self, tenant: &Tenant) -> MetadataResult<()> {
        let done = sqlx::query(include_str!("../queries/tenancy/update_tenant.sql"))
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.plan.as_str())
            .bind(tenant.status.as_str())
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        if done.rows_affected() == 0 {
            return Err(no_tenant(&tenant.id));
        }
        Ok(())
    }

    async fn expire_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo> {
        let row = sqlx::query(include_str!("../queries/tenancy/expire_key.sql"))
            .bind(id)
            .bind(at_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(meta)?
            .ok_or_else(|| no_key(id))?;
        ApiKeyInfo::decode(&Row(&row))
    }

    async fn month_ingress(&self, tenant: &TenantId, month: &str) -> MetadataResult<u64> {
        let total: i64 = sqlx::query_scalar(include_str!("../queries/tenancy/month_ingress.sql"))
            .bind(tenant.as_str())
            .bind(month)
            .fetch_one(&self.reads)
            .await
            .map_err(meta)?;
        from_stored(total, "ingress_bytes")
    }
}

#[async_trait]
impl AuditStore for SqliteMetadataStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> MetadataResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for e in events {
            sqlx::query(include_str!("../queries/tenancy/append_audit.sql"))
                .bind(e.at_ms)
                .bind(e.tenant.as_ref().map_or("", TenantId::as_str))
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.target)
                .bind(&e.source)
                .bind(&e.detail)
                .execute(&mut *tx)
                .await
                .map_err(meta)?;
        }
        tx.commit().await.map_err(meta)
    }

    async fn audit_log(
        &self,
        tenant: Option<&TenantId>,
        limit: u32,
    ) -> MetadataResult<Vec<AuditEvent>> {
        let rows = sqlx::query(include_str!("../queries/tenancy/audit_log.sql"))
            .bind(tenant.map(TenantId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| AuditEvent::decode(&Row(r))).collect()
    }
}
