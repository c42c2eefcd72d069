//! [`TenantStore`] and [`AuditStore`] on PostgreSQL: tenants, API keys and the audit log.
//! Key lookups read the writer, not a replica: a revocation must be seen at once.

use std::collections::HashMap;

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::metadata::{MetadataResult, from_stored, stored_i64};
use streamhouse_core::tenancy::stored::errors::{key_exists, no_key, no_tenant, tenant_exists};
use streamhouse_core::tenancy::stored::topics_column;
use streamhouse_core::tenancy::{
    ApiKeyInfo, AuditEvent, AuditStore, StoredApiKey, Tenant, TenantStore,
};

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl TenantStore for PostgresMetadataStore {
    async fn create_tenant(&self, tenant: &Tenant) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/tenancy/create_tenant.sql"))
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.plan.as_str())
            .bind(tenant.status.as_str())
            .bind(tenant.created_at_ms)
            .execute(c.get())
            .await
            .map_err(|e| meta(e).when_exists(|| tenant_exists(&tenant.id)))?;
        c.done().await
    }

    async fn get_tenant(&self, id: &TenantId) -> MetadataResult<Tenant> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/tenancy/get_tenant.sql"))
            .bind(id.as_str())
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        let row = row.ok_or_else(|| no_tenant(id))?;
        Tenant::decode(&Row(&row))
    }

    async fn list_tenants(&self) -> MetadataResult<Vec<Tenant>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/tenancy/list_tenants.sql"))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| Tenant::decode(&Row(r))).collect()
    }

    async fn create_api_key(&self, key: &StoredApiKey) -> MetadataResult<()> {
        let k = &key.info;
        let mut c = self.conn(&self.writer).await?;
        let done = self
            .q(include_str!("../queries/tenancy/create_key.sql"))
            .bind(&k.id)
            .bind(k.tenant.as_str())
            .bind(&k.name)
            .bind(k.permissions.bits())
            .bind(topics_column(&k.topics))
            .bind(key.hash_column())
            .bind(k.expires_at_ms)
            .bind(k.created_at_ms)
            .execute(c.get())
            .await
            .map_err(|e| meta(e).when_exists(|| key_exists(&k.id)))?;
        c.done().await?;
        if done.rows_affected() == 0 {
            return Err(no_tenant(&k.tenant));
        }
        Ok(())
    }

    async fn get_api_key(&self, id: &str) -> MetadataResult<StoredApiKey> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/tenancy/get_key.sql"))
            .bind(id)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        StoredApiKey::decode(&Row(&row.ok_or_else(|| no_key(id))?))
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> MetadataResult<Vec<ApiKeyInfo>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/tenancy/list_keys.sql"))
            .bind(tenant.as_str())
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| ApiKeyInfo::decode(&Row(r))).collect()
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/tenancy/revoke_key.sql"))
            .bind(id)
            .bind(at_ms)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        ApiKeyInfo::decode(&Row(&row.ok_or_else(|| no_key(id))?))
    }

    async fn record_key_use(&self, used: &[(String, i64)]) -> MetadataResult<()> {
        // One row per id: an UPDATE ... FROM applies only one of several matches.
        let mut latest: HashMap<&str, i64> = HashMap::new();
        for (id, at) in used {
            let t = latest.entry(id).or_insert(*at);
            *t = (*t).max(*at);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let (ids, ats): (Vec<&str>, Vec<i64>) = latest.into_iter().unzip();
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/tenancy/record_key_use.sql"))
            .bind(ids)
            .bind(ats)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }

    async fn add_ingress(&self, tenant: &TenantId, month: &str, bytes: u64) -> MetadataResult<u64> {
        let mut c = self.conn(&self.writer).await?;
        let total: i64 = self
            .scalar(include_str!("../queries/tenancy/add_ingress.sql"))
            .bind(tenant.as_str())
            .bind(month)
            .bind(stored_i64(bytes, "ingress bytes")?)
            .fetch_one(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        from_stored(total, "ingress_bytes")
    }

    async fn stored_bytes(&self, tenant: &TenantId) -> MetadataResult<u64> {
        let mut c = self.conn(self.reader()).await?;
        // SUM of BIGINT is NUMERIC in PostgreSQL: the query casts it back.
        let total: i64 = self
            .scalar(include_str!("../queries/tenancy/stored_bytes.sql"))
            .bind(tenant.as_str())
            .fetch_one(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        from_stored(total, "bytes")
    }

    async fn update_tenant(&self, tenant: &Tenant) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        let done = self
            .q(include_str!("../queries/tenancy/update_tenant.sql"))
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(tenant.plan.as_str())
            .bind(tenant.status.as_str())
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        if done.rows_affected() == 0 {
            return Err(no_tenant(&tenant.id));
        }
        Ok(())
    }

    async fn expire_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo> {
        let mut c = self.conn(&self.writer).await?;
        let row = self
            .q(include_str!("../queries/tenancy/expire_key.sql"))
            .bind(id)
            .bind(at_ms)
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        ApiKeyInfo::decode(&Row(&row.ok_or_else(|| no_key(id))?))
    }

    async fn month_ingress(&self, tenant: &TenantId, month: &str) -> MetadataResult<u64> {
        let mut c = self.conn(&self.writer).await?;
        let total: i64 = self
            .scalar(include_str!("../queries/tenancy/month_ingress.sql"))
            .bind(tenant.as_str())
            .bind(month)
            .fetch_one(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        from_stored(total, "ingress_bytes")
    }
}

#[async_trait]
impl AuditStore for PostgresMetadataStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> MetadataResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&AuditEvent) -> &str| events.iter().map(f).collect::<Vec<&str>>();
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/tenancy/append_audit.sql"))
            .bind(events.iter().map(|e| e.at_ms).collect::<Vec<i64>>())
            .bind(col(|e| e.tenant.as_ref().map_or("", TenantId::as_str)))
            .bind(col(|e| &e.actor))
            .bind(col(|e| &e.action))
            .bind(col(|e| &e.target))
            .bind(col(|e| &e.source))
            .bind(col(|e| &e.detail))
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }

    async fn audit_log(
        &self,
        tenant: Option<&TenantId>,
        limit: u32,
    ) -> MetadataResult<Vec<AuditEvent>> {
        let mut c = self.conn(self.reader()).await?;
        let rows = self
            .q(include_str!("../queries/tenancy/audit_log.sql"))
            .bind(tenant.map(TenantId::as_str))
            .bind(i64::from(limit))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| AuditEvent::decode(&Row(r))).collect()
    }
}
