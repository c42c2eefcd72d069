//! This agent's view of the cluster: membership heartbeats, which live agents of its group
//! own which partitions, tenant-to-group assignments, and connections for forwarding.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use streamhouse_core::cluster::{AgentInfo, assign};
use streamhouse_core::{MetadataStore, TenantId, TopicId, TopicInfo};
use streamhouse_proto::internal::v1::agent_internal_client::AgentInternalClient;
use streamhouse_proto::v1::stream_house_client::StreamHouseClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::auth::ClusterAuth;
use crate::tls::ReloadingTls;

use crate::error::{AgentError, AgentResult};
use crate::ttl_cache::TtlCache;

/// How long a tenant's group assignment is cached.
const TENANT_GROUP_TTL: Duration = Duration::from_secs(5);
/// Most tenants whose group is cached at once.
const TENANT_GROUP_CAPACITY: usize = 10_000;

/// A topic's owners, by partition, as indices into the peers.
type Assignment = Arc<Vec<usize>>;

/// Membership as this agent sees it.
#[derive(Debug)]
pub struct Cluster {
    store: Arc<dyn MetadataStore>,
    /// This process, as it announces itself.
    pub me: AgentInfo,
    ttl: Duration,
    /// Live agents of this agent's group, one process per agent id (the newest), ordered by
    /// holder; includes this agent unless a newer process with its id superseded it.
    peers: RwLock<Arc<Vec<AgentInfo>>>,
    /// Each topic's assignment over the current peers (indices into them), computed once per
    /// membership change; keyed by topic id and partition count.
    assignments: Mutex<HashMap<(TopicId, u32), Assignment>>,
    /// By tenant, as the client names it: capped, since any name can be sent.
    tenant_groups: Mutex<TtlCache<TenantId, String>>,
    channels: Mutex<HashMap<String, Channel>>,
    /// Proves to other agents that a call comes from this cluster.
    auth: ClusterAuth,
    /// TLS to other agents, when they serve it; `channels` were opened with the generation
    /// of its client configuration in `tls_generation`.
    tls: Option<Arc<ReloadingTls>>,
    tls_generation: Mutex<u64>,
}

/// A channel to another agent, every call carrying the cluster secret.
pub type AgentChannel = InterceptedService<Channel, ClusterAuth>;

impl Cluster {
    /// A view holding only this agent until the first [`Cluster::refresh`]; calls to other
    /// agents carry `auth`, over `tls` when set.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        me: AgentInfo,
        ttl: Duration,
        auth: ClusterAuth,
        tls: Option<Arc<ReloadingTls>>,
    ) -> Self {
        Self {
            store,
            peers: RwLock::new(Arc::new(vec![me.clone()])),
            assignments: Mutex::new(HashMap::new()),
            me,
            ttl,
            tenant_groups: Mutex::new(TtlCache::new(TENANT_GROUP_TTL, TENANT_GROUP_CAPACITY)),
            channels: Mutex::new(HashMap::new()),
            auth,
            tls,
            tls_generation: Mutex::new(0),
        }
    }

    /// Heartbeats, then reloads the live agents of this group. Returns whether the set of
    /// agents changed.
    pub async fn refresh(&self) -> AgentResult<bool> {
        self.store.heartbeat(&self.me, self.ttl).await?;
        let mut by_id: HashMap<String, AgentInfo> = HashMap::new();
        for a in self.store.live_agents().await? {
            if a.group != self.me.group {
                continue;
            }
            // A restarted agent supersedes its previous process, which may linger until its
            // heartbeat expires: holders end in a time-ordered instance id.
            match by_id.get(&a.agent_id) {
                Some(b) if b.holder >= a.holder => {}
                _ => {
                    by_id.insert(a.agent_id.clone(), a);
                }
            }
        }
        by_id
            .entry(self.me.agent_id.clone())
            .or_insert_with(|| self.me.clone());
        let mut live: Vec<AgentInfo> = by_id.into_values().collect();
        live.sort_by(|a, b| a.holder.cmp(&b.holder));
        let mut peers = self.peers.write().expect("poisoned");
        let changed = peers.as_slice() != live.as_slice();
        if changed {
            let names: Vec<&str> = live.iter().map(|a| a.holder.as_str()).collect();
            tracing::info!(group = %self.me.group, agents = ?names, "cluster membership changed");
            *peers = Arc::new(live);
            self.assignments.lock().expect("poisoned").clear();
        }
        Ok(changed)
    }

    /// Removes this agent from the membership (graceful shutdown).
    pub async fn leave(&self) {
        if let Err(e) = self.store.leave(&self.me.holder).await {
            tracing::warn!("cannot leave the cluster: {e}");
        }
    }

    /// The live agents of this group.
    pub fn peers(&self) -> Arc<Vec<AgentInfo>> {
        self.peers.read().expect("poisoned").clone()
    }

    /// The other agent that should lead a partition of `topic`, or `None` when this agent
    /// should. Clones nothing on the (common) local path.
    pub fn leader_elsewhere(&self, topic: &TopicInfo, partition: u32) -> Option<AgentInfo> {
        // Peers and assignments change together under the peers lock.
        let peers = self.peers.read().expect("poisoned");
        let key = (topic.id, topic.spec.partitions);
        let assignment = self
            .assignments
            .lock()
            .expect("poisoned")
            .entry(key)
            .or_insert_with(|| Arc::new(assign(&peers, topic.id, topic.spec.partitions)))
            .clone();
        let owner = &peers[*assignment.get(partition as usize)?];
        (owner.holder != self.me.holder).then(|| owner.clone())
    }

    /// Whether this agent should lead a partition of `topic`.
    pub fn owns(&self, topic: &TopicInfo, partition: u32) -> bool {
        self.leader_elsewhere(topic, partition).is_none()
    }

    /// Whether this agent's group serves `tenant`; a tenant assigned elsewhere gets an error
    /// naming its group.
    pub async fn check_tenant(&self, tenant: &TenantId) -> AgentResult<()> {
        let group = self.tenant_group(tenant).await?;
        if group == self.me.group {
            return Ok(());
        }
        Err(AgentError::FailedPrecondition(format!(
            "tenant {tenant:?} is served by agent group {group:?}; this agent serves group {:?}: \
             connect to an agent of group {group:?}",
            self.me.group
        )))
    }

    /// Whether this agent's group serves `tenant` (for background work, where no one is
    /// told).
    pub async fn serves(&self, tenant: &TenantId) -> AgentResult<bool> {
        Ok(self.tenant_group(tenant).await? == self.me.group)
    }

    async fn tenant_group(&self, tenant: &TenantId) -> AgentResult<String> {
        if let Some(g) = self.tenant_groups.lock().expect("poisoned").get(tenant) {
            return Ok(g.clone());
        }
        let g = self.store.tenant_group(tenant).await?;
        self.tenant_groups
            .lock()
            .expect("poisoned")
            .insert(tenant.clone(), g.clone());
        Ok(g)
    }

    /// A client for another agent, over a channel shared by all requests to it.
    pub fn client(&self, addr: &str) -> AgentResult<StreamHouseClient<AgentChannel>> {
        Ok(
            StreamHouseClient::with_interceptor(self.channel(addr)?, self.auth.clone())
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX),
        )
    }

    /// A client for another agent's internal API, over the same shared channel.
    pub fn internal_client(&self, addr: &str) -> AgentResult<AgentInternalClient<AgentChannel>> {
        Ok(
            AgentInternalClient::with_interceptor(self.channel(addr)?, self.auth.clone())
                .max_decoding_message_size(usize::MAX),
        )
    }

    fn channel(&self, addr: &str) -> AgentResult<Channel> {
        let mut channels = self.channels.lock().expect("poisoned");
        if let Some(tls) = &self.tls {
            // Reloaded certificates: connections opened from now on present the new ones.
            let generation = tls.peer_generation();
            let mut current = self.tls_generation.lock().expect("poisoned");
            if *current != generation {
                channels.clear();
                *current = generation;
            }
        }
        let channel = match channels.get(addr) {
            Some(c) => c.clone(),
            None => {
                let mut endpoint = Endpoint::from_shared(addr.to_owned()).map_err(|e| {
                    AgentError::Internal(format!("agent address {addr:?} is not a URL: {e}"))
                })?;
                if let Some(tls) = &self.tls {
                    endpoint = endpoint
                        .tls_config(tls.peer())
                        .map_err(|e| AgentError::Internal(format!("TLS to agent {addr:?}: {e}")))?;
                }
                let c = endpoint
                    .connect_timeout(Duration::from_secs(2))
                    // A third of a lease TTL: a leader that does not answer by then is likely
                    // frozen or gone, and the client's retry (after the lease moves) should
                    // not wait behind it; a forwarded produce that does commit later is the
                    // only duplicate this can cause.
                    .timeout(self.ttl / 3)
                    .tcp_nodelay(true)
                    .connect_lazy();
                channels.insert(addr.to_owned(), c.clone());
                c
            }
        };
        Ok(channel)
    }
}
