//! Admission to the gRPC API, in front of decoding: server-wide limits on the requests served
//! at once and on the request bytes being received, and the standard status for a request
//! over the message size limit.
//!
//! Both limits are taken before a request's body is read, so requests waiting for them cost
//! only their HTTP/2 stream, and flow control holds their senders back. A request's bytes
//! are charged in one piece, from the length in its gRPC message header, before any of them
//! is buffered: requests never hold part of the budget while waiting for the rest, so they
//! cannot deadlock. The charge lasts until the request is decoded; the broker then charges
//! produced records to the writer's buffer budget. Health checks and reflection bypass both,
//! so a busy agent still answers its probes. Fetches have `agent.max_concurrent_requests`
//! slots of their own, so long-polls waiting at the end of the log never keep produces out. A
//! subscription holds a slot only until its stream starts; the broker limits streams
//! separately (`agent.max_subscriptions`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;
use tokio::sync::Semaphore;
use tonic::body::Body;
use tower::{Layer, Service};

use self::body::ChargedBody;
pub use self::body::DecodeCharge;

/// Path prefix of the StreamHouse API's methods.
const API_PREFIX: &str = "/streamhouse.v1.";
/// Path of the produce method, whose decoded size is charged before decoding.
const PRODUCE_PATH: &str = "/streamhouse.v1.StreamHouse/Produce";
/// Path of the fetch method, which has slots of its own.
const FETCH_PATH: &str = "/streamhouse.v1.StreamHouse/Fetch";

/// Adds [`Admission`] to a server.
#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    slots: Arc<Semaphore>,
    /// Fetches have slots of their own: long-polls waiting at the end of the log must not
    /// keep produces out.
    fetch_slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_request_bytes: usize,
    max_message_bytes: usize,
    writer_budget: Arc<Semaphore>,
    max_buffered_bytes: usize,
    request: RequestLimits,
}

/// How many records and headers one produce request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Records per produce request.
    pub max_records_per_request: usize,
    /// Headers per produce request, over all its records.
    pub max_headers_per_request: usize,
}

impl RequestLimits {
    /// Refuses counts over the limits, naming the setting to raise.
    pub fn check(&self, records: usize, headers: usize) -> Result<(), String> {
        if records > self.max_records_per_request {
            return Err(format!(
                "the request carries {records} records; the limit is {} \
                 (agent.max_records_per_request): split it",
                self.max_records_per_request
            ));
        }
        if headers > self.max_headers_per_request {
            return Err(format!(
                "the request carries {headers} record headers; the limit is {} \
                 (agent.max_headers_per_request): split it",
                self.max_headers_per_request
            ));
        }
        Ok(())
    }
}

/// What admission limits.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionLimits {
    /// API requests served at once.
    pub max_concurrent_requests: usize,
    /// Bytes of request messages received and decoded at once.
    pub max_request_bytes_in_flight: usize,
    /// The size limit the server decodes with, named in the status of a request over it.
    pub max_message_bytes: usize,
    /// Records and headers of a produce request, counted before it is decoded.
    pub request: RequestLimits,
}

impl AdmissionLayer {
    /// Admission within `limits`; produce messages are charged to the writer's buffer
    /// budget (`writer_budget`, of `max_buffered_bytes`) before they are decoded.
    pub fn new(
        limits: AdmissionLimits,
        writer_budget: Arc<Semaphore>,
        max_buffered_bytes: usize,
    ) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            fetch_slots: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            bytes: Arc::new(Semaphore::new(limits.max_request_bytes_in_flight)),
            max_request_bytes: limits.max_request_bytes_in_flight,
            max_message_bytes: limits.max_message_bytes,
            writer_budget,
            max_buffered_bytes,
            request: limits.request,
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Admission<S> {
        Admission {
            inner,
            layer: self.clone(),
        }
    }
}

/// The admission service around the server's routes.
#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    layer: AdmissionLayer,
}

impl<S, R> Service<http::Request<Body>> for Admission<S>
where
    S: Service<http::Request<Body>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // The clone is not ready; the instance `poll_ready` prepared serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.layer.max_message_bytes;
        if !req.uri().path().starts_with(API_PREFIX) {
            return Box::pin(inner.call(req));
        }
        let layer = self.layer.clone();
        let produce = (req.uri().path() == PRODUCE_PATH).then(DecodeCharge::default);
        let fetch = req.uri().path() == FETCH_PATH;
        let (mut parts, body) = req.into_parts();
        if let Some(charge) = &produce {
            parts.extensions.insert(charge.clone());
        }
        let body = Body::new(ChargedBody::new(body, layer.clone(), produce));
        let req = http::Request::from_parts(parts, body);
        Box::pin(async move {
            let slots = if fetch {
                &layer.fetch_slots
            } else {
                &layer.slots
            };
            let _slot = slots.clone().acquire_owned().await.expect("never closed");
            let mut resp = inner.call(req).await?;
            resource_exhausted_when_too_large(resp.headers_mut(), limit);
            Ok(resp)
        })
    }
}

/// tonic refuses a request over the decoding limit with `OUT_OF_RANGE`; gRPC's convention
/// (and what clients retry differently) is `RESOURCE_EXHAUSTED`, with the limit named.
fn resource_exhausted_when_too_large(headers: &mut http::HeaderMap, limit: usize) {
    const OUT_OF_RANGE: &str = "11";
    const RESOURCE_EXHAUSTED: HeaderValue = HeaderValue::from_static("8");
    if headers.get("grpc-status").is_none_or(|v| v != OUT_OF_RANGE) {
        return;
    }
    let Some(message) = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    else {
        return;
    };
    let Some(found) = message
        .strip_prefix("Error, decoded message length too large: found ")
        .and_then(|rest| rest.split(' ').next())
    else {
        return;
    };
    let text = format!(
        "the request is {found} bytes; this agent accepts messages up to {limit} bytes \
         (agent.max_message_bytes): split it"
    );
    let encoded = percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    headers.insert("grpc-status", RESOURCE_EXHAUSTED);
    if let Ok(v) = HeaderValue::from_str(&encoded) {
        headers.insert("grpc-message", v);
    }
}

mod body;

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(status: &str, message: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", HeaderValue::from_str(status).unwrap());
        let m = percent_encoding::utf8_percent_encode(message, percent_encoding::CONTROLS)
            .to_string()
            .replace(' ', "%20");
        h.insert("grpc-message", HeaderValue::from_str(&m).unwrap());
        h
    }

    #[test]
    fn oversized_requests_become_resource_exhausted_with_the_limit() {
        let mut h = headers(
            "11",
            "Error, decoded message length too large: found 70000000 bytes, the limit is: 67108864 bytes",
        );
        resource_exhausted_when_too_large(&mut h, 67108864);
        assert_eq!(h["grpc-status"], "8");
        let m = percent_encoding::percent_decode_str(h["grpc-message"].to_str().unwrap())
            .decode_utf8()
            .unwrap()
            .into_owned();
        assert_eq!(
            m,
            "the request is 70000000 bytes; this agent accepts messages up to 67108864 bytes \
             (agent.max_message_bytes): split it"
        );
    }

    #[test]
    fn request_limits_name_the_setting() {
        let limits = RequestLimits {
            max_records_per_request: 10,
            max_headers_per_request: 20,
        };
        assert!(limits.check(10, 20).is_ok());
        assert!(
            limits
                .check(11, 0)
                .unwrap_err()
                .contains("agent.max_records_per_request")
        );
        assert!(
            limits
                .check(1, 21)
                .unwrap_err()
                .contains("agent.max_headers_per_request")
        );
    }

    #[test]
    fn other_statuses_are_left_alone() {
        for (status, message) in [
            ("11", "offset 9 is outside partition 0"),
            (
                "3",
                "Error, decoded message length too large: found 1 bytes",
            ),
        ] {
            let mut h = headers(status, message);
            let before = h.clone();
            resource_exhausted_when_too_large(&mut h, 10);
            assert_eq!(h, before);
        }
    }
}
