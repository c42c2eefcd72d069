//! Retention: each partition's is applied by the agent that leads it (the partition lease
//! makes it a singleton). Batches whose records are all older than the topic's `retention_ms`
//! are dropped from the index, and so are the oldest batches beyond its `retention_bytes`;
//! the log start offset rises. Topics whose `cleanup_policy` is `compact` keep everything
//! (compaction removes superseded records instead). The objects no index row references
//! any more are deleted by the `gc` job after its grace period.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use streamhouse_core::{MetadataError, MetadataStore, TopicId, TopicSpec};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::error::AgentResult;
use crate::partitions::Partitions;
use streamhouse_core::clock::now_ms;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPass {
    /// Partitions whose log start moved.
    pub partitions_trimmed: usize,
}

/// The retention job of the partitions this agent leads.
#[derive(Debug)]
pub struct Retention {
    store: Arc<dyn MetadataStore>,
    partitions: Arc<Partitions>,
    interval: Duration,
}

impl Retention {
    /// A job over the agent's store, run every `interval`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        partitions: Arc<Partitions>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
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
                Ok(p) if p != RetentionPass::default() => {
                    info!(partitions_trimmed = p.partitions_trimmed, "retention pass")
                }
                Ok(_) => {}
                Err(e) => warn!("retention pass failed: {e}"),
            }
        }
    }

    /// One pass over the partitions this agent leads.
    pub async fn pass(&self) -> AgentResult<RetentionPass> {
        let mut done = RetentionPass::default();
        let now = now_ms();
        // Each topic's settings fresh from the store, once per pass: `topic alter` changes
        // them under running partitions.
        let mut settings: HashMap<TopicId, Option<TopicSpec>> = HashMap::new();
        for p in self.partitions.led() {
            let key = p.key();
            let spec = match settings.entry(key.topic_id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    let t = p.topic();
                    v.insert(
                        match self.store.get_topic(&t.spec.tenant, &t.spec.name).await {
                            Ok(fresh) if fresh.id == t.id => Some(fresh.spec),
                            Ok(_) | Err(MetadataError::NotFound(_)) => None,
                            Err(e) => return Err(e.into()),
                        },
                    )
                }
            };
            let Some(spec) = spec else {
                continue;
            };
            if !spec.cleanup_policy.deletes() {
                continue;
            }
            let before = p.log_start();
            let mut start = before;
            if let Some(ms) = spec.retention_ms {
                let cutoff = now.saturating_sub(ms);
                let s = self
                    .store
                    .expire_before(key.topic_id, key.partition, cutoff)
                    .await?;
                start = start.max(s);
            }
            if let Some(bytes) = spec.retention_bytes {
                let max = u64::try_from(bytes).unwrap_or(0);
                let s = self
                    .store
                    .expire_to_size(key.topic_id, key.partition, max)
                    .await?;
                start = start.max(s);
            }
            p.trimmed(start);
            if start > before {
                done.partitions_trimmed += 1;
            }
        }
        Ok(done)
    }
}
