//! Retention and object garbage collection.
//!
//! Each partition's retention is applied by the agent that leads it (the partition lease
//! makes it a singleton): batches whose records are all older than the topic's
//! `retention_ms` are dropped from the index and the log start offset rises. Objects that no
//! index row references any more — expired, or of deleted topics — are then deleted from the
//! object store. Deleting an object twice is harmless, so collection needs no lease.

use std::sync::Arc;
use std::time::Duration;

use streamhouse_core::{MetadataStore, ObjectKey, ObjectStore};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::error::AgentResult;
use crate::partitions::Partitions;
use streamhouse_core::clock::now_ms;

/// Objects deleted per metadata query.
const GC_BATCH: u32 = 500;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPass {
    /// Partitions whose log start moved.
    pub partitions_trimmed: usize,
    /// Objects deleted from the object store.
    pub objects_deleted: usize,
}

/// The retention and garbage-collection job.
#[derive(Debug)]
pub struct Retention {
    store: Arc<dyn MetadataStore>,
    objects: Arc<dyn ObjectStore>,
    partitions: Arc<Partitions>,
    interval: Duration,
}

impl Retention {
    /// A job over the agent's stores, run every `interval`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        partitions: Arc<Partitions>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            objects,
            partitions,
            interval,
        }
    }

    /// Runs passes until `shutdown` flips.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => return,
            }
            match self.pass().await {
                Ok(p) if p != RetentionPass::default() => info!(
                    partitions_trimmed = p.partitions_trimmed,
                    objects_deleted = p.objects_deleted,
                    "retention pass"
                ),
                Ok(_) => {}
                Err(e) => warn!("retention pass failed: {e}"),
            }
        }
    }

    /// One pass: trim the partitions this agent leads, then delete unreferenced objects.
    pub async fn pass(&self) -> AgentResult<RetentionPass> {
        let mut done = RetentionPass::default();
        let now = now_ms();
        for p in self.partitions.led() {
            let Some(retention) = p.topic().spec.retention_ms else {
                continue;
            };
            let before = p.log_start();
            let key = p.key();
            let start = self
                .store
                .expire_before(key.topic_id, key.partition, now.saturating_sub(retention))
                .await?;
            p.trimmed(start);
            if start > before {
                done.partitions_trimmed += 1;
            }
        }
        loop {
            let keys = self.store.unreferenced_objects(GC_BATCH).await?;
            if keys.is_empty() {
                break;
            }
            for key in &keys {
                let k = ObjectKey::new(key.clone())?;
                self.objects.delete(&k).await?;
                self.store.forget_object(key).await?;
                done.objects_deleted += 1;
            }
            if keys.len() < GC_BATCH as usize {
                break;
            }
        }
        Ok(done)
    }
}
