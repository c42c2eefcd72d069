//! The metadata and object stores an end-to-end test runs the agent on, as the environment
//! variables that select them: the embedded default, or the real services
//! `scripts/services.sh` starts.

/// The metadata store an end-to-end test runs the agent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metadata {
    /// The embedded default: SQLite in the agent's data directory.
    Sqlite,
    /// The test PostgreSQL server, directly (a fresh database).
    Postgres,
    /// The same server through PgBouncer in transaction pooling mode.
    PgBouncer,
}

impl Metadata {
    /// `STREAMHOUSE_METADATA__*` variables selecting this store (a fresh database for the
    /// PostgreSQL routes).
    pub async fn env(self) -> Vec<(String, String)> {
        use streamhouse_metadata_postgres::testing::fresh_database;
        let pg = |url: String, pooler: bool| {
            vec![
                (
                    "STREAMHOUSE_METADATA__BACKEND".to_owned(),
                    "postgres".to_owned(),
                ),
                ("STREAMHOUSE_METADATA__URL".to_owned(), url),
                (
                    "STREAMHOUSE_METADATA__TRANSACTION_POOLER".to_owned(),
                    pooler.to_string(),
                ),
            ]
        };
        match self {
            Metadata::Sqlite => Vec::new(),
            Metadata::Postgres => pg(fresh_database("STREAMHOUSE_TEST_POSTGRES_URL").await, false),
            Metadata::PgBouncer => pg(fresh_database("STREAMHOUSE_TEST_PGBOUNCER_URL").await, true),
        }
    }
}

/// The object store an end-to-end test runs the agent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// The embedded default: a directory in the agent's data directory.
    Local,
    /// SeaweedFS's S3 API (`scripts/services.sh`), under a fresh prefix of the test bucket.
    S3,
    /// fake-gcs-server's JSON API (`scripts/services.sh`), under a fresh prefix of the test
    /// bucket.
    Gcs,
    /// Azurite's Blob API (`scripts/services.sh`), under a fresh prefix of the test container.
    Azure,
}

impl Objects {
    /// `STREAMHOUSE_OBJECT_STORE__*` variables selecting this store.
    pub fn env(self) -> Vec<(String, String)> {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run scripts/test.sh, or `source scripts/services.sh`")
            })
        };
        match self {
            Objects::Local => Vec::new(),
            Objects::S3 => vec![
                ("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "s3".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__BUCKET".into(),
                    var("STREAMHOUSE_TEST_S3_BUCKET"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__ENDPOINT".into(),
                    var("STREAMHOUSE_TEST_S3_ENDPOINT"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__FORCE_PATH_STYLE".into(),
                    "true".into(),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__PREFIX".into(),
                    format!("e2e-{}", std::process::id()),
                ),
            ],
            Objects::Gcs => vec![
                ("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "gcs".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__BUCKET".into(),
                    var("STREAMHOUSE_TEST_GCS_BUCKET"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__ENDPOINT".into(),
                    var("STREAMHOUSE_TEST_GCS_ENDPOINT"),
                ),
                ("STREAMHOUSE_OBJECT_STORE__ANONYMOUS".into(), "true".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__PREFIX".into(),
                    format!("e2e-{}", std::process::id()),
                ),
            ],
            Objects::Azure => vec![
                ("STREAMHOUSE_OBJECT_STORE__BACKEND".into(), "azure".into()),
                (
                    "STREAMHOUSE_OBJECT_STORE__CONTAINER".into(),
                    var("STREAMHOUSE_TEST_AZURE_CONTAINER"),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__USE_EMULATOR".into(),
                    "true".into(),
                ),
                (
                    "STREAMHOUSE_OBJECT_STORE__PREFIX".into(),
                    format!("e2e-{}", std::process::id()),
                ),
            ],
        }
    }
}

/// Borrowed view of owned variables, for [`AgentProcess::start`].
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
