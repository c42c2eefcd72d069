//! The write path: assign offsets, buffer encoded batches, and flush ONE object per tenant per
//! flush holding the batches of every partition this agent leads; commit the index with the
//! lease epochs checked in the same transaction; only then acknowledge.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamhouse_core::clock::now_ms;
use streamhouse_core::format::{BatchHeader, MAX_PAYLOAD_BYTES, ObjectWriter, batch_encoded_len};
use streamhouse_core::lifecycle::new_object_key;
use streamhouse_core::metadata::BatchIndexEntry;
use streamhouse_core::usage::record_usage_bytes;
use streamhouse_core::{
    CommitBatch, MetadataError, MetadataStore, ObjectCommit, ObjectKey, ObjectStore,
    ObjectStoreError, PutMode, Record, TenantId,
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::Instrument;
use tracing::{debug, warn};

use self::commit::CommitQueue;
use crate::cache::ChunkCache;
use crate::error::{AgentError, AgentResult};
use crate::metrics::Metrics;
use crate::partitions::{Partition, Partitions};

/// Objects being written at once; their commits still run one after another, in order.
pub const MAX_CONCURRENT_FLUSHES: usize = 4;

/// Flush settings.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Longest a batch waits in the buffer.
    pub flush_interval: Duration,
    /// Buffered bytes that start a flush early.
    pub flush_max_bytes: usize,
    /// Buffered plus in-flight bytes above which produces wait.
    pub max_buffered_bytes: usize,
    /// Whether commits meter their ingress (`metering.enabled`).
    pub meter: bool,
    /// How long after naming an object its commit may come (`write.commit_deadline_ms`).
    pub commit_deadline_ms: i64,
}

/// A batch waiting for its flush: its records stay slices of the request's buffer until the
/// flush encodes them straight into the object.
struct Pending {
    part: Arc<Partition>,
    generation: u64,
    header: BatchHeader,
    records: Vec<Record>,
    /// Upper bound of its encoded size.
    size: usize,
    ack: oneshot::Sender<AgentResult<()>>,
    /// The produce request's span, which the flush that writes this batch links to.
    span: tracing::Span,
}

#[derive(Default)]
struct Buffer {
    batches: Vec<Pending>,
    bytes: usize,
    first_at: Option<Instant>,
}

/// Buffers produced batches and flushes them.
pub struct Writer {
    cfg: WriterConfig,
    store: Arc<dyn MetadataStore>,
    objects: Arc<dyn ObjectStore>,
    partitions: Arc<Partitions>,
    metrics: Arc<Metrics>,
    buffer: Mutex<Buffer>,
    wake: Notify,
    budget: Arc<Semaphore>,
    closed: AtomicBool,
    /// The read cache written objects go into, so tail reads cost no GET.
    cache: Option<Arc<ChunkCache>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("cfg", &self.cfg).finish()
    }
}

impl Writer {
    /// A writer over the given stores.
    pub fn new(
        cfg: WriterConfig,
        store: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        partitions: Arc<Partitions>,
        metrics: Arc<Metrics>,
        cache: Option<Arc<ChunkCache>>,
    ) -> Self {
        let budget = Arc::new(Semaphore::new(cfg.max_buffered_bytes));
        Self {
            cfg,
            store,
            objects,
            partitions,
            metrics,
            buffer: Mutex::new(Buffer::default()),
            wake: Notify::new(),
            budget,
            closed: AtomicBool::new(false),
            cache,
        }
    }

    /// The buffer budget, one permit per byte, for admission to charge produce requests to
    /// before they are decoded.
    pub fn budget(&self) -> Arc<Semaphore> {
        self.budget.clone()
    }

    /// Charges `bytes` of memory to the buffer budget, waiting while it is spent
    /// (backpressure); the charge lasts as long as the permit. A produce request holds one
    /// from before its records are decoded until it is answered, so produced records in
    /// memory never exceed `max_buffered_bytes` (one request larger than all of it takes all
    /// of it).
    pub async fn reserve(&self, bytes: usize) -> AgentResult<OwnedSemaphorePermit> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(AgentError::ShuttingDown);
        }
        let permits = bytes
            .min(self.cfg.max_buffered_bytes)
            .min(u32::MAX as usize) as u32;
        self.budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| AgentError::ShuttingDown)
    }

    /// Appends `records` to partition `p`; resolves to the first record's offset once they
    /// are durable and indexed. The caller has charged their memory with
    /// [`Writer::reserve`].
    pub async fn append(&self, p: Arc<Partition>, records: Vec<Record>) -> AgentResult<u64> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(AgentError::ShuttingDown);
        }
        let record_bytes: usize = records.iter().map(Record::encoded_len).sum();
        // The configuration keeps requests below this; checked again so that nothing is
        // acknowledged that the object decoder would refuse to read.
        if record_bytes > MAX_PAYLOAD_BYTES {
            return Err(AgentError::InvalidArgument(format!(
                "these records would make a batch of {record_bytes} bytes, above the \
                 {MAX_PAYLOAD_BYTES} bytes the object format reads back; split the request"
            )));
        }
        let (tx, rx) = oneshot::channel();
        let (topic, key) = (p.topic(), p.key());
        let count = records.len();
        let base = {
            let mut slot = self.partitions.lock_for_append(&p).await?;
            let base = slot.next_offset();
            let header = BatchHeader {
                topic: topic.spec.name.to_string(),
                topic_id: topic.id,
                partition: key.partition,
                base_offset: base,
                record_count: 0,
                first_timestamp_ms: 0,
                max_timestamp_ms: 0,
                leader_epoch: slot.epoch(),
                codec: topic.spec.compression,
            };
            let size = batch_encoded_len(&header, &records);
            // Pushed under the partition lock, so one partition's batches are in offset order.
            let mut buf = self.buffer.lock().expect("poisoned");
            // Checked under the buffer lock, which the flush loop holds when it decides the
            // buffer is empty and stops: a batch pushed here is always flushed. A refused batch
            // leaves `next_offset` as it was (the partition lock is still held).
            if self.closed.load(Ordering::SeqCst) {
                return Err(AgentError::ShuttingDown);
            }
            slot.advance(count as u64);
            buf.bytes += size;
            if buf.first_at.is_none() {
                buf.first_at = Some(Instant::now());
                self.wake.notify_one();
            }
            if buf.bytes >= self.cfg.flush_max_bytes {
                self.wake.notify_one();
            }
            buf.batches.push(Pending {
                part: p.clone(),
                generation: slot.generation(),
                header,
                records,
                size,
                ack: tx,
                span: tracing::Span::current(),
            });
            base
        };
        match rx.await {
            Ok(Ok(())) => {
                self.metrics.traffic(
                    true,
                    key.tenant.as_str(),
                    topic.spec.name.as_str(),
                    count as u64,
                    record_bytes as u64,
                );
                Ok(base)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(AgentError::Unavailable(
                "the flush of this batch was abandoned; retry".into(),
            )),
        }
    }

    /// Runs the flush loop until [`Writer::close`] is called and every buffered batch is
    /// flushed.
    ///
    /// Flushes are pipelined: up to [`MAX_CONCURRENT_FLUSHES`] flushes write their objects at
    /// once, while each tenant's commits run strictly in flush order (each waits for the
    /// tenant's previous one), so a partition's batches are committed in offset order. Tenants
    /// do not wait for one another: a tenant's large or slow object delays only its own.
    pub async fn run(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(MAX_CONCURRENT_FLUSHES));
        // Each tenant's commit queue, and the sequence number of its next flush.
        let mut queues: HashMap<TenantId, (Arc<CommitQueue>, u64)> = HashMap::new();
        let mut flushes = tokio::task::JoinSet::new();
        loop {
            // Read together under the buffer lock, which appends hold while they check
            // `closed` and push: once this sees the buffer empty and `closed` set, no batch
            // can arrive any more.
            let (deadline, closed) = {
                let buf = self.buffer.lock().expect("poisoned");
                let closed = self.closed.load(Ordering::SeqCst);
                let deadline = buf.first_at.map(|t| {
                    if buf.bytes >= self.cfg.flush_max_bytes || closed {
                        Instant::now()
                    } else {
                        t + self.cfg.flush_interval
                    }
                });
                (deadline, closed)
            };
            match deadline {
                None if closed => break,
                None => self.wake.notified().await,
                Some(d) if d > Instant::now() => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(d.into()) => {}
                        _ = self.wake.notified() => {}
                    }
                }
                Some(_) => {
                    // Waiting for a slot lets the buffer grow: a slow store gets bigger objects.
                    let slot = slots.clone().acquire_owned().await.expect("never closed");
                    let taken = std::mem::take(&mut *self.buffer.lock().expect("poisoned"));
                    // A tenant whose flushes are all committed starts again from a new queue.
                    queues.retain(|_, (q, next)| !q.is_settled(*next));
                    let mut by_tenant: BTreeMap<TenantId, Vec<Pending>> = BTreeMap::new();
                    for b in taken.batches {
                        by_tenant
                            .entry(b.part.key().tenant.clone())
                            .or_default()
                            .push(b);
                    }
                    let tenants = by_tenant
                        .into_iter()
                        .map(|(tenant, batches)| {
                            let (queue, next) = queues.entry(tenant.clone()).or_default();
                            let seq = *next;
                            *next += 1;
                            TenantFlush {
                                tenant,
                                batches,
                                queue: queue.clone(),
                                seq,
                            }
                        })
                        .collect();
                    let this = self.clone();
                    flushes.spawn(async move {
                        this.flush(tenants).await;
                        drop(slot);
                    });
                    while flushes.try_join_next().is_some() {}
                }
            }
        }
        while flushes.join_next().await.is_some() {}
    }

    /// Stops accepting appends; the flush loop writes what is buffered and then ends.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Writes one object per tenant; each is committed and acknowledged once the tenant's
    /// earlier flushes are, together with those of its later ones that are written by then.
    async fn flush(&self, tenants: Vec<TenantFlush>) {
        // One flush serves many produce requests: its span links to each of theirs.
        let batches: usize = tenants.iter().map(|t| t.batches.len()).sum();
        let span = tracing::info_span!("flush", batches);
        for b in tenants.iter().flat_map(|t| &t.batches) {
            span.follows_from(&b.span);
        }
        futures::future::join_all(tenants.into_iter().map(|t| async move {
            let w = self.write_object(t.tenant, t.batches).await;
            let (done, committed) = oneshot::channel();
            if t.queue.push(t.seq, w, done) {
                self.drain(&t.queue).await;
            }
            // An error only means the flush task committing it ended without signalling.
            let _ = committed.await;
        }))
        .instrument(span)
        .await;
    }

    /// Encodes and uploads one tenant's object.
    async fn write_object(&self, tenant: TenantId, mut batches: Vec<Pending>) -> Written {
        let started = Instant::now();
        // Each partition's batches back to back (in offset order: the sort is stable), so
        // that a reader of one partition reads one range of the object.
        batches.sort_by_key(|b| (b.header.topic_id, b.header.partition));
        let size: usize = batches.iter().map(|b| b.size).sum();
        let mut object = ObjectWriter::new(
            &tenant,
            self.partitions.holder(),
            now_ms(),
            size,
            batches.len(),
        );
        let mut entries = Vec::with_capacity(batches.len());
        for b in &mut batches {
            let (position, size) = object.push_records(&mut b.header, &b.records);
            // Metered commits count their batches' bytes; unmetered ones need not read them.
            let ingress_bytes = match self.cfg.meter {
                true => b.records.iter().map(record_usage_bytes).sum(),
                false => 0,
            };
            let h = &b.header;
            // The records are in the object now: their request buffers can go.
            b.records = Vec::new();
            entries.push(CommitBatch {
                topic_id: h.topic_id,
                partition: h.partition,
                base_offset: h.base_offset,
                record_count: h.record_count,
                position,
                size,
                max_timestamp_ms: h.max_timestamp_ms,
                leader_epoch: h.leader_epoch,
                ingress_bytes,
            });
        }
        let bytes = object.finish();
        let object_size = bytes.len() as u64;
        let metrics = &self.metrics;
        metrics.flush_bytes.observe(object_size as f64);
        let upload = Instant::now();
        let (key, named_at_ms) = new_object_key(&tenant);
        let put = match ObjectKey::new(key.clone()) {
            Ok(k) => self.objects.put(&k, bytes.clone(), PutMode::Create).await,
            Err(e) => Err(e),
        }
        .map_err(FlushError::Object);
        if let (Ok(()), Some(cache)) = (&put, &self.cache) {
            cache.insert_object(&key, &bytes);
        }
        metrics
            .flush_seconds
            .observe(upload.elapsed().as_secs_f64());
        Written {
            tenant,
            key,
            deadline_ms: named_at_ms.saturating_add(self.cfg.commit_deadline_ms),
            object_size,
            batches: batches.into_iter().zip(entries).collect(),
            put,
            started,
        }
    }

    /// Commits a written object's live batches (fenced by their epochs), then acknowledges.
    async fn commit_object(&self, mut w: Written) {
        let put_ms = w.started.elapsed().as_millis() as u64;
        let live = take_live(&mut w);
        if live.is_empty() {
            return;
        }
        if let Err(e) = std::mem::replace(&mut w.put, Ok(())) {
            return self.fail(&w.key, live, e).await;
        }
        before_commit().await;
        // If no commit succeeds the object is an orphan: nothing references it.
        match self.commit(&w, &live).await {
            Ok(()) => self.acknowledge(&w, live, put_ms),
            // A refusal is about some partitions (a moved lease, an out-of-order batch), and
            // nothing was written: commit each partition's batches on their own, so only the
            // refused partitions fail, and the others keep their lease and queue.
            Err(e @ (FlushError::Fenced(_) | FlushError::Conflict(_))) => {
                let mut by_partition: BTreeMap<(i64, u32), Vec<(Pending, CommitBatch)>> =
                    BTreeMap::new();
                for (b, c) in live {
                    by_partition
                        .entry((c.topic_id, c.partition))
                        .or_default()
                        .push((b, c));
                }
                if by_partition.len() == 1 {
                    let only = by_partition.into_values().flatten().collect();
                    return self.fail(&w.key, only, e).await;
                }
                for (_, group) in by_partition {
                    match self.commit(&w, &group).await {
                        Ok(()) => self.acknowledge(&w, group, put_ms),
                        Err(e) => self.fail(&w.key, group, e).await,
                    }
                }
            }
            Err(e) => self.fail(&w.key, live, e).await,
        }
    }

    /// Commits `batches` of a written object, fenced by their epochs.
    async fn commit(
        &self,
        w: &Written,
        batches: &[(Pending, CommitBatch)],
    ) -> Result<(), FlushError> {
        self.store
            .commit_object(&self.object_commit(w, batches))
            .await
            .map_err(|e| match e {
                MetadataError::Fenced(m) => FlushError::Fenced(m),
                MetadataError::Conflict(m) => FlushError::Conflict(m),
                other => FlushError::Commit(other),
            })
    }

    /// What the store records of `batches` of a written object.
    fn object_commit(&self, w: &Written, batches: &[(Pending, CommitBatch)]) -> ObjectCommit {
        ObjectCommit {
            tenant: w.tenant.clone(),
            object_key: w.key.clone(),
            object_size: w.object_size,
            holder: self.partitions.holder().to_owned(),
            batches: batches.iter().map(|(_, c)| c.clone()).collect(),
            meter: self.cfg.meter,
            deadline_ms: w.deadline_ms,
        }
    }

    /// Publishes committed batches to their partitions and acknowledges them.
    fn acknowledge(&self, w: &Written, live: Vec<(Pending, CommitBatch)>, put_ms: u64) {
        debug!(object = %w.key, batches = live.len(), bytes = w.object_size, put_ms, total_ms = w.started.elapsed().as_millis() as u64, "flushed");
        let mut per_part: HashMap<(i64, u32), (Arc<Partition>, Vec<BatchIndexEntry>)> =
            HashMap::new();
        for (b, c) in &live {
            per_part
                .entry((c.topic_id, c.partition))
                .or_insert_with(|| (b.part.clone(), Vec::new()))
                .1
                .push(BatchIndexEntry {
                    object_key: w.key.clone(),
                    object_size: w.object_size,
                    position: c.position,
                    size: c.size,
                    base_offset: c.base_offset,
                    record_count: c.record_count,
                    max_timestamp_ms: c.max_timestamp_ms,
                });
        }
        for (part, entries) in per_part.into_values() {
            part.committed(entries);
        }
        for (b, _) in live {
            let _ = b.ack.send(Ok(()));
        }
    }

    /// Fails batches that were not committed: their partitions drop their pending batches
    /// and reload offsets (and drop the lease, when it was fenced), and the producers are
    /// told to retry.
    async fn fail(&self, key: &str, live: Vec<(Pending, CommitBatch)>, e: FlushError) {
        warn!(object = %key, batches = live.len(), "flush failed: {e}");
        let fenced = matches!(e, FlushError::Fenced(_));
        let mut reset: HashMap<(i64, u32), Arc<Partition>> = HashMap::new();
        for (b, _) in &live {
            let k = b.part.key();
            reset.insert((k.topic_id, k.partition), b.part.clone());
        }
        for part in reset.into_values() {
            part.reset(fenced).await;
        }
        let msg = e.to_string();
        for (b, _) in live {
            let _ = b.ack.send(Err(AgentError::Unavailable(msg.clone())));
        }
    }
}

/// One tenant's part of a flush.
struct TenantFlush {
    tenant: TenantId,
    batches: Vec<Pending>,
    /// The tenant's commit queue, where this flush's object waits for its turn.
    queue: Arc<CommitQueue>,
    /// This flush's place in the tenant's commit order.
    seq: u64,
}

/// Takes a written object's live batches, answering the others: batches whose partition was
/// reset after they were assigned (an earlier flush failed or the lease moved) must not be
/// committed, as their offsets are void.
fn take_live(w: &mut Written) -> Vec<(Pending, CommitBatch)> {
    let (live, stale): (Vec<_>, Vec<_>) = std::mem::take(&mut w.batches)
        .into_iter()
        .partition(|(b, _)| b.generation == b.part.generation());
    for (b, _) in stale {
        let _ = b.ack.send(Err(AgentError::Unavailable(format!(
            "an earlier write to partition {} of topic {:?} failed, so this batch was not \
             written; retry",
            b.part.key().partition,
            b.part.topic().spec.name.as_str()
        ))));
    }
    live
}

/// The failure points between an object's put and its commit, for the crash tests.
async fn before_commit() {
    crate::failpoint::hit("flush.after_put");
    if let Some(wait) = crate::failpoint::delay("flush.delay_commit") {
        tokio::time::sleep(wait).await;
    }
}

/// One tenant's object of a flush, written (or not) and waiting for its commit.
struct Written {
    tenant: TenantId,
    key: String,
    /// The store refuses its commit after this (see `ObjectCommit::deadline_ms`).
    deadline_ms: i64,
    object_size: u64,
    batches: Vec<(Pending, CommitBatch)>,
    put: Result<(), FlushError>,
    started: Instant,
}

/// Why a flush failed; every kind is retriable for the producer.
#[derive(Debug, thiserror::Error)]
enum FlushError {
    #[error("writing the object failed ({0}); nothing was acknowledged; retry")]
    Object(#[source] ObjectStoreError),
    #[error("leadership moved while writing ({0}); nothing was acknowledged; retry")]
    Fenced(String),
    #[error("the partition's offsets moved while writing ({0}); nothing was acknowledged; retry")]
    Conflict(String),
    #[error("committing the index failed ({0}); nothing was acknowledged; retry")]
    Commit(#[source] MetadataError),
}

mod commit;
#[cfg(test)]
mod tests;
