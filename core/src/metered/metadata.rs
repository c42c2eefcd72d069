//! [`MeteredMetadataStore`]: every metadata-store and lease call counted and timed by
//! operation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Usage, operations};
use crate::cluster::{AgentInfo, AgentLoad, ClusterStore};
use crate::lease::{Lease, LeaseKey, LeaseManager, LeaseResult};
use crate::metadata::{
    BatchIndexEntry, GroupOffset, IndexStore, MetadataResult, ObjectCommit, OffsetStore, PoolStats,
    PoolUsage, TopicStore,
};
use crate::registry::MetadataParts;
use crate::tenancy::{ApiKeyInfo, AuditEvent, AuditStore, StoredApiKey, Tenant, TenantStore};
use crate::types::{
    PartitionInfo, TenantId, TopicId, TopicInfo, TopicName, TopicSettings, TopicSpec,
};

operations! {
    /// A metadata-store or lease operation, as [`MeteredMetadataStore`] counts it: one per
    /// trait method.
    pub enum MetadataOp ("metadata") {
        /// [`TopicStore::create_topic`].
        CreateTopic => "create_topic",
        /// [`TopicStore::get_topic`].
        GetTopic => "get_topic",
        /// [`TopicStore::list_topics`].
        ListTopics => "list_topics",
        /// [`TopicStore::delete_topic`].
        DeleteTopic => "delete_topic",
        /// [`IndexStore::commit_object`]: a flush's fenced commit.
        Commit => "commit",
        /// [`IndexStore::lookup`].
        Lookup => "lookup",
        /// [`IndexStore::partition_offsets`].
        PartitionOffsets => "partition_offsets",
        /// [`IndexStore::partition_offset`].
        PartitionOffset => "partition_offset",
        /// [`IndexStore::expire_before`].
        ExpireBefore => "expire_before",
        /// [`LifecycleStore::unreferenced_objects`].
        UnreferencedObjects => "unreferenced_objects",
        /// [`LifecycleStore::forget_object`].
        ForgetObject => "forget_object",
        /// [`LifecycleStore::expire_to_size`].
        ExpireToSize => "expire_to_size",
        /// [`LifecycleStore::claim_orphans`].
        ClaimOrphans => "claim_orphans",
        /// [`LifecycleStore::compaction_candidates`].
        CompactionCandidates => "compaction_candidates",
        /// [`LifecycleStore::partition_batches`].
        PartitionBatches => "partition_batches",
        /// [`LifecycleStore::swap_batches`]: a compaction's fenced index swap.
        SwapBatches => "swap_batches",
        /// [`LifecycleStore::storage_stats`].
        StorageStats => "storage_stats",
        /// [`LifecycleStore::known_objects`].
        KnownObjects => "known_objects",
        /// [`LifecycleStore::restore_topic`].
        RestoreTopic => "restore_topic",
        /// [`LifecycleStore::restore_object`].
        RestoreObject => "restore_object",
        /// [`LifecycleStore::restore_partition`].
        RestorePartition => "restore_partition",
        /// [`OffsetStore::commit_offsets`].
        CommitOffsets => "commit_offsets",
        /// [`OffsetStore::fetch_offsets`].
        FetchOffsets => "fetch_offsets",
        /// [`ClusterStore::heartbeat`].
        Heartbeat => "heartbeat",
        /// [`ClusterStore::live_agents`].
        LiveAgents => "live_agents",
        /// [`ClusterStore::leave`].
        Leave => "leave",
        /// [`ClusterStore::set_tenant_group`].
        SetTenantGroup => "set_tenant_group",
        /// [`ClusterStore::tenant_group`].
        TenantGroup => "tenant_group",
        /// [`TenantStore::create_tenant`].
        CreateTenant => "create_tenant",
        /// [`TenantStore::get_tenant`].
        GetTenant => "get_tenant",
        /// [`TenantStore::list_tenants`].
        ListTenants => "list_tenants",
        /// [`TenantStore::create_api_key`].
        CreateApiKey => "create_api_key",
        /// [`TenantStore::get_api_key`]: an authentication the agent's cache missed.
        GetApiKey => "get_api_key",
        /// [`TenantStore::list_api_keys`].
        ListApiKeys => "list_api_keys",
        /// [`TenantStore::revoke_api_key`].
        RevokeApiKey => "revoke_api_key",
        /// [`TenantStore::record_key_use`].
        RecordKeyUse => "record_key_use",
        /// [`TenantStore::add_ingress`].
        AddIngress => "add_ingress",
        /// [`TenantStore::stored_bytes`].
        StoredBytes => "stored_bytes",
        /// [`AuditStore::append_audit`].
        AppendAudit => "append_audit",
        /// [`AuditStore::audit_log`].
        AuditLog => "audit_log",
        /// [`TopicStore::alter_topic`].
        AlterTopic => "alter_topic",
        /// [`IndexStore::topic_bytes`].
        TopicBytes => "topic_bytes",
        /// [`OffsetStore::group_offsets`].
        GroupOffsets => "group_offsets",
        /// [`ClusterStore::agent_loads`].
        AgentLoads => "agent_loads",
        /// [`TenantStore::update_tenant`].
        UpdateTenant => "update_tenant",
        /// [`TenantStore::expire_api_key`].
        ExpireApiKey => "expire_api_key",
        /// [`TenantStore::month_ingress`].
        MonthIngress => "month_ingress",
        /// [`AccountStore::create_organization`].
        CreateOrganization => "create_organization",
        /// [`AccountStore::create_user`].
        CreateUser => "create_user",
        /// [`AccountStore::get_user`].
        GetUser => "get_user",
        /// [`AccountStore::user_by_email`].
        UserByEmail => "user_by_email",
        /// [`AccountStore::set_member`].
        SetMember => "set_member",
        /// [`AccountStore::remove_member`].
        RemoveMember => "remove_member",
        /// [`AccountStore::members`].
        Members => "members",
        /// [`AccountStore::memberships`].
        Memberships => "memberships",
        /// [`AccountStore::create_session`].
        CreateSession => "create_session",
        /// [`AccountStore::get_session`].
        GetSession => "get_session",
        /// [`AccountStore::delete_session`].
        DeleteSession => "delete_session",
        /// [`UsageStore::add_usage`].
        AddUsage => "add_usage",
        /// [`UsageStore::sample_storage`].
        SampleStorage => "sample_storage",
        /// [`UsageStore::usage`].
        Usage => "usage",
        /// [`BillingStore::billing_account`].
        BillingAccount => "billing_account",
        /// [`BillingStore::save_billing_account`].
        SaveBillingAccount => "save_billing_account",
        /// [`BillingStore::tenant_of_customer`].
        TenantOfCustomer => "tenant_of_customer",
        /// [`BillingStore::billing_accounts`].
        BillingAccounts => "billing_accounts",
        /// [`BillingStore::add_ledger_line`].
        AddLedgerLine => "add_ledger_line",
        /// [`BillingStore::ledger`].
        Ledger => "ledger",
        /// [`BillingStore::set_ledger_state`].
        SetLedgerState => "set_ledger_state",
        /// [`BillingStore::save_invoice`].
        SaveInvoice => "save_invoice",
        /// [`BillingStore::invoices`].
        Invoices => "invoices",
        /// [`LeaseManager::acquire`].
        LeaseAcquire => "lease_acquire",
        /// [`LeaseManager::renew_all`].
        LeaseRenewAll => "lease_renew_all",
        /// [`LeaseManager::release`].
        LeaseRelease => "lease_release",
        /// [`LeaseManager::release_all`].
        LeaseReleaseAll => "lease_release_all",
        /// [`LeaseManager::get`].
        LeaseGet => "lease_get",
    }
}

/// Counts of every metadata operation.
pub type MetadataUsage = Usage<MetadataOp>;

/// A metadata store and lease manager that time every call passing through to a backend's.
#[derive(Debug)]
pub struct MeteredMetadataStore {
    inner: MetadataParts,
    usage: Arc<MetadataUsage>,
}

impl MeteredMetadataStore {
    /// Counts the calls to `inner`'s store and leases into `usage`.
    pub fn new(inner: MetadataParts, usage: Arc<MetadataUsage>) -> Self {
        Self { inner, usage }
    }

    /// The same backend, metered: one value serving as both store and lease manager.
    pub fn parts(inner: MetadataParts, usage: Arc<MetadataUsage>) -> MetadataParts {
        MetadataParts::shared(Self::new(inner, usage))
    }
}

fn none<T>(_: &T) -> u64 {
    0
}

/// Passes each call through to the inner store, counted and timed as `$op`.
macro_rules! metered {
    ($self:ident, $op:ident, $call:expr) => {{
        let call = $call;
        $self.usage.call(MetadataOp::$op, None, none, call).await
    }};
}

// The control plane's traits, and storage housekeeping, metered in files of their own.
mod control;
mod lifecycle;

#[async_trait]
impl TopicStore for MeteredMetadataStore {
    async fn create_topic(&self, spec: &TopicSpec) -> MetadataResult<TopicInfo> {
        let call = self.inner.store.create_topic(spec);
        self.usage
            .call(MetadataOp::CreateTopic, None, none, call)
            .await
    }

    async fn get_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let call = self.inner.store.get_topic(tenant, name);
        self.usage
            .call(MetadataOp::GetTopic, None, none, call)
            .await
    }

    async fn list_topics(&self, tenant: Option<&TenantId>) -> MetadataResult<Vec<TopicInfo>> {
        let call = self.inner.store.list_topics(tenant);
        self.usage
            .call(MetadataOp::ListTopics, None, none, call)
            .await
    }

    async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> MetadataResult<TopicInfo> {
        let call = self.inner.store.delete_topic(tenant, name);
        self.usage
            .call(MetadataOp::DeleteTopic, None, none, call)
            .await
    }

    async fn alter_topic(
        &self,
        tenant: &TenantId,
        name: &TopicName,
        settings: &TopicSettings,
    ) -> MetadataResult<TopicInfo> {
        let call = self.inner.store.alter_topic(tenant, name, settings);
        metered!(self, AlterTopic, call)
    }
}

#[async_trait]
impl IndexStore for MeteredMetadataStore {
    async fn commit_objects(&self, commits: &[ObjectCommit]) -> MetadataResult<()> {
        let call = self.inner.store.commit_objects(commits);
        let key = commits.first().map(|c| c.object_key.as_str());
        self.usage.call(MetadataOp::Commit, key, none, call).await
    }

    async fn lookup(
        &self,
        topic_id: TopicId,
        partition: u32,
        from_offset: u64,
        limit: u32,
    ) -> MetadataResult<Vec<BatchIndexEntry>> {
        let call = self
            .inner
            .store
            .lookup(topic_id, partition, from_offset, limit);
        self.usage.call(MetadataOp::Lookup, None, none, call).await
    }

    async fn partition_offsets(&self, topic_id: TopicId) -> MetadataResult<Vec<PartitionInfo>> {
        let call = self.inner.store.partition_offsets(topic_id);
        self.usage
            .call(MetadataOp::PartitionOffsets, None, none, call)
            .await
    }

    async fn partition_offset(
        &self,
        topic_id: TopicId,
        partition: u32,
    ) -> MetadataResult<PartitionInfo> {
        let call = self.inner.store.partition_offset(topic_id, partition);
        self.usage
            .call(MetadataOp::PartitionOffset, None, none, call)
            .await
    }

    async fn expire_before(
        &self,
        topic_id: TopicId,
        partition: u32,
        cutoff_ms: i64,
    ) -> MetadataResult<u64> {
        let call = self
            .inner
            .store
            .expire_before(topic_id, partition, cutoff_ms);
        self.usage
            .call(MetadataOp::ExpireBefore, None, none, call)
            .await
    }

    async fn topic_bytes(&self, tenant: &TenantId) -> MetadataResult<Vec<(TopicId, u64)>> {
        metered!(self, TopicBytes, self.inner.store.topic_bytes(tenant))
    }
}

#[async_trait]
impl OffsetStore for MeteredMetadataStore {
    async fn commit_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
        offsets: &[(u32, u64)],
    ) -> MetadataResult<()> {
        let call = self
            .inner
            .store
            .commit_offsets(tenant, group, topic_id, offsets);
        self.usage
            .call(MetadataOp::CommitOffsets, None, none, call)
            .await
    }

    async fn fetch_offsets(
        &self,
        tenant: &TenantId,
        group: &str,
        topic_id: TopicId,
    ) -> MetadataResult<Vec<(u32, u64)>> {
        let call = self.inner.store.fetch_offsets(tenant, group, topic_id);
        self.usage
            .call(MetadataOp::FetchOffsets, None, none, call)
            .await
    }

    async fn group_offsets(&self, tenant: &TenantId) -> MetadataResult<Vec<GroupOffset>> {
        metered!(self, GroupOffsets, self.inner.store.group_offsets(tenant))
    }
}

#[async_trait]
impl ClusterStore for MeteredMetadataStore {
    async fn heartbeat(&self, agent: &AgentInfo, ttl: Duration) -> MetadataResult<()> {
        let call = self.inner.store.heartbeat(agent, ttl);
        self.usage
            .call(MetadataOp::Heartbeat, None, none, call)
            .await
    }

    async fn live_agents(&self) -> MetadataResult<Vec<AgentInfo>> {
        let call = self.inner.store.live_agents();
        self.usage
            .call(MetadataOp::LiveAgents, None, none, call)
            .await
    }

    async fn leave(&self, holder: &str) -> MetadataResult<()> {
        let call = self.inner.store.leave(holder);
        self.usage.call(MetadataOp::Leave, None, none, call).await
    }

    async fn set_tenant_group(&self, tenant: &TenantId, group: &str) -> MetadataResult<()> {
        let call = self.inner.store.set_tenant_group(tenant, group);
        self.usage
            .call(MetadataOp::SetTenantGroup, None, none, call)
            .await
    }

    async fn tenant_group(&self, tenant: &TenantId) -> MetadataResult<String> {
        let call = self.inner.store.tenant_group(tenant);
        self.usage
            .call(MetadataOp::TenantGroup, None, none, call)
            .await
    }

    async fn agent_loads(&self) -> MetadataResult<Vec<AgentLoad>> {
        metered!(self, AgentLoads, self.inner.store.agent_loads())
    }
}

#[async_trait]
impl TenantStore for MeteredMetadataStore {
    async fn create_tenant(&self, tenant: &Tenant) -> MetadataResult<()> {
        metered!(self, CreateTenant, self.inner.store.create_tenant(tenant))
    }

    async fn get_tenant(&self, id: &TenantId) -> MetadataResult<Tenant> {
        metered!(self, GetTenant, self.inner.store.get_tenant(id))
    }

    async fn list_tenants(&self) -> MetadataResult<Vec<Tenant>> {
        metered!(self, ListTenants, self.inner.store.list_tenants())
    }

    async fn create_api_key(&self, key: &StoredApiKey) -> MetadataResult<()> {
        metered!(self, CreateApiKey, self.inner.store.create_api_key(key))
    }

    async fn get_api_key(&self, id: &str) -> MetadataResult<StoredApiKey> {
        metered!(self, GetApiKey, self.inner.store.get_api_key(id))
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> MetadataResult<Vec<ApiKeyInfo>> {
        metered!(self, ListApiKeys, self.inner.store.list_api_keys(tenant))
    }

    async fn revoke_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo> {
        metered!(
            self,
            RevokeApiKey,
            self.inner.store.revoke_api_key(id, at_ms)
        )
    }

    async fn record_key_use(&self, used: &[(String, i64)]) -> MetadataResult<()> {
        metered!(self, RecordKeyUse, self.inner.store.record_key_use(used))
    }

    async fn add_ingress(&self, tenant: &TenantId, month: &str, bytes: u64) -> MetadataResult<u64> {
        metered!(
            self,
            AddIngress,
            self.inner.store.add_ingress(tenant, month, bytes)
        )
    }

    async fn stored_bytes(&self, tenant: &TenantId) -> MetadataResult<u64> {
        metered!(self, StoredBytes, self.inner.store.stored_bytes(tenant))
    }

    async fn update_tenant(&self, tenant: &Tenant) -> MetadataResult<()> {
        metered!(self, UpdateTenant, self.inner.store.update_tenant(tenant))
    }

    async fn expire_api_key(&self, id: &str, at_ms: i64) -> MetadataResult<ApiKeyInfo> {
        metered!(
            self,
            ExpireApiKey,
            self.inner.store.expire_api_key(id, at_ms)
        )
    }

    async fn month_ingress(&self, tenant: &TenantId, month: &str) -> MetadataResult<u64> {
        metered!(
            self,
            MonthIngress,
            self.inner.store.month_ingress(tenant, month)
        )
    }
}

#[async_trait]
impl AuditStore for MeteredMetadataStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> MetadataResult<()> {
        metered!(self, AppendAudit, self.inner.store.append_audit(events))
    }

    async fn audit_log(
        &self,
        tenant: Option<&TenantId>,
        limit: u32,
    ) -> MetadataResult<Vec<AuditEvent>> {
        metered!(self, AuditLog, self.inner.store.audit_log(tenant, limit))
    }
}

#[async_trait]
impl LeaseManager for MeteredMetadataStore {
    async fn acquire(&self, key: &LeaseKey, holder: &str, ttl: Duration) -> LeaseResult<Lease> {
        let call = self.inner.leases.acquire(key, holder, ttl);
        self.usage
            .call(MetadataOp::LeaseAcquire, None, none, call)
            .await
    }

    async fn renew_all(&self, holder: &str, ttl: Duration) -> LeaseResult<Vec<Lease>> {
        let call = self.inner.leases.renew_all(holder, ttl);
        self.usage
            .call(MetadataOp::LeaseRenewAll, None, none, call)
            .await
    }

    async fn release_all(&self, holder: &str) -> LeaseResult<u64> {
        let call = self.inner.leases.release_all(holder);
        self.usage
            .call(MetadataOp::LeaseReleaseAll, None, none, call)
            .await
    }

    async fn release(&self, lease: &Lease) -> LeaseResult<()> {
        let call = self.inner.leases.release(lease);
        self.usage
            .call(MetadataOp::LeaseRelease, None, none, call)
            .await
    }

    async fn get(&self, key: &LeaseKey) -> LeaseResult<Option<Lease>> {
        let call = self.inner.leases.get(key);
        self.usage
            .call(MetadataOp::LeaseGet, None, none, call)
            .await
    }
}

impl PoolStats for MeteredMetadataStore {
    fn pool_usage(&self) -> PoolUsage {
        self.inner.store.pool_usage()
    }
}
