//! `[compaction]` and `[gc]`: the storage-lifecycle jobs, which run on one agent of the
//! cluster at a time.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[compaction]`: rewriting small flush objects into one object per partition, and
/// key-compacted topics into the latest record per key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompactionConfig {
    /// Whether the compaction job runs. Default true.
    pub enabled: bool,
    /// How often the job looks for work. Default 30000.
    pub interval_ms: u64,
    /// The size compacted objects aim for. Default 64 MiB.
    pub target_object_bytes: u64,
    /// Batches younger than this stay in their flush objects: tail readers find them in the
    /// writer's cache. Default 60000.
    pub min_age_ms: i64,
    /// A partition is compacted once this many of its batches sit in flush objects (or the
    /// flush batches fill a target-sized object). Default 16.
    pub min_batches: usize,
    /// A key-compacted partition is compacted again once this share of its bytes was written
    /// since its last compaction (Kafka's `min.cleanable.dirty.ratio`). Default 0.5.
    pub min_dirty_ratio: f64,
    /// Most bytes a second compaction reads, to leave the agent's CPU and network to produces
    /// (Kafka's `log.cleaner.io.max.bytes.per.second`); 0 for no limit. Default 0.
    pub max_bytes_per_second: u64,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 30_000,
            target_object_bytes: 64 << 20,
            min_age_ms: 60_000,
            min_batches: 16,
            min_dirty_ratio: 0.5,
            max_bytes_per_second: 0,
        }
    }
}

impl CompactionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(m));
        if self.interval_ms < 100 {
            return bad("compaction.interval_ms must be at least 100".into());
        }
        if !(1 << 20..=1 << 30).contains(&self.target_object_bytes) {
            return bad(format!(
                "compaction.target_object_bytes = {} must be between 1 MiB and 1 GiB",
                self.target_object_bytes
            ));
        }
        if self.min_age_ms < 0 {
            return bad("compaction.min_age_ms must not be negative".into());
        }
        if self.min_batches < 2 {
            return bad("compaction.min_batches must be at least 2".into());
        }
        if !(0.0..=1.0).contains(&self.min_dirty_ratio) {
            return bad("compaction.min_dirty_ratio must be between 0 and 1".into());
        }
        Ok(())
    }
}

/// `[gc]`: deleting objects nothing references, and the snapshots that let metadata be
/// rebuilt from the bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcConfig {
    /// How often the job runs. Default 60000.
    pub interval_ms: u64,
    /// How long an object stays after the index stopped referencing it (retention, a
    /// compaction, a deleted topic): a read that found it in the index just before has that
    /// long to finish. Default 300000.
    pub grace_ms: i64,
    /// Whether the job also lists the bucket for orphans (objects written by flushes whose
    /// commit failed or never came). Default true.
    pub collect_orphans: bool,
    /// How often the bucket is listed for orphans (a LIST request per 1,000 objects).
    /// Default 3600000.
    pub orphan_scan_interval_ms: u64,
    /// How often the `snapshots` job writes each tenant's consumer-group offsets (when they
    /// changed) and checks the topic manifests in the bucket: the recovery point of consumer
    /// offsets when metadata is rebuilt from the bucket. Default 300000.
    pub snapshot_interval_ms: u64,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            interval_ms: 60_000,
            grace_ms: 300_000,
            collect_orphans: true,
            orphan_scan_interval_ms: 3_600_000,
            snapshot_interval_ms: 300_000,
        }
    }
}

impl GcConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.interval_ms < 100 {
            return Err(ConfigError("gc.interval_ms must be at least 100".into()));
        }
        if self.grace_ms < 0 {
            return Err(ConfigError("gc.grace_ms must not be negative".into()));
        }
        if self.snapshot_interval_ms < 100 {
            return Err(ConfigError(
                "gc.snapshot_interval_ms must be at least 100".into(),
            ));
        }
        Ok(())
    }
}

/// How old an object found in the bucket must be (by the time in its key, on the metadata
/// store's clock) before it is collected as an orphan: twice `write.commit_deadline_ms`. A
/// commit later than the deadline is refused by the store itself, so an object that old can
/// never be committed; the second deadline is margin for the store's clock being stepped.
pub fn orphan_grace_ms(commit_deadline_ms: u64) -> i64 {
    i64::try_from(commit_deadline_ms.saturating_mul(2)).unwrap_or(i64::MAX)
}
