//! The web dashboard: the single-page app built from `control-plane/web` (Vite) into
//! `web/dist`, embedded in the binary, so the binary alone serves it. Every GET outside the
//! API answers with the app's `index.html` (the app routes in the browser); its hashed assets
//! are cached for good. Built without the assets, the page says how to build them.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::config::StripeConfig;
use crate::error::ApiError;
use crate::state::Shared;

/// The built dashboard, when `web/dist` existed at build time.
#[derive(RustEmbed)]
#[folder = "web/dist"]
#[allow_missing = true]
struct Assets;

/// What the page says when the assets were not built into this binary.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>StreamHouse</title></head><body><main><h1>The dashboard was not built</h1>\
<p>This control plane serves its REST API at <a href=\"/api/v1/openapi.json\">/api/v1</a>, \
but its binary holds no dashboard. Build the dashboard's assets, then the binary:</p>\
<pre>scripts/build-dashboard.sh\ncargo build --release</pre></main></body></html>";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The scheme, host and port of a URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest
        .find('/')
        .map_or(url.len(), |i| url.len() - rest.len() + i);
    Some(&url[..end])
}

/// The content security policy: this origin only, but for Stripe.js when the card form is on
/// (its script, its frames, and its calls to the API).
fn policy(stripe: Option<&StripeConfig>) -> String {
    let mut p = String::from(
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'",
    );
    if let Some(s) = stripe.filter(|s| !s.publishable_key.is_empty()) {
        let js = origin(&s.js_url).unwrap_or("https://js.stripe.com");
        let api = origin(&s.api_base).unwrap_or("https://api.stripe.com");
        p.push_str(&format!(
            "; script-src 'self' {js}; frame-src {js} https://hooks.stripe.com; \
             connect-src 'self' {js} {api}"
        ));
    }
    p
}

/// Headers every dashboard response carries: no framing, no sniffing, scripts and styles
/// from this origin (and Stripe's) only.
fn secure(headers: &mut HeaderMap, stripe: Option<&StripeConfig>) {
    if let Ok(v) = HeaderValue::try_from(policy(stripe)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// Serves the dashboard for GETs outside the API; anything else is the API's JSON 404.
pub async fn serve(State(state): State<Shared>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let api = path.starts_with("/api/") || path == "/api";
    if api || !(method == Method::GET || method == Method::HEAD) {
        return ApiError::not_found("no such route; the API is described at /api/v1/openapi.json")
            .into_response();
    }
    let (file, immutable) = match path
        .strip_prefix('/')
        .and_then(|p| Assets::get(p).map(|f| (p, f)))
    {
        Some((p, f)) if !p.is_empty() => (Some((p.to_owned(), f)), p.starts_with("assets/")),
        _ => (
            Assets::get("index.html").map(|f| ("index.html".to_owned(), f)),
            false,
        ),
    };
    let mut response = match file {
        Some((name, f)) => (
            [(header::CONTENT_TYPE, content_type(&name))],
            f.data.into_owned(),
        )
            .into_response(),
        None if path.starts_with("/assets/") => StatusCode::NOT_FOUND.into_response(),
        None => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response(),
    };
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        // index.html names the current assets: always ask again.
        "no-cache"
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    secure(headers, state.billing.as_ref().map(|b| &b.cfg));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_admits_stripe_only_with_a_card_form() {
        assert!(!policy(None).contains("script-src"));
        let mut s = StripeConfig::default();
        assert!(
            !policy(Some(&s)).contains("script-src"),
            "no publishable key, no form"
        );
        s.publishable_key = "pk_test_1".into();
        let p = policy(Some(&s));
        assert!(
            p.contains("script-src 'self' https://js.stripe.com;"),
            "{p}"
        );
        assert!(
            p.contains("connect-src 'self' https://js.stripe.com https://api.stripe.com"),
            "{p}"
        );
        assert_eq!(
            origin("http://127.0.0.1:8420/js.stripe.com/v3/"),
            Some("http://127.0.0.1:8420")
        );
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("assets/index-1.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x"), "application/octet-stream");
    }
}
