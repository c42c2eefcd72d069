//! Billing state kept in the metadata store ([`BillingStore`]): each organization's Stripe
//! customer and subscription, the ledger of overage lines billed at each period's close, and
//! the invoices Stripe reported through its webhooks.
//!
//! A ledger line is keyed by organization, period and metric, so a period's overage is
//! computed once; it moves `pending` → `sent` (a Stripe call may have happened) →
//! `confirmed` (Stripe's id recorded). A line found `sent` is resolved by asking Stripe for
//! the invoice item carrying the line's key before sending it again: so each line reaches
//! Stripe exactly once, across crashes, retries and replicas.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::metadata::{MetadataError, MetadataResult};
use crate::stored::StoredRow;
use crate::tenancy::Plan;
use crate::types::{TenantId, ValidationError};

/// An organization's Stripe objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingAccount {
    /// The organization.
    pub tenant: TenantId,
    /// Its Stripe customer, `cus_...`.
    pub customer_id: String,
    /// Its subscription, `sub_...`, once it has a payment method; empty before.
    pub subscription_id: String,
    /// The subscription's one item, `si_...`, whose plan changes with the organization's.
    pub subscription_item_id: String,
    /// The plan the subscription is on.
    pub plan: Plan,
    /// Since when a payment has failed, ms since the epoch; `None` in good standing.
    pub past_due_since_ms: Option<i64>,
}

/// Where a ledger line is on its way to Stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineState {
    /// Computed; not sent.
    Pending,
    /// A Stripe call may have created its invoice item.
    Sent,
    /// Stripe's invoice item id is recorded (or the line bills nothing).
    Confirmed,
}

impl LineState {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Pending => "pending",
            LineState::Sent => "sent",
            LineState::Confirmed => "confirmed",
        }
    }
}

impl fmt::Display for LineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LineState {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(LineState::Pending),
            "sent" => Ok(LineState::Sent),
            "confirmed" => Ok(LineState::Confirmed),
            _ => Err(ValidationError(format!("unknown ledger state {s:?}"))),
        }
    }
}

/// One overage line: an organization's use of one metric beyond its plan in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    /// The organization.
    pub tenant: TenantId,
    /// The period, a UTC month `YYYY-MM`.
    pub period: String,
    /// `ingress` (GB produced) or `storage` (GB-months stored).
    pub metric: String,
    /// The amount beyond the plan, in millionths of a GB (or GB-month).
    pub overage_micro: u64,
    /// What it bills, in the smallest unit of the currency (cents).
    pub amount_cents: u64,
    /// Where it is on its way to Stripe.
    pub state: LineState,
    /// Stripe's invoice item, `ii_...`, once confirmed (empty for a zero line).
    pub stripe_id: String,
    /// When it was last changed, ms since the epoch.
    pub updated_at_ms: i64,
}

impl LedgerLine {
    /// The line's key: its Stripe idempotency key and the metadata its invoice item carries.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.tenant, self.period, self.metric)
    }
}

/// An invoice as Stripe's webhooks last described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    /// Stripe's id, `in_...`.
    pub id: String,
    /// The organization.
    pub tenant: TenantId,
    /// `draft`, `open`, `paid`, `uncollectible` or `void`, or `payment_failed`.
    pub status: String,
    /// What it asks for, in cents.
    pub amount_due_cents: u64,
    /// What was paid, in cents.
    pub amount_paid_cents: u64,
    /// Its currency.
    pub currency: String,
    /// When Stripe created it, ms since the epoch.
    pub created_at_ms: i64,
}

/// Billing state.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// An organization's account; `None` before it has a customer.
    async fn billing_account(&self, tenant: &TenantId) -> MetadataResult<Option<BillingAccount>>;

    /// Creates or replaces an organization's account.
    async fn save_billing_account(&self, account: &BillingAccount) -> MetadataResult<()>;

    /// The organization whose Stripe customer this is; `NotFound` if none.
    async fn tenant_of_customer(&self, customer_id: &str) -> MetadataResult<TenantId>;

    /// Every account, by tenant.
    async fn billing_accounts(&self) -> MetadataResult<Vec<BillingAccount>>;

    /// Adds a line unless its organization, period and metric have one: `false` then, and the
    /// first line stands.
    async fn add_ledger_line(&self, line: &LedgerLine) -> MetadataResult<bool>;

    /// The lines of one organization (or all), newest period first; only those not
    /// confirmed when `open_only`.
    async fn ledger(
        &self,
        tenant: Option<&TenantId>,
        open_only: bool,
    ) -> MetadataResult<Vec<LedgerLine>>;

    /// Moves a line to `state`, recording Stripe's id; `NotFound` if there is no such line.
    async fn set_ledger_state(
        &self,
        line: &LedgerLine,
        state: LineState,
        stripe_id: &str,
        at_ms: i64,
    ) -> MetadataResult<()>;

    /// Creates or replaces an invoice, unless the stored one is further along (`draft` <
    /// `open` < `payment_failed` < `paid`, `void`, `uncollectible`): events arrive out of
    /// order, and concurrently.
    async fn save_invoice(&self, invoice: &InvoiceRecord) -> MetadataResult<()>;

    /// An organization's invoices, newest first.
    async fn invoices(&self, tenant: &TenantId) -> MetadataResult<Vec<InvoiceRecord>>;
}

fn corrupt(what: &str, e: impl fmt::Display) -> MetadataError {
    MetadataError::other(format!("corrupt {what} row: {e}"))
}

fn tenant(row: &impl StoredRow) -> MetadataResult<TenantId> {
    TenantId::new(row.text("tenant")?).map_err(|e| corrupt("billing", e))
}

impl BillingAccount {
    /// An account from the columns `tenant, customer_id, subscription_id,
    /// subscription_item_id, plan, past_due_since_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            tenant: tenant(row)?,
            customer_id: row.text("customer_id")?,
            subscription_id: row.text("subscription_id")?,
            subscription_item_id: row.text("subscription_item_id")?,
            plan: row
                .text("plan")?
                .parse()
                .map_err(|e| corrupt("billing account", e))?,
            past_due_since_ms: row.opt_int("past_due_since_ms")?,
        })
    }
}

impl LedgerLine {
    /// A line from the columns `tenant, period, metric, overage_micro, amount_cents, state,
    /// stripe_id, updated_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            tenant: tenant(row)?,
            period: row.text("period")?,
            metric: row.text("metric")?,
            overage_micro: row.num("overage_micro")?,
            amount_cents: row.num("amount_cents")?,
            state: row
                .text("state")?
                .parse()
                .map_err(|e| corrupt("ledger", e))?,
            stripe_id: row.text("stripe_id")?,
            updated_at_ms: row.int("updated_at_ms")?,
        })
    }
}

impl InvoiceRecord {
    /// An invoice from the columns `id, tenant, status, amount_due_cents, amount_paid_cents,
    /// currency, created_at_ms`.
    pub fn decode(row: &impl StoredRow) -> MetadataResult<Self> {
        Ok(Self {
            id: row.text("id")?,
            tenant: tenant(row)?,
            status: row.text("status")?,
            amount_due_cents: row.num("amount_due_cents")?,
            amount_paid_cents: row.num("amount_paid_cents")?,
            currency: row.text("currency")?,
            created_at_ms: row.int("created_at_ms")?,
        })
    }
}
