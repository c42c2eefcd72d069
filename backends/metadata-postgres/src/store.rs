//! `PostgresMetadataStore`: the pools, and how every query reaches the server (named or
//! unnamed statements, transactions behind a pooler). Each trait is implemented in a module
//! of its own.

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::query::{Query, QueryScalar};
use sqlx::{Executor, Postgres, Row as _, Transaction, TypeInfo as _, ValueRef as _};
use streamhouse_core::metadata::{MetadataResult, PoolStats, PoolUsage};
use streamhouse_core::registry::BuildError;
use streamhouse_core::stored::StoredRow;

use crate::config::PostgresConfig;
use crate::error::meta;
use crate::migrate::migrate;
use crate::pool::{idle_in_transaction_ms, open_pool};

/// Metadata and leases in PostgreSQL, with an optional read-only replica endpoint.
///
/// Writes (commits, leases, membership) and reads have pools of their own, so that no number
/// of readers can take the connections a commit or a lease renewal needs.
#[derive(Debug, Clone)]
pub struct PostgresMetadataStore {
    /// Commits, leases, membership and other writes.
    pub(crate) writer: PgPool,
    /// Reads that must see the primary (a new leader's high watermark, a topic created a
    /// moment ago): on `url`, with connections of their own.
    pub(crate) reads: PgPool,
    /// The reader endpoint's pool (Aurora), if configured.
    pub(crate) reader: Option<PgPool>,
    /// Named (cached, prepared) statements; off behind a transaction pooler.
    persistent: bool,
    /// `SET LOCAL` statement and idle-in-transaction timeouts for each write transaction
    /// (behind a transaction pooler, where startup parameters do not reach the server).
    set_local_timeout: Option<String>,
}

/// A pooled connection, or a transaction on one (see [`PostgresMetadataStore::conn`]).
pub(crate) enum Conn {
    Pooled(PoolConnection<Postgres>),
    Tx(Transaction<'static, Postgres>),
}

impl Conn {
    pub(crate) fn get(&mut self) -> &mut PgConnection {
        match self {
            Conn::Pooled(c) => c,
            Conn::Tx(t) => t,
        }
    }

    pub(crate) async fn done(self) -> MetadataResult<()> {
        match self {
            Conn::Pooled(_) => Ok(()),
            Conn::Tx(t) => t.commit().await.map_err(meta),
        }
    }
}

impl PostgresMetadataStore {
    /// Connects (waiting for the server if it is down), migrates unless
    /// `run_migrations = false`, and returns the store.
    pub async fn connect(cfg: &PostgresConfig) -> Result<Self, BuildError> {
        let writer = open_pool(&cfg.url, "url", cfg).await?;
        if cfg.run_migrations {
            migrate(&writer).await?;
        }
        let reads = open_pool(&cfg.url, "url", cfg).await?;
        let reader = match &cfg.reader_url {
            Some(url) => Some(open_pool(url, "reader_url", cfg).await?),
            None => None,
        };
        Ok(Self {
            writer,
            reads,
            reader,
            persistent: !cfg.transaction_pooler,
            // The one statement not in queries/: it carries configured numbers and goes out
            // in the simple protocol, which takes both settings in one exchange.
            set_local_timeout: cfg.transaction_pooler.then(|| {
                format!(
                    "SET LOCAL statement_timeout = {}; \
                     SET LOCAL idle_in_transaction_session_timeout = {}",
                    cfg.statement_timeout_ms,
                    idle_in_transaction_ms(cfg)
                )
            }),
        })
    }

    /// Runs the migrations and returns (`streamhouse-agent migrate`).
    pub async fn migrate_only(cfg: &PostgresConfig) -> Result<(), BuildError> {
        let pool = open_pool(&cfg.url, "url", cfg).await?;
        migrate(&pool).await
    }

    /// A connection of `pool` for statements outside an explicit transaction. Behind a
    /// transaction pooler it is a transaction: an unnamed statement is parsed and executed
    /// in two exchanges, which only a transaction keeps on one server connection.
    pub(crate) async fn conn(&self, pool: &PgPool) -> MetadataResult<Conn> {
        Ok(if self.persistent {
            Conn::Pooled(pool.acquire().await.map_err(meta)?)
        } else {
            Conn::Tx(pool.begin().await.map_err(meta)?)
        })
    }

    /// The pool for read-only queries that tolerate a replica's lag.
    pub(crate) fn reader(&self) -> &PgPool {
        self.reader.as_ref().unwrap_or(&self.reads)
    }

    /// A statement, named (prepared once per connection) unless behind a pooler.
    pub(crate) fn q<'q>(&self, sql: &'q str) -> Query<'q, Postgres, PgArguments> {
        sqlx::query(sql).persistent(self.persistent)
    }

    /// A statement returning one column, named unless behind a pooler.
    pub(crate) fn scalar<'q, T>(&self, sql: &'q str) -> QueryScalar<'q, Postgres, T, PgArguments>
    where
        (T,): for<'r> sqlx::FromRow<'r, PgRow>,
    {
        sqlx::query_scalar(sql).persistent(self.persistent)
    }

    /// A write transaction on the writer, with the statement timeouts set behind a pooler.
    pub(crate) async fn write_tx(&self) -> MetadataResult<Transaction<'static, Postgres>> {
        let mut tx = self.writer.begin().await.map_err(meta)?;
        if let Some(set) = &self.set_local_timeout {
            // No arguments: the simple protocol, which takes both statements at once.
            (&mut *tx).execute(set.as_str()).await.map_err(meta)?;
        }
        Ok(tx)
    }
}

/// A PostgreSQL row as the core decoders (`streamhouse_core::stored`) read it.
pub(crate) struct Row<'a>(pub(crate) &'a PgRow);

impl StoredRow for Row<'_> {
    fn int(&self, column: &str) -> MetadataResult<i64> {
        // INTEGER columns (partition numbers, batch sizes) widen to BIGINT. Decided by the
        // column's type, not by a failed decode: rows are read on every fetch.
        let is_int4 = self.0.try_get_raw(column).map_err(meta)?.type_info().name() == "INT4";
        if is_int4 {
            self.0
                .try_get::<i32, _>(column)
                .map(i64::from)
                .map_err(meta)
        } else {
            self.0.try_get(column).map_err(meta)
        }
    }

    fn opt_int(&self, column: &str) -> MetadataResult<Option<i64>> {
        self.0.try_get(column).map_err(meta)
    }

    fn text(&self, column: &str) -> MetadataResult<String> {
        self.0.try_get(column).map_err(meta)
    }
}

impl PoolStats for PostgresMetadataStore {
    fn pool_usage(&self) -> PoolUsage {
        let idle = u32::try_from(self.writer.num_idle()).unwrap_or(u32::MAX);
        PoolUsage {
            in_use: self.writer.size().saturating_sub(idle),
            max: self.writer.options().get_max_connections(),
        }
    }
}
