//! The `snapshots` job: writes each tenant's file and consumer-group offset snapshots to the
//! bucket, and keeps topic manifests in step with the metadata store.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use streamhouse_core::clock::now_ms;
use streamhouse_core::{Lease, MetadataStore, ObjectKey, ObjectStore, TenantId, TopicInfo};

use super::{
    Manifests, OffsetSnapshot, SnapshotOffset, TenantManifest, TopicManifest, offsets_prefix,
    put_json, tenant_key, topic_key,
};
use crate::error::AgentResult;
use crate::jobs::Job;

/// Offset snapshots kept per tenant: the newest few, in case the newest is damaged.
const KEEP_SNAPSHOTS: usize = 3;

/// The snapshot job.
pub struct Snapshots {
    store: Arc<dyn MetadataStore>,
    objects: Arc<dyn ObjectStore>,
    manifests: Arc<Manifests>,
    interval: Duration,
    /// What this holder of the job wrote last, so unchanged files are not written again.
    written: Mutex<Written>,
}

#[derive(Default)]
struct Written {
    tenants: HashMap<TenantId, TenantManifest>,
    offsets: HashMap<TenantId, Vec<SnapshotOffset>>,
}

impl Snapshots {
    /// The job over the agent's stores, run every `interval`, sharing what it knows of the
    /// bucket's manifests with the agent's broker.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        manifests: Arc<Manifests>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            objects,
            manifests,
            interval,
            written: Mutex::default(),
        }
    }

    fn changed<K: std::hash::Hash + Eq + Clone, V: PartialEq>(
        &self,
        pick: impl FnOnce(&mut Written) -> &mut HashMap<K, V>,
        key: &K,
        value: &V,
    ) -> bool {
        let mut w = self.written.lock().expect("poisoned");
        pick(&mut w).get(key) != Some(value)
    }

    fn remember<K: std::hash::Hash + Eq, V>(
        &self,
        pick: impl FnOnce(&mut Written) -> &mut HashMap<K, V>,
        key: K,
        value: V,
    ) {
        pick(&mut self.written.lock().expect("poisoned")).insert(key, value);
    }

    /// One tenant's files; returns how many were written or deleted.
    async fn tenant(&self, id: &TenantId, topics: &[TopicInfo]) -> AgentResult<usize> {
        let mut done = 0;
        if let Ok(t) = self.store.get_tenant(id).await {
            let file = TenantManifest::of(&t);
            if self.changed(|w| &mut w.tenants, id, &file) {
                put_json(&*self.objects, &tenant_key(id), &file).await?;
                self.remember(|w| &mut w.tenants, id.clone(), file);
                done += 1;
            }
        }
        // Manifests listed before the topics: a topic created meanwhile is in the second list
        // if its manifest is in the first, so no live topic's manifest is taken for stale.
        let listed = self
            .objects
            .list(Some(&format!("tenants/{id}/topics")))
            .await?;
        let live: HashSet<String> = topics.iter().map(|t| topic_key(id, t.id)).collect();
        for stale in listed.iter().filter(|m| !live.contains(m.key.as_str())) {
            self.objects.delete(&stale.key).await?;
            done += 1;
        }
        let present: HashSet<&str> = listed.iter().map(|m| m.key.as_str()).collect();
        for t in topics {
            let manifest = TopicManifest::of(t);
            if self.manifests.holds(&manifest) {
                continue;
            }
            let key = topic_key(id, t.id);
            // Written by another agent, or before this one started: read before rewriting (a
            // GET costs a tenth of a PUT).
            if present.contains(key.as_str()) {
                let bytes = self.objects.get(&ObjectKey::new(key.as_str())?).await?;
                if serde_json::from_slice::<TopicManifest>(&bytes)
                    .ok()
                    .as_ref()
                    == Some(&manifest)
                {
                    self.manifests.remember(manifest);
                    continue;
                }
            }
            self.manifests.write(&*self.objects, t).await?;
            done += 1;
        }
        let offsets: Vec<SnapshotOffset> = self
            .store
            .group_offsets(id)
            .await?
            .into_iter()
            .map(|o| SnapshotOffset {
                group: o.group,
                topic_id: o.topic_id,
                partition: o.partition,
                committed: o.committed,
            })
            .collect();
        if !offsets.is_empty() && self.changed(|w| &mut w.offsets, id, &offsets) {
            let snapshot = OffsetSnapshot {
                taken_at_ms: now_ms(),
                offsets: offsets.clone(),
            };
            let key = format!("{}/{}.json", offsets_prefix(id), uuid::Uuid::now_v7());
            put_json(&*self.objects, &key, &snapshot).await?;
            self.remember(|w| &mut w.offsets, id.clone(), offsets);
            done += 1;
            // Keys sort by time (UUIDv7): all but the newest few go.
            let mut all = self.objects.list(Some(&offsets_prefix(id))).await?;
            all.sort_by(|a, b| a.key.cmp(&b.key));
            let old = all.len().saturating_sub(KEEP_SNAPSHOTS);
            for o in &all[..old] {
                self.objects
                    .delete(&ObjectKey::new(o.key.as_str())?)
                    .await?;
            }
        }
        Ok(done)
    }
}

#[async_trait]
impl Job for Snapshots {
    fn name(&self) -> &'static str {
        "snapshots"
    }

    fn number(&self) -> u32 {
        2
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _lease: &Lease) -> AgentResult<String> {
        let mut by_tenant: BTreeMap<TenantId, Vec<TopicInfo>> = BTreeMap::new();
        for t in self.store.list_tenants().await? {
            by_tenant.entry(t.id).or_default();
        }
        for t in self.store.list_topics(None).await? {
            by_tenant.entry(t.spec.tenant.clone()).or_default().push(t);
        }
        let mut done = 0;
        for (tenant, topics) in &by_tenant {
            done += self.tenant(tenant, topics).await?;
        }
        Ok(match done {
            0 => String::new(),
            n => format!("wrote or removed {n} manifest and snapshot objects"),
        })
    }

    fn released(&self) {
        *self.written.lock().expect("poisoned") = Written::default();
    }
}
