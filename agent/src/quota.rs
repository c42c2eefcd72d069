//! Per-tenant quotas and rate limits from the tenant's plan
//! ([`streamhouse_core::tenancy::PlanLimits`]).
//!
//! - **Rates** (produce bytes and requests per second, fetch bytes per second) are token
//!   buckets holding one second of the rate. Each agent enforces its share: the plan's rate
//!   divided by the live agents of its group, re-read with every membership refresh. A
//!   produce over the rate is refused with `RESOURCE_EXHAUSTED` saying when to retry; a
//!   fetch over it is answered late, never refused. Worst-case overshoot across the cluster:
//!   one second's burst (every agent's bucket full), and for about a second after an agent
//!   joins, until the others see it, one agent's share more.
//! - **Monthly ingress** counts the bytes of acknowledged records per UTC month in the
//!   metadata store: each agent adds what it acknowledged every [`SYNC_INTERVAL`] and reads
//!   back the cluster's total, so the quota can be exceeded by at most what the whole
//!   cluster acknowledges in one interval (two seconds at the plan's produce rate).
//! - **Storage** is the sum of the tenant's objects, read every [`STORAGE_INTERVAL`].
//!
//! Tenants without a row (development mode's tenants) have no limits. When the store cannot
//! be asked, the last known figures stand, and a tenant never seen is admitted: quotas bill
//! and protect the cluster; they do not take it down with the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamhouse_core::clock::{now_ms, rfc3339};
use streamhouse_core::tenancy::{Plan, PlanLimits, TenantStatus, month_of, next_month_start_ms};
use streamhouse_core::{MetadataError, MetadataStore, TenantId};
use tokio::sync::watch;
use tracing::warn;

use crate::cluster::Cluster;
use crate::error::{AgentError, AgentResult};
use crate::ttl_cache::TtlCache;

/// How often acknowledged bytes are added to the store's monthly count.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(2);
/// How often a tenant's stored bytes are read again.
pub const STORAGE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a tenant's plan is trusted: a plan change reaches every agent within this.
const PLAN_TTL: Duration = Duration::from_secs(10);
/// Most tenants whose plan (or lack of one) is cached.
const PLAN_CAPACITY: usize = 100_000;
/// Longest a fetch is held back for its tenant's read rate.
const MAX_READ_DELAY: Duration = Duration::from_secs(5);

/// A token bucket holding one second of its rate.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new() -> Self {
        Self {
            tokens: f64::MAX,
            at: Instant::now(),
        }
    }

    fn refill(&mut self, rate: f64) {
        let now = Instant::now();
        let earned = now.duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + earned).min(rate);
        self.at = now;
    }

    /// Takes `n` tokens if the bucket holds them (or is full, for a request larger than a
    /// second's worth, which then leaves it in debt); else how long until it would.
    fn take(&mut self, n: f64, rate: f64) -> Result<(), Duration> {
        self.refill(rate);
        if self.tokens >= n.min(rate) {
            self.tokens -= n;
            return Ok(());
        }
        Err(Duration::from_secs_f64((n.min(rate) - self.tokens) / rate))
    }

    /// Takes `n` tokens whatever the bucket holds; how long the caller should wait for them.
    fn debit(&mut self, n: f64, rate: f64) -> Duration {
        self.refill(rate);
        self.tokens -= n;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate)
        }
    }
}

/// One tenant's counters on this agent.
#[derive(Debug)]
struct TenantQuota {
    plan: Plan,
    /// Whether the tenant is in good standing (a suspended one may not produce).
    status: TenantStatus,
    requests: Bucket,
    bytes: Bucket,
    reads: Bucket,
    /// The month `used` and `pending` count, and when it ends.
    month: String,
    month_ends_ms: i64,
    /// The cluster's total for the month at the last sync.
    used: u64,
    /// Acknowledged here since the last sync.
    pending: u64,
    stored: u64,
    stored_at: Option<Instant>,
}

impl TenantQuota {
    /// Fresh counters; the month is set by the first use.
    fn new(plan: Plan) -> Self {
        Self {
            plan,
            status: TenantStatus::Active,
            requests: Bucket::new(),
            bytes: Bucket::new(),
            reads: Bucket::new(),
            month: String::new(),
            month_ends_ms: i64::MIN,
            used: 0,
            pending: 0,
            stored: 0,
            stored_at: None,
        }
    }
}

/// The quota state of every tenant with a plan that this agent served.
#[derive(Debug)]
pub struct Quotas {
    store: Arc<dyn MetadataStore>,
    cluster: Arc<Cluster>,
    plans: Mutex<TtlCache<TenantId, Option<(Plan, TenantStatus)>>>,
    tenants: Mutex<HashMap<TenantId, TenantQuota>>,
}

/// `bytes` in the largest unit that keeps it readable.
fn human(bytes: u64) -> String {
    const GB: u64 = 1_000_000_000;
    const MIB: u64 = 1 << 20;
    if bytes >= GB {
        format!("{:.1} GB", bytes as f64 / GB as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

impl Quotas {
    /// Quotas read from `store`, shared over the agents `cluster` sees.
    pub fn new(store: Arc<dyn MetadataStore>, cluster: Arc<Cluster>) -> Self {
        Self {
            store,
            cluster,
            plans: Mutex::new(TtlCache::new(PLAN_TTL, PLAN_CAPACITY)),
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's plan and standing, `None` for a tenant without a row.
    async fn plan(&self, tenant: &TenantId) -> Option<(Plan, TenantStatus)> {
        if let Some(p) = self.plans.lock().expect("poisoned").get(tenant) {
            return *p;
        }
        let plan = match self.store.get_tenant(tenant).await {
            Ok(t) => Some((t.plan, t.status)),
            Err(MetadataError::NotFound(_)) => None,
            Err(e) => {
                warn!(%tenant, "cannot read the tenant's plan ({e}); admitting its requests");
                return self
                    .tenants
                    .lock()
                    .expect("poisoned")
                    .get(tenant)
                    .map(|q| (q.plan, q.status));
            }
        };
        self.plans
            .lock()
            .expect("poisoned")
            .insert(tenant.clone(), plan);
        plan
    }

    /// This agent's share of a cluster-wide rate.
    fn share(&self, rate: u64) -> f64 {
        rate as f64 / self.cluster.peers().len().max(1) as f64
    }

    /// Runs `f` on the tenant's counters, creating them; `None` without a plan.
    async fn with<T>(
        &self,
        tenant: &TenantId,
        f: impl FnOnce(&mut TenantQuota, PlanLimits) -> T,
    ) -> Option<T> {
        let (plan, status) = self.plan(tenant).await?;
        let now = now_ms();
        let mut tenants = self.tenants.lock().expect("poisoned");
        // Looked up before inserting: the common case allocates nothing.
        if !tenants.contains_key(tenant) {
            tenants.insert(tenant.clone(), TenantQuota::new(plan));
        }
        let q = tenants.get_mut(tenant).expect("inserted above");
        q.plan = plan;
        q.status = status;
        if now >= q.month_ends_ms {
            // A new month: its count starts from the store's at the next sync.
            q.month = month_of(now);
            q.month_ends_ms = next_month_start_ms(now);
            q.used = 0;
        }
        Some(f(q, plan.limits()))
    }

    /// Refuses a produce of `bytes` record bytes that would go over the tenant's monthly
    /// ingress, its storage, or (its share of) its produce rates. Admitted, says whether the
    /// tenant has a plan (and so whether its acknowledged bytes are to be counted).
    pub async fn admit_produce(&self, tenant: &TenantId, bytes: u64) -> AgentResult<bool> {
        let r = self
            .with(tenant, |q, l| {
                let exhausted = |m: String| Err(AgentError::ResourceExhausted(m));
                if q.status == TenantStatus::Suspended {
                    return exhausted(format!(
                        "organization {tenant} is suspended (an invoice unpaid past the grace \
                         period, or an operator's decision); producing resumes once it is paid \
                         or an operator makes it active again"
                    ));
                }
                if let Some(limit) = l.ingress_bytes_per_month
                    && q.used + q.pending >= limit
                {
                    return exhausted(format!(
                        "tenant {tenant} has produced the {} of ingress its {} plan allows in \
                         {} (UTC); the quota resets at {}; a larger plan allows more",
                        human(limit),
                        q.plan,
                        q.month,
                        rfc3339(q.month_ends_ms)
                    ));
                }
                if let Some(limit) = l.storage_bytes
                    && q.stored >= limit
                {
                    return exhausted(format!(
                        "tenant {tenant} stores {}, the most its {} plan allows; delete topics \
                         or shorten their retention to produce again",
                        human(q.stored),
                        q.plan
                    ));
                }
                let agents = self.cluster.peers().len().max(1);
                if let Some(rate) = l.requests_per_sec
                    && let Err(wait) = q.requests.take(1.0, self.share(rate))
                {
                    return exhausted(format!(
                        "tenant {tenant} is over the {rate} requests/s of its {} plan (this \
                         agent enforces 1/{agents} of it); retry in {} ms",
                        q.plan,
                        wait.as_millis().max(1)
                    ));
                }
                if let Some(rate) = l.produce_bytes_per_sec
                    && let Err(wait) = q.bytes.take(bytes as f64, self.share(rate))
                {
                    return exhausted(format!(
                        "tenant {tenant} is over the {}/s of produce its {} plan allows (this \
                         agent enforces 1/{agents} of it); retry in {} ms",
                        human(rate),
                        q.plan,
                        wait.as_millis().max(1)
                    ));
                }
                Ok(true)
            })
            .await;
        r.unwrap_or(Ok(false))
    }

    /// Counts `bytes` of acknowledged records towards the tenant's monthly ingress.
    pub async fn acknowledged(&self, tenant: &TenantId, bytes: u64) {
        self.with(tenant, |q, _| q.pending += bytes).await;
    }

    /// How long to hold back a fetch that read `bytes()` for the tenant's read rate; the
    /// bytes are counted only for a tenant with a read rate.
    pub async fn read_delay(&self, tenant: &TenantId, bytes: impl FnOnce() -> u64) -> Duration {
        self.with(tenant, |q, l| match l.fetch_bytes_per_sec {
            Some(rate) => q.reads.debit(bytes() as f64, self.share(rate)),
            None => Duration::ZERO,
        })
        .await
        .unwrap_or_default()
        .min(MAX_READ_DELAY)
    }

    /// Adds each tenant's acknowledged bytes to the store every [`SYNC_INTERVAL`] (reading
    /// back the cluster's totals), and reads stored bytes every [`STORAGE_INTERVAL`], until
    /// `stop` flips; then adds what is left.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(SYNC_INTERVAL) => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            self.sync(stopping).await;
            if stopping {
                return;
            }
        }
    }

    async fn sync(&self, final_pass: bool) {
        let due: Vec<(TenantId, String, u64, bool)> = self
            .tenants
            .lock()
            .expect("poisoned")
            .iter_mut()
            .map(|(t, q)| {
                let stale = q
                    .stored_at
                    .is_none_or(|at| at.elapsed() >= STORAGE_INTERVAL);
                (
                    t.clone(),
                    q.month.clone(),
                    std::mem::take(&mut q.pending),
                    stale,
                )
            })
            .collect();
        for (tenant, month, pending, stale) in due {
            match self.store.add_ingress(&tenant, &month, pending).await {
                Ok(total) => self.update(&tenant, |q| {
                    if q.month == month {
                        q.used = total;
                    }
                }),
                Err(e) => {
                    warn!(%tenant, "cannot add to the tenant's ingress count: {e}");
                    // Kept for the next sync.
                    self.update(&tenant, |q| q.pending += pending);
                }
            }
            if stale && !final_pass {
                match self.store.stored_bytes(&tenant).await {
                    Ok(bytes) => self.update(&tenant, |q| {
                        q.stored = bytes;
                        q.stored_at = Some(Instant::now());
                    }),
                    Err(e) => warn!(%tenant, "cannot read the tenant's stored bytes: {e}"),
                }
            }
        }
    }

    fn update(&self, tenant: &TenantId, f: impl FnOnce(&mut TenantQuota)) {
        if let Some(q) = self.tenants.lock().expect("poisoned").get_mut(tenant) {
            f(q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_admits_its_rate_and_says_when_to_retry() {
        let mut b = Bucket::new();
        // Full at first: a second's worth.
        assert!(b.take(100.0, 100.0).is_ok());
        let wait = b.take(50.0, 100.0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(500) && wait > Duration::from_millis(400),
            "{wait:?}"
        );
        // A request above a second's worth goes through a full bucket, leaving a debt.
        let mut big = Bucket::new();
        assert!(big.take(250.0, 100.0).is_ok());
        assert!(big.take(1.0, 100.0).is_err());
        // Reads are never refused, only delayed.
        let mut r = Bucket::new();
        assert_eq!(r.debit(100.0, 100.0), Duration::ZERO);
        let d = r.debit(100.0, 100.0);
        assert!(
            d > Duration::from_millis(900) && d <= Duration::from_secs(1),
            "{d:?}"
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human(10_000_000_000), "10.0 GB");
        assert_eq!(human(5 << 20), "5.0 MiB");
    }
}
