//! The StreamHouse control plane: organizations, users and their roles, API keys, topics,
//! consumer groups, quotas and the audit log, over a JSON REST API described by an OpenAPI
//! 3.1 document.
//!
//! It keeps nothing of its own: everything is in the metadata store the agents use (the same
//! `[metadata]` section), so any number of replicas serve the same answers, and a key created
//! here authenticates on every agent at once. Modules: `config`, `auth` (sessions, CSRF,
//! keys, roles), `routes` (one module per resource), `agents` (reads for the message
//! browser), `dashboard` (the embedded web app), `metrics`, `error`.

pub mod agents;
pub mod auth;
pub mod billing;
pub mod config;
pub mod dashboard;
pub mod dev;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod state;

// Backends register themselves with `inventory`, which only sees linked crates.
#[cfg(feature = "metadata-postgres")]
use streamhouse_metadata_postgres as _;
#[cfg(feature = "metadata-sqlite")]
use streamhouse_metadata_sqlite as _;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use streamhouse_core::registry::admin_metadata;
use tokio::net::TcpListener;

use crate::agents::Agents;
use crate::auth::SignInLimiter;
use crate::billing::Billing;
use crate::billing::stripe::Stripe;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::{AppState, Shared};

/// Opens the metadata store the config names. On SQLite it opens beside a running agent
/// (the agent holds the file's lock; the control plane's few short transactions wait their
/// turn for SQLite's write lock).
pub async fn open_state(config: Config) -> anyhow::Result<Shared> {
    let parts = admin_metadata(config.metadata.clone())
        .await
        .context("cannot open the metadata store")?;
    let secret = config.agents.cluster_secret()?;
    let metrics = Arc::new(Metrics::default());
    let billing = config.stripe.resolved()?.map(|cfg| {
        let stripe = Stripe::new(&cfg.api_base, cfg.api_key.clone(), metrics.clone());
        Arc::new(Billing::new(
            parts.store.clone(),
            parts.leases.clone(),
            stripe,
            cfg,
            metrics.clone(),
        ))
    });
    Ok(Arc::new(AppState {
        store: parts.store,
        limiter: SignInLimiter::new(config.control_plane.sign_in_attempts_per_minute),
        agents: Agents::new(secret),
        metrics,
        billing,
        config,
    }))
}

/// Serves the API until `shutdown` completes.
pub async fn serve(
    state: Shared,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let Some(billing) = &state.billing {
        tokio::spawn(billing.clone().run());
    }
    let app = routes::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the HTTP server failed")
}
