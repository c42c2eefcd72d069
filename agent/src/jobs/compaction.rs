//! The `compaction` job: rewrites a partition's batches from the small flush objects they
//! were written in (each holding every partition of a tenant's flush) into objects of one
//! partition of about `compaction.target_object_bytes`, in batches of about a mebibyte; for
//! key-compacted topics (`cleanup_policy` `compact` or `compact,delete`) it keeps only the
//! latest record of each key, and drops tombstones older than `delete_retention_ms`.
//!
//! Each compacted object replaces a contiguous range of the partition's index rows in one
//! fenced transaction (`LifecycleStore::swap_batches`): under the job's lease, and only if
//! the rows are still the ones it read, so a reader sees either the old rows or the new ones,
//! never a gap or a duplicate. The replaced objects stay until the `gc` job deletes them a
//! grace period later, so reads that found them in the index just before can finish. A crash
//! at any step loses nothing: before the swap the new object is an orphan (collected by
//! `gc`), after it the old objects are unreferenced (collected by `gc`), and the next run
//! redoes whatever was not swapped.
//!
//! Compacted batches keep the topic's codec and each batch's CRC32C, and the offsets of the
//! records they hold: key compaction leaves gaps in the offsets, never reorders (Kafka's
//! semantics).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use streamhouse_core::clock::now_ms;
use streamhouse_core::config::CompactionConfig;
use streamhouse_core::format::{BatchHeader, FLAG_COMPACTED, ObjectWriter, decode_batch};
use streamhouse_core::lifecycle::{new_object_key, parse_object_key};
use streamhouse_core::{
    CompactionSwap, Lease, MetadataError, MetadataStore, ObjectKey, ObjectStore, PutMode, Record,
    StoredBatch, SwapBatch, TopicId, TopicInfo,
};
use tracing::{debug, warn};

use super::{Job, JobMetrics};
use crate::error::{AgentError, AgentResult};
use crate::failpoint;

/// Index rows planned per partition at a time.
const PLAN_ROWS: u32 = 10_000;
/// The size compacted batches aim for, uncompressed.
const BATCH_BYTES: usize = 1 << 20;

/// The compaction job.
pub struct Compaction {
    store: Arc<dyn MetadataStore>,
    objects: Arc<dyn ObjectStore>,
    cfg: CompactionConfig,
    commit_deadline_ms: i64,
    metrics: JobMetrics,
    /// `compaction.max_bytes_per_second`.
    throttle: std::sync::Mutex<Throttle>,
}

/// What one run did.
#[derive(Debug, Default)]
struct Done {
    /// The job's lease moved: the run stops.
    fenced: bool,
    swaps: u64,
    read: u64,
    written: u64,
}

impl Compaction {
    /// The job over the agent's stores; swaps must come within `commit_deadline_ms` of
    /// naming their object, as flush commits must.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        cfg: CompactionConfig,
        commit_deadline_ms: i64,
        metrics: JobMetrics,
    ) -> Self {
        let cfg_rate = cfg.max_bytes_per_second;
        Self {
            store,
            objects,
            cfg,
            commit_deadline_ms,
            metrics,
            throttle: std::sync::Mutex::new(Throttle::new(cfg_rate)),
        }
    }

    /// Compacts what is due in one partition, range after range.
    async fn partition(
        &self,
        t: &TopicInfo,
        p: u32,
        lease: &Lease,
        done: &mut Done,
    ) -> AgentResult<()> {
        loop {
            let start = match self.store.partition_offset(t.id, p).await {
                Ok(info) => info.log_start_offset,
                // Deleted since it was listed.
                Err(MetadataError::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let rows = self
                .store
                .partition_batches(t.id, p, start, PLAN_ROWS)
                .await?;
            let cutoff = now_ms().saturating_sub(self.cfg.min_age_ms);
            let old = rows.iter().take_while(|r| written_at(r) <= cutoff).count();
            let rows = &rows[..old];
            let range = match t.spec.cleanup_policy.compacts() {
                true => plan_keyed(rows, &self.cfg),
                false => plan_size(rows, &self.cfg),
            };
            let Some(range) = range else {
                return Ok(());
            };
            let keyed = t.spec.cleanup_policy.compacts();
            let swapped = self.rewrite(t, p, &rows[range], keyed, lease, done).await?;
            // Key compaction rewrites everything due at once; size compaction one object's
            // worth at a time, so it plans again.
            if keyed || swapped == 0 {
                return Ok(());
            }
        }
    }

    /// Rewrites `rows` (a contiguous range of one partition) into compacted objects, each
    /// swapped in as soon as it is written; returns how many were swapped.
    async fn rewrite(
        &self,
        t: &TopicInfo,
        p: u32,
        rows: &[StoredBatch],
        keyed: bool,
        lease: &Lease,
        done: &mut Done,
    ) -> AgentResult<u64> {
        // Key compaction reads the range twice: first for the latest offset of each key.
        let latest = match keyed {
            true => Some(self.latest_offsets(t, p, rows).await?),
            false => None,
        };
        let tombstones_until = now_ms().saturating_sub(t.spec.delete_retention_ms);
        let mut out = Output::new(t, p, self.cfg.target_object_bytes as usize, &lease.holder);
        let mut swapped = 0;
        for group in by_object(rows) {
            for (row, batch) in group.iter().zip(self.read(t, p, group).await?) {
                done.read += u64::from(row.entry.size);
                let before = batch.records.len();
                let kept: Vec<(u64, Record)> = match &latest {
                    None => batch.records,
                    Some(latest) => batch
                        .records
                        .into_iter()
                        .filter(|(o, r)| keep(latest, *o, r, tombstones_until))
                        .collect(),
                };
                self.metrics
                    .compaction_removed_records
                    .inc_by((before - kept.len()) as u64);
                out.add(row, batch.header.leader_epoch, kept);
                if out.full() {
                    let next = out.next();
                    let full = std::mem::replace(&mut out, next);
                    done.written += self.finish(full, lease, done).await?;
                    swapped += 1;
                    done.swaps += 1;
                }
            }
        }
        if !out.is_empty() {
            done.written += self.finish(out, lease, done).await?;
            swapped += 1;
            done.swaps += 1;
        }
        Ok(swapped)
    }

    /// The latest offset of each key in `rows`.
    async fn latest_offsets(
        &self,
        t: &TopicInfo,
        p: u32,
        rows: &[StoredBatch],
    ) -> AgentResult<HashMap<Bytes, u64>> {
        let mut latest = HashMap::new();
        for group in by_object(rows) {
            for batch in self.read(t, p, group).await? {
                for (o, r) in batch.records {
                    if let Some(k) = r.key {
                        latest.insert(k, o);
                    }
                }
            }
        }
        Ok(latest)
    }

    /// Reads and checks the batches of `group` (rows in one object) with one ranged GET.
    async fn read(
        &self,
        t: &TopicInfo,
        p: u32,
        group: &[StoredBatch],
    ) -> AgentResult<Vec<streamhouse_core::format::DecodedBatch>> {
        let (first, last) = (&group[0].entry, &group[group.len() - 1].entry);
        let start = first.position;
        let end = last.position + u64::from(last.size);
        let key = ObjectKey::new(first.object_key.clone())?;
        self.throttle(end - start).await;
        let bytes = self.objects.get_range(&key, start..end).await?;
        self.metrics
            .compaction_read_bytes
            .inc_by(bytes.len() as u64);
        group
            .iter()
            .map(|row| {
                let e = &row.entry;
                let at = (e.position - start) as usize;
                let batch =
                    decode_batch(&bytes.slice(at..at + e.size as usize)).map_err(|err| {
                        AgentError::DataLoss(format!(
                            "compaction read a damaged batch at offsets {}..{} of partition {p} of \
                         topic {:?} (object {}): {err}; the partition is not compacted",
                            e.base_offset,
                            e.end_offset(),
                            t.spec.name.as_str(),
                            e.object_key
                        ))
                    })?;
                let h = &batch.header;
                if h.topic_id != t.id
                    || h.partition != p
                    || h.base_offset != e.base_offset
                    || h.record_count != e.record_count
                {
                    return Err(AgentError::DataLoss(format!(
                        "object {} holds another batch than the index says at position {}; \
                         partition {p} of topic {:?} is not compacted",
                        e.object_key,
                        e.position,
                        t.spec.name.as_str()
                    )));
                }
                Ok(batch)
            })
            .collect()
    }

    /// Waits as long as reading `bytes` more takes at `compaction.max_bytes_per_second`.
    async fn throttle(&self, bytes: u64) {
        let wait = self
            .throttle
            .lock()
            .expect("poisoned")
            .delay(bytes, Instant::now());
        tokio::time::sleep(wait).await;
    }

    /// Writes a compacted object and swaps it in for the rows it replaces; returns its size.
    async fn finish(&self, out: Output, lease: &Lease, done: &mut Done) -> AgentResult<u64> {
        let (object, mut swap) = out.into_swap(lease);
        let (key, named_at) = new_object_key(&swap.tenant);
        let size = object.len() as u64;
        failpoint::hit("compaction.before_put");
        self.objects
            .put(&ObjectKey::new(key.clone())?, object, PutMode::Create)
            .await?;
        failpoint::hit("compaction.after_put");
        swap.object_key = key;
        swap.object_size = size;
        swap.deadline_ms = named_at.saturating_add(self.commit_deadline_ms);
        // Refused, the object is an orphan, which `gc` collects.
        if let Err(e) = self.store.swap_batches(&swap).await {
            done.fenced |= matches!(e, MetadataError::Fenced(_));
            return Err(e.into());
        }
        failpoint::hit("compaction.after_swap");
        debug!(object = %swap.object_key, partition = swap.partition, start = swap.start_offset, end = swap.end_offset, replaced = swap.replaced.len(), "compacted");
        self.metrics.compaction_swaps.inc();
        self.metrics.compaction_written_bytes.inc_by(size);
        Ok(size)
    }
}

#[async_trait]
impl Job for Compaction {
    fn name(&self) -> &'static str {
        "compaction"
    }

    fn number(&self) -> u32 {
        0
    }

    fn interval(&self) -> Duration {
        Duration::from_millis(self.cfg.interval_ms)
    }

    async fn run(&self, lease: &Lease) -> AgentResult<String> {
        let mut done = Done::default();
        let candidates = self
            .store
            .compaction_candidates(self.cfg.min_batches as u64, self.cfg.target_object_bytes)
            .await?;
        if candidates.is_empty() {
            return Ok(String::new());
        }
        let topics: HashMap<TopicId, TopicInfo> = self
            .store
            .list_topics(None)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        for (topic_id, p) in candidates {
            // Deleted since its rows were counted.
            let Some(t) = topics.get(&topic_id) else {
                continue;
            };
            match self.partition(t, p, lease, &mut done).await {
                Ok(()) => {}
                // The job moved: stop here.
                Err(e) if done.fenced => return Err(e),
                // Retention or a topic deletion got there first, or a batch is damaged:
                // the next run plans again.
                Err(e) => warn!(topic = %t.spec.name, partition = p, "compaction skipped: {e}"),
            }
        }
        Ok(match done.swaps {
            0 => String::new(),
            n => format!(
                "compacted {} bytes into {n} objects of {} bytes in all",
                done.read, done.written
            ),
        })
    }
}

/// A limit on bytes per second: how long to wait before reading more.
#[derive(Debug)]
struct Throttle {
    /// Bytes per second; 0 for no limit.
    rate: u64,
    /// When the bytes read so far are paid for.
    paid_until: Option<Instant>,
}

impl Throttle {
    fn new(rate: u64) -> Self {
        Self {
            rate,
            paid_until: None,
        }
    }

    /// How long to wait at `now` before reading `bytes` more. Idle time earns at most one
    /// second of credit, as a token bucket's burst.
    fn delay(&mut self, bytes: u64, now: Instant) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        let credit_from = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        let from = self.paid_until.map_or(credit_from, |p| p.max(credit_from));
        let until = from + Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        self.paid_until = Some(until);
        until.saturating_duration_since(now)
    }
}

/// When a row's object was written: the time in its key (objects named otherwise are never
/// compacted).
fn written_at(row: &StoredBatch) -> i64 {
    parse_object_key(&row.entry.object_key).map_or(i64::MAX, |(_, at)| at)
}

/// The first run of flush batches worth rewriting: at least `min_batches` of them, or
/// enough to fill a target-sized object; with the compacted object before them when the two
/// fit one object.
fn plan_size(rows: &[StoredBatch], cfg: &CompactionConfig) -> Option<std::ops::Range<usize>> {
    let target = cfg.target_object_bytes;
    let first = rows.iter().position(|r| !r.compacted)?;
    let (mut end, mut bytes) = (first, 0u64);
    while end < rows.len() && !rows[end].compacted {
        let size = u64::from(rows[end].entry.size);
        if bytes + size > target && end > first {
            break;
        }
        bytes += size;
        end += 1;
    }
    let cut_by_size = end < rows.len() && !rows[end].compacted;
    if end - first < cfg.min_batches && !cut_by_size {
        return None;
    }
    // A small compacted object just before grows instead of staying small.
    let mut start = first;
    if let Some(prev) = first.checked_sub(1).map(|i| &rows[i].entry)
        && prev.object_size + bytes <= target
    {
        while start > 0 && rows[start - 1].entry.object_key == prev.object_key {
            start -= 1;
        }
    }
    Some(start..end)
}

/// A key-compacted partition is rewritten whole (what is old enough) once enough of it is
/// new since its last compaction.
fn plan_keyed(rows: &[StoredBatch], cfg: &CompactionConfig) -> Option<std::ops::Range<usize>> {
    let total: u64 = rows.iter().map(|r| u64::from(r.entry.size)).sum();
    let dirty: Vec<_> = rows.iter().filter(|r| !r.compacted).collect();
    let dirty_bytes: u64 = dirty.iter().map(|r| u64::from(r.entry.size)).sum();
    let due =
        dirty.len() >= cfg.min_batches && dirty_bytes as f64 >= cfg.min_dirty_ratio * total as f64;
    due.then_some(0..rows.len())
}

/// Whether key compaction keeps the record at `offset`: records without a key always; else
/// only the latest of its key, and a tombstone only until `tombstones_until`.
fn keep(latest: &HashMap<Bytes, u64>, offset: u64, r: &Record, tombstones_until: i64) -> bool {
    let Some(key) = &r.key else {
        return true;
    };
    if latest.get(key) != Some(&offset) {
        return false;
    }
    r.value.is_some() || r.timestamp_ms >= tombstones_until
}

/// Consecutive rows in the same object.
fn by_object(rows: &[StoredBatch]) -> impl Iterator<Item = &[StoredBatch]> {
    rows.chunk_by(|a, b| a.entry.object_key == b.entry.object_key)
}

/// A compacted object being assembled: whole batches of rows, each batch spanning the rows
/// it took, holding the records kept of them.
struct Output {
    topic: Arc<TopicInfo>,
    partition: u32,
    target: usize,
    holder: String,
    writer: ObjectWriter,
    batches: Vec<SwapBatch>,
    replaced: Vec<(u64, String)>,
    /// The batch being filled: its first offset (none before its first row), end, records,
    /// epoch, newest timestamp and encoded size.
    base: Option<u64>,
    end: u64,
    records: Vec<(u64, Record)>,
    epoch: u64,
    max_ts: i64,
    bytes: usize,
}

impl Output {
    fn new(t: &TopicInfo, partition: u32, target: usize, holder: &str) -> Self {
        Self {
            writer: ObjectWriter::with_flags(
                &t.spec.tenant,
                holder,
                now_ms(),
                target + BATCH_BYTES,
                target / BATCH_BYTES + 2,
                FLAG_COMPACTED,
            ),
            topic: Arc::new(t.clone()),
            partition,
            target,
            holder: holder.to_owned(),
            batches: Vec::new(),
            replaced: Vec::new(),
            base: None,
            end: 0,
            records: Vec::new(),
            epoch: 0,
            max_ts: 0,
            bytes: 0,
        }
    }

    /// An empty object for the rows after this one's.
    fn next(&self) -> Self {
        Self::new(&self.topic, self.partition, self.target, &self.holder)
    }

    fn is_empty(&self) -> bool {
        self.replaced.is_empty()
    }

    fn full(&self) -> bool {
        self.writer.len() + self.bytes >= self.target
    }

    /// Takes a row and the records kept of it.
    fn add(&mut self, row: &StoredBatch, epoch: u64, kept: Vec<(u64, Record)>) {
        let e = &row.entry;
        let size: usize = kept.iter().map(|(_, r)| r.encoded_len()).sum();
        // A batch spans at most u32::MAX offsets (key compaction can empty many rows).
        let too_long = self
            .base
            .is_some_and(|b| e.end_offset() - b > u64::from(u32::MAX));
        if self.base.is_some() && (self.bytes + size > BATCH_BYTES || too_long) {
            self.seal();
        }
        self.base.get_or_insert(e.base_offset);
        self.end = e.end_offset();
        self.records.extend(kept);
        self.epoch = self.epoch.max(epoch);
        self.max_ts = self.max_ts.max(e.max_timestamp_ms);
        self.bytes += size;
        self.replaced.push((e.base_offset, e.object_key.clone()));
    }

    /// Writes the current batch into the object.
    fn seal(&mut self) {
        let Some(base) = self.base.take() else {
            return;
        };
        let mut header = BatchHeader {
            topic: self.topic.spec.name.to_string(),
            topic_id: self.topic.id,
            partition: self.partition,
            base_offset: base,
            record_count: 0,
            first_timestamp_ms: self.max_ts,
            max_timestamp_ms: self.max_ts,
            leader_epoch: self.epoch,
            codec: self.topic.spec.compression,
        };
        let span = (self.end - base) as u32;
        let (position, size) = self.writer.push_sparse(&mut header, &self.records, span);
        self.batches.push(SwapBatch {
            base_offset: base,
            end_offset: self.end,
            position,
            size,
            max_timestamp_ms: header.max_timestamp_ms,
        });
        self.records.clear();
        self.epoch = 0;
        self.max_ts = 0;
        self.bytes = 0;
    }

    /// The object's bytes and its swap (key, size and deadline still to be filled in).
    fn into_swap(mut self, lease: &Lease) -> (Bytes, CompactionSwap) {
        self.seal();
        let start = self.replaced[0].0;
        let end = self.end;
        let swap = CompactionSwap {
            tenant: self.topic.spec.tenant.clone(),
            topic_id: self.topic.id,
            partition: self.partition,
            start_offset: start,
            end_offset: end,
            replaced: self.replaced,
            object_key: String::new(),
            object_size: 0,
            batches: self.batches,
            lease: lease.clone(),
            deadline_ms: 0,
        };
        (self.writer.finish(), swap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_paces_reads_with_a_second_of_burst() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut off = Throttle::new(0);
        assert_eq!(off.delay(1 << 30, t0), Duration::ZERO);
        let mut t = Throttle::new(10 << 20);
        // A second's worth passes at once (the burst), then each read waits its share.
        assert_eq!(t.delay(10 << 20, t0), Duration::ZERO);
        assert_eq!(t.delay(5 << 20, t0), Duration::from_millis(500));
        assert_eq!(t.delay(5 << 20, t0), Duration::from_secs(1));
        // After a long idle spell, only one second of credit is left.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(t.delay(10 << 20, later), Duration::ZERO);
        assert_eq!(t.delay(10 << 20, later), Duration::from_secs(1));
    }
}
