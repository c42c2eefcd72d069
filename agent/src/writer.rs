//! The write path: assign offsets, buffer encoded batches, and flush ONE object per tenant per
//! flush holding the batches of every partition this agent leads; commit the index with the
//! lease epochs checked in the same transaction; only then acknowledge.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use streamhouse_core::format::{BatchHeader, EncodedBatch, ObjectWriter, encode_batch};
use streamhouse_core::metadata::BatchIndexEntry;
use streamhouse_core::{
    CommitBatch, MetadataError, MetadataStore, ObjectCommit, ObjectKey, ObjectStore, PutMode,
    Record, TenantId,
};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::{debug, warn};

use crate::error::{AgentError, AgentResult};
use crate::partitions::{Partition, Partitions};

/// Flush settings.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Longest a batch waits in the buffer.
    pub flush_interval: Duration,
    /// Buffered bytes that start a flush early.
    pub flush_max_bytes: usize,
    /// Buffered plus in-flight bytes above which produces wait.
    pub max_buffered_bytes: usize,
}

/// A batch waiting for its flush.
struct Pending {
    part: Arc<Partition>,
    generation: u64,
    batch: EncodedBatch,
    ack: oneshot::Sender<AgentResult<()>>,
    _permit: OwnedSemaphorePermit,
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
    buffer: Mutex<Buffer>,
    wake: Notify,
    budget: Arc<Semaphore>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("cfg", &self.cfg).finish()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Writer {
    /// A writer over the given stores.
    pub fn new(
        cfg: WriterConfig,
        store: Arc<dyn MetadataStore>,
        objects: Arc<dyn ObjectStore>,
        partitions: Arc<Partitions>,
    ) -> Self {
        let budget = Arc::new(Semaphore::new(cfg.max_buffered_bytes));
        Self {
            cfg,
            store,
            objects,
            partitions,
            buffer: Mutex::new(Buffer::default()),
            wake: Notify::new(),
            budget,
            closed: AtomicBool::new(false),
        }
    }

    /// Appends `records` to partition `p`; resolves to the first record's offset once they
    /// are durable and indexed.
    pub async fn append(&self, p: Arc<Partition>, records: &[Record]) -> AgentResult<u64> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(AgentError::ShuttingDown);
        }
        let estimate: usize = records.iter().map(Record::encoded_len).sum::<usize>() + 128;
        let permits = estimate.min(self.cfg.max_buffered_bytes) as u32;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| AgentError::ShuttingDown)?;
        let (tx, rx) = oneshot::channel();
        let base = {
            let mut w = p.write.lock().await;
            if self.closed.load(Ordering::SeqCst) {
                return Err(AgentError::ShuttingDown);
            }
            self.partitions.ensure_leader(&p, &mut w).await?;
            let epoch = w.lease.as_ref().map_or(0, |l| l.epoch);
            let base = w.next_offset;
            let batch = encode_batch(
                BatchHeader {
                    topic: p.topic.spec.name.to_string(),
                    topic_id: p.topic.id,
                    partition: p.key.partition,
                    base_offset: base,
                    record_count: 0,
                    first_timestamp_ms: 0,
                    max_timestamp_ms: 0,
                    leader_epoch: epoch,
                    codec: p.topic.spec.compression,
                },
                records,
            );
            w.next_offset = base + records.len() as u64;
            let generation = p.generation.load(Ordering::SeqCst);
            // Pushed under the partition lock, so one partition's batches are in offset order.
            let mut buf = self.buffer.lock().expect("poisoned");
            buf.bytes += batch.bytes.len();
            if buf.first_at.is_none() {
                buf.first_at = Some(Instant::now());
                self.wake.notify_one();
            }
            if buf.bytes >= self.cfg.flush_max_bytes {
                self.wake.notify_one();
            }
            buf.batches.push(Pending {
                part: p.clone(),
                generation,
                batch,
                ack: tx,
                _permit: permit,
            });
            base
        };
        match rx.await {
            Ok(Ok(())) => Ok(base),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(AgentError::Unavailable(
                "the flush of this batch was abandoned; retry".into(),
            )),
        }
    }

    /// Runs the flush loop until [`Writer::close`] is called and the buffer is empty.
    pub async fn run(self: Arc<Self>) {
        loop {
            let deadline = {
                let buf = self.buffer.lock().expect("poisoned");
                buf.first_at.map(|t| {
                    if buf.bytes >= self.cfg.flush_max_bytes || self.closed.load(Ordering::SeqCst) {
                        Instant::now()
                    } else {
                        t + self.cfg.flush_interval
                    }
                })
            };
            match deadline {
                None if self.closed.load(Ordering::SeqCst) => return,
                None => self.wake.notified().await,
                Some(d) if d > Instant::now() => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(d.into()) => {}
                        _ = self.wake.notified() => {}
                    }
                }
                Some(_) => {
                    let taken = std::mem::take(&mut *self.buffer.lock().expect("poisoned"));
                    self.flush(taken.batches).await;
                }
            }
        }
    }

    /// Stops accepting appends; the flush loop writes what is buffered and then ends.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    async fn flush(&self, batches: Vec<Pending>) {
        let mut by_tenant: BTreeMap<TenantId, Vec<Pending>> = BTreeMap::new();
        for b in batches {
            by_tenant
                .entry(b.part.key.tenant.clone())
                .or_default()
                .push(b);
        }
        let flushes = by_tenant
            .into_iter()
            .map(|(tenant, batches)| self.flush_tenant(tenant, batches));
        futures::future::join_all(flushes).await;
    }

    async fn flush_tenant(&self, tenant: TenantId, batches: Vec<Pending>) {
        let (live, stale): (Vec<_>, Vec<_>) = batches
            .into_iter()
            .partition(|b| b.generation == b.part.generation.load(Ordering::SeqCst));
        for b in stale {
            let _ = b.ack.send(Err(AgentError::Unavailable(format!(
                "an earlier write to partition {} of topic {:?} failed, so this batch was not \
                 written; retry",
                b.part.key.partition,
                b.part.topic.spec.name.as_str()
            ))));
        }
        if live.is_empty() {
            return;
        }
        let started = Instant::now();
        let size: usize = live.iter().map(|b| b.batch.bytes.len()).sum();
        let mut object = ObjectWriter::new(&tenant, &self.partitions.holder, now_ms(), size);
        let mut commit_batches = Vec::with_capacity(live.len());
        for b in &live {
            let (position, size) = object.push(&b.batch);
            let h = &b.batch.header;
            commit_batches.push(CommitBatch {
                topic_id: h.topic_id,
                partition: h.partition,
                base_offset: h.base_offset,
                record_count: h.record_count,
                position,
                size,
                max_timestamp_ms: h.max_timestamp_ms,
                leader_epoch: h.leader_epoch,
            });
        }
        let bytes = object.finish();
        let object_size = bytes.len() as u64;
        let key = format!("tenants/{tenant}/objects/{}.sho", uuid::Uuid::now_v7());
        let result = self
            .write_and_commit(&tenant, &key, bytes, &commit_batches)
            .await;
        match result {
            Ok(()) => {
                debug!(object = %key, batches = live.len(), bytes = object_size, elapsed_ms = started.elapsed().as_millis() as u64, "flushed");
                let mut per_part: HashMap<(i64, u32), (Arc<Partition>, Vec<BatchIndexEntry>)> =
                    HashMap::new();
                for (b, c) in live.iter().zip(&commit_batches) {
                    per_part
                        .entry((c.topic_id, c.partition))
                        .or_insert_with(|| (b.part.clone(), Vec::new()))
                        .1
                        .push(BatchIndexEntry {
                            object_key: key.clone(),
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
                for b in live {
                    let _ = b.ack.send(Ok(()));
                }
            }
            Err(e) => {
                warn!(object = %key, batches = live.len(), "flush failed: {e}");
                let fenced = matches!(e, FlushError::Fenced(_));
                let mut reset: HashMap<(i64, u32), Arc<Partition>> = HashMap::new();
                for b in &live {
                    reset.insert((b.part.key.topic_id, b.part.key.partition), b.part.clone());
                }
                for part in reset.into_values() {
                    part.reset(fenced).await;
                }
                let msg = e.to_string();
                for b in live {
                    let _ = b.ack.send(Err(AgentError::Unavailable(msg.clone())));
                }
            }
        }
    }

    async fn write_and_commit(
        &self,
        tenant: &TenantId,
        key: &str,
        bytes: bytes::Bytes,
        batches: &[CommitBatch],
    ) -> Result<(), FlushError> {
        let object_key = ObjectKey::new(key).map_err(|e| FlushError::Object(e.to_string()))?;
        let object_size = bytes.len() as u64;
        self.objects
            .put(&object_key, bytes, PutMode::Create)
            .await
            .map_err(|e| FlushError::Object(e.to_string()))?;
        // If this commit fails the object is an orphan: nothing references it, and garbage
        // collection removes it. Readers never see it.
        self.store
            .commit_object(&ObjectCommit {
                tenant: tenant.clone(),
                object_key: key.to_owned(),
                object_size,
                holder: self.partitions.holder.clone(),
                batches: batches.to_vec(),
            })
            .await
            .map_err(|e| match e {
                MetadataError::Fenced(m) => FlushError::Fenced(m),
                other => FlushError::Commit(other.to_string()),
            })
    }
}

/// Why a flush failed; every kind is retriable for the producer.
#[derive(Debug, thiserror::Error)]
enum FlushError {
    #[error("writing the object failed ({0}); nothing was acknowledged; retry")]
    Object(String),
    #[error("leadership moved while writing ({0}); nothing was acknowledged; retry")]
    Fenced(String),
    #[error("committing the index failed ({0}); nothing was acknowledged; retry")]
    Commit(String),
}
