//! [`ClusterStore`] on PostgreSQL: membership heartbeats on the database's clock and
//! tenant-to-group assignments.

use std::time::Duration;

use async_trait::async_trait;
use streamhouse_core::TenantId;
use streamhouse_core::cluster::{AgentInfo, AgentLoad, ClusterStore, DEFAULT_GROUP};
use streamhouse_core::lease::ttl_millis;
use streamhouse_core::metadata::MetadataResult;

use crate::error::meta;
use crate::store::{PostgresMetadataStore, Row};

#[async_trait]
impl ClusterStore for PostgresMetadataStore {
    async fn heartbeat(&self, agent: &AgentInfo, ttl: Duration) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/cluster/heartbeat.sql"))
            .bind(&agent.holder)
            .bind(&agent.agent_id)
            .bind(&agent.group)
            .bind(&agent.zone)
            .bind(&agent.addr)
            .bind(ttl_millis(ttl))
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }

    async fn live_agents(&self) -> MetadataResult<Vec<AgentInfo>> {
        // From the writer: a replica's lag would hide a new agent or resurrect a dead one.
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/cluster/live_agents.sql"))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| AgentInfo::decode(&Row(r))).collect()
    }

    async fn leave(&self, holder: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/cluster/leave.sql"))
            .bind(holder)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }

    async fn set_tenant_group(&self, tenant: &TenantId, group: &str) -> MetadataResult<()> {
        let mut c = self.conn(&self.writer).await?;
        self.q(include_str!("../queries/cluster/set_tenant_group.sql"))
            .bind(tenant.as_str())
            .bind(group)
            .execute(c.get())
            .await
            .map_err(meta)?;
        c.done().await
    }

    async fn tenant_group(&self, tenant: &TenantId) -> MetadataResult<String> {
        let mut c = self.conn(&self.writer).await?;
        let group: Option<String> = self
            .scalar(include_str!("../queries/cluster/tenant_group.sql"))
            .bind(tenant.as_str())
            .fetch_optional(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        Ok(group.unwrap_or_else(|| DEFAULT_GROUP.to_owned()))
    }

    async fn agent_loads(&self) -> MetadataResult<Vec<AgentLoad>> {
        let mut c = self.conn(&self.writer).await?;
        let rows = self
            .q(include_str!("../queries/cluster/agent_loads.sql"))
            .fetch_all(c.get())
            .await
            .map_err(meta)?;
        c.done().await?;
        rows.iter().map(|r| AgentLoad::decode(&Row(r))).collect()
    }
}
