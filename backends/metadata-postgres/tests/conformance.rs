//! The core metadata and lease conformance suites on a real PostgreSQL server: directly,
//! through PgBouncer in transaction pooling mode, and split into writer and reader endpoints
//! as on Aurora. Each test gets a fresh database.
//!
//! `scripts/services.sh` starts both and exports `STREAMHOUSE_TEST_POSTGRES_URL` and
//! `STREAMHOUSE_TEST_PGBOUNCER_URL`; without them these tests fail rather than skip.

use streamhouse_core::registry::MetadataParts;
use streamhouse_metadata_postgres::testing::{fresh_database, service_url, with_database};
use streamhouse_metadata_postgres::{PostgresConfig, PostgresMetadataStore};

#[derive(Clone, Copy)]
enum Route {
    Direct,
    PgBouncer,
    /// Aurora's split: writes to the writer endpoint, reads to the reader endpoint (here
    /// PgBouncer in front of the same database, so the two pools really differ).
    ReaderWriter,
}

async fn make(route: Route) -> (MetadataParts, ()) {
    let via = match route {
        Route::PgBouncer => "STREAMHOUSE_TEST_PGBOUNCER_URL",
        Route::Direct | Route::ReaderWriter => "STREAMHOUSE_TEST_POSTGRES_URL",
    };
    let url = fresh_database(via).await;
    let reader_url = matches!(route, Route::ReaderWriter).then(|| {
        let db = url.rsplit_once('/').expect("db").1;
        with_database(&service_url("STREAMHOUSE_TEST_PGBOUNCER_URL"), db)
    });
    let cfg = PostgresConfig {
        url,
        reader_url,
        // The reader goes through PgBouncer, so both pools run in pooler mode.
        transaction_pooler: !matches!(route, Route::Direct),
        ..PostgresConfig::default()
    };
    let store = PostgresMetadataStore::connect(&cfg).await.expect("connect");
    (MetadataParts::shared(store), ())
}

mod direct {
    streamhouse_core::metadata_conformance!(super::make(super::Route::Direct));
}

mod pgbouncer {
    streamhouse_core::metadata_conformance!(super::make(super::Route::PgBouncer));
}

mod aurora_reader_writer {
    streamhouse_core::metadata_conformance!(super::make(super::Route::ReaderWriter));
}
