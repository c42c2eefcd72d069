//! A short-lived cache of topic metadata, so produce and fetch do not query the metadata
//! store for every request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamhouse_core::{MetadataStore, TenantId, TopicInfo, TopicName};

use crate::error::AgentResult;
use crate::ttl_cache::TtlCache;

/// How long a cached topic is trusted. A topic deleted through another agent is noticed
/// within this time.
const TTL: Duration = Duration::from_secs(5);

/// Most topics cached at once.
const CAPACITY: usize = 100_000;

/// Topic metadata by tenant and name.
#[derive(Debug)]
pub struct TopicCache {
    store: Arc<dyn MetadataStore>,
    entries: Mutex<TtlCache<(TenantId, TopicName), Arc<TopicInfo>>>,
}

impl TopicCache {
    /// An empty cache over `store`.
    pub fn new(store: Arc<dyn MetadataStore>) -> Self {
        Self {
            store,
            entries: Mutex::new(TtlCache::new(TTL, CAPACITY)),
        }
    }

    /// The topic, from the cache or the store (`NotFound` if it does not exist).
    pub async fn get(&self, tenant: &TenantId, name: &TopicName) -> AgentResult<Arc<TopicInfo>> {
        let key = (tenant.clone(), name.clone());
        if let Some(t) = self.entries.lock().expect("poisoned").get(&key) {
            return Ok(t.clone());
        }
        let t = Arc::new(self.store.get_topic(tenant, name).await?);
        self.insert(t.clone());
        Ok(t)
    }

    /// Caches a topic (after this agent created it).
    pub fn insert(&self, t: Arc<TopicInfo>) {
        self.entries
            .lock()
            .expect("poisoned")
            .insert((t.spec.tenant.clone(), t.spec.name.clone()), t);
    }

    /// Forgets a topic (after this agent deleted it).
    pub fn remove(&self, tenant: &TenantId, name: &TopicName) {
        self.entries
            .lock()
            .expect("poisoned")
            .remove(&(tenant.clone(), name.clone()));
    }
}
