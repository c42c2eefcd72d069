//! An organization's billing: its Stripe subscription, the overage billed per month, its
//! invoices, and adding a payment method.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use streamhouse_core::accounts::Role;
use streamhouse_core::clock::rfc3339;
use utoipa::ToSchema;

use super::orgs::org_id;
use crate::auth::{Caller, Source, org_error};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::{Body, Shared};

/// An overage line: use beyond the plan in one month, billed once.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverageView {
    /// The month, `YYYY-MM` (UTC).
    pub period: String,
    /// `ingress` (GB) or `storage` (GB-months).
    pub metric: String,
    /// The amount beyond the plan.
    pub overage: f64,
    /// What it bills, in cents.
    pub amount_cents: u64,
    /// `pending`, `sent` or `confirmed` (on the customer's next invoice).
    pub state: String,
    /// Stripe's invoice item.
    pub invoice_item: String,
}

/// An invoice.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    /// Stripe's id.
    pub id: String,
    /// `draft`, `open`, `paid`, `void`, `uncollectible` or `payment_failed`.
    pub status: String,
    /// What it asks for, in cents.
    pub amount_due_cents: u64,
    /// What was paid, in cents.
    pub amount_paid_cents: u64,
    /// Its currency.
    pub currency: String,
    /// When Stripe created it (RFC 3339).
    pub created_at: String,
}

/// An organization's billing.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    /// Whether this control plane bills through Stripe.
    pub enabled: bool,
    /// The publishable key for the card form, when it has one.
    pub publishable_key: Option<String>,
    /// Where Stripe.js loads from, for the card form.
    pub js_url: Option<String>,
    /// The Stripe customer, once created.
    pub customer_id: Option<String>,
    /// The subscription, once the organization has a payment method.
    pub subscription_id: Option<String>,
    /// The plan the subscription is on.
    pub subscribed_plan: Option<String>,
    /// Since when a payment has failed (RFC 3339); absent in good standing.
    pub past_due_since: Option<String>,
    /// Overage lines, newest month first.
    pub overage: Vec<OverageView>,
    /// Invoices, newest first.
    pub invoices: Vec<InvoiceView>,
}

/// A payment method to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethod {
    /// A card token from Stripe.js (`tok_...`): card details never reach StreamHouse.
    pub token: String,
}

/// The organization's subscription, overage lines and invoices (admins).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/billing", tag = "billing",
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, body = BillingView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<Shared>,
    caller: Caller,
    Path(org): Path<String>,
) -> ApiResult<Json<BillingView>> {
    let org = org_id(&org)?;
    caller.require(&state, &org, Role::Admin).await?;
    let account = state.store.billing_account(&org).await?;
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let ledger = state.store.ledger(Some(&org), false).await?;
    let invoices = state.store.invoices(&org).await?;
    let form = state
        .billing
        .as_ref()
        .map(|b| &b.cfg)
        .filter(|c| !c.publishable_key.is_empty());
    Ok(Json(BillingView {
        enabled: state.billing.is_some(),
        publishable_key: form.map(|c| c.publishable_key.clone()),
        js_url: form.map(|c| c.js_url.clone()),
        customer_id: account.as_ref().and_then(|a| some(&a.customer_id)),
        subscription_id: account.as_ref().and_then(|a| some(&a.subscription_id)),
        subscribed_plan: account
            .as_ref()
            .filter(|a| !a.subscription_id.is_empty())
            .map(|a| a.plan.to_string()),
        past_due_since: account.and_then(|a| a.past_due_since_ms).map(rfc3339),
        overage: ledger
            .into_iter()
            .filter(|l| l.amount_cents > 0)
            .map(|l| OverageView {
                overage: l.overage_micro as f64 / 1e6,
                period: l.period,
                metric: l.metric,
                amount_cents: l.amount_cents,
                state: l.state.to_string(),
                invoice_item: l.stripe_id,
            })
            .collect(),
        invoices: invoices
            .into_iter()
            .map(|i| InvoiceView {
                id: i.id,
                status: i.status,
                amount_due_cents: i.amount_due_cents,
                amount_paid_cents: i.amount_paid_cents,
                currency: i.currency,
                created_at: rfc3339(i.created_at_ms),
            })
            .collect(),
    }))
}

/// Adds a payment method (owners) and, the first time, starts the subscription to the plan.
#[utoipa::path(post, path = "/api/v1/orgs/{org}/billing/payment-method", tag = "billing",
    params(("org" = String, Path, description = "Organization id")), request_body = PaymentMethod,
    responses((status = 200, body = BillingView), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn payment_method(
    State(state): State<Shared>,
    caller: Caller,
    Source(from): Source,
    Path(org): Path<String>,
    Body(req): Body<PaymentMethod>,
) -> ApiResult<Json<BillingView>> {
    let org_ref = org_id(&org)?;
    caller.require(&state, &org_ref, Role::Owner).await?;
    let Some(billing) = &state.billing else {
        return Err(ApiError::not_found(
            "billing is not configured on this control plane",
        ));
    };
    let tenant = state
        .store
        .get_tenant(&org_ref)
        .await
        .map_err(org_error(&org_ref))?;
    let account = match state.store.billing_account(&org_ref).await? {
        Some(a) => a,
        None => billing
            .create_customer(&tenant)
            .await
            .map_err(|e| ApiError::unavailable(format!("Stripe: {e}")))?,
    };
    billing
        .stripe
        .add_source(&account.customer_id, req.token.trim())
        .await
        .map_err(|e| match e {
            crate::billing::stripe::StripeError::Refused { message, .. } => {
                ApiError::invalid("token", format!("Stripe refused the card: {message}"))
            }
            e => ApiError::unavailable(e.to_string()),
        })?;
    state
        .audit_change(
            &caller,
            &org_ref,
            "billing.payment_method",
            &account.customer_id,
            &from,
        )
        .await?;
    if account.subscription_id.is_empty() {
        billing
            .start_subscription(&tenant, account)
            .await
            .map_err(|e| {
                ApiError::unavailable(format!(
                    "the card was added, but Stripe did not start the subscription ({e}); \
                     add the card again to retry"
                ))
            })?;
    }
    get(State(state.clone()), caller, Path(org)).await
}
