//! StreamHouse metadata store and lease manager on embedded SQLite: the development default.
//!
//! One file holds topics, the offset index, consumer-group offsets and partition leases. It
//! serves one agent process; clusters use the PostgreSQL backend.
//!
//! One module per concern, the same set as the PostgreSQL backend: `store` (the struct and
//! its write transactions), `pool` (opening the file, the lock that admits one process),
//! `migrate`, `error` (SQLite result codes), and one per trait: `topics`, `index`,
//! `offsets`, `leases`, `cluster`, `tenancy`, `accounts`, `usage`, `billing`. Every query is a file in `queries/<module>/`, included
//! with `include_str!`; only transaction control (`BEGIN IMMEDIATE`) is written in Rust. A commit is fenced by the rule in
//! `streamhouse_core::fencing`, checked inside its write transaction.

mod accounts;
mod billing;
mod cluster;
mod config;
mod error;
mod index;
mod leases;
mod lifecycle;
mod migrate;
mod offsets;
mod pool;
mod store;
mod tenancy;
mod topics;
mod usage;

pub use config::SqliteConfig;
pub use store::SqliteMetadataStore;

use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::{MetadataBackend, MetadataParts};

inventory::submit! {
    MetadataBackend {
        kind: "sqlite",
        build: |section: BackendSection| Box::pin(async move {
            let cfg: SqliteConfig = section.options()?;
            Ok(MetadataParts::shared(SqliteMetadataStore::open(&cfg).await?))
        }),
        // Opening the database runs the migrations.
        migrate: |section: BackendSection| Box::pin(async move {
            let cfg: SqliteConfig = section.options()?;
            SqliteMetadataStore::open(&cfg).await.map(drop)
        }),
        admin: |section: BackendSection| Box::pin(async move {
            let cfg: SqliteConfig = section.options()?;
            Ok(MetadataParts::shared(SqliteMetadataStore::open_for_admin(&cfg).await?))
        }),
        check: streamhouse_core::registry::check_options::<SqliteConfig>,
    }
}
