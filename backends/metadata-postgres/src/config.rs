//! `[metadata]` options of the `postgres` and `aurora` backends.

use serde::Deserialize;

/// Options of `backend = "postgres"` and `backend = "aurora"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// Connection URL, `postgres://user:password@host:5432/database` (with Aurora, the
    /// cluster's writer endpoint). Required; `POSTGRES_URL` sets it.
    pub url: String,
    /// Aurora only: the cluster's reader endpoint, used for read-only queries (index
    /// lookups, listings, describe). Default: none, everything goes to `url`.
    pub reader_url: Option<String>,
    /// Set when `url` points at a pooler in transaction mode, such as PgBouncer before 1.21:
    /// no named prepared statements and no session state (statement timeouts are then set
    /// per transaction, and reads rely on the role's `statement_timeout`). Default false.
    pub transaction_pooler: bool,
    /// Connections per pool. Writes (commits, leases), reads of the primary and the replica
    /// (`reader_url`) each have a pool, so readers never hold a commit's connection.
    /// Default 10.
    pub max_connections: u32,
    /// Longest wait for a free pooled connection before a request fails as unavailable.
    /// Default 5000 ms.
    pub acquire_timeout_ms: u64,
    /// Longest a statement may run before the server cancels it. Default 5000 ms.
    pub statement_timeout_ms: u64,
    /// Longest a transaction may sit idle between its statements before the server ends its
    /// session, releasing its row locks. An agent frozen mid-commit (a long pause, SIGSTOP)
    /// would otherwise hold its partitions' lease rows and block the agent taking over; keep
    /// it well below `lease.ttl_ms`. A healthy commit is idle for a network round trip at
    /// a time. Default 2000 ms.
    pub idle_in_transaction_timeout_ms: u64,
    /// Authenticate with RDS IAM tokens signed from the agent's AWS credentials (EKS IRSA,
    /// environment, profile) instead of a password in the URL; the URL names the user.
    /// Needs TLS (`?sslmode=require`). Default false.
    pub iam_auth: bool,
    /// AWS region of the database, for `iam_auth`. Default: the environment's (`AWS_REGION`).
    pub region: Option<String>,
    /// Run the schema migrations when the agent starts. Turn off when operators run
    /// `streamhouse-agent migrate` themselves. Default true.
    pub run_migrations: bool,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            reader_url: None,
            transaction_pooler: false,
            max_connections: 10,
            acquire_timeout_ms: 5000,
            statement_timeout_ms: 5000,
            idle_in_transaction_timeout_ms: 2000,
            iam_auth: false,
            region: None,
            run_migrations: true,
        }
    }
}
