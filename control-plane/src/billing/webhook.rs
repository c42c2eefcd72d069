//! Stripe's webhooks, at `POST /api/v1/stripe/webhook`: the `Stripe-Signature` header is
//! checked (HMAC-SHA256 of `<timestamp>.<body>` with the endpoint's secret, at most five
//! minutes old) before anything is read. Invoice events record the invoice; a failed payment
//! makes the organization past due (the billing job suspends it after the grace period); a
//! paid invoice makes it active again.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use streamhouse_core::MetadataError;
use streamhouse_core::billing::InvoiceRecord;
use streamhouse_core::clock::now_ms;
use streamhouse_core::tenancy::{AuditEvent, TenantStatus};
use tracing::info;

use crate::error::{ApiError, ApiResult};
use crate::state::Shared;

/// How old a signed event may be.
const TOLERANCE_S: i64 = 300;

/// Whether `header` (`t=<unix seconds>,v1=<hex>,...`) signs `body` with `secret`, within the
/// tolerance of `now_s`.
pub fn verify(header: &str, body: &[u8], secret: &str, now_s: i64) -> Result<(), String> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or("the Stripe-Signature header has no timestamp")?;
    if (now_s - t).abs() > TOLERANCE_S {
        return Err(format!(
            "the event was signed {} s ago; at most {TOLERANCE_S} s",
            now_s - t
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if signatures
        .iter()
        .any(|s| streamhouse_core::tenancy::key::secrets_equal(s.as_bytes(), expected.as_bytes()))
    {
        Ok(())
    } else {
        Err("no signature of the Stripe-Signature header matches this endpoint's secret".into())
    }
}

/// How far along an invoice status is: an event never moves an invoice back.
fn progress(status: &str) -> u8 {
    match status {
        "draft" => 0,
        "open" => 1,
        "payment_failed" => 2,
        // paid, void, uncollectible: final.
        _ => 3,
    }
}

/// Receives a Stripe event.
#[utoipa::path(post, path = "/api/v1/stripe/webhook", tag = "billing",
    request_body(content = String, content_type = "application/json",
                 description = "A Stripe event, signed in the Stripe-Signature header"),
    responses((status = 200, description = "The event was taken"),
              (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(()))]
pub async fn receive(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let Some(billing) = &state.billing else {
        return Err(ApiError::not_found(
            "billing is not configured on this control plane",
        ));
    };
    let invalid = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_signature", m);
    let header = headers
        .get("stripe-signature")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| invalid("the Stripe-Signature header is missing".into()))?;
    verify(header, &body, &billing.cfg.webhook_secret, now_ms() / 1000).map_err(invalid)?;
    let event: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string()))?;
    let kind = event["type"].as_str().unwrap_or_default();
    let object = &event["data"]["object"];
    if kind.starts_with("invoice.") {
        invoice_event(&state, kind, object).await?;
    }
    Ok(Json(serde_json::json!({ "received": true })))
}

async fn invoice_event(state: &Shared, kind: &str, inv: &Value) -> ApiResult<()> {
    let customer = inv["customer"].as_str().unwrap_or_default();
    let tenant = match state.store.tenant_of_customer(customer).await {
        Ok(t) => t,
        // Another system's customer on the same Stripe account: not ours to record.
        Err(MetadataError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let cents = |f: &str| inv[f].as_u64().unwrap_or(0);
    let status = match kind {
        "invoice.payment_failed" => "payment_failed".to_owned(),
        _ => inv["status"].as_str().unwrap_or("open").to_owned(),
    };
    // Stripe does not promise events in order: one about an earlier state of the invoice
    // (created after paid) changes nothing.
    let id = inv["id"].as_str().unwrap_or_default();
    let known = state.store.invoices(&tenant).await?;
    if known
        .iter()
        .any(|i| i.id == id && progress(&i.status) > progress(&status))
    {
        return Ok(());
    }
    state
        .store
        .save_invoice(&InvoiceRecord {
            id: inv["id"].as_str().unwrap_or_default().to_owned(),
            tenant: tenant.clone(),
            status,
            amount_due_cents: cents("amount_due"),
            amount_paid_cents: cents("amount_paid"),
            currency: inv["currency"].as_str().unwrap_or("usd").to_owned(),
            created_at_ms: inv["created"].as_i64().unwrap_or(0) * 1000,
        })
        .await?;
    let (standing, action) = match kind {
        "invoice.payment_failed" => (TenantStatus::PastDue, "org.past_due"),
        "invoice.paid" | "invoice.payment_succeeded" => (TenantStatus::Active, "org.paid"),
        _ => return Ok(()),
    };
    let Some(mut account) = state.store.billing_account(&tenant).await? else {
        return Ok(());
    };
    let billing_caused = account.past_due_since_ms.is_some();
    account.past_due_since_ms = match standing {
        TenantStatus::PastDue => account.past_due_since_ms.or(Some(now_ms())),
        _ => None,
    };
    state.store.save_billing_account(&account).await?;
    let mut t = state.store.get_tenant(&tenant).await?;
    let changes = match standing {
        // A payment failure does not lift a suspension; a payment lifts only what billing
        // caused, not an operator's suspension.
        TenantStatus::PastDue => t.status == TenantStatus::Active,
        _ => {
            t.status == TenantStatus::PastDue
                || (t.status == TenantStatus::Suspended && billing_caused)
        }
    };
    if changes {
        t.status = standing;
        state.store.update_tenant(&t).await?;
        let event = AuditEvent {
            at_ms: now_ms(),
            tenant: Some(tenant.clone()),
            actor: "stripe".into(),
            action: action.into(),
            target: inv["id"].as_str().unwrap_or_default().to_owned(),
            source: "webhook".into(),
            detail: kind.to_owned(),
        };
        state.store.append_audit(&[event]).await?;
        info!(%tenant, status = standing.as_str(), "billing changed the organization's standing");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(t: i64, body: &str, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("t={t},v1={hex}")
    }

    #[test]
    fn invoices_never_move_back() {
        assert!(progress("paid") > progress("open"));
        assert!(progress("payment_failed") > progress("open"));
        assert!(progress("void") > progress("payment_failed"));
        assert!(progress("open") > progress("draft"));
    }

    #[test]
    fn signatures_are_checked_with_the_secret_and_the_time() {
        let h = sign(1000, "{}", "whsec_a");
        assert!(verify(&h, b"{}", "whsec_a", 1010).is_ok());
        assert!(verify(&h, b"{ }", "whsec_a", 1010).is_err(), "another body");
        assert!(
            verify(&h, b"{}", "whsec_b", 1010).is_err(),
            "another secret"
        );
        assert!(verify(&h, b"{}", "whsec_a", 2000).is_err(), "too old");
        assert!(
            verify("v1=00", b"{}", "whsec_a", 1000).is_err(),
            "no timestamp"
        );
    }
}
