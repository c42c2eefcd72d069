//! StreamHouse metadata store and lease manager on PostgreSQL (kind `postgres`) and Aurora
//! PostgreSQL (kind `aurora`: a writer endpoint for writes and a reader endpoint for
//! read-only queries).
//!
//! One module per concern, the same set as the SQLite backend: `store` (the struct and how a
//! query reaches the server), `pool` (connecting, IAM tokens), `migrate`, `error` (SQLSTATE
//! codes), and one per trait: `topics`, `index`, `offsets`, `leases`, `cluster`, `tenancy`,
//! `accounts`, `usage`, `billing`.
//!
//! Every query is a file in `queries/<module>/`, included with `include_str!`. Only
//! transaction control (`BEGIN`, `COMMIT`) and the `SET LOCAL` of the configured timeouts
//! behind a transaction pooler, which carries numbers from the config, are written in Rust. Bulk work — the index rows and high watermarks of
//! a flush covering a thousand partitions — is one statement over `UNNEST`ed arrays, so no
//! query text depends on the data; a query builder such as `sea-query` would add a
//! dependency without removing a line of string building. Fencing happens inside the
//! commit's transaction: partition and lease rows are locked, then checked by the rule in
//! `streamhouse_core::fencing`, before any index row is written.
//!
//! Behind PgBouncer in transaction mode set `transaction_pooler = true`: statements are then
//! sent unnamed (PgBouncer before 1.21 cannot route named prepared statements) and nothing
//! relies on session state.

mod accounts;
mod billing;
mod cluster;
mod config;
mod error;
#[cfg(feature = "aurora-iam")]
pub mod iam;
mod index;
mod leases;
mod lifecycle;
mod migrate;
mod offsets;
mod pool;
mod store;
mod tenancy;
#[cfg(feature = "testing")]
pub mod testing;
mod topics;
mod usage;

pub use config::PostgresConfig;
pub use store::PostgresMetadataStore;

use futures::future::BoxFuture;
use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::{BuildError, MetadataBackend, MetadataParts};

fn options(section: &BackendSection) -> Result<PostgresConfig, BuildError> {
    let cfg: PostgresConfig = section.options()?;
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

fn build(section: BackendSection) -> BoxFuture<'static, Result<MetadataParts, BuildError>> {
    Box::pin(async move {
        let store = PostgresMetadataStore::connect(&options(&section)?).await?;
        Ok(MetadataParts::shared(store))
    })
}

fn migrate(section: BackendSection) -> BoxFuture<'static, Result<(), BuildError>> {
    Box::pin(async move { PostgresMetadataStore::migrate_only(&options(&section)?).await })
}

fn check(section: &BackendSection) -> Result<(), BuildError> {
    options(section).map(drop)
}

inventory::submit! {
    MetadataBackend { kind: "postgres", build, migrate, admin: build, check }
}

inventory::submit! {
    MetadataBackend { kind: "aurora", build, migrate, admin: build, check }
}
