//! The core metadata and lease conformance suites on a fresh SQLite file per test.

use std::sync::Arc;

use streamhouse_core::registry::MetadataParts;
use streamhouse_metadata_sqlite::{SqliteConfig, SqliteMetadataStore};

async fn make() -> (MetadataParts, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SqliteConfig {
        path: dir.path().join("meta.db"),
        ..SqliteConfig::default()
    };
    let store = Arc::new(SqliteMetadataStore::open(&cfg).await.unwrap());
    (
        MetadataParts {
            store: store.clone(),
            leases: store,
        },
        dir,
    )
}

streamhouse_core::metadata_conformance!(make());
