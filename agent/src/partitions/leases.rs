//! Leadership: taking a partition's lease before a produce, and the lease loop.
//!
//! Every second the loop heartbeats the agent's membership, takes the leases of the
//! partitions the cluster assigns to this agent (see `streamhouse_core::cluster::assign`),
//! renews them once a third of the TTL has passed, and hands over the partitions assigned
//! elsewhere: it stops taking writes for them, lets the batches it accepted commit, then
//! releases the lease so the new owner takes it at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use streamhouse_core::{LeaseError, MetadataError, TopicId};
use tokio::sync::{MutexGuard, watch};
use tracing::{debug, info, warn};

use super::{Partition, Partitions, WriteState};
use crate::error::{AgentError, AgentResult};

/// How often the lease loop runs.
const LOOP_PERIOD: Duration = Duration::from_secs(1);

/// A led partition locked for one append: offsets are assigned under it, so one
/// partition's batches enter the flush buffer in offset order.
#[derive(Debug)]
pub struct AppendGuard<'a> {
    state: MutexGuard<'a, WriteState>,
    generation: u64,
}

impl AppendGuard<'_> {
    /// The lease epoch the batch is written under.
    pub fn epoch(&self) -> u64 {
        self.state.lease.as_ref().map_or(0, |l| l.epoch)
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
        let valid = w.valid_until.is_some_and(|t| t > Instant::now());
        if !valid {
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
        match self.leases.renew(&lease, self.ttl).await {
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

    /// Gives `p`'s lease up at once, with `w` locked; keeps it if there is none.
    async fn release(&self, p: &Partition, w: &mut WriteState) -> bool {
        let Some(lease) = w.lease.take() else {
            return false;
        };
        w.valid_until = None;
        w.synced = false;
        p.led.store(false, Ordering::SeqCst);
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
            self.release(&p, &mut w).await;
        }
    }
}
