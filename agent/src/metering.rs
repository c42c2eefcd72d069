//! Usage metering: egress and requests counted in memory per tenant, topic and hour, written
//! every `metering.flush_interval_ms` (one batch of rows, never a write per request), and the
//! hourly storage sample offered every `metering.storage_check_interval_ms`. Ingress is
//! counted elsewhere: in each commit's transaction (the writer's `meter`).
//!
//! A killed agent loses what it counted since its last write: at most one flush interval of
//! its egress and requests. A graceful shutdown writes them; a failed write keeps them for
//! the next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamhouse_core::clock::now_ms;
use streamhouse_core::config::MeteringConfig;
use streamhouse_core::usage::{UsageDelta, hour_of};
use streamhouse_core::{MetadataStore, TenantId};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::auth::Principal;

/// Counts of one tenant's topic in one hour.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    egress_bytes: u64,
    egress_records: u64,
    requests: u64,
}

/// Counted and not yet written: hour → tenant → topic → counts (nested so that counting a
/// known topic allocates nothing).
type Pending = HashMap<i64, HashMap<TenantId, HashMap<String, Counts>>>;

/// The agent's meter.
#[derive(Debug)]
pub struct Meter {
    enabled: bool,
    store: Arc<dyn MetadataStore>,
    flush_interval: Duration,
    storage_interval: Duration,
    pending: Mutex<Pending>,
}

impl Meter {
    /// A meter writing to `store` as `cfg` says.
    pub fn new(store: Arc<dyn MetadataStore>, cfg: &MeteringConfig) -> Self {
        Self {
            enabled: cfg.enabled,
            store,
            flush_interval: Duration::from_millis(cfg.flush_interval_ms),
            storage_interval: Duration::from_millis(cfg.storage_check_interval_ms),
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn add(&self, p: &Principal, topic: &str, f: impl FnOnce(&mut Counts)) {
        // Requests other agents forward were counted where they arrived; the control
        // plane's reads for its message browser are not the tenant's.
        if !self.enabled || matches!(p, Principal::Agent(_)) {
            return;
        }
        let hour = hour_of(now_ms());
        let mut pending = self.pending.lock().expect("poisoned");
        let tenants = pending.entry(hour).or_default();
        let topics = match tenants.get_mut(p.tenant()) {
            Some(t) => t,
            None => tenants.entry(p.tenant().clone()).or_default(),
        };
        match topics.get_mut(topic) {
            Some(c) => f(c),
            None => f(topics.entry(topic.to_owned()).or_default()),
        }
    }

    /// Counts a request on `topic` (empty for requests naming none).
    pub fn request(&self, p: &Principal, topic: &str) {
        self.add(p, topic, |c| c.requests += 1);
    }

    /// Counts records read from `topic`: `bytes` as [`record_usage_bytes`] counts them.
    ///
    /// [`record_usage_bytes`]: streamhouse_core::usage::record_usage_bytes
    pub fn egress(&self, p: &Principal, topic: &str, bytes: u64, records: u64) {
        if records > 0 {
            self.add(p, topic, |c| {
                c.egress_bytes += bytes;
                c.egress_records += records;
            });
        }
    }

    /// Writes what was counted every flush interval and offers the hourly storage sample,
    /// until `stop`; then writes what is left.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        if !self.enabled {
            return;
        }
        let mut flush = tokio::time::interval(self.flush_interval);
        let mut sample = tokio::time::interval(self.storage_interval);
        loop {
            // The select only picks: its futures (the stop signal's borrow among them) are
            // gone before anything is written.
            let flush_now = tokio::select! {
                _ = flush.tick() => true,
                _ = sample.tick() => false,
                _ = stop.wait_for(|s| *s) => break,
            };
            match flush_now {
                true => self.flush().await,
                false => self.sample().await,
            }
        }
        self.flush().await;
    }

    /// Writes what was counted; on failure keeps it for the next attempt.
    async fn flush(&self) {
        let taken = std::mem::take(&mut *self.pending.lock().expect("poisoned"));
        let deltas: Vec<UsageDelta> = taken
            .iter()
            .flat_map(|(hour, tenants)| {
                tenants.iter().flat_map(move |(tenant, topics)| {
                    topics.iter().map(move |(topic, c)| UsageDelta {
                        tenant: tenant.clone(),
                        topic: topic.clone(),
                        hour_ms: *hour,
                        egress_bytes: c.egress_bytes,
                        egress_records: c.egress_records,
                        requests: c.requests,
                    })
                })
            })
            .collect();
        if deltas.is_empty() {
            return;
        }
        if let Err(e) = self.store.add_usage(&deltas).await {
            warn!(error = %e, rows = deltas.len(), "cannot write usage; keeping it for the next attempt");
            let mut pending = self.pending.lock().expect("poisoned");
            for d in deltas {
                let c = pending
                    .entry(d.hour_ms)
                    .or_default()
                    .entry(d.tenant)
                    .or_default()
                    .entry(d.topic)
                    .or_default();
                c.egress_bytes += d.egress_bytes;
                c.egress_records += d.egress_records;
                c.requests += d.requests;
            }
        }
    }

    async fn sample(&self) {
        let hour = hour_of(now_ms());
        match self.store.sample_storage(hour).await {
            Ok(true) => debug!(hour, "sampled stored bytes for the cluster"),
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot sample stored bytes; trying again later"),
        }
    }
}
