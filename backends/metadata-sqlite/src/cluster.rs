//! [`ClusterStore`] on SQLite: membership heartbeats and tenant-to-group assignments.

use std::time::Duration;

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::clock::now_ms;
use streamhouse_core::cluster::{AgentInfo, AgentLoad, ClusterStore, DEFAULT_GROUP};
use streamhouse_core::lease::ttl_millis;
use streamhouse_core::metadata::MetadataResult;

use crate::error::meta;
use crate::store::{Row, SqliteMetadataStore};

#[async_trait]
impl ClusterStore for SqliteMetadataStore {
    async fn heartbeat(&self, agent: &AgentInfo, ttl: Duration) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/cluster/heartbeat.sql"))
            .bind(&agent.holder)
            .bind(&agent.agent_id)
            .bind(&agent.group)
            .bind(&agent.zone)
            .bind(&agent.addr)
            .bind(now_ms().saturating_add(ttl_millis(ttl)))
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn live_agents(&self) -> MetadataResult<Vec<AgentInfo>> {
        let rows = sqlx::query(include_str!("../queries/cluster/live_agents.sql"))
            .bind(now_ms())
            .fetch_all(&self.pool)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| AgentInfo::decode(&Row(r))).collect()
    }

    async fn leave(&self, holder: &str) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/cluster/leave.sql"))
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn set_tenant_group(&self, tenant: &TenantId, group: &str) -> MetadataResult<()> {
        sqlx::query(include_str!("../queries/cluster/set_tenant_group.sql"))
            .bind(tenant.as_str())
            .bind(group)
            .execute(&self.pool)
            .await
            .map_err(meta)?;
        Ok(())
    }

    async fn tenant_group(&self, tenant: &TenantId) -> MetadataResult<String> {
        let group: Option<String> =
            sqlx::query_scalar(include_str!("../queries/cluster/tenant_group.sql"))
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(meta)?;
        Ok(group.unwrap_or_else(|| DEFAULT_GROUP.to_owned()))
    }

    async fn agent_loads(&self) -> MetadataResult<Vec<AgentLoad>> {
        let rows = sqlx::query(include_str!("../queries/cluster/agent_loads.sql"))
            .bind(now_ms())
            .fetch_all(&self.reads)
            .await
            .map_err(meta)?;
        rows.iter().map(|r| AgentLoad::decode(&Row(r))).collect()
    }
}
