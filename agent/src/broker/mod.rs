//! The agent's internal API: what every listener calls, in domain types. The gRPC service
//! ([`crate::grpc`]) authenticates a request, converts it and calls one of these methods;
//! the Kafka listener will call the same ones. Each method checks that this agent's group
//! serves the tenant and applies the agent's limits, then runs the path it names: topic
//! admin here, the produce path in [`produce`], reads in [`consume`], consumer-group offsets
//! in [`offsets`].

mod consume;
mod offsets;
mod produce;

pub use consume::FetchStream;
pub use produce::{FORWARDED_HEADER, PartitionProduced, Produced};

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use streamhouse_core::cluster::AgentInfo;
use streamhouse_core::{
    MetadataStore, ObjectStore, PartitionInfo, TenantId, TopicInfo, TopicName, TopicSettings,
    TopicSpec,
};
use tokio::sync::{Semaphore, watch};

use crate::admission::RequestLimits;
use crate::cluster::Cluster;
use crate::error::{AgentError, AgentResult};
use crate::metrics::Metrics;
use crate::partitions::Partitions;
use crate::reader::Reader;
use crate::topics::TopicCache;
use crate::writer::Writer;

/// Limits checked on every request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest record, key + value + headers.
    pub max_record_bytes: usize,
    /// Most partitions per topic.
    pub max_partitions_per_topic: u32,
    /// Largest gRPC message; fetches stay below it.
    pub max_message_bytes: usize,
    /// Records and headers per produce request.
    pub request: RequestLimits,
    /// How far in the future a record's timestamp may be, in ms.
    pub max_timestamp_skew_ms: i64,
    /// Most subscriptions streaming at once.
    pub max_subscriptions: usize,
    /// Largest message a subscription streams.
    pub subscribe_buffer_bytes: usize,
}

/// The parts of the agent the API runs on.
#[derive(Debug)]
pub struct BrokerParts {
    /// The metadata store.
    pub store: Arc<dyn MetadataStore>,
    /// The partitions this agent tracks and leads.
    pub partitions: Arc<Partitions>,
    /// Membership, ownership and forwarding connections.
    pub cluster: Arc<Cluster>,
    /// The write path.
    pub writer: Arc<Writer>,
    /// The read path.
    pub reader: Arc<Reader>,
    /// The agent's metrics.
    pub metrics: Arc<Metrics>,
    /// The object store, for topic manifests.
    pub objects: Arc<dyn ObjectStore>,
    /// The manifests this agent knows the bucket holds.
    pub manifests: Arc<crate::backup::Manifests>,
}

/// The agent's internal API.
#[derive(Debug)]
pub struct Broker {
    store: Arc<dyn MetadataStore>,
    topics: TopicCache,
    partitions: Arc<Partitions>,
    cluster: Arc<Cluster>,
    writer: Arc<Writer>,
    reader: Arc<Reader>,
    metrics: Arc<Metrics>,
    objects: Arc<dyn ObjectStore>,
    manifests: Arc<crate::backup::Manifests>,
    limits: Limits,
    /// Rotates the partition of records with neither key nor partition, per request.
    sticky: AtomicU32,
    /// One permit per subscription that may stream.
    subscriptions: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
}

impl Broker {
    /// The API over the agent's parts; subscriptions end when `shutdown` flips.
    pub fn new(parts: BrokerParts, limits: Limits, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            topics: TopicCache::new(parts.store.clone()),
            store: parts.store,
            partitions: parts.partitions,
            cluster: parts.cluster,
            writer: parts.writer,
            reader: parts.reader,
            metrics: parts.metrics,
            objects: parts.objects,
            manifests: parts.manifests,
            subscriptions: Arc::new(Semaphore::new(limits.max_subscriptions)),
            limits,
            sticky: AtomicU32::new(0),
            shutdown,
        }
    }

    /// Refuses a tenant this agent's group does not serve, naming the group that does.
    async fn admit(&self, tenant: &TenantId) -> AgentResult<()> {
        self.cluster.check_tenant(tenant).await
    }

    /// A topic of an admitted tenant, from the cache.
    async fn topic(&self, tenant: &TenantId, name: &TopicName) -> AgentResult<Arc<TopicInfo>> {
        self.admit(tenant).await?;
        self.topics.get(tenant, name).await
    }

    /// Creates a topic within the agent's limits.
    pub async fn create_topic(&self, spec: TopicSpec) -> AgentResult<Arc<TopicInfo>> {
        self.admit(&spec.tenant).await?;
        let max = self.limits.max_partitions_per_topic;
        if spec.partitions == 0 || spec.partitions > max {
            return Err(AgentError::InvalidArgument(format!(
                "a topic needs 1 to {max} partitions (agent.max_partitions_per_topic); {} requested",
                spec.partitions
            )));
        }
        spec.validate_settings()?;
        let topic = Arc::new(self.store.create_topic(&spec).await?);
        self.topics.insert(topic.clone());
        self.manifest(&topic).await;
        Ok(topic)
    }

    /// Writes a topic's manifest to the bucket, for rebuilding metadata; a failure only
    /// delays it until the `snapshots` job writes it.
    async fn manifest(&self, topic: &TopicInfo) {
        if let Err(e) = self.manifests.write(&*self.objects, topic).await {
            tracing::warn!(topic = %topic.spec.name, "cannot write the topic's manifest: {e}; the snapshots job will");
        }
    }

    /// Changes a topic's retention and cleanup settings to what `change` makes of the current
    /// ones. Other agents see the change within their topic cache's TTL; retention and
    /// compaction read the settings from the store on every pass.
    pub async fn alter_topic(
        &self,
        tenant: &TenantId,
        name: &TopicName,
        change: impl FnOnce(TopicSettings) -> AgentResult<TopicSettings>,
    ) -> AgentResult<Arc<TopicInfo>> {
        self.admit(tenant).await?;
        let current = self.store.get_topic(tenant, name).await?;
        let settings = change(current.spec.settings())?;
        let topic = Arc::new(self.store.alter_topic(tenant, name, &settings).await?);
        self.topics.insert(topic.clone());
        self.manifest(&topic).await;
        Ok(topic)
    }

    /// Deletes a topic with its partitions, index and offsets.
    pub async fn delete_topic(&self, tenant: &TenantId, name: &TopicName) -> AgentResult<()> {
        self.admit(tenant).await?;
        let topic = self.store.delete_topic(tenant, name).await?;
        self.topics.remove(tenant, name);
        if let Err(e) = crate::backup::delete_topic_manifest(&*self.objects, &topic).await {
            tracing::warn!(topic = %name, "cannot delete the topic's manifest: {e}; the snapshots job will");
        }
        Ok(())
    }

    /// The tenant's topics, by name.
    pub async fn list_topics(&self, tenant: &TenantId) -> AgentResult<Vec<TopicInfo>> {
        self.admit(tenant).await?;
        Ok(self.store.list_topics(Some(tenant)).await?)
    }

    /// A topic with the offsets of each of its partitions, fresh from the store.
    pub async fn describe_topic(
        &self,
        tenant: &TenantId,
        name: &TopicName,
    ) -> AgentResult<(TopicInfo, Vec<PartitionInfo>)> {
        self.admit(tenant).await?;
        let topic = self.store.get_topic(tenant, name).await?;
        let partitions = self.store.partition_offsets(topic.id).await?;
        Ok((topic, partitions))
    }

    /// The agent group serving `tenant` and its live agents. Not refused for a tenant of
    /// another group: asking any agent is how a client finds the right ones.
    pub async fn describe_cluster(
        &self,
        tenant: &TenantId,
    ) -> AgentResult<(String, Vec<AgentInfo>)> {
        let group = self.store.tenant_group(tenant).await?;
        let agents = self
            .store
            .live_agents()
            .await?
            .into_iter()
            .filter(|a| a.group == group)
            .collect();
        Ok((group, agents))
    }
}
