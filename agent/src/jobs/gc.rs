//! The `gc` job: deletes objects no index row has referenced for the grace period, claims
//! and deletes orphans found in the bucket, and exports what each topic stores.
//!
//! An orphan is an object the metadata store does not know: written by a flush (or a
//! compaction) whose commit failed, was refused, or never came because the process died
//! between its PUT and its commit. Objects are found by listing the bucket; one is claimed
//! only once the time in its key is older than the orphan grace period on the store's clock
//! (twice `write.commit_deadline_ms`, see `core::config::orphan_grace_ms`), by inserting its
//! row as unreferenced. Past its deadline the store refuses a commit of it, and a commit
//! racing the claim either wins (the claim then finds it known) or is refused; so a claimed
//! object is never referenced, and deleting it loses nothing. Aborted multipart uploads are
//! not objects and are not listed: the bucket's lifecycle rule removes them (see
//! docs/deploy.md).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use streamhouse_core::clock::now_ms;
use streamhouse_core::lifecycle::parse_object_key;
use streamhouse_core::{Lease, MetadataStore, ObjectKey, ObjectStore, OrphanCandidate, TenantId};

use super::{Job, JobMetrics};
use crate::error::AgentResult;
use crate::failpoint;
use crate::metrics::TopicLabels;

/// Objects deleted per metadata query, and orphans claimed per statement.
const BATCH: usize = 500;

/// How orphans are looked for.
#[derive(Debug, Clone, Copy)]
pub struct OrphanScan {
    /// How old (by the time in its key) an unknown object must be to be claimed.
    pub grace_ms: i64,
    /// How often the bucket is listed.
    pub interval: Duration,
}

/// The garbage-collection job.
pub struct Gc {
    store: Arc<dyn MetadataStore>,
    objects: Arc<dyn ObjectStore>,
    interval: Duration,
    grace_ms: i64,
    orphans: Option<OrphanScan>,
    metrics: JobMetrics,
    /// The topics whose storage gauges this agent exports, to clear those that went away.
    exported: Mutex<HashSet<TopicLabels>>,
    /// When this holder of the job last listed the bucket.
    scanned: Mutex<Option<Instant>>,
}

impl Gc {
    /// The job over the agent's stores: unreferenced objects go `grace_ms` after the index
    /// stopped referencing them; orphans (when `orphans` is set) are looked for as it says.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        interval: Duration,
        grace_ms: i64,
        orphans: Option<OrphanScan>,
        metrics: JobMetrics,
    ) -> Self {
        Self {
            store,
            objects,
            interval,
            grace_ms,
            orphans,
            metrics,
            exported: Mutex::default(),
            scanned: Mutex::default(),
        }
    }

    /// Exports every topic's stored bytes, objects and compaction backlog.
    async fn export_storage(&self) -> AgentResult<()> {
        let stats = self.store.storage_stats().await?;
        let m = &self.metrics;
        let mut now = HashSet::new();
        for s in stats {
            let labels = TopicLabels {
                tenant: s.tenant.to_string(),
                topic: s.topic.to_string(),
            };
            let set = |f: &Family<TopicLabels, Gauge>, v: u64| {
                f.get_or_create(&labels)
                    .set(i64::try_from(v).unwrap_or(i64::MAX));
            };
            set(&m.stored_bytes, s.bytes);
            set(&m.stored_objects, s.objects);
            set(&m.compaction_backlog_bytes, s.backlog_bytes);
            set(&m.compaction_backlog_objects, s.backlog_objects);
            now.insert(labels);
        }
        let mut exported = self.exported.lock().expect("poisoned");
        for gone in exported.difference(&now) {
            self.forget_labels(gone);
        }
        *exported = now;
        Ok(())
    }

    fn forget_labels(&self, labels: &TopicLabels) {
        let m = &self.metrics;
        for f in [
            &m.stored_bytes,
            &m.stored_objects,
            &m.compaction_backlog_bytes,
            &m.compaction_backlog_objects,
        ] {
            f.remove(labels);
        }
    }

    /// Lists the bucket and claims the orphans in it; returns how many.
    async fn claim_orphans(&self, grace_ms: i64) -> AgentResult<usize> {
        // A minute of slack for this agent's clock: the store decides on its own clock.
        let young = now_ms().saturating_sub(grace_ms).saturating_add(60_000);
        let mut by_tenant: BTreeMap<TenantId, Vec<OrphanCandidate>> = BTreeMap::new();
        for meta in self.objects.list(Some("tenants")).await? {
            let Some((tenant, key_time_ms)) = parse_object_key(meta.key.as_str()) else {
                continue;
            };
            if key_time_ms > young {
                continue;
            }
            by_tenant.entry(tenant).or_default().push(OrphanCandidate {
                object_key: meta.key.as_str().to_owned(),
                size: meta.size,
                key_time_ms,
            });
        }
        let mut claimed = 0;
        for (tenant, candidates) in by_tenant {
            for chunk in candidates.chunks(BATCH) {
                let keys = self.store.claim_orphans(&tenant, chunk, grace_ms).await?;
                for k in &keys {
                    tracing::info!(object = %k, "claimed an orphaned object for deletion");
                }
                claimed += keys.len();
            }
        }
        self.metrics.orphans_found.inc_by(claimed as u64);
        Ok(claimed)
    }

    /// Deletes the objects unreferenced for the grace period (claimed orphans at once);
    /// returns how many.
    async fn delete_unreferenced(&self) -> AgentResult<usize> {
        let mut deleted = 0;
        loop {
            let keys = self
                .store
                .unreferenced_objects(self.grace_ms, BATCH as u32)
                .await?;
            for key in &keys {
                self.objects.delete(&ObjectKey::new(key.clone())?).await?;
                failpoint::hit("gc.after_delete");
                self.store.forget_object(key).await?;
                self.metrics.objects_deleted.inc();
                deleted += 1;
            }
            if keys.len() < BATCH {
                return Ok(deleted);
            }
        }
    }
}

#[async_trait]
impl Job for Gc {
    fn name(&self) -> &'static str {
        "gc"
    }

    fn number(&self) -> u32 {
        1
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _lease: &Lease) -> AgentResult<String> {
        let due = self.orphans.filter(|scan| {
            let last = *self.scanned.lock().expect("poisoned");
            last.is_none_or(|t| t.elapsed() >= scan.interval)
        });
        let claimed = match due {
            Some(scan) => {
                let n = self.claim_orphans(scan.grace_ms).await?;
                *self.scanned.lock().expect("poisoned") = Some(Instant::now());
                n
            }
            None => 0,
        };
        let deleted = self.delete_unreferenced().await?;
        self.export_storage().await?;
        Ok(match (claimed, deleted) {
            (0, 0) => String::new(),
            _ => format!("claimed {claimed} orphaned objects; deleted {deleted} objects"),
        })
    }

    fn released(&self) {
        *self.scanned.lock().expect("poisoned") = None;
        for labels in std::mem::take(&mut *self.exported.lock().expect("poisoned")) {
            self.forget_labels(&labels);
        }
    }
}
