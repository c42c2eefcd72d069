//! What every handler shares, and the JSON body extractor whose errors are the API's.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use streamhouse_core::MetadataStore;
use streamhouse_core::TenantId;
use streamhouse_core::tenancy::AuditEvent;

use crate::agents::Agents;
use crate::auth::{Caller, SignInLimiter};
use crate::billing::Billing;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;

/// The control plane's state.
#[derive(Debug)]
pub struct AppState {
    /// The metadata store, shared with the agents.
    pub store: Arc<dyn MetadataStore>,
    /// The configuration.
    pub config: Config,
    /// Sign-in attempts.
    pub limiter: SignInLimiter,
    /// Calls to agents.
    pub agents: Agents,
    /// Request and job metrics.
    pub metrics: Arc<Metrics>,
    /// Stripe billing, when configured.
    pub billing: Option<Arc<Billing>>,
}

/// The state as handlers receive it.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Records a change in the audit log; a failure to record fails the request, since an
    /// unaudited change must not be reported as done.
    pub async fn audit(
        &self,
        who: &str,
        org: Option<&TenantId>,
        action: &str,
        target: &str,
        source: &str,
        detail: String,
    ) -> ApiResult<()> {
        let event = AuditEvent {
            at_ms: streamhouse_core::clock::now_ms(),
            tenant: org.cloned(),
            actor: who.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            source: source.to_owned(),
            detail,
        };
        self.store
            .append_audit(&[event])
            .await
            .map_err(ApiError::from)
    }

    /// [`Self::audit`] for a caller's change in an organization.
    pub async fn audit_change(
        &self,
        caller: &Caller,
        org: &TenantId,
        action: &str,
        target: &str,
        source: &str,
    ) -> ApiResult<()> {
        self.audit(
            &caller.actor(),
            Some(org),
            action,
            target,
            source,
            String::new(),
        )
        .await
    }
}

/// A JSON request body; a body that does not parse is a JSON error naming what is wrong
/// (400), one too large is 413, one that is not JSON 415.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Body(v))
    }
}
