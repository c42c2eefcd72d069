//! The few Stripe API calls billing makes, form-encoded over HTTPS with the secret key, each
//! counted in the control plane's metrics by operation and outcome. Creating calls carry an
//! `Idempotency-Key`, so a retry of one that reached Stripe returns the first result.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::metrics::Metrics;

/// A Stripe call that failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe did not answer (network, timeout); the call may or may not have happened.
    #[error("Stripe did not answer {op}: {message}")]
    Unreachable {
        /// The operation.
        op: &'static str,
        /// What went wrong.
        message: String,
    },
    /// Stripe answered with an error.
    #[error("Stripe refused {op} ({status}): {message}")]
    Refused {
        /// The operation.
        op: &'static str,
        /// The HTTP status.
        status: u16,
        /// Stripe's message.
        message: String,
    },
}

impl StripeError {
    /// Whether Stripe answered 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StripeError::Refused { status: 404, .. })
    }
}

/// `form` as `application/x-www-form-urlencoded`: Stripe's request format.
fn encode(form: &[(&str, String)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    form.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A Stripe API client.
#[derive(Debug, Clone)]
pub struct Stripe {
    http: reqwest::Client,
    base: String,
    key: String,
    metrics: Arc<Metrics>,
}

impl Stripe {
    /// A client of the API at `base` (`https://api.stripe.com`, or localstripe) with `key`.
    pub fn new(base: &str, key: String, metrics: Arc<Metrics>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client with a timeout builds");
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
            metrics,
        }
    }

    /// Sends one request: `form` as the body of a POST, or the query of a GET.
    async fn call(
        &self,
        op: &'static str,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Value, StripeError> {
        let encoded = encode(form);
        let mut req = if method == reqwest::Method::GET {
            let url = format!("{}/v1/{path}?{encoded}", self.base);
            self.http.request(method, &url)
        } else {
            let url = format!("{}/v1/{path}", self.base);
            self.http
                .request(method, &url)
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(encoded)
        }
        .bearer_auth(&self.key);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let result = async {
            let r = req.send().await.map_err(|e| StripeError::Unreachable {
                op,
                message: e.to_string(),
            })?;
            let status = r.status().as_u16();
            let body: Value = r.json().await.map_err(|e| StripeError::Unreachable {
                op,
                message: e.to_string(),
            })?;
            if !(200..300).contains(&status) {
                let message = body["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_owned();
                return Err(StripeError::Refused {
                    op,
                    status,
                    message,
                });
            }
            Ok(body)
        }
        .await;
        self.metrics.stripe_call(op, result.is_ok());
        result
    }

    /// A plan by id; `None` when Stripe has none.
    pub async fn plan(&self, id: &str) -> Result<Option<Value>, StripeError> {
        match self
            .call(
                "plan.get",
                reqwest::Method::GET,
                &format!("plans/{id}"),
                &[],
                None,
            )
            .await
        {
            Err(e) if e.is_not_found() => Ok(None),
            r => r.map(Some),
        }
    }

    /// Creates a monthly plan `id` of `amount` cents, with its product named `name`.
    pub async fn create_plan(
        &self,
        id: &str,
        name: &str,
        amount: u64,
        currency: &str,
    ) -> Result<Value, StripeError> {
        let form = [
            ("id", id.to_owned()),
            ("amount", amount.to_string()),
            ("currency", currency.to_owned()),
            ("interval", "month".to_owned()),
            ("product[name]", name.to_owned()),
        ];
        let key = format!("streamhouse-plan-{id}");
        self.call(
            "plan.create",
            reqwest::Method::POST,
            "plans",
            &form,
            Some(&key),
        )
        .await
    }

    /// Creates the customer of organization `tenant`.
    pub async fn create_customer(
        &self,
        tenant: &str,
        name: &str,
        email: &str,
    ) -> Result<Value, StripeError> {
        let mut form = vec![
            ("name", name.to_owned()),
            ("metadata[tenant]", tenant.to_owned()),
        ];
        if !email.is_empty() {
            form.push(("email", email.to_owned()));
        }
        let key = format!("streamhouse-customer-{tenant}");
        self.call(
            "customer.create",
            reqwest::Method::POST,
            "customers",
            &form,
            Some(&key),
        )
        .await
    }

    /// Attaches a card token (from Stripe.js) to a customer as a payment source; the first
    /// becomes its default.
    pub async fn add_source(&self, customer: &str, token: &str) -> Result<Value, StripeError> {
        let form = [("source", token.to_owned())];
        let path = format!("customers/{customer}/sources");
        self.call("source.create", reqwest::Method::POST, &path, &form, None)
            .await
    }

    /// Subscribes a customer to a plan.
    pub async fn create_subscription(
        &self,
        tenant: &str,
        customer: &str,
        plan: &str,
    ) -> Result<Value, StripeError> {
        let form = [
            ("customer", customer.to_owned()),
            ("items[0][plan]", plan.to_owned()),
            ("metadata[tenant]", tenant.to_owned()),
        ];
        let key = format!("streamhouse-subscription-{tenant}-{plan}");
        self.call(
            "subscription.create",
            reqwest::Method::POST,
            "subscriptions",
            &form,
            Some(&key),
        )
        .await
    }

    /// Moves a subscription's item to another plan; Stripe prorates the rest of the period
    /// (its default for an update, so no proration parameter is sent).
    pub async fn change_plan(
        &self,
        subscription: &str,
        item: &str,
        plan: &str,
    ) -> Result<Value, StripeError> {
        let form = [
            ("items[0][id]", item.to_owned()),
            ("items[0][plan]", plan.to_owned()),
        ];
        let path = format!("subscriptions/{subscription}");
        self.call(
            "subscription.update",
            reqwest::Method::POST,
            &path,
            &form,
            None,
        )
        .await
    }

    /// The invoice item of `customer` whose metadata carries `ledger_key`, if any.
    pub async fn find_invoice_item(
        &self,
        customer: &str,
        ledger_key: &str,
    ) -> Result<Option<String>, StripeError> {
        let mut after: Option<String> = None;
        loop {
            let mut form = vec![
                ("customer", customer.to_owned()),
                ("limit", "100".to_owned()),
            ];
            if let Some(a) = &after {
                form.push(("starting_after", a.clone()));
            }
            let page = self
                .call(
                    "invoiceitem.list",
                    reqwest::Method::GET,
                    "invoiceitems",
                    &form,
                    None,
                )
                .await?;
            let items = page["data"].as_array().cloned().unwrap_or_default();
            if let Some(i) = items
                .iter()
                .find(|i| i["metadata"]["ledger_key"].as_str() == Some(ledger_key))
            {
                return Ok(i["id"].as_str().map(str::to_owned));
            }
            let more = page["has_more"].as_bool().unwrap_or(false);
            match items.last().and_then(|i| i["id"].as_str()) {
                Some(last) if more => after = Some(last.to_owned()),
                _ => return Ok(None),
            }
        }
    }

    /// Adds an invoice item to the customer's next invoice.
    pub async fn create_invoice_item(
        &self,
        customer: &str,
        amount: u64,
        currency: &str,
        description: &str,
        ledger_key: &str,
    ) -> Result<String, StripeError> {
        let form = [
            ("customer", customer.to_owned()),
            ("amount", amount.to_string()),
            ("currency", currency.to_owned()),
            ("description", description.to_owned()),
            ("metadata[ledger_key]", ledger_key.to_owned()),
        ];
        let item = self
            .call(
                "invoiceitem.create",
                reqwest::Method::POST,
                "invoiceitems",
                &form,
                Some(&format!("streamhouse-{ledger_key}")),
            )
            .await?;
        Ok(item["id"].as_str().unwrap_or_default().to_owned())
    }
}
