//! Prometheus metrics of the control plane: request latency and status by route, billing
//! runs, Stripe calls and their errors.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The labels of a request: its route template (not its path, so ids do not multiply
/// series), method and status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route, such as `/api/v1/orgs/{org}/topics`, or `unmatched`.
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// The response status.
    pub status: u16,
}

/// The labels of a Stripe call: its operation and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StripeLabels {
    /// Such as `invoiceitem.create`.
    pub op: &'static str,
    /// `ok` or `error`.
    pub result: &'static str,
}

/// The label of a billing run's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RunLabels {
    /// `ok` or `error`.
    pub result: &'static str,
}

/// Every metric of the control plane.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    stripe_calls: Family<StripeLabels, Counter>,
    billing_runs: Family<RunLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("streamhouse_control_plane");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route, method and status",
            latency.clone(),
        );
        let stripe_calls = Family::<StripeLabels, Counter>::default();
        registry.register(
            "stripe_calls",
            "Calls to the Stripe API, by operation and result",
            stripe_calls.clone(),
        );
        let billing_runs = Family::<RunLabels, Counter>::default();
        registry.register(
            "billing_runs",
            "Runs of the billing job on this replica (while it holds the billing lease)",
            billing_runs.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            stripe_calls,
            billing_runs,
        }
    }
}

fn result(ok: bool) -> &'static str {
    if ok { "ok" } else { "error" }
}

impl Metrics {
    /// Counts a Stripe call.
    pub fn stripe_call(&self, op: &'static str, ok: bool) {
        let labels = StripeLabels {
            op,
            result: result(ok),
        };
        self.stripe_calls.get_or_create(&labels).inc();
    }

    /// Counts a billing run.
    pub fn billing_run(&self, ok: bool) {
        let labels = RunLabels { result: result(ok) };
        self.billing_runs.get_or_create(&labels).inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware counting and timing every request.
pub async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await.into_response();
    let labels = RequestLabels {
        route,
        method,
        status: response.status().as_u16(),
    };
    m.requests.get_or_create(&labels).inc();
    m.latency
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    response
}
