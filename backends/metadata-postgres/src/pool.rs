//! Connection pools: connect options (statement timeouts, a pooler's restrictions), waiting
//! for a server that is starting, and RDS IAM tokens that the pool keeps fresh.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use streamhouse_core::registry::BuildError;
use tracing::warn;

use crate::config::PostgresConfig;
use crate::error::{connect_retriable, permanent_hint};

/// `host:port/database as user`, for messages: never the password.
fn describe(o: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{} as {}",
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("(default database)"),
        o.get_username()
    )
}

fn connect_options(
    url: &str,
    cfg: &PostgresConfig,
    what: &str,
) -> Result<PgConnectOptions, BuildError> {
    let mut o = url
        .parse::<PgConnectOptions>()
        .map_err(|e| {
            BuildError(format!(
                "[metadata] {what} is not a valid PostgreSQL URL: {e}"
            ))
        })?
        .application_name("streamhouse-agent");
    if cfg.transaction_pooler {
        // A transaction pooler may hand each transaction a different server connection:
        // nothing may be prepared or set per session.
        o = o.statement_cache_capacity(0);
    } else {
        o = o.options([
            (
                "statement_timeout",
                format!("{}ms", cfg.statement_timeout_ms),
            ),
            (
                "idle_in_transaction_session_timeout",
                format!("{}ms", idle_in_transaction_ms(cfg)),
            ),
        ]);
    }
    Ok(o)
}

/// How long the server lets a transaction sit idle before ending its session. An agent
/// frozen mid-commit (a long GC-like pause, SIGSTOP) would otherwise hold its partition and
/// lease row locks, and so block the agent taking over, for as long as it stays frozen.
pub(crate) fn idle_in_transaction_ms(cfg: &PostgresConfig) -> u64 {
    cfg.idle_in_transaction_timeout_ms
}

/// Opens a pool for `url`: with `iam_auth`, signs a token as the password and keeps the pool
/// supplied with fresh ones.
pub(crate) async fn open_pool(
    url: &str,
    what: &str,
    cfg: &PostgresConfig,
) -> Result<PgPool, BuildError> {
    let opts = connect_options(url, cfg, what)?;
    if !cfg.iam_auth {
        return open_pool_with(opts, cfg).await;
    }
    #[cfg(feature = "aurora-iam")]
    {
        let tokens = crate::iam::RdsTokenGenerator::from_environment(
            cfg.region.clone(),
            opts.get_host(),
            opts.get_port(),
            opts.get_username(),
        )
        .await?;
        let pool = open_pool_with(opts.clone().password(&tokens.token().await?), cfg).await?;
        let refreshed = pool.clone();
        tokio::spawn(async move {
            while !refreshed.is_closed() {
                tokio::time::sleep(crate::iam::REFRESH_EVERY).await;
                match tokens.token().await {
                    // Only connections opened from now on use it; open ones stay valid.
                    Ok(t) => refreshed.set_connect_options(opts.clone().password(&t)),
                    Err(e) => warn!("cannot refresh the RDS IAM token: {e}"),
                }
            }
        });
        Ok(pool)
    }
    #[cfg(not(feature = "aurora-iam"))]
    Err(BuildError(
        "[metadata] iam_auth needs a binary built with `--features aurora-iam`".into(),
    ))
}

/// Opens a pool, waiting with backoff while the server is unreachable (it may be starting)
/// and failing at once on what a retry cannot fix (credentials, a missing database).
async fn open_pool_with(
    opts: PgConnectOptions,
    cfg: &PostgresConfig,
) -> Result<PgPool, BuildError> {
    let pool = PgPoolOptions::new()
        .max_connections(cfg.max_connections.max(1))
        .acquire_timeout(Duration::from_millis(cfg.acquire_timeout_ms))
        .connect_lazy_with(opts.clone());
    let target = describe(&opts);
    let mut backoff = Duration::from_millis(200);
    loop {
        let e = match pool.acquire().await {
            Ok(_) => return Ok(pool),
            Err(e) => e,
        };
        if let sqlx::Error::Database(db) = &e
            && let Some(hint) = db.code().as_deref().and_then(permanent_hint)
        {
            return Err(BuildError(format!(
                "cannot use PostgreSQL at {target}: {} ({hint})",
                db.message()
            )));
        }
        if !connect_retriable(&e) {
            return Err(BuildError(format!(
                "cannot use PostgreSQL at {target}: {e}"
            )));
        }
        warn!("metadata database {target} is unreachable ({e}); retrying in {backoff:?}");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
