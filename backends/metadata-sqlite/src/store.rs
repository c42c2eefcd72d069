//! `SqliteMetadataStore`: the pool and its write transactions. Each trait is implemented in
//! a module of its own.

use std::sync::Arc;

use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Row as _, Sqlite, Transaction};
use streamhouse_core::metadata::{MetadataResult, PoolStats, PoolUsage};
use streamhouse_core::registry::BuildError;
use streamhouse_core::stored::StoredRow;

use crate::config::SqliteConfig;
use crate::error::meta;
use crate::migrate::migrate;
use crate::pool::open_pools;

/// Metadata and leases in one SQLite database.
///
/// Writes (commits, leases, membership) and reads have pools of their own, so that no number
/// of readers can take the connections a commit or a lease renewal needs.
#[derive(Debug, Clone)]
pub struct SqliteMetadataStore {
    /// Commits, leases, membership and other writes.
    pub(crate) pool: SqlitePool,
    /// Index lookups, offsets and topic reads.
    pub(crate) reads: SqlitePool,
    /// An exclusive lock on `<path>.lock`, held while the store is open: one agent process
    /// per database. The OS drops it when the process dies, even by `kill -9`. `None` for
    /// an administrative command's store.
    _lock: Option<Arc<std::fs::File>>,
}

impl SqliteMetadataStore {
    /// Opens (creating if needed) the database at `cfg.path` and runs the migrations.
    pub async fn open(cfg: &SqliteConfig) -> Result<Self, BuildError> {
        let (pool, reads, lock) = open_pools(cfg, true).await?;
        migrate(&pool, &cfg.path).await?;
        Ok(Self {
            pool,
            reads,
            _lock: lock.map(Arc::new),
        })
    }

    /// Opens the database for an administrative command beside the agent that holds it:
    /// without its lock, since a command's few short transactions wait their turn for
    /// SQLite's write lock (WAL and the busy timeout) and take no lease.
    pub async fn open_for_admin(cfg: &SqliteConfig) -> Result<Self, BuildError> {
        let (pool, reads, _) = open_pools(cfg, false).await?;
        migrate(&pool, &cfg.path).await?;
        Ok(Self {
            pool,
            reads,
            _lock: None,
        })
    }

    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers never deadlock upgrading read locks.
    pub(crate) async fn write_tx(&self) -> MetadataResult<Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(meta)
    }
}

/// An SQLite row as the core decoders (`streamhouse_core::stored`) read it.
pub(crate) struct Row<'a>(pub(crate) &'a SqliteRow);

impl StoredRow for Row<'_> {
    fn int(&self, column: &str) -> MetadataResult<i64> {
        self.0.try_get(column).map_err(meta)
    }

    fn opt_int(&self, column: &str) -> MetadataResult<Option<i64>> {
        self.0.try_get(column).map_err(meta)
    }

    fn text(&self, column: &str) -> MetadataResult<String> {
        self.0.try_get(column).map_err(meta)
    }
}

impl PoolStats for SqliteMetadataStore {
    fn pool_usage(&self) -> PoolUsage {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolUsage {
            in_use: self.pool.size().saturating_sub(idle),
            max: self.pool.options().get_max_connections(),
        }
    }
}
