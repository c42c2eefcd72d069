//! Background jobs that must run on one agent of the cluster at a time: compaction and
//! garbage collection of objects.
//!
//! Each job is a lease from the [`LeaseManager`] (tenant `streamhouse-jobs`, topic id
//! [`JOB_TOPIC_ID`], partition = the job's number). Which agent should hold it is decided as
//! for partitions, by rendezvous hashing with bounded loads over the live agents of the
//! group (`core::cluster::assign`), so the jobs spread over the agents instead of piling on
//! one. Every second each agent checks: the chosen agent takes the lease (once it is free or
//! lapsed), any other holder gives it up. The lease is renewed with the agent's partition
//! leases (one statement for all), so when its holder dies the lease lapses one TTL later and
//! the next chosen agent takes it within the following second. What a job writes is fenced by
//! its lease epoch (compaction's index swap checks it in the same transaction).

mod compaction;
mod gc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use streamhouse_core::cluster::assign;
use streamhouse_core::{Lease, LeaseKey, LeaseManager, TenantId, TopicId};
use tokio::sync::watch;
use tracing::{info, warn};

pub use compaction::Compaction;
pub use gc::{Gc, OrphanScan};

use crate::cluster::Cluster;
use crate::error::AgentResult;

/// The topic id of job leases: negative, so no topic's; -1 is the control plane's billing.
pub const JOB_TOPIC_ID: TopicId = -2;
/// The tenant of job leases.
pub const JOB_TENANT: &str = "streamhouse-jobs";
/// How often each agent checks which jobs it should hold (or, if shorter, a job's interval).
const TICK: Duration = Duration::from_secs(1);

/// A singleton background job.
#[async_trait]
pub trait Job: Send + Sync {
    /// Its name, in logs and metrics.
    fn name(&self) -> &'static str;
    /// Its number: the partition of its lease key; stable across releases.
    fn number(&self) -> u32;
    /// How often it runs while this agent holds it.
    fn interval(&self) -> Duration;
    /// One run, under `lease`; returns what it did, for the log.
    async fn run(&self, lease: &Lease) -> AgentResult<String>;
    /// Called when this agent stops holding the job (its gauges go quiet).
    fn released(&self) {}
}

/// The job lease key of job number `number`.
pub fn job_key(number: u32) -> LeaseKey {
    LeaseKey {
        tenant: TenantId::new(JOB_TENANT).expect("a valid tenant id"),
        topic_id: JOB_TOPIC_ID,
        partition: number,
    }
}

/// Runs the jobs this agent is chosen for.
pub struct Jobs {
    leases: Arc<dyn LeaseManager>,
    cluster: Arc<Cluster>,
    holder: String,
    ttl: Duration,
    jobs: Vec<Arc<dyn Job>>,
    metrics: JobMetrics,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.jobs.iter().map(|j| j.name()).collect();
        f.debug_struct("Jobs").field("jobs", &names).finish()
    }
}

impl Jobs {
    /// The jobs, held as `holder` (the agent's lease holder id) with leases of `ttl`.
    pub fn new(
        leases: Arc<dyn LeaseManager>,
        cluster: Arc<Cluster>,
        holder: String,
        ttl: Duration,
        jobs: Vec<Arc<dyn Job>>,
        metrics: JobMetrics,
    ) -> Self {
        Self {
            leases,
            cluster,
            holder,
            ttl,
            jobs,
            metrics,
        }
    }

    /// Runs each job's loop until `shutdown` flips; a held job's lease is released then.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        let loops = self.jobs.clone().into_iter().map(|job| {
            let me = self.clone();
            let shutdown = shutdown.clone();
            async move { me.job_loop(job, shutdown).await }
        });
        futures::future::join_all(loops).await;
    }

    /// Whether the group's assignment gives job `number` to this agent.
    fn chosen(&self, number: u32) -> bool {
        let peers = self.cluster.peers();
        let slots = self.jobs.iter().map(|j| j.number() + 1).max().unwrap_or(1);
        let owners = assign(&peers, JOB_TOPIC_ID, slots);
        owners
            .get(number as usize)
            .is_some_and(|&i| peers[i].holder == self.holder)
    }

    async fn job_loop(&self, job: Arc<dyn Job>, mut shutdown: watch::Receiver<bool>) {
        let key = job_key(job.number());
        let mut held: Option<Lease> = None;
        let mut last_run: Option<Instant> = None;
        let tick = TICK.min(job.interval());
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = shutdown.changed() => break,
            }
            if !self.chosen(job.number()) {
                if let Some(lease) = held.take() {
                    self.give_up(&*job, &lease, "another agent is chosen for it")
                        .await;
                }
                continue;
            }
            match self.leases.acquire(&key, &self.holder, self.ttl).await {
                Ok(lease) => {
                    if held.as_ref().is_none_or(|h| h.epoch != lease.epoch) {
                        info!(job = job.name(), epoch = lease.epoch, "holding job");
                        last_run = None;
                    }
                    self.metrics.holding(job.name(), true);
                    held = Some(lease);
                }
                Err(e) => {
                    if held.take().is_some() {
                        warn!(job = job.name(), "job lease lost: {e}");
                        self.metrics.holding(job.name(), false);
                        job.released();
                    }
                    continue;
                }
            }
            if last_run.is_some_and(|t| t.elapsed() < job.interval()) {
                continue;
            }
            let lease = held.clone().expect("held above");
            let started = Instant::now();
            let result = job.run(&lease).await;
            last_run = Some(Instant::now());
            self.metrics
                .ran(job.name(), started.elapsed(), result.is_ok());
            match result {
                Ok(done) if done.is_empty() => {}
                Ok(done) => info!(
                    job = job.name(),
                    ms = started.elapsed().as_millis() as u64,
                    "{done}"
                ),
                Err(e) => warn!(job = job.name(), "job run failed: {e}"),
            }
        }
        if let Some(lease) = held {
            self.give_up(&*job, &lease, "shutting down").await;
        }
    }

    async fn give_up(&self, job: &dyn Job, lease: &Lease, why: &str) {
        info!(job = job.name(), "releasing job: {why}");
        if let Err(e) = self.leases.release(lease).await {
            warn!(
                job = job.name(),
                "cannot release the job lease: {e}; it lapses after its TTL"
            );
        }
        self.metrics.holding(job.name(), false);
        job.released();
    }
}

/// A job.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    /// `compaction` or `gc`.
    pub job: &'static str,
}

/// A job's run, by result.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobRunLabels {
    /// `compaction` or `gc`.
    pub job: &'static str,
    /// `ok` or `error`.
    pub result: &'static str,
}

use crate::metrics::TopicLabels;

/// The jobs' metrics: who holds them, their runs, what they found and did, and what the
/// cluster stores.
#[derive(Debug, Clone)]
pub struct JobMetrics {
    /// 1 for each job this agent holds.
    pub leader: Family<JobLabels, Gauge>,
    /// Runs by job and result.
    pub runs: Family<JobRunLabels, Counter>,
    /// How long runs take, by job.
    pub run_seconds: Family<JobLabels, Histogram>,
    /// Bytes of indexed batches, per tenant and topic (set by the job holder).
    pub stored_bytes: Family<TopicLabels, Gauge>,
    /// Objects holding them.
    pub stored_objects: Family<TopicLabels, Gauge>,
    /// Bytes still in flush objects, waiting for compaction.
    pub compaction_backlog_bytes: Family<TopicLabels, Gauge>,
    /// Flush objects holding them.
    pub compaction_backlog_objects: Family<TopicLabels, Gauge>,
    /// Bytes compaction read from flush objects.
    pub compaction_read_bytes: Counter,
    /// Bytes compaction wrote into compacted objects.
    pub compaction_written_bytes: Counter,
    /// Index swaps compaction committed.
    pub compaction_swaps: Counter,
    /// Records key compaction removed (superseded values and expired tombstones).
    pub compaction_removed_records: Counter,
    /// Orphans found in the bucket and claimed.
    pub orphans_found: Counter,
    /// Objects deleted from the bucket (orphans and objects no index row references).
    pub objects_deleted: Counter,
}

impl JobMetrics {
    /// Registers the jobs' metrics with `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self {
            leader: Family::default(),
            runs: Family::default(),
            run_seconds: Family::new_with_constructor(|| {
                Histogram::new([0.01, 0.05, 0.25, 1.0, 5.0, 30.0, 120.0, 600.0])
            }),
            stored_bytes: Family::default(),
            stored_objects: Family::default(),
            compaction_backlog_bytes: Family::default(),
            compaction_backlog_objects: Family::default(),
            compaction_read_bytes: Counter::default(),
            compaction_written_bytes: Counter::default(),
            compaction_swaps: Counter::default(),
            compaction_removed_records: Counter::default(),
            orphans_found: Counter::default(),
            objects_deleted: Counter::default(),
        };
        r.register(
            "job_leader",
            "1 for each singleton job this agent holds",
            m.leader.clone(),
        );
        r.register("job_runs", "Job runs by job and result", m.runs.clone());
        r.register(
            "job_run_seconds",
            "How long job runs take",
            m.run_seconds.clone(),
        );
        for (name, help, f) in [
            (
                "stored_bytes",
                "Bytes of indexed batches per topic (exported by the gc job's holder)",
                &m.stored_bytes,
            ),
            (
                "stored_objects",
                "Objects holding a topic's batches (exported by the gc job's holder)",
                &m.stored_objects,
            ),
            (
                "compaction_backlog_bytes",
                "Bytes of a topic still in flush objects, waiting for compaction",
                &m.compaction_backlog_bytes,
            ),
            (
                "compaction_backlog_objects",
                "Flush objects holding a topic's batches, waiting for compaction",
                &m.compaction_backlog_objects,
            ),
        ] {
            r.register(name, help, f.clone());
        }
        for (name, help, c) in [
            (
                "compaction_read_bytes",
                "Bytes compaction read from the objects it replaced",
                &m.compaction_read_bytes,
            ),
            (
                "compaction_written_bytes",
                "Bytes compaction wrote into compacted objects",
                &m.compaction_written_bytes,
            ),
            (
                "compaction_swaps",
                "Index swaps compaction committed",
                &m.compaction_swaps,
            ),
            (
                "compaction_removed_records",
                "Records key compaction removed: superseded values and expired tombstones",
                &m.compaction_removed_records,
            ),
            (
                "orphans_found",
                "Orphaned objects found in the bucket and claimed for deletion",
                &m.orphans_found,
            ),
            (
                "objects_deleted",
                "Objects deleted by garbage collection (orphans and objects no index row references)",
                &m.objects_deleted,
            ),
        ] {
            r.register(name, help, c.clone());
        }
        m
    }

    fn holding(&self, job: &'static str, yes: bool) {
        self.leader
            .get_or_create(&JobLabels { job })
            .set(i64::from(yes));
    }

    fn ran(&self, job: &'static str, took: Duration, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.runs.get_or_create(&JobRunLabels { job, result }).inc();
        self.run_seconds
            .get_or_create(&JobLabels { job })
            .observe(took.as_secs_f64());
    }
}
