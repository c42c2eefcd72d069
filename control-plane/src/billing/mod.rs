//! Stripe billing. Each organization on a priced plan is a Stripe customer; once it has a
//! payment method, a subscription to its plan's Stripe plan, moved (with Stripe's proration)
//! when the plan changes. After each UTC month closes, its use beyond the plan's allowance
//! (ingress GB, and storage GB-months) is billed as invoice items on the customer's next
//! invoice. Stripe's webhooks (`webhook.rs`) record invoices and payment failures; an
//! organization past due for longer than the grace period is suspended, and the agents refuse
//! its producers.
//!
//! One control plane at a time does the work (a lease from the metadata store), and each
//! overage line is billed exactly once: its ledger row is written before Stripe is called,
//! marked `sent` first, and a `sent` line is looked up in Stripe (the invoice item carries
//! the line's key) before it is sent again. Idempotency keys cover the same ground on Stripe.

pub mod stripe;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use streamhouse_core::billing::{BillingAccount, LedgerLine, LineState};
use streamhouse_core::clock::now_ms;
use streamhouse_core::tenancy::{
    Plan, Tenant, TenantStatus, month_of, month_start_ms, next_month_start_ms,
};
use streamhouse_core::usage::{Granularity, HOUR_MS};
use streamhouse_core::{LeaseKey, LeaseManager, MetadataError, MetadataStore, TenantId};
use tracing::{info, warn};

use crate::config::StripeConfig;
use crate::metrics::Metrics;
use stripe::{Stripe, StripeError};

/// How long the billing lease lasts; the job renews it every run.
const LEASE_TTL: Duration = Duration::from_secs(30);

/// The lease that makes one control plane the billing job's runner.
fn lease_key() -> LeaseKey {
    LeaseKey {
        tenant: TenantId::new("streamhouse-billing").expect("a valid tenant id"),
        topic_id: -1,
        partition: 0,
    }
}

/// The Stripe plan of a StreamHouse plan; `None` for custom terms.
pub fn stripe_plan(plan: Plan) -> Option<String> {
    plan.monthly_price_cents()
        .map(|_| format!("streamhouse-{}", plan.as_str()))
}

/// The overage of `used` over `allowance` and what it bills at `cents_per_gb` (rounded up
/// to the cent): `(overage, cents)`.
pub fn overage(used: u64, allowance: Option<u64>, cents_per_gb: u64) -> (u64, u64) {
    let over = allowance.map_or(0, |a| used.saturating_sub(a));
    let cents = (u128::from(over) * u128::from(cents_per_gb)).div_ceil(1_000_000_000);
    (over, u64::try_from(cents).unwrap_or(u64::MAX))
}

/// The last month closed `delay_ms` ago: `(YYYY-MM, start, end)`.
pub fn last_closed_month(now_ms: i64, delay_ms: i64) -> (String, i64, i64) {
    let end = month_start_ms(now_ms - delay_ms);
    let start = month_start_ms(end - 1);
    (month_of(start), start, end)
}

/// The billing job.
#[derive(Debug)]
pub struct Billing {
    store: Arc<dyn MetadataStore>,
    leases: Arc<dyn LeaseManager>,
    /// The Stripe API.
    pub stripe: Stripe,
    /// Billing's configuration.
    pub cfg: StripeConfig,
    metrics: Arc<Metrics>,
    holder: String,
    /// A test's fault: abort the process after an invoice item is sent, before it is recorded.
    crash_after_send: bool,
}

impl Billing {
    /// The job, billing through `stripe`.
    pub fn new(
        store: Arc<dyn MetadataStore>,
        leases: Arc<dyn LeaseManager>,
        stripe: Stripe,
        cfg: StripeConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        let crash_after_send =
            std::env::var("STREAMHOUSE_FAILPOINT").is_ok_and(|f| f == "billing.after_send");
        Self {
            store,
            leases,
            stripe,
            cfg,
            metrics,
            holder: format!("control-plane-{}", &crate::auth::random_token()[..12]),
            crash_after_send,
        }
    }

    /// Runs the job every `stripe.job_interval_ms` while this control plane holds the lease.
    pub async fn run(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(self.cfg.job_interval_ms));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut catalog = false;
        loop {
            tick.tick().await;
            if self
                .leases
                .acquire(&lease_key(), &self.holder, LEASE_TTL)
                .await
                .is_err()
            {
                continue;
            }
            if !catalog {
                catalog = self.ensure_catalog().await.is_ok();
            }
            let result = self.run_once().await;
            if let Err(e) = &result {
                warn!(error = %e, "billing run failed; it runs again shortly");
            }
            self.metrics.billing_run(result.is_ok());
        }
    }

    /// The Stripe plans of the priced plans, created when missing.
    async fn ensure_catalog(&self) -> Result<(), StripeError> {
        for plan in Plan::ALL {
            let (Some(id), Some(cents)) = (stripe_plan(plan), plan.monthly_price_cents()) else {
                continue;
            };
            if self.stripe.plan(&id).await?.is_none() {
                let name = format!("StreamHouse {}", plan.as_str());
                self.stripe
                    .create_plan(&id, &name, cents, &self.cfg.currency)
                    .await?;
                info!(plan = %id, "created the Stripe plan");
            }
        }
        Ok(())
    }

    /// One pass: customers and plan changes; the closed month's overage; the
    /// lines not yet confirmed; suspensions past the grace period.
    pub async fn run_once(&self) -> anyhow::Result<()> {
        let now = now_ms();
        for t in self.store.list_tenants().await? {
            if t.plan.monthly_price_cents().is_none() {
                continue;
            }
            let mut account = match self.store.billing_account(&t.id).await? {
                Some(a) => a,
                None => self.create_customer(&t).await?,
            };
            self.move_plan(&t, &mut account).await?;
            self.close_period(&t, now).await?;
            self.suspend_if_overdue(&t, &account, now).await?;
        }
        for line in self.store.ledger(None, true).await? {
            let Some(account) = self.store.billing_account(&line.tenant).await? else {
                continue;
            };
            self.send(&account, &line).await?;
        }
        Ok(())
    }

    /// Creates the organization's Stripe customer and records it.
    pub async fn create_customer(&self, t: &Tenant) -> anyhow::Result<BillingAccount> {
        let owner = self
            .store
            .members(&t.id)
            .await?
            .into_iter()
            .find(|m| m.role == streamhouse_core::accounts::Role::Owner)
            .map(|m| m.email)
            .unwrap_or_default();
        let c = self
            .stripe
            .create_customer(t.id.as_str(), &t.name, &owner)
            .await?;
        let account = BillingAccount {
            tenant: t.id.clone(),
            customer_id: c["id"].as_str().unwrap_or_default().to_owned(),
            subscription_id: String::new(),
            subscription_item_id: String::new(),
            plan: t.plan,
            past_due_since_ms: None,
        };
        self.store.save_billing_account(&account).await?;
        info!(tenant = %t.id, customer = %account.customer_id, "created the Stripe customer");
        Ok(account)
    }

    /// Subscribes an organization whose owner just added a card to its plan's Stripe plan.
    pub async fn start_subscription(
        &self,
        t: &Tenant,
        mut account: BillingAccount,
    ) -> anyhow::Result<BillingAccount> {
        let Some(plan) = stripe_plan(t.plan) else {
            return Ok(account);
        };
        let sub = self
            .stripe
            .create_subscription(t.id.as_str(), &account.customer_id, &plan)
            .await?;
        account.subscription_id = sub["id"].as_str().unwrap_or_default().to_owned();
        account.subscription_item_id = sub["items"]["data"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        account.plan = t.plan;
        self.store.save_billing_account(&account).await?;
        info!(tenant = %t.id, subscription = %account.subscription_id, %plan, "subscribed");
        Ok(account)
    }

    /// Moves a subscription whose organization changed plans (Stripe prorates it).
    async fn move_plan(&self, t: &Tenant, account: &mut BillingAccount) -> anyhow::Result<()> {
        let Some(plan) = stripe_plan(t.plan) else {
            return Ok(());
        };
        if account.subscription_id.is_empty() || account.plan == t.plan {
            return Ok(());
        }
        self.stripe
            .change_plan(
                &account.subscription_id,
                &account.subscription_item_id,
                &plan,
            )
            .await?;
        account.plan = t.plan;
        self.store.save_billing_account(account).await?;
        info!(tenant = %t.id, %plan, "moved the subscription to another plan, prorated");
        Ok(())
    }

    /// Records the last closed month's overage lines, once.
    async fn close_period(&self, t: &Tenant, now: i64) -> anyhow::Result<()> {
        let (period, start, end) = last_closed_month(now, self.cfg.period_close_delay_ms);
        let rows = self
            .store
            .usage(&t.id, Granularity::Day, start, end, false)
            .await?;
        let ingress: u64 = rows.iter().map(|r| r.ingress_bytes).sum();
        let byte_hours: u64 = rows.iter().map(|r| r.storage_byte_hours).sum();
        // Stored bytes on average over the month's hours: GB-months.
        let hours = u64::try_from((next_month_start_ms(start) - start) / HOUR_MS).unwrap_or(1);
        let stored = byte_hours / hours.max(1);
        let limits = t.plan.limits();
        for (metric, used, allowance, rate) in [
            (
                "ingress",
                ingress,
                limits.ingress_bytes_per_month,
                self.cfg.ingress_overage_cents_per_gb,
            ),
            (
                "storage",
                stored,
                limits.storage_bytes,
                self.cfg.storage_overage_cents_per_gb_month,
            ),
        ] {
            let (over, cents) = overage(used, allowance, rate);
            let line = LedgerLine {
                tenant: t.id.clone(),
                period: period.clone(),
                metric: metric.to_owned(),
                overage_micro: over / 1000,
                amount_cents: cents,
                // Nothing to bill: settled at once.
                state: if cents == 0 {
                    LineState::Confirmed
                } else {
                    LineState::Pending
                },
                stripe_id: String::new(),
                updated_at_ms: now,
            };
            if self.store.add_ledger_line(&line).await? && cents > 0 {
                info!(tenant = %t.id, %period, metric, cents, "overage to bill");
            }
        }
        Ok(())
    }

    /// Sends one line to Stripe exactly once.
    async fn send(&self, account: &BillingAccount, line: &LedgerLine) -> anyhow::Result<()> {
        let key = line.key();
        if line.state == LineState::Sent
            && let Some(id) = self
                .stripe
                .find_invoice_item(&account.customer_id, &key)
                .await?
        {
            // Sent before a crash or a lost answer: record it, do not send it again.
            self.store
                .set_ledger_state(line, LineState::Confirmed, &id, now_ms())
                .await?;
            return Ok(());
        }
        self.store
            .set_ledger_state(line, LineState::Sent, "", now_ms())
            .await?;
        let gb = line.overage_micro as f64 / 1e6;
        let unit = if line.metric == "storage" {
            "GB-months"
        } else {
            "GB"
        };
        let description = format!(
            "StreamHouse {} overage, {}: {gb:.3} {unit} beyond the plan",
            line.metric, line.period
        );
        let id = self
            .stripe
            .create_invoice_item(
                &account.customer_id,
                line.amount_cents,
                &self.cfg.currency,
                &description,
                &key,
            )
            .await?;
        if self.crash_after_send {
            eprintln!("failpoint billing.after_send: aborting after sending {key}");
            std::process::abort();
        }
        self.store
            .set_ledger_state(line, LineState::Confirmed, &id, now_ms())
            .await?;
        info!(line = %key, invoice_item = %id, "billed");
        Ok(())
    }

    /// Suspends an organization past due for longer than the grace period.
    async fn suspend_if_overdue(
        &self,
        t: &Tenant,
        account: &BillingAccount,
        now: i64,
    ) -> anyhow::Result<()> {
        let Some(since) = account.past_due_since_ms else {
            return Ok(());
        };
        if t.status != TenantStatus::PastDue || now - since < self.cfg.grace_period_ms {
            return Ok(());
        }
        let mut suspended = t.clone();
        suspended.status = TenantStatus::Suspended;
        match self.store.update_tenant(&suspended).await {
            Ok(()) | Err(MetadataError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let detail = format!("unpaid since {}", streamhouse_core::clock::rfc3339(since));
        let event = streamhouse_core::tenancy::AuditEvent {
            at_ms: now,
            tenant: Some(t.id.clone()),
            actor: "billing".into(),
            action: "org.suspend".into(),
            target: t.id.to_string(),
            source: String::new(),
            detail,
        };
        self.store.append_audit(&[event]).await?;
        warn!(tenant = %t.id, "suspended: a payment failed and the grace period is over");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overage_is_billed_per_gb_rounded_up_to_the_cent() {
        const GB: u64 = 1_000_000_000;
        assert_eq!(overage(5 * GB, Some(10 * GB), 9), (0, 0));
        assert_eq!(
            overage(12 * GB + GB / 2, Some(10 * GB), 10),
            (GB * 5 / 2, 25)
        );
        assert_eq!(
            overage(10 * GB + 1, Some(10 * GB), 9),
            (1, 1),
            "a byte bills a cent"
        );
        assert_eq!(overage(u64::MAX, None, 9), (0, 0), "no limit, no overage");
    }

    #[test]
    fn the_last_closed_month_waits_for_the_delay() {
        // 2026-12-01T00:30:00Z: an hour's delay still points at October.
        let now = 1_796_085_000_000;
        assert_eq!(last_closed_month(now, 3_600_000).0, "2026-10");
        assert_eq!(last_closed_month(now, 0).0, "2026-11");
        let (_, start, end) = last_closed_month(now, 0);
        assert_eq!((end - start) / HOUR_MS, 30 * 24);
        assert_eq!(
            stripe_plan(Plan::Growth).as_deref(),
            Some("streamhouse-growth")
        );
        assert_eq!(stripe_plan(Plan::Enterprise), None);
    }
}
