//! The partitions this agent knows about, their leases, and the lease-keeping loop.
//!
//! A produce needs the partition's lease. Every second the lease loop heartbeats the agent's
//! membership, takes the leases of the partitions the cluster assigns to this agent (see
//! `streamhouse_core::cluster::assign`), renews them once a third of the TTL has passed, and
//! hands over the partitions assigned elsewhere: it stops taking writes for them, lets the
//! batches it accepted commit, then releases the lease so the new owner takes it at once. A
//! partition's next offset is loaded from the store whenever leadership is (re)gained or a
//! flush failed, so offsets stay dense whatever happened to earlier writes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamhouse_core::metadata::BatchIndexEntry;
use streamhouse_core::{
    Lease, LeaseError, LeaseKey, LeaseManager, MetadataError, MetadataStore, TopicId, TopicInfo,
};
use tokio::sync::watch;
use tracing::Instrument;
use tracing::{debug, info, warn};

use crate::cluster::Cluster;
use crate::error::{AgentError, AgentResult};
use crate::metrics::Metrics;

/// How often the lease loop runs.
const LOOP_PERIOD: Duration = Duration::from_secs(1);

/// Most recent index entries kept per partition for tailing readers.
const INDEX_CACHE_ENTRIES: usize = 4096;

/// Mutable write-side state of a partition, behind an async lock held while a produce
/// assigns offsets and encodes its batch (so batches enter the flush buffer in offset order).
#[derive(Debug, Default)]
pub struct WriteState {
    /// The lease, when this agent leads the partition.
    pub lease: Option<Lease>,
    /// Local deadline of the lease (taken before the request that granted it was sent).
    pub valid_until: Option<Instant>,
    /// Next offset to assign.
    pub next_offset: u64,
    /// Whether `next_offset` was loaded from the store under the current lease.
    pub synced: bool,
}

/// One partition of one topic incarnation.
#[derive(Debug)]
pub struct Partition {
    /// Lease key: tenant, topic id, partition.
    pub key: LeaseKey,
    /// The topic (name and codec go into batch headers).
    pub topic: Arc<TopicInfo>,
    /// Write-side state.
    pub write: tokio::sync::Mutex<WriteState>,
    /// Whether this agent holds the lease (kept outside `write` so readers need no lock).
    led: AtomicBool,
    /// Set while the partition is handed over: no new writes, the lease is about to go.
    moving: AtomicBool,
    /// Set while the lease loop tries to take the lease in a task of its own.
    acquiring: AtomicBool,
    /// Raised whenever pending batches must be dropped (a flush failed, the lease was lost):
    /// batches assigned under an older generation are failed, never committed.
    pub generation: AtomicU64,
    /// Highest committed offset known here, for long-polling readers.
    pub high_watermark: watch::Sender<u64>,
    /// Log start offset after this agent's last retention pass.
    pub log_start: AtomicU64,
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
            led: AtomicBool::new(false),
            moving: AtomicBool::new(false),
            acquiring: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            high_watermark: watch::channel(0).0,
            log_start: AtomicU64::new(0),
            index: Mutex::new(VecDeque::new()),
        }
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
            self.high_watermark.send_if_modified(|cur| {
                let grew = hw > *cur;
                *cur = (*cur).max(hw);
                grew
            });
        }
    }

    /// Drops cached index entries below a new log start offset (after retention).
    pub fn trimmed(&self, log_start: u64) {
        self.index
            .lock()
            .expect("poisoned")
            .retain(|e| e.end_offset() > log_start);
        self.log_start.fetch_max(log_start, Ordering::SeqCst);
    }

    /// Cached index entries from the one containing `offset`, if the cache covers it.
    pub fn cached_entries(&self, offset: u64, limit: usize) -> Option<Vec<BatchIndexEntry>> {
        let idx = self.index.lock().expect("poisoned");
        let first = idx.front()?;
        if offset < first.base_offset || offset >= idx.back()?.end_offset() {
            return None;
        }
        let start = idx.partition_point(|e| e.end_offset() <= offset);
        Some(idx.iter().skip(start).take(limit).cloned().collect())
    }

    /// Whether this agent currently holds the partition's lease.
    pub fn is_led(&self) -> bool {
        self.led.load(Ordering::SeqCst)
    }

    /// Marks pending batches stale and forces the next produce to reload offsets from the
    /// store (a failed commit may or may not have been applied).
    pub async fn reset(&self, lease_lost: bool) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut w = self.write.lock().await;
        w.synced = false;
        if lease_lost {
            w.lease = None;
            w.valid_until = None;
            self.led.store(false, Ordering::SeqCst);
        }
    }
}

/// What a pass of the lease loop leaves to tasks of their own.
#[derive(Debug, Default)]
pub struct LeaseWork {
    /// Owned partitions whose lease this agent does not hold yet.
    pub acquire: Vec<Arc<Partition>>,
    /// Led partitions assigned to another agent now.
    pub hand_over: Vec<Arc<Partition>>,
}

/// Every partition this agent tracks, and the lease settings.
#[derive(Debug)]
pub struct Partitions {
    store: Arc<dyn MetadataStore>,
    leases: Arc<dyn LeaseManager>,
    cluster: Arc<Cluster>,
    /// The agent's metrics, which the writer and reader record into too.
    pub metrics: Arc<Metrics>,
    /// This process's lease holder id: agent id plus a per-process instance id, so a
    /// restarted agent is a new holder and gets a new epoch.
    pub holder: String,
    ttl: Duration,
    map: Mutex<HashMap<(TopicId, u32), Arc<Partition>>>,
}

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
        }
    }

    /// The partition, tracked from now on if it was not.
    pub fn get_or_insert(&self, topic: &Arc<TopicInfo>, partition: u32) -> Arc<Partition> {
        let mut map = self.map.lock().expect("poisoned");
        match map.get(&(topic.id, partition)) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(Partition::new(topic.clone(), partition));
                map.insert((topic.id, partition), p.clone());
                p
            }
        }
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
    pub async fn led(&self) -> Vec<Arc<Partition>> {
        let mut led = Vec::new();
        for p in self.all() {
            let w = p.write.lock().await;
            if w.lease.is_some() && w.valid_until.is_some_and(|t| t > Instant::now()) {
                led.push(p.clone());
            }
        }
        led
    }

    fn all(&self) -> Vec<Arc<Partition>> {
        self.map
            .lock()
            .expect("poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// Makes sure this agent leads `p` with offsets loaded, acquiring the lease if needed.
    /// Called with the partition's write lock held.
    pub async fn ensure_leader(&self, p: &Partition, w: &mut WriteState) -> AgentResult<()> {
        if p.moving.load(Ordering::SeqCst) {
            return Err(AgentError::Unavailable(format!(
                "partition {} of topic {:?} is moving to another agent; retry",
                p.key.partition,
                p.topic.spec.name.as_str()
            )));
        }
        let valid = w.valid_until.is_some_and(|t| t > Instant::now());
        if !valid {
            self.acquire(p, w).await?;
        }
        if !w.synced {
            let hw = self.load_high_watermark(p).await?;
            w.next_offset = hw;
            w.synced = true;
        }
        Ok(())
    }

    async fn load_high_watermark(&self, p: &Partition) -> AgentResult<u64> {
        let hw = match self
            .store
            .partition_offset(p.key.topic_id, p.key.partition)
            .await
        {
            Ok(o) => o.high_watermark,
            Err(MetadataError::NotFound(_)) => {
                return Err(AgentError::NotFound(format!(
                    "partition {} of topic {:?} no longer exists",
                    p.key.partition,
                    p.topic.spec.name.as_str()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        p.high_watermark.send_if_modified(|cur| {
            let grew = hw > *cur;
            *cur = (*cur).max(hw);
            grew
        });
        Ok(hw)
    }

    async fn acquire(&self, p: &Partition, w: &mut WriteState) -> AgentResult<()> {
        let started = Instant::now();
        let acquired = self
            .leases
            .acquire(&p.key, &self.holder, self.ttl)
            .instrument(tracing::info_span!(
                "lease.acquire",
                topic = %p.topic.spec.name,
                partition = p.key.partition
            ))
            .await;
        self.metrics.query("lease_acquire", started);
        match acquired {
            Ok(lease) => {
                let changed = w.lease.as_ref().map(|l| l.epoch) != Some(lease.epoch);
                if changed {
                    info!(topic = %p.topic.spec.name, partition = p.key.partition, epoch = lease.epoch, "leading partition");
                    // Epochs change only with the holder: above 1, someone led it before.
                    if lease.epoch > 1 {
                        self.metrics.failover_total.inc();
                    }
                    // Another holder may have written in between: reload offsets.
                    w.synced = false;
                    p.generation.fetch_add(1, Ordering::SeqCst);
                    p.index.lock().expect("poisoned").clear();
                }
                w.lease = Some(lease);
                w.valid_until = Some(started + self.ttl);
                p.led.store(true, Ordering::SeqCst);
                Ok(())
            }
            Err(LeaseError::Held {
                holder,
                remaining_ms,
                ..
            }) => Err(AgentError::Unavailable(format!(
                "partition {} of topic {:?} is led by {holder} for up to another {remaining_ms} ms \
                 (a previous agent process that stopped without releasing it); retry",
                p.key.partition,
                p.topic.spec.name.as_str()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps a partition this agent owns: takes its lease if not held, renews it once a third
    /// of the TTL has passed.
    async fn keep(&self, p: &Partition) {
        let mut w = p.write.lock().await;
        let Some(lease) = w.lease.clone() else {
            if let Err(e) = self.ensure_leader(p, &mut w).await {
                debug!(partition = %p.key, "not leading: {e}");
            }
            return;
        };
        let renewed_recently = w
            .valid_until
            .is_some_and(|t| t > Instant::now() + self.ttl * 2 / 3);
        if renewed_recently {
            return;
        }
        let started = Instant::now();
        let renewed = self.leases.renew(&lease, self.ttl).await;
        self.metrics.query("lease_renew", started);
        match renewed {
            Ok(l) => {
                w.lease = Some(l);
                w.valid_until = Some(started + self.ttl);
            }
            Err(LeaseError::Lost(_)) => {
                warn!(partition = %p.key, "lease lost");
                drop(w);
                p.reset(true).await;
            }
            Err(e) => warn!(partition = %p.key, "cannot renew lease: {e}"),
        }
    }

    /// Hands a partition over to its new owner: refuses new writes, waits (up to one TTL)
    /// until the batches already accepted are committed or failed, then releases the lease.
    pub async fn hand_over(&self, p: &Partition) {
        p.moving.store(true, Ordering::SeqCst);
        let (target, generation) = {
            let w = p.write.lock().await;
            (w.next_offset, p.generation.load(Ordering::SeqCst))
        };
        let deadline = Instant::now() + self.ttl;
        while *p.high_watermark.borrow() < target
            && p.generation.load(Ordering::SeqCst) == generation
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut w = p.write.lock().await;
        if let Some(lease) = w.lease.take() {
            w.valid_until = None;
            w.synced = false;
            p.led.store(false, Ordering::SeqCst);
            match self.leases.release(&lease).await {
                Ok(()) => {
                    info!(topic = %p.topic.spec.name, partition = p.key.partition, "handed partition over")
                }
                Err(e) => warn!(partition = %p.key, "cannot release lease: {e}"),
            }
        }
        p.moving.store(false, Ordering::SeqCst);
    }

    /// One pass of the lease loop: heartbeat, track every topic's partitions, renew the
    /// leases this agent holds on partitions it owns, and forget deleted topics. Returns the
    /// work that may wait on others, for [`Partitions::spawn_work`]: owned partitions whose
    /// lease to take (a frozen previous holder's row locks can hold that up for seconds), and
    /// led partitions now assigned elsewhere, already marked as moving.
    pub async fn tick(&self) -> AgentResult<LeaseWork> {
        let started = Instant::now();
        if let Err(e) = self.cluster.refresh().await {
            self.metrics.heartbeat_failures.inc();
            warn!("membership heartbeat failed: {e}");
        }
        self.metrics.query("heartbeat", started);
        self.metrics
            .cluster_agents
            .set(self.cluster.peers().len() as i64);
        let topics = self.store.list_topics(None).await?;
        let live: std::collections::HashSet<TopicId> = topics.iter().map(|t| t.id).collect();
        self.map
            .lock()
            .expect("poisoned")
            .retain(|(id, _), _| live.contains(id));
        let mut work = LeaseWork::default();
        for t in topics {
            let t = Arc::new(t);
            let served = self.cluster.serves(&t.spec.tenant).await?;
            for partition in 0..t.spec.partitions {
                let p = self.get_or_insert(&t, partition);
                if served && self.cluster.owns(&t, partition) {
                    if p.is_led() {
                        self.keep(&p).await;
                    } else if !p.acquiring.swap(true, Ordering::SeqCst) {
                        work.acquire.push(p);
                    }
                } else if p.is_led() && !p.moving.swap(true, Ordering::SeqCst) {
                    work.hand_over.push(p);
                }
            }
        }
        let led = self.all().iter().filter(|p| p.is_led()).count();
        self.metrics.lease_count.set(led as i64);
        Ok(work)
    }

    /// Runs each acquisition and handover of `work` in a task of its own, so none delays
    /// the heartbeat or a renewal.
    pub fn spawn_work(self: &Arc<Self>, work: LeaseWork) {
        for p in work.acquire {
            let this = self.clone();
            tokio::spawn(async move {
                this.keep(&p).await;
                p.acquiring.store(false, Ordering::SeqCst);
            });
        }
        for p in work.hand_over {
            let this = self.clone();
            tokio::spawn(async move { this.hand_over(&p).await });
        }
    }

    /// Runs the lease loop until `shutdown` flips.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        // Every second, so a dead agent's partitions are taken within about a second of its
        // lease lapsing; renewals happen only once a third of the TTL has passed.
        let period = LOOP_PERIOD.min(self.ttl / 3);
        loop {
            match self.tick().await {
                Ok(work) => self.spawn_work(work),
                Err(e) => warn!("lease loop: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Releases every held lease at once (graceful shutdown, after the last flush).
    pub async fn release_all(&self) {
        for p in self.all() {
            let mut w = p.write.lock().await;
            if let Some(lease) = w.lease.take() {
                w.valid_until = None;
                p.led.store(false, Ordering::SeqCst);
                if let Err(e) = self.leases.release(&lease).await {
                    warn!(partition = %p.key, "cannot release lease: {e}");
                }
            }
        }
    }
}
