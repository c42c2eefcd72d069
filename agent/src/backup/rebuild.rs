//! `streamhouse-agent rebuild-metadata`: reconstructs tenants, topics, partitions, the offset
//! index, high watermarks and consumer-group offsets from a bucket into an empty metadata
//! store.
//!
//! Every record object is read once and every batch's CRC checked. Where batches of one
//! partition overlap (a fenced zombie's write, a flush whose commit failed and whose offsets
//! were written again, a compaction that died before its swap), the batch written under the
//! higher lease epoch wins, then the one in the newer object (object keys carry their time):
//! that is the one the metadata store had committed. The offsets of unacknowledged records
//! whose flush died between its PUT and its commit, and which nothing wrote again, come back
//! as records (never acknowledged, so possibly produced again by their producer's retry).

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use streamhouse_core::format::{BatchHeader, decode_object};
use streamhouse_core::lifecycle::parse_object_key;
use streamhouse_core::{
    MetadataError, MetadataStore, ObjectKey, ObjectStore, RestoredObject, SwapBatch, TenantId,
    TopicId, TopicInfo,
};

use super::{OffsetSnapshot, TenantManifest, TopicManifest};

/// Objects read at once.
const CONCURRENT_READS: usize = 8;

/// What a rebuild found and restored.
#[derive(Debug, Default)]
pub struct RebuildReport {
    /// Tenants restored from their files.
    pub tenants: usize,
    /// Topics restored from their manifests.
    pub topics: usize,
    /// Record objects read.
    pub objects_read: usize,
    /// Objects recorded (the rest are orphans, or of deleted topics).
    pub objects_restored: usize,
    /// Index rows recorded.
    pub batches: usize,
    /// Committed offsets restored from the newest snapshots.
    pub group_offsets: usize,
    /// Partitions with offsets no batch covers, as `topic/partition: from..to`.
    pub gaps: Vec<String>,
}

impl std::fmt::Display for RebuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "tenants {}", self.tenants)?;
        writeln!(f, "topics {}", self.topics)?;
        writeln!(f, "objects_read {}", self.objects_read)?;
        writeln!(f, "objects_restored {}", self.objects_restored)?;
        writeln!(f, "batches {}", self.batches)?;
        writeln!(f, "group_offsets {}", self.group_offsets)?;
        write!(f, "gaps {}", self.gaps.len())?;
        for g in &self.gaps {
            write!(f, "\ngap {g}")?;
        }
        Ok(())
    }
}

/// What rebuilding keeps of an object it read: who wrote it, and its batches' byte ranges
/// and headers.
struct ObjectHeaders {
    writer: String,
    compacted: bool,
    batches: Vec<(u64, u32, BatchHeader)>,
}

/// A batch found in an object.
#[derive(Debug, Clone)]
struct Found {
    object: usize,
    epoch: u64,
    key_time_ms: i64,
    batch: SwapBatch,
}

/// Rebuilds the metadata of every tenant in `objects` into `store`, which must hold no
/// topics; with `dry_run`, only reports what it would restore.
pub async fn rebuild_metadata(
    store: &dyn MetadataStore,
    objects: &dyn ObjectStore,
    dry_run: bool,
) -> anyhow::Result<RebuildReport> {
    let existing = store.list_topics(None).await?;
    if !existing.is_empty() {
        anyhow::bail!(
            "the metadata store already holds {} topics: rebuild into an empty one (a new \
             database, migrated by `streamhouse-agent migrate`)",
            existing.len()
        );
    }
    let mut by_tenant: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for meta in objects.list(Some("tenants")).await? {
        let key = meta.key.as_str();
        if let Some(tenant) = key
            .strip_prefix("tenants/")
            .and_then(|k| k.split('/').next())
        {
            by_tenant
                .entry(tenant.to_owned())
                .or_default()
                .push(key.to_owned());
        }
    }
    let mut report = RebuildReport::default();
    for (tenant, keys) in by_tenant {
        let tenant = TenantId::new(tenant).context("a tenant prefix in the bucket")?;
        tenant_rebuild(store, objects, &tenant, &keys, dry_run, &mut report).await?;
    }
    Ok(report)
}

async fn read_json<T: DeserializeOwned>(objects: &dyn ObjectStore, key: &str) -> anyhow::Result<T> {
    let bytes = objects.get(&ObjectKey::new(key)?).await?;
    serde_json::from_slice(&bytes).with_context(|| format!("{key} is not a valid file"))
}

async fn tenant_rebuild(
    store: &dyn MetadataStore,
    objects: &dyn ObjectStore,
    tenant: &TenantId,
    keys: &[String],
    dry_run: bool,
    report: &mut RebuildReport,
) -> anyhow::Result<()> {
    let prefix = format!("tenants/{tenant}/");
    let mut topics: HashMap<TopicId, TopicInfo> = HashMap::new();
    let mut records = Vec::new();
    let mut snapshots = Vec::new();
    for key in keys {
        let rest = &key[prefix.len()..];
        if rest == "tenant.json" {
            let file: TenantManifest = read_json(objects, key).await?;
            if !dry_run {
                match store.create_tenant(&file.tenant(tenant.clone())?).await {
                    Ok(()) | Err(MetadataError::AlreadyExists(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            report.tenants += 1;
        } else if rest.starts_with("topics/") {
            let manifest: TopicManifest = read_json(objects, key).await?;
            let t = manifest
                .topic(tenant)
                .with_context(|| format!("manifest {key}"))?;
            topics.insert(t.id, t);
        } else if rest.starts_with("offsets/") {
            snapshots.push(key.clone());
        } else if let Some((_, key_time_ms)) = parse_object_key(key) {
            records.push((key.clone(), key_time_ms));
        }
    }
    for t in topics.values() {
        if !dry_run {
            store.restore_topic(t).await?;
        }
        report.topics += 1;
    }

    // Every record object, read and checked; the batches of known topics are candidates.
    // Only the batches' headers are kept of each object: a bucket does not fit in memory.
    let decoded: Vec<_> = futures::stream::iter(records.iter().enumerate())
        .map(|(i, (key, _))| async move {
            let bytes = objects.get(&ObjectKey::new(key.as_str())?).await?;
            let contents =
                decode_object(&bytes).with_context(|| format!("object {key} is damaged"))?;
            let headers = ObjectHeaders {
                writer: contents.writer,
                compacted: contents.compacted,
                batches: contents
                    .batches
                    .into_iter()
                    .map(|(position, size, b)| (position, size, b.header))
                    .collect(),
            };
            anyhow::Ok((i, bytes.len() as u64, headers))
        })
        .buffer_unordered(CONCURRENT_READS)
        .try_collect()
        .await?;
    report.objects_read += decoded.len();
    let mut restored: Vec<Option<RestoredObject>> = vec![None; records.len()];
    let mut candidates: BTreeMap<(TopicId, u32), Vec<Found>> = BTreeMap::new();
    for (i, size, contents) in decoded {
        restored[i] = Some(RestoredObject {
            tenant: tenant.clone(),
            object_key: records[i].0.clone(),
            object_size: size,
            writer: contents.writer.clone(),
            compacted: contents.compacted,
            batches: Vec::new(),
        });
        for (position, batch_size, h) in contents.batches {
            let known = topics
                .get(&h.topic_id)
                .is_some_and(|t| h.partition < t.spec.partitions);
            if !known {
                continue;
            }
            candidates
                .entry((h.topic_id, h.partition))
                .or_default()
                .push(Found {
                    object: i,
                    epoch: h.leader_epoch,
                    key_time_ms: records[i].1,
                    batch: SwapBatch {
                        base_offset: h.base_offset,
                        end_offset: h.base_offset + u64::from(h.record_count),
                        position,
                        size: batch_size,
                        max_timestamp_ms: h.max_timestamp_ms,
                    },
                });
        }
    }

    // The snapshot's offsets (and, below, its partitions' offsets) from the newest readable
    // snapshot.
    snapshots.sort();
    let mut snapshot: Option<OffsetSnapshot> = None;
    for key in snapshots.iter().rev() {
        match read_json::<OffsetSnapshot>(objects, key).await {
            Ok(s) => {
                snapshot = Some(s);
                break;
            }
            Err(e) => tracing::warn!("skipping offset snapshot {key}: {e:#}"),
        }
    }

    for t in topics.values() {
        for p in 0..t.spec.partitions {
            let chosen = choose(candidates.remove(&(t.id, p)).unwrap_or_default());
            let (start, end) = match (chosen.first(), chosen.last()) {
                (Some(first), Some(last)) => (first.batch.base_offset, last.batch.end_offset),
                _ => (0, 0),
            };
            let mut next = start;
            for f in &chosen {
                if f.batch.base_offset > next {
                    report.gaps.push(format!(
                        "{}/{p}: {next}..{}",
                        t.spec.name, f.batch.base_offset
                    ));
                }
                next = f.batch.end_offset;
                if let Some(o) = restored[f.object].as_mut() {
                    o.batches.push((t.id, p, f.batch.clone()));
                }
            }
            report.batches += chosen.len();
            // Consumers committed up to here: the log reached at least that far, even if
            // retention removed every batch since.
            let committed = snapshot
                .iter()
                .flat_map(|s| &s.offsets)
                .filter(|o| o.topic_id == t.id && o.partition == p)
                .map(|o| o.committed)
                .max()
                .unwrap_or(0);
            let hw = end.max(committed);
            let log_start = if chosen.is_empty() { hw } else { start };
            if !dry_run && hw > 0 {
                store.restore_partition(t.id, p, log_start, hw).await?;
            }
        }
    }
    for o in restored.into_iter().flatten() {
        if o.batches.is_empty() {
            continue;
        }
        if !dry_run {
            store.restore_object(&o).await?;
        }
        report.objects_restored += 1;
    }

    if let Some(s) = snapshot {
        let mut by_group: BTreeMap<(String, TopicId), Vec<(u32, u64)>> = BTreeMap::new();
        for o in s.offsets {
            if topics.contains_key(&o.topic_id) {
                by_group
                    .entry((o.group, o.topic_id))
                    .or_default()
                    .push((o.partition, o.committed));
            }
        }
        for ((group, topic_id), offsets) in by_group {
            if !dry_run {
                store
                    .commit_offsets(tenant, &group, topic_id, &offsets)
                    .await?;
            }
            report.group_offsets += offsets.len();
        }
    } else if !snapshots.is_empty() {
        tracing::warn!(%tenant, "no readable offset snapshot: consumer groups start over");
    }
    Ok(())
}

/// The batches of one partition that the metadata store had committed: of overlapping ones,
/// the one written under the higher lease epoch, then the one in the newer object; and none
/// under a lower epoch than a batch before it (committed epochs never go down along the log:
/// such a batch is a fenced zombie's write past the end of the log). In offset order.
fn choose(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by(|a, b| {
        (b.epoch, b.key_time_ms, b.object).cmp(&(a.epoch, a.key_time_ms, a.object))
    });
    let mut taken: BTreeMap<u64, Found> = BTreeMap::new();
    for f in found {
        let (start, end) = (f.batch.base_offset, f.batch.end_offset);
        let before = taken.range(..end).next_back();
        let overlaps = before.is_some_and(|(_, b)| b.batch.end_offset > start);
        if !overlaps {
            taken.insert(start, f);
        }
    }
    let mut epoch = 0;
    taken
        .into_values()
        .filter(|f| {
            epoch = epoch.max(f.epoch);
            f.epoch == epoch
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(object: usize, epoch: u64, time: i64, base: u64, end: u64) -> Found {
        Found {
            object,
            epoch,
            key_time_ms: time,
            batch: SwapBatch {
                base_offset: base,
                end_offset: end,
                position: 0,
                size: 1,
                max_timestamp_ms: 0,
            },
        }
    }

    fn spans(chosen: &[Found]) -> Vec<(usize, u64, u64)> {
        chosen
            .iter()
            .map(|f| (f.object, f.batch.base_offset, f.batch.end_offset))
            .collect()
    }

    #[test]
    fn the_committed_batch_wins_over_zombies_and_failed_flushes() {
        let chosen = choose(vec![
            // Committed by the first leader.
            found(0, 1, 100, 0, 10),
            // A flush whose commit failed; its offsets were written again just after.
            found(1, 1, 200, 10, 20),
            found(2, 1, 300, 10, 15),
            found(3, 1, 310, 15, 20),
            // A zombie of epoch 1 wrote 20..30 after the new leader (epoch 2) did, and 30..35
            // past the end of the log.
            found(5, 1, 500, 20, 30),
            found(4, 2, 400, 20, 25),
            found(6, 2, 450, 25, 30),
            found(7, 1, 510, 30, 35),
        ]);
        assert_eq!(
            spans(&chosen),
            [
                (0, 0, 10),
                (2, 10, 15),
                (3, 15, 20),
                (4, 20, 25),
                (6, 25, 30)
            ]
        );
    }

    #[test]
    fn a_compacted_object_wins_over_the_flushes_it_replaced() {
        let chosen = choose(vec![
            found(0, 3, 100, 0, 5),
            found(1, 3, 110, 5, 9),
            found(2, 3, 900, 0, 9),
            found(3, 3, 120, 9, 12),
        ]);
        assert_eq!(spans(&chosen), [(2, 0, 9), (3, 9, 12)]);
    }
}
