//! Leadership: taking a partition's lease before a produce, and the lease loop.
//!
//! Every second the loop heartbeats the agent's membership, takes the leases of the
//! partitions the cluster assigns to this agent (see `streamhouse_core::cluster::assign`),
//! and hands over the partitions assigned elsewhere: it stops taking writes for them, lets
//! the batches it accepted commit, then releases the lease so the new owner takes it at once.
//!
//! Renewal runs apart, every quarter of the TTL: one statement renews every lease the agent
//! holds, whatever their number, without listing topics, without the read replica and
//! without any partition's write lock, so neither a slow store read nor a busy partition can
//! let a lease lapse.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use streamhouse_core::{Lease, LeaseError, MetadataError, TopicId};
use tokio::sync::{MutexGuard, watch};
use tracing::{debug, info, warn};

use super::{HeldLease, Partition, Partitions, WriteState};
use crate::error::{AgentError, AgentResult};

/// How often the lease loop runs.
const LOOP_PERIOD: Duration = Duration::from_secs(1);

/// A led partition locked for one append: offsets are assigned under it, so one
/// partition's batches enter the flush buffer in offset order.
#[derive(Debug)]
pub struct AppendGuard<'a> {
    state: MutexGuard<'a, WriteState>,
    generation: u64,
    epoch: u64,
}

impl AppendGuard<'_> {
    /// The lease epoch the batch is written under.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The offset the batch's first record gets.
    pub fn next_offset(&self) -> u64 {
        self.state.next_offset
    }

    /// The partition's write generation when the offsets were assigned.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes `records` offsets from the next one on.
    pub fn advance(&mut self, records: u64) {
        self.state.next_offset += records;
    }
}

/// What a pass of the lease loop leaves to tasks of their own.
#[derive(Debug, Default)]
pub struct LeaseWork {
    /// Owned partitions whose lease this agent does not hold yet.
    acquire: Vec<Arc<Partition>>,
    /// Led partitions assigned to another agent now.
    hand_over: Vec<Arc<Partition>>,
}

impl Partitions {
    /// Locks `p` for an append, making sure this agent leads it with its offsets loaded
    /// (acquiring the lease if needed).
    pub async fn lock_for_append<'a>(&self, p: &'a Partition) -> AgentResult<AppendGuard<'a>> {
        let mut state = p.write.lock().await;
        self.ensure_leader(p, &mut state).await?;
        Ok(AppendGuard {
            state,
            generation: p.generation(),
            epoch: p.epoch().unwrap_or(0),
        })
    }

    /// Makes sure this agent leads `p` with offsets loaded, acquiring the lease if needed.
    /// Called with the partition's write lock held.
    async fn ensure_leader(&self, p: &Partition, w: &mut WriteState) -> AgentResult<()> {
        if p.moving.load(Ordering::SeqCst) {
            return Err(AgentError::Unavailable(format!(
                "partition {} of topic {:?} is moving to another agent; retry",
                p.key.partition,
                p.topic.spec.name.as_str()
            )));
        }
        if !p.lease_valid() {
            self.acquire(p, w).await?;
        }
        if !w.synced {
            w.next_offset = self.load_high_watermark(p).await?;
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
        p.raise_high_watermark(hw);
        Ok(hw)
    }

    async fn acquire(&self, p: &Partition, w: &mut WriteState) -> AgentResult<()> {
        let started = Instant::now();
        match self.leases.acquire(&p.key, &self.holder, self.ttl).await {
            Ok(lease) => {
                let changed = p.epoch() != Some(lease.epoch);
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
                *p.lease.lock().expect("poisoned") = Some(HeldLease {
                    lease,
                    acquired_at: Instant::now(),
                    valid_until: started + self.ttl,
                });
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

    /// Takes the lease of a partition this agent owns, unless it holds a valid one.
    async fn keep(&self, p: &Partition) {
        let mut w = p.write.lock().await;
        if let Err(e) = self.ensure_leader(p, &mut w).await {
            debug!(partition = %p.key, "not leading: {e}");
        }
    }

    /// Renews every lease this agent holds with one statement, extending their local
    /// deadlines; a lease the store did not renew (it lapsed or moved) is dropped, and its
    /// partition's pending batches are failed.
    pub async fn renew_all(&self) {
        let started = Instant::now();
        let renewed = match self.leases.renew_all(&self.holder, self.ttl).await {
            Ok(r) => r,
            Err(e) => {
                // The local deadlines stand: writes stop when they pass.
                warn!("cannot renew leases: {e}");
                self.metrics.lease_renewal_failures.inc();
                return;
            }
        };
        let renewed: HashMap<(TopicId, u32), Lease> = renewed
            .into_iter()
            .map(|l| ((l.key.topic_id, l.key.partition), l))
            .collect();
        for p in self.all() {
            let lost = {
                let mut held = p.lease.lock().expect("poisoned");
                match held.as_mut() {
                    None => false,
                    Some(h) => match renewed.get(&(p.key.topic_id, p.key.partition)) {
                        Some(l) if l.epoch == h.lease.epoch => {
                            h.lease = l.clone();
                            h.valid_until = h.valid_until.max(started + self.ttl);
                            false
                        }
                        // Taken while the statement ran, which may not have seen it: not a
                        // loss.
                        _ => h.acquired_at < started,
                    },
                }
            };
            if lost {
                warn!(partition = %p.key, "lease lost");
                tokio::spawn(async move { p.reset(true).await });
            }
        }
    }

    /// Gives `p`'s lease up at once, with `w` locked; keeps it if there is none.
    async fn release(&self, p: &Partition, w: &mut WriteState) -> bool {
        let Some(lease) = p.drop_lease() else {
            return false;
        };
        w.synced = false;
        if let Err(e) = self.leases.release(&lease).await {
            warn!(partition = %p.key, "cannot release lease: {e}");
            return false;
        }
        true
    }

    /// Hands a partition over to its new owner: refuses new writes, waits (up to one TTL)
    /// until the batches already accepted are committed or failed, then releases the lease.
    pub async fn hand_over(&self, p: &Partition) {
        p.moving.store(true, Ordering::SeqCst);
        let (target, generation) = {
            let w = p.write.lock().await;
            (w.next_offset, p.generation())
        };
        let deadline = Instant::now() + self.ttl;
        while p.high_watermark() < target
            && p.generation() == generation
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut w = p.write.lock().await;
        if self.release(p, &mut w).await {
            info!(topic = %p.topic.spec.name, partition = p.key.partition, "handed partition over");
        }
        p.moving.store(false, Ordering::SeqCst);
    }

    /// One pass of the lease loop: heartbeat, track every topic's partitions, renew the
    /// leases this agent holds on partitions it owns, and forget deleted topics. Returns the
    /// work that may wait on others, for [`Partitions::spawn_work`]: owned partitions whose
    /// lease to take (a frozen previous holder's row locks can hold that up for seconds), and
    /// led partitions now assigned elsewhere, already marked as moving.
    pub async fn tick(&self) -> AgentResult<LeaseWork> {
        if let Err(e) = self.cluster.refresh().await {
            self.metrics.heartbeat_failures.inc();
            warn!("membership heartbeat failed: {e}");
        }
        self.metrics
            .cluster_agents
            .set(self.cluster.peers().len() as i64);
        let topics = self.store.list_topics(None).await?;
        let live: HashSet<TopicId> = topics.iter().map(|t| t.id).collect();
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
                    if !p.lease_valid() && !p.acquiring.swap(true, Ordering::SeqCst) {
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
    /// the heartbeat or a renewal; at most a few acquisitions query the store at once.
    pub fn spawn_work(self: &Arc<Self>, work: LeaseWork) {
        for p in work.acquire {
            let this = self.clone();
            tokio::spawn(async move {
                let slot = this.acquisitions.clone().acquire_owned().await;
                this.keep(&p).await;
                drop(slot);
                p.acquiring.store(false, Ordering::SeqCst);
            });
        }
        for p in work.hand_over {
            let this = self.clone();
            tokio::spawn(async move { this.hand_over(&p).await });
        }
    }

    /// Renews every held lease every quarter of the TTL until `shutdown` flips.
    pub async fn run_renewals(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let period = self.ttl / 4;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = shutdown.changed() => return,
            }
            if self.all().iter().any(|p| p.is_led()) {
                self.renew_all().await;
            }
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

    /// Releases every held lease with one statement (graceful shutdown, after the last
    /// flush), so the other agents take them at once instead of after a TTL.
    pub async fn release_all(&self) -> AgentResult<u64> {
        for p in self.all() {
            p.drop_lease();
        }
        Ok(self.leases.release_all(&self.holder).await?)
    }
}
