//! The partitions this agent knows about: each one's write-side state (lease, next offset),
//! its high watermark for long-polling readers, and a cache of its recent index entries.
//!
//! A produce needs the partition's lease. The lease loop ([`leases`]) takes the leases of
//! the partitions the cluster assigns to this agent, renews them and hands over the others.
//! A partition's next offset is loaded from the store whenever leadership is (re)gained or a
//! flush failed, so offsets stay dense whatever happened to earlier writes.

mod leases;

pub use leases::{AppendGuard, LeaseWork};

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamhouse_core::metadata::BatchIndexEntry;
use streamhouse_core::{Lease, LeaseKey, LeaseManager, MetadataStore, TopicId, TopicInfo};
use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::metrics::Metrics;

/// Most recent index entries kept per partition for tailing readers.
const INDEX_CACHE_ENTRIES: usize = 4096;

/// Mutable write-side state of a partition, behind an async lock held while a produce
/// assigns offsets and encodes its batch (so batches enter the flush buffer in offset order).
#[derive(Debug, Default)]
struct WriteState {
    /// Next offset to assign.
    next_offset: u64,
    /// Whether `next_offset` was loaded from the store under the current lease.
    synced: bool,
}

/// A lease this agent holds, with its local deadline.
#[derive(Debug, Clone)]
struct HeldLease {
    lease: Lease,
    /// When the request that took it was answered: a renewal that starts later sees it.
    acquired_at: Instant,
    /// Local deadline: the TTL from the start of the last request that took or renewed it,
    /// so this agent stops writing before the store's clock lets another agent in.
    valid_until: Instant,
}

/// One partition of one topic incarnation.
#[derive(Debug)]
pub struct Partition {
    key: LeaseKey,
    topic: Arc<TopicInfo>,
    write: tokio::sync::Mutex<WriteState>,
    /// The lease, when this agent holds it. Outside `write`, so that renewing every lease
    /// never waits for a partition's appends.
    lease: Mutex<Option<HeldLease>>,
    /// Whether this agent holds the lease (kept outside `write` so readers need no lock).
    led: AtomicBool,
    /// Set while the partition is handed over: no new writes, the lease is about to go.
    moving: AtomicBool,
    /// Set while the lease loop tries to take the lease in a task of its own.
    acquiring: AtomicBool,
    /// Raised whenever pending batches must be dropped (a flush failed, the lease was lost):
    /// batches assigned under an older generation are failed, never committed.
    generation: AtomicU64,
    /// Highest committed offset known here, for long-polling readers.
    high_watermark: watch::Sender<u64>,
    /// Log start offset after this agent's last retention pass.
    log_start: AtomicU64,
    /// Recent index entries committed by this agent, contiguous, in offset order.
    index: Mutex<VecDeque<BatchIndexEntry>>,
}

impl Partition {
    fn new(topic: Arc<TopicInfo>, partition: u32) -> Self {
        Self {
            key: LeaseKey {
                tenant: topic.spec.tenant.clone(),
                topic_id: topic.id,
                partition,
            },
            topic,
            write: tokio::sync::Mutex::new(WriteState::default()),
            lease: Mutex::new(None),
            led: AtomicBool::new(false),
            moving: AtomicBool::new(false),
            acquiring: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            high_watermark: watch::channel(0).0,
            log_start: AtomicU64::new(0),
            index: Mutex::new(VecDeque::new()),
        }
    }

    /// Tenant, topic id and partition number: what the lease is for.
    pub fn key(&self) -> &LeaseKey {
        &self.key
    }

    /// The topic (its name and codec go into batch headers).
    pub fn topic(&self) -> &Arc<TopicInfo> {
        &self.topic
    }

    /// The current write generation: a batch assigned under an older one must not be
    /// committed (an earlier flush failed or the lease moved since).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The highest committed offset this agent knows of.
    pub fn high_watermark(&self) -> u64 {
        *self.high_watermark.borrow()
    }

    /// Changes of the high watermark, for readers waiting for new records.
    pub fn watch_high_watermark(&self) -> watch::Receiver<u64> {
        self.high_watermark.subscribe()
    }

    /// The log start offset after this agent's last retention pass.
    pub fn log_start(&self) -> u64 {
        self.log_start.load(Ordering::SeqCst)
    }

    /// Raises the known high watermark to `hw`.
    fn raise_high_watermark(&self, hw: u64) {
        self.high_watermark.send_if_modified(|cur| {
            let grew = hw > *cur;
            *cur = (*cur).max(hw);
            grew
        });
    }

    /// Records committed index entries and publishes the new high watermark.
    pub fn committed(&self, entries: impl IntoIterator<Item = BatchIndexEntry>) {
        let mut idx = self.index.lock().expect("poisoned");
        let mut hw = None;
        for e in entries {
            if idx.back().is_some_and(|b| b.end_offset() != e.base_offset) {
                idx.clear();
            }
            hw = Some(e.end_offset());
            idx.push_back(e);
            if idx.len() > INDEX_CACHE_ENTRIES {
                idx.pop_front();
            }
        }
        drop(idx);
        if let Some(hw) = hw {
            self.raise_high_watermark(hw);
        }
    }

    /// Drops every cached index entry (a compaction replaced some: the store has the truth).
    pub fn forget_entries(&self) {
        self.index.lock().expect("poisoned").clear();
    }

    /// Drops cached index entries below a new log start offset (after retention).
    pub fn trimmed(&self, log_start: u64) {
        self.index
            .lock()
            .expect("poisoned")
            .retain(|e| e.end_offset() > log_start);
        self.log_start.fetch_max(log_start, Ordering::SeqCst);
    }

    /// Cached index entries from the one containing `offset` (at most `limit`, and no more
    /// than reach `max_bytes`), if the cache covers it.
    pub fn cached_entries(
        &self,
        offset: u64,
        limit: usize,
        max_bytes: usize,
    ) -> Option<Vec<BatchIndexEntry>> {
        let idx = self.index.lock().expect("poisoned");
        let first = idx.front()?;
        if offset < first.base_offset || offset >= idx.back()?.end_offset() {
            return None;
        }
        let start = idx.partition_point(|e| e.end_offset() <= offset);
        // Up to the first entry that reaches `max_bytes`, as the reader would cut them.
        let mut total = 0usize;
        let mut out = Vec::new();
        for e in idx.iter().skip(start).take(limit) {
            out.push(e.clone());
            total += e.size as usize;
            if total >= max_bytes {
                break;
            }
        }
        Some(out)
    }

    /// Whether this agent currently holds the partition's lease.
    pub fn is_led(&self) -> bool {
        self.led.load(Ordering::SeqCst)
    }

    /// Whether this agent holds the lease and its local deadline has not passed.
    pub fn lease_valid(&self) -> bool {
        self.lease
            .lock()
            .expect("poisoned")
            .as_ref()
            .is_some_and(|h| h.valid_until > Instant::now())
    }

    /// The epoch of the lease this agent holds, if it holds one.
    fn epoch(&self) -> Option<u64> {
        self.lease
            .lock()
            .expect("poisoned")
            .as_ref()
            .map(|h| h.lease.epoch)
    }

    /// Forgets the lease (lost, released or lapsed); returns it if there was one.
    fn drop_lease(&self) -> Option<Lease> {
        self.led.store(false, Ordering::SeqCst);
        self.lease.lock().expect("poisoned").take().map(|h| h.lease)
    }

    /// Marks pending batches stale and forces the next produce to reload offsets from the
    /// store (a failed commit may or may not have been applied). The generation is raised
    /// under the write lock, so no append is between taking it and assigning offsets.
    pub async fn reset(&self, lease_lost: bool) {
        if lease_lost {
            self.drop_lease();
        }
        let mut w = self.write.lock().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        w.synced = false;
    }
}

/// Every partition this agent tracks, and the lease settings.
#[derive(Debug)]
pub struct Partitions {
    store: Arc<dyn MetadataStore>,
    leases: Arc<dyn LeaseManager>,
    cluster: Arc<Cluster>,
    metrics: Arc<Metrics>,
    holder: String,
    ttl: Duration,
    map: Mutex<HashMap<(TopicId, u32), Arc<Partition>>>,
    /// Lease acquisitions the lease loop runs at once: an agent taking thousands of
    /// partitions must leave the write pool's other connections to commits and renewals.
    acquisitions: Arc<tokio::sync::Semaphore>,
}

/// See [`Partitions`]' `acquisitions`.
const CONCURRENT_ACQUISITIONS: usize = 4;

impl Partitions {
    /// An empty set.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        leases: Arc<dyn LeaseManager>,
        cluster: Arc<Cluster>,
        metrics: Arc<Metrics>,
        ttl: Duration,
    ) -> Self {
        Self {
            store,
            leases,
            holder: cluster.me.holder.clone(),
            cluster,
            metrics,
            ttl,
            map: Mutex::new(HashMap::new()),
            acquisitions: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_ACQUISITIONS)),
        }
    }

    /// This process's lease holder id: agent id plus a per-process instance id, so a
    /// restarted agent is a new holder and gets a new epoch.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The partition, tracked from now on if it was not.
    pub fn get_or_insert(&self, topic: &Arc<TopicInfo>, partition: u32) -> Arc<Partition> {
        self.map
            .lock()
            .expect("poisoned")
            .entry((topic.id, partition))
            .or_insert_with(|| Arc::new(Partition::new(topic.clone(), partition)))
            .clone()
    }

    /// The partition, if tracked.
    pub fn get(&self, topic_id: TopicId, partition: u32) -> Option<Arc<Partition>> {
        self.map
            .lock()
            .expect("poisoned")
            .get(&(topic_id, partition))
            .cloned()
    }

    /// Partitions this agent leads now (a valid lease).
    pub fn led(&self) -> Vec<Arc<Partition>> {
        self.all().into_iter().filter(|p| p.lease_valid()).collect()
    }

    fn all(&self) -> Vec<Arc<Partition>> {
        self.map
            .lock()
            .expect("poisoned")
            .values()
            .cloned()
            .collect()
    }
}
