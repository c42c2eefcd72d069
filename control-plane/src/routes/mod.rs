//! The HTTP API: `/api/v1` (JSON, described by the OpenAPI document at
//! `/api/v1/openapi.json`), `/healthz`, `/readyz` and `/metrics`.

pub mod account;
pub mod billing;
pub mod keys;
pub mod orgs;
pub mod topics;
pub mod usage;

use axum::Json;
use axum::Router;
use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use streamhouse_core::TenantId;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::Shared;

/// The API's OpenAPI 3.1 document, generated from the handlers and their types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "StreamHouse control plane",
        description = "Organizations, users, API keys, topics, consumer groups, quotas and the \
                       audit log of a StreamHouse deployment. Programs authenticate with an \
                       API key (`authorization: Bearer shk_...`); the dashboard with a session \
                       cookie, repeating its CSRF token in `x-csrf-token` on every change."
    ),
    paths(
        account::sign_up, account::sign_in, account::whoami, account::sign_out,
        orgs::list, orgs::get, orgs::update, orgs::members, orgs::add_member,
        orgs::change_member, orgs::remove_member, orgs::quota, usage::usage, orgs::audit,
        orgs::agents,
        orgs::assign_group,
        keys::list, keys::create, keys::revoke, keys::rotate,
        topics::list, topics::create, topics::describe, topics::update, topics::delete,
        topics::messages, topics::groups,
        billing::get, billing::payment_method, crate::billing::webhook::receive,
    ),
    modifiers(&Security, &CommonErrors),
    security(("api_key" = []), ("session" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("shk_<id>_<secret>")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// The errors any operation may answer with, added to each: a request that does not parse
/// (400), no or a revoked credential (401), the metadata store down (503), and for bodies one
/// too large (413) or not JSON (415).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = path == "/api/v1/signup"
                || path == "/api/v1/openapi.json"
                || path == "/api/v1/stripe/webhook";
            for (method, op) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                let Some(op) = op else { continue };
                let signing_in = path == "/api/v1/session" && method == "post";
                let mut add = |code: &str, what: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| error(what).into());
                };
                add("400", "The request does not parse or a value is invalid");
                if !public && !signing_in {
                    add("401", "No credential, or one that is not valid");
                }
                add(
                    "503",
                    "The metadata store is unavailable; try again shortly",
                );
                if op.request_body.is_some() {
                    add(
                        "413",
                        "The body is larger than control_plane.max_body_bytes",
                    );
                    add(
                        "415",
                        "The body is not JSON (content-type: application/json)",
                    );
                }
            }
        }
    }
}

/// Every route of the control plane.
pub fn router(state: Shared) -> Router {
    let max_body = state.config.control_plane.max_body_bytes;
    // Every route under an organization checks first that the caller may see it, so that
    // another organization's routes answer 404 before any body is read.
    let org_routes = Router::new()
        .route("/orgs/{org}", get(orgs::get).patch(orgs::update))
        .route(
            "/orgs/{org}/members",
            get(orgs::members).post(orgs::add_member),
        )
        .route(
            "/orgs/{org}/members/{user}",
            axum::routing::patch(orgs::change_member).delete(orgs::remove_member),
        )
        .route("/orgs/{org}/quota", get(orgs::quota))
        .route("/orgs/{org}/usage", get(usage::usage))
        .route("/orgs/{org}/audit", get(orgs::audit))
        .route("/orgs/{org}/agent-group", put(orgs::assign_group))
        .route("/orgs/{org}/keys", get(keys::list).post(keys::create))
        .route("/orgs/{org}/keys/{id}", axum::routing::delete(keys::revoke))
        .route("/orgs/{org}/keys/{id}/rotate", post(keys::rotate))
        .route("/orgs/{org}/topics", get(topics::list).post(topics::create))
        .route(
            "/orgs/{org}/topics/{topic}",
            get(topics::describe)
                .patch(topics::update)
                .delete(topics::delete),
        )
        .route(
            "/orgs/{org}/topics/{topic}/partitions/{partition}/messages",
            get(topics::messages),
        )
        .route("/orgs/{org}/groups", get(topics::groups))
        .route("/orgs/{org}/billing", get(billing::get))
        .route(
            "/orgs/{org}/billing/payment-method",
            post(billing::payment_method),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            org_guard,
        ));
    let api = Router::new()
        .route("/signup", post(account::sign_up))
        .route(
            "/session",
            post(account::sign_in)
                .get(account::whoami)
                .delete(account::sign_out),
        )
        .route("/orgs", get(orgs::list))
        .route("/agents", get(orgs::agents))
        .route("/openapi.json", get(openapi))
        .route("/stripe/webhook", post(crate::billing::webhook::receive))
        .merge(org_routes);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(crate::dashboard::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
}

/// Refuses, as not found, every request for an organization the caller may not see.
async fn org_guard(
    State(state): State<Shared>,
    caller: Caller,
    Path(params): Path<HashMap<String, String>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(org) = params.get("org") else {
        return next.run(req).await;
    };
    let checked = match orgs::org_id(org) {
        Ok(org) => caller.role_in(&state, &org).await.map(|role| (org, role)),
        Err(e) => Err(e),
    };
    match checked {
        Ok((org, role)) => {
            // The handler takes this caller, role included, without asking the store again.
            let mut req = req;
            req.extensions_mut().insert(caller.with_role(org, role));
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Ready when the metadata store answers a query.
async fn ready(State(state): State<Shared>) -> Response {
    match state.store.tenant_group(&TenantId::default_tenant()).await {
        Ok(_) => "ready".into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the metadata store does not answer: {e}"),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Shared>) -> Response {
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see /api/v1/openapi.json",
    )
}
