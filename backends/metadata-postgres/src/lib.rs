//! StreamHouse metadata store and lease manager on PostgreSQL (kind `postgres`) and Aurora
//! PostgreSQL (kind `aurora`: a writer endpoint for writes and a reader endpoint for
//! read-only queries).
//!
//! Every query is a fixed SQL file in `queries/`. Bulk work — the index rows and high
//! watermarks of a flush covering a thousand partitions — is one statement over `UNNEST`ed
//! arrays, so no query text depends on the data; a query builder such as `sea-query` would
//! add a dependency without removing a line of string building. Fencing happens inside the
//! commit's transaction: lease rows are locked for share and checked before any index row is
//! written.
//!
//! Behind PgBouncer in transaction mode set `transaction_pooler = true`: statements are then
//! sent unnamed (PgBouncer before 1.21 cannot route named prepared statements) and nothing
//! relies on session state.

mod config;
mod error;
#[cfg(feature = "aurora-iam")]
pub mod iam;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::PostgresConfig;
pub use store::PostgresMetadataStore;

use std::sync::Arc;

use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::{BuildError, MetadataBackend, MetadataParts};

fn parts(store: PostgresMetadataStore) -> MetadataParts {
    let store = Arc::new(store);
    MetadataParts {
        store: store.clone(),
        leases: store,
    }
}

fn options(section: &BackendSection) -> Result<PostgresConfig, BuildError> {
    let cfg: PostgresConfig = section.options().map_err(|e| BuildError(e.to_string()))?;
    if cfg.url.is_empty() {
        return Err(BuildError(format!(
            "[metadata] backend = {:?} needs `url` (or POSTGRES_URL), such as \
             postgres://user:password@host:5432/streamhouse",
            section.backend
        )));
    }
    if cfg.reader_url.is_some() && section.backend != "aurora" {
        return Err(BuildError(
            "[metadata] `reader_url` is for backend = \"aurora\"".into(),
        ));
    }
    Ok(cfg)
}

inventory::submit! {
    MetadataBackend {
        kind: "postgres",
        build: |section| Box::pin(async move {
            Ok(parts(PostgresMetadataStore::connect(&options(&section)?).await?))
        }),
        migrate: |section| Box::pin(async move {
            PostgresMetadataStore::migrate_only(&options(&section)?).await
        }),
    }
}

inventory::submit! {
    MetadataBackend {
        kind: "aurora",
        build: |section| Box::pin(async move {
            Ok(parts(PostgresMetadataStore::connect(&options(&section)?).await?))
        }),
        migrate: |section| Box::pin(async move {
            PostgresMetadataStore::migrate_only(&options(&section)?).await
        }),
    }
}
