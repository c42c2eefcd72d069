//! Test helpers: fresh databases on the servers `scripts/services.sh` starts.

use sqlx::{Connection, Executor};

/// The value of a test-service variable; panics (no skip) with how to set it.
pub fn service_url(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/test.sh, or `source scripts/services.sh` first")
    })
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("URL with a database");
    format!("{base}/{db}")
}

/// Creates an empty database on the test server and returns its URL through `via`, the
/// variable holding the direct (`STREAMHOUSE_TEST_POSTGRES_URL`) or the PgBouncer
/// (`STREAMHOUSE_TEST_PGBOUNCER_URL`) address.
pub async fn fresh_database(via: &str) -> String {
    let direct = service_url("STREAMHOUSE_TEST_POSTGRES_URL");
    let db = format!("sh_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&direct)
        .await
        .expect("connect to the test PostgreSQL");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create database");
    with_database(&service_url(via), &db)
}
