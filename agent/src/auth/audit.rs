//! The audit log as the agent writes it: each event is logged at once as a structured
//! event (target `audit`) and appended to the metadata store's log within a second.
//!
//! Events wait in a bounded queue, so a flood of failed authentications costs bounded
//! memory and one insert a second; what overflows is counted
//! (`streamhouse_audit_events_dropped_total`), not logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use streamhouse_core::clock::now_ms;
use streamhouse_core::tenancy::AuditEvent;
use streamhouse_core::{MetadataStore, TenantId};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::error::AgentError;

/// Events waiting for the store at most.
const QUEUE: usize = 4096;
/// How often queued events are appended.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Labels of key lookups.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LookupLabels {
    /// `hit` (the agent's cache) or `miss` (a metadata query).
    pub result: &'static str,
}

/// Authentication and audit metrics.
#[derive(Debug, Clone)]
pub struct AuditMetrics {
    /// API key lookups, by whether the cache answered.
    pub key_lookups: Family<LookupLabels, Counter>,
    /// Requests refused authentication.
    pub auth_failures: Counter,
    /// Audit events dropped because the queue was full.
    pub dropped: Counter,
}

impl AuditMetrics {
    /// Registers the metrics with `r`.
    pub fn register(r: &mut Registry) -> Self {
        let m = Self {
            key_lookups: Family::default(),
            auth_failures: Counter::default(),
            dropped: Counter::default(),
        };
        r.register(
            "auth_key_lookups",
            "API key lookups, by result: hit (the agent's cache) or miss (a metadata query)",
            m.key_lookups.clone(),
        );
        r.register(
            "auth_failures",
            "Requests refused authentication",
            m.auth_failures.clone(),
        );
        r.register(
            "audit_events_dropped",
            "Audit events dropped because too many were waiting for the metadata store",
            m.dropped.clone(),
        );
        m
    }

    pub(super) fn key_lookups(&self, result: &'static str) {
        self.key_lookups
            .get_or_create(&LookupLabels { result })
            .inc();
    }
}

/// Logs an audit event as a structured event with target `audit`, as it is also stored.
pub fn log(event: &AuditEvent) {
    info!(
        target: "audit",
        tenant = event.tenant.as_ref().map_or("", TenantId::as_str),
        actor = %event.actor,
        action = %event.action,
        target = %event.target,
        source = %event.source,
        detail = %event.detail,
        "audit"
    );
}

/// Where the agent's audit events go.
#[derive(Debug)]
pub struct Audit {
    tx: mpsc::Sender<AuditEvent>,
    rx: std::sync::Mutex<Option<mpsc::Receiver<AuditEvent>>>,
    /// The agent's id, as the actor of what it does on its own.
    agent: String,
    /// Authentication and audit metrics.
    pub metrics: AuditMetrics,
}

impl Audit {
    /// An audit log for agent `agent`; [`Audit::run`] writes it.
    pub fn new(agent: &str, metrics: AuditMetrics) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: std::sync::Mutex::new(Some(rx)),
            agent: agent.to_owned(),
            metrics,
        }
    }

    /// Records that `actor` did `action` to `target` of `tenant`, from `from`.
    pub fn record(
        &self,
        tenant: Option<&TenantId>,
        actor: &str,
        action: &str,
        target: &str,
        from: Option<SocketAddr>,
        detail: &str,
    ) {
        let event = AuditEvent {
            at_ms: now_ms(),
            tenant: tenant.cloned(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            source: from.map_or_else(|| format!("agent:{}", self.agent), |a| a.to_string()),
            detail: detail.to_owned(),
        };
        let Ok(slot) = self.tx.try_reserve() else {
            self.metrics.dropped.inc();
            return;
        };
        log(&event);
        slot.send(event);
    }

    /// Records a refused authentication.
    pub fn failed_auth(&self, actor: &str, from: Option<SocketAddr>, e: &AgentError) {
        self.metrics.auth_failures.inc();
        self.record(None, actor, "auth.failed", "", from, &e.to_string());
    }

    /// Appends queued events to `store` every second until `stop` flips, then the rest.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn MetadataStore>,
        mut stop: watch::Receiver<bool>,
    ) {
        let Some(mut rx) = self.rx.lock().expect("poisoned").take() else {
            return;
        };
        let mut batch = Vec::new();
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(FLUSH_INTERVAL) => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            while batch.len() < QUEUE
                && let Ok(e) = rx.try_recv()
            {
                batch.push(e);
            }
            if !batch.is_empty() {
                match store.append_audit(&batch).await {
                    Ok(()) => batch.clear(),
                    // Kept for the next round; the queue fills behind it meanwhile.
                    Err(e) => warn!(events = batch.len(), "cannot write the audit log: {e}"),
                }
            }
            if stopping {
                return;
            }
        }
    }
}
