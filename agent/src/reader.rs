//! The read path: find the batches in the offset index, read their byte ranges (through the
//! [`ObjectReader`]: the shared read cache, the zone's owners, the object store), check and
//! decode them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use streamhouse_core::clock::now_ms;
use streamhouse_core::format::decode_batch;
use streamhouse_core::lifecycle::parse_object_key;
use streamhouse_core::metadata::BatchIndexEntry;
use streamhouse_core::{
    Fetched, MetadataError, MetadataStore, ObjectStoreError, Record, TopicInfo,
};

use crate::error::{AgentError, AgentResult};
use crate::metrics::Metrics;
use crate::object_reader::{ObjectReader, ObjectView};
use crate::partitions::Partitions;

/// Index entries read per lookup: enough for a fetch of a few MiB of small batches to span
/// several objects, which are then read in parallel.
const LOOKUP_ENTRIES: usize = 256;
/// How soon a long-poll first re-reads the high watermark of a partition this agent does not
/// lead; the interval doubles up to [`MAX_POLL_INTERVAL`] while nothing arrives, so idle
/// long-polls cost the store two queries a second each, not ten.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The longest interval between those reads.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The same for a partition this agent leads: its commits wake waiters, so the poll is only
/// a safety net for a lease that moved during the wait.
const LEADER_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Serves fetches for any partition (reads are stateless).
#[derive(Debug)]
pub struct Reader {
    store: Arc<dyn MetadataStore>,
    objects: Arc<ObjectReader>,
    partitions: Arc<Partitions>,
    metrics: Arc<Metrics>,
    /// Cached index entries older than this (by their object's key time) are not used:
    /// compaction may have replaced them.
    cache_max_age_ms: i64,
}

impl Reader {
    /// A reader of the index in `store` and of objects through `objects`, using the leader's
    /// cached index entries only for objects younger than `cache_max_age_ms`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        objects: Arc<ObjectReader>,
        partitions: Arc<Partitions>,
        metrics: Arc<Metrics>,
        cache_max_age_ms: i64,
    ) -> Self {
        Self {
            store,
            objects,
            partitions,
            metrics,
            cache_max_age_ms,
        }
    }

    /// Whether a cached entry can be trusted: its object is younger than compaction touches.
    fn fresh(&self, e: &BatchIndexEntry) -> bool {
        let cutoff = now_ms().saturating_sub(self.cache_max_age_ms);
        parse_object_key(&e.object_key).is_some_and(|(_, at)| at >= cutoff)
    }

    /// Log start and high watermark of one partition, from the store.
    async fn offsets(&self, topic: &TopicInfo, partition: u32) -> AgentResult<(u64, u64)> {
        match self.store.partition_offset(topic.id, partition).await {
            Ok(p) => Ok((p.log_start_offset, p.high_watermark)),
            Err(MetadataError::NotFound(_)) => Err(AgentError::NotFound(format!(
                "topic {:?} was deleted",
                topic.spec.name.as_str()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads from `offset`, waiting up to `max_wait` when there is nothing new yet.
    pub async fn fetch(
        &self,
        topic: &TopicInfo,
        partition: u32,
        offset: u64,
        max_bytes: usize,
        max_wait: Duration,
    ) -> AgentResult<Fetched> {
        check_partition(topic, partition)?;
        let (log_start, mut hw) = self.offsets(topic, partition).await?;
        if offset < log_start || offset > hw {
            return Err(AgentError::OutOfRange(format!(
                "offset {offset} is outside partition {partition} of topic {:?}, which holds \
                 offsets {log_start}..{hw}",
                topic.spec.name.as_str()
            )));
        }
        if offset == hw && !max_wait.is_zero() {
            hw = self
                .wait_for_data(topic, partition, offset, max_wait)
                .await?;
        }
        let reading = Instant::now();
        if offset >= hw {
            return Ok(Fetched {
                records: Vec::new(),
                high_watermark: hw,
                next_offset: offset,
            });
        }
        // A compaction may have replaced the batches (and, after its grace period, deleted
        // their objects) since the index was read: then the index is read again, once.
        let mut read = None;
        for _ in 0..2 {
            let entries = self.entries(topic, partition, offset, max_bytes).await?;
            read = self
                .read_entries(topic, partition, offset, hw, max_bytes, &entries)
                .await?;
            if read.is_some() {
                break;
            }
            if let Some(p) = self.partitions.get(topic.id, partition) {
                p.forget_entries();
            }
        }
        let Some((records, next, bytes)) = read else {
            return Err(AgentError::Unavailable(format!(
                "the objects of partition {partition} of topic {:?} moved twice while they were \
                 read; retry",
                topic.spec.name.as_str()
            )));
        };
        self.metrics
            .read_latency
            .observe(reading.elapsed().as_secs_f64());
        self.metrics.traffic(
            false,
            topic.spec.tenant.as_str(),
            topic.spec.name.as_str(),
            records.len() as u64,
            bytes as u64,
        );
        Ok(Fetched {
            records,
            high_watermark: hw,
            next_offset: next,
        })
    }

    /// Reads the records of `entries` from `offset` on, up to `max_bytes` and below `hw`:
    /// `(records, next offset, stored bytes)`, or `None` when an object is gone (compacted
    /// and collected since the index was read).
    async fn read_entries(
        &self,
        topic: &TopicInfo,
        partition: u32,
        offset: u64,
        hw: u64,
        max_bytes: usize,
        entries: &[BatchIndexEntry],
    ) -> AgentResult<Option<(Vec<(u64, Record)>, u64, usize)>> {
        let mut records = Vec::new();
        // `max_bytes` is counted as the records take it in the response message; `bytes` as
        // they are stored (for the egress metrics).
        let (mut wire, mut bytes) = (0usize, 0usize);
        let mut next = offset;
        // The objects are read concurrently: on S3 a GET costs tens of milliseconds, and one
        // partition's batches are spread over as many objects as flushes.
        let objects = group_by_object(entries);
        let reads = objects
            .iter()
            .map(|o| self.read_object(topic, partition, offset, o));
        let Some(views) = futures::future::try_join_all(reads)
            .await?
            .into_iter()
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        'read: for (o, view) in objects.iter().zip(&views) {
            for e in &o.entries {
                // Never across a gap in the index: the next fetch starts at the gap and
                // reports it.
                if e.base_offset > next {
                    break 'read;
                }
                let batch = read_batch(view, e, topic, partition).inspect_err(|_| {
                    // The damage may be in the copy (a disk tier, a peer): the next read
                    // fetches the object again.
                    self.objects.cache().invalidate(&e.object_key);
                })?;
                for (o, r) in batch {
                    if o < next {
                        continue;
                    }
                    // Never past the high watermark this fetch reports (batches committed
                    // since it was read come with the next fetch).
                    if o >= hw || (wire >= max_bytes && !records.is_empty()) {
                        break 'read;
                    }
                    wire += streamhouse_proto::fetch_record_len(o, &r);
                    bytes += r.encoded_len();
                    records.push((o, r));
                    next = o + 1;
                }
                // Key compaction leaves gaps in a batch's offsets: the next read starts after
                // its span, not at its last record.
                next = next.max(e.end_offset().min(hw));
            }
        }
        Ok(Some((records, next, bytes)))
    }

    /// Reads the batches a fetch needs of one object; `None` when the object is gone but
    /// its batches were not removed by retention (a compaction replaced them).
    async fn read_object(
        &self,
        topic: &TopicInfo,
        partition: u32,
        offset: u64,
        o: &ObjectBatches<'_>,
    ) -> AgentResult<Option<ObjectView>> {
        let ranges: Vec<_> = o
            .entries
            .iter()
            .map(|e| e.position..e.position + u64::from(e.size))
            .collect();
        match self.objects.read(o.key, o.size, &ranges).await {
            Ok(view) => Ok(Some(view)),
            // Retention may have deleted the object since the index was read.
            Err(e) if matches!(*e.0, ObjectStoreError::NotFound(_)) => {
                let (log_start, _) = self.offsets(topic, partition).await?;
                if o.entries[0].base_offset < log_start {
                    return Err(AgentError::OutOfRange(format!(
                        "offset {offset} of partition {partition} of topic {:?} was removed by \
                         retention; the log now starts at {log_start}",
                        topic.spec.name.as_str()
                    )));
                }
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Index entries covering `offset` onward, about `max_bytes` worth.
    async fn entries(
        &self,
        topic: &TopicInfo,
        partition: u32,
        offset: u64,
        max_bytes: usize,
    ) -> AgentResult<Vec<BatchIndexEntry>> {
        let cached = self
            .partitions
            .get(topic.id, partition)
            .and_then(|p| p.cached_entries(offset, LOOKUP_ENTRIES, max_bytes))
            .filter(|e| e.first().is_some_and(|e| self.fresh(e)));
        self.metrics.index_lookup(cached.is_some());
        let mut entries = match cached {
            Some(e) => e,
            None => {
                self.store
                    .lookup(topic.id, partition, offset, LOOKUP_ENTRIES as u32)
                    .await?
            }
        };
        let mut total = 0usize;
        let keep = entries
            .iter()
            .position(|e| {
                total += e.size as usize;
                total >= max_bytes
            })
            .map_or(entries.len(), |i| i + 1);
        entries.truncate(keep);
        match entries.first() {
            Some(e) if e.base_offset <= offset => Ok(entries),
            next => {
                // Retention may have removed the batch since the offsets were read.
                let (log_start, _) = self.offsets(topic, partition).await?;
                let name = topic.spec.name.as_str();
                if offset < log_start {
                    return Err(AgentError::OutOfRange(format!(
                        "offset {offset} of partition {partition} of topic {name:?} was removed \
                         by retention; the log now starts at {log_start}"
                    )));
                }
                let missing = match next {
                    Some(e) => format!("offsets {offset}..{} are missing", e.base_offset),
                    None => "no batch follows".to_owned(),
                };
                Err(AgentError::DataLoss(format!(
                    "the index of partition {partition} of topic {name:?} has no batch for \
                     offset {offset} ({missing}); move consumers past the gap with \
                     `streamhouse offsets set`"
                )))
            }
        }
    }

    /// Waits until the high watermark passes `offset` or `max_wait` elapses; returns it.
    async fn wait_for_data(
        &self,
        topic: &TopicInfo,
        partition: u32,
        offset: u64,
        max_wait: Duration,
    ) -> AgentResult<u64> {
        let deadline = Instant::now() + max_wait;
        let tracked = self.partitions.get(topic.id, partition);
        let mut rx = tracked.as_ref().map(|p| p.watch_high_watermark());
        let mut backoff = POLL_INTERVAL;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(offset);
            }
            // The leader's own commits wake it; the store is polled often only for
            // partitions another agent writes.
            let led = tracked.as_ref().is_some_and(|p| p.is_led());
            let poll = if led {
                LEADER_POLL_INTERVAL
            } else {
                let b = backoff;
                backoff = (backoff * 2).min(MAX_POLL_INTERVAL);
                b
            };
            let step = (deadline - now).min(poll);
            match rx.as_mut() {
                // Commits by this agent wake the waiter at once; the poll covers commits made
                // by another agent or before this one tracked the partition.
                Some(rx) => {
                    let _ = tokio::time::timeout(step, rx.wait_for(|hw| *hw > offset)).await;
                }
                None => tokio::time::sleep(step).await,
            }
            let (_, hw) = self.offsets(topic, partition).await?;
            if hw > offset {
                return Ok(hw);
            }
        }
    }
}

/// `NotFound` unless the topic has that partition.
pub fn check_partition(topic: &TopicInfo, partition: u32) -> AgentResult<()> {
    if partition >= topic.spec.partitions {
        return Err(AgentError::NotFound(format!(
            "partition {partition} does not exist; topic {:?} has partitions 0..{}",
            topic.spec.name.as_str(),
            topic.spec.partitions
        )));
    }
    Ok(())
}

/// The batches a fetch needs of one object.
struct ObjectBatches<'a> {
    key: &'a str,
    size: u64,
    entries: Vec<&'a BatchIndexEntry>,
}

/// Consecutive entries in the same object (a flush writes each partition's batches of an
/// object back to back, so that is all of one object's batches a fetch needs).
fn group_by_object(entries: &[BatchIndexEntry]) -> Vec<ObjectBatches<'_>> {
    let mut out: Vec<ObjectBatches<'_>> = Vec::new();
    for e in entries {
        match out.last_mut() {
            Some(o) if o.key == e.object_key => o.entries.push(e),
            _ => out.push(ObjectBatches {
                key: &e.object_key,
                size: e.object_size,
                entries: vec![e],
            }),
        }
    }
    out
}

/// Decodes one batch and checks it is the one the index points at.
fn read_batch(
    view: &ObjectView,
    e: &BatchIndexEntry,
    topic: &TopicInfo,
    partition: u32,
) -> AgentResult<Vec<(u64, Record)>> {
    let key = &e.object_key;
    let what = || {
        format!(
            "the batch at offsets {}..{} of partition {partition} of topic {:?} (object {key}, \
             bytes {}+{})",
            e.base_offset,
            e.end_offset(),
            topic.spec.name.as_str(),
            e.position,
            e.size
        )
    };
    let Some(data) = view.range(e.position..e.position + u64::from(e.size)) else {
        return Err(AgentError::DataLoss(format!("{} is truncated", what())));
    };
    let batch = decode_batch(&data).map_err(|err| AgentError::corrupt(what(), err))?;
    let h = &batch.header;
    if h.topic_id != topic.id
        || h.partition != partition
        || h.base_offset != e.base_offset
        || h.record_count != e.record_count
    {
        return Err(AgentError::DataLoss(format!(
            "{} holds topic id {} partition {} offsets {}+{} instead",
            what(),
            h.topic_id,
            h.partition,
            h.base_offset,
            h.record_count
        )));
    }
    Ok(batch.records)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::error::AgentError;
    use crate::testing::Harness;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fetches_are_dense_and_stop_at_the_high_watermark_and_the_byte_budget() {
        let h = Harness::new(1, Duration::from_millis(2)).await;
        for _ in 0..20 {
            h.append(0, 10).await.unwrap();
        }
        let mut offset = 0;
        while offset < 200 {
            let f = h
                .reader
                .fetch(&h.topic, 0, offset, 300, Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(f.high_watermark, 200);
            assert!(!f.records.is_empty());
            // A small budget: one record past it at most.
            let wire: usize = f
                .records
                .iter()
                .map(|(o, r)| streamhouse_proto::fetch_record_len(*o, r))
                .sum();
            let last = f.records.last().unwrap();
            assert!(wire - streamhouse_proto::fetch_record_len(last.0, &last.1) < 300);
            for (o, _) in &f.records {
                assert_eq!(*o, offset);
                offset += 1;
            }
            assert_eq!(f.next_offset, offset);
        }
        let at_end = h
            .reader
            .fetch(&h.topic, 0, 200, 1 << 20, Duration::from_millis(50))
            .await
            .unwrap();
        assert!(at_end.records.is_empty());
        assert_eq!(at_end.next_offset, 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn offsets_removed_by_retention_are_out_of_range_with_the_new_log_start() {
        let h = Harness::new(1, Duration::from_millis(2)).await;
        h.append_at(0, 5, 1_000).await.unwrap();
        h.append_at(0, 5, 2_000).await.unwrap();
        let start = h
            .meta
            .store
            .expire_before(h.topic.id, 0, 1_500)
            .await
            .unwrap();
        assert_eq!(start, 5);
        match h
            .reader
            .fetch(&h.topic, 0, 2, 1 << 20, Duration::ZERO)
            .await
        {
            Err(AgentError::OutOfRange(m)) => assert!(m.contains("5..10"), "{m}"),
            other => panic!("expected OUT_OF_RANGE, got {other:?}"),
        }
        let f = h
            .reader
            .fetch(&h.topic, 0, 5, 1 << 20, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(f.records.len(), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_poll_wakes_when_the_leader_commits() {
        let h = Harness::new(1, Duration::from_millis(2)).await;
        h.append(0, 1).await.unwrap();
        let poll = h
            .reader
            .fetch(&h.topic, 0, 1, 1 << 20, Duration::from_secs(20));
        let started = std::time::Instant::now();
        let (f, _) = tokio::join!(poll, async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            h.append(0, 2).await.unwrap();
        });
        let f = f.unwrap();
        assert_eq!(f.records.len(), 2);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "woken by the commit"
        );
    }

    /// Six partitions' batches, interleaved as produces arrive, in one flush.
    async fn six_partitions_in_one_object(h: &Harness) {
        let appends = (0..60).map(|i| h.append(i % 6, 5));
        for r in futures::future::join_all(appends).await {
            r.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_of_every_partition_share_one_get_per_chunk() {
        let h = Harness::new(6, Duration::from_millis(300)).await;
        six_partitions_in_one_object(&h).await;
        let entries = h.meta.store.lookup(h.topic.id, 0, 0, 100).await.unwrap();
        let size = entries[0].object_size;
        assert!(
            entries
                .iter()
                .all(|e| e.object_key == entries[0].object_key),
            "one object"
        );
        // Each partition's batches are back to back in it.
        for w in entries.windows(2) {
            assert_eq!(w[0].position + u64::from(w[0].size), w[1].position);
        }
        assert!(
            size > 2 * crate::testing::CHUNK_BYTES,
            "several chunks ({size} bytes)"
        );
        // The chunks holding batches (not those holding only the object's header or footer).
        let mut last_end = 0;
        for p in 0..6 {
            for e in h.meta.store.lookup(h.topic.id, p, 0, 100).await.unwrap() {
                last_end = last_end.max(e.position + u64::from(e.size));
            }
        }
        let chunks = last_end.div_ceil(crate::testing::CHUNK_BYTES);
        let cold = h.cold_reader(1 << 20, 0);
        let before = h.get_ranges();
        // Every partition read at once, twice over: each chunk is read from the store once.
        let fetches = (0..12).map(|p| cold.fetch(&h.topic, p % 6, 0, 1 << 20, Duration::ZERO));
        for f in futures::future::join_all(fetches).await {
            assert_eq!(f.unwrap().records.len(), 50);
        }
        assert_eq!(h.get_ranges() - before, chunks);
        // Readers on the writing agent need no GET at all.
        let before = h.get_ranges();
        for p in 0..6 {
            let f = h
                .reader
                .fetch(&h.topic, p, 0, 1 << 20, Duration::ZERO)
                .await;
            assert_eq!(f.unwrap().records.len(), 50);
        }
        assert_eq!(h.get_ranges(), before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_the_cache_a_fetch_reads_its_ranges_coalesced_and_split_into_chunks() {
        let h = Harness::new(6, Duration::from_millis(300)).await;
        six_partitions_in_one_object(&h).await;
        let entries = h.meta.store.lookup(h.topic.id, 2, 0, 100).await.unwrap();
        let span = entries.last().unwrap().position + u64::from(entries.last().unwrap().size)
            - entries[0].position;
        let uncached = h.cold_reader(0, 0);
        let before = h.get_ranges();
        let f = uncached
            .fetch(&h.topic, 2, 0, 1 << 20, Duration::ZERO)
            .await;
        assert_eq!(f.unwrap().records.len(), 50);
        assert_eq!(
            h.get_ranges() - before,
            span.div_ceil(crate::testing::CHUNK_BYTES),
            "one partition's part of the object, in chunk-sized GETs"
        );
        // Twice: nothing was cached.
        let before = h.get_ranges();
        uncached
            .fetch(&h.topic, 2, 0, 1 << 20, Duration::ZERO)
            .await
            .unwrap();
        assert!(h.get_ranges() > before);
    }
}
