//! The core metadata and lease conformance suites on a real PostgreSQL server, once directly
//! and once through PgBouncer in transaction pooling mode. Each test gets a fresh database.
//!
//! `scripts/services.sh` starts both and exports `STREAMHOUSE_TEST_POSTGRES_URL` and
//! `STREAMHOUSE_TEST_PGBOUNCER_URL`; without them these tests fail rather than skip.

use sqlx::{Connection, Executor};
use streamhouse_core::registry::MetadataParts;
use streamhouse_metadata_postgres::{PostgresConfig, PostgresMetadataStore};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/test.sh, or `source scripts/services.sh` first")
    })
}

/// `url` with its database replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("URL with a database");
    format!("{base}/{db}")
}

/// A new empty database, reached through `via` (the direct or the PgBouncer URL).
pub async fn fresh_database(via: &str) -> String {
    let direct = var("STREAMHOUSE_TEST_POSTGRES_URL");
    let db = format!("sh_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&direct)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create database");
    with_database(&var(via), &db)
}

async fn make(pooler: bool) -> (MetadataParts, ()) {
    let via = if pooler {
        "STREAMHOUSE_TEST_PGBOUNCER_URL"
    } else {
        "STREAMHOUSE_TEST_POSTGRES_URL"
    };
    let cfg = PostgresConfig {
        url: fresh_database(via).await,
        transaction_pooler: pooler,
        ..PostgresConfig::default()
    };
    let store = std::sync::Arc::new(PostgresMetadataStore::connect(&cfg).await.expect("connect"));
    (
        MetadataParts {
            store: store.clone(),
            leases: store,
        },
        (),
    )
}

mod direct {
    streamhouse_core::metadata_conformance!(super::make(false));
}

mod pgbouncer {
    streamhouse_core::metadata_conformance!(super::make(true));
}
