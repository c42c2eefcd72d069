//! StreamHouse metadata store and lease manager on embedded SQLite: the development default.
//!
//! One file holds topics, the offset index, consumer-group offsets and partition leases. It
//! serves one agent process; clusters use the PostgreSQL backend.

mod config;
mod error;
mod store;

pub use config::SqliteConfig;
pub use store::SqliteMetadataStore;

use std::sync::Arc;

use streamhouse_core::config::BackendSection;
use streamhouse_core::registry::{BuildError, MetadataBackend, MetadataParts};

inventory::submit! {
    MetadataBackend {
        kind: "sqlite",
        build: |section: BackendSection| Box::pin(async move {
            let cfg: SqliteConfig = section.options().map_err(|e| BuildError(e.to_string()))?;
            let store = Arc::new(SqliteMetadataStore::open(&cfg).await?);
            Ok(MetadataParts { store: store.clone(), leases: store })
        }),
        // Opening the database runs the migrations.
        migrate: |section: BackendSection| Box::pin(async move {
            let cfg: SqliteConfig = section.options().map_err(|e| BuildError(e.to_string()))?;
            SqliteMetadataStore::open(&cfg).await.map(drop)
        }),
    }
}
